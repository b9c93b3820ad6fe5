"""Tests for agent.parsing.codes: stored code strings never change, and every code says what it means."""

from __future__ import annotations

import ast
import inspect
import itertools

import pytest

from agent.parsing import Failure, Repair
from agent.parsing.codes import RepairLog

# The strings result.json and results.jsonl files hold: a stored file must keep meaning the same.
STORED_FAILURES = {"no_answer", "bad_json", "no_box", "non_finite", "box_outside", "empty_box", "parser_error"}
STORED_REPAIRS = {
    "missing_think", "partial_think", "missing_answer_open", "missing_answer_close", "missing_answer_tags",
    "multiple_answers", "code_fence", "extra_text", "single_quotes", "smart_quotes", "python_literals",
    "trailing_comma", "missing_comma", "unquoted", "mismatched_brackets", "truncated", "double_encoded",
    "single_object", "bare_sequence", "wrapped_list", "bare_box", "alt_key", "string_numbers", "box_shape",
    "swapped_corners", "clipped", "missing_points", "point_shape", "dropped_points", "dropped_items",
    "too_many_items",
}  # fmt: skip


def test_stored_strings_keep_their_members():
    assert {f.value for f in Failure} >= STORED_FAILURES
    assert {r.value for r in Repair} >= STORED_REPAIRS
    for code in (*Failure, *Repair):
        assert code.value == code.name.lower()  # the member name is the stored string
        assert code == code.value and str(code) == code.value and f"{code}" == code.value


def test_failure_and_repair_codes_are_distinct():
    assert not {f.value for f in Failure} & {r.value for r in Repair}


@pytest.mark.parametrize("enum_cls", [Failure, Repair])
def test_every_code_has_a_docstring(enum_cls):
    (cls,) = ast.parse(inspect.getsource(enum_cls)).body
    body = cls.body
    documented = {
        stmt.targets[0].id
        for stmt, nxt in itertools.pairwise(body)
        if isinstance(stmt, ast.Assign)
        and isinstance(nxt, ast.Expr)
        and isinstance(nxt.value, ast.Constant)
        and isinstance(nxt.value.value, str)
        and nxt.value.value.strip()
    }
    assert documented == set(enum_cls.__members__)


def test_repair_log_keeps_first_order_and_no_duplicates():
    log = RepairLog()
    log.add(Repair.TRUNCATED)
    log.extend([Repair.CLIPPED, Repair.TRUNCATED, Repair.ALT_KEY])
    log.add(Repair.CLIPPED)
    assert log.codes == [Repair.TRUNCATED, Repair.CLIPPED, Repair.ALT_KEY]
