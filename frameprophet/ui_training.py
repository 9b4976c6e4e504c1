"""The page's "Train on your clips" tab (`python app.py --allow-training`): widgets and wiring.

`frameprophet.demo.training` (Gradio-free) checks a request, trains in a child process and says
how it goes; this module maps the tab's widgets to `training.start` and polls `status()` every
POLL_SECONDS with a `gr.Timer`, so no handler waits on the training and the rest of the page keeps
answering. When a model is done it is added to the model menus of this page (the clip and scene
tabs' menu and the Compare tab's); a page opened later lists it from the start.
"""

from __future__ import annotations

import html

import gradio as gr

from frameprophet import catalog, demo, videos
from frameprophet.demo import training
from frameprophet.ui_api import PRIVATE, gradio_errors
from frameprophet.ui_controls import compare_choices

POLL_SECONDS = 2.0
DEFAULT_MINUTES = 10
#: What every other tab shows and this one hides: the prediction settings, Predict, its examples.
SETTINGS = ("context", "horizon", "mode_choice", "buttons")
#: What some other tabs show (`frameprophet.ui_controls.show_tab` decides which) and this one
#: hides.
SHOWN_BY_TAB = ("model_choice", "hub_repo", "clip_results", "scene_results", "compare_results")


def training_tab(w: dict) -> None:
    """The tab's inputs: clips (uploads or a folder), the budget, a starting model, Start/Stop."""
    gr.Markdown("Train a model on your own clips, on this machine. Each clip needs at least "
                f"{videos.CONTEXT + videos.HORIZON} frames (the model reads "
                f"{videos.CONTEXT} and predicts {videos.HORIZON}); a fifth of "
                "the files are held out to validate it. Stop keeps the best weights so far; the "
                "new model then appears in the model menus.")
    w["train_uploads"] = gr.File(label="Your clips (GIF, MP4, WebM, NPY...; colour is kept)",
                                 file_count="multiple", file_types=demo.upload_types(),
                                 type="filepath", elem_id="fp-train-uploads")
    # Folders only inside the root the owner named (`app.py --training-root DIR`).
    w["train_folder"] = gr.Textbox(label="... or a folder of clips inside the training folder "
                                   "(searched recursively; relative to it, or a full path)",
                                   placeholder="holiday/clips", elem_id="fp-train-folder",
                                   visible=training.FOLDER_ROOT is not None)
    with gr.Row():
        w["train_minutes"] = gr.Number(DEFAULT_MINUTES, label=f"Budget (minutes, up to "
                                       f"{training.MAX_MINUTES:g})", elem_id="fp-train-minutes")
        w["train_from"] = gr.Dropdown(_starting_choices(), value=training.NONE,
                                      label="Start from (none: a new model)")
    with gr.Row():
        w["train_start"] = gr.Button("Start training", variant="primary", elem_id="fp-train-start")
        w["train_stop"] = gr.Button("Stop (keeps the best weights)", variant="stop",
                                    elem_id="fp-train-stop")


def training_results(w: dict, picture, caption) -> None:
    """The tab's results (in the results column): progress, the curve and the preview.
    `picture` and `caption` are the page's own result picture and caption builders."""
    # Outside the hidden column, so the poll runs on every tab: a model finished while the
    # person predicts elsewhere still reaches their menus.
    w["train_seen"] = gr.State(-1)             # epochs shown on this page
    w["train_token"] = gr.State("")            # the job this page started: only it may stop it
    w["train_listed"] = gr.State("")           # the last trained model added to its menus
    w["train_said"] = gr.State("")             # the job's last message shown on this page
    w["train_timer"] = gr.Timer(POLL_SECONDS)
    with gr.Column(visible=False, elem_id="fp-train-results") as w["train_results"]:
        w["train_info"] = gr.Textbox("No training yet: give clips and press Start training.",
                                     label="Training", lines=3, interactive=False,
                                     elem_id="fp-train-info")
        w["train_progress"] = gr.HTML(progress_html(0.0), elem_id="fp-train-progress")
        caption("**Validation curve** — closed-loop MSE on the held-out clips after each epoch")
        w["train_curve"] = picture("Validation curve", "fp-train-curve", wide=True)
        caption("**Preview** — one held-out clip after the latest epoch: prediction (top row) "
                "above the truth (bottom row)")
        w["train_preview"] = picture("Preview", "fp-train-preview", wide=True)


def progress_html(fraction: float, state: str = "") -> str:
    percent = round(100 * max(0.0, min(1.0, fraction)))
    return (f'<div><progress max="100" value="{percent}" style="width:100%"></progress> '
            f"{percent}% of the budget{html.escape(' · ' + state if state else '')}</div>")


def _starting_choices() -> list[str]:
    return [training.NONE, *catalog.offered()]


def _start(uploads, folder, minutes, start_from):
    job = gradio_errors(training.start, uploads, folder, minutes, start_from)
    status = job.status()
    return status.message, progress_html(status.fraction, status.state), -1, job.token


def _poll(seen: int, listed: str, said: str, token: str, models: list[str] | None):
    """The job's progress: a running job on every page (one runs per machine), an ended one
    only on the page that started it; its message only when new (so Stop's answer stays),
    pictures only when an epoch is new, menus (on every page) only when a model is."""
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


def _settings(w: dict) -> list:
    return [*(w[k] for k in SETTINGS), w["examples"].dataset]


def wire_training(w: dict) -> None:
    """Start, Stop, the poll, and which widgets each tab shows: this tab hides the prediction
    settings and results and shows its own; the others undo it (their own handlers in
    `frameprophet.ui` show the model menu and the results that serve them)."""
    w["train_start"].click(_start, [w["train_uploads"], w["train_folder"], w["train_minutes"],
                                    w["train_from"]],
                           [w["train_info"], w["train_progress"], w["train_seen"],
                            w["train_token"]], concurrency_id="train-start", **PRIVATE)
    w["train_stop"].click(training.stop, [w["train_token"]], [w["train_info"]], queue=False,
                          **PRIVATE)
    w["train_timer"].tick(
        _poll, [w["train_seen"], w["train_listed"], w["train_said"], w["train_token"],
                w["compare_models"]],
        [w["train_info"], w["train_said"], w["train_progress"], w["train_curve"],
         w["train_preview"], w["train_seen"], w["train_listed"], w["model_choice"],
         w["compare_models"], w["train_from"]], queue=False, show_progress="hidden", **PRIVATE)
    hide = [*_settings(w), *(w[k] for k in SHOWN_BY_TAB)]
    w["train_tab"].select(lambda: [gr.update(visible=False)] * len(hide)
                          + [gr.update(visible=True)], None, [*hide, w["train_results"]],
                          queue=False, **PRIVATE)
    for tab in ("clip", "scene", "compare"):
        w[f"{tab}_tab"].select(lambda: [gr.update(visible=True)] * len(_settings(w))
                               + [gr.update(visible=False)], None,
                               [*_settings(w), w["train_results"]], queue=False, **PRIVATE)
