"""Pictures in motion: the `natural` world, colour clips made on the fly from still pictures.

Ordinary footage is mostly a camera moving over a scene, or things moving in front of a still
one. Each clip here is one of those, drawn from the pictures in `frameprophet/pictures/` (sample
pictures that ship with scikit-image, scikit-learn and matplotlib; their sources and licences
are in `pictures/SOURCES.md`):

- a background picture, seen through a camera that is still, pans, zooms or turns a little,
  with smooth acceleration; speeds from none to fast (`speed`, px per frame at 64x64);
- 0 to 3 cut-outs (soft-edged shapes cut from other pictures) moving in front of it: they
  translate, grow or shrink, turn a little, occlude each other, enter and leave the frame;
- often a still camera, some scenes swaying in place (leaves, water), slow lighting drift,
  sensor noise, a soft (compression) blur, colour casts, and black letterbox bars like those
  of an upload fitted into a square frame;
- in training clips, now and then a cut, as edited footage has: the first frames show another
  scene, so a model learns to continue the scene after the cut and forget the one before it.
  The cut falls in the first half of the clip (the frames a model reads), never in the half it
  must predict. Test clips have none unless asked (`cuts=`), so held-out scores stay comparable.

Train and test are split by source picture (`TEST_PICTURES`): a test clip never shows a
training picture, and no video file is ever used, so real footage stays an honest test.
A clip is float32 (T, 64, 64, 3) in [0, 1]; the same seed gives the same clips. Plain NumPy.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

PICTURES_DIR = Path(__file__).parent / "pictures"
#: Held out by picture: never in a training clip, only in test and selection clips.
TEST_PICTURES = ("coffee", "flower", "gravel", "coins")
SIZE = 64
#: The fastest camera pan and cut-out, px per frame at 64x64 (a default clip draws up to it).
MAX_SPEED = 6.0
MAX_CUTOUTS = 3
#: Share of the default mix's training clips that open with another scene (`natural_clips`).
CUT_SHARE = 0.15


def pictures(split: str = "train") -> list[str]:
    """The picture names of a split: "train", "test" (`TEST_PICTURES`) or "all"."""
    names = sorted(p.stem for p in PICTURES_DIR.glob("*.jpg"))
    if split == "all":
        return names
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return [n for n in names if (n in TEST_PICTURES) == (split == "test")]


@cache
def pyramid(name: str) -> tuple[np.ndarray, ...]:
    """A picture as float32 RGB in [0, 1], and its 2x, 4x, 8x box-filtered reductions: a view
    that shrinks the picture samples the level that keeps it from aliasing (shimmer)."""
    from PIL import Image

    with Image.open(PICTURES_DIR / f"{name}.jpg") as image:
        levels = [np.asarray(image.convert("RGB"), np.float32) / 255.0]
    while min(levels[-1].shape[:2]) >= 64 and len(levels) < 4:
        a = levels[-1]
        h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
        levels.append(a[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean((1, 3)))
    return tuple(levels)


def _sample(levels: tuple[np.ndarray, ...], scale: float, y: np.ndarray, x: np.ndarray
            ) -> np.ndarray:
    """Bilinear samples at picture coordinates (y, x) (level 0 pixels), mirrored at the edges,
    from the pyramid level that suits `scale` picture pixels per output pixel."""
    level = int(np.clip(np.floor(np.log2(max(scale, 1.0))), 0, len(levels) - 1))
    image = levels[level]
    h, w = image.shape[:2]
    y, x = y / 2**level, x / 2**level
    y = np.abs((y + h) % (2 * h) - h)          # mirror: ...cba|abc|cba...
    x = np.abs((x + w) % (2 * w) - w)
    y, x = np.clip(y, 0, h - 1.001), np.clip(x, 0, w - 1.001)
    y0, x0 = y.astype(np.int32), x.astype(np.int32)
    fy, fx = (y - y0)[..., None], (x - x0)[..., None]
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _motion(rng: np.random.Generator, frames: int, speed: float, still: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth path: positions (T, 2) in output pixels from 0, log-scale (T,) and angle (T,)."""
    t = np.arange(frames, dtype=np.float32)
    if still:
        return np.zeros((frames, 2), np.float32), np.zeros(frames), np.zeros(frames)
    direction = rng.uniform(0, 2 * np.pi)
    velocity = speed * np.array([np.sin(direction), np.cos(direction)])
    accel = rng.normal(0, 0.03 * (1 + speed), 2) * (rng.random() < 0.5)
    position = t[:, None] * velocity + 0.5 * t[:, None] ** 2 * accel
    zoom = rng.uniform(-0.02, 0.02) * (rng.random() < 0.35)
    turn = np.radians(rng.uniform(-1.2, 1.2)) * (rng.random() < 0.3)
    return position.astype(np.float32), zoom * t, turn * t


def _frame_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.arange(size, dtype=np.float32) - (size - 1) / 2
    return np.meshgrid(g, g, indexing="ij")


