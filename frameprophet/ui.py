"""The Gradio demo: pick a clip, pick a model, watch it predict the next frames.

The UI holds no ML logic. `run_prediction` is the plain function behind the Predict button and
the `/predict` API endpoint: it gets a clip (`frameprophet.data` / `frameprophet.io`), a model
(`frameprophet.catalog`, loaded once), forecasts and scores (`frameprophet.forecast`) and draws
(`frameprophet.render`). `build_demo()` lays out the page.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import gradio as gr
import numpy as np

from frameprophet import catalog, data, render
from frameprophet.catalog import LoadedModel
from frameprophet.predict import MODES

log = logging.getLogger(__name__)


def UserError(message: str) -> gr.Error:  # noqa: N802 (reads like the exception it makes)
    """A `gr.Error` for a person's mistake: shown on the page, one line in the log, no trace."""
    log.info("refused: %s", message)
    return gr.Error(message, print_exception=False)

# --------------------------------------------------------------------------------------------
# Choices and limits
# --------------------------------------------------------------------------------------------

SOURCE_SQUARES = "Moving squares"
SOURCE_MNIST = "Moving MNIST"
SOURCE_UPLOAD = "Upload a GIF, MP4, WebM or NPY"
SOURCES = (SOURCE_SQUARES, SOURCE_MNIST, SOURCE_UPLOAD)
_SOURCE_ALIASES = {"squares": SOURCE_SQUARES, "moving squares": SOURCE_SQUARES,
                   "mnist": SOURCE_MNIST, "moving mnist": SOURCE_MNIST,
                   "upload": SOURCE_UPLOAD, "file": SOURCE_UPLOAD}

MODE_CHOICES = [("closed-loop (feeds its own predictions back)", "closed_loop"),
                ("one-step, teacher-forced (reads the true frames)", "teacher_forced")]
_MODE_ALIASES = {"closed-loop": "closed_loop", "closed loop": "closed_loop",
                 "teacher-forced": "teacher_forced", "teacher forced": "teacher_forced",
                 "one-step": "teacher_forced", "one-step teacher-forced": "teacher_forced",
                 **{label: value for label, value in MODE_CHOICES}}
MODE_LABELS = {"closed_loop": "closed-loop", "teacher_forced": "one-step teacher-forced"}

CUSTOM_MODEL = "Custom (Hub repo id)"
DEFAULT_MODEL = {SOURCE_SQUARES: "squares", SOURCE_MNIST: "mnist", SOURCE_UPLOAD: "mnist"}

CLIP_FRAMES = 20            # generated clips (the Moving MNIST benchmark length)
MAX_UPLOAD_FRAMES = 60      # uploads are cut to this many frames
MAX_HORIZON = 30
DEFAULT_CONTEXT = 10
DEFAULT_HORIZON = 10
DEFAULT_SEED = 0
MAX_SEED = 2**31 - 1
FPS = 5
KEEP_RESULTS = 16           # result dirs kept on disk (Gradio copies outputs into its cache)

# This process's own folder, removed at exit: two apps on one machine (a test suite beside
# `make run`) must not prune each other's results.
_RESULTS = tempfile.TemporaryDirectory(prefix="frameprophet-results-")
RESULTS_ROOT = Path(_RESULTS.name)
GENERIC_ERROR = ("Sorry, something went wrong while predicting this clip. Please try again with "
                 "another clip, seed or model.")

CSS = """
#fp-title h1 {margin-bottom: 0.1em;}
#fp-info textarea {font-size: 0.9em;}
"""
THEME = "soft"
# One prediction at a time (two cores); a queue long enough that nobody is turned away below 64
# people waiting, short enough to bound memory.
QUEUE_SETTINGS = {"default_concurrency_limit": 1, "max_size": 64}


# --------------------------------------------------------------------------------------------
# Models (`frameprophet.catalog` loads each once and shares it)
# --------------------------------------------------------------------------------------------

def model_choices(shipped: list[str] | None = None) -> list[tuple[str, str]]:
    """(label, name) of the shipped models (baselines marked), the original keras-io model
    (fetched from the Hub only when chosen), and a free Hub repo id. `shipped` is
    `catalog.shipped()` when the caller has already read it."""
    from frameprophet.hub import KERAS_IO_REPO

    choices = []
    for name in catalog.shipped() if shipped is None else shipped:
        note = catalog.baseline_note(name)
        choices.append((f"{name} (Keras example recipe, for comparison)" if note else name, name))
    return [*choices, (f"{KERAS_IO_REPO} (the original Keras model, from the Hub)",
                       KERAS_IO_REPO), (CUSTOM_MODEL, CUSTOM_MODEL)]


# --------------------------------------------------------------------------------------------
# Clips
# --------------------------------------------------------------------------------------------

def normalise_source(source: str | None) -> str:
    if source in SOURCES:
        return source
    key = (source or "").strip().lower()
    if key in _SOURCE_ALIASES:
        return _SOURCE_ALIASES[key]
    if key.startswith("upload"):
        return SOURCE_UPLOAD
    raise UserError(f"Unknown source {source!r}; choose one of: {', '.join(SOURCES)} (or "
                   "squares, mnist, upload).")


