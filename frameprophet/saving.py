"""Model files: a `.keras` file plus a JSON sidecar, and the one resolution order for names.

The sidecar (`NAME.json` beside `NAME.keras`) records the recipe, dataset, frame size, the
training summary, held-out metrics and the sha256 of the model file. Loading verifies that hash
and always uses Keras `safe_mode=True`, so a model file cannot run arbitrary code. A shipped
model (a file in `weights/`) must have a sidecar with its sha256; a file the owner names by its
path may have none (what `model.save` writes), but a sidecar that is there must vouch for it.
A model and its sidecar are replaced together or not at all (`save`, `_commit`).

A model name resolves in this order, in the library, the CLI and the app alike:
an existing path -> a short name in `weights/` ("mnist" -> weights/mnist.keras) ->
`hf://owner/repo[/file.keras]` on the Hugging Face Hub -> a `ModelFileError` that lists what was
tried. A Hub name is checked by `hub_name`: a repo id as huggingface_hub validates it and one
plain file name, so a name never becomes a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Keras loads on the first save or load, not on import: the app's page and its model menu need
# names and sidecars only, and appear seconds sooner.
if TYPE_CHECKING:
    import keras

WEIGHTS_DIR = Path(os.environ.get("FRAMEPROPHET_WEIGHTS", Path(__file__).parent.parent / "weights"))
MAX_NAME = 256          # characters in a model name that is not a path: a Hub id is at most 96


class ModelFileError(ValueError):
    """A model file or name that cannot be used; the message says why and what is accepted.
    `public`, where set, is the same in words for a web page (without what it echoes)."""

    public: str | None = None


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

    Returns the sidecar dict. Both are written aside first (`NAME.tmp.keras`, `NAME.tmp.json`)
    and then moved into place by `_commit`, so a kill at any moment leaves the old model or the
    new one, each with a sidecar that matches it.
    """
    import keras

    path = Path(path)
    if path.suffix != ".keras":
        raise ModelFileError(f"{path.name}: model files must end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = _aside(path)
    model.save(aside)
    _fsync(aside)
    meta = {
        "recipe": getattr(model, "recipe", None) or model.name,
        "frame_size": list(model.input_shape[2:4]) if hasattr(model, "input_shape")
        and model.input_shape else None,
        **info,
        "file": path.name,
        "sha256": sha256(aside),
        "keras_version": keras.__version__,
    }
    if meta["frame_size"] is None and hasattr(model, "frame_size"):
        meta["frame_size"] = list(model.frame_size)
    _write_json(sidecar_path(aside), meta)
    _commit(aside, path)
    return meta


def _commit(aside: Path, path: Path) -> None:
    """Move a model written aside into place, then its sidecar.

    Every kill is recoverable in this order: before the first rename the old pair stands (the
    files aside are overwritten by the next save); between the two the new model stands beside
    its old sidecar, whose sha256 does not match it, while the new sidecar waits aside and does:
    `load` finishes the swap (`_finish_interrupted_save`); after the second the new pair stands.
    """
    os.replace(aside, path)
    os.replace(sidecar_path(aside), sidecar_path(path))
    _fsync(path.parent)


def _aside(path: Path) -> Path:
    """Where `path` is written before it is moved into place: m.keras -> m.tmp.keras,
    latest.weights.h5 -> latest.tmp.weights.h5 (Keras wants that ending; shipped_names skips
    `.tmp`)."""
    ending = ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    return path.with_name(path.name.removesuffix(ending) + ".tmp" + ending)


def write_atomically(path: Path, write: Callable[[Path], Any]) -> None:
    """`write(aside)` a file beside `path`, flush it to the disk and rename it to `path`: a kill
    leaves the old file or the new one, never a part."""
    aside = _aside(path)
    write(aside)
    _fsync(aside)
    os.replace(aside, path)
    _fsync(path.parent)


def whole(path: str | os.PathLike) -> bool:
    """True for a .keras file that reads whole (every member of its ZIP archive, CRCs checked)
    and matches its sidecar where it has one: what a kill can have cut short is not."""
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.testzip() is not None:
                return False
        checked_sidecar(Path(path), recover=False)
    except Exception:           # zipfile, zlib and the sidecar each raise their own
        return False
    return True


def _fsync(path: Path) -> None:
    """Flush a file or a folder to the disk, so a rename never lands before the data."""
    with contextlib.suppress(OSError):      # a folder cannot be opened on Windows
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json(path: Path, meta: dict) -> None:
    with open(path, "w") as f:
        f.write(json.dumps(meta, indent=2, default=_jsonable) + "\n")
        f.flush()
        os.fsync(f.fileno())


def write_sidecar(model_path: str | os.PathLike, meta: dict) -> dict:
    """Write `meta` as the sidecar of `model_path` (NumPy values as lists), written aside and
    moved into place, so a kill leaves the old sidecar or the new; returns `meta`."""
    write_atomically(sidecar_path(model_path), lambda aside: _write_json(aside, meta))
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
        meta = json.loads(side.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{Path(path).stem}: its sidecar {side.name} is not valid JSON "
                             f"({type(e).__name__}).") from e
    if not isinstance(meta, dict):
        raise ModelFileError(f"{Path(path).stem}: its sidecar {side.name} is not a JSON object.")
    return meta


KERAS_DIR_FILES = ("config.json", "model.weights.h5")   # what keras.saving.save_model("hf://")
                                                       # and model.save("hf://...") write


def is_keras_dir(path: str | os.PathLike) -> bool:
    """True for a folder in Keras' own unzipped layout (config.json + model.weights.h5)."""
    return all((Path(path) / name).is_file() for name in KERAS_DIR_FILES)


def load(path: str | os.PathLike, recover: bool = True) -> tuple[keras.Model, dict]:
    """Load a `.keras` file (or a Keras folder: config.json + model.weights.h5) with
    `safe_mode=True`, checking the file against its sidecar's sha256 (`checked_sidecar`).

    Raises `ModelFileError` for a missing, corrupt, truncated, tampered or non-Keras file, named
    by its short name only. `recover=False` (a Hub snapshot) never writes beside the file.
    """
    path = Path(path)
    name = path.name if path.is_dir() else path.stem
    if path.is_dir():
        if not is_keras_dir(path):
            raise ModelFileError(f"{name}: a model folder must hold Keras' "
                                 f"{' + '.join(KERAS_DIR_FILES)}.")
        meta = {}
    else:
        if not path.is_file():
            raise ModelFileError(f"{name}: no such model file.")
        if path.suffix != ".keras" or not zipfile.is_zipfile(path):
            raise ModelFileError(f"{name}: not a Keras model file (expected a .keras zip "
                                 "archive written by model.save); it may be damaged or cut short.")
        meta = checked_sidecar(path, required=is_shipped(path), recover=recover)
    import keras

    from frameprophet import models  # noqa: F401  (registers the Prophet class for loading)

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as e:  # Keras raises many types for a broken archive; all mean the same
        raise ModelFileError(f"{name}: {_keras_reason(e)}") from e
    model.recipe = meta.get("recipe") or getattr(model, "recipe", None) or model.name
    return model, meta


def _keras_reason(error: Exception) -> str:
    """Why Keras could not load a file, in whole sentences without the server's paths."""
    text = str(error)
    if "safe_mode" in text or "arbitrary code" in text:
        return ("it holds Python code (a Lambda layer or a custom function), which is never "
                "run when a model is loaded; save the model without it.")
    from frameprophet.io.limits import plain_detail

    detail = plain_detail(text)
    return ("could not load this Keras model ("
            + (f"{type(error).__name__}: {detail}" if detail else type(error).__name__) + ").")


def is_shipped(path: str | os.PathLike) -> bool:
    """True for a file in `weights/`, which loads only with a sidecar that vouches for it."""
    return Path(path).resolve().parent == WEIGHTS_DIR.resolve()


def checked_sidecar(path: Path, required: bool = False, recover: bool = True) -> dict:
    """The sidecar of the model file `path` once the file matches its sha256 ({} for a file with
    none, unless `required`). A save killed between its two renames is finished here first."""
    digest = sha256(path)
    for _ in range(2):      # a save running beside us may finish its swap while we look
        meta = read_sidecar(path)
        if meta.get("sha256") == digest:
            return meta
        finished = _finish_interrupted_save(path, digest) if recover else None
        if finished is not None:
            return finished
    if not sidecar_path(path).exists():
        if required:
            raise ModelFileError(f"{path.stem}: a shipped model needs its sidecar "
                                 f"{path.stem}.json with the file's sha256, and it has none.")
        return {}
    if not isinstance(meta.get("sha256"), str):
        raise ModelFileError(f"{path.stem}: its sidecar has no sha256 to check the file "
                             "against; write model files with frameprophet.saving.save.")
    raise ModelFileError(f"{path.stem}: the file does not match the sha256 in its sidecar; it "
                         "is damaged or was replaced.")


def _finish_interrupted_save(path: Path, digest: str) -> dict | None:
    """The sidecar waiting aside when it matches `path` (a kill between `_commit`'s renames),
    moved into place where the folder can be written; None otherwise."""
    aside = sidecar_path(_aside(path))
    try:
        meta = json.loads(aside.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(meta, dict) or meta.get("sha256") != digest:
        return None
    with contextlib.suppress(OSError):      # a read-only folder: checked all the same
        os.replace(aside, sidecar_path(path))
    return meta


def weights_file(name: str) -> Path:
    """Where the shipped model `name` lives: `weights/NAME.keras`."""
    return WEIGHTS_DIR / f"{name}.keras"


def shipped_names() -> list[str]:
    """The short names of the model files in `weights/`, sorted (half-written `.tmp` files not)."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.keras") if ".tmp" not in p.name)


def resolve(name: str | os.PathLike, allow_paths: bool = True) -> str:
    """Turn a model name into a path or an `hf://` URI, in the documented order.

    `allow_paths=False` (names typed into the web app) accepts only shipped short names and Hub
    names: `owner/name` or `owner/name/file.keras` (with or without `hf://`, see `hub_name`).
    """
    name = str(name).strip()
    if allow_paths and _exists(Path(name)):
        return name
    if len(name) > MAX_NAME:
        error = ModelFileError(f"A model name has at most {MAX_NAME} characters, and this one "
                               f"has {len(name):,}.")
        error.public = str(error)
        raise error
    if name.startswith("hf://"):
        return hub_uri(*hub_name(name))
    tried = [f"path {shown(name)}"] if allow_paths else []
    short = weights_file(name)
    if _NAME.fullmatch(name):
        if _exists(short):
            return str(short)
        tried.append(f"short name in {WEIGHTS_DIR.name}/ ({shown(short.name)})")
    parts = name.split("/")
    if len(parts) == 3 or len(parts) == 2 and not name.endswith(".keras"):
        with contextlib.suppress(ModelFileError):
            return hub_uri(*hub_name(name))
    tried.append("Hub repo id owner/name")
    shipped = shipped_names()
    raise ModelFileError(f"no model called {shown(name)}: tried {', '.join(tried)}. Shipped "
                         f"models: {', '.join(shipped) or 'none'}; or "
                         + ("give a .keras path or " if allow_paths else "") + "a Hub repo id "
                         "owner/name.")


def hub_name(name: str) -> tuple[str, str | None]:
    """Split a Hub model name, `hf://owner/repo` or `hf://owner/repo/file.keras` (`hf://` may be
    left out), into (repo id, file name or None); `ModelFileError` for anything else.

    The repo id is checked by huggingface_hub's own `validate_repo_id` (no `..`, no `--`, at most
    96 characters) and the file is one plain name ending in .keras (no folder, no `..`), so no
    part of a name can lead out of the repo's folder in the Hub cache.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    accepted = "expected owner/repo or owner/repo/file.keras (one plain file name)"
    parts = name.removeprefix("hf://").split("/")
    if len(name) > MAX_NAME or len(parts) not in (2, 3):
        raise ModelFileError(f"{shown(name)} is not a Hugging Face Hub model name: {accepted}.")
    repo_id, filename = "/".join(parts[:2]), (parts[2] if len(parts) == 3 else None)
    try:
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise ModelFileError(f"{shown(repo_id)} is not a valid Hub repo id: {accepted}.") from e
    if filename is not None and not (_FILE.fullmatch(filename) and ".." not in filename):
        raise ModelFileError(f"{shown(filename)} is not a model file name: {accepted}.")
    return repo_id, filename


def hub_uri(repo_id: str, filename: str | None = None) -> str:
    return f"hf://{repo_id}" + (f"/{filename}" if filename else "")


def shown(name: str, limit: int = 80) -> str:
    """`name` quoted for a message, shortened past `limit` characters."""
    return repr(name if len(name) <= limit else name[:limit - 20] + "…")


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):       # a name too long for a path, or with a NUL in it
        return False


_NAME = re.compile(r"[A-Za-z0-9][\w.-]*")        # a short name, or one part of a Hub id
_FILE = re.compile(r"[A-Za-z0-9][\w.-]*\.keras", re.ASCII)   # a file named in a Hub name
