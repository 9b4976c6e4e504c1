"""Training: a tiny run writes a loadable model + sidecar + card; budget, resume, data split;
--init continues a lineage and `average` takes the mean of its ends.

The init/average tests share one lineage of tiny runs (conftest's `lineage`), trained once.
"""

import csv
import dataclasses
import json
import shutil

import keras
import numpy as np
import pytest

from frameprophet import (
    callbacks,
    card,
    data,
    evaluate,
    hardware,
    lineage,
    load_predictor,
    saving,
    train,
)


class KillDuringEpoch(keras.callbacks.Callback):
    """Simulates Ctrl-C / SIGTERM in the middle of epoch `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch == self.epoch:
            raise KeyboardInterrupt

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


def _epochs_logged(folder, run="run"):
    with open(folder / run / "log.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


@pytest.mark.slow
def test_a_short_run_writes_model_sidecar_and_card(lineage):
    path, meta = lineage["first"]
    predictor = load_predictor(str(path))
    assert predictor.frame_size == (40, 40) and predictor.stepwise
    assert predictor.rollout(np.zeros((7, 40, 40, 1), np.float32), 8).shape == (8, 40, 40, 1)
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["training"]["steps"] == 4 and side["training"]["sequences_seen"] == 8
    assert side["training"]["feedback"] == 1.0                 # ramp reached closed loop
    run = side["training"]["runs"][0]
    assert run["precision"] == "float32"
    assert run["objective"].startswith("closed-loop bce+ssim")
    assert set(side["metrics"]["model"]) == {"mse", "mae", "ssim", "psnr", "iou"}
    assert len(side["metrics"]["copy_last"]["mse"]["per_step"]) == 8
    card_text = path.with_suffix(".md").read_text()
    for words in ["prophet", "squares", "wall", "hardware", "copy last frame", "IOU",
                  "first run", "float32", "steps_per_epoch"]:
        assert words in card_text
    assert meta["sha256"] == side["sha256"]
    assert _epochs_logged(lineage["root"]) == [0, 1]


@pytest.mark.slow
def test_a_killed_run_resumes_where_it_stopped_and_counts_every_step(tmp_path, train_tiny):
    # lr 0: no epoch beats the first, so best.keras (optimizer state included) stays epoch 0's,
    # and the steps must still count the whole run, not just up to the best epoch.
    meta = train_tiny(tmp_path, lr=0.0, extra_callbacks=[KillDuringEpoch(1)])
    assert meta["training"]["runs"][-1]["stopped_by"] == "interrupt"   # Ctrl-C still saves
    assert (tmp_path / "tiny.keras").exists()
    assert _epochs_logged(tmp_path) == [0]
    meta = train_tiny(tmp_path, epochs=3, lr=0.0, resume=True)
    assert _epochs_logged(tmp_path) == [0, 1, 2]               # epoch 0 was not redone
    assert meta["training"]["runs"][-1]["resumes"] == 1
    # The batch trained before the kill was trained again after the resume: counted once.
    assert meta["training"]["runs"][-1]["sequences"] == 3 * 2 * 2
    assert meta["training"]["steps"] == 6 and meta["training"]["sequences_seen"] == 12


@pytest.mark.slow
def test_the_wall_clock_budget_stops_training_and_ramp_zero_trains_one_step_only(tmp_path,
                                                                                 train_tiny):
    meta = train_tiny(tmp_path, minutes=1e-4, steps_per_epoch=50, ramp=0)
    assert meta["training"]["runs"][-1]["stopped_by"] == "time budget"
    assert meta["training"]["steps"] == 1                      # stopped after the first batch
    assert (tmp_path / "tiny.keras").exists()
    # The ablation baseline: teacher forcing throughout, and the card says so.
    assert meta["training"]["feedback"] == 0.0
    assert "teacher forcing only" in (tmp_path / "tiny.md").read_text()


@pytest.mark.slow
def test_a_second_run_in_the_same_folder_is_refused_while_the_first_trains(tmp_path, train_tiny):
    # Two runs in one folder once wrote into one log.csv and best.keras; the second start would
    # also have deleted the first's folder.
    refused = []

    class StartAnother(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            with pytest.raises(ValueError, match="another training run is writing to") as e:
                train_tiny(tmp_path, out=str(tmp_path / "other.keras"))
            refused.append(str(e.value))

    train_tiny(tmp_path, epochs=2, extra_callbacks=[StartAnother()])
    assert len(refused) == 2 and "--run-dir" in refused[0]
    assert _epochs_logged(tmp_path) == [0, 1]                 # the first run's log is intact
    assert (tmp_path / "tiny.keras").exists() and not (tmp_path / "other.keras").exists()
    with train._only_run_in(tmp_path / "run"):                 # once it ended, the folder is free
        pass


def test_training_never_draws_test_digits(tmp_path, monkeypatch):
    """What a run learns from (its batches) and is validated on come from the training digits;
    its final score from the held-out ones. The data a run uses, without the run."""
    # Digit i is a flat image of value (i + 1) / 10000: a pixel says which digit it came from.
    fake = np.repeat(((np.arange(5000) + 1) / 10000).astype(np.float32), 28 * 28)
    monkeypatch.setattr(data, "_DIGITS", fake.reshape(5000, 28, 28))
    run = train.training_data(train.TrainConfig(dataset="mnist", out=str(tmp_path / "m.keras")))
    batches = run.batches(2, 2, 0)
    seen = [float(array.max()) for i in range(len(batches)) for array in batches[i]]
    seen += [float(array.max()) for array in run.validation(4)]
    assert seen and max(seen) <= 4000 / 10000 + 1e-6
    values = np.concatenate([array.ravel() for array in run.test(4)])   # held-out metrics
    assert values[values > 0].min() >= 4001 / 10000 - 1e-6


@pytest.mark.parametrize("bad, message", [
    (dict(dataset="cifar"), "dataset must be one of"),
    (dict(minutes=0), "--minutes must be a positive"),
    (dict(minutes=-1), "--minutes must be a positive"),
    (dict(out="mymodel"), "--out must name a .keras file"),
    (dict(options={"hiden": 96}), "no option 'hiden'; it takes patch, hidden"),
    (dict(batch=0), "--batch must be at least 1"),
    (dict(warmup=1.0), "--warmup is a fraction"),
    (dict(lr=-1e-3), "--lr must be a learning rate of 0 or more"),
    (dict(loss="l1"), "loss must be one of"),
    (dict(precision="bfloat16"), "precision must be one of auto, float32"),
    (dict(strategy="tpu"), "strategy must be one of data-parallel or omitted, got 'tpu'"),
    (dict(strategy="data-parallel"), "needs GPUs and this machine has none"),
])
def test_a_bad_config_is_refused_before_the_last_runs_folder_is_touched(tmp_path, monkeypatch,
                                                                        train_tiny, bad, message):
    # A bad --strategy once wiped the last run's folder (weights and backup) before it was refused.
    monkeypatch.setattr(hardware, "accelerators", lambda: [])     # a machine without GPUs
    kept = tmp_path / "run" / "best.keras"
    kept.parent.mkdir()
    kept.write_bytes(b"the last run's weights")
    with pytest.raises(ValueError, match=message) as info:
        train_tiny(tmp_path, **bad)
    assert "\n" not in str(info.value)
    assert kept.read_bytes() == b"the last run's weights"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "run", "run/best.keras"]                                # nothing else written


def test_hardware_that_cannot_do_it_gets_one_line(monkeypatch):
    monkeypatch.setattr(hardware, "accelerators", lambda: [])
    monkeypatch.setattr(hardware, "_cpu_flags", lambda: {"sse2", "avx2"})
    with pytest.raises(ValueError, match="needs a GPU or a CPU with AMX or AVX512-BF16.*"
                                         "float32") as info:
        hardware.resolve_precision("mixed_bfloat16")
    assert "\n" not in str(info.value)
    assert hardware.resolve_precision("auto") == "float32"
    monkeypatch.setattr(hardware, "_cpu_flags", lambda: {"avx512_bf16"})
    assert hardware.resolve_precision("auto") == "mixed_bfloat16"
    with pytest.raises(ValueError, match="needs GPUs and this machine has none"):
        hardware.distribution_scope("data-parallel")


def test_the_card_names_the_cpu_and_its_bf16_flags(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9R14\n"
                       "flags\t\t: fpu sse2 avx512f avx512_bf16\n\nprocessor\t: 1\n")
    real_path = hardware.Path
    monkeypatch.setattr(hardware, "Path",
                        lambda p: real_path(cpuinfo if p == "/proc/cpuinfo" else p))
    monkeypatch.setattr(hardware, "accelerators", lambda: [])
    line = hardware.hardware()
    assert line.startswith("CPU only (AMD EPYC 9R14, ") and "(avx512_bf16))" in line
    assert hardware.resolve_precision("auto") == "mixed_bfloat16"
    cpuinfo.write_text("processor\t: 0\n")            # no model name, no flags: still one line
    assert hardware.hardware().startswith(f"CPU only ({hardware.platform.machine()}, ")
    assert hardware.resolve_precision("auto") == "float32"


def test_the_schedule_is_sized_to_the_budget():
    budget = callbacks.Budget(600, peak_lr=1e-3, warmup=0.05, ramp=0.4)
    lr = [budget.learning_rate(f) for f in np.linspace(0, 1, 101)]
    assert lr[0] <= 0.2 * max(lr) and np.isclose(max(lr), 1e-3) and np.argmax(lr) == 5  # warm-up
    assert all(a >= b for a, b in zip(lr[5:], lr[6:], strict=False))           # then down
    assert np.isclose(lr[-1], 1e-5)                    # 1% of the peak when the budget ends
    assert budget.feedback(0.0) == 0.0 and budget.feedback(0.2) == 0.5
    assert budget.feedback(0.4) == 1.0 and budget.feedback(0.9) == 1.0
    assert callbacks.Budget(600, 1e-3, ramp=0).feedback(0.5) == 0.0
    # continuing a closed-loop model (--init) stays closed loop; half-way models ramp on from there
    assert callbacks.Budget(600, 1e-3, ramp=0.4, feedback_from=1.0).feedback(0.0) == 1.0
    assert callbacks.Budget(600, 1e-3, ramp=0.4, feedback_from=0.5).feedback(0.2) == 0.75


def test_the_budget_drives_the_optimizer_and_stops(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock[0])
    model = keras.Model()
    model.optimizer = keras.optimizers.Adam(1e-3)
    model.feedback = keras.Variable(0.0)
    model.stop_training = False
    budget = callbacks.Budget(60, peak_lr=1e-3, warmup=0.1, ramp=0.5, elapsed=15)  # resumed at 25%
    budget.set_model(model)
    budget.on_train_begin()
    budget.on_epoch_begin(0)
    assert np.isclose(float(model.feedback.numpy()), 0.5)
    assert np.isclose(float(model.optimizer.learning_rate.numpy()), budget.learning_rate(0.25))
    clock[0] += 44
    budget.on_train_batch_end(0)
    assert not model.stop_training
    clock[0] += 1
    budget.on_train_batch_end(1)
    assert model.stop_training and budget.expired


@pytest.mark.slow
def test_init_continues_and_the_card_adds_up_the_runs(lineage):
    first, _ = lineage["first"]
    path, second = lineage["second"]
    runs = second["training"]["runs"]
    assert len(runs) == 2 and runs[0]["note"] == "first run"
    assert "init" not in runs[0]["config"]
    assert runs[1]["config"]["init"] == str(first)
    assert runs[1]["objective"].endswith("full feedback throughout")   # the first ended at 1
    assert second["training"]["sequences_seen"] == (8 + runs[1]["sequences"]) == 8 + 4
    assert second["training"]["steps"] == 4 + 2
    card_text = path.with_suffix(".md").read_text()
    assert "over 2 run(s)" in card_text and "first run" in card_text
    assert (path.parent / "second_curve.png").stat().st_size > 5_000
    # the curve is in total sequences seen: the second run's points start after the first's
    assert runs[1]["curve"][0][0] > runs[0]["curve"][-1][0]
    # Without options or --loss it keeps the model's shape (not the recipe's hidden 48) and
    # objective (the loss and its SSIM weight), written into its config for the next run.
    assert saving.load(path)[0].hidden == 4
    assert runs[1]["config"]["loss"] == "bce+ssim"
    assert runs[1]["config"]["options"]["ssim_weight"] == 0.5


@pytest.mark.slow
def test_init_widens_the_model_and_takes_another_loss_when_told(lineage):
    _, second = lineage["second"]
    path, third = lineage["third"]
    assert saving.load(path)[0].hidden == 8                           # options {"hidden": 8}
    assert third["parameters"] > 3 * second["parameters"]
    assert "bce+ssim" not in third["training"]["runs"][-1]["objective"]    # --loss bce wins


def test_init_keeps_the_models_loss_and_ssim_weight_unless_told():
    new = train.TrainConfig(dataset="mnist")
    assert lineage.continue_training(new, []) == new                  # a new model: as given
    last = [{"config": {"loss": "bce+ssim", "options": {"ssim_weight": 0.1, "hidden": 96}}}]
    kept = lineage.continue_training(new, last)
    assert kept.loss == "bce+ssim" and kept.options == {"ssim_weight": 0.1}   # not its shape
    told = dataclasses.replace(new, loss="bce")
    assert lineage.continue_training(told, last) == told


@pytest.mark.slow
def test_average_writes_the_mean_of_the_ends_of_one_lineage(lineage):
    first, second = lineage["first"][0], lineage["second"][0]
    out, meta = lineage["average"]
    mean = [(a + b) / 2 for a, b in zip(saving.load(first)[0].get_weights(),
                                         saving.load(second)[0].get_weights(), strict=True)]
    averaged, _ = saving.load(out)                       # safe_mode, sha256 checked
    assert all(np.allclose(w, m) for w, m in zip(averaged.get_weights(), mean, strict=True))
    assert not all(np.allclose(w, m) for w, m in
                   zip(saving.load(second)[0].get_weights(), mean, strict=True))
    runs = meta["training"]["runs"]
    assert len(runs) == 2 and runs[-1]["averaged_with"][0]["run"] == 1
    assert meta["training"]["sequences_seen"] == 8 + 4 and "metrics" not in meta
    text = out.with_suffix(".md").read_text()
    assert "mean of the ends of runs 1 and 2" in text and "first run" in text
    assert load_predictor(str(out)).rollout(np.zeros((7, 40, 40, 1), np.float32), 3).shape[0] == 3
    # and the next continuation keeps the record in its history
    third, meta = lineage["third"]
    assert meta["training"]["runs"][1]["averaged_with"][0]["run"] == 1
    assert "averaged over runs 1 and 2" in third.with_suffix(".md").read_text()
    assert "mean of the ends" not in third.with_suffix(".md").read_text()


@pytest.mark.slow
def test_average_refuses_models_that_are_not_one_lineage(lineage, tmp_path, capsys):
    from frameprophet.__main__ import main

    first, second = str(lineage["first"][0]), str(lineage["second"][0])
    # A fresh start, not a continuation: the first run's model as another run would have left it.
    (tmp_path / "other").mkdir()
    other = tmp_path / "other" / "tiny.keras"
    shutil.copy(first, other)
    side = json.loads(lineage["first"][0].with_suffix(".json").read_text())
    side["training"]["runs"][0]["started"] = "2020-01-01T00:00:00+00:00"
    other.with_suffix(".json").write_text(json.dumps(side))
    x = str(tmp_path / "x.keras")
    for argv, words in [([first, str(other), "--out", x], "not the end of an earlier"),
                        ([str(other), second, "--out", x], "not the end of an earlier"),
                        ([second, first, "--out", x], "not the end of an earlier"),  # newest last
                        ([first, "--out", x], "at least two"),
                        ([first, first, "--out", first], "new .keras file"),
                        ([first, str(tmp_path / "nope.keras"), "--out", x], "no such model file")]:
        assert main(["average", *argv]) == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "x.keras").exists()


def test_the_card_curve_gives_every_run_its_own_colour():
    # matplotlib's default cycle repeats after 10 colours; the shipped mnist card has 12 runs
    runs = [{"curve": [[100 * i, 90 - i], [100 * i + 50, 89 - i]], "started": "2026-12-02T00:00",
             "wall_minutes": 130.0, "precision": "mixed_bfloat16"} for i in range(12)]
    every, recent = card.curve_figure(runs).axes[:2]
    lines = every.get_lines()
    assert len(lines) == 12
    assert len({tuple(line.get_color()) for line in lines}) == 12
    # the second panel zooms in on the last runs, in their own colours, with where each ended
    n = card.RECENT_RUNS
    last = recent.get_lines()[:n]
    assert [line.get_color() for line in last] == [line.get_color() for line in lines[-n:]]
    assert [t.get_text() for t in recent.texts] == [f"{89 - i:.1f}" for i in range(12 - n, 12)]
    assert len(card.curve_figure(runs[:3]).axes) == 2           # one panel and the run scale


@pytest.mark.slow
def test_init_from_the_best_checkpoint_of_the_run_folder_it_restarts(lineage, tmp_path,
                                                                      train_tiny):
    # The new run wipes its folder; the model it starts from must be read before that.
    shutil.copytree(lineage["root"] / "run", tmp_path / "run")
    best = str(tmp_path / "run" / "best.keras")
    meta = train_tiny(tmp_path, init=best, epochs=1)
    assert meta["training"]["runs"][-1]["config"]["init"] == best
    assert _epochs_logged(tmp_path) == [0]


def test_batches_pairs_and_seeds():
    batches = train.SequenceBatches("mnist", batch_size=3, steps=4, seed=7)
    assert len(batches) == 4
    x, y = batches[0]
    assert x.shape == y.shape == (3, 19, 64, 64, 1)
    assert np.array_equal(x[:, 1:], y[:, :-1])               # target = input shifted by one
    first = batches[1][0]
    assert np.array_equal(first, batches[1][0])                # same batch index, same movies
    batches.on_epoch_end()
    assert not np.array_equal(first, batches[1][0])            # a new epoch brings new movies

    val = train.SequenceBatches("squares", batch_size=2, steps=2, seed=7, fixed=True)
    before = val[0][0]
    val.on_epoch_end()
    assert np.array_equal(before, val[0][0])                 # validation never changes
    assert val[0][0].shape == (2, 15, 40, 40, 1)
    with pytest.raises(IndexError):
        val[2]
    with pytest.raises(ValueError, match="dataset"):
        train.SequenceBatches("cifar", batch_size=2, steps=1)


@pytest.mark.slow
def test_checkpoints_keep_the_epoch_closest_to_the_goal(lineage, tmp_path, train_tiny):
    # Moving MNIST has a two-metric goal (MSE and SSIM, as `make ship` judges): each epoch logs
    # both and their goal gap, and best.keras is the epoch with the smallest gap.
    train_tiny(tmp_path, dataset="mnist", lr=3e-3, val_clips=4, test_clips=2, epochs=3)
    with open(tmp_path / "run" / "log.csv") as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    for row in rows:
        assert row["val_goal_gap"] == pytest.approx(
            max(row["val_mse"] / evaluate.GOALS["mnist"]["mse"],
                (1 - row["val_ssim"]) / (1 - evaluate.GOALS["mnist"]["ssim"])), rel=1e-5)
    context, truth = data.clips("mnist", 4, seed=data.VAL_SEED, split="train")
    best = load_predictor(str(tmp_path / "run" / "best.keras"))
    score = evaluate.score(best, "mnist", context, truth)["model"]
    assert evaluate.goal_gap(score, "mnist") == pytest.approx(
        min(row["val_goal_gap"] for row in rows), rel=1e-4)
    # squares has no goal: the gap is the MSE (the lineage's first run)
    with open(lineage["root"] / "run" / "log.csv") as f:
        row = next(csv.DictReader(f))
    assert float(row["val_goal_gap"]) == pytest.approx(float(row["val_mse"]))