def normalise_mode(mode: str | None) -> str:
    mode = (mode or "closed_loop").strip()
    if mode in MODES:
        return mode
    if mode.lower() in _MODE_ALIASES or mode in _MODE_ALIASES:
        return _MODE_ALIASES.get(mode) or _MODE_ALIASES[mode.lower()]
    raise UserError(f"Unknown mode {mode!r}; use closed_loop (or closed-loop) or teacher_forced "
                   "(or teacher-forced, one-step).")


def normalise_seed(seed) -> int:
    try:
        value = int(float(seed)) if seed not in (None, "") else DEFAULT_SEED
    except (TypeError, ValueError) as e:
        raise UserError(f"The seed must be a whole number, got {seed!r}.") from e
    return int(np.clip(value, 0, MAX_SEED))


def _upload_path(upload) -> str | None:
    if upload is None:
        return None
    if isinstance(upload, dict):                     # FileData-like
        return upload.get("path")
    return str(getattr(upload, "path", upload))


def make_clip(source: str, seed, upload, frame_size: tuple[int, int]
              ) -> tuple[np.ndarray, list[str]]:
    """The clip (T, H, W, 1) for a source, at `frame_size` (the model's), and notes on what was
    changed on the way (an upload cut or made grey)."""
    from frameprophet import io

    source = normalise_source(source)
    if source == SOURCE_UPLOAD:
        path = _upload_path(upload)
        if not path:
            raise UserError("Upload a GIF, MP4, WebM or NPY clip first (or pick another source).")
        return io.read_clip_with_notes(path, frame_size=tuple(frame_size),
                                       max_frames=MAX_UPLOAD_FRAMES)
    dataset = "squares" if source == SOURCE_SQUARES else "mnist"
    clip = data.example_clip(dataset, normalise_seed(seed), frames=CLIP_FRAMES)
    return fit_clip(clip, frame_size), []


