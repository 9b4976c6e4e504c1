"""The app's start-up: the front door answers at once and shows the first prediction, which the
shipped model's ONNX twin makes without TensorFlow; then the app takes the port over."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from frameprophet import catalog, data, saving
from frameprophet.demo.front_door import HEADER, FrontDoor

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str = "/") -> tuple[int, bool, bytes]:
    """(status, answered by the front door, body); status 0 while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.headers.get(HEADER) is not None, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get(HEADER) is not None, e.read()
    except OSError:
        return 0, False, b""


def test_the_front_door_shows_the_first_result_once_it_is_whole_then_frees_the_port(tmp_path):
    port = free_port()
    door = FrontDoor("127.0.0.1", port, tmp_path)
    assert door.open()
    try:
        status, by_door, body = get(port)
        assert (status, by_door) == (200, True) and b"FrameProphet is starting" in body
        (tmp_path / "rollout.gif").write_bytes(b"GIF89a-half-written")
        # the animation is not served before info.txt, which the child writes last
        assert get(port, "/first-result.gif")[:2] == (503, True)
        assert get(port, "/gradio_api/info")[:2] == (503, True)     # the app's, not yet there
        (tmp_path / "info.txt").write_text("Model: mnist")
        assert get(port, "/first-result.gif") == (200, True, b"GIF89a-half-written")
        assert get(port, "/first-result.txt?t=1") == (200, True, b"Model: mnist")
        assert not FrontDoor("127.0.0.1", port, tmp_path).open()    # the port is taken
    finally:
        door.close()
    assert get(port)[0] == 0
    with socket.socket() as s:              # free for the app (Gradio binds the same way)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_the_shipped_onnx_twin_is_current_and_predicts_as_the_keras_model():
    from frameprophet.predict import load_predictor

    twin = catalog.exported_twin("mnist")
    assert twin is not None, ("weights/mnist-onnx is missing or was exported from another "
                              "weights file: `make ship` keeps it current, or run "
                              "python -m frameprophet export mnist --out weights/mnist-onnx")
    assert twin.predictor.info["sha256"] == saving.sha256(saving.WEIGHTS_DIR / "mnist.keras")
    assert twin.predictor.info["dataset"] == "mnist" and "ONNX" in twin.predictor.method
    clips = data.moving_mnist(2, seed=3, split="test")[:, :10]
    np.testing.assert_allclose(twin.predictor.rollout(clips, 4),
                               load_predictor("mnist").rollout(clips, 4), atol=1e-4)


def test_a_twin_of_other_weights_is_not_used(tmp_path, monkeypatch):
    for name in ("mnist.keras", "mnist.json"):
        shutil.copy(saving.WEIGHTS_DIR / name, tmp_path / name)
    shutil.copytree(catalog.twin_folder("mnist"), tmp_path / "mnist-onnx")
    monkeypatch.setattr(saving, "WEIGHTS_DIR", tmp_path)
    assert catalog.exported_twin("mnist") is not None
    spec_path = tmp_path / "mnist-onnx" / "predictor.json"
    spec = json.loads(spec_path.read_text())
    spec_path.write_text(json.dumps({**spec, "sha256": "0" * 64}))      # a retrained .keras
    assert catalog.exported_twin("mnist") is None
    shutil.rmtree(tmp_path / "mnist-onnx")
    assert catalog.exported_twin("mnist") is None and not catalog.use_exported_twin("mnist")


@pytest.mark.slow
def test_the_first_result_child_never_imports_tensorflow(tmp_path):
    code = ("import sys; from frameprophet.demo import views; "
            "views.write_first_result(sys.argv[1]); "
            "heavy = {'keras', 'tensorflow', 'jax'} & set(sys.modules); assert not heavy, heavy")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    info = (tmp_path / "info.txt").read_text()
    assert info.startswith("Model: mnist (stepwise on ONNX Runtime") and "seed 0" in info
    assert all((tmp_path / name).stat().st_size > 0
               for name in ("rollout.gif", "strip.png", "quality.png"))


@pytest.mark.slow
@pytest.mark.server
def test_app_py_answers_with_the_front_door_first_then_the_app():
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    answers = []
    try:
        deadline = time.monotonic() + 600         # a busy CI host: the app's page takes long
        while time.monotonic() < deadline:
            status, by_door, body = get(port)
            if status and (not answers or answers[-1] != by_door):
                answers.append(by_door)
            if status == 200 and not by_door:
                break
            time.sleep(0.05)
        assert answers == [True, False], answers    # the door, then the app and never back
        assert b"gradio" in body.lower()
    finally:
        app.terminate()
        out = app.communicate(timeout=30)[0]
    assert "Traceback" not in out, out
