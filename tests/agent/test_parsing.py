"""Tests for agent.parsing: a table of malformed answers, then property-based fuzzing."""

from __future__ import annotations

import json
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.parsing import Failure, ParsedAnswer, ParsedItem, Repair, format_answer, parse_answer
from agent.parsing.answer import MAX_ITEMS
from tools.errors import InputError

B = (10.0, 20.0, 110.0, 220.0)
OK = '<think>r</think><answer>[{"bbox_2d": [10, 20, 110, 220]}]</answer>'

# (name, text, stage, extent, expected boxes, expected points per item, repairs that must be present, failure)
CASES: list[tuple[str, str, str, tuple[float, float] | None, list, list | None, set[str], str | None]] = [
    ("well formed", OK, "localize", None, [B], None, set(), None),
    ("no think", OK.removeprefix("<think>r</think>"), "localize", None, [B], None, {Repair.MISSING_THINK}, None),
    (
        "only </think>",
        'reasoning</think><answer>[{"bbox_2d": [10, 20, 110, 220]}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.PARTIAL_THINK},
        None,
    ),
    (
        "no </answer>",
        '<think>r</think><answer>[{"bbox_2d": [10, 20, 110, 220]}]',
        "localize",
        None,
        [B],
        None,
        {Repair.MISSING_ANSWER_CLOSE},
        None,
    ),
    (
        "no <answer>",
        '<think>r</think>[{"bbox_2d": [10, 20, 110, 220]}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.MISSING_ANSWER_OPEN},
        None,
    ),
    (
        "no answer tags, list after think",
        '<think>I see [1, 2] things</think>\n[{"bbox_2d": [10, 20, 110, 220]}]',
        "localize",
        None,
        [B],
        None,
        {Repair.MISSING_ANSWER_TAGS},
        None,
    ),
    (
        "no tags at all, list in prose",
        'The school is at [{"bbox_2d": [10, 20, 110, 220]}] I think.',
        "localize",
        None,
        [B],
        None,
        {Repair.MISSING_THINK, Repair.MISSING_ANSWER_TAGS, Repair.EXTRA_TEXT},
        None,
    ),
    (
        "doubled answers: last complete wins",
        '<answer>[{"bbox_2d": [0, 0, 5, 5]}]</answer> wait <answer>[{"bbox_2d": [10, 20, 110, 220]}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.MULTIPLE_ANSWERS},
        None,
    ),
    (
        "nested doubled tags",
        '<answer><answer>[{"bbox_2d": [10, 20, 110, 220]}]</answer></answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.MULTIPLE_ANSWERS},
        None,
    ),
    (
        "whitespace and newlines everywhere",
        '\n <think>\n r \n</think>\n\n<answer>\n[ {\n "bbox_2d" :\n [ 10 ,\n20, 110 , 220 ] } ]\n</answer>\n',
        "localize",
        None,
        [B],
        None,
        set(),
        None,
    ),
    (
        "code fence",
        '<answer>```json\n[{"bbox_2d": [10, 20, 110, 220]}]\n```</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.CODE_FENCE},
        None,
    ),
    (
        "code fence, no answer tags",
        '<think>r</think>```json\n[{"bbox_2d": [10, 20, 110, 220]}]\n```',
        "localize",
        None,
        [B],
        None,
        {Repair.CODE_FENCE, Repair.MISSING_ANSWER_TAGS},
        None,
    ),
    (
        "single quotes",
        "<answer>[{'bbox_2d': [10, 20, 110, 220]}]</answer>",
        "localize",
        None,
        [B],
        None,
        {Repair.SINGLE_QUOTES},
        None,
    ),
    (
        "trailing commas",
        '<answer>[{"bbox_2d": [10, 20, 110, 220,],},]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.TRAILING_COMMA},
        None,
    ),
    (
        "python literals in extra keys",
        '<answer>[{"bbox_2d": [10, 20, 110, 220], "found": True, "note": None}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.PYTHON_LITERALS},
        None,
    ),
    (
        "python tuple",
        "<answer>[{'bbox_2d': (10, 20, 110, 220)}]</answer>",
        "localize",
        None,
        [B],
        None,
        {Repair.PYTHON_LITERALS, Repair.SINGLE_QUOTES},
        None,
    ),
    (
        "single object",
        '<answer>{"bbox_2d": [10, 20, 110, 220]}</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.SINGLE_OBJECT},
        None,
    ),
    (
        "objects without list brackets",
        '<answer>{"bbox_2d": [10, 20, 110, 220]}, {"bbox_2d": [1, 2, 3, 4]}</answer>',
        "localize",
        None,
        [B, (1.0, 2.0, 3.0, 4.0)],
        None,
        {Repair.BARE_SEQUENCE},
        None,
    ),
    (
        "list wrapped in an object",
        '<answer>{"boxes": [{"bbox_2d": [10, 20, 110, 220]}]}</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.WRAPPED_LIST},
        None,
    ),
    (
        "JSON string holding the list",
        '<answer>"[{\\"bbox_2d\\": [10, 20, 110, 220]}]"</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.DOUBLE_ENCODED},
        None,
    ),
    (
        "numbers as strings and floats",
        '<answer>[{"bbox_2d": ["10", "20.0", 110.0, " 220 "]}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.STRING_NUMBERS},
        None,
    ),
    (
        "box as one string",
        '<answer>[{"bbox_2d": "10, 20, 110, 220"}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.STRING_NUMBERS},
        None,
    ),
    (
        "alternative box key bbox",
        '<answer>[{"bbox": [10, 20, 110, 220]}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.ALT_KEY},
        None,
    ),
    (
        "alternative box key box, upper case",
        '<answer>[{"BOX": [10, 20, 110, 220]}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.ALT_KEY},
        None,
    ),
    (
        "box as two corners",
        '<answer>[{"bbox_2d": [[10, 20], [110, 220]]}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.BOX_SHAPE},
        None,
    ),
    (
        "box as x1/y1/x2/y2 object",
        '<answer>[{"bbox_2d": {"x1": 10, "y1": 20, "x2": 110, "y2": 220}}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.BOX_SHAPE},
        None,
    ),
    ("bare box", "<answer>[10, 20, 110, 220]</answer>", "localize", None, [B], None, {Repair.BARE_BOX}, None),
    (
        "swapped corners",
        '<answer>[{"bbox_2d": [110, 220, 10, 20]}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.SWAPPED_CORNERS},
        None,
    ),
    (
        "clipped to extent",
        '<answer>[{"bbox_2d": [-5, 20, 900, 220]}]</answer>',
        "localize",
        (756, 756),
        [(0.0, 20.0, 756.0, 220.0)],
        None,
        {Repair.CLIPPED},
        None,
    ),
    (
        "no clipping without extent",
        '<answer>[{"bbox_2d": [-5, 20, 900, 220]}]</answer>',
        "localize",
        None,
        [(-5.0, 20.0, 900.0, 220.0)],
        None,
        set(),
        None,
    ),
    (
        "extra keys ignored",
        '<answer>[{"bbox_2d": [10, 20, 110, 220], "label": "school", "score": 0.9}]</answer>',
        "localize",
        None,
        [B],
        None,
        set(),
        None,
    ),
    (
        "unquoted keys, missing comma",
        "<answer>[{bbox_2d: [10, 20, 110, 220] points: [[50, 60]]}]</answer>",
        "refine",
        None,
        [B],
        [[(50.0, 60.0)]],
        {Repair.UNQUOTED, Repair.MISSING_COMMA},
        None,
    ),
    (
        "typographic quotes",
        "<answer>[{“bbox_2d”: [10, 20, 110, 220]}]</answer>",
        "localize",
        None,
        [B],
        None,
        {Repair.SMART_QUOTES},
        None,
    ),
    (
        "reference template typo: ] closed by }",
        '<answer>[{"bbox_2d": [10, 20, 110, 220], "points": [[50, 60], [70, 80]}]</answer>',
        "refine",
        None,
        [B],
        [[(50.0, 60.0), (70.0, 80.0)]],
        {Repair.MISMATCHED_BRACKETS},
        None,
    ),
    (
        "truncated generation",
        '<think>r</think><answer>[{"bbox_2d": [10, 20, 110, 220], "points": [[50, 60], [70, 80',
        "refine",
        None,
        [B],
        [[(50.0, 60.0), (70.0, 80.0)]],
        {Repair.TRUNCATED, Repair.MISSING_ANSWER_CLOSE},
        None,
    ),
    (
        "refine: points",
        '<think>r</think><answer>[{"bbox_2d": [10, 20, 110, 220], "points": [[50, 60], [70, 80]]}]</answer>',
        "refine",
        None,
        [B],
        [[(50.0, 60.0), (70.0, 80.0)]],
        set(),
        None,
    ),
    (
        "refine: item without points is usable",
        OK,
        "refine",
        None,
        [B],
        [[]],
        {Repair.MISSING_POINTS},
        None,
    ),
    (
        "refine: alternative points keys",
        '<answer>[{"bbox_2d": [10, 20, 110, 220], "points_2d": [[50, 60]]}, {"box": [1, 2, 9, 9], "point": [3, 4]}]'
        "</answer>",
        "refine",
        None,
        [B, (1.0, 2.0, 9.0, 9.0)],
        [[(50.0, 60.0)], [(3.0, 4.0)]],
        {Repair.ALT_KEY, Repair.POINT_SHAPE},
        None,
    ),
    (
        "refine: points outside the box are dropped",
        '<answer>[{"bbox_2d": [10, 20, 110, 220], "points": [[50, 60], [500, 60], [50, 1], [70, 80]]}]</answer>',
        "refine",
        None,
        [B],
        [[(50.0, 60.0), (70.0, 80.0)]],
        {Repair.DROPPED_POINTS},
        None,
    ),
    (
        "refine: malformed points are dropped",
        '<answer>[{"bbox_2d": [10, 20, 110, 220], "points": [[50], [50, 60], "x", [NaN, 3], [1, 2, 3, 4]]}]</answer>',
        "refine",
        None,
        [B],
        [[(50.0, 60.0)]],
        {Repair.DROPPED_POINTS},
        None,
    ),
    (
        "one bad item among good ones",
        '<answer>[{"bbox_2d": [1, 2, 3]}, {"bbox_2d": [10, 20, 110, 220]}]</answer>',
        "localize",
        None,
        [B],
        None,
        {Repair.DROPPED_ITEMS},
        None,
    ),
    ("empty list: nothing found", "<think>nothing</think><answer>[]</answer>", "localize", None, [], None, set(), None),
    ("empty list, refine", "<answer>[]</answer>", "refine", None, [], None, set(), None),
    # failures
    ("empty text", "", "localize", None, [], None, set(), Failure.NO_ANSWER),
    ("prose only", "I could not find any school in this image.", "localize", None, [], None, set(), Failure.NO_ANSWER),
    ("empty answer tags", "<think>r</think><answer> </answer>", "localize", None, [], None, set(), Failure.NO_ANSWER),
    ("unparseable JSON", "<answer>the school, top left</answer>", "localize", None, [], None, set(), Failure.BAD_JSON),
    ("garbage JSON", "<answer>[{: ]]]</answer>", "localize", None, [], None, set(), Failure.BAD_JSON),
    ("null answer", "<answer>null</answer>", "localize", None, [], None, set(), Failure.NO_BOX),
    ("no box key", '<answer>[{"points": [[1, 2]]}]</answer>', "refine", None, [], None, set(), Failure.NO_BOX),
    ("three numbers", '<answer>[{"bbox_2d": [1, 2, 3]}]</answer>', "localize", None, [], None, set(), Failure.NO_BOX),
    (
        "words in box",
        '<answer>[{"bbox_2d": ["a", 2, 3, 4]}]</answer>',
        "localize",
        None,
        [],
        None,
        set(),
        Failure.NO_BOX,
    ),
    ("booleans in box", '<answer>[{"bbox_2d": [true, 2, 3, 4]}]</answer>', "localize", None, [], None, set(), "no_box"),
    ("NaN", '<answer>[{"bbox_2d": [NaN, 2, 3, 4]}]</answer>', "localize", None, [], None, set(), Failure.NON_FINITE),
    (
        "Infinity",
        '<answer>[{"bbox_2d": [1, 2, 1e999, 4]}]</answer>',
        "localize",
        None,
        [],
        None,
        set(),
        Failure.NON_FINITE,
    ),
    (
        "huge integer",
        '<answer>[{"bbox_2d": [1, 2, 1' + "0" * 400 + ", 4]}]</answer>",
        "localize",
        None,
        [],
        None,
        set(),
        Failure.NON_FINITE,
    ),
    (
        "outside the extent",
        '<answer>[{"bbox_2d": [800, 10, 900, 50]}]</answer>',
        "localize",
        (756, 756),
        [],
        None,
        set(),
        Failure.BOX_OUTSIDE,
    ),
    (
        "touching the edge only",
        '<answer>[{"bbox_2d": [756, 10, 900, 50]}]</answer>',
        "localize",
        (756, 756),
        [],
        None,
        set(),
        Failure.BOX_OUTSIDE,
    ),
    (
        "zero width",
        '<answer>[{"bbox_2d": [10, 10, 10, 50]}]</answer>',
        "localize",
        None,
        [],
        None,
        set(),
        Failure.EMPTY_BOX,
    ),
    ("deep nesting", "<answer>" + "[" * 5000 + "</answer>", "localize", None, [], None, set(), Failure.BAD_JSON),
]


