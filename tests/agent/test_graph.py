"""The graph end to end through real backends: an OpenAI-protocol server on a socket, the classical
segmenter, a tiny random Qwen2.5-VL in process, and a random tiny SAM 2."""

import asyncio
import json

import cv2
import numpy as np
import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import RunContext
from agent.graph import build_graph
from agent.parsing import ParsedItem, format_answer
from agent.policies import BasePolicy, PolicyReply, SamplingParams, make_policy
from agent.run import arun_query, invoke, run_query
from tests.fixtures.openai_server import request_images, request_text
from tools.coords import ModelFrame, box_from_pixels, smart_resize
from tools.errors import BackendError, InputError, ToolError
from tools.scene import Scene
from tools.scene_store import SceneStore
from tools.schemas import Box
from tools.segmenters import make_segmenter

H = W = 160
TARGET = (40, 50, 110, 120)  # x1, y1, x2, y2 of the place to find


def make_scene(scene_id: str = "toy") -> Scene:
    rng = np.random.default_rng(3)
    sat = rng.normal(110, 12, (H, W, 3)).clip(0, 255).astype(np.uint8)
    x1, y1, x2, y2 = TARGET
    sat[y1:y2, x1:x2] = rng.normal((200, 60, 50), 8, (y2 - y1, x2 - x1, 3)).clip(0, 255).astype(np.uint8)
    mp = np.full((H, W, 3), (242, 239, 233), np.uint8)
    cv2.rectangle(mp, (x1, y1), (x2 - 1, y2 - 1), (200, 220, 250), -1)
    truth = np.zeros((H, W), bool)
    truth[y1:y2, x1:x2] = True
    return Scene(scene_id, sat, mp, truth=truth)


def model_box(box, pad=6) -> list[float]:
    """The target box as a Qwen2.5-VL would write it: absolute pixels of the resized image."""
    frame = ModelFrame("abs", smart_resize(H, W))
    b = Box(x1=box[0] - pad, y1=box[1] - pad, x2=box[2] + pad, y2=box[3] + pad)
    return [round(v) for v in box_from_pixels(b, frame, (H, W))]


def stage1(box) -> str:
    return f"<think>the red roof</think><answer>{json.dumps([{'bbox_2d': model_box(box)}])}</answer>"


def stage2(box) -> str:
    cx, cy = model_box(box, pad=-30)[:2]
    return f"<think>add a point</think><answer>[{{'bbox_2d': {model_box(box)}, 'points': [[{cx}, {cy}]],}}]</answer>"


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


@pytest.fixture
def classical():
    return make_segmenter("classical")


def test_openai_end_to_end_two_images_stage1_boxes_and_mask(openai_server, classical):
    server = openai_server([stage1(TARGET), stage2(TARGET)])
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0)
    scene = make_scene()
    result = run_query(scene, "the red building", policy=policy, segmenter=classical, max_rounds=1)

    assert [t.node for t in result.trace] == ["localize", "segment", "render", "refine", "segment", "finish"]
    first, second = server.chat_bodies
    imgs1, imgs2 = request_images(first), request_images(second)
    assert len(imgs1) == 2 and len(imgs2) == 2
    assert imgs1[0].shape[:2] == smart_resize(H, W)
    assert np.abs(imgs1[0].astype(int).mean(axis=(0, 1)) - (242, 239, 233)).max() < 20  # the map comes first
    assert not np.array_equal(imgs1[1], imgs2[1])  # stage 2 sees the rendered feedback
    assert "the red building" in request_text(first)
    assert json.dumps(model_box(TARGET)).replace(" ", "") in request_text(second).replace(" ", "")

    assert result.format_failures == 0 and len(result.instances) == 1
    assert "single_quotes" in result.stages[1].repairs and "trailing_comma" in result.stages[1].repairs
    assert result.instances[0].points and result.instances[0].points[0].label == 1
    assert iou(result.mask, scene.truth) > 0.8
    assert result.encodes == 1


