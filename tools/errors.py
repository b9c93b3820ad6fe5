"""The project's exception hierarchy: every message says what went wrong and how to fix it.

Whose fault an error is decides the exit code of the CLI:

- `InputError` (exit 2): the user's files, flags or query are bad.
- `BackendError` (exit 3): a policy server, model or segmenter is unreachable or fails after retries.
- `ToolError`: a tool was called with unknown arguments or failed unexpectedly; the message is written to be
  read by whoever called the tool (a model, through MCP or tool calling, can read it and retry).
"""

from __future__ import annotations


class SocioError(Exception):
    """Base class of every error socioagent raises on purpose."""

    exit_code: int = 1


class InputError(SocioError):
    """Bad input: a missing or unreadable file, mismatched sizes, an empty query, a bad flag."""

    exit_code = 2


class SceneNotFoundError(InputError):
    """A scene id that the scene store does not hold."""

    def __init__(self, scene_id: str) -> None:
        super().__init__(f"no scene {scene_id!r} in the scene store; load it first with SceneStore.put(scene)")
        self.scene_id = scene_id


class OutsideRootsError(InputError):
    """A path outside the folders a server allows, or a URL where a file is expected (HTTP 403 in the web app)."""


class MissingFileError(InputError):
    """A file path that names no file (HTTP 404 in the web app)."""


class DatasetNotFoundError(InputError):
    """A dataset root that does not exist or does not have the expected layout."""


class DependencyNotFoundError(InputError):
    """An optional package that a chosen backend needs is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed: pip install 'socioagent[{extra}]' (or run `make test`)")
        self.package = package
        self.extra = extra


class BackendError(SocioError):
    """A backend (policy server, model, segmenter) is unreachable or keeps failing."""

    exit_code = 3


class ToolError(SocioError):
    """A tool failed; the message is meant to be read by the model or the user that called it."""


def lazy_import(module: str, extra: str):
    """Import an optional module, or raise `DependencyNotFoundError` naming the extra to install.

    Args:
        module: dotted module name, e.g. ``"sam2.build_sam"``.
        extra: the pip extra of socioagent that provides it, e.g. ``"sam2"``.

    Returns:
        The imported module.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        raise DependencyNotFoundError(module.split(".")[0], extra) from e