def _sway(rng, frames: int, size: int) -> np.ndarray:
    """Local motion that goes nowhere (leaves, water, a flag): a smooth displacement field
    (T, size, size, 2) in output px, each place oscillating with its own phase, up to ~2 px,
    in a soft region that covers part or all of the frame."""
    coarse = 5
    def smooth(a):                     # coarse random field -> size x size, bilinear
        return np.asarray(_sample((a[..., None].repeat(3, -1),), 1.0,
                                  *np.meshgrid(np.linspace(0, coarse - 1.01, size),
                                               np.linspace(0, coarse - 1.01, size),
                                               indexing="ij"))[..., 0])
    amplitude = rng.uniform(0.4, 2.0) * smooth(rng.random((coarse, coarse)))
    if rng.random() < 0.6:                                   # only part of the scene sways
        amplitude = amplitude * np.clip(3 * smooth(rng.random((coarse, coarse))) - 1, 0, 1)
    phase = 2 * np.pi * smooth(rng.random((coarse, coarse))) * rng.uniform(1, 3)
    direction = rng.uniform(0, 2 * np.pi) + smooth(rng.random((coarse, coarse)))
    omega = rng.uniform(0.3, 1.2)                            # radians per frame
    t = np.arange(frames, dtype=np.float32)[:, None, None]
    wave = amplitude * np.sin(omega * t + phase)
    return np.stack([wave * np.sin(direction), wave * np.cos(direction)], -1).astype(np.float32)


def _view(levels, size: int, rng, path, scale: float | None = None,
          sway: np.ndarray | None = None) -> np.ndarray:
    """The background seen through a camera on `path` (shifts (T, 2) in output px, log-zoom,
    angle): (T, size, size, 3), each place displaced by `sway` (T, size, size, 2) output px
    if given. Unless given, the scale (picture px per output px) is drawn so that the whole
    path stays inside the picture (mirrored edges only in a corner), and the view is placed
    at random along it."""
    h, w = levels[0].shape[:2]
    shift, log_zoom, angle = path
    frames = len(shift)
    low, high = shift.min(0), shift.max(0)
    if scale is None:
        span = size * 1.1 + (high - low)                 # output px the path covers, per axis
        fit = min(h / span[0], w / span[1])
        scale = rng.uniform(min(0.6, fit), max(min(0.6, fit), min(fit, 4.0)))
    margin = scale * size * 0.55
    lo, hi = margin - scale * low, np.array([h, w]) - margin - scale * high
    centre = rng.uniform(lo, np.maximum(lo, hi))
    gy, gx = _frame_grid(size)
    out = np.empty((frames, size, size, 3), np.float32)
    for t in range(frames):
        s = scale * np.exp(log_zoom[t])
        c, n = np.cos(angle[t]), np.sin(angle[t])
        y = centre[0] + scale * shift[t, 0] + s * (c * gy - n * gx)
        x = centre[1] + scale * shift[t, 1] + s * (n * gy + c * gx)
        if sway is not None:
            y, x = y + s * sway[t, ..., 0], x + s * sway[t, ..., 1]
        out[t] = _sample(levels, s, y, x)
    return out


def _cutout(frames_: np.ndarray, levels, rng, speed: float) -> None:
    """Paste one soft-edged shape cut from `levels`, moving across `frames_` (in place)."""
    frames, size = frames_.shape[0], frames_.shape[1]
    radius = rng.uniform(5, 18, 2)                                   # ellipse half-axes, px
    shape_power = rng.choice([2.0, 4.0])                             # ellipse or rounded box
    start = rng.uniform(-radius.max(), size + radius.max(), 2)       # may start outside
    step, log_scale, angle = _motion(rng, frames, rng.uniform(0.3, 1.0) * speed, False)
    spin = rng.uniform(0, np.pi)
    h, w = levels[0].shape[:2]
    source = np.array([rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w])
    texture_scale = rng.uniform(0.7, 2.5)
    gy, gx = _frame_grid(size)
    gy, gx = gy + (size - 1) / 2, gx + (size - 1) / 2
    for t in range(frames):
        s = np.exp(log_scale[t])
        c, n = np.cos(angle[t] + spin), np.sin(angle[t] + spin)
        dy, dx = gy - (start[0] + step[t, 0]), gx - (start[1] + step[t, 1])
        u, v = (c * dy + n * dx) / s, (-n * dy + c * dx) / s       # shape coordinates
        r = (np.abs(u / radius[0]) ** shape_power + np.abs(v / radius[1]) ** shape_power)
        edge = 1.0 / min(radius)                                     # ~1 px soft edge
        mask = np.clip((1 - r ** (1 / shape_power)) / edge, 0, 1)[..., None]
        if mask.max() == 0:
            continue
        tex = _sample(levels, texture_scale, source[0] + texture_scale * u,
                      source[1] + texture_scale * v)
        frames_[t] = frames_[t] * (1 - mask) + tex * mask


