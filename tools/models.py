"""The local model registry: weights are pulled once, explicitly, and loaded offline afterwards.

``socio models pull ID`` downloads a Hugging Face repository into the local cache (``SOCIO_MODELS_DIR``,
default ``~/.cache/socioagent/models``). Everything else only *resolves*: a local path is used as it is,
a hub id is looked up in the cache without touching the network, and a miss raises an error that names
the pull command.
"""

from __future__ import annotations

import os
from pathlib import Path

from tools.errors import InputError


def models_dir() -> Path:
    """Return the folder pulled models live in (``SOCIO_MODELS_DIR`` or ``~/.cache/socioagent/models``)."""
    return Path(os.environ.get("SOCIO_MODELS_DIR", Path.home() / ".cache" / "socioagent" / "models"))


def looks_like_hub_id(spec: str) -> bool:
    """Return True for ``owner/name`` strings that are not existing local paths."""
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not Path(spec).exists() and not spec.startswith((".", "~"))


def resolve(spec: str, filename: str | None = None) -> Path:
    """Resolve a local path or a pulled hub id to a local path, offline.

    Args:
        spec: a local file or folder, or a hub id such as ``facebook/sam2.1-hiera-tiny``.
        filename: for hub ids, a file inside the repository to return instead of the folder.

    Raises:
        InputError: the path does not exist, or the hub id has not been pulled.
    """
    p = Path(spec).expanduser()
    if p.exists():
        return p / filename if filename and p.is_dir() else p
    if not looks_like_hub_id(spec):
        raise InputError(f"model path {spec} does not exist; give a local file or folder, or a hub id like owner/name")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(spec, cache_dir=models_dir(), local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError) as e:
        raise InputError(
            f"model {spec} is not in the local registry ({models_dir()}); "
            f"run `socio models pull {spec}` once while online"
        ) from e
    target = folder / filename if filename else folder
    if not target.exists():
        raise InputError(f"model {spec} was pulled but has no {filename}; pull it again or pass a local path")
    return target


def pull(spec: str, allow_patterns: list[str] | None = None) -> Path:
    """Download a hub repository into the local registry and return its folder (the only network access)."""
    if not looks_like_hub_id(spec):
        raise InputError(f"{spec!r} is not a hub id of the form owner/name")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(spec, cache_dir=models_dir(), allow_patterns=allow_patterns))


def pulled() -> list[str]:
    """Return the hub ids present in the local registry."""
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(d.name[len("models--") :].replace("--", "/") for d in root.iterdir() if d.name.startswith("models--"))
