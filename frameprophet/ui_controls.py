"""How the page's controls answer each other, before anything is predicted: the upload box and
seed for a clip source, the context slider fitted to the clip in use, the model that suits a
clip unless the person picked one, the Compare tab's ticks of one frame size, and what each tab
shows. `wire_controls(w)` attaches these to the widgets `frameprophet.ui` lays out.

The model menu follows the clip (a world's own model; for an upload or pictures in motion, the
`natural` model) until the person picks a model in it: from then on their pick stays, whatever
clip they choose, until they click an example (which sets its own model).
"""

from __future__ import annotations

import logging

import gradio as gr

from frameprophet import data, demo
from frameprophet.ui_api import PRIVATE

log = logging.getLogger(__name__)

TABS = ("clip", "scene", "compare")
#: What `show_tab` updates, in this order: the model menu and Hub box (clip and scene tabs),
#: each tab's results and Predict button, and the clip tab's examples.
TAB_WIDGETS = ("model_choice", "hub_repo", *(f"{t}_results" for t in TABS),
               *(f"{t}_button" for t in TABS), "clip_examples")


def show_tab(tab: str, choice: str, select: bool = False):
    """A tab is shown: note it, and show what serves it (see TAB_WIDGETS)."""
    own = tab == "compare"
    updates = (gr.update(visible=not own),
               gr.update(visible=not own and choice == demo.CUSTOM_MODEL),
               *(gr.update(visible=tab == t) for t in TABS),
               *(gr.update(visible=tab == t) for t in TABS),
               gr.update(visible=tab == "clip"))
    return (tab, gr.Tabs(selected=tab), *updates) if select else (tab, *updates)


# --------------------------------------------------------------------------------------------
# The clip and the context slider
# --------------------------------------------------------------------------------------------

def on_source(source: str, upload, context: int, model: str | None = None, cut=None):
    """Source changed: show the upload box for uploads and fit the context slider to the clip."""
    source = demo.normalise_source(source)
    return (gr.update(visible=source == demo.SOURCE_UPLOAD),
            gr.update(visible=source != demo.SOURCE_UPLOAD),
            *context_update(source, upload, context, model, cut))


def on_upload(source: str, upload, context: int, model: str | None = None, cut=None):
    """A file was dropped: fit the context slider to its length. Two outputs, the slider and
    the cut, so two updates (a 1-tuple for one output once became the slider's value and broke
    every upload)."""
    return context_update(source, upload, context, model, cut)


def context_update(source, upload, context, model=None, cut=None, quiet=False) -> tuple:
    """The context slider for a clip of n frames, 1 to n - 1, and the cut made to fit it.

    A clip too short for the slider's value cuts it, and the cut `[from, to]` is kept (a session
    state) so the next clip that allows more gets the person's value back, unless the slider has
    moved since (the person, or an example, set a value of their own). A slider needs two ends,
    so a 2-frame clip keeps 1..2 at 1, and says why (Predict would cut 2 to 1). `quiet`: a
    tab shown again, whose clip was said before: nothing is said twice.
    """
    say_warning, say_info = (lambda _: None,) * 2 if quiet else (gr.Warning, gr.Info)
    try:
        n = demo.clip_length(source, upload, model)
    except ValueError as e:                   # say it now; Predict will refuse it again
        say_warning(demo.public_message(str(e), upload))
        n = None
    except Exception:
        log.warning("could not count the frames of an upload", exc_info=True)
        say_warning("Could not read this file.")
        n = None
    if n is None or n < 2:
        return gr.update(), cut
    context = int(context or demo.DEFAULT_CONTEXT)
    wanted = int(cut[0]) if cut and context == int(cut[1]) else context
    target = 1 if n == 2 else min(wanted, n - 1)
    new_cut = [wanted, target] if target < wanted else None
    if n == 2:
        say_info("This clip has 2 frames: the model reads the first and predicts the second.")
        return gr.update(maximum=2, value=1), new_cut
    if context == target:       # leave the value alone: the person may have moved it meanwhile
        return gr.update(maximum=n - 1), new_cut
    return gr.update(maximum=n - 1, value=target), new_cut


def on_compare_source(source: str, upload, context: int, models: list[str] | None, cut=None):
    """The compare tab's source changed: its own upload box, seed and the context slider
    (an upload is counted at the frame size of the first model ticked)."""
    return on_source(source, upload, context, (models or [None])[0], cut)


def on_compare_upload(source: str, upload, context: int, models: list[str] | None, cut=None):
    return context_update(source, upload, context, (models or [None])[0], cut)


def slider_for_tab(tab: str, source, upload, context, model, models, cut):
    """A tab is shown: its clip's context slider (the slider is shared, the clips are not)."""
    if tab == "compare":
        return context_update(source, upload, context, (models or [None])[0], cut, quiet=True)
    if tab == "scene":
        return context_update(demo.SOURCE_MNIST, None, context, None, cut, quiet=True)
    return context_update(source, upload, context, model, cut, quiet=True)


# --------------------------------------------------------------------------------------------
# The model: the clip's own, unless the person picked one
# --------------------------------------------------------------------------------------------

def suggest_model(source: str, picked: bool):
    """The clip source changed: its own model in the menu (an upload: `natural`), unless the
    person picked a model themselves."""
    if picked:
        return gr.skip()
    return gr.update(value=demo.DEFAULT_MODEL[demo.normalise_source(source)])


