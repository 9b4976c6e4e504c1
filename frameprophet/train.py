"""Training: `python -m frameprophet train --dataset mnist --minutes 120 --out weights/mnist.keras`.

A run is one `TrainConfig`; its fields are the CLI flags and the rows of the model card.

Data is generated on the fly from the train split only (Moving MNIST: `data.DIGIT_SPLIT`). The
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
import shutil
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from frameprophet import data, distributed, launch, models, saving, videos
from frameprophet.callbacks import (
    Backup,
    BestCheckpoint,
    Budget,
    ClosedLoopValidation,
    RestoreMallocThresholds,
    RunState,
    check_best,
    read_log,
)
from frameprophet.card import write_card
from frameprophet.data import VAL_SEED, clips, dataset_named
from frameprophet.evaluate import score
from frameprophet.hardware import check_choices, distribution_scope, hardware, resolve_precision
from frameprophet.lineage import check_init, continue_training, prior_runs, start_from
from frameprophet.predict import Predictor

BEST_BY = "val_goal_gap"      # the checkpoint kept: closest to the goal (lowest MSE without one)


# -- config -----------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """One training run. Each field is a CLI flag (`--steps-per-epoch`) and a row of the card."""

    dataset: str = field(default="mnist", metadata={"help": "squares, mnist or natural"})
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
    warmup: float = field(default=0.03, metadata={"help": "fraction of the budget to warm up"})
    ramp: float = field(default=0.3, metadata={
        "help": "prophet: fraction of the budget over which closed-loop feedback rises to 1 "
                "(0: one-step teacher forcing only)"})
    loss: str | None = field(default=None, metadata={
        "help": "prophet: bce, mse or bce+ssim"})
    precision: str = field(default="auto", metadata={
        "help": "auto (mixed_bfloat16 on a GPU or a CPU with AMX/AVX512-BF16), float32 or "
                "mixed_bfloat16"})
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
    processes: int = field(default=1, metadata={"help": "train as N processes of this machine "
                           "(JAX); each takes --batch a step, so the global batch is N x that"})
    coordinator: str | None = field(default=None, metadata={"help": "process 0's HOST:PORT, "
                                    "with --num-processes N --process-id I (see the README)"})
    num_processes: int | None = None
    process_id: int | None = None
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


def _check(c: TrainConfig) -> None:
    """Refuse a config that cannot train or cannot be saved, before the run folder (the last
    run's weights and backup) is wiped and before any of the budget is spent."""
    dataset_named(c.dataset)                          # a registered dataset, or says which
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
    for name, top in (("warmup", 0.9), ("ramp", 1)):
        value = getattr(c, name)
        if value is not None and not 0 <= value <= top:
            raise ValueError(f"--{name} is a fraction from 0 to {top}, got {value}")
    if c.lr is not None and not (math.isfinite(c.lr) and c.lr >= 0):
        raise ValueError(f"--lr must be a learning rate of 0 or more, got {c.lr}")
    if c.loss is not None and c.loss not in models.LOSSES:
        raise ValueError(f"loss must be one of {sorted(models.LOSSES)}, got {c.loss!r}")
    models.check_options(c.recipe, c.options)
    check_choices(c.strategy, c.precision)


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


# -- data -------------------------------------------------------------------------------------

class SequenceBatches(keras.utils.PyDataset):
    """A `keras.utils.PyDataset` of freshly generated (input, target) batches.

    Batch i of epoch e uses the seed (seed, e, i), so training sees new movies every epoch; with
    `fixed=True` the seed ignores the epoch, so a validation set is the same every time.
    """

    def __init__(self, dataset: str, batch_size: int, steps: int, frames: int | None = None,
                 seed: int = 0, split: str = "train", fixed: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.dataset, self.batch_size, self.steps = dataset, batch_size, steps
        self.frames = frames or data.dataset_named(dataset).frames
        self.seed, self.split, self.fixed, self.epoch = seed, split, fixed, 0
        data.make_pairs(dataset, 0, self.frames, 0, split)  # validate the arguments now

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < self.steps:
            raise IndexError(index)
        key = [self.seed, index] if self.fixed else [self.seed, self.epoch, index]
        seed = int(np.random.SeedSequence(key).generate_state(1)[0])
        return data.make_pairs(self.dataset, self.batch_size, self.frames, seed, self.split)

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


def training_data(c: TrainConfig, cluster=distributed.SINGLE) -> TrainingData:
    """The data of a run (each process of a `cluster`: its own seeds, or its files of `--data`):
    `--data` read (once, cached) by `videos.load`, else `--dataset`; `train` fills in defaults."""
    if c.data is None:
        d = dataset_named(c.dataset)
        return TrainingData(
            c.dataset, d.frame_size, d.context, d.horizon, d.channels,
            batches=lambda batch, steps, seed: SequenceBatches(
                c.dataset, batch, steps, frames=d.frames, seed=cluster.seed(seed)),
            validation=lambda n: clips(c.dataset, n, seed=VAL_SEED, split="train"),
            test=lambda n: clips(c.dataset, n))                  # held-out test split
    found = videos.load(c.data, (c.frame_size, c.frame_size), c.context, c.horizon,
                        channels=None if c.recipe == "prophet" else 1,   # the examples are grey
                        holdout=c.holdout)
    # Validation and the final score both read the held-out files' windows.
    return TrainingData(videos.DATASET, found.frame_size, found.context, found.horizon,
                        found.channels, batches=distributed.file_shard(found, cluster),
                        validation=found.held_out, test=found.held_out, info=found.info())


# -- model ------------------------------------------------------------------------------------

def _build_options(c: TrainConfig, data_: TrainingData, source: keras.Model | None) -> dict:
    """The recipe options of the model to build: `--options`, the data's context and channels,
    `--loss`, and (with `--init`) the shape of the model it continues unless told otherwise."""
    options = dict(c.options)
    if c.recipe != "prophet":
        return options
    options.setdefault("context", data_.context)
    options.setdefault("seed", c.seed)
    options["channels"] = data_.channels
    if c.loss:
        options["loss"] = c.loss
    if isinstance(source, models.Prophet):    # --init keeps its shape unless told
        check_init(source, options, data_.channels)
        for key in ("patch", "hidden", "depth", "kernel", "blend"):
            options.setdefault(key, getattr(source, key))
    return options


def options_loss(model) -> str:
    loss = getattr(model, "loss", None)
    if isinstance(loss, models.BCEPlusSSIM):       # its weight travels in the options
        return "bce+ssim"
    name = getattr(loss, "__name__", None) or str(loss)
    return {"binary_crossentropy": "bce", "mean_squared_error": "mse"}.get(name, name)


# -- the run: config checked, data, model, fit, save -----------------------------------------

def train(config: TrainConfig, verbose: int | str = "auto",
          extra_callbacks: list[keras.callbacks.Callback] | None = None) -> dict:
    """Train `config.recipe` on `config.dataset` within `config.minutes`; returns the sidecar."""
    c = config
    _check(c)
    _check_data(c)
    cluster = distributed.check(c)
    run = Path(c.run_dir or Path("runs") / Path(c.out).stem)
    if c.processes > 1 and not cluster.several:
        return launch.launch(c, run)     # N workers of this command; process 0's sidecar
    with distributed.worker(cluster, run, _only_run_in):
        policy = resolve_precision(c.precision)      # after joining: it asks for the devices
        previous_policy = keras.config.dtype_policy().name
        # `--init` is read once, before the run folder is wiped (it may be that folder's
        # best.keras) and before the policy is set (the file has none; it loads as float32).
        source, source_side = saving.load(c.init) if c.init else (None, {})
        prior = prior_runs(source_side)
        c = continue_training(c, prior["runs"])
        if c.data is not None:           # the card shows every value
            c = dataclasses.replace(
                c, dataset=videos.DATASET, context=c.context or videos.CONTEXT,
                horizon=c.horizon or videos.HORIZON, frame_size=c.frame_size or videos.FRAME_SIZE,
                holdout=videos.HOLDOUT if c.holdout is None else c.holdout)
        data_ = distributed.in_turn(cluster, training_data, c, cluster)  # refused before the wipe
        options = _build_options(c, data_, source)
        if cluster.leader and not c.resume and run.exists():
            shutil.rmtree(run)
        run.mkdir(parents=True, exist_ok=True)

        keras.config.set_dtype_policy(policy)
        try:
            with distribution_scope(c.strategy):
                model = _build(c, data_, options)
            if source is not None:
                start_from(model, source, seed=c.seed)
            twin = distributed.twin(cluster, model, lambda: _build(c, data_, options))
            summary = _fit(c, model, twin, run, prior, verbose, extra_callbacks, policy, data_,
                           cluster)
            with distributed.alone():     # process 0 scores and saves by itself
                return _save(c, twin, data_, options, summary) if cluster.leader else summary
        finally:
            keras.config.set_dtype_policy(previous_policy)
            if (c.strategy or cluster.several) and keras.backend.backend() == "jax":
                keras.distribution.set_distribution(None)


def _build(c: TrainConfig, data_: TrainingData, options: dict) -> keras.Model:
    """A new model of the run; its optimizer's slots are built here, not by the first step: a
    step that creates them is traced twice by tf.function (~8 s of start-up for a tiny model)."""
    model = models.build(c.recipe, data_.frame_size, **options)
    if c.lr is not None:
        model.optimizer.learning_rate = c.lr
    model.optimizer.build(model.trainable_variables)
    return model


def _callbacks(c: TrainConfig, model, run: Path, state: RunState, budget: Budget,
               data_: TrainingData) -> list[keras.callbacks.Callback]:
    """What runs around every epoch: the clock, closed-loop validation, the checkpoint of the
    epoch closest to the goal, the backup `--resume` restores, the counters and the log."""
    val_context, val_truth = data_.validation(
        c.val_clips or (64 if models.is_stepwise(model) else 16))
    # A resumed run only replaces best.keras when it beats the best epoch before the resume
    # (any epoch, when a kill left it damaged: `check_best` sets it aside and says so).
    rows = read_log(run / "log.csv") if check_best(run) else []
    before = [row[BEST_BY] for row in rows if BEST_BY in row]
    callbacks = [
        RestoreMallocThresholds(),
        budget,
        ClosedLoopValidation(val_context, val_truth, data_.name),
        BestCheckpoint(run / "best.keras", BEST_BY, min(before, default=None)),
        # Kept after a clean stop too, so `--resume` can extend a finished run later.
        Backup(run / "backup"),
        state,
        keras.callbacks.CSVLogger(run / "log.csv", append=True),
    ]
    return callbacks


def _fit(c: TrainConfig, model, twin, run: Path, prior: dict, verbose, extra_callbacks, policy,
         data_: TrainingData, cluster: distributed.Cluster = distributed.SINGLE) -> dict:
    """Fit until the budget is spent (or Ctrl-C / SIGTERM), load the best epoch's weights into
    `twin` and return the `training` summary of the sidecar: this run added to those before it."""
    stepwise = models.is_stepwise(model)
    state = RunState(run / "state.json", c.batch * cluster.processes, prior["sequences"])
    if c.resume:
        state.state["resumes"] += 1
    train_batches = data_.batches(c.batch, c.steps_per_epoch,     # process 0's count of resumes
                                  c.seed * 1000 + cluster.agree(state.state["resumes"]))
    if not cluster.leader:
        return distributed.follow(model, train_batches, cluster, extra_callbacks)
    peak_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    budget = Budget(c.minutes * 60, peak_lr, warmup=c.warmup,
                    ramp=c.ramp if stepwise else None,
                    elapsed=state.state["wall_seconds"], feedback_from=prior["feedback"])
    callbacks = distributed.arrange(cluster, twin, _callbacks(c, twin, run, state, budget, data_),
                                    extra_callbacks)
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
    with distributed.alone():
        if (run / "best.keras").exists():   # its weights and its optimizer state, iterations too
            twin.load_weights(run / "best.keras")
    stopped_by = ("interrupt" if interrupted else "time budget" if budget.expired
                  else "early stopping or epochs")
    this_run = distributed.record(cluster, c.batch, _run_record(
        c, twin, run, state.state, prior, policy, started, stopped_by, steps))
    runs = prior["runs"] + [this_run]
    summary = {
        "runs": runs,
        "steps": sum(r.get("steps", 0) for r in runs),
        "sequences_seen": sum(r.get("sequences", 0) for r in runs),
        "wall_minutes": round(sum(r.get("wall_minutes", 0) for r in runs), 1),
    }
    if stepwise:
        summary["feedback"] = float(keras.ops.convert_to_numpy(twin.feedback))
    return summary


def _run_record(c: TrainConfig, model, run: Path, state: dict, prior: dict, policy: str,
                started: datetime.datetime, stopped_by: str, steps: int) -> dict:
    """This run as the sidecar lists it: its config, machine, counters, objective and curve."""
    log = read_log(run / "log.csv")
    wall = state["wall_seconds"]
    return {
        "config": {k: v for k, v in dataclasses.asdict(c).items() if v not in (None, {}, "")},
        "precision": policy, "hardware": hardware(), "note": c.note,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "stopped_by": stopped_by,
        "steps": steps,
        "sequences": state["sequences"], "epochs": state["epochs"],
        "resumes": state["resumes"], "wall_minutes": round(wall / 60, 1),
        "sequences_per_second": round(state["sequences"] / max(wall, 1e-9), 2),
        "validation_share": round(sum(r.get("val_seconds", 0) for r in log) / max(wall, 1e-9), 4),
        "objective": _objective(models.is_stepwise(model), c.ramp, options_loss(model),
                                prior["feedback"]),
        "curve": [[int(r["sequences"]), round(r["val_mse"], 3)] for r in log
                  if "sequences" in r and "val_mse" in r],
    }


def _save(c: TrainConfig, model, data_: TrainingData, options: dict, summary: dict) -> dict:
    """Score the weights on held-out test clips in float32, as users load them (the file
    carries no dtype policy), and write `--out` with its sidecar and card; returns the sidecar.
    The float32 twin is built from the `options` the model was built from."""
    keras.config.set_dtype_policy("float32")
    served = models.build(c.recipe, data_.frame_size, **options)
    served.set_weights(model.get_weights())
    context, truth = data_.test(c.test_clips)
    held_out = score(Predictor(served), data_.name, context, truth)
    described = {"data": data_.info} if data_.info else {}
    meta = saving.save(served, c.out, dataset=data_.name, context=data_.context,
                       parameters=int(served.count_params()), horizon=data_.horizon,
                       training=summary, metrics=held_out, **described)
    write_card(c.out, meta)
    return meta


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


def _objective(stepwise: bool, ramp: float, loss: str, feedback_from: float = 0.0) -> str:
    if not stepwise:
        return f"one-step {loss} (the recipe's own)"
    if ramp <= 0:
        return f"one-step {loss} on every output frame (teacher forcing only, no feedback)"
    if feedback_from >= 1.0:
        return f"closed-loop {loss} on every output frame, full feedback throughout"
    return (f"closed-loop {loss} on every output frame, scheduled sampling from feedback "
            f"{feedback_from:.2g} to full at {ramp:.0%} of the budget")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
