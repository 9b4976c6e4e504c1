"""The Gradio page: its layout and each tab's Predict (the API endpoints are
`frameprophet.ui_api`; how the controls answer each other, `frameprophet.ui_controls`).

Every request is answered by `frameprophet.demo` (Gradio-free): this module maps widgets to its
arguments and its results to widgets, and turns its `RequestError` into a `gr.Error` (one log
line, no traceback). Every value is checked by the demo, never by Gradio's input validation: a
Number here has no `minimum`/`maximum` and no `precision` (with one, Gradio rounds 10.5 to 10
and refuses a text with a traceback), and the API reads context, horizon and objects from such
hidden Numbers, so a refused value is said in words and the page keeps its result.
Each tab has its own Predict button, handler and results (`PREDICT`), so a request's progress
shows on its own tab's results only. `build_demo()` lays out the page from small builders.
"""

from __future__ import annotations

import logging

import gradio as gr
import numpy as np

from frameprophet import catalog, data, demo
from frameprophet.ui_api import (
    ONE_AT_A_TIME,
    PRIVATE,
    api_example,
    gradio_errors,
    hidden_number,
    wire_api,
)
from frameprophet.ui_controls import (
    TAB_WIDGETS,
    TABS,
    compare_choices,
    show_tab,
    wire_controls,
)

log = logging.getLogger(__name__)

# One CSS string for the page. The picture buttons sit above the picture, not over its header
# (its panel titles); an upload box's label stops before its clear button; on a phone the tabs
# fit in one row (no "..." menu), the wide strip and plots fit the screen's width (full size
# behind their fullscreen button), and the model menu's text stops before its caret.
CSS = """
#fp-title h1 {margin-bottom: 0.1em;}
.fp-info textarea {font-size: 0.9em;}
.fp-pic .icon-button-wrapper.top-panel {position: static; justify-content: flex-end;
  margin: 0 0 2px auto; box-shadow: none;}
#fp-model input {padding-right: 2em; text-overflow: ellipsis;}
.fp-file .block-label {max-width: calc(100% - 3.5em); white-space: normal;}
@media (max-width: 640px) {
  .tab-wrapper .tab-container button {padding: 0.3em 0.45em; font-size: 0.9em;}
  .fp-wide .image-container img {width: 100% !important; max-width: 100% !important;
    height: auto !important;}
}
"""
# On a narrow screen the results are below every control: bring them into view when a
# prediction starts, so its progress is where the person is looking, and again when it is
# done (a comparison's pictures appear only then, below the fold).
JUMP_TO_RESULTS = """() => { if (window.innerWidth < 900) {
  const r = document.querySelector('#fp-results');
  if (r) r.scrollIntoView({behavior: 'smooth', block: 'start'}); } }"""
# When a prediction starts, the warnings of earlier requests go (they piled up as "Warning (3)"
# over later results, and an upload's warning came again with Predict's refusal of it).
PREDICTION_STARTS = ("() => { document.querySelectorAll('.toast-close').forEach((b) => "
                     f"b.click()); ({JUMP_TO_RESULTS})(); }}")
THEME = "soft"
# One prediction at a time (two cores); a queue long enough that nobody is turned away below 64
# people waiting, short enough to bound memory.
QUEUE_SETTINGS = {"default_concurrency_limit": 1, "max_size": 64}


# --------------------------------------------------------------------------------------------
# The page's handlers: one for each tab's Predict
# --------------------------------------------------------------------------------------------

def _refused(error: gr.Error) -> str:
    """A refusal, said in a warning and in the run-info box (where the person is looking); the
    pictures keep the previous result."""
    gr.Warning(error.message)          # it goes by itself after 10 s (Gradio's default)
    return f"Not predicted: {error.message}\n(The pictures show the previous result.)"


