"""FrameProphet benchmarks: `make bench` prints a Markdown table and writes bench/results.json.

Every figure is the median of several runs, and every comparison is a ratio of two figures
measured side by side in this one run, on this machine.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from frameprophet import data, models, saving  # noqa: E402
from frameprophet.demo.server import STARTING  # noqa: E402
from frameprophet.predict import Predictor, load_predictor  # noqa: E402

RESULTS = {}


def median_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def record(key: str, value: float, unit: str, label: str) -> None:
    RESULTS[key] = {"value": value, "unit": unit, "label": label}
    print(f"  {label}: {value:.4g} {unit}", flush=True)


def model_or_fresh(name: str, recipe: str, size=(64, 64)) -> Predictor:
    """The shipped model if present (speed does not depend on the weights), else a fresh one."""
    try:
        return load_predictor(name)
    except ValueError:
        return Predictor(models.build(recipe, size))


def bench_data() -> None:
    print("data generation", flush=True)
    n = 256
    record("squares_per_s", n / median_time(lambda: data.moving_squares(n, seed=0)), "seq/s",
           "moving squares generated (15 x 40x40)")
    record("mnist_per_s", n / median_time(lambda: data.moving_mnist(n, seed=0)), "seq/s",
           "Moving MNIST generated (20 x 64x64)")


def bench_rollout() -> None:
    print("rollout, 10 -> 10 frames at 64x64, batch 1, closed loop", flush=True)
    clip = data.moving_mnist(1, seed=0, split="test")[0]
    context = clip[:10]
    keras3 = model_or_fresh("mnist-keras3", "keras3-mnist").model

    def example_way():
        # The Keras 3 example: model.predict on the whole growing sequence for every frame.
        frames = context
        for _ in range(10):
            new = keras3.predict(frames[None], verbose=0)[0, -1:]
            frames = np.concatenate([frames, new], axis=0)

    prophet = model_or_fresh("mnist", "prophet")
    ours = median_time(lambda: prophet.rollout(context, 10), repeats=7, warmup=2)
    theirs = median_time(example_way, repeats=3)
    record("rollout_example_way_ms", theirs * 1000, "ms",
           "Keras 3 example's way (keras3-mnist, model.predict on the growing sequence)")
    record("rollout_ours_ms", ours * 1000, "ms", "ours (prophet, stepwise states, O(T))")
    record("rollout_speedup", theirs / ours, "x", "rollout speed-up, ours vs the example's way")


@functools.cache
def shipped_shape() -> dict:
    """The shipped mnist model's size (patch, hidden, depth, kernel): the training figures are
    for the model users get, and "the same size" is its size."""
    model, _ = saving.load(saving.WEIGHTS_DIR / "mnist.keras")
    return {key: getattr(model, key) for key in ("patch", "hidden", "depth", "kernel")}


def bench_training() -> None:
    """Training throughput of the shipped recipe (fused cell, the precision `train` picks here)
    against Keras' ConvLSTM2D cell in float32 at the same size, and against the Keras 3
    example's recipe; compute rate = sequences/s x parameters."""
    import keras

    from frameprophet.hardware import resolve_precision

    print("training throughput (sequences/s, train_on_batch after warm-up)", flush=True)
    precision = resolve_precision("auto")
    shape = shipped_shape()
    fused = {**shape, "cell": "fused"}
    cases = [("prophet", "prophet", fused, precision, 16, 4)]
    if precision != "float32":   # splits the compute-rate gain into the cell's and the precision's
        cases.append(("prophet_float32", "prophet", fused, "float32", 16, 4))
    cases += [("prophet_keras_cell", "prophet", {**shape, "cell": "keras"}, "float32", 16, 4),
              ("keras3-mnist", "keras3-mnist", {}, "float32", 5, 2)]
    for name, recipe, options, policy, batch, steps in cases:
        keras.config.set_dtype_policy(policy)
        model = models.build(recipe, (64, 64), **options)
        if recipe == "prophet":
            model.feedback.assign(0.5)                  # the scheduled-sampling objective
        x, y = data.make_pairs("mnist", batch, 20, seed=0)
        seconds = median_time(lambda m=model, x=x, y=y: m.train_on_batch(x, y), repeats=steps)
        record(f"train_{name}_seq_per_s", batch / seconds, "seq/s",
               f"training {name} ({policy}, batch {batch} x 19 frames, "
               f"{model.count_params():,} parameters)")
        RESULTS[f"train_{name}_seq_per_s"]["parameters"] = int(model.count_params())
    keras.config.set_dtype_policy("float32")

    def rate(name):
        r = RESULTS[f"train_{name}_seq_per_s"]
        return r["value"] * r["parameters"]

    record("train_cell_speedup", rate("prophet") / rate("prophet_keras_cell"), "x",
           f"training compute rate, shipped recipe ({precision}, fused cell) vs Keras "
           "ConvLSTM2D cell in float32, same size")
    if precision != "float32":
        record("train_fused_cell_speedup", rate("prophet_float32") / rate("prophet_keras_cell"),
               "x", "of which the fused cell (both float32)")
        record("train_precision_speedup", rate("prophet") / rate("prophet_float32"), "x",
               f"of which {precision} (both the fused cell)")
    record("train_speedup", RESULTS["train_prophet_seq_per_s"]["value"]
           / RESULTS["train_keras3-mnist_seq_per_s"]["value"], "x",
           "training sequences/s, prophet vs keras3-mnist")
    if precision != "float32":
        bench_gates_conv(precision)


