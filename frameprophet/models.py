"""Model recipes: the two Keras examples as baselines, and `prophet`, our causal ConvLSTM.

Every recipe maps a batch `(N, T, H, W, C)` to `(N, T, H, W, C)`: output t is the prediction of
frame t + 1. The Keras examples are grey (C = 1); `prophet` takes `channels=1` or `3` (colour).
`build(recipe, frame_size, **options)` returns a compiled `keras.Model`.

The Keras examples end in `Conv3D(kernel 3x3x3, padding="same")` over time, so output t also
reads the hidden state at t + 1, which has seen the answer: it leaks the future in training and
gets zero padding at inference. `causal=True` pads only the past in time instead
(keras-io PR #2382), so the cost of the leak can be measured.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import keras
import numpy as np
from keras import layers, ops

from frameprophet.metrics import SSIM_WINDOW

_RECIPES: dict[str, Callable[..., keras.Model]] = {}


def recipe(name: str):
    """Register a builder under `name`."""
    def register(fn):
        _RECIPES[name] = fn
        return fn
    return register


def recipes() -> list[str]:
    """Names of the available recipes."""
    return sorted(_RECIPES)


def build(recipe: str, frame_size: tuple[int, int] = (64, 64), **options) -> keras.Model:
    """Build and compile the model of a named recipe for frames of `frame_size` = (H, W)."""
    if recipe not in _RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {recipes()}")
    height, width = frame_size
    if height < 4 or width < 4:
        raise ValueError(f"frame_size must be at least 4x4, got {frame_size}")
    check_options(recipe, options)
    model = _RECIPES[recipe](frame_size=(int(height), int(width)), **options)
    model.recipe = recipe
    return model


def check_options(recipe: str, options: dict) -> None:
    """Refuse options the recipe does not take (a typo such as "hiden"), naming those it does."""
    if recipe not in _RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {recipes()}")
    accepted = [n for n in inspect.signature(_RECIPES[recipe]).parameters if n != "frame_size"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"recipe {recipe!r} has no option {', '.join(map(repr, unknown))}; "
                         f"it takes {', '.join(accepted)}")


def _temporal_head(x, causal: bool):
    """The examples' Conv3D(1, 3x3x3, sigmoid) head, or its causal form (past-only padding)."""
    if causal:
        x = layers.ZeroPadding3D(((2, 0), (1, 1), (1, 1)))(x)
        return layers.Conv3D(1, (3, 3, 3), padding="valid", activation="sigmoid")(x)
    return layers.Conv3D(1, (3, 3, 3), padding="same", activation="sigmoid")(x)


@recipe("keras2-squares")
def keras2_squares(frame_size=(40, 40), causal: bool = False, filters: int = 40) -> keras.Model:
    """The Keras 2 conv_lstm.py script: 4 x (ConvLSTM2D(40, 3x3) + BatchNorm), Conv3D head,
    binary cross-entropy, Adadelta at Keras 2's default learning rate of 1.0."""
    inputs = keras.Input((None, *frame_size, 1))
    x = inputs
    for _ in range(4):
        x = layers.ConvLSTM2D(filters, (3, 3), padding="same", return_sequences=True)(x)
        x = layers.BatchNormalization()(x)
    model = keras.Model(inputs, _temporal_head(x, causal),
                        name="keras2_squares_causal" if causal else "keras2_squares")
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adadelta(1.0))
    return model


@recipe("keras3-mnist")
def keras3_mnist(frame_size=(64, 64), causal: bool = False, filters: int = 64) -> keras.Model:
    """The Keras 3 example: ConvLSTM2D(64, 5x5) -> BN -> (64, 3x3) -> BN -> (64, 1x1), ReLU,
    Conv3D head, binary cross-entropy, Adam."""
    inputs = keras.Input((None, *frame_size, 1))
    x = inputs
    for i, kernel in enumerate([(5, 5), (3, 3), (1, 1)]):
        x = layers.ConvLSTM2D(filters, kernel, padding="same", return_sequences=True,
                              activation="relu")(x)
        if i < 2:
            x = layers.BatchNormalization()(x)
    model = keras.Model(inputs, _temporal_head(x, causal),
                        name="keras3_mnist_causal" if causal else "keras3_mnist")
    model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam())
    return model


