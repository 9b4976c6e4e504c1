"""Reading clips from untrusted files: `read_clip` and its safety limits.

Data contract used everywhere in FrameProphet: a clip is a float32 array (T, H, W, C) in [0, 1],
C = 1 (grey, what `read_clip` gives by default) or 3 (colour, `channels=3`).

`read_clip` turns whatever a user uploads (GIF, animated PNG, MP4/WebM/MOV/AVI/MKV video, NPY/NPZ
arrays, a ZIP or a folder of PNG/JPG frames) into that contract. Uploads are untrusted, so every
reader follows the same rules:

* Sizes are read from headers *before* anything is decoded (Pillow's lazy `Image.open`, the
  video header that ffmpeg prints, the NPY header, the ZIP central directory), and frames are
  decoded one at a time, so a hostile file cannot make us allocate much or work for long.
* Clips longer than `max_frames` are cut to their first `max_frames` frames, and the rest is
  never decoded. A budget on the total number of decoded pixels can cut a clip further.
* Every problem with the input raises `ClipError` (a `ValueError`) whose message says what was
  wrong and what is accepted, in plain words; decoder exceptions are kept as `__cause__`.
* Nothing is unpickled and nothing is extracted to disk.

The standard library and the declared libraries do the parsing (Pillow, `zipfile`,
`numpy.lib.format`, imageio-ffmpeg); the hand-written pieces are safety checks that run before
them, e.g. the ZIP end-record check refuses huge central directories before `zipfile` parses them.
"""

from __future__ import annotations

import logging
import math
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import imageio_ffmpeg
import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

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

# Pillow knows dozens of formats; we only ever let it parse these (smaller attack surface, and a
# text file renamed .gif fails fast instead of being tried as every format Pillow knows).
_PILLOW_FORMATS = ("GIF", "PNG", "JPEG")
# ffmpeg guesses the container from the *content*, so a file named .mp4 could really be an HLS
# playlist that makes ffmpeg open other local files. Forcing the demuxer from the extension and
# allowing only the "file" protocol shuts that door.
_VIDEO_DEMUXERS = {
    ".mp4": "mov", ".m4v": "mov", ".mov": "mov", ".webm": "matroska", ".mkv": "matroska",
    ".avi": "avi",
}

# Float arrays must already be in [0, 1]; rounding in someone's pipeline may overshoot a little,
# so values within this margin are clipped, anything further out is refused (e.g. 0..255 floats).
FLOAT_TOLERANCE = 0.01

# ZIP safety: the central directory is checked before anything is decompressed.
_ZIP_ENTRIES_PER_FRAME = 10  # an archive may list at most 10 * max_frames + 100 files ...
_ZIP_SLACK_ENTRIES = 100  # ... (slack for folders, __MACOSX/ and thumbnail junk)
_ZIP_MAX_DIRECTORY_BYTES = 16 * 1024 * 1024  # the central directory itself
_ZIP_MAX_RATIO = 100  # PNG/JPG are compressed already; a 100:1 entry is a bomb, not a frame
_ZIP_RATIO_FREE_BYTES = 1024 * 1024  # tiny entries may compress well, that is harmless
_ZIP_MAX_READ_BYTES = 1024 * 1024 * 1024  # uncompressed bytes of all frames we will read
# A frame (a PNG file, or one frame of an array) cannot legitimately be bigger than its raw
# 16-bit RGBA pixels (or float64 grey) plus some chunks.
_FRAME_FILE_BYTES_PER_PIXEL = 8
_FRAME_FILE_OVERHEAD = 1024 * 1024
# A folder is listed entry by entry; more entries than this is not a clip.
_FOLDER_ENTRIES_PER_FRAME = _ZIP_ENTRIES_PER_FRAME

# NPZ members stored in Fortran order cannot be cut frame by frame; read whole up to this size.
_NPZ_MAX_WHOLE_BYTES = 256 * 1024 * 1024