@pytest.mark.parametrize(("rounds", "nodes"), [
    (0, ["localize", "segment", "finish"]),
    (2, ["localize", "segment", "render", "refine", "segment", "render", "refine", "segment", "finish"]),
])  # fmt: skip
def test_refine_rounds_are_bounded(openai_server, classical, rounds, nodes):
    server = openai_server(responder=lambda body: stage1(TARGET))
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0)
    result = run_query(make_scene(), "red", policy=policy, segmenter=classical, max_rounds=rounds)
    assert [t.node for t in result.trace] == nodes
    assert len(server.chat_bodies) == rounds + 1
    assert [s.stage for s in result.stages] == ["localize"] + ["refine"] * rounds
    reused = [bool(t.reused) for t in result.trace if t.node == "segment"]
    assert reused == [False] + [True] * rounds  # the same prompts are not segmented twice


def test_trace_is_complete_and_json_serialisable(openai_server, classical):
    server = openai_server([stage1(TARGET), stage2(TARGET)])
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0)
    events = []
    result = run_query(make_scene(), "red", policy=policy, segmenter=classical, on_event=events.append)
    assert [e["node"] for e in events] == [t.node for t in result.trace]
    for step in result.trace:
        assert step.duration_s >= 0 and step.round >= 0
    for st in result.stages:
        assert st.prompt and st.raw and st.frame.kind == "abs" and st.latency_s > 0
        assert st.meta.model == "fake-vlm"
    doc = json.loads(json.dumps(result.model_dump(mode="json")))
    assert "mask" not in doc and doc["instances"][0]["geometry"]["type"] == "Polygon"
    from shapely.geometry import shape

    assert abs(shape(doc["instances"][0]["geometry"]).area - result.instances[0].area) < 1e-6
    t = result.timings
    assert t.total_s >= t.policy_s + t.segment_s - 1e-6


def test_malformed_refine_keeps_stage1_and_is_counted(openai_server, classical):
    server = openai_server([stage1(TARGET), "I think it is somewhere on the left. {bbox: oops"])
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0)
    scene = make_scene()
    result = run_query(scene, "red", policy=policy, segmenter=classical)
    assert result.format_failures == 1
    assert result.stages[1].ok is False and result.stages[1].failure
    assert next(t for t in result.trace if t.node == "refine").kept_previous is True
    assert iou(result.mask, scene.truth) > 0.8


def test_garbage_everywhere_gives_an_empty_result_not_a_crash(openai_server, classical):
    server = openai_server(["", None])
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0)
    result = run_query(make_scene(), "red", policy=policy, segmenter=classical)
    assert result.format_failures == 2 and result.instances == [] and not result.mask.any()
    assert result.encodes == 0  # nothing to segment, nothing encoded


def test_interrupt_before_refine_then_resume(openai_server, classical):
    answers = [stage1(TARGET), stage2(TARGET)]
    server = openai_server(answers * 2)
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0)
    straight = run_query(make_scene(), "red", policy=policy, segmenter=classical)

    store = SceneStore()
    store.put(make_scene())
    ctx = RunContext(policy=policy, segmenter=make_segmenter("classical"), store=store, max_rounds=1)
    graph = build_graph(checkpointer=InMemorySaver(), interrupt_before=["refine"])
    config = {"configurable": {"thread_id": "t1"}}
    paused = invoke(graph, {"scene_id": "toy", "query": "red"}, ctx, config)
    assert graph.get_state(config).next == ("refine",)
    assert [t.node for t in paused.trace] == ["localize", "segment", "render"]
    resumed = invoke(graph, None, ctx, config)
    assert [t.node for t in resumed.trace] == [t.node for t in straight.trace]
    assert np.array_equal(resumed.mask, straight.mask)
    assert [i.box for i in resumed.instances] == [i.box for i in straight.instances]