def bench_gates_conv(precision: str) -> None:
    """The ceiling of `train_precision_speedup` on this CPU: the fused cell's gates convolution
    (concat(x, h) -> 4 x hidden, 3x3 at the shipped model's grid, ~90% of a training step's
    FLOPs) alone, float32 against `precision`. Where bfloat16 runs on AVX512-BF16 (no AMX) it is
    about twice float32 at best (2.05x, 438 vs 213 GFLOP/s, on a 2-core AMD EPYC), so with the
    fused cell's ~1.05x the compute-rate goal of 2.5x is out of reach on such a CPU: even with
    nothing but the convolutions left, the ratio would be ~2.47x there. Fewer FLOPs per
    convolution do not come cheap either: Winograd F(2x2, 3x3) written in `keras.ops` (exact to
    7e-6 in float32) took 269 ms forward + backward against the direct convolution's 44 ms at
    this size in bfloat16 (session 50): its tile transforms are memory-bound elementwise ops."""
    import keras

    shape = shipped_shape()
    hidden, kernel, grid = shape["hidden"], shape["kernel"], 64 // shape["patch"]
    x = np.random.default_rng(0).random((64, grid, grid, 2 * hidden), dtype=np.float32)
    flops = 2 * x.shape[0] * grid * grid * kernel * kernel * 2 * hidden * 4 * hidden
    speed = {}
    for policy in ("float32", precision):
        conv = keras.layers.Conv2D(4 * hidden, kernel, padding="same", dtype=policy)
        inputs = keras.ops.convert_to_tensor(x, dtype=conv.compute_dtype)
        speed[policy] = flops / median_time(lambda c=conv, i=inputs: c(i), repeats=7, warmup=2)
        record(f"gates_conv_{policy}_gflops", speed[policy] / 1e9, "GFLOP/s",
               f"the cell's gates convolution alone ({policy}, 64 x {grid}x{grid}x{2 * hidden} "
               f"-> {4 * hidden}, {kernel}x{kernel})")
    record("gates_conv_precision_speedup", speed[precision] / speed["float32"], "x",
           f"{precision} vs float32 on that convolution alone: the ceiling of "
           "train_precision_speedup on this CPU")


def bench_fit() -> None:
    """Training as `train` runs it: `model.fit` on a `SequenceBatches` PyDataset, first with
    TensorFlow's from_generator malloc patch in place, then with `RestoreMallocThresholds`
    undoing it. TensorFlow applies the patch once per process, at the first generator run, so
    the order measures both."""
    import keras

    from frameprophet.callbacks import RestoreMallocThresholds
    from frameprophet.hardware import resolve_precision
    from frameprophet.train import SequenceBatches

    print("training through fit (sequences/s after warm-up)", flush=True)
    precision = resolve_precision("auto")
    keras.config.set_dtype_policy(precision)
    model = models.build("prophet", (64, 64), **shipped_shape())
    keras.config.set_dtype_policy("float32")
    model.feedback.assign(0.5)
    batch, steps = 16, 3
    model.fit(SequenceBatches("mnist", batch, 1, frames=20), verbose=0)   # traces; patches
    for key, callbacks, label in [
            ("fit_patched", [], "TensorFlow's malloc patch in place"),
            ("fit", [RestoreMallocThresholds()], "malloc thresholds restored, as `train` runs")]:
        batches = SequenceBatches("mnist", batch, steps, frames=20)
        seconds = median_time(lambda b=batches, c=callbacks: model.fit(b, verbose=0, callbacks=c),
                              repeats=3, warmup=0)
        record(f"train_{key}_seq_per_s", batch * steps / seconds, "seq/s",
               f"training prophet through fit ({precision}, batch {batch}), {label}")
    record("train_fit_speedup", RESULTS["train_fit_seq_per_s"]["value"]
           / RESULTS["train_fit_patched_seq_per_s"]["value"], "x",
           "training through fit, malloc thresholds restored vs TensorFlow's patch")


