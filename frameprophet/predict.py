"""Fast prediction: `Predictor.rollout` for one clip `(T, H, W, C)` or a batch `(N, T, H, W, C)`.

C is the model's `channels`: 1 for grey models, 3 for colour ones.

For stepwise models (`prophet`) the ConvLSTM states are carried from frame to frame, so each
frame is computed once: O(T) work through one compiled `step` function. Models whose last layer
needs a time window (the Keras-example recipes) cannot be stepped; they fall back to re-running
the growing sequence for every new frame (O(T^2)) and `Predictor.stepwise` says so.
Models are always called directly with `training=False`; never `model.predict` in a loop.
"""

from __future__ import annotations

import keras
import numpy as np

from frameprophet.models import is_stepwise
from frameprophet.runtime import MODES, rollout_inputs  # noqa: F401 (MODES: one definition)


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
        #: 1 (grey) or 3 (colour): what every clip given to this model must have.
        self.channels: int = int(getattr(model, "channels", None) or model.input_shape[-1])
        self.name = self.info.get("name") or getattr(model, "recipe", None) or model.name
        if self.stepwise:
            self._step = compiled(model, model.step)
        else:
            self._full = compiled(model, lambda x: model(x, training=False))

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
        least `horizon - 1` true future frames. Returns `(horizon, H, W, C)` for one clip, or
        `(N, horizon, H, W, C)` for a batch, float32 in [0, 1].
        """
        batch, future, single = rollout_inputs(context, horizon, mode, truth, self.frame_size,
                                               self.channels)
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
        return np.stack([keras.ops.convert_to_numpy(o) for o in outputs], axis=1)

    def memory(self, context: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """A closed-loop rollout of one clip and what the ConvLSTM carried while doing it.

        Returns `(prediction (horizon, H, W, C), memory (C + horizon - 1, layers, h, w))`:
        memory[t] is the root-mean-square over channels of each layer's hidden state after
        reading input t (the context frames, then the model's own predictions), on the model's
        patch grid. Stepwise models only.
        """
        if not self.stepwise:
            raise ValueError(f"{self.name} has no carried state to show: only stepwise models "
                             "(prophet) remember from frame to frame")
        context = np.asarray(context, dtype=np.float32)
        if (context.ndim != 4 or tuple(context.shape[1:3]) != self.frame_size
                or context.shape[-1] != self.channels or horizon < 1):
            raise ValueError(f"memory takes one clip (T, {self.frame_size[0]}, "
                             f"{self.frame_size[1]}, {self.channels}) and horizon >= 1")
        states = self.model.initial_state(1)
        seen, outputs, prediction = [], [], None
        for t in range(context.shape[0] + horizon - 1):
            frame = context[t:t + 1] if t < context.shape[0] else prediction
            prediction, states = self._step(frame, states)
            seen.append([np.sqrt((keras.ops.convert_to_numpy(h).astype(np.float32) ** 2)
                                 .mean(-1))[0] for h, _ in states])
            if t >= context.shape[0] - 1:
                outputs.append(keras.ops.convert_to_numpy(prediction)[0])
        return np.stack(outputs), np.asarray(seen, np.float32)

    def _rollout_rerun(self, batch, horizon, future):
        sequence = batch
        outputs = []
        for k in range(horizon):
            if future is not None and k > 0:
                sequence = np.concatenate([batch, future[:, :k]], axis=1)
            prediction = keras.ops.convert_to_numpy(self._full(sequence))[:, -1]
            outputs.append(prediction)
            if future is None:
                sequence = np.concatenate([sequence, prediction[:, None]], axis=1)
        return np.stack(outputs, axis=1)


def compiled(model: keras.Model, fn):
    """`fn` compiled with the backend's own means, always reading the model's current weights.

    The one place that knows the backends: `tf.function` under TensorFlow; `jax.jit` of a
    stateless version under JAX (weights are passed in, so a model still training is never seen
    stale); plain eager under PyTorch, without autograd bookkeeping.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True, autograph=False)
    if backend == "jax":
        import jax

        def pure(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(model.variables, values,
                                                             strict=True))):
                return fn(*args)

        jitted = jax.jit(pure)
        return lambda *args: jitted([v.value for v in model.variables], *args)
    if backend == "torch":
        import torch

        def no_grad(*args):
            with torch.no_grad():
                return fn(*args)

        return no_grad
    return fn


def load_predictor(name_or_path: str, allow_savedmodel: bool | None = None) -> Predictor:
    """Load a predictor from a path, a short name in `weights/` or `hf://owner/repo`.

    Resolution order and checks are in `frameprophet.saving`; Hub loading in `frameprophet.hub`
    (`allow_savedmodel` is for Hub repos holding a TF SavedModel). Both return
    `(model, sidecar)`.
    """
    from frameprophet import hub, saving

    target = saving.resolve(name_or_path)
    if target.startswith("hf://"):
        model, meta = hub.load(target, allow_savedmodel=allow_savedmodel)
    else:
        model, meta = saving.load(target)
        meta.setdefault("name", str(name_or_path))
    return Predictor(model, meta)


def untrained_predictor(frame_size: tuple[int, int], channels: int = 1) -> Predictor:
    """An untrained `prophet` model of the right frame size: what the app shows, labelled, when
    a shipped weights file is missing (a clone without weights still runs)."""
    from frameprophet import models

    return Predictor(models.build("prophet", tuple(frame_size), channels=channels),
                     {"name": "untrained (weights not found)"})
