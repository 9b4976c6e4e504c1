"""Training as several processes (`frameprophet.distributed`, `frameprophet.launch`): where a
process stands, what is refused, each process's share of the data; and, with two JAX processes
on this machine joined through gloo, the same weights as one process, one model written by
both forms of the command, and a killed worker that ends the run.

The runs are tiny (a prophet of hidden 8, depth 1; a step or two): most of their time is two
JAX start-ups and compilations. This file runs itself as the worker of the weights test
(`python tests/test_distributed.py FOLDER N I PORT`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_PROPHET

ROOT = Path(__file__).parent.parent
# A run of a step or two of squares (40x40: its protocol's size), written to FOLDER.
TINY_RUN = ["--dataset", "squares", "--batch", "2", "--steps-per-epoch", "2", "--val-clips", "2",
            "--test-clips", "2", "--ramp", "0.5", "--precision", "float32",
            "--options", json.dumps(TINY_PROPHET)]


def jax_env() -> dict:
    return {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONUNBUFFERED": "1"}


def train_command(folder: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "frameprophet", "train", *TINY_RUN,
            "--out", str(folder / "tiny.keras"), "--run-dir", str(folder / "run"), *flags]


def config(**kwargs):
    from frameprophet.train import TrainConfig

    return TrainConfig(**kwargs)


# -- where a process stands, and what is refused ----------------------------------------------

def test_a_process_finds_its_place_in_flags_then_keras_then_the_launchers_variables():
    from frameprophet.distributed import SINGLE, Cluster, cluster_of

    assert cluster_of(config(), {}) == SINGLE
    flags = config(coordinator="h:1", num_processes=3, process_id=2)
    assert cluster_of(flags, {"SLURM_STEP_NUM_TASKS": "8", "SLURM_PROCID": "5"}) == Cluster(
        3, 2, "h:1")
    assert cluster_of(config(), {"SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "1",
                                 "FRAMEPROPHET_COORDINATOR": "node7:4000"}) == Cluster(
        4, 1, "node7:4000")
    assert cluster_of(config(), {"OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0"}) == (
        Cluster(2, 0, None))              # JAX finds Open MPI's coordinator itself
    keras_vars = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": "a:1,b:2",
                  "KERAS_DISTRIBUTION_NUM_PROCESSES": "2", "KERAS_DISTRIBUTION_PROCESS_ID": "1",
                  "PMI_SIZE": "9", "PMI_RANK": "3"}
    assert cluster_of(config(), keras_vars) == Cluster(2, 1, "a:1")


@pytest.mark.parametrize("kwargs, environ, words", [
    ({"processes": 0}, {}, "--processes must be at least 1"),
    ({"coordinator": "h:1"}, {}, "go together"),
    ({"coordinator": "h:1", "num_processes": 2, "process_id": 2}, {}, "from 0 to"),
    ({"processes": 2}, {"SLURM_STEP_NUM_TASKS": "2", "SLURM_PROCID": "0"}, "drop --processes"),
    ({"num_processes": 2, "process_id": 0}, {}, "needs process 0's address"),
    ({"coordinator": "nohost", "num_processes": 2, "process_id": 0}, {}, "HOST:PORT"),
])
def test_a_placement_that_cannot_work_is_refused_in_one_sentence(kwargs, environ, words):
    from frameprophet.distributed import check

    with pytest.raises(ValueError, match=words) as refused:
        check(config(**kwargs), environ)
    assert not re.search(r"[.!?]\s+[A-Z]", str(refused.value))     # one sentence


def test_other_backends_are_refused_saying_why():
    import keras

    from frameprophet import train

    if keras.backend.backend() == "jax":
        pytest.skip("this process runs JAX, which trains as several processes")
    with pytest.raises(ValueError, match="JAX only .*keras-team/keras#20585.*KERAS_BACKEND=jax"):
        train.train(config(processes=2, out="never/written.keras"))
    assert not Path("never").exists()


def test_the_launcher_gives_each_worker_the_same_command():
    import argparse

    from frameprophet import launch, train

    c = config(dataset="squares", batch=3, resume=True, options=TINY_PROPHET, note="a b",
               processes=2)
    flags = launch.command_line(c)
    assert "--processes" not in flags and "--resume" in flags
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    again = train.config_from_args(parser.parse_args(flags))
    assert again == config(dataset="squares", batch=3, resume=True, options=TINY_PROPHET,
                           note="a b")


# -- each process's share ---------------------------------------------------------------------

def test_each_process_draws_its_own_data_and_process_0_the_runs():
    from frameprophet.distributed import Cluster

    assert Cluster(2, 0).seed(7) == 7
    assert len({Cluster(3, i).seed(7) for i in range(3)}) == 3


def test_a_folder_of_clips_is_split_by_file():
    from frameprophet import videos
    from frameprophet.distributed import Cluster, file_shard

    files = [{"name": f"{k}.gif", "start": 10 * k, "frames": 10, "held_out": k == 4}
             for k in range(5)]
    found = videos.VideoData("clips", np.zeros((50, 8, 8, 3), np.uint8), files, [], 3, 2, 1, "")
    share = file_shard(found, Cluster(2, 1))(2, 1, 0)
    assert sorted({int(s) // 10 for s in share.starts}) == [1, 3]     # files 1 and 3
    with pytest.raises(ValueError, match="too few for 5 processes"):
        file_shard(found, Cluster(5, 4))


def test_the_record_and_the_card_say_processes_devices_and_global_batch():
    from frameprophet import card
    from frameprophet.distributed import Cluster, record

    run = record(Cluster(2, 0, "h:1"), 3, {"config": {"batch": 3, "coordinator": "h:1",
                                                      "num_processes": 2, "process_id": 0}})
    assert run["config"] == {"batch": 3}
    assert run["processes"] == 2 and run["global_batch"] == 6
    run["devices"] = ["cpu:0", "cpu:2048"]
    text = card.card_text({"training": {"runs": [run]}}, "m")
    assert "global batch of 6 sequences (3 from each) in 2 processes on 2 devices" in text


# -- two JAX processes on this machine --------------------------------------------------------

def step_in_step(folder: Path, n: int, i: int, port: int) -> None:
    """The weights test's worker: process `i` of `n` trains a tiny prophet on its rows of a
    fixed global batch of 4 for two epochs of two steps and saves what it ends with."""
    import contextlib

    import keras

    from frameprophet import distributed, models

    cluster = (distributed.Cluster(n, i, f"127.0.0.1:{port}") if n > 1
               else distributed.SINGLE)
    rng = np.random.default_rng(0)
    x = rng.random((8, 7, 16, 16, 1), np.float32)
    y = rng.random((8, 7, 16, 16, 1), np.float32)
    share = 4 // n

    class Rows(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, step):
            rows = slice(4 * step + i * share, 4 * step + (i + 1) * share)
            return x[rows], y[rows]

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch >= 1

    def build():
        keras.utils.set_random_seed(0)
        model = models.build("prophet", (16, 16), context=4, seed=0, **TINY_PROPHET)
        model.optimizer.build(model.trainable_variables)
        return model

    with distributed.worker(cluster, folder, contextlib.nullcontext):
        model = build()
        twin = distributed.twin(cluster, model, build)
        if cluster.leader:
            model.fit(Rows(), epochs=100, verbose=0,
                      callbacks=distributed.arrange(cluster, twin, [], [StopAfterTwo()]))
        else:
            distributed.follow(model, Rows(), cluster)
        mine = twin if cluster.leader else model
        np.savez(folder / f"weights-{n}-{i}.npz",
                 *[np.asarray(v.value) for v in distributed.state_of(mine)])


@pytest.mark.slow
def test_two_processes_make_the_weights_of_one(tmp_path):
    from conftest import free_port

    port = free_port()
    runs = [[sys.executable, __file__, str(tmp_path), "1", "0", "0"]] + [
        [sys.executable, __file__, str(tmp_path), "2", str(i), str(port)] for i in range(2)]
    started = [subprocess.Popen(cmd, env=jax_env(), cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for cmd in runs]
    for process in started:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out[-3000:]
    one, *two = (np.load(tmp_path / f"weights-{n}-{i}.npz")
                 for n, i in ((1, 0), (2, 0), (2, 1)))
    assert len(one.files) == len(two[0].files) > 10
    for key in one.files:
        assert np.abs(one[key] - two[0][key]).max() <= 1e-5, key
        assert np.array_equal(two[0][key], two[1][key]), key


def check_written(folder: Path, out: str) -> None:
    """One model, written by process 0, that loads, predicts and records its 2 processes."""
    from frameprophet import load_predictor, saving

    predictor = load_predictor(str(folder / "tiny.keras"))
    assert predictor.rollout(np.zeros((7, 40, 40, 1), np.float32), 3).shape == (3, 40, 40, 1)
    run = saving.read_sidecar(folder / "tiny.keras")["training"]["runs"][-1]
    assert run["processes"] == 2 and run["global_batch"] == 4 and len(run["devices"]) == 2
    assert "coordinator" not in run["config"] and run["stopped_by"] == "time budget"
    assert "in 2 processes on 2 devices" in (folder / "tiny.md").read_text()
    assert "wrote" in out and "held-out closed-loop MSE" in out


@pytest.mark.slow
def test_processes_2_writes_one_model(tmp_path):
    done = subprocess.run(train_command(tmp_path, "--processes", "2", "--minutes", "0.1"),
                          env=jax_env(), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "training as 2 processes" in done.stdout
    check_written(tmp_path, done.stdout)


@pytest.mark.slow
def test_two_commands_with_a_coordinator_write_one_model(tmp_path):
    from conftest import free_port

    port = free_port()
    started = [subprocess.Popen(
        train_command(tmp_path, "--minutes", "0.1", "--coordinator", f"127.0.0.1:{port}",
                      "--num-processes", "2", "--process-id", str(i)),
        env=jax_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)]
    outs = [process.communicate(timeout=900) for process in started]
    for process, (_, err) in zip(started, outs, strict=True):
        assert process.returncode == 0, err[-3000:]
    check_written(tmp_path, outs[0][0])
    assert "worker 1 of 2 done" in outs[1][0]


@pytest.mark.slow
def test_a_killed_worker_ends_the_run_and_leaves_the_last_good_model(tmp_path):
    from frameprophet import saving

    log = tmp_path / "launcher.log"
    with open(log, "w") as sink:
        launcher = subprocess.Popen(train_command(tmp_path, "--processes", "2", "--minutes", "10"),
                                    env=jax_env(), cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                    text=True)
    try:
        best = tmp_path / "run" / "best.keras"
        deadline = time.monotonic() + 600
        while not best.exists() and launcher.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
        assert best.exists(), log.read_text()[-3000:]
        pids = log.read_text().split("(pids ")[1].split(")")[0].split(", ")
        os.kill(int(pids[1]), signal.SIGKILL)
        killed = time.monotonic()
        launcher.wait(timeout=90)
        assert time.monotonic() - killed <= 60
    finally:
        if launcher.poll() is None:
            launcher.kill()
    said = log.read_text()
    assert launcher.returncode == 2
    assert "worker 1 of 2 was killed by SIGKILL, so the run stopped" in said, said[-3000:]
    assert saving.whole(best) and saving.load(best)[0] is not None
    assert not (tmp_path / "tiny.keras").exists()


if __name__ == "__main__":          # the worker of test_two_processes_make_the_weights_of_one
    step_in_step(Path(sys.argv[1]), *map(int, sys.argv[2:]))
