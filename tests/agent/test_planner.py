"""The chat planners: plan -> text -> plan round trips for every operation, everyday phrasings, errors that name the
part not understood, and the LLM planner against the real OpenAI-protocol test server (tool calls, a malformed
tool call, an invalid plan, repair once)."""

from __future__ import annotations

import json

import pytest

from agent.planner.llm import TOOL_NAME, plan_with_llm
from agent.planner.offline import plan_offline
from agent.planner.plan import (
    Combine,
    Distance,
    Entities,
    Exclude,
    Extreme,
    Nearest,
    Plan,
    Topology,
    plan_text,
    walk,
)
from tests.fixtures.openai_server import Reply, server_factory
from tools.errors import BackendError, InputError

PARKS = Entities(phrase="parks", level="class", key="park")
HOSP = Entities(phrase="hospitals", level="class", key="hospital")
HOSP1 = Entities(phrase="hospital", level="class", key="hospital")
SCHOOLS = Entities(phrase="schools", level="class", key="school")
EDU = Entities(phrase="places for education", level="function", key="education")
NAMED = Entities(phrase="Kaisaniemen puisto", level="name", key="Kaisaniemen puisto")
NAMES = ["Kaisaniemen puisto", "Esplanadinpuisto"]

ROOTS = {
    "entities": PARKS,
    "function": EDU,
    "name": NAMED,
    "within": Distance(op="within", features=PARKS, reference=HOSP, distance=1, unit="km"),
    "within-ft": Distance(op="within", features=PARKS, reference=HOSP, distance=250, unit="ft"),
    "within-mi": Distance(op="within", features=SCHOOLS, reference=NAMED, distance=0.5, unit="mi"),
    "near": Distance(op="within", features=SCHOOLS, reference=PARKS, distance=500, unit="m", near=True),
    "beyond": Distance(op="beyond", features=PARKS, reference=HOSP, distance=300, unit="m"),
    "far": Distance(op="beyond", features=PARKS, reference=HOSP, distance=500, unit="m", near=True),
    "inside": Topology(op="inside", features=SCHOOLS, reference=PARKS),
    "outside": Topology(op="outside", features=SCHOOLS, reference=PARKS),
    "intersecting": Topology(op="intersecting", features=PARKS, reference=EDU),
    "nearest": Nearest(features=HOSP, reference=NAMED, k=1),
    "nearest-k": Nearest(features=HOSP, reference=SCHOOLS, k=3),
    "largest": Extreme(op="largest", features=PARKS, k=1),
    "smallest-k": Extreme(op="smallest", features=PARKS, k=4),
    "and": Combine(
        op="and",
        items=[
            Distance(op="within", features=PARKS, reference=HOSP, distance=1, unit="km"),
            Topology(op="outside", features=PARKS, reference=EDU),
        ],
    ),
    "or": Combine(op="or", items=[PARKS, SCHOOLS, HOSP]),
    "not": Exclude(
        features=PARKS, exclude=Distance(op="within", features=PARKS, reference=SCHOOLS, distance=200, unit="m")
    ),
    "nested": Distance(
        op="within", features=SCHOOLS, reference=Extreme(op="largest", features=PARKS, k=2), distance=2, unit="km"
    ),
    "union-subject": Distance(
        op="within", features=Combine(op="or", items=[PARKS, SCHOOLS]), reference=HOSP, distance=100, unit="m"
    ),
}


@pytest.mark.parametrize("output", ["features", "count", "name"])
@pytest.mark.parametrize("name", sorted(ROOTS))
def test_plan_text_plan_round_trip(name, output):
    plan = Plan(query="q", root=ROOTS[name], output=output)
    text = plan_text(plan)
    again = plan_offline(text, names=NAMES)
    assert again.root == plan.root and again.output == output, text


@pytest.mark.parametrize("name", ["nearest", "nearest-k"])
def test_distance_output_round_trip(name):
    plan = Plan(query="q", root=ROOTS[name], output="distance")
    assert plan_offline(plan_text(plan), names=NAMES).root == plan.root


