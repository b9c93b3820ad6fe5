"""The stage-2 render under both protocols, against pixels computed by hand on a small grey image."""

from __future__ import annotations

import numpy as np
import pytest

from tools.render import feedback_images, reference_boxes
from tools.schemas import Box, InstancePrompt

GREY = (100, 100, 100)
BLUE = (0, 0, 255)
# Red at alpha 0.4 over grey: 0.4 * 255 + 0.6 * 100 = 162 and 0.6 * 100 = 60; over blue: 102 and 0.6 * 255 = 153.
TINTED_GREY = (162, 60, 60)
TINTED_BLUE = (102, 0, 153)


def _grey(n: int) -> np.ndarray:
    return np.full((n, n, 3), GREY, np.uint8)


def _expected(n: int, line: set[tuple[int, int]], mask: set[tuple[int, int]]) -> np.ndarray:
    out = np.empty((n, n, 3), np.uint8)
    for y in range(n):
        for x in range(n):
            on_line, in_mask = (y, x) in line, (y, x) in mask
            out[y, x] = (TINTED_BLUE if in_mask else BLUE) if on_line else (TINTED_GREY if in_mask else GREY)
    return out


def _square(lo: int, hi: int) -> set[tuple[int, int]]:
    return {(y, x) for y in range(lo, hi + 1) for x in range(lo, hi + 1)}


def _outline(lo: int, hi: int, width: int) -> set[tuple[int, int]]:
    """The pixels of a box outline `width` px wide drawn inside [lo, hi] x [lo, hi] (inclusive)."""
    edge = set(range(lo, lo + width)) | set(range(hi - width + 1, hi + 1))
    return {(y, x) for y, x in _square(lo, hi) if y in edge or x in edge}


MASK12 = np.zeros((12, 12), bool)
MASK12[6:, 6:] = True  # rows and columns 6..11


def test_reference_look_is_a_2px_outline_inside_the_box_then_the_mask():
    (out,) = feedback_images([_grey(12)], [], MASK12, look="reference", answer_text='[{"bbox_2d": [2, 2, 8, 8]}]')
    np.testing.assert_array_equal(out, _expected(12, _outline(2, 8, 2), _square(6, 11)))


def test_reference_look_draws_at_the_sent_size_with_the_boxes_as_written_there():
    """A 24-px scene sent at 12 px: the image is resized first, the answer's boxes are in the 12-px frame, and the
    24-px mask is resized (nearest) to it."""
    mask24 = np.zeros((24, 24), bool)
    mask24[12:, 12:] = True
    (out,) = feedback_images([_grey(24)], [], mask24, size=(12, 12), look="reference",
                             answer_text='[{"bbox_2d": [2, 2, 8, 8]}]')  # fmt: skip
    np.testing.assert_array_equal(out, _expected(12, _outline(2, 8, 2), _square(6, 11)))


def test_crisp_look_draws_our_boxes_at_the_sent_size_so_the_line_stays_sharp():
    """Our look at 12 px: the scene box (4, 4, 18, 18) becomes (2, 2, 9, 9), a 1-px line (width max(1, 12/384))
    on pixels 2..8; no value between the line colour and the background survives a later resize."""
    mask24 = np.zeros((24, 24), bool)
    mask24[12:, 12:] = True
    prompts = [InstancePrompt(box=Box(x1=4, y1=4, x2=18, y2=18))]
    (out,) = feedback_images([_grey(24)], prompts, mask24, size=(12, 12), look="crisp")
    np.testing.assert_array_equal(out, _expected(12, _outline(2, 8, 1), _square(6, 11)))


def test_crisp_look_at_the_scene_size_is_todays_render():
    from tools.render import render_feedback

    img = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    prompts = [InstancePrompt(box=Box(x1=5.4, y1=7, x2=30, y2=33.6))]
    mask = np.zeros((40, 50), bool)
    mask[10:20, 12:40] = True
    (out,) = feedback_images([img], prompts, mask)
    np.testing.assert_array_equal(out, render_feedback(img, [p.box for p in prompts], mask))


@pytest.mark.parametrize(
    ("text", "boxes"),
    [
        ('[{"bbox_2d": [2, 2, 8, 8]}, {"bbox_2d": [1, 2, 3]}, "x"]', [[2, 2, 8, 8]]),
        ("[{'bbox_2d': [2, 2, 8, 8]}]", []),  # not JSON: no boxes
        ('[{"bbox_2d": [2, 2, 8, 8]}, {"bbox_2d": 5}]', []),  # a bbox_2d without a length: no boxes at all
        ('{"bbox_2d": [2, 2, 8, 8]}', []),  # not a list
        ("", []),
    ],
)
def test_reference_boxes_are_read_as_the_reference_reads_them(text, boxes):
    assert reference_boxes(text) == boxes


def test_reference_look_skips_a_box_pil_refuses_and_still_draws_the_mask():
    text = '[{"bbox_2d": [8, 2, 2, 8]}, {"bbox_2d": [2, 2, 8, 8]}]'  # swapped corners first
    (out,) = feedback_images([_grey(12)], [], MASK12, look="reference", answer_text=text)
    np.testing.assert_array_equal(out, _expected(12, _outline(2, 8, 2), _square(6, 11)))
    (out,) = feedback_images([_grey(12)], [], MASK12, look="reference", answer_text="not json")
    np.testing.assert_array_equal(out, _expected(12, set(), _square(6, 11)))


def test_reference_look_truncates_fractional_coordinates_as_pil_does():
    (out,) = feedback_images([_grey(12)], [], None, look="reference", answer_text='[{"bbox_2d": [2.7, 2.2, 8.9, 8.5]}]')
    np.testing.assert_array_equal(out, _expected(12, _outline(2, 8, 2), set()))
