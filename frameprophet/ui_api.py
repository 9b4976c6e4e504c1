"""The page's API endpoints (`/predict`, `/scene`, `/compare`, `/memory`) and how a request's
errors reach a person: the demo's `RequestError` becomes a `gr.Error` with its own words (one
log line, no traceback), our bug the generic message. The endpoints' docstrings are the API
page's documentation; `wire_api` attaches them to the page `frameprophet.ui` lays out.
"""

from __future__ import annotations

import logging

import gradio as gr

from frameprophet import demo

log = logging.getLogger(__name__)

PRIVATE = {"api_visibility": "private"}
ONE_AT_A_TIME = {"concurrency_id": "predict", "concurrency_limit": 1}


def UserError(message: str) -> gr.Error:  # noqa: N802 (reads like the exception it makes)
    """A `gr.Error` for a person's mistake: shown on the page, one line in the log, no trace."""
    log.info("refused: %s", message)
    return gr.Error(message, print_exception=False)


def gradio_errors(run, *args, **kwargs):
    """`run(*args, **kwargs)` with the demo's errors as `gr.Error`s (a refusal's own words, or
    the generic message for our bug, whose traceback the demo has logged)."""
    try:
        return run(*args, **kwargs)
    except demo.RequestError as e:
        raise UserError(str(e)) from e
    except demo.RequestFailed as e:
        raise gr.Error(str(e)) from e


def predict(source: str, seed: float, upload: str | None, context: int, horizon: int,
            mode: str, model: str, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
    """Predict the next frames of a clip.

    source: "Moving squares", "Moving MNIST", "Pictures in motion" (colour) or "Upload a GIF,
    MP4, WebM or NPY" (also "squares" / "mnist" / "natural" / "upload"); seed: clip seed for
    generated sources (0 to 2147483647); upload: the clip file for uploads; context: frames the
    model reads (1 to the clip's length minus one); horizon: frames to predict (1..30); mode:
    "closed_loop" or "teacher_forced"; model: a shipped model name or a Hugging Face Hub repo id
    (owner/name).
    Returns the animated GIF, the frame strip, the quality plot and an info line.
    """
    return gradio_errors(demo.run_prediction, source, seed, upload, context, horizon, mode,
                         model, progress=progress)


def scene(world: str, objects: float, speed: float, digits: str, seed: float, context: int,
          horizon: int, mode: str, model: str, sketch: str | None = None,
          progress=gr.Progress()):  # noqa: B008
    """Build a scene and predict its next frames.

    world: "mnist", "squares", "natural" (pictures in motion, colour) or "drawing"; objects:
    1..4 digits, 1..7 squares or 0..3 cut-outs; speed: px per frame (MNIST learnt 3.6, up to 36;
    squares learnt 1, whole numbers up to 10; natural learnt up to 6, up to 12); digits: classes
    like "37" (empty: any; only 8s and 9s are held out of training); seed: the scene's seed;
    context, horizon, mode, model: as for /predict; sketch: for world "drawing", a picture of a
    shape or a digit (any colours on a plain background), moved and bounced like a Moving MNIST
    digit. Settings the model never saw are allowed and noted in the info line. Returns the
    animated GIF, the frame strip, the quality plot and the info.
    """
    return gradio_errors(demo.run_scene, world, objects, speed, digits, seed, context, horizon,
                         mode, model, sketch=sketch, progress=progress)


def compare(source: str, seed: float, upload: str | None, context: int, horizon: int,
            mode: str, models: list[str], progress=gr.Progress()):  # noqa: B008
    """Predict the same clip with 2 to 4 models, side by side.

    source, seed, upload, context, horizon, mode: as for /predict; models: 2 to 4 shipped model
    names or Hub repo ids of one frame size, e.g. ["mnist", "mnist-keras3"]. Returns one
    animated GIF (truth and each model), one plot (each model's per-frame MSE and SSIM and the
    baseline's) and the info text.
    """
    return gradio_errors(demo.run_compare, source, seed, upload, context, horizon, mode, models,
                         progress=progress)


def memory(source: str, seed: float, upload: str | None, context: int, horizon: int,
           model: str, progress=gr.Progress()):  # noqa: B008
    """What the ConvLSTM remembers while it predicts a clip (closed loop).

    source, seed, upload, context, horizon, model: as for /predict (stepwise models only: our
    prophet models). Returns a picture (the frames read: context, then the model's own
    predictions; under each, one heat map per layer of its hidden state's size) and the info.
    """
    return gradio_errors(demo.run_memory, source, seed, upload, context, horizon, model,
                         progress=progress)


def api_example(component, value):
    """Set the example the API page shows for `component` (Gradio's defaults are "Hello!!" for
    text and a sample PDF for files). Set on the instance: subclassing a component makes Gradio
    write a .pyi file beside this module at import time."""
    component.example_payload = lambda: value
    component.example_value = lambda: value
    return component


def hidden_number(label: str, value: int):
    """An API input without bounds or precision, which Gradio passes on unchanged (a text, NaN,
    10.5): the demo checks the value and says what is accepted."""
    return api_example(gr.Number(value=value, visible=False, label=label), value)


def wire_api(w: dict, shipped: list[str]) -> None:
    """The API endpoints: their own unbounded inputs, errors raised to the caller. Their
    triggers are never shown; clients call them by name."""
    common = [w["source"], w["seed"], w["upload"], w["context_api"], w["horizon_api"]]
    outputs = [w["animation"], w["strip"], w["plot"], w["info"]]
    gr.Button(visible=False).click(predict, [*common, w["mode"], w["model"]], outputs,
                                   api_name="predict", **ONE_AT_A_TIME)
    # A file, which Gradio never opens: `demo.sketch` checks its size from the header before
    # decoding it, and keeps its alpha (a transparent canvas's strokes would vanish into black).
    sketch_api = api_example(gr.File(type="filepath", visible=False, label="sketch"), None)
    gr.Button(visible=False).click(
        scene, [w["world"], w["objects_api"], w["speed"], w["digits"], w["scene_seed"],
                w["context_api"], w["horizon_api"], w["mode"], w["model"], sketch_api],
        outputs, api_name="scene", **ONE_AT_A_TIME)
    gr.Button(visible=False).click(memory, [*common, w["model"]], [w["memory_image"], w["info"]],
                                   api_name="memory", **ONE_AT_A_TIME)
    # /compare takes any names (the demo's check says what is accepted), not only the boxes'.
    models_api = gr.Dropdown(shipped, multiselect=True, allow_custom_value=True, visible=False,
                             label="models")
    gr.Button(visible=False).click(compare, [*common, w["mode"], models_api],
                                   [w["compare_animation"], w["compare_plot"],
                                    w["compare_info"]],
                                   api_name="compare",
                                   **ONE_AT_A_TIME)
