"""Tests for parse_answer's options: strict mode (no repairs) and which <answer> block is read."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.parsing import Failure, Repair, format_answer, parse_answer
from tests.agent.test_parsing import CASES, JSONISH, OK, TAGGY, _check_invariants, _emit, item_lists
from tools.errors import InputError

B = (10.0, 20.0, 110.0, 220.0)


def _check_strict_against_lenient(text: str, stage: str = "localize", extent: tuple[float, float] | None = None):
    lenient = parse_answer(text, stage=stage, extent=extent)  # type: ignore[arg-type]
    strict = parse_answer(text, stage=stage, extent=extent, strict=True)  # type: ignore[arg-type]
    _check_invariants(strict)
    if not lenient.ok:
        assert strict == lenient  # what cannot be read leniently fails the same way
    elif lenient.repairs:
        assert strict.failure == Failure.NEEDS_REPAIR and strict.items == []
        assert strict.repairs == lenient.repairs and strict.think == lenient.think
    elif strict.ok:
        assert strict == lenient
    else:  # JSON that json.loads rejects though no named repair covers it
        assert strict.failure == Failure.BAD_JSON and strict.repairs == [] and strict.items == []
    return lenient, strict


@pytest.mark.parametrize(("text", "stage", "extent"), [c[1:4] for c in CASES], ids=[c[0] for c in CASES])
def test_strict_fails_every_table_case_that_needed_a_repair(text, stage, extent):
    lenient, strict = _check_strict_against_lenient(text, stage, extent)
    assert strict.ok == (lenient.ok and not lenient.repairs)


@pytest.mark.parametrize(
    ("text", "stage", "boxes"),
    [
        (OK, "localize", [B]),
        ("<think>nothing</think><answer>[]</answer>", "localize", []),
        ('<think>r</think>\n<answer>[{"bbox_2d": [10, 20, 110, 220], "points": [[50, 60]]}]</answer>', "refine", [B]),
        (OK + "<|im_end|>", "localize", [B]),
    ],
)
def test_strict_passes_clean_answers(text, stage, boxes):
    r = parse_answer(text, stage=stage, strict=True)
    assert r.ok and r.repairs == [] and [it.box for it in r.items] == boxes
    assert r == parse_answer(text, stage=stage)


@pytest.mark.parametrize(
    ("text", "repair"),
    [
        (OK.removeprefix("<think>r</think>"), Repair.MISSING_THINK),
        ("<think>r</think><answer>[{'bbox_2d': [10, 20, 110, 220]}]</answer>", Repair.SINGLE_QUOTES),
        ('<think>r</think><answer>[{"bbox_2d": [10, 20, 110, 220]}, {"bbox_2d": [1]}]</answer>', Repair.DROPPED_ITEMS),
        ('<think>r</think><answer>[{"bbox_2d": [110, 20, 10, 220]}]</answer>', Repair.SWAPPED_CORNERS),
        (OK + " <answer>[]</answer>", Repair.MULTIPLE_ANSWERS),
    ],
)
def test_strict_names_the_repair_it_refused(text, repair):
    r = parse_answer(text, strict=True)
    assert r.failure == Failure.NEEDS_REPAIR and repair in r.repairs and r.items == []
    assert parse_answer(text).ok


@pytest.mark.parametrize(
    "body",
    ['[{"bbox_2d": [010, 20, 110, 220]}]', '[{"bbox_2d"= [10, 20, 110, 220]}]', '[{"bbox_2d": [+10, 20, 110, 220]}]'],
)
def test_strict_refuses_json_forgiven_without_a_name(body):
    text = f"<think>r</think><answer>{body}</answer>"
    lenient = parse_answer(text)
    assert lenient.ok and lenient.repairs == [] and lenient.items[0].box == B
    strict = parse_answer(text, strict=True)
    assert strict.failure == Failure.BAD_JSON and strict.items == []


def test_strict_clipping_depends_on_extent():
    text = '<think>r</think><answer>[{"bbox_2d": [-5, 20, 110, 220]}]</answer>'
    assert parse_answer(text, strict=True).ok
    r = parse_answer(text, extent=(756, 756), strict=True)
    assert r.failure == Failure.NEEDS_REPAIR and r.repairs == [Repair.CLIPPED]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300) | JSONISH | TAGGY, stage=st.sampled_from(["localize", "refine"]))
def test_fuzz_strict_never_raises_and_refuses_every_repair(text, stage):
    _check_strict_against_lenient(text, stage)
    _check_strict_against_lenient(text, stage, (756.0, 756.0))
    _check_invariants(parse_answer(text, stage=stage, strict=True, answer_block="first"))  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(items=item_lists(), think=st.text(alphabet=st.characters(blacklist_characters="<>"), max_size=40))
def test_strict_round_trip(items, think):
    r = parse_answer(format_answer(items, think=think), strict=True)
    assert r.ok and r.items == items and r.repairs == []
    refine = parse_answer(format_answer(items, think=think), stage="refine", strict=True)
    assert refine.ok == all(it.points for it in items)  # a refine item without points is a repair
    if refine.ok:
        assert refine.items == items


@settings(max_examples=150, deadline=None)
@given(
    items=item_lists(integers=True).filter(bool),
    seed=st.integers(0, 2**32 - 1),
    opts=st.fixed_dictionaries(
        {k: st.booleans() for k in ("single_quotes", "trailing_commas", "string_numbers", "fence", "drop_think")}
    ).filter(lambda opts: any(opts.values())),
)
def test_strict_refuses_sloppy_answers(items, seed, opts):
    text = _emit(
        items, random.Random(seed), {"whitespace": False, "swap": False, "alt_keys": False, "extra": False, **opts}
    )
    assert parse_answer(text, stage="refine").ok
    r = parse_answer(text, stage="refine", strict=True)
    assert r.failure == Failure.NEEDS_REPAIR and r.repairs, text


TWO_BLOCKS = (
    '<think>r</think><answer>[{"bbox_2d": [1, 2, 3, 4]}]</answer>'
    ' no, <answer>[{"bbox_2d": [10, 20, 110, 220]}]</answer>'
)


def test_answer_block_last_is_the_default_and_first_is_the_references():
    assert [it.box for it in parse_answer(TWO_BLOCKS).items] == [B]
    assert [it.box for it in parse_answer(TWO_BLOCKS, answer_block="last").items] == [B]
    first = parse_answer(TWO_BLOCKS, answer_block="first")
    assert [it.box for it in first.items] == [(1.0, 2.0, 3.0, 4.0)]
    assert Repair.MULTIPLE_ANSWERS in first.repairs
    # Each block is read on its own: a bad first block fails under "first" and is ignored under "last".
    bad_first = TWO_BLOCKS.replace('[{"bbox_2d": [1, 2, 3, 4]}]', "the school")
    assert parse_answer(bad_first, answer_block="first").failure == Failure.BAD_JSON
    assert parse_answer(bad_first).ok


def test_single_block_reads_the_same_either_way():
    for text in (OK, '<think>r</think><answer>[{"bbox_2d": [10, 20, 110, 220]}]'):
        assert parse_answer(text, answer_block="first") == parse_answer(text, answer_block="last")


def test_bad_answer_block_is_an_input_error():
    with pytest.raises(InputError, match="answer_block"):
        parse_answer(OK, answer_block="middle")  # type: ignore[arg-type]
