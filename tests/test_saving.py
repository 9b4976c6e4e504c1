"""Model files: round trip, sidecar hash, safe_mode, resolution order, clear errors."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from frameprophet import load_predictor, models, saving


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    model = models.build("prophet", (16, 16), hidden=8, depth=1)
    meta = saving.save(model, folder / "tiny.keras", dataset="squares", context=4, horizon=3,
                       metrics={"model": {"mse": {"mean": 1.0}}})
    return model, folder, meta


def test_round_trip_gives_the_same_predictions(saved):
    model, folder, meta = saved
    assert meta["recipe"] == "prophet" and meta["frame_size"] == [16, 16]
    assert len(meta["sha256"]) == 64
    side = json.loads((folder / "tiny.json").read_text())
    assert side["dataset"] == "squares" and side["sha256"] == meta["sha256"]
    x = np.random.default_rng(0).random((1, 5, 16, 16, 1)).astype(np.float32)
    predictor = load_predictor(str(folder / "tiny.keras"))
    assert predictor.stepwise and predictor.info["context"] == 4
    assert np.abs(predictor.rollout(x, 3) - np.asarray(
        load_predictor(str(folder / "tiny.keras")).rollout(x, 3))).max() == 0
    assert np.allclose(np.asarray(predictor.model(x)), np.asarray(model(x)), atol=1e-6)


def test_short_names_resolve_in_the_weights_folder(saved, monkeypatch):
    _, folder, _ = saved
    monkeypatch.setattr(saving, "WEIGHTS_DIR", folder)
    assert saving.resolve("tiny") == str(folder / "tiny.keras")
    assert load_predictor("tiny").frame_size == (16, 16)
    assert saving.resolve("owner/repo") == "hf://owner/repo"
    with pytest.raises(saving.ModelFileError, match="tried") as err:
        saving.resolve("nonexistent")
    assert "tiny" in str(err.value)                      # lists what is shipped


def test_corrupt_truncated_and_foreign_files_are_refused(saved, tmp_path):
    _, folder, _ = saved
    good = (folder / "tiny.keras").read_bytes()
    sidecar = (folder / "tiny.json").read_text()

    (tmp_path / "flipped.keras").write_bytes(good[:100] + bytes([good[100] ^ 1]) + good[101:])
    (tmp_path / "flipped.json").write_text(sidecar)
    with pytest.raises(saving.ModelFileError, match="sha256"):
        saving.load(tmp_path / "flipped.keras")

    (tmp_path / "cut.keras").write_bytes(good[: len(good) // 2])        # no sidecar
    with pytest.raises(saving.ModelFileError, match="not a Keras model file"):
        saving.load(tmp_path / "cut.keras")

    (tmp_path / "notes.keras").write_text("hello")
    with pytest.raises(saving.ModelFileError, match="not a Keras model file"):
        saving.load(tmp_path / "notes.keras")
    with pytest.raises(saving.ModelFileError, match="no such"):
        saving.load(tmp_path / "missing.keras")
    with pytest.raises(saving.ModelFileError, match=".keras"):
        saving.save(models.build("prophet", (16, 16), hidden=4, depth=1), tmp_path / "x.h5")


def test_safe_mode_refuses_code_in_model_files(tmp_path):
    inputs = keras.Input((None, 8, 8, 1))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(saving.ModelFileError, match="holds Python code"):
        saving.load(tmp_path / "lambda.keras")


ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted([*(ROOT / "weights").glob("*.keras"),
                  *(ROOT / "bench" / "experiments" / "ablation").glob("*.keras")])


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_model_loads_in_safe_mode_and_rolls_out(path):
    # There are no loaders of old file formats (the Keras-cell default, pre-`runs` sidecars):
    # every file we ship must load through today's path alone, hash checked, and predict.
    model, meta = saving.load(path)                           # safe_mode=True, sha256 checked
    assert meta["sha256"] == saving.sha256(path)
    assert isinstance(meta["training"]["runs"], list) and meta["training"]["runs"]
    predictor = load_predictor(str(path))
    h, w = predictor.frame_size
    context = np.random.default_rng(0).random((4, h, w, predictor.channels)).astype(np.float32)
    assert predictor.rollout(context, 1).shape == (1, h, w, predictor.channels)