def test_person_edits_prompts_between_stages(openai_server, classical):
    """A person replaces the stage-1 boxes before refine; the refine stage is told the edited boxes."""
    server = openai_server(["<answer>[]</answer>", stage2(TARGET)])
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0)
    store = SceneStore()
    store.put(make_scene())
    ctx = RunContext(policy=policy, segmenter=classical, store=store, max_rounds=1)
    graph = build_graph(checkpointer=InMemorySaver(), interrupt_before=["render"])
    config = {"configurable": {"thread_id": "t2"}}
    invoke(graph, {"scene_id": "toy", "query": "red"}, ctx, config)
    graph.update_state(config, {"prompts": [{"box": {"x1": 35, "y1": 45, "x2": 115, "y2": 125}, "points": []}]})
    invoke(graph, None, ctx, config)
    assert "[" + ", ".join(str(v) for v in model_box((35, 45, 115, 125), pad=0)) + "]" in request_text(
        server.chat_bodies[1]
    )


def test_unreachable_server_is_a_backend_error(classical):
    from tests.fixtures.openai_server import free_port

    policy = make_policy("openai:fake-vlm", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=1,
                         backoff_s=0.01, timeout=2)  # fmt: skip
    with pytest.raises(BackendError, match=r"127\.0\.0\.1"):
        run_query(make_scene(), "red", policy=policy, segmenter=classical)


def test_empty_query_and_bad_rounds_are_input_errors(classical):
    policy = make_policy("map")
    with pytest.raises(InputError, match="query is empty"):
        run_query(make_scene(), "  ", policy=policy, segmenter=classical)
    with pytest.raises(InputError, match="refine rounds"):
        run_query(make_scene(), "red", policy=policy, segmenter=classical, max_rounds=99)


def test_hf_tiny_qwen_runs_the_loop_and_counts_format_failures(tiny_qwen25vl_path, classical):
    policy = make_policy(f"hf:{tiny_qwen25vl_path}", sampling=SamplingParams(max_tokens=24))
    small = Scene("small", make_scene().sat[:112, :112].copy(), make_scene().map[:112, :112].copy())
    result = run_query(small, "red", policy=policy, segmenter=classical, max_rounds=1)
    assert [s.stage for s in result.stages] == ["localize", "refine"]
    assert all(s.frame.kind == "abs" and s.frame.model_hw == [112, 112] for s in result.stages)
    assert result.mask.shape == (112, 112)
    # random weights answer noise: both answers are format failures, each with its code, counted once each
    assert [s.ok for s in result.stages] == [False, False] and all(s.failure for s in result.stages)
    assert result.format_failures == 2
    assert [t.ok for t in result.trace if t.node in ("localize", "refine")] == [False, False]
    assert all(s.token_ids and len(s.logprobs) == len(s.token_ids) for s in result.stages)


def test_sam2_encodes_once_per_query_whatever_the_prompts(openai_server):
    from tests.fixtures.tiny_sam2 import build_tiny_sam2

    two = stage1(TARGET).replace("}]", '}, {"bbox_2d": [2, 2, 40, 40]}]')
    server = openai_server(responder=lambda body: two)
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0)
    sam = build_tiny_sam2()
    result = run_query(make_scene(), "red", policy=policy, segmenter=sam, max_rounds=2)
    assert sum(len(s.prompts) for s in result.stages) == 6
    assert result.encodes == 1 and sam.encode_count == 1
    assert result.mask.shape == (H, W) and len(result.instances) == 2
    again = run_query(make_scene(), "red", policy=policy, segmenter=sam, max_rounds=1)
    assert again.encodes == 0  # the same scene id: the encoding is reused


def test_a_reused_scene_id_with_new_pixels_is_a_new_scene(openai_server, classical):
    """Scene ids come from callers and collide (two folders named tile1): pixels, not ids, decide reuse."""
    server = openai_server(responder=lambda body: "<answer>[{'bbox_2d': [2, 2, 30, 30]}]</answer>")
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0, frame="pixel")
    store = SceneStore()
    small = Scene("tile1", make_scene().sat[:64, :64].copy(), make_scene().map[:64, :64].copy())
    first = run_query(small, "red", policy=policy, segmenter=classical, store=store)
    second = run_query(make_scene("tile1"), "red", policy=policy, segmenter=classical, store=store)
    assert first.mask.shape == (64, 64) and second.mask.shape == (H, W)
    assert first.encodes == 1 and second.encodes == 1