def test_every_operation_has_a_round_trip():
    ops = {n.op for root in ROOTS.values() for n in walk(root)}
    assert ops == {"entities", "within", "beyond", "inside", "outside", "intersecting", "nearest", "largest",
                   "smallest", "and", "or", "not"}  # fmt: skip


@pytest.mark.parametrize(
    ("question", "expected", "output"),
    [
        ("Parks within 1 km of hospitals", ROOTS["within"], "features"),
        (
            "show me all the parks that are less than 1 kilometre from a hospital?",
            Distance(
                op="within",
                features=Entities(phrase="parks", level="class", key="park"),
                reference=Entities(phrase="a hospital", level="class", key="hospital"),
                distance=1,
                unit="km",
            ),
            "features",
        ),
        (
            "How many schools are there near parks?",
            Distance(op="within", features=SCHOOLS, reference=PARKS, distance=500, unit="m", near=True),
            "count",
        ),
        ("which parks are further than 300 metres away from hospitals", ROOTS["beyond"], "name"),
        ("the nearest hospital to Kaisaniemen puisto", Nearest(features=HOSP1, reference=NAMED), "features"),
        ("what are the 3 closest hospitals to schools", Nearest(features=HOSP, reference=SCHOOLS, k=3), "name"),
        (
            "how far is the nearest hospital from Kaisaniemen puisto",
            Nearest(features=HOSP1, reference=NAMED),
            "distance",
        ),
        ("the biggest parks", Extreme(op="largest", features=PARKS, k=1), "features"),
        ("parks or schools or hospitals", ROOTS["or"], "features"),
        ("parks, schools and hospitals", ROOTS["or"], "features"),
        ("parks within 250 feet of hospitals", ROOTS["within-ft"], "features"),
        ("hosptials", Entities(phrase="hosptials", level="class", key="hospital"), "features"),
        (
            "I'm looking for schools within a 5 minute walk of parks",
            Distance(op="within", features=SCHOOLS, reference=PARKS, distance=400, unit="m"),
            "features",
        ),
        ("what's the nearest hospital to Kaisaniemen puisto", Nearest(features=HOSP1, reference=NAMED), "name"),
    ],
)
def test_everyday_phrasings(question, expected, output):
    plan = plan_offline(question, names=NAMES)
    assert plan.root == expected and plan.output == output and plan.query == question


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("parks within 3 blocks of hospitals", ["unknown distance unit 'blocks'", "m, km, mi or ft"]),
        ("parks within -2 km of hospitals", ["negative distance", "0 or more"]),
        ("parks within minus 2 km of hospitals", ["negative distance"]),
        ("zorblax near parks", ["could not read 'zorblax'"]),
        ("parks near qwxzv", ["could not read 'qwxzv'"]),
        ("   ", ["question is empty"]),
        ("the nearest hospital", ["'nearest' needs a place"]),
        ("parks near", ["needs a place after it"]),
        ("(parks near schools", ["unmatched '('"]),
        ("parks that contain a playground", ["could not read 'parks that contain a playground'"]),
    ],
)
def test_what_the_offline_planner_cannot_read_is_named(question, words):
    with pytest.raises(InputError) as e:
        plan_offline(question, names=NAMES)
    for w in words:
        assert w in str(e.value)


def test_plans_refuse_what_the_executor_cannot_do():
    with pytest.raises(ValueError, match="not in the taxonomy"):
        Entities(phrase="x", level="class", key="spaceport_of_dreams")
    with pytest.raises(ValueError):
        Distance(op="within", features=PARKS, reference=HOSP, distance=-1, unit="m")
    with pytest.raises(ValueError):
        Distance(op="within", features=PARKS, reference=HOSP, distance=1, unit="parsec")


# -- the LLM planner over the real OpenAI-protocol server ------------------------------------------------------


