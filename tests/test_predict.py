"""Rollouts: stepwise O(T) equals the full pass; both modes; fallbacks; clear errors."""

import numpy as np
import pytest

from frameprophet import models
from frameprophet.forecast import baseline
from frameprophet.predict import Predictor


@pytest.fixture(scope="module")
def prophet():
    return models.build("prophet", (16, 16), hidden=8, depth=2)


def _clips(n=2, t=8, seed=0):
    return np.random.default_rng(seed).random((n, t, 16, 16, 1)).astype(np.float32)


def _rerun_closed_loop(model, context, horizon):
    """The Keras 3 example's way: re-run the growing sequence, keep the last output."""
    seq = context
    for _ in range(horizon):
        nxt = np.asarray(model(seq, training=False))[:, -1:]
        seq = np.concatenate([seq, nxt], axis=1)
    return seq[:, context.shape[1]:]


def test_stepwise_teacher_forced_equals_the_full_pass(prophet):
    clips = _clips()
    predictor = Predictor(prophet)
    assert predictor.stepwise and "O(T)" in predictor.method
    pred = predictor.rollout(clips[:, :5], 3, mode="teacher_forced", truth=clips[:, 5:])
    full = np.asarray(prophet(clips, training=False))
    assert np.abs(pred - full[:, 4:7]).max() < 1e-4


def test_stepwise_closed_loop_equals_rerunning_the_sequence(prophet):
    clips = _clips()
    pred = Predictor(prophet).rollout(clips[:, :4], 5)
    assert pred.shape == (2, 5, 16, 16, 1) and pred.dtype == np.float32
    assert np.abs(pred - _rerun_closed_loop(prophet, clips[:, :4], 5)).max() < 1e-4


def test_single_clip_and_batch_agree(prophet):
    clips = _clips()
    predictor = Predictor(prophet)
    one = predictor.rollout(clips[1, :4], 3)
    assert one.shape == (3, 16, 16, 1)
    assert np.abs(one - predictor.rollout(clips[:, :4], 3)[1]).max() < 1e-5


@pytest.mark.parametrize("recipe, options", [
    ("keras3-mnist", {"filters": 4}), ("keras3-mnist", {"filters": 4, "causal": True}),
    ("keras2-squares", {"filters": 3})], ids=["keras3", "keras3-causal", "keras2"])
def test_the_examples_recipes_are_stepped_exactly_as_rerunning_them(recipe, options):
    """Their ConvLSTM2D states carried and a window of frames for the Conv3D head: O(T) work,
    and the same frames as re-running the growing sequence, in both modes."""
    model = models.build(recipe, (16, 16), **options)
    rng = np.random.default_rng(1)
    for layer in model.layers:              # statistics that change what BatchNorm does
        if hasattr(layer, "moving_variance"):
            layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2, layer.moving_variance.shape))
    predictor = Predictor(model)
    assert not predictor.stepwise and not predictor.quadratic and "O(T)" in predictor.method
    clips = _clips()
    closed = predictor.rollout(clips[:, :4], 3)
    assert np.abs(closed - _rerun_closed_loop(model, clips[:, :4], 3)).max() < 1e-5
    forced = predictor.rollout(clips[:, :4], 3, mode="teacher_forced", truth=clips[:, 4:])
    # Teacher forcing: frame 4+k is predicted from the true frames 0..3+k (the last output of
    # that exact prefix, so the non-causal head cannot peek at the answer).
    for k in range(3):
        expected = np.asarray(model(clips[:, :4 + k], training=False))[:, -1]
        assert np.abs(forced[:, k] - expected).max() < 1e-5


def test_other_models_without_a_step_fall_back_to_rerunning_and_say_so():
    import keras

    inputs = keras.Input((None, 16, 16, 1))     # a head over time, but not after a ConvLSTM
    x = keras.layers.Conv3D(2, 3, padding="same")(inputs)
    model = keras.Model(inputs, keras.layers.Conv3D(1, 3, padding="same",
                                                    activation="sigmoid")(x))
    predictor = Predictor(model)
    assert predictor.quadratic and "re-run" in predictor.method and "O(T^2)" in predictor.method
    clips = _clips()
    closed = predictor.rollout(clips[:, :4], 3)
    assert np.abs(closed - _rerun_closed_loop(model, clips[:, :4], 3)).max() < 1e-5


def test_bad_inputs_get_clear_errors(prophet):
    predictor = Predictor(prophet)
    with pytest.raises(ValueError, match="16x16"):
        predictor.rollout(np.zeros((4, 20, 20, 1), np.float32), 2)
    with pytest.raises(ValueError, match=r"\(T, H, W, 1\)"):
        predictor.rollout(np.zeros((4, 16, 16), np.float32), 2)
    with pytest.raises(ValueError, match="truth"):
        predictor.rollout(_clips()[:, :4], 2, mode="teacher_forced")
    with pytest.raises(ValueError, match="mode"):
        predictor.rollout(_clips()[:, :4], 2, mode="dream")
    with pytest.raises(ValueError, match="horizon"):
        predictor.rollout(_clips()[:, :4], 0)


def test_copy_last_baseline():
    clips = _clips()
    out = baseline(clips[:, :4], clips[:, 4:], 3, "closed_loop")
    assert out.shape == (2, 3, 16, 16, 1)
    assert all(np.array_equal(out[:, k], clips[:, 3]) for k in range(3))
    assert baseline(clips[0, :4], clips[0, 4:], 2, "closed_loop").shape == (2, 16, 16, 1)


def test_memory_is_what_the_states_carry_during_a_rollout():
    model = models.build("prophet", (16, 16), hidden=8, depth=2)
    predictor = Predictor(model)
    clip = _clips()[0]
    prediction, memory = predictor.memory(clip[:4], 3)
    np.testing.assert_allclose(prediction, predictor.rollout(clip[:4], 3), atol=1e-5)
    assert memory.shape == (4 + 3 - 1, 2, 4, 4) and (memory >= 0).all()
    # causal: what it holds after frame 2 does not depend on frame 3
    changed = clip.copy()
    changed[3] = 1 - changed[3]
    _, other = predictor.memory(changed[:4], 3)
    np.testing.assert_allclose(memory[:3], other[:3], atol=1e-6)
    assert np.abs(memory[3] - other[3]).max() > 0
    keras3 = Predictor(models.build("keras3-mnist", (16, 16), filters=4))
    with pytest.raises(ValueError, match="only stepwise models"):
        keras3.memory(clip[:4], 3)
