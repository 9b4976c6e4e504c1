"""Pictures of a rollout: an animated side-by-side, a frame strip and per-frame quality curves.

Pure NumPy / Pillow / matplotlib (Agg, no pyplot state); no Gradio. Inputs follow the data
contract: clips are float32 `(T, H, W, C)` in [0, 1], C = 1 (grey) or 3 (colour, drawn in
colour), values outside clipped for display. The error panel is the mean |error| over channels.

- `side_by_side(context, truth, prediction)` -> uint8 `(C + K, H', W', 3)` frames for a GIF:
  "Truth | Prediction | |error|", a header with the panel titles, a footer with the frame counter
  and a badge; predicted frames have an orange border around the prediction panel and an orange
  "PREDICTED" badge, context frames a blue-grey one.
- `frame_strip(context, truth, prediction)` -> uint8 `(H, W, 3)`: the last context frames, then
  the predictions above the true frames, with row and column labels.
- `quality_plot(curves, path)`: MSE (summed over pixels, the benchmark definition) and SSIM per
  predicted frame, one line per method.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

# Colours (RGB). Exported so tests and other renderers can look for the markers.
BACKGROUND = (24, 26, 31)
TEXT = (236, 236, 240)
MUTED_TEXT = (150, 152, 160)
NEUTRAL = (72, 74, 84)              # border of truth / error panels
CONTEXT_COLOUR = (92, 124, 178)     # blue-grey: the model is reading real input
PREDICTED_COLOUR = (255, 140, 0)    # orange: the model's own prediction
BASELINE_COLOUR = (108, 122, 137)   # grey: copy-last-frame and the other baselines
# One colour per model where several are compared (titles and plot lines): ours first, in the
# prediction orange; none of them the context blue-grey or the baseline grey.
MODEL_COLOURS = (PREDICTED_COLOUR, (148, 82, 196), (26, 158, 119), (214, 39, 40))
MISSING_FILL = (46, 48, 56)         # a panel with nothing to show
PANEL_TITLES = ("Truth", "Prediction", "|error|")

# zlib level 1, not Pillow's 6: a request writes a strip and a plot, and level 1 encoded them
# about 1.7x faster (measured: strip 64 -> 39 ms, plot 31 -> 17 ms) for files 5-40% larger.
PNG_COMPRESSION = 1
TARGET_PANEL = 256          # side_by_side aims for panels of about this many pixels
TARGET_CELL = 128           # frame_strip cells
MAX_STRIP_WIDTH = 2600      # frame_strip shrinks its cells to stay below this width

_MAGMA = (matplotlib.colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).round()
_MAGMA = _MAGMA.astype(np.uint8)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font (no font files needed); sized when FreeType is available."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):      # old Pillow or no FreeType: fixed bitmap font
        return ImageFont.load_default()


def _check_clip(name: str, clip, allow_empty: bool = False) -> np.ndarray:
    clip = np.asarray(clip, dtype=np.float32)
    if clip.ndim == 3:                                  # (T, H, W) is accepted too
        clip = clip[..., None]
    if clip.ndim != 4 or clip.shape[-1] not in (1, 3):
        raise ValueError(f"{name} must be a clip (T, H, W, 1) or (T, H, W, 3), got shape "
                         f"{clip.shape}")
    if clip.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} has no frames")
    return clip


def _check_inputs(context, truth, prediction):
    context = _check_clip("context", context)
    prediction = _check_clip("prediction", prediction)
    truth = (np.zeros((0, *context.shape[1:]), np.float32) if truth is None
             else _check_clip("truth", truth, allow_empty=True))
    size = context.shape[1:]
    for name, clip in (("truth", truth), ("prediction", prediction)):
        if clip.shape[1:] != size:
            raise ValueError(f"{name} frames are {'x'.join(map(str, clip.shape[1:]))}, the "
                             f"context's {'x'.join(map(str, size))} (height x width x channels)")
    return context, truth[: prediction.shape[0]], prediction


def _grey(frame: np.ndarray, scale: int, gain: float = 1.0) -> np.ndarray:
    """(H, W, 1) grey or (H, W, 3) colour float -> (H*s, W*s, 3) uint8, nearest-neighbour
    upscaled."""
    g = (np.clip(frame, 0.0, 1.0) * (255.0 * gain)).round().astype(np.uint8)
    g = np.repeat(np.repeat(g, scale, axis=0), scale, axis=1)
    return g if g.shape[-1] == 3 else np.repeat(g, 3, axis=2)


def _heat(error: np.ndarray, scale: int) -> np.ndarray:
    """|error| (H, W, C) in [0, 1] -> magma colours of its mean over channels, upscaled."""
    idx = (np.clip(error.mean(axis=-1), 0.0, 1.0) * 255).round().astype(np.intp)
    rgb = _MAGMA[idx]
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


def _fill(height: int, width: int, colour) -> np.ndarray:
    out = np.empty((height, width, 3), np.uint8)
    out[:] = colour
    return out


def _centre_text(draw: ImageDraw.ImageDraw, box, text: str, font, fill=TEXT) -> None:
    x0, y0, x1, y1 = box
    left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font, align="center")
    x = x0 + (x1 - x0 - (right - left)) / 2 - left
    y = y0 + (y1 - y0 - (bottom - top)) / 2 - top
    draw.multiline_text((x, y), text, font=font, fill=fill, align="center")


def _paste_bordered(canvas: np.ndarray, tile: np.ndarray, top: int, left: int, border: int,
                    colour) -> None:
    h, w = tile.shape[:2]
    canvas[top:top + h + 2 * border, left:left + w + 2 * border] = colour
    canvas[top + border:top + border + h, left + border:left + border + w] = tile


def default_scale(frame_size: tuple[int, int], target: int = TARGET_PANEL) -> int:
    """Integer upscaling so a frame is about `target` px (40x40 -> 6, 64x64 -> 4)."""
    return max(1, int(target) // max(int(frame_size[0]), int(frame_size[1])))


# --------------------------------------------------------------------------------------------
# side by side animation
# --------------------------------------------------------------------------------------------

class _Layout:
    """Pixel geometry of an animation frame: a title row, `panels` bordered panels side by side
    and a footer (shared by `side_by_side`, `compare_frames` and the tests)."""

    def __init__(self, frame_size: tuple[int, int], scale: int, panels: int = 3):
        self.scale = scale
        self.panel_h, self.panel_w = frame_size[0] * scale, frame_size[1] * scale
        self.border = max(4, min(8, scale + 1))
        self.gap, self.margin = 14, 14
        self.header, self.footer = 34, 40
        outer_w = self.panel_w + 2 * self.border
        self.width = 2 * self.margin + panels * outer_w + (panels - 1) * self.gap
        self.height = self.header + self.panel_h + 2 * self.border + self.footer
        self.top = self.header
        self.lefts = [self.margin + i * (outer_w + self.gap) for i in range(panels)]

    def panel_box(self, index: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of panel `index` including its border."""
        x0 = self.lefts[index]
        return (x0, self.top, x0 + self.panel_w + 2 * self.border,
                self.top + self.panel_h + 2 * self.border)


