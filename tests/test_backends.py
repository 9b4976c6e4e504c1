"""Keras 3 on every backend: a model trained under JAX (or PyTorch, where installed) saves a
`.keras` file that TensorFlow loads in safe_mode and rolls out the same, and the other way round.

Each other backend runs in a subprocess (a process has one Keras backend). JAX is installed with
the dev tools, so CI runs it; PyTorch is too large for CI and is tested where it is installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_PROPHET

from frameprophet import data, models, saving
from frameprophet.predict import Predictor

# Runs under the other backend: load the TF-saved model and roll it out; train a tiny model for
# two epochs with the real training loop, save it, roll it out.
SCRIPT = """
import json, sys
import keras, numpy as np
from frameprophet import load_predictor, train

folder = sys.argv[1]
clip = np.load(folder + "/clip.npy")
out = {"backend": keras.backend.backend()}
np.save(folder + "/tf_model_here.npy", load_predictor(folder + "/tf.keras").rollout(clip, 5))

class StopAfter(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = epoch >= 1

config = train.TrainConfig(dataset="squares", minutes=10, out=folder + "/other.keras", batch=2,
                           steps_per_epoch=2, val_clips=2, test_clips=2, ramp=0.5,
                           precision="float32", run_dir=folder + "/run",
                           options={"hidden": 8, "depth": 1})
meta = train.train(config, verbose=0, extra_callbacks=[StopAfter()])
out.update(steps=meta["training"]["steps"], hardware=meta["training"]["runs"][0]["hardware"])
np.save(folder + "/other_here.npy", load_predictor(folder + "/other.keras").rollout(clip, 5))
print(json.dumps(out))
"""


def run_under(backend: str, folder: Path) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], capture_output=True,
                          text=True, env=env, timeout=600, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_weights_move_between_backends(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed here (JAX is in CI; PyTorch only where installed)")
    clip = data.moving_squares(1, frames=7, seed=5)[0][0]
    np.save(tmp_path / "clip.npy", clip)
    tf_model = models.build("prophet", (40, 40), **TINY_PROPHET)
    saving.save(tf_model, tmp_path / "tf.keras", dataset="squares", context=7, horizon=8)

    result = run_under(backend, tmp_path)
    assert result["backend"] == backend and result["steps"] == 4
    assert f"on {backend}" in result["hardware"]

    # TensorFlow -> the other backend: the same rollout
    ours = Predictor(tf_model).rollout(clip, 5)
    assert np.abs(np.load(tmp_path / "tf_model_here.npy") - ours).max() < 1e-3
    # the other backend -> TensorFlow, in safe_mode, with its sidecar and card
    loaded, meta = saving.load(tmp_path / "other.keras")
    assert meta["training"]["runs"][0]["hardware"].endswith(f"on {backend}")
    there = np.load(tmp_path / "other_here.npy")
    assert np.abs(Predictor(loaded).rollout(clip, 5) - there).max() < 1e-3
    assert (tmp_path / "other.md").exists()
