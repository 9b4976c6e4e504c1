"""The demo's play views and the clip tab's Predict: a scene (`run_scene`), a comparison of models
(`run_compare`) and what a model remembers (`run_memory`, and `run_clip` beside the forecast),
each from its typed request (`frameprophet.demo.settings`). Gradio-free, like
`frameprophet.demo.request`."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from frameprophet import catalog, io, render, scenes
from frameprophet.card import training_budget
from frameprophet.catalog import LoadedModel
from frameprophet.demo import backend
from frameprophet.demo.request import (
    FPS,
    Clip,
    answer,
    clip_and_model,
    clip_frames,
    draw_forecast,
    load_model,
    plural,
    read_upload,
    report,
    result_dir,
    run_prediction,
    with_channels,
    with_notes,
)
from frameprophet.demo.settings import (
    CLIP_FRAMES,
    DEFAULT_MODEL,
    MODE_LABELS,
    SOURCE_UPLOAD,
    CompareRequest,
    MemoryRequest,
    PredictRequest,
    RequestError,
    Scene,
    SceneRequest,
    normalise_source,
    upload_path,
)
from frameprophet.demo.sketch import sketch_array
from frameprophet.plots import quality_plot

log = logging.getLogger(__name__)

DRAWING_NOTE = ("your drawing: the model learnt MNIST digits, so expect it to turn your shape "
                "into something digit-like")


def scene_clip(scene: Scene) -> Clip:
    """The clip of a scene (`frameprophet.scenes.scene`, or a sprite of its drawing)."""
    if scene.world != "drawing":
        frames, notes = scenes.scene(scene.world, scene.objects, scene.speed,
                                   scene.digits if scene.world == "mnist" else None, scene.seed,
                                   frames=CLIP_FRAMES)
        name = f"{scene.world} scene seed {scene.seed}" + (" (out of distribution)" if notes
                                                            else "")
        return Clip(frames, notes, name, scene.world)
    picture = sketch_array(scene.sketch)
    if picture is None:
        raise RequestError("Draw a shape or a digit first (world 'drawing' moves your drawing).")
    pace = scenes.SCENE_DEFAULTS["mnist"]["speed"] if scene.speed is None else scene.speed
    frames = scenes.sprite_clip(scenes.sprite_from_drawing(picture), frames=CLIP_FRAMES,
                              speed=pace, seed=scene.seed)
    return Clip(frames, [DRAWING_NOTE], f"drawing scene seed {scene.seed}")


def run_scene(request: SceneRequest, progress=None, out_dir: str | Path | None = None):
    """Build the request's scene (`scene_clip`) and forecast it like `run_prediction`.
    Returns `(gif_path, strip_png, plot_png, info)`."""
    def run():
        started = time.perf_counter()
        clip = scene_clip(request.scene)
        loaded = load_model(request.model, progress)
        clip.frames, notes = with_channels(io.resize_clip(clip.frames, loaded.predictor.frame_size),
                                           loaded.predictor.channels)
        clip.notes += notes
        return draw_forecast(loaded, clip, request.context, request.horizon, request.mode,
                             progress, out_dir, started)[0]

    return answer(run)


def run_compare(request: CompareRequest, progress=None, out_dir: str | Path | None = None):
    """Forecast one clip with 2 to 4 models: one animation (truth and each model), one plot
    (each model and the baseline). Returns `(gif_path, plot_png, info)`."""
    def run():
        from frameprophet.forecast import forecast

        started = time.perf_counter()
        loaded = [backend.model(name) for name in request.models]
        if len({m.predictor.frame_size for m in loaded}) > 1:
            sizes = ", ".join(f"{name}: {m.predictor.frame_size[0]}x{m.predictor.frame_size[1]}"
                              for name, m in zip(request.models, loaded, strict=True))
            raise RequestError(f"These models predict frames of different sizes ({sizes}); "
                               "compare models of one dataset (e.g. mnist with mnist-keras3).")
        if len({m.predictor.channels for m in loaded}) > 1:
            kinds = ", ".join(f"{name}: {'colour' if m.predictor.channels == 3 else 'grey'}"
                              for name, m in zip(request.models, loaded, strict=True))
            raise RequestError(f"These models mix grey and colour ({kinds}); compare grey "
                               "models with grey ones and colour models with colour ones.")
        first_model = loaded[0].predictor
        frames, notes = clip_frames(request.clip, first_model.frame_size, first_model.channels)
        results = {}
        for i, (name, model) in enumerate(zip(request.models, loaded, strict=True)):
            report(progress, 0.1 + 0.6 * i / len(loaded), f"Predicting with {name}")
            results[name] = forecast(model.predictor, frames, request.context, request.horizon,
                                     request.mode)
        first = results[request.models[0]]
        curves = {name: r.curves["model"] for name, r in results.items() if r.scored}
        if first.scored:
            curves[first.baseline] = first.curves[first.baseline]
        out = Path(out_dir) if out_dir else result_dir()
        out.mkdir(parents=True, exist_ok=True)
        gif = render.write_animation(render.side_by_side(
            first.context, first.truth, {n: r.prediction for n, r in results.items()},
            teacher_forced=request.mode == "teacher_forced"), out / "compare.gif", fps=FPS)
        plot = quality_plot(curves, out / "compare.png", horizon=first.prediction.shape[0],
                            stacked=True)
        info = _compare_info(results, loaded, request.mode, request.clip.name, started)
        return str(gif), str(plot), with_notes(info, [*notes, *first.notes])

    return answer(run, request.clip.upload)


def _compare_info(results, loaded, mode, name, started) -> str:
    first = next(iter(results.values()))
    lines = [f"{MODE_LABELS[mode]}: {plural(first.context.shape[0], 'context frame')} + "
             f"{plural(first.prediction.shape[0], 'predicted frame')} of {name}"]
    for (model, r), m in zip(results.items(), loaded, strict=True):
        score = (f"mean MSE {r.mean('model'):.1f}, SSIM {r.mean('model', 'ssim'):.3f}"
                 if r.scored else "no truth to score")
        # Each model's budget beside its name: a recipe trained on 790 sequences is not what
        # that recipe can do.
        budget = training_budget(m.predictor.info)
        lines.append(f"{model}{f' (trained {budget})' if budget else ''}: {score} "
                     f"({r.seconds * 1000:.0f} ms)")
    if first.scored:
        lines.append(f"{first.baseline}: mean MSE {first.mean(first.baseline):.1f}, SSIM "
                     f"{first.mean(first.baseline, 'ssim'):.3f}")
    lines += [m.baseline for m in loaded if m.baseline]
    lines.append(f"total {(time.perf_counter() - started) * 1000:.0f} ms")
    return "\n".join(lines)


def run_memory(request: MemoryRequest, progress=None, out_dir: str | Path | None = None):
    """What a stepwise model remembers while it rolls a clip out (closed loop): the frames it
    reads and, under each, its ConvLSTM layers' hidden-state size. Returns `(png, info)`."""
    def run():
        clip, loaded = clip_and_model(request.clip, request.model, progress)
        return memory_picture(loaded, clip.frames, request.context, request.horizon, out_dir)

    return answer(run, request.clip.upload)


