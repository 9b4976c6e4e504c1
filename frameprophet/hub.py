"""The Hugging Face Hub: load `hf://` models, publish model files, pull repos.

    load("hf://owner/repo")              # (model, sidecar): the repo's one .keras file, or
                                         # Keras' own layout (config.json + model.weights.h5)
    load("hf://owner/repo/name.keras")   # one file of several
    push("mnist", "owner/frameprophet-mnist")      # .keras + sidecar + model card
    load_keras_io_original()             # keras-io/conv-lstm, a Keras 2 SavedModel

Every loader returns what `frameprophet.saving.load` returns, `(keras.Model, dict)`;
`frameprophet.load_predictor` wraps either in a `Predictor`.

Downloads go through `huggingface_hub.snapshot_download`, which honours HF_HUB_OFFLINE, HF_HOME,
HF_HUB_CACHE and HF_TOKEN by itself. We download the snapshot and load the local `.keras` file
with `frameprophet.saving.load` rather than calling `keras.saving.load_model("hf://...")`, so the
sidecar's sha256 is checked and `safe_mode=True` applies, exactly as for a local file. Names are
resolved by `frameprophet.saving.resolve`; this module only handles what it returns for the Hub.
`huggingface_hub`, Keras and TensorFlow are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

KERAS_IO_REPO = "keras-io/conv-lstm"
# A TF SavedModel is a TensorFlow graph that Keras safe_mode cannot vet; only these repos (or an
# explicit allow_savedmodel=True) may be loaded as one.
TRUSTED_SAVEDMODEL_REPOS = frozenset({KERAS_IO_REPO})
SAVEDMODEL_PATTERNS = ["*saved_model.pb", "*keras_metadata.pb", "*fingerprint.pb",
                       "*variables/*", "*assets/*"]
KERAS_IO_INFO = {"name": "keras-io/conv-lstm (original Keras 2 model)",
                 "recipe": "keras3-mnist example's original model (Keras 2 SavedModel)",
                 "format": "TF SavedModel (Keras 2), wrapped with keras.layers.TFSMLayer"}
TAGS = ["keras", "convlstm", "video-prediction", "next-frame-prediction", "frameprophet"]
DATASETS = {"mnist": ("moving-mnist", "Moving MNIST (generated on the fly)"),
            "squares": ("moving-squares", "Moving squares (the Keras 2 conv_lstm.py generator)")}


# -- names and errors -----------------------------------------------------------------------
def parse_uri(uri: str) -> tuple[str, str | None]:
    """Split `hf://owner/repo[/file.keras]` into (repo_id, file in the repo or None), by the one
    rule for Hub names (`frameprophet.saving.hub_name`): a valid repo id, one plain file name."""
    from frameprophet.saving import hub_name

    return hub_name(uri)


def check_repo_id(repo_id: str) -> str:
    """Raise `ValueError` unless `repo_id` is a valid Hub id of the form owner/name."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise ValueError(f"{repo_id!r} is not a Hub repo id: expected owner/name")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise ValueError(f"{repo_id!r} is not a valid Hub repo id: {e}") from e
    return repo_id


#: What a web page says of a Hub failure, beside the detailed message (no paths or settings of
#: the machine the app runs on): the `public` of the `ModelFileError` raised.
UNREACHABLE = ("this server cannot reach the Hugging Face Hub and has no copy of it. Choose one "
               "of the shipped models.")
NOT_FOUND = "no such public repo on the Hugging Face Hub."
NO_SINGLE_MODEL = ("it holds no single Keras model (a .keras file, or config.json + "
                   "model.weights.h5).")
UNTRUSTED_SAVEDMODEL = ("it holds a TensorFlow SavedModel, which this app only loads from "
                        "trusted repos.")


def _error(message: str, public: str | None = None):
    """A `ModelFileError` with `message` for the CLI and the library and, as `public`, the
    same failure in words for a web page (None: only that the Hub load failed)."""
    from frameprophet.saving import ModelFileError

    error = ModelFileError(message)
    error.public = public
    return error


