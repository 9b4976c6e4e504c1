"""Clips in and out of files: `read` (untrusted uploads, with safety limits) and `write`.

    clip = read_clip("upload.mp4", frame_size=(64, 64))    # float32 (T, 64, 64, 1) in [0, 1]
    colour = read_clip("upload.mp4", channels=3)           # float32 (T, H, W, 3)
    write_gif(clip, "clip.gif"); write_mp4(clip, "clip.mp4")
"""

from frameprophet.io.limits import (
    ACCEPTED,
    ACCEPTED_FORMATS,
    ARRAY_EXTENSIONS,
    FLOAT_TOLERANCE,
    MAX_FRAMES,
    MAX_PIXELS,
    MAX_TOTAL_PIXELS,
    MIN_FRAMES,
    PILLOW_EXTENSIONS,
    VIDEO_EXTENSIONS,
    ZIP_EXTENSIONS,
    ClipError,
)
from frameprophet.io.read import LUMA, clip_info, read_clip, read_clip_with_notes, resize_clip
from frameprophet.io.write import (
    WRITE_ACCEPTED,
    WRITERS,
    save_clip,
    to_uint8_rgb,
    write_gif,
    write_mp4,
    write_npy,
    writer_for,
)

__all__ = ["ACCEPTED", "ACCEPTED_FORMATS", "ARRAY_EXTENSIONS", "FLOAT_TOLERANCE", "LUMA",
           "MAX_FRAMES", "MAX_PIXELS", "MAX_TOTAL_PIXELS", "MIN_FRAMES", "PILLOW_EXTENSIONS",
           "VIDEO_EXTENSIONS", "WRITERS", "WRITE_ACCEPTED", "ZIP_EXTENSIONS", "ClipError",
           "clip_info", "read_clip", "read_clip_with_notes", "resize_clip", "save_clip",
           "to_uint8_rgb", "write_gif", "write_mp4", "write_npy", "writer_for"]
