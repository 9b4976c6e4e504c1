"""The page's requests, warm and end to end, through the request layer behind it (no Gradio):
a prediction against the model's own rollout, and the play views (a scene, a drawing, a
compare)."""

from __future__ import annotations

import statistics
import time

from bench.timing import median_time, record


def prediction_request() -> None:
    """A warm /predict end to end (10 -> 10) against the model's own rollout of the same clip,
    measured in turns so both see the same machine: their ratio is the request's overhead
    (clip, scoring, GIF, strip, plot, files)."""
    from frameprophet import catalog, demo

    print("UI request end to end (clip -> GIFs + plot), 10 -> 10, warm", flush=True)
    predictor = catalog.get("mnist").predictor
    clip = demo.make_clip("mnist", 0, None, predictor.frame_size)[0][None, :10]
    request = demo.PredictRequest.of("Moving MNIST", 0, None, 10, 10, "closed-loop", "mnist")
    requests, rollouts = [], []
    for _ in range(6):                            # the first of each is the warm-up
        start = time.perf_counter()
        demo.run_prediction(request)
        requests.append(time.perf_counter() - start)
        start = time.perf_counter()
        predictor.rollout(clip, 10)
        rollouts.append(time.perf_counter() - start)
    request, rollout = statistics.median(requests[1:]), statistics.median(rollouts[1:])
    record("ui_request_ms", request * 1000, "ms", "UI request 10->10 end to end, warm")
    record("ui_rollout_ms", rollout * 1000, "ms", "the model's own rollout 10->10 in that run")
    record("ui_request_over_rollout", request / rollout, "x",
           "UI request end to end / the model's own rollout (goal <= 2)")


def play_views() -> None:
    """The play views' requests, warm, end to end (10 -> 10): a scene, a drawing, a compare of
    ours with the Keras 3 example (less that baseline's own O(T^2) prediction)."""
    import re

    import numpy as np

    from frameprophet import data, demo, saving

    print("play views, 10 -> 10, warm", flush=True)
    scene = demo.SceneRequest.of("mnist", 3, 2 * data.MNIST_SPEED, "", 1, 10, 10, "closed_loop",
                                 "mnist")
    seconds = median_time(lambda: demo.run_scene(scene), repeats=5)
    record("ui_scene_ms", seconds * 1000, "ms", "scene request 10->10 end to end, warm")
    sketch = np.full((120, 120), 255, np.uint8)
    sketch[20:100, 55:65] = 0
    drawing = demo.SceneRequest.of("drawing", None, data.MNIST_SPEED, "", 0, 10, 10,
                                   "closed_loop", "mnist", sketch=sketch)
    seconds = median_time(lambda: demo.run_scene(drawing), repeats=5)
    record("ui_sketch_ms", seconds * 1000, "ms", "drawing request 10->10 end to end, warm")
    if not (saving.WEIGHTS_DIR / "mnist-keras3.keras").exists():
        return
    times = []
    for _ in range(3):
        start = time.perf_counter()
        *_, info = demo.run_compare(demo.CompareRequest.of(
            "Moving MNIST", 3, None, 10, 10, "closed_loop", ["mnist", "mnist-keras3"]))
        baseline_ms = float(re.search(r"^mnist-keras3 .*\((\d+) ms\)$", info, re.M).group(1))
        times.append((time.perf_counter() - start) * 1000 - baseline_ms)
    record("ui_compare_ms", statistics.median(times[1:]), "ms",
           "compare mnist with mnist-keras3, end to end less the baseline's own prediction")