def memory_picture(loaded: LoadedModel, clip, context, horizon, out_dir, prediction=None,
                   carried=None) -> tuple[str, str]:
    """The memory strip of a closed-loop rollout: the given `prediction` and `carried` memory
    (from the forecast's own rollout) or, without them, a rollout of its own."""
    predictor = loaded.predictor
    if not predictor.stepwise:
        raise RequestError(f"{loaded.label} is not a prophet model: the memory view draws a "
                           "prophet's ConvLSTM states; choose one (mnist, squares).")
    context = min(context, clip.shape[0] - 1)
    if carried is None:
        prediction, carried = predictor.memory(clip[:context], horizon)
    horizon = prediction.shape[0]
    inputs = np.concatenate([clip[:context], prediction[:-1]])
    out = Path(out_dir) if out_dir else result_dir()
    out.mkdir(parents=True, exist_ok=True)
    png = render.write_png(render.memory_strip(inputs, carried, context), out / "memory.png")
    info = (f"{loaded.label}: {plural(carried.shape[1], 'ConvLSTM layer')}, hidden state size "
            f"per position (RMS over channels), after reading each of "
            f"{plural(context, 'context frame')} and {horizon - 1} of its own predictions")
    return str(png), info


# --------------------------------------------------------------------------------------------
# The page: its upload box and its Predict
# --------------------------------------------------------------------------------------------

def upload_types() -> list[str]:
    """File endings the upload box offers: whatever `frameprophet.io.read_clip` can read."""
    return sorted({*io.PILLOW_EXTENSIONS, *io.VIDEO_EXTENSIONS, *io.ARRAY_EXTENSIONS,
                   *io.ZIP_EXTENSIONS} - {".jpg", ".jpeg"})        # a JPG is a single picture


def clip_length(source: str, upload, model: str | None = None) -> int | None:
    """How many frames the chosen clip has (None without a file). An upload is decoded at the
    frame size of `model` (when known without loading it), so Predict reuses the decode."""
    source = normalise_source(source)
    if source != SOURCE_UPLOAD:
        return CLIP_FRAMES
    path = upload_path(upload)
    if not path:
        return None
    name = model if model in catalog.stand_ins() else DEFAULT_MODEL[SOURCE_UPLOAD]
    protocol = catalog.MODELS[name].protocol
    size, channels = protocol.frame_size, protocol.channels
    return int(read_upload(path, size, channels)[0].shape[0])


def run_clip(request: PredictRequest, show_memory: bool = False, progress=None):
    """The clip tab's Predict: `run_prediction`, and with `show_memory` also what the model
    remembers, drawn from the forecast's own rollout in closed loop (a memory that cannot be
    shown is said in the info, not refused). Returns `(gif, strip, plot, info, memory_png)`,
    `memory_png` None without `show_memory`."""
    if not show_memory:
        return (*run_prediction(request, progress=progress), None)

    def run():
        started = time.perf_counter()
        clip, loaded = clip_and_model(request.clip, request.model, progress)
        remember = request.mode == "closed_loop" and loaded.predictor.stepwise
        files, result, carried = draw_forecast(loaded, clip, request.context, request.horizon,
                                               request.mode, progress, None, started,
                                               remember=remember)
        try:
            png, _ = memory_picture(loaded, clip.frames, result.context.shape[0],
                                    request.horizon, None,
                                    result.prediction if remember else None, carried)
        except RequestError as e:
            return (*files[:3], f"{files[3]}\nMemory not shown: {e}", None)
        return (*files, png)

    return answer(run, request.clip.upload)
