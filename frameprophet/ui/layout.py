"""What is on the page, top to bottom: each tab's controls, the settings they share, each tab's
Predict and results. `lay_out` builds it inside a `gr.Blocks` and returns it as a `Page` of
small dataclasses, so the wiring names each widget as `page.clip.seed`, `page.scene.results.info`.

Every value is checked by `frameprophet.demo`, never by Gradio's input validation: a Number
here has no `minimum`/`maximum` and no `precision` (with one, Gradio rounds 10.5 to 10 and
refuses a text with a traceback), so a refused value is said in words and the page keeps its
result. The sliders' bounds are the page's own (the context slider follows the clip).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from frameprophet import demo, scenes

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
.fp-file [data-testid="block-label"] {max-width: calc(100% - 3em); white-space: normal;}
@media (max-width: 640px) {
  .tab-wrapper .tab-container button {padding: 0.3em 0.45em; font-size: 0.9em;}
  .fp-wide .image-container img {width: 100% !important; max-width: 100% !important;
    height: auto !important;}
}
"""
THEME = "soft"
TABS = ("clip", "scene", "compare")


# --------------------------------------------------------------------------------------------
# The page's parts
# --------------------------------------------------------------------------------------------

@dataclass
class ForecastResults:
    """A forecast's results (the clip tab's, the scene tab's): its run info, the animation, the
    frame strip, the quality plot; the clip tab's also what the model remembers."""

    column: gr.Column
    info: gr.Textbox
    animation: gr.Image
    strip: gr.Image
    plot: gr.Image
    memory_box: gr.Column | None = None
    memory: gr.Image | None = None

    def outputs(self) -> list:
        return [c for c in (self.animation, self.strip, self.plot, self.info, self.memory_box,
                            self.memory) if c is not None]


@dataclass
class CompareResults:
    """A comparison's results: its info, one animation and one plot of every model."""

    column: gr.Column
    info: gr.Textbox
    animation: gr.Image
    plot: gr.Image

    def outputs(self) -> list:
        return [self.animation, self.plot, self.info]


@dataclass
class ClipTab:
    """"A clip": a generated clip (source and seed) or an upload."""

    tab: gr.Tab
    source: gr.Radio
    seed_row: gr.Row
    seed: gr.Number
    dice: gr.Button
    upload: gr.File
    show_memory: gr.Checkbox
    predict: gr.Button
    examples: gr.Examples           # below Predict, in `examples_box` (hidden on other tabs)
    examples_box: gr.Column
    results: ForecastResults


@dataclass
class SceneTab:
    """"Build a scene": a world, its objects, speed, digits and seed, or a drawing."""

    tab: gr.Tab
    world: gr.Radio
    objects: gr.Slider
    speed: gr.Number
    digits: gr.Textbox
    seed: gr.Number
    sketch_box: gr.Column
    sketchpad: gr.Sketchpad
    examples: gr.Examples
    predict: gr.Button
    results: ForecastResults


@dataclass
class CompareTab:
    """"Compare models": 2 to 4 models ticked, and a clip of its own."""

    tab: gr.Tab
    models: gr.CheckboxGroup
    source: gr.Radio
    seed: gr.Number
    upload: gr.File
    examples: gr.Examples
    predict: gr.Button
    results: CompareResults


@dataclass
class Settings:
    """What the prediction tabs share, below the tabs: context, horizon, mode, the model menu
    (not on Compare) and the Hub repo box for its custom choice."""

    context: gr.Slider
    context_cut: gr.State           # [from, to] while a short clip has cut the slider
    horizon: gr.Slider
    mode: gr.Radio
    hub_repo: gr.Textbox
    model: gr.Dropdown
    model_picked: gr.State          # the person picked a model in the menu
    column: gr.Column               # all of the above and the Predict buttons (hidden on Train)


@dataclass
class Page:
    """The three prediction tabs and what they share (`frameprophet.ui.training` adds its tab
    to `tabs` and its results to `results_column`)."""

    tabs: gr.Tabs
    clip: ClipTab
    scene: SceneTab
    compare: CompareTab
    settings: Settings
    results_column: gr.Column

    def tab(self, name: str) -> ClipTab | SceneTab | CompareTab:
        return getattr(self, name)


