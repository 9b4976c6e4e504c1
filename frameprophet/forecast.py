"""One forecast of a clip, the way every caller wants it: the app, the CLI's `predict`, `evaluate`.

`forecast(predictor, clip, context, horizon, mode)` cuts the clip into the frames the model reads
and the truth after them, rolls the model out, and scores every predicted frame that has truth
against the baseline that is fair for the mode:

- closed loop (the model feeds its predictions back): repeat the last context frame;
- teacher-forced (one-step: each prediction reads the true frames before it): repeat the previous
  *true* frame, which is what a one-step predictor gets to see.

It also says, in `notes`, what a person should know: the context was cut, the truth ends, the
clip looks unlike the model's training data. A batch `(N, T, H, W, C)` is scored as a whole;
C is 1 (grey) or 3 (colour), the model's `channels`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from frameprophet import metrics
from frameprophet.runtime import MODES

if TYPE_CHECKING:
    from frameprophet.predict import Predictor

BASELINES = {"closed_loop": "copy last frame", "teacher_forced": "copy previous true frame"}
# Moving MNIST and moving squares are light shapes on black: most pixels are ~0.
BRIGHT_BACKGROUND = 0.25


@dataclass
class Forecast:
    """What one forecast produced. Arrays follow the clip contract (one clip or a batch)."""

    context: np.ndarray          # (T, H, W, C): the frames the model read
    truth: np.ndarray            # (K, H, W, C), K <= horizon: the clip's frames after the context
    prediction: np.ndarray       # (horizon, H, W, C)
    mode: str                    # "closed_loop" or "teacher_forced"
    curves: dict[str, dict[str, np.ndarray]]   # "model" and the baseline -> metric -> (K,)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0         # time spent in the model's rollout

    @property
    def baseline(self) -> str:
        return BASELINES[self.mode]

    @property
    def scored(self) -> int:
        """How many predicted frames have truth to compare with."""
        return int(self.truth.shape[-4])

    def mean(self, who: str = "model", metric: str = "mse") -> float:
        return float(self.curves[who][metric].mean()) if self.scored else float("nan")


def baseline(clip_context: np.ndarray, truth: np.ndarray, horizon: int, mode: str) -> np.ndarray:
    """The fair baseline's frames for the mode (see the module docstring)."""
    last = clip_context[..., -1:, :, :, :]
    if mode == "closed_loop":
        return np.repeat(last, horizon, axis=-4)
    return np.concatenate([last, truth[..., : horizon - 1, :, :, :]], axis=-4)


def forecast(predictor: Predictor, clip: np.ndarray, context: int, horizon: int,
             mode: str = "closed_loop", batch: int = 32, progress=None) -> Forecast:
    """Predict `horizon` frames after the first `context` frames of `clip` and score them.

    `clip` is (T, H, W, C) or (N, T, H, W, C) at the model's frame size and channels. If the
    clip is too short for `context`, the context is cut to leave one frame of truth;
    teacher-forced mode stops where the true inputs end. Raises `ValueError` for what cannot be
    forecast at all.
    A batch is rolled out `batch` clips at a time, calling `progress(done)` after each.
    """
    clip = np.asarray(clip, dtype=np.float32)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if clip.ndim not in (4, 5) or clip.shape[-1] not in (1, 3):
        raise ValueError(f"a clip is (T, H, W, 1) grey or (T, H, W, 3) colour, or a batch "
                         f"(N, T, H, W, C) of them, got {clip.shape}")
    n = clip.shape[-4]
    if n < 2:
        raise ValueError("the clip needs at least 2 frames: one to read and one to compare with")
    if context < 1 or horizon < 1:
        raise ValueError("use at least one context frame and one frame to predict")
    notes = []
    if context > n - 1:
        notes.append(f"context cut to {_frames(n - 1)} (the clip has {n})")
        context = n - 1
    frames_in, truth = clip[..., :context, :, :, :], clip[..., context:context + horizon, :, :, :]
    k = truth.shape[-4]
    if mode == "teacher_forced" and k < horizon - 1:
        notes.append(f"teacher-forced reads the true frames, so it stops after "
                     f"{_frames(k + 1, 'predicted frame')}, where the clip ends")
        horizon = k + 1
    elif k < horizon:
        # Frames are counted from 1, as the quality plot counts predicted frames.
        rest = horizon - k
        notes.append(f"truth ends at frame {n} of the clip, after predicted frame {k}: the last "
                     + ("predicted frame has" if rest == 1 else f"{rest} predicted frames have")
                     + " nothing to compare with")
    notes += _unlike_training(predictor, frames_in)

    tic = time.perf_counter()
    batched = frames_in if clip.ndim == 5 else frames_in[None]
    true_batched = truth if clip.ndim == 5 else truth[None]
    parts = []
    for i in range(0, len(batched), batch):
        parts.append(predictor.rollout(
            batched[i:i + batch], horizon, mode=mode,
            truth=true_batched[i:i + batch] if mode == "teacher_forced" else None))
        if progress:
            progress(min(i + batch, len(batched)))
    prediction = np.concatenate(parts)
    seconds = time.perf_counter() - tic
    if clip.ndim == 4:
        prediction = prediction[0]

    curves = {}
    if k:
        squares = predictor.info.get("dataset") == "squares"
        curves["model"] = metrics.evaluate(prediction[..., :k, :, :, :], truth, squares=squares)
        curves[BASELINES[mode]] = metrics.evaluate(baseline(frames_in, truth, k, mode), truth,
                                                   squares=squares)
    return Forecast(frames_in, truth, prediction, mode, curves, notes, seconds)


def _frames(n: int, word: str = "frame") -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _unlike_training(predictor: Predictor, frames: np.ndarray) -> list[str]:
    """A note when the clip does not look like the light-on-black clips the models learnt."""
    dataset = predictor.info.get("dataset")
    if dataset not in ("mnist", "squares"):
        return []
    background = float(np.median(frames))
    if background > BRIGHT_BACKGROUND:
        return [f"this clip's background is bright (median grey {background:.2f}); the model "
                f"learnt light shapes on black ({dataset}), so expect a poor forecast — a clip "
                "with dark background fits it better"]
    if float(frames.max()) < 0.2:
        return ["this clip is very dark or low in contrast (brightest pixel "
                f"{float(frames.max()):.2f}); the model learnt bright shapes on black"]
    return []
