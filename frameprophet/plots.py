"""The quality plot: MSE and SSIM (or any metric) per predicted frame, one line per method.

matplotlib's object API (a `Figure`, the Agg canvas, no pyplot state); the colours are the
pictures' palette from `frameprophet.render`, so a comparison's lines match its animation.
A plot written to a file is drawn on a kept figure of its layout (its axes, titles, labels and
Agg renderer made once), only its data drawn anew: the page draws one per request.

    quality_plot(result.curves, "quality.png", horizon=10)
"""

from __future__ import annotations

import os
import textwrap
import threading
from collections import OrderedDict
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
    metrics = tuple(metrics)
    filled = [any(np.asarray(values.get(key, [])).size for values in curves.values())
              for key in metrics]
    have_data = any(filled)
    # A new figure for the caller to keep, or where a panel has no data: an empty panel shows
    # the limits of a new axes, which a kept one has lost. The page's plots are drawn on kept ones.
    if path is None or not all(filled):
        fig = _figure(metrics, stacked, title)
        _draw_curves(fig.axes, curves, metrics, horizon, stacked, have_data)
        if path is None:
            return fig
        return _save(fig, path)
    layout = (metrics, stacked, title)
    fig = _borrow(layout)
    _draw_curves(fig.axes, curves, metrics, horizon, stacked, have_data)
    path = _save(fig, path)
    _give_back(layout, fig)                 # kept only once drawn whole
    return path


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", pil_kwargs={"compress_level": PNG_COMPRESSION})
    return path


def _figure(metrics: tuple[str, ...], stacked: bool, title: str | None):
    """A plot's figure without its data: the panels, their titles and labels, the grid."""
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
    size = _font_size(stacked)
    for ax, key in zip(axes, metrics, strict=True):
        label, hint = _PANELS[key]
        ax.set_title(f"{label} ({hint})", fontsize=size)
        ax.set_xlabel("predicted frame", fontsize=size - 1)
        ax.tick_params(labelsize=size - 1)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(textwrap.fill(title, 64) if stacked else title, fontsize=11)
    return fig


def _font_size(stacked: bool) -> int:
    return 12 if stacked else 10                 # titles; tick labels and legend a step less


def _draw_curves(axes, curves, metrics, horizon, stacked, have_data) -> None:
    """The data of a plot on `_figure`'s panels: a line per name, the x axis over the horizon,
    where the truth ends, the legend (or, without data, a note)."""
    size = _font_size(stacked)
    others = [n for n in curves if n not in _LINE_STYLES and n != "zeros"]
    for ax, key in zip(axes, metrics, strict=True):
        longest = 0
        for name, values in curves.items():
            values = np.asarray(values.get(key, []), dtype=np.float64).ravel()
            if values.size == 0:
                continue
            longest = max(longest, values.size)
            x = np.arange(1, values.size + 1)
            style = _line_style(name, others.index(name) if name in others else 0)
            ax.plot(x, values, label=name, markersize=4, **style)
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


# --------------------------------------------------------------------------------------------
# Kept figures: a plot's layout (its panels, words and Agg renderer) is made once and only its
# data drawn per request, pixel for pixel the plot a new figure draws. Building a figure took
# ~17 ms and its first draw ~16 ms more than a redraw (matplotlib keeps text metrics per
# renderer): the plot's CPU time went from ~116 to ~78 ms (a loaded 2-core AMD EPYC).
# --------------------------------------------------------------------------------------------

KEEP_LAYOUTS = 4            # layouts kept (the page draws two: closed loop, teacher-forced)
KEEP_FIGURES = 2            # figures kept per layout (requests drawn at once each take one)
_KEPT: OrderedDict[tuple, list] = OrderedDict()
_KEPT_LOCK = threading.Lock()


def _borrow(layout: tuple):
    """A figure of this layout, its previous data taken off, or a new one; no other thread
    draws on it until `_give_back`."""
    with _KEPT_LOCK:
        kept = _KEPT.get(layout)
        fig = kept.pop() if kept else None
    if fig is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = _figure(*layout)
        FigureCanvasAgg(fig)        # its own canvas: savefig keeps its renderer between plots
        return fig
    for ax in fig.axes:
        _clear_data(ax)
    return fig


def _give_back(layout: tuple, fig) -> None:
    with _KEPT_LOCK:
        kept = _KEPT.setdefault(layout, [])
        _KEPT.move_to_end(layout)
        if len(kept) < KEEP_FIGURES:
            kept.append(fig)
        while len(_KEPT) > KEEP_LAYOUTS:
            _KEPT.popitem(last=False)


def _clear_data(ax) -> None:
    """An axes as `_figure` made it: no lines, spans, notes or legend, the default x ticks and
    colour cycle, both axes autoscaled from no data."""
    from matplotlib.ticker import AutoLocator

    for artist in [*ax.lines, *ax.patches, *ax.texts]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.xaxis.set_major_locator(AutoLocator())
    ax.set_prop_cycle(None)
    ax.relim()
    ax.set_autoscale_on(True)
