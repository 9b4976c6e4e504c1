"""Training as several processes, on one machine or many, on Keras' own distribution API.

`train --coordinator HOST:PORT --num-processes N --process-id I` joins process I to a run of N
(`keras.distribution.initialize`, JAX only in released Keras) and trains one model with the
others: a `DataParallel` distribution over every process's devices, each process feeding its own
shard of the data (`--batch` sequences a step, so a step's global batch is N x `--batch`). Under
Slurm (`srun`) or Open MPI (`mpirun`) the count and the number come from the launcher's
variables, and the coordinator from `$FRAMEPROPHET_COORDINATOR` or JAX's own detection.
`train --processes N` starts N such processes on this machine (`frameprophet.launch`).

Process 0 alone writes: its run folder, checkpoints, backup, log, the model, sidecar and card.
It runs the run's callbacks on its own copy of the model (`Together`), and what they decide (the
weights a resume starts from, the learning rate, the feedback, when to stop) reaches every process
through collectives. A worker that dies ends the others within `QUIET` seconds (`Pulse`), each
saying which one; the last good model stays (every save is written aside, then renamed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

EVERY, QUIET = 2.0, 20.0      # seconds between pulses; a worker silent this long is gone
WHY_JAX = ("keras.distribution, which Keras runs under JAX only (TensorFlow's "
           "MultiWorkerMirroredStrategy fails with Keras 3, keras-team/keras#20585)")


# -- who is who -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cluster:
    """This process's place in a run: `processes` in all, this one `index` (0 writes)."""

    processes: int = 1
    index: int = 0
    coordinator: str | None = None

    @property
    def several(self) -> bool:
        return self.processes > 1

    @property
    def leader(self) -> bool:
        return self.index == 0

    def seed(self, seed: int) -> int:
        """This process's data seed: process 0 keeps the run's, the others draw their own."""
        if self.leader:
            return seed
        return int(np.random.SeedSequence([seed, self.index]).generate_state(1)[0])

    def agree(self, value: int) -> int:
        """Process 0's `value`, in every process."""
        if not self.several:
            return value
        from jax.experimental import multihost_utils

        return int(multihost_utils.broadcast_one_to_all(np.int64(value)))


SINGLE = Cluster()

# The launchers' own variables: (processes, this process's number).
LAUNCHERS = (("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),            # srun
             ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),    # Open MPI's mpirun
             ("PMI_SIZE", "PMI_RANK"))                            # MPICH, Intel MPI