def fit_clip(clip: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """Resize a clip to the model's frame size with `frameprophet.io`'s resizer (the one
    uploads go through: fit inside, keep the aspect ratio, pad with black)."""
    if tuple(clip.shape[1:3]) == tuple(frame_size):
        return clip
    from frameprophet import io

    return io.resize_clip(clip, frame_size)


def upload_types() -> list[str]:
    """File endings the upload box offers: whatever `frameprophet.io.read_clip` can read."""
    from frameprophet import io

    return sorted({*io.PILLOW_EXTENSIONS, *io.VIDEO_EXTENSIONS, *io.ARRAY_EXTENSIONS,
                   *io.ZIP_EXTENSIONS} - {".jpg", ".jpeg"})        # a JPG is a single picture


def clip_length(source: str, upload) -> int | None:
    """How many frames the chosen clip has (None when unknown or unreadable)."""
    from frameprophet import io

    source = normalise_source(source)
    if source != SOURCE_UPLOAD:
        return CLIP_FRAMES
    path = _upload_path(upload)
    if not path:
        return None
    clip = io.read_clip(path, frame_size=(32, 32), max_frames=MAX_UPLOAD_FRAMES)
    return int(clip.shape[0])


# --------------------------------------------------------------------------------------------
# The prediction itself
# --------------------------------------------------------------------------------------------

def _result_dir() -> Path:
    """A fresh directory for one request's files; only the newest KEEP_RESULTS are kept."""
    RESULTS_ROOT.mkdir(parents=True, exist_ok=True)
    old = sorted(RESULTS_ROOT.glob("req-*"))      # by name: the time they were made, no stat race
    for stale in old[: max(0, len(old) - KEEP_RESULTS + 1)]:
        shutil.rmtree(stale, ignore_errors=True)
    path = RESULTS_ROOT / f"req-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


def _progress(progress, fraction: float, desc: str) -> None:
    if progress is not None:
        progress(fraction, desc=desc)


def _answer(run, upload=None):
    """Run a request; every failure becomes a `gr.Error` with a message for the person.
    Input problems (ValueError: ClipError, ModelFileError, bad settings) are said in words;
    anything else is our bug: logged with its traceback, and a generic message."""
    try:
        return run()
    except gr.Error:
        raise
    except ValueError as e:
        raise UserError(_without_upload_dir(str(e), upload)) from e
    except Exception as e:
        log.exception("prediction failed")
        raise gr.Error(GENERIC_ERROR) from e


def run_prediction(source, seed, upload, context, horizon, mode, model, hub_repo=None,
                   progress=None, out_dir: str | Path | None = None):
    """Predict `horizon` frames of a clip and draw the result.

    `source` is one of SOURCES (or "squares" / "mnist" / "upload"); `upload` a file path for
    uploads; `model` a shipped name, CUSTOM_MODEL (then `hub_repo` is used) or a Hub repo id.
    Returns `(gif_path, strip_png, plot_png, info)`.
    """
    def run():
        started = time.perf_counter()
        src, how = normalise_source(source), normalise_mode(mode)
        c, h = _lengths(context, horizon)
        loaded = _load(model, hub_repo, progress)
        _progress(progress, 0.2, "Reading the clip")
        clip, notes = make_clip(src, seed, upload, loaded.predictor.frame_size)
        name = (f"upload {Path(_upload_path(upload)).name}" if src == SOURCE_UPLOAD
                else f"{src} seed {normalise_seed(seed)}")
        return _forecast_and_draw(loaded, clip, notes, name, c, h, how, progress, out_dir,
                                  started)

    return _answer(run, upload)


def run_scene(world, objects, speed, digits, seed, context, horizon, mode, model, sketch=None,
              progress=None, out_dir: str | Path | None = None):
    """Build a scene with `frameprophet.data.scene` (or, for world "drawing", a sprite made of
    `sketch`) and forecast it like `run_prediction`."""
    def run():
        started = time.perf_counter()
        how = normalise_mode(mode)
        c, h = _lengths(context, horizon)
        kind = {"mnist": "mnist", "moving mnist": "mnist", "squares": "squares",
                "moving squares": "squares", "drawing": "drawing",
                "my drawing": "drawing"}.get(str(world or "").strip().lower())
        if kind is None:
            raise UserError(f"Unknown world {world!r}; choose mnist, squares or drawing.")
        try:
            count = int(objects) if objects not in (None, "") else None
            pace = float(speed) if speed not in (None, "") else None
        except (TypeError, ValueError) as e:
            raise UserError("Objects and speed must be numbers.") from e
        loaded = _load(model, None, progress)
        if kind == "drawing":
            picture = _sketch_array(sketch)
            if picture is None:
                raise UserError("Draw a shape or a digit first (world 'drawing' moves your "
                                "drawing).")
            sprite = data.sprite_from_drawing(picture)
            clip = data.sprite_clip(sprite, frames=CLIP_FRAMES, speed=3.6 if pace is None
                                    else pace, seed=normalise_seed(seed))
            notes = ["your drawing: the model learnt MNIST digits, so expect it to turn your "
                     "shape into something digit-like"]
        else:
            clip, notes = data.scene(kind, count, pace, (digits or "").strip() or None,
                                     normalise_seed(seed), frames=CLIP_FRAMES)
        clip = fit_clip(clip, loaded.predictor.frame_size)
        name = f"{kind} scene seed {normalise_seed(seed)}"
        if notes and kind != "drawing":
            name += " (out of distribution)"
        return _forecast_and_draw(loaded, clip, notes, name, c, h, how, progress, out_dir,
                                  started)

    return _answer(run)


def run_compare(source, seed, upload, context, horizon, mode, models,
                progress=None, out_dir: str | Path | None = None):
    """Forecast one clip with 2 to 4 models: one animation (truth and each model), one plot
    (each model and the baseline). Returns `(gif_path, plot_png, info)`."""
    def run():
        from frameprophet.forecast import forecast

        started = time.perf_counter()
        src, how = normalise_source(source), normalise_mode(mode)
        c, h = _lengths(context, horizon)
        names = ([m.strip() for m in models.split(",")] if isinstance(models, str)
                 else [str(m).strip() for m in models or []])
        names = list(dict.fromkeys(n for n in names if n))
        if not 2 <= len(names) <= 4:
            raise UserError(f"Compare 2 to 4 models, e.g. mnist and mnist-keras3; got "
                            f"{len(names)}. Shipped: {', '.join(catalog.shipped())}.")
        loaded = [catalog.get(name) for name in names]
        sizes = {m.predictor.frame_size for m in loaded}
        if len(sizes) > 1:
            raise UserError("These models predict frames of different sizes; compare models of "
                            "one dataset (e.g. mnist with mnist-keras3).")
        clip, notes = make_clip(src, seed, upload, loaded[0].predictor.frame_size)
        results = {}
        for i, (name, model) in enumerate(zip(names, loaded, strict=True)):
            _progress(progress, 0.1 + 0.6 * i / len(names), f"Predicting with {name}")
            results[name] = forecast(model.predictor, clip, c, h, how)
        first = results[names[0]]
        notes += first.notes
        curves = {name: r.curves["model"] for name, r in results.items() if r.scored}
        if first.scored:
            curves[first.baseline] = first.curves[first.baseline]
        out = Path(out_dir) if out_dir else _result_dir()
        out.mkdir(parents=True, exist_ok=True)
        gif = render.write_animation(render.compare_frames(
            first.context, first.truth, {n: r.prediction for n, r in results.items()}),
            out / "compare.gif", fps=FPS)
        plot = render.quality_plot(curves, out / "compare.png",
                                   horizon=first.prediction.shape[0])
        lines = [f"{MODE_LABELS[how]}: {first.context.shape[0]} context + "
                 f"{first.prediction.shape[0]} predicted frames of "
                 + (f"upload {Path(_upload_path(upload)).name}" if src == SOURCE_UPLOAD
                    else f"{src} seed {normalise_seed(seed)}")]
        for name, r in results.items():
            score = (f"mean MSE {r.mean('model'):.1f}, SSIM {r.mean('model', 'ssim'):.3f}"
                     if r.scored else "no truth to score")
            lines.append(f"{name}: {score} ({r.seconds * 1000:.0f} ms)")
        if first.scored:
            lines.append(f"{first.baseline}: mean MSE {first.mean(first.baseline):.1f}, SSIM "
                         f"{first.mean(first.baseline, 'ssim'):.3f}")
        lines += [m.baseline for m in loaded if m.baseline]
        lines.append(f"total {(time.perf_counter() - started) * 1000:.0f} ms")
        info = "\n".join(lines)
        if notes:
            info += "\nNote: " + "; ".join(notes) + "."
        return str(gif), str(plot), info

    return _answer(run, upload)


def _sketch_array(sketch) -> np.ndarray | None:
    """The picture in a Sketchpad value (a dict with 'composite'), an image array, or an image
    file (the API); None when there is none."""
    if sketch is None:
        return None
    if isinstance(sketch, dict):
        if sketch.get("path"):                      # a file sent through the API
            sketch = sketch["path"]
        else:
            sketch = sketch.get("composite")
            if sketch is None:
                return None
    if isinstance(sketch, str | Path):
        from PIL import Image

        try:
            with Image.open(sketch) as im:
                im.thumbnail((1024, 1024))
                return np.asarray(im.convert("RGBA"))
        except (OSError, ValueError) as e:
            raise UserError("The sketch is not a picture (PNG, JPG or WebP).") from e
    return np.asarray(sketch)


def run_memory(source, seed, upload, context, horizon, model, progress=None,
               out_dir: str | Path | None = None):
    """What a stepwise model remembers while it rolls a clip out (closed loop): the frames it
    reads and, under each, its ConvLSTM layers' hidden-state size. Returns `(png, info)`."""
    def run():
        src = normalise_source(source)
        c, h = _lengths(context, horizon)
        loaded = _load(model, None, progress)
        clip, _ = make_clip(src, seed, upload, loaded.predictor.frame_size)
        return _memory_picture(loaded, clip, c, h, out_dir)

    return _answer(run, upload)


def _memory_picture(loaded: LoadedModel, clip, context, horizon, out_dir):
    predictor = loaded.predictor
    if not predictor.stepwise:
        raise UserError(f"{loaded.label} re-runs the whole sequence for every frame, so it "
                        "carries no memory to show; choose a prophet model (mnist, squares).")
    context = min(context, clip.shape[0] - 1)
    prediction, memory = predictor.memory(clip[:context], horizon)
    inputs = np.concatenate([clip[:context], prediction[:-1]])
    out = Path(out_dir) if out_dir else _result_dir()
    out.mkdir(parents=True, exist_ok=True)
    png = render.write_png(render.memory_strip(inputs, memory, context), out / "memory.png")
    info = (f"{loaded.label}: {memory.shape[1]} ConvLSTM layers, hidden state size per "
            f"position (RMS over channels), after reading each of {context} context frames "
            f"and {horizon - 1} of its own predictions")
    return str(png), info


def _lengths(context, horizon) -> tuple[int, int]:
    try:
        context, horizon = int(context), int(horizon)
    except (TypeError, ValueError) as e:
        raise UserError("Context and frames to predict must be whole numbers.") from e
    if context < 1:
        raise UserError("Use at least one context frame.")
    if not 1 <= horizon <= MAX_HORIZON:
        raise UserError(f"Frames to predict must be between 1 and {MAX_HORIZON}.")
    return context, horizon


def _load(model, hub_repo, progress) -> LoadedModel:
    if model == CUSTOM_MODEL or (not model and hub_repo):
        model = hub_repo
        if not (model or "").strip():
            raise UserError("Type a Hugging Face Hub repo id (owner/name) for a custom model.")
    _progress(progress, 0.05, "Loading the model")
    return catalog.get(model)


def _without_upload_dir(message: str, upload) -> str:
    """Drop the server's temp folder from a message about an uploaded file."""
    path = _upload_path(upload)
    if path:
        folder = str(Path(path).parent)
        message = message.replace(folder + os.sep, "").replace(folder, "")
    return message


def _forecast_and_draw(loaded: LoadedModel, clip, notes, clip_name, context, horizon, mode,
                       progress, out_dir, started):
    """`frameprophet.forecast` on the clip, then the GIF, the strip, the plot and the info."""
    from frameprophet.forecast import forecast

    predictor = loaded.predictor
    _progress(progress, 0.35, f"Predicting {horizon} frames")
    result = forecast(predictor, clip, context, horizon, mode)
    notes = [*notes, *result.notes]
    context, horizon = result.context.shape[0], result.prediction.shape[0]

    _progress(progress, 0.7, "Scoring and drawing")
    gif, strip, plot = render.forecast_files(result, out_dir or _result_dir(), fps=FPS)
    teacher = mode == "teacher_forced"
    h, w = predictor.frame_size
    ms = result.seconds * 1000
    parts = [f"Model: {loaded.label} ({predictor.method})",
             f"clip: {clip_name} ({clip.shape[0]} frames)",
             f"{MODE_LABELS[mode]}: {context} context + {horizon} predicted frames at {h}x{w}",
             f"prediction {ms:.0f} ms ({ms / horizon:.1f} ms/frame), "
             f"total {(time.perf_counter() - started) * 1000:.0f} ms"]
    if result.scored:
        parts.append(f"mean MSE over {result.scored} scored frames: model "
                     f"{result.mean('model'):.1f} vs {result.baseline} "
                     f"{result.mean(result.baseline):.1f}")
    info = " · ".join(parts)
    if teacher:
        info = ("ONE-STEP (teacher-forced): each predicted frame reads the true frames before "
                "it, so errors never build up; compare with copying the previous true frame. "
                "Closed loop is the real test.\n" + info)
    if loaded.baseline:
        info += f"\n{loaded.baseline}"
    if notes:
        info += "\nNote: " + "; ".join(notes) + "."
    _progress(progress, 1.0, "Done")
    return str(gif), str(strip), str(plot), info


# --------------------------------------------------------------------------------------------
# The first result on the page (computed once, then shared)
# --------------------------------------------------------------------------------------------

FIRST_EXAMPLE = (SOURCE_MNIST, DEFAULT_SEED, None, DEFAULT_CONTEXT, DEFAULT_HORIZON,
                 "closed_loop", DEFAULT_MODEL[SOURCE_MNIST])
_FIRST: dict[str, tuple] = {}
_FIRST_LOCK = threading.Lock()


def first_result():
    """The result of FIRST_EXAMPLE, computed on the first call and reused afterwards."""
    with _FIRST_LOCK:
        key = catalog.key(FIRST_EXAMPLE[-1])
        if key not in _FIRST:
            for stale in RESULTS_ROOT.glob("first-*"):          # from an older weights file
                shutil.rmtree(stale, ignore_errors=True)
            out = RESULTS_ROOT / f"first-{uuid.uuid4().hex[:8]}"
            _FIRST.clear()
            _FIRST[key] = run_prediction(*FIRST_EXAMPLE, out_dir=out)
        return _FIRST[key]


def warm_up() -> threading.Thread:
    """Compute the first result in the background (call before launch on a server)."""
    def work():
        try:
            first_result()
        except Exception:               # the page load retries and reports it
            log.warning("warm-up failed", exc_info=True)

    thread = threading.Thread(target=work, name="frameprophet-warm-up", daemon=True)
    thread.start()
    return thread


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

def predict(source: str, seed: float, upload: str | None, context: int, horizon: int,
            mode: str, model: str, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
    """Predict the next frames of a clip.

    source: "Moving squares", "Moving MNIST" or "Upload a GIF, MP4, WebM or NPY"
    (also "squares" / "mnist" / "upload"); seed: clip seed for generated sources;
    upload: the clip file for uploads; context: frames the model reads; horizon: frames to predict
    (1..30); mode: "closed_loop" or "teacher_forced"; model: a shipped model name or a Hugging Face
    Hub repo id (owner/name). Returns the animated GIF, the frame strip, the quality plot and an
    info line.
    """
    return run_prediction(source, seed, upload, context, horizon, mode, model, progress=progress)


def scene(world: str, objects: float, speed: float, digits: str, seed: float, context: int,
          horizon: int, mode: str, model: str, sketch: str | None = None,
          progress=gr.Progress()):  # noqa: B008
    """Build a scene and predict its next frames.

    world: "mnist", "squares" or "drawing"; objects: 1..4 digits or squares; speed: px per frame
    (MNIST learnt 3.6, up to 36; squares learnt 1, whole numbers up to 10); digits: classes like
    "37" (empty: any; only 8s and 9s are held out of training); seed: the scene's seed; context,
    horizon, mode, model: as for /predict; sketch: for world "drawing", a picture of a shape or
    a digit (any colours on a plain background), moved and bounced like a Moving MNIST digit.
    Settings the model never saw are allowed and noted in the info line. Returns the animated
    GIF, the frame strip, the quality plot and the info.
    """
    return run_scene(world, objects, speed, digits, seed, context, horizon, mode, model,
                     sketch=sketch, progress=progress)


def compare(source: str, seed: float, upload: str | None, context: int, horizon: int,
            mode: str, models: list[str], progress=gr.Progress()):  # noqa: B008
    """Predict the same clip with 2 to 4 models, side by side.

    source, seed, upload, context, horizon, mode: as for /predict; models: 2 to 4 shipped model
    names or Hub repo ids of one frame size, e.g. ["mnist", "mnist-keras3"]. Returns one
    animated GIF (truth and each model), one plot (each model's per-frame MSE and SSIM and the
    baseline's) and the info text.
    """
    return run_compare(source, seed, upload, context, horizon, mode, models, progress=progress)


def memory(source: str, seed: float, upload: str | None, context: int, horizon: int,
           model: str, progress=gr.Progress()):  # noqa: B008
    """What the ConvLSTM remembers while it predicts a clip (closed loop).

    source, seed, upload, context, horizon, model: as for /predict (stepwise models only: our
    prophet models). Returns a picture (the frames read: context, then the model's own
    predictions; under each, one heat map per layer of its hidden state's size) and the info.
    """
    return run_memory(source, seed, upload, context, horizon, model, progress=progress)


def predict_on_page(what, source, seed, upload, context, horizon, mode, model, world, objects,
                    speed, digits, scene_seed, sketch, compare_source, compare_seed,
                    compare_models, show_memory=False, progress=gr.Progress()):  # noqa: B008
    """The page's Predict, for the tab in use: a refused request keeps the previous result on
    screen and says why in the run-info box (where the person is looking) and a warning.
    With `show_memory` (the "A clip" tab), also what the model remembers."""
    result = _page_result(what, source, seed, upload, context, horizon, mode, model, world,
                          objects, speed, digits, scene_seed, sketch, compare_source,
                          compare_seed, compare_models, progress)
    hidden = gr.update(visible=False, value=None)
    if not show_memory or what != "clip" or result[0] == gr.skip():
        return (*result, hidden)
    try:
        png, _ = run_memory(source, seed, upload, context, horizon, model)
    except gr.Error as e:
        return (*result[:3], f"{result[3]}\nMemory not shown: {e.message}", hidden)
    return (*result, gr.update(visible=True, value=png))


def _page_result(what, source, seed, upload, context, horizon, mode, model, world, objects,
                 speed, digits, scene_seed, sketch, compare_source, compare_seed, compare_models,
                 progress):
    try:
        if what == "compare":
            gif, plot, info = run_compare(compare_source, compare_seed, None, context, horizon,
                                          mode, compare_models, progress=progress)
            return gif, None, plot, info               # no single-model strip for a compare
        if what == "scene":
            return run_scene(world, objects, speed, digits, scene_seed, context, horizon, mode,
                             model, sketch=sketch, progress=progress)
        return run_prediction(source, seed, upload, context, horizon, mode, model,
                              progress=progress)
    except gr.Error as e:
        gr.Warning(e.message)
        return (gr.skip(), gr.skip(), gr.skip(),
                f"Not predicted: {e.message}\n(The pictures show the previous result.)")


def _request(source: str, mode: str, choice: str, hub_repo: str) -> tuple[str, str, str]:
    """Widget values -> the /predict endpoint's plain-text source, mode and model."""
    return source, mode, (hub_repo or "").strip() if choice == CUSTOM_MODEL else choice


def _random_seed() -> int:
    return int(np.random.default_rng().integers(0, 100_000))


def _on_source(source: str, upload, context: int):
    """Source changed: show the upload box for uploads and fit the context slider to the clip."""
    source = normalise_source(source)
    return (gr.update(visible=source == SOURCE_UPLOAD),
            gr.update(visible=source != SOURCE_UPLOAD),
            _context_update(source, upload, context))


def _on_upload(source: str, upload, context: int):
    """A file was dropped: fit the context slider to its length. One output, so one update
    (a 1-tuple here once became the slider's value and broke every upload)."""
    return _context_update(source, upload, context)


def _context_update(source, upload, context):
    from frameprophet import io

    try:
        n = clip_length(source, upload)
    except io.ClipError as e:                   # say it now; Predict will refuse it again
        gr.Warning(_without_upload_dir(str(e), upload))
        n = None
    except Exception:
        log.warning("could not count the frames of an upload", exc_info=True)
        gr.Warning("Could not read this file.")
        n = None
    if n is None or n < 2:
        return gr.update()
    context = int(context or DEFAULT_CONTEXT)
    if context <= n - 1:        # leave the value alone: the person may have moved it meanwhile
        return gr.update(maximum=n - 1)
    return gr.update(maximum=n - 1, value=n - 1)


def _on_model(choice: str):
    return gr.update(visible=choice == CUSTOM_MODEL)


def _default_model(source: str):
    return gr.update(value=DEFAULT_MODEL[normalise_source(source)])


def _api_example(component, value):
    """Set the example the API page shows for `component` (Gradio's defaults are "Hello!!" for
    text and a sample PDF for files). Set on the instance: subclassing a component makes Gradio
    write a .pyi file beside this module at import time."""
    component.example_payload = lambda: value
    component.example_value = lambda: value
    return component


def build_demo() -> gr.Blocks:
    """The FrameProphet page. Launch with `demo.launch(theme=THEME, css=CSS)`."""
    shipped = catalog.shipped()                 # weights/ read once per page
    choices = model_choices(shipped)
    with gr.Blocks(title="FrameProphet", delete_cache=(3600, 3600),
                   analytics_enabled=False) as demo:
        gr.Markdown("# FrameProphet", elem_id="fp-title")
        gr.Markdown("A causal ConvLSTM reads the first frames of a short video and predicts what "
                    "comes next. Orange frames are predictions; compare them with the truth and "
                    "with simply repeating the last frame.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                what = gr.State("clip")                # which tab the Predict button serves
                with gr.Tabs() as tabs:
                    with gr.Tab("A clip", id="clip") as clip_tab:
                        source_choice = gr.Radio(list(SOURCES), value=SOURCE_MNIST, label="Clip")
                        with gr.Row(visible=True) as seed_row:
                            seed = gr.Number(value=DEFAULT_SEED, precision=0, minimum=0,
                                             maximum=MAX_SEED, label="Seed", scale=2,
                                             min_width=100)
                            dice = gr.Button("New random clip", scale=3, min_width=120)
                        upload = gr.File(label="Your clip: GIF, MP4, WebM or NPY (also APNG, "
                                               "MOV, NPZ, a ZIP of frames); made grey and fitted "
                                               "to the model's frame size",
                                         file_types=upload_types(), type="filepath",
                                         visible=False, elem_id="fp-upload")
                        _api_example(upload, None)      # optional: only for "upload" sources
                    with gr.Tab("Build a scene", id="scene", elem_id="fp-scene-tab") as scene_tab:
                        gr.Markdown("Change the world and watch where the model breaks: "
                                    "it learnt 2 digits at 3.6 px/frame (or 3-7 squares at "
                                    "1 px/frame). Other settings are allowed, and labelled.")
                        world = gr.Radio(["mnist", "squares", "drawing"], value="mnist",
                                         label="World (drawing: your sketch below moves)")
                        with gr.Row():
                            objects = gr.Slider(1, 4, value=2, step=1, label="Objects")
                            speed = gr.Number(value=3.6, minimum=0, maximum=36,
                                              label="Speed (px per frame)")
                        with gr.Row():
                            digits = gr.Textbox(value="", label="Digits (e.g. 37; empty: any)",
                                                placeholder="any")
                            scene_seed = gr.Number(value=0, precision=0, minimum=0,
                                                   maximum=MAX_SEED, label="Seed")
                        sketchpad = gr.Sketchpad(
                            type="numpy", image_mode="RGB", canvas_size=(280, 280),
                            fixed_canvas=True, height=360, layers=False, transforms=(),
                            brush=gr.Brush(default_size=16, colors=["#000000"],
                                           color_mode="fixed"),
                            label="Draw a shape or a digit (for world 'drawing'): pick the "
                                  "brush, then draw", elem_id="fp-sketch")
                        scene_examples = gr.Examples(
                            examples=[["mnist", 2, 3.6, "", 0], ["mnist", 3, 3.6, "", 1],
                                      ["mnist", 2, 7.2, "", 2], ["mnist", 1, 3.6, "9", 3],
                                      ["squares", 2, 2, "", 4]],
                            example_labels=["as trained", "3 digits", "double speed",
                                            "one 9", "2 fast squares"],
                            inputs=[world, objects, speed, digits, scene_seed],
                            label="Scenes (click one to run it)", api_visibility="private")
                    with gr.Tab("Compare models", id="compare", elem_id="fp-compare-tab") \
                            as compare_tab:
                        gr.Markdown("The same clip, 2 to 4 models side by side: ours against "
                                    "the Keras examples' recipes.")
                        compare_models = gr.CheckboxGroup(
                            [(label, value) for label, value in choices
                             if value in shipped],
                            value=[m for m in ("mnist", "mnist-keras3") if m in shipped],
                            label="Models (2 to 4, of one frame size)")
                        with gr.Row():
                            compare_source = gr.Radio([SOURCE_MNIST, SOURCE_SQUARES],
                                                      value=SOURCE_MNIST, label="Clip")
                            compare_seed = gr.Number(value=0, precision=0, minimum=0,
                                                     maximum=MAX_SEED, label="Seed")
                        compare_examples = gr.Examples(
                            examples=[[["mnist", "mnist-keras3"], SOURCE_MNIST, 3],
                                      [["squares", "squares-keras2"], SOURCE_SQUARES, 5]],
                            example_labels=["ours vs the Keras 3 example (MNIST)",
                                            "ours vs the Keras 2 example (squares)"],
                            inputs=[compare_models, compare_source, compare_seed],
                            label="Comparisons (click one to run it)",
                            api_visibility="private")
                context = gr.Slider(1, CLIP_FRAMES - 1, value=DEFAULT_CONTEXT, step=1,
                                    label="Context frames (what the model reads)",
                                    elem_id="fp-context")
                horizon = gr.Slider(1, MAX_HORIZON, value=DEFAULT_HORIZON, step=1,
                                    label="Frames to predict (past the clip's end there is no "
                                          "truth to compare)")
                mode_choice = gr.Radio(MODE_CHOICES, value="closed_loop", label="Mode")
                show_memory = gr.Checkbox(False, label="Also show what it remembers (the "
                                          "ConvLSTM states, closed loop; 'A clip' tab)")
                model_choice = gr.Dropdown(choices, value=DEFAULT_MODEL[SOURCE_MNIST],
                                           label="Model")
                hub_repo = gr.Textbox(label="Hugging Face Hub repo id",
                                      placeholder="owner/name or hf://owner/name",
                                      visible=False)
                # What the /predict endpoint receives: plain text, so the API takes the
                # documented values and their aliases, and our own check lists what is accepted.
                source = _api_example(gr.Textbox(value=SOURCE_MNIST, visible=False,
                                                 label="source"), SOURCE_MNIST)
                mode = _api_example(gr.Textbox(value="closed_loop", visible=False,
                                               label="mode"), "closed_loop")
                model = _api_example(gr.Textbox(value=DEFAULT_MODEL[SOURCE_MNIST], visible=False,
                                                label="model"), "mnist")
                button = gr.Button("Predict", variant="primary", size="lg")
                examples = gr.Examples(
                    examples=[[SOURCE_MNIST, 0, 10, 10, "closed_loop", "mnist"],
                              [SOURCE_MNIST, 42, 10, 20, "closed_loop", "mnist"],
                              [SOURCE_MNIST, 7, 10, 10, "teacher_forced", "mnist"],
                              [SOURCE_SQUARES, 3, 7, 13, "closed_loop", "squares"],
                              [SOURCE_SQUARES, 11, 10, 10, "teacher_forced", "squares"]],
                    example_labels=["MNIST · seed 0 · 10 → 10", "MNIST · seed 42 · 10 → 20",
                                    "MNIST · teacher-forced", "Squares · seed 3 · 7 → 13",
                                    "Squares · teacher-forced"],
                    inputs=[source_choice, seed, context, horizon, mode_choice, model_choice],
                    label="Examples (click one to run it)", api_visibility="private")
            with gr.Column(scale=3, min_width=420):
                gr.Markdown("**Truth | Prediction | |error|** — orange border: predicted "
                            "frame; blue-grey: context the model reads", elem_classes="fp-cap")
                animation = gr.Image(type="filepath", interactive=False, show_label=False,
                                     label="Animation",
                                     buttons=["download", "fullscreen"], elem_id="fp-animation")
                info = gr.Textbox(label="Run info", lines=2, interactive=False, elem_id="fp-info")
                gr.Markdown("**Frame strip** — last context frames, then the prediction "
                            "(top row) above the truth (bottom row)", elem_classes="fp-cap")
                strip = gr.Image(type="filepath", interactive=False, show_label=False,
                                 label="Frame strip", buttons=["download", "fullscreen"],
                                 elem_id="fp-strip")
                gr.Markdown("**Per-frame quality** — the model against the copy-last-frame "
                            "baseline, where there is ground truth", elem_classes="fp-cap")
                plot = gr.Image(type="filepath", interactive=False, show_label=False,
                                label="Quality plot", buttons=["download", "fullscreen"],
                                elem_id="fp-plot")
                memory_image = gr.Image(type="filepath", interactive=False,
                                        label="What it remembers: each ConvLSTM layer's hidden "
                                              "state size under the frame it just read",
                                        buttons=["download", "fullscreen"], visible=False,
                                        elem_id="fp-memory")

        inputs = [source, seed, upload, context, horizon, mode, model]
        outputs = [animation, strip, plot, info]
        private = {"api_visibility": "private"}
        shared = {"concurrency_id": "predict", "concurrency_limit": 1}

        source_choice.change(_on_source, [source_choice, upload, context],
                             [upload, seed_row, context], queue=False, **private)
        source_choice.input(_default_model, [source_choice], [model_choice], queue=False,
                            **private)
        upload.change(_on_upload, [source_choice, upload, context], [context], **private)
        model_choice.change(_on_model, [model_choice], [hub_repo], queue=False, **private)

        request = ([source_choice, mode_choice, model_choice, hub_repo], [source, mode, model])
        everything = [what, *inputs, world, objects, speed, digits, scene_seed, sketchpad,
                      compare_source, compare_seed, compare_models, show_memory]
        page_outputs = [*outputs, memory_image]
        clip_tab.select(lambda: "clip", None, what, queue=False, **private)
        scene_tab.select(lambda: "scene", None, what, queue=False, **private)
        compare_tab.select(lambda: "compare", None, what, queue=False, **private)
        button.click(_request, *request, queue=False, **private).then(
            predict_on_page, everything, page_outputs, **private, **shared)
        dice.click(_random_seed, None, [seed], queue=False, **private).then(
            _request, *request, queue=False, **private).then(
            predict_on_page, everything, page_outputs, **private, **shared)
        examples.load_input_event.then(lambda: ("clip", gr.Tabs(selected="clip")), None,
                                       [what, tabs], queue=False, **private).then(
            _request, *request, queue=False, **private).then(
            predict_on_page, everything, page_outputs, **private, **shared)
        compare_examples.load_input_event.then(lambda: "compare", None, what, queue=False,
                                               **private).then(
            _request, *request, queue=False, **private).then(
            predict_on_page, everything, page_outputs, **private, **shared)
        scene_examples.load_input_event.then(lambda: "scene", None, what, queue=False,
                                             **private).then(
            _request, *request, queue=False, **private).then(
            predict_on_page, everything, page_outputs, **private, **shared)
        # The API endpoints: the same inputs, but errors are raised to the caller. Their
        # triggers are never shown; clients call them by name.
        api_trigger = gr.Button(visible=False)
        api_trigger.click(predict, inputs, outputs, api_name="predict", **shared)
        scene_trigger = gr.Button(visible=False)
        # image_mode=None: the file as sent. Gradio's default "RGB" drops the alpha of a
        # transparent canvas and the strokes vanish into black.
        sketch_api = gr.Image(type="filepath", image_mode=None, visible=False, label="sketch")
        scene_trigger.click(scene, [world, objects, speed, digits, scene_seed, context, horizon,
                                    mode, model, sketch_api], outputs, api_name="scene",
                            **shared)
        # /compare takes any names (our check says what is accepted), not only the boxes'.
        models_api = gr.Dropdown(shipped, multiselect=True, allow_custom_value=True,
                                 visible=False, label="models")
        memory_trigger = gr.Button(visible=False)
        memory_trigger.click(memory, [source, seed, upload, context, horizon, model],
                             [memory_image, info], api_name="memory", **shared)
        compare_trigger = gr.Button(visible=False)
        compare_trigger.click(compare, [source, seed, upload, context, horizon, mode,
                                        models_api], [animation, plot, info],
                              api_name="compare", **shared)
        demo.load(first_result, None, outputs, **private, **shared)
    demo.queue(**QUEUE_SETTINGS)
    return demo
