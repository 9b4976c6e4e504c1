"""Evaluation on the fixed test split: models against the copy-last-frame and zeros baselines.

`python -m frameprophet evaluate --model mnist --dataset mnist --n 1000 --json out.json
--plot out.png` rolls every model out on the same held-out clips (Moving MNIST:
`data.DIGIT_SPLIT["test"]`, seed `TEST_SEED`; squares: an unseen seed, noisy context and clean
truth) and reports the benchmark metrics per horizon step. `--data PATH` (`run_videos`) does
the same on your own clips: the windows of the files training held out, or of every file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from frameprophet import metrics
from frameprophet.data import (
    DATASETS,
    MNIST_SPEED,
    TEST_SEED,
    clips,
    load_moving_mnist_file,
)
from frameprophet.forecast import BASELINES, baseline, forecast
from frameprophet.natural import MAX_SPEED
from frameprophet.rollout import RolloutPredictor

#: The goal on the standard generator's held-out clips, closed loop (an earlier goal was 60
#: and 0.85, on the old reflecting generator). It has two metrics that pull apart (BCE or MSE
#: training lowers MSE by blurring, which costs SSIM), so "better" is "closer to the goal".
GOALS = {"mnist": {"mse": 55.0, "ssim": 0.86}}
RERUN_CLIPS = 100      # clips for a model that re-runs the whole sequence per frame (O(T^2))


#: The robustness table's worlds per dataset, values `run` arguments. Moving MNIST (held-out
#: digits unless said): the standard test clips, then one change each. Pictures in motion
#: (held-out pictures unless said): the test clips, then one kind of motion alone.
ROBUSTNESS = {
    "mnist": {
        "standard test clips": {},
        "reflecting bounce (the old generator)": {"world": {"bounce": "reflect"}},
        **{f"{k:g}x speed ({k * MNIST_SPEED:g} px a frame)": {"world": {"speed": k * MNIST_SPEED}}
           for k in (1.5, 2)},
        "3 digits": {"world": {"digits": 3}},
        "training classes 0-7 in new movies": {"split": "train"},
    },
    "natural": {
        "held-out pictures in motion": {},
        "still camera, 2 cut-outs moving": {"world": {"speed": 0, "cutouts": 2}},
        f"camera pan only ({MAX_SPEED:g} px a frame)": {"world": {"speed": MAX_SPEED,
                                                                 "cutouts": 0}},
        "nothing moves (noise and light only)": {"world": {"speed": 0, "cutouts": 0}},
        "training pictures in new movies": {"split": "train"},
    },
}


def goal_gap(result: dict, dataset: str) -> float:
    """How far a model's metrics (`{"mse": {"mean": ...}, "ssim": {"mean": ...}}`) are from
    `GOALS[dataset]`, by the worse metric: MSE / goal and (1 - SSIM) / (1 - goal), so 1 or less
    is the goal met. Mean MSE where the dataset has no goal. Shipping and checkpoints use it."""
    goal = GOALS.get(dataset)
    if goal is None:
        return result["mse"]["mean"]
    return max(result["mse"]["mean"] / goal["mse"],
               (1 - result["ssim"]["mean"]) / (1 - goal["ssim"]))


def summarise(per_step: dict[str, np.ndarray]) -> dict:
    return {k: {"mean": float(v.mean()), "per_step": [round(float(x), 4) for x in v]}
            for k, v in per_step.items()}


def score(predictor: RolloutPredictor, dataset: str, context, truth) -> dict:
    """Closed-loop metrics of a predictor and of copy-last on (context, truth), for sidecars."""
    predictor.info.setdefault("dataset", dataset)            # squares are also scored by IoU
    result = forecast(predictor, np.concatenate([context, truth], axis=1), context.shape[1],
                      truth.shape[1])
    return {"model": summarise(result.curves["model"]),
            "copy_last": summarise(result.curves[result.baseline]),
            "clips": int(len(context)), "context": int(context.shape[1]),
            "horizon": int(truth.shape[1]), "mode": "closed_loop"}


def row_metrics(report: dict, label: str) -> dict:
    """Row `label` of a `run` report in the sidecar's `metrics` form (the form `score` returns),
    so a card can quote the scoreboard's own measurement."""
    def metric_keys(entry):
        return {k: v for k, v in entry.items() if k in metrics.NAMES}

    results = report["results"]
    return {"model": metric_keys(results[label]),
            "copy_last": metric_keys(results[BASELINES[report["mode"]]]),
            "clips": int(results[label].get("clips", report["clips"])),
            "context": report["context"], "horizon": report["horizon"], "mode": report["mode"]}


