"""The instances of a mask: its 8-connected components above a minimum area, as masks, boxes or labels.

One definition, used by the metrics (`evals.metrics` instance F1), the oracle-box baseline and the
trainer's rewards, so that "an instance" means the same thing everywhere. Components of
`MIN_INSTANCE_AREA` pixels or fewer are dropped by pixel count. (The reference implementation drops GT
contours whose `cv2.contourArea` of the outer contour is <= 10, which is not the same test: a contour's
polygon area is smaller than its pixel count, e.g. 0 for a one-pixel-wide line; `train.rewards` keeps the
reference's own test where it reproduces the reference.)
"""

from __future__ import annotations

import numpy as np

MIN_INSTANCE_AREA = 10
"""Connected components of this many pixels or fewer are not instances."""


def components(mask: np.ndarray, min_area: int = MIN_INSTANCE_AREA) -> list[np.ndarray]:
    """Return the 8-connected components of a mask larger than ``min_area`` pixels, as bool masks.

    >>> import numpy as np
    >>> m = np.zeros((10, 10), np.uint8); m[0:4, 0:4] = 1; m[6:9, 6:9] = 1; m[5, 0] = 1
    >>> [int(c.sum()) for c in components(m)]
    [16]
    >>> [int(c.sum()) for c in components(m, min_area=0)]
    [16, 1, 9]
    """
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats((np.asarray(mask) != 0).astype(np.uint8), connectivity=8)
    return [labels == k for k in range(1, n) if stats[k, cv2.CC_STAT_AREA] > min_area]


def component_boxes(mask: np.ndarray, min_area: int = MIN_INSTANCE_AREA) -> list[tuple[int, int, int, int]]:
    """Return the XYXY pixel boxes of the 8-connected components larger than ``min_area`` pixels.

    >>> import numpy as np
    >>> m = np.zeros((10, 10), np.uint8); m[2:5, 3:8] = 1
    >>> component_boxes(m)
    [(3, 2, 8, 5)]
    """
    import cv2

    n, _, stats, _ = cv2.connectedComponentsWithStats((np.asarray(mask) != 0).astype(np.uint8), connectivity=8)
    boxes = []
    for k in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[k])
        if area > min_area:
            boxes.append((x, y, x + w, y + h))
    return boxes


def component_labels(mask: np.ndarray, min_area: int = MIN_INSTANCE_AREA) -> tuple[np.ndarray, np.ndarray]:
    """Label the 8-connected components larger than ``min_area`` pixels 1..K (0 elsewhere); return labels, areas.

    >>> import numpy as np
    >>> m = np.zeros((6, 6), bool); m[0:4, 0:4] = True; m[5, 5] = True
    >>> labels, areas = component_labels(m)
    >>> int(labels.max()), areas.tolist()
    (1, [16])
    """
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats((np.asarray(mask) != 0).astype(np.uint8), connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    keep = areas > min_area
    keep[0] = False
    lut = np.zeros(n, np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels], areas[keep]
