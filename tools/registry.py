"""One registry of tools: each tool is written once and exported to every consumer.

A tool is a typed function ``def name(args: InputModel, ctx: ToolContext) -> OutputModel`` with a Google
docstring, decorated with ``@register``. The registry validates arguments against the input model before
the function runs, wraps failures in `ToolError` (a result the model can read and retry), and generates
the OpenAI tool schemas (and, later, MCP and LangGraph tools) from the same specs. The `ToolContext`
(scene store, segmenter) is injected at call time and never appears in a schema.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from tools.errors import BackendError, InputError, SocioError, ToolError
from tools.scene_store import SceneStore
from tools.segmenters import Segmenter


@dataclass
class ToolContext:
    """What tools may use besides their arguments: the scene store and the segmenter backend."""

    store: SceneStore
    segmenter: Segmenter | None = None


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


def _description(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn) or ""
    paragraphs = [p.strip() for p in doc.split("\n\n")]
    keep = []
    for p in paragraphs:
        if p.split(":", 1)[0] in {"Args", "Returns", "Raises"}:
            break
        keep.append(" ".join(p.split()))
    return "\n\n".join(keep)


TOOL_MODULES = ("tools.draw_box", "tools.map_lookup", "tools.render", "tools.segment")
"""The modules whose tools the packaged registry holds; imported the first time the registry is read."""


class ToolRegistry:
    """Tools by name, with validation and exporters."""

    def __init__(self, modules: tuple[str, ...] = ()) -> None:
        """Create a registry; ``modules`` are imported (and so register their tools) on first use."""
        self._tools: dict[str, ToolSpec] = {}
        self._modules = modules
        self._loaded = not modules

    def _load(self) -> None:
        if not self._loaded:
            import importlib

            self._loaded = True
            for m in self._modules:
                importlib.import_module(m)

    def register(self, fn: Callable[..., BaseModel] | None = None, *, read_only: bool = True) -> Any:
        """Register a tool function (usable as ``@register`` or ``@register(read_only=False)``).

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
            if f.__name__ in self._tools:
                raise ValueError(f"a tool named {f.__name__!r} is already registered")
            self._tools[f.__name__] = ToolSpec(f.__name__, _description(f), in_model, out_model, f, read_only)
            return f

        return wrap(fn) if fn is not None else wrap

    def get(self, name: str) -> ToolSpec:
        """Return a tool spec, or raise `ToolError` listing the known tools."""
        self._load()
        try:
            return self._tools[name]
        except KeyError:
            raise ToolError(f"Unknown tool: {name!r}; known tools: {', '.join(sorted(self._tools))}") from None

    def list(self) -> list[ToolSpec]:
        """Return every tool, sorted by name."""
        self._load()
        return [self._tools[k] for k in sorted(self._tools)]

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


REGISTRY = ToolRegistry(TOOL_MODULES)
register = REGISTRY.register
