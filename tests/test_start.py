"""The app's start-up: one server answers on the port from the first second (a start page with
the first prediction shipped with the weights), holds the app's paths until Gradio is mounted on
it, and hands the page over without a blank frame; the shipped model's ONNX twin answers until
TensorFlow is in."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port, says
from PIL import Image

from frameprophet import catalog, data, saving
from frameprophet.demo import backend, first
from frameprophet.demo.server import FIRST_GIF, HEALTH, STARTING, Server

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts" / "startup"


def get(port: int, path: str = "/", headers=None, timeout: float = 30):
    """(status, answered by the start page, body, headers); status 0 while nothing listens."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.headers.get(STARTING) is not None, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get(STARTING) is not None, e.read(), e.headers
    except OSError:
        return 0, False, b"", {}


# --------------------------------------------------------------------------------------------
# The server, with a stand-in for the Gradio app
# --------------------------------------------------------------------------------------------

def stand_in_app():
    """An ASGI app with a lifespan, as Gradio's mounted app is: a page, a config, an API path."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def page(request):
        return HTMLResponse('<html><body class="app"><gradio-app></gradio-app></body></html>')

    async def config(request):
        return JSONResponse({"version": "stand-in"})

    async def info(request):
        return PlainTextResponse("the app")

    return Starlette(routes=[Route("/", page), Route("/config", config),
                             Route("/gradio_api/info", info)])


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "first"
    folder.mkdir()
    (folder / "rollout.gif").write_bytes(b"GIF89a-the-first-result")
    (folder / "info.txt").write_text("Model: mnist <made when the model was shipped>")
    running = Server("127.0.0.1", free_port(), folder)
    running.start()
    yield running
    running.close()


def test_the_server_answers_at_once_and_holds_the_apps_paths_until_it_is_mounted(server):
    import httpx

    port = server.port
    status, starting, body, _ = get(port)
    assert (status, starting) == (200, True) and b"FrameProphet is starting" in body
    assert FIRST_GIF.encode() in body and b"&lt;made when the model was shipped&gt;" in body
    assert get(port, FIRST_GIF)[:3] == (200, False, b"GIF89a-the-first-result")
    status, _, _, headers = get(port, HEALTH)
    assert status == 503 and headers["Retry-After"] == "1"

    answers = {}
    calls = {"info": lambda: get(port, "/gradio_api/info")[::2],
             # an API client's first call, with a read timeout shorter than the wait
             "config": lambda: httpx.get(f"http://127.0.0.1:{port}/config", timeout=1.5)}
    threads = [threading.Thread(target=lambda k=k, f=f: answers.update({k: f()}))
               for k, f in calls.items()]
    for thread in threads:
        thread.start()
    time.sleep(3)
    assert answers == {}                                # held, not refused
    server.mount(stand_in_app())
    for thread in threads:
        thread.join(30)
    assert answers["info"] == (200, b"the app")
    assert answers["config"].status_code == 200
    assert answers["config"].json() == {"version": "stand-in"}     # after a few spaces

    assert get(port, HEALTH)[0] == 200
    status, starting, body, _ = get(port)
    assert (status, starting) == (200, False) and b'<body class="app"><gradio-app>' in body
    # the start page's own reload: the app's page with the start page over it, once
    status, starting, body, headers = get(port, headers={"Cookie": "fp-starting=1"})
    assert status == 200 and not starting
    assert body.index(b'<body class="app">') < body.index(b'id="fp-start"') < body.index(
        b"<gradio-app>")
    assert "fp-starting=;" in headers["Set-Cookie"] and "max-age=0" in headers["Set-Cookie"]
    assert get(port, FIRST_GIF)[0] == 200                     # the cover's picture, still


def test_without_a_first_result_the_start_page_says_so_and_a_taken_port_is_an_error():
    running = Server("127.0.0.1", free_port(), None)
    running.start()
    try:
        status, _, body, _ = get(running.port)
        assert status == 200 and b"<img" not in body and b"opens by itself" in body
        assert get(running.port, FIRST_GIF)[0] == 404
        with pytest.raises(OSError) as error:
            Server("127.0.0.1", running.port, None).start()
        assert says(str(error.value), field="port", values=[f"127.0.0.1:{running.port}"])
    finally:
        running.close()


# --------------------------------------------------------------------------------------------
# The first result, shipped with the weights
# --------------------------------------------------------------------------------------------

def test_the_shipped_first_result_is_current_and_the_page_uses_it(monkeypatch):
    where = first.current()
    assert where is not None, ("weights/first_result is missing or stale: `make first-result` "
                               "draws it again for the shipped weights")
    record = json.loads((where / first.RECORD).read_text())
    assert record["sha256"] == saving.sha256(saving.WEIGHTS_DIR / "mnist.keras")
    info = (where / "info.txt").read_text()
    assert info.startswith("Model: mnist (") and "Moving MNIST seed 0" in info
    assert "made when the model was shipped" in info and " ms" not in info
    with Image.open(where / "rollout.gif") as gif:
        assert gif.n_frames == 20
    monkeypatch.setattr(first, "_FIRST", {})
    gif, strip, plot, said = first.first_result()
    assert Path(gif).parent == where and said == info


def test_a_first_result_of_other_weights_or_another_example_is_not_used(tmp_path, monkeypatch):
    for name in ("mnist.keras", "mnist.json"):
        shutil.copy(saving.WEIGHTS_DIR / name, tmp_path / name)
    shutil.copytree(first.folder(), tmp_path / "first_result")
    monkeypatch.setattr(saving, "WEIGHTS_DIR", tmp_path)
    assert first.current() == tmp_path / "first_result"
    assert first.current((*first.FIRST_EXAMPLE[:1], 1, *first.FIRST_EXAMPLE[2:])) is None
    record = tmp_path / "first_result" / first.RECORD
    record.write_text(record.read_text().replace('"sha256": "', '"sha256": "0'))
    assert first.current() is None                      # weights retrained since
    (tmp_path / "mnist.keras").unlink()
    assert first.current() is None


@pytest.mark.slow
def test_write_draws_the_first_result_and_records_its_weights(tmp_path, monkeypatch):
    for name in ("mnist.keras", "mnist.json"):
        shutil.copy(saving.WEIGHTS_DIR / name, tmp_path / name)
    monkeypatch.setattr(saving, "WEIGHTS_DIR", tmp_path)
    catalog.clear()
    try:
        where = first.write()
    finally:
        catalog.clear()
    assert where == tmp_path / "first_result" and first.current() == where
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first_result", "mnist.json",
                                                          "mnist.keras"]   # no draft left
    assert "made when the model was shipped" in (where / "info.txt").read_text()


# --------------------------------------------------------------------------------------------
# The ONNX twin, which answers until TensorFlow is in
# --------------------------------------------------------------------------------------------

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
    assert catalog.exported_twin("mnist") is None


def test_until_keras_is_in_a_default_model_answers_from_its_twin(monkeypatch):
    imports, asked = [], []

    class Keras:                                    # what the Keras model has beyond a rollout
        def memory(self, clip, horizon):
            return "the Keras model's memory"

    monkeypatch.setattr(backend, "ensure_backend", lambda: imports.append(1))
    monkeypatch.setattr(catalog, "get", lambda name: asked.append(name) or catalog.LoadedModel(
        Keras(), name))
    monkeypatch.setattr(backend, "_READY", False)
    monkeypatch.setattr(backend, "_TWINS", None)
    assert backend.model("mnist").label == "mnist" and imports == [1]   # not asked for: Keras
    monkeypatch.setattr(backend, "_TWINS", None)
    backend.twins_until_keras()
    imports.clear()
    loaded = backend.model("mnist")
    assert "ONNX" in loaded.predictor.method and loaded.predictor.frame_size == (64, 64)
    clip = data.moving_mnist(1, seed=3, split="test")[0, :10]
    assert loaded.predictor.rollout(clip, 3).shape == (3, 64, 64, 1) and imports == []
    assert loaded.predictor.memory(clip, 3) == "the Keras model's memory"   # waits for Keras
    assert imports == [1] and asked == ["mnist", "mnist"]
    backend.model("squares-keras2")                 # no twin: Keras
    monkeypatch.setattr(backend, "_READY", True)
    assert isinstance(backend.model("mnist").predictor, Keras)       # Keras in: Keras only


# --------------------------------------------------------------------------------------------
# `python app.py` itself
# --------------------------------------------------------------------------------------------

def launch(tmp_path, port: int):
    """`python app.py` on `port`, its output in tmp_path/app.log, its files in tmp_path/tmp."""
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "TMPDIR": str(tmp_path / "tmp")}
    env.pop("GRADIO_TEMP_DIR", None)
    log = open(tmp_path / "app.log", "w")           # noqa: SIM115 (closed by stop)
    return subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, text=True,
                            stdout=log, stderr=subprocess.STDOUT), log


def stop(app, log) -> str:
    """SIGTERM, as a service manager stops it: the exit status is 0 and the server's files
    (its results and Gradio's cache) are gone. Returns its output."""
    app.send_signal(signal.SIGTERM)
    code = app.wait(timeout=60)
    log.close()
    out = Path(log.name).read_text()
    assert code == 0, out
    assert not list((Path(log.name).parent / "tmp").glob("frameprophet-*")), out
    return out


@pytest.mark.slow
@pytest.mark.server
def test_an_api_client_calling_the_moment_the_port_answers_gets_the_readmes_result(tmp_path):
    from gradio_client import Client

    port = free_port()
    launched = time.monotonic()
    app, log = launch(tmp_path, port)
    seen, done = [], threading.Event()

    def watch():                                    # what a health check and a visitor see
        while not done.is_set():
            seen.append((get(port, HEALTH)[0], *get(port)[:2]))
            time.sleep(0.05)

    try:
        while get(port, HEALTH)[0] == 0:
            assert app.poll() is None and time.monotonic() - launched < 300, "never answered"
            time.sleep(0.01)
        answered = time.monotonic() - launched
        watcher = threading.Thread(target=watch)
        watcher.start()
        # the README's block, as written: no retries, no longer timeouts
        client = Client(f"http://127.0.0.1:{port}/")
        gif, strip, plot, info = client.predict(
            source="Moving MNIST", seed=3, upload=None, context=10, horizon=10,
            mode="closed-loop", model="mnist", api_name="/predict")
        took = time.monotonic() - launched
        done.set()
        watcher.join(30)
    finally:
        done.set()
        out = stop(app, log)
    assert "Moving MNIST seed 3" in info and Path(gif).stat().st_size > 0, (info, out)
    print(f"port answered {answered:.2f} s after launch, the README's result at {took:.2f} s")
    health, pages = [h for h, *_ in seen], [starting for *_, starting in seen]
    assert 0 not in health and all(s == 200 for _, s, _ in seen), seen     # never refused
    assert health == sorted(health, reverse=True), seen     # 503 while starting, then 200
    assert pages == sorted(pages, reverse=True), seen       # the start page, then the app
    assert "Traceback" not in out, out


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_the_page_goes_from_the_start_page_to_the_app_without_a_blank_frame(tmp_path):
    """Screenshots every 200 ms (as the host allows) from the moment the port answers until the
    app shows its first result (tests/artifacts/startup/): each shows the start page or the app,
    none is blank or Gradio's "Loading...", which fill under 1% of the screen."""
    from test_browser import CHROMIUM_ARGS, chromium_path

    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    port = free_port()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        launched = time.monotonic()
        app, log = launch(tmp_path, port)
        try:
            while get(port, HEALTH)[0] == 0:
                assert app.poll() is None and time.monotonic() - launched < 300
                time.sleep(0.01)
            page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
            shots = screenshots(page, launched)
        finally:
            browser.close()
            out = stop(app, log)
    times = [float(name.split("-")[1][:-1]) for name, *_ in shots]
    print(f"{len(shots)} screenshots from {times[0]:.2f} to {times[-1]:.2f} s after launch, "
          f"median gap {np.median(np.diff(times)):.2f} s; the app from "
          f"{next(t for t, (*_, s) in zip(times, shots, strict=True) if s == 'app'):.2f} s")
    assert shots[0][2] == "start" and shots[-1][2] == "app", (shots, out)
    blank = [(name, share) for name, share, _ in shots if share < 0.01]
    assert not blank, f"blank or Loading... frames (see {ARTIFACTS}): {blank}"


SHOWN = """() => {
  const img = document.querySelector("#fp-animation img");
  if (document.getElementById("fp-start")) return "start";
  return img && img.complete && img.naturalWidth ? "app" : "neither";
}"""


def screenshots(page, launched: float, every: float = 0.2, limit: float = 300):
    """Screenshots (straight from Chromium: ~50 ms each) every `every` s until the app
    shows its first result, and two more: [(file name, share of the screen not in its main
    colour, "start"/"app"/"neither"/"" between two documents)]."""
    import base64

    cdp = page.context.new_cdp_session(page)
    shots, after, tick = [], 0, time.monotonic()
    while after < 3 and time.monotonic() - launched < limit:
        try:
            png = base64.b64decode(cdp.send("Page.captureScreenshot", {
                "format": "png", "optimizeForSpeed": True})["data"])
        except Exception:       # no frame to take while a document replaces another: Playwright
            png = page.screenshot(timeout=60_000)                               # waits for one
        try:
            state = page.evaluate(SHOWN)
        except Exception:                           # between two documents: pixels only
            state = ""
        name = f"{len(shots):03d}-{time.monotonic() - launched:05.2f}s-{state or 'x'}.png"
        (ARTIFACTS / name).write_bytes(png)
        shots.append((name, state))
        after += state == "app"
        tick += every
        time.sleep(max(0.0, tick - time.monotonic()))
    return [(name, painted_share(ARTIFACTS / name), state) for name, state in shots]


def painted_share(path: Path) -> float:
    """The share of pixels that differ from the picture's commonest colour: ~0 for a blank
    page, 0.0003 for Gradio's "Loading...", ~0.3 for the start page."""
    rgb = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(int)
    code = int(np.bincount((rgb // 4) @ np.array([4096, 64, 1])).argmax())   # 6 bits a channel
    main = np.array([code // 4096, code // 64 % 64, code % 64]) * 4
    return float((np.abs(rgb - main).max(axis=1) > 24).mean())
