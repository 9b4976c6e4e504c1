"""One frame reader per container: Pillow (GIF, APNG, PNG/JPG), a folder or a ZIP of frames,
video through ffmpeg, NPY and NPZ arrays. `open_frames` picks one by the path's ending.

Each reader is a generator that checks a frame's declared size against `Limits` before decoding
it and decodes one frame at a time, so closing it early (a cut clip) leaves the rest unread.
"""

from __future__ import annotations

import math
import os
import re
import struct
import zipfile
from collections.abc import Generator
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import imageio_ffmpeg
import numpy as np
from PIL import Image, UnidentifiedImageError

from frameprophet.io.limits import (
    ARRAY_EXTENSIONS,
    FLOAT_TOLERANCE,
    FRAME_EXTENSIONS,
    PILLOW_EXTENSIONS,
    VIDEO_EXTENSIONS,
    ZIP_EXTENSIONS,
    Limits,
)

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


# ZIP safety: the central directory is checked before anything is decompressed.
_ZIP_MAX_DIRECTORY_BYTES = 16 * 1024 * 1024  # the central directory itself
_ZIP_MAX_RATIO = 100  # PNG/JPG are compressed already; a 100:1 entry is a bomb, not a frame
_ZIP_RATIO_FREE_BYTES = 1024 * 1024  # tiny entries may compress well, that is harmless
_ZIP_MAX_READ_BYTES = 1024 * 1024 * 1024  # uncompressed bytes of all frames we will read
# A frame (a PNG file, or one frame of an array) cannot legitimately be bigger than its raw
# 16-bit RGBA pixels (or float64 grey) plus some chunks.
_FRAME_FILE_BYTES_PER_PIXEL = 8
_FRAME_FILE_OVERHEAD = 1024 * 1024

# NPZ members stored in Fortran order cannot be cut frame by frame; read whole up to this size.
_NPZ_MAX_WHOLE_BYTES = 256 * 1024 * 1024


def open_frames(path: Path, limits: Limits) -> tuple[Generator[np.ndarray, None, None], str]:
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
        return _iter_video_frames(path, suffix, limits), "a video"
    if suffix == ".npy":
        return _iter_npy_frames(path, limits), "an NPY array"
    if suffix == ".npz":
        return _iter_npz_frames(path, limits), "an NPZ archive"
    return _iter_zip_frames(path, limits), "a ZIP of PNG/JPG frames"


def header_size_and_fps(path: Path, limits: Limits) -> tuple[list[int] | None, float | None]:
    """A file's frame size [W, H] and frames per second as its header declares them (None where
    it does not say), read as the readers read headers: nothing decoded. May raise what the
    decoders raise on a damaged file."""
    suffix = path.suffix.lower()
    if suffix in PILLOW_EXTENSIONS:
        with open_image(path) as image:
            duration = image.info.get("duration")        # ms per frame (GIF, APNG)
            return list(image.size), round(1000 / duration, 2) if duration else None
    if suffix in VIDEO_EXTENSIONS:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24",
                                            input_params=video_input_params(suffix))
        try:
            meta = next(reader)
        finally:
            reader.close()
        return list(meta["size"]), meta.get("fps")
    if suffix == ".npy":
        with open(path, "rb") as fh:
            shape = read_npy_header(fh, limits)[0]
        return ([int(shape[2]), int(shape[1])] if len(shape) >= 3 else None), None
    return None, None


def video_input_params(suffix: str) -> list[str]:
    """ffmpeg's input options for a video file: its demuxer forced from the ending, and only
    local files readable (see `_VIDEO_DEMUXERS`)."""
    return ["-protocol_whitelist", "file", "-f", _VIDEO_DEMUXERS[suffix]]


# --- Pillow: GIF, (A)PNG, JPG ----------------------------------------------------------------


def open_image(fp: str | Path | BinaryIO) -> Image.Image:
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


def _iter_pillow_frames(path: Path, limits: Limits) -> Generator[np.ndarray, None, None]:
    """Frames of a GIF / APNG / still image, decoded one at a time as they are requested."""
    with open_image(path) as image:
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


def _decode_frame_file(fp: str | Path | BinaryIO, what: str, limits: Limits) -> np.ndarray:
    try:
        image = open_image(fp)
    except UnidentifiedImageError as e:
        raise limits.error(f"{what} is not a PNG or JPG picture (it may be damaged).") from e
    with image:
        limits.check_frame(*image.size, what=what)
        return _pil_to_array(image)


