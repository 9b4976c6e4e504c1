"""Training: a tiny run writes a loadable model + sidecar + card; budget, resume, data split."""

import csv
import json

import keras
import numpy as np
import pytest

from frameprophet import card, data, evaluate, load_predictor, saving, train

TINY = {"hidden": 4, "depth": 1}


def _train(tmp_path, extra_callbacks=None, **kwargs):
    args = dict(dataset="squares", minutes=5, out=str(tmp_path / "tiny.keras"), batch=2,
                steps_per_epoch=2, val_clips=2, test_clips=3, ramp=1e-6, precision="float32",
                run_dir=str(tmp_path / "run"), options=TINY)
    args.update(kwargs)
    return train.train(train.TrainConfig(**args), verbose=0, extra_callbacks=extra_callbacks)


class StopAfter(keras.callbacks.Callback):
    """Ends fit after `epochs` epochs, like an early-stopping rule would."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


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


def _epochs_logged(tmp_path):
    with open(tmp_path / "run" / "log.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_a_short_run_writes_model_sidecar_and_card(tmp_path):
    meta = _train(tmp_path, extra_callbacks=[StopAfter(2)], note="shared the CPU with a test")
    predictor = load_predictor(str(tmp_path / "tiny.keras"))
    assert predictor.frame_size == (40, 40) and predictor.stepwise
    assert predictor.rollout(np.zeros((7, 40, 40, 1), np.float32), 8).shape == (8, 40, 40, 1)
    side = json.loads((tmp_path / "tiny.json").read_text())
    assert side["training"]["steps"] == 4 and side["training"]["sequences_seen"] == 8
    assert side["training"]["feedback"] == 1.0                 # ramp reached closed loop
    assert side["training"]["runs"][0]["precision"] == "float32"
    assert set(side["metrics"]["model"]) == {"mse", "mae", "ssim", "psnr", "iou"}
    assert len(side["metrics"]["copy_last"]["mse"]["per_step"]) == 8
    card_text = (tmp_path / "tiny.md").read_text()
    for words in ["prophet", "squares", "wall", "hardware", "copy last frame", "IOU",
                  "shared the CPU with a test", "float32", "steps_per_epoch"]:
        assert words in card_text
    assert meta["sha256"] == side["sha256"]
    assert _epochs_logged(tmp_path) == [0, 1]


def test_steps_count_the_whole_run_not_just_up_to_the_best_epoch(tmp_path):
    # lr 0: no epoch beats the first, so best.keras (optimizer state included) is epoch 0's
    meta = _train(tmp_path, lr=0.0, extra_callbacks=[StopAfter(3)])
    assert meta["training"]["steps"] == 6 and meta["training"]["sequences_seen"] == 12


def test_ramp_zero_trains_one_step_only(tmp_path):
    # The ablation baseline: teacher forcing throughout, and the card says so.
    meta = _train(tmp_path, ramp=0, extra_callbacks=[StopAfter(1)])
    assert meta["training"]["feedback"] == 0.0
    assert "teacher forcing only" in (tmp_path / "tiny.md").read_text()


def test_the_wall_clock_budget_stops_training(tmp_path):
    meta = _train(tmp_path, minutes=1e-4, steps_per_epoch=50)
    assert meta["training"]["runs"][-1]["stopped_by"] == "time budget"
    assert meta["training"]["steps"] == 1                      # stopped after the first batch
    assert (tmp_path / "tiny.keras").exists()


def test_a_killed_run_resumes_where_it_stopped(tmp_path):
    meta = _train(tmp_path, extra_callbacks=[KillDuringEpoch(1)])
    assert meta["training"]["runs"][-1]["stopped_by"] == "interrupt"   # Ctrl-C still saves
    assert (tmp_path / "tiny.keras").exists()
    assert _epochs_logged(tmp_path) == [0]
    meta = _train(tmp_path, resume=True, extra_callbacks=[StopAfter(3)])
    assert _epochs_logged(tmp_path) == [0, 1, 2]               # epoch 0 was not redone
    assert meta["training"]["runs"][-1]["resumes"] == 1
    # The batch trained before the kill was trained again after the resume: counted once.
    assert meta["training"]["runs"][-1]["sequences"] == 3 * 2 * 2


def test_a_second_run_in_the_same_folder_is_refused_while_the_first_trains(tmp_path):
    # Two runs in one folder once wrote into one log.csv and best.keras; the second start would
    # also have deleted the first's folder.
    refused = []

    class StartAnother(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            with pytest.raises(ValueError, match="another training run is writing to") as e:
                _train(tmp_path, out=str(tmp_path / "other.keras"))
            refused.append(str(e.value))

    _train(tmp_path, extra_callbacks=[StartAnother(), StopAfter(2)])
    assert len(refused) == 2 and "--run-dir" in refused[0]
    assert _epochs_logged(tmp_path) == [0, 1]                 # the first run's log is intact
    assert (tmp_path / "tiny.keras").exists() and not (tmp_path / "other.keras").exists()
    _train(tmp_path, extra_callbacks=[StopAfter(1)])           # once it ended, the folder is free
    assert _epochs_logged(tmp_path) == [0]


def test_training_never_draws_test_digits(tmp_path, monkeypatch):
    # Digit i is a flat image of value (i + 1) / 10000: a pixel says which digit it came from.
    fake = np.repeat(((np.arange(5000) + 1) / 10000).astype(np.float32), 28 * 28)
    monkeypatch.setattr(data, "_DIGITS", fake.reshape(5000, 28, 28))
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batches[batch][0].max())

    batches = train.SequenceBatches("mnist", 2, 2, seed=0)
    monkeypatch.setattr(train, "SequenceBatches", lambda *a, **k: batches)
    _train(tmp_path, dataset="mnist", extra_callbacks=[Spy(), StopAfter(1)])
    assert seen and max(seen) <= 4000 / 10000 + 1e-6
    ctx, truth = data.clips("mnist", 4)                  # held-out metrics: test digits
    values = np.concatenate([ctx.ravel(), truth.ravel()])
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
    (dict(schedule="step"), "schedule must be"),
    (dict(precision="bfloat16"), "precision must be one of auto, float32"),
    (dict(strategy="tpu"), "strategy must be one of data-parallel or omitted, got 'tpu'"),
    (dict(strategy="data-parallel"), "needs GPUs and this machine has none"),
])
def test_a_bad_config_is_refused_before_the_last_runs_folder_is_touched(tmp_path, monkeypatch,
                                                                        bad, message):
    # A bad --strategy once wiped the last run's folder (weights and backup) before it was refused.
    monkeypatch.setattr(train, "accelerators", lambda: [])     # a machine without GPUs
    kept = tmp_path / "run" / "best.keras"
    kept.parent.mkdir()
    kept.write_bytes(b"the last run's weights")
    with pytest.raises(ValueError, match=message) as info:
        _train(tmp_path, **bad)
    assert "\n" not in str(info.value)
    assert kept.read_bytes() == b"the last run's weights"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "run", "run/best.keras"]                                # nothing else written


def test_hardware_that_cannot_do_it_gets_one_line(monkeypatch):
    monkeypatch.setattr(train, "accelerators", lambda: [])
    monkeypatch.setattr(train, "_cpu_flags", lambda: {"sse2", "avx2"})
    with pytest.raises(ValueError, match="needs a GPU or a CPU with AMX or AVX512-BF16.*"
                                         "float32") as info:
        train.resolve_precision("mixed_bfloat16")
    assert "\n" not in str(info.value)
    assert train.resolve_precision("auto") == "float32"
    monkeypatch.setattr(train, "_cpu_flags", lambda: {"avx512_bf16"})
    assert train.resolve_precision("auto") == "mixed_bfloat16"
    with pytest.raises(ValueError, match="needs GPUs and this machine has none"):
        train.distribution_scope("data-parallel")


def test_the_card_names_the_cpu_and_its_bf16_flags(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9R14\n"
                       "flags\t\t: fpu sse2 avx512f avx512_bf16\n\nprocessor\t: 1\n")
    real_path = train.Path
    monkeypatch.setattr(train, "Path", lambda p: real_path(cpuinfo if p == "/proc/cpuinfo" else p))
    monkeypatch.setattr(train, "accelerators", lambda: [])
    line = train.hardware()
    assert line.startswith("CPU only (AMD EPYC 9R14, ") and "(avx512_bf16))" in line
    assert train.resolve_precision("auto") == "mixed_bfloat16"
    cpuinfo.write_text("processor\t: 0\n")            # no model name, no flags: still one line
    assert train.hardware().startswith(f"CPU only ({train.platform.machine()}, ")
    assert train.resolve_precision("auto") == "float32"


def test_the_schedule_is_sized_to_the_budget():
    budget = train.Budget(600, peak_lr=1e-3, warmup=0.05, ramp=0.4)
    lr = [budget.learning_rate(f) for f in np.linspace(0, 1, 101)]
    assert lr[0] <= 0.2 * max(lr) and np.isclose(max(lr), 1e-3) and np.argmax(lr) == 5  # warm-up
    assert all(a >= b for a, b in zip(lr[5:], lr[6:], strict=False))           # then down
    assert np.isclose(lr[-1], 1e-5)                    # 1% of the peak when the budget ends
    assert budget.feedback(0.0) == 0.0 and budget.feedback(0.2) == 0.5
    assert budget.feedback(0.4) == 1.0 and budget.feedback(0.9) == 1.0
    assert train.Budget(600, 1e-3, ramp=0).feedback(0.5) == 0.0
    # continuing a closed-loop model (--init) stays closed loop; half-way models ramp on from there
    assert train.Budget(600, 1e-3, ramp=0.4, feedback_from=1.0).feedback(0.0) == 1.0
    assert train.Budget(600, 1e-3, ramp=0.4, feedback_from=0.5).feedback(0.2) == 0.75


def test_the_budget_drives_the_optimizer_and_stops(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(train.time, "monotonic", lambda: clock[0])
    model = keras.Model()
    model.optimizer = keras.optimizers.Adam(1e-3)
    model.feedback = keras.Variable(0.0)
    model.stop_training = False
    budget = train.Budget(60, peak_lr=1e-3, warmup=0.1, ramp=0.5, elapsed=15)  # resumed at 25%
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


def test_init_continues_and_the_card_adds_up_the_runs(tmp_path):
    first = _train(tmp_path, extra_callbacks=[StopAfter(1)], note="first run")
    out2 = str(tmp_path / "second.keras")
    second = _train(tmp_path, init=str(tmp_path / "tiny.keras"), out=out2,
                    run_dir=str(tmp_path / "run2"), extra_callbacks=[StopAfter(2)])
    runs = second["training"]["runs"]
    assert len(runs) == 2 and runs[0]["note"] == "first run"
    assert "init" not in runs[0]["config"]
    assert runs[1]["config"]["init"] == str(tmp_path / "tiny.keras")
    assert runs[1]["objective"].endswith("full feedback throughout")   # the first ended at 1
    assert second["training"]["sequences_seen"] == (first["training"]["sequences_seen"]
                                                    + runs[1]["sequences"]) == 4 + 8
    assert second["training"]["steps"] == 2 + 4
    card_text = (tmp_path / "second.md").read_text()
    assert "over 2 run(s)" in card_text and "first run" in card_text
    assert (tmp_path / "second_curve.png").stat().st_size > 5_000
    # the curve is in total sequences seen: the second run's points start after the first's
    assert runs[1]["curve"][0][0] > runs[0]["curve"][-1][0]


def test_init_without_loss_continues_the_models_objective(tmp_path):
    first = _train(tmp_path, extra_callbacks=[StopAfter(1)], loss="bce+ssim",
                   options={**TINY, "ssim_weight": 0.5})
    assert first["training"]["runs"][0]["objective"].startswith("closed-loop bce+ssim")
    second = _train(tmp_path, init=str(tmp_path / "tiny.keras"), out=str(tmp_path / "b.keras"),
                    run_dir=str(tmp_path / "run2"), extra_callbacks=[StopAfter(1)])
    config = second["training"]["runs"][1]["config"]
    assert config["loss"] == "bce+ssim" and config["options"]["ssim_weight"] == 0.5
    third = _train(tmp_path, init=str(tmp_path / "b.keras"), out=str(tmp_path / "c.keras"),
                   run_dir=str(tmp_path / "run3"), extra_callbacks=[StopAfter(1)], loss="bce")
    assert "bce+ssim" not in third["training"]["runs"][2]["objective"]     # --loss wins


def test_init_keeps_the_models_digit_flips_unless_told(tmp_path):
    assert _train(tmp_path, extra_callbacks=[StopAfter(1)])["training"]["runs"][0][
        "config"]["flip"] == 0.0                                         # a new model: none
    mnist = dict(dataset="mnist", extra_callbacks=[StopAfter(1)])
    _train(tmp_path, out=str(tmp_path / "a.keras"), flip=0.5, **mnist)
    kept = _train(tmp_path, init=str(tmp_path / "a.keras"), out=str(tmp_path / "b.keras"),
                  run_dir=str(tmp_path / "run2"), **mnist)
    assert kept["training"]["runs"][-1]["config"]["flip"] == 0.5
    told = _train(tmp_path, init=str(tmp_path / "b.keras"), out=str(tmp_path / "c.keras"),
                  run_dir=str(tmp_path / "run3"), flip=0.0, **mnist)
    assert told["training"]["runs"][-1]["config"]["flip"] == 0.0


def test_init_keeps_the_models_shape_and_widens_it_when_told(tmp_path):
    _train(tmp_path, extra_callbacks=[StopAfter(1)], options={"hidden": 4, "depth": 1})
    init = dict(init=str(tmp_path / "tiny.keras"), extra_callbacks=[StopAfter(1)], options={})
    kept = _train(tmp_path, out=str(tmp_path / "b.keras"), run_dir=str(tmp_path / "r2"), **init)
    assert saving.load(tmp_path / "b.keras")[0].hidden == 4          # not the recipe's 48
    wide = _train(tmp_path, out=str(tmp_path / "c.keras"), run_dir=str(tmp_path / "r3"),
                  **{**init, "options": {"hidden": 8}})
    assert saving.load(tmp_path / "c.keras")[0].hidden == 8
    assert wide["parameters"] > 3 * kept["parameters"]


def test_average_writes_the_mean_of_the_ends_of_one_lineage(tmp_path):
    from frameprophet.__main__ import main

    _train(tmp_path, extra_callbacks=[StopAfter(1)], note="first run")
    first = str(tmp_path / "tiny.keras")
    second = str(tmp_path / "second.keras")
    _train(tmp_path, init=first, out=second, run_dir=str(tmp_path / "run2"),
           extra_callbacks=[StopAfter(1)])
    out = tmp_path / "soup" / "tiny.keras"
    assert main(["average", first, second, "--out", str(out)]) == 0
    mean = [(a + b) / 2 for a, b in zip(saving.load(first)[0].get_weights(),
                                         saving.load(second)[0].get_weights(), strict=True)]
    averaged, meta = saving.load(out)                    # safe_mode, sha256 checked
    assert all(np.allclose(w, m) for w, m in zip(averaged.get_weights(), mean, strict=True))
    assert not all(np.allclose(w, m) for w, m in
                   zip(saving.load(second)[0].get_weights(), mean, strict=True))
    runs = meta["training"]["runs"]
    assert len(runs) == 2 and runs[-1]["averaged_with"][0]["run"] == 1
    assert meta["training"]["sequences_seen"] == 4 + 4 and "metrics" not in meta
    text = (tmp_path / "soup" / "tiny.md").read_text()
    assert "mean of the ends of runs 1 and 2" in text and "first run" in text
    assert load_predictor(str(out)).rollout(np.zeros((7, 40, 40, 1), np.float32), 3).shape[0] == 3
    # and the next continuation keeps the record in its history
    third = _train(tmp_path, init=str(out), out=str(tmp_path / "third.keras"),
                   run_dir=str(tmp_path / "run3"), extra_callbacks=[StopAfter(1)])
    assert third["training"]["runs"][1]["averaged_with"][0]["run"] == 1
    assert "averaged over runs 1 and 2" in (tmp_path / "third.md").read_text()
    assert "mean of the ends" not in (tmp_path / "third.md").read_text()


def test_average_refuses_models_that_are_not_one_lineage(tmp_path, capsys):
    from frameprophet.__main__ import main

    _train(tmp_path, extra_callbacks=[StopAfter(1)])
    _train(tmp_path, out=str(tmp_path / "other.keras"), run_dir=str(tmp_path / "run2"),
           extra_callbacks=[StopAfter(1)])                 # a fresh start, not a continuation
    a, b = str(tmp_path / "tiny.keras"), str(tmp_path / "other.keras")
    for argv, words in [([a, b, "--out", str(tmp_path / "x.keras")], "not the end of an earlier"),
                        ([a, "--out", str(tmp_path / "x.keras")], "at least two"),
                        ([a, a, "--out", a], "new .keras file"),
                        ([a, str(tmp_path / "nope.keras"), "--out", str(tmp_path / "x.keras")],
                         "no such model file")]:
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


def test_init_from_the_best_checkpoint_of_the_run_folder_it_restarts(tmp_path):
    # The new run wipes its folder; the model it starts from must be read before that.
    _train(tmp_path, extra_callbacks=[StopAfter(1)])
    meta = _train(tmp_path, init=str(tmp_path / "run" / "best.keras"),
                  extra_callbacks=[StopAfter(1)])
    assert meta["training"]["runs"][-1]["config"]["init"] == str(tmp_path / "run" / "best.keras")
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


def test_init_from_a_keras_cell_model_trains_the_fused_cell(tmp_path):
    from frameprophet import models, saving

    old = models.build("prophet", (40, 40), cell="keras", context=7, **TINY)
    saving.save(old, tmp_path / "old.keras", recipe="prophet", dataset="squares")
    _train(tmp_path, init=str(tmp_path / "old.keras"), extra_callbacks=[StopAfter(1)], lr=0.0)
    new, _ = saving.load(tmp_path / "tiny.keras")
    assert new.cell == "fused"
    clip = np.random.default_rng(0).random((1, 5, 40, 40, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(new(clip)), np.asarray(old(clip)), atol=1e-4)


def test_checkpoints_keep_the_epoch_closest_to_the_goal(tmp_path):
    # Moving MNIST has a two-metric goal (MSE and SSIM, as `make ship` judges): each epoch logs
    # both and their goal gap, and best.keras is the epoch with the smallest gap.
    _train(tmp_path, dataset="mnist", lr=3e-3, val_clips=4, test_clips=2,
           extra_callbacks=[StopAfter(3)])
    with open(tmp_path / "run" / "log.csv") as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    for row in rows:
        assert row["val_goal_gap"] == pytest.approx(
            max(row["val_mse"] / 60, (1 - row["val_ssim"]) / 0.15), rel=1e-5)
    context, truth = data.clips("mnist", 4, seed=data.VAL_SEED, split="train")
    best = load_predictor(str(tmp_path / "run" / "best.keras"))
    score = evaluate.score(best, "mnist", context, truth)["model"]
    assert evaluate.goal_gap(score, "mnist") == pytest.approx(
        min(row["val_goal_gap"] for row in rows), rel=1e-4)
    # squares has no goal: the gap is the MSE
    _train(tmp_path, run_dir=str(tmp_path / "sq"), extra_callbacks=[StopAfter(1)])
    with open(tmp_path / "sq" / "log.csv") as f:
        row = next(csv.DictReader(f))
    assert float(row["val_goal_gap"]) == pytest.approx(float(row["val_mse"]))
