"""Evaluation on the fixed test split: models against the copy-last-frame and zeros baselines.

`python -m frameprophet evaluate --model mnist --dataset mnist --n 1000 --json out.json
--plot out.png` rolls every model out on the same held-out clips (Moving MNIST: digits
4000..4999 only, seed `TEST_SEED`; squares: an unseen seed, noisy context and clean truth) and
reports the benchmark metrics per horizon step.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from frameprophet import data, metrics
from frameprophet.predict import Predictor, copy_last

PROTOCOL = {  # frames per clip for training, context frames, frames to predict, frame size
    "squares": {"frames": 15, "context": 7, "horizon": 8, "frame_size": (40, 40)},
    "mnist": {"frames": 20, "context": 10, "horizon": 10, "frame_size": (64, 64)},
}
VAL_SEED = 1_000_003
TEST_SEED = 2_000_003


def clips(dataset: str, n: int, seed: int = TEST_SEED, split: str = "test",
          context: int | None = None, horizon: int | None = None):
    """(context, truth) arrays for a dataset. `split="test"` gives the held-out clips."""
    if dataset not in PROTOCOL:
        raise ValueError(f"dataset must be one of {sorted(PROTOCOL)}, got {dataset!r}")
    p = PROTOCOL[dataset]
    c, h = context or p["context"], horizon or p["horizon"]
    if dataset == "squares":
        noisy, clean_next = data.moving_squares(n, frames=c + h, seed=seed)
        return noisy[:, :c], clean_next[:, c - 1:c - 1 + h]     # clean_next[t] = frame t + 1
    movies = data.moving_mnist(n, frames=c + h, seed=seed, split=split)
    return movies[:, :c], movies[:, c:]


def rollouts(predictor: Predictor, context: np.ndarray, horizon: int, mode: str = "closed_loop",
             truth: np.ndarray | None = None, batch: int = 32, progress=None) -> np.ndarray:
    """Roll a predictor out over many clips in batches; `progress(done)` after each batch."""
    out = []
    for i in range(0, len(context), batch):
        out.append(predictor.rollout(context[i:i + batch], horizon, mode=mode,
                                     truth=None if truth is None else truth[i:i + batch]))
        if progress:
            progress(min(i + batch, len(context)))
    return np.concatenate(out)


def summarise(per_step: dict[str, np.ndarray]) -> dict:
    return {k: {"mean": float(v.mean()), "per_step": [round(float(x), 4) for x in v]}
            for k, v in per_step.items()}


def score(predictor: Predictor, dataset: str, context, truth) -> dict:
    """Closed-loop metrics of a predictor and of copy-last on (context, truth), for sidecars."""
    squares = dataset == "squares"
    horizon = truth.shape[1]
    pred = rollouts(predictor, context, horizon)
    return {"model": summarise(metrics.evaluate(pred, truth, squares=squares)),
            "copy_last": summarise(metrics.evaluate(copy_last(context, horizon), truth,
                                                    squares=squares)),
            "clips": int(len(context)), "context": int(context.shape[1]), "horizon": horizon,
            "mode": "closed_loop"}


def run(models: list[str], dataset: str, n: int = 1000, context: int | None = None,
        horizon: int | None = None, mode: str = "closed_loop", n_rerun: int = 100,
        verbose: bool = True) -> dict:
    """Evaluate named models and the baselines; returns the JSON-ready report.

    Models that can only re-run the growing sequence (O(T^2)) are scored on the first
    `n_rerun` clips of the same split, and the report says so.
    """
    import keras

    from frameprophet.predict import load_predictor

    ctx, truth = clips(dataset, n, context=context, horizon=horizon)
    horizon = truth.shape[1]
    squares = dataset == "squares"
    report = {"dataset": dataset, "clips": n, "context": int(ctx.shape[1]), "horizon": horizon,
              "mode": mode, "seed": TEST_SEED,
              "split": "MNIST digits 4000..4999" if dataset == "mnist" else "unseen seed",
              "results": {}}
    baselines = {"copy last frame": copy_last(ctx, horizon), "zeros": np.zeros_like(truth)}
    for name, pred in baselines.items():
        report["results"][name] = summarise(metrics.evaluate(pred, truth, squares=squares))
    for name in models:
        predictor = load_predictor(name)
        count = n if predictor.stepwise else min(n, n_rerun)
        bar = keras.utils.Progbar(count, unit_name="clip", verbose=1 if verbose else 0)
        if verbose:
            print(f"{name}: {predictor.method}, {count} clips")
        pred = rollouts(predictor, ctx[:count], horizon, mode=mode, truth=truth[:count],
                        progress=bar.update)
        entry = summarise(metrics.evaluate(pred, truth[:count], squares=squares))
        entry.update(clips=count, method=predictor.method, recipe=predictor.info.get("recipe"),
                     model=name)
        # A file path is labelled by its stem in tables and plots ("squares-onestep").
        label = Path(name).stem if name.endswith(".keras") else name
        report["results"][label] = entry
    return report


def plot(report: dict, path: str | Path) -> Path:
    """One panel per metric, metric vs horizon step, a line per model or baseline."""
    from matplotlib.figure import Figure

    keys = [k for k in ("mse", "mae", "ssim", "psnr", "iou")
            if k in next(iter(report["results"].values()))]
    fig = Figure(figsize=(4 * len(keys), 3.4), layout="constrained")
    steps = np.arange(1, report["horizon"] + 1)
    for ax, key in zip(fig.subplots(1, len(keys), squeeze=False)[0], keys, strict=True):
        for name, entry in report["results"].items():
            dashed = name in ("copy last frame", "zeros")
            ax.plot(steps, entry[key]["per_step"], "--" if dashed else "-o", ms=3, label=name)
        ax.set_title(key.upper() + (" (summed over pixels)" if key in ("mse", "mae") else ""))
        ax.set_xlabel("predicted frame")
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize=8)
    fig.suptitle(f"{report['dataset']}: {report['context']} -> {report['horizon']} frames, "
                 f"{report['mode']}, {report['clips']} test clips")
    fig.savefig(path, dpi=110)
    return Path(path)


def save_json(report: dict, path: str | Path) -> Path:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
    return Path(path)