def _public_reason(error: Exception) -> str | None:
    """`error` of a Hub call, said for a web page: unreachable, no such repo, or None."""
    from huggingface_hub import errors

    incomplete = getattr(errors, "IncompleteSnapshotError", errors.LocalEntryNotFoundError)
    if isinstance(error, (incomplete, errors.OfflineModeIsEnabled,
                          errors.LocalEntryNotFoundError)):
        return UNREACHABLE
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, errors.RepositoryNotFoundError) or status in (401, 403):
        return NOT_FOUND                            # gated and private repos are not public
    return None


def _hub_reason(error: Exception, repo_id: str) -> str:
    """Say in words why a Hub call failed, and what to do about it."""
    from huggingface_hub import constants, errors

    offline = "HF_HUB_OFFLINE=1" if constants.HF_HUB_OFFLINE else "Hub unreachable"
    cache = constants.HF_HUB_CACHE
    incomplete = getattr(errors, "IncompleteSnapshotError", ())  # huggingface_hub >= 1.x
    if isinstance(error, incomplete):
        return (f"the cached copy in {cache} is incomplete and the Hub cannot be reached "
                f"({offline}); download it again online")
    if isinstance(error, errors.OfflineModeIsEnabled):
        return "offline (HF_HUB_OFFLINE=1); unset HF_HUB_OFFLINE to reach the Hub"
    if isinstance(error, errors.LocalEntryNotFoundError):
        if constants.HF_HUB_OFFLINE:
            return (f"offline and not in the cache (HF_HUB_OFFLINE=1). Unset HF_HUB_OFFLINE and "
                    f"connect once to download it into {cache}, or give a local .keras path")
        return (f"the Hub cannot be reached and it is not in the cache ({cache}); check the "
                "network, HF_ENDPOINT and proxy settings, or give a local .keras path")
    if isinstance(error, errors.GatedRepoError):
        return (f"the repo is gated: accept its conditions at https://huggingface.co/{repo_id} "
                "and set HF_TOKEN (or run `hf auth login`)")
    if isinstance(error, errors.RepositoryNotFoundError):
        return "no such repo, or it is private and no valid token was given (set HF_TOKEN)"
    if isinstance(error, errors.RevisionNotFoundError):
        return "the revision does not exist in this repo"
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status in (401, 403):
        return f"not authorized (HTTP {status}): set HF_TOKEN to a token with access"
    return f"{type(error).__name__}: {str(error)[:300]}"


def _snapshot(repo_id: str, allow_patterns: list[str] | None, what: str,
              repo_type: str = "model", **kwargs: Any) -> Path:
    """`snapshot_download` with errors turned into `ModelFileError`."""
    import huggingface_hub

    try:
        folder = huggingface_hub.snapshot_download(
            repo_id, repo_type=repo_type, allow_patterns=allow_patterns, token=None,
            library_name="frameprophet", **kwargs)
    except Exception as e:  # the Hub raises many types; all mean "cannot have it"
        raise _error(f"could not fetch {what} from the Hugging Face Hub: "
                     f"{_hub_reason(e, repo_id)}", _public_reason(e)) from e
    return Path(folder)


