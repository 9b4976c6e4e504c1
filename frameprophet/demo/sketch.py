"""The scene's drawing, read within the upload limits: a picture's size is checked from its header
(a file) or its shape (an array) before a single pixel is decoded or resized, so a small file
that decodes to a huge picture is refused in words at no cost."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from frameprophet.demo.settings import RequestError
from frameprophet.io.limits import DECODER_ERRORS, MAX_PIXELS

#: Pictures are shrunk to this side before the drawing is found in them.
READ_SIDE = 1024
_SIDE = math.isqrt(MAX_PIXELS)
ACCEPTED = f"send a picture (PNG, JPG or WebP) of at most {_SIDE}x{_SIDE} pixels"


def sketch_array(sketch) -> np.ndarray | None:
    """The picture in a Sketchpad value (a dict with 'composite': an array, a file or its
    FileData), an image array, or an image file (the API); None when there is none."""
    if isinstance(sketch, dict):
        sketch = sketch["path"] if sketch.get("path") else sketch.get("composite")
        if isinstance(sketch, dict):                 # the composite as a file
            sketch = sketch.get("path")
    if sketch is None:
        return None
    if isinstance(sketch, str | Path):
        return _read_picture(sketch)
    return _checked_array(sketch)


def check_size(width: int, height: int) -> None:
    """Refuse a picture by its declared size: no pixels, or more than an upload's frame."""
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise RequestError(f"The sketch is {width}x{height} pixels; {ACCEPTED}.")


def _read_picture(path: str | Path) -> np.ndarray:
    """A picture file as RGBA, shrunk to READ_SIDE; `Image.open` reads only the header, whose
    size is checked before `thumbnail` decodes it."""
    from PIL import Image

    try:
        with warnings.catch_warnings():     # the size is checked here, against a lower limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                check_size(*im.size)
                im.thumbnail((READ_SIDE, READ_SIDE))
                return np.asarray(im.convert("RGBA"))
    except RequestError:
        raise
    except Image.DecompressionBombError as e:
        raise RequestError(f"The sketch is far too large to read safely; {ACCEPTED}.") from e
    except DECODER_ERRORS as e:
        raise RequestError(f"The sketch is not a picture; {ACCEPTED}.") from e


def _checked_array(value) -> np.ndarray:
    """An image array (height, width[, 1, 3 or 4 channels]) of numbers, its shape checked
    before it is copied or resized."""
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (TypeError, ValueError) as e:
        raise RequestError(f"The sketch is not a picture; {ACCEPTED}.") from e
    shape_ok = array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3, 4))
    if not shape_ok or array.dtype.kind not in "buif":
        raise RequestError(f"The sketch is not a picture; {ACCEPTED}.")
    check_size(array.shape[1], array.shape[0])
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise RequestError(f"The sketch is not a picture (NaN or infinite values); {ACCEPTED}.")
    return array
