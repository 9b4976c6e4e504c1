"""FrameProphet: next-frame video prediction with causal ConvLSTMs (Keras 3).

    from frameprophet import load_predictor, data
    predictor = load_predictor("mnist")                  # weights/mnist.keras
    clip = data.moving_mnist(1, seed=0, split="test")[0]  # (20, 64, 64, 1) float32 in [0, 1]
    future = predictor.rollout(clip[:10], horizon=10)    # (10, 64, 64, 1)

Modules, in the order data flows: data, io -> models -> predict, saving, hub -> metrics ->
render -> ui. Heavy imports (TensorFlow) happen on first use of these names, not at import.
"""

import os

__version__ = "0.1.0"

# TensorFlow's C++ notices (oneDNN and absl lines at import, a malloc setting at the first epoch,
# an iterator warning at exit) say nothing a user can act on. Set here, before anything can import
# TensorFlow, for every entry point (the CLI, the app, bench/, the tests) and the processes they
# start; TF_CPP_MIN_LOG_LEVEL=0 shows them again.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
__all__ = ["Predictor", "build", "load_predictor", "recipes"]


def __getattr__(name):
    if name in ("Predictor", "load_predictor"):
        from frameprophet import predict

        return getattr(predict, name)
    if name in ("build", "recipes"):
        from frameprophet import models

        return getattr(models, name)
    raise AttributeError(f"module 'frameprophet' has no attribute {name!r}")
