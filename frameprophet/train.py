"""Training: `python -m frameprophet train --dataset mnist --recipe prophet --minutes 120
--out weights/mnist.keras`.

Data is generated on the fly from the train split only (for Moving MNIST: digits 0..3999).
Each epoch ends with a closed-loop validation on a fixed seeded set (`val_mse`, the benchmark
per-frame MSE of a free-running rollout), which is what checkpoints, early stopping and the
learning-rate schedule watch: it is what users see, unlike the one-step training loss.

For `prophet`, a callback ramps the feedback probability from 0 to 1 over `ramp_steps` batches:
at first the model learns one-step prediction from true frames, then more and more of the
frames after the context are its own predictions, until it trains fully closed-loop
(scheduled sampling / a curriculum towards a multi-step rollout loss). `ramp_steps=0` keeps the
feedback at 0: plain one-step teacher forcing, the ablation that shows what the ramp buys.

A run lives in `runs/NAME/` (NAME from `--out`): `backup/` (BackupAndRestore: a killed run
continues with `--resume`), `best.keras`, `log.csv`, `state.json` (wall time and sequences so far,
across resumes). The wall-clock budget, Ctrl-C and SIGTERM all end training cleanly: the best
weights are evaluated on held-out test clips and written to `--out` with a sidecar and a card.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import signal
import sys
import time
from pathlib import Path

import keras
import numpy as np

from frameprophet import data, metrics, models, saving
from frameprophet.evaluate import PROTOCOL, VAL_SEED, clips, rollouts, score
from frameprophet.predict import Predictor

# -- callbacks --------------------------------------------------------------------------------

class FeedbackRamp(keras.callbacks.Callback):
    """Raise `model.feedback` linearly from 0 to 1 over `ramp_steps` optimizer steps
    (0: keep it at 0, i.e. one-step teacher forcing only)."""

    def __init__(self, ramp_steps: int):
        super().__init__()
        self.ramp_steps = max(0, ramp_steps)

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self.model.feedback.assign(min(1.0, step / self.ramp_steps) if self.ramp_steps else 0.0)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["feedback"] = float(self.model.feedback.numpy())


class ClosedLoopValidation(keras.callbacks.Callback):
    """Adds `val_mse` (closed-loop, benchmark definition, mean over the horizon) to the logs."""

    def __init__(self, context: np.ndarray, truth: np.ndarray):
        super().__init__()
        self.context, self.truth = context, truth
        self.predictor = None

    def on_epoch_end(self, epoch, logs=None):
        if self.predictor is None:
            self.predictor = Predictor(self.model)
        pred = rollouts(self.predictor, self.context, self.truth.shape[1])
        if logs is not None:
            logs["val_mse"] = float(metrics.mse(pred, self.truth).mean())


class TimeBudget(keras.callbacks.Callback):
    """Stop cleanly (after the current batch) once `seconds` of training have passed."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.start, self.expired = seconds, None, False

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.start >= self.seconds:
            self.expired = True
            self.model.stop_training = True


class RunState(keras.callbacks.Callback):
    """Keeps wall time and sequences seen across resumes in `state.json`."""

    def __init__(self, path: Path, batch_size: int):
        super().__init__()
        self.path, self.batch_size = path, batch_size
        self.state = json.loads(path.read_text()) if path.exists() else {
            "wall_seconds": 0.0, "sequences": 0, "resumes": 0, "epochs": 0}
        self._last = None

    def on_train_begin(self, logs=None):
        self._last = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self.state["sequences"] += self.batch_size

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        self.state["wall_seconds"] += now - self._last
        self._last = now
        self.state["epochs"] = epoch + 1
        self.save()

    def save(self):
        self.path.write_text(json.dumps(self.state, indent=2))


# -- the run ----------------------------------------------------------------------------------

def hardware() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    cpu = f"{platform.machine()}, {os.cpu_count()} CPU cores"
    return f"{len(gpus)} GPU(s) + {cpu}" if gpus else f"CPU only ({cpu})"