def bench_own_videos() -> None:
    """Issue 55: training on a folder of your own clips is as fast as on generated Moving MNIST,
    i.e. the data path (windows cut from the decode-once cache) is not the bottleneck. The same
    colour model goes through `fit` on each source, side by side: 48 orbit clips (bench/orbits.py,
    GIF and MP4, decoded once) and MNIST batches made grey-to-colour on the fly."""
    import tempfile

    import keras
    from orbits import write_orbits

    from frameprophet import videos
    from frameprophet.callbacks import RestoreMallocThresholds
    from frameprophet.hardware import resolve_precision
    from frameprophet.train import SequenceBatches

    class ColourMnist(SequenceBatches):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return np.repeat(x, 3, axis=-1), np.repeat(y, 3, axis=-1)

    print("training on your own clips vs generated MNIST (sequences/s through fit)", flush=True)
    precision = resolve_precision("auto")
    keras.config.set_dtype_policy(precision)
    model = models.build("prophet", (64, 64), channels=3, **shipped_shape())
    keras.config.set_dtype_policy("float32")
    model.feedback.assign(0.5)
    batch, steps = 16, 3
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        found = videos.load(write_orbits(Path(tmp) / "clips"), (64, 64), 10, 10,
                            cache=Path(tmp) / "cache", say=None)
        record("own_videos_decode_s", time.perf_counter() - started, "s",
               "writing and decoding 48 clips (24 GIF, 24 MP4) into the cache, once")
        sources = {"own_videos": lambda: found.batches(batch, steps, seed=1),
                   "mnist_colour": lambda: ColourMnist("mnist", batch, steps, frames=20)}
        model.fit(sources["mnist_colour"](), verbose=0)        # traces
        for key, make in sources.items():
            seconds = median_time(lambda m=make: model.fit(m(), verbose=0,
                                                           callbacks=[RestoreMallocThresholds()]),
                                  repeats=3, warmup=1)
            record(f"train_{key}_seq_per_s", batch * steps / seconds, "seq/s",
                   f"training a colour prophet through fit ({precision}, batch {batch}) on "
                   + ("48 orbit clips" if key == "own_videos" else "generated MNIST"))
    record("train_own_videos_rate", RESULTS["train_own_videos_seq_per_s"]["value"]
           / RESULTS["train_mnist_colour_seq_per_s"]["value"], "x",
           "training rate on your own clips vs on generated MNIST, same model (goal >= 0.8)")


ROLLOUT_BY_BACKEND = """
import time, numpy as np, keras
from frameprophet import data, load_predictor
p = load_predictor("mnist")
clip = data.moving_mnist(1, seed=0, split="test")[0]
p.rollout(clip[:10], 10); p.rollout(clip[:10], 10)
times = []
for _ in range(7):
    t = time.perf_counter(); p.rollout(clip[:10], 10); times.append(time.perf_counter() - t)
print(keras.backend.backend(), sorted(times)[3])
"""


