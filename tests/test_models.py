"""Recipes build and train; Prophet is causal, the Keras examples' head is not."""


import keras
import numpy as np
import pytest
from conftest import TINY_RECIPES

from frameprophet import models


def _clip(n=2, t=6, size=16, seed=0):
    return np.random.default_rng(seed).random((n, t, size, size, 1)).astype(np.float32)


def test_recipes_are_listed():
    assert set(models.recipes()) == {"keras2-squares", "keras3-mnist", "prophet"}
    with pytest.raises(ValueError, match="unknown recipe"):
        models.build("transformer")


@pytest.mark.slow                     # > 5 s of CPU: traces a training step
@pytest.mark.parametrize("recipe", ["keras2-squares", "keras3-mnist", "prophet"])
def test_each_recipe_builds_and_trains_a_step(recipe):
    model = models.build(recipe, (16, 16), **TINY_RECIPES[recipe])
    x = _clip()
    assert tuple(model(x, training=False).shape) == x.shape
    weights = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(x, np.roll(x, -1, axis=1))
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))


def test_seed_recipes_match_the_examples():
    squares = models.build("keras2-squares", (40, 40))
    assert [layer.__class__.__name__ for layer in squares.layers[1:]] == (
        ["ConvLSTM2D", "BatchNormalization"] * 4 + ["Conv3D"])
    assert squares.layers[-1].padding == "same" and squares.layers[-1].kernel_size == (3, 3, 3)
    mnist = models.build("keras3-mnist", (64, 64))
    lstms = [layer for layer in mnist.layers if layer.__class__.__name__ == "ConvLSTM2D"]
    assert [layer.kernel_size for layer in lstms] == [(5, 5), (3, 3), (1, 1)]
    assert mnist.count_params() == 746_689
    assert squares.optimizer.__class__.__name__ == "Adadelta"


def _future_influence(model, t=3):
    """Largest change of outputs <= t when only frame t+1 is changed."""
    x = _clip(n=1, t=7)
    y = np.asarray(model(x, training=False))
    x2 = x.copy()
    x2[:, t + 1] = 1.0 - x2[:, t + 1]
    y2 = np.asarray(model(x2, training=False))
    return np.abs(y2[:, : t + 1] - y[:, : t + 1]).max(), np.abs(y2[:, t + 1:] - y[:, t + 1:]).max()


def test_prophet_is_causal():
    past, future = _future_influence(models.build("prophet", (16, 16), **TINY_RECIPES["prophet"]))
    assert past == 0.0 and future > 0.0


@pytest.mark.parametrize("recipe", ["keras2-squares", "keras3-mnist"])
def test_seed_recipes_see_the_future_unless_causal(recipe):
    # Documents keras-io #1003: the Conv3D(3x3x3, "same") head reads the hidden state at t+1.
    # The size of the leak depends on the random init (tiny heads can leak < 1e-4), so seed
    # it and test the property itself: any influence at all, against exactly none when causal.
    keras.utils.set_random_seed(0)
    leaky, _ = _future_influence(models.build(recipe, (16, 16), **TINY_RECIPES[recipe]))
    assert leaky > 0.0
    keras.utils.set_random_seed(0)
    fixed, later = _future_influence(models.build(recipe, (16, 16), causal=True,
                                                  **TINY_RECIPES[recipe]))
    assert fixed == 0.0 and later > 0.0


def test_prophet_sizes():
    for size in [(40, 40), (64, 64), (32, 48)]:
        model = models.build("prophet", size, **TINY_RECIPES["prophet"])
        x = np.zeros((1, 2, *size, 1), np.float32)
        assert tuple(model(x, training=False).shape) == (1, 2, *size, 1)
    with pytest.raises(ValueError, match="divisible"):
        models.build("prophet", (42, 40))


def test_prophet_closed_loop_training_feeds_predictions_back():
    model = models.build("prophet", (16, 16), context=2, **TINY_RECIPES["prophet"])
    x = _clip(n=2, t=6)
    model.feedback.assign(0.0)
    teacher = np.asarray(model(x, training=True))
    assert np.allclose(teacher, np.asarray(model(x, training=False)), atol=1e-5)
    model.feedback.assign(1.0)
    free = np.asarray(model(x, training=True))
    # Outputs 0 and 1 read true frames; from t = context on, input t is output t-1.
    assert np.allclose(free[:, :2], teacher[:, :2], atol=1e-5)
    assert np.abs(free[:, 2:] - teacher[:, 2:]).max() > 1e-4