def train(dataset: str, recipe: str = "prophet", minutes: float = 60.0,
          out: str = "weights/model.keras", batch: int = 16, lr: float | None = None,
          seed: int = 0, resume: bool = False, steps_per_epoch: int = 50,
          val_clips: int | None = None, test_clips_n: int = 256, ramp_steps: int = 2000,
          patience: int = 30, init: str | None = None, strategy: str | None = None,
          run_dir: str | None = None, verbose: int | str = "auto",
          options: dict | None = None, note: str | None = None,
          extra_callbacks: list[keras.callbacks.Callback] | None = None) -> dict:
    """Train a recipe on a dataset for at most `minutes` of wall time; returns the sidecar."""
    if dataset not in PROTOCOL:
        raise ValueError(f"dataset must be one of {sorted(PROTOCOL)}, got {dataset!r}")
    proto = PROTOCOL[dataset]
    run = Path(run_dir or Path("runs") / Path(out).stem)
    if not resume and run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True, exist_ok=True)
    options = dict(options or {})
    if recipe == "prophet":
        options.setdefault("context", proto["context"])
        if lr is not None:
            options["learning_rate"] = lr

    scope = _strategy_scope(strategy)
    with scope:
        model = models.build(recipe, proto["frame_size"], **options)
        if lr is not None and recipe != "prophet":
            model.optimizer.learning_rate = lr
    if init:
        model.load_weights(init)
    stepwise = models.is_stepwise(model)

    state = RunState(run / "state.json", batch)
    if resume:
        state.state["resumes"] += 1
    train_batches = data.SequenceBatches(dataset, batch, steps_per_epoch, frames=proto["frames"],
                                         seed=seed * 1000 + state.state["resumes"])
    val_context, val_truth = clips(dataset, val_clips or (64 if stepwise else 16),
                                   seed=VAL_SEED, split="train")
    budget = TimeBudget(minutes * 60)
    # A resumed run only replaces best.keras when it beats the best epoch before the resume.
    before = [row["val_mse"] for row in _read_log(run / "log.csv") if "val_mse" in row]
    best = keras.callbacks.ModelCheckpoint(run / "best.keras", monitor="val_mse", mode="min",
                                           save_best_only=True,
                                           initial_value_threshold=min(before, default=None))
    callbacks = [FeedbackRamp(ramp_steps)] if stepwise else []
    callbacks += [
        ClosedLoopValidation(val_context, val_truth),
        budget,
        best,
        keras.callbacks.EarlyStopping(monitor="val_mse", mode="min", patience=patience),
        keras.callbacks.ReduceLROnPlateau(monitor="val_mse", mode="min", factor=0.5,
                                          patience=max(2, patience // 3), min_lr=1e-5),
        # Kept after a clean stop too, so `--resume` can extend a finished run later.
        keras.callbacks.BackupAndRestore(str(run / "backup"), delete_checkpoint=False),
        keras.callbacks.CSVLogger(run / "log.csv", append=True),
        state,
        *(extra_callbacks or []),
    ]
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    interrupted = False
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    started = datetime.datetime.now(datetime.UTC)
    try:
        model.fit(train_batches, epochs=100_000, callbacks=callbacks, verbose=verbose)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: keeping the best weights so far", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        state.save()

    if (run / "best.keras").exists():
        model.load_weights(run / "best.keras")
    context, truth = clips(dataset, test_clips_n)                 # held-out test split
    held_out = score(Predictor(model), dataset, context, truth)
    summary = {
        "recipe_options": options, "batch": batch,
        "learning_rate": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
        "seed": seed, "steps": int(model.optimizer.iterations.numpy()),
        "sequences_seen": state.state["sequences"], "epochs": state.state["epochs"],
        "wall_minutes": round(state.state["wall_seconds"] / 60, 1),
        "resumes": state.state["resumes"], "hardware": hardware(),
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "stopped_by": "interrupt" if interrupted else "time budget" if budget.expired
        else "early stopping or epochs",
        "objective": _objective(stepwise, ramp_steps),
        "init": init,
    }
    if note:
        summary["note"] = note
    if stepwise:
        summary["feedback"] = float(model.feedback.numpy())
    meta = saving.save(model, out, dataset=dataset, context=proto["context"],
                       parameters=int(model.count_params()),
                       horizon=proto["horizon"], training=summary, metrics=held_out)
    write_card(out, meta)
    return meta


def _objective(stepwise: bool, ramp_steps: int) -> str:
    if not stepwise:
        return "one-step BCE (the recipe's own)"
    if ramp_steps <= 0:
        return "one-step BCE (teacher forcing only, no feedback)"
    return f"closed-loop BCE with scheduled sampling ramped over {ramp_steps} steps"


def _read_log(path: Path) -> list[dict]:
    """Rows of a CSVLogger file as dicts of floats ([] when there is none yet)."""
    import csv

    if not path.exists():
        return []
    with open(path) as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(f)]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _strategy_scope(strategy: str | None):
    import contextlib

    if strategy in (None, "", "default"):
        return contextlib.nullcontext()
    if strategy == "mirrored":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    raise ValueError(f"strategy must be 'mirrored' or omitted, got {strategy!r}")


def write_card(model_path: str | os.PathLike, meta: dict) -> Path:
    """Write the model card `NAME.md` beside a model file from its sidecar."""
    path = Path(model_path).with_suffix(".md")
    t, m = meta.get("training", {}), meta.get("metrics", {})
    rows = []
    for key in ("mse", "mae", "ssim", "psnr", "iou"):
        if key in m.get("model", {}):
            rows.append(f"| {key.upper()} | {m['model'][key]['mean']:.4g} | "
                        f"{m['copy_last'][key]['mean']:.4g} |")
    seen = f"{t.get('steps')} / {t.get('sequences_seen')} / {t.get('epochs')}"
    wall = (f"{t.get('wall_minutes')} min ({t.get('resumes', 0)} resume(s)); "
            f"stopped by {t.get('stopped_by')}")
    per_step = ", ".join(f"{x:.1f}" for x in m.get("model", {}).get("mse", {}).get("per_step", []))
    text = f"""# {Path(model_path).stem}

Recipe `{meta.get('recipe')}` trained on **{meta.get('dataset')}** ({meta.get('frame_size')}
frames) by `python -m frameprophet train`. Predicts {meta.get('horizon')} frames from
{meta.get('context')} context frames.

## Training
| | |
|---|---|
| recipe options | `{json.dumps(t.get('recipe_options', {}))}` |
| objective | {t.get('objective')} |
| data | generated on the fly, train split only{' (MNIST digits 0..3999)'
    if meta.get('dataset') == 'mnist' else ''} |
| batch / final learning rate | {t.get('batch')} / {t.get('learning_rate', 0):.3g} |
| steps / sequences seen / epochs | {seen} |
| wall time | {wall} |
| hardware | {t.get('hardware')}{'; ' + t['note'] if t.get('note') else ''} |
| parameters | {meta.get('parameters', 'see sidecar')} |
| file sha256 | `{meta.get('sha256')}` |

## Held-out metrics
Closed loop, {m.get('context')} -> {m.get('horizon')} frames, {m.get('clips')} test clips
({'MNIST digits 4000..4999 only' if meta.get('dataset') == 'mnist' else 'an unseen seed'}),
benchmark definitions (MSE/MAE summed over a frame's pixels; mean over the horizon).

| metric | this model | copy last frame |
|---|---|---|
{chr(10).join(rows)}

MSE per predicted frame: {per_step}

Regenerate the full scoreboard with `make scoreboard`.
"""
    path.write_text(text)
    return path
