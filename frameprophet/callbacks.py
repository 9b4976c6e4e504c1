"""The Keras callbacks of a training run: its clock (`Budget`: learning rate, closed-loop
feedback, the stop), the closed-loop validation that picks the checkpoint, the checkpoint and the
backup, written so that a kill never leaves them half-written (`BestCheckpoint`, `Backup`), the
run's own counters across `--resume` (`RunState`), and a glibc fix for TensorFlow's input
pipeline."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path

import keras
import numpy as np

from frameprophet import saving
from frameprophet.evaluate import goal_gap
from frameprophet.forecast import forecast
from frameprophet.predict import Predictor


class Budget(keras.callbacks.Callback):
    """The clock of a run: sets the learning rate and the closed-loop feedback from the elapsed
    fraction of the budget at every epoch start, and stops training when the budget is spent.

    `elapsed` carries the time of earlier attempts of the same run (`--resume`). The feedback
    ramps from `feedback_from`, where the model of `--init` left off: a model that already rolls
    out closed loop is not taught with its own predictions hidden again.
    """

    def __init__(self, seconds: float, peak_lr: float, warmup: float = 0.03,
                 ramp: float | None = None, elapsed: float = 0.0, feedback_from: float = 0.0):
        super().__init__()
        self.seconds, self.peak_lr, self.warmup = seconds, peak_lr, warmup
        self.ramp, self.before = ramp, elapsed
        self.feedback_from = feedback_from
        self.start, self.expired = None, False

    def fraction(self) -> float:
        return (self.before + time.monotonic() - self.start) / self.seconds

    def learning_rate(self, fraction: float) -> float:
        """Linear warm-up, then a cosine from the peak to 1% of it at fraction 1."""
        if fraction < self.warmup:
            return self.peak_lr * max(fraction, 0.01) / self.warmup
        progress = min(1.0, (fraction - self.warmup) / (1 - self.warmup))
        return self.peak_lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))

    def feedback(self, fraction: float) -> float:
        if not self.ramp:
            return 0.0
        return self.feedback_from + (1.0 - self.feedback_from) * min(1.0, fraction / self.ramp)

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def _set(self):
        fraction = self.fraction()
        self.model.optimizer.learning_rate = self.learning_rate(fraction)
        if self.ramp is not None:
            self.model.feedback.assign(self.feedback(fraction))

    def on_epoch_begin(self, epoch, logs=None):
        self._set()

    def on_train_batch_begin(self, batch, logs=None):
        # Between epochs too where a variable write is cheap; under JAX the trainer holds the
        # state on the device between epochs, so it only picks up writes at an epoch start.
        if batch and batch % 10 == 0 and keras.backend.backend() != "jax":
            self._set()

    def on_train_batch_end(self, batch, logs=None):
        if self.fraction() >= 1.0:
            self.expired = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate))
            if self.ramp is not None:
                logs["feedback"] = float(keras.ops.convert_to_numpy(self.model.feedback))


class RestoreMallocThresholds(keras.callbacks.Callback):
    """Puts glibc's large-allocation thresholds back after TensorFlow lowers them.

    Under TensorFlow, `fit` feeds a `PyDataset` through `tf.data.Dataset.from_generator`, whose op
    sets glibc's M_TRIM_THRESHOLD to 128 KB ("Memory patch applied" in the log). Setting it also
    turns off glibc's adaptive mmap threshold, so every tensor over 128 KB is mapped and unmapped
    at each step and the kernel zeroes its pages again: on a 2-core AVX2 AMD VM training ran at
    2.3 instead of 6.1 sequences/s (`make bench`), a third of the CPU in the kernel; on one with
    AVX512-BF16 the patch cost nothing measurable (15.3 against 15.5). Tensors up to
    256 MB now stay in the heap (a step's unrolled activations reach ~60 MB), and the heap keeps
    up to 512 MB free rather than give it back and fault it in again. Nothing to do off glibc or
    off TensorFlow."""

    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3

    def __init__(self):
        super().__init__()
        import ctypes

        self.mallopt = None
        if sys.platform == "linux" and keras.backend.backend() == "tensorflow":
            with contextlib.suppress(AttributeError, OSError):   # musl and others: no mallopt
                self.mallopt = ctypes.CDLL(None).mallopt

    # TensorFlow patches when the generator first runs, inside a step; two libc calls per step
    # (microseconds against seconds) need no guess at when that is.
    def on_train_batch_begin(self, batch, logs=None):
        if self.mallopt is not None:
            self.mallopt(self.M_MMAP_THRESHOLD, 256 << 20)
            self.mallopt(self.M_TRIM_THRESHOLD, 512 << 20)


class ClosedLoopValidation(keras.callbacks.Callback):
    """Adds `val_mse` and `val_ssim` (closed loop, benchmark definitions, means over the
    horizon), `val_goal_gap` (`evaluate.goal_gap` of the two: what `best.keras` is chosen by, as
    `make ship` chooses) and the seconds it took (`val_seconds`) to the logs."""

    def __init__(self, context: np.ndarray, truth: np.ndarray, dataset: str):
        super().__init__()
        self.clips = np.concatenate([context, truth], axis=1)
        self.context = context.shape[1]
        self.dataset = dataset
        self.predictor = None

    def on_epoch_end(self, epoch, logs=None):
        start = time.monotonic()
        if self.predictor is None:
            self.predictor = Predictor(self.model)
        result = forecast(self.predictor, self.clips, self.context,
                          self.clips.shape[1] - self.context, batch=64)
        if logs is not None:
            means = {k: {"mean": result.mean("model", k)} for k in ("mse", "ssim")}
            logs["val_mse"], logs["val_ssim"] = means["mse"]["mean"], means["ssim"]["mean"]
            logs["val_goal_gap"] = goal_gap(means, self.dataset)
            logs["val_seconds"] = time.monotonic() - start


class BestCheckpoint(keras.callbacks.Callback):
    """`path` (best.keras): the model of the epoch with the lowest `monitor` so far, below `best`
    (a resumed run's best before the resume), as Keras' ModelCheckpoint(save_best_only=True)
    keeps it, but written by `saving.save`: aside, then renamed with its sidecar, so a kill
    while it is written leaves the previous best whole."""

    def __init__(self, path: Path, monitor: str, best: float | None = None):
        super().__init__()
        self.path, self.monitor = Path(path), monitor
        self.best = math.inf if best is None else best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best = float(value)
            saving.save(self.model, self.path, epoch=epoch + 1, **{self.monitor: self.best})


def check_best(run: Path) -> bool:
    """True when `run`/best.keras is there and whole. One that a kill cut short (as older
    versions wrote it, in place) is set aside as best.damaged.keras, and the run says so."""
    best = run / "best.keras"
    if not best.exists():
        return False
    if saving.whole(best):
        return True
    os.replace(best, best.with_name("best.damaged.keras"))
    print(f"note: {run.name}/best.keras was damaged (cut short by a kill while it was written) "
          "and is set aside; the best epoch is chosen again from this one on", flush=True)
    return False


class Backup(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore in `folder` (what `--resume` restores), kept after a clean stop,
    with its two files each written aside and renamed (the weights first, then the epoch: a kill
    between them repeats one epoch). A backup damaged all the same (a bad disk, a kill under an
    older version) gives way to the run's best.keras, with a note; without that, a sentence."""

    def __init__(self, folder: str | os.PathLike):
        super().__init__(str(folder), delete_checkpoint=False)

    def _save_model(self):     # Keras' own writes the files in place (keras is pinned)
        folder = Path(self.backup_dir)
        folder.mkdir(parents=True, exist_ok=True)
        saving.write_atomically(Path(self._weights_path), self.model.save_weights)
        epoch = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen})
        saving.write_atomically(Path(self._training_metadata_path),
                                lambda aside: aside.write_text(epoch))

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except Exception as e:      # h5py, JSON and Keras each raise their own for a bad file
            run = Path(self.backup_dir).parent
            if not check_best(run):
                raise ValueError(f"the backup of run {run.name!r} is damaged and it has no "
                                 "whole best.keras to go on from, so --resume cannot continue "
                                 "it; train again without --resume.") from e
            self.model.load_weights(run / "best.keras")
            print(f"note: the backup of run {run.name!r} was damaged; it goes on from its "
                  "best epoch (best.keras)", flush=True)


