"""Start-up, each in a fresh interpreter: importing the package and loading `mnist`, importing
Gradio and TensorFlow alone (the floors under the app's goals), and `python app.py` from launch
to its start page, its first prediction, the app mounted and the README's API call answered.

    python -m bench.start load            # the children `cold_start` starts
    python -m bench.start import MODULE
"""

from __future__ import annotations

import importlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from bench.timing import ROOT, child, record


def cold_start() -> None:
    """Import + load 'mnist', and importing gradio and tensorflow alone: medians of 3."""
    print("cold start", flush=True)
    times = [float(out.stdout.split()[-1]) for out in
             (child("bench.start", "load") for _ in range(3)) if out.returncode == 0]
    if times:
        record("cold_import_load_s", statistics.median(times), "s", "import + load 'mnist'")
    # The floors under the two goals: the page cannot answer before Gradio is imported, nor
    # the first result come before TensorFlow is (imported after the page is up).
    for module in ("gradio", "tensorflow"):
        seconds = [float(child("bench.start", "import", module).stdout.split()[-1])
                   for _ in range(3)]
        record(f"cold_import_{module}_s", statistics.median(seconds), "s",
               f"import {module} alone, in a fresh interpreter")
    if (ROOT / "app.py").exists():
        app_start()


# The README's first gradio_client block, as a client that calls the moment the port answers.
README_CALL = dict(source="Moving MNIST", seed=3, upload=None, context=10, horizon=10,
                   mode="closed-loop", model="mnist", api_name="/predict")
LABELS = {"answer": "the first page, the start page's (goal <= 2)",
          "shown": "the first prediction shown on it (goal <= 3)",
          "ready": "the app mounted (/healthz 200)",
          "api": "the README's API call made at once, answered (goal <= 10)",
          "first_result": "the first result ready in the app"}


def app_start() -> None:
    """`python app.py` from launch: the start page, its first prediction, the app mounted, and
    the README's API call made the moment the port answered (no retries: an error fails it)."""
    from frameprophet.demo.server import STARTING  # the start page's header

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, text=True,
                            env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen: dict[str, float] = {}

    def watch():
        for line in proc.stdout:
            if line.startswith("The first result is ready"):
                seen["first_result"] = time.perf_counter() - start

    threads = [threading.Thread(target=f, daemon=True)
               for f in (watch, lambda: _client(url, seen, start))]
    for thread in threads:
        thread.start()
    try:
        while time.perf_counter() - start < 120 and "ready" not in seen:
            status, _ = _get(url, "/" if "answer" not in seen else "/healthz", STARTING)
            now = time.perf_counter() - start
            if status and "answer" not in seen:
                seen["answer"] = now
                if _get(url, "/startup/first-result.gif", STARTING)[0] == 200:   # with the page
                    seen["shown"] = time.perf_counter() - start
            elif status == 200 and "answer" in seen:
                seen["ready"] = now
            time.sleep(0.05)
        threads[1].join(120)
    finally:
        proc.terminate()
        proc.wait(30)
    for key, label in LABELS.items():
        if key in seen:
            record(f"cold_app_{key}_s", seen[key], "s", f"app cold start to {label}")


def _get(url: str, path: str, header: str) -> tuple[int, bool]:
    """(status, whether the start page answered: its `header`); (0, False) while nothing
    listens."""
    try:
        with urllib.request.urlopen(url + path, timeout=30) as r:
            return r.status, r.headers.get(header) is not None
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get(header) is not None
    except OSError:
        return 0, False


def _client(url: str, seen: dict, start: float) -> None:
    """The README's API call, made the moment the port answers; `seen["api"]` when answered."""
    from gradio_client import Client

    while "answer" not in seen:
        time.sleep(0.01)
    try:
        *_, info = Client(url + "/", verbose=False).predict(**README_CALL)
        seen["api"] = time.perf_counter() - start
        print(f"  the API client's answer: {info.splitlines()[0][:90]}...", flush=True)
    except Exception as e:                  # the goal is no error: say which
        print(f"  the API client failed: {type(e).__name__}: {e}", flush=True)


def _measure(what: str, *args: str) -> float:
    """In the child: seconds to import + load 'mnist', or to import one module."""
    started = time.perf_counter()
    if what == "load":
        from frameprophet import load_predictor

        load_predictor("mnist")
    else:
        importlib.import_module(args[0])
    return time.perf_counter() - started


if __name__ == "__main__":
    print(_measure(*sys.argv[1:]))
