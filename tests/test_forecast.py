"""One forecast: the right baseline per mode, notes a person needs, batches as well as clips."""

import numpy as np
import pytest

from frameprophet import data, metrics, models
from frameprophet.forecast import BASELINES, baseline, forecast
from frameprophet.predict import Predictor


@pytest.fixture(scope="module")
def predictor():
    model = models.build("prophet", (64, 64), hidden=8, depth=1)
    return Predictor(model, {"dataset": "mnist"})


@pytest.fixture(scope="module")
def clip():
    return data.moving_mnist(1, frames=20, seed=7, split="test")[0]


def test_closed_loop_is_scored_against_copy_last(predictor, clip):
    f = forecast(predictor, clip, 10, 10)
    assert f.prediction.shape == (10, 64, 64, 1) and f.scored == 10
    assert set(f.curves) == {"model", "copy last frame"} and f.baseline == "copy last frame"
    want = metrics.mse(np.repeat(clip[9:10], 10, axis=0), clip[10:])
    np.testing.assert_allclose(f.curves["copy last frame"]["mse"], want)
    np.testing.assert_allclose(f.curves["model"]["mse"], metrics.mse(f.prediction, clip[10:]))
    assert f.notes == [] and f.seconds > 0


def test_teacher_forced_is_scored_against_the_previous_true_frame(predictor, clip):
    f = forecast(predictor, clip, 10, 10, mode="teacher_forced")
    assert f.baseline == BASELINES["teacher_forced"] == "copy previous true frame"
    # frame 10 + k is compared with frame 9 + k: what a one-step predictor gets to read
    want = metrics.mse(clip[9:19], clip[10:20])
    np.testing.assert_allclose(f.curves["copy previous true frame"]["mse"], want)
    closed = forecast(predictor, clip, 10, 10)
    # the one-step baseline is the stronger one on moving digits
    assert want.mean() < closed.curves["copy last frame"]["mse"].mean()
    np.testing.assert_array_equal(baseline(clip[:3], clip[3:6], 3, "teacher_forced"),
                                  clip[2:5])


def test_long_horizons_say_where_the_truth_ends(predictor, clip):
    f = forecast(predictor, clip, 10, 30)
    assert f.prediction.shape[0] == 30 and f.scored == 10
    assert len(f.curves["model"]["mse"]) == 10
    assert any("truth ends at frame 20" in n for n in f.notes)
    t = forecast(predictor, clip, 17, 8, mode="teacher_forced")
    assert t.prediction.shape[0] == 4 and any("stops after 4" in n for n in t.notes)


def test_context_longer_than_the_clip_is_cut(predictor, clip):
    f = forecast(predictor, clip, 25, 3)
    assert f.context.shape[0] == 19 and any("context cut to 19" in n for n in f.notes)


def test_clips_unlike_the_training_data_get_a_note(predictor, clip):
    bright = 1.0 - clip                                  # dark digits on white
    f = forecast(predictor, bright, 10, 2)
    assert any("background is bright" in n for n in f.notes)
    dim = clip * 0.1
    assert any("dark or low in contrast" in n for n in forecast(predictor, dim, 10, 2).notes)


def test_a_batch_is_scored_as_a_whole(predictor):
    clips = data.moving_mnist(3, frames=12, seed=1, split="test")
    f = forecast(predictor, clips, 6, 6, batch=2)
    assert f.prediction.shape == (3, 6, 64, 64, 1)
    single = [forecast(predictor, c, 6, 6).prediction for c in clips]
    np.testing.assert_allclose(f.prediction, np.stack(single), atol=1e-5)
    np.testing.assert_allclose(f.curves["model"]["mse"],
                               metrics.mse(f.prediction, clips[:, 6:]), rtol=1e-6)


@pytest.mark.parametrize("args, message", [
    ((np.zeros((1, 64, 64, 1), np.float32), 1, 1), "at least 2 frames"),
    ((np.zeros((5, 64, 64), np.float32), 2, 2), r"\(T, H, W, 1\)"),
    ((np.zeros((5, 64, 64, 1), np.float32), 0, 2), "at least one context"),
])
def test_what_cannot_be_forecast_is_refused(predictor, args, message):
    with pytest.raises(ValueError, match=message):
        forecast(predictor, *args)
    with pytest.raises(ValueError, match="mode must be one of"):
        forecast(predictor, np.zeros((5, 64, 64, 1), np.float32), 2, 2, mode="sideways")