def side_by_side(context, truth, prediction, scale: int | None = None,
                 teacher_forced: bool = False) -> np.ndarray:
    """Frames of an animation "Truth | Prediction | |error|" over context + predicted frames.

    `context` (C, H, W, ch) are the frames the model read, `prediction` (K, H, W, ch) its output
    and `truth` (<= K, H, W, ch) the real frames after the context; it may be shorter than the
    prediction (or None) when the clip ended: those frames say "no ground truth (clip ended)" and
    leave the error panel blank. Context frames show the input in both the truth and (dimmed)
    prediction panels with a blue-grey border; predicted frames get an orange border and badge.

    `teacher_forced=True` labels every predicted frame "ONE-STEP +k" and the panel "One-step
    prediction": each such frame read the true frames before it, not the model's own output.

    Returns uint8 (C + K, H', W', 3); `scale` is the integer upscaling (default: panels of about
    256 px, crisp nearest-neighbour).
    """
    context, truth, prediction = _check_inputs(context, truth, prediction)
    n_context, n_pred = context.shape[0], prediction.shape[0]
    total = n_context + n_pred
    s = int(scale) if scale else default_scale(context.shape[1:3])
    if s < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    lay = _Layout(context.shape[1:3], s)
    title_font, label_font = _font(17), _font(16)
    small_font = _font(14 if lay.panel_w >= 160 else 11)

    # Everything that does not change between frames is drawn once.
    base = _fill(lay.height, lay.width, BACKGROUND)
    img = Image.fromarray(base)
    draw = ImageDraw.Draw(img)
    titles = list(PANEL_TITLES)
    if teacher_forced:
        titles[1] = "One-step (reads truth)"
    for i, title in enumerate(titles):
        x0, _, x1, _ = lay.panel_box(i)
        _centre_text(draw, (x0, 0, x1, lay.header), title, title_font)
    base = np.asarray(img).copy()
    blank = _fill(lay.panel_h, lay.panel_w, MISSING_FILL)
    no_error = _heat(np.zeros((*context.shape[1:3], 1), np.float32), s)

    frames = np.empty((total, lay.height, lay.width, 3), np.uint8)
    for t in range(total):
        canvas = base.copy()
        predicted = t >= n_context
        k = t - n_context
        notes: list[tuple[int, str]] = []
        if not predicted:
            tiles = [_grey(context[t], s), _grey(context[t], s, gain=0.6), no_error]
            colours = [NEUTRAL, CONTEXT_COLOUR, NEUTRAL]
            notes.append((2, "input frame:\nnothing to score"))
        else:
            pred_tile = _grey(prediction[k], s)
            if k < truth.shape[0]:
                tiles = [_grey(truth[k], s), pred_tile, _heat(np.abs(truth[k] - prediction[k]), s)]
            else:
                tiles = [blank, pred_tile, blank]
                notes.append((0, "no ground truth\n(clip ended)"))
            colours = [NEUTRAL, PREDICTED_COLOUR, NEUTRAL]
        for i, (tile, colour) in enumerate(zip(tiles, colours, strict=True)):
            _paste_bordered(canvas, tile, lay.top, lay.lefts[i], lay.border, colour)

        img = Image.fromarray(canvas)
        draw = ImageDraw.Draw(img)
        for i, note in notes:
            x0, y0, x1, y1 = lay.panel_box(i)
            _centre_text(draw, (x0, y0, x1, y1), note, small_font,
                         fill=MUTED_TEXT if i == 2 else TEXT)
        foot = (lay.height - lay.footer, lay.height)
        draw.text((lay.margin, (foot[0] + foot[1]) / 2), f"frame {t + 1}/{total}",
                  font=label_font, fill=TEXT, anchor="lm")
        kind = "ONE-STEP" if teacher_forced else "PREDICTED"
        badge = f"{kind}  +{k + 1}" if predicted else "context (input)"
        colour = PREDICTED_COLOUR if predicted else CONTEXT_COLOUR
        left, top, right, bottom = draw.textbbox((0, 0), badge, font=label_font)
        bw, bh = right - left + 20, 26
        bx1 = lay.width - lay.margin
        by0 = (foot[0] + foot[1] - bh) // 2
        draw.rounded_rectangle((bx1 - bw, by0, bx1, by0 + bh), radius=6, fill=colour)
        _centre_text(draw, (bx1 - bw, by0, bx1, by0 + bh), badge, label_font,
                     fill=(20, 20, 20) if predicted else (255, 255, 255))
        frames[t] = np.asarray(img)
    return frames


