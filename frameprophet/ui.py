"""The Gradio page: widgets and their wiring (the API endpoints are `frameprophet.ui_api`).

Every request is answered by `frameprophet.demo` (Gradio-free): this module maps widgets to its
arguments and its results to widgets, and turns its `RequestError` into a `gr.Error` (one log
line, no traceback). Every value is checked by the demo, never by Gradio's input validation: a
Number here has no `minimum`/`maximum` and no `precision` (with one, Gradio rounds 10.5 to 10
and refuses a text with a traceback), and the API reads context, horizon and objects from such
hidden Numbers, so a refused value is said in words and the page keeps its result.
`build_demo()` lays out the page from small builders.
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

log = logging.getLogger(__name__)

# One CSS string for the page. The picture buttons sit above the picture, not over its header
# (its panel titles); on a phone the tabs fit in one row (no "..." menu), the wide strip and
# plots scroll sideways at a legible size, and the model menu's text stops before its caret.
CSS = """
#fp-title h1 {margin-bottom: 0.1em;}
#fp-info textarea, #fp-compare-info textarea {font-size: 0.9em;}
.fp-pic .icon-button-wrapper.top-panel {position: static; justify-content: flex-end;
  margin: 0 0 2px auto; box-shadow: none;}
#fp-model input {padding-right: 2em; text-overflow: ellipsis;}
@media (max-width: 640px) {
  .tab-wrapper .tab-container button {padding: 0.3em 0.45em; font-size: 0.9em;}
  .fp-wide .image-container {overflow-x: auto;}
  .fp-wide .image-container button, .fp-wide .image-frame {justify-content: flex-start;}
  .fp-wide .image-container img {width: 760px !important; max-width: none !important;
    height: auto !important;}
}
"""
# On a narrow screen the results are below every control: bring them into view when a
# prediction starts, so its progress and result are where the person is looking.
JUMP_TO_RESULTS = """() => { if (window.innerWidth < 900) {
  const r = document.querySelector('#fp-results');
  if (r) r.scrollIntoView({behavior: 'smooth', block: 'start'}); } }"""
THEME = "soft"
# The sketchpad opens with no tool chosen ("select the draw tool to start"): choose the brush
# once it is shown, so a person can draw at once.
PICK_BRUSH = """() => { setTimeout(() => {
  const b = document.querySelector('#fp-sketch button[aria-label="Brush"]');
  if (b && !b.classList.contains('selected')) b.click(); }, 300); }"""
# One prediction at a time (two cores); a queue long enough that nobody is turned away below 64
# people waiting, short enough to bound memory.
QUEUE_SETTINGS = {"default_concurrency_limit": 1, "max_size": 64}


# --------------------------------------------------------------------------------------------
# The page's handlers
# --------------------------------------------------------------------------------------------

def predict_on_page(what, source, seed, upload, context, horizon, mode, model, world, objects,
                    speed, digits, scene_seed, sketch, compare_source, compare_seed,
                    compare_models, show_memory=False, compare_upload=None,
                    progress=gr.Progress()):  # noqa: B008
    """The page's Predict, for the tab in use: a refused request keeps the previous result on
    screen and says why in the run-info box (where the person is looking) and a warning.
    With `show_memory` (the "A clip" tab), also what the model remembers. Outputs: the clip
    pictures (animation, strip, plot), the info, the memory box and picture, then the
    comparison's own animation and plot; each tab's pictures keep their last result."""
    keep, refused = gr.skip(), None
    try:
        gif, strip, plot, info, png = gradio_errors(
            demo.run_page, what, source, seed, upload, context, horizon, mode, model, world,
            objects, speed, digits, scene_seed, sketch, compare_source, compare_seed,
            compare_models, show_memory=show_memory, progress=progress,
            compare_upload=compare_upload)
    except gr.Error as e:
        gr.Warning(e.message)
        refused = f"Not predicted: {e.message}\n(The pictures show the previous result.)"
    if what == "compare":
        if refused:
            return keep, keep, keep, keep, keep, keep, keep, keep, refused
        return (keep, keep, keep, keep, keep, keep, gr.update(value=gif, visible=True),
                gr.update(value=plot, visible=True), info)
    if refused:
        return keep, keep, keep, refused, keep, keep, keep, keep, keep
    return (gif, strip, plot, info, gr.update(visible=png is not None), png, keep, keep, keep)


def _request(source: str, mode: str, choice: str, hub_repo: str) -> tuple[str, str, str]:
    """Widget values -> the /predict endpoint's plain-text source, mode and model."""
    return source, mode, (hub_repo or "").strip() if choice == demo.CUSTOM_MODEL else choice


