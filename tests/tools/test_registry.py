import json

import numpy as np
import pytest
from pydantic import BaseModel

import tools
from tools.errors import ToolError
from tools.registry import ToolContext, ToolRegistry
from tools.scene import Scene
from tools.scene_store import SceneStore


class EchoIn(BaseModel):
    """Echo input."""

    text: str
    times: int = 1


class EchoOut(BaseModel):
    """Echo output."""

    text: str


def _registry():
    reg = ToolRegistry()

    @reg.register
    def echo(args: EchoIn, ctx: ToolContext) -> EchoOut:
        """Repeat a text.

        Args:
            args: the text and how often.
            ctx: unused.
        """
        if args.times < 0:
            raise ValueError("negative")
        return EchoOut(text=args.text * args.times)

    return reg


def test_every_packaged_tool_has_schema_and_description():
    names = [t.name for t in tools.REGISTRY.list()]
    assert names == ["draw_box", "map_lookup", "render_overlay", "sam_segment"]
    for schema in tools.REGISTRY.openai_schemas():
        fn = schema["function"]
        assert schema["type"] == "function" and fn["description"]
        assert "Args:" not in fn["description"]
        assert fn["parameters"]["type"] == "object" and "scene_id" in fn["parameters"]["required"]
        assert "ctx" not in json.dumps(fn["parameters"])  # injected, never in the schema


def test_call_validates_and_wraps_errors():
    reg = _registry()
    ctx = ToolContext(store=SceneStore())
    assert reg.call("echo", {"text": "ab", "times": 2}, ctx).text == "abab"
    with pytest.raises(ToolError, match="Invalid arguments for tool echo"):
        reg.call("echo", {"times": "x"}, ctx)
    with pytest.raises(ToolError, match="Error executing tool echo: ValueError: negative"):
        reg.call("echo", {"text": "a", "times": -1}, ctx)
    with pytest.raises(ToolError, match="Unknown tool: 'nope'; known tools: echo"):
        reg.call("nope", {}, ctx)


def test_registration_refuses_bad_tools():
    reg = _registry()
    with pytest.raises(ValueError, match="already registered"):

        @reg.register
        def echo(args: EchoIn, ctx: ToolContext) -> EchoOut:
            """Again."""
            return EchoOut(text="")

    with pytest.raises(ValueError, match="pydantic model"):

        @reg.register
        def untyped(args, ctx: ToolContext) -> EchoOut:
            """No types."""
            return EchoOut(text="")

    with pytest.raises(ValueError, match="docstring"):

        @reg.register
        def nodoc(args: EchoIn, ctx: ToolContext) -> EchoOut:
            return EchoOut(text="")


def test_whose_fault_errors_keep_their_type():
    """A missing scene stays an InputError (exit 2) and a failing backend a BackendError (exit 3)."""
    import threading

    from tools.errors import BackendError, SceneNotFoundError

    with pytest.raises(SceneNotFoundError, match="no scene 'missing'"):
        tools.REGISTRY.call("map_lookup", {"scene_id": "missing", "query": "school"}, ToolContext(store=SceneStore()))

    class DeadSegmenter:
        name, encode_count, lock = "dead", 0, threading.RLock()

        def set_scene(self, scene_id, image):
            raise BackendError("the segmenter server is gone")

        def predict(self, prompts):
            raise AssertionError("not reached")

    store = SceneStore()
    store.put(Scene("s", np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)))
    box = {"box": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}}
    with pytest.raises(BackendError, match="gone"):
        tools.REGISTRY.call("sam_segment", {"scene_id": "s", "prompts": [box]}, ToolContext(store, DeadSegmenter()))


def test_a_tool_without_its_backend_is_a_tool_error():
    store = SceneStore()
    store.put(Scene("s", np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)))
    with pytest.raises(ToolError, match="no segmenter is configured"):
        tools.REGISTRY.call("sam_segment", {"scene_id": "s", "prompts": []}, ToolContext(store=store))
