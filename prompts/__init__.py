"""Prompt templates as text files, filled by name.

Templates use ``${name}`` placeholders (`string.Template`), so JSON examples with braces need no escaping.
``load_prompt("localize", query=q)`` reads ``prompts/localize.txt``; a user can point ``prompt_dir`` at a
folder of their own templates with the same file names.

Two sets ship: ``localize``/``refine`` (the ``socioagent`` protocol; placeholders ``${query}``, ``${frame_hint}``
and, for refine, ``${boxes}``) and ``socioreasoner_localize``/``socioreasoner_refine`` (the ``socioreasoner``
protocol: our own wording in the SocioReasoner reference's structure, with ``${query}`` and, for refine,
``${boxes}``, the stage-1 answer text verbatim). A user who wants the reference's exact published prompt writes
it into ``socioreasoner_localize.txt`` and ``socioreasoner_refine.txt`` in a folder of their own (with
``${query}`` and ``${boxes}`` where the published text has its placeholders, ``$$`` for a literal ``$``) and passes
``--prompt-dir`` that folder.
"""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path

import socioagent  # noqa: F401  (checks on import that no other package shadows ours)
from tools.errors import InputError

PROMPT_NAMES = (
    "localize", "refine", "socioreasoner_localize", "socioreasoner_refine", "zoom_localize", "zoom_refine",
    "chat_plan",
)  # fmt: skip


def template_path(name: str, prompt_dir: str | Path | None = None) -> Path:
    """Return the file a template is read from: ``prompt_dir/NAME.txt`` if given, else the packaged one."""
    if prompt_dir is not None:
        return Path(prompt_dir) / f"{name}.txt"
    return Path(str(resources.files("prompts").joinpath(f"{name}.txt")))


def placeholders(template: str) -> set[str]:
    """Return the placeholder names a template uses."""
    names = set()
    for _, named, braced, _ in string.Template.pattern.findall(template):
        if named or braced:
            names.add(named or braced)
    return names


def load_prompt(name: str, prompt_dir: str | Path | None = None, **values: object) -> str:
    """Read template ``name`` and fill it.

    Raises:
        InputError: the template is missing, a placeholder has no value, or a value has no placeholder.
    """
    path = template_path(name, prompt_dir)
    if not path.is_file():
        raise InputError(
            f"prompt template {path} not found; a prompt folder needs {name}.txt (localize.txt and refine.txt for "
            "--protocol socioagent, socioreasoner_localize.txt and socioreasoner_refine.txt for socioreasoner)"
        )
    template = path.read_text(encoding="utf-8")
    used = placeholders(template)
    missing = used - values.keys()
    unused = values.keys() - used
    if missing:
        raise InputError(f"prompt template {path} uses ${{{sorted(missing)[0]}}} but no value was given for it")
    if unused:
        raise InputError(
            f"prompt template {path} has no ${{{sorted(unused)[0]}}} placeholder; add it to the "
            "template or stop passing it"
        )
    try:
        return string.Template(template).substitute({k: str(v) for k, v in values.items()})
    except ValueError as e:  # a "$" not followed by a name
        raise InputError(f"prompt template {path}: {e}; write $$ for a literal dollar sign") from e