def compare_frames(context, truth, predictions: dict[str, np.ndarray],
                   scale: int | None = None) -> np.ndarray:
    """Frames of one animation "Truth | model A | model B | ..." over context + predicted frames.

    Every model's prediction is (K, H, W, 1) of the same clip. Context frames show the input in
    every panel (blue-grey border), predicted frames an orange border; the footer counts frames.
    Returns uint8 (C + K, H', W', 3).
    """
    names = list(predictions)
    if not names:
        raise ValueError("compare_frames needs at least one prediction")
    first = predictions[names[0]]
    context, truth, _ = _check_inputs(context, truth, first)
    preds = [_check_clip(name, predictions[name]) for name in names]
    if any(p.shape != first.shape for p in preds):
        raise ValueError("every prediction must have the same shape")
    n_context, n_pred = context.shape[0], first.shape[0]
    s = int(scale) if scale else default_scale(context.shape[1:3], 200)
    titles = ["Truth", *names]
    lay = _Layout(context.shape[1:3], s, panels=len(titles))
    base = Image.fromarray(_fill(lay.height, lay.width, BACKGROUND))
    draw = ImageDraw.Draw(base)
    font, small = _font(15), _font(13)
    for i, title in enumerate(titles):       # each model's title in its plot line's colour
        x0, _, x1, _ = lay.panel_box(i)
        _centre_text(draw, (x0, 0, x1, lay.header), title[:28], font,
                     fill=TEXT if i == 0 else MODEL_COLOURS[(i - 1) % len(MODEL_COLOURS)])
    base = np.asarray(base).copy()
    blank = _fill(lay.panel_h, lay.panel_w, MISSING_FILL)
    frames = np.empty((n_context + n_pred, lay.height, lay.width, 3), np.uint8)
    for t in range(n_context + n_pred):
        canvas = base.copy()
        k = t - n_context
        if k < 0:
            tiles = [_grey(context[t], s)] * len(titles)
            colours = [NEUTRAL] + [CONTEXT_COLOUR] * len(names)
        else:
            tiles = [_grey(truth[k], s) if k < truth.shape[0] else blank]
            tiles += [_grey(p[k], s) for p in preds]
            colours = [NEUTRAL] + [PREDICTED_COLOUR] * len(names)
        for i, (tile, colour) in enumerate(zip(tiles, colours, strict=True)):
            _paste_bordered(canvas, tile, lay.top, lay.lefts[i], lay.border, colour)
        img = Image.fromarray(canvas)
        draw = ImageDraw.Draw(img)
        label = f"frame {t + 1}/{n_context + n_pred}: " + (
            "context (input)" if k < 0 else f"predicted +{k + 1}"
            + ("" if k < truth.shape[0] else " (no ground truth)"))
        draw.text((lay.margin, lay.height - lay.footer / 2), label, font=small, anchor="lm",
                  fill=PREDICTED_COLOUR if k >= 0 else TEXT)
        frames[t] = np.asarray(img)
    return frames