def bench_backends() -> None:
    """Closed-loop 10 -> 10 rollout of the shipped mnist model under each installed backend."""
    import importlib.util

    print("rollout latency per Keras backend", flush=True)
    for backend, module in [("tensorflow", "tensorflow"), ("jax", "jax"), ("torch", "torch")]:
        if importlib.util.find_spec(module) is None:
            print(f"  {backend}: not installed")
            continue
        out = subprocess.run([sys.executable, "-c", ROLLOUT_BY_BACKEND], capture_output=True,
                             text=True, cwd=ROOT, env={**os.environ, "KERAS_BACKEND": backend,
                                                       "TF_CPP_MIN_LOG_LEVEL": "3"})
        if out.returncode != 0:
            print(f"  {backend}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        seconds = float(out.stdout.split()[-1])
        record(f"rollout_{backend}_ms", seconds * 1000, "ms",
               f"rollout 10->10, batch 1, KERAS_BACKEND={backend}")


def bench_ui() -> None:
    """A warm /predict end to end (10 -> 10) against the model's own rollout of the same clip,
    measured in turns so both see the same machine: their ratio is the request's overhead
    (clip, scoring, GIF, strip, plot, files)."""
    from frameprophet import catalog, demo  # the request layer behind the page, no Gradio
    print("UI request end to end (clip -> GIFs + plot), 10 -> 10, warm", flush=True)
    predictor = catalog.get("mnist").predictor
    clip = demo.make_clip("mnist", 0, None, predictor.frame_size)[0][None, :10]
    requests, rollouts = [], []
    for _ in range(6):                            # the first of each is the warm-up
        start = time.perf_counter()
        demo.run_prediction("Moving MNIST", 0, None, 10, 10, "closed-loop", "mnist")
        requests.append(time.perf_counter() - start)
        start = time.perf_counter()
        predictor.rollout(clip, 10)
        rollouts.append(time.perf_counter() - start)
    request, rollout = statistics.median(requests[1:]), statistics.median(rollouts[1:])
    record("ui_request_ms", request * 1000, "ms", "UI request 10->10 end to end, warm")
    record("ui_rollout_ms", rollout * 1000, "ms", "the model's own rollout 10->10 in that run")
    record("ui_request_over_rollout", request / rollout, "x",
           "UI request end to end / the model's own rollout (goal <= 2)")


def bench_views() -> None:
    """The play views' requests, warm, end to end (10 -> 10): a scene, a drawing, a compare of
    ours with the Keras 3 example (less that baseline's own O(T^2) prediction)."""
    import re

    from frameprophet import demo
    print("play views, 10 -> 10, warm", flush=True)
    seconds = median_time(lambda: demo.run_scene("mnist", 3, 2 * data.MNIST_SPEED, "", 1, 10, 10,
                                               "closed_loop", "mnist"), repeats=5)
    record("ui_scene_ms", seconds * 1000, "ms", "scene request 10->10 end to end, warm")
    sketch = np.full((120, 120), 255, np.uint8)
    sketch[20:100, 55:65] = 0
    seconds = median_time(lambda: demo.run_scene("drawing", None, data.MNIST_SPEED, "", 0, 10, 10,
                                               "closed_loop", "mnist", sketch=sketch), repeats=5)
    record("ui_sketch_ms", seconds * 1000, "ms", "drawing request 10->10 end to end, warm")
    if not (saving.WEIGHTS_DIR / "mnist-keras3.keras").exists():
        return
    times = []
    for _ in range(3):
        start = time.perf_counter()
        *_, info = demo.run_compare("Moving MNIST", 3, None, 10, 10, "closed_loop",
                                  ["mnist", "mnist-keras3"])
        baseline_ms = float(re.search(r"^mnist-keras3 .*\((\d+) ms\)$", info, re.M).group(1))
        times.append((time.perf_counter() - start) * 1000 - baseline_ms)
    record("ui_compare_ms", statistics.median(times[1:]), "ms",
           "compare mnist with mnist-keras3, end to end less the baseline's own prediction")


def bench_cold_start() -> None:
    print("cold start", flush=True)
    code = ("import time; t=time.perf_counter(); from frameprophet import load_predictor; "
            "load_predictor('mnist'); print(time.perf_counter()-t)")
    times = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if out.returncode == 0:
            times.append(float(out.stdout.strip().splitlines()[-1]))
    if times:
        record("cold_import_load_s", statistics.median(times), "s", "import + load 'mnist'")
    # The floors under the two goals: the page cannot answer before Gradio is imported, nor
    # the first result come before TensorFlow is (imported after the page is up).
    for module in ("gradio", "tensorflow"):
        code = (f"import time; t = time.perf_counter(); import {module}; "
                "print(time.perf_counter() - t)")
        seconds = [float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                        text=True, cwd=ROOT).stdout.strip().splitlines()[-1])
                   for _ in range(3)]
        record(f"cold_import_{module}_s", statistics.median(seconds), "s",
               f"import {module} alone, in a fresh interpreter")
    if (ROOT / "app.py").exists():
        bench_app_start()


# The README's first gradio_client block, as a client that calls the moment the port answers.
README_CALL = dict(source="Moving MNIST", seed=3, upload=None, context=10, horizon=10,
                   mode="closed-loop", model="mnist", api_name="/predict")


