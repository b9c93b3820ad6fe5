"""One registry of tools: each tool is written once and exported to every consumer.

A tool is a typed function ``def name(args: InputModel, ctx: ToolContext) -> OutputModel`` with a Google
docstring, decorated with ``@register``, in any module of the ``tools`` package: the registry imports
every module of the package the first time it is read, so a new tool module needs no list to be added to.
The registry validates arguments against the input model before the function runs, wraps failures in
`ToolError` (a result the model can read and retry), and exports the same specs as OpenAI tool schemas
(`ToolRegistry.openai_schemas`), MCP tool definitions (`ToolRegistry.mcp_schemas`: name, description,
input and output JSON Schema, hints) and LangChain tools for a LangGraph agent
(`ToolRegistry.langchain_tools`). The `ToolContext` (scene store, segmenter, allowed file roots) is
injected at call time and never appears in a schema.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tools.errors import BackendError, InputError, SocioError, ToolError
from tools.scene_store import SceneStore
from tools.segmenters import Segmenter


@dataclass
class ToolContext:
    """What tools may use besides their arguments.

    Attributes:
        store: the scene store (pixels, masks, rendered images by id).
        segmenter: the segmenter backend, for tools that segment.
        roots: folders that tools may read files from (None: any path). A front end that serves other
            people (the MCP server) sets them; `resolve_path` enforces them (`tools.sandbox`).
        max_pixels: the largest image (width x height) a tool may read (None: no limit beyond the scene's own).
        max_file_bytes: the largest file a tool may read (None: no limit).
    """

    store: SceneStore
    segmenter: Segmenter | None = None
    roots: tuple[Path, ...] | None = None
    max_pixels: int | None = None
    max_file_bytes: int | None = None

    def resolve_path(self, path: str | Path, what: str = "file") -> Path:
        """Return an existing file's path resolved (symlinks and ``..`` followed), if it lies under an allowed root.

        Raises:
            InputError: the path is a URL, is outside every allowed root, does not exist or is over the size limit.
        """
        from tools.sandbox import resolve_under

        resolved = resolve_under(path, self.roots, what)
        size = resolved.stat().st_size
        if self.max_file_bytes is not None and size > self.max_file_bytes:
            raise InputError(
                f"the {what} {path} is {size:,} bytes, over this server's limit of {self.max_file_bytes:,} bytes; "
                "give a smaller file, or start the server with a larger --max-file-bytes"
            )
        return resolved

    def resolve_folder(self, path: str | Path, what: str = "folder") -> Path:
        """Return a folder's path resolved, if it and every entry in it lie under an allowed root.

        Its images are held to `max_pixels` and its files to `max_file_bytes`, as `resolve_image` does.

        Raises:
            InputError: a URL, a folder or an entry outside every root, a missing folder, a file over a limit.
        """
        from tools.sandbox import check_pixels, resolve_folder_under

        folder = resolve_folder_under(path, self.roots, what)
        for entry in sorted(folder.iterdir()):
            if entry.is_file():
                self.resolve_path(entry, f"file {entry.name} of the {what}")
                if self.max_pixels is not None and entry.suffix.lower() in {".png", ".jpg", ".jpeg", ".tif", ".tiff"}:
                    check_pixels(entry.resolve(), self.max_pixels, f"image {entry.name} of the {what}")
        return folder

    def resolve_image(self, path: str | Path, what: str = "image") -> Path:
        """Return an image's path as `resolve_path` does, refusing an image over `max_pixels` (read from its header).

        Raises:
            InputError: as `resolve_path`, or the image has more pixels than allowed.
        """
        from tools.sandbox import check_pixels

        resolved = self.resolve_path(path, what)
        if self.max_pixels is not None:
            check_pixels(resolved, self.max_pixels, what)
        return resolved


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool: its name, description, input and output models and the function."""

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    fn: Callable[[Any, ToolContext], BaseModel]
    read_only: bool

    def openai_schema(self) -> dict[str, Any]:
        """Return the tool as an OpenAI chat-completions ``tools`` entry."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.input_model.model_json_schema(),
            },
        }

    def mcp_schema(self) -> dict[str, Any]:
        """Return the tool as an MCP tool definition (``tools/list``): schemas of input and output, hints."""
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_model.model_json_schema(),
            "outputSchema": self.output_model.model_json_schema(),
            "annotations": {"readOnlyHint": self.read_only, "openWorldHint": False},
        }


def _description(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn) or ""
    paragraphs = [p.strip() for p in doc.split("\n\n")]
    keep = []
    for p in paragraphs:
        if p.split(":", 1)[0] in {"Args", "Returns", "Raises"}:
            break
        keep.append(" ".join(p.split()))
    return "\n\n".join(keep)


def tool_modules(package: str = "tools") -> list[str]:
    """Return the modules of a package (not its subpackages) whose source registers a tool."""
    pkg = importlib.import_module(package)
    names = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.ispkg or info.name.startswith("_"):
            continue
        path = Path(pkg.__path__[0]) / f"{info.name}.py"
        if path.is_file() and "@register" in path.read_text(encoding="utf-8"):
            names.append(f"{package}.{info.name}")
    return sorted(names)


class ToolRegistry:
    """Tools by name, with validation and exporters."""

    def __init__(self, package: str | None = None, base: ToolRegistry | None = None) -> None:
        """Create a registry; the tool modules of ``package`` are imported (so they register) on first use.

        Args:
            package: the package whose modules register tools here (None: tools are registered by hand).
            base: a registry whose tools this one also lists and calls (the agent's registry extends the tools'
                one with the tools that run the agent: ``segment``, ``ask``); names may not repeat.
        """
        self._tools: dict[str, ToolSpec] = {}
        self._package = package
        self._loaded = package is None
        self._base = base

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for m in tool_modules(self._package or "tools"):
                importlib.import_module(m)

    def _all(self) -> dict[str, ToolSpec]:
        self._load()
        return {**(self._base._all() if self._base is not None else {}), **self._tools}

    def register(
        self, fn: Callable[..., BaseModel] | None = None, *, read_only: bool = True, name: str | None = None
    ) -> Any:
        """Register a tool function (usable as ``@register`` or ``@register(read_only=False, name="...")``).

        The tool is named after the function unless ``name`` is given.

        Raises:
            ValueError: the function lacks a docstring, typed pydantic input/output, or reuses a name.
        """

        def wrap(f: Callable[..., BaseModel]) -> Callable[..., BaseModel]:
            hints = typing.get_type_hints(f)
            params = list(inspect.signature(f).parameters)
            if len(params) != 2 or params[1] != "ctx":
                raise ValueError(f"tool {f.__name__} must have the signature (args: InputModel, ctx: ToolContext)")
            in_model, out_model = hints.get(params[0]), hints.get("return")
            for m, what in ((in_model, "argument"), (out_model, "return value")):
                if not (isinstance(m, type) and issubclass(m, BaseModel)):
                    raise ValueError(f"tool {f.__name__}: its {what} must be annotated with a pydantic model")
            if not inspect.getdoc(f):
                raise ValueError(f"tool {f.__name__} needs a docstring: it becomes the tool description")
            tool_name = name or f.__name__
            if tool_name in self._tools or (self._base is not None and tool_name in self._base._all()):
                raise ValueError(f"a tool named {tool_name!r} is already registered")
            self._tools[tool_name] = ToolSpec(tool_name, _description(f), in_model, out_model, f, read_only)
            return f

        return wrap(fn) if fn is not None else wrap

    def get(self, name: str) -> ToolSpec:
        """Return a tool spec, or raise `ToolError` listing the known tools."""
        known = self._all()
        try:
            return known[name]
        except KeyError:
            raise ToolError(f"Unknown tool: {name!r}; known tools: {', '.join(sorted(known))}") from None

    def list(self) -> list[ToolSpec]:
        """Return every tool, sorted by name."""
        known = self._all()
        return [known[k] for k in sorted(known)]

    def call(self, name: str, arguments: dict[str, Any] | BaseModel, ctx: ToolContext) -> BaseModel:
        """Validate arguments and run a tool.

        Raises:
            ToolError: unknown tool, invalid arguments, or the tool failed unexpectedly; model-readable.
            InputError: the tool was given something that does not exist or is unusable (a missing scene).
            BackendError: the tool's backend (a segmenter) failed.
        """
        spec = self.get(name)
        try:
            args = (
                arguments
                if isinstance(arguments, spec.input_model)
                else spec.input_model.model_validate(arguments if isinstance(arguments, dict) else dict(arguments))
            )
        except ValidationError as e:
            raise ToolError(f"Invalid arguments for tool {name}: {e}") from e
        try:
            return spec.fn(args, ctx)
        except (ToolError, InputError, BackendError):
            raise  # whose fault it is decides what happens next (exit 2, exit 3): keep the type
        except SocioError as e:
            raise ToolError(f"Error executing tool {name}: {e}") from e
        except Exception as e:
            raise ToolError(f"Error executing tool {name}: {type(e).__name__}: {e}") from e

    def openai_schemas(self) -> list[dict[str, Any]]:
        """Return every tool as an OpenAI ``tools`` entry, sorted by name."""
        return [t.openai_schema() for t in self.list()]

    def mcp_schemas(self) -> list[dict[str, Any]]:
        """Return every tool as an MCP tool definition, sorted by name."""
        return [t.mcp_schema() for t in self.list()]

    def langchain_tools(self, ctx: ToolContext) -> list[Any]:
        """Return every tool as a LangChain ``StructuredTool`` bound to ``ctx``, for a LangGraph/LangChain agent.

        Each tool validates its arguments with the tool's input model and returns the output model as a
        JSON-ready dict. A `ToolError` or an `InputError` (a missing scene, a path outside the roots) becomes
        the tool's error text for the model to read; a `BackendError` propagates (the model cannot fix it).
        """
        from langchain_core.tools import StructuredTool, ToolException

        def bind(spec: ToolSpec) -> Any:
            def run(**kwargs: Any) -> dict[str, Any]:
                try:
                    return self.call(spec.name, kwargs, ctx).model_dump(mode="json")
                except (ToolError, InputError) as e:
                    raise ToolException(str(e)) from e

            return StructuredTool.from_function(
                func=run, name=spec.name, description=spec.description, args_schema=spec.input_model,
                handle_tool_error=True,
            )  # fmt: skip

        return [bind(t) for t in self.list()]


REGISTRY = ToolRegistry("tools")
register = REGISTRY.register