@keras.saving.register_keras_serializable(package="frameprophet")
class ConvLSTMCell(layers.Layer):
    """One ConvLSTM step as a single convolution over concat(input, h) -> the four gates.

    The same maths as the cell inside `keras.layers.ConvLSTM2D` (gates i, f, c, o; tanh and
    sigmoid; forget-gate bias 1), which runs two convolutions, one on the input and one on h.
    One wider convolution is what the CPU's bfloat16 matrix units are fast at: 42 vs 28
    sequences/s for Prophet's core under `mixed_bfloat16` (`make bench`).
    `call(x, [h, c]) -> (h, [h, c])`, the signature of Keras' RNN cells.
    """

    def __init__(self, filters: int, kernel: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel = filters, kernel
        self.conv = layers.Conv2D(4 * filters, kernel, padding="same", name="gates",
                                  dtype=self.dtype_policy)

    def build(self, input_shape):
        self.conv.build((*input_shape[:-1], input_shape[-1] + self.filters))
        f = self.filters
        self.conv.bias.assign(ops.concatenate([ops.zeros(f), ops.ones(f), ops.zeros(2 * f)]))

    def call(self, x, states):
        h, c = states
        gates = self.conv(ops.concatenate([x, ops.cast(h, x.dtype)], axis=-1))
        i, f, g, o = ops.split(gates, 4, axis=-1)
        c = ops.sigmoid(f) * ops.cast(c, gates.dtype) + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel": self.kernel}


@keras.saving.register_keras_serializable(package="frameprophet")
class Prophet(keras.Model):
    """A strictly causal ConvLSTM for next-frame prediction.

    Per frame: space-to-depth by `patch` (64x64xC -> 16x16x16C, C = `channels`, 1 or 3), a conv
    encoder; then a stack of
    pre-norm residual ConvLSTM cells (the only part that mixes time, and only forwards); then a
    conv decoder and depth-to-space back to full size, with a sigmoid in float32. Output t
    depends on frames <= t only.

    `call` runs the whole sequence. `step` advances one frame from carried states and shares
    every weight with `call`, so a rollout costs O(T). In training, frames after `context` are
    replaced, per clip, by the model's own previous prediction with probability `feedback`
    (scheduled sampling; a callback ramps it up), and gradients flow through those predictions:
    the loss is then a multi-step closed-loop loss, which is what keeps long rollouts sharp.

    `cell="fused"` is our `ConvLSTMCell`; `cell="keras"` uses `keras.layers.ConvLSTM2D`, the
    same maths, for the bench's speed comparison (every shipped model is fused).
    `blend=True` (for footage) predicts the change from the last frame: per pixel, a gate g
    mixes the last frame with new content, g * last + (1 - g) * new. The gate starts near 1
    (copy the last frame), so static parts of a scene stay as they are from the first step.
    Without it (the digit and square models) the decoder predicts the frame itself.
    The saved config holds no dtype policy: a model trained in `mixed_bfloat16` loads and runs
    in whatever policy is global when it is loaded (float32 by default).
    """

    def __init__(self, frame_size=(64, 64), patch: int = 4, hidden: int = 48, depth: int = 3,
                 kernel: int = 3, context: int = 10, cell: str = "fused", seed: int | None = None,
                 channels: int = 1, blend: bool = False, **kwargs):
        super().__init__(**kwargs)
        height, width = frame_size
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (colour), got {channels!r}")
        if height % patch or width % patch:
            raise ValueError(f"frame size {frame_size} must be divisible by the patch {patch}")
        if cell not in ("fused", "keras"):
            raise ValueError(f"cell must be 'fused' or 'keras', got {cell!r}")
        self.frame_size, self.patch, self.hidden = (int(height), int(width)), patch, hidden
        self.depth, self.kernel, self.context, self.cell = depth, kernel, context, cell
        self.channels, self.blend = int(channels), bool(blend)
        self.grid = (height // patch, width // patch)
        self.encoder = [layers.Conv2D(hidden, 3, padding="same", activation="gelu", name="enc1"),
                        layers.Conv2D(hidden, 3, padding="same", name="enc2")]
        self.norms = [layers.LayerNormalization(name=f"norm{i}") for i in range(depth)]
        if cell == "fused":
            self.lstms = [ConvLSTMCell(hidden, kernel, name=f"convlstm{i}") for i in range(depth)]
        else:
            self.lstms = [layers.ConvLSTM2D(hidden, kernel, padding="same", return_sequences=True,
                                            name=f"convlstm{i}") for i in range(depth)]
        self.decoder = [layers.LayerNormalization(name="dec_norm"),
                        layers.Conv2D(hidden, 3, padding="same", activation="gelu", name="dec1"),
                        layers.Conv2D(patch * patch * self._decoded_channels, 1, name="dec2")]
        self.feedback = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                        name="feedback")
        # JAX refuses unseeded random ops inside a traced function; a SeedGenerator is state.
        self.coins = keras.random.SeedGenerator(seed)

    @classmethod
    def from_config(cls, config):
        config.pop("dtype", None)
        return cls(**config)

    def build(self, input_shape=None):
        h, w = self.grid
        x = (None, h, w, self.patch * self.patch * self.channels)
        for conv in self.encoder:
            conv.build(x)
            x = (None, h, w, self.hidden)
        for norm, lstm in zip(self.norms, self.lstms, strict=True):
            norm.build(x)
            lstm.build(x if self.cell == "fused" else (None, None, h, w, self.hidden))
        for layer in self.decoder:
            layer.build(x)
            x = (None, h, w, self.hidden)
        if self.blend:     # the gate's bias: start by copying the last frame
            bias = np.zeros(self.decoder[-1].bias.shape, np.float32)
            bias[self.channels::self.channels + 1] = GATE_START
            self.decoder[-1].bias.assign(bias)
        self.built = True

    @property
    def _decoded_channels(self) -> int:
        return self.channels + self.blend

    # -- per-frame parts (frames are (B, H, W, C)) ----------------------------------------
    def encode(self, frame):
        h, w = self.grid
        p, ch = self.patch, self.channels
        # Channels last within a patch: with C = 1 this is the grey models' exact layout.
        x = ops.reshape(frame, (-1, h, p, w, p, ch))
        x = ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, h, w, p * p * ch))
        for conv in self.encoder:
            x = conv(x)
        return x

    def decode(self, z, last):
        """The next frame from the core's output `z`; `last` (the frame just read) is what a
        blend model's gate keeps."""
        h, w = self.grid
        p, ch = self.patch, self._decoded_channels
        for layer in self.decoder:
            z = layer(z)
        z = ops.transpose(ops.reshape(z, (-1, h, w, p, p, ch)), (0, 1, 3, 2, 4, 5))
        # The sigmoid and everything after it in float32, also under mixed precision.
        z = ops.sigmoid(ops.cast(ops.reshape(z, (-1, h * p, w * p, ch)), "float32"))
        if not self.blend:
            return z
        gate = z[..., self.channels:]
        return gate * ops.cast(last, "float32") + (1 - gate) * z[..., :self.channels]

    # -- the recurrent core -------------------------------------------------------------
    def _cells(self):
        return self.lstms if self.cell == "fused" else [lstm.cell for lstm in self.lstms]

    def initial_state(self, batch: int):
        """Zero ConvLSTM states for `batch` clips: a list of [h, c] per layer."""
        h, w = self.grid
        zeros = ops.zeros((batch, h, w, self.hidden), dtype=self.compute_dtype)
        return [[zeros, zeros] for _ in self.lstms]

    def _advance(self, z, states):
        new_states = []
        for norm, cell, state in zip(self.norms, self._cells(), states, strict=True):
            out, state = cell(norm(z), state)
            z = z + out
            new_states.append(state)
        return z, new_states

    def step(self, frame, states):
        """Predict the next frame from `frame` (B, H, W, C); returns (prediction, new states)."""
        z, states = self._advance(self.encode(frame), states)
        return self.decode(z, frame), states

    def call(self, frames, training=None):
        time = frames.shape[1]
        if time is None:
            raise ValueError("Prophet.call needs a known number of frames; use step() to roll "
                             "out one frame at a time")
        if training and self.context < time:
            return self._closed_loop_rollout(frames)
        # Encode and decode every frame in one batch; only the recurrent core loops over time.
        batch = ops.shape(frames)[0]
        h, w = self.grid
        flat = ops.reshape(frames, (-1, *self.frame_size, self.channels))
        z = ops.reshape(self.encode(flat), (batch, time, h, w, self.hidden))
        states = self.initial_state(batch)
        outs = []
        for t in range(time):
            out, states = self._advance(z[:, t], states)
            outs.append(out)
        out = self.decode(ops.reshape(ops.stack(outs, axis=1), (-1, h, w, self.hidden)), flat)
        return ops.reshape(out, (batch, time, *self.frame_size, self.channels))

    def _closed_loop_rollout(self, frames):
        batch = ops.shape(frames)[0]
        states = self.initial_state(batch)
        outputs, previous = [], None
        for t in range(frames.shape[1]):
            frame = frames[:, t]
            if t >= self.context:
                coin = keras.random.uniform((batch, 1, 1, 1), seed=self.coins)
                use_own = coin < ops.cast(self.feedback, coin.dtype)
                frame = ops.where(use_own, ops.cast(previous, frame.dtype), frame)
            previous, states = self.step(frame, states)
            outputs.append(previous)
        return ops.stack(outputs, axis=1)

    def multiply_adds(self, frames: int = 1) -> int:
        """Multiply-adds of `frames` steps at batch 1, counted from the convolution kernels:
        every convolution runs once a frame on the `grid` (encoder, each cell's gate
        convolution over concat(input, h), decoder). Normalisation, gates' elementwise maths
        and the space-to-depth reshapes are left out (under 1% here)."""
        convs = [*self.encoder, *(cell.conv for cell in self._cells()
                                  if isinstance(cell, ConvLSTMCell)), *self.decoder[1:]]
        if self.cell != "fused":         # Keras' cell: one kernel on x, one on h, the same sum
            convs += [c for cell in self._cells() for c in (cell.kernel, cell.recurrent_kernel)]
        per_frame = sum(int(np.prod(getattr(c, "kernel", c).shape)) for c in convs)
        return per_frame * self.grid[0] * self.grid[1] * frames

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        config.update(frame_size=list(self.frame_size), patch=self.patch, hidden=self.hidden,
                      depth=self.depth, kernel=self.kernel, context=self.context, cell=self.cell,
                      channels=self.channels, blend=self.blend)
        return config


