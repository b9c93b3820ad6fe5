"""Writing files safely: atomic writes and deterministic PNG encoding, used by every output path."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from tools.outdir import file_mode


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling, fsync and an atomic rename.

    Readers never see half a file, and a crash leaves either the old file or the new one. The file gets the
    umask's permissions (`tools.outdir.file_mode`).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())  # mkstemp makes 0600; outputs follow the umask like any new file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def png_bytes(image: np.ndarray, level: int = 3) -> bytes:
    """Encode an (H, W) or (H, W, 3) uint8 array as PNG at zlib ``level``; the same array gives the same bytes."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def noisy_png_bytes(rgb: np.ndarray) -> bytes:
    """Encode a noisy (H, W, 3) uint8 RGB image (a satellite tile) as PNG, fast and deterministically.

    Huffman-only deflate skips the string matching that finds almost nothing in image noise: on a 768 px tile
    it is about twice as fast as zlib level 1 and gives a ~10% smaller file.
    """
    import cv2

    params = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]), params)
    if not ok:  # pragma: no cover - only for arrays PNG cannot hold
        raise ValueError(f"PNG encoding failed for an array of shape {rgb.shape}")
    return buf.tobytes()