# -- loading ----------------------------------------------------------------------------------
def load(uri: str, allow_savedmodel: bool | None = None) -> tuple[Any, dict]:
    """Load `(model, sidecar)` from `hf://owner/repo` or `hf://owner/repo/file.keras`.

    The repo must hold one `.keras` file (or name it in the URI), whose sidecar `NAME.json`, if
    present, is checked as for a local file; or Keras' own layout (config.json +
    model.weights.h5, what `keras.saving.save_model(model, "hf://...")` writes). A repo holding a
    TF SavedModel instead is wrapped by `load_savedmodel` when the repo is trusted
    (`TRUSTED_SAVEDMODEL_REPOS`) or `allow_savedmodel` is True. Raises `ModelFileError` with the
    reason otherwise.
    """
    from frameprophet import saving

    repo_id, filename = parse_uri(uri)
    if filename:
        patterns = [filename, filename.removesuffix(".keras") + ".json"]
    else:
        patterns = ["*.keras", "*.json", *saving.KERAS_DIR_FILES, *SAVEDMODEL_PATTERNS]
    folder = _snapshot(repo_id, patterns, uri)
    if filename:
        files = [folder / filename]
        if not files[0].is_file():
            raise saving.ModelFileError(f"{uri}: the repo has no file {filename}.")
    else:
        files = sorted(folder.rglob("*.keras"))
    for file in files:
        _check_in_repo(file, folder, uri)
    if len(files) > 1:
        names = ", ".join(str(f.relative_to(folder)) for f in files)
        raise _error(f"hf://{repo_id} holds several model files ({names}); name one: "
                     f"hf://{repo_id}/{files[0].relative_to(folder)}", NO_SINGLE_MODEL)
    if files:
        model, meta = saving.load(files[0], recover=False)
        meta.setdefault("name", uri)
        meta["source"] = uri
        return model, meta
    if saving.is_keras_dir(folder):    # what keras.saving.save_model(model, "hf://...") wrote
        for name in saving.KERAS_DIR_FILES:
            _check_in_repo(folder / name, folder, uri)
        model, meta = saving.load(folder, recover=False)
        meta.update(name=uri, source=uri, format="Keras folder (config.json + model.weights.h5)")
        return model, meta
    saved = sorted(folder.rglob("saved_model.pb"))
    if not saved:
        raise _error(
            f"hf://{repo_id} has no Keras model: expected a .keras file, or config.json + "
            "model.weights.h5 (what keras.saving.save_model(model, 'hf://...') writes)",
            NO_SINGLE_MODEL)
    if not (allow_savedmodel or (allow_savedmodel is None
                                 and repo_id in TRUSTED_SAVEDMODEL_REPOS)):
        raise _error(
            f"hf://{repo_id} holds a TF SavedModel, a TensorFlow graph that Keras safe_mode "
            "cannot check; if you trust it, load it with "
            f"frameprophet.load_predictor({uri!r}, allow_savedmodel=True)", UNTRUSTED_SAVEDMODEL)
    info = KERAS_IO_INFO if repo_id == KERAS_IO_REPO else {
        "name": f"hf://{repo_id} (TF SavedModel)", "recipe": "TF SavedModel"}
    folder = saved[0].parent
    try:
        return load_savedmodel(folder, info={**info, "source": uri})
    except ValueError as e:             # said again by the repo's name, not the cache's path
        raise _error(str(e).replace(str(folder), uri)) from e


def _check_in_repo(file: Path, folder: Path, uri: str) -> None:
    """Refuse a file of a Hub snapshot whose real path (links followed) lies outside the repo's
    folder in the cache (`models--owner--repo/`, whose `blobs/` the snapshot's links point to)."""
    storage = folder.parents[1] if folder.parent.name == "snapshots" else folder
    if not file.resolve().is_relative_to(storage.resolve()):
        raise _error(f"{uri}: {file.name} is not a file of the repo.", NO_SINGLE_MODEL)


def load_savedmodel(folder: str | os.PathLike, frame_size: tuple[int, int] | None = None,
                    info: dict | None = None, endpoint: str = "serving_default"
                    ) -> tuple[Any, dict]:
    """Wrap a TF SavedModel mapping `(N, T, H, W, 1) -> (N, T, H, W, 1)` as `(model, info)`.

    Made for the original keras-io model (Keras 2), which Keras 3 cannot `load_model`: it is
    called through `keras.layers.TFSMLayer`. The frame size comes from the endpoint's input
    signature, else `frame_size`, else 64x64 (the keras-io example is Moving MNIST). The model
    has no `step` function, so rollouts re-run the growing sequence (O(T^2)). `info` defaults
    to the keras-io labels.
    Only load SavedModels you trust: Keras safe_mode does not apply to TensorFlow graphs.
    """
    import keras

    from frameprophet.saving import ModelFileError

    if keras.backend.backend() != "tensorflow":    # TFSMLayer wraps a TensorFlow graph
        raise ModelFileError(f"{Path(folder).name} is a TensorFlow SavedModel (like the original "
                             "keras-io model); it runs only with KERAS_BACKEND=tensorflow, not "
                             f"{keras.backend.backend()}")
    import tensorflow as tf

    folder = Path(folder)
    if not (folder / "saved_model.pb").is_file():
        raise ModelFileError(f"{folder}: not a TF SavedModel folder (no saved_model.pb)")
    try:
        layer = keras.layers.TFSMLayer(str(folder), call_endpoint=endpoint)
    except Exception as e:
        raise ModelFileError(f"{folder}: could not load this SavedModel ({type(e).__name__}: "
                             f"{str(e)[:300]})") from e
    specs = [s for s in tf.nest.flatten(layer.call_endpoint_fn.structured_input_signature)
             if isinstance(s, tf.TensorSpec)]
    if len(specs) != 1 or specs[0].shape.rank != 5 or specs[0].shape[-1] not in (1, None):
        raise ModelFileError(f"{folder}: endpoint {endpoint!r} takes {specs}; expected one "
                             "input of shape (N, T, H, W, 1)")
    known = tuple(specs[0].shape[2:4])
    if None not in known:
        if frame_size and tuple(frame_size) != known:
            raise ModelFileError(f"{folder}: the model takes {known[0]}x{known[1]} frames, "
                                 f"not {frame_size[0]}x{frame_size[1]}")
        frame_size = known
    height, width = (int(v) for v in (frame_size or (64, 64)))
    inputs = keras.Input((None, height, width, 1))
    outputs = layer(inputs)
    if isinstance(outputs, dict):  # serving_default returns {output_name: tensor}
        if len(outputs) != 1:
            raise ModelFileError(f"{folder}: endpoint {endpoint!r} has {len(outputs)} outputs "
                                 f"({sorted(outputs)}); expected one")
        outputs = next(iter(outputs.values()))
    model = keras.Model(inputs, outputs, name="savedmodel")
    meta = {**(KERAS_IO_INFO if info is None else info), "frame_size": [height, width],
            "path": str(folder)}
    return model, meta