def _random_seed() -> int:
    return int(np.random.default_rng().integers(0, 100_000))


def _on_source(source: str, upload, context: int, model: str | None = None, cut=None):
    """Source changed: show the upload box for uploads and fit the context slider to the clip."""
    source = demo.normalise_source(source)
    return (gr.update(visible=source == demo.SOURCE_UPLOAD),
            gr.update(visible=source != demo.SOURCE_UPLOAD),
            *_context_update(source, upload, context, model, cut))


def _on_upload(source: str, upload, context: int, model: str | None = None, cut=None):
    """A file was dropped: fit the context slider to its length. Two outputs, the slider and
    the cut, so two updates (a 1-tuple for one output once became the slider's value and broke
    every upload)."""
    return _context_update(source, upload, context, model, cut)


def _context_update(source, upload, context, model=None, cut=None) -> tuple:
    """The context slider for a clip of n frames, 1 to n - 1, and the cut made to fit it.

    A clip too short for the slider's value cuts it, and the cut `[from, to]` is kept (a session
    state) so the next clip that allows more gets the person's value back, unless the slider has
    moved since (the person, or an example, set a value of their own). A slider needs two ends,
    so a 2-frame clip keeps 1..2 at 1, and says why (Predict would cut 2 to 1).
    """
    try:
        n = demo.clip_length(source, upload, model)
    except ValueError as e:                   # say it now; Predict will refuse it again
        gr.Warning(demo.public_message(str(e), upload))
        n = None
    except Exception:
        log.warning("could not count the frames of an upload", exc_info=True)
        gr.Warning("Could not read this file.")
        n = None
    if n is None or n < 2:
        return gr.update(), cut
    context = int(context or demo.DEFAULT_CONTEXT)
    wanted = int(cut[0]) if cut and context == int(cut[1]) else context
    target = 1 if n == 2 else min(wanted, n - 1)
    new_cut = [wanted, target] if target < wanted else None
    if n == 2:
        gr.Info("This clip has 2 frames: the model reads the first and predicts the second.")
        return gr.update(maximum=2, value=1), new_cut
    if context == target:       # leave the value alone: the person may have moved it meanwhile
        return gr.update(maximum=n - 1), new_cut
    return gr.update(maximum=n - 1, value=target), new_cut


def _on_compare_source(source: str, upload, context: int, models: list[str] | None, cut=None):
    """The compare tab's source changed: its own upload box, seed and the context slider
    (an upload is counted at the frame size of the first model ticked)."""
    return _on_source(source, upload, context, (models or [None])[0], cut)


def _on_compare_upload(source: str, upload, context: int, models: list[str] | None, cut=None):
    return _context_update(source, upload, context, (models or [None])[0], cut)


def _show_tab(tab: str, choice: str, select: bool = False):
    """A tab is shown: note it, and show what serves it. The model menu (and the Hub box) serve
    the clip and scene tabs; the comparison has its own models and its own pictures; the clip
    examples under Predict are the clip tab's."""
    own = tab == "compare"
    updates = (gr.update(visible=not own), gr.update(visible=not own and choice ==
                                                     demo.CUSTOM_MODEL),
               gr.update(visible=not own), gr.update(visible=own),
               gr.update(visible=tab == "clip"))
    return (tab, gr.Tabs(selected=tab), *updates) if select else (tab, *updates)


def _on_model(choice: str):
    return gr.update(visible=choice == demo.CUSTOM_MODEL)


def _default_model(source: str):
    return gr.update(value=demo.DEFAULT_MODEL[demo.normalise_source(source)])


