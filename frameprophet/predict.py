"""Fast prediction: `Predictor.rollout` for one clip `(T, H, W, C)` or a batch `(N, T, H, W, C)`.

C is the model's `channels`: 1 for grey models, 3 for colour ones.

For stepwise models (`prophet`) the ConvLSTM states are carried from frame to frame, so each
frame is computed once: O(T) work through one compiled `step` function. The Keras examples'
recipes (a chain of ConvLSTM2D and BatchNormalization, then a Conv3D head over 3 frames of time)
are stepped too: each ConvLSTM2D's cell carries its state and the head reads a window of the
last frames it would see, which gives exactly the output of re-running the whole sequence (the
ConvLSTMs are causal; past the last frame the head sees zero padding either way). Any other
model that has no `step` falls back to re-running the growing sequence for every new frame
(O(T^2)), and `Predictor.method` says so. `Predictor.stepwise` means the model's own `step`
(prophet): the memory view and export need it. Models are always called directly with
`training=False`; never `model.predict` in a loop. The loops themselves and the checks on their
inputs are `frameprophet.rollout`'s, shared with the exported predictors (`frameprophet.runtime`).
"""

from __future__ import annotations

import keras
import numpy as np

from frameprophet import rollout
from frameprophet.models import is_stepwise


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
        self._window = None if self.stepwise else WindowStepper.of(model)
        if self.stepwise:
            self._step = compiled(model, model.step)
        elif self._window is not None:
            self._step = compiled(model, self._window.step)
        else:                               # only re-running models use the whole pass
            self._full = compiled(model, lambda x: model(x, training=False))

    @property
    def method(self) -> str:
        """How rollouts are computed, in words for the UI."""
        if self.stepwise:
            return "stepwise: ConvLSTM states carried, O(T)"
        if self._window is not None:
            return (f"stepwise: ConvLSTM states carried, its Conv3D head reading the last "
                    f"{self._window.width} frames, O(T)")
        return "re-run: the whole sequence is re-run for every new frame, O(T^2)"

    @property
    def quadratic(self) -> bool:
        """True when each new frame re-runs the whole sequence (O(T^2) rollouts)."""
        return not self.stepwise and self._window is None

    def rollout(self, context: np.ndarray, horizon: int, mode: str = "closed_loop",
                truth: np.ndarray | None = None) -> np.ndarray:
        """Predict `horizon` frames after `context`.

        `closed_loop` feeds each prediction back as the next input (the real test).
        `teacher_forced` predicts frame k from the *true* frames before it; `truth` must hold at
        least `horizon - 1` true future frames. Returns `(horizon, H, W, C)` for one clip, or
        `(N, horizon, H, W, C)` for a batch, float32 in [0, 1].
        """
        batch, future, single = rollout.check(context, horizon, mode, truth, self.frame_size,
                                              self.channels)
        if self.quadratic:
            out = rollout.rerun(lambda x: keras.ops.convert_to_numpy(self._full(x))[:, -1],
                                batch, horizon, future)
        else:
            states = (self._window or self.model).initial_state(batch.shape[0])
            out = rollout.stepped(self._step, states, batch, horizon, future,
                                  keras.ops.convert_to_numpy)
        return out[0] if single else out

    def memory(self, context: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """A closed-loop rollout of one clip and what the ConvLSTM carried while doing it.

        Returns `(prediction (horizon, H, W, C), memory (T + horizon - 1, layers, h, w))`:
        memory[t] is the root-mean-square over channels of each layer's hidden state after
        reading input t (the context frames, then the model's own predictions), on the model's
        patch grid. Stepwise models only.
        """
        if not self.stepwise:
            raise ValueError(f"{self.name} has no carried state to show: only stepwise models "
                             "(prophet) remember from frame to frame")
        context = rollout.one_clip(context, horizon, self.frame_size, self.channels)
        return rollout.remembered(
            self._step, self.model.initial_state(1), context, horizon,
            lambda states: [keras.ops.convert_to_numpy(h) for h, _ in states],
            keras.ops.convert_to_numpy)


class WindowStepper:
    """One frame at a time through a chain of ConvLSTM2D and BatchNormalization layers ending in
    a Conv3D head over `width` frames (the Keras examples' recipes, causal or not).

    The state is each ConvLSTM2D's (h, c) and the head's window: the last `width` frames the
    head reads, zeros before the first frame as its padding gives in a whole-sequence run. The
    head's output for the newest frame is then the re-run's output for the last frame.
    """

    BODY = (keras.layers.ConvLSTM2D, keras.layers.BatchNormalization)
    HEAD = (keras.layers.ZeroPadding3D, keras.layers.Conv3D)

    def __init__(self, body: list, head: list, width: int, size: tuple[int, int]):
        self.body, self.head, self.width, self.size = body, head, width, size

    @classmethod
    def of(cls, model: keras.Model) -> WindowStepper | None:
        """The stepper of `model`, or None when it is not such a chain."""
        layers = [layer for layer in model.layers
                  if not isinstance(layer, keras.layers.InputLayer)]
        split = next((i for i, layer in enumerate(layers) if isinstance(layer, cls.HEAD)), None)
        if split is None or len(model.inputs) != 1 or len(model.outputs) != 1:
            return None
        body, head = layers[:split], layers[split:]
        if not (all(isinstance(layer, cls.BODY) for layer in body)
                and all(isinstance(layer, cls.HEAD) for layer in head)
                and sum(isinstance(layer, keras.layers.Conv3D) for layer in head) == 1
                and isinstance(head[-1], keras.layers.Conv3D)):
            return None
        lstms = [layer for layer in body if isinstance(layer, keras.layers.ConvLSTM2D)]
        if not lstms or any(layer.go_backwards or layer.stateful or not layer.return_sequences
                            or layer.padding != "same" or tuple(layer.strides) != (1, 1)
                            or tuple(layer.dilation_rate) != (1, 1) for layer in lstms):
            return None
        # a chain: every layer reads the one before it (a layer used twice breaks this)
        chain = [model.inputs[0], *(layer.output for layer in layers)]
        if any(layer.input is not before for layer, before in zip(layers, chain, strict=False)) \
                or layers[-1].output is not model.outputs[0]:
            return None
        return cls(body, head, int(head[-1].kernel_size[0]), tuple(model.input_shape[2:4]))

    def initial_state(self, batch: int) -> list:
        """Zero (h, c) for each ConvLSTM2D, then the head's empty window."""
        zeros = [np.zeros((batch, *self.size, layer.filters), np.float32)
                 for layer in self.body if isinstance(layer, keras.layers.ConvLSTM2D)]
        last = [layer for layer in self.body if hasattr(layer, "filters")][-1].filters
        return [*(z for zero in zeros for z in (zero, zero)),
                np.zeros((batch, self.width, *self.size, last), np.float32)]

    def step(self, frame, states):
        """One frame (N, H, W, C) -> (the next frame, the new states)."""
        x, carried, new = frame, list(states[:-1]), []
        for layer in self.body:
            if isinstance(layer, keras.layers.ConvLSTM2D):
                x, (h, c) = layer.cell(x, carried[:2], training=False)
                carried = carried[2:]
                new += [h, c]
            else:
                x = layer(x[:, None], training=False)[:, 0]     # BatchNormalization
        window = keras.ops.concatenate([states[-1][:, 1:], x[:, None]], axis=1)
        y = window
        for layer in self.head:
            y = layer(y, training=False)
        return y[:, -1], [*new, window]


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