def load_keras_io_original(repo_id: str = KERAS_IO_REPO) -> tuple[Any, dict]:
    """The original keras-io ConvLSTM (a Keras 2 SavedModel) from the Hub or a local folder.

    `repo_id` may be a local folder holding `saved_model.pb` (a copy of the repo): then no Hub
    access is needed. Raises `ModelFileError` when the Hub is needed and cannot be reached.
    """
    from frameprophet.saving import ModelFileError

    info = {**KERAS_IO_INFO, "source": str(repo_id)}
    if Path(repo_id).is_dir():
        saved = sorted(Path(repo_id).rglob("saved_model.pb"))
        if not saved:
            raise ModelFileError(f"{repo_id}: no saved_model.pb in this folder")
        return load_savedmodel(saved[0].parent, info=info)
    check_repo_id(repo_id)
    try:
        folder = _snapshot(repo_id, SAVEDMODEL_PATTERNS, f"hf://{repo_id}")
    except ModelFileError as e:
        raise ModelFileError(f"{e}. The original keras-io model exists only on the Hub; or pass "
                             "a local copy of the repo folder") from e
    saved = sorted(folder.rglob("saved_model.pb"))
    if not saved:
        raise ModelFileError(f"hf://{repo_id} holds no TF SavedModel (saved_model.pb)")
    return load_savedmodel(saved[0].parent, info=info)


def pull(repo_id: str, *, revision: str | None = None, allow_patterns: list[str] | None = None,
         local_dir: str | os.PathLike | None = None, repo_type: str = "model") -> Path:
    """Download a Hub repo (`owner/name` or `hf://owner/name`) and return its local folder."""
    repo_id = check_repo_id(repo_id.removeprefix("hf://").strip("/"))
    return _snapshot(repo_id, allow_patterns, f"hf://{repo_id}", repo_type=repo_type,
                     revision=revision, local_dir=local_dir)


# -- publishing ---------------------------------------------------------------------------------
def _metric(meta: dict, who: str, key: str) -> float | None:
    value = meta.get("metrics", {}).get(who, {}).get(key, {})
    return value.get("mean") if isinstance(value, dict) else None


