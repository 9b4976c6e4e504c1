"""FrameProphet's benchmarks, release tools and experiments, run from the repository root.

    python -m bench.run [NAME ...]            # timings -> bench/results/timings.json (make bench)
    python -m bench.release.ship CANDIDATE    # release tools: bench/release/ (make ship ...)

Benchmarks (timings only) are one file each here, listed in `bench.run.BENCHMARKS`; measured
reports live in `bench/results/`; the tools that rewrite weights/ and the README live in
`bench/release/`; ablations and their outputs in `bench/experiments/`. Everything imports the
installed package (`pip install -e .`).
"""
