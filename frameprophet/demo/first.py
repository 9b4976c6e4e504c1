"""The first result a visitor sees, shipped as files, and the server's warm-up.

The first example (`FIRST_EXAMPLE`: a fixed clip, seed and model) gives the same result every
time for the same weights, so `make ship` (or `make first-result`) draws it into
`weights/first_result/` with the sha256 of the weights file that made it. `python app.py` shows
those files from its first second, and the page uses them as its first result, while they are
current (`current`: the same example and the sha256 of the weights shipped now). Without them
the server draws the first result when it is first asked for.

    python -m bench.release.ship --first-result  # redraws it when stale (`make first-result`)
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import uuid
from pathlib import Path

from frameprophet import catalog, saving
from frameprophet.demo import backend
from frameprophet.demo.request import RESULTS_ROOT, result_dir, run_prediction
from frameprophet.demo.settings import (
    DEFAULT_CONTEXT,
    DEFAULT_HORIZON,
    DEFAULT_MODEL,
    DEFAULT_SEED,
    SOURCE_MNIST,
    PredictRequest,
)

log = logging.getLogger(__name__)

FIRST_EXAMPLE = (SOURCE_MNIST, DEFAULT_SEED, None, DEFAULT_CONTEXT, DEFAULT_HORIZON,
                 "closed_loop", DEFAULT_MODEL[SOURCE_MNIST])
FILES = ("rollout.gif", "strip.png", "quality.png", "info.txt")
RECORD = "first_result.json"        # the example and the sha256 of the weights that made it


# --------------------------------------------------------------------------------------------
# Shipped with the weights
# --------------------------------------------------------------------------------------------

def folder() -> Path:
    """Where the shipped first result lives: weights/first_result/."""
    return saving.WEIGHTS_DIR / "first_result"


def _record(example) -> dict | None:
    """What a current first result of `example` records; None without the weights file."""
    weights = catalog.model_file(example[-1])
    if weights is None:
        return None
    return {"example": list(example), "weights": weights.name, "sha256": saving.sha256(weights)}


def current(example=FIRST_EXAMPLE, where: Path | None = None) -> Path | None:
    """The folder of `example`'s first result when the weights shipped now made it, else None
    (none shipped, another example, or weights retrained since)."""
    where = where or folder()
    try:
        recorded = json.loads((where / RECORD).read_text())
    except (OSError, ValueError):
        return None
    whole = all((where / name).is_file() for name in FILES)
    return where if whole and recorded == _record(example) else None


def write(example=FIRST_EXAMPLE, where: Path | None = None) -> Path:
    """Draw `example`'s result with the shipped weights into `where` (default `folder()`) and
    record their sha256. Its words say when it was made instead of the prediction's timing,
    which would be this machine's, not the server's. An earlier first result is replaced once
    the new one is whole."""
    where = where or folder()
    record = _record(example)
    if record is None:
        raise saving.ModelFileError(f"no weights file for {example[-1]!r} to draw the first "
                                    "result with")
    draft = where.with_name(f"{where.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        *_, info = run_prediction(PredictRequest.of(*example), out_dir=draft)
        lines = [" · ".join("made when the model was shipped" if part.startswith("prediction ")
                            else part for part in line.split(" · "))
                 for line in info.split("\n")]
        (draft / "info.txt").write_text("\n".join(lines))
        (draft / RECORD).write_text(json.dumps(record, indent=1) + "\n")
        if where.exists():
            shutil.rmtree(where)
        draft.rename(where)
    finally:
        shutil.rmtree(draft, ignore_errors=True)
    return where


# --------------------------------------------------------------------------------------------
# In the server
# --------------------------------------------------------------------------------------------

_FIRST: dict[str, tuple] = {}
_FIRST_LOCK = threading.Lock()


def first_result():
    """The result of FIRST_EXAMPLE, `(gif, strip, plot, info)`: the shipped files when they are
    current, else drawn on the first call; reused afterwards."""
    with _FIRST_LOCK:
        key = catalog.key(FIRST_EXAMPLE[-1])
        if key not in _FIRST:
            where = current()
            if where is not None:
                made = (*(str(where / name) for name in FILES[:3]),
                        (where / "info.txt").read_text())
            else:
                for stale in RESULTS_ROOT.glob("first-*"):      # from an older weights file
                    shutil.rmtree(stale, ignore_errors=True)
                made = run_prediction(PredictRequest.of(*FIRST_EXAMPLE),
                                      out_dir=RESULTS_ROOT / f"first-{uuid.uuid4().hex[:8]}")
                made = (*made[:3], _made_at_start(made[3]))
            _FIRST.clear()
            _FIRST[key] = made
        return _FIRST[key]


def _made_at_start(info: str) -> str:
    """The first result's info as every visitor reads it: its total time was spent once, when
    the server started, not on their page load."""
    return re.sub(r"total \d+ ms", "made when the server started", info)


def warm_up(announce=None, until=None) -> threading.Thread:
    """Make the first result and this process's model ready in a background thread: the first
    result (`first_result`), then Keras imported (`backend.ensure_backend`; requests arriving
    meanwhile wait for it, or use the model's ONNX twin, see `backend.model`) and the model
    loaded and traced by one prediction. `announce(line)` is told when the first result is
    ready and when the model is; `until()`, if given, returns when the import may start
    (`app.py`: once the start-up's requests are answered). A failure is logged (unless the
    server is stopping), never raised: the page load retries and reports it."""
    def work():
        try:
            first_result()
            if announce:
                announce("The first result is ready.")
            if until:
                until()
            backend.ensure_backend()
            run_prediction(PredictRequest.of(*FIRST_EXAMPLE), out_dir=result_dir())
            if announce:
                announce("Warm-up finished: the model is loaded and traced.")
        except Exception:
            if threading.main_thread().is_alive():      # else the server stopped meanwhile
                log.warning("warm-up failed", exc_info=True)

    thread = threading.Thread(target=work, name="frameprophet-warm-up", daemon=True)
    thread.start()
    return thread