def hub_model_card(meta: dict, repo_id: str, keras_dir: bool = True) -> str:
    """The Hub model card (README.md) of a model from its sidecar `meta`.

    `keras_dir` says the repo also holds the unzipped Keras layout, which
    `keras.saving.load_model("hf://REPO")` reads.
    """
    from huggingface_hub import EvalResult, ModelCardData

    dataset = meta.get("dataset") or "unknown"
    dataset_id, dataset_name = DATASETS.get(dataset, (dataset, dataset))
    m = meta.get("metrics", {})
    setting = f"closed loop, {m.get('context')} -> {m.get('horizon')} frames"
    results = []
    for who, prefix, label in (("model", "", ""),
                               ("copy_last", "copy-last-", ", copy-last-frame baseline")):
        for key in ("mse", "ssim"):
            value = _metric(meta, who, key)
            if value is not None:
                results.append(EvalResult(
                    task_type="video-to-video", task_name="Next-frame video prediction",
                    dataset_type=dataset_id, dataset_name=dataset_name, dataset_split="test",
                    metric_type=prefix + key, metric_value=float(value),
                    metric_name=f"{key.upper()}{label} ({setting})"))
    card = ModelCardData(library_name="keras", tags=TAGS, license="apache-2.0",
                         datasets=[dataset_id] if meta.get("dataset") else None,
                         pipeline_tag="video-to-video", eval_results=results or None,
                         model_name=repo_id.split("/")[-1] if results else None)
    name = meta.get("file", "model.keras")
    keras_hf = (f'model = keras.saving.load_model("hf://{repo_id}", compile=False)\n'
                "# or the single file:\n" if keras_dir else "")
    from frameprophet.card import card_text

    return f"""---
{card.to_yaml()}
---

{card_text(meta, repo_id.split("/")[-1]).rstrip()}

## Usage
Given {meta.get('context', 'T')} context frames (float32 `(T, H, W, 1)` in [0, 1]) the model
predicts the next {meta.get('horizon', 'few')}, each fed back as input (closed loop). Trained with
FrameProphet (causal ConvLSTMs in Keras 3, after the
[keras.io ConvLSTM example](https://keras.io/examples/vision/conv_lstm/)); needs the
`frameprophet` package.

```python
from frameprophet import load_predictor

p = load_predictor("hf://{repo_id}")
future = p.rollout(context, horizon={meta.get('horizon') or 10})  # context: (T, H, W, 1)
```

Plain Keras 3 (importing `frameprophet.models` registers the custom `Prophet` class):
```python
import keras
import frameprophet.models  # noqa: F401
from huggingface_hub import hf_hub_download

{keras_hf}model = keras.saving.load_model(hf_hub_download("{repo_id}", "{name}"), compile=False)
```
The sidecar `{Path(name).with_suffix('.json')}` holds the training summary, the metrics and the
file's sha256, which `load_predictor` checks.
"""


def push(weights: str, repo_id: str, private: bool = False, token: str | None = None,
         api: Any = None, keras_dir: bool = True, commit_message: str | None = None) -> str:
    """Publish a model file, its sidecar and a model card to the Hub model repo `repo_id`.

    `weights` is a .keras path or a short name in `weights/` (resolved by `saving.resolve`).
    The file must load (safe_mode) and match its sidecar's sha256. With `keras_dir` the
    archive's `config.json`, `metadata.json` and `model.weights.h5` are uploaded too, so plain
    `keras.saving.load_model("hf://REPO")` works. `api` defaults to
    `huggingface_hub.HfApi(token=token)`. Returns the repo URL.
    """
    from frameprophet import saving

    check_repo_id(repo_id)
    target = saving.resolve(weights)
    if target.startswith("hf://") or not target.endswith(".keras"):
        raise saving.ModelFileError(f"push needs a local .keras file; {weights!r} is {target}")
    path = Path(target)
    if not saving.sidecar_path(path).is_file():
        raise saving.ModelFileError(f"{path}: no sidecar {path.stem}.json; write model files "
                                    "with frameprophet.saving.save")
    saving.load(path)  # loads with safe_mode and checks the sha256, or raises ModelFileError
    meta = saving.read_sidecar(path)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        shutil.copy2(path, stage / path.name)
        shutil.copy2(saving.sidecar_path(path), stage / f"{path.stem}.json")
        if keras_dir:
            with zipfile.ZipFile(path) as archive:
                for member in ("config.json", "metadata.json", "model.weights.h5"):
                    (stage / member).write_bytes(archive.read(member))
        (stage / "README.md").write_text(hub_model_card(meta, repo_id, keras_dir=keras_dir))
        try:
            url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            api.upload_folder(folder_path=str(stage), repo_id=repo_id, repo_type="model",
                              commit_message=commit_message or f"Upload {path.name}")
        except Exception as e:
            raise saving.ModelFileError(f"could not push {path.name} to hf://{repo_id}: "
                                        f"{_hub_reason(e, repo_id)}") from e
    return str(url or f"https://huggingface.co/{repo_id}")
