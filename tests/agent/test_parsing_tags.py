"""Tests for agent.parsing.tags: where the reasoning and the answer sit in a policy's text."""

from __future__ import annotations

import pytest

from agent.parsing import Repair
from agent.parsing.codes import RepairLog
from agent.parsing.tags import (
    AnswerBlock,
    answer_text,
    find_boxlike,
    find_tags,
    remove_tags,
    split_think,
    strip_fences,
    strip_special_tokens,
)


def _locate(text: str, answer_block: AnswerBlock = "last") -> tuple[str | None, str | None, list[Repair]]:
    log = RepairLog()
    tags = find_tags(text)
    think, after = split_think(text, tags, log)
    return think, answer_text(text, tags, after, log, answer_block), log.codes


@pytest.mark.parametrize(
    ("text", "think", "answer", "repairs"),
    [
        ("<think> r </think><answer>A</answer>", "r", "A", []),
        ("< THINK >r</ think ><Answer>A</ANSWER>", "r", "A", []),
        ("<think>r<answer>A</answer>", "r", "A", [Repair.PARTIAL_THINK]),
        ("r</think><answer>A</answer>", "r", "A", [Repair.PARTIAL_THINK]),
        ("<answer>A</answer>", None, "A", [Repair.MISSING_THINK]),
        ("<think>r</think>A</answer>", "r", "A", [Repair.MISSING_ANSWER_OPEN]),
        ("<think>r</think><answer>A", "r", "A", [Repair.MISSING_ANSWER_CLOSE]),
        ("<think>r</think>A", "r", None, []),
    ],
)
def test_think_and_answer(text, think, answer, repairs):
    assert _locate(text) == (think, answer, repairs)


@pytest.mark.parametrize(
    ("text", "last", "first"),
    [
        ("<answer>A</answer> wait <answer>B</answer>", "B", "A"),
        ("<answer>A</answer><answer>B</answer><answer>C</answer>", "C", "A"),
        ("<answer>A <answer>B", "B", "A "),
        ("<answer><answer>A</answer></answer>", "A", "A"),
    ],
)
def test_answer_block_choice(text, last, first):
    _, got_last, repairs_last = _locate(text, "last")
    _, got_first, repairs_first = _locate(text, "first")
    assert (got_last, got_first) == (last, first)
    assert Repair.MULTIPLE_ANSWERS in repairs_last and Repair.MULTIPLE_ANSWERS in repairs_first


def test_fences_give_the_last_fenced_block():
    log = RepairLog()
    assert strip_fences("a ```json\n[1]\n``` b ```\n[2]\n```", log) == "[2]\n"
    assert log.codes == [Repair.CODE_FENCE]
    log = RepairLog()
    assert strip_fences("```json\n[1]", log) == "[1]"  # an unclosed fence
    assert log.codes == [Repair.CODE_FENCE]
    log = RepairLog()
    assert strip_fences("[1]", log) == "[1]" and log.codes == []


def test_find_boxlike_in_prose():
    text = 'first {"bbox_2d": [1, 2, 3, 4]} then [ {"box": [5, 6, 7, 8]}] and {"other": 1}'
    found = find_boxlike(text)
    assert [(text[s:e], v, r) for s, e, v, r in found] == [
        ('{"bbox_2d": [1, 2, 3, 4]}', {"bbox_2d": [1, 2, 3, 4]}, []),
        ('[ {"box": [5, 6, 7, 8]}]', [{"box": [5, 6, 7, 8]}], []),  # widened to the enclosing list
    ]
    assert find_boxlike("{'points': [[1, 2]]")[0][2:] == (
        {"points": [[1, 2]]},
        [Repair.SINGLE_QUOTES, Repair.TRUNCATED],
    )
    assert find_boxlike("no boxes [1, 2]") == []


def test_tags_and_special_tokens_are_removed():
    assert strip_special_tokens("a<|im_end|>b<|endoftext|>") == "ab"
    assert remove_tags("<think>a</think>< answer >b</answer>", " ") == " a  b "
