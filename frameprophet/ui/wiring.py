"""Which event runs which handler. Each tab's Predict, its examples (and the clip tab's dice) run
that tab's own handler (`frameprophet.ui.handlers`) on its own widgets and results; the
controls' own events run `frameprophet.ui.controls`. Every event here is the page's own
(`api_visibility="private"`); the API is `frameprophet.ui.api`.
"""

from __future__ import annotations

from functools import partial

from frameprophet.ui import controls, handlers
from frameprophet.ui.layout import TABS, Page

PRIVATE = {"api_visibility": "private"}
# One prediction at a time (two cores), page and API alike.
ONE_AT_A_TIME = {"concurrency_id": "predict", "concurrency_limit": 1}

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
# The sketchpad opens with no tool chosen ("select the draw tool to start"): choose the brush
# once it is shown, so a person can draw at once.
PICK_BRUSH = """() => { setTimeout(() => {
  const b = document.querySelector('#fp-sketch button[aria-label="Brush"]');
  if (b && !b.classList.contains('selected')) b.click(); }, 300); }"""


def wire(page: Page) -> None:
    """Every event of the page: the three tabs' predictions, the controls, the tabs shown."""
    wire_clip_tab(page)
    wire_scene_tab(page)
    wire_compare_tab(page)
    wire_controls(page)
    wire_tabs(page)


def predicting(trigger, handler, inputs: list, outputs: list) -> None:
    """After `trigger` (an event listener: a click, an example's `.then`), predict with
    `handler`: the earlier warnings go and the results come into view, the handler runs, and
    the results come into view again."""
    (trigger(None, js=PREDICTION_STARTS, **PRIVATE)
     .then(handler, inputs, outputs, **PRIVATE, **ONE_AT_A_TIME)
     .then(None, js=JUMP_TO_RESULTS, **PRIVATE))


def _example_clicked(page: Page, tab: str):
    """An example of `tab` was clicked (its values are in): show its tab; returns what to
    chain the prediction to."""
    settings = page.settings
    return page.tab(tab).examples.load_input_event.then(
        partial(controls.example_shown, page, tab), [settings.model],
        [page.tabs, *controls.tab_outputs(page), settings.model_picked], queue=False,
        **PRIVATE).then


def wire_clip_tab(page: Page) -> None:
    clip, settings = page.clip, page.settings
    predict = partial(handlers.predict_clip, clip.results)
    inputs = [clip.source, clip.seed, clip.upload, settings.context, settings.horizon,
              settings.mode, settings.model, settings.hub_repo, clip.show_memory]
    outputs = clip.results.outputs()
    predicting(clip.predict.click, predict, inputs, outputs)
    predicting(clip.dice.click(handlers.random_seed, None, [clip.seed], queue=False,
                               **PRIVATE).then, predict, inputs, outputs)
    predicting(_example_clicked(page, "clip"), predict, inputs, outputs)


def wire_scene_tab(page: Page) -> None:
    scene, settings = page.scene, page.settings
    predict = partial(handlers.predict_scene, scene.results)
    inputs = [scene.world, scene.objects, scene.speed, scene.digits, scene.seed,
              scene.sketchpad, settings.context, settings.horizon, settings.mode,
              settings.model, settings.hub_repo]
    outputs = scene.results.outputs()
    predicting(scene.predict.click, predict, inputs, outputs)
    predicting(_example_clicked(page, "scene"), predict, inputs, outputs)


def wire_compare_tab(page: Page) -> None:
    compare, settings = page.compare, page.settings
    predict = partial(handlers.predict_compare, compare.results)
    inputs = [compare.source, compare.seed, compare.upload, compare.models, settings.context,
              settings.horizon, settings.mode]
    outputs = compare.results.outputs()
    predicting(compare.predict.click, predict, inputs, outputs)
    predicting(_example_clicked(page, "compare"), predict, inputs, outputs)


def wire_controls(page: Page) -> None:
    """The widgets' own events: the clip's upload box, seed and slider, the model menu, the
    Compare tab's ticks, the scene's world."""
    clip, scene, compare, settings = page.clip, page.scene, page.compare, page.settings
    slider = [settings.context, settings.context_cut]
    # a short clip's cut of the context slider ends when the person moves the slider
    settings.context.input(lambda: None, None, [settings.context_cut], queue=False, **PRIVATE)
    clip_inputs = [clip.source, clip.upload, settings.context, settings.model,
                   settings.context_cut]
    clip.source.change(controls.on_source, clip_inputs, [clip.upload, clip.seed_row, *slider],
                       queue=False, **PRIVATE)
    clip.source.input(controls.suggest_model, [clip.source, settings.model_picked],
                      [settings.model], queue=False, **PRIVATE)
    clip.upload.upload(controls.on_upload, clip_inputs, slider, **PRIVATE)
    compare_inputs = [compare.source, compare.upload, settings.context, compare.models,
                      settings.context_cut]
    compare.source.change(controls.on_compare_source, compare_inputs,
                          [compare.upload, compare.seed, *slider], queue=False, **PRIVATE)
    compare.upload.upload(controls.on_compare_upload, compare_inputs, slider, **PRIVATE)
    compare.models.select(controls.compare_ticks, [compare.models], [compare.models],
                          **PRIVATE)          # queued: its message needs the queue
    settings.model.input(lambda: True, None, [settings.model_picked], queue=False, **PRIVATE)
    settings.model.change(controls.on_model, [settings.model], [settings.hub_repo],
                          queue=False, **PRIVATE)
    scene.world.input(controls.on_world, [scene.world, settings.model_picked],
                      [scene.objects, scene.speed, settings.model, scene.sketch_box,
                       scene.digits], queue=False, **PRIVATE).then(None, js=PICK_BRUSH,
                                                                   **PRIVATE)


def wire_tabs(page: Page) -> None:
    """Each tab, shown: what serves it (`controls.show_tab`), and the context slider fitted to
    its clip."""
    clip, compare, settings = page.clip, page.compare, page.settings
    for name in TABS:
        tab = page.tab(name).tab
        tab.select(partial(controls.show_tab, page, name), [settings.model],
                   controls.tab_outputs(page), queue=False, **PRIVATE)
        source, upload = (compare.source, compare.upload) if name == "compare" else (
            clip.source, clip.upload)
        tab.select(partial(controls.slider_for_tab, name),
                   [source, upload, settings.context, settings.model, compare.models,
                    settings.context_cut], [settings.context, settings.context_cut],
                   queue=False, **PRIVATE)
