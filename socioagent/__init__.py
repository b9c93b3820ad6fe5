"""socioagent: the distribution's own package (the ``socio`` command lives in `socioagent.cli`).

Importing this package checks the layout (`check_layout`); every other project package imports it first.

The project keeps the design card's short top-level package names (``tools``, ``prompts``, ``agent``,
``evals``, ``train``), which other distributions on PyPI also use. `check_layout` guards against the
two ways that goes wrong: a folder or module of the same name earlier on ``sys.path`` (a user's own
``tools/``) shadows ours, or another distribution installed a package of the same name over ours. It
runs once, on the first import of any project package, and raises an ImportError that names both locations and
the fix instead of a confusing ``ModuleNotFoundError: tools.errors`` deep inside a command.

This module imports nothing of the project: every floor may import it (the CLI modules under this
package are the top floor; this ``__init__`` alone is at the bottom).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__version__ = "0.1.0"

PACKAGES = ("tools", "prompts", "agent", "evals", "train", "socioagent")
"""The project's top-level packages; all of them live side by side in one folder."""

_checked = False


def check_layout() -> None:
    """Raise ImportError unless every project package resolves to the folder that holds this one.

    Packages that are not installed (``train`` in a light install) are skipped.

    Raises:
        ImportError: a package of the same name from elsewhere comes first on ``sys.path``.
    """
    global _checked
    if _checked:
        return
    home = Path(__file__).resolve().parent.parent
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        origin = Path(spec.origin).resolve().parent if spec.origin else None
        locations = [Path(p).resolve() for p in (spec.submodule_search_locations or [])]
        ours = home / name
        if origin != ours and ours not in locations:
            where = origin or (locations[0] if locations else "an unknown place")
            raise ImportError(
                f"socioagent's package {name!r} is shadowed by {where}: another folder or installed package "
                f"named {name!r} comes before {ours} on sys.path. Rename or remove that one, run from another "
                "directory, or install socioagent in its own virtual environment (python -m venv .venv; "
                ".venv/bin/pip install socioagent)"
            )
    _checked = True


check_layout()
