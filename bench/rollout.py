"""Rollout latency: ours (stepwise, O(T)) against the Keras 3 example's way, and the shipped
model under each installed Keras backend.

    python -m bench.rollout       # the child `rollout_by_backend` starts: one backend's figure
"""

from __future__ import annotations

import time

from bench.timing import child, median_time, record, value


def model_or_fresh(name: str, recipe: str, size=(64, 64)):
    """The shipped model if present (speed does not depend on the weights), else a fresh one."""
    from frameprophet import models
    from frameprophet.predict import Predictor, load_predictor

    try:
        return load_predictor(name)
    except ValueError:
        return Predictor(models.build(recipe, size))


def rollout_speed() -> None:
    """Closed loop 10 -> 10 at 64x64, batch 1: `Predictor.rollout` of prophet against the Keras 3
    example's `model.predict` on the whole growing sequence for every frame."""
    import numpy as np

    from frameprophet import data

    print("rollout, 10 -> 10 frames at 64x64, batch 1, closed loop", flush=True)
    context = data.moving_mnist(1, seed=0, split="test")[0][:10]
    keras3 = model_or_fresh("mnist-keras3", "keras3-mnist").model

    def example_way():
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
    record("rollout_speedup", value("rollout_example_way_ms") / value("rollout_ours_ms"), "x",
           "rollout speed-up, ours vs the example's way")


def rollout_by_backend() -> None:
    """Closed loop 10 -> 10 of the shipped mnist model under each installed backend, each in a
    process of its own (`KERAS_BACKEND` is read once, at import)."""
    import importlib.util

    print("rollout latency per Keras backend", flush=True)
    for backend in ("tensorflow", "jax", "torch"):
        if importlib.util.find_spec(backend) is None:
            print(f"  {backend}: not installed")
            continue
        out = child("bench.rollout", KERAS_BACKEND=backend)
        if out.returncode != 0:
            print(f"  {backend}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        record(f"rollout_{backend}_ms", float(out.stdout.split()[-1]) * 1000, "ms",
               f"rollout 10->10, batch 1, KERAS_BACKEND={backend}")


def _one_backend() -> None:
    """In the child: the backend's name and the median of 7 warm rollouts, in seconds."""
    import keras

    from frameprophet import data, load_predictor

    predictor = load_predictor("mnist")
    context = data.moving_mnist(1, seed=0, split="test")[0][:10]
    times = []
    for _ in range(2 + 7):                     # two warm-ups
        start = time.perf_counter()
        predictor.rollout(context, 10)
        times.append(time.perf_counter() - start)
    print(keras.backend.backend(), sorted(times[2:])[3])


if __name__ == "__main__":
    _one_backend()
