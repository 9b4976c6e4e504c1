"""The heavy part of answering, done once and in one place: importing Keras (and TensorFlow,
quietly) and loading the models a request chooses.

A server's first requests arrive while its warm-up is still importing TensorFlow. Two threads
importing TensorFlow at once leave one of them with a partially initialised module (and, in the
main thread, the whole server dead), so every import and every model load goes through here:
the first caller imports under a lock, everyone arriving meanwhile waits for it, and afterwards
`ensure_backend` returns at once.

Importing TensorFlow takes ~6.5 s on two cores, after Gradio's ~4 s. In the app's server
(`twins_until_keras`), until it is in, a shipped default model with a current ONNX twin
(`catalog.exported_twin`, weights/NAME-onnx/: the same frames within 1e-4) answers rollouts from
the twin, so an API client calling the moment the app answers gets its result in seconds;
whatever else a request needs of the model (the memory view's states) waits for Keras.
Afterwards every request uses the Keras model.
"""

from __future__ import annotations

import os
import threading

from frameprophet import catalog
from frameprophet.catalog import LoadedModel

_LOCK = threading.Lock()
_READY = False
_TWINS: dict[str, LoadedModel | None] | None = None   # `twins_until_keras`: name -> twin or None
_TWINS_LOCK = threading.Lock()


def quiet_tensorflow_import() -> None:
    """Import TensorFlow without its C++ start-up lines (an absl warning and a oneDNN notice,
    each printed twice), which go to stderr before any log level applies. An import error still
    raises, after stderr is back. Another backend: nothing to do."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
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


class _UntilKeras:
    """A model's ONNX twin standing in while Keras is imported: its rollout, frame size and
    words are the twin's; anything else (`memory`) waits for Keras and is the Keras model's."""

    def __init__(self, twin, name: str):
        self._name = name
        for attribute in ("rollout", "frame_size", "channels", "stepwise", "method", "info"):
            setattr(self, attribute, getattr(twin, attribute))

    def __getattr__(self, attribute):          # only what the twin does not have
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        ensure_backend()
        return getattr(catalog.get(self._name).predictor, attribute)


def twins_until_keras() -> None:
    """Let default models answer from their ONNX twins until Keras is imported (`app.py` does;
    see the module docstring)."""
    global _TWINS
    _TWINS = {} if _TWINS is None else _TWINS


def _twin(choice: str | None) -> LoadedModel | None:
    """A default model (mnist, squares, natural) on its ONNX twin (loaded once), or None."""
    resolved = (choice or "").strip()
    if _TWINS is None or resolved not in catalog.stand_ins():
        return None
    with _TWINS_LOCK:
        if resolved not in _TWINS:
            loaded = catalog.exported_twin(resolved)
            _TWINS[resolved] = loaded and LoadedModel(
                _UntilKeras(loaded.predictor, resolved), loaded.label, baseline=loaded.baseline)
        return _TWINS[resolved]


def model(choice: str | None) -> LoadedModel:
    """The model for a choice (`catalog.get`: loaded once, then shared), after the backend;
    while the backend is still being imported, its ONNX twin where it has one (see the
    module docstring)."""
    if not _READY:
        twin = _twin(choice)
        if twin is not None:
            return twin
    ensure_backend()
    return catalog.get(choice)
