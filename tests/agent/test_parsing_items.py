"""Tests for agent.parsing.items: JSON values to ordered boxes, points and labels."""

from __future__ import annotations

import pytest

from agent.parsing import Failure, ParsedItem, Repair
from agent.parsing.codes import RepairLog
from agent.parsing.items import as_item_list, read_item

BOX = (10.0, 20.0, 110.0, 220.0)


@pytest.mark.parametrize(
    ("raw", "repairs"),
    [
        ({"bbox_2d": [10, 20, 110, 220]}, []),
        ({"BBox": [10, 20, 110, 220]}, [Repair.ALT_KEY]),
        ({"bbox_2d": ["10", 20, "110.0", 220]}, [Repair.STRING_NUMBERS]),
        ({"bbox_2d": "(10, 20) - (110, 220)"}, [Repair.STRING_NUMBERS]),
        ({"bbox_2d": [[10, 20], [110, 220]]}, [Repair.BOX_SHAPE]),
        ({"bbox_2d": [[10, 20, 110, 220]]}, [Repair.BOX_SHAPE]),
        ({"bbox_2d": {"xmin": 10, "ymin": 20, "xmax": 110, "ymax": 220}}, [Repair.BOX_SHAPE]),
        ({"bbox_2d": [110, 20, 10, 220]}, [Repair.SWAPPED_CORNERS]),
        ([10, 20, 110, 220], [Repair.BARE_BOX]),
    ],
)
def test_box_shapes(raw, repairs):
    log = RepairLog()
    assert read_item(raw, "localize", None, log) == (ParsedItem(box=BOX), None, 0)
    assert log.codes == repairs


@pytest.mark.parametrize(
    ("raw", "extent", "failure"),
    [
        ({"box_2d_typo": [10, 20, 110, 220]}, None, Failure.NO_BOX),
        ({"bbox_2d": [10, 20, 110]}, None, Failure.NO_BOX),
        ({"bbox_2d": [10, "x", 110, 220]}, None, Failure.NO_BOX),
        ("10, 20, 110, 220", None, Failure.NO_BOX),
        ({"bbox_2d": [10, 20, float("inf"), 220]}, None, Failure.NON_FINITE),
        ({"bbox_2d": [10, 20, "nan", 220]}, None, Failure.NON_FINITE),
        ({"bbox_2d": [10, 20, 10**400, 220]}, None, Failure.NON_FINITE),
        ({"bbox_2d": [300, 20, 400, 220]}, (200.0, 200.0), Failure.BOX_OUTSIDE),
        ({"bbox_2d": [10, 20, 10, 220]}, None, Failure.EMPTY_BOX),
    ],
)
def test_unusable_items(raw, extent, failure):
    assert read_item(raw, "localize", extent, RepairLog()) == (None, failure, 0)


def test_clipping_and_points_inside_the_clipped_box():
    log = RepairLog()
    raw = {"bbox_2d": [-10, 20, 300, 220], "points": [[5, 30], [-5, 30], [150, 30, 0]]}
    item, failure, dropped = read_item(raw, "refine", (200.0, 250.0), log)
    assert failure is None and dropped == 1
    assert item == ParsedItem(box=(0.0, 20.0, 200.0, 220.0), points=[(5.0, 30.0), (150.0, 30.0)], labels=[1, 0])
    assert log.codes == [Repair.CLIPPED]


@pytest.mark.parametrize(
    ("points", "expected", "labels", "dropped", "repairs"),
    [
        ([[50, 60], [70, 80]], [(50.0, 60.0), (70.0, 80.0)], [1, 1], 0, []),
        ([50, 60], [(50.0, 60.0)], [1], 0, [Repair.POINT_SHAPE]),
        ([50, 60, 70, 80], [(50.0, 60.0), (70.0, 80.0)], [1, 1], 0, [Repair.POINT_SHAPE]),
        (
            [{"x": 50, "y": 60, "label": "background"}],
            [(50.0, 60.0)],
            [0],
            0,
            [Repair.POINT_SHAPE, Repair.STRING_NUMBERS],
        ),
        ([[50, 60], [1, 2, 3, 4], "x", [50, 60, 5]], [(50.0, 60.0)], [1], 3, []),
    ],
)
def test_points(points, expected, labels, dropped, repairs):
    log = RepairLog()
    item, _, n = read_item({"bbox_2d": [0, 0, 100, 100], "points": points}, "refine", None, log)
    assert item is not None
    assert (item.points, item.labels, n, log.codes) == (expected, labels, dropped, repairs)


def test_separate_labels_and_missing_points():
    item, _, _ = read_item(
        {"bbox_2d": [0, 0, 100, 100], "points": [[1, 1], [2, 2]], "labels": [0, 1]}, "refine", None, RepairLog()
    )
    assert item is not None and item.labels == [0, 1]
    log = RepairLog()
    read_item({"bbox_2d": [0, 0, 100, 100]}, "refine", None, log)
    assert log.codes == [Repair.MISSING_POINTS]
    log = RepairLog()
    read_item({"bbox_2d": [0, 0, 100, 100]}, "localize", None, log)
    assert log.codes == []


@pytest.mark.parametrize(
    ("value", "items", "repairs"),
    [
        ([{"bbox_2d": [1, 2, 3, 4]}], [{"bbox_2d": [1, 2, 3, 4]}], []),
        ([], [], []),
        ([1, 2, 3, 4], [[1, 2, 3, 4]], []),
        ({"bbox_2d": [1, 2, 3, 4]}, [{"bbox_2d": [1, 2, 3, 4]}], [Repair.SINGLE_OBJECT]),
        ({"results": [{"bbox_2d": [1, 2, 3, 4]}], "n": 1}, [{"bbox_2d": [1, 2, 3, 4]}], [Repair.WRAPPED_LIST]),
        ('[{"bbox_2d": [1, 2, 3, 4]}]', [{"bbox_2d": [1, 2, 3, 4]}], [Repair.DOUBLE_ENCODED]),
        ("[{'bbox_2d': [1, 2, 3, 4]}]", [{"bbox_2d": [1, 2, 3, 4]}], [Repair.DOUBLE_ENCODED, Repair.SINGLE_QUOTES]),
        ((1, 2), [1, 2], []),
        (None, None, []),
        ("no list", None, []),
        ({"a": [1], "b": [2]}, None, []),
    ],
)
def test_as_item_list(value, items, repairs):
    log = RepairLog()
    assert as_item_list(value, log) == items
    assert log.codes == repairs
