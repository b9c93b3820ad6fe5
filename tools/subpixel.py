"""Sub-pixel drawing with OpenCV: continuous pixel coordinates as fixed-point vertices.

OpenCV's drawing functions take integer vertices, with ``shift`` fractional bits, and put integer
coordinates at pixel centres; our geometry is continuous, with the origin at the top-left pixel corner.
`cv_pts` converts one to the other; pass `SHIFT` as the drawing call's ``shift``.

>>> cv_pts([[0.5, 0.5], [2.0, 1.0]]).tolist()
[[0, 0], [24, 8]]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

SHIFT = 4
"""Fractional bits of OpenCV's fixed-point vertices (1/16 px)."""
ONE = 1 << SHIFT
"""One pixel in fixed-point units."""


def cv_pts(p: ArrayLike) -> np.ndarray:
    """Convert continuous pixel coordinates (corner origin) to OpenCV fixed-point vertices (centre origin)."""
    return np.rint((np.asarray(p, float) - 0.5) * ONE).astype(np.int32)
