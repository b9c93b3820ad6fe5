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
    assert names == ["draw_box", "load_scene", "map_lookup", "render_overlay", "sam_segment", "zoom"]
    for schema in tools.REGISTRY.openai_schemas():
        fn = schema["function"]
        assert schema["type"] == "function" and fn["description"]
        assert "Args:" not in fn["description"]
        assert fn["parameters"]["type"] == "object"
        if fn["name"] != "load_scene":  # every other tool works on a loaded scene
            assert "scene_id" in fn["parameters"]["required"]
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


def test_every_tool_module_is_discovered_without_a_list():
    """A module of the tools package that registers a tool is found by reading the package, not a hand list."""
    import ast
    from pathlib import Path

    from tools.registry import tool_modules

    root = Path(tools.__file__).parent
    registering = set()
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any("register" in ast.unparse(d) for d in node.decorator_list):
                registering.add(f"tools.{path.stem}")
    assert registering and registering <= set(tool_modules())
    assert {t.fn.__module__ for t in tools.REGISTRY.list()} == registering


def test_mcp_schemas_carry_input_and_output_schemas_and_match_openai():
    openai = {t["function"]["name"]: t["function"] for t in tools.REGISTRY.openai_schemas()}
    mcp = tools.REGISTRY.mcp_schemas()
    assert [t["name"] for t in mcp] == sorted(openai)
    for t in mcp:
        assert t["description"] == openai[t["name"]]["description"]
        assert t["inputSchema"] == openai[t["name"]]["parameters"]
        assert t["outputSchema"]["type"] == "object" and t["outputSchema"]["properties"]
        assert isinstance(t["annotations"]["readOnlyHint"], bool)
    assert {t["name"]: t["annotations"]["readOnlyHint"] for t in mcp}["sam_segment"] is False


@pytest.fixture
def scene_files(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    sat = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(sat).save(tmp_path / "sat.png")
    Image.fromarray(255 - sat).save(tmp_path / "map.png")
    layers = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point",
              "coordinates": [10, 12]}, "properties": {"name": "Elm School", "class": "school"}}]}  # fmt: skip
    (tmp_path / "layers.geojson").write_text(json.dumps(layers))
    return tmp_path


def test_load_scene_gives_an_id_the_other_tools_take(scene_files):
    ctx = ToolContext(store=SceneStore())
    args = {"sat": str(scene_files / "sat.png"), "map": str(scene_files / "map.png"),
            "layers": str(scene_files / "layers.geojson")}  # fmt: skip
    out = tools.REGISTRY.call("load_scene", args, ctx)
    assert (out.width, out.height, out.layer_features, out.crs) == (60, 40, 1, None)
    assert tools.REGISTRY.call("load_scene", args, ctx).scene_id == out.scene_id  # same files, same id
    found = tools.REGISTRY.call("map_lookup", {"scene_id": out.scene_id, "query": "Elm School"}, ctx)
    assert [f.name for f in found.features] == ["Elm School"]
    other = scene_files / "other"
    other.mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(other / "sat.png")
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(other / "map.png")
    moved = tools.REGISTRY.call("load_scene", {"sat": str(other / "sat.png"), "map": str(other / "map.png")}, ctx)
    assert moved.scene_id != out.scene_id  # other pixels, other id


def test_load_scene_refuses_paths_outside_the_allowed_roots(scene_files, tmp_path_factory):
    from tools.errors import InputError

    outside = tmp_path_factory.mktemp("outside")
    (outside / "sat.png").write_bytes((scene_files / "sat.png").read_bytes())
    inside = scene_files / "inner"
    inside.mkdir()
    (inside / "link.png").symlink_to(outside / "sat.png")
    ctx = ToolContext(store=SceneStore(), roots=(inside,))
    for sat in (outside / "sat.png", inside / ".." / ".." / outside.name / "sat.png", inside / "link.png"):
        with pytest.raises(InputError, match="outside the allowed folders"):
            tools.REGISTRY.call("load_scene", {"sat": str(sat), "map": str(scene_files / "map.png")}, ctx)


def test_langchain_tools_call_the_registry_with_the_bound_context(scene_files):
    ctx = ToolContext(store=SceneStore())
    lc = {t.name: t for t in tools.REGISTRY.langchain_tools(ctx)}
    assert sorted(lc) == [t.name for t in tools.REGISTRY.list()]
    loaded = lc["load_scene"].invoke({"sat": str(scene_files / "sat.png"), "map": str(scene_files / "map.png"),
                                      "layers": str(scene_files / "layers.geojson")})  # fmt: skip
    found = lc["map_lookup"].invoke({"scene_id": loaded["scene_id"], "query": "schools"})
    assert [f["cls"] for f in found["features"]] == ["school"]
    error = lc["render_overlay"].invoke({"scene_id": loaded["scene_id"], "mask_ids": ["no-such-mask"]})
    assert "no-such-mask" in error  # a tool failure is text the model can read, not an exception
