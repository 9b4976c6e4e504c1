"""The models a person can choose by name, each loaded once and shared between requests.

A choice is a shipped short name (`weights/NAME.keras`), a name the server registered
(`register`: a model trained on the page), or a Hugging Face Hub repo id (`owner/name`,
`hf://owner/name`). Local paths are not accepted: choices come from the web. The
two default models stand in untrained, and say so, when their file is missing, so a clone without
weights still runs. Every refusal is a `saving.ModelFileError` whose message is one sentence for
the person, without the server's paths; the app shows it as it is.

    loaded = catalog.get("mnist"); loaded.predictor.rollout(clip[:10], horizon=10)
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from frameprophet import data, saving
from frameprophet.predict import Predictor, load_predictor, untrained_predictor

log = logging.getLogger(__name__)

#: The default models, always offered, and the frame size of their untrained stand-in.
DEFAULTS = {name: data.PROTOCOL[name]["frame_size"] for name in ("mnist", "squares")}
MAX_CACHED = 4                  # models kept in memory, least recently used dropped first
#: Local model files the server offers by name (`register`); a visitor picks a name, never a path.
_REGISTERED: dict[str, Path] = {}


@dataclass
class LoadedModel:
    """A predictor and what the page says of it."""

    predictor: Predictor
    label: str                      # what the info line calls it
    untrained: bool = False
    baseline: str | None = None     # for the Keras examples' recipes: what to expect of them


def shipped() -> list[str]:
    """Model names with a file in `weights/` (after the defaults, which always appear)."""
    names = list(DEFAULTS)
    if saving.WEIGHTS_DIR.is_dir():
        for path in sorted(saving.WEIGHTS_DIR.glob("*.keras")):
            if ".tmp" not in path.name and path.stem not in names:
                names.append(path.stem)
    return names + [name for name in _REGISTERED if name not in names]


def register(name: str, path: str | Path) -> str:
    """Offer the model file `path` under `name` in the menus. Only the server's own code calls
    this (a model trained on the page); what comes from the web is a name, never a path."""
    path = Path(path)
    if not path.is_file():
        raise saving.ModelFileError(f"{path}: no such model file to offer as {name!r}")
    _REGISTERED[name] = path
    return name


def model_file(choice: str | None) -> Path | None:
    """The local .keras file of a shipped or registered choice (None for a Hub repo or a
    default model whose weights are missing)."""
    resolved = resolve(choice)
    path = _weights_file(resolved)
    return None if resolved.startswith("hf://") or not path.exists() else path


def baseline_note(name: str) -> str | None:
    """For a shipped model of one of the Keras examples' recipes: what it is and what to expect."""
    from frameprophet.models import BASELINES

    path = _weights_file(name)
    recipe = saving.read_sidecar(path).get("recipe") if path.exists() else None
    return f"{name} is {BASELINES[recipe]}." if recipe in BASELINES else None


def resolve(choice: str | None) -> str:
    """A shipped short name, or `hf://owner/name` for a Hub repo id, by `saving.resolve`'s one
    order (without local paths)."""
    name = (choice or "").strip()
    if name in DEFAULTS or name in _REGISTERED:     # a default is offered even without its file
        return name
    accepted = (f"Choose one of {', '.join(shipped())} or type a Hugging Face Hub repo id "
                "like owner/name.")
    if not name:
        raise saving.ModelFileError(f"No model chosen. {accepted}")
    try:
        resolved = saving.resolve(name, allow_paths=False)
    except saving.ModelFileError as e:
        raise saving.ModelFileError(f"Unknown model {name!r}. {accepted}") from e
    return resolved if resolved.startswith("hf://") else Path(resolved).stem


def load(resolved: str) -> LoadedModel:
    """Load one resolved choice, not cached (`get` caches)."""
    if resolved.startswith("hf://"):
        try:
            predictor = load_predictor(resolved)
        except ImportError as e:
            raise saving.ModelFileError("Loading models from the Hugging Face Hub is not "
                                        "available in this installation.") from e
        except Exception as e:
            log.info("Hub model %s failed to load: %s", resolved, e)
            raise saving.ModelFileError(hub_error_sentence(resolved, e)) from e
        return LoadedModel(predictor, resolved.removeprefix("hf://"))
    if not _weights_file(resolved).exists():
        if resolved not in DEFAULTS:
            raise saving.ModelFileError(f"The model file for {resolved!r} is missing.")
        return LoadedModel(untrained_predictor(DEFAULTS[resolved]),     # labelled as such
                           f"{resolved} – untrained (weights not found)", untrained=True)
    try:
        predictor = load_predictor(str(_REGISTERED.get(resolved, resolved)))
        if resolved in _REGISTERED:             # named as offered, not by the server's path
            predictor.info["name"] = predictor.name = resolved
    except saving.ModelFileError as e:
        log.warning("shipped model %s failed to load", resolved, exc_info=True)
        raise saving.ModelFileError(
            f"The shipped model {resolved!r} could not be loaded: {e}") from e
    return LoadedModel(predictor, resolved, baseline=baseline_note(resolved))


def hub_error_sentence(resolved: str, error: Exception) -> str:
    """One sentence for the page, without the server's paths or settings."""
    repo = resolved.removeprefix("hf://")
    text = str(error).lower()
    if "offline" in text or "cannot be reached" in text or "unreachable" in text:
        return (f"Could not load {repo}: this server cannot reach the Hugging Face Hub and has no "
                "copy of it. Choose one of the shipped models.")
    if "no such repo" in text or "private" in text:
        return f"Could not load {repo}: no such public repo on the Hugging Face Hub."
    if "savedmodel" in text and "safe_mode" in text:
        return (f"Could not load {repo}: it holds a TensorFlow SavedModel, which this app only "
                "loads from trusted repos.")
    if "has no keras model" in text or "several model files" in text:
        return (f"Could not load {repo}: it holds no single Keras model (a .keras file, or "
                "config.json + model.weights.h5).")
    return f"Could not load {repo} from the Hugging Face Hub."


# --------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------

_LOADED: OrderedDict[str, LoadedModel] = OrderedDict()
_LOCK = threading.Lock()


def key(choice: str | None) -> str:
    """What a choice is cached under: a shipped file's path and modification time (so a
    retrained file is loaded anew), else the resolved name."""
    return _key(resolve(choice))


def get(choice: str | None) -> LoadedModel:
    """The model for a choice, loaded on first use and shared afterwards."""
    resolved = resolve(choice)
    cache_key = _key(resolved)
    with _LOCK:
        if cache_key in _LOADED:
            _LOADED.move_to_end(cache_key)
            return _LOADED[cache_key]
        loaded = load(resolved)
        _LOADED[cache_key] = loaded
        while len(_LOADED) > MAX_CACHED:
            _LOADED.popitem(last=False)
        return loaded


def clear() -> None:
    """Forget every loaded model (the next `get` loads again)."""
    with _LOCK:
        _LOADED.clear()


def _key(resolved: str) -> str:
    path = _weights_file(resolved)
    if not resolved.startswith("hf://") and path.exists():
        return f"{path}@{path.stat().st_mtime_ns}"
    return resolved


def _weights_file(name: str) -> Path:
    return _REGISTERED.get(name) or saving.WEIGHTS_DIR / f"{name}.keras"
