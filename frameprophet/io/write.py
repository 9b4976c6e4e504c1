"""Writing clips: animated GIF, MP4 and NPY files from the clip contract (or RGB frames).

`to_uint8_rgb` is the conversion both writers share (and that refuses values outside [0, 1]).
The GIF writer is hand-written on Pillow because it measured ~6x faster than per-frame
quantization (one max-coverage palette per colour animation, see `_shared_palette`); MP4 goes
through imageio-ffmpeg.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import GifImagePlugin, Image

from frameprophet.io.limits import FLOAT_TOLERANCE, ClipError

WRITE_ACCEPTED = (
    "Accepted for saving: a clip of grey frames shaped (frames, height, width) or "
    "(frames, height, width, 1) with values from 0 to 1, or colour frames shaped "
    "(frames, height, width, 3) as 0-255 whole numbers (uint8)."
)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def to_uint8_rgb(clip: np.ndarray) -> np.ndarray:
    """A clip or frames -> uint8 RGB frames (T, H, W, 3), the input both writers need.

    Accepts float (T, H, W) / (T, H, W, 1) / (T, H, W, 3) in [0, 1] (overshoot up to
    FLOAT_TOLERANCE is clipped), uint8 with 1 or 3 channels, or bool. RGBA is composited on
    black. Raises ClipError for anything else (NaN, values like 0..255 stored as float, ...).
    """
    frames = np.asarray(clip)

    def refuse(problem: str) -> ClipError:
        return ClipError(problem, accepted=WRITE_ACCEPTED)

    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3, 4):
        raise refuse(f"cannot save an array of shape {frames.shape}.")
    if min(frames.shape[:3]) < 1:
        raise refuse(f"cannot save an empty clip (shape {frames.shape}).")
    if frames.dtype == np.bool_:
        frames = frames.astype(np.uint8) * np.uint8(255)
    elif frames.dtype.kind == "f":
        if not np.isfinite(frames).all():
            raise refuse("the clip contains NaN (not-a-number) or infinite values.")
        low, high = float(frames.min()), float(frames.max())
        if low < -FLOAT_TOLERANCE or high > 1 + FLOAT_TOLERANCE:
            raise refuse(f"the clip's values go from {low:g} to {high:g}, not 0 to 1.")
        frames = np.rint(np.clip(frames, 0.0, 1.0) * 255).astype(np.uint8)
    elif frames.dtype != np.uint8:
        raise refuse(f"cannot save numbers of type {frames.dtype.name}.")
    if frames.shape[-1] == 4:  # composite on black, like the reader
        alpha = frames[..., 3:].astype(np.uint16)
        frames = ((frames[..., :3] * alpha + 127) // 255).astype(np.uint8)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    return np.ascontiguousarray(frames)


def _check_fps(fps: float) -> float:
    value = float(fps)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    return value


_GRAY_PALETTE = bytes(np.repeat(np.arange(256, dtype=np.uint8), 3))


def _is_grey(rgb: np.ndarray) -> bool:
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def _shared_palette(frames: np.ndarray, samples: int = 5) -> Image.Image:
    """One 256-colour palette for a whole colour animation, from a few frames spread over it.

    Quantizing every frame on its own (median cut) cost ~25 ms a frame for our side-by-side
    frames; max-coverage on a mosaic of 5 frames, then a cheap remap per frame, is ~6x faster
    with a smaller worst-case colour error, and the colours no longer flicker between frames.
    Every second pixel of every second row is enough: 2.7x faster again, and on a side-by-side
    GIF the mean colour error went down (2.1 -> 0.9 of 255; the worst stayed 39).
    """
    picks = np.unique(np.linspace(0, len(frames) - 1, min(samples, len(frames))).round())
    mosaic = np.concatenate([frames[int(i)][::2, ::2] for i in picks], axis=0)
    return Image.fromarray(mosaic).quantize(256, method=Image.Quantize.MAXCOVERAGE,
                                            dither=Image.Dither.NONE)


def _gif_frame(rgb: np.ndarray, palette: Image.Image | None) -> tuple[Image.Image, bool]:
    """One RGB frame -> palette image. Grey frames map exactly to a 256-grey palette.

    Returns (image, needs_own_palette): colour frames are mapped to `palette` and carry it as
    their local colour table.
    """
    if palette is None or _is_grey(rgb):
        image = Image.frombytes("P", (rgb.shape[1], rgb.shape[0]), rgb[..., 0].tobytes())
        image.putpalette(_GRAY_PALETTE)
        return image, False
    return Image.fromarray(rgb).quantize(palette=palette, dither=Image.Dither.NONE), True


def write_gif(clip_or_frames: np.ndarray, path: str | os.PathLike, fps: float = 5,
              loop: int = 0) -> Path:
    """Write an animated GIF that keeps EVERY frame; returns the path.

    Pillow's `save(save_all=True)` silently merges identical consecutive frames (it adds their
    durations together), which would change the frame count of a clip where nothing moves for a
    step. So the GIF is assembled here from Pillow's documented per-frame encoder
    (`GifImagePlugin.getheader` / `getdata`): one image block per frame, always.

    Args:
        clip_or_frames: float clip (T, H, W[, 1]) in [0, 1] or uint8 RGB frames (T, H, W, 3).
        fps: frames per second. GIF stores delays in 1/100 s, so it is rounded to that, and
            delays under 2/100 s are raised to 2/100 s (browsers slow faster GIFs down a lot).
        loop: how many times to play; 0 = forever.
    """
    frames = to_uint8_rgb(clip_or_frames)
    fps = _check_fps(fps)
    if not 0 <= int(loop) <= 0xFFFF:
        raise ValueError(f"loop must be 0 (forever) to 65535, got {loop}")
    if max(frames.shape[1:3]) > 0xFFFF:
        raise ClipError("frames wider or taller than 65535 pixels cannot be a GIF.",
                        accepted=WRITE_ACCEPTED)
    duration_ms = max(2, round(100 / fps)) * 10
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The global palette is always the 256 greys: grey frames (our clips) use it exactly, colour
    # frames carry their own local palette.
    canvas = Image.new("P", (frames.shape[2], frames.shape[1]))
    canvas.putpalette(_GRAY_PALETTE)
    header, _ = GifImagePlugin.getheader(canvas, info={"loop": int(loop),
                                                       "duration": duration_ms})
    with open(path, "wb") as fh:
        fh.writelines(header)
        palette = None if all(_is_grey(rgb) for rgb in frames) else _shared_palette(frames)
        for rgb in frames:
            image, own_palette = _gif_frame(rgb, palette)
            # disposal=1 ("leave in place"): every frame covers the whole canvas anyway.
            fh.writelines(GifImagePlugin.getdata(
                image, duration=duration_ms, disposal=1, include_color_table=own_palette))
        fh.write(b";")  # GIF trailer
    return path


MIN_VIDEO_SIDE = 128  # tiny clips are scaled up by a whole factor so players show them crisply
MAX_VIDEO_SIDE = 1920


def write_mp4(clip_or_frames: np.ndarray, path: str | os.PathLike, fps: float = 5) -> Path:
    """Write an H.264 MP4 (yuv420p, plays in browsers) via imageio-ffmpeg; returns the path.

    Small frames are enlarged by a whole-number factor with nearest-neighbour (e.g. 40x40 -> 160x
    160), so pixels stay crisp instead of being smeared by the player and by yuv420p's half-
    resolution colour; the longer side stays at most 1920 px. yuv420p also needs even width and
    height, so one black row/column is added where needed (rather than letting imageio rescale
    to multiples of 16, which would blur).
    """
    frames = to_uint8_rgb(clip_or_frames)
    fps = _check_fps(fps)
    _, h, w, _ = frames.shape
    factor = max(1, math.ceil(MIN_VIDEO_SIDE / min(h, w)))
    while factor > 1 and max(h, w) * factor > MAX_VIDEO_SIDE:
        factor -= 1
    if factor > 1:
        frames = frames.repeat(factor, axis=1).repeat(factor, axis=2)
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (frames.shape[2], frames.shape[1]),
        fps=fps,
        codec="libx264",
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        quality=8,  # -> x264 CRF 10: near-lossless for these simple frames, still small
        macro_block_size=2,  # sizes are already even; 16 would make imageio rescale (blur)
        ffmpeg_log_level="error",
    )
    writer.send(None)  # start ffmpeg
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()
    return path


def write_npy(clip: np.ndarray, path: str | os.PathLike, fps: float | None = None) -> Path:
    """Write a clip as float32 (T, H, W, C) `.npy` (uint8 frames are scaled to [0, 1]); `fps` is
    accepted for the writers' common signature and not stored."""
    path = Path(path)
    frames = np.asarray(clip)
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3):
        raise ClipError(f"an NPY clip must be (T, H, W, 1) or (T, H, W, 3), got shape "
                        f"{frames.shape}.", accepted=WRITE_ACCEPTED)
    if frames.dtype == np.uint8:
        frames = frames / np.float32(255)
    to_uint8_rgb(frames)  # same validation as the other writers (finite, within [0, 1])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.clip(frames, 0, 1).astype(np.float32), allow_pickle=False)
    return path


#: The clip writers by file ending: the one table `save_clip` and the CLI's `--out` choose from.
WRITERS = {".gif": write_gif, ".mp4": write_mp4, ".npy": write_npy}


def writer_for(path: str | os.PathLike, endings: tuple[str, ...] = tuple(WRITERS),
               what: str = "save_clip's path") -> Callable[..., Path]:
    """The writer for `path`'s ending among `endings`; any other is refused in one sentence,
    before any work is done. `what` names the path in that sentence."""
    suffix = Path(path).suffix.lower()
    if suffix not in endings:
        raise ValueError(f"{what} must end in {' or '.join(endings)}, got {str(path)!r}")
    return WRITERS[suffix]


def save_clip(clip: np.ndarray, path: str | os.PathLike, fps: float = 5) -> Path:
    """Save by extension: .gif (`write_gif`), .mp4 (`write_mp4`) or .npy (`write_npy`)."""
    return writer_for(path)(clip, path, fps=fps)
