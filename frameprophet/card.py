"""The model card: one renderer for `weights/NAME.md` and the Hub's README.

Everything comes from the sidecar that `saving.save` wrote (recipe, data, every training run
with its hardware and curve, held-out metrics), so a card never says what the file does not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from frameprophet import metrics
from frameprophet.data import DATASETS
from frameprophet.zoo import EXAMPLE_RECIPES, MODELS

if TYPE_CHECKING:    # matplotlib is imported only when a curve is drawn
    from matplotlib.figure import Figure


def plot_curve(runs: list[dict], path: str | os.PathLike) -> Path:
    """Validation MSE against sequences seen, one colour per run."""
    curve_figure(runs).savefig(path, dpi=100)
    return Path(path)


#: Runs the card's second panel zooms in on: with twenty runs the whole history is a long
#: decay, and what a reader wants to see is what the last few continuations still gain.
RECENT_RUNS = 5


def curve_figure(runs: list[dict]) -> Figure:
    """The figure `plot_curve` saves: every run on log axes, and (past `RECENT_RUNS` runs) a
    linear panel of the last few. Runs are coloured in order along viridis, so a colour never
    repeats (matplotlib's default cycle does after 10) and later runs read as later; a colour
    bar numbered by run stands in for a legend, which outgrows the plot at twenty runs."""
    from matplotlib import cm, colormaps, colors
    from matplotlib.figure import Figure

    n = max(1, len(runs))
    palette = [colormaps["viridis"](0.9 * k / max(1, n - 1)) for k in range(n)]  # run k + 1
    drawn = [(i, r) for i, r in enumerate(runs) if r.get("curve")]
    recent = drawn[-RECENT_RUNS:] if len(drawn) > RECENT_RUNS else []
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    axes = fig.subplots(1, 2 if recent else 1, squeeze=False,
                        width_ratios=[3, 2] if recent else None)[0]
    for ax, shown in zip(axes, (drawn, recent), strict=False):
        for i, r in shown:
            x, y = zip(*r["curve"], strict=True)
            ax.plot(x, y, "-", lw=1.2, color=palette[i],
                    label=f"run {i + 1}: {r.get('started', '?')[:10]}, "
                    f"{r.get('wall_minutes', '?')} min, {r.get('precision', '?')}")
        ax.set_xlabel("sequences seen")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("validation MSE (closed loop)")
    axes[0].set_yscale("log")
    axes[0].set_title(f"all {len(drawn)} runs", fontsize=9)
    for i, r in recent:                               # where each run ended: what it shipped
        x, y = r["curve"][-1]
        axes[1].plot([x], [y], "o", ms=3, color=palette[i])
        axes[1].annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(0, -11),
                         ha="center", fontsize=7)
    if recent:
        axes[1].set_title(f"the last {len(recent)} runs (dot: where each ended)", fontsize=9)
    runs_scale = cm.ScalarMappable(colors.BoundaryNorm([k + 0.5 for k in range(n + 1)], n),
                                   colors.ListedColormap(palette))
    bar = fig.colorbar(runs_scale, ax=list(axes), label="run", pad=0.01, aspect=30,
                       ticks=range(1, n + 1, -(-n // 10)))
    bar.ax.tick_params(labelsize=7)
    return fig


def write_card(model_path: str | os.PathLike, meta: dict) -> Path:
    """Write the model card `NAME.md` (and `NAME_curve.png`) beside a model file from its sidecar.

    The one card renderer: the Hub's README is this text with front matter on top.
    """
    from frameprophet import saving

    path = Path(model_path).with_suffix(".md")
    shipped = path.parent.resolve() == saving.WEIGHTS_DIR.resolve()
    path.write_text(card_text(meta, path.stem, curve_dir=path.parent,
                              load_as=path.stem if shipped else str(model_path)))
    return path


def card_text(meta: dict, name: str, curve_dir: Path | None = None,
              load_as: str | None = None) -> str:
    """The card's Markdown: what the model is, what it saw, how good it is on which protocol,
    its limits and, given the name or path that loads it (`load_as`), how to use it (the Hub
    card says that its own way); then the runs that made it. With `curve_dir`, the validation
    curve is drawn there and linked."""
    runs = training_runs(meta)
    sections = [f"# {name}\n\n{_what_it_is(meta, name)}\n", _what_it_saw(meta, runs),
                _how_good(meta), _robustness_text(meta.get("robustness")), _limits(meta),
                _how_to_use(meta, load_as) if load_as else "", _lineage(runs, name, curve_dir),
                f"File sha256 `{meta.get('sha256')}`. Regenerate the full scoreboard with "
                "`make scoreboard`.\n"]
    return "\n".join(section.strip("\n") + "\n" for section in sections if section)


def _shape(meta: dict) -> tuple[str, int]:
    """('64x64', channels) of the frames a model reads, as its sidecar says."""
    size = "x".join(str(side) for side in meta.get("frame_size") or ["?", "?"])
    data = meta.get("data") or {}
    protocol = DATASETS.get(meta.get("dataset"))
    channels = data.get("channels") or (protocol.channels if protocol else 1)
    return size, int(channels)


def _what_it_is(meta: dict, name: str) -> str:
    """The model in a sentence (its line in `zoo.MODELS`, for a model by a known name),
    then its recipe, size and the frames it reads and predicts."""
    entry = MODELS.get(name)
    recipe, parameters = meta.get("recipe"), meta.get("parameters")
    size, channels = _shape(meta)
    count = f"{parameters:,}" if isinstance(parameters, int) else "?"
    kind = ("FrameProphet's `prophet` recipe, a causal ConvLSTM" if recipe == "prophet"
            else EXAMPLE_RECIPES.get(recipe, f"the `{recipe}` recipe"))
    return ((f"{entry.description} " if entry else "")
            + f"A next-frame video predictor of {count} parameters, {kind}. It reads "
            f"{meta.get('context', '?')} {'colour' if channels == 3 else 'grey'} {size} frames "
            f"and predicts the next {meta.get('horizon', '?')}, each prediction fed back as its "
            "next input (closed loop).")


def _what_it_saw(meta: dict, runs: list[dict]) -> str:
    t, last = meta.get("training", {}), (runs[-1] if runs else {})
    data, dataset = meta.get("data"), meta.get("dataset")
    source = (_data_text(data) if data else DATASETS[dataset].about if dataset in DATASETS
              else "Data generated on the fly. ")
    ends = averaged_runs(last, len(runs))
    averaged = (f" The weights are the mean of the ends of {ends} (stochastic weight averaging: "
                "`python -m frameprophet average`)." if ends else "")
    return (f"## What it saw\nTrained on **{dataset}**. {source}In total "
            f"**{_number(t.get('sequences_seen'))} sequences, {_number(t.get('steps'))} steps, "
            f"{t.get('wall_minutes')} min** over {len(runs)} run(s) of `python -m frameprophet "
            f"train`. Objective: {last.get('objective')}.{averaged}{_layout_text(last)}\n")


def _number(value) -> str:
    """1,944,144 for an int; anything else as it is."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def _how_good(meta: dict) -> str:
    m = meta.get("metrics") or {}
    if not m.get("model"):
        return ""
    rows = [f"| {key.upper()} | {m['model'][key]['mean']:.4g} | "
            f"{m['copy_last'][key]['mean']:.4g} |"
            for key in metrics.NAMES if key in m["model"]]
    per_step = ", ".join(f"{x:.1f}" for x in m["model"].get("mse", {}).get("per_step", []))
    return f"""## How good it is
Held-out metrics: closed loop, {m.get('context')} -> {m.get('horizon')} frames, \
{m.get('clips')} test clips ({_test_split(meta)}), float32, benchmark definitions (MSE/MAE \
summed over a frame's pixels; mean over the horizon).

| metric | this model | copy last frame |
|---|---|---|
{chr(10).join(rows)}

MSE per predicted frame: {per_step}
"""


def _test_split(meta: dict) -> str:
    """Which clips a model's held-out metrics were measured on."""
    if meta.get("data"):
        return (f"windows of the {len(meta['data']['held_out_files'])} held-out files, which "
                "also chose the checkpoint")
    dataset = DATASETS.get(meta.get("dataset"))
    return dataset.splits["test"] if dataset else "an unseen seed"


def _limits(meta: dict) -> str:
    """Where the model fails: the limits measured at shipping, the blur that grows with the
    horizon, and what a clip unlike its own becomes."""
    size, channels = _shape(meta)
    lines = list(meta.get("limits") or [])
    mse = (meta.get("metrics") or {}).get("model", {}).get("mse", {}).get("per_step") or []
    if len(mse) > 1:
        lines.append(f"Its error grows with every frame it predicts from its own predictions: "
                     f"MSE {mse[0]:.1f} on the first predicted frame, {mse[-1]:.1f} on the "
                     f"{len(mse)}th.")
    if meta.get("dataset") in ("mnist", "squares"):
        lines.append("It knows light shapes moving on black: clips with a bright or textured "
                     "background get weak forecasts (the page and the CLI say so).")
    lines.append(f"Other clips are fitted into {size} frames (aspect kept, black bars)"
                 + ("." if channels == 3 else " and made grey (luminance)."))
    return "## Limits\n" + "".join(f"- {line}\n" for line in lines)


def _how_to_use(meta: dict, load_as: str) -> str:
    """The Python and the command lines that use the model, loaded as `load_as` (its short
    name in weights/, or its path)."""
    dataset, context = meta.get("dataset"), meta.get("context") or 10
    horizon = meta.get("horizon") or 10
    if dataset in DATASETS:
        clip = f'context, truth = data.clips("{dataset}", 1)      # a held-out test clip'
        source = f"{dataset}:3"
    else:
        size, channels = _shape(meta)
        clip = (f'context = io.read_clip("my_clip.mp4", frame_size=({size.replace("x", ", ")})'
                f", channels={channels})[None, :{context}]")
        source = "my_clip.mp4"
    scored = f"--dataset {dataset}" if dataset in DATASETS else "--data my_clips/"
    needs = "data" if dataset in DATASETS else "io"
    return f"""## How to use it
In a clone of FrameProphet (`pip install -e .`):

```python
from frameprophet import {needs}, load_predictor

predictor = load_predictor("{load_as}")        # safe-mode load, sha256 checked
{clip}
future = predictor.rollout(context[0], horizon={horizon})
```

```bash
python -m frameprophet predict {source} --model {load_as} --out forecast.gif
python -m frameprophet evaluate --model {load_as} {scored}
```
"""


def _lineage(runs: list[dict], name: str, curve_dir: Path | None) -> str:
    """The runs that made the weights, the last one's configuration, the validation curve."""
    if not runs:
        return ""
    last = runs[-1]
    run_rows = "\n".join(
        f"| {i + 1} | {r.get('started', '?')[:16]} | {r.get('wall_minutes')} min | "
        f"{r.get('sequences')} | {r.get('sequences_per_second', '?')} | "
        f"{r.get('precision', '?')} | {r.get('hardware')} | {_run_note(r, i + 1)} |"
        for i, r in enumerate(runs))
    config_rows = "\n".join(f"| {k} | `{json.dumps(v) if isinstance(v, dict) else v}` |"
                             for k, v in last.get("config", {}).items() if k != "note")
    curve = ""
    if curve_dir is not None and any(r.get("curve") for r in runs):
        png = plot_curve(runs, Path(curve_dir) / f"{name}_curve.png")
        curve = f"\n![validation MSE against sequences seen]({png.name})\n"
    return f"""## Training runs
Every run that led to these weights, oldest first; each continued from the one before.

| run | started (UTC) | wall | sequences | seq/s | precision | hardware | notes |
|---|---|---|---|---|---|---|---|
{run_rows}

The last run's configuration (`TrainConfig`), stopped by {last.get('stopped_by')};
validation took {100 * last.get('validation_share', 0):.1f}% of its wall time:

| field | value |
|---|---|
{config_rows}
{curve}"""


def _layout_text(run: dict) -> str:
    """How a run made its steps: the global batch, from how many processes, on which devices
    ('' for a run that did not record it)."""
    if "global_batch" not in run:
        return ""
    n, devices = run.get("processes", 1), run.get("devices") or []
    share = f" ({run['global_batch'] // n} from each)" if n > 1 else ""
    return (f" Each step of the last run took a global batch of {run['global_batch']} "
            f"sequences{share} in {n} process{'es' if n > 1 else ''} on {len(devices)} "
            f"device{'s' if len(devices) != 1 else ''} ({', '.join(devices)}).")


def _robustness_text(robust: dict | None) -> str:
    """The card's robustness section (`make robustness` writes it into the sidecar), or ''."""
    if not robust:
        return ""
    rows = "\n".join(f"| {world} | {r['model']['mse']:.1f} / {r['model']['ssim']:.3f} | "
                     f"{r['copy_last']['mse']:.1f} / {r['copy_last']['ssim']:.3f} |"
                     for world, r in robust["worlds"].items())
    return f"""
## Robustness
Closed loop, {robust['context']} -> {robust['horizon']} frames, {robust['clips']} clips per world
(held-out digits or pictures unless the row says otherwise, seed {robust['seed']}), MSE / SSIM;
one change from the test clips per row. Regenerate with `make robustness`.

| world | this model | copy last frame |
|---|---|---|
{rows}
"""


def training_runs(meta: dict) -> list[dict]:
    """The runs that led to a model's weights, oldest first, as its sidecar lists them (`[]` for
    a file without training records). The one reader of `training.runs`."""
    return (meta.get("training") or {}).get("runs") or []


def training_budget(meta: dict) -> str:
    """A model's training budget in a few words ("3,124 min, 1,929,792 sequences, CPU"), to stand
    next to its name wherever models are compared: '' for a file without training records."""
    t = meta.get("training") or {}
    if not t.get("sequences_seen"):
        return ""
    last = (training_runs(meta) or [{}])[-1]
    where = "GPU" if "GPU" in (last.get("hardware") or "") else "CPU"
    return f"{t.get('wall_minutes', 0):,.0f} min, {t['sequences_seen']:,} sequences, {where}"


def _data_text(data: dict) -> str:
    """The card's account of a folder of clips (`videos.VideoData.info`): enough to trace a
    model to what it saw."""
    def counts(table: dict) -> str:
        return ", ".join(f"{k} ({v} file{'s' if v != 1 else ''})" for k, v in table.items())

    held = ", ".join(f"`{name}`" for name in data["held_out_files"])
    skipped = "".join(f"\n- skipped `{name}`: {reason}" for name, reason in data["skipped"])
    size = "x".join(map(str, data["frame_size"]))
    return (f"Your own clips: `{data['root']}`, **{data['files']} files, {data['frames']} "
            f"frames**, {'colour (3 channels)' if data['channels'] == 3 else 'grey (1 channel)'}. "
            f"Source sizes (W x H): {counts(data['sizes'])}; frame rates: {counts(data['fps'])}. "
            f"Frames were {data['fitted']} to {size}. Windows of {data['context']} + "
            f"{data['horizon']} frames: {data['train_windows']} in the {data['train_files']} "
            f"training files (every start frame, stride {data['stride']}) and "
            f"{data['held_out_windows']} in the {len(data['held_out_files'])} held-out files "
            f"(stride {data['held_out_stride']}): {held}. File list digest (names and sizes, "
            f"sha256) `{data['digest']}`.{skipped}\n\n")


def averaged_runs(run: dict, number: int) -> str:
    """'runs 23, 24 and 25' when run `number` ended by averaging in the ends of 23 and 24
    (`lineage.average`); '' for a run that did not."""
    ends = [str(a["run"]) for a in run.get("averaged_with", [])]
    return f"runs {', '.join(ends)} and {number}" if ends else ""


def _run_note(run: dict, number: int) -> str:
    averaged = averaged_runs(run, number)
    return (run.get("note") or "-") + (f"; weights then averaged over {averaged}"
                                       if averaged else "")
