"""A hostile or impatient visitor cannot crash the page's server, exhaust it or read its files:
Predict the moment the app answers, a decompression-bomb sketch, numbers of the wrong type, and
what the answers may say."""

from __future__ import annotations

import math
import os
import re
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from conftest import comparison_of, free_port, prediction_of, scene_of

from frameprophet import demo, ui
from frameprophet.demo.server import STARTING as HEADER
from frameprophet.ui import api, handlers

ROOT = Path(__file__).resolve().parent.parent


def one_sentence(message: str, *words: str) -> None:
    """A refusal: one line, a whole sentence, naming what it must, with no server path or repr."""
    assert "\n" not in message and message.rstrip().endswith((".", ")")), message
    assert len(message) < 400, message
    assert not re.search(r"(^|[\s'\"(])/(tmp|home|usr|etc|work|root|var)\b", message), message
    assert " object at 0x" not in message and "Traceback" not in message, message
    for word in words:
        assert word in message, (word, message)


# --------------------------------------------------------------------------------------------
# Start-up: eight visitors who press Predict the moment the app answers are all served
# --------------------------------------------------------------------------------------------

def test_the_backend_is_imported_once_and_requests_meanwhile_wait(monkeypatch):
    from frameprophet.demo import backend

    imports = []

    def slow_import():
        imports.append(threading.get_ident())
        time.sleep(0.3)

    monkeypatch.setattr(backend, "_import_keras", slow_import)
    monkeypatch.setattr(backend, "_READY", False)
    done = []
    threads = [threading.Thread(target=lambda: (backend.ensure_backend(), done.append(1)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(imports) == 1 and len(done) == 8        # one import; everyone waited for it
    backend.ensure_backend()
    assert len(imports) == 1


def _get(port: int) -> tuple[int, bool]:
    """(status, answered by the start page); status 0 while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.status, r.headers.get(HEADER) is not None
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get(HEADER) is not None
    except OSError:
        return 0, False


@pytest.mark.slow
@pytest.mark.server
def test_eight_visitors_who_predict_the_moment_the_app_answers_are_served(tmp_path):
    from gradio_client import Client

    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    log = open(tmp_path / "app.log", "w+")          # noqa: SIM115 (read after the process ends)
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, text=True,
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        while _get(port) != (200, False):           # the app itself, not the front door
            assert app.poll() is None and time.monotonic() < deadline, "the app never answered"
            time.sleep(0.05)

        def visitor(seed: int) -> str:
            # a busy host: the page's config may take longer than httpx's 5 s to come
            client = Client(f"http://127.0.0.1:{port}/", verbose=False,
                            httpx_kwargs={"timeout": 300})
            *_, info = client.predict(source="Moving MNIST", seed=seed, upload=None, context=10,
                                      horizon=10, mode="closed_loop", model="mnist",
                                      api_name="/predict")
            return info

        with ThreadPoolExecutor(8) as pool:
            jobs = [pool.submit(visitor, seed) for seed in range(8)]
            infos = [job.exception(timeout=900) or job.result() for job in jobs]
        time.sleep(1)
        alive = app.poll() is None
        served = (tmp_path / "app.log").read_text()
        # Gradio refuses it (and logs its own traceback, which no caller sees)
        named = named_file_answer(port, tmp_path)
    finally:
        app.terminate()
        app.wait(timeout=60)
        log.seek(0)
        out = log.read()
        log.close()
    assert alive, f"the app died:\n{out}"
    assert all(f"Moving MNIST seed {i}" in str(info) for i, info in enumerate(infos)), (infos, out)
    assert "partially initialized module" not in served and "Traceback" not in served, out
    assert named.startswith("event: error") and "secret" not in named, named     # never read
    assert "secret.npy to the gradio cache dir because it was not uploaded" in out


def named_file_answer(port: int, tmp_path: Path) -> str:
    """What `/predict` answers a raw HTTP call whose upload names a file of the server's own (a
    good clip, in Gradio's file payload) instead of sending it."""
    import json

    secret = tmp_path / "secret.npy"
    np.save(secret, np.zeros((12, 64, 64), np.float32))
    upload = {"path": str(secret), "meta": {"_type": "gradio.FileData"}}
    body = json.dumps({"data": ["upload", 0, upload, 5, 3, "closed_loop", "mnist"]}).encode()
    call = urllib.request.Request(f"http://127.0.0.1:{port}/gradio_api/call/predict", data=body,
                                  headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(call, timeout=60) as r:
        event = json.load(r)["event_id"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/call/predict/{event}",
                                timeout=300) as r:
        return r.read().decode()


# --------------------------------------------------------------------------------------------
# Every picture a visitor sends goes through the upload limits, checked before decoding
# --------------------------------------------------------------------------------------------

def bomb_png(path: Path, side: int = 13000) -> Path:
    """A small PNG that decodes to side x side pixels (1-bit grey, all black): ~20 KB on disk,
    169 M pixels in memory (Pillow only warns below 179 M)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    row = b"\x00" * (1 + math.ceil(side / 8))
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
                     + chunk(b"IEND", b""))
    return path


def test_a_bomb_sketch_is_refused_from_its_header_with_little_memory(tmp_path):
    bomb = bomb_png(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 1_000_000
    code = """if True:
        import resource, sys
        from frameprophet import demo
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for sketch in (sys.argv[1], {"path": sys.argv[1]}, {"composite": sys.argv[1]}):
            try:
                demo.scene_clip(demo.Scene.of("drawing", None, 3.6, "", 0, sketch))
                print("ACCEPTED")
            except demo.RequestError as e:
                print("REFUSED", e)
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print("GROWTH_MB", growth / 1024)
    """
    run = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True,
                         text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    refusals = [line.removeprefix("REFUSED ") for line in lines if line.startswith("REFUSED")]
    assert len(refusals) == 3, run.stdout
    for message in refusals:
        one_sentence(message, "sketch", "13000x13000", "4096x4096")
    growth = float(lines[-1].split()[1])
    assert growth < 300, f"peak memory grew {growth:.0f} MB"


def test_a_sketch_array_is_checked_by_its_shape_before_any_resize():
    huge = np.broadcast_to(np.zeros(1, np.uint8), (13000, 13000, 4))     # no memory behind it
    for sketch in (huge, {"background": None, "layers": [], "composite": huge}):
        with pytest.raises(demo.RequestError) as info:
            demo.scene_clip(demo.Scene.of("drawing", None, 3.6, "", 0, sketch))
        one_sentence(str(info.value), "sketch", "13000x13000", "4096x4096")
    for odd in (np.zeros((0, 5, 3), np.uint8), np.zeros((4, 4, 4, 4), np.uint8),
                np.array(["a", "b"])):
        with pytest.raises(demo.RequestError) as info:
            demo.scene_clip(demo.Scene.of("drawing", None, 3.6, "", 0, odd))
        one_sentence(str(info.value), "sketch")


# --------------------------------------------------------------------------------------------
# The API's numbers reach the app's own checks: one sentence each, the field and what is accepted
# --------------------------------------------------------------------------------------------

CLIP = (demo.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", "mnist")


@pytest.mark.parametrize("index, value, words", [
    (3, "10", ["Context frames", "whole number", "text"]),
    (3, 10.5, ["Context frames", "whole number", "10.5"]),
    (3, float("nan"), ["Context frames", "NaN"]),
    (3, float("inf"), ["Context frames", "infinity"]),
    (3, True, ["Context frames", "whole number"]),
    (4, "3", ["Frames to predict", "1 and 30"]),
    (4, -float("inf"), ["Frames to predict", "1 and 30"]),
    (4, 2.5, ["Frames to predict", "2.5"]),
    (1, "three", ["Seed", "0 to 2147483647", "text"]),
    (1, float("nan"), ["Seed", "NaN"]),
    (1, 1e300, ["Seed", "0 to 2147483647"]),
    (6, "x" * 5000, ["Model", "at most"]),
])
def test_bad_numbers_and_names_get_one_sentence(index, value, words):
    args = list(CLIP)
    args[index] = value
    with pytest.raises(demo.RequestError) as info:
        prediction_of(*args)
    one_sentence(str(info.value), *words)


@pytest.mark.parametrize("objects, speed, words", [
    (2, float("inf"), ["Speed", "infinity"]),
    (2, float("nan"), ["Speed", "NaN"]),
    (2, "fast", ["Speed", "text"]),
    (2.5, 3.6, ["Objects", "whole number", "2.5"]),
    ("2", 3.6, ["Objects", "whole number", "text"]),
    (float("inf"), 3.6, ["Objects", "infinity"]),
])
def test_bad_scene_numbers_get_one_sentence(objects, speed, words):
    for world in ("mnist", "squares", "drawing"):
        with pytest.raises(demo.RequestError) as info:
            scene_of(world, objects, speed, "", 0, 5, 3, "closed_loop", "mnist")
        if world != "drawing" or objects == 2:      # a drawing has no objects to count
            one_sentence(str(info.value), *words)


def test_compare_names_and_the_hub_box_are_bounded():
    with pytest.raises(demo.RequestError) as info:
        comparison_of(demo.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", ["mnist", "y" * 5000])
    one_sentence(str(info.value), "Model", "at most")
    with pytest.raises(demo.RequestError) as info:
        prediction_of(*CLIP[:6], demo.CUSTOM_MODEL, hub_repo="z" * 5000)
    one_sentence(str(info.value), "at most")


def test_a_refused_number_on_the_page_keeps_the_result_and_logs_one_line(caplog, monkeypatch,
                                                                        laid_out):
    caplog.set_level("INFO")
    monkeypatch.setattr(handlers.gr, "Warning", lambda message: None)
    results = laid_out.clip.results
    result = handlers.predict_clip(results, demo.SOURCE_MNIST, 0, None, 10.5, 3, "closed_loop",
                                   "mnist", None, False)
    assert list(result) == [results.info]                   # the pictures stay
    assert result[results.info].startswith("Not predicted: Context frames")
    refused = [r for r in caplog.records if r.getMessage().startswith("refused:")]
    assert len(refused) == 1 and refused[0].exc_info is None
    assert not any(r.exc_info for r in caplog.records)


def test_the_api_inputs_pass_values_on_unchanged():
    """Gradio rounds or refuses a widget's value before the app sees it (a Slider or a Number
    with bounds: "Value 50 is greater than maximum value 19.", a text a traceback): the
    endpoints read no widgets, only `gr.api`'s inputs, which pass every value on unchanged."""
    page = ui.build_demo()
    try:
        endpoints = {fn.api_name: fn for fn in page.fns.values()
                     if fn.api_name in ("predict", "scene", "compare", "memory")}
        assert len(endpoints) == 4
        for fn in endpoints.values():
            assert not fn.preprocess, fn.api_name
            for block in fn.inputs:
                assert type(block).__name__ == "Api", (fn.api_name, block)
                for value in ("10", 10.5, float("inf"), "three", [1, 2], None):
                    assert block.preprocess(value) == value
    finally:
        page.close()


@pytest.mark.server
def test_the_api_refuses_wrong_numbers_in_its_own_words(client, capfd, tmp_path):
    from gradio_client import handle_file

    for field, value, said in [("context", "10", "Context frames must be a whole number"),
                               ("context", 10.5, "Context frames must be a whole number"),
                               ("seed", "three", "Seed must be a whole number"),
                               ("model", "m" * 5000, "Model")]:
        kwargs = dict(source="mnist", seed=0, upload=None, context=5, horizon=3,
                      mode="closed_loop", model="mnist")
        with pytest.raises(Exception, match=said) as info:
            client.predict(**{**kwargs, field: value}, api_name="/predict")
        assert "upstream Gradio app" not in str(info.value)
    with pytest.raises(Exception, match="Speed must be a number") as info:
        client.predict(world="mnist", objects=2, speed="fast", digits="", seed=0, context=5,
                       horizon=3, mode="closed_loop", model="mnist", api_name="/scene")
    with pytest.raises(Exception, match="13000x13000") as info:
        client.predict(world="drawing", objects=1, speed=3.6, digits="", seed=0, context=5,
                       horizon=3, mode="closed_loop", model="mnist",
                       sketch=handle_file(str(bomb_png(tmp_path / "bomb.png"))),
                       api_name="/scene")
    # A file is one the client sent: a server path as text (or a file's data without Gradio's
    # mark) is refused by name, never read.
    for value in ("/etc/passwd", {"path": "/etc/passwd"}):
        with pytest.raises(Exception, match="Upload must be a file sent with gradio_client's "
                                            "handle_file") as info:
            client.predict(source="upload", seed=0, upload=value, context=5, horizon=3,
                           mode="closed_loop", model="mnist", api_name="/predict")
        assert "passwd" not in str(info.value)
    with pytest.raises(Exception, match="Sketch must be a file"):
        client.predict(world="drawing", sketch="/etc/hostname", api_name="/scene")
    assert "Traceback" not in capfd.readouterr().err


# --------------------------------------------------------------------------------------------
# No answer contains a server path, an object repr or a cut sentence
# --------------------------------------------------------------------------------------------

def test_answers_never_show_server_paths_or_object_reprs(tmp_path):
    def fails(message):
        def run():
            raise ValueError(message)
        return run

    cases = [
        f"The model {tmp_path}/models/squares.keras failed its check.",
        "Not a ZIP: <_io.BytesIO object at 0x7f3a2b1c9d50> could not be opened.",
        f"Could not read '{tmp_path}/uploads/clip.gif'.",
    ]
    for message in cases:
        with pytest.raises(demo.RequestError) as info:
            demo.answer(fails(message))
        one_sentence(str(info.value))
        assert str(tmp_path) not in str(info.value)
    with pytest.raises(demo.RequestError) as info:
        demo.answer(fails(f"The model {tmp_path}/squares.keras failed its check."))
    assert "squares.keras" in str(info.value)        # the file's own name is kept


def test_refusals_of_long_or_odd_values_are_short_and_whole():
    for source in ("s" * 5000, "Webcam", 7):
        with pytest.raises(demo.RequestError) as info:
            prediction_of(source, *CLIP[1:])
        one_sentence(str(info.value), "Moving squares, Moving MNIST")
        assert "source" in str(info.value).lower() and "s" * 50 not in str(info.value)
    with pytest.raises(demo.RequestError) as info:
        prediction_of(*CLIP[:5], "m" * 5000, "mnist")
    one_sentence(str(info.value), "Mode", "closed_loop")
    with pytest.raises(gr.Error) as info:
        api.predict("mnist", [1, 2], None, 5, 3, "closed_loop", "mnist")
    one_sentence(info.value.message, "Seed")
    with pytest.raises(gr.Error) as info:
        api.predict("upload", 0, "/etc/passwd", 5, 3, "closed_loop", "mnist")
    one_sentence(info.value.message, "Upload", "handle_file")
    assert "passwd" not in info.value.message
