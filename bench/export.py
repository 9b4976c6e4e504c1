"""The shipped mnist model's step exported (ONNX, TFLite) against Keras calling the model
directly, as `Predictor` does: a warm 10 -> 10 rollout, batch 1; start-up (import + load, and to
the first rollout) and peak memory, each in a fresh process; and each runtime's installed size.

    python -m bench.export keras|onnx|tflite FOLDER     # the child `exported_step` starts
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from bench.timing import child, median_time, record

# Where each runtime's packages are, for their installed size.
PACKAGES = {"keras": ("tensorflow", "keras"), "onnx": ("onnxruntime",),
            "tflite": ("ai_edge_litert",)}


def exported_step() -> None:
    """Rollout latency, start-up and memory of the exported step against Keras."""
    import importlib.util
    import tempfile

    from frameprophet import data, load_predictor
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
        _record_start_ups(formats, Path(tmp))
    for kind in ["keras", *formats]:
        record(f"export_install_{kind}_mb", _installed_mb(*PACKAGES[kind]), "MB",
               f"installed size of the runtime, {kind}")


def _record_start_ups(formats: list[str], folder: Path) -> None:
    """Per kind, medians of 3 fresh processes: import + load, to the first rollout, peak MB."""
    starts = {}
    for kind in ["keras", *formats]:
        runs = [[float(v) for v in out.stdout.split()[-3:]]
                for out in (child("bench.export", kind, str(folder / kind)) for _ in range(3))
                if out.returncode == 0]
        if runs:
            starts[kind] = [statistics.median(column) for column in zip(*runs, strict=True)]
    for kind, (load_s, first_s, rss_mb) in starts.items():
        record(f"export_start_{kind}_s", load_s, "s", f"import + load, {kind}")
        record(f"export_first_{kind}_s", first_s, "s",
               f"import + load + first 10->10 rollout, {kind}")
        record(f"export_rss_{kind}_mb", rss_mb, "MB", f"peak memory to the first rollout, {kind}")
    for fmt in formats:
        if fmt in starts and "keras" in starts:
            record(f"export_start_ratio_{fmt}", starts[fmt][0] / starts["keras"][0], "x",
                   f"start-up (import + load), {fmt} / Keras (goal < 0.2)")


def _installed_mb(*modules: str) -> float:
    """Installed size of the packages that hold `modules`, in MB."""
    import importlib.util

    total = 0
    for module in modules:
        spec = importlib.util.find_spec(module)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            total += sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
    return total / 2**20


def _start_up(kind: str, folder: str) -> tuple[float, float, float]:
    """In the child: seconds to import + load, seconds to the first rollout, and peak memory
    in MB. Peak memory from VmHWM: ru_maxrss survives fork + exec, so a child would report its
    parent's."""
    started = time.perf_counter()
    if kind == "keras":
        from frameprophet import load_predictor

        predictor = load_predictor("mnist")
    else:
        from frameprophet.runtime import load_exported

        predictor = load_exported(folder)
    loaded = time.perf_counter() - started
    import numpy as np

    predictor.rollout(np.zeros((10, 64, 64, 1), np.float32), 10)
    first = time.perf_counter() - started
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    return loaded, first, peak / 1024


if __name__ == "__main__":
    print(*_start_up(*sys.argv[1:3]))