def _camera_effects(clip: np.ndarray, rng) -> np.ndarray:
    """Colour cast, lighting drift, soft blur, sensor noise, letterbox: what cameras add."""
    frames, size = clip.shape[:2]
    clip = clip * rng.uniform(0.8, 1.2, 3).astype(np.float32)                 # colour cast
    if rng.random() < 0.3:                                                    # lighting drift
        clip = clip * (1 + rng.uniform(-0.012, 0.012) * np.arange(frames))[:, None, None, None]
    if rng.random() < 0.3:                                                    # soft blur
        padded = np.pad(clip, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        box = sum(padded[:, i:i + size, j:j + size] for i in range(3) for j in range(3)) / 9
        amount = rng.uniform(0.2, 0.8)
        clip = clip * (1 - amount) + box * amount
    if rng.random() < 0.5:                                                    # sensor noise
        clip = clip + rng.normal(0, rng.uniform(0.003, 0.015), clip.shape).astype(np.float32)
    if rng.random() < 0.25:                                   # an upload's black bars
        bar = int(rng.integers(4, 16))
        if rng.random() < 0.7:
            clip[:, :bar], clip[:, size - bar:] = 0, 0
        else:
            clip[:, :, :bar], clip[:, :, size - bar:] = 0, 0
    return np.clip(clip, 0, 1)


def natural_clips(n: int, frames: int = 20, seed: int | None = None, split: str = "train",
                  speed: float | None = None, cutouts: int | None = None, size: int = SIZE,
                  effects: bool = True, cuts: float | None = None) -> np.ndarray:
    """`n` clips of pictures in motion, float32 (n, frames, size, size, 3) in [0, 1].

    `split` picks the pictures ("train", or "test": held-out pictures only). `speed` fixes
    the camera's pan in px per frame (default: none to `MAX_SPEED` at random, slow ones more
    often, two fifths of the clips with the camera at rest as most footage is; some slow
    scenes sway in place like leaves or water); `cutouts` fixes the number of moving cut-outs
    (default 0 to 3); `effects=False` leaves out what cameras add (noise, drift, blur, colour
    cast, bars). `cuts` is the share of clips whose first 1 to frames/2 - 1 frames show
    another scene (default `CUT_SHARE` of the training clips of the default mix, none in test
    clips or when `speed` is fixed).
    """
    if n < 0 or frames < 1:
        raise ValueError(f"need n >= 0 and frames >= 1, got n={n}, frames={frames}")
    if speed is not None and not 0 <= speed <= 2 * MAX_SPEED:
        raise ValueError(f"speed must be 0 to {2 * MAX_SPEED:g} px per frame, got {speed}")
    if cutouts is not None and not 0 <= cutouts <= MAX_CUTOUTS:
        raise ValueError(f"cut-outs must be 0 to {MAX_CUTOUTS}, got {cutouts}")
    if cuts is not None and not 0 <= cuts <= 1:
        raise ValueError(f"cuts is a share of the clips, 0 to 1, got {cuts}")
    if cuts is None:           # training clips only: the held-out world stays as it was scored
        cuts = CUT_SHARE if speed is None and split == "train" else 0.0
    names = pictures(split)
    rng = np.random.default_rng(seed)
    # The cuts draw from their own stream: a seed's clips are the same with or without them,
    # but for the first frames of a clip with a cut.
    cut_rng = rng.spawn(1)[0]
    out = np.empty((n, frames, size, size, 3), np.float32)
    for i in range(n):
        out[i] = _scene(rng, names, frames, size, speed, cutouts, effects)
        if frames >= 4 and cut_rng.random() < cuts:
            cut = int(cut_rng.integers(1, frames // 2))   # the first frame after the cut
            out[i, :cut] = _scene(cut_rng, names, cut, size, speed, cutouts, effects)
    return out


def _scene(rng, names, frames: int, size: int, speed: float | None, cutouts: int | None,
           effects: bool) -> np.ndarray:
    """One shot of `natural_clips`: a picture through a camera, cut-outs, what cameras add."""
    still = speed == 0 if speed is not None else rng.random() < 0.4   # camera at rest
    pan = speed if speed is not None else MAX_SPEED * rng.random() ** 2
    swaying = speed is None and pan < 2 and rng.random() < 0.35
    sway = _sway(rng, frames, size) if swaying else None
    clip = _view(pyramid(rng.choice(names)), size, rng, _motion(rng, frames, pan, still),
                 sway=sway)
    k = cutouts if cutouts is not None else int(rng.choice(4, p=[0.3, 0.35, 0.25, 0.1]))
    for _ in range(k):
        _cutout(clip, pyramid(rng.choice(names)), rng,
                (speed if speed is not None else MAX_SPEED * rng.random() ** 1.5) or 1.0)
    return _camera_effects(clip, rng) if effects else clip


def pan(picture: str, frames: int, step: tuple[float, float], size: int = SIZE, seed: int = 0
        ) -> np.ndarray:
    """A camera panning over `picture` by `step` = (dy, dx) output px per frame at one picture
    pixel per output pixel: (frames, size, size, 3), no cut-outs, nothing added. The content
    moves by (-dy, -dx) per frame."""
    t = np.arange(frames, dtype=np.float32)[:, None]
    path = (t * np.asarray(step, np.float32), np.zeros(frames), np.zeros(frames))
    return _view(pyramid(picture), size, np.random.default_rng(seed), path, scale=1.0)
