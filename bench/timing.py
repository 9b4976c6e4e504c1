"""What every benchmark shares: a median of timed runs, the results it records, a child
process that measures from a fresh interpreter, and the Markdown table of a results file.

Standard library only, so that a child measuring start-up imports nothing before it starts.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
TIMINGS = RESULTS_DIR / "timings.json"

RESULTS: dict[str, dict] = {}       # what this run measured: key -> value, unit, label


def median_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    """The median wall time of `repeats` calls of `fn`, after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def record(key: str, value: float, unit: str, label: str) -> None:
    """Keep one figure of this run and print it."""
    RESULTS[key] = {"value": value, "unit": unit, "label": label}
    print(f"  {label}: {value:.4g} {unit}", flush=True)


def value(key: str) -> float:
    """A figure recorded earlier in this run."""
    return RESULTS[key]["value"]


def child(module: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS` in a fresh interpreter at the repository root, with `env` added
    to this process's environment; its output as text."""
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **env})


def markdown(out: dict) -> str:
    """A results file (`{"meta": ..., "results": ...}`) as the README's table."""
    m = out["meta"]
    lines = [f"Benchmarks of {m['date']} on {m['machine']} (Python {m['python']}, "
             f"TensorFlow {m['tensorflow']}); medians, ratios from the same run."]
    if m.get("rerun"):
        lines.append("Parts rerun since, their rows replaced: " + "; ".join(
            f"{name} {when}" for name, when in m["rerun"].items()) + ".")
    lines += ["", "| what | value |", "|---|---|"]
    for r in out["results"].values():
        number = f"{r['value']:.1f}" if r["value"] >= 10 else f"{r['value']:.3g}"
        lines.append(f"| {r['label']} | {number} {r['unit']} |")
    return "\n".join(lines)
