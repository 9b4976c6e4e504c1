"""Scenes a person builds: a world with their own settings (how many digits, squares or
cut-outs, how fast), or their own drawing moved like a Moving MNIST digit, with notes on what
the shipped models never saw. What the page's scene builder and its `/scene` API make.
Plain NumPy, on top of the generators in `frameprophet.data`.
"""

from __future__ import annotations

import numpy as np

from frameprophet import natural
from frameprophet.data import (
    DIGIT_SIZE,
    MNIST_SIZE,
    MNIST_SPEED,
    mnist_trajectories,
    moving_mnist,
    moving_squares,
    paste_sprites,
)

#: A scene's settings when none are given (then the clip is `data.example_clip`'s), what the shipped
#: models learnt, and the most objects a scene may have.
SCENE_DEFAULTS = {
    "mnist": {"objects": 2, "speed": MNIST_SPEED, "learnt_objects": (2, 2), "max_objects": 4},
    "squares": {"objects": None, "speed": 1, "learnt_objects": (3, 7), "max_objects": 7},
    "natural": {"objects": 1, "speed": 2.0, "learnt_objects": (0, natural.MAX_CUTOUTS),
                "max_objects": natural.MAX_CUTOUTS, "min_objects": 0,
                "max_speed": 2 * natural.MAX_SPEED, "learnt_speed": natural.MAX_SPEED},
}


def scene(world: str, objects: int | None = None, speed: float | None = None,
          digits: str | None = None, seed: int = 0, frames: int = 20
          ) -> tuple[np.ndarray, list[str]]:
    """A clip (frames, H, W, 1) of a world with a person's settings, and notes on what the
    models never saw in training. `mnist`: `objects` digits (1-4) moving at `speed` px per frame,
    of the classes in `digits` (e.g. "37"; test-split digits where the split has them);
    `squares`: `objects` squares (1-7; None: 3 to 7 at random, as in training) at `speed` px per
    frame per axis (whole numbers); `natural` (colour): `objects` cut-outs (0-3) before a camera
    panning at `speed`, held-out pictures. With the defaults (`SCENE_DEFAULTS`) the clip of
    `mnist` or `squares` is `data.example_clip`'s."""
    if world not in SCENE_DEFAULTS:
        raise ValueError(f"world must be one of {', '.join(SCENE_DEFAULTS)}, got {world!r}")
    default = SCENE_DEFAULTS[world]
    objects = default["objects"] if objects is None else int(objects)
    speed = default["speed"] if speed is None else speed
    most = default["max_objects"]
    if objects is not None and not default.get("min_objects", 1) <= objects <= most:
        raise ValueError(f"objects must be 1 to {most} for {world}, got {objects}")
    notes = _scene_notes(world, objects, speed)
    if world == "natural":
        clip = natural.natural_clips(1, frames, seed, split="test", speed=speed, cutouts=objects)
        return clip[0], notes
    if world == "squares":
        if float(speed) != int(speed) or not 0 <= speed <= 10:
            raise ValueError(f"squares move by whole pixels: speed must be 0 to 10, got {speed}")
        _, clean = moving_squares(1, frames=frames, seed=seed, squares=objects, speed=int(speed))
        return clean[0], notes
    free = MNIST_SIZE - DIGIT_SIZE
    if not 0 <= speed <= free:
        raise ValueError(f"speed must be 0 to {free} px per frame (the free width of the frame), "
                         f"got {speed}")
    if digits and not set(digits) <= set("0123456789"):
        raise ValueError(f"digits must be classes 0-9 like '37', got {digits!r}")
    split = "test"
    if digits and not set(digits) <= {"8", "9"}:
        split = "all" if set(digits) & {"8", "9"} else "train"   # each class from its own pool
        notes.append("only 8s and 9s are held out; the other classes are training-split digits")
    clip = moving_mnist(1, frames=frames, seed=seed, split=split, digits=objects, speed=speed,
                        classes=digits or None)
    return clip[0], notes


