"""Per-frame quality, computed the way the video-prediction literature does (OpenSTL).

For batches `(N, T, H, W, C)` in [0, 1] (C = 1 grey, 3 colour), every metric is an array over the
T predicted frames:
- `mse`, `mae`: squared / absolute error **summed** over a frame's pixels (and channels),
  averaged over clips (so a 64x64 grey frame's MSE is the per-pixel MSE x 4096; a colour
  frame's sums three times as many values).
- `ssim`: `skimage.metrics.structural_similarity` per frame (7x7 uniform window, sample
  covariance, K1=0.01, K2=0.03, data_range=1), averaged over clips; on colour, the mean of the
  three channels' SSIM (skimage's `channel_axis=-1`). Reimplemented in NumPy so the library
  needs no scikit-image. A test checks it against skimage.
- `psnr`: 20 log10(1 / sqrt(per-pixel MSE)) per frame, averaged over clips (capped at 100 dB
  for a perfect frame).
- `iou` (squares): intersection over union of prediction and truth, both thresholded at 0.5.
"""

from __future__ import annotations

import numpy as np

SSIM_WINDOW = 7
PSNR_CAP = 100.0
NAMES = ("mse", "mae", "ssim", "psnr", "iou")        # every metric, in report order


def _as_batch(pred, truth) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape")
    if pred.ndim == 4:                                   # one clip (T, H, W, 1)
        pred, truth = pred[None], truth[None]
    if pred.ndim != 5:
        raise ValueError(f"expected (N, T, H, W, C) or (T, H, W, C), got {pred.shape}")
    return pred, truth


def mse(pred, truth) -> np.ndarray:
    """Per-frame summed squared error, mean over clips: shape (T,)."""
    p, t = _as_batch(pred, truth)
    return ((p - t) ** 2).sum(axis=(2, 3, 4)).mean(axis=0)


def mae(pred, truth) -> np.ndarray:
    """Per-frame summed absolute error, mean over clips: shape (T,)."""
    p, t = _as_batch(pred, truth)
    return np.abs(p - t).sum(axis=(2, 3, 4)).mean(axis=0)


def psnr(pred, truth) -> np.ndarray:
    """Per-frame PSNR in dB (peak 1.0), mean over clips: shape (T,)."""
    p, t = _as_batch(pred, truth)
    pixel_mse = ((p - t) ** 2).mean(axis=(2, 3, 4))
    with np.errstate(divide="ignore"):
        db = 20 * np.log10(1.0 / np.sqrt(pixel_mse))
    return np.minimum(db, PSNR_CAP).mean(axis=0)


def _box(x: np.ndarray, size: int) -> np.ndarray:
    """Mean over every size x size window that fits inside the last two axes ("valid")."""
    c = np.cumsum(np.cumsum(x, axis=-2), axis=-1)
    c = np.pad(c, [(0, 0)] * (x.ndim - 2) + [(1, 0), (1, 0)])
    s = (c[..., size:, size:] - c[..., :-size, size:] - c[..., size:, :-size]
         + c[..., :-size, :-size])
    return s / (size * size)


def ssim(pred, truth, data_range: float = 1.0) -> np.ndarray:
    """Per-frame SSIM, mean over clips and channels: shape (T,).

    A colour frame's SSIM is the mean of its channels' SSIM, as skimage's `channel_axis=-1`
    computes it. Matches skimage's default (it averages over the image minus a 3-pixel border,
    which is exactly the set of windows that fit inside the frame).
    """
    p, t = _as_batch(pred, truth)
    p = np.moveaxis(p, -1, 2)                            # (N, T, C, H, W)
    t = np.moveaxis(t, -1, 2)
    if min(p.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs frames of at least {SSIM_WINDOW}x{SSIM_WINDOW}")
    n = SSIM_WINDOW * SSIM_WINDOW
    cov_norm = n / (n - 1)
    ux, uy = _box(p, SSIM_WINDOW), _box(t, SSIM_WINDOW)
    vx = cov_norm * (_box(p * p, SSIM_WINDOW) - ux * ux)
    vy = cov_norm * (_box(t * t, SSIM_WINDOW) - uy * uy)
    vxy = cov_norm * (_box(p * t, SSIM_WINDOW) - ux * uy)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean(axis=(2, 3, 4)).mean(axis=0)


def ssim_openstl(pred, truth) -> np.ndarray:
    """Per-frame SSIM as OpenSTL's code computes it: skimage's `structural_similarity` on float
    frames with the data range skimage assumed for floats, 2 (the span of [-1, 1]), where the
    frames span 1. The larger constants read higher than `ssim` on the same frames. Reported
    beside `ssim`, named, only to set our numbers against OpenSTL's tables."""
    return ssim(pred, truth, data_range=2.0)


def iou(pred, truth, threshold: float = 0.5) -> np.ndarray:
    """Per-frame IoU of `pred > threshold` against `truth > threshold` (every pixel and
    channel), mean over clips.
    A frame where both are empty counts as 1 (nothing to find, nothing found)."""
    p, t = _as_batch(pred, truth)
    a, b = p > threshold, t > threshold
    inter = (a & b).sum(axis=(2, 3, 4))
    union = (a | b).sum(axis=(2, 3, 4))
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1)).mean(axis=0)


def evaluate(pred, truth, squares: bool = False) -> dict[str, np.ndarray]:
    """Every metric of `NAMES` over the horizon ('iou' only for squares)."""
    functions = {"mse": mse, "mae": mae, "ssim": ssim, "psnr": psnr, "iou": iou}
    return {name: functions[name](pred, truth) for name in NAMES if squares or name != "iou"}
