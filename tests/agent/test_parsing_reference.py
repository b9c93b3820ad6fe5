"""The reference's own reading of answers (strict, socioreasoner) and the as-written item reading (lenient)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.parsing import Failure, Repair, format_answer, parse_answer, parse_reference, reference_answer_text
from agent.protocol import PROFILES

BOX = [360, 268, 538, 383]
B = tuple(float(v) for v in BOX)


def _answer(items, think="r") -> str:
    return f"<think>{think}</think><answer>{json.dumps(items)}</answer>"


# Each case: answer text -> the (box, points) the reference hands SAM, or the failure code when it hands it nothing.
CASES = [
    ("clean", _answer([{"bbox_2d": BOX}]), [(B, [])], None),
    ("two_blocks_first_wins", _answer([{"bbox_2d": BOX}]) + "<answer>[]</answer>", [(B, [])], None),
    ("no_think_is_fine", f"<answer>{json.dumps([{'bbox_2d': BOX}])}</answer>", [(B, [])], None),
    ("label_ignored", _answer([{"bbox_2d": BOX, "points": [[400, 300, 0]]}]), [(B, [(400.0, 300.0)])], None),
    ("point_outside_kept", _answer([{"bbox_2d": BOX, "points": [[10, 10]]}]), [(B, [(10.0, 10.0)])], None),
    ("box_outside_not_clipped", _answer([{"bbox_2d": [700, 700, 900, 950]}]), [((700.0, 700.0, 900.0, 950.0), [])],
     None),
    ("zero_area_kept", _answer([{"bbox_2d": [5, 5, 5, 9]}]), [((5.0, 5.0, 5.0, 9.0), [])], None),
    ("alt_key_skipped", _answer([{"bbox": BOX}]), [], Failure.NO_BOX),
    ("other_item_skipped", _answer([{"bbox": BOX}, {"bbox_2d": BOX}]), [(B, [])], None),
    ("three_values_skipped", _answer([{"bbox_2d": [1, 2, 3]}]), [], Failure.NO_BOX),
    ("string_numbers_skipped", _answer([{"bbox_2d": ["1", "2", "3", "4"]}]), [], Failure.NO_BOX),
    ("bad_point_skips_item", _answer([{"bbox_2d": BOX, "points": [[400]]}]), [], Failure.BAD_POINTS),
    ("nan_box", "<answer>[{\"bbox_2d\": [NaN, 1, 2, 3]}]</answer>", [], Failure.NON_FINITE),
    ("single_quotes", "<answer>[{'bbox_2d': [1, 2, 3, 4]}]</answer>", [], Failure.BAD_JSON),
    ("trailing_comma", '<answer>[{"bbox_2d": [1, 2, 3, 4]},]</answer>', [], Failure.BAD_JSON),
    ("truncated", '<think>r</think><answer>[{"bbox_2d": [1, 2, 3, 4]}', [], Failure.NO_ANSWER),
    ("fenced", '<answer>```json\n[{"bbox_2d": [1, 2, 3, 4]}]\n```</answer>', [], Failure.BAD_JSON),
    ("single_object", '<answer>{"bbox_2d": [1, 2, 3, 4]}</answer>', [], Failure.NO_BOX),
    ("upper_case_tags", '<ANSWER>[{"bbox_2d": [1, 2, 3, 4]}]</ANSWER>', [], Failure.NO_ANSWER),
    ("empty_list_is_nothing_found", "<think>none</think><answer>[]</answer>", [], None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "items", "failure"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_reference_reading_hands_sam_what_the_reference_would(text, items, failure):
    r = parse_reference(text, "refine")
    assert r.failure == failure
    assert [(it.box, it.points) for it in r.items] == items
    assert all(lab == 1 for it in r.items for lab in it.labels)
    assert r.repairs == []  # nothing is repaired


def test_swapped_corners_are_ordered_and_noted_the_one_departure():
    r = parse_reference(_answer([{"bbox_2d": [538, 383, 360, 268]}]))
    assert r.ok and r.items[0].box == B and r.repairs == [Repair.SWAPPED_CORNERS]


def test_the_stage2_insert_is_the_first_answer_block_verbatim():
    text = '<think>x</think><answer>\n [{"bbox_2d":[1, 2,3,4]}] \n</answer> and <answer>[]</answer>'
    assert reference_answer_text(text) == '[{"bbox_2d":[1, 2,3,4]}]'
    assert reference_answer_text("<think>no answer</think>") == ""
    assert reference_answer_text("<answer>not json</answer>") == "not json"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/answerthink[]{}\":,0123456789 bbox_2dpoints'")), max_size=80))
def test_the_reference_reading_never_raises(text):
    r = parse_reference(text)
    assert (r.failure is None) or r.items == []


@pytest.mark.parametrize("text", [c[1] for c in CASES if c[3] is None and c[0] != "other_item_skipped"])
def test_well_formed_reference_answers_read_the_same_leniently_as_written(text):
    """Where the reference reads an answer, the lenient socioreasoner reading gives the same prompts.

    (Not where the lenient reading salvages more: an item under ``bbox`` is repaired there, skipped here.)
    """
    strict = parse_reference(text, "refine")
    lenient = parse_answer(text, "refine", None, answer_block="first", as_written=True)
    assert [(it.box, it.points, it.labels) for it in lenient.items] == [
        (it.box, it.points, it.labels) for it in strict.items
    ]


def test_as_written_keeps_what_our_reading_drops_or_changes():
    text = _answer([{"bbox_2d": BOX, "points": [[400, 300, 0], [10, 10]]}])
    ours = parse_answer(text, "refine", (756, 756))
    as_written = parse_answer(text, "refine", None, answer_block="first", as_written=True)
    assert ours.items[0].points == [(400.0, 300.0)] and ours.items[0].labels == [0] and ours.dropped_points == 1
    assert as_written.items[0].points == [(400.0, 300.0), (10.0, 10.0)] and as_written.items[0].labels == [1, 1]


def test_the_protocols_choose_the_reading():
    text = "<answer>[{'bbox_2d': [1, 2, 3, 4]}]</answer>"  # single quotes: a repair
    agent, reasoner = PROFILES["socioagent"], PROFILES["socioreasoner"]
    assert [reading for _, reading in (agent.read(text, "localize", (9, 9)), agent.read(text, "localize", (9, 9), True),
            reasoner.read(text, "localize", (9, 9)), reasoner.read(text, "localize", (9, 9), True))] == [
        "lenient", "strict", "reference-lenient", "reference"]  # fmt: skip
    assert agent.read(text, "localize", (9, 9))[0].ok and reasoner.read(text, "localize", (9, 9))[0].ok
    assert agent.read(text, "localize", (9, 9), True)[0].failure == Failure.NEEDS_REPAIR
    assert reasoner.read(text, "localize", (9, 9), True)[0].failure == Failure.BAD_JSON


def test_format_answer_round_trips_through_the_reference_reading():
    from agent.parsing import ParsedItem

    items = [ParsedItem(box=B, points=[(400.0, 300.0), (450.0, 310.0)])]
    assert parse_reference(format_answer(items, "why"), "refine").items == items