def bench_app_start() -> None:
    """`python app.py` from launch: the start page, its first prediction, the app mounted, and
    the README's API call made the moment the port answered (no retries: an error fails it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen: dict[str, float] = {}

    def watch():
        for line in proc.stdout:
            if line.startswith("The first result is ready"):
                seen["first_result"] = time.perf_counter() - start

    def get(path: str) -> tuple[int, bool]:
        """(status, whether the start page answered); (0, False) while nothing listens."""
        try:
            with urllib.request.urlopen(url + path, timeout=30) as r:
                return r.status, r.headers.get(STARTING) is not None
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get(STARTING) is not None
        except OSError:
            return 0, False

    def client():
        from gradio_client import Client

        while "answer" not in seen:
            time.sleep(0.01)
        try:
            *_, info = Client(url + "/", verbose=False).predict(**README_CALL)
            seen["api"] = time.perf_counter() - start
            print(f"  the API client's answer: {info.splitlines()[0][:90]}...", flush=True)
        except Exception as e:                  # the goal is no error: say which
            print(f"  the API client failed: {type(e).__name__}: {e}", flush=True)

    threads = [threading.Thread(target=f, daemon=True) for f in (watch, client)]
    for thread in threads:
        thread.start()
    try:
        while time.perf_counter() - start < 120 and "ready" not in seen:
            status, starting = get("/" if "answer" not in seen else "/healthz")
            now = time.perf_counter() - start
            if status and "answer" not in seen:
                seen["answer"] = now
                if get("/startup/first-result.gif")[0] == 200:      # shown with the page
                    seen["shown"] = time.perf_counter() - start
            elif status == 200 and "answer" in seen:
                seen["ready"] = now
            time.sleep(0.05)
        threads[1].join(120)
    finally:
        proc.terminate()
        proc.wait(30)
    labels = {"answer": "the first page, the start page's (goal <= 2)",
              "shown": "the first prediction shown on it (goal <= 3)",
              "ready": "the app mounted (/healthz 200)",
              "api": "the README's API call made at once, answered (goal <= 10)",
              "first_result": "the first result ready in the app"}
    for key, label in labels.items():
        if key in seen:
            record(f"cold_app_{key}_s", seen[key], "s", f"app cold start to {label}")


# Peak memory from VmHWM: ru_maxrss survives fork + exec, so a child would report the parent's.
EXPORTED_START = """
import sys, time
t = time.perf_counter()
kind, folder = sys.argv[1], sys.argv[2]
if kind == "keras":
    from frameprophet import load_predictor
    predictor = load_predictor("mnist")
else:
    from frameprophet.runtime import load_exported
    predictor = load_exported(folder)
