"""The README's Python blocks run as written and print what the README says they print.

CI fails when the README drifts from the code. The blocks that call the app run against the real
app on 127.0.0.1:7860 with the shipped weights, as a new user's `make run` would; if port 7860 is
taken (a developer's own `make run`), that app is used. The library block needs no server.
"""

from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

README = Path(__file__).parent.parent / "README.md"
URL = "http://127.0.0.1:7860/"
NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def app(serve):
    if port_in_use(7860):
        urllib.request.urlopen(URL, timeout=10).read()       # someone's app: it must answer
        yield URL
        return
    from frameprophet import ui

    demo = ui.build_demo()
    serve(demo, port=7860)
    try:
        yield URL
    finally:
        demo.close()


def test_the_readme_has_python_examples():
    blocks = python_blocks()
    assert len(blocks) >= 2
    assert any("Client(" in b for b in blocks) and any("load_predictor" in b for b in blocks)


def _api(block: str) -> str:
    """The endpoint a block calls ('/predict', ...), or 'library' for one without a client."""
    found = re.search(r'api_name="(/\w+)"', block)
    if found:
        return found.group(1)
    if "# make_clips.py" in block:
        return "make_clips"
    if "register_dataset(" in block:
        return "registry"
    return "export" if "OnnxPredictor" in block else "library"


def _blocks() -> list:
    return [pytest.param(i, id=f"{i + 1}-{_api(b).strip('/')}",
                         marks=[pytest.mark.server] if "Client(" in b else [])
            for i, b in enumerate(python_blocks())]


def _files(*paths: str, suffix: str) -> None:
    for path in paths:
        assert Path(path).suffix == suffix and Path(path).stat().st_size > 0, path


def _check_library(names: dict, out: str) -> None:
    """Block 1: a test clip of 20 frames, a closed-loop rollout of 10, their per-frame MSE."""
    assert names["clip"].shape == (20, 64, 64, 1)
    future = names["future"]
    assert future.shape == (10, 64, 64, 1) and future.dtype == np.float32
    assert 0 <= future.min() and future.max() <= 1
    mse = np.array(re.findall(NUMBER, out), float)
    assert mse.shape == (10,), out                  # one MSE per predicted frame
    # The benchmark definition: squared error summed over the 64x64 pixels (printed rounded).
    truth = names["clip"][10:]
    np.testing.assert_allclose(mse, ((future - truth) ** 2).sum(axis=(1, 2, 3)), rtol=1e-3)
    # A trained model: better than predicting empty frames (whose MSE is the truth's energy).
    assert 0 < mse.mean() < (truth ** 2).sum(axis=(1, 2, 3)).mean(), out


def _check_forecast(names: dict, out: str) -> None:
    """/predict and /scene: a GIF, a frame strip, a plot, and the info line naming the model,
    the lengths asked for and the model's MSE against the copy-last baseline."""
    _files(names["gif"], suffix=".gif")
    _files(names["strip"], names["plot"], suffix=".png")
    info = names["info"]
    assert info.strip() in out
    assert "Model: mnist" in info
    assert "10 context frames + 10 predicted frames at 64x64" in info
    scored = re.search(rf"model ({NUMBER}) vs copy last frame ({NUMBER})", info)
    assert scored, info
    model, baseline = map(float, scored.groups())
    assert 0 < model < 250 and 0 < baseline, info


def _check_memory(names: dict, out: str) -> None:
    """/memory: one picture, and an info line with the layers and what the model read."""
    _files(names["picture"], suffix=".png")
    with Image.open(names["picture"]) as picture:
        assert picture.width > 0 and picture.height > 0
    info = names["info"]
    assert info.strip() in out
    assert re.match(r"mnist: \d+ ConvLSTM layers", info), info
    assert "each of 10 context frames and 9 of its own predictions" in info


def _check_compare(names: dict, out: str) -> None:
    """/compare: one animation, one plot, and a line per model with its mean MSE and SSIM."""
    _files(names["gif"], suffix=".gif")
    _files(names["plot"], suffix=".png")
    info = names["info"]
    assert info.strip() in out
    assert re.match(r"closed-loop: 10 context frames \+ 10 predicted frames of .*MNIST seed 3\n",
                    info)
    scores = {}
    for model in ("mnist", "mnist-keras3", "copy last frame"):
        # Each model's line names its training budget: "mnist (trained 3,124 min, ...): mean"
        line = re.search(rf"^{model}(?: \(trained [^)]*\))?: mean MSE ({NUMBER}), SSIM ({NUMBER})",
                         info, re.M)
        assert line, (model, info)
        mse, ssim = scores[model] = tuple(map(float, line.groups()))
        assert 0 < mse < 64 * 64 and -1 <= ssim <= 1, (model, info)
    # As on the scoreboard: the shipped model beats the Keras 3 example's recipe and copying.
    assert min(scores, key=lambda m: scores[m][0]) == "mnist", info
    assert max(scores, key=lambda m: scores[m][1]) == "mnist", info


def _check_make_clips(names: dict, out: str) -> None:
    """'Train on your own videos': 24 colour clips, half GIF and half MP4, in my_clips/."""
    from frameprophet import io

    assert out.strip() == "wrote 24 clips to my_clips/"
    files = sorted(Path("my_clips").iterdir())
    assert [f.suffix for f in files].count(".gif") == 12 == [f.suffix for f in files].count(".mp4")
    clip = io.read_clip(files[0], channels=3)
    assert clip.shape[-1] == 3 and clip.shape[0] == 30
    assert np.abs(clip[..., 0] - clip[..., 2]).max() > 0.1              # colour, not grey


def _check_export(names: dict, out: str) -> None:
    """Export: an ONNX folder, a 10 -> 10 rollout with ONNX Runtime, the tolerance kept."""
    assert names["future"].shape == (10, 64, 64, 1)
    printed = re.fullmatch(rf"\(10, 64, 64, 1\) ({NUMBER})\n", out)
    assert printed and 0 <= float(printed.group(1)) <= 2e-3, out
    assert (Path("mnist-onnx") / "predictor.json").is_file()


def _check_registry(names: dict, out: str) -> None:
    """'Use it as a library': a dataset and a model name added in one place each; the page's
    menu offers the model. The registrations are withdrawn after the check."""
    from frameprophet import catalog, data, zoo

    try:
        assert out.strip() == "(4, 3, 16, 16, 1) (4, 3, 16, 16, 1) True", out
        assert "dots" in catalog.offered()
    finally:
        data.DATASETS.pop("dots", None)
        zoo.MODELS.pop("dots", None)


CHECKS = {"registry": _check_registry, "library": _check_library,
          "make_clips": _check_make_clips, "export": _check_export,
          "/predict": _check_forecast, "/scene": _check_forecast,
          "/memory": _check_memory, "/compare": _check_compare}


def test_every_block_has_a_check():
    assert {_api(b) for b in python_blocks()} <= set(CHECKS)


@pytest.mark.parametrize("index", _blocks())
def test_each_python_block_runs_as_written_and_prints_what_it_shows(app, index, tmp_path,
                                                                    monkeypatch, capsys):
    # `app` is a parameter, not fetched in the body: made before capsys, the server's threads
    # write to pytest's own streams, not to a test's capture that is closed after it.
    block = python_blocks()[index]
    monkeypatch.chdir(tmp_path)                   # a block may write files; not into the repo
    names = {"__name__": "readme"}
    exec(compile(block, f"README.md python block {index + 1}", "exec"), names)
    out = capsys.readouterr().out
    assert out.strip(), "every README example prints what it shows"
    CHECKS[_api(block)](names, out)
