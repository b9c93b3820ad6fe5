"""What a front end that serves other people lets its tools touch: files under allowed roots, images up to a size.

Three checks, used by `tools.registry.ToolContext` (so every tool obeys them) and by the serving front ends
(`agent.serving.limits`: ``socio mcp`` and ``socio serve``):

- `refuse_url`: socioagent never fetches anything; a URL (``http://``, ``s3://``, GDAL's ``/vsicurl/``) given
  where a file is expected is refused with a message, never opened.
- `resolve_under`: a path is resolved (``~``, ``..`` and every symlink followed, `pathlib.Path.resolve`) and must
  then lie under one of the allowed roots (themselves resolved): ``../`` out of a root, an absolute path
  elsewhere and a symlink inside a root that points out of it are all refused.
- `check_pixels`: an image's size is read from its header (PIL opens lazily; rasterio reads the GeoTIFF
  header), before any pixel is decoded, and an image over the pixel limit is refused.

>>> refuse_url("scene/sat.png", "satellite image")
>>> refuse_url("https://example.org/sat.tif", "satellite image")
Traceback (most recent call last):
...
tools.errors.OutsideRootsError: the satellite image 'https://example.org/sat.tif' is a URL; socioagent never ...
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

from tools.errors import InputError, MissingFileError, OutsideRootsError

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GDAL_VIRTUAL = ("/vsicurl", "/vsis3", "/vsigs", "/vsiaz", "/vsiadls", "/vsioss", "/vsiswift", "/vsihdfs",
                 "/vsiwebhdfs", "/vsizip", "/vsitar", "/vsigzip", "/vsi7z", "/vsirar", "/vsistdin",
                 "/vsimem")  # fmt: skip


def refuse_url(path: str | Path, what: str = "file") -> None:
    """Raise `OutsideRootsError` if ``path`` is a URL or a GDAL virtual file system path (never a local file).

    Raises:
        OutsideRootsError: ``path`` names something remote (or virtual) rather than a file on this machine.
    """
    text = str(path).strip()
    if _URL.match(text) or text.lower().startswith(_GDAL_VIRTUAL):
        raise OutsideRootsError(
            f"the {what} {text!r} is a URL; socioagent never fetches URLs: download the file yourself and give "
            "its path under an allowed folder"
        )


def resolve_roots(roots: Sequence[str | Path]) -> tuple[Path, ...]:
    """Return the roots resolved, refusing any that is not an existing folder.

    Raises:
        InputError: a root does not exist or is not a folder.
    """
    out = []
    for r in roots:
        refuse_url(r, "root folder")
        p = Path(r).expanduser().resolve()
        if not p.is_dir():
            raise InputError(f"--root {r}: no such folder; give an existing folder that holds the scenes to serve")
        out.append(p)
    return tuple(out)


def resolve_under(
    path: str | Path, roots: Sequence[Path] | None, what: str = "file", *, must_exist: bool = True
) -> Path:
    """Return ``path`` resolved (``~``, ``..`` and symlinks followed) if it lies under one of ``roots``.

    Args:
        path: the path a caller gave (relative paths are relative to the working directory).
        roots: the allowed folders, or None for no restriction (a local command line).
        what: what the file is, for messages ("satellite image").
        must_exist: the resolved path must be an existing regular file.

    Raises:
        OutsideRootsError: the path is a URL, or lies outside every root (after resolving).
        MissingFileError: the path names no file (or cannot be resolved: ``~nobody``, a NUL byte, a symlink loop).
    """
    refuse_url(path, what)
    try:
        given = Path(path).expanduser()
        resolved = given.resolve()
    except (RuntimeError, ValueError, OSError) as e:  # '~nobody' (no such user), a NUL byte, a symlink loop
        raise MissingFileError(f"the {what} {path!r} names no file ({e}); check the path") from None
    if roots is not None and not any(resolved.is_relative_to(Path(root).resolve()) for root in roots):
        allowed = ", ".join(str(r) for r in roots) or "(none)"
        via = "" if resolved == given.absolute() else f" (it resolves to {resolved}: '..' and symlinks are followed)"
        raise OutsideRootsError(
            f"the {what} {path} is outside the allowed folders ({allowed}){via}; put the file under one of them, "
            "or start the server with --root naming its folder"
        )
    if must_exist and not resolved.is_file():
        raise MissingFileError(f"{what} file not found: {path}; check the path")
    return resolved


def resolve_folder_under(path: str | Path, roots: Sequence[Path] | None, what: str = "folder") -> Path:
    """Return an existing folder resolved, if it and every entry in it (symlinks followed) lie under ``roots``.

    A folder's readers open its files by name, so a symlink inside it that points out of the roots is refused
    here as well.

    Raises:
        InputError: a URL, a folder (or an entry of it) outside every root, or no such folder.
    """
    resolved = resolve_under(path, roots, what, must_exist=False)
    if not resolved.is_dir():
        raise MissingFileError(f"{what} not found: {path}; check the path")
    for entry in sorted(resolved.iterdir()):
        resolve_under(entry, roots, f"file {entry.name} of the {what}", must_exist=False)
    return resolved


def image_size(path: Path, what: str = "image") -> tuple[int, int]:
    """Return (width, height) of an image file from its header, without decoding its pixels.

    Raises:
        InputError: the file is not an image PIL or rasterio can read.
    """
    from PIL import Image, UnidentifiedImageError

    if path.suffix.lower() in {".tif", ".tiff"}:
        import rasterio
        from rasterio.errors import RasterioIOError

        try:
            with rasterio.open(path) as src:
                return int(src.width), int(src.height)
        except RasterioIOError as e:
            raise InputError(f"{what} file {path} is not a readable raster ({e}); give a GeoTIFF, PNG or JPEG") from e
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return int(im.size[0]), int(im.size[1])
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise InputError(f"{what} file {path} is not a readable image ({e}); give a PNG, JPEG or GeoTIFF") from e


def check_pixels(path: Path, max_pixels: int | None, what: str = "image") -> tuple[int, int]:
    """Return the image's (width, height), refusing it when it has more than ``max_pixels`` pixels.

    Raises:
        InputError: the image is over the limit (the message names the limit and the flag that sets it).
    """
    w, h = image_size(path, what)
    if max_pixels is not None and w * h > max_pixels:
        raise InputError(
            f"the {what} {path} is {w}x{h} = {w * h:,} pixels, over this server's limit of {max_pixels:,} pixels; "
            "give a smaller window (crop or downsample it), or start the server with a larger --max-pixels"
        )
    return w, h
