"""Model recipes: the two Keras examples as baselines, and `prophet`, our causal ConvLSTM.

Every recipe maps a batch `(N, T, H, W, 1)` to `(N, T, H, W, 1)`: output t is the prediction of
frame t + 1. `build(recipe, frame_size, **options)` returns a compiled `keras.Model`.

The Keras examples end in `Conv3D(kernel 3x3x3, padding="same")` over time, so output t also
reads the hidden state at t + 1, which has seen the answer: it leaks the future in training and
gets zero padding at inference. `causal=True` pads only the past in time instead
(keras-io PR #2382), so the cost of the leak can be measured.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers, ops

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
    model = _RECIPES[recipe](frame_size=(int(height), int(width)), **options)
    model.recipe = recipe
    return model


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
class Prophet(keras.Model):
    """A strictly causal ConvLSTM for next-frame prediction.

    Per frame: space-to-depth by `patch` (64x64x1 -> 16x16x16), a conv encoder; then a stack of
    pre-norm residual ConvLSTM2D layers (the only part that mixes time, and only forwards); then a
    conv decoder and depth-to-space back to full size, with a sigmoid. Output t depends on frames
    <= t only.

    `call` runs the whole sequence at once. `step` advances one frame from carried states and
    shares every weight with `call`, so a rollout costs O(T). In training, frames after
    `context` are replaced, per clip, by the model's own previous prediction with probability
    `feedback` (scheduled sampling; a callback ramps it up), and gradients flow through those
    predictions: the loss is then a multi-step closed-loop loss, which is what keeps long
    rollouts sharp.
    """

    def __init__(self, frame_size=(64, 64), patch: int = 4, hidden: int = 48, depth: int = 3,
                 kernel: int = 3, context: int = 10, **kwargs):
        super().__init__(**kwargs)
        height, width = frame_size
        if height % patch or width % patch:
            raise ValueError(f"frame size {frame_size} must be divisible by the patch {patch}")
        self.frame_size, self.patch, self.hidden = (int(height), int(width)), patch, hidden
        self.depth, self.kernel, self.context = depth, kernel, context
        self.grid = (height // patch, width // patch)
        self.encoder = [layers.Conv2D(hidden, 3, padding="same", activation="gelu", name="enc1"),
                        layers.Conv2D(hidden, 3, padding="same", name="enc2")]
        self.norms = [layers.LayerNormalization(name=f"norm{i}") for i in range(depth)]
        self.lstms = [layers.ConvLSTM2D(hidden, kernel, padding="same", return_sequences=True,
                                        name=f"convlstm{i}") for i in range(depth)]
        self.decoder = [layers.LayerNormalization(name="dec_norm"),
                        layers.Conv2D(hidden, 3, padding="same", activation="gelu", name="dec1"),
                        layers.Conv2D(patch * patch, 1, name="dec2")]
        self.feedback = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                        name="feedback")

    def build(self, input_shape=None):
        h, w = self.grid
        x = (None, h, w, self.patch * self.patch)
        for conv in self.encoder:
            conv.build(x)
            x = (None, h, w, self.hidden)
        for norm, lstm in zip(self.norms, self.lstms, strict=True):
            norm.build(x)
            lstm.build((None, None, h, w, self.hidden))
        for layer in self.decoder:
            layer.build(x)
            x = (None, h, w, self.hidden)
        self.built = True

    # -- per-frame parts (frames are (B, H, W, 1)) ----------------------------------------
    def encode(self, frame):
        h, w = self.grid
        p = self.patch
        x = ops.reshape(frame, (-1, h, p, w, p))
        x = ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4)), (-1, h, w, p * p))
        for conv in self.encoder:
            x = conv(x)
        return x

    def decode(self, z):
        h, w = self.grid
        p = self.patch
        for layer in self.decoder:
            z = layer(z)
        z = ops.transpose(ops.reshape(z, (-1, h, w, p, p)), (0, 1, 3, 2, 4))
        return ops.sigmoid(ops.reshape(z, (-1, h * p, w * p, 1)))

    # -- the recurrent core -------------------------------------------------------------
    def initial_state(self, batch: int):
        """Zero ConvLSTM states for `batch` clips: a list of [h, c] per layer."""
        h, w = self.grid
        zeros = ops.zeros((batch, h, w, self.hidden))
        return [[zeros, zeros] for _ in self.lstms]

    def step(self, frame, states):
        """Predict the next frame from `frame` (B, H, W, 1); returns (prediction, new states)."""
        z = self.encode(frame)
        new_states = []
        for norm, lstm, state in zip(self.norms, self.lstms, states, strict=True):
            out, state = lstm.cell(norm(z), state)
            z = z + out
            new_states.append(state)
        return self.decode(z), new_states

    def call(self, frames, training=None):
        if training and self.context < frames.shape[1]:
            return self._closed_loop_rollout(frames)
        batch, time = ops.shape(frames)[0], ops.shape(frames)[1]
        h, w = self.grid
        flat = ops.reshape(frames, (-1, *self.frame_size, 1))
        z = ops.reshape(self.encode(flat), (batch, time, h, w, self.hidden))
        for norm, lstm in zip(self.norms, self.lstms, strict=True):
            z = z + lstm(norm(z))
        out = self.decode(ops.reshape(z, (-1, h, w, self.hidden)))
        return ops.reshape(out, (batch, time, *self.frame_size, 1))

    def _closed_loop_rollout(self, frames):
        states = self.initial_state(ops.shape(frames)[0])
        outputs, previous = [], None
        for t in range(frames.shape[1]):
            frame = frames[:, t]
            if t >= self.context:
                coin = keras.random.uniform((ops.shape(frames)[0], 1, 1, 1))
                frame = ops.where(coin < self.feedback, previous, frame)
            previous, states = self.step(frame, states)
            outputs.append(previous)
        return ops.stack(outputs, axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(frame_size=list(self.frame_size), patch=self.patch, hidden=self.hidden,
                      depth=self.depth, kernel=self.kernel, context=self.context)
        return config


@recipe("prophet")
def prophet(frame_size=(64, 64), patch: int = 4, hidden: int = 48, depth: int = 3,
            kernel: int = 3, context: int = 10, learning_rate: float = 1e-3) -> keras.Model:
    """Our flagship: `Prophet`, trained with binary cross-entropy and Adam (clipped)."""
    model = Prophet(frame_size, patch=patch, hidden=hidden, depth=depth, kernel=kernel,
                    context=context, name="prophet")
    model.build((None, None, *frame_size, 1))
    model.compile(loss="binary_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0))
    return model


def is_stepwise(model: keras.Model) -> bool:
    """True when the model can advance one frame from carried state (O(T) rollout)."""
    return callable(getattr(model, "step", None)) and callable(getattr(model, "initial_state",
                                                                       None))
