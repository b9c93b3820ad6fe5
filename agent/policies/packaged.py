"""Models that ship inside the package, reachable by a short name instead of a folder.

``--policy tiny-vlm`` is ``--policy hf --model tiny-vlm``, and ``tiny-vlm`` as a ``--model`` / ``--init`` value
resolves to the package's ``agent/policies/tiny_vlm/`` folder (the small policy `make policy` trains; see its
MODEL_CARD.md). Nothing is downloaded: the weights are files of the installed package.
"""

from __future__ import annotations

from pathlib import Path

from tools.errors import InputError

PACKAGED_MODELS: dict[str, Path] = {"tiny-vlm": Path(__file__).resolve().parent / "tiny_vlm"}
"""Short name -> the packaged checkpoint folder."""


def packaged_model(spec: str) -> Path | None:
    """Return the packaged checkpoint folder ``spec`` names, or None when it names none.

    Raises:
        InputError: ``spec`` names a packaged model whose weights are not installed.
    """
    folder = PACKAGED_MODELS.get(spec.strip())
    if folder is None:
        return None
    if not (folder / "config.json").is_file() or not any(folder.glob("*.safetensors")):
        raise InputError(
            f"the packaged {spec} policy is not installed ({folder} holds no weights); reinstall socioagent, "
            f"or build it with `make policy`"
        )
    return folder
