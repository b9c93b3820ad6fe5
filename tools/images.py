"""Resize images and masks, and binarise truth masks: the pixel operations every floor shares, written once.

- `resize_rgb`: an (H, W, 3) uint8 image to another size with PIL's bicubic filter, as the Qwen-VL processors
  and the SocioReasoner reference resize (policies send images at this size; SAM's model-frame mode encodes it).
- `resize_mask`: a mask to another size with OpenCV's nearest-neighbour rule (``cv2.INTER_NEAREST``), as the
  reference resizes masks between the 756 model frame and the 768 scene.
- `binarize_mask`: a truth mask image to booleans, by one of two rules (`MaskRule`): ``any_band`` (a pixel is
  target when any colour band is > 0; ours) or ``gray`` (``PIL convert("L") > 0``; the reference's), which
  differ only for faint colours, e.g. RGB (0, 0, 1) has gray level 0.

>>> import numpy as np
>>> from PIL import Image
>>> faint = Image.fromarray(np.array([[[0, 0, 1], [0, 9, 0]]], np.uint8))
>>> binarize_mask(faint, "any_band").tolist(), binarize_mask(faint, "gray").tolist()
([[True, True]], [[False, True]])
"""

from __future__ import annotations

from typing import Literal, get_args

import cv2
import numpy as np
from PIL import Image

from tools.errors import InputError

MaskRule = Literal["any_band", "gray"]
"""How a truth mask image becomes booleans: any band > 0, or PIL's gray level (``convert("L")``) > 0."""
MASK_RULES: tuple[str, ...] = get_args(MaskRule)

_PALETTED = ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV")


def resize_rgb(image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Return an (H, W, 3) uint8 image resized to ``hw`` = (height, width) with PIL bicubic (itself if equal)."""
    if tuple(image.shape[:2]) == tuple(hw):
        return image
    pil = Image.fromarray(image).resize((int(hw[1]), int(hw[0])), Image.Resampling.BICUBIC)
    return np.array(pil)  # a writable copy (torch warns about read-only arrays)


def resize_mask(mask: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Return an (H, W) bool mask resized to ``hw`` = (height, width) with ``cv2.INTER_NEAREST`` (a copy if equal)."""
    m = np.asarray(mask).astype(np.uint8)
    if tuple(m.shape[:2]) == tuple(hw):
        return m > 0
    return cv2.resize(m, (int(hw[1]), int(hw[0])), interpolation=cv2.INTER_NEAREST) > 0


def binarize_mask(image: Image.Image, rule: MaskRule = "any_band") -> np.ndarray:
    """Return a truth mask image as an (H, W) bool array.

    Args:
        image: the mask as PIL opened it (any mode).
        rule: ``any_band``: a pixel is target when any of its colour bands is > 0 (alpha ignored; palette
            images through their colours); ``gray``: when ``image.convert("L")`` is > 0, as the reference reads it.

    Raises:
        InputError: an unknown rule.
    """
    if rule == "gray":
        return np.ascontiguousarray(np.asarray(image.convert("L")) > 0)
    if rule != "any_band":
        raise InputError(f"unknown mask rule {rule!r}; choose one of: {', '.join(MASK_RULES)}")
    if image.mode in _PALETTED:
        image = image.convert("RGB")
    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = arr[..., :3] if arr.shape[2] in (3, 4) else arr[..., :1]  # drop alpha
        return np.ascontiguousarray((arr > 0).any(axis=2))
    return np.ascontiguousarray(arr > 0)
