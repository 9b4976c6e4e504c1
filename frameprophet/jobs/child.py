"""The page's training child: `python -m frameprophet.jobs.child JOB_DIR SERVER_PID`.

`frameprophet.jobs.training` starts it for a job and reads what it writes into JOB_DIR: it runs
`frameprophet.train.train` with `PageReport`, a Keras callback that writes each epoch's validation
numbers, the validation curve and a preview (truth against prediction on one held-out clip) into
JOB_DIR, and ends training when JOB_DIR/stop appears.

It lives no longer than its server. It watches its parent: once the server is gone (Ctrl-C,
SIGTERM, `kill -9`) it ends as SIGTERM ends `train` (the best weights so far are saved) and
removes its job folder, which nobody will read. Not `prctl(PR_SET_PDEATHSIG)`: that fires when the
server *thread* that started the child ends, and the server's worker threads come and go. While
it runs it holds the machine's training lock, handed over by the server (`training.LOCK_FILE`),
and its job folder (`cleanup.hold`), so a restarted server neither starts a second job beside it
nor sweeps its folder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np

from frameprophet import render, videos
from frameprophet.demo import cleanup

EVENTS, STOP, JOB = "events.jsonl", "stop", "job.json"
WATCH_SECONDS = 1.0          # how often the child looks for its server



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
    for ax, values, title, top in zip(fig.subplots(1, 2), np.asarray(curve).T,
                                      ("validation MSE (lower is better)",
                                       "validation SSIM (higher is better)"), (None, 1.0),
                                      strict=True):
        ax.plot(epochs, values, "o-", markersize=4,
                color=render.hex_colour(render.PREDICTED_COLOUR))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        # From zero (SSIM to one), so one epoch is a point on a scale, not on a hair's width
        finite = values[np.isfinite(values)]
        ax.set_ylim(0, top or (1.15 * finite.max() if finite.size else 1))
        ax.set_xlim(0.5, max(len(curve), 5) + 0.5)     # room for the epochs to come
        ax.set_xticks(np.arange(1, max(len(curve), 5) + 1)[::-(-max(len(curve), 5) // 10)])
        if finite.size:
            ax.annotate(f"{values[-1]:.4g}", (epochs[-1], values[-1]), fontsize=8,
                        xytext=(5, 5), textcoords="offset points")
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
        _append(folder, {"event": "failed", "message": str(e), "time": time.time()})
        return 1
    except Exception as e:
        import traceback

        traceback.print_exc()
        _append(folder, {"event": "failed", "message": f"{type(e).__name__}: {e}",
                         "time": time.time()})
        return 1
    _append(folder, {"event": "done", "out": config.out, "metrics": meta.get("metrics"),
                     "time": time.time()})
    return 0


def watch_server(server_pid: int) -> None:
    """Send this process SIGTERM once its parent is no longer `server_pid` (the server is gone
    and another process adopted this one)."""
    def watch():
        while os.getppid() == server_pid:
            time.sleep(WATCH_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="frameprophet-watch-server", daemon=True).start()


def main(folder: Path, server_pid: int) -> int:
    """Train the job in `folder` for the server `server_pid`; see the module docstring."""
    if hasattr(os, "nice"):
        os.nice(10)            # the server answering predictions comes first
    cleanup.hold(folder)
    # Until `train` sets its own (the same), SIGTERM ends this process as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        watch_server(server_pid)
        return run_job(folder)
    except KeyboardInterrupt:
        _append(folder, {"event": "failed", "message": "The training was ended before it began."})
        return 1
    finally:
        if os.getppid() != server_pid:
            cleanup.release(folder)
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
