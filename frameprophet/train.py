"""Training: `python -m frameprophet train --dataset mnist --minutes 120 --out weights/mnist.keras`.

A run is one `TrainConfig`; its fields are the CLI flags and the rows of the model card.

Data is generated on the fly from the train split only (for Moving MNIST: digits 0..3999). The
run is sized to its wall-clock budget, not to a number of epochs: the learning rate warms up and
then follows a cosine to near zero exactly when `--minutes` run out, and for `prophet` the
closed-loop feedback (scheduled sampling: the probability that an input frame after the context is
the model's own previous prediction) rises from 0 to 1 over the first `--ramp` of the budget. Both
are set at the start of every epoch from the elapsed time, which every Keras backend picks up.
The loss covers every output frame, the context ones too. `--init FILE` continues from a model
(a new cycle of the schedule); the card adds up the runs that led to the weights.

Each epoch ends with a closed-loop validation on a fixed seeded set (`val_mse` and `val_ssim`, the
benchmark metrics of a free-running rollout: what users see). Checkpoints keep the epoch closest
to the dataset's goal (`val_goal_gap`, as `make ship` judges; for squares that is `val_mse`).

`--data PATH` trains on your own clips instead (`frameprophet.videos`): a folder or glob of
GIF/MP4/... files, decoded once into a cache, windows of `--context` + `--horizon` frames fitted
to `--frame-size`, colour kept when the clips have it. A share of the files (`--holdout`) is held
out: it validates every epoch and gives the held-out score at the end. `--init` continues from a
model with the same channels and patch.

A run lives in `runs/NAME/` (NAME from `--out`): `backup/` (BackupAndRestore: a killed run
continues with `--resume`, in the same schedule), `best.keras`, `log.csv`, `state.json`. A second
run started in a folder where one is training is refused. The budget, Ctrl-C and SIGTERM all end
training cleanly: the best weights are evaluated in float32 on held-out test clips and written to
`--out` with a sidecar, a card and a validation curve.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from frameprophet import data, models, saving, videos
from frameprophet.card import write_card
from frameprophet.data import PROTOCOL, VAL_SEED, clips
from frameprophet.evaluate import goal_gap, score
from frameprophet.forecast import forecast
from frameprophet.predict import Predictor

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
BEST_BY = "val_goal_gap"      # the checkpoint kept: closest to the goal (lowest MSE without one)
STRATEGIES = ("data-parallel",)


@dataclass
class TrainConfig:
    """One training run. Each field is a CLI flag (`--steps-per-epoch`) and a row of the card."""

    dataset: str = field(default="mnist", metadata={"help": "squares or mnist"})
    data: str | None = field(default=None, metadata={
        "help": "train on your own clips instead of --dataset: a folder (searched recursively) "
                "or a glob of GIF/APNG/MP4/WebM/MOV/AVI/MKV/NPY/NPZ/ZIP clips"})
    context: int | None = field(default=None, metadata={
        "help": "--data: frames the model reads before it predicts (default 10)"})
    horizon: int | None = field(default=None, metadata={
        "help": "--data: frames predicted and scored after the context (default 10)"})
    frame_size: int | None = field(default=None, metadata={
        "help": "--data: frames are fitted into SIZE x SIZE keeping their aspect ratio, padded "
                "with black, as uploads are (default 64)"})
    holdout: float | None = field(default=None, metadata={
        "help": "--data: share of the files held out to validate and score (default 0.2)"})
    out: str = field(default="weights/model.keras", metadata={"help": "NAME.keras to write"})
    recipe: str = field(default="prophet", metadata={"help": "a recipe of frameprophet.models"})
    minutes: float = field(default=60.0, metadata={"help": "wall-clock budget of this run"})
    batch: int = 16
    lr: float | None = field(default=None, metadata={"help": "peak learning rate (default: "
                                                            "the recipe's)"})
    schedule: str = field(default="cosine", metadata={
        "help": "cosine: warm-up then cosine to ~0 at the end of the budget; plateau: the Keras "
                "example's ReduceLROnPlateau + EarlyStopping"})
    warmup: float = field(default=0.03, metadata={"help": "fraction of the budget to warm up"})
    ramp: float = field(default=0.3, metadata={
        "help": "prophet: fraction of the budget over which closed-loop feedback rises to 1 "
                "(0: one-step teacher forcing only)"})
    loss: str | None = field(default=None, metadata={
        "help": "prophet: bce, mse, bce+mse or bce+ssim"})
    precision: str = field(default="auto", metadata={
        "help": "auto (mixed_bfloat16 on a GPU or a CPU with AMX/AVX512-BF16), float32 or "
                "mixed_bfloat16"})
    flip: float | None = field(default=None, metadata={
        "help": "mnist: probability that a training digit is mirrored or turned 180 degrees "
                "(new shapes: the train split holds classes 0-7 only); validation is not "
                "(default: with --init, what that model last trained with; else 0)"})
    steps_per_epoch: int = field(default=100, metadata={"help": "batches between validations"})
    val_clips: int | None = None
    test_clips: int = 256
    seed: int = 0
    init: str | None = field(default=None, metadata={
        "help": "start from the weights of this .keras file (a new schedule cycle; the card "
                "adds up the runs)"})
    resume: bool = field(default=False, metadata={"help": "continue the killed run in runs/NAME"})
    strategy: str | None = field(default=None, metadata={
        "help": "data-parallel: train across the visible GPUs (JAX: keras.distribution."
                "DataParallel; TensorFlow: MirroredStrategy)"})
    run_dir: str | None = None
    options: dict = field(default_factory=dict, metadata={
        "help": 'recipe options as JSON, e.g. {"hidden": 64}'})
    note: str | None = field(default=None, metadata={
        "help": "free text for the card, e.g. what else shared the machine"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One `--flag` per `TrainConfig` field."""
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            parser.add_argument(flag, action="store_true", help=f.metadata.get("help"))
            continue
        kind = {"int": int, "float": float, "int | None": int, "float | None": float,
                "dict": json.loads}.get(f.type, str)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        parser.add_argument(flag, type=kind, default=default, help=f.metadata.get("help"))


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})