def memory_strip(inputs, memory, n_context: int, cell: int = 72) -> np.ndarray:
    """What a ConvLSTM carries: the frames it read (top row: the context, then its own
    predictions) and under each, one heat map per layer of its hidden state's size after
    reading that frame (`Predictor.memory`). Each layer's maps share one colour scale (its
    minimum to maximum over the rollout), so memory can be compared across frames.
    Returns uint8 (H, W, 3).
    """
    inputs = _check_clip("inputs", inputs)
    memory = np.asarray(memory, dtype=np.float32)
    if memory.ndim != 4 or memory.shape[0] != inputs.shape[0]:
        raise ValueError(f"memory must be (T, layers, h, w) for the {inputs.shape[0]} inputs, "
                         f"got {memory.shape}")
    steps, layers = memory.shape[:2]
    label_w, head, gap, number_h = 110, 30, 6, 20
    width = label_w + steps * (cell + gap) + 56
    height = head + number_h + (layers + 1) * (cell + gap) + 10
    canvas = _fill(height, width, BACKGROUND)
    top = head + number_h
    for t in range(steps):
        x = label_w + t * (cell + gap)
        frame = inputs[t]
        s = max(1, cell // max(frame.shape[:2]))
        tile = np.asarray(Image.fromarray(_grey(frame, s)).resize((cell - 4, cell - 4)))
        colour = CONTEXT_COLOUR if t < n_context else PREDICTED_COLOUR
        _paste_bordered(canvas, tile, top, x, 2, colour)
        for layer in range(layers):
            low, high = float(memory[:, layer].min()), float(memory[:, layer].max())
            heat = _heat((memory[t, layer][..., None] - low) / max(high - low, 1e-6), 1)
            heat = np.asarray(Image.fromarray(heat).resize((cell - 4, cell - 4),
                                                           Image.Resampling.NEAREST))
            _paste_bordered(canvas, heat, top + (layer + 1) * (cell + gap), x, 2, NEUTRAL)
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    font = _font(15)
    for t in range(steps):
        x = label_w + t * (cell + gap)
        _centre_text(draw, (x, head, x + cell, top), str(t + 1), _font(13), fill=MUTED_TEXT)
    _centre_text(draw, (0, top, label_w - 6, top + cell), "input", font)
    for layer in range(layers):
        y = top + (layer + 1) * (cell + gap)
        _centre_text(draw, (0, y, label_w - 6, y + cell), f"layer {layer + 1}\nmemory", font)
    split = label_w + n_context * (cell + gap)
    _centre_text(draw, (label_w, 0, split - gap, head), "context (true frames)", font,
                 fill=CONTEXT_COLOUR)
    if steps > n_context:
        _centre_text(draw, (split, 0, label_w + steps * (cell + gap), head),
                     "its own predictions, fed back", font, fill=PREDICTED_COLOUR)
    return np.asarray(img)


# --------------------------------------------------------------------------------------------
# frame strip
# --------------------------------------------------------------------------------------------

def frame_strip(context, truth, prediction, max_context: int = 5, per_row: int = 10,
                scale: int | None = None, teacher_forced: bool = False) -> np.ndarray:
    """One picture of a rollout: the last `max_context` context frames, then the predicted frames
    (top row, "prediction") above the true frames (bottom row, "truth").

    Both rows start with the same context frames, so each row reads as a movie: the top one is
    what the model saw and then predicted, the bottom one what really happened. Columns are
    labelled with 1-based frame numbers; predicted frames have orange borders. More than
    `per_row` predicted frames wrap onto further rows, aligned under the first predicted column;
    a wrapped row past the end of the truth is one compact "prediction only" row, and where the
    truth ends inside a row its missing cells are left out and marked. `teacher_forced=True`
    titles the predicted frames "one-step predicted (each reads the true frames)".
    Returns uint8 (H, W, 3).
    """
    context, truth, prediction = _check_inputs(context, truth, prediction)
    n_context, n_pred, n_truth = context.shape[0], prediction.shape[0], truth.shape[0]
    shown = context[-max(1, int(max_context)):]
    n_shown = shown.shape[0]
    first = n_context - n_shown                         # 0-based index of the first shown frame
    per_row = max(1, int(per_row))
    blocks = max(1, -(-n_pred // per_row))
    has_truth = [block * per_row < n_truth or (block == 0) for block in range(blocks)]
    fh, fw = context.shape[1:3]
    cols = n_shown + min(per_row, n_pred)
    if scale:
        s = int(scale)
    else:
        s = default_scale((fh, fw), TARGET_CELL)
        s = max(1, min(s, (MAX_STRIP_WIDTH - 120) // (cols * (fw + 4))))
    ch, cw = fh * s, fw * s
    # Text grows with the cells, so it stays readable when the strip is shown scaled down.
    label_size, number_size = max(18, round(cw / 4.5)), max(16, round(cw / 5.5))
    border, gap, group_gap = max(3, cw // 32), max(4, cw // 24), max(18, cw // 5)
    label_w, margin = max(120, round(label_size * 6.6)), 10
    right = max(56, cw // 2)             # the page's download/full-screen buttons sit here
    group_h, number_h = label_size + 14, number_size + 10
    cell_w, cell_h = cw + 2 * border, ch + 2 * border
    block_gap = max(12, cw // 6)
    block_hs = [number_h + (2 * cell_h + gap if t else cell_h) for t in has_truth]
    width = label_w + cols * cell_w + (cols - 1) * gap + group_gap + right
    height = group_h + sum(block_hs) + (blocks - 1) * block_gap + margin
    canvas = _fill(height, width, BACKGROUND)

    def col_left(c: int) -> int:
        return label_w + c * (cell_w + gap) + (group_gap if c >= n_shown else 0)

    def rows_top(block: int) -> tuple[int, int]:
        top = group_h + sum(block_hs[:block]) + block * block_gap + number_h
        return top, top + cell_h + gap

    # (block, column, frame number) of every cell pair, context first
    cells = [(0, c, first + c) for c in range(n_shown)]
    cells += [(k // per_row, n_shown + k % per_row, n_context + k) for k in range(n_pred)]
    for block, c, t in cells:
        x = col_left(c)
        top, bottom = rows_top(block)
        if t < n_context:
            tile = _grey(context[t], s)
            _paste_bordered(canvas, tile, top, x, border, CONTEXT_COLOUR)
            _paste_bordered(canvas, tile, bottom, x, border, NEUTRAL)
        else:
            k = t - n_context
            _paste_bordered(canvas, _grey(prediction[k], s), top, x, border, PREDICTED_COLOUR)
            if k < n_truth:
                _paste_bordered(canvas, _grey(truth[k], s), bottom, x, border, NEUTRAL)

    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    label_font, number_font = _font(label_size), _font(number_size)
    for block in range(blocks):
        top, bottom = rows_top(block)
        if has_truth[block]:
            _centre_text(draw, (0, top, label_w - 6, top + cell_h), "prediction", label_font)
            _centre_text(draw, (0, bottom, label_w - 6, bottom + cell_h), "truth", label_font)
        else:
            _centre_text(draw, (0, top, label_w - 6, top + cell_h), "prediction\nonly (no\ntruth)",
                         label_font, fill=PREDICTED_COLOUR)
    _centre_text(draw, (label_w, 0, col_left(n_shown - 1) + cell_w, group_h), "context",
                 label_font, fill=CONTEXT_COLOUR)
    if n_pred:
        title = "one-step predicted (each reads the true frames)" if teacher_forced \
            else "predicted"
        _centre_text(draw, (col_left(n_shown), 0, col_left(cols - 1) + cell_w, group_h),
                     title, label_font, fill=PREDICTED_COLOUR)
    for block, c, t in cells:
        x, top = col_left(c), rows_top(block)[0]
        _centre_text(draw, (x, top - number_h, x + cell_w, top), str(t + 1), number_font,
                     fill=MUTED_TEXT)
    if n_truth < n_pred and has_truth[n_truth // per_row]:   # truth ends inside a paired row
        k = n_truth
        x, bottom = col_left(n_shown + k % per_row), rows_top(k // per_row)[1]
        _centre_text(draw, (x, bottom, x + cell_w, bottom + cell_h),
                     "truth\nends" if cw >= 40 else "end", number_font, fill=MUTED_TEXT)
    return np.asarray(img)


# --------------------------------------------------------------------------------------------
# quality curves
# --------------------------------------------------------------------------------------------

def hex_colour(rgb) -> str:
    """'#rrggbb' of an RGB tuple (matplotlib's and CSS's spelling of the palette above)."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


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
                 metrics: tuple[str, ...] = ("mse", "ssim")):
    """Per-frame quality, a panel per metric (MSE and SSIM by default), one line per name.

    The one quality plot: the app draws it per request, `evaluate` for the scoreboard (every
    metric). `curves` maps a name ("model", "copy last frame", ...) to a metrics dict as returned
    by `frameprophet.metrics.evaluate`; x is the predicted frame index 1..horizon. Builds a
    `matplotlib.figure.Figure` (no pyplot state). With `path`, saves a PNG there and returns
    the path; otherwise returns the figure. Empty curves (no ground truth) give a figure that
    says so. With `horizon` longer than the curves, the x axis covers every
    predicted frame and a line marks where the truth ends.
    """
    # Fixed margins instead of layout="constrained": the layout solver was a third of the
    # plot's time, and this figure's labels never change size.
    fig = Figure(figsize=(4.5 * len(metrics), 3.4), dpi=100)
    fig.subplots_adjust(left=0.13 / len(metrics), right=0.985, bottom=0.15,
                        top=0.84 if title else 0.9, wspace=0.2)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
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
        ax.set_title(f"{label} ({hint})", fontsize=10)
        ax.set_xlabel("predicted frame")
        ax.grid(alpha=0.3)
        span = max(longest, int(horizon or 0))
        if longest:
            ax.set_xlim(0.5, span + 0.5)
            step = max(1, int(np.ceil(span / 10)))
            ax.set_xticks(np.arange(1, span + 1, step))
        if longest and span > longest:
            ax.axvline(longest + 0.5, color="#999999", linestyle=":", linewidth=1.2)
            ax.axvspan(longest + 0.5, span + 0.5, color="#999999", alpha=0.12, linewidth=0)
            ax.text(longest + 0.7, 0.97, f"truth ends\nafter frame {longest}", fontsize=8,
                    va="top", ha="left", transform=ax.get_xaxis_transform(), color="#555555")
        if key in ("ssim", "iou") and longest:
            low, high = ax.get_ylim()
            ax.set_ylim(min(low, 0.0), max(high, 1.0))
        elif longest:
            ax.set_ylim(bottom=0.0)
    if have_data:
        axes[-1].legend(loc="best", fontsize=9)
    else:
        for ax in axes:
            ax.text(0.5, 0.5, "no ground truth for\nthe predicted frames", ha="center",
                    va="center", transform=ax.transAxes, color="#777777")
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=11)
    if path is None:
        return fig
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", pil_kwargs={"compress_level": PNG_COMPRESSION})
    return path


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------

def forecast_files(result, out: str | os.PathLike, fps: float = 5) -> tuple[Path, Path, Path]:
    """Draw a `frameprophet.forecast.Forecast` into `out`: the side-by-side GIF, the frame
    strip and the quality plot (teacher-forced results are labelled as such in all three)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    teacher = result.mode == "teacher_forced"
    gif = write_animation(side_by_side(result.context, result.truth, result.prediction,
                                       teacher_forced=teacher), out / "rollout.gif", fps=fps)
    strip = write_png(frame_strip(result.context, result.truth, result.prediction,
                                  teacher_forced=teacher), out / "strip.png")
    plot = quality_plot(result.curves, out / "quality.png", horizon=result.prediction.shape[0],
                        title="one-step, teacher-forced: every prediction reads the true frames "
                              "before it" if teacher else None)
    return gif, strip, plot


def write_animation(frames_uint8: np.ndarray, path: str | os.PathLike, fps: float = 5) -> Path:
    """Write uint8 RGB frames (T, H, W, 3) as a looping animated GIF (every frame kept)."""
    from frameprophet.io import write_gif

    return Path(write_gif(np.asarray(frames_uint8), path, fps=fps))


def write_png(image_uint8: np.ndarray, path: str | os.PathLike) -> Path:
    """Write one uint8 RGB image (H, W, 3) as PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(image_uint8, dtype=np.uint8)).save(
        path, format="PNG", compress_level=PNG_COMPRESSION)
    return path
