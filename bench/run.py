"""Run the benchmarks: `make bench` (or `python -m bench.run [NAME ...]`) prints a Markdown table
and writes bench/results/timings.json.

Every figure is the median of several runs, and every comparison is a ratio of two figures
measured side by side in this one run, on this machine. Naming benchmarks runs only those: their
rows replace their own in the results file and the rest are kept.
"""

from __future__ import annotations

import datetime
import json
import platform
import resource
import sys
import time

from bench import export, fit, generate, page, rollout, start, training
from bench.timing import RESULTS, TIMINGS, markdown, record

# Every benchmark by the name that runs it alone, in the order a whole run takes them.
BENCHMARKS = {
    "data": generate.data_generation,
    "rollout": rollout.rollout_speed,
    "backends": rollout.rollout_by_backend,
    "ui": page.prediction_request,
    "views": page.play_views,
    "fit": fit.training_through_fit,
    "training": training.training_throughput,
    "own_videos": fit.training_on_own_videos,
    "cold_start": start.cold_start,
    "export": export.exported_step,
}


def main(only: list[str] | None = None) -> None:
    """Run every benchmark, or those named in `only`, and write the results file."""
    started = time.perf_counter()
    unknown = sorted(set(only or []) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"no benchmark {', '.join(unknown)}; benchmarks: "
                         f"{', '.join(BENCHMARKS)}")
    for name, benchmark in BENCHMARKS.items():
        if not only or name in only:
            benchmark()
    record("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MB",
           "peak memory of this benchmark process")
    out = {"meta": _meta(time.perf_counter() - started), "results": RESULTS}
    if only:
        out = _merged(out, only)
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(out, indent=2) + "\n")
    print()
    print(markdown(out))


def _meta(seconds: float) -> dict:
    """When and where: whether the CPU has AMX or AVX512-BF16 decides the training figures."""
    import tensorflow as tf

    from frameprophet.hardware import hardware

    return {"date": datetime.date.today().isoformat(), "machine": hardware(),
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "seconds": round(seconds, 1)}


def _merged(out: dict, only: list[str]) -> dict:
    """This partial run's rows over the results file's; each benchmark rerun says when and
    where (the host may differ from the whole run's)."""
    old, meta = json.loads(TIMINGS.read_text()), out["meta"]
    meta = {**old["meta"], "rerun": {**old["meta"].get("rerun", {}), **{
        name: f"{meta['date']} on {meta['machine'].split(';')[0]}" for name in only}}}
    fresh = {k: v for k, v in out["results"].items() if k != "peak_rss_mb"}  # a whole run's
    return {"meta": meta, "results": {**old["results"], **fresh}}


if __name__ == "__main__":
    main(sys.argv[1:])