# --------------------------------------------------------------------------------------------
# Builders: each makes its widgets where they are shown
# --------------------------------------------------------------------------------------------

def lay_out(shipped: list[str]) -> Page:
    """The whole page, inside the current `gr.Blocks`: the controls on the left, each tab's
    results on the right (one shown at a time, each keeping its last result)."""
    gr.Markdown("# FrameProphet", elem_id="fp-title")
    gr.Markdown("A causal ConvLSTM reads the first frames of a short video and predicts what "
                "comes next. Orange frames are predictions; compare them with the truth and "
                "with simply repeating the last frame.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            # Made first (rendered under the settings) so the examples can set them.
            model = gr.Dropdown(demo.model_choices(shipped),
                                value=demo.DEFAULT_MODEL[demo.SOURCE_MNIST], label="Model",
                                render=False, elem_id="fp-model")
            buttons = {tab: gr.Button("Predict", variant="primary", size="lg",
                                      visible=tab == "clip", elem_id=f"fp-{tab}-predict",
                                      render=False) for tab in TABS}
            with gr.Tabs(overflow_behavior="wrap") as tabs:
                with gr.Tab("A clip", id="clip", elem_id="fp-clip-tab") as clip_tab:
                    clip_inputs = _clip_inputs()
                with gr.Tab("Build a scene", id="scene", elem_id="fp-scene-tab") as scene_tab:
                    scene_inputs = _scene_inputs(model)
                with gr.Tab("Compare models", id="compare", elem_id="fp-compare-tab") as \
                        compare_tab:
                    compare_inputs = _compare_inputs(shipped)
            settings, clip_examples = _settings(model, buttons, clip_inputs)
        with gr.Column(scale=3, min_width=320, elem_id="fp-results") as results_column:
            results = _forecast_results("clip", "", True)
            scene_results = _forecast_results("scene", "No scene yet: set the world and press "
                                              "Predict (or click a scene).", False)
            compare_results = _compare_results()
    return Page(tabs, ClipTab(clip_tab, **clip_inputs, predict=buttons["clip"],
                              **clip_examples, results=results),
                SceneTab(scene_tab, **scene_inputs, predict=buttons["scene"],
                         results=scene_results),
                CompareTab(compare_tab, **compare_inputs, predict=buttons["compare"],
                           results=compare_results),
                settings, results_column)


def _clip_inputs() -> dict:
    source = gr.Radio(list(demo.SOURCES), value=demo.SOURCE_MNIST, label="Clip")
    with gr.Row(visible=True) as seed_row:
        seed = gr.Number(value=demo.DEFAULT_SEED, label="Seed", scale=2, min_width=100)
        dice = gr.Button("New random clip", scale=3, min_width=120)
    upload = gr.File(
        label="Your clip: GIF, MP4, WebM or NPY (also APNG, MOV, NPZ, a ZIP of frames), fitted "
              "to the model's frame size", file_types=demo.upload_types(), type="filepath",
        visible=False, elem_id="fp-upload", elem_classes="fp-file")
    show_memory = gr.Checkbox(False, label="Also show what it remembers (the ConvLSTM states, "
                              "closed loop)")
    return dict(source=source, seed_row=seed_row, seed=seed, dice=dice, upload=upload,
                show_memory=show_memory)


def _scene_inputs(model: gr.Dropdown) -> dict:
    mnist, squares = scenes.SCENE_DEFAULTS["mnist"], scenes.SCENE_DEFAULTS["squares"]
    natural = scenes.SCENE_DEFAULTS["natural"]
    gr.Markdown(f"Change the world and watch where the model breaks: it learnt "
                f"{mnist['objects']} digits at {mnist['speed']} px/frame, "
                f"{squares['learnt_objects'][0]}-{squares['learnt_objects'][1]} squares at "
                f"{squares['speed']} px/frame, or pictures in motion (0-{natural['max_objects']} "
                f"cut-outs, a camera up to {natural['learnt_speed']:g} px/frame). Other "
                "settings are allowed, and labelled.")
    world = gr.Radio(list(demo.WORLDS), value="mnist",
                     label="World (natural: pictures in motion; drawing: your sketch)")
    with gr.Row():
        objects = gr.Slider(1, mnist["max_objects"], value=mnist["objects"], step=1,
                            label="Objects")
        speed = gr.Number(value=mnist["speed"], step=0.1, label="Speed (px per frame)")
    with gr.Row():
        digits = gr.Textbox(value="", label="Digits (e.g. 37; empty: any)", placeholder="any")
        seed = gr.Number(value=demo.DEFAULT_SEED, label="Seed")
    with gr.Column(visible=False) as sketch_box:
        # The caption is Markdown above the pad: the pad's own label sits under its toolbar.
        gr.Markdown("**Draw a shape or a digit**: it moves and bounces like a Moving MNIST "
                    "digit", elem_classes="fp-cap")
        sketchpad = gr.Sketchpad(
            type="numpy", image_mode="RGB", canvas_size=(280, 280), fixed_canvas=True,
            height=360, layers=False, transforms=(), show_label=False, label="Your drawing",
            brush=gr.Brush(default_size=16, colors=["#000000"], color_mode="fixed"),
            elem_id="fp-sketch")
    examples = gr.Examples(
        examples=[["mnist", 2, mnist["speed"], "", 0, "mnist"],
                  ["mnist", 3, mnist["speed"], "", 1, "mnist"],
                  ["mnist", 2, 2 * mnist["speed"], "", 2, "mnist"],
                  ["mnist", 1, mnist["speed"], "9", 3, "mnist"],
                  ["squares", 5, squares["speed"], "", 4, "squares"],
                  ["squares", 2, 2, "", 5, "squares"],
                  ["natural", 2, natural["speed"], "", 6, "natural"]],
        example_labels=["as trained", "3 digits", "double speed", "one 9", "5 squares",
                        "2 fast squares", "pictures, 2 cut-outs"],
        inputs=[world, objects, speed, digits, seed, model],
        label="Scenes (click one to run it)", api_visibility="private")
    return dict(world=world, objects=objects, speed=speed, digits=digits, seed=seed,
                sketch_box=sketch_box, sketchpad=sketchpad, examples=examples)


def compare_choices(shipped: list[str]) -> list[tuple[str, str]]:
    """The Compare tab's boxes: each shipped model with its frame size (and colour), so a
    person sees beforehand which ones go together."""
    choices = []
    for name in shipped:
        frames = demo.model_frames(name)
        said = f" · {frames[0]}x{frames[1]}{' colour' if frames[2] == 3 else ''}" if frames else ""
        choices.append((name + said, name))
    return choices


def _compare_inputs(shipped: list[str]) -> dict:
    gr.Markdown("The same clip, 2 to 4 models side by side: ours against the Keras examples' "
                "recipes.")
    models = gr.CheckboxGroup(
        compare_choices(shipped), value=[m for m in ("mnist", "mnist-keras3") if m in shipped],
        label="Models (2 to 4, of one frame size)", elem_id="fp-compare-models")
    source = gr.Radio(list(demo.SOURCES), value=demo.SOURCE_MNIST, label="Clip")
    seed = gr.Number(value=demo.DEFAULT_SEED, label="Seed")
    upload = gr.File(
        label="Your clip: GIF, MP4, WebM or NPY (also APNG, MOV, NPZ, a ZIP of frames)",
        file_types=demo.upload_types(), type="filepath", visible=False,
        elem_id="fp-compare-upload", elem_classes="fp-file")
    examples = gr.Examples(
        examples=[[["mnist", "mnist-keras3"], demo.SOURCE_MNIST, 3],
                  [["squares", "squares-keras2"], demo.SOURCE_SQUARES, 5]],
        example_labels=["ours vs the Keras 3 example (MNIST)",
                        "ours vs the Keras 2 example (squares)"],
        inputs=[models, source, seed], label="Comparisons (click one to run it)",
        api_visibility="private")
    return dict(models=models, source=source, seed=seed, upload=upload, examples=examples)


def _settings(model: gr.Dropdown, buttons: dict[str, gr.Button], clip: dict
              ) -> tuple[Settings, dict]:
    """Context, horizon, mode and the model menu, each tab's Predict (one shown), then the
    clip tab's examples."""
    with gr.Column() as column:
        context = gr.Slider(1, demo.CLIP_FRAMES - 1, value=demo.DEFAULT_CONTEXT, step=1,
                            label="Context frames (what the model reads)", elem_id="fp-context")
        horizon = gr.Slider(1, demo.MAX_HORIZON, value=demo.DEFAULT_HORIZON, step=1,
                            label="Frames to predict (past the clip's end there is no truth to "
                                  "compare)", elem_id="fp-horizon")
        mode = gr.Radio(demo.MODE_CHOICES, value="closed_loop", label="Mode")
        hub_repo = gr.Textbox(label="Hugging Face Hub repo id",
                              placeholder="owner/name or hf://owner/name", visible=False)
        model.render()
        for button in buttons.values():
            button.render()
    settings = Settings(context, gr.State(None), horizon, mode, hub_repo, model, gr.State(False),
                        column)
    with gr.Column() as examples_box:
        examples = _clip_examples(clip, settings)
    return settings, dict(examples=examples, examples_box=examples_box)


def _clip_examples(clip: dict, settings: Settings) -> gr.Examples:
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
        inputs=[clip["source"], clip["seed"], settings.context, settings.horizon, settings.mode,
                settings.model],
        label="Examples (click one to run it)", api_visibility="private")


