"""``--protocol socioreasoner`` against ``socioagent``, end to end through a real OpenAI-protocol server.

The scenes are 768x768, so the model frame is the reference's 756x756. Each test runs the same scripted
answers under both protocols and checks the one aspect that differs (the rest must not).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from agent.backends import BackendConfig
from agent.parsing import reference_answer_text
from agent.policies import PolicyRequest
from agent.policies.messages import prepare
from agent.run import run_query
from tests.fixtures.openai_server import Reply, request_images, request_text
from tools.errors import InputError
from tools.render import feedback_images
from tools.scene import Scene
from tools.schemas import InstancePrompt

N = 768
F = 756
TARGET = (200, 240, 520, 560)  # scene pixels
MODEL_BOX = [round(v * F / N) for v in TARGET]  # [197, 236, 512, 551]


def make_scene() -> Scene:
    rng = np.random.default_rng(5)
    sat = rng.normal(110, 12, (N, N, 3)).clip(0, 255).astype(np.uint8)
    x1, y1, x2, y2 = TARGET
    sat[y1:y2, x1:x2] = rng.normal((200, 60, 50), 8, (y2 - y1, x2 - x1, 3)).clip(0, 255).astype(np.uint8)
    mp = np.full((N, N, 3), (242, 239, 233), np.uint8)
    mp[y1:y2, x1:x2] = (200, 220, 250)
    truth = np.zeros((N, N), bool)
    truth[y1:y2, x1:x2] = True
    return Scene("proto", sat, mp, truth=truth)


def answer(items, think: str = "the red roof") -> str:
    return f"<think>{think}</think><answer>{json.dumps(items)}</answer>"


STAGE1 = answer([{"bbox_2d": MODEL_BOX}])
CX, CY = (MODEL_BOX[0] + MODEL_BOX[2]) // 2, (MODEL_BOX[1] + MODEL_BOX[3]) // 2
STAGE2 = answer([{"bbox_2d": MODEL_BOX, "points": [[CX, CY], [CX + 20, CY + 20]]}])


def run(server, protocol: str, query: str = "the red building", **kw):
    cfg = BackendConfig(policy="openai:fake-vlm", base_url=server.base_url, protocol=protocol, max_retries=0,
                        timeout=10, **kw)  # fmt: skip
    return run_query(make_scene(), query, **cfg.build().run_kwargs())


def iou(a, b) -> float:
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


def test_socioreasoner_samples_as_the_reference_unless_a_flag_says_otherwise(openai_server):
    server = openai_server([STAGE1, STAGE2, STAGE1, STAGE2, STAGE1, STAGE2])
    reasoner = run(server, "socioreasoner")
    ours = run(server, "socioagent")
    mixed = run(server, "socioreasoner", temperature=0.0, seed=3)
    sent = [{k: b.get(k) for k in ("temperature", "top_p", "top_k", "max_tokens", "seed")} for b in server.chat_bodies]
    reference = {"temperature": 1.0, "top_p": 0.8, "top_k": 100, "max_tokens": 2048, "seed": None}
    assert sent[:2] == [reference] * 2
    assert sent[2:4] == [{"temperature": 0.0, "top_p": None, "top_k": None, "max_tokens": 1024, "seed": None}] * 2
    assert sent[4:] == [reference | {"temperature": 0.0, "seed": 3}] * 2
    assert reasoner.stages[0].meta.sampling == {k: v for k, v in reference.items() if v is not None}  # result.json
    assert ours.stages[1].meta.sampling == {"temperature": 0.0, "max_tokens": 1024}
    assert mixed.protocol == reasoner.protocol == "socioreasoner" and ours.protocol == "socioagent"


def test_socioreasoner_has_one_refine_round():
    with pytest.raises(InputError, match="--refine 2: the socioreasoner protocol has at most 1 refine round"):
        BackendConfig.parse(protocol="socioreasoner", refine=2)
    assert BackendConfig.parse(protocol="socioagent", refine=2).refine == 2


def test_socioreasoner_puts_the_raw_stage1_answer_verbatim_into_the_stage2_prompt(openai_server):
    raw = '[{"bbox_2d":[197, 236,512 ,551]}]'  # spacing no re-serialisation would keep
    stage1 = f"<think>the red roof</think><answer>\n{raw} </answer>"
    server = openai_server([stage1, STAGE2, stage1, STAGE2])
    run(server, "socioreasoner")
    run(server, "socioagent")
    reasoner2, ours2 = request_text(server.chat_bodies[1]), request_text(server.chat_bodies[3])
    assert f"The boxes found are: {raw}." in reasoner2 and '"the red building"' in reasoner2
    assert "'the red building'" in request_text(server.chat_bodies[0])  # the reference's quoting of stage 1
    assert raw not in ours2 and json.dumps([{"bbox_2d": MODEL_BOX}]) in ours2  # ours: clean JSON
    assert "absolute pixel coordinates" in ours2 and "absolute pixel coordinates" not in reasoner2


def test_two_answer_blocks_the_reference_reads_the_first(openai_server):
    other = [10, 10, 60, 60]
    text = STAGE1 + f"<answer>{json.dumps([{'bbox_2d': other}])}</answer>"
    server = openai_server([text, text])
    reasoner, ours = run(server, "socioreasoner", refine=0), run(server, "socioagent", refine=0)
    assert [round(v * F / N) for v in reasoner.stages[0].prompts[0].box.as_list()] == MODEL_BOX
    assert [round(v * F / N) for v in ours.stages[0].prompts[0].box.as_list()] == other
    assert "multiple_answers" in ours.stages[0].repairs


def test_a_point_written_x_y_0_is_positive_for_the_reference_and_negative_for_us(openai_server):
    stage2 = answer([{"bbox_2d": MODEL_BOX, "points": [[CX, CY, 0]]}])
    server = openai_server([STAGE1, stage2, STAGE1, stage2])
    reasoner, ours = run(server, "socioreasoner"), run(server, "socioagent")
    assert [p.label for p in reasoner.instances[0].points] == [1]
    assert [p.label for p in ours.instances[0].points] == [0]


def test_a_malformed_stage2_answer_is_an_empty_mask_for_the_reference(openai_server):
    bad = "I think it is on the left. {bbox: oops"
    server = openai_server([STAGE1, bad, STAGE1, bad])
    reasoner, ours = run(server, "socioreasoner"), run(server, "socioagent")
    for r in (reasoner, ours):
        assert r.format_failures == 1 and r.stages[1].ok is False
    assert not reasoner.mask.any() and reasoner.instances == []
    assert next(t for t in reasoner.trace if t.node == "refine").kept_previous is False
    assert iou(ours.mask, make_scene().truth) > 0.8  # ours keeps stage 1
    assert next(t for t in ours.trace if t.node == "refine").kept_previous is True


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_split_reasoning_is_kept_and_rebuilt_for_the_reference(openai_server, field):
    content = f"<answer>{json.dumps([{'bbox_2d': MODEL_BOX}])}</answer>"
    reply = Reply(content=content, reasoning="the map labels the red roof as the school", reasoning_field=field)
    server = openai_server([reply, reply])
    reasoner = run(server, "socioreasoner", refine=0, strict_parse=True)
    ours = run(server, "socioagent", refine=0, strict_parse=True)
    for r in (reasoner, ours):
        assert r.stages[0].reasoning == "the map labels the red roof as the school"
    assert reasoner.stages[0].raw == f"<think>the map labels the red roof as the school</think>{content}"
    assert reasoner.stages[0].ok and reasoner.stages[0].reading == "reference" and reasoner.strict_parse
    assert ours.stages[0].raw == content  # ours parses the content as sent: strict refuses the missing think
    assert ours.stages[0].failure == "needs_repair" and "missing_think" in ours.stages[0].repairs


def test_strict_parse_under_socioreasoner_is_the_reference_reading(openai_server):
    quoted = "<think>r</think><answer>" + json.dumps([{"bbox_2d": MODEL_BOX}]).replace('"', "'") + "</answer>"
    server = openai_server([quoted, quoted])
    strict, lenient = run(server, "socioreasoner", refine=0, strict_parse=True), run(server, "socioreasoner", refine=0)
    assert strict.stages[0].failure == "bad_json" and not strict.mask.any()
    assert lenient.stages[0].ok and "single_quotes" in lenient.stages[0].repairs
    assert lenient.stages[0].reading == "reference-lenient"


def test_the_reference_passes_boxes_and_points_as_written(openai_server):
    outside = [600, 600, 800, 790]  # beyond the 756 frame
    stage2 = answer([{"bbox_2d": outside, "points": [[10, 10]]}])  # the point lies outside its box
    server = openai_server([STAGE1, stage2, STAGE1, stage2])
    reasoner, ours = run(server, "socioreasoner"), run(server, "socioagent")
    (p,) = reasoner.stages[1].prompts
    assert p.box.x2 == pytest.approx(800 * N / F) and p.box.y2 == pytest.approx(790 * N / F) and len(p.points) == 1
    assert reasoner.stages[1].warnings == []
    (q,) = ours.stages[1].prompts
    assert (q.box.x2, q.box.y2) == (N, N) and q.points == []
    assert {"clipped", "dropped_points"} <= set(ours.stages[1].repairs)  # ours clips and drops while parsing


@pytest.mark.parametrize(("protocol", "look"), [("socioreasoner", "reference"), ("socioagent", "crisp")])
def test_the_stage2_images_are_drawn_at_the_sent_size_in_the_protocols_look(openai_server, protocol, look):
    server = openai_server([STAGE1, STAGE2])
    result = run(server, protocol)
    sent = request_images(server.chat_bodies[1])
    assert [im.shape for im in sent] == [(F, F, 3)] * 2
    from tools.segmenters import make_segmenter

    seg, scene = make_segmenter("classical"), make_scene()  # the stage-1 mask again (classical is deterministic)
    seg.set_scene(scene.scene_id, scene.sat)
    stage1_prompts = [InstancePrompt.model_validate(p) for p in result.stages[0].prompts]
    union = np.logical_or.reduce(seg.predict(stage1_prompts).masks)
    expected = feedback_images([scene.map, scene.sat], stage1_prompts, union, (F, F), look,
                               reference_answer_text(result.stages[0].raw))  # fmt: skip
    for got, want in zip(sent, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_prepare_fills_the_protocols_templates():
    scene = make_scene()
    loc = prepare(PolicyRequest("localize", "parks", scene, [scene.map, scene.sat]), protocol="socioreasoner")
    assert "'parks'" in loc.prompt and "${" not in loc.prompt and loc.sent_hw == (F, F)
    ref = PolicyRequest("refine", "parks", scene, [scene.map, scene.sat], previous_answer="not even json")
    assert "The boxes found are: not even json." in prepare(ref, protocol="socioreasoner").prompt
    with pytest.raises(InputError, match="unknown protocol"):
        prepare(ref, protocol="paper")


def test_a_prompt_dir_replaces_the_socioreasoner_templates(tmp_path, openai_server):
    (tmp_path / "socioreasoner_localize.txt").write_text("FIND '${query}' costs $$0")
    (tmp_path / "socioreasoner_refine.txt").write_text('REFINE "${query}" from: ${boxes}.')
    server = openai_server([STAGE1, STAGE2])
    run(server, "socioreasoner", prompt_dir=tmp_path)
    assert request_text(server.chat_bodies[0]) == "FIND 'the red building' costs $0"
    assert request_text(server.chat_bodies[1]) == f'REFINE "the red building" from: {reference_answer_text(STAGE1)}.'
    (tmp_path / "socioreasoner_refine.txt").unlink()
    with pytest.raises(InputError, match=r"socioreasoner_refine\.txt not found"):
        run(openai_server([STAGE1]), "socioreasoner", prompt_dir=tmp_path)


def test_identity_records_protocol_parse_mode_and_effective_sampling():
    ours = BackendConfig(policy="openai:m", base_url="http://h/v1").identity()
    theirs = BackendConfig(policy="openai:m", base_url="http://h/v1", protocol="socioreasoner", strict_parse=True)
    assert (ours["protocol"], ours["strict_parse"], ours["sampling"]) == (
        "socioagent", False, {"temperature": 0.0, "max_tokens": 1024})  # fmt: skip
    assert theirs.identity()["sampling"] == {"temperature": 1.0, "top_p": 0.8, "top_k": 100, "max_tokens": 2048}
    assert theirs.identity()["protocol"] == "socioreasoner" and theirs.identity()["strict_parse"] is True
    with pytest.raises(InputError, match="unknown --protocol 'paper'"):
        BackendConfig.parse(protocol="paper")


def test_a_policy_built_for_another_protocol_is_refused(openai_server):
    server = openai_server([STAGE1])
    b = BackendConfig(policy="openai:fake-vlm", base_url=server.base_url).build()
    with pytest.raises(InputError, match="built for the socioagent protocol but the run follows socioreasoner"):
        run_query(make_scene(), "x", **(b.run_kwargs() | {"protocol": "socioreasoner"}))


def test_a_server_that_refuses_top_k_is_asked_again_without_it_and_the_reply_says_so(openai_server):
    server = openai_server([STAGE1, STAGE2])
    server.fail(status=400, body={"error": {"message": "Unrecognized request argument supplied: top_k"}})
    result = run(server, "socioreasoner")
    bodies = server.chat_bodies
    assert len(bodies) == 3 and bodies[0]["top_k"] == 100  # refused, then sent again without it, and never again
    assert "top_k" not in bodies[1] and "top_k" not in bodies[2] and bodies[2]["top_p"] == 0.8
    for stage in result.stages:
        assert stage.meta.notes == ["top_k=100 not sent: the server refused the field"]
        assert "top_k" not in stage.meta.sampling and stage.meta.retries == 0
    assert result.format_failures == 0


def test_socio_segment_takes_the_protocol_flags_and_result_json_says_which(tmp_path, openai_server):
    from PIL import Image
    from typer.testing import CliRunner

    from socioagent.cli import app

    scene = make_scene()
    Image.fromarray(scene.sat).save(tmp_path / "sat.png")
    Image.fromarray(scene.map).save(tmp_path / "map.png")
    server = openai_server([STAGE1, STAGE2])
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["segment", "--sat", str(tmp_path / "sat.png"), "--map", str(tmp_path / "map.png"),
                                 "--query", "the red building", "--out", str(out), "--policy", "openai:fake-vlm",
                                 "--base-url", server.base_url, "--protocol", "socioreasoner", "--strict-parse",
                                 "--top-k", "50"])  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "result.json").read_text())
    assert doc["protocol"] == "socioreasoner" and doc["strict_parse"] is True
    assert [s["reading"] for s in doc["stages"]] == ["reference", "reference"]
    assert doc["stages"][0]["meta"]["sampling"] == {"temperature": 1.0, "top_p": 0.8, "top_k": 50, "max_tokens": 2048}