def cluster_of(config, environ=os.environ) -> Cluster:
    """Where this process stands: the flags, else Keras' variables, else a launcher's."""
    def number(text, what):
        try:
            return int(text)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a whole number, got {text!r}") from None

    count, index = config.num_processes, config.process_id
    coordinator = config.coordinator or environ.get("FRAMEPROPHET_COORDINATOR") or (
        environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES", "").split(",")[0] or None)
    pairs = (("KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_PROCESS_ID"), *LAUNCHERS)
    for size_name, rank_name in pairs:
        if count is None and index is None and size_name in environ and rank_name in environ:
            count, index = number(environ[size_name], size_name), number(environ[rank_name],
                                                                         rank_name)
    if count is None and index is None:
        return Cluster(1, 0, coordinator) if config.coordinator is None else Cluster(
            config.processes, None, coordinator)      # refused by `check`: no --process-id
    return Cluster(count if count is not None else config.processes, index, coordinator)


def check(config, environ=os.environ) -> Cluster:
    """Refuse a run these processes cannot make, in one sentence; returns this one's place."""
    if config.processes < 1:
        raise ValueError(f"--processes must be at least 1, got {config.processes}")
    cluster = cluster_of(config, environ)
    if cluster.index is None or (config.num_processes is None) != (config.process_id is None):
        raise ValueError("--coordinator, --num-processes and --process-id go together: process "
                         "I of N names process 0's HOST:PORT and both numbers (or none, under "
                         "srun or mpirun)")
    if cluster.processes < 1 or not 0 <= cluster.index < cluster.processes:
        raise ValueError(f"--process-id is a number from 0 to --num-processes - 1, got "
                         f"{cluster.index} of {cluster.processes}")
    if config.processes > 1 and cluster.several:
        raise ValueError("--processes N starts N processes here; a process started by srun, "
                         "mpirun or --num-processes is one of them already: drop --processes")
    if not cluster.several and config.processes == 1:
        return cluster
    if cluster.several and cluster.coordinator is None and not any(
            size in environ for size, _ in LAUNCHERS):
        raise ValueError("a run of several processes needs process 0's address: --coordinator "
                         "HOST:PORT or $FRAMEPROPHET_COORDINATOR (srun and mpirun give it)")
    host, _, port = (cluster.coordinator or "").rpartition(":")
    if cluster.several and cluster.coordinator is not None and not (host and port.isdigit()):
        raise ValueError(f"--coordinator is process 0's HOST:PORT (e.g. 10.0.0.1:12345), got "
                         f"{cluster.coordinator!r}")
    if keras.backend.backend() != "jax":
        raise ValueError(f"--processes and --coordinator train on {WHY_JAX}, and this is "
                         f"{keras.backend.backend()}: set KERAS_BACKEND=jax")
    if config.strategy:
        raise ValueError("--strategy spreads one process over its GPUs; with --processes or "
                         "--coordinator every process's devices join one run already: drop it")
    return cluster


# -- joining and leaving ----------------------------------------------------------------------

@contextlib.contextmanager
def worker(cluster: Cluster, run: Path, hold: Callable):
    """The life of one process of a run: it joins the others, trains (process 0 holding the run
    folder: `hold(run)`), and waits for process 0 to finish writing. An error ends it at once,
    in one sentence (`os._exit`: JAX's own exit would wait minutes for a worker that is gone)."""
    if not cluster.several:
        with hold(run):
            yield
        return
    import jax

    # Gloo: the CPU collectives of multi-process JAX (NCCL on GPUs needs nothing set).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize(cluster.coordinator, cluster.processes, cluster.index)
    keras.distribution.set_distribution(keras.distribution.DataParallel(
        auto_shard_dataset=False))    # each process feeds its own shard (`Cluster.seed`)
    pulse = Pulse(cluster, run)
    pulse.start()
    try:
        with hold(run) if cluster.leader else contextlib.nullcontext():
            yield
    except BaseException as error:       # noqa: B036 (Ctrl-C too ends every process now)
        pulse.fail(error)
    pulse.finish()


class Pulse(threading.Thread):
    """Each process's pulse in the coordinator's key-value store: every `EVERY` seconds it
    counts up its own key and reads the others'. A worker whose count stood still for `QUIET`
    seconds is gone, and so is process 0 when the store stops answering: this process then says
    which in one sentence and ends, whatever it was waiting for."""

    def __init__(self, cluster: Cluster, run: Path):
        super().__init__(daemon=True, name="frameprophet-pulse")
        # The client JAX joined with: JAX has no public handle on it.
        from jax._src import distributed

        self.client = distributed.global_state.client
        self.cluster, self.folder = cluster, run
        self.stopped = threading.Event()
        self.seen = {k: (None, time.monotonic()) for k in range(cluster.processes)}
        self.answered = time.monotonic()

    def run(self):
        beat = 0
        while not self.stopped.wait(EVERY):
            beat += 1
            with contextlib.suppress(Exception):     # a store that fails is timed below
                self.client.key_value_set(f"frameprophet/pulse/{self.cluster.index}",
                                          str(beat), allow_overwrite=True)
                pulses = dict(self.client.key_value_dir_get("frameprophet/pulse/"))
                self.answered = now = time.monotonic()
                for k, (count, _) in list(self.seen.items()):
                    if pulses.get(f"frameprophet/pulse/{k}") != count:
                        self.seen[k] = (pulses.get(f"frameprophet/pulse/{k}"), now)
            gone = self.gone()
            if gone is not None and not self.stopped.is_set():
                self.end(gone)

    def gone(self) -> int | None:
        """The worker that stopped answering, if one did."""
        now = time.monotonic()
        if now - self.answered > QUIET:
            return 0
        late = [k for k, (_, when) in self.seen.items()
                if k != self.cluster.index and now - when > QUIET]
        return late[0] if late else None

    def end(self, gone: int) -> None:
        where = ("its best epoch so far is" if self.cluster.leader
                 else "process 0's best epoch so far is")
        say(f"error: worker {gone} of {self.cluster.processes} stopped answering (it ended or "
            f"its machine is unreachable), so worker {self.cluster.index} ends too: {where} "
            f"{self.folder / 'best.keras'}, and the same command with --resume continues the run")
        os._exit(1)

    def fail(self, error: BaseException) -> None:
        """End this process after `error`: a worker gone (a collective failed) is named once
        the pulses show which; any other error is this process's own."""
        deadline = time.monotonic() + QUIET + 2 * EVERY
        lost = any(w in str(error).lower() for w in ("gloo", "connection", "unavailable"))
        while lost and time.monotonic() < deadline:
            if (gone := self.gone()) is not None:
                self.end(gone)
            time.sleep(0.5)
        text = str(error) or type(error).__name__
        say(f"error: worker {self.cluster.index} of {self.cluster.processes} stopped: {text}")
        os._exit(130 if isinstance(error, KeyboardInterrupt) else 2)

    def finish(self) -> None:
        """Process 0 says it is done writing; the others wait for that before they leave (JAX
        ends every process whose partner disappears)."""
        done = "frameprophet/done"
        if self.cluster.leader:
            self.stopped.set()
            self.client.key_value_set(done, "1", allow_overwrite=True)
            return
        while True:                        # process 0 may score the test clips for minutes
            with contextlib.suppress(Exception):
                self.client.blocking_key_value_get(done, int(EVERY * 1000))
                break
        self.stopped.set()


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
    sys.stdout.flush()


@contextlib.contextmanager
def alone():
    """No distribution inside: what process 0 does by itself (its callbacks, saving, scoring)
    builds its variables on its own device, where no other process need take part."""
    before = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(before)


def twin(cluster: Cluster, model: keras.Model, build: Callable[[], keras.Model]) -> keras.Model:
    """The model process 0 validates, checkpoints and saves: `model` itself in a run of one,
    else a copy on its own device (`build()` outside the distribution)."""
    if not (cluster.several and cluster.leader):
        return model
    with alone():
        return build()


# -- the data ---------------------------------------------------------------------------------

def file_shard(found, cluster: Cluster):
    """The `batches(batch, steps, seed)` of this process's share of `--data`: every N-th
    training file, starting at file I (the held-out files are process 0's, to score)."""
    from frameprophet import videos

    if not cluster.several:
        return found.batches
    train_files = [f for f in found.files if not f["held_out"]]
    mine = train_files[cluster.index::cluster.processes]
    starts = np.asarray([f["start"] + s for f in mine
                         for s in range(0, f["frames"] - found.length + 1)], np.int64)
    if not len(starts):
        raise ValueError(f"--data has {len(train_files)} training files with windows of "
                         f"{found.length} frames, too few for {cluster.processes} processes "
                         "that split them by file: use fewer processes or more clips")
    return lambda batch, steps, seed: videos.WindowBatches(found, starts, batch, steps,
                                                           cluster.seed(seed))


def in_turn(cluster: Cluster, read: Callable, *args):
    """`read(*args)` in process 0 first, then in the others (a decode cache is written once)."""
    if not cluster.several:
        return read(*args)
    from jax.experimental import multihost_utils

    if cluster.leader:
        result = read(*args)
    multihost_utils.sync_global_devices("frameprophet: data read by process 0")
    return result if cluster.leader else read(*args)


def record(cluster: Cluster, batch: int, run: dict) -> dict:
    """A run's record for the sidecar with its layout: processes, devices and global batch (the
    flags that placed its processes are left out of its config)."""
    from frameprophet.launch import PLACEMENT

    try:
        devices = keras.distribution.list_devices()
    except Exception:           # a backend without device listing
        devices = []
    config = {k: v for k, v in run.get("config", {}).items() if k not in PLACEMENT}
    return {**run, "config": config, "processes": cluster.processes, "devices": devices,
            "global_batch": batch * cluster.processes}


# -- training in step -------------------------------------------------------------------------

def state_of(model: keras.Model) -> list:
    """Every variable a step reads or writes: weights, the feedback, seeds, the optimizer's."""
    return [*model.trainable_variables, *model.non_trainable_variables,
            *model.optimizer.variables]


class Together(keras.callbacks.Callback):
    """Keeps the processes of a run in step: the last callback of every process's `fit`.

    Process 0 runs the run's own callbacks (`inner`: the clock, validation, checkpoint, backup,
    counters, log) on `twin`, its copy of the model outside the distribution: a variable that
    one process writes alone waits for the others (JAX checks across processes that a value put
    on the mesh is the same everywhere). What they decide reaches every process through
    collectives at the same points: the weights at the start (a resumed backup), the learning
    rate and feedback at each epoch's start, and whether to stop at each step's end (the budget,
    a callback, or Ctrl-C / SIGTERM in any process, which all stop at the same step).
    """

    def __init__(self, cluster: Cluster, twin: keras.Model | None = None, inner=()):
        super().__init__()
        self.cluster, self.twin, self.inner = cluster, twin, list(inner)
        for callback in self.inner:
            callback.set_model(twin)
        self.asked, self.handlers = False, {}

    def set_params(self, params):
        super().set_params(params)
        for callback in self.inner:
            callback.set_params(params)

    def _inner(self, hook: str, *args) -> None:
        with alone():
            for callback in self.inner:
                getattr(callback, hook)(*args)

    def _broadcast(self, values):
        from jax.experimental import multihost_utils

        return multihost_utils.broadcast_one_to_all(values)

    def on_train_begin(self, logs=None):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.handlers[sig] = signal.signal(sig, self._ask)
        if self.cluster.leader:
            with alone():
                for mine, copy in zip(state_of(self.model), state_of(self.twin), strict=True):
                    copy.assign(np.asarray(mine.value))
            self._inner("on_train_begin", logs)
        source = self.twin if self.cluster.leader else self.model
        values = [np.asarray(v.value) for v in state_of(source)]
        epoch = np.int64(getattr(source, "_initial_epoch", None) or 0)
        values, epoch = self._broadcast((values, epoch))
        for variable, value in zip(state_of(self.model), values, strict=True):
            variable.assign(value)
        self.model._initial_epoch = int(epoch) or None     # where a resumed backup goes on

    def on_epoch_begin(self, epoch, logs=None):
        if self.cluster.leader:
            self._inner("on_epoch_begin", epoch, logs)
        source = self.twin if self.cluster.leader else self.model
        feedback = getattr(source, "feedback", None)
        lr, fb = self._broadcast(np.asarray([
            keras.ops.convert_to_numpy(source.optimizer.learning_rate),
            0.0 if feedback is None else keras.ops.convert_to_numpy(feedback)], np.float32))
        self.model.optimizer.learning_rate = float(lr)
        if feedback is not None:
            self.model.feedback.assign(float(fb))

    def on_train_batch_begin(self, batch, logs=None):
        if self.cluster.leader:
            self._inner("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        if self.cluster.leader:
            self._inner("on_train_batch_end", batch, logs)
        self._agree_to_stop()

    def on_epoch_end(self, epoch, logs=None):
        if self.cluster.leader:
            with alone():
                for mine, copy in zip(state_of(self.model), state_of(self.twin), strict=True):
                    copy.assign(np.asarray(mine.value))
            self._inner("on_epoch_end", epoch, logs)
        self._agree_to_stop()

    def on_train_end(self, logs=None):
        if self.cluster.leader:
            self._inner("on_train_end", logs)
        self._release()

    def _ask(self, signum, frame):
        self.asked = True

    def _release(self):
        for sig, handler in self.handlers.items():
            signal.signal(sig, handler)
        self.handlers = {}

    def _agree_to_stop(self) -> None:
        from jax.experimental import multihost_utils

        stop = bool(self.model.stop_training) or bool(
            self.twin is not None and getattr(self.twin, "stop_training", False))
        votes = multihost_utils.process_allgather(np.asarray([stop, self.asked], np.int32))
        self.model.stop_training = bool(np.any(votes[:, 0]))
        if np.any(votes[:, 1]):
            self._release()
            raise KeyboardInterrupt


def arrange(cluster: Cluster, twin: keras.Model, callbacks: list, extra) -> list:
    """The callbacks of process 0's `fit`: the run's own, then `extra` (a run of one); in a run
    of several, `extra` on the model and the run's own on `twin`, through `Together`."""
    if not cluster.several:
        return [*callbacks, *(extra or [])]
    return [*(extra or []), Together(cluster, twin, callbacks)]


def follow(model: keras.Model, batches, cluster: Cluster, extra=()) -> dict:
    """Train in step with process 0 (every process but 0); returns what it can say, having
    written nothing."""
    try:
        model.fit(batches, epochs=1_000_000, callbacks=[*(extra or []), Together(cluster)],
                  verbose=0)
    except KeyboardInterrupt:        # agreed by every process at the same step
        pass
    return {"process_id": cluster.index, "processes": cluster.processes,
            "steps": int(keras.ops.convert_to_numpy(model.optimizer.iterations))}
