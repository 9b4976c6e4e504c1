"""Metrics follow the benchmark definitions; SSIM matches scikit-image."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from frameprophet import data, metrics


def test_mse_and_mae_are_summed_over_pixels_and_averaged_over_clips():
    rng = np.random.default_rng(0)
    pred, truth = rng.random((3, 4, 8, 8, 1)), rng.random((3, 4, 8, 8, 1))
    err = pred - truth
    assert np.allclose(metrics.mse(pred, truth), [np.mean([np.sum(err[n, t] ** 2)
                                                           for n in range(3)]) for t in range(4)])
    assert np.allclose(metrics.mae(pred, truth), np.abs(err).sum(axis=(2, 3, 4)).mean(axis=0))
    assert metrics.mse(np.ones((1, 1, 64, 64, 1)), np.zeros((1, 1, 64, 64, 1)))[0] == 4096


@pytest.mark.parametrize("kind", ["random", "mnist"])
def test_ssim_matches_skimage(kind):
    rng = np.random.default_rng(1)
    if kind == "random":
        truth = rng.random((2, 3, 40, 40, 1))
        pred = np.clip(truth + rng.normal(0, 0.2, truth.shape), 0, 1)
    else:
        clips = data.moving_mnist(2, frames=6, seed=0, split="test")
        truth, pred = clips[:, 3:], clips[:, 2:5]           # real frames, one step apart
    ours = metrics.ssim(pred, truth)
    theirs = [np.mean([structural_similarity(pred[n, t, :, :, 0], truth[n, t, :, :, 0],
                                             data_range=1.0) for n in range(2)])
              for t in range(pred.shape[1])]
    assert np.allclose(ours, theirs, atol=1e-6)
    # OpenSTL's reading: skimage on float frames with the range it assumed for floats, 2.
    openstl = [np.mean([structural_similarity(pred[n, t, :, :, 0], truth[n, t, :, :, 0],
                                              data_range=2.0) for n in range(2)])
               for t in range(pred.shape[1])]
    assert np.allclose(metrics.ssim_openstl(pred, truth), openstl, atol=1e-6)
    assert (metrics.ssim_openstl(pred, truth) > ours).all()        # it reads higher


def test_psnr_and_iou():
    truth = np.zeros((1, 2, 8, 8, 1))
    pred = truth.copy()
    pred[0, 0] = 0.1                                         # per-pixel MSE 0.01 -> 20 dB
    assert np.isclose(metrics.psnr(pred, truth)[0], 20.0)
    assert metrics.psnr(pred, truth)[1] == metrics.PSNR_CAP  # perfect frame is capped
    a = np.zeros((1, 1, 8, 8, 1))
    b = a.copy()
    a[0, 0, :4, :4] = 1
    b[0, 0, :4, 2:6] = 1
    assert np.isclose(metrics.iou(a, b)[0], 8 / 24)
    assert metrics.iou(np.zeros_like(a), np.zeros_like(a))[0] == 1.0


def test_evaluate_returns_every_metric_over_the_horizon():
    clips = data.moving_mnist(2, frames=6, seed=0, split="test")
    out = metrics.evaluate(clips[:, 1:], clips[:, :-1])
    assert set(out) == {"mse", "mae", "ssim", "psnr"} and all(v.shape == (5,) for v in out.values())
    assert "iou" in metrics.evaluate(clips[:, 1:], clips[:, :-1], squares=True)
    with pytest.raises(ValueError, match="shape"):
        metrics.evaluate(clips[:, 1:], clips[:, :-2])