def predict_clip(source, seed, upload, context, horizon, mode, model, hub_repo=None,
                 show_memory=False, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
    """The clip tab's Predict: the animation, strip, plot and info, and with `show_memory`
    what the model remembers (its box shown only then)."""
    try:
        gif, strip, plot, info, png = gradio_errors(
            demo.run_clip, source, seed, upload, context, horizon, mode, model, show_memory,
            hub_repo=hub_repo, progress=progress)
    except gr.Error as e:
        return (*(gr.skip(),) * 3, _refused(e), gr.skip(), gr.skip())
    return gif, strip, plot, info, gr.update(visible=png is not None), png


def predict_scene(world, objects, speed, digits, seed, sketch, context, horizon, mode, model,
                  hub_repo=None, progress=gr.Progress()):  # noqa: B008
    """The scene tab's Predict: its own animation, strip, plot (shown from its first result
    on) and info."""
    try:
        *pictures, info = gradio_errors(demo.run_scene, world, objects, speed, digits, seed,
                                        context, horizon, mode, model, sketch=sketch,
                                        progress=progress, hub_repo=hub_repo)
    except gr.Error as e:
        return (*(gr.skip(),) * 3, _refused(e))
    return (*(gr.update(value=picture, visible=True) for picture in pictures), info)


def predict_compare(source, seed, upload, models, context, horizon, mode,
                    progress=gr.Progress()):  # noqa: B008
    """The compare tab's Predict: one animation and one plot of every model, and the info."""
    try:
        gif, plot, info = gradio_errors(demo.run_compare, source, seed, upload, context,
                                        horizon, mode, models, progress=progress)
    except gr.Error as e:
        return gr.skip(), gr.skip(), _refused(e)
    return gr.update(value=gif, visible=True), gr.update(value=plot, visible=True), info


def _random_seed() -> int:
    return int(np.random.default_rng().integers(0, 100_000))


# --------------------------------------------------------------------------------------------
# The page, room by room
# --------------------------------------------------------------------------------------------

def _clip_tab(w: dict) -> None:
    w["source_choice"] = gr.Radio(list(demo.SOURCES), value=demo.SOURCE_MNIST, label="Clip")
    with gr.Row(visible=True) as w["seed_row"]:
        w["seed"] = gr.Number(value=demo.DEFAULT_SEED, label="Seed", scale=2,
                              min_width=100)
        w["dice"] = gr.Button("New random clip", scale=3, min_width=120)
    w["upload"] = api_example(gr.File(
        label="Your clip: GIF, MP4, WebM or NPY (also APNG, MOV, NPZ, a ZIP of frames), fitted "
              "to the model's frame size", file_types=demo.upload_types(), type="filepath",
        visible=False, elem_id="fp-upload", elem_classes="fp-file"), None)  # uploads only
    w["show_memory"] = gr.Checkbox(False, label="Also show what it remembers (the ConvLSTM "
                                   "states, closed loop)")


def _scene_tab(w: dict) -> None:
    mnist, squares = data.SCENE_DEFAULTS["mnist"], data.SCENE_DEFAULTS["squares"]
    natural = data.SCENE_DEFAULTS["natural"]
    gr.Markdown(f"Change the world and watch where the model breaks: it learnt "
                f"{mnist['objects']} digits at {mnist['speed']} px/frame, "
                f"{squares['learnt_objects'][0]}-{squares['learnt_objects'][1]} squares at "
                f"{squares['speed']} px/frame, or pictures in motion (0-{natural['max_objects']} "
                f"cut-outs, a camera up to {natural['learnt_speed']:g} px/frame). Other "
                "settings are allowed, and labelled.")
    w["world"] = gr.Radio(list(demo.WORLDS), value="mnist",
                          label="World (natural: pictures in motion; drawing: your sketch)")
    with gr.Row():
        w["objects"] = gr.Slider(1, mnist["max_objects"], value=mnist["objects"], step=1,
                                 label="Objects")
        w["speed"] = gr.Number(value=mnist["speed"], step=0.1, label="Speed (px per frame)")
    with gr.Row():
        w["digits"] = gr.Textbox(value="", label="Digits (e.g. 37; empty: any)",
                                 placeholder="any")
        w["scene_seed"] = gr.Number(value=demo.DEFAULT_SEED, label="Seed")
    with gr.Column(visible=False) as w["sketch_box"]:
        # The caption is Markdown above the pad: the pad's own label sits under its toolbar.
        gr.Markdown("**Draw a shape or a digit**: it moves and bounces like a Moving MNIST "
                    "digit", elem_classes="fp-cap")
        w["sketchpad"] = gr.Sketchpad(
            type="numpy", image_mode="RGB", canvas_size=(280, 280), fixed_canvas=True,
            height=360, layers=False, transforms=(), show_label=False, label="Your drawing",
            brush=gr.Brush(default_size=16, colors=["#000000"], color_mode="fixed"),
            elem_id="fp-sketch")
    w["scene_examples"] = gr.Examples(
        examples=[["mnist", 2, mnist["speed"], "", 0, "mnist"],
                  ["mnist", 3, mnist["speed"], "", 1, "mnist"],
                  ["mnist", 2, 2 * mnist["speed"], "", 2, "mnist"],
                  ["mnist", 1, mnist["speed"], "9", 3, "mnist"],
                  ["squares", 5, squares["speed"], "", 4, "squares"],
                  ["squares", 2, 2, "", 5, "squares"],
                  ["natural", 2, natural["speed"], "", 6, "natural"]],
        example_labels=["as trained", "3 digits", "double speed", "one 9", "5 squares",
                        "2 fast squares", "pictures, 2 cut-outs"],
        inputs=[w["world"], w["objects"], w["speed"], w["digits"], w["scene_seed"],
                w["model_choice"]],
        label="Scenes (click one to run it)", api_visibility="private")


def _compare_tab(w: dict, shipped) -> None:
    gr.Markdown("The same clip, 2 to 4 models side by side: ours against the Keras examples' "
                "recipes.")
    w["compare_models"] = gr.CheckboxGroup(
        compare_choices(shipped), value=[m for m in ("mnist", "mnist-keras3") if m in shipped],
        label="Models (2 to 4, of one frame size)", elem_id="fp-compare-models")
    w["compare_source"] = gr.Radio(list(demo.SOURCES), value=demo.SOURCE_MNIST, label="Clip")
    w["compare_seed"] = gr.Number(value=demo.DEFAULT_SEED, label="Seed")
    w["compare_upload"] = gr.File(
        label="Your clip: GIF, MP4, WebM or NPY (also APNG, MOV, NPZ, a ZIP of frames)",
        file_types=demo.upload_types(), type="filepath", visible=False,
        elem_id="fp-compare-upload", elem_classes="fp-file")
    w["compare_examples"] = gr.Examples(
        examples=[[["mnist", "mnist-keras3"], demo.SOURCE_MNIST, 3],
                  [["squares", "squares-keras2"], demo.SOURCE_SQUARES, 5]],
        example_labels=["ours vs the Keras 3 example (MNIST)",
                        "ours vs the Keras 2 example (squares)"],
        inputs=[w["compare_models"], w["compare_source"], w["compare_seed"]],
        label="Comparisons (click one to run it)", api_visibility="private")


def _settings(w: dict) -> None:
    """Context, horizon, mode: shared by the tabs."""
    w["context"] = gr.Slider(1, demo.CLIP_FRAMES - 1, value=demo.DEFAULT_CONTEXT, step=1,
                             label="Context frames (what the model reads)", elem_id="fp-context")
    w["context_cut"] = gr.State(None)      # [from, to] while a short clip has cut the slider
    w["horizon"] = gr.Slider(1, demo.MAX_HORIZON, value=demo.DEFAULT_HORIZON, step=1,
                             label="Frames to predict (past the clip's end there is no truth to "
                                   "compare)", elem_id="fp-horizon")
    w["mode_choice"] = gr.Radio(demo.MODE_CHOICES, value="closed_loop", label="Mode")
    w["hub_repo"] = gr.Textbox(label="Hugging Face Hub repo id",
                               placeholder="owner/name or hf://owner/name", visible=False)
    # What the endpoints receive: plain text, so the API takes the documented values and their
    # aliases, and unbounded numbers, so the demo's own checks say what is accepted.
    w["source"] = api_example(gr.Textbox(value=demo.SOURCE_MNIST, visible=False, label="source"),
                              demo.SOURCE_MNIST)
    w["mode"] = api_example(gr.Textbox(value="closed_loop", visible=False, label="mode"),
                            "closed_loop")
    w["model"] = api_example(gr.Textbox(value=demo.DEFAULT_MODEL[demo.SOURCE_MNIST], visible=False,
                                        label="model"), "mnist")
    w["context_api"] = hidden_number("context", demo.DEFAULT_CONTEXT)
    w["horizon_api"] = hidden_number("horizon", demo.DEFAULT_HORIZON)
    w["objects_api"] = hidden_number("objects", data.SCENE_DEFAULTS["mnist"]["objects"])


def _clip_examples(w: dict):
    natural = demo.SOURCE_NATURAL
    return gr.Examples(
        examples=[[demo.SOURCE_MNIST, 0, 10, 10, "closed_loop", "mnist"],
                  [demo.SOURCE_MNIST, 42, 10, 20, "closed_loop", "mnist"],
                  [demo.SOURCE_MNIST, 7, 10, 10, "teacher_forced", "mnist"],
                  [demo.SOURCE_SQUARES, 3, 7, 13, "closed_loop", "squares"],
                  [demo.SOURCE_SQUARES, 11, 10, 10, "teacher_forced", "squares"],
                  [natural, 2, 10, 10, "closed_loop", "natural"],
                  [natural, 3, 10, 10, "closed_loop", "natural"],
                  [natural, 10, 10, 10, "closed_loop", "natural"]],
        example_labels=["MNIST · seed 0 · 10 → 10", "MNIST · seed 42 · 10 → 20",
                        "MNIST · teacher-forced", "Squares · seed 3 · 7 → 13",
                        "Squares · teacher-forced", "Pictures · coins rolling by",
                        "Pictures · a leaf over a cup", "Pictures · a cut-out over gravel"],
        inputs=[w["source_choice"], w["seed"], w["context"], w["horizon"], w["mode_choice"],
                w["model_choice"]],
        label="Examples (click one to run it)", api_visibility="private")


def _picture(label: str, elem_id: str, wide: bool = False, **kwargs):
    """A result picture: no label of its own (a Markdown caption above it says what it is; a
    label would sit over the picture's own header). `wide` ones fit a phone's width."""
    return gr.Image(type="filepath", interactive=False, label=label, elem_id=elem_id,
                    show_label=False, buttons=["download", "fullscreen"],
                    elem_classes=["fp-pic", "fp-wide"] if wide else ["fp-pic"], **kwargs)


def _caption(text: str) -> None:
    gr.Markdown(text, elem_classes="fp-cap")


def _forecast_results(w: dict, tab: str, info: str, visible: bool) -> None:
    """A forecast's results (the clip tab's, the scene tab's): its run info, the animation,
    the frame strip and the quality plot, under `{tab}_` keys (the clip tab's without). The
    scene's pictures are hidden until its first result: an empty picture box reads as a
    broken one."""
    key = "" if tab == "clip" else f"{tab}_"
    elem = "fp" if tab == "clip" else f"fp-{tab}"
    shown = {"visible": tab == "clip"}
    with gr.Column(visible=visible, elem_id=f"fp-{tab}-results") as w[f"{tab}_results"]:
        w[f"{key}info"] = gr.Textbox(info, label="Run info", lines=2, interactive=False,
                                     elem_id=f"{elem}-info", elem_classes="fp-info")
        _caption("**Truth | Prediction | |error|** — orange border: predicted frame; "
                 "blue-grey: context the model reads")
        w[f"{key}animation"] = _picture("Animation", f"{elem}-animation", **shown)
        _caption("**Frame strip** — last context frames, then the prediction (top row) above "
                 "the truth (bottom row)")
        w[f"{key}strip"] = _picture("Frame strip", f"{elem}-strip", wide=True, **shown)
        _caption("**Per-frame quality** — the model (orange) against the copy-last-frame "
                 "baseline (grey), where there is ground truth")
        w[f"{key}plot"] = _picture("Quality plot", f"{elem}-plot", wide=True, **shown)
        if tab == "clip":
            with gr.Column(visible=False, elem_id="fp-memory-box") as w["memory_box"]:
                _caption("**What it remembers** — each ConvLSTM layer's hidden state size "
                         "under the frame it just read")
                w["memory_image"] = _picture("What it remembers", "fp-memory", wide=True)


def _results(w: dict, allow_training: bool = False) -> None:
    """Each tab's own results, each keeping its last result while another tab is shown."""
    _forecast_results(w, "clip", "", True)
    _forecast_results(w, "scene", "No scene yet: set the world and press Predict (or click a "
                      "scene).", False)
    with gr.Column(visible=False, elem_id="fp-compare-results") as w["compare_results"]:
        w["compare_info"] = gr.Textbox(
            "No comparison yet: tick 2 to 4 models and press Predict (or click a comparison).",
            label="Comparison info", lines=2, interactive=False, elem_id="fp-compare-info",
            elem_classes="fp-info")
        _caption("**Truth | each model** — orange border: predicted frame; blue-grey: "
                 "context; each model's name in its colour in the plot")
        # Hidden until there is a comparison: an empty picture box reads as a broken one.
        w["compare_animation"] = _picture("Comparison", "fp-compare-animation", visible=False)
        _caption("**Per-frame quality** — each model in its own colour (ours orange) against "
                 "the copy-last-frame baseline (grey)")
        w["compare_plot"] = _picture("Comparison quality plot", "fp-compare-plot",
                                     wide=True, visible=False)
    if allow_training:
        from frameprophet.ui_training import training_results  # Keras: only when training

        training_results(w, _picture, _caption)


def _layout(w: dict, shipped: list[str], allow_training: bool = False) -> None:
    gr.Markdown("# FrameProphet", elem_id="fp-title")
    gr.Markdown("A causal ConvLSTM reads the first frames of a short video and predicts what "
                "comes next. Orange frames are predictions; compare them with the truth and "
                "with simply repeating the last frame.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            w["what"] = gr.State("clip")          # which tab is shown
            w["model_picked"] = gr.State(False)   # the person picked a model in the menu
            # Made first (rendered below the tabs) so the examples can set it.
            w["model_choice"] = gr.Dropdown(demo.model_choices(shipped),
                                            value=demo.DEFAULT_MODEL[demo.SOURCE_MNIST],
                                            label="Model", render=False, elem_id="fp-model")
            with gr.Tabs(overflow_behavior="wrap") as w["tabs"]:
                with gr.Tab("A clip", id="clip", elem_id="fp-clip-tab") as w["clip_tab"]:
                    _clip_tab(w)
                with gr.Tab("Build a scene", id="scene", elem_id="fp-scene-tab") as \
                        w["scene_tab"]:
                    _scene_tab(w)
                with gr.Tab("Compare models", id="compare", elem_id="fp-compare-tab") as \
                        w["compare_tab"]:
                    _compare_tab(w, shipped)
                if allow_training:
                    with gr.Tab("Train on your clips", id="train", elem_id="fp-train-tab") as \
                            w["train_tab"]:
                        from frameprophet.ui_training import training_tab

                        training_tab(w)
            _settings(w)
            w["model_choice"].render()
            with gr.Column() as w["buttons"]:       # each tab's own Predict, one shown
                for tab in TABS:
                    w[f"{tab}_button"] = gr.Button("Predict", variant="primary", size="lg",
                                                   visible=tab == "clip",
                                                   elem_id=f"fp-{tab}-predict")
            with gr.Column() as w["clip_examples"]:
                w["examples"] = _clip_examples(w)
        with gr.Column(scale=3, min_width=320, elem_id="fp-results"):
            _results(w, allow_training)


#: Each tab's Predict: its handler, the widgets it reads and the results it writes.
PREDICT = {
    "clip": (predict_clip, ("source_choice", "seed", "upload", "context", "horizon",
                            "mode_choice", "model_choice", "hub_repo", "show_memory"),
             ("animation", "strip", "plot", "info", "memory_box", "memory_image")),
    "scene": (predict_scene, ("world", "objects", "speed", "digits", "scene_seed", "sketchpad",
                              "context", "horizon", "mode_choice", "model_choice", "hub_repo"),
              ("scene_animation", "scene_strip", "scene_plot", "scene_info")),
    "compare": (predict_compare, ("compare_source", "compare_seed", "compare_upload",
                                  "compare_models", "context", "horizon", "mode_choice"),
                ("compare_animation", "compare_plot", "compare_info")),
}


def _then_predict(event, w: dict, tab: str, example: bool = False):
    """After `event`, predict on `tab`: an example first shows its tab (and the model is the
    example's, not the person's pick), then earlier warnings go and the results come into
    view, then the tab's own handler runs."""
    if example:
        event = event.then(lambda choice: (*show_tab(tab, choice, select=True), False),
                           [w["model_choice"]],
                           [w["what"], w["tabs"], *(w[k] for k in TAB_WIDGETS),
                            w["model_picked"]], queue=False, **PRIVATE)
    event = event.then(None, js=PREDICTION_STARTS, **PRIVATE)
    handler, inputs, outputs = PREDICT[tab]
    event = event.then(handler, [w[k] for k in inputs], [w[k] for k in outputs], **PRIVATE,
                       **ONE_AT_A_TIME)
    return event.then(None, js=JUMP_TO_RESULTS, **PRIVATE)


def _wire_page(w: dict) -> None:
    """Every way of predicting on the page: each tab's Predict and examples, the dice."""
    for tab in TABS:
        _then_predict(w[f"{tab}_button"].click(lambda: None, None, None, queue=False, **PRIVATE),
                      w, tab)
    _then_predict(w["dice"].click(_random_seed, None, [w["seed"]], queue=False, **PRIVATE), w,
                  "clip")
    _then_predict(w["examples"].load_input_event, w, "clip", example=True)
    _then_predict(w["scene_examples"].load_input_event, w, "scene", example=True)
    _then_predict(w["compare_examples"].load_input_event, w, "compare", example=True)


def build_demo(allow_training: bool = False) -> gr.Blocks:
    """The FrameProphet page. Launch with `demo.launch(theme=THEME, css=CSS)`. With
    `allow_training` (`app.py --allow-training`, never on a public Space) it has the "Train on
    your clips" tab."""
    shipped = catalog.offered()         # weights/ read once per page, then `app.py --model`s
    w: dict = {}
    with gr.Blocks(title="FrameProphet", delete_cache=(3600, 3600),
                   analytics_enabled=False) as page:
        _layout(w, shipped, allow_training)
        wire_controls(w)
        _wire_page(w)
        if allow_training:
            from frameprophet.ui_training import wire_training

            wire_training(w)
        wire_api(w, shipped)
        page.load(first_result_on_page, None, [w["animation"], w["strip"], w["plot"], w["info"]],
                  **PRIVATE, **ONE_AT_A_TIME)
    page.queue(**QUEUE_SETTINGS)
    return page


def first_result_on_page():
    """The first result a visitor sees (computed once; see `frameprophet.demo.first_result`)."""
    return gradio_errors(demo.first_result)
