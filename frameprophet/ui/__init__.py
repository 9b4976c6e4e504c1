"""The Gradio page and its API, read in this order: `layout` (what is on the page: each tab's
widgets and results as small dataclasses), `handlers` (each tab's Predict: a typed request from
`frameprophet.demo`, run, into that tab's results), `controls` (how the controls answer each
other), `wiring` (which event runs which), `api` (the endpoints `/predict`, `/scene`,
`/compare`, `/memory`), `training` (the "Train on your clips" tab).

    page = build_demo()
    page.launch(theme=THEME, css=CSS)
"""

from __future__ import annotations

import gradio as gr

from frameprophet import catalog
from frameprophet.ui import api, handlers, wiring
from frameprophet.ui.layout import CSS, THEME, lay_out

# One prediction at a time (two cores); a queue long enough that nobody is turned away below 64
# people waiting, short enough to bound memory.
QUEUE_SETTINGS = {"default_concurrency_limit": 1, "max_size": 64}

__all__ = ["CSS", "QUEUE_SETTINGS", "THEME", "build_demo"]


def build_demo(allow_training: bool = False) -> gr.Blocks:
    """The FrameProphet page. Launch with `demo.launch(theme=THEME, css=CSS)`. With
    `allow_training` (`app.py --allow-training`, never on a public Space) it has the "Train on
    your clips" tab."""
    shipped = catalog.offered()         # weights/ read once per page, then `app.py --model`s
    with gr.Blocks(title="FrameProphet", delete_cache=(3600, 3600),
                   analytics_enabled=False) as blocks:
        page = lay_out(shipped)
        wiring.wire(page)
        if allow_training:
            from frameprophet.ui import training  # Keras: only when training

            training.wire(page, training.lay_out(page))
        api.add_api(blocks)
        first = page.clip.results
        blocks.load(handlers.first_result, None,
                    [first.animation, first.strip, first.plot, first.info], **wiring.PRIVATE,
                    **wiring.ONE_AT_A_TIME)
    blocks.queue(**QUEUE_SETTINGS)
    return blocks