# Decoders raise all sorts of things on damaged input; these are turned into ClipError.
# (ClipError itself is a ValueError and is re-raised untouched before this tuple is consulted.)
_DECODER_ERRORS = (
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


# --------------------------------------------------------------------------------------------
# Limits shared by all readers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Limits:
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

    def zip_entry_cap(self) -> int:
        return _ZIP_ENTRIES_PER_FRAME * self.max_frames + _ZIP_SLACK_ENTRIES


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_clip(
    path: str | os.PathLike,
    frame_size: tuple[int, int] | None = None,
    max_frames: int = MAX_FRAMES,
    max_pixels: int = MAX_PIXELS,
    max_total_pixels: int = MAX_TOTAL_PIXELS,
    channels: int = 1,
) -> np.ndarray:
    """Read a clip from a file or folder as float32 (T, H, W, `channels`) in [0, 1].

    `read_clip_with_notes` does the same and also says what was changed on the way (cut, colour
    dropped); this is `read_clip_with_notes(...)[0]`. Everything below applies to both.

    Accepted inputs (chosen by extension; a folder is read as a folder of frames):

    * GIF or (animated) PNG/JPG: Pillow composites partial GIF/APNG frames; a still image is a
      single frame and therefore refused.
    * Video (.mp4 .m4v .mov .webm .mkv .avi): decoded lazily by ffmpeg (imageio-ffmpeg).
    * .npy / .npz: shape (T, H, W), (T, H, W, 1), (T, H, W, 3) or (T, H, W, 4); uint8 (divided by
      255) or float16/32/64 already in [0, 1] (overshoot up to 0.01 is clipped; NaN/inf or values
      further out are refused). An NPZ gives its array named 'clip' or 'frames', else its first
      array. Loaded without pickle; only the frames that are kept are read.
    * .zip or a folder of .png/.jpg/.jpeg frames, in natural file-name order ("f2" before "f10").
      Entries are read into memory one at a time, never extracted to disk.

    With `channels=1` (the default) colour becomes grey with luminance weights 0.299 R + 0.587 G
    + 0.114 B; with `channels=3` colour is kept and grey files become three equal channels.
    Transparent pixels are composited on black. If `frame_size=(H, W)` is given, each frame is
    resized to fit inside it keeping its aspect ratio (box filter when shrinking, bilinear when
    enlarging) and padded with black, centred, to exactly (H, W).

    Limits (all checked from headers, before decoding):

    * at least 2 frames; all frames the same size (GIF/APNG frames are composited full size);
    * a frame may have at most `max_pixels` pixels;
    * LONGER CLIPS ARE CUT, NOT REFUSED: only the first `max_frames` frames are decoded and the
      rest of the file is never touched, so a 10,000-frame clip costs as much as a 1000-frame
      one. The clip is also cut so that at most `max_total_pixels` source pixels are decoded
      (64M by default: e.g. 32 frames of 1920x1080). Cuts are logged at INFO level.

    Raises:
        ClipError: for anything wrong with the input (missing, empty, damaged, unsupported, too
            large, too short, ...); the message names the file and lists what is accepted.
        ValueError: for invalid arguments (e.g. `max_frames=1`).
    """
    return read_clip_with_notes(path, frame_size, max_frames, max_pixels, max_total_pixels,
                                channels)[0]


def read_clip_with_notes(
    path: str | os.PathLike,
    frame_size: tuple[int, int] | None = None,
    max_frames: int = MAX_FRAMES,
    max_pixels: int = MAX_PIXELS,
    max_total_pixels: int = MAX_TOTAL_PIXELS,
    channels: int = 1,
) -> tuple[np.ndarray, list[str]]:
    """`read_clip`, plus notes for a person: "cut to the first 60 frames", "colour dropped"."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (colour), got {channels!r}")
    if max_frames < MIN_FRAMES:
        raise ValueError(f"max_frames must be at least {MIN_FRAMES}, got {max_frames}")
    if max_pixels < 1 or max_total_pixels < 1:
        raise ValueError("max_pixels and max_total_pixels must be positive")
    if frame_size is not None:
        if len(frame_size) != 2 or any(int(s) != s or s < 1 for s in frame_size):
            raise ValueError(f"frame_size must be two positive integers (H, W), got {frame_size}")
        frame_size = (int(frame_size[0]), int(frame_size[1]))

    path = Path(path)
    limits = _Limits(max_frames, max_pixels, max_total_pixels, path.name or str(path))
    frames: Generator[np.ndarray, None, None] | None = None
    kind = "a clip"
    try:
        frames, kind = _open_frames(path, limits)
        notes: list[str] = []
        return _collect(frames, frame_size, limits, notes, channels), notes
    except ClipError:
        raise
    except _DECODER_ERRORS as exc:
        raise limits.error(_damaged_text(kind, exc, path)) from exc
    finally:
        if frames is not None:
            frames.close()  # stops the decoder (closes files, ends ffmpeg) even after a cut


def clip_info(path: str | os.PathLike) -> dict:
    """What a file's header says of its frames, for a person: `{"size": [W, H] or None,
    "fps": float or None}`, read as `read_clip` reads headers (nothing decoded, the same
    allowed formats and ffmpeg options). Never raises: what cannot be known is None."""
    path = Path(path)
    info: dict = {"size": None, "fps": None}
    suffix = path.suffix.lower()
    try:
        if suffix in PILLOW_EXTENSIONS:
            with _open_image(path) as image:
                info["size"] = list(image.size)
                duration = image.info.get("duration")        # ms per frame (GIF, APNG)
                info["fps"] = round(1000 / duration, 2) if duration else None
        elif suffix in VIDEO_EXTENSIONS:
            reader = imageio_ffmpeg.read_frames(
                str(path), pix_fmt="rgb24",
                input_params=["-protocol_whitelist", "file", "-f", _VIDEO_DEMUXERS[suffix]])
            try:
                meta = next(reader)
            finally:
                reader.close()
            info["size"], info["fps"] = list(meta["size"]), meta.get("fps")
        elif suffix == ".npy":
            with open(path, "rb") as fh:
                shape = _read_npy_header(fh, _Limits(MAX_FRAMES, MAX_PIXELS, 1, path.name))[0]
            info["size"] = [int(shape[2]), int(shape[1])] if len(shape) >= 3 else None
    except (ClipError, *_DECODER_ERRORS):
        pass
    return info


def _damaged_text(kind: str, exc: BaseException, path: Path) -> str:
    if isinstance(exc, Image.DecompressionBombError):
        return "the image is far too large to read safely."
    if isinstance(exc, MemoryError):
        return "the file is too large to read into memory."
    # First line of the decoder's message, without the folder (a server's temp dir is private).
    lines = str(exc).strip().splitlines()
    detail = lines[0] if lines else type(exc).__name__
    detail = detail.replace(str(path.parent.absolute()) + os.sep, "")
    detail = detail.replace(str(path.parent) + os.sep, "")[:160]
    return (
        f"could not be read as {kind}: the file looks damaged, incomplete (cut short), or is "
        f"not really {kind}. (Details: {detail})"
    )


def _open_frames(path: Path, limits: _Limits) -> tuple[Generator[np.ndarray, None, None], str]:
    """Check the path cheaply and pick the frame reader. Returns (lazy frame iterator, kind)."""
    if path.is_dir():
        return _iter_folder_frames(path, limits), "a folder of frames"
    if not path.exists():
        raise limits.error("the file does not exist (was the upload finished?).")
    if not path.is_file():
        raise limits.error("this is not a regular file.")
    suffix = path.suffix.lower()
    known = PILLOW_EXTENSIONS + VIDEO_EXTENSIONS + ARRAY_EXTENSIONS + ZIP_EXTENSIONS
    if suffix not in known:
        shown = f'"{suffix}"' if suffix else "no extension"
        raise limits.error(
            f"files with {shown} are not supported (supported endings: {' '.join(known)})."
        )
    if path.stat().st_size == 0:
        raise limits.error("the file is empty.")
    # The readers are generators: nothing below runs until the first frame is requested, and
    # that first request is inside read_clip's error handling.
    if suffix in PILLOW_EXTENSIONS:
        kind = "a GIF" if suffix == ".gif" else "a PNG/JPG image"
        return _iter_pillow_frames(path, limits), kind
    if suffix in VIDEO_EXTENSIONS:
        return _iter_video_frames(path, _VIDEO_DEMUXERS[suffix], limits), "a video"
    if suffix == ".npy":
        return _iter_npy_frames(path, limits), "an NPY array"
    if suffix == ".npz":
        return _iter_npz_frames(path, limits), "an NPZ archive"
    return _iter_zip_frames(path, limits), "a ZIP of PNG/JPG frames"


def _collect(
    frames: Iterator[np.ndarray], frame_size: tuple[int, int] | None, limits: _Limits,
    notes: list[str], channels: int = 1,
) -> np.ndarray:
    """Pull frames until the budget is reached, converting each to grey or RGB (and resizing) at
    once.

    Converting frame by frame keeps memory at one source frame plus the (smaller) output.
    Appends to `notes` what a person should know: colour dropped, clip cut.
    """
    out: list[np.ndarray] = []
    coloured = False
    first_size: tuple[int, int] | None = None
    budget = limits.max_frames
    for frame in frames:
        size = (frame.shape[1], frame.shape[0])  # (width, height)
        if first_size is None:
            first_size = size
            budget = limits.budget(*size)
            if budget < MIN_FRAMES:
                raise limits.error(
                    f"its frames are {size[0]}x{size[1]} pixels; at most "
                    f"{limits.max_total_pixels:,} pixels can be read per clip, which is fewer "
                    f"than {MIN_FRAMES} frames of that size."
                )
        elif size != first_size:
            raise limits.error(
                f"frame {len(out) + 1} is {size[0]}x{size[1]} pixels but the first frame is "
                f"{first_size[0]}x{first_size[1]}; all frames of a clip must be the same size."
            )
        if not coloured and len(out) < 3 and frame.ndim == 3 and frame.shape[2] >= 3:
            coloured = not (np.array_equal(frame[..., 0], frame[..., 1])
                            and np.array_equal(frame[..., 1], frame[..., 2]))
        if channels == 1:
            out.append(_fit(_to_gray(frame), frame_size)[..., None])
        else:
            rgb = _to_rgb(frame)
            out.append(np.stack([_fit(rgb[..., i], frame_size) for i in range(3)], axis=-1))
        if len(out) >= budget:
            # The cut: the caller closes the iterator, so later frames are never decoded (not
            # even one to learn whether there were any).
            notes.append(f"only its first {budget} frames are used (the most a clip may have "
                         "here); any later frames were not read")
            break
    if len(out) < MIN_FRAMES:
        found = "no frames could be read" if not out else (
            "it has only 1 frame (a single picture is not a clip)")
        raise limits.error(f"{found}; at least {MIN_FRAMES} frames are needed.")
    if len(out) == budget:
        log.info("%s: read %d frames, the most allowed; later frames (if any) were not read",
                 limits.source, budget)
    if coloured and channels == 1:
        notes.append("colour dropped: the models see grey (luminance)")
    return np.stack(out)


def _to_gray(frame: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) uint8/float frame -> (H, W) float32 in [0, 1].

    Alpha is composited on black (premultiplied), colour uses ITU-R 601 luminance weights.
    Channels are combined one at a time so no float copy of the whole RGB frame is made.
    """
    if frame.dtype == np.uint8:
        scale = np.float32(1 / 255)
    elif frame.dtype == np.uint16:
        scale = np.float32(1 / 65535)
    else:
        scale = np.float32(1)
    if frame.ndim == 2:
        gray = frame.astype(np.float32) * scale
    elif frame.shape[2] == 1:
        gray = frame[..., 0].astype(np.float32) * scale
    else:
        gray = frame[..., 0] * np.float32(0.299 * scale)
        gray += frame[..., 1] * np.float32(0.587 * scale)
        gray += frame[..., 2] * np.float32(0.114 * scale)
        gray = gray.astype(np.float32, copy=False)
    if frame.ndim == 3 and frame.shape[2] == 4:
        gray *= frame[..., -1] * scale  # alpha over black
    return np.clip(gray, 0.0, 1.0, out=gray)


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) uint8/float frame -> (H, W, 3) float32 in [0, 1]; grey is repeated,
    alpha composited on black as `_to_gray` does."""
    if frame.ndim == 2 or frame.shape[2] == 1:
        gray = _to_gray(frame)
        return np.repeat(gray[..., None], 3, axis=-1)
    scale = np.float32(1 / 255) if frame.dtype == np.uint8 else np.float32(1)
    rgb = frame[..., :3].astype(np.float32) * scale
    if frame.shape[2] == 4:
        rgb *= frame[..., 3:].astype(np.float32) * scale  # alpha over black
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def _fit(gray: np.ndarray, frame_size: tuple[int, int] | None) -> np.ndarray:
    """Resize to fit inside frame_size keeping the aspect ratio, then pad with black, centred."""
    if frame_size is None or gray.shape == frame_size:
        return gray
    out_h, out_w = frame_size
    h, w = gray.shape
    scale = min(out_h / h, out_w / w)
    new_h = min(out_h, max(1, round(h * scale)))
    new_w = min(out_w, max(1, round(w * scale)))
    if (new_h, new_w) != (h, w):
        # Box filter averages every source pixel when shrinking (no aliasing of thin lines);
        # bilinear is the usual choice for enlarging.
        resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
        image = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32))  # mode "F"
        gray = np.clip(np.asarray(image.resize((new_w, new_h), resample)), 0.0, 1.0)
    out = np.zeros(frame_size, np.float32)
    top, left = (out_h - new_h) // 2, (out_w - new_w) // 2
    out[top:top + new_h, left:left + new_w] = gray
    return out


def resize_clip(clip: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """Fit a clip `(T, H, W, C)`, C = 1 or 3, into `frame_size` the way `read_clip` does: keep
    the aspect ratio, pad with black, centred (each channel alike)."""
    clip = np.asarray(clip, dtype=np.float32)
    if clip.ndim != 4 or clip.shape[-1] not in (1, 3):
        raise ValueError(f"expected a clip (T, H, W, 1) or (T, H, W, 3), got {clip.shape}")
    size = (int(frame_size[0]), int(frame_size[1]))
    if clip.shape[1:3] == size:
        return clip
    return np.stack([np.stack([_fit(np.clip(frame[..., c], 0.0, 1.0), size)
                               for c in range(clip.shape[-1])], axis=-1) for frame in clip])


# --- Pillow: GIF, (A)PNG, JPG ----------------------------------------------------------------


def _open_image(fp: str | Path | BinaryIO) -> Image.Image:
    # Image.open only parses the header; pixels are decoded later by load()/convert().
    return Image.open(fp, formats=_PILLOW_FORMATS)


def _pil_to_array(image: Image.Image) -> np.ndarray:
    """Decode one Pillow frame to uint8 (H, W), (H, W, 3) or (H, W, 4) (uint16 for 16-bit grey)."""
    mode = image.mode
    if mode in ("P", "PA", "LA", "La", "RGBa") or "transparency" in image.info:
        image = image.convert("RGBA")  # palette/transparency -> explicit alpha
    elif mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey PNG
        return np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
    elif mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB")  # "1", CMYK and YCbCr JPEGs, ...
    return np.asarray(image)


def _iter_pillow_frames(path: Path, limits: _Limits) -> Generator[np.ndarray, None, None]:
    """Frames of a GIF / APNG / still image, decoded one at a time as they are requested."""
    with _open_image(path) as image:
        index = 0
        while True:
            # After seek() Pillow knows this frame's size but has not decoded it yet.
            limits.check_frame(*image.size, what=f"frame {index + 1}")
            yield _pil_to_array(image)
            index += 1
            try:
                image.seek(index)
            except EOFError:
                return


def _natural_key(name: str) -> list[int | str]:
    """'frame10.png' sorts after 'frame9.png'. Digits and text alternate, so lists compare."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _is_frame_name(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return (
        not base.startswith(".")  # macOS "._frame.png" resource forks, hidden files
        and "__MACOSX/" not in name
        and base.lower().endswith(FRAME_EXTENSIONS)
    )


def _decode_frame_file(fp: str | Path | BinaryIO, what: str, limits: _Limits) -> np.ndarray:
    with _open_image(fp) as image:
        limits.check_frame(*image.size, what=what)
        return _pil_to_array(image)


def _iter_folder_frames(folder: Path, limits: _Limits) -> Generator[np.ndarray, None, None]:
    cap = _FOLDER_ENTRIES_PER_FRAME * limits.max_frames + _ZIP_SLACK_ENTRIES
    names: list[str] = []
    with os.scandir(folder) as entries:
        for count, entry in enumerate(entries, 1):
            if count > cap:
                raise limits.error(
                    f"the folder holds more than {cap:,} files; that is not a clip's worth."
                )
            if _is_frame_name(entry.name) and entry.is_file():
                names.append(entry.name)
    if not names:
        raise limits.error("the folder contains no PNG or JPG frames.")
    for name in sorted(names, key=_natural_key):
        yield _decode_frame_file(folder / name, f"frame {name}", limits)


# --- ZIP of frames -----------------------------------------------------------------------------


def _open_zip(path: Path, limits: _Limits) -> zipfile.ZipFile:
    """Open a ZIP after checking its end record, so a huge central directory is never parsed.

    zipfile.ZipFile reads the whole central directory into ZipInfo objects; a few million
    entries would take seconds and gigabytes, so the entry count is checked first.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        tail_len = min(size, 22 + 0xFFFF)  # end record + the longest possible comment
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        raise limits.error("this is not a valid ZIP archive (it may be damaged or cut short).")
    _, _, _, _, entries, directory_bytes, _, _ = struct.unpack("<4s4H2LH", tail[pos:pos + 22])
    cap = limits.zip_entry_cap()
    if entries == 0xFFFF or entries > cap:  # 0xFFFF: ZIP64, i.e. 65535 or more files
        raise limits.error(
            f"the archive lists {'65,535 or more' if entries == 0xFFFF else f'{entries:,}'} "
            f"files; at most {cap:,} are accepted for a clip."
        )
    if directory_bytes > _ZIP_MAX_DIRECTORY_BYTES:
        raise limits.error("the archive's table of contents is far too large for a clip.")
    return zipfile.ZipFile(path)


def _check_zip_entry(info: zipfile.ZipInfo, read_so_far: int, limits: _Limits) -> None:
    """Refuse a ZIP bomb from the central directory's declared sizes, before decompressing.

    Called for each entry just before it is read, so entries after a cut are never judged
    (a long clip is cut like any other) and the running total bounds what is actually read.
    """
    per_file = _max_frame_bytes(limits)
    if info.flag_bits & 0x1:
        raise limits.error(f"{info.filename} is password-protected; use a plain ZIP.")
    if info.file_size > per_file:
        raise limits.error(
            f"{info.filename} unpacks to {info.file_size:,} bytes, more than any frame of the "
            "accepted size can need."
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > _ZIP_RATIO_FREE_BYTES and ratio > _ZIP_MAX_RATIO:
        raise limits.error(
            f"{info.filename} is compressed {ratio:,.0f} to 1, which real PNG/JPG frames never "
            "are (this looks like a 'ZIP bomb')."
        )
    if read_so_far + info.file_size > _ZIP_MAX_READ_BYTES:
        raise limits.error(
            f"its frames unpack to more than {_ZIP_MAX_READ_BYTES:,} bytes in total, more than "
            "a clip of the accepted size can need."
        )


def _iter_zip_frames(path: Path, limits: _Limits) -> Generator[np.ndarray, None, None]:
    with _open_zip(path, limits) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and _is_frame_name(i.filename)]
        if not infos:
            raise limits.error("the ZIP archive contains no PNG or JPG frames.")
        infos.sort(key=lambda i: _natural_key(i.filename))
        read_so_far = 0
        for info in infos:
            _check_zip_entry(info, read_so_far, limits)
            read_so_far += info.file_size
            with archive.open(info) as member:
                # read(n) with the declared size bounds memory even if the declaration lies
                # (zipfile stops there, and the CRC check at the end then fails).
                data = member.read(info.file_size)
                member.read(1)  # make sure the end (and so the CRC check) is reached
            yield _decode_frame_file(BytesIO(data), f"frame {info.filename}", limits)
            del data


# --- Video -------------------------------------------------------------------------------------


def _iter_video_frames(
    path: Path, demuxer: str, limits: _Limits
) -> Generator[np.ndarray, None, None]:
    """Frames of a video, decoded by an ffmpeg subprocess one at a time.

    imageio-ffmpeg's `read_frames` (what imageio's FFMPEG plugin uses underneath) yields the
    header metadata before any frame, from the same ffmpeg process, so the frame size is
    checked before decoding; closing the generator terminates ffmpeg.
    """
    reader = imageio_ffmpeg.read_frames(
        str(path),
        pix_fmt="rgb24",
        input_params=["-protocol_whitelist", "file", "-f", demuxer],
    )
    try:
        meta = next(reader)
        width, height = meta["size"]
        limits.check_frame(width, height, what="each video frame")
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


# --- NPY / NPZ -----------------------------------------------------------------------------------


def _check_array_header(shape: tuple[int, ...], dtype: np.dtype, limits: _Limits) -> None:
    """Refuse an array from its header alone (shape and dtype), before reading any data."""
    if dtype.hasobject or dtype.names is not None:
        raise limits.error("the array holds Python objects or records, not pixel values.")
    if not (dtype == np.uint8 or (dtype.kind == "f" and dtype.itemsize <= 8)):
        raise limits.error(
            f"the array's numbers are {dtype.name}; use uint8 (0-255) or float16, float32 or "
            "float64 (0-1)."
        )
    ok_channels = len(shape) == 3 or (len(shape) == 4 and shape[3] in (1, 3, 4))
    if not ok_channels:
        raise limits.error(
            f"the array has shape {tuple(shape)}; expected (frames, height, width) with "
            "optionally 1 (grey), 3 (RGB) or 4 (RGBA) channels last."
        )
    limits.check_frame(shape[2], shape[1], what="each frame")
    frame_bytes = _frame_bytes(shape, dtype)
    if frame_bytes > _max_frame_bytes(limits):
        raise limits.error(
            f"each frame is {shape[2]}x{shape[1]} pixels x {math.prod(shape[3:])} channel(s) of "
            f"{dtype.name}, {frame_bytes:,} bytes, too large to read safely; "
            "store it as uint8 or float32, in grey."
        )


def _frame_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return math.prod(shape[1:]) * dtype.itemsize


def _max_frame_bytes(limits: _Limits) -> int:
    """The most one frame file (or one frame of an array) may unpack to."""
    return _FRAME_FILE_BYTES_PER_PIXEL * limits.max_pixels + _FRAME_FILE_OVERHEAD


def _check_float_frame(frame: np.ndarray, index: int, limits: _Limits) -> np.ndarray:
    """Float frames must be finite and within [0, 1] give or take FLOAT_TOLERANCE."""
    if frame.dtype.kind != "f":
        return frame
    frame = np.asarray(frame)
    if not np.isfinite(frame).all():
        raise limits.error(
            f"frame {index + 1} contains NaN (not-a-number) or infinite values."
        )
    low, high = float(frame.min()), float(frame.max())
    if low < -FLOAT_TOLERANCE or high > 1 + FLOAT_TOLERANCE:
        raise limits.error(
            f"frame {index + 1} has values from {low:g} to {high:g}; decimal values must lie "
            "between 0 and 1 (divide 0-255 values by 255, or store them as uint8)."
        )
    return frame


def _iter_npy_frames(path: Path, limits: _Limits) -> Generator[np.ndarray, None, None]:
    # The header is checked by us first, so a non-NPY file or an object array gets our plain
    # message (np.load's would suggest unpickling, which we never do).
    with open(path, "rb") as fh:
        if fh.read(4) == b"PK\x03\x04":
            raise limits.error("this is an NPZ archive named .npy; rename it to .npz.")
        fh.seek(0)
        shape, _, dtype = _read_npy_header(fh, limits)
    _check_array_header(shape, dtype, limits)
    # mmap: frame i is read from disk only when it is sliced, so a cut skips the rest.
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    try:
        for index in range(array.shape[0]):
            yield _check_float_frame(array[index], index, limits)
    finally:
        del array  # drop the memory map promptly


def _read_npy_header(member: BinaryIO, limits: _Limits) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from an NPY header; the stream is left at the data."""
    if member.read(6) != np.lib.format.MAGIC_PREFIX:
        raise limits.error("this is not an NPY array file (it does not start like one).")
    version = (member.read(1)[0], member.read(1)[0])
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(member)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(member)
    raise limits.error(f"the array uses NPY format version {version}, which is not supported.")


def _iter_npz_frames(path: Path, limits: _Limits) -> Generator[np.ndarray, None, None]:
    """NPZ members are streamed: the header is parsed, then only the kept frames are read.

    (np.load on an NPZ would decompress the whole member, and ignores mmap_mode.)
    """
    with _open_zip(path, limits) as archive:
        members = [i for i in archive.infolist() if i.filename.endswith(".npy")]
        if not members:
            raise limits.error("the NPZ archive contains no arrays.")
        chosen = next((i for i in members if i.filename in ("clip.npy", "frames.npy")), members[0])
        with archive.open(chosen) as member:
            shape, fortran_order, dtype = _read_npy_header(member, limits)
            _check_array_header(shape, dtype, limits)
            frame_shape = shape[1:]
            frame_bytes = _frame_bytes(shape, dtype)
            if fortran_order:
                # Frame i is scattered through the whole file; read it all (bounded).
                total = frame_bytes * shape[0]
                if total > _NPZ_MAX_WHOLE_BYTES:
                    raise limits.error(
                        "the array is stored in column order (Fortran order) and is too large "
                        "to read whole; save it with np.ascontiguousarray(clip)."
                    )
                whole = _read_exact(member, total, limits)
                array = np.frombuffer(whole, dtype).reshape(shape, order="F")
                for index in range(shape[0]):
                    yield _check_float_frame(array[index], index, limits)
                return
            for index in range(shape[0]):
                # A compressed member can unpack to far more than the upload (zeros do); the
                # same total as a ZIP of frames bounds what is inflated.
                if (index + 1) * frame_bytes > _ZIP_MAX_READ_BYTES:
                    raise limits.error(
                        f"its frames unpack to more than {_ZIP_MAX_READ_BYTES:,} bytes in total, "
                        "more than a clip of the accepted size can need."
                    )
                raw = _read_exact(member, frame_bytes, limits)
                frame = np.frombuffer(raw, dtype).reshape(frame_shape)
                yield _check_float_frame(frame, index, limits)


def _read_exact(member: BinaryIO, size: int, limits: _Limits) -> bytes:
    data = member.read(size)
    if len(data) != size:
        raise limits.error("the array data ends early; the file is incomplete or damaged.")
    return data
