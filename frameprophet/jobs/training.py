"""Training from the page ("Train on your clips", `python app.py --allow-training`), without Gradio.

    job = training.start(uploads=["a.mp4", "b.gif", "c.gif"], minutes=5)
    job.status()        # state, progress, the validation curve and a preview, in words and files
    training.stop(job.token)    # ends at the next batch; the best weights so far are kept

`start` checks the request before anything runs, with the library's own sentences (`videos.load`
for the clips, `train` for a starting model), then trains in a child process
(`frameprophet.jobs.child`), which writes each epoch's numbers, curve and preview into
the job's folder. A process and not a thread of the server, because `train` sets process-wide
state (the dtype policy; SIGTERM's handler, which only a main thread may set), because the server
then keeps its interpreter lock and (the child is niced) its share of the cores for the
predictions it answers meanwhile, and because a failed run cannot take the page down with it.

Safe on one's own machine: a typed folder is read only inside FOLDER_ROOT (`app.py
--training-root DIR`; without it, uploads only); one job runs per machine (a file lock, LOCK_FILE,
that the child holds until it ends, so it outlives a killed server and a restarted one sees it);
the child ends with its server; only the page that started a job can stop it (its `token`); and
once a job has ended its folder and any half-written model are removed (its last curve and
preview are kept in the server's results folder for the page).

The model is written under `runs/page/` (kept after the app ends; its card and sidecar
beside it) and, once finished or stopped, registered in `frameprophet.catalog` under its name,
so the model menus offer it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from frameprophet import catalog, models, saving, videos
from frameprophet.demo import cleanup
from frameprophet.demo.request import RESULTS_ROOT, RequestError, plural
from frameprophet.jobs import clips
from frameprophet.jobs.child import EVENTS, JOB, STOP

try:
    import fcntl
except ImportError:          # Windows: no advisory locks; one job per server only
    fcntl = None

log = logging.getLogger(__name__)

MAX_MINUTES = 240.0          # a page's budget: up to four hours
STEPS_PER_EPOCH = 20         # short epochs, so the curve and the preview move every minute or so
STEPS_PER_MINUTE = 4         # shorter still in a short budget: a minute has several epochs
NONE = "none"                # the starting-model choice for a new model
OUT_ROOT = Path("runs") / "page"
#: The folder (and its sub-folders) whose clips a typed folder may name; None: uploads only.
FOLDER_ROOT: Path | None = None
#: One job per machine: the running child holds an `fcntl.flock` on this file.
LOCK_FILE = Path(tempfile.gettempdir()) / "frameprophet-training.lock"
#: Where an ended job's last curve and preview are kept for the page (its folder is removed).
FINAL_PICTURES = RESULTS_ROOT / "training"
BUSY = ("A training is already running: one at a time on this machine. Press Stop on the page "
        "that started it, or wait for it to finish.")
NOTHING_RUNNING = "No training is running on this server, so there is nothing to stop."
NOT_YOURS = ("This page did not start the training that is running, so it cannot stop it: only "
             "the page that pressed Start can, or wait for its budget to end.")
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
    glob inside FOLDER_ROOT), `minutes` of budget, `start_from` a menu model or None/`NONE`; the
    model goes to `out_root` (default OUT_ROOT).
    `config` sets other `TrainConfig` fields (batch, steps_per_epoch, options...; tests make
    them tiny). Raises `RequestError` (one sentence) for a request that cannot train and while
    another job runs on this machine."""
    global _CURRENT
    if not _LOCK.acquire(blocking=False):       # another start is checking its clips now
        raise RequestError(BUSY)
    try:
        if _CURRENT is not None and _CURRENT.running():
            raise RequestError(BUSY)
        machine = _machine_lock()
        try:
            if _CURRENT is not None:
                _CURRENT.clean_up()
            out_root = Path(out_root or OUT_ROOT)
            for half in out_root.glob("*.tmp.keras"):   # no job runs: a killed one's save
                half.unlink(missing_ok=True)
            job = _prepare(uploads, folder, minutes, start_from, out_root,
                           {**PAGE_CONFIG, **config})
            try:
                job.launch(machine)
            except BaseException:
                job.clean_up()
                raise
        finally:
            if machine is not None:
                os.close(machine)               # the child holds the lock now, or nobody does
        _CURRENT = job
        return job
    finally:
        _LOCK.release()


