"""What a clip file may be, and how a refusal reads: the accepted formats and limits, the
`Accepted: ...` sentence that ends every message, `ClipError`, the `Limits` every decoder checks
a frame against before decoding it, and the sentence for a damaged file."""

from __future__ import annotations

import math
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

# --------------------------------------------------------------------------------------------
# What we accept. These numbers are the defaults of `read_clip`; the ACCEPTED sentence ends
# every error message so a user always learns what would have worked.
# --------------------------------------------------------------------------------------------

MIN_FRAMES = 2  # a "clip" with one frame has no motion to learn from or continue
MAX_FRAMES = 1000
MAX_PIXELS = 4096 * 4096  # per frame
# Budget for the whole clip: 64M decoded pixels is ~256 MB as float32 and a few seconds of
# decoding. Without it, 1000 frames of 4096x4096 would be 64 GB.
MAX_TOTAL_PIXELS = 64 * 1024 * 1024

ACCEPTED_FORMATS = (
    "GIF or animated PNG, MP4/WebM/MOV/AVI/MKV video, NPY/NPZ arrays, "
    "or a ZIP/folder of PNG/JPG frames"
)

PILLOW_EXTENSIONS = (".gif", ".png", ".apng", ".jpg", ".jpeg")
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")
ARRAY_EXTENSIONS = (".npy", ".npz")
ZIP_EXTENSIONS = (".zip",)
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg")  # frames inside a ZIP or a folder


# Float arrays must already be in [0, 1]; rounding in someone's pipeline may overshoot a little,
# so values within this margin are clipped, anything further out is refused (e.g. 0..255 floats).
FLOAT_TOLERANCE = 0.01


# An archive or a folder may list at most 10 * max_frames + 100 files (slack for folders,
# __MACOSX/ and thumbnail junk); more is not a clip.
_ENTRIES_PER_FRAME = 10
_SLACK_ENTRIES = 100


# Decoders raise all sorts of things on damaged input; these are turned into ClipError.
# (ClipError itself is a ValueError and is re-raised untouched before this tuple is consulted.)
DECODER_ERRORS = (
    OSError,  # includes PIL.UnidentifiedImageError and "image file is truncated"
    ValueError,
    RuntimeError,  # includes imageio-ffmpeg's "Could not read frame"
    EOFError,
    SyntaxError,  # Pillow raises it for some malformed headers
    IndexError,
    KeyError,
    OverflowError,
    MemoryError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    Image.DecompressionBombError,
)


def _pixels_text(max_pixels: int) -> str:
    side = math.isqrt(max_pixels)
    if side * side == max_pixels:
        return f"at most {side}x{side} pixels per frame"
    return f"at most {max_pixels:,} pixels per frame"


def _accepted_text(max_frames: int = MAX_FRAMES, max_pixels: int = MAX_PIXELS) -> str:
    """The 'Accepted: ...' sentence for the limits in force."""
    return (
        f"Accepted: {ACCEPTED_FORMATS}; {MIN_FRAMES} to {max_frames} frames (longer clips are "
        f"cut to the first {max_frames}), {_pixels_text(max_pixels)}."
    )


ACCEPTED = _accepted_text()


class ClipError(ValueError):
    """A clip that cannot be used. The message says what was wrong and what is accepted.

    `source` is the file name (never the full path, which may be a server's temp folder) and
    `problem` the plain-words reason, both kept for callers that format their own messages.
    """

    def __init__(self, problem: str, source: str | None = None, accepted: str = ACCEPTED):
        self.problem = problem
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{problem} {accepted}")


@dataclass(frozen=True)
class Limits:
    """The limits of one `read_clip` call and the file they guard (`source`, for messages)."""

    max_frames: int
    max_pixels: int
    max_total_pixels: int
    source: str

    @property
    def accepted(self) -> str:
        return _accepted_text(self.max_frames, self.max_pixels)

    def error(self, problem: str) -> ClipError:
        return ClipError(problem, self.source, self.accepted)

    def check_frame(self, width: int, height: int, what: str = "a frame") -> None:
        """Refuse a frame from its *declared* size, before a single pixel is decoded."""
        if width < 1 or height < 1:
            raise self.error(f"{what} has no pixels ({width}x{height}).")
        if width * height > self.max_pixels:
            raise self.error(
                f"{what} is {width}x{height} pixels, which is too large to read safely."
            )

    def budget(self, width: int, height: int) -> int:
        """How many frames of this size we are willing to decode (the clip is cut there)."""
        return min(self.max_frames, self.max_total_pixels // (width * height))

    def entry_cap(self) -> int:
        """The most files a ZIP or a folder of this clip's frames may list."""
        return _ENTRIES_PER_FRAME * self.max_frames + _SLACK_ENTRIES


def damaged_text(kind: str, exc: BaseException, path: Path) -> str:
    if isinstance(exc, Image.DecompressionBombError):
        return "the image is far too large to read safely."
    if isinstance(exc, MemoryError):
        return "the file is too large to read into memory."
    if isinstance(exc, zipfile.BadZipFile):
        return "the ZIP file is damaged, cut short, or not a ZIP."
    detail = plain_detail(str(exc).replace(str(path.parent.absolute()) + os.sep, ""))
    return (
        f"could not be read as {kind}: the file looks damaged, incomplete (cut short), or is "
        f"not really {kind}." + (f" (Details: {detail})" if detail else "")
    )


_REPR = re.compile(r"\s*<[^<>]*\bat 0x[0-9a-fA-F]+>")           # <_io.BytesIO object at 0x...>
_PATH = re.compile(r"(?<![\w.:/])(?:/[^\s'\"/]+)+/(?=[^\s'\"/])")  # the folders of an absolute path


def plain_detail(text: str, limit: int = 200) -> str:
    """A library's error message said for anyone: its first sentence, without Python's reprs or
    the folders of absolute paths; "" when that sentence is longer than `limit` (never cut)."""
    lines = text.strip().splitlines()
    first = _PATH.sub("", _REPR.sub("", lines[0] if lines else "")).strip()
    first = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0].strip()
    return first if len(first) <= limit else ""
