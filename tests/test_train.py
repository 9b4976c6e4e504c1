"""Training: a tiny run writes a loadable model + sidecar + card; budget, resume, data split."""

import csv
import json

import keras
import numpy as np
import pytest

from frameprophet import data, evaluate, load_predictor, train

TINY = {"hidden": 4, "depth": 1}


def _train(tmp_path, **kwargs):
    args = dict(dataset="squares", minutes=5, out=str(tmp_path / "tiny.keras"), batch=2,
                steps_per_epoch=2, val_clips=2, test_clips_n=3, ramp_steps=2,
                run_dir=str(tmp_path / "run"), verbose=0, options=TINY)
    args.update(kwargs)
    return train.train(**args)


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
    assert set(side["metrics"]["model"]) == {"mse", "mae", "ssim", "psnr", "iou"}
    assert len(side["metrics"]["copy_last"]["mse"]["per_step"]) == 8
    card = (tmp_path / "tiny.md").read_text()
    for words in ["prophet", "squares", "wall time", "hardware", "copy last frame", "IOU",
                  "shared the CPU with a test"]:
        assert words in card
    assert meta["sha256"] == side["sha256"]
    assert _epochs_logged(tmp_path) == [0, 1]


def test_ramp_steps_zero_trains_one_step_only(tmp_path):
    # The ablation baseline: teacher forcing throughout, and the card says so.
    meta = _train(tmp_path, ramp_steps=0, extra_callbacks=[StopAfter(1)])
    assert meta["training"]["feedback"] == 0.0
    assert "teacher forcing only" in (tmp_path / "tiny.md").read_text()


def test_the_wall_clock_budget_stops_training(tmp_path):
    meta = _train(tmp_path, minutes=1e-4, steps_per_epoch=50)
    assert meta["training"]["stopped_by"] == "time budget"
    assert meta["training"]["steps"] == 1                      # stopped after the first batch
    assert (tmp_path / "tiny.keras").exists()


def test_a_killed_run_resumes_where_it_stopped(tmp_path):
    meta = _train(tmp_path, extra_callbacks=[KillDuringEpoch(1)])
    assert meta["training"]["stopped_by"] == "interrupt"       # Ctrl-C still saves
    assert (tmp_path / "tiny.keras").exists()
    assert _epochs_logged(tmp_path) == [0]
    meta = _train(tmp_path, resume=True, extra_callbacks=[StopAfter(3)])
    assert _epochs_logged(tmp_path) == [0, 1, 2]               # epoch 0 was not redone
    assert meta["training"]["resumes"] == 1


def test_training_never_draws_test_digits(tmp_path, monkeypatch):
    # Digit i is a flat image of value (i + 1) / 10000: a pixel says which digit it came from.
    fake = np.repeat(((np.arange(5000) + 1) / 10000).astype(np.float32), 28 * 28)
    monkeypatch.setattr(data, "_DIGITS", fake.reshape(5000, 28, 28))
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batches[batch][0].max())

    batches = data.SequenceBatches("mnist", 2, 2, seed=0)
    monkeypatch.setattr(data, "SequenceBatches", lambda *a, **k: batches)
    _train(tmp_path, dataset="mnist", extra_callbacks=[Spy(), StopAfter(1)])
    assert seen and max(seen) <= 4000 / 10000 + 1e-6
    ctx, truth = evaluate.clips("mnist", 4)                  # held-out metrics: test digits
    values = np.concatenate([ctx.ravel(), truth.ravel()])
    assert values[values > 0].min() >= 4001 / 10000 - 1e-6


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dataset"):
        _train(tmp_path, dataset="cifar")
    with pytest.raises(ValueError, match="strategy"):
        _train(tmp_path, strategy="tpu")
