"""Reading and writing clips: round trips through every format, and every bad input refused.

The clip used throughout is a white 6x6 square moving right on black, so each frame's content
can be checked by where the square is (its centroid), not only by shape and dtype.
"""

import struct
import zipfile
import zlib
from io import BytesIO

import numpy as np
import pytest
from PIL import GifImagePlugin, Image

from frameprophet import io as fio
from frameprophet.io import decoders

T, H, W = 12, 40, 40


def square_clip(frames: int = T, height: int = H, width: int = W) -> np.ndarray:
    clip = np.zeros((frames, height, width, 1), np.float32)
    for t in range(frames):
        clip[t, 10:16, 2 + 2 * t:8 + 2 * t] = 1.0
    return clip


def centroid(frame: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(frame[..., 0] > 0.5)
    return rows.mean(), cols.mean()


def assert_square_moves(clip: np.ndarray, tol: float = 0.01) -> None:
    """Frame t of square_clip has its square centred at row 12.5, column 4.5 + 2t."""
    for t, frame in enumerate(clip):
        row, col = centroid(frame)
        assert abs(row - 12.5) <= tol and abs(col - (4.5 + 2 * t)) <= tol, (t, row, col)


def assert_clip_contract(clip: np.ndarray, shape: tuple) -> None:
    assert clip.shape == shape
    assert clip.dtype == np.float32
    assert clip.min() >= 0.0 and clip.max() <= 1.0


def save_png_frames(folder, clip, names=None):
    folder.mkdir(exist_ok=True)
    names = names or [f"frame{t + 1}.png" for t in range(len(clip))]
    for name, frame in zip(names, clip, strict=True):
        Image.fromarray((frame[..., 0] * 255).astype(np.uint8)).save(folder / name)
    return folder


def png_bytes(frame: np.ndarray) -> bytes:
    buf = BytesIO()
    Image.fromarray((frame[..., 0] * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def huge_png_bytes(width: int, height: int) -> bytes:
    """A real 8x8 PNG whose header (IHDR) claims width x height, with a valid checksum."""
    data = bytearray(png_bytes(np.zeros((8, 8, 1), np.float32)))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def expect_clip_error(path, *words, **kwargs) -> fio.ClipError:
    """read_clip must refuse, naming the file, saying what was wrong and what is accepted."""
    with pytest.raises(fio.ClipError) as info:
        fio.read_clip(path, **kwargs)
    message = str(info.value)
    assert message.startswith(getattr(path, "name", str(path)) + ":"), message
    assert fio.ACCEPTED_FORMATS in message, message
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    return info.value


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


def test_gif_round_trip_is_exact_and_keeps_every_frame(tmp_path):
    clip = square_clip()
    path = fio.write_gif(clip, tmp_path / "clip.gif", fps=5)
    with Image.open(path) as gif:
        assert gif.n_frames == T
        assert gif.info["duration"] == 200 and gif.info["loop"] == 0
    back = fio.read_clip(path)
    assert_clip_contract(back, (T, H, W, 1))
    assert np.array_equal(back, clip)  # grey levels map exactly to the grey palette
    assert_square_moves(back)


def test_gif_keeps_identical_consecutive_frames(tmp_path):
    # Pillow's own writer would merge these into 2 frames; a still stretch is still T frames.
    clip = square_clip()
    clip[1:6] = clip[0]
    path = fio.write_gif(clip, tmp_path / "still.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.n_frames == T
        durations = []
        for t in range(T):
            gif.seek(t)
            durations.append(gif.info["duration"])
    assert durations == [100] * T
    assert np.array_equal(fio.read_clip(path), clip)


def test_mp4_round_trip_upscaled_crisp_and_even(tmp_path):
    clip = square_clip()
    path = fio.write_mp4(clip, tmp_path / "clip.mp4", fps=5)
    raw = fio.read_clip(path)
    assert_clip_contract(raw, (T, 160, 160, 1))  # 40x40 enlarged 4x so players show it
    back = fio.read_clip(path, frame_size=(H, W))
    assert_clip_contract(back, (T, H, W, 1))
    assert np.abs(back - clip).mean() < 0.02  # lossy, but near-lossless at this quality
    assert_square_moves(back, tol=0.5)


def test_mp4_odd_sizes_are_padded_to_even(tmp_path):
    path = fio.write_mp4(square_clip(4, 45, 45), tmp_path / "odd.mp4")
    assert fio.read_clip(path).shape == (4, 136, 136, 1)  # 45 * 3 = 135, padded to 136


def test_npy_round_trips_float_and_uint8(tmp_path):
    clip = square_clip()
    fio.save_clip(clip, tmp_path / "clip.npy")
    back = fio.read_clip(tmp_path / "clip.npy")
    assert_clip_contract(back, (T, H, W, 1))
    assert np.array_equal(back, clip)

    np.save(tmp_path / "u8.npy", (clip[..., 0] * 255).astype(np.uint8))  # (T, H, W) uint8
    assert np.array_equal(fio.read_clip(tmp_path / "u8.npy"), clip)


def test_npy_tiny_float_overshoot_is_clipped(tmp_path):
    clip = square_clip() * 1.005 - 0.002
    np.save(tmp_path / "over.npy", clip)
    back = fio.read_clip(tmp_path / "over.npy")
    assert back.min() == 0.0 and back.max() == 1.0


def test_npz_uses_clip_or_frames_else_first_array(tmp_path):
    clip = square_clip()
    np.savez_compressed(tmp_path / "named.npz", labels=np.arange(3), clip=clip)
    assert np.array_equal(fio.read_clip(tmp_path / "named.npz"), clip)
    np.savez(tmp_path / "first.npz", (clip * 255).astype(np.uint8), np.zeros(2))
    assert np.array_equal(fio.read_clip(tmp_path / "first.npz"), clip)
    np.savez(tmp_path / "fortran.npz", frames=np.asfortranarray(clip))
    assert np.array_equal(fio.read_clip(tmp_path / "fortran.npz"), clip)


def test_zip_of_pngs_in_natural_order(tmp_path):
    clip = square_clip()
    path = tmp_path / "frames.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for t in reversed(range(T)):  # stored out of order; frame10 must follow frame9
            archive.writestr(f"clip/frame{t + 1}.png", png_bytes(clip[t]))
        archive.writestr("clip/readme.txt", "not a frame")
        archive.writestr("__MACOSX/clip/._frame1.png", b"junk")
    back = fio.read_clip(path)
    assert_clip_contract(back, (T, H, W, 1))
    assert np.array_equal(back, clip)


def test_folder_of_pngs_in_natural_order_ignoring_junk(tmp_path):
    clip = square_clip()
    folder = save_png_frames(tmp_path / "frames", clip)
    (folder / "notes.txt").write_text("hello")
    (folder / ".DS_Store").write_bytes(b"\0\0")
    (folder / "._frame1.png").write_bytes(b"mac resource fork")
    back = fio.read_clip(folder)
    assert np.array_equal(back, clip)
    assert_square_moves(back)


# --------------------------------------------------------------------------------------------
# Colour, alpha, resizing
# --------------------------------------------------------------------------------------------


def test_colour_gif_becomes_luminance(tmp_path):
    frames = np.zeros((3, 8, 9, 3), np.uint8)
    frames[:, :, 0:3] = (255, 0, 0)
    frames[:, :, 3:6] = (0, 255, 0)
    frames[:, :, 6:9] = (0, 0, 255)
    frames[1, 0, 0] = (255, 255, 255)
    frames[2] = 128  # a grey frame after colour ones must not borrow their palette
    path = fio.write_gif(frames, tmp_path / "colour.gif")
    back = fio.read_clip(path)
    assert back.shape == (3, 8, 9, 1)
    np.testing.assert_allclose(back[0, 4, [1, 4, 7], 0], [0.299, 0.587, 0.114], atol=1e-6)
    assert back[1, 0, 0, 0] == pytest.approx(1.0)
    np.testing.assert_allclose(back[2], 128 / 255, atol=1e-6)


def test_transparent_gif_and_png_are_composited_on_black(tmp_path):
    rgba = np.zeros((2, 10, 10, 4), np.uint8)
    rgba[:, :, :5] = (255, 255, 255, 255)  # left half opaque white, right half transparent
    rgba[1, 0, 0] = (0, 0, 0, 255)  # frames must differ, or Pillow's writer merges them
    images = [Image.fromarray(f) for f in rgba]
    images[0].save(tmp_path / "alpha.gif", save_all=True, append_images=images[1:], loop=0)
    gif = fio.read_clip(tmp_path / "alpha.gif")
    assert gif.shape == (2, 10, 10, 1)
    assert np.all(gif[0, :, :5] == 1.0) and np.all(gif[:, :, 5:] == 0.0)
    rgba[1, 0, 0] = (255, 255, 255, 255)

    rgba[:, :, 5:] = (255, 255, 255, 128)  # half-transparent white over black -> 128/255
    folder = tmp_path / "rgba"
    folder.mkdir()
    for t, frame in enumerate(rgba):
        Image.fromarray(frame).save(folder / f"{t}.png")
    png = fio.read_clip(folder)
    np.testing.assert_allclose(png[:, :, 5:], 128 / 255, atol=1e-6)
    assert np.all(png[:, :, :5] == 1.0)


def test_frame_size_keeps_aspect_and_pads_centred(tmp_path):
    wide = np.zeros((3, 20, 40, 1), np.float32)
    wide[:, 5:15, 10:30] = 1.0
    np.save(tmp_path / "wide.npy", wide)
    square = fio.read_clip(tmp_path / "wide.npy", frame_size=(40, 40))
    assert square.shape == (3, 40, 40, 1)
    assert np.all(square[:, :10] == 0) and np.all(square[:, 30:] == 0)  # black bars
    assert np.array_equal(square[:, 10:30], wide)  # same scale: content in the middle rows


def test_frame_size_shrinks_with_box_filter(tmp_path):
    big = np.zeros((2, 80, 160, 1), np.float32)
    big[:, 40:80, 0:80] = 1.0  # bottom-left quarter white
    big[:, 0, 1] = 1.0  # one thin pixel: a box filter averages it to 1/16, not 0 or 1
    np.save(tmp_path / "big.npy", big)
    small = fio.read_clip(tmp_path / "big.npy", frame_size=(40, 40))
    assert small.shape == (2, 40, 40, 1)
    content = small[:, 10:30]  # 80x160 -> 20x40, centred vertically
    assert np.all(small[:, :10] == 0) and np.all(small[:, 30:] == 0)
    np.testing.assert_allclose(content[:, 10:20, 0:20], 1.0, atol=1e-6)
    np.testing.assert_allclose(content[:, 0:10, 20:40], 0.0, atol=1e-6)
    assert content[0, 0, 0, 0] == pytest.approx(1 / 16, abs=1e-6)


# --------------------------------------------------------------------------------------------
# Limits: long clips are cut without decoding the rest
# --------------------------------------------------------------------------------------------


def test_long_npy_is_cut_to_max_frames(tmp_path):
    clip = np.random.default_rng(0).random((50, 8, 8, 1), dtype=np.float32)
    np.save(tmp_path / "long.npy", clip)
    back = fio.read_clip(tmp_path / "long.npy", max_frames=10)
    assert np.array_equal(back, clip[:10])


def test_10000_frame_npy_is_cut_without_reading_the_rest(tmp_path):
    path = tmp_path / "huge.npy"
    clip = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(10_000, 8, 8))
    clip[:] = 0.5
    clip[5000] = np.nan  # would be refused if anything past the cut were read
    clip.flush()
    del clip
    back = fio.read_clip(path)
    assert back.shape == (fio.MAX_FRAMES, 8, 8, 1)
    assert np.all(back == 0.5)


def test_long_gif_is_cut_and_later_frames_never_decoded(tmp_path, monkeypatch):
    clip = np.zeros((50, 16, 16, 1), np.float32)
    for t in range(50):
        clip[t, t % 16, :] = 1.0
    path = fio.write_gif(clip, tmp_path / "long.gif")

    seen: list[int] = []
    original = GifImagePlugin.GifImageFile._seek

    def counting_seek(self, frame, *args, **kwargs):
        seen.append(frame)
        return original(self, frame, *args, **kwargs)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "_seek", counting_seek)
    back = fio.read_clip(path, max_frames=10)
    assert np.array_equal(back, clip[:10])
    assert max(seen) == 9  # frames 10..49 were never even located, let alone decoded


def test_zip_with_more_frames_is_cut(tmp_path):
    clip = square_clip(15)
    path = tmp_path / "frames.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for t in range(15):
            archive.writestr(f"{t:03d}.png", png_bytes(clip[t]))
    assert np.array_equal(fio.read_clip(path, max_frames=10), clip[:10])


def test_total_pixel_budget_cuts_then_refuses(tmp_path):
    np.save(tmp_path / "clip.npy", square_clip(20, 16, 16))
    assert fio.read_clip(tmp_path / "clip.npy", max_total_pixels=16 * 16 * 5).shape[0] == 5
    expect_clip_error(tmp_path / "clip.npy", "16x16", "fewer than 2 frames",
                      max_total_pixels=16 * 16)


# --------------------------------------------------------------------------------------------
# Bad input: always ClipError, saying what was wrong and what is accepted
# --------------------------------------------------------------------------------------------


def test_clip_error_is_a_value_error_and_keeps_the_cause(tmp_path):
    path = tmp_path / "notes.gif"
    path.write_text("this is a shopping list, not a GIF\n" * 10)
    error = expect_clip_error(path, "could not be read as a GIF", "damaged")
    assert isinstance(error, ValueError)
    assert error.__cause__ is not None
    assert error.source == "notes.gif"
    assert str(tmp_path) not in str(error)  # only the file name, never the server's folder


@pytest.mark.parametrize("name", ["empty.gif", "empty.mp4", "empty.npy", "empty.zip"])
def test_empty_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    expect_clip_error(tmp_path / name, "the file is empty")


def test_missing_file_and_unknown_extension(tmp_path):
    expect_clip_error(tmp_path / "nowhere.gif", "does not exist")
    (tmp_path / "report.docx").write_bytes(b"PK\x03\x04 not really")
    error = expect_clip_error(tmp_path / "report.docx", '".docx"', "not supported")
    assert ".gif" in str(error) and ".mp4" in str(error) and ".npz" in str(error)


def test_truncated_gif(tmp_path):
    data = fio.write_gif(square_clip(), tmp_path / "full.gif").read_bytes()
    (tmp_path / "cut.gif").write_bytes(data[: len(data) * 6 // 10])
    expect_clip_error(tmp_path / "cut.gif", "damaged", "incomplete")


def test_truncated_and_fake_mp4(tmp_path):
    data = fio.write_mp4(square_clip(), tmp_path / "full.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    expect_clip_error(tmp_path / "cut.mp4", "could not be read as a video", "incomplete")
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(1).bytes(20_000))
    expect_clip_error(tmp_path / "noise.mp4", "could not be read as a video")


def test_video_frame_size_checked_from_header(tmp_path):
    path = fio.write_mp4(square_clip(4), tmp_path / "clip.mp4")  # 160x160 after upscaling
    expect_clip_error(path, "160x160", "too large", max_pixels=100 * 100)


def test_one_frame_clips(tmp_path):
    np.save(tmp_path / "one.npy", square_clip(1))
    expect_clip_error(tmp_path / "one.npy", "only 1 frame", "at least 2")
    fio.write_gif(square_clip(1), tmp_path / "one.gif")
    expect_clip_error(tmp_path / "one.gif", "only 1 frame")
    Image.new("L", (8, 8)).save(tmp_path / "still.png")
    expect_clip_error(tmp_path / "still.png", "only 1 frame")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_npy_with_nan_or_inf(tmp_path, bad):
    clip = square_clip()
    clip[3, 0, 0] = bad
    np.save(tmp_path / "bad.npy", clip)
    expect_clip_error(tmp_path / "bad.npy", "frame 4", "NaN")


def test_npy_floats_far_outside_0_1(tmp_path):
    np.save(tmp_path / "bytes.npy", square_clip() * 255)
    expect_clip_error(tmp_path / "bytes.npy", "between 0 and 1", "255")


@pytest.mark.parametrize(
    "shape, words",
    [((2, 3, 8, 8, 1), ["shape (2, 3, 8, 8, 1)"]),
     ((8, 8), ["shape (8, 8)"]),
     ((4, 8, 8, 2), ["shape (4, 8, 8, 2)"]),
     ((4, 0, 8), ["no pixels"])],
)
def test_npy_wrong_shapes(tmp_path, shape, words):
    np.save(tmp_path / "bad.npy", np.zeros(shape, np.float32))
    expect_clip_error(tmp_path / "bad.npy", *words)


def test_npy_wrong_dtypes_and_pickles_are_refused(tmp_path):
    np.save(tmp_path / "ints.npy", np.zeros((4, 8, 8), np.int64))
    expect_clip_error(tmp_path / "ints.npy", "int64", "uint8")
    objects = np.empty((4, 8, 8), dtype=object)
    np.save(tmp_path / "objects.npy", objects, allow_pickle=True)
    expect_clip_error(tmp_path / "objects.npy", "python objects")  # never unpickled
    (tmp_path / "words.npy").write_text("frame 1, frame 2, frame 3\n")
    expect_clip_error(tmp_path / "words.npy", "not an NPY array file")
    np.savez(tmp_path / "objects.npz", clip=objects)  # np.savez pickles object arrays
    expect_clip_error(tmp_path / "objects.npz", "python objects")


def test_npz_bombs_are_refused_before_they_inflate(tmp_path, monkeypatch):
    # float128 zeros: ~4 GiB unpacked from a small upload once; refused from the header.
    np.savez_compressed(tmp_path / "wide.npz", clip=np.zeros((4, 64, 64), np.longdouble))
    expect_clip_error(tmp_path / "wide.npz", np.dtype(np.longdouble).name, "float32")
    # A header that declares 512 MiB frames (float64 RGBA, 4096x4096): refused unread.
    header = BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (4, 4096, 4096, 4)})
    with zipfile.ZipFile(tmp_path / "big.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("clip.npy", header.getvalue() + bytes(1024))
    expect_clip_error(tmp_path / "big.npz", "536,870,912 bytes", "too large")
    # The running total of inflated frames is bounded like a ZIP of frames.
    monkeypatch.setattr(decoders, "_ZIP_MAX_READ_BYTES", 3 * 32 * 32 * 4)
    np.savez_compressed(tmp_path / "long.npz", clip=np.zeros((8, 32, 32), np.float32))
    expect_clip_error(tmp_path / "long.npz", "unpack to more than 12,288 bytes")


def test_truncated_npy_and_npz(tmp_path):
    np.save(tmp_path / "full.npy", square_clip())
    data = (tmp_path / "full.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) // 2])
    expect_clip_error(tmp_path / "cut.npy", "could not be read as an NPY array")
    np.savez(tmp_path / "full.npz", clip=square_clip())
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    expect_clip_error(tmp_path / "cut.npz", "not a valid ZIP")


def test_frames_of_different_sizes(tmp_path):
    folder = save_png_frames(tmp_path / "mixed", square_clip(3))
    Image.new("L", (50, 40)).save(folder / "frame4.png")
    expect_clip_error(folder, "frame 4 is 50x40", "same size")


def test_huge_png_header_refused_before_decoding(tmp_path):
    folder = save_png_frames(tmp_path / "frames", square_clip(3))
    (folder / "frame2.png").write_bytes(huge_png_bytes(8192, 8192))
    expect_clip_error(folder, "8192x8192", "too large")
    (tmp_path / "huge.png").write_bytes(huge_png_bytes(8192, 8192))
    expect_clip_error(tmp_path / "huge.png", "8192x8192")


def test_decompression_bomb_png_becomes_clip_error(tmp_path):
    # Beyond Pillow's own bomb limit Image.open itself refuses; that must become a ClipError too.
    (tmp_path / "bomb.png").write_bytes(huge_png_bytes(30_000, 30_000))
    error = expect_clip_error(tmp_path / "bomb.png", "too large", max_pixels=10**10)
    assert isinstance(error.__cause__, Image.DecompressionBombError)


def test_huge_gif_screen_refused_before_decoding(tmp_path):
    data = bytearray(fio.write_gif(square_clip(3), tmp_path / "small.gif").read_bytes())
    data[6:10] = struct.pack("<HH", 8192, 8192)  # logical screen size in the GIF header
    (tmp_path / "huge.gif").write_bytes(bytes(data))
    expect_clip_error(tmp_path / "huge.gif", "8192x8192", "too large")


def test_zip_bomb_refused_from_declared_sizes(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("frame1.png", png_bytes(square_clip(1)[0]))
        with archive.open("frame2.png", "w") as member:  # 32 MB of zeros, ~32 KB compressed
            zeros = bytes(1 << 20)
            for _ in range(32):
                member.write(zeros)
    expect_clip_error(path, "frame2.png", "ZIP bomb")


def test_zip_entry_larger_than_any_frame_refused(tmp_path):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("frame1.png", png_bytes(square_clip(1)[0]))
        archive.writestr("frame2.png", np.random.default_rng(2).bytes(2 << 20))
    expect_clip_error(path, "frame2.png", "unpacks to", max_pixels=64 * 64)


def test_zip_with_too_many_entries_refused_before_listing(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(201):
            archive.writestr(f"{i}.png", b"")
    expect_clip_error(path, "201 files", "at most 200", max_frames=10)


def test_zip_and_folder_without_images(tmp_path):
    with zipfile.ZipFile(tmp_path / "docs.zip", "w") as archive:
        archive.writestr("readme.txt", "no frames here")
    expect_clip_error(tmp_path / "docs.zip", "contains no PNG or JPG frames")
    (tmp_path / "empty_folder").mkdir()
    (tmp_path / "empty_folder" / "notes.txt").write_text("hi")
    expect_clip_error(tmp_path / "empty_folder", "folder contains no PNG or JPG frames")
    (tmp_path / "fake.zip").write_bytes(b"definitely not a zip archive")
    expect_clip_error(tmp_path / "fake.zip", "not a valid ZIP")


def test_bad_arguments_are_plain_value_errors(tmp_path):
    np.save(tmp_path / "clip.npy", square_clip())
    for kwargs in ({"max_frames": 1}, {"frame_size": (0, 10)}, {"frame_size": (10,)}):
        with pytest.raises(ValueError) as info:
            fio.read_clip(tmp_path / "clip.npy", **kwargs)
        assert not isinstance(info.value, fio.ClipError)


# --------------------------------------------------------------------------------------------
# Writing helpers
# --------------------------------------------------------------------------------------------


def test_to_uint8_rgb_accepts_clips_and_rgb_frames():
    clip = square_clip(2)
    rgb = fio.to_uint8_rgb(clip)
    assert rgb.shape == (2, H, W, 3) and rgb.dtype == np.uint8
    assert set(np.unique(rgb)) == {0, 255}
    assert np.array_equal(fio.to_uint8_rgb(clip[..., 0]), rgb)
    assert fio.to_uint8_rgb(rgb) is not None and np.array_equal(fio.to_uint8_rgb(rgb), rgb)
    assert fio.to_uint8_rgb(np.full((1, 2, 2), 0.5))[0, 0, 0, 0] == 128


@pytest.mark.parametrize(
    "bad, words",
    [(np.full((2, 4, 4, 1), np.nan, np.float32), "NaN"),
     (np.full((2, 4, 4, 1), 255.0), "0 to 1"),
     (np.zeros((4, 4)), "shape (4, 4)"),
     (np.zeros((2, 4, 4, 2)), "shape (2, 4, 4, 2)"),
     (np.zeros((2, 4, 4), np.int32), "int32")],
)
def test_writers_refuse_bad_clips(tmp_path, bad, words):
    with pytest.raises(fio.ClipError, match="Accepted for saving") as info:
        fio.write_gif(bad, tmp_path / "bad.gif")
    assert words in str(info.value)
    assert not (tmp_path / "bad.gif").exists()


def test_save_clip_dispatches_by_extension(tmp_path):
    clip = square_clip(4)
    for name in ("c.gif", "c.mp4", "c.npy"):
        path = fio.save_clip(clip, tmp_path / name)
        back = fio.read_clip(path, frame_size=(H, W))
        assert back.shape == (4, H, W, 1)
        assert_square_moves(back, tol=0.5)
    with pytest.raises(ValueError, match="gif"):
        fio.save_clip(clip, tmp_path / "c.avi")


def test_resize_clip_fits_and_pads_like_read_clip():
    clip = np.zeros((3, 20, 40, 1), np.float32)
    clip[:, 5:15, 10:20] = 1.0
    out = fio.resize_clip(clip, (40, 40))
    assert out.shape == (3, 40, 40, 1) and out.dtype == np.float32
    assert out[:, :10].max() == 0 and out[:, 30:].max() == 0          # padded rows
    assert out[:, 10:30].max() == 1.0                                  # content in the middle
    assert np.array_equal(fio.resize_clip(out, (40, 40)), out)
    with pytest.raises(ValueError):
        fio.resize_clip(np.zeros((3, 8, 8)), (4, 4))