def run(models: list[str], dataset: str, n: int = 1000, context: int | None = None,
        horizon: int | None = None, mode: str = "closed_loop",
        verbose: bool = True, split: str = "test", seed: int = TEST_SEED,
        world: dict | None = None, file: str | None = None) -> dict:
    """Evaluate named models and the baselines; returns the JSON-ready report.

    `seed` makes the clips: `TEST_SEED`, the scoreboard's, unless a choice is being made
    (`make ship` compares models on `SELECT_SEED` clips, so the reported ones stay unbiased).

    Models that can only re-run the growing sequence (O(T^2)) are scored on the first
    `RERUN_CLIPS` clips of the same split, and the report says so. `split="train"` (Moving MNIST)
    makes the same clips from the training digits instead: set against the held-out report,
    it tells how much of the held-out error comes from digits never seen in training.
    `world` changes the generator (`data.clips`: `bounce`, `speed`, `digits`) for robustness
    checks. `file` scores the first `n` sequences of the benchmark's `mnist_test_seq.npy` (or a
    file in its layout) instead of generated clips.
    """
    from frameprophet.predict import load_predictor

    splits = DATASETS[dataset].splits if dataset in DATASETS else {}
    if split not in splits:
        raise ValueError(f"split must be one of {sorted(splits)} for {dataset}, got {split!r}")
    if file is not None:
        if dataset != "mnist":
            raise ValueError("--file is the Moving MNIST benchmark file: use it with mnist")
        whole = load_moving_mnist_file(file, n)
        c = context or DATASETS["mnist"].context
        end = c + (horizon or DATASETS["mnist"].horizon)
        if not 0 < c < end <= whole.shape[1]:
            raise ValueError(f"{file} has {whole.shape[1]} frames a sequence: context {c} + "
                             f"horizon {end - c} must fit")
        ctx, truth = whole[:, :c], whole[:, c:end]
        source, n = f"{Path(file).name}, its first {len(whole)} sequences", len(whole)
    else:
        ctx, truth = clips(dataset, n, seed=seed, context=context, horizon=horizon,
                           split=split, **(world or {}))
        source = splits[split] + "".join(f", {k} {v}" for k, v in (world or {}).items())
    c, horizon = ctx.shape[1], truth.shape[1]
    squares = dataset == "squares"
    report = {"dataset": dataset, "clips": n, "context": int(c), "horizon": horizon,
              "mode": mode, "seed": None if file else seed, "split": source,
              "generator": _generator(dataset, world, file), "results": {}}
    _score(report, [load_predictor(name) for name in models], models, ctx, truth,
           verbose, squares)
    return report


def run_videos(models: list[str], data: str, every_file: bool = False, n: int = 1000,
               context: int | None = None, horizon: int | None = None,
               mode: str = "closed_loop", verbose: bool = True) -> dict:
    """`run` on your own clips (`videos.load`, read at the models' frame size and channels):
    every window (stride context + horizon, default 10 + 10) of the files that training holds
    out of `data` (the same rule: a hash of their names), or with `every_file` of all its files;
    at most `n` windows, spread evenly."""
    from frameprophet import videos
    from frameprophet.predict import load_predictor

    predictors = [load_predictor(name) for name in models]
    shapes = {(p.frame_size, p.channels) for p in predictors}
    if len(shapes) != 1:
        raise ValueError("evaluate --data reads the clips once, at one frame size and colour: "
                         f"these models differ ({', '.join(map(str, sorted(shapes)))})")
    (frame_size, channels), = shapes
    found = videos.load(data, frame_size, context or videos.CONTEXT, horizon or videos.HORIZON,
                        channels=channels, say=print if verbose else None, minimum=1)
    ctx, truth = found.held_out(n, every_file=every_file)
    files = found.info()["files"] if every_file else len(found.info()["held_out_files"])
    report = {"dataset": videos.DATASET, "data": str(data), "clips": int(len(ctx)),
              "context": found.context, "horizon": found.horizon, "mode": mode,
              "split": f"{'all' if every_file else 'the held-out'} {files} file(s) of {data}",
              "files_digest": found.digest, "results": {}}
    for predictor in predictors:
        predictor.info["dataset"] = videos.DATASET
    _score(report, predictors, models, ctx, truth, verbose, squares=False)
    return report