def _rebuilt(model: Prophet, **changes) -> Prophet:
    """A new, built Prophet with `model`'s config and name, but for `changes`."""
    config = model.get_config()
    for key in ("name", "trainable", "dtype"):
        config.pop(key, None)
    new = Prophet(**{**config, **changes}, name=model.name)
    new.build((None, None, *model.frame_size, model.channels))
    return new


def widened(model: Prophet, hidden: int, seed: int | None = None, spread: float = 0.1) -> Prophet:
    """A fused Prophet `hidden` channels wide that computes the same function as `model`.

    Net2WiderNet (Chen et al., 2016) for this architecture: with `hidden = k x model.hidden`,
    every channel of the residual stream, of each ConvLSTM's h and c and of the decoder is
    copied k times. Weights into a copy are the original's; weights out of the k copies are
    the original's split into k random shares that sum to it (each 1/k, +-`spread`), so every
    consumer computes the same sum, and the copies get different gradients and grow apart.
    LayerNorm sees k copies of the same channels: the same mean and variance. Used by
    `train --init` so a bigger model starts where a trained smaller one stands, not from noise.
    """
    if model.cell != "fused":
        raise ValueError("can only widen a Prophet with the fused cell, not cell='keras'")
    old = model.hidden
    if hidden < old or hidden % old:
        raise ValueError(f"can only widen hidden {old} to a multiple of it, got {hidden}")
    k = hidden // old
    rng = np.random.default_rng(seed)

    def copies(w, axis):                 # each channel along `axis` k times: [w, w, ...]
        return np.concatenate([w] * k, axis=axis)

    def shares(w, axis):                 # split each input channel's weights among its k copies
        r = rng.uniform(1 - spread, 1 + spread, size=(k, *w.shape))
        return np.concatenate(list(w * r / r.sum(axis=0)), axis=axis).astype(w.dtype)

    def gate_copies(w):                  # outputs are gates i, f, c, o: copy within each
        return np.concatenate([copies(g, -1) for g in np.split(w, 4, axis=-1)], axis=-1)

    wide = _rebuilt(model, hidden=hidden)
    (kernel, bias), (kernel2, bias2) = (conv.get_weights() for conv in model.encoder)
    wide.encoder[0].set_weights([copies(kernel, 3), copies(bias, 0)])
    wide.encoder[1].set_weights([copies(shares(kernel2, 2), 3), copies(bias2, 0)])
    for norm, wide_norm in zip(model.norms + model.decoder[:1], wide.norms + wide.decoder[:1],
                               strict=True):
        wide_norm.set_weights([copies(w, 0) for w in norm.get_weights()])
    for cell, wide_cell in zip(model.lstms, wide.lstms, strict=True):
        kernel, bias = cell.conv.get_weights()        # inputs: concat(norm(z), h)
        kernel = np.concatenate([shares(kernel[:, :, :old], 2), shares(kernel[:, :, old:], 2)],
                                axis=2)
        wide_cell.conv.set_weights([gate_copies(kernel), gate_copies(bias)])
    kernel, bias = model.decoder[1].get_weights()
    wide.decoder[1].set_weights([copies(shares(kernel, 2), 3), copies(bias, 0)])
    kernel, bias = model.decoder[2].get_weights()
    wide.decoder[2].set_weights([shares(kernel, 2), bias])
    wide.feedback.assign(model.feedback)
    return wide