def stop(token: str | None) -> str:
    """Stop the running job if `token` is the one its `start` gave (the page that started it);
    returns what to say on the page."""
    job = _CURRENT
    if job is None or not job.running():
        return NOTHING_RUNNING
    if not (isinstance(token, str) and secrets.compare_digest(token, job.token)):
        return NOT_YOURS
    job.stop()
    return job.status().message


def _machine_lock() -> int | None:
    """The machine's one-job lock, taken: an open descriptor of LOCK_FILE for the child to
    inherit (None without `fcntl`). Raises BUSY while a job runs anywhere on this machine."""
    if fcntl is None:
        return None
    fd = os.open(LOCK_FILE, os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RequestError(BUSY) from None
    return fd


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
    # epochs that end within a short budget, so its curve and preview show while it trains
    config["steps_per_epoch"] = min(config["steps_per_epoch"],
                                    max(2, round(STEPS_PER_MINUTE * minutes)))
    init, size = starting_model(start_from)
    size = size or config.pop("frame_size", None) or videos.FRAME_SIZE
    context = config.pop("context", None) or videos.CONTEXT
    horizon = config.pop("horizon", None) or videos.HORIZON
    job_dir = Path(tempfile.mkdtemp(prefix="frameprophet-train-"))
    cleanup.hold(job_dir)
    name = None
    try:
        spec, hidden = _clips(uploads, folder, job_dir)
        skipped: list[str] = []
        try:
            found = videos.load(spec, (size, size), context, horizon, channels=None,
                                say=skipped.append)
        except ValueError as e:
            raise RequestError(clips.hide(str(e), hidden)) from e
        if init is not None:
            _check_channels(start_from, init, found.channels)
        name = _new_name(out_root)
        train_config = _config(spec, name, out_root, minutes, size, context, horizon,
                               init, config)
    except BaseException:
        cleanup.release(job_dir)
        shutil.rmtree(job_dir, ignore_errors=True)
        if name is not None:
            (out_root / name).rmdir()
        raise
    said = "; ".join([found.summary(), *skipped[:-1]])      # the last line is the summary
    return TrainingJob(train_config, job_dir, name, clips.hide(said, hidden))


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


def _clips(uploads, folder, job_dir: Path) -> tuple[str, tuple[str, str]]:
    """`clips.gather` with this server's FOLDER_ROOT."""
    return clips.gather(uploads, folder, job_dir, FOLDER_ROOT)


def _new_name(out_root: Path) -> str:
    """A model name no model, run or other start has: the time to the second, numbered when
    taken. Its run folder is made here, so a second start in the same second takes the next."""
    out_root.mkdir(parents=True, exist_ok=True)
    stem, offered = time.strftime("trained-%Y%m%d-%H%M%S"), set(catalog.offered())
    for n in itertools.count(1):
        name = stem if n == 1 else f"{stem}-{n}"
        if name not in offered and not (out_root / f"{name}.keras").exists():
            try:
                (out_root / name).mkdir()
                return name
            except FileExistsError:
                pass
    return ""              # never reached: the count has no end


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
        self.token = secrets.token_urlsafe(16)      # what lets its own page stop it
        self._final: Status | None = None           # once it has ended and been cleaned up
        self._ending = threading.Lock()

    def launch(self, machine_lock: int | None = None) -> None:
        """Start the child, handing it `machine_lock` (see `_machine_lock`) to hold."""
        (self.dir / JOB).write_text(json.dumps(dataclasses.asdict(self.config)))
        # The child imports this very copy of the package, wherever the server was started.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path}
        with open(self.dir / "log.txt", "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "frameprophet.jobs.child", str(self.dir),
                 str(os.getpid())], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env,
                pass_fds=() if machine_lock is None else (machine_lock,))

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Ask the run to end after its current batch; its best weights are kept. Nothing to
        do once it has ended (its folder may be gone)."""
        if self.running():
            with contextlib.suppress(FileNotFoundError):
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
        """What the job has written so far; once its child has ended, the last status (the
        job folder is then gone, see `_finish`)."""
        with self._ending:
            if self._final is None:
                status = self._read()
                if not status.done or self.running():
                    return status
                self._final = self._finish(status)
            return self._final

    def _read(self) -> Status:
        events = self.events()
        epochs = [e for e in events if e["event"] == "epoch"]
        begun = next((e["time"] for e in events if e["event"] == "begin"), None)
        end = next((e for e in events if e["event"] in ("done", "failed")), None)
        if end is None and not self.running():
            end = {"event": "failed", "message": "the training stopped without a result (its "
                   "output is in the server's log)."}
        last = epochs[-1] if epochs else {}
        files = dict(curve=self._file(last.get("curve")), preview=self._file(last.get("preview")))
        budget = self.config.minutes * 60
        if end is not None:
            spent = ((end["time"] - begun) / budget if "time" in end else 1.0) if begun else 0.0
            return self._ended(end, epochs, files, min(1.0, spent))
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

    def _ended(self, end: dict, epochs: list[dict], files: dict, spent: float) -> Status:
        """The status of an ended job; `spent` is the share of the budget it used."""
        if end["event"] == "failed":
            return Status("failed", spent, f"Training failed: {end['message']}", epochs,
                          **files)
        if not self.registered:
            catalog.register(self.name, end["out"])
            self.registered = True
        state = "stopped" if (self.dir / STOP).exists() else "finished"
        score = end.get("metrics") or {}
        mse, copy = ((score.get(who) or {}).get("mse", {}).get("mean")
                     for who in ("model", "copy_last"))
        scored = (f" Held-out clips, closed loop: MSE {mse:.4g} (copying the last frame: "
                  f"{copy:.4g})." if mse is not None and copy is not None else "")
        if scored and mse > copy:
            scored += (" It predicts worse than simply copying the last frame: train it longer "
                       "or on more clips before trusting it.")
        how = "Stopped: the best epoch was kept." if state == "stopped" else "Finished."
        return Status(state, spent if state == "stopped" else 1.0,
                      f"{how} The model is in the model menus as {self.name} "
                      f"(saved as {end['out']}, its card beside it; "
                      f"{plural(len(epochs), 'epoch')}).{scored}", epochs, model=self.name,
                      **files)

    def _file(self, name: str | None) -> Path | None:
        return self.dir / name if name else None

    def _finish(self, status: Status) -> Status:
        """The child has ended: keep the pictures the page shows, log a failed run's output,
        then remove the job folder and a half-written model; returns the status to keep."""
        FINAL_PICTURES.mkdir(parents=True, exist_ok=True)
        kept = {}
        for field in ("curve", "preview"):
            path = getattr(status, field)
            if path is not None and path.exists():
                kept[field] = Path(shutil.copyfile(path, FINAL_PICTURES / f"{self.name}-"
                                                               f"{path.name}"))
            else:
                kept[field] = None
        if status.state == "failed" and (self.dir / "log.txt").exists():
            output = (self.dir / "log.txt").read_text(errors="replace")[-4000:]
            log.warning("training %s failed: %s\n%s", self.name, status.message, output)
        self.clean_up()
        return dataclasses.replace(status, **kept)

    def clean_up(self) -> None:
        """Remove the job folder and a half-written model (`saving.save`'s `.tmp.keras`)."""
        cleanup.release(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        out = Path(self.config.out)
        out.with_name(out.stem + ".tmp.keras").unlink(missing_ok=True)
