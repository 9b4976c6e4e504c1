"""The page's "Train on your clips" tab (`python app.py --allow-training`): widgets and wiring.

`frameprophet.jobs.training` (Gradio-free) checks a request, trains in a child process and says
how it goes; this module maps the tab's widgets to `training.start` and polls `status()` every
POLL_SECONDS with a `gr.Timer`, so no handler waits on the training and the rest of the page keeps
answering. When a model is done it is added to the model menus of this page (the clip and scene
tabs' menu and the Compare tab's); a page opened later lists it from the start.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import gradio as gr

from frameprophet import catalog, demo, videos
from frameprophet.jobs import training
from frameprophet.ui.handlers import gradio_error
from frameprophet.ui.layout import TABS, Page, caption, compare_choices, picture
from frameprophet.ui.wiring import PRIVATE

POLL_SECONDS = 2.0
DEFAULT_MINUTES = 10


@dataclass
class TrainingResults:
    """The tab's results (in the results column) and what each page remembers of the job."""

    column: gr.Column
    info: gr.Textbox
    progress: gr.HTML
    curve: gr.Image
    preview: gr.Image
    timer: gr.Timer
    seen: gr.State                  # epochs shown on this page
    token: gr.State                 # the job this page started: only it may stop it
    listed: gr.State                # the last trained model added to its menus
    said: gr.State                  # the job's last message shown on this page


@dataclass
class TrainingTab:
    tab: gr.Tab
    uploads: gr.File
    folder: gr.Textbox
    minutes: gr.Number
    start_from: gr.Dropdown
    start: gr.Button
    stop: gr.Button
    results: TrainingResults


def lay_out(page: Page) -> TrainingTab:
    """The tab, after the page's others, and its results below theirs."""
    with page.tabs, gr.Tab("Train on your clips", id="train", elem_id="fp-train-tab") as tab:
        inputs = _inputs()
    with page.results_column:
        results = _results()
    return TrainingTab(tab, *inputs, results)


def _inputs() -> tuple:
    """The tab's inputs: clips (uploads or a folder), the budget, a starting model, Start/Stop."""
    gr.Markdown("Train a model on your own clips, on this machine. Each clip needs at least "
                f"{videos.CONTEXT + videos.HORIZON} frames (the model reads "
                f"{videos.CONTEXT} and predicts {videos.HORIZON}); a fifth of "
                "the files are held out to validate it. Stop keeps the best weights so far; the "
                "new model then appears in the model menus.")
    uploads = gr.File(label="Your clips (GIF, MP4, WebM, NPY...; colour is kept)",
                      file_count="multiple", file_types=demo.upload_types(), type="filepath",
                      elem_id="fp-train-uploads")
    # Folders only inside the root the owner named (`app.py --training-root DIR`).
    folder = gr.Textbox(label="... or a folder of clips inside the training folder (searched "
                        "recursively; relative to it, or a full path)",
                        placeholder="holiday/clips", elem_id="fp-train-folder",
                        visible=training.FOLDER_ROOT is not None)
    with gr.Row():
        minutes = gr.Number(DEFAULT_MINUTES, label=f"Budget (minutes, up to "
                            f"{training.MAX_MINUTES:g})", elem_id="fp-train-minutes")
        start_from = gr.Dropdown(_starting_choices(), value=training.NONE,
                                 label="Start from (none: a new model)")
    with gr.Row():
        start = gr.Button("Start training", variant="primary", elem_id="fp-train-start")
        stop = gr.Button("Stop (keeps the best weights)", variant="stop",
                         elem_id="fp-train-stop")
    return uploads, folder, minutes, start_from, start, stop