# --------------------------------------------------------------------------------------------
# The results column
# --------------------------------------------------------------------------------------------

def picture(label: str, elem_id: str, wide: bool = False, **kwargs) -> gr.Image:
    """A result picture: no label of its own (a Markdown caption above it says what it is; a
    label would sit over the picture's own header). `wide` ones fit a phone's width."""
    return gr.Image(type="filepath", interactive=False, label=label, elem_id=elem_id,
                    show_label=False, buttons=["download", "fullscreen"],
                    elem_classes=["fp-pic", "fp-wide"] if wide else ["fp-pic"], **kwargs)


def caption(text: str) -> None:
    gr.Markdown(text, elem_classes="fp-cap")


def _forecast_results(tab: str, info: str, visible: bool) -> ForecastResults:
    """The clip tab's or the scene tab's results. The scene's pictures are hidden until its
    first result: an empty picture box reads as a broken one."""
    elem = "fp" if tab == "clip" else f"fp-{tab}"
    shown = {"visible": tab == "clip"}
    with gr.Column(visible=visible, elem_id=f"fp-{tab}-results") as column:
        info_box = gr.Textbox(info, label="Run info", lines=2, interactive=False,
                              elem_id=f"{elem}-info", elem_classes="fp-info")
        caption("**Truth | Prediction | |error|** — orange border: predicted frame; "
                "blue-grey: context the model reads")
        animation = picture("Animation", f"{elem}-animation", **shown)
        caption("**Frame strip** — last context frames, then the prediction (top row) above "
                "the truth (bottom row)")
        strip = picture("Frame strip", f"{elem}-strip", wide=True, **shown)
        caption("**Per-frame quality** — the model (orange) against the copy-last-frame "
                "baseline (grey), where there is ground truth")
        plot = picture("Quality plot", f"{elem}-plot", wide=True, **shown)
        results = ForecastResults(column, info_box, animation, strip, plot)
        if tab == "clip":
            with gr.Column(visible=False, elem_id="fp-memory-box") as results.memory_box:
                caption("**What it remembers** — each ConvLSTM layer's hidden state size under "
                        "the frame it just read")
                results.memory = picture("What it remembers", "fp-memory", wide=True)
    return results


def _compare_results() -> CompareResults:
    with gr.Column(visible=False, elem_id="fp-compare-results") as column:
        info = gr.Textbox(
            "No comparison yet: tick 2 to 4 models and press Predict (or click a comparison).",
            label="Comparison info", lines=2, interactive=False, elem_id="fp-compare-info",
            elem_classes="fp-info")
        caption("**Truth | each model** — orange border: predicted frame; blue-grey: context; "
                "each model's name in its colour in the plot")
        # Hidden until there is a comparison: an empty picture box reads as a broken one.
        animation = picture("Comparison", "fp-compare-animation", visible=False)
        caption("**Per-frame quality** — each model in its own colour (ours orange) against "
                "the copy-last-frame baseline (grey)")
        plot = picture("Comparison quality plot", "fp-compare-plot", wide=True, visible=False)
    return CompareResults(column, info, animation, plot)