# -- the fused cell and precision ------------------------------------------------------------

def _reference_convlstm_step(x, h, c, kernel, bias):
    """A ConvLSTM step written out: separate input and recurrent convolutions, i, f, g, o."""
    filters = h.shape[-1]
    conv = keras.ops.conv
    gates = (conv(x, kernel[:, :, :x.shape[-1]], padding="same")
             + conv(h, kernel[:, :, x.shape[-1]:], padding="same") + bias)
    gates = np.asarray(gates)
    i, f, g, o = (gates[..., k * filters:(k + 1) * filters] for k in range(4))

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def test_fused_cell_matches_a_reference_convlstm_step():
    rng = np.random.default_rng(0)
    cell = models.ConvLSTMCell(5, 3)
    cell.build((None, 8, 8, 3))
    kernel = rng.normal(0, 0.3, (3, 3, 3 + 5, 20)).astype(np.float32)
    bias = rng.normal(0, 0.3, 20).astype(np.float32)
    cell.conv.kernel.assign(kernel)
    cell.conv.bias.assign(bias)
    x, h, c = (rng.normal(size=(2, 8, 8, n)).astype(np.float32) for n in (3, 5, 5))
    out, (h2, c2) = cell(x, [h, c])
    want_h, want_c = _reference_convlstm_step(x, h, c, kernel, bias)
    np.testing.assert_allclose(np.asarray(h2), want_h, atol=1e-5)
    np.testing.assert_allclose(np.asarray(c2), want_c, atol=1e-5)
    np.testing.assert_allclose(np.asarray(out), want_h, atol=1e-5)
    fresh = models.ConvLSTMCell(4)
    fresh.build((None, 8, 8, 2))                      # forget gate starts open (bias 1)
    assert np.asarray(fresh.conv.bias).tolist() == [0.0] * 4 + [1.0] * 4 + [0.0] * 8


@pytest.fixture
def bfloat16_policy():
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_bfloat16")
    yield
    keras.config.set_dtype_policy(previous)


@pytest.mark.slow                     # > 5 s of CPU: traces a training step
def test_prophet_runs_and_stays_causal_under_mixed_bfloat16(bfloat16_policy):
    model = models.build("prophet", (16, 16), context=2, **TINY_RECIPES["prophet"])
    assert model.lstms[0].compute_dtype == "bfloat16"
    past, future = _future_influence(model)
    assert past == 0.0 and future > 0.0
    x = _clip(n=2, t=6)
    model.feedback.assign(1.0)
    out = model(x, training=True)                      # the closed-loop training path
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.isfinite(np.asarray(out)).all()
    assert np.isfinite(model.train_on_batch(x, np.roll(x, -1, axis=1)))
    frame, states = model.step(x[:, 0], model.initial_state(2))
    assert tuple(frame.shape) == (2, 16, 16, 1)


@pytest.mark.slow                     # > 5 s of CPU: traces a training step
def test_a_bfloat16_model_saves_and_loads_in_float32(tmp_path, bfloat16_policy):
    from frameprophet import saving
    from frameprophet.predict import Predictor

    model = models.build("prophet", (16, 16), **TINY_RECIPES["prophet"])
    x = _clip(n=1, t=5)
    model.train_on_batch(x, np.roll(x, -1, axis=1))
    saving.save(model, tmp_path / "m.keras")
    keras.config.set_dtype_policy("float32")
    loaded, _ = saving.load(tmp_path / "m.keras")
    assert {w.dtype for w in loaded.weights} == {"float32"}
    assert loaded.lstms[0].compute_dtype == "float32"
    rolled = Predictor(loaded).rollout(x[0, :3], 4)
    assert rolled.dtype == np.float32 and rolled.shape == (4, 16, 16, 1)
    # float32 inference of bf16-trained weights: close to the bf16 model's own output
    keras.config.set_dtype_policy("mixed_bfloat16")
    np.testing.assert_allclose(rolled, Predictor(model).rollout(x[0, :3], 4), atol=0.05)