def _score(report: dict, predictors: list[RolloutPredictor], names: list[str], ctx: np.ndarray,
           truth: np.ndarray, verbose: bool, squares: bool) -> None:
    """Add the baselines' and every model's per-step metrics on (ctx, truth) to `report`."""
    import keras

    mode, n, c, horizon = report["mode"], len(ctx), ctx.shape[1], truth.shape[1]
    whole = np.concatenate([ctx, truth], axis=1)
    baselines = {BASELINES[mode]: baseline(ctx, truth, horizon, mode),
                 "zeros": np.zeros_like(truth)}
    for name, pred in baselines.items():
        report["results"][name] = summarise({**metrics.evaluate(pred, truth, squares=squares),
                                             **_openstl(pred, truth, report["dataset"])})
    for name, predictor in zip(names, predictors, strict=True):
        count = min(n, RERUN_CLIPS) if predictor.quadratic else n
        bar = keras.utils.Progbar(count, unit_name="clip", verbose=1 if verbose else 0)
        if verbose:
            print(f"{name}: {predictor.method}, {count} clips")
        predictor.info.setdefault("dataset", report["dataset"])
        result = forecast(predictor, whole[:count], c, horizon, mode=mode, progress=bar.update)
        entry = summarise({**result.curves["model"],
                           **_openstl(result.prediction, result.truth, report["dataset"])})
        entry.update(clips=count, method=predictor.method, recipe=predictor.info.get("recipe"),
                     model=name)
        # A file path is labelled by its stem in tables and plots ("squares-onestep"), unless
        # that would overwrite a row already there (weights/mnist.keras beside runs/x/mnist.keras).
        label = Path(name).stem if name.endswith(".keras") else name
        label = name if label in report["results"] else label
        report["results"][label] = entry


def robustness(models: list[str], n: int = 200, verbose: bool = False, dataset: str = "mnist"
               ) -> dict:
    """Every model and copy-last on each world of `ROBUSTNESS[dataset]` (n clips each, closed
    loop, 10 -> 10): `{"clips": n, "worlds": {world: {label: {"mse": .., "ssim": ..}}}}`."""
    worlds = {}
    for world, settings in ROBUSTNESS[dataset].items():
        report = run(models, dataset, n=n, verbose=verbose, **settings)
        worlds[world] = {label: {"mse": e["mse"]["mean"], "ssim": e["ssim"]["mean"]}
                         for label, e in report["results"].items() if label != "zeros"}
    return {"clips": n, "context": report["context"], "horizon": report["horizon"],
            "seed": TEST_SEED, "worlds": worlds}


def robustness_of(report: dict, label: str) -> dict:
    """One model's rows of a robustness report, with copy-last's, for its sidecar and card:
    `{"clips", "context", "horizon", "seed", "worlds": {world: {"model": .., "copy_last": ..}}}`."""
    return {**{key: report[key] for key in ("clips", "context", "horizon", "seed")},
            "worlds": {world: {"model": row[label], "copy_last": row["copy last frame"]}
                       for world, row in report["worlds"].items()}}


def robustness_table(report: dict) -> list[str]:
    """The robustness report as Markdown table lines: a row per world, MSE / SSIM per model."""
    labels = list(next(iter(report["worlds"].values())))
    lines = ["| world | " + " | ".join(f"{label} MSE / SSIM" for label in labels) + " |",
             "|---|" + "---|" * len(labels)]
    for world, row in report["worlds"].items():
        cells = " | ".join(f"{row[k]['mse']:.1f} / {row[k]['ssim']:.3f}" for k in labels)
        lines.append(f"| {world} | {cells} |")
    return lines


def _generator(dataset: str, world: dict | None, file: str | None) -> str | None:
    """Which generator made the clips, for reports that must not mix two."""
    if file is not None or dataset != "mnist":
        return None
    return {"clamp": "standard", "reflect": "reflecting"}[(world or {}).get("bounce", "clamp")]


def _openstl(pred: np.ndarray, truth: np.ndarray, dataset: str) -> dict:
    """Moving MNIST reports also carry OpenSTL's reading of SSIM (`metrics.ssim_openstl`)."""
    return {"ssim_openstl": metrics.ssim_openstl(pred, truth)} if dataset == "mnist" else {}


def plot(report: dict, path: str | Path) -> Path:
    """The scoreboard's picture: `plots.quality_plot` with a panel per metric."""
    from frameprophet.plots import quality_plot

    curves = {name: {k: v["per_step"] for k, v in entry.items() if k in metrics.NAMES}
              for name, entry in report["results"].items()}
    keys = tuple(k for k in metrics.NAMES if k in next(iter(curves.values())))
    trained = report.get("split") == DATASETS["mnist"].splits["train"]
    which = "clips of the training digits" if trained else "test clips"
    return quality_plot(curves, path, metrics=keys,
                        title=f"{report['dataset']}: {report['context']} -> {report['horizon']} "
                              f"frames, {report['mode']}, {report['clips']} {which}")


def save_json(report: dict, path: str | Path) -> Path:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
    return Path(path)