loaded = time.perf_counter() - t
import numpy as np
predictor.rollout(np.zeros((10, 64, 64, 1), np.float32), 10)
first = time.perf_counter() - t
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(loaded, first, peak / 1024)
"""


def _installed_mb(*modules: str) -> float:
    """Installed size of the packages that hold `modules`, in MB."""
    import importlib.util

    total = 0
    for module in modules:
        spec = importlib.util.find_spec(module)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            total += sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
    return total / 2**20


def _start_ups(kinds: list[str], folder: Path) -> dict[str, list[float]]:
    """Per kind, medians of 3 fresh processes: [import + load s, + first rollout s, peak MB]."""
    starts = {}
    for kind in kinds:
        runs = []
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", EXPORTED_START, kind, str(folder / kind)],
                                 capture_output=True, text=True, cwd=ROOT,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            if out.returncode == 0:
                runs.append([float(v) for v in out.stdout.split()[-3:]])
        if runs:
            starts[kind] = [statistics.median(column) for column in zip(*runs, strict=True)]
    return starts


def bench_export() -> None:
    """The shipped mnist model's step exported (ONNX, TFLite) against Keras calling the model
    directly, as Predictor does: 10 -> 10 rollout, batch 1, warm; and start-up (import + load,
    and to the first rollout) and peak memory, each in a fresh process."""
    import importlib.util
    import tempfile

    from frameprophet.export import export
    from frameprophet.runtime import load_exported

    print("exported step vs Keras, 10 -> 10 at 64x64, batch 1, closed loop", flush=True)
    formats = [f for f, module in [("onnx", "onnxruntime"), ("tflite", "ai_edge_litert")]
               if importlib.util.find_spec(module)]
    if "onnx" not in formats or importlib.util.find_spec("onnx") is None:
        print("  not measured: pip install -r requirements-dev.txt (onnx, onnxruntime)")
        return
    context = data.moving_mnist(1, seed=0, split="test")[0][:10]
    keras_way = load_predictor("mnist")
    with tempfile.TemporaryDirectory() as tmp:
        runtimes = {}
        for fmt in formats:
            export("mnist", Path(tmp) / fmt, fmt=fmt)
            runtimes[fmt] = load_exported(Path(tmp) / fmt)
        keras_s = median_time(lambda: keras_way.rollout(context, 10), repeats=7, warmup=2)
        record("export_rollout_keras_ms", keras_s * 1000, "ms", "rollout 10->10, Keras (TF)")
        for fmt, runtime in runtimes.items():
            seconds = median_time(lambda r=runtime: r.rollout(context, 10), repeats=7, warmup=2)
            record(f"export_rollout_{fmt}_ms", seconds * 1000, "ms", f"rollout 10->10, {fmt}")
            record(f"export_rollout_speedup_{fmt}", keras_s / seconds, "x",
                   f"rollout speed-up, {fmt} vs Keras")
        starts = _start_ups(["keras", *formats], Path(tmp))
        for kind, (load_s, first_s, rss_mb) in starts.items():
            record(f"export_start_{kind}_s", load_s, "s", f"import + load, {kind}")
            record(f"export_first_{kind}_s", first_s, "s",
                   f"import + load + first 10->10 rollout, {kind}")
            record(f"export_rss_{kind}_mb", rss_mb, "MB", f"peak memory to the first rollout, "
                   f"{kind}")
        for fmt in formats:
            if fmt in starts and "keras" in starts:
                record(f"export_start_ratio_{fmt}", starts[fmt][0] / starts["keras"][0], "x",
                       f"start-up (import + load), {fmt} / Keras (goal < 0.2)")
    sizes = {"keras": ("tensorflow", "keras"), "onnx": ("onnxruntime",),
             "tflite": ("ai_edge_litert",)}
    for kind in ["keras", *formats]:
        record(f"export_install_{kind}_mb", _installed_mb(*sizes[kind]), "MB",
               f"installed size of the runtime, {kind}")


PARTS = (bench_data, bench_rollout, bench_backends, bench_ui, bench_views, bench_fit,
         bench_training, bench_own_videos, bench_cold_start, bench_export)


def main(only: list[str] | None = None) -> None:
    """Run every part, or those named in `only` (`python bench/run.py export`): then their
    results replace their own entries in bench/results.json and the rest are kept."""
    started = time.perf_counter()
    names = [part.__name__.removeprefix("bench_") for part in PARTS]
    unknown = sorted(set(only or []) - set(names))
    if unknown:
        raise SystemExit(f"no benchmark part {', '.join(unknown)}; parts: {', '.join(names)}")
    for part, name in zip(PARTS, names, strict=True):
        if not only or name in only:
            part()
    record("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MB",
           "peak memory of this benchmark process")
    import tensorflow as tf

    from frameprophet.hardware import hardware

    # As the card says it: whether the CPU has AMX or AVX512-BF16 decides the training figures.
    meta = {"date": datetime.date.today().isoformat(), "machine": hardware(),
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "seconds": round(time.perf_counter() - started, 1)}
    out = {"meta": meta, "results": RESULTS}
    if only:
        old = json.loads((ROOT / "bench" / "results.json").read_text())
        # Each part rerun says when and where: the host may differ from the full run's.
        meta = {**old["meta"], "rerun": {**old["meta"].get("rerun", {}), **{
            name: f"{meta['date']} on {meta['machine'].split(';')[0]}" for name in only}}}
        fresh = {k: v for k, v in RESULTS.items() if k != "peak_rss_mb"}   # not the full run's
        out = {"meta": meta, "results": {**old["results"], **fresh}}
    (ROOT / "bench" / "results.json").write_text(json.dumps(out, indent=2) + "\n")
    print()
    print(markdown(out))


def markdown(out: dict) -> str:
    m = out["meta"]
    lines = [f"Benchmarks of {m['date']} on {m['machine']} (Python {m['python']}, "
             f"TensorFlow {m['tensorflow']}); medians, ratios from the same run."]
    if m.get("rerun"):
        lines.append("Parts rerun since, their rows replaced: " + "; ".join(
            f"{name} {when}" for name, when in m["rerun"].items()) + ".")
    lines += ["", "| what | value |", "|---|---|"]
    for r in out["results"].values():
        value = f"{r['value']:.1f}" if r["value"] >= 10 else f"{r['value']:.3g}"
        lines.append(f"| {r['label']} | {value} {r['unit']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
