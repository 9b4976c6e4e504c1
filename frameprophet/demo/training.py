"""Training from the page ("Train on your clips", `python app.py --allow-training`), without Gradio.

    job = training.start(uploads=["a.mp4", "b.gif", "c.gif"], minutes=5)
    job.status()        # state, progress, the validation curve and a preview, in words and files
    job.stop()          # ends at the next batch; the best weights so far are kept

`start` checks the request before anything runs, with the library's own sentences (`videos.load`
for the clips, `train` for a starting model), then trains in a child process: `python -m
frameprophet.demo.training JOB_DIR` runs `frameprophet.train.train` with `PageReport`, a Keras
callback that writes each epoch's validation numbers, the validation curve and a preview (truth
against prediction on one held-out clip) into JOB_DIR, and ends training when JOB_DIR/stop
appears. A process and not a thread of the server, because `train` sets process-wide state (the
dtype policy; SIGTERM's handler, which only a main thread may set), because the server then keeps
its interpreter lock and (the child is niced) its share of the cores for the predictions it
answers meanwhile, and because a failed run cannot take the page down with it.

The model is written under `runs/page/` (kept after the app ends; its card and sidecar
beside it) and, once finished or stopped, registered in `frameprophet.catalog` under its name,
so the model menus offer it. One job at a time: a second start while one runs is refused.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from frameprophet import catalog, models, render, saving, videos
from frameprophet.demo.request import RequestError, plural, upload_path

MAX_MINUTES = 240.0          # a page's budget: up to four hours
MAX_UPLOADS = 64
STEPS_PER_EPOCH = 20         # short epochs, so the curve and the preview move every minute or so
NONE = "none"                # the starting-model choice for a new model
OUT_ROOT = Path("runs") / "page"
BUSY = ("A training is already running: one at a time on this machine. Press Stop, or wait "
        "for it to finish.")
EVENTS, STOP, JOB = "events.jsonl", "stop", "job.json"
#: `TrainConfig` fields every job from the page uses unless `start` is told otherwise (the
#: browser tests make them tiny); the rest are `train`'s defaults.
PAGE_CONFIG: dict = {"steps_per_epoch": STEPS_PER_EPOCH, "note": "trained on the page"}


@dataclass
class Status:
    """What the page shows of a job."""

    state: str                   # preparing, training, stopping, finished, stopped or failed
    fraction: float              # of the budget spent (1 when done)
    message: str                 # one or two lines for the person
    epochs: list[dict]           # each epoch's record: epoch, val_mse, val_ssim, sequences
    curve: Path | None = None    # the validation curve so far
    preview: Path | None = None  # truth against prediction on one held-out clip, latest epoch
    model: str | None = None     # the model menus' name for it, once it is there

    @property
    def done(self) -> bool:
        return self.state in ("finished", "stopped", "failed")


# --------------------------------------------------------------------------------------------
# Starting a job: every check before anything runs
# --------------------------------------------------------------------------------------------

_LOCK = threading.Lock()
_CURRENT: TrainingJob | None = None


def current() -> TrainingJob | None:
    """The job started last (running or not), or None."""
    return _CURRENT


def start(uploads=None, folder: str | None = None, minutes=5.0, start_from: str | None = None,
          out_root: str | os.PathLike | None = None, **config) -> TrainingJob:
    """Check a request and start training on it: `uploads` (files) or `folder` (a folder or
    glob on this machine), `minutes` of budget, `start_from` a menu model or None/`NONE`; the
    model goes to `out_root` (default OUT_ROOT).
    `config` sets other `TrainConfig` fields (batch, steps_per_epoch, options...; tests make
    them tiny). Raises `RequestError` (one sentence) for a request that cannot train and while
    another job runs."""
    global _CURRENT
    if not _LOCK.acquire(blocking=False):       # another start is checking its clips now
        raise RequestError(BUSY)
    try:
        if _CURRENT is not None and _CURRENT.running():
            raise RequestError(BUSY)
        if _CURRENT is not None:                # its copies of the uploads are no longer read
            shutil.rmtree(_CURRENT.dir / "clips", ignore_errors=True)
        job = _prepare(uploads, folder, minutes, start_from, Path(out_root or OUT_ROOT),
                       {**PAGE_CONFIG, **config})
        job.launch()
        _CURRENT = job
        return job
    finally:
        _LOCK.release()


def check_minutes(minutes) -> float:
    """The budget in minutes: more than 0 and at most MAX_MINUTES."""
    try:
        value = float(minutes)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_MINUTES):
        raise RequestError(f"Budget: give the minutes to train, more than 0 and at most "
                           f"{MAX_MINUTES:g}, got {minutes!r}.")
    return value


def _prepare(uploads, folder, minutes, start_from, out_root: Path, config: dict) -> TrainingJob:
    minutes = check_minutes(minutes)
    init, size = starting_model(start_from)
    size = size or config.pop("frame_size", None) or videos.FRAME_SIZE
    context = config.pop("context", None) or videos.CONTEXT
    horizon = config.pop("horizon", None) or videos.HORIZON
    job_dir = Path(tempfile.mkdtemp(prefix="frameprophet-train-"))
    try:
        spec, shown = _clips(uploads, folder, job_dir)
        skipped: list[str] = []
        try:
            found = videos.load(spec, (size, size), context, horizon, channels=None,
                                say=skipped.append)
        except ValueError as e:
            raise RequestError(_hide(str(e), spec, shown)) from e
        if init is not None:
            _check_channels(start_from, init, found.channels)
        name = _new_name(out_root)
        train_config = _config(spec, name, out_root, minutes, size, context, horizon,
                               init, config)
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    said = "; ".join([found.summary(), *skipped[:-1]])      # the last line is the summary
    return TrainingJob(train_config, job_dir, name, _hide(said, spec, shown))


def starting_model(choice: str | None) -> tuple[str | None, int | None]:
    """(its .keras file, its frame size) for a menu model to continue from; (None, None) for
    a new model. Only a local FrameProphet (prophet) model with square frames can continue."""
    if choice in (None, "", NONE):
        return None, None
    try:
        path = catalog.model_file(choice)
        model = catalog.get(choice).predictor.model if path is not None else None
    except saving.ModelFileError as e:
        raise RequestError(str(e)) from e
    if model is None:
        raise RequestError(f"{choice} has no model file on this machine to continue from; "
                           f"choose {NONE} (a new model) or one of the local models.")
    if not isinstance(model, models.Prophet):
        raise RequestError(f"{choice} is a Keras example recipe, not a FrameProphet model, so "
                           f"training cannot continue from it; choose {NONE} or a FrameProphet "
                           "model.")
    height, width = model.frame_size
    if height != width:
        raise RequestError(f"{choice} predicts {height}x{width} frames and the page trains on "
                           f"square frames; choose {NONE} or a model with square frames.")
    return str(path), height


def _check_channels(choice: str, init: str, channels: int) -> None:
    """`train`'s own check that the starting model's weights fit these clips, said for the page."""
    from frameprophet.lineage import check_init

    model = catalog.get(choice).predictor.model
    try:
        check_init(model, {}, channels)
    except ValueError as e:
        raise RequestError(str(e).replace("--init is a", f"The starting model {choice} is a")
                           .replace("train without --init", f"choose {NONE}")) from e


def _clips(uploads, folder, job_dir: Path) -> tuple[str, str | None]:
    """(what `videos.load` reads, the folder to leave out of sentences): the uploads copied
    into a fresh folder of this job, or the folder (or glob) typed."""
    paths = [p for p in (upload_path(u) for u in (uploads or [])) if p]
    folder = (folder or "").strip()
    if paths and folder:
        raise RequestError("Give either uploaded clips or a folder path, not both: clear one "
                           "of them.")
    if not paths and not folder:
        raise RequestError("No clips: upload a few clips (GIF, MP4, WebM, NPY...) or type the "
                           "path of a folder of clips on this machine.")
    if len(paths) > MAX_UPLOADS:
        raise RequestError(f"{len(paths)} files uploaded; upload at most {MAX_UPLOADS}, or type "
                           "the path of their folder instead.")
    if not paths:
        return str(Path(folder).expanduser()) if "*" not in folder else folder, None
    dest = job_dir / "clips"
    dest.mkdir()
    for i, path in enumerate(paths):             # numbered: two uploads may share a name
        shutil.copyfile(path, dest / f"{i + 1:02d}-{Path(path).name}")
    return str(dest), str(dest)


def _hide(message: str, spec: str, shown: str | None) -> str:
    """A sentence about uploads without the server's temporary folder."""
    if shown is None:
        return message
    return message.replace(shown + os.sep, "").replace(shown, "the uploaded clips")


