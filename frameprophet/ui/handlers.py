"""Each tab's Predict: its widgets' values into a typed request (`frameprophet.demo`), the
request run, its result into that tab's own results.

A handler returns a dict of the results it changes: a refused request changes only the tab's
info box (and says it in a warning), so the pictures keep the previous result. The demo's
refusals keep their own words; our bug gets the generic message (its traceback is logged).
"""

from __future__ import annotations

import logging

import gradio as gr
import numpy as np

from frameprophet import demo
from frameprophet.ui.layout import CompareResults, ForecastResults

log = logging.getLogger(__name__)


def predict_clip(results: ForecastResults, source, seed, upload, context, horizon, mode, model,
                 hub_repo, show_memory, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
    """The clip tab's Predict: the animation, strip, plot and info, and with `show_memory` what
    the model remembers (its box shown only then)."""
    try:
        request = demo.PredictRequest.of(source, seed, upload, context, horizon, mode, model,
                                         hub_repo)
        gif, strip, plot, info, memory = demo.run_clip(request, show_memory, progress)
    except (demo.RequestError, demo.RequestFailed) as error:
        return {results.info: not_predicted(error)}
    return {results.animation: gif, results.strip: strip, results.plot: plot,
            results.info: info, results.memory_box: gr.update(visible=memory is not None),
            results.memory: memory}


def predict_scene(results: ForecastResults, world, objects, speed, digits, seed, sketch,
                  context, horizon, mode, model, hub_repo,
                  progress=gr.Progress()):  # noqa: B008
    """The scene tab's Predict: its own animation, strip and plot (shown from its first result
    on) and info."""
    try:
        request = demo.SceneRequest.of(world, objects, speed, digits, seed, context, horizon,
                                       mode, model, sketch=sketch, hub_repo=hub_repo)
        gif, strip, plot, info = demo.run_scene(request, progress=progress)
    except (demo.RequestError, demo.RequestFailed) as error:
        return {results.info: not_predicted(error)}
    return {results.animation: gr.update(value=gif, visible=True),
            results.strip: gr.update(value=strip, visible=True),
            results.plot: gr.update(value=plot, visible=True), results.info: info}


def predict_compare(results: CompareResults, source, seed, upload, models, context, horizon,
                    mode, progress=gr.Progress()):  # noqa: B008
    """The Compare tab's Predict: one animation and one plot of every model, and the info."""
    try:
        request = demo.CompareRequest.of(source, seed, upload, context, horizon, mode, models)
        gif, plot, info = demo.run_compare(request, progress=progress)
    except (demo.RequestError, demo.RequestFailed) as error:
        return {results.info: not_predicted(error)}
    return {results.animation: gr.update(value=gif, visible=True),
            results.plot: gr.update(value=plot, visible=True), results.info: info}


def first_result():
    """The first result a visitor sees, on the clip tab (computed once; see
    `frameprophet.demo.first_result`)."""
    try:
        return demo.first_result()
    except (demo.RequestError, demo.RequestFailed) as error:
        raise gradio_error(error) from error


def random_seed() -> int:
    return int(np.random.default_rng().integers(0, 100_000))


# --------------------------------------------------------------------------------------------
# How a refusal reaches a person
# --------------------------------------------------------------------------------------------

def said(error: demo.RequestError | demo.RequestFailed) -> str:
    """The words for a request that was not answered: a refusal's own (one line in the log,
    no traceback), or the generic message for our bug (whose traceback the demo has logged)."""
    if isinstance(error, demo.RequestError):
        log.info("refused: %s", error)
    return str(error)


def gradio_error(error: demo.RequestError | demo.RequestFailed) -> gr.Error:
    """The error as Gradio shows it (the API's caller, a toast): a refusal without a traceback
    in the log."""
    return gr.Error(said(error), print_exception=isinstance(error, demo.RequestFailed))


def not_predicted(error: demo.RequestError | demo.RequestFailed) -> str:
    """A refusal on the page: said in a warning and in the run-info box (where the person is
    looking); the pictures keep the previous result."""
    message = said(error)
    gr.Warning(message)          # it goes by itself after 10 s (Gradio's default)
    return f"Not predicted: {message}\n(The pictures show the previous result.)"