def ssim_map(y_true, y_pred, window: int = SSIM_WINDOW):
    """SSIM of every 7x7 window that fits in each frame, as `metrics.ssim` defines it (uniform
    window, sample covariance, K1=0.01, K2=0.03, data range 1), in `keras.ops` so it trains on
    every backend: `(N, T, H, W, C)` -> `(N, T, H - 6, W - 6, C)`, in float32 (each channel on
    its own, as `metrics.ssim` does before it averages them)."""
    shape = ops.shape(y_true)
    # Channels become frames of one channel: (N, T, H, W, C) -> (N * T * C, H, W, 1).
    y_true = ops.transpose(ops.cast(y_true, "float32"), (0, 1, 4, 2, 3))
    y_pred = ops.transpose(ops.cast(y_pred, "float32"), (0, 1, 4, 2, 3))
    x = ops.reshape(y_pred, (-1, shape[2], shape[3], 1))
    y = ops.reshape(y_true, (-1, shape[2], shape[3], 1))
    # The five window means at once (as channels), as two 1-D box filters: on a CPU this
    # trains ~6x faster than `average_pool`, whose gradient dominated the step.
    box = ops.ones((window, 1, 5, 1)) / window
    means = ops.depthwise_conv(ops.concatenate([x, y, x * x, y * y, x * y], axis=-1), box,
                               strides=1, padding="valid")
    means = ops.depthwise_conv(means, ops.reshape(box, (1, window, 5, 1)), strides=1,
                               padding="valid")
    ux, uy, xx, yy, xy = (means[..., i:i + 1] for i in range(5))
    n = window * window
    cov_norm = n / (n - 1)
    vx, vy, vxy = cov_norm * (xx - ux * ux), cov_norm * (yy - uy * uy), cov_norm * (xy - ux * uy)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    s = ops.reshape(s, (shape[0], shape[1], shape[4], *ops.shape(s)[1:3]))
    return ops.transpose(s, (0, 1, 3, 4, 2))