def _on_world(world: str):
    """World picked: its model, its object range (1-4 digits, 1-7 squares), its trained speed
    (whole pixels for squares), and the sketchpad only for drawings."""
    kind = demo.normalise_world(world)
    defaults = data.SCENE_DEFAULTS["squares" if kind == "squares" else "mnist"]
    objects = gr.update(maximum=defaults["max_objects"], value=defaults["learnt_objects"][0],
                        visible=kind != "drawing")          # a drawing is one object
    return (objects, gr.update(value=defaults["speed"], step=1 if kind == "squares" else 0.1),
            gr.update(value=demo.WORLD_MODEL[kind]), gr.update(visible=kind == "drawing"),
            gr.update(visible=kind != "drawing"))


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
        label="Your clip: GIF, MP4, WebM or NPY (also APNG, MOV, NPZ, a ZIP of frames); made "
              "grey and fitted to the model's frame size",
        file_types=demo.upload_types(), type="filepath", visible=False, elem_id="fp-upload"),
        None)                                   # optional: only for "upload" sources
    w["show_memory"] = gr.Checkbox(False, label="Also show what it remembers (the ConvLSTM "
                                   "states, closed loop)")


def _scene_tab(w: dict) -> None:
    mnist, squares = data.SCENE_DEFAULTS["mnist"], data.SCENE_DEFAULTS["squares"]
    gr.Markdown(f"Change the world and watch where the model breaks: it learnt "
                f"{mnist['objects']} digits at {mnist['speed']} px/frame (or "
                f"{squares['learnt_objects'][0]}-{squares['learnt_objects'][1]} squares at "
                f"{squares['speed']} px/frame). Other settings are allowed, and labelled.")
    w["world"] = gr.Radio(list(demo.WORLDS), value="mnist",
                          label="World (drawing: your sketch below moves)")
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
                  ["squares", 2, 2, "", 5, "squares"]],
        example_labels=["as trained", "3 digits", "double speed", "one 9", "5 squares",
                        "2 fast squares"],
        inputs=[w["world"], w["objects"], w["speed"], w["digits"], w["scene_seed"],
                w["model_choice"]],
        label="Scenes (click one to run it)", api_visibility="private")


def _compare_tab(w: dict, choices, shipped) -> None:
    gr.Markdown("The same clip, 2 to 4 models side by side: ours against the Keras examples' "
                "recipes.")
    w["compare_models"] = gr.CheckboxGroup(
        [(label, value) for label, value in choices if value in shipped],
        value=[m for m in ("mnist", "mnist-keras3") if m in shipped],
        label="Models (2 to 4, of one frame size)")
    w["compare_source"] = gr.Radio(list(demo.SOURCES), value=demo.SOURCE_MNIST, label="Clip")
    w["compare_seed"] = gr.Number(value=demo.DEFAULT_SEED, label="Seed")
    w["compare_upload"] = gr.File(
        label="Your clip: GIF, MP4, WebM or NPY (also APNG, MOV, NPZ, a ZIP of frames)",
        file_types=demo.upload_types(), type="filepath", visible=False,
        elem_id="fp-compare-upload")
    w["compare_examples"] = gr.Examples(
        examples=[[["mnist", "mnist-keras3"], demo.SOURCE_MNIST, 3],
                  [["squares", "squares-keras2"], demo.SOURCE_SQUARES, 5]],
        example_labels=["ours vs the Keras 3 example (MNIST)",
                        "ours vs the Keras 2 example (squares)"],
        inputs=[w["compare_models"], w["compare_source"], w["compare_seed"]],
        label="Comparisons (click one to run it)", api_visibility="private")


def _settings(w: dict, choices) -> None:
    """Context, horizon, mode, model: shared by the tabs."""
    w["context"] = gr.Slider(1, demo.CLIP_FRAMES - 1, value=demo.DEFAULT_CONTEXT, step=1,
                             label="Context frames (what the model reads)", elem_id="fp-context")
    w["context_cut"] = gr.State(None)      # [from, to] while a short clip has cut the slider
    w["horizon"] = gr.Slider(1, demo.MAX_HORIZON, value=demo.DEFAULT_HORIZON, step=1,
                             label="Frames to predict (past the clip's end there is no truth to "
                                   "compare)")
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
    return gr.Examples(
        examples=[[demo.SOURCE_MNIST, 0, 10, 10, "closed_loop", "mnist"],
                  [demo.SOURCE_MNIST, 42, 10, 20, "closed_loop", "mnist"],
                  [demo.SOURCE_MNIST, 7, 10, 10, "teacher_forced", "mnist"],
                  [demo.SOURCE_SQUARES, 3, 7, 13, "closed_loop", "squares"],
                  [demo.SOURCE_SQUARES, 11, 10, 10, "teacher_forced", "squares"]],
        example_labels=["MNIST · seed 0 · 10 → 10", "MNIST · seed 42 · 10 → 20",
                        "MNIST · teacher-forced", "Squares · seed 3 · 7 → 13",
                        "Squares · teacher-forced"],
        inputs=[w["source_choice"], w["seed"], w["context"], w["horizon"], w["mode_choice"],
                w["model_choice"]],
        label="Examples (click one to run it)", api_visibility="private")