def _iter_folder_frames(folder: Path, limits: Limits) -> Generator[np.ndarray, None, None]:
    cap = limits.entry_cap()
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


def _open_zip(path: Path, limits: Limits) -> zipfile.ZipFile:
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
    cap = limits.entry_cap()
    if entries == 0xFFFF or entries > cap:  # 0xFFFF: ZIP64, i.e. 65535 or more files
        raise limits.error(
            f"the archive lists {'65,535 or more' if entries == 0xFFFF else f'{entries:,}'} "
            f"files; at most {cap:,} are accepted for a clip."
        )
    if directory_bytes > _ZIP_MAX_DIRECTORY_BYTES:
        raise limits.error("the archive's table of contents is far too large for a clip.")
    return zipfile.ZipFile(path)


def _check_zip_entry(info: zipfile.ZipInfo, read_so_far: int, limits: Limits) -> None:
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


def _iter_zip_frames(path: Path, limits: Limits) -> Generator[np.ndarray, None, None]:
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
    path: Path, suffix: str, limits: Limits
) -> Generator[np.ndarray, None, None]:
    """Frames of a video, decoded by an ffmpeg subprocess one at a time.

    imageio-ffmpeg's `read_frames` (what imageio's FFMPEG plugin uses underneath) yields the
    header metadata before any frame, from the same ffmpeg process, so the frame size is
    checked before decoding; closing the generator terminates ffmpeg.
    """
    reader = imageio_ffmpeg.read_frames(
        str(path),
        pix_fmt="rgb24",
        input_params=video_input_params(path.suffix.lower()),
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


def _check_array_header(shape: tuple[int, ...], dtype: np.dtype, limits: Limits) -> None:
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


def _max_frame_bytes(limits: Limits) -> int:
    """The most one frame file (or one frame of an array) may unpack to."""
    return _FRAME_FILE_BYTES_PER_PIXEL * limits.max_pixels + _FRAME_FILE_OVERHEAD


def _check_float_frame(frame: np.ndarray, index: int, limits: Limits) -> np.ndarray:
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


def _iter_npy_frames(path: Path, limits: Limits) -> Generator[np.ndarray, None, None]:
    # The header is checked by us first, so a non-NPY file or an object array gets our plain
    # message (np.load's would suggest unpickling, which we never do).
    with open(path, "rb") as fh:
        if fh.read(4) == b"PK\x03\x04":
            raise limits.error("this is an NPZ archive named .npy; rename it to .npz.")
        fh.seek(0)
        shape, _, dtype = read_npy_header(fh, limits)
    _check_array_header(shape, dtype, limits)
    # mmap: frame i is read from disk only when it is sliced, so a cut skips the rest.
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    try:
        for index in range(array.shape[0]):
            yield _check_float_frame(array[index], index, limits)
    finally:
        del array  # drop the memory map promptly


def read_npy_header(member: BinaryIO, limits: Limits) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from an NPY header; the stream is left at the data."""
    if member.read(6) != np.lib.format.MAGIC_PREFIX:
        raise limits.error("this is not an NPY array file (it does not start like one).")
    version = (member.read(1)[0], member.read(1)[0])
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(member)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(member)
    raise limits.error(f"the array uses NPY format version {version}, which is not supported.")


def _iter_npz_frames(path: Path, limits: Limits) -> Generator[np.ndarray, None, None]:
    """NPZ members are streamed: the header is parsed, then only the kept frames are read.

    (np.load on an NPZ would decompress the whole member, and ignores mmap_mode.)
    """
    with _open_zip(path, limits) as archive:
        members = [i for i in archive.infolist() if i.filename.endswith(".npy")]
        if not members:
            raise limits.error("the NPZ archive contains no arrays.")
        chosen = next((i for i in members if i.filename in ("clip.npy", "frames.npy")), members[0])
        with archive.open(chosen) as member:
            shape, fortran_order, dtype = read_npy_header(member, limits)
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


def _read_exact(member: BinaryIO, size: int, limits: Limits) -> bytes:
    data = member.read(size)
    if len(data) != size:
        raise limits.error("the array data ends early; the file is incomplete or damaged.")
    return data
