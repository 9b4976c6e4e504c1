"""How the page's controls answer each other, before anything is predicted: the upload box and
seed for a clip source, the context slider fitted to the clip in use, the model that suits a
clip unless the person picked one, the Compare tab's ticks of one frame size, and what each tab
shows. `frameprophet.ui.wiring` attaches these to the widgets.

The model menu follows the clip (a world's own model; for an upload or pictures in motion, the
`natural` model) until the person picks a model in it: from then on their pick stays, whatever
clip they choose, until they click an example (which sets its own model).
"""

from __future__ import annotations

import logging

import gradio as gr

from frameprophet import demo, scenes
from frameprophet.ui.layout import TABS, Page

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# What each tab shows
# --------------------------------------------------------------------------------------------

def tab_outputs(page: Page) -> list:
    """What `show_tab` updates."""
    tabs = [page.tab(name) for name in TABS]
    return [page.settings.model, page.settings.hub_repo, *(t.results.column for t in tabs),
            *(t.predict for t in tabs), page.clip.examples_box]


def show_tab(page: Page, tab: str, choice: str) -> dict:
    """A tab is shown: the model menu and its Hub box (not on Compare, which ticks its own
    models), the tab's own results and Predict, and the clip tab's examples on the clip tab."""
    updates = {page.settings.model: gr.update(visible=tab != "compare"),
               page.settings.hub_repo: gr.update(visible=tab != "compare"
                                                 and choice == demo.CUSTOM_MODEL),
               page.clip.examples_box: gr.update(visible=tab == "clip")}
    for name in TABS:
        updates[page.tab(name).results.column] = gr.update(visible=name == tab)
        updates[page.tab(name).predict] = gr.update(visible=name == tab)
    return updates


def example_shown(page: Page, tab: str, choice: str) -> dict:
    """An example was clicked: its tab is shown, and the model is the example's, not the
    person's pick."""
    return {page.tabs: gr.Tabs(selected=tab), **show_tab(page, tab, choice),
            page.settings.model_picked: False}


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
        say_info("This clip has 2 frames, so Context frames is 1: the model reads the first "
                 "and predicts the second.")
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
    defaults = scenes.SCENE_DEFAULTS["mnist" if kind == "drawing" else kind]
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
