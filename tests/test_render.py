"""render and plots: the side-by-side animation, the frame strip and the quality plot."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from frameprophet import plots, render


def clip(t: int, size: int = 40, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((t, size, size, 1)).astype(np.float32)


def colour_count(image: np.ndarray, colour) -> int:
    return int(np.all(image == np.asarray(colour, np.uint8), axis=-1).sum())


def inside(frame: np.ndarray, box, pad: int = 0) -> np.ndarray:
    x0, y0, x1, y1 = box
    return frame[y0 + pad:y1 - pad, x0 + pad:x1 - pad]


@pytest.mark.parametrize("size, scale", [(40, 6), (64, 4)])
def test_side_by_side_counts_and_sizes(size, scale):
    frames = render.side_by_side(clip(5, size), clip(4, size, 1), clip(4, size, 2))
    assert frames.dtype == np.uint8 and frames.ndim == 4 and frames.shape[-1] == 3
    assert frames.shape[0] == 5 + 4
    lay = render._Layout((size, size), scale)
    assert frames.shape[1:3] == (lay.height, lay.width)
    assert lay.panel_w == size * scale and 192 <= lay.panel_w <= 256   # comfortable panels
    assert lay.width > 3 * lay.panel_w


def test_custom_scale_and_crisp_upscaling():
    context = clip(3, 40)
    frames = render.side_by_side(context, clip(2, 40, 1), clip(2, 40, 2), scale=2)
    lay = render._Layout((40, 40), 2)
    assert frames.shape[1:3] == (lay.height, lay.width) and lay.panel_w == 80
    x0, y0, _, _ = lay.panel_box(0)
    b = lay.border
    truth_panel = frames[0, y0 + b:y0 + b + 80, x0 + b:x0 + b + 80, 0]
    expected = np.round(context[0, ..., 0] * 255).astype(np.uint8)
    assert np.array_equal(truth_panel[::2, ::2], expected)           # nearest neighbour
    assert np.array_equal(truth_panel[1::2, 1::2], expected)


def test_predicted_frames_carry_the_marker_and_context_frames_do_not():
    n_context, horizon = 4, 3
    frames = render.side_by_side(clip(n_context), clip(horizon, seed=1), clip(horizon, seed=2))
    lay = render._Layout((40, 40), render.default_scale((40, 40)))
    ring = lay.panel_w * 4 * lay.border        # at least the border of the prediction panel
    for t, frame in enumerate(frames):
        orange = colour_count(frame, render.PREDICTED_COLOUR)
        blue = colour_count(frame, render.CONTEXT_COLOUR)
        if t < n_context:
            assert orange == 0 and blue >= ring, t
        else:
            assert orange >= ring and blue == 0, t
            x0, y0, x1, _ = lay.panel_box(1)
            assert tuple(frame[y0, (x0 + x1) // 2]) == render.PREDICTED_COLOUR
    # the frame counter changes the picture of every frame
    assert len({f.tobytes() for f in frames}) == len(frames)


def test_missing_truth_frames():
    n_context, horizon, known = 3, 5, 2
    frames = render.side_by_side(clip(n_context), clip(known, seed=1), clip(horizon, seed=2))
    assert frames.shape[0] == n_context + horizon
    lay = render._Layout((40, 40), render.default_scale((40, 40)))
    fill = render.MISSING_FILL
    for t in range(n_context, n_context + horizon):
        truth = inside(frames[t], lay.panel_box(0), lay.border)
        error = inside(frames[t], lay.panel_box(2), lay.border)
        missing = t - n_context >= known
        share = colour_count(truth, fill) / (truth.shape[0] * truth.shape[1])
        assert (share > 0.9) == missing, t                   # mostly grey, plus the words
        assert (colour_count(error, fill) == error.shape[0] * error.shape[1]) == missing, t
    # no truth at all is fine too
    assert render.side_by_side(clip(2), None, clip(3)).shape[0] == 5


def test_compare_shows_each_model_in_its_own_panel():
    context, truth = clip(2), clip(3, seed=1)
    predictions = {"a": clip(3, seed=2), "b": clip(3, seed=3)}
    frames = render.side_by_side(context, truth, predictions, scale=2)
    lay = render._Layout((40, 40), 2, panels=3)
    assert frames.shape == (5, lay.height, lay.width, 3)

    def panel(t, i):
        return inside(frames[t], lay.panel_box(i), lay.border)[::2, ::2, 0]

    def grey(frame):
        return np.round(frame[..., 0] * 255).astype(np.uint8)

    for i in range(3):                              # context: the input in every panel
        assert np.array_equal(panel(1, i), grey(context[1]))
    for k in range(3):                              # predicted: truth, then each model's frame
        t = 2 + k
        assert np.array_equal(panel(t, 0), grey(truth[k]))
        assert np.array_equal(panel(t, 1), grey(predictions["a"][k]))
        assert np.array_equal(panel(t, 2), grey(predictions["b"][k]))
        assert colour_count(frames[t], render.PREDICTED_COLOUR) >= 2 * lay.panel_w * lay.border
    with pytest.raises(ValueError, match="same shape"):
        render.side_by_side(context, truth, {"a": clip(3), "b": clip(4)})


def test_side_by_side_draws_colour_clips_in_colour():
    rng = np.random.default_rng(5)
    context, truth, prediction = (rng.random((n, 8, 8, 3)).astype(np.float32) for n in (2, 2, 2))
    frames = render.side_by_side(context, truth, prediction, scale=1)
    lay = render._Layout((8, 8), 1)
    for i, expected in ((0, truth[1]), (1, prediction[1])):
        shown = inside(frames[-1], lay.panel_box(i), lay.border)
        assert np.array_equal(shown, np.round(expected * 255).astype(np.uint8))
    strip = render.frame_strip(context, truth, prediction, scale=1)
    shown = {tuple(p) for p in strip.reshape(-1, 3)}
    for frame in (prediction[1], truth[1]):           # every colour pixel is in the strip
        assert {tuple(p) for p in np.round(frame * 255).astype(np.uint8).reshape(-1, 3)} <= shown


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="truth"):
        render.side_by_side(clip(2, 40), clip(2, 64), clip(2, 40))
    with pytest.raises(ValueError, match="context"):
        render.side_by_side(np.zeros((2, 40, 40, 3)), clip(2), clip(2))


def test_frame_strip_layout():
    strip = render.frame_strip(clip(8), clip(4, seed=1), clip(4, seed=2), max_context=5)
    assert strip.dtype == np.uint8 and strip.ndim == 3 and strip.shape[-1] == 3
    wider = render.frame_strip(clip(8), clip(4, seed=1), clip(5, seed=2), max_context=5)
    fewer = render.frame_strip(clip(8), clip(4, seed=1), clip(4, seed=2), max_context=2)
    step = wider.shape[1] - strip.shape[1]               # one more column
    assert step > 40 and strip.shape[0] == wider.shape[0]
    assert strip.shape[1] - fewer.shape[1] == 3 * step   # 3 fewer context columns
    assert strip.shape[0] > 2 * 40 and strip.shape[1] > 9 * 40
    assert colour_count(strip, render.PREDICTED_COLOUR) > 0
    assert colour_count(strip, render.CONTEXT_COLOUR) > 0
    # scale is an integer factor: a bigger factor gives a bigger strip
    small = render.frame_strip(clip(3), clip(2), clip(2), scale=1)
    big = render.frame_strip(clip(3), clip(2), clip(2), scale=2)
    assert big.shape[0] > small.shape[0] + 2 * 40 - 1


def test_frame_strip_wraps_long_predictions():
    one_row = render.frame_strip(clip(5), clip(10), clip(10), scale=1)
    paired = render.frame_strip(clip(5), clip(25), clip(25), scale=1)    # truth for all 25
    compact = render.frame_strip(clip(5), clip(10), clip(25), scale=1)   # truth for 10 of 25
    assert paired.shape[1] == compact.shape[1] == one_row.shape[1]    # 10 predicted columns wide
    assert paired.shape[0] > 2.5 * one_row.shape[0]              # in 3 (prediction, truth) pairs
    # past the truth: one compact "prediction only" row per 10 frames, no empty truth boxes
    assert one_row.shape[0] < compact.shape[0] < 0.8 * paired.shape[0]
    assert colour_count(compact, render.MISSING_FILL) == 0
    four = render.frame_strip(clip(5), clip(10), clip(4), per_row=2, scale=1)
    assert four.shape[0] > 1.5 * render.frame_strip(clip(5), clip(10), clip(2), scale=1).shape[0]


def test_frame_strip_with_clip_ended():
    strip = render.frame_strip(clip(3), clip(1), clip(4))
    full = render.frame_strip(clip(3), clip(4), clip(4))
    assert strip.shape == full.shape
    assert colour_count(strip, render.MISSING_FILL) == 0         # no empty grey boxes
    assert colour_count(strip, render.NEUTRAL) < colour_count(full, render.NEUTRAL)  # left out


def test_quality_plot_covers_the_horizon_and_marks_where_truth_ends():
    curves = {"model": {"mse": np.arange(10.0), "ssim": np.linspace(1, 0.5, 10)}}
    fig = plots.quality_plot(curves, horizon=30)
    for ax in fig.axes:
        assert ax.get_xlim() == (0.5, 30.5)
        assert any("truth ends" in t.get_text() for t in ax.texts)
    plain = plots.quality_plot(curves)
    assert plain.axes[0].get_xlim() == (0.5, 10.5) and not plain.axes[0].texts


def test_teacher_forced_frames_are_labelled_as_such():
    closed = render.side_by_side(clip(2), clip(3), clip(3))
    teacher = render.side_by_side(clip(2), clip(3), clip(3), teacher_forced=True)
    assert closed.shape == teacher.shape
    assert not np.array_equal(closed[2:], teacher[2:])          # other badge and panel title
    np.testing.assert_array_equal(closed[:2, 40:], teacher[:2, 40:])  # context frames alike
    strip = render.frame_strip(clip(2), clip(3), clip(3), teacher_forced=True)
    assert strip.shape[0] == render.frame_strip(clip(2), clip(3), clip(3)).shape[0]


def test_quality_plot_file_and_figure(tmp_path):
    curves = {"model": {"mse": np.array([3.0, 4.0, 5.0]), "ssim": np.array([0.9, 0.8, 0.7])},
              "copy last frame": {"mse": np.array([2.0, 6.0, 9.0]),
                                  "ssim": np.array([0.95, 0.6, 0.5])}}
    path = plots.quality_plot(curves, tmp_path / "plot.png")
    assert path.exists()
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 400
    fig = plots.quality_plot(curves)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [line.get_label() for line in fig.axes[0].lines] == ["model", "copy last frame"]
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2, 3]
    assert plots.quality_plot({}, tmp_path / "empty.png").exists()   # no ground truth


def test_a_plot_drawn_again_on_a_kept_figure_is_the_plot_a_new_figure_draws(tmp_path):
    """The page's plots reuse a figure per layout: whatever was drawn on it before (longer,
    other lines, a horizon mark), the file is pixel for pixel a fresh figure's."""
    rng = np.random.default_rng(0)

    def curves(n, names):
        return {k: {"mse": rng.random(n) * 100, "ssim": rng.random(n)} for k in names}

    cases = [curves(10, ["model", "copy last frame"]), curves(30, ["model", "a", "b"]),
             curves(4, ["model"])]
    for stacked in (True, False):
        for i, case in enumerate([*cases, cases[0]]):
            kept = plots.quality_plot(case, tmp_path / f"kept{i}.png", horizon=10,
                                      stacked=stacked)
            plots.quality_plot(case, horizon=10, stacked=stacked).savefig(
                tmp_path / f"new{i}.png", format="png")
            with Image.open(kept) as a, Image.open(tmp_path / f"new{i}.png") as b:
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_write_animation_keeps_every_frame(tmp_path):
    frames = render.side_by_side(clip(3), clip(2), clip(2), scale=1)
    path = render.write_animation(frames, tmp_path / "a.gif", fps=5)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 5 and im.size == frames.shape[2:0:-1]
    png = render.write_png(frames[0], tmp_path / "f.png")
    assert Image.open(png).size == frames.shape[2:0:-1]


def test_memory_strip_has_a_row_per_layer_under_the_inputs():
    memory = np.random.default_rng(0).random((6, 3, 10, 10)).astype(np.float32)
    two = render.memory_strip(clip(6), memory[:, :2], n_context=4)
    three = render.memory_strip(clip(6), memory, n_context=4)
    assert three.shape[1] == two.shape[1] and three.shape[0] > two.shape[0] + 60
    assert colour_count(three, render.PREDICTED_COLOUR) > 0       # the fed-back inputs
    with pytest.raises(ValueError, match="layers"):
        render.memory_strip(clip(5), memory, n_context=4)
