"""Pictures of a rollout: an animated side-by-side, a frame strip and a memory strip.

Pure NumPy / Pillow; no Gradio. The palette here is shared with the quality plot
(`frameprophet.plots`, matplotlib). Inputs follow the data contract: clips are float32
`(T, H, W, C)` in [0, 1], C = 1 (grey) or 3 (colour, drawn in colour), values outside clipped
for display. The error panel is the mean |error| over channels.

- `side_by_side(context, truth, prediction)` -> uint8 `(C + K, H', W', 3)` frames for a GIF:
  "Truth | Prediction | |error|" (or, for a dict of several models' predictions, "Truth | each
  model"), a header with the panel titles, a footer with the frame counter and a badge;
  predicted frames have an orange border and an orange "PREDICTED" badge, context frames a
  blue-grey one.
- `frame_strip(context, truth, prediction)` -> uint8 `(H, W, 3)`: the last context frames, then
  the predictions above the true frames, with row and column labels.
- `write_animation`, `write_png`: the files the app serves.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
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

def hex_colour(rgb) -> str:
    """'#rrggbb' of an RGB tuple (matplotlib's and CSS's spelling of the palette above)."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


@functools.cache
def _magma() -> np.ndarray:
    """matplotlib's magma as 256 uint8 RGB rows (imported on first use: the page loads
    without matplotlib, half a second of its start-up)."""
    import matplotlib

    return (matplotlib.colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(
        np.uint8)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

@functools.cache
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
    context, prediction = _check_clip("context", context), _check_clip("prediction", prediction)
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
    return _enlarged((np.clip(frame, 0.0, 1.0) * (255.0 * gain)).round().astype(np.uint8),
                     scale)


def _heat(error: np.ndarray, scale: int) -> np.ndarray:
    """|error| (H, W, C) in [0, 1] -> magma colours of its mean over channels, upscaled."""
    mean = error[..., 0] if error.shape[-1] == 1 else error.mean(axis=-1)
    return _enlarged(_magma()[(np.clip(mean, 0.0, 1.0) * 255).round().astype(np.intp)], scale)


def _enlarged(tile: np.ndarray, scale: int) -> np.ndarray:
    """uint8 (h, w, 1 or 3) -> (h*s, w*s, 3), nearest-neighbour (4x faster than np.repeat)."""
    h, w = tile.shape[:2]
    row = np.broadcast_to(tile[:, :, None, :], (h, w, scale, 3)).reshape(h, 1, w * scale * 3)
    return np.broadcast_to(row, (h, scale, w * scale * 3)).reshape(h * scale, w * scale, 3)


def _fill(height: int, width: int, colour) -> np.ndarray:
    out = np.empty((height, width, 3), np.uint8)
    out[:1] = colour
    out[1:] = out[:1]           # row by row: a 3-tuple broadcast to each pixel is ~100x slower
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
    bottom, right = top + h + 2 * border, left + w + 2 * border
    colour = np.asarray(colour, np.uint8)       # not a tuple: see `_fill`
    # The four sides, not the whole box under the tile: filling it first cost as much again.
    canvas[top:top + border, left:right] = colour
    canvas[bottom - border:bottom, left:right] = colour
    canvas[top + border:bottom - border, left:left + border] = colour
    canvas[top + border:bottom - border, right - border:right] = colour
    canvas[top + border:top + border + h, left + border:left + border + w] = tile


def default_scale(frame_size: tuple[int, int], target: int = TARGET_PANEL) -> int:
    """Integer upscaling so a frame is about `target` px (40x40 -> 6, 64x64 -> 4)."""
    return max(1, int(target) // max(int(frame_size[0]), int(frame_size[1])))


# --------------------------------------------------------------------------------------------
# side by side animation
# --------------------------------------------------------------------------------------------

class _Layout:
    """Pixel geometry of an animation frame: a title row, `panels` bordered panels side by side
    and a footer (`side_by_side`'s, and the tests')."""

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
    """Frames of an animation over context + predicted frames, the truth in the first panel.

    `prediction` is one model's (K, H, W, ch): "Truth | Prediction | |error|"; or a dict
    {name: prediction} of several models' predictions of one clip: "Truth | name | name ...",
    each title in that model's colour in the quality plot, no error panel.

    `context` (C, H, W, ch) are the frames the model read and `truth` (<= K, H, W, ch) the
    real frames after them; it may be shorter than the prediction (or None) when the clip ended:
    those frames say "no ground truth (clip ended)" and leave the error panel blank. Context
    frames show the input in every panel (dimmed in a single prediction's) with a blue-grey
    border; predicted frames get an orange border and badge. `teacher_forced=True` labels every
    predicted frame "ONE-STEP +k" and the panel "One-step (reads truth)": each such frame read
    the true frames before it, not the model's own output.

    Returns uint8 (C + K, H', W', 3); `scale` is the integer upscaling (default: panels of about
    256 px, 200 px for several models; crisp nearest-neighbour).
    """
    several = isinstance(prediction, dict)
    context, truth, preds = _check_predictions(context, truth, prediction)
    s = int(scale) if scale else default_scale(context.shape[1:3],
                                               200 if several else TARGET_PANEL)
    if s < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    if several:
        titles = ["Truth", *(name[:28] for name in preds)]
        colours = [TEXT, *(MODEL_COLOURS[i % len(MODEL_COLOURS)] for i in range(len(preds)))]
    else:
        titles = [PANEL_TITLES[0], "One-step (reads truth)" if teacher_forced
                  else PANEL_TITLES[1], PANEL_TITLES[2]]
        colours = [TEXT] * 3
    lay = _Layout(context.shape[1:3], s, panels=len(titles))
    base = _titled_canvas(lay, titles, colours, _font(15 if several else 17))
    n_context = context.shape[0]
    total = n_context + next(iter(preds.values())).shape[0]
    frames = np.empty((total, lay.height, lay.width, 3), np.uint8)
    for t in range(total):
        tiles, borders = _tiles(context, truth, list(preds.values()), t - n_context, lay,
                                not several)
        canvas = frames[t]
        canvas[:] = base
        for i, (tile, colour) in enumerate(zip(tiles, borders, strict=True)):
            _paste_bordered(canvas, tile, lay.top, lay.lefts[i], lay.border, colour)
        canvas[lay.height - lay.footer:] = _footer(lay.width, lay.footer, lay.margin, t, total,
                                                   t - n_context, teacher_forced)
    return frames


def _check_predictions(context, truth, prediction):
    """Checked inputs of `side_by_side`, the predictions as a dict {name: clip}."""
    preds = prediction if isinstance(prediction, dict) else {"prediction": prediction}
    if not preds:
        raise ValueError("side_by_side needs at least one prediction")
    preds = {name: _check_clip(str(name), clip) for name, clip in preds.items()}
    first = next(iter(preds.values()))
    if any(p.shape != first.shape for p in preds.values()):
        raise ValueError("every prediction must have the same shape")
    context, truth, _ = _check_inputs(context, truth, first)
    return context, truth, preds


def _titled_canvas(lay: _Layout, titles, colours, font) -> np.ndarray:
    """The background of every frame: the panel titles over their panels."""
    img = Image.fromarray(_fill(lay.height, lay.width, BACKGROUND))
    draw = ImageDraw.Draw(img)
    for i, (title, colour) in enumerate(zip(titles, colours, strict=True)):
        x0, _, x1, _ = lay.panel_box(i)
        _centre_text(draw, (x0, 0, x1, lay.header), title, font, fill=colour)
    return np.asarray(img).copy()


def _tiles(context, truth, preds: list[np.ndarray], k: int, lay: _Layout, error_panel: bool):
    """The panels of one frame (`k` < 0: context frame C + k) and their border colours:
    truth, each prediction and, for one model, its |error|."""
    s, size = lay.scale, (lay.panel_h, lay.panel_w)
    if k < 0:
        frame = context[len(context) + k]
        if error_panel:
            no_error = _noted(size, tuple(_magma()[0]), "input frame:\nnothing to score",
                              MUTED_TEXT)
            return ([_grey(frame, s), _grey(frame, s, gain=0.6), no_error],
                    [NEUTRAL, CONTEXT_COLOUR, NEUTRAL])
        return [_grey(frame, s)] * (1 + len(preds)), [NEUTRAL] + [CONTEXT_COLOUR] * len(preds)
    known = k < truth.shape[0]
    ended = None if known else _noted(size, MISSING_FILL, "no ground truth\n(clip ended)", TEXT)
    tiles = [_grey(truth[k], s) if known else ended, *(_grey(p[k], s) for p in preds)]
    borders = [NEUTRAL] + [PREDICTED_COLOUR] * len(preds)
    if error_panel:
        tiles.append(_heat(np.abs(truth[k] - preds[0][k]), s) if known
                     else _fill(*size, MISSING_FILL))
        borders.append(NEUTRAL)
    return tiles, borders


# Text is most of the drawing time, and every request of the same lengths and frame size shows
# the same notes and footers: each is drawn once and kept (read-only arrays).

@functools.lru_cache(maxsize=64)
def _noted(size: tuple[int, int], colour, note: str, text_colour) -> np.ndarray:
    """A panel of one colour with `note` in its middle."""
    img = Image.fromarray(_fill(*size, colour))
    font = _font(14 if size[1] >= 160 else 11)
    _centre_text(ImageDraw.Draw(img), (0, 0, size[1], size[0]), note, font, fill=text_colour)
    tile = np.asarray(img)
    tile.flags.writeable = False
    return tile


@functools.lru_cache(maxsize=512)
def _footer(width: int, height: int, margin: int, t: int, total: int, k: int,
            teacher_forced: bool) -> np.ndarray:
    """Frame `t`'s footer: the frame counter and a badge saying whether the frame is input
    (blue-grey) or predicted (orange, frame `k` + 1 of the prediction)."""
    label_font = _font(16)
    img = Image.fromarray(_fill(height, width, BACKGROUND))
    draw = ImageDraw.Draw(img)
    draw.text((margin, height / 2), f"frame {t + 1}/{total}", font=label_font, fill=TEXT,
              anchor="lm")
    predicted = k >= 0
    kind = "ONE-STEP" if teacher_forced else "PREDICTED"
    badge = f"{kind}  +{k + 1}" if predicted else "context (input)"
    colour = PREDICTED_COLOUR if predicted else CONTEXT_COLOUR
    left, _, right, _ = draw.textbbox((0, 0), badge, font=label_font)
    bw, bh, bx1 = right - left + 20, 26, width - margin
    by0 = (height - bh) // 2
    draw.rounded_rectangle((bx1 - bw, by0, bx1, by0 + bh), radius=6, fill=colour)
    _centre_text(draw, (bx1 - bw, by0, bx1, by0 + bh), badge, label_font,
                 fill=(20, 20, 20) if predicted else (255, 255, 255))
    footer = np.asarray(img)
    footer.flags.writeable = False
    return footer


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

class _StripGrid:
    """Pixel geometry of a frame strip: cells of `scale`-times frames, the context columns, a
    gap, the predicted columns, wrapped every `per_row` predictions; text grows with the cells,
    so it stays readable when the strip is shown scaled down."""

    def __init__(self, frame_size, n_context, n_pred, n_truth, max_context, per_row, scale):
        self.n_context, self.n_pred, self.n_truth = n_context, n_pred, n_truth
        self.n_shown = min(n_context, max(1, int(max_context)))
        self.first = n_context - self.n_shown           # 0-based index of the first shown frame
        self.per_row = max(1, int(per_row))
        self.blocks = max(1, -(-n_pred // self.per_row))
        self.has_truth = [b * self.per_row < n_truth or b == 0 for b in range(self.blocks)]
        fh, fw = frame_size
        self.cols = self.n_shown + min(self.per_row, n_pred)
        narrow = (MAX_STRIP_WIDTH - 120) // (self.cols * (fw + 4))     # the widest cells that fit
        s = int(scale) if scale else max(1, min(default_scale((fh, fw), TARGET_CELL), narrow))
        self.scale, cw, ch = s, fw * s, fh * s
        self.cw = cw
        self.label_size, self.number_size = max(18, round(cw / 4.5)), max(16, round(cw / 5.5))
        self.border, self.gap = max(3, cw // 32), max(4, cw // 24)
        self.group_gap = max(18, cw // 5)
        self.label_w, margin = max(120, round(self.label_size * 6.6)), 10
        right = max(56, cw // 2)             # the page's download/full-screen buttons sit here
        self.group_h, self.number_h = self.label_size + 14, self.number_size + 10
        self.cell_w, self.cell_h = cw + 2 * self.border, ch + 2 * self.border
        self.block_gap = max(12, cw // 6)
        self.block_hs = [self.number_h + (2 * self.cell_h + self.gap if t else self.cell_h)
                         for t in self.has_truth]
        self.width = (self.label_w + self.cols * self.cell_w + (self.cols - 1) * self.gap
                      + self.group_gap + right)
        self.height = (self.group_h + sum(self.block_hs) + (self.blocks - 1) * self.block_gap
                       + margin)
        # (block, column, frame number) of every cell pair, context first
        self.cells = [(0, c, self.first + c) for c in range(self.n_shown)]
        self.cells += [(k // self.per_row, self.n_shown + k % self.per_row, n_context + k)
                       for k in range(n_pred)]

    def col_left(self, c: int) -> int:
        return (self.label_w + c * (self.cell_w + self.gap)
                + (self.group_gap if c >= self.n_shown else 0))

    def rows_top(self, block: int) -> tuple[int, int]:
        top = self.group_h + sum(self.block_hs[:block]) + block * self.block_gap + self.number_h
        return top, top + self.cell_h + self.gap


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
    n_context = context.shape[0]
    g = _StripGrid(context.shape[1:3], n_context, prediction.shape[0], truth.shape[0],
                   max_context, per_row, scale)
    canvas = _fill(g.height, g.width, BACKGROUND)
    s, border = g.scale, g.border
    for block, c, t in g.cells:
        x = g.col_left(c)
        top, bottom = g.rows_top(block)
        if t < n_context:
            tile = _grey(context[t], s)
            _paste_bordered(canvas, tile, top, x, border, CONTEXT_COLOUR)
            _paste_bordered(canvas, tile, bottom, x, border, NEUTRAL)
        else:
            k = t - n_context
            _paste_bordered(canvas, _grey(prediction[k], s), top, x, border, PREDICTED_COLOUR)
            if k < g.n_truth:
                _paste_bordered(canvas, _grey(truth[k], s), bottom, x, border, NEUTRAL)
    return _strip_labels(canvas, g, teacher_forced)


def _strip_labels(canvas: np.ndarray, g: _StripGrid, teacher_forced: bool) -> np.ndarray:
    """The strip's words: row labels, the context and predicted titles, frame numbers, and
    where the truth ends."""
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    label_font, number_font = _font(g.label_size), _font(g.number_size)
    lw, cell_w, cell_h = g.label_w, g.cell_w, g.cell_h
    for block in range(g.blocks):
        top, bottom = g.rows_top(block)
        if g.has_truth[block]:
            _centre_text(draw, (0, top, lw - 6, top + cell_h), "prediction", label_font)
            _centre_text(draw, (0, bottom, lw - 6, bottom + cell_h), "truth", label_font)
        else:
            _centre_text(draw, (0, top, lw - 6, top + cell_h), "prediction\nonly (no\ntruth)",
                         label_font, fill=PREDICTED_COLOUR)
    _centre_text(draw, (lw, 0, g.col_left(g.n_shown - 1) + cell_w, g.group_h), "context",
                 label_font, fill=CONTEXT_COLOUR)
    if g.n_pred:
        title = "one-step predicted (each reads the true frames)" if teacher_forced else "predicted"
        _centre_text(draw, (g.col_left(g.n_shown), 0, g.col_left(g.cols - 1) + cell_w,
                            g.group_h), title, label_font, fill=PREDICTED_COLOUR)
    for block, c, t in g.cells:
        x, top = g.col_left(c), g.rows_top(block)[0]
        _centre_text(draw, (x, top - g.number_h, x + cell_w, top), str(t + 1), number_font,
                     fill=MUTED_TEXT)
    k = g.n_truth
    if k < g.n_pred and g.has_truth[k // g.per_row]:     # truth ends inside a paired row
        x, bottom = g.col_left(g.n_shown + k % g.per_row), g.rows_top(k // g.per_row)[1]
        _centre_text(draw, (x, bottom, x + cell_w, bottom + cell_h),
                     "truth\nends" if g.cw >= 40 else "end", number_font, fill=MUTED_TEXT)
    return np.asarray(img)


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------

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

