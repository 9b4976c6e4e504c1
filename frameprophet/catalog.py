"""The models a person can choose by name, each loaded once and shared between requests.

A choice is a shipped short name (`weights/NAME.keras`) or a Hugging Face Hub repo id
(`owner/name`, `hf://owner/name`), or a model the person who launched the app added with
`app.py --model PATH_OR_HUB_ID` (`add`, trusted, checked once at start-up). Paths typed into the
page are never accepted: choices come from the web. The default models stand in untrained,
and say so, when their file is missing, so a clone without weights still runs. Every refusal is
a `saving.ModelFileError` whose message is one sentence for the person, without the server's
paths; the app shows it as it is.

    loaded = catalog.get("mnist"); loaded.predictor.rollout(clip[:10], horizon=10)
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from frameprophet import saving

# The model table lives in `zoo` (card reads it too); the page and the CLI reach it here.
from frameprophet.zoo import (  # noqa: F401
    EXAMPLE_RECIPES,
    MODELS,
    ModelName,
    register_model,
    stand_ins,
)

if TYPE_CHECKING:   # Keras loads with the first model, not with the page (see saving)
    from frameprophet.predict import Predictor

log = logging.getLogger(__name__)

MAX_CACHED = 4                  # models kept in memory, least recently used dropped first


@dataclass
class LoadedModel:
    """A predictor and what the page says of it."""

    predictor: Predictor
    label: str                      # what the info line calls it
    untrained: bool = False
    baseline: str | None = None     # for the Keras examples' recipes: what to expect of them


def shipped() -> list[str]:
    """The table's names offered (stand-ins always, the others with a file in `weights/`),
    then any other model file in `weights/`."""
    files = saving.shipped_names()
    named = [n for n, entry in MODELS.items() if entry.stand_in or n in files]
    return [*named, *(name for name in files if name not in named)]


def offered() -> list[str]:
    """What the page's model menus offer by name: `shipped()`, then the models added with `add`."""
    names = shipped()           # weights/ read once
    return [*names, *(name for name in _ADDED if name not in names)]


def add(spec: str) -> str:
    """Offer one more model, given on the command line by the person who launched the app (so a
    local path is trusted here, unlike a path typed into the page): a `.keras` file, labelled by
    its file stem, or a Hub repo id `owner/name` (from the Hub or its local cache, by the same
    rules as a Hub id typed into the page). It is loaded now, so a bad one stops the start-up.
    Returns its name in the menus; raises `ModelFileError` with one sentence otherwise."""
    spec = str(spec).strip()
    accepted = ("give a .keras model file (as `train` or model.save writes it) or a Hugging "
                "Face Hub repo id owner/name")
    path = Path(spec).expanduser()
    if path.suffix == ".keras" or path.exists() or spec.startswith((".", "/", "~")):
        if not (path.is_file() or saving.is_keras_dir(path)):
            what = "is a folder without a Keras model" if path.is_dir() else "no such file"
            raise saving.ModelFileError(f"--model {spec}: {what}; {accepted}.")
        name, target = path.stem, str(path.resolve())
        same = saving.weights_file(name)
        if same.exists() and same.resolve() == path.resolve():
            return name                                 # a file in weights/: offered already
        if name in shipped():
            raise saving.ModelFileError(f"--model {spec}: the name {name!r} is already a "
                                        "shipped model; rename the file to offer both.")
    elif spec in shipped():
        return spec
    else:
        try:
            target = saving.resolve(spec, allow_paths=False)
        except saving.ModelFileError as e:
            raise saving.ModelFileError(f"--model {spec}: no such file and not a Hub repo id; "
                                        f"{accepted}.") from e
        name = target.removeprefix("hf://")
    _ADDED[name] = target
    try:
        get(name)
    except saving.ModelFileError as e:
        del _ADDED[name]
        said = _first_sentence(e)
        for said_before in (target, Path(target).name, f"Could not load {name}"):
            said = said.removeprefix(f"{said_before}: ")    # the model is named once, first
        raise saving.ModelFileError(f"--model {spec}: {said}; {accepted}.") from e
    except Exception as e:          # a Keras model, but not one that predicts frames
        del _ADDED[name]
        raise saving.ModelFileError(
            f"--model {spec}: this Keras model is not a next-frame video model ("
            f"{type(e).__name__}); {accepted} that maps clips (N, T, H, W, C) to frames.") from e
    return name


def register(name: str, path: str | Path) -> str:
    """Offer the model file `path` under `name` in the menus. Only the server's own code calls
    this (a model trained on the page); what comes from the web is a name, never a path."""
    path = Path(path)
    if not path.is_file():
        raise saving.ModelFileError(f"{path}: no such model file to offer as {name!r}")
    _ADDED[name] = str(path.resolve())
    return name


def model_file(choice: str | None) -> Path | None:
    """The local .keras file of a shipped or added choice (None for a Hub repo, or a default
    model whose weights are missing)."""
    resolved = resolve(choice)
    target = _ADDED.get(resolved, "")
    if resolved.startswith("hf://") or target.startswith("hf://"):
        return None
    path = Path(target) if target else saving.weights_file(resolved)
    return path if path.exists() else None


def _first_sentence(error: Exception) -> str:
    """The first sentence of a loader's message (the accepted forms are said after it)."""
    return str(error).split("\n")[0].split(". ")[0].rstrip(".")


