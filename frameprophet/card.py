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

if TYPE_CHECKING:    # matplotlib is imported only when a curve is drawn
    from matplotlib.figure import Figure


def plot_curve(runs: list[dict], path: str | os.PathLike) -> Path:
    """Validation MSE against sequences seen, one colour per run."""
    curve_figure(runs).savefig(path, dpi=100)
    return Path(path)


def curve_figure(runs: list[dict]) -> Figure:
    """The figure `plot_curve` saves: runs coloured in order along viridis, so a colour never
    repeats (matplotlib's default cycle does after 10) and later runs read as later; the
    legend sits outside the axes, where it hides no curve however many runs there are."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 3.4), layout="constrained")
    ax = fig.subplots()
    drawn = [(i, r) for i, r in enumerate(runs) if r.get("curve")]
    for k, (i, r) in enumerate(drawn):
        x, y = zip(*r["curve"], strict=True)
        ax.plot(x, y, "-", lw=1.2, color=colormaps["viridis"](0.9 * k / max(1, len(drawn) - 1)),
                label=f"run {i + 1}: {r.get('started', '?')[:10]}, "
                f"{r.get('wall_minutes', '?')} min, {r.get('precision', '?')}")
    ax.set_xlabel("sequences seen")
    ax.set_ylabel("validation MSE (closed loop)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    fig.legend(loc="outside right upper", fontsize=7, ncols=1 + max(0, len(drawn) - 1) // 16)
    return fig


def write_card(model_path: str | os.PathLike, meta: dict) -> Path:
    """Write the model card `NAME.md` (and `NAME_curve.png`) beside a model file from its sidecar.

    The one card renderer: the Hub's README is this text with front matter on top.
    """
    path = Path(model_path).with_suffix(".md")
    path.write_text(card_text(meta, Path(model_path).stem, curve_dir=path.parent))
    return path


def card_text(meta: dict, name: str, curve_dir: Path | None = None) -> str:
    """The card's Markdown; with `curve_dir`, the validation curve is drawn there and linked."""
    t, m = meta.get("training", {}), meta.get("metrics", {})
    rows = [f"| {key.upper()} | {m['model'][key]['mean']:#.4g} | "
            f"{m['copy_last'][key]['mean']:#.4g} |"
            for key in metrics.NAMES if key in m.get("model", {})]
    per_step = ", ".join(f"{x:.1f}" for x in m.get("model", {}).get("mse", {}).get("per_step", []))
    runs = t.get("runs") or ([{**t, "sequences": t.get("sequences_seen")}] if t else [])
    last = runs[-1] if runs else {}
    config = last.get("config", {})
    config_rows = "\n".join(f"| {k} | `{json.dumps(v) if isinstance(v, dict) else v}` |"
                            for k, v in config.items())
    run_rows = "\n".join(
        f"| {i + 1} | {r.get('started', '?')[:16]} | {r.get('wall_minutes')} min | "
        f"{r.get('sequences')} | {r.get('sequences_per_second', '?')} | "
        f"{r.get('precision', '?')} | {r.get('hardware')} | {r.get('note') or '-'} |"
        for i, r in enumerate(runs))
    curve = ""
    if curve_dir is not None and any(r.get("curve") for r in runs):
        png = plot_curve(runs, Path(curve_dir) / f"{name}_curve.png")
        curve = f"\n![validation MSE against sequences seen]({png.name})\n"
    split = ("MNIST digits 4000..4999 only: classes 8 and 9, never seen in training"
             if meta.get("dataset") == "mnist" else "an unseen seed")
    return f"""# {name}

Recipe `{meta.get('recipe')}` trained on **{meta.get('dataset')}** ({meta.get('frame_size')}
frames) by `python -m frameprophet train`. Predicts {meta.get('horizon')} frames from
{meta.get('context')} context frames. {meta.get('parameters', '?')} parameters.

## Training
Data generated on the fly, train split only{' (MNIST digits 0..3999: classes 0-7)'
    if meta.get('dataset') == 'mnist' else ''}. In total: **{t.get('sequences_seen')}
sequences, {t.get('steps')} steps, {t.get('wall_minutes')} min** over {len(runs)} run(s).
Objective: {last.get('objective', t.get('objective'))}.

| run | started (UTC) | wall | sequences | seq/s | precision | hardware | shared with |
|---|---|---|---|---|---|---|---|
{run_rows}

The last run's configuration (`TrainConfig`), stopped by {last.get('stopped_by')};
validation took {100 * last.get('validation_share', 0):.1f}% of its wall time:

| field | value |
|---|---|
{config_rows}
{curve}
## Held-out metrics
Closed loop, {m.get('context')} -> {m.get('horizon')} frames, {m.get('clips')} test clips
({split}), float32, benchmark definitions (MSE/MAE summed over a frame's pixels; mean over the
horizon).

| metric | this model | copy last frame |
|---|---|---|
{chr(10).join(rows)}

MSE per predicted frame: {per_step}

File sha256 `{meta.get('sha256')}`. Regenerate the full scoreboard with `make scoreboard`.
"""