def on_world(world: str, picked: bool = False):
    """World picked: its object range (1-4 digits, 1-7 squares, 0-3 cut-outs), its trained
    speed (whole pixels for squares), its model unless the person picked one, the digits box
    for MNIST and the sketchpad only for drawings."""
    kind = demo.normalise_world(world)
    defaults = data.SCENE_DEFAULTS["mnist" if kind == "drawing" else kind]
    objects = gr.update(minimum=defaults.get("min_objects", 1), maximum=defaults["max_objects"],
                        value=defaults["objects"] or defaults["learnt_objects"][0],
                        visible=kind != "drawing")          # a drawing is one object
    return (objects, gr.update(value=defaults["speed"], step=1 if kind == "squares" else 0.1),
            gr.skip() if picked else gr.update(value=demo.WORLD_MODEL[kind]),
            gr.update(visible=kind == "drawing"), gr.update(visible=kind == "mnist"))


def on_model(choice: str):
    return gr.update(visible=choice == demo.CUSTOM_MODEL)


# --------------------------------------------------------------------------------------------
# The Compare tab's models: of one frame size
# --------------------------------------------------------------------------------------------

def compare_choices(shipped: list[str]) -> list[tuple[str, str]]:
    """The Compare tab's boxes: each shipped model with its frame size (and colour), so a
    person sees beforehand which ones go together."""
    choices = []
    for name in shipped:
        frames = demo.model_frames(name)
        said = f" · {frames[0]}x{frames[1]}{' colour' if frames[2] == 3 else ''}" if frames else ""
        choices.append((name + said, name))
    return choices


def compare_ticks(models: list[str] | None, evt: gr.SelectData):
    """A box was ticked: models of another frame size (or colour) than the one just ticked
    are unticked, and that is said."""
    models, new = list(models or []), evt.value
    frames = demo.model_frames(new) if evt.selected else None
    others = [m for m in models if m != new and demo.model_frames(m) not in (None, frames)]
    if frames is None or not others:
        return gr.skip()
    gr.Info(f"Unticked {', '.join(others)}: {new} predicts {frames[0]}x{frames[1]} "
            f"{'colour' if frames[2] == 3 else 'grey'} frames, and a comparison needs models "
            "of one frame size.")
    return [*(m for m in models if m not in others and m != new), new]


# --------------------------------------------------------------------------------------------
# The wiring
# --------------------------------------------------------------------------------------------

def _tab_outputs(w: dict) -> list:
    return [w["what"], *(w[k] for k in TAB_WIDGETS)]


def wire_tabs(w: dict) -> None:
    """Each tab, shown: what serves it, and the context slider fitted to its clip."""
    tab_inputs = [w["source_choice"], w["upload"], w["context"], w["model_choice"],
                  w["compare_models"], w["context_cut"]]
    for tab in TABS:
        w[f"{tab}_tab"].select(lambda choice, tab=tab: show_tab(tab, choice),
                               [w["model_choice"]], _tab_outputs(w), queue=False, **PRIVATE)
        inputs = ([w["compare_source"], w["compare_upload"], *tab_inputs[2:]]
                  if tab == "compare" else tab_inputs)
        w[f"{tab}_tab"].select(lambda *args, tab=tab: slider_for_tab(tab, *args), inputs,
                               [w["context"], w["context_cut"]], queue=False, **PRIVATE)


def wire_controls(w: dict) -> None:
    """The widgets' own events (`frameprophet.ui` wires the predictions)."""
    # a short clip's cut of the context slider ends when the person moves the slider
    w["context"].input(lambda: None, None, [w["context_cut"]], queue=False, **PRIVATE)
    slider_inputs = [w["source_choice"], w["upload"], w["context"], w["model_choice"],
                     w["context_cut"]]
    slider = [w["context"], w["context_cut"]]
    w["source_choice"].change(on_source, slider_inputs,
                              [w["upload"], w["seed_row"], *slider], queue=False, **PRIVATE)
    w["source_choice"].input(suggest_model, [w["source_choice"], w["model_picked"]],
                             [w["model_choice"]], queue=False, **PRIVATE)
    w["upload"].upload(on_upload, slider_inputs, slider, **PRIVATE)
    compare_inputs = [w["compare_source"], w["compare_upload"], w["context"],
                      w["compare_models"], w["context_cut"]]
    w["compare_source"].change(on_compare_source, compare_inputs,
                               [w["compare_upload"], w["compare_seed"], *slider],
                               queue=False, **PRIVATE)
    w["compare_upload"].upload(on_compare_upload, compare_inputs, slider, **PRIVATE)
    w["compare_models"].select(compare_ticks, [w["compare_models"]], [w["compare_models"]],
                               **PRIVATE)          # queued: its message needs the queue
    w["model_choice"].input(lambda: True, None, [w["model_picked"]], queue=False, **PRIVATE)
    w["model_choice"].change(on_model, [w["model_choice"]], [w["hub_repo"]], queue=False,
                             **PRIVATE)
    w["world"].input(on_world, [w["world"], w["model_picked"]],
                     [w["objects"], w["speed"], w["model_choice"], w["sketch_box"],
                      w["digits"]], queue=False, **PRIVATE).then(None, js=PICK_BRUSH,
                                                                  **PRIVATE)
    wire_tabs(w)


# The sketchpad opens with no tool chosen ("select the draw tool to start"): choose the brush
# once it is shown, so a person can draw at once.
PICK_BRUSH = """() => { setTimeout(() => {
  const b = document.querySelector('#fp-sketch button[aria-label="Brush"]');
  if (b && !b.classList.contains('selected')) b.click(); }, 300); }"""