def baseline_note(name: str) -> str | None:
    """For a shipped model of one of the Keras examples' recipes: what it is and what to expect."""
    path = saving.weights_file(name)
    recipe = saving.read_sidecar(path).get("recipe") if path.exists() else None
    return f"{name} is {EXAMPLE_RECIPES[recipe]}." if recipe in EXAMPLE_RECIPES else None


def resolve(choice: str | None) -> str:
    """A shipped short name, or `hf://owner/name` for a Hub repo id, by `saving.resolve`'s one
    order (without local paths)."""
    name = (choice or "").strip()
    if name in stand_ins() or name in _ADDED:    # stand-ins: even without a file (untrained)
        return name
    accepted = (f"Choose one of {', '.join(offered())} or type a Hugging Face Hub repo id "
                "like owner/name.")
    if not name:
        raise saving.ModelFileError(f"No model chosen. {accepted}")
    try:
        resolved = saving.resolve(name, allow_paths=False)
    except saving.ModelFileError as e:
        said = e.public or f"Unknown model {saving.shown(name)}."
        raise saving.ModelFileError(f"{said} {accepted}") from e
    return resolved if resolved.startswith("hf://") else Path(resolved).stem


def load(resolved: str) -> LoadedModel:
    """Load one resolved choice, not cached (`get` caches)."""
    from frameprophet.predict import load_predictor, untrained_predictor

    if resolved in _ADDED:
        return _load_added(resolved)
    if resolved.startswith("hf://"):
        try:
            predictor = load_predictor(resolved)
        except ImportError as e:
            raise saving.ModelFileError("Loading models from the Hugging Face Hub is not "
                                        "available in this installation.") from e
        except Exception as e:
            log.info("Hub model %s failed to load: %s", resolved, e)
            # Said as `hub` words it for a page: without this server's paths or settings.
            repo, why = resolved.removeprefix("hf://"), getattr(e, "public", None)
            raise saving.ModelFileError(f"Could not load {repo}: {why}" if why else
                                        f"Could not load {repo} from the Hugging Face Hub.") from e
        return LoadedModel(predictor, resolved.removeprefix("hf://"))
    if not saving.weights_file(resolved).exists():
        if resolved not in stand_ins():
            raise saving.ModelFileError(f"The model file for {resolved!r} is missing.")
        protocol = MODELS[resolved].protocol
        return LoadedModel(untrained_predictor(protocol.frame_size,       # labelled as such
                                               protocol.channels),
                           f"{resolved} – untrained (weights not found)", untrained=True)
    try:
        predictor = load_predictor(resolved)
    except saving.ModelFileError as e:
        log.warning("shipped model %s failed to load", resolved, exc_info=True)
        raise saving.ModelFileError(f"The shipped model {resolved!r} could not be loaded: "
                                    f"{str(e).removeprefix(f'{resolved}: ')}") from e
    return LoadedModel(predictor, resolved, baseline=baseline_note(resolved))


def exported_twin(name: str) -> LoadedModel | None:
    """The shipped model `name` on ONNX Runtime, from its twin `weights/NAME-onnx/` (written by
    `make ship` with `frameprophet.export`): it answers without TensorFlow, whose import alone
    takes ~6.5 s on two cores, so the app's first result comes in ~2 s. None when there is no
    twin, the twin was exported from another weights file (its sha256 differs), or ONNX Runtime
    cannot load it: then `get` loads the Keras file as always."""
    keras_file, folder = saving.weights_file(name), twin_folder(name)
    try:
        from frameprophet.runtime import SPEC_FILE, OnnxPredictor

        spec = json.loads((folder / SPEC_FILE).read_text())
        # The twin of these weights, which their sidecar vouches for as `load` requires.
        if not keras_file.is_file() or not (spec.get("sha256") == saving.read_sidecar(
                keras_file).get("sha256") == saving.sha256(keras_file)):
            return None
        predictor = OnnxPredictor(folder)
    except Exception as e:          # no twin, no onnxruntime, a damaged graph: Keras instead
        log.info("no ONNX twin for %s (%s)", name, e)
        return None
    predictor.info = {**saving.read_sidecar(keras_file), "name": name}
    return LoadedModel(predictor, name, baseline=baseline_note(name))


def twin_folder(name: str) -> Path:
    """Where the shipped model `name`'s ONNX twin lives (see `exported_twin`)."""
    return saving.WEIGHTS_DIR / f"{name}-onnx"


def _load_added(name: str) -> LoadedModel:
    """A model added with `add`: a trusted local file (safe-mode loading all the same) or a Hub
    repo, labelled by its name in the menu."""
    from frameprophet.predict import load_predictor

    target = _ADDED[name]
    if target.startswith("hf://"):
        return load(target)                 # the Hub's rules and wording, as typed on the page
    return LoadedModel(load_predictor(target), name)



# --------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------

_ADDED: dict[str, str] = {}     # a name in the menus -> its file path or hf:// id (see `add`)
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
    target = _ADDED.get(resolved, "")
    local = target and not target.startswith("hf://")
    path = Path(target) if local else saving.weights_file(resolved)
    if not resolved.startswith("hf://") and path.exists():
        return f"{path}@{path.stat().st_mtime_ns}"
    return resolved
