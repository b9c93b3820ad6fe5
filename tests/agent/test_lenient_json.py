"""Tests for agent.parsing.lenient_json: the reader agrees with json.loads on valid JSON, and forgives by name."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.parsing import Repair
from agent.parsing.lenient_json import MAX_DEPTH, LenientJSONError, loads, read_value

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)


def _depth(v: object) -> int:
    if isinstance(v, list):
        return 1 + max(map(_depth, v), default=0)
    if isinstance(v, dict):
        return 1 + max(map(_depth, v.values()), default=0)
    return 0


@settings(max_examples=400, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans(), indent=st.none() | st.integers(0, 2))
def test_reader_matches_json_loads_on_valid_json(value, ascii_only, indent):
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    expected = json.loads(text)
    if _depth(expected) > MAX_DEPTH:
        return
    got, end, repairs = read_value(text, 0)  # the lenient reader itself, not json.loads
    assert got == expected
    assert repairs == []
    assert end == len(text)
    assert loads(text) == (expected, [], True)


def test_surrogate_pairs_join_as_in_json():
    text = json.dumps(["\U0001f600 caf\u00e9"])  # ensure_ascii writes the emoji as a surrogate pair
    assert "\\ud83d\\ude00" in text
    assert read_value(text, 0)[0] == json.loads(text)
    assert read_value('["\\ud83d x"]', 0)[0] == ["\ud83d x"]  # a lone surrogate stays as json leaves it


@pytest.mark.parametrize(
    ("text", "value", "repairs"),
    [
        ("{'a': 1}", {"a": 1}, [Repair.SINGLE_QUOTES]),
        ("{“a”: 1}", {"a": 1}, [Repair.SMART_QUOTES]),
        ("{a: 1}", {"a": 1}, [Repair.UNQUOTED]),
        ('{"a": True, "b": None}', {"a": True, "b": None}, [Repair.PYTHON_LITERALS]),
        ("(1, 2)", [1, 2], [Repair.PYTHON_LITERALS]),
        ("[1, 2,]", [1, 2], [Repair.TRAILING_COMMA]),
        ("[1,, 2]", [1, 2], [Repair.TRAILING_COMMA]),
        ("[1 2]", [1, 2], [Repair.MISSING_COMMA]),
        ('{"a": [1, 2}', {"a": [1, 2]}, [Repair.MISMATCHED_BRACKETS]),
        ('[{"a": [1, 2', [{"a": [1, 2]}], [Repair.TRUNCATED]),
        ('["ab', ["ab"], [Repair.TRUNCATED]),
        ('here: {"a": 1} done', {"a": 1}, [Repair.EXTRA_TEXT]),
        ('{"a": 1}, {"a": 2}', [{"a": 1}, {"a": 2}], [Repair.BARE_SEQUENCE]),
        ("", None, [Repair.TRUNCATED]),
        ("[01, +2, .5]", [1, 2, 0.5], []),  # forgiven without a name: not standard JSON
    ],
)
def test_lenient_forms(text, value, repairs):
    reading = loads(text)
    assert reading.value == value
    assert reading.repairs == repairs
    assert not reading.standard
    with pytest.raises(ValueError):
        json.loads(text)


def test_nan_and_infinity_are_python_literals_but_standard_for_json():
    assert loads("[NaN]").standard  # json.loads accepts them, and so did the reference
    value, _, repairs = read_value("[nan, -inf]", 0)
    assert repairs == [Repair.PYTHON_LITERALS]
    assert value[0] != value[0] and value[1] == float("-inf")


@pytest.mark.parametrize("text", ["no json here", "[{: ]]]", "{" * (MAX_DEPTH + 5), "@"])
def test_unreadable_text_raises_lenient_error(text):
    with pytest.raises(LenientJSONError):
        loads(text)


def test_error_keeps_repairs_made_before_giving_up():
    with pytest.raises(LenientJSONError) as e:
        loads("x {: }")
    assert e.value.repairs == [Repair.EXTRA_TEXT]


@settings(max_examples=150, deadline=None)
@given(numbers=st.lists(st.integers(-999, 999), min_size=2, max_size=8), data=st.data())
def test_truncated_list_keeps_the_complete_elements(numbers, data):
    text = json.dumps(numbers)
    commas = [i for i, c in enumerate(text) if c == ","]
    k = data.draw(st.sampled_from(commas))
    reading = loads(text[:k])
    assert reading.value == numbers[: text[:k].count(",") + 1]
    assert Repair.TRUNCATED in reading.repairs


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=list("[]{}(),:\"'“” \n0123456789.-+eE_aTNxu\\"), max_size=80) | st.text(max_size=80))
def test_any_text_reads_or_raises_lenient_error(text):
    try:
        reading = loads(text)
    except LenientJSONError:
        return
    assert reading.standard == (reading.repairs == [] and _is_json(text))
    assert len(reading.repairs) == len(set(reading.repairs))
    assert all(isinstance(code, Repair) for code in reading.repairs)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True
