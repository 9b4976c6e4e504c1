"""The rollout contract, written once: what every predictor offers its callers (`RolloutPredictor`),
the checks on a rollout's inputs, and the closed-loop and teacher-forced loops over a one-frame
`step`.

NumPy only: the Keras predictor (`frameprophet.predict`) and the exported ones
(`frameprophet.runtime`, which must run without Keras) share it. A predictor brings its `step`
(frame, states) -> (next frame, new states) and its zero states; the loops here do the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

MODES = ("closed_loop", "teacher_forced")       # the rollout modes


@runtime_checkable
class RolloutPredictor(Protocol):
    """What callers (`forecast`, `evaluate`, the CLI, the page) may use of a predictor: the Keras
    `predict.Predictor` and the exported `runtime.OnnxPredictor` / `TFLitePredictor` alike."""

    name: str
    info: dict                      # the sidecar: recipe, dataset, metrics...
    frame_size: tuple[int, int]     # (H, W) of every frame it reads and predicts
    channels: int                   # 1 (grey) or 3 (colour)
    stepwise: bool                  # carries its own ConvLSTM states: `memory` works

    @property
    def method(self) -> str:
        """How rollouts are computed, in words for people."""

    @property
    def quadratic(self) -> bool:
        """True when each new frame re-runs the whole sequence (O(T^2) rollouts)."""

    def rollout(self, context: np.ndarray, horizon: int, mode: str = "closed_loop",
                truth: np.ndarray | None = None) -> np.ndarray:
        """`horizon` frames after `context`: (horizon, H, W, C), or (N, horizon, H, W, C)."""

    def memory(self, context: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """A closed-loop rollout of one clip and the RMS of each layer's carried state."""


def check(context, horizon: int, mode: str, truth, frame_size: tuple[int, int],
          channels: int) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """A rollout's inputs checked against the model: `(batch, true future or None, single)`,
    or a `ValueError` that says what was wrong."""
    context = np.asarray(context, dtype=np.float32)
    single = context.ndim == 4
    batch = context[None] if single else context
    if batch.ndim != 5 or batch.shape[-1] != channels:
        raise ValueError(f"this model reads {'colour' if channels == 3 else 'grey'} clips: "
                         f"context must be (T, H, W, {channels}) or (N, T, H, W, {channels}), "
                         f"got {context.shape}")
    if tuple(batch.shape[2:4]) != tuple(frame_size):
        raise ValueError(f"this model predicts {frame_size[0]}x{frame_size[1]} frames; the clip "
                         f"is {batch.shape[2]}x{batch.shape[3]}")
    if batch.shape[1] < 1 or horizon < 1:
        raise ValueError("need at least one context frame and horizon >= 1")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    future = None
    if mode == "teacher_forced":
        if truth is None:
            raise ValueError("teacher_forced mode needs the true future frames (truth=...)")
        future = np.asarray(truth, dtype=np.float32)
        future = future[None] if single else future
        if future.shape[1] < horizon - 1:
            raise ValueError(f"teacher_forced needs {horizon - 1} true future frames, got "
                             f"{future.shape[1]}")
    return batch, future, single


def stepped(step: Callable, states, batch: np.ndarray, horizon: int,
            future: np.ndarray | None, to_numpy: Callable = np.asarray) -> np.ndarray:
    """O(T): read the context once through `step`, then predict `horizon` frames, feeding back
    each prediction (`future` None: closed loop) or the true frame before it (teacher-forced).
    `to_numpy` turns the step's outputs into arrays, once at the end. Returns (N, horizon, ...)."""
    for t in range(batch.shape[1]):
        prediction, states = step(batch[:, t], states)
    outputs = [prediction]
    for k in range(1, horizon):
        frame = prediction if future is None else future[:, k - 1]
        prediction, states = step(frame, states)
        outputs.append(prediction)
    return np.stack([to_numpy(o) for o in outputs], axis=1)


def rerun(last_frames: Callable, batch: np.ndarray, horizon: int,
          future: np.ndarray | None) -> np.ndarray:
    """O(T^2), for models without a step: every new frame re-runs the whole sequence so far;
    `last_frames(sequence)` is the model's prediction after its last frame, as an array."""
    sequence, outputs = batch, []
    for k in range(horizon):
        if future is not None and k > 0:
            sequence = np.concatenate([batch, future[:, :k]], axis=1)
        prediction = last_frames(sequence)
        outputs.append(prediction)
        if future is None:
            sequence = np.concatenate([sequence, prediction[:, None]], axis=1)
    return np.stack(outputs, axis=1)


def remembered(step: Callable, states, context: np.ndarray, horizon: int, hidden: Callable,
               to_numpy: Callable = np.asarray) -> tuple[np.ndarray, np.ndarray]:
    """A closed-loop rollout of one clip `context` (T, H, W, C) and what its layers carried.

    `hidden(states)` gives each layer's hidden state as an array (1, h, w, channels). Returns
    `(prediction (horizon, H, W, C), memory (T + horizon - 1, layers, h, w))`: memory[t] is the
    root-mean-square over channels of each layer's hidden state after reading input t (the
    context frames, then the model's own predictions)."""
    seen, outputs, prediction = [], [], None
    for t in range(context.shape[0] + horizon - 1):
        frame = context[t:t + 1] if t < context.shape[0] else prediction
        prediction, states = step(frame, states)
        seen.append([np.sqrt((np.asarray(h, np.float32) ** 2).mean(-1))[0]
                     for h in hidden(states)])
        if t >= context.shape[0] - 1:
            outputs.append(to_numpy(prediction)[0])
    return np.stack(outputs), np.asarray(seen, np.float32)


def one_clip(context, horizon: int, frame_size: tuple[int, int], channels: int) -> np.ndarray:
    """`memory`'s input checked: one clip (T, H, W, C) at the model's size, and horizon >= 1."""
    context = np.asarray(context, dtype=np.float32)
    if (context.ndim != 4 or tuple(context.shape[1:3]) != tuple(frame_size)
            or context.shape[-1] != channels or horizon < 1):
        raise ValueError(f"memory takes one clip (T, {frame_size[0]}, {frame_size[1]}, "
                         f"{channels}) and horizon >= 1")
    return context