def _results() -> TrainingResults:
    """The tab's results: progress, the curve and the preview."""
    # Outside the hidden column, so the poll runs on every tab: a model finished while the
    # person predicts elsewhere still reaches their menus.
    states = [gr.State(-1), gr.State(""), gr.State(""), gr.State("")]
    timer = gr.Timer(POLL_SECONDS)
    with gr.Column(visible=False, elem_id="fp-train-results") as column:
        info = gr.Textbox("No training yet: give clips and press Start training.",
                          label="Training", lines=3, interactive=False, elem_id="fp-train-info")
        progress = gr.HTML(progress_html(0.0), elem_id="fp-train-progress")
        caption("**Validation curve** — closed-loop MSE on the held-out clips after each epoch")
        curve = picture("Validation curve", "fp-train-curve", wide=True)
        caption("**Preview** — one held-out clip after the latest epoch: prediction (top row) "
                "above the truth (bottom row)")
        preview = picture("Preview", "fp-train-preview", wide=True)
    return TrainingResults(column, info, progress, curve, preview, timer, *states)


def progress_html(fraction: float, state: str = "") -> str:
    percent = round(100 * max(0.0, min(1.0, fraction)))
    return (f'<div><progress max="100" value="{percent}" style="width:100%"></progress> '
            f"{percent}% of the budget{html.escape(' · ' + state if state else '')}</div>")


def _starting_choices() -> list[str]:
    return [training.NONE, *catalog.offered()]


def start(uploads, folder, minutes, start_from):
    """Start: a job for this page (`training.start` checks the request)."""
    try:
        job = training.start(uploads, folder, minutes, start_from)
    except (demo.RequestError, demo.RequestFailed) as error:
        raise gradio_error(error) from error
    status = job.status()
    return status.message, progress_html(status.fraction, status.state), -1, job.token


def poll(seen: int, listed: str, said: str, token: str, models: list[str] | None):
    """The job's progress, as (message, said, progress, curve, preview, seen, listed, model
    menu, Compare's boxes, start-from menu): a running job on every page (one runs per
    machine), an ended one only on the page that started it; its message only when new (so
    Stop's answer stays), pictures only when an epoch is new, menus (on every page) only when
    a model is."""
    job = training.current()
    if job is None:
        return (gr.skip(),) * 10
    status = job.status()
    menus = (gr.skip(),) * 3
    if status.model and status.model != listed:
        shipped = catalog.offered()
        menus = (gr.update(choices=demo.model_choices(shipped)),
                 gr.update(choices=compare_choices(shipped), value=models),
                 gr.update(choices=_starting_choices()))
    if status.done and token != job.token:          # another page's run, over: not ours to show
        return (*(gr.skip(),) * 6, status.model or listed, *menus)
    fresh = len(status.epochs) != seen
    pictures = ((str(status.curve) if status.curve else None,
                 str(status.preview) if status.preview else None) if fresh
                else (gr.skip(), gr.skip()))
    new = status.message != said
    return (status.message if new else gr.skip(), status.message,
            progress_html(status.fraction, status.state), *pictures, len(status.epochs),
            status.model or listed, *menus)


def wire(page: Page, tab: TrainingTab) -> None:
    """Start, Stop, the poll, and which widgets each tab shows: this tab hides the prediction
    settings, examples and results and shows its own; the other tabs undo it
    (`frameprophet.ui.controls.show_tab` shows the model menu and results that serve them)."""
    results, settings = tab.results, page.settings
    tab.start.click(start, [tab.uploads, tab.folder, tab.minutes, tab.start_from],
                    [results.info, results.progress, results.seen, results.token],
                    concurrency_id="train-start", **PRIVATE)
    tab.stop.click(training.stop, [results.token], [results.info], queue=False, **PRIVATE)
    results.timer.tick(
        poll, [results.seen, results.listed, results.said, results.token, page.compare.models],
        [results.info, results.said, results.progress, results.curve, results.preview,
         results.seen, results.listed, settings.model, page.compare.models, tab.start_from],
        queue=False, show_progress="hidden", **PRIVATE)
    prediction = [settings.column, page.clip.examples_box,
                  *(page.tab(name).results.column for name in TABS)]
    tab.tab.select(lambda: [gr.update(visible=False)] * len(prediction)
                   + [gr.update(visible=True)], None, [*prediction, results.column],
                   queue=False, **PRIVATE)
    for name in TABS:
        page.tab(name).tab.select(lambda: (gr.update(visible=True), gr.update(visible=False)),
                                  None, [settings.column, results.column], queue=False,
                                  **PRIVATE)