def test_the_bench_compares_the_same_maths_in_both_cells():
    # The bench times cell="keras" (Keras' ConvLSTM2D) against the fused cell: one convolution
    # over concat(x, h) with Keras' two kernels stacked along the inputs is the same function.
    old = models.build("prophet", (16, 16), cell="keras", **TINY_RECIPES["prophet"])
    for lstm in old.lstms:                   # weights far from the initial ones, biases too
        lstm.set_weights([np.random.default_rng(1).normal(0, 0.3, w.shape).astype("float32")
                          for w in lstm.get_weights()])
    fused = models.build("prophet", (16, 16), **TINY_RECIPES["prophet"])
    assert fused.count_params() == old.count_params()
    for a, b in zip(old.encoder + old.norms + old.decoder, fused.encoder + fused.norms
                    + fused.decoder, strict=True):
        b.set_weights(a.get_weights())
    for a, b in zip(old.lstms, fused.lstms, strict=True):
        kernel, recurrent, bias = (keras.ops.convert_to_numpy(w) for w in
                                   (a.cell.kernel, a.cell.recurrent_kernel, a.cell.bias))
        b.conv.set_weights([np.concatenate([kernel, recurrent], axis=2), bias])
    x = _clip(n=2, t=6)
    np.testing.assert_allclose(np.asarray(fused(x)), np.asarray(old(x)), atol=1e-5)
    with pytest.raises(ValueError, match="fused"):
        models.widened(old, 16)


@pytest.mark.slow                     # > 5 s of CPU: traces a training step
def test_a_prophet_widens_into_the_same_function_and_its_copies_grow_apart():
    narrow = models.build("prophet", (16, 16), **TINY_RECIPES["prophet"])
    narrow.set_weights([w + np.random.default_rng(1).normal(0, 0.1, w.shape).astype(w.dtype)
                        for w in narrow.get_weights()])
    wide = models.widened(narrow, 16, seed=0)
    assert wide.hidden == 16 and wide.count_params() > 3 * narrow.count_params()
    x = _clip(n=2, t=6)
    np.testing.assert_allclose(np.asarray(wide(x)), np.asarray(narrow(x)), atol=1e-5)
    wide.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(1e-2))
    wide.train_on_batch(x, np.roll(x, -1, axis=1))
    kernel = wide.encoder[0].get_weights()[0]            # channel j and its copy j + 8
    assert not np.allclose(kernel[..., :8], kernel[..., 8:])
    with pytest.raises(ValueError, match="multiple"):
        models.widened(narrow, 12)


def test_the_ssim_loss_term_is_the_benchmark_ssim():
    from frameprophet import metrics
    rng = np.random.default_rng(2)
    truth = rng.random((2, 3, 20, 20, 1)).astype(np.float32)
    pred = np.clip(truth + rng.normal(0, 0.2, truth.shape), 0, 1).astype(np.float32)
    per_frame = keras.ops.convert_to_numpy(models.ssim_map(truth, pred)).mean(axis=(2, 3, 4))
    assert np.allclose(per_frame.mean(axis=0), metrics.ssim(pred, truth), atol=1e-5)
    # the loss is BCE plus 1 - SSIM: a perfect frame leaves only BCE's own entropy term
    bce = float(np.mean(keras.losses.binary_crossentropy(truth, truth)))
    assert np.isclose(float(models.BCEPlusSSIM()(truth, truth)), bce, atol=1e-5)
    assert np.isclose(float(models.BCEPlusSSIM(0.5)(truth, pred)),
                      float(np.mean(keras.losses.binary_crossentropy(truth, pred)))
                      + 0.5 * (1 - metrics.ssim(pred, truth).mean()), atol=1e-4)


@pytest.mark.slow                     # > 5 s of CPU: traces a training step
def test_prophet_trains_on_bce_plus_ssim(tmp_path):
    model = models.build("prophet", (16, 16), **TINY_RECIPES["prophet"], loss="bce+ssim")
    x = _clip()
    assert np.isfinite(model.train_on_batch(x, np.roll(x, -1, axis=1)))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    assert np.allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


def test_multiply_adds_are_counted_from_the_kernels():
    # By hand, hidden 8 on a 4x4 grid (16x16 frames, patch 4): enc1 3*3*16*8, enc2 3*3*8*8,
    # two cells 3*3*(8+8)*(4*8) each, dec1 3*3*8*8, dec2 1*1*8*16; each at 16 grid cells.
    model = models.build("prophet", (16, 16), hidden=8, depth=2)
    per_cell = 9 * 16 * 8 + 9 * 8 * 8 + 2 * 9 * 16 * 32 + 9 * 8 * 8 + 8 * 16
    assert model.multiply_adds() == per_cell * 16
    assert model.multiply_adds(frames=19) == 19 * per_cell * 16