@pytest.fixture
def openai_server():
    with server_factory() as make:
        yield make


def _call(args: dict | str) -> Reply:
    text = args if isinstance(args, str) else json.dumps(args)
    return Reply(content=None, tool_calls=[{"name": TOOL_NAME, "arguments": text}])


GOOD = {"root": {"op": "within", "features": {"op": "entities", "phrase": "parks", "level": "class", "key": "park"},
                 "reference": {"op": "entities", "phrase": "hospitals", "level": "class", "key": "hospital"},
                 "distance": 1, "unit": "km"}, "output": "features"}  # fmt: skip


def test_llm_plan_from_a_tool_call(openai_server):
    server = openai_server([_call(GOOD)])
    r = plan_with_llm("parks within 1 km of hospitals", base_url=server.base_url, model="fake-llm", names=NAMES)
    assert r.plan.root == ROOTS["within"] and r.format_failures == 0
    body = server.chat_bodies[0]
    assert body["tools"][0]["function"]["name"] == TOOL_NAME
    assert body["tool_choice"] == {"type": "function", "function": {"name": TOOL_NAME}}
    assert "parks within 1 km of hospitals" in body["messages"][0]["content"]
    assert "Kaisaniemen puisto" in body["messages"][0]["content"]
    assert plan_offline(plan_text(r.plan)).root == r.plan.root  # the same plan type, readable back offline


def test_llm_malformed_tool_call_is_repaired_once(openai_server):
    server = openai_server([_call('{"root": {"op": "entities", "phrase": "parks", "level": "cl'), _call(GOOD)])
    r = plan_with_llm("parks within 1 km of hospitals", base_url=server.base_url, model="fake-llm")
    assert r.plan.root == ROOTS["within"] and r.format_failures == 1
    repair = server.chat_bodies[1]["messages"]
    assert repair[1]["role"] == "assistant" and repair[1]["tool_calls"][0]["function"]["name"] == TOOL_NAME
    assert repair[2]["role"] == "tool" and "Error" in repair[2]["content"]
    assert "could not be used" in repair[3]["content"]


def test_llm_invalid_plan_twice_is_a_backend_error_naming_the_problem(openai_server):
    bad = {"root": {"op": "entities", "phrase": "spaceports", "level": "class", "key": "spaceport"}}
    server = openai_server([_call(bad), _call(bad)])
    with pytest.raises(BackendError) as e:
        plan_with_llm("spaceports", base_url=server.base_url, model="fake-llm")
    assert "after one repair" in str(e.value) and "spaceport" in str(e.value)
    assert "not in the taxonomy" in server.chat_bodies[1]["messages"][-2]["content"]
    assert len(server.chat_requests) == 2


def test_llm_plan_in_the_content_with_lenient_json(openai_server):
    text = "Here is the plan: {'root': {'op': 'largest', 'features': {'op': 'entities', 'phrase': 'parks', " \
           "'level': 'class', 'key': 'park'}, 'k': 1,}, 'output': 'name'}"  # fmt: skip
    server = openai_server([text])
    r = plan_with_llm("which park is largest", base_url=server.base_url, model="fake-llm")
    assert r.plan.root == Extreme(op="largest", features=PARKS) and r.plan.output == "name"
    assert r.plan.query == "which park is largest"


def test_llm_server_failure_is_a_backend_error(openai_server):
    server = openai_server([_call(GOOD)])
    server.fail(status=401, times=5)
    with pytest.raises(BackendError, match="API key"):
        plan_with_llm("parks", base_url=server.base_url, model="fake-llm")


def test_llm_planner_needs_a_server_and_a_model(monkeypatch):
    for var in ("SOCIO_OPENAI_BASE_URL", "OPENAI_BASE_URL", "SOCIO_OPENAI_MODEL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(InputError, match="--model"):
        plan_with_llm("parks", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(InputError, match="--base-url"):
        plan_with_llm("parks", model="m")
