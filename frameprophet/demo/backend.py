"""The heavy part of answering, done once and in one place: importing Keras (and TensorFlow,
quietly) and loading the models a request chooses.

A server's first requests arrive while its warm-up is still importing TensorFlow. Two threads
importing TensorFlow at once leave one of them with a partially initialised module (and, in the
main thread, the whole server dead), so every import and every model load goes through here:
the first caller imports under a lock, everyone arriving meanwhile waits for it, and afterwards
`ensure_backend` returns at once.
"""

from __future__ import annotations

import os
import threading

from frameprophet import catalog
from frameprophet.catalog import LoadedModel

_LOCK = threading.Lock()
_READY = False
_TWINS: set[str] = set()    # catalog keys served by an ONNX twin here: no Keras needed


def quiet_tensorflow_import() -> None:
    """Import TensorFlow without its C++ start-up lines (an absl warning and a oneDNN notice,
    each printed twice), which go to stderr before any log level applies. An import error still
    raises, after stderr is back. Another backend: nothing to do."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_keras() -> None:
    """TensorFlow, Keras and the modules a request imports on first use."""
    quiet_tensorflow_import()
    import keras  # noqa: F401

    import frameprophet.forecast  # noqa: F401
    import frameprophet.predict  # noqa: F401


def ensure_backend() -> None:
    """Import Keras and its backend, once for the whole process; a caller arriving while
    another imports waits for it. Safe from any thread."""
    global _READY
    if _READY:
        return
    with _LOCK:
        if not _READY:
            _import_keras()
            _READY = True


def use_exported_twin(name: str) -> bool:
    """Serve the shipped model `name` from its ONNX twin in this process, without Keras (see
    `catalog.use_exported_twin`). True when it does."""
    if not catalog.use_exported_twin(name):
        return False
    _TWINS.add(catalog.key(name))
    return True


def model(choice: str | None) -> LoadedModel:
    """The model for a choice (`catalog.get`: loaded once, then shared), after the backend
    unless an ONNX twin serves it."""
    if catalog.key(choice) not in _TWINS:
        ensure_backend()
    return catalog.get(choice)
