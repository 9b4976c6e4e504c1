"""Model files: a `.keras` file plus a JSON sidecar, and the one resolution order for names.

The sidecar (`NAME.json` beside `NAME.keras`) records the recipe, dataset, frame size, the
training summary, held-out metrics and the sha256 of the model file. Loading verifies that hash
and always uses Keras `safe_mode=True`, so a model file cannot run arbitrary code.

A model name resolves in this order, in the library, the CLI and the app alike:
an existing path -> a short name in `weights/` ("mnist" -> weights/mnist.keras) ->
`hf://owner/repo` on the Hugging Face Hub -> a `ModelFileError` that lists what was tried.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Keras loads on the first save or load, not on import: the app's page and its model menu need
# names and sidecars only, and appear seconds sooner.
if TYPE_CHECKING:
    import keras

WEIGHTS_DIR = Path(os.environ.get("FRAMEPROPHET_WEIGHTS", Path(__file__).parent.parent / "weights"))


class ModelFileError(ValueError):
    """A model file or name that cannot be used; the message says why and what is accepted."""


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar_path(model_path: str | os.PathLike) -> Path:
    return Path(model_path).with_suffix(".json")


def save(model: keras.Model, path: str | os.PathLike, **info: Any) -> dict:
    """Save `model` to `path` (.keras) and write its sidecar; `info` adds fields to it.

    Returns the sidecar dict. The model file is written to a temporary name first and moved into
    place, so a crash never leaves a half-written model under the real name.
    """
    import keras

    path = Path(path)
    if path.suffix != ".keras":
        raise ModelFileError(f"{path}: model files must end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)
    meta = {
        "recipe": getattr(model, "recipe", None) or model.name,
        "frame_size": list(model.input_shape[2:4]) if hasattr(model, "input_shape")
        and model.input_shape else None,
        **info,
        "file": path.name,
        "sha256": sha256(path),
        "keras_version": keras.__version__,
    }
    if meta["frame_size"] is None and hasattr(model, "frame_size"):
        meta["frame_size"] = list(model.frame_size)
    return write_sidecar(path, meta)


def write_sidecar(model_path: str | os.PathLike, meta: dict) -> dict:
    """Write `meta` as the sidecar of `model_path` (NumPy values as lists); returns `meta`."""
    sidecar_path(model_path).write_text(json.dumps(meta, indent=2, default=_jsonable) + "\n")
    return meta


def _jsonable(value):
    try:
        return value.tolist()
    except AttributeError:
        return str(value)


def read_sidecar(path: str | os.PathLike) -> dict:
    """The sidecar of a model file, or {} when it has none."""
    side = sidecar_path(path)
    if not side.exists():
        return {}
    try:
        return json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{side}: the sidecar is not valid JSON ({e})") from e


KERAS_DIR_FILES = ("config.json", "model.weights.h5")   # what keras.saving.save_model("hf://")
                                                       # and model.save("hf://...") write


def is_keras_dir(path: str | os.PathLike) -> bool:
    """True for a folder in Keras' own unzipped layout (config.json + model.weights.h5)."""
    return all((Path(path) / name).is_file() for name in KERAS_DIR_FILES)


def load(path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """Load a `.keras` file (or a Keras folder: config.json + model.weights.h5) with
    `safe_mode=True`, checking the sidecar's sha256 if present.

    Raises `ModelFileError` for a missing, corrupt, truncated, tampered or non-Keras file.
    """
    path = Path(path)
    if path.is_dir():
        if not is_keras_dir(path):
            raise ModelFileError(f"{path.name}: a model folder must hold Keras' "
                                 f"{' + '.join(KERAS_DIR_FILES)}")
        meta = {}
    else:
        if not path.is_file():
            raise ModelFileError(f"{path}: no such model file")
        if path.suffix != ".keras" or not zipfile.is_zipfile(path):
            raise ModelFileError(f"{path}: not a Keras model file (expected a .keras zip "
                                 "archive written by model.save)")
        meta = read_sidecar(path)
        if meta.get("sha256") and meta["sha256"] != sha256(path):
            raise ModelFileError(f"{path}: the file does not match the sha256 in its sidecar "
                                 f"{sidecar_path(path).name}; it is corrupt or was replaced")
    import keras

    from frameprophet import models  # noqa: F401  (registers the Prophet class for loading)

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as e:  # Keras raises many types for a broken archive; all mean the same
        raise ModelFileError(f"{path.name}: could not load this Keras model "
                             f"({type(e).__name__}: {str(e)[:300]})") from e
    model.recipe = meta.get("recipe") or getattr(model, "recipe", None) or model.name
    return model, meta



def shipped_names() -> list[str]:
    """The short names of the model files in `weights/`, sorted (half-written `.tmp` files not)."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.keras") if ".tmp" not in p.name)

def resolve(name: str | os.PathLike, allow_paths: bool = True) -> str:
    """Turn a model name into a path or an `hf://` URI, in the documented order.

    `allow_paths=False` (names typed into the web app) accepts only shipped short names and Hub
    ids: `owner/name` or `owner/name/file.keras` (with or without `hf://`).
    """
    name = str(name).strip()
    tried = []
    if name.startswith("hf://"):
        return name
    if allow_paths:
        if Path(name).exists():
            return name
        tried.append(f"path {name!r}")
    short = WEIGHTS_DIR / f"{name}.keras"
    if _NAME.fullmatch(name) and short.exists():
        return str(short)
    tried.append(f"short name in {WEIGHTS_DIR.name}/ ({short.name})")
    parts = name.split("/")
    if all(_NAME.fullmatch(p) for p in parts) and (
            len(parts) == 2 and not name.endswith(".keras")
            or len(parts) > 2 and name.endswith(".keras")):
        return f"hf://{name}"
    tried.append("Hub repo id owner/name")
    shipped = shipped_names()
    raise ModelFileError(f"no model called {name!r}: tried {', '.join(tried)}. Shipped models: "
                         f"{', '.join(shipped) or 'none'}; or "
                         + ("give a .keras path or " if allow_paths else "") + "a Hub repo id "
                         "owner/name")


_NAME = re.compile(r"[A-Za-z0-9][\w.-]*")        # a short name, or one part of a Hub id
