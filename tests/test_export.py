"""Export: the ONNX and TFLite steps roll out as the Keras model does, in a process without
TensorFlow; baselines are refused with a sentence; the CLI writes the folder."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from frameprophet import models, saving  # noqa: E402
from frameprophet.__main__ import main  # noqa: E402
from frameprophet.export import SPEC_FILE, TOLERANCE, export  # noqa: E402
from frameprophet.predict import Predictor  # noqa: E402
from frameprophet.rollout import RolloutPredictor  # noqa: E402
from frameprophet.runtime import OnnxPredictor, load_exported  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZE = (16, 16)


def _tiny(tmp_path_factory, **options) -> tuple[Path, Predictor]:
    """A tiny untrained prophet (hidden 8, depth 2, and `options`) saved as a .keras file, and
    its Keras predictor."""
    model = models.build("prophet", SIZE, hidden=8, depth=2, **options)
    path = tmp_path_factory.mktemp("tiny") / "tiny.keras"
    saving.save(model, path)
    return path, Predictor(model)


# Each format at the default sizes, grey and colour; a colour model that blends with the last
# frame; and the ONNX graph at a patch and a kernel other than the defaults (4 and 3), whose
# space-to-depth, convolutions and state shapes the graph writes by hand.
CASES = {"onnx-grey": ("onnx", {}), "onnx-colour": ("onnx", {"channels": 3}),
         "onnx-colour-blend": ("onnx", {"channels": 3, "blend": True}),
         "onnx-patch2-kernel5": ("onnx", {"patch": 2, "kernel": 5}),
         "tflite-grey": ("tflite", {}), "tflite-colour": ("tflite", {"channels": 3})}


@pytest.fixture(scope="module", params=list(CASES.values()), ids=list(CASES))
def exported(request, tmp_path_factory):
    fmt, options = request.param
    path, predictor = _tiny(tmp_path_factory, **options)
    folder = path.parent / fmt
    export(str(path), folder, fmt=fmt)
    return folder, predictor, predictor.channels


def _clips(channels: int, n: int = 2, t: int = 10, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((n, t, *SIZE, channels), dtype=np.float32)


def test_exported_rollout_matches_keras_over_ten_closed_loop_frames(exported):
    folder, predictor, channels = exported
    spec = json.loads((folder / SPEC_FILE).read_text())
    assert spec["channels"] == channels and spec["frame_size"] == list(SIZE)
    assert spec["max_abs_diff"] <= TOLERANCE and spec["inputs"][0] == "frame"
    grid = [side // predictor.model.patch for side in SIZE]
    assert sorted(spec["state_shape"][1:]) == sorted([*grid, 8])
    assert len(spec["inputs"]) == 1 + 2 * 2                 # frame, then h and c of 2 layers
    clips = _clips(channels)                            # a batch of 2: the batch is dynamic
    runtime = load_exported(folder)
    assert isinstance(runtime, OnnxPredictor) == (spec["format"] == "onnx")
    ours = runtime.rollout(clips, 10)
    assert ours.shape == (2, 10, *SIZE, channels) and ours.dtype == np.float32
    assert np.abs(ours - predictor.rollout(clips, 10)).max() <= TOLERANCE
    one = load_exported(folder).rollout(clips[0], 10)   # one clip in, one clip out
    assert one.shape == (10, *SIZE, channels) and 0 <= one.min() and one.max() <= 1


def test_exported_memory_is_what_keras_carried(exported):
    """The memory view's numbers: the same rollout and the same RMS of each layer's hidden
    state, whichever layout (NCHW in ONNX, NHWC in TFLite) the graph keeps its states in."""
    folder, predictor, channels = exported
    clip = _clips(channels, n=1)[0]
    runtime = load_exported(folder)
    assert isinstance(runtime, RolloutPredictor) and isinstance(predictor, RolloutPredictor)
    assert runtime.stepwise and not runtime.quadratic and not predictor.quadratic
    ours, carried = runtime.memory(clip[:6], 4)
    keras_frames, keras_carried = predictor.memory(clip[:6], 4)
    grid = [side // predictor.model.patch for side in SIZE]
    assert ours.shape == (4, *SIZE, channels) and carried.shape == (6 + 4 - 1, 2, *grid)
    assert np.abs(ours - keras_frames).max() <= TOLERANCE
    assert np.abs(carried - keras_carried).max() <= TOLERANCE
    with pytest.raises(ValueError, match="memory takes one clip"):
        runtime.memory(clip[None, :6], 4)


def test_exported_teacher_forced_and_bad_input_as_predictor(exported):
    folder, predictor, channels = exported
    clips = _clips(channels, t=8)
    exported_model = load_exported(folder)
    ours = exported_model.rollout(clips[:, :4], 4, mode="teacher_forced", truth=clips[:, 4:])
    keras_way = predictor.rollout(clips[:, :4], 4, mode="teacher_forced", truth=clips[:, 4:])
    assert np.abs(ours - keras_way).max() <= TOLERANCE
    with pytest.raises(ValueError, match="predicts 16x16 frames"):
        exported_model.rollout(np.zeros((4, 8, 8, channels), np.float32), 2)
    with pytest.raises(ValueError, match="mode must be one of"):
        exported_model.rollout(clips[0], 2, mode="dreaming")


RUNTIME_ONLY = """
import sys, numpy as np
from frameprophet.runtime import load_exported
clip = np.load(sys.argv[2])
np.save(sys.argv[3], load_exported(sys.argv[1]).rollout(clip, 10))
heavy = [m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules]
assert not heavy, f"frameprophet.runtime loaded {heavy}"
"""


def test_runtime_rolls_out_without_tensorflow_or_keras(exported, tmp_path):
    """The match holds in a process that never loads TensorFlow or Keras."""
    folder, predictor, channels = exported
    if folder.name == "tflite" and importlib.util.find_spec("ai_edge_litert") is None:
        pytest.skip("TFLite runs without TensorFlow only on LiteRT (ai-edge-litert)")
    clip = _clips(channels, n=1)[0]
    np.save(tmp_path / "clip.npy", clip)
    done = subprocess.run([sys.executable, "-c", RUNTIME_ONLY, str(folder),
                           str(tmp_path / "clip.npy"), str(tmp_path / "out.npy")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    ours = np.load(tmp_path / "out.npy")
    assert np.abs(ours - predictor.rollout(clip, 10)).max() <= TOLERANCE


def test_baselines_are_refused_with_a_sentence(tmp_path, capsys):
    path = tmp_path / "baseline.keras"
    saving.save(models.build("keras3-mnist", (8, 8), filters=2), path)
    assert main(["export", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "cannot be exported" in error and "only stepwise prophet models" in error
    assert not (tmp_path / "out").exists()


def test_cli_exports_a_path_and_says_the_measured_difference(tmp_path_factory, capsys):
    path, _ = _tiny(tmp_path_factory)
    out = path.parent / "cli"
    assert main(["export", str(path), "--format", "onnx", "--out", str(out)]) == 0
    assert "max |diff|" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"model.onnx", SPEC_FILE}


@pytest.mark.slow
@pytest.mark.skipif(not (saving.WEIGHTS_DIR / "mnist.keras").exists(), reason="no weights")
@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_shipped_mnist_exports_within_tolerance(tmp_path, fmt):
    spec = export("mnist", tmp_path, fmt=fmt)
    assert spec["frame_size"] == [64, 64] and spec["max_abs_diff"] <= TOLERANCE


def test_a_keras_cell_model_is_refused_in_one_sentence(tmp_path):
    """cell="keras" is the bench's comparison; every shipped model is fused."""
    model = models.build("prophet", SIZE, hidden=8, depth=1, cell="keras")
    saving.save(model, tmp_path / "keras-cell.keras")
    with pytest.raises(ValueError, match="ConvLSTM2D cell.*fused cell") as info:
        export(str(tmp_path / "keras-cell.keras"), tmp_path / "onnx")
    assert "\n" not in str(info.value) and not (tmp_path / "onnx").exists()
