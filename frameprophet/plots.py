"""The quality plot: MSE and SSIM (or any metric) per predicted frame, one line per method.

matplotlib's object API (a `Figure`, the Agg canvas, no pyplot state); the colours are the
pictures' palette from `frameprophet.render`, so a comparison's lines match its animation.

    quality_plot(result.curves, "quality.png", horizon=10)
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np

from frameprophet.render import (
    BASELINE_COLOUR,
    MODEL_COLOURS,
    PNG_COMPRESSION,
    PREDICTED_COLOUR,
    hex_colour,
)

_BASELINE_STYLE = {"color": hex_colour(BASELINE_COLOUR), "marker": "s", "linestyle": "--",
                   "linewidth": 1.6}
_LINE_STYLES = {
    "model": {"color": hex_colour(PREDICTED_COLOUR), "marker": "o", "linewidth": 2.2},
    "copy last frame": _BASELINE_STYLE,
    "copy previous true frame": _BASELINE_STYLE,
}


def _line_style(name: str, index: int) -> dict:
    """A curve's style: fixed for "model" and the baselines; otherwise the `index`-th model's
    colour (so a comparison's lines match its animation's titles)."""
    if name in _LINE_STYLES:
        return _LINE_STYLES[name]
    if name == "zeros":
        return {"linestyle": "--", "marker": "s", "linewidth": 1.4}
    return {"color": hex_colour(MODEL_COLOURS[index % len(MODEL_COLOURS)]), "marker": "o",
            "linewidth": 2.0}


_PANELS = {"mse": ("MSE per frame (sum over pixels)", "lower is better"),
           "mae": ("MAE per frame (sum over pixels)", "lower is better"),
           "ssim": ("SSIM per frame", "higher is better"),
           "psnr": ("PSNR per frame (dB)", "higher is better"),
           "iou": ("IoU per frame", "higher is better")}


def quality_plot(curves: dict[str, dict[str, np.ndarray]], path: str | os.PathLike | None = None,
                 title: str | None = None, horizon: int | None = None,
                 metrics: tuple[str, ...] = ("mse", "ssim"), stacked: bool = False):
    """Per-frame quality, a panel per metric (MSE and SSIM by default), one line per name.

    The one quality plot: the app draws it per request, `evaluate` for the scoreboard (every
    metric). `curves` maps a name ("model", "copy last frame", ...) to a metrics dict as returned
    by `frameprophet.metrics.evaluate`; x is the predicted frame index 1..horizon. Builds a
    `matplotlib.figure.Figure` (no pyplot state). With `path`, saves a PNG there and returns
    the path; otherwise returns the figure. Empty curves (no ground truth) give a figure that
    says so. With `horizon` longer than the curves, the x axis covers every
    predicted frame and a line marks where the truth ends. `stacked` puts the panels one under
    the other, at a width whose words stay readable on a phone (the page's results column);
    otherwise side by side (the scoreboard)."""
    from matplotlib.figure import Figure  # here: the page loads without matplotlib

    # Fixed margins instead of layout="constrained": the layout solver was a third of the
    # plot's time, and this figure's labels never change size.
    n = len(metrics)
    if stacked:            # 560 px wide: a phone shows it at ~0.6x, the words ~9 px high
        height = 2.8 * n + (0.55 if title else 0)                   # inches
        fig = Figure(figsize=(5.6, height), dpi=100)
        fig.subplots_adjust(left=0.12, right=0.98, bottom=0.5 / height, hspace=0.55,
                            top=1 - (0.95 if title else 0.35) / height)
        axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    else:
        fig = Figure(figsize=(4.5 * n, 3.4), dpi=100)
        fig.subplots_adjust(left=0.13 / n, right=0.985, bottom=0.15,
                            top=0.84 if title else 0.9, wspace=0.2)
        axes = fig.subplots(1, n, squeeze=False)[0]
    size = 12 if stacked else 10                  # titles; tick labels and legend a step less
    panels = [(key, *_PANELS[key]) for key in metrics]
    have_data = False
    for ax, (key, label, hint) in zip(axes, panels, strict=True):
        longest = 0
        others = [n for n in curves if n not in _LINE_STYLES and n != "zeros"]
        for name, metrics in curves.items():
            values = np.asarray(metrics.get(key, []), dtype=np.float64).ravel()
            if values.size == 0:
                continue
            have_data = True
            longest = max(longest, values.size)
            x = np.arange(1, values.size + 1)
            style = _line_style(name, others.index(name) if name in others else 0)
            ax.plot(x, values, label=name, markersize=4, **style)
        ax.set_title(f"{label} ({hint})", fontsize=size)
        ax.set_xlabel("predicted frame", fontsize=size - 1)
        ax.tick_params(labelsize=size - 1)
        ax.grid(alpha=0.3)
        span = max(longest, int(horizon or 0))
        if longest:
            ax.set_xlim(0.5, span + 0.5)
            step = max(1, int(np.ceil(span / 10)))
            ax.set_xticks(np.arange(1, span + 1, step))
        if longest and span > longest:
            ax.axvline(longest + 0.5, color="#999999", linestyle=":", linewidth=1.2)
            ax.axvspan(longest + 0.5, span + 0.5, color="#999999", alpha=0.12, linewidth=0)
            ax.text(longest + 0.7, 0.97, f"truth ends\nafter frame {longest}", fontsize=size - 2,
                    va="top", ha="left", transform=ax.get_xaxis_transform(), color="#555555")
        if key in ("ssim", "iou") and longest:
            low, high = ax.get_ylim()
            ax.set_ylim(min(low, 0.0), max(high, 1.0))
        elif longest:
            ax.set_ylim(bottom=0.0)
    if have_data:
        axes[-1].legend(loc="best", fontsize=size - 1)
    else:
        for ax in axes:
            ax.text(0.5, 0.5, "no ground truth for\nthe predicted frames", ha="center",
                    va="center", transform=ax.transAxes, color="#777777")
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(textwrap.fill(title, 64) if stacked else title, fontsize=11)
    if path is None:
        return fig
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", pil_kwargs={"compress_level": PNG_COMPRESSION})
    return path