# -- hardware, precision, distribution: the machine-dependent choices, in one place -----------

def _cpuinfo(field: str) -> str:
    """The value of the first `field` line of /proc/cpuinfo ('' off Linux or without one)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    line = next((ln for ln in text.splitlines() if ln.partition(":")[0].strip() == field), "")
    return line.partition(":")[2].strip()


def _cpu_flags() -> set[str]:
    return set(_cpuinfo("flags").split())


def accelerators() -> list[str]:
    """The GPUs Keras' backend sees, e.g. ['gpu:0'] ([] on a CPU-only machine)."""
    try:
        return [d for d in keras.distribution.list_devices() if "cpu" not in d.lower()]
    except Exception:       # a backend without device listing: assume none
        return []


def resolve_precision(precision: str) -> str:
    """The dtype policy for `--precision`: bfloat16 only where the hardware runs it fast."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    fast_bf16 = bool(accelerators()) or bool({"amx_bf16", "avx512_bf16"} & _cpu_flags())
    if precision == "auto":
        return "mixed_bfloat16" if fast_bf16 else "float32"
    if precision == "mixed_bfloat16" and not fast_bf16:
        raise ValueError("mixed_bfloat16 needs a GPU or a CPU with AMX or AVX512-BF16, and this "
                         "machine has neither: use --precision float32 (or auto)")
    return precision


def hardware() -> str:
    """The machine in a line, for the card."""
    gpus = accelerators()
    bf16 = sorted({"amx_bf16", "avx512_bf16"} & _cpu_flags())
    # The model name too: two hosts with the same flags (an AMD EPYC and an Intel Xeon, both
    # AVX512-BF16) train the shipped model 2.5x apart, and the card's seq/s should say why.
    model = _cpuinfo("model name")
    cpu = (f"{model + ', ' if model else ''}{platform.machine()}, {os.cpu_count()} CPU cores"
           + (f" ({', '.join(bf16)})" if bf16 else ""))
    where = f"{len(gpus)} GPU(s) + {cpu}" if gpus else f"CPU only ({cpu})"
    return f"{where}; Keras {keras.__version__} on {keras.backend.backend()}"


def check_strategy(strategy: str | None) -> list[str]:
    """The GPUs `--strategy` trains on ([] without one); refuses one this machine cannot run."""
    if strategy in (None, ""):
        return []
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)} or omitted, "
                         f"got {strategy!r}")
    gpus = accelerators()
    if not gpus:
        raise ValueError("--strategy data-parallel needs GPUs and this machine has none "
                         f"(devices: {', '.join(keras.distribution.list_devices())}); drop it")
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ValueError(f"--strategy data-parallel runs under JAX or TensorFlow, not {backend}")
    return gpus


def distribution_scope(strategy: str | None):
    """A context in which to build the model for `--strategy` (a no-op without one)."""
    gpus = check_strategy(strategy)
    if not gpus:
        return contextlib.nullcontext()
    if keras.backend.backend() == "jax":
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=gpus))
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.distribute.MirroredStrategy().scope()


# -- data -------------------------------------------------------------------------------------

class SequenceBatches(keras.utils.PyDataset):
    """A `keras.utils.PyDataset` of freshly generated (input, target) batches.

    Batch i of epoch e uses the seed (seed, e, i), so training sees new movies every epoch; with
    `fixed=True` the seed ignores the epoch, so a validation set is the same every time.
    """

    def __init__(self, dataset: str, batch_size: int, steps: int, frames: int | None = None,
                 seed: int = 0, split: str = "train", fixed: bool = False, flip: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.dataset, self.batch_size, self.steps = dataset, batch_size, steps
        self.frames = frames or (15 if dataset == "squares" else 20)
        self.seed, self.split, self.fixed, self.epoch = seed, split, fixed, 0
        self.flip = flip
        data.make_pairs(dataset, 0, self.frames, 0, split, flip)  # validate the arguments now

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < self.steps:
            raise IndexError(index)
        key = [self.seed, index] if self.fixed else [self.seed, self.epoch, index]
        seed = int(np.random.SeedSequence(key).generate_state(1)[0])
        return data.make_pairs(self.dataset, self.batch_size, self.frames, seed, self.split,
                               self.flip)

    def on_epoch_end(self) -> None:
        self.epoch += 1


@dataclass
class TrainingData:
    """What a run learns from and is scored on: a generated world (`--dataset`) or your own
    clips (`--data`). `batches(batch, steps, seed)` is the training `PyDataset`; `validation(n)`
    and `test(n)` give (context, truth) clips; `info` describes the data for the card."""

    name: str
    frame_size: tuple[int, int]
    context: int
    horizon: int
    channels: int
    batches: Callable[[int, int, int], keras.utils.PyDataset]
    validation: Callable[[int], tuple[np.ndarray, np.ndarray]]
    test: Callable[[int], tuple[np.ndarray, np.ndarray]]
    info: dict = field(default_factory=dict)


def training_data(c: TrainConfig) -> TrainingData:
    """The data of a run: `--data` read (once, cached) by `videos.load`, else `--dataset`.
    A `--data` config has its defaults filled in by `train`."""
    if c.data is None:
        proto = PROTOCOL[c.dataset]
        return TrainingData(
            c.dataset, proto["frame_size"], proto["context"], proto["horizon"], 1,
            batches=lambda batch, steps, seed: SequenceBatches(
                c.dataset, batch, steps, frames=proto["frames"], seed=seed, flip=c.flip),
            validation=lambda n: clips(c.dataset, n, seed=VAL_SEED, split="train"),
            test=lambda n: clips(c.dataset, n))                  # held-out test split
    found = videos.load(c.data, (c.frame_size, c.frame_size), c.context, c.horizon,
                        channels=None if c.recipe == "prophet" else 1,   # the examples are grey
                        holdout=c.holdout)
    # Validation and the final score both read the held-out files' windows.
    return TrainingData(videos.DATASET, found.frame_size, found.context, found.horizon,
                        found.channels, batches=found.batches, validation=found.held_out,
                        test=found.held_out, info=found.info())


def _check_data(c: TrainConfig) -> None:
    """Refuse `--data` options that cannot work, before anything is read or wiped."""
    given = [f"--{n.replace('_', '-')}" for n in ("context", "horizon", "frame_size", "holdout")
             if getattr(c, n) is not None]
    if c.data is None:
        if given:
            raise ValueError(f"{', '.join(given)} go with --data (your own clips); --dataset "
                             f"{c.dataset} has its own protocol")
        return
    for name in ("context", "horizon", "frame_size"):
        if getattr(c, name) is not None and getattr(c, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got "
                             f"{getattr(c, name)}")
    if c.frame_size is not None and c.frame_size < 8:
        raise ValueError(f"--frame-size must be at least 8 pixels, got {c.frame_size}")
    if c.holdout is not None and not 0 < c.holdout < 1:
        raise ValueError(f"--holdout is a share of the files between 0 and 1, got {c.holdout}")
    if c.flip:
        raise ValueError("--flip mirrors Moving MNIST digits; it does nothing with --data")


def _check_init(source, options: dict, channels: int) -> None:
    """`--init` continues only where the weights fit: the same channels and patch."""
    have = getattr(source, "channels", 1)
    if have != channels:
        kinds = {1: "grey (1 channel)", 3: "colour (3 channels)"}
        raise ValueError(f"--init is a {kinds[have]} model and these clips are "
                         f"{kinds[channels]}, so its weights cannot continue on them; train "
                         "without --init, or start from a model of the same channels")
    if options.get("patch", source.patch) != source.patch:
        raise ValueError(f"--init cuts frames into {source.patch}x{source.patch} patches and "
                         f"--options asks for {options['patch']}: its weights fit only its own "
                         "patch; drop the patch option")


# -- callbacks --------------------------------------------------------------------------------

class Budget(keras.callbacks.Callback):
    """The clock of a run: sets the learning rate and the closed-loop feedback from the elapsed
    fraction of the budget at every epoch start, and stops training when the budget is spent.

    `elapsed` carries the time of earlier attempts of the same run (`--resume`). The feedback
    ramps from `feedback_from`, where the model of `--init` left off: a model that already rolls
    out closed loop is not taught with its own predictions hidden again.
    """

    def __init__(self, seconds: float, peak_lr: float, warmup: float = 0.03,
                 ramp: float | None = None, schedule: str = "cosine", elapsed: float = 0.0,
                 feedback_from: float = 0.0):
        super().__init__()
        self.seconds, self.peak_lr, self.warmup = seconds, peak_lr, warmup
        self.ramp, self.schedule, self.before = ramp, schedule, elapsed
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
        if self.schedule == "cosine":
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


class RunState(keras.callbacks.Callback):
    """Wall time and sequences of this run across `--resume`s (`state.json`); puts the total
    sequences seen by the weights (earlier runs included) into the logs, for the curve.

    Both are counted at epoch ends only, like the backup `--resume` restores: the batches of an
    interrupted epoch are trained again after a resume and must not be counted twice."""

    def __init__(self, path: Path, batch_size: int, sequences_before: int = 0):
        super().__init__()
        self.path, self.batch_size, self.sequences_before = path, batch_size, sequences_before
        self.state = json.loads(path.read_text()) if path.exists() else {
            "wall_seconds": 0.0, "sequences": 0, "resumes": 0, "epochs": 0}
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
        self.path.write_text(json.dumps(self.state, indent=2))


# -- the run ----------------------------------------------------------------------------------

def train(config: TrainConfig, verbose: int | str = "auto",
          extra_callbacks: list[keras.callbacks.Callback] | None = None) -> dict:
    """Train `config.recipe` on `config.dataset` within `config.minutes`; returns the sidecar."""
    c = config
    _check(c)
    _check_data(c)
    policy = resolve_precision(c.precision)
    previous_policy = keras.config.dtype_policy().name
    run = Path(c.run_dir or Path("runs") / Path(c.out).stem)
    with _only_run_in(run):
        # `--init` is read once, before the run folder is wiped (it may be that folder's
        # best.keras) and before the policy is set (the file has none; it loads as float32).
        source, source_side = saving.load(c.init) if c.init else (None, {})
        prior = _prior_runs(source_side)
        c = _continue_training(c, prior["runs"])
        if c.data is not None:           # flips are Moving MNIST's; the card shows every value
            c = dataclasses.replace(
                c, flip=None, dataset=videos.DATASET, context=c.context or videos.CONTEXT,
                horizon=c.horizon or videos.HORIZON, frame_size=c.frame_size or videos.FRAME_SIZE,
                holdout=videos.HOLDOUT if c.holdout is None else c.holdout)
        data_ = training_data(c)         # a folder that cannot train is refused before the wipe
        if not c.resume and run.exists():
            shutil.rmtree(run)
        run.mkdir(parents=True, exist_ok=True)
        options = dict(c.options)
        if c.recipe == "prophet":
            options.setdefault("context", data_.context)
            options.setdefault("seed", c.seed)
            options["channels"] = data_.channels
            if c.loss:
                options["loss"] = c.loss
            if isinstance(source, models.Prophet):    # --init keeps its shape unless told
                _check_init(source, options, data_.channels)
                for key in ("patch", "hidden", "depth", "kernel"):
                    options.setdefault(key, getattr(source, key))

        keras.config.set_dtype_policy(policy)
        try:
            with distribution_scope(c.strategy):
                model = models.build(c.recipe, data_.frame_size, **options)
                if c.lr is not None:
                    model.optimizer.learning_rate = c.lr
            if source is not None:
                _start_from(model, source, seed=c.seed)
            return _fit(c, model, run, prior, verbose, extra_callbacks, policy, data_)
        finally:
            keras.config.set_dtype_policy(previous_policy)
            if c.strategy and keras.backend.backend() == "jax":
                keras.distribution.set_distribution(None)


def _check(c: TrainConfig) -> None:
    """Refuse a config that cannot train or cannot be saved, before the run folder (the last
    run's weights and backup) is wiped and before any of the budget is spent."""
    if c.dataset not in PROTOCOL:
        raise ValueError(f"dataset must be one of {sorted(PROTOCOL)}, got {c.dataset!r}")
    if not Path(c.out).name.endswith(".keras") or Path(c.out).name == ".keras":
        raise ValueError(f"--out must name a .keras file (e.g. weights/model.keras), got {c.out!r}")
    if not (math.isfinite(c.minutes) and c.minutes > 0):
        raise ValueError(f"--minutes must be a positive number of minutes, got {c.minutes}")
    for name in ("batch", "steps_per_epoch", "test_clips"):
        if getattr(c, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, "
                             f"got {getattr(c, name)}")
    if c.val_clips is not None and c.val_clips < 1:
        raise ValueError(f"--val-clips must be at least 1, got {c.val_clips}")
    if c.schedule not in ("cosine", "plateau"):
        raise ValueError(f"schedule must be 'cosine' or 'plateau', got {c.schedule!r}")
    for name, top in (("warmup", 0.9), ("ramp", 1), ("flip", 1)):
        value = getattr(c, name)
        if value is not None and not 0 <= value <= top:
            raise ValueError(f"--{name} is a fraction from 0 to {top}, got {value}")
    if c.lr is not None and not (math.isfinite(c.lr) and c.lr >= 0):
        raise ValueError(f"--lr must be a learning rate of 0 or more, got {c.lr}")
    if c.loss is not None and c.loss not in models.LOSSES:
        raise ValueError(f"loss must be one of {sorted(models.LOSSES)}, got {c.loss!r}")
    models.check_options(c.recipe, c.options)
    check_strategy(c.strategy)


def _continue_training(c: TrainConfig, prior_runs: list[dict]) -> TrainConfig:
    """A run from `--init` keeps what its model was last trained with (the last of `prior_runs`)
    unless told otherwise: the digit flips and (a prophet without `--loss`) the loss and its SSIM
    weight. They are written into this run's config, so the next continuation finds them too. A
    new model trains without flips."""
    last = (prior_runs or [{}])[-1].get("config", {})
    if c.flip is None:
        c = dataclasses.replace(c, flip=last.get("flip") or 0.0)
    if c.recipe != "prophet" or c.loss or not last.get("loss"):
        return c
    options = {**{k: v for k, v in last.get("options", {}).items() if k == "ssim_weight"},
               **c.options}
    return dataclasses.replace(c, loss=last["loss"], options=options)


@contextlib.contextmanager
def _only_run_in(run: Path):
    """Refuse a second run in the same run folder while one is training there: both would write
    `log.csv`, `best.keras` and the backup, and the first start would delete the other's files.
    The lock is an OS file lock beside the folder, so a killed run never leaves it held."""
    try:
        import fcntl
    except ImportError:                     # Windows: no advisory locks in the standard library
        yield
        return
    run.parent.mkdir(parents=True, exist_ok=True)
    with open(run.parent / f".{run.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another training run is writing to {run}; wait for it to end, "
                             "or give this one its own --run-dir (or --out)") from None
        yield


def _fit(c: TrainConfig, model, run: Path, prior: dict, verbose, extra_callbacks, policy,
         data_: TrainingData):
    stepwise = models.is_stepwise(model)
    state = RunState(run / "state.json", c.batch, prior["sequences"])
    if c.resume:
        state.state["resumes"] += 1
    train_batches = data_.batches(c.batch, c.steps_per_epoch,
                                  c.seed * 1000 + state.state["resumes"])
    val_context, val_truth = data_.validation(c.val_clips or (64 if stepwise else 16))
    peak_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    budget = Budget(c.minutes * 60, peak_lr, warmup=c.warmup,
                    ramp=c.ramp if stepwise else None, schedule=c.schedule,
                    elapsed=state.state["wall_seconds"], feedback_from=prior["feedback"])
    # A resumed run only replaces best.keras when it beats the best epoch before the resume.
    before = [row[BEST_BY] for row in read_log(run / "log.csv") if BEST_BY in row]
    callbacks = [
        RestoreMallocThresholds(),
        budget,
        ClosedLoopValidation(val_context, val_truth, data_.name),
        keras.callbacks.ModelCheckpoint(run / "best.keras", monitor=BEST_BY, mode="min",
                                        save_best_only=True,
                                        initial_value_threshold=min(before, default=None)),
        # Kept after a clean stop too, so `--resume` can extend a finished run later.
        keras.callbacks.BackupAndRestore(str(run / "backup"), delete_checkpoint=False),
        state,
        keras.callbacks.CSVLogger(run / "log.csv", append=True),
        *(extra_callbacks or []),
    ]
    if c.schedule == "plateau":           # the Keras examples' own schedule, for the baselines
        callbacks += [keras.callbacks.EarlyStopping(monitor="val_mse", mode="min", patience=30),
                      keras.callbacks.ReduceLROnPlateau(monitor="val_mse", mode="min",
                                                        factor=0.5, patience=10, min_lr=1e-5)]
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    interrupted = False
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    started = datetime.datetime.now(datetime.UTC)
    try:
        model.fit(train_batches, epochs=1_000_000, callbacks=callbacks, verbose=verbose)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: keeping the best weights so far", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        state.save()

    steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    if (run / "best.keras").exists():    # its weights and its optimizer state, iterations too
        model.load_weights(run / "best.keras")
    log = read_log(run / "log.csv")
    wall = state.state["wall_seconds"]
    this_run = {
        "config": {k: v for k, v in dataclasses.asdict(c).items() if v not in (None, {}, "")},
        "precision": policy, "hardware": hardware(), "note": c.note,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "stopped_by": "interrupt" if interrupted else "time budget" if budget.expired
        else "early stopping or epochs",
        "steps": steps,
        "sequences": state.state["sequences"], "epochs": state.state["epochs"],
        "resumes": state.state["resumes"], "wall_minutes": round(wall / 60, 1),
        "sequences_per_second": round(state.state["sequences"] / max(wall, 1e-9), 2),
        "validation_share": round(sum(r.get("val_seconds", 0) for r in log) / max(wall, 1e-9), 4),
        "objective": _objective(stepwise, c.ramp, options_loss(model), prior["feedback"]),
        "curve": [[int(r["sequences"]), round(r["val_mse"], 3)] for r in log
                  if "sequences" in r and "val_mse" in r],
    }
    runs = prior["runs"] + [this_run]
    summary = {
        "runs": runs,
        "steps": sum(r.get("steps", 0) for r in runs),
        "sequences_seen": sum(r.get("sequences", 0) for r in runs),
        "wall_minutes": round(sum(r.get("wall_minutes", 0) for r in runs), 1),
    }
    if stepwise:
        summary["feedback"] = float(keras.ops.convert_to_numpy(model.feedback))
    # Held-out metrics in float32, as users load it; the file carries no dtype policy.
    keras.config.set_dtype_policy("float32")
    served = models.build(c.recipe, data_.frame_size, **_model_options(model, c))
    served.set_weights(model.get_weights())
    context, truth = data_.test(c.test_clips)
    held_out = score(Predictor(served), data_.name, context, truth)
    described = {"data": data_.info} if data_.info else {}
    meta = saving.save(served, c.out, dataset=data_.name, context=data_.context,
                       parameters=int(served.count_params()), horizon=data_.horizon,
                       training=summary, metrics=held_out, **described)
    write_card(c.out, meta)
    return meta


def _model_options(model, c: TrainConfig) -> dict:
    options = dict(c.options)
    if c.recipe == "prophet":
        options.update(context=model.context, loss=options_loss(model), patch=model.patch,
                       hidden=model.hidden, depth=model.depth, kernel=model.kernel,
                       channels=model.channels)
    return options


def options_loss(model) -> str:
    loss = getattr(model, "loss", None)
    if isinstance(loss, models.BCEPlusSSIM):       # its weight travels in the options
        return "bce+ssim"
    name = getattr(loss, "__name__", None) or str(loss)
    return {"binary_crossentropy": "bce", "mean_squared_error": "mse",
            "_bce_plus_mse": "bce+mse"}.get(name, name)


def _start_from(model: keras.Model, source: keras.Model, seed: int | None = None) -> None:
    """Copy the weights of `source` into `model`; a Prophet with Keras' cell is fused first,
    and one narrower than `model` (`--options '{"hidden": 96}'`) is widened to the same
    function (`models.widened`)."""
    if isinstance(model, models.Prophet) and isinstance(source, models.Prophet):
        if model.hidden != source.hidden:
            source = models.widened(source, model.hidden, seed=seed)
        elif model.cell == "fused":
            source = models.with_fused_cells(source)
    model.set_weights(source.get_weights())


def average(paths: list[str | os.PathLike], out: str | os.PathLike) -> dict:
    """Stochastic weight averaging over the ends of runs that continue one another: write to
    `out` the mean of the weights of `paths`, each an earlier run's model of the last one's
    lineage (`--init` chains), and return its sidecar.

    Every continuation is a new cosine cycle that ends near its own point of the same basin;
    the mean of those points tends to lie lower in it than any one of them (Izmailov et al.,
    2018, "Averaging Weights Leads to Wider Optima"). Prophet's LayerNorms keep no batch
    statistics, so the mean needs nothing recomputed. The sidecar is the newest model's, its
    last run noting which runs' ends were averaged in, and carries no held-out metrics: the
    average has not been evaluated (`make ship` does that).
    """
    paths = [Path(p) for p in paths]
    out = Path(out)
    if len(paths) < 2:
        raise ValueError("average needs at least two model files: the ends of earlier runs, "
                         "then the newest")
    if out.suffix != ".keras" or any(out.resolve() == p.resolve() for p in paths):
        raise ValueError(f"--out must name a new .keras file, not one being averaged: {out}")
    loaded = [saving.load(p) for p in paths]
    newest, meta = loaded[-1]
    runs = _prior_runs(meta)["runs"]
    starts = [r.get("started") for r in runs]
    averaged_with = []
    for path, (model, side) in zip(paths[:-1], loaded[:-1], strict=True):
        own = [r.get("started") for r in _prior_runs(side)["runs"]]
        if not own or None in own or len(own) >= len(starts) or starts[:len(own)] != own:
            raise saving.ModelFileError(
                f"{path}: not the end of an earlier run of {paths[-1]}; average only models "
                "that continue one another (--init), the newest last")
        if [w.shape for w in model.weights] != [w.shape for w in newest.weights]:
            raise saving.ModelFileError(f"{path}: its weights have other shapes than "
                                        f"{paths[-1]}'s")
        averaged_with.append({"run": len(own), "file": str(path), "sha256": side.get("sha256")})
    newest.set_weights([np.mean(ws, axis=0, dtype=np.float64).astype(ws[0].dtype)
                        for ws in zip(*(m.get_weights() for m, _ in loaded), strict=True)])
    runs = [*runs[:-1], {**runs[-1], "averaged_with": averaged_with}]
    info = {k: v for k, v in meta.items()
            if k not in ("recipe", "frame_size", "file", "sha256", "keras_version", "metrics")}
    info["training"] = {**info["training"], "runs": runs}
    meta = saving.save(newest, out, **info)
    write_card(out, meta)
    return meta


def _prior_runs(sidecar: dict) -> dict:
    """What the sidecar of `--init` says about the runs that led to its weights."""
    training = sidecar.get("training", {})
    runs = training.get("runs")
    if runs is None and training:           # a sidecar from before runs were listed
        runs = [{"steps": training.get("steps", 0),
                 "sequences": training.get("sequences_seen", 0),
                 "wall_minutes": training.get("wall_minutes", 0),
                 "hardware": training.get("hardware"), "note": training.get("note"),
                 "objective": training.get("objective"), "curve": []}]
    runs = runs or []
    return {"runs": runs, "sequences": sum(r.get("sequences", 0) for r in runs),
            "feedback": float(training.get("feedback") or 0.0)}


def _objective(stepwise: bool, ramp: float, loss: str, feedback_from: float = 0.0) -> str:
    if not stepwise:
        return f"one-step {loss} (the recipe's own)"
    if ramp <= 0:
        return f"one-step {loss} on every output frame (teacher forcing only, no feedback)"
    if feedback_from >= 1.0:
        return f"closed-loop {loss} on every output frame, full feedback throughout"
    return (f"closed-loop {loss} on every output frame, scheduled sampling from feedback "
            f"{feedback_from:.2g} to full at {ramp:.0%} of the budget")


def read_log(path: Path) -> list[dict]:
    """Rows of a CSVLogger file as dicts of floats ([] when there is none yet)."""
    import csv

    if not path.exists():
        return []
    with open(path) as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(f)]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
