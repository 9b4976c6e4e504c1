"""Reading clips from untrusted files: `read_clip`, and the conversion of decoded frames to the
data contract (grey or colour, fitted to a frame size).

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
The limits and refusals live in `frameprophet.io.limits`, one reader per container in
`frameprophet.io.decoders`; this module reads a clip through them and converts its frames.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from frameprophet.io.decoders import header_size_and_fps, open_frames
from frameprophet.io.limits import (
    DECODER_ERRORS,
    MAX_FRAMES,
    MAX_PIXELS,
    MAX_TOTAL_PIXELS,
    MIN_FRAMES,
    ClipError,
    Limits,
    damaged_text,
)

log = logging.getLogger(__name__)

#: ITU-R 601 luminance weights of R, G and B: how every grey frame is made from a colour one.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def read_clip(path: str | os.PathLike, frame_size: tuple[int, int] | None = None,
              **options) -> np.ndarray:
    """Read a clip from a file or folder as float32 (T, H, W, `channels`) in [0, 1].

    `read_clip_with_notes` does the same and also says what was changed on the way (cut, colour
    dropped); this is `read_clip_with_notes(...)[0]`, and `options` are its keywords
    (`max_frames`, `max_pixels`, `max_total_pixels`, `channels`). Everything below applies to
    both.

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

    With `channels=1` (the default) colour becomes grey with the luminance weights `LUMA`
    (0.299 R + 0.587 G + 0.114 B); with `channels=3` colour is kept and grey files become three
    equal channels.
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
    return read_clip_with_notes(path, frame_size, **options)[0]


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
    limits = Limits(max_frames, max_pixels, max_total_pixels, path.name or str(path))
    frames: Generator[np.ndarray, None, None] | None = None
    kind = "a clip"
    try:
        frames, kind = open_frames(path, limits)
        notes: list[str] = []
        return _collect(frames, frame_size, limits, notes, channels), notes
    except ClipError:
        raise
    except DECODER_ERRORS as exc:
        raise limits.error(damaged_text(kind, exc, path)) from exc
    finally:
        if frames is not None:
            frames.close()  # stops the decoder (closes files, ends ffmpeg) even after a cut


def clip_info(path: str | os.PathLike) -> dict:
    """What a file's header says of its frames, for a person: `{"size": [W, H] or None,
    "fps": float or None}`, read as `read_clip` reads headers (nothing decoded, the same
    allowed formats and ffmpeg options). Never raises: what cannot be known is None."""
    path = Path(path)
    try:
        size, fps = header_size_and_fps(path, Limits(MAX_FRAMES, MAX_PIXELS, 1, path.name))
    except (ClipError, *DECODER_ERRORS):
        size, fps = None, None
    return {"size": size, "fps": fps}


def _collect(
    frames: Iterator[np.ndarray], frame_size: tuple[int, int] | None, limits: Limits,
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
        notes.append("colour dropped: the chosen model reads grey frames (luminance), "
                     "a colour model such as natural keeps the colour")
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
        gray = frame[..., 0] * (LUMA[0] * scale)
        gray += frame[..., 1] * (LUMA[1] * scale)
        gray += frame[..., 2] * (LUMA[2] * scale)
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