class RunState(keras.callbacks.Callback):
    """Wall time and sequences of this run across `--resume`s (`state.json`); puts the total
    sequences seen by the weights (earlier runs included) into the logs, for the curve.

    Both are counted at epoch ends only, like the backup `--resume` restores: the batches of an
    interrupted epoch are trained again after a resume and must not be counted twice."""

    def __init__(self, path: Path, batch_size: int, sequences_before: int = 0):
        super().__init__()
        self.path, self.batch_size, self.sequences_before = path, batch_size, sequences_before
        self.state = {"wall_seconds": 0.0, "sequences": 0, "resumes": 0, "epochs": 0}
        with contextlib.suppress(OSError, ValueError):   # none yet, or an older run's cut file
            self.state.update(json.loads(path.read_text()))
        self._last, self._batches = None, 0

    def on_train_begin(self, logs=None):
        self._last = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        self.state["wall_seconds"] += now - self._last
        self.state["sequences"] += self._batches * self.batch_size
        self._last = now
        self.state["epochs"] = epoch + 1
        if logs is not None:
            logs["sequences"] = self.sequences_before + self.state["sequences"]
        self.save()

    def save(self):
        text = json.dumps(self.state, indent=2)
        saving.write_atomically(self.path, lambda aside: aside.write_text(text))


def read_log(path: Path) -> list[dict]:
    """Rows of a CSVLogger file as dicts of floats ([] when there is none yet)."""
    import csv

    if not path.exists():
        return []
    rows = []
    with open(path) as f:
        for row in csv.DictReader(f):
            with contextlib.suppress(TypeError, ValueError):   # a row a kill cut short
                rows.append({k: float(v) for k, v in row.items() if v not in ("", None)})
    return rows