def test_a_query_leaves_only_its_final_masks_in_the_store(openai_server, classical):
    server = openai_server(responder=lambda body: stage1(TARGET))
    policy = make_policy("openai:fake-vlm", base_url=server.base_url, max_retries=0)
    store = SceneStore()
    scene = make_scene()
    results = [run_query(scene, "red", policy=policy, segmenter=classical, store=store, max_rounds=2)
               for _ in range(3)]  # fmt: skip
    for result in results:  # every query's finals stay, everything else it stored is gone
        kept = {i.mask_id for i in result.instances} | {result.mask_id}
        made = set(result.made_ids)
        assert kept <= made and len(made - kept) > len(kept)  # two refine rounds made intermediates
        assert any(step.images for step in result.trace)  # and rendered feedback images
        for mask_id in kept:
            assert store.get_mask(mask_id).shape == scene.hw
        for other in made - kept:
            with pytest.raises(ToolError, match="no mask"):
                store.get_mask(other)
            with pytest.raises(ToolError, match="no image"):
                store.get_image(other)
    assert np.array_equal(store.get_mask(results[-1].mask_id), results[-1].mask)


class _AsyncOnlyPolicy(BasePolicy):
    """A policy that can answer only through the protocol's async methods."""

    name = "async-only"

    def localize(self, request):
        raise AssertionError("the graph took the sync path")

    refine = localize

    async def alocalize(self, request):
        await asyncio.sleep(0)
        box = tuple(float(v) for v in TARGET)
        return PolicyReply(text=format_answer([ParsedItem(box=box)], "async"), frame=ModelFrame("pixel"))

    async def arefine(self, request):
        box = request.previous[0].box.as_list()
        point = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        return PolicyReply(text=format_answer([ParsedItem(box=box, points=[point])], "a"), frame=ModelFrame("pixel"))


def test_ainvoke_runs_the_graph_on_the_policys_async_methods(classical):
    result = asyncio.run(arun_query(make_scene(), "red", policy=_AsyncOnlyPolicy(), segmenter=classical))
    assert [s.stage for s in result.stages] == ["localize", "refine"] and all(s.ok for s in result.stages)
    assert result.stages[1].prompts[0].points and iou(result.mask, make_scene().truth) > 0.8
    with pytest.raises(AssertionError, match="sync path"):
        run_query(make_scene(), "red", policy=_AsyncOnlyPolicy(), segmenter=classical)


def test_sync_and_async_runs_give_the_same_result(classical):
    layers_scene = make_scene()
    sync = run_query(layers_scene, "red", policy=make_policy("oracle-box"), segmenter=classical)
    asyn = asyncio.run(arun_query(layers_scene, "red", policy=make_policy("oracle-box"), segmenter=classical))
    assert np.array_equal(sync.mask, asyn.mask)
    assert [s.raw for s in sync.stages] == [s.raw for s in asyn.stages]
    assert [t.node for t in sync.trace] == [t.node for t in asyn.trace]


def test_a_query_releases_the_masks_and_images_it_made_but_its_final_masks(classical):
    store = SceneStore()
    result = run_query(make_scene(), "red", policy=make_policy("oracle-box"), segmenter=classical, store=store,
                       max_rounds=2)  # fmt: skip
    kept = {i.mask_id for i in result.instances} | {result.mask_id}
    assert len(result.made_ids) > len(kept)  # stage-1 masks, two feedback renders, ...
    for made in result.made_ids:
        getter = store.get_mask if ":mask" in made else store.get_image
        if made in kept:
            getter(made)
        else:
            with pytest.raises(ToolError):
                getter(made)