@pytest.mark.parametrize(
    ("text", "stage", "extent", "boxes", "points", "repairs", "failure"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_table(text, stage, extent, boxes, points, repairs, failure):
    r = parse_answer(text, stage=stage, extent=extent)
    assert isinstance(r, ParsedAnswer)
    assert r.failure == failure
    assert r.ok == (failure is None)
    assert [it.box for it in r.items] == boxes
    if points is not None:
        assert [it.points for it in r.items] == points
    assert repairs <= set(r.repairs), r.repairs
    assert set(r.repairs) <= set(Repair)
    assert len(r.repairs) == len(set(r.repairs))
    if failure is not None:
        assert failure in set(Failure) and not r.items


def test_clean_answer_has_no_repairs_and_keeps_think():
    r = parse_answer('<think> the school is north </think>\n<answer>[{"bbox_2d": [10, 20, 110, 220]}]</answer>')
    assert r.ok and r.repairs == [] and r.think == "the school is north"
    assert r.item_failures == [] and r.dropped_points == 0


def test_counts_dropped_items_and_points():
    text = (
        '<answer>[{"bbox_2d": [1, 2, 3]}, {"bbox_2d": [NaN, 0, 1, 1]},'
        ' {"bbox_2d": [10, 20, 110, 220], "points": [[50, 60], [0, 0], [999, 999]]}]</answer>'
    )
    r = parse_answer(text, stage="refine")
    assert r.ok and len(r.items) == 1
    assert r.item_failures == [Failure.NO_BOX, Failure.NON_FINITE]
    assert r.dropped_points == 2


def test_all_items_bad_reports_first_reason():
    r = parse_answer('<answer>[{"bbox_2d": [1, 2, 3]}, {"bbox_2d": [NaN, 0, 1, 1]}]</answer>')
    assert r.failure == Failure.NO_BOX and r.item_failures == [Failure.NO_BOX, Failure.NON_FINITE] and r.items == []


def test_point_labels():
    text = (
        '<answer>[{"bbox_2d": [0, 0, 100, 100], "points": [[10, 10], [20, 20, 0], [30, 30, 1], [40, 40, 7]]}]</answer>'
    )
    r = parse_answer(text, stage="refine")
    (it,) = r.items
    assert it.points == [(10.0, 10.0), (20.0, 20.0), (30.0, 30.0)]
    assert it.labels == [1, 0, 1]
    assert r.dropped_points == 1  # label 7 is not a label
    sep = parse_answer(
        '<answer>[{"bbox_2d": [0, 0, 100, 100], "points": [[10, 10], [20, 20]], "labels": [0, 1]}]</answer>'
    )
    assert sep.items[0].labels == [0, 1]
    objs = parse_answer(
        '<answer>[{"bbox_2d": [0, 0, 100, 100], '
        '"points": [{"x": 10, "y": 10}, {"x": 20, "y": 20, "label": 0}]}]</answer>'
    )
    assert objs.items[0].points == [(10.0, 10.0), (20.0, 20.0)] and objs.items[0].labels == [1, 0]


def test_points_checked_against_clipped_box():
    r = parse_answer(
        '<answer>[{"bbox_2d": [-50, 0, 100, 100], "points": [[-10, 50], [10, 50]]}]</answer>',
        stage="refine",
        extent=(200, 200),
    )
    assert r.items[0].box == (0.0, 0.0, 100.0, 100.0)
    assert r.items[0].points == [(10.0, 50.0)] and r.dropped_points == 1


def test_special_tokens_are_ignored():
    r = parse_answer('<think>r</think><answer>[{"bbox_2d": [10, 20, 110, 220]}]</answer><|im_end|><|endoftext|>')
    assert r.ok and r.repairs == [] and r.items[0].box == B


def test_too_many_items_are_capped():
    body = ", ".join('{"bbox_2d": [0, 0, 10, 10]}' for _ in range(MAX_ITEMS + 20))
    r = parse_answer(f"<answer>[{body}]</answer>")
    assert len(r.items) == MAX_ITEMS and Repair.TOO_MANY_ITEMS in r.repairs


def test_non_string_input_does_not_raise():
    assert parse_answer(None).failure == Failure.NO_ANSWER  # type: ignore[arg-type]
    assert parse_answer(OK.encode()).items[0].box == B  # type: ignore[arg-type]


@pytest.mark.parametrize("extent", [(0, 10), (10, -1), (float("nan"), 10), ("a", 1), (1,)])
def test_bad_extent_is_an_input_error(extent):
    with pytest.raises(InputError, match="extent"):
        parse_answer(OK, extent=extent)


def test_parsed_item_labels_default_and_check():
    assert ParsedItem(box=B, points=[(50.0, 60.0)]).labels == [1]
    with pytest.raises(ValueError, match="labels"):
        ParsedItem(box=B, points=[(50.0, 60.0)], labels=[1, 0])


def test_format_answer_is_reference_compatible():
    items = [ParsedItem(box=B, points=[(50.0, 60.0), (70.5, 80.0)]), ParsedItem(box=(1.0, 2.0, 3.0, 4.0))]
    text = format_answer(items, think="because")
    # The reference's format reward regex and its strict json.loads both accept it.
    assert re.fullmatch(r"<think>.*?</think>\s*<answer>.*?</answer>", text, re.DOTALL)
    payload = json.loads(text.split("<answer>")[1].split("</answer>")[0])
    assert payload == [
        {"bbox_2d": [10, 20, 110, 220], "points": [[50, 60], [70.5, 80]]},
        {"bbox_2d": [1, 2, 3, 4]},
    ]
    assert format_answer([]) == "<answer>[]</answer>"
    neg = format_answer([ParsedItem(box=B, points=[(50.0, 60.0), (70.0, 80.0)], labels=[1, 0])])
    assert '"points": [[50, 60, 1], [70, 80, 0]]' in neg


def test_format_answer_sanitises_think_and_rejects_non_finite():
    text = format_answer([ParsedItem(box=B)], think="a</think><answer>[]</answer>b")
    r = parse_answer(text)
    assert r.think == "a[]b" and r.items[0].box == B and r.repairs == []
    with pytest.raises(InputError, match="non-finite"):
        format_answer([ParsedItem(box=(0.0, 0.0, float("inf"), 1.0))])


# --------------------------------------------------------------------------------------------------------------
# Property-based tests


def _check_invariants(r: ParsedAnswer) -> None:
    assert isinstance(r, ParsedAnswer)
    assert r.failure != Failure.PARSER_ERROR
    assert r.failure is None or r.failure in set(Failure)
    assert set(r.repairs) <= set(Repair)
    assert set(r.item_failures) <= set(Failure)
    assert all(isinstance(c, Repair) for c in r.repairs)
    assert r.failure is None or isinstance(r.failure, Failure)
    if r.failure is not None:
        assert r.items == []
    for it in r.items:
        x1, y1, x2, y2 = it.box
        assert x1 < x2 and y1 < y2
        assert len(it.points) == len(it.labels)
        assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in it.points)


JSONISH = st.text(alphabet=list("[]{}(),:\"' \n0123456789.-eE<>/abnoxdtrupisNTFl_"), max_size=200)
TAGGY = st.lists(
    st.sampled_from(
        ["<think>", "</think>", "<answer>", "</answer>", "```json", "```", '{"bbox_2d": ', "[", "]", "{", "}"]
    )
    | st.text(max_size=10),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300) | JSONISH | TAGGY)