def _scene_notes(world: str, objects: int | None, speed: float) -> list[str]:
    """What in a scene's settings the shipped model of its world never saw."""
    default = SCENE_DEFAULTS[world]
    low, high = default["learnt_objects"]
    noun = {"mnist": "digit", "squares": "square"}.get(world, "cut-out")
    learnt = f"{low}" if low == high else f"{low} to {high}"
    notes = []
    if objects is not None and not low <= objects <= high:
        notes.append(f"{objects} {noun if objects == 1 else noun + 's'}: the model learnt "
                     f"{learnt}")
    if world == "squares" and float(speed) == int(speed) and int(speed) != default["speed"]:
        notes.append(f"speed {int(speed)} px per frame: the model learnt {default['speed']}"
                     + (" (squares do not bounce: fast ones soon leave the frame)"
                        if int(speed) > default["speed"] else ""))
    elif world == "natural" and speed > default["learnt_speed"]:
        notes.append(f"speed {speed:g} px per frame: the model learnt up to "
                     f"{default['learnt_speed']:g}")
    elif world == "mnist" and abs(speed - default["speed"]) > 0.05:
        notes.append(f"speed {speed:g} px per frame: the model learnt {default['speed']}")
    return notes


def sprite_from_drawing(image: np.ndarray) -> np.ndarray:
    """A person's drawing (H, W) or (H, W, C), any colours, -> a 28x28 float32 sprite in [0, 1]
    like an MNIST digit: the ink (whatever differs from the background) cropped to its bounding
    box, fitted into 20x20 keeping its aspect ratio and centred, as MNIST digits are.

    Raises `ValueError` for a blank canvas or a drawing too small to move (a single dot).
    """
    from PIL import Image

    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3:
        if image.shape[-1] == 4:                  # transparent canvas: the strokes are opaque
            alpha = image[..., 3] / (255.0 if image.max() > 1 else 1.0)
            image = image[..., :3].mean(-1) * alpha + (1 - alpha) * 255.0
        else:
            image = image[..., :3].mean(-1)
    if image.ndim != 2 or min(image.shape) < 2:
        raise ValueError("the drawing must be a picture (height x width)")
    image = image / (255.0 if image.max() > 1 else 1.0)
    ink = np.abs(image - np.median(image))            # the background is the commonest shade
    ink = ink / ink.max() if ink.max() > 0.1 else np.zeros_like(ink)
    rows, cols = np.flatnonzero((ink > 0.25).any(1)), np.flatnonzero((ink > 0.25).any(0))
    if rows.size == 0:
        raise ValueError("the canvas is blank: draw a shape or a digit")
    box = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    smallest = max(6, max(image.shape) // 40)      # px across, on this canvas
    if max(box.shape) < smallest or (ink > 0.25).sum() < 20:
        raise ValueError(f"the drawing is a dot: its strokes span {box.shape[1]}x{box.shape[0]} "
                         f"px of the {image.shape[1]}x{image.shape[0]} canvas; draw a shape or a "
                         f"digit at least {smallest} px across")
    h, w = box.shape
    scale = 20 / max(h, w)
    small = Image.fromarray(box).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                        Image.Resampling.BOX)
    sprite = np.zeros((DIGIT_SIZE, DIGIT_SIZE), np.float32)
    sh, sw = small.size[1], small.size[0]
    top, left = (DIGIT_SIZE - sh) // 2, (DIGIT_SIZE - sw) // 2
    sprite[top:top + sh, left:left + sw] = np.clip(np.asarray(small), 0, 1)
    return sprite


def sprite_clip(sprite: np.ndarray, frames: int = 20, speed: float = MNIST_SPEED, seed: int = 0,
                size: int = MNIST_SIZE) -> np.ndarray:
    """A clip (frames, size, size, 1) of one 28x28 sprite moving and bouncing like a Moving
    MNIST digit (`mnist_trajectories`)."""
    rng = np.random.default_rng(seed)
    corner = mnist_trajectories(1, frames, 1, size, rng, speed=speed)
    return paste_sprites(np.asarray(sprite, np.float32)[None, None], corner, size)[0]