@keras.saving.register_keras_serializable(package="frameprophet")
class BCEPlusSSIM(keras.losses.Loss):
    """BCE per pixel plus `ssim_weight` x (1 - SSIM) per frame. BCE alone is minimised by the
    blurred mean of the futures a frame could have; SSIM (the benchmark's) penalises the blur."""

    def __init__(self, ssim_weight: float = 1.0, name: str = "bce_plus_ssim", **kwargs):
        super().__init__(name=name, **kwargs)
        self.ssim_weight = ssim_weight

    def call(self, y_true, y_pred):
        bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred), axis=(1, 2, 3))
        return bce + self.ssim_weight * (1.0 - ops.mean(ssim_map(y_true, y_pred),
                                                        axis=(1, 2, 3, 4)))

    def get_config(self):
        return {**super().get_config(), "ssim_weight": self.ssim_weight}


GATE_START = 2.0          # a blend model's gate starts at sigmoid(2) = 0.88: mostly the last frame
LOSSES = {"bce": "binary_crossentropy", "mse": "mean_squared_error", "bce+ssim": BCEPlusSSIM}


@recipe("prophet")
def prophet(frame_size=(64, 64), patch: int = 4, hidden: int = 48, depth: int = 3,
            kernel: int = 3, context: int = 10, cell: str = "fused", loss: str = "bce",
            ssim_weight: float = 1.0, learning_rate: float = 1e-3,
            seed: int | None = None, channels: int = 1, blend: bool = False) -> keras.Model:
    """Our flagship: `Prophet`, trained with Adam (clipped) on every output frame.

    `loss` is "bce" (binary cross-entropy), "mse" or "bce+ssim" (BCE plus
    `ssim_weight` x (1 - SSIM), the benchmark's SSIM); the training CLI
    picks the default by measurement (see `train`). `channels` is 1 (grey) or 3 (colour);
    `blend` predicts the change from the last frame (see `Prophet`).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    model = Prophet(frame_size, patch=patch, hidden=hidden, depth=depth, kernel=kernel,
                    context=context, cell=cell, seed=seed, channels=channels, blend=blend,
                    name="prophet")
    model.build((None, None, *frame_size, channels))
    objective = BCEPlusSSIM(ssim_weight) if loss == "bce+ssim" else LOSSES[loss]
    model.compile(loss=objective, optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0))
    return model


def is_stepwise(model: keras.Model) -> bool:
    """True when the model can advance one frame from carried state (O(T) rollout)."""
    return callable(getattr(model, "step", None)) and callable(getattr(model, "initial_state",
                                                                       None))
