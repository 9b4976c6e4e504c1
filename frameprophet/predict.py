"""Fast prediction: `Predictor.rollout` for one clip `(T, H, W, 1)` or a batch `(N, T, H, W, 1)`.

For stepwise models (`prophet`) the ConvLSTM states are carried from frame to frame, so each
frame is computed once: O(T) work through one compiled `step` function. Models whose last layer
needs a time window (the Keras-example recipes) cannot be stepped; they fall back to re-running
the growing sequence for every new frame (O(T^2)) and `Predictor.stepwise` says so.
Models are always called directly with `training=False`; never `model.predict` in a loop.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from frameprophet.models import is_stepwise

MODES = ("closed_loop", "teacher_forced")


class Predictor:
    """Wraps a next-frame model for rollouts.

    `info` holds what is known about the model (the sidecar: recipe, dataset, metrics...).
    """

    def __init__(self, model, info: dict | None = None):
        self.model = model
        self.info = dict(info or {})
        self.stepwise = is_stepwise(model)
        shape = getattr(model, "frame_size", None) or model.input_shape[2:4]
        self.frame_size: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.name = self.info.get("name") or getattr(model, "recipe", None) or model.name
        if self.stepwise:
            h, w = self.frame_size
            state_spec = [[tf.TensorSpec((None, *s.shape[1:])) for s in layer]
                          for layer in model.initial_state(1)]
            self._step = tf.function(
                lambda frame, states: model.step(frame, states),
                input_signature=[tf.TensorSpec((None, h, w, 1)), state_spec])
        else:
            self._full = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    @property
    def method(self) -> str:
        """How rollouts are computed, in words for the UI."""
        if self.stepwise:
            return "stepwise: ConvLSTM states carried, O(T)"
        return "re-run: the whole sequence is re-run for every new frame, O(T^2)"

    def rollout(self, context: np.ndarray, horizon: int, mode: str = "closed_loop",
                truth: np.ndarray | None = None) -> np.ndarray:
        """Predict `horizon` frames after `context`.

        `closed_loop` feeds each prediction back as the next input (the real test).
        `teacher_forced` predicts frame k from the *true* frames before it; `truth` must hold at
        least `horizon - 1` true future frames. Returns `(horizon, H, W, 1)` for one clip, or
        `(N, horizon, H, W, 1)` for a batch, float32 in [0, 1].
        """
        context = np.asarray(context, dtype=np.float32)
        single = context.ndim == 4
        batch = context[None] if single else context
        if batch.ndim != 5 or batch.shape[-1] != 1:
            raise ValueError(f"context must be (T, H, W, 1) or (N, T, H, W, 1), got "
                             f"{context.shape}")
        if tuple(batch.shape[2:4]) != self.frame_size:
            raise ValueError(f"this model predicts {self.frame_size[0]}x{self.frame_size[1]} "
                             f"frames; the clip is {batch.shape[2]}x{batch.shape[3]}")
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
        run = self._rollout_stepwise if self.stepwise else self._rollout_rerun
        out = run(batch, horizon, future)
        return out[0] if single else out

    def _rollout_stepwise(self, batch, horizon, future):
        states = self.model.initial_state(batch.shape[0])
        for t in range(batch.shape[1]):                       # read the context once
            prediction, states = self._step(batch[:, t], states)
        outputs = [prediction]
        for k in range(1, horizon):
            frame = prediction if future is None else future[:, k - 1]
            prediction, states = self._step(frame, states)
            outputs.append(prediction)
        return np.stack([np.asarray(o) for o in outputs], axis=1)

    def _rollout_rerun(self, batch, horizon, future):
        sequence = batch
        outputs = []
        for k in range(horizon):
            if future is not None and k > 0:
                sequence = np.concatenate([batch, future[:, :k]], axis=1)
            prediction = np.asarray(self._full(sequence))[:, -1]
            outputs.append(prediction)
            if future is None:
                sequence = np.concatenate([sequence, prediction[:, None]], axis=1)
        return np.stack(outputs, axis=1)


def copy_last(context: np.ndarray, horizon: int) -> np.ndarray:
    """The copy-last-frame baseline: repeat the last context frame `horizon` times."""
    context = np.asarray(context, dtype=np.float32)
    last = context[..., -1:, :, :, :]
    return np.repeat(last, horizon, axis=-4)


def load_predictor(name_or_path: str) -> Predictor:
    """Load a predictor from a path, a short name in `weights/` or `hf://owner/repo`.

    Resolution order and checks are in `frameprophet.saving`; Hub loading in `frameprophet.hub`.
    """
    from frameprophet import saving

    target = saving.resolve(name_or_path)
    if target.startswith("hf://"):
        from frameprophet import hub

        return hub.load_predictor(target)
    model, meta = saving.load(target)
    meta.setdefault("name", str(name_or_path))
    return Predictor(model, meta)