def test_fuzz_never_raises(text):
    for stage in ("localize", "refine"):
        _check_invariants(parse_answer(text, stage=stage))
    _check_invariants(parse_answer(text, stage="refine", extent=(756, 756)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutated_valid_answers_never_raise(data):
    base = format_answer(data.draw(item_lists(integers=True)), think="because")
    chars = list(base)
    for _ in range(data.draw(st.integers(1, 8))):
        if not chars:
            break
        i = data.draw(st.integers(0, len(chars) - 1))
        op = data.draw(st.sampled_from(["del", "ins", "dup"]))
        if op == "del":
            del chars[i]
        elif op == "ins":
            chars.insert(i, data.draw(st.sampled_from(list("[]{},:\"' \n<>/x0-"))))
        else:
            chars.insert(i, chars[i])
    _check_invariants(parse_answer("".join(chars), stage="refine", extent=(756, 756)))


def _sorted_pair(a: float, b: float) -> tuple[float, float]:
    return (a, b) if a < b else (b, a)


@st.composite
def items_strategy(draw, integers: bool = False) -> ParsedItem:
    if integers:
        coord = st.integers(0, 2000).map(float)
    else:
        coord = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    x1, x2 = _sorted_pair(draw(coord), draw(coord))
    y1, y2 = _sorted_pair(draw(coord), draw(coord))
    if not (x1 < x2 and y1 < y2):
        x2, y2 = x1 + 1.0, y1 + 1.0
    n = draw(st.integers(0, 4))
    points: list[tuple[float, float]] = []
    for _ in range(n):
        tx, ty = draw(st.floats(0, 1)), draw(st.floats(0, 1))
        x, y = x1 + tx * (x2 - x1), y1 + ty * (y2 - y1)
        if integers:
            x, y = float(round(x)), float(round(y))
        points.append((min(max(x, x1), x2), min(max(y, y1), y2)))
    labels = [draw(st.sampled_from([0, 1])) for _ in points]
    return ParsedItem(box=(x1, y1, x2, y2), points=points, labels=labels)


def item_lists(integers: bool = False):
    return st.lists(items_strategy(integers=integers), max_size=5)


@settings(max_examples=150, deadline=None)
@given(
    items=item_lists(),
    think=st.none() | st.text(alphabet=st.characters(blacklist_characters="<>"), max_size=40),
    stage=st.sampled_from(["localize", "refine"]),
)
def test_round_trip_exact(items, think, stage):
    r = parse_answer(format_answer(items, think=think), stage=stage)
    assert r.ok
    assert r.items == items
    assert r.think == (None if think is None else think.strip())
    assert r.dropped_points == 0 and r.item_failures == []
    allowed = {Repair.MISSING_THINK, Repair.MISSING_POINTS}
    assert set(r.repairs) <= allowed


def _emit(items: list[ParsedItem], rnd: random.Random, opts: dict) -> str:
    """Write items as a sloppy model would, with the perturbations chosen in opts."""

    def ws() -> str:
        return rnd.choice(["", " ", "\n", "\t", "  \n "]) if opts["whitespace"] else ""

    q = "'" if opts["single_quotes"] else '"'
    tc = "," if opts["trailing_commas"] else ""

    def num(v: float) -> str:
        return f"{q}{int(v)}{q}" if opts["string_numbers"] else str(int(v))

    objs = []
    for it in items:
        x1, y1, x2, y2 = it.box
        if opts["swap"] and rnd.random() < 0.5:
            x1, x2 = x2, x1
        if opts["swap"] and rnd.random() < 0.5:
            y1, y2 = y2, y1
        key = rnd.choice(["bbox_2d", "bbox", "box"]) if opts["alt_keys"] else "bbox_2d"
        box = f"[{ws()}{num(x1)},{ws()}{num(y1)},{ws()}{num(x2)},{ws()}{num(y2)}{tc}{ws()}]"
        parts = [f"{q}{key}{q}{ws()}:{ws()}{box}"]
        if it.points:
            pts = ",".join(
                f"[{num(x)},{ws()}{num(y)}" + (f", {lab}" if lab == 0 else "") + "]"
                for (x, y), lab in zip(it.points, it.labels, strict=True)
            )
            parts.append(f"{q}points{q}:{ws()}[{ws()}{pts}{tc}]")
        if opts["extra"]:
            parts.append(f"{q}visible{q}: True, {q}name{q}: None")
        objs.append("{" + ws() + ("," + ws()).join(parts) + tc + ws() + "}")
    body = "[" + ws() + ("," + ws()).join(objs) + (tc if objs else "") + ws() + "]"
    if opts["fence"]:
        body = f"```json\n{body}\n```"
    think = "" if opts["drop_think"] else f"<think>{ws()}some reasoning{ws()}</think>{ws()}"
    return f"{ws()}{think}<answer>{ws()}{body}{ws()}</answer>{ws()}"


@settings(max_examples=200, deadline=None)
@given(
    items=item_lists(integers=True),
    seed=st.integers(0, 2**32 - 1),
    opts=st.fixed_dictionaries(
        {
            k: st.booleans()
            for k in (
                "whitespace",
                "single_quotes",
                "trailing_commas",
                "string_numbers",
                "swap",
                "alt_keys",
                "extra",
                "fence",
                "drop_think",
            )
        }
    ),
)
def test_perturbed_answers_parse_to_the_same_items(items, seed, opts):
    text = _emit(items, random.Random(seed), opts)
    r = parse_answer(text, stage="refine")
    assert r.ok, (text, r)
    assert [it.box for it in r.items] == [it.box for it in items], text
    assert [it.points for it in r.items] == [it.points for it in items], text
    assert [it.labels for it in r.items] == [it.labels for it in items], text
    if opts["drop_think"]:
        assert Repair.MISSING_THINK in r.repairs
    if opts["fence"]:
        assert Repair.CODE_FENCE in r.repairs