def _picture(label: str, elem_id: str, wide: bool = False, **kwargs):
    """A result picture: no label of its own (a Markdown caption above it says what it is; a
    label would sit over the picture's own header). `wide` ones scroll sideways on a phone."""
    return gr.Image(type="filepath", interactive=False, label=label, elem_id=elem_id,
                    show_label=False, buttons=["download", "fullscreen"],
                    elem_classes=["fp-pic", "fp-wide"] if wide else ["fp-pic"], **kwargs)


def _caption(text: str) -> None:
    gr.Markdown(text, elem_classes="fp-cap")


def _results(w: dict, allow_training: bool = False) -> None:
    """The results of the tab in use: the clip's (also the scene's) or the comparison's, each
    with its own run info, each keeping its last result while the other is shown."""
    with gr.Column(elem_id="fp-clip-results") as w["clip_results"]:
        w["info"] = gr.Textbox(label="Run info", lines=2, interactive=False, elem_id="fp-info")
        _caption("**Truth | Prediction | |error|** — orange border: predicted frame; "
                 "blue-grey: context the model reads")
        w["animation"] = _picture("Animation", "fp-animation")
        _caption("**Frame strip** — last context frames, then the prediction (top row) above "
                 "the truth (bottom row)")
        w["strip"] = _picture("Frame strip", "fp-strip", wide=True)
        _caption("**Per-frame quality** — the model (orange) against the copy-last-frame "
                 "baseline (grey), where there is ground truth")
        w["plot"] = _picture("Quality plot", "fp-plot", wide=True)
        with gr.Column(visible=False, elem_id="fp-memory-box") as w["memory_box"]:
            _caption("**What it remembers** — each ConvLSTM layer's hidden state size under "
                     "the frame it just read")
            w["memory_image"] = _picture("What it remembers", "fp-memory", wide=True)
    with gr.Column(visible=False, elem_id="fp-compare-results") as w["compare_results"]:
        w["compare_info"] = gr.Textbox(
            "Press Predict (or click a comparison) to run the ticked models on one clip.",
            label="Comparison info", lines=2, interactive=False, elem_id="fp-compare-info")
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
    choices = demo.model_choices(shipped)
    gr.Markdown("# FrameProphet", elem_id="fp-title")
    gr.Markdown("A causal ConvLSTM reads the first frames of a short video and predicts what "
                "comes next. Orange frames are predictions; compare them with the truth and "
                "with simply repeating the last frame.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            w["what"] = gr.State("clip")          # which tab the Predict button serves
            # Made first (rendered below the tabs) so the scene examples can set it.
            w["model_choice"] = gr.Dropdown(choices, value=demo.DEFAULT_MODEL[demo.SOURCE_MNIST],
                                            label="Model", render=False, elem_id="fp-model")
            with gr.Tabs(overflow_behavior="wrap") as w["tabs"]:
                with gr.Tab("A clip", id="clip") as w["clip_tab"]:
                    _clip_tab(w)
                with gr.Tab("Build a scene", id="scene", elem_id="fp-scene-tab") as \
                        w["scene_tab"]:
                    _scene_tab(w)
                with gr.Tab("Compare models", id="compare", elem_id="fp-compare-tab") as \
                        w["compare_tab"]:
                    _compare_tab(w, choices, shipped)
                if allow_training:
                    with gr.Tab("Train on your clips", id="train", elem_id="fp-train-tab") as \
                            w["train_tab"]:
                        from frameprophet.ui_training import training_tab

                        training_tab(w)
            _settings(w, choices)
            w["model_choice"].render()
            w["button"] = gr.Button("Predict", variant="primary", size="lg")
            with gr.Column() as w["clip_examples"]:
                w["examples"] = _clip_examples(w)
        with gr.Column(scale=3, min_width=320, elem_id="fp-results"):
            _results(w, allow_training)



PAGE_OUTPUTS = ("animation", "strip", "plot", "info", "memory_box", "memory_image",
                "compare_animation", "compare_plot", "compare_info")
PAGE_INPUTS = ("what", "source", "seed", "upload", "context", "horizon", "mode", "model",
               "world", "objects", "speed", "digits", "scene_seed", "sketchpad",
               "compare_source", "compare_seed", "compare_models", "show_memory",
               "compare_upload")


def _tab_outputs(w: dict, select: bool) -> list:
    return [w["what"], *([w["tabs"]] if select else []), w["model_choice"], w["hub_repo"],
            w["clip_results"], w["compare_results"], w["clip_examples"]]


def _then_predict(event, w: dict, tab: str | None = None, select: bool = False):
    """After `event`: note the tab (and show it), turn the widgets into the request's plain
    values, then Predict. The chain every way of predicting on the page shares."""
    event = event.then(None, js=JUMP_TO_RESULTS, **PRIVATE)
    if tab is not None:
        event = event.then(lambda choice: _show_tab(tab, choice, select), [w["model_choice"]],
                           _tab_outputs(w, select), queue=False, **PRIVATE)
    event = event.then(_request, [w["source_choice"], w["mode_choice"], w["model_choice"],
                                  w["hub_repo"]], [w["source"], w["mode"], w["model"]],
                       queue=False, **PRIVATE)
    return event.then(predict_on_page, [w[k] for k in PAGE_INPUTS],
                      [w[k] for k in PAGE_OUTPUTS], **PRIVATE, **ONE_AT_A_TIME)


def _wire_page(w: dict) -> None:
    """The widgets' own events, and every way of predicting on the page."""
    # a short clip's cut of the context slider ends when the person moves the slider
    w["context"].input(lambda: None, None, [w["context_cut"]], queue=False, **PRIVATE)
    slider_inputs = [w["source_choice"], w["upload"], w["context"], w["model_choice"],
                     w["context_cut"]]
    slider = [w["context"], w["context_cut"]]
    w["source_choice"].change(_on_source, slider_inputs,
                              [w["upload"], w["seed_row"], *slider], queue=False, **PRIVATE)
    w["source_choice"].input(_default_model, [w["source_choice"]], [w["model_choice"]],
                             queue=False, **PRIVATE)
    w["upload"].change(_on_upload, slider_inputs, slider, **PRIVATE)
    compare_inputs = [w["compare_source"], w["compare_upload"], w["context"],
                      w["compare_models"], w["context_cut"]]
    w["compare_source"].change(_on_compare_source, compare_inputs,
                               [w["compare_upload"], w["compare_seed"], *slider],
                               queue=False, **PRIVATE)
    w["compare_upload"].change(_on_compare_upload, compare_inputs, slider, **PRIVATE)
    w["model_choice"].change(_on_model, [w["model_choice"]], [w["hub_repo"]], queue=False,
                             **PRIVATE)
    w["world"].input(_on_world, [w["world"]], [w["objects"], w["speed"], w["model_choice"],
                                               w["sketch_box"], w["digits"]],
                     queue=False, **PRIVATE).then(None, js=PICK_BRUSH, **PRIVATE)
    for tab in ("clip", "scene", "compare"):
        w[f"{tab}_tab"].select(lambda choice, tab=tab: _show_tab(tab, choice),
                               [w["model_choice"]], _tab_outputs(w, False), queue=False,
                               **PRIVATE)
    _then_predict(w["button"].click(lambda: None, None, None, queue=False, **PRIVATE), w)
    _then_predict(w["dice"].click(_random_seed, None, [w["seed"]], queue=False, **PRIVATE), w)
    _then_predict(w["examples"].load_input_event, w, "clip", select=True)
    _then_predict(w["compare_examples"].load_input_event, w, "compare")
    _then_predict(w["scene_examples"].load_input_event, w, "scene")


def build_demo(allow_training: bool = False) -> gr.Blocks:
    """The FrameProphet page. Launch with `demo.launch(theme=THEME, css=CSS)`. With
    `allow_training` (`app.py --allow-training`, never on a public Space) it has the "Train on
    your clips" tab."""
    shipped = catalog.offered()         # weights/ read once per page, then `app.py --model`s
    w: dict = {}
    with gr.Blocks(title="FrameProphet", delete_cache=(3600, 3600),
                   analytics_enabled=False) as page:
        _layout(w, shipped, allow_training)
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