def _new_name(out_root: Path) -> str:
    stem = time.strftime("trained-%Y%m%d-%H%M")
    name, n = stem, 1
    while (out_root / f"{name}.keras").exists() or name in catalog.offered():
        n += 1
        name = f"{stem}-{n}"
    return name


def _config(spec, name, out_root, minutes, size, context, horizon, init, config):
    from frameprophet.train import TrainConfig

    return TrainConfig(data=spec, out=str(out_root / f"{name}.keras"),
                       run_dir=str(out_root / name), minutes=minutes, frame_size=size,
                       context=context, horizon=horizon, init=init, **config)


# --------------------------------------------------------------------------------------------
# A running job, seen from the server
# --------------------------------------------------------------------------------------------

class TrainingJob:
    """One training run in a child process; `status()` reads what it has written so far."""

    def __init__(self, config, folder: Path, name: str, summary: str):
        self.config, self.dir, self.name, self.summary = config, folder, name, summary
        self.process: subprocess.Popen | None = None
        self.registered = False

    def launch(self) -> None:
        (self.dir / JOB).write_text(json.dumps(dataclasses.asdict(self.config)))
        # The child imports this very copy of the package, wherever the server was started.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path,
               "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        with open(self.dir / "log.txt", "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "frameprophet.demo.training", str(self.dir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Ask the run to end after its current batch; its best weights are kept."""
        (self.dir / STOP).touch()

    def wait(self, timeout: float | None = None) -> Status:
        if self.process is not None:
            self.process.wait(timeout)
        return self.status()

    def events(self) -> list[dict]:
        path = self.dir / EVENTS
        if not path.exists():
            return []
        lines = path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]   # whole lines only

    def status(self) -> Status:
        events = self.events()
        epochs = [e for e in events if e["event"] == "epoch"]
        begun = next((e["time"] for e in events if e["event"] == "begin"), None)
        end = next((e for e in events if e["event"] in ("done", "failed")), None)
        if end is None and not self.running():
            end = {"event": "failed", "message": "The training stopped without a result; the "
                   f"server's log is in {self.dir / 'log.txt'}."}
        last = epochs[-1] if epochs else {}
        files = dict(curve=self._file(last.get("curve")), preview=self._file(last.get("preview")))
        budget = self.config.minutes * 60
        if end is not None:
            return self._ended(end, epochs, files)
        if begun is None:
            return Status("preparing", 0.0, f"Starting: {self.summary}", epochs, **files)
        fraction = min(0.99, (time.time() - begun) / budget)
        if (self.dir / STOP).exists():
            return Status("stopping", fraction, "Stopping after this batch and its "
                          "validation; the best weights so far are kept.", epochs, **files)
        left = max(0.0, budget - (time.time() - begun)) / 60
        if left == 0:
            return Status("training", fraction, "The budget is spent: scoring the best epoch on "
                          "the held-out clips and saving it.", epochs, **files)
        said = (f"epoch {last['epoch']}: validation MSE {last['val_mse']:.4g}, SSIM "
                f"{last['val_ssim']:.3f} (closed loop, held-out clips)" if last
                else "first epoch under way")
        return Status("training", fraction, f"Training {self.name}: {said}; {left:.1f} of "
                      f"{self.config.minutes:g} min left.", epochs, **files)

    def _ended(self, end: dict, epochs: list[dict], files: dict) -> Status:
        if end["event"] == "failed":
            return Status("failed", 1.0, f"Training failed: {end['message']}", epochs, **files)
        if not self.registered:
            catalog.register(self.name, end["out"])
            self.registered = True
        state = "stopped" if (self.dir / STOP).exists() else "finished"
        score = end.get("metrics") or {}
        mse, copy = ((score.get(who) or {}).get("mse", {}).get("mean")
                     for who in ("model", "copy_last"))
        scored = (f" Held-out clips, closed loop: MSE {mse:.4g} (copying the last frame: "
                  f"{copy:.4g})." if mse is not None and copy is not None else "")
        how = "Stopped: the best epoch was kept." if state == "stopped" else "Finished."
        return Status(state, 1.0, f"{how} The model is in the model menus as {self.name} "
                      f"(saved as {end['out']}, its card beside it; "
                      f"{plural(len(epochs), 'epoch')}).{scored}", epochs, model=self.name,
                      **files)

    def _file(self, name: str | None) -> Path | None:
        return self.dir / name if name else None


# --------------------------------------------------------------------------------------------
# The child process: train, reporting each epoch into the job folder
# --------------------------------------------------------------------------------------------

def _append(folder: Path, record: dict) -> None:
    with open(folder / EVENTS, "a") as f:
        f.write(json.dumps(record) + "\n")


class PageReport(keras.callbacks.Callback):
    """Each epoch: its validation numbers, the curve so far and a preview (truth against the
    closed-loop prediction on one held-out clip) into `folder`; ends training at the next batch
    once `folder/stop` exists (`fit` then validates that epoch, and `train` keeps the best)."""

    def __init__(self, folder: Path, context: np.ndarray, truth: np.ndarray):
        super().__init__()
        self.folder, self.context, self.truth = folder, context, truth
        self.curve: list[list[float]] = []       # [val_mse, val_ssim] of each epoch
        self.predictor = None

    def _check_stop(self) -> None:
        if (self.folder / STOP).exists():
            self.model.stop_training = True

    def on_train_begin(self, logs=None):
        _append(self.folder, {"event": "begin", "time": time.time()})
        self._check_stop()

    def on_train_batch_end(self, batch, logs=None):
        self._check_stop()

    def on_epoch_end(self, epoch, logs=None):
        from frameprophet.predict import Predictor

        logs = logs or {}
        self.curve.append([float(logs["val_mse"]), float(logs.get("val_ssim", math.nan))])
        curve = curve_picture(self.curve, self.folder / f"curve-{epoch + 1}.png")
        if self.predictor is None:
            self.predictor = Predictor(self.model)
        prediction = self.predictor.rollout(self.context, len(self.truth))
        preview = render.write_png(render.frame_strip(self.context, self.truth, prediction),
                                   self.folder / f"preview-{epoch + 1}.png")
        _append(self.folder, {"event": "epoch", "epoch": epoch + 1,
                              "val_mse": float(logs["val_mse"]),
                              "val_ssim": float(logs.get("val_ssim", math.nan)),
                              "sequences": int(logs.get("sequences", 0)),
                              "curve": curve.name, "preview": preview.name})


def curve_picture(curve: list[list[float]], path: Path) -> Path:
    """Validation MSE and SSIM (closed loop, held-out clips) against the epoch, a dot each. Not
    `card.plot_curve`: that draws a model's lineage of runs against sequences seen, and a line
    without dots, which shows nothing after the first epoch."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3), dpi=100)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.17, top=0.88, wspace=0.25)
    epochs = np.arange(1, len(curve) + 1)
    for ax, values, title in zip(fig.subplots(1, 2), np.asarray(curve).T,
                                 ("validation MSE (lower is better)",
                                  "validation SSIM (higher is better)"), strict=True):
        ax.plot(epochs, values, "o-", markersize=4,
                color=render.hex_colour(render.PREDICTED_COLOUR))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.set_xlim(0.5, len(curve) + 0.5)
        ax.set_xticks(epochs[::-(-len(curve) // 10)])
    fig.savefig(path, format="png")
    return path


def run_job(folder: Path) -> int:
    """The child's work: train the job in `folder`, writing its events; 0 when a model was
    written, 1 when the run failed (the reason is the last event)."""
    from frameprophet.train import TrainConfig, train

    config = TrainConfig(**json.loads((folder / JOB).read_text()))
    try:
        found = videos.load(config.data, (config.frame_size, config.frame_size), config.context,
                            config.horizon, say=None)
        context, truth = found.held_out(1)
        report = PageReport(folder, context[0], truth[0])
        meta = train(config, verbose=0, extra_callbacks=[report])
    except ValueError as e:                        # the library's sentence for the person
        _append(folder, {"event": "failed", "message": str(e)})
        return 1
    except Exception as e:
        import traceback

        traceback.print_exc()
        _append(folder, {"event": "failed", "message": f"{type(e).__name__}: {e}"})
        return 1
    _append(folder, {"event": "done", "out": config.out, "metrics": meta.get("metrics")})
    return 0


if __name__ == "__main__":
    if hasattr(os, "nice"):
        os.nice(10)            # the server answering predictions comes first
    sys.exit(run_job(Path(sys.argv[1])))
