"""The demo's requests, without Gradio: a clip, a model and settings in; pictures and words out.

A request's settings are checked once, into a typed request (`settings.PredictRequest` and its
kin); `run_prediction` (the clip tab's Predict and `/predict`) turns a `PredictRequest` into files
and an info text with `frameprophet.forecast` and `frameprophet.render`; `views` does the same
for a scene, a comparison and the memory view. A request a person got wrong raises
`RequestError` (one sentence: what was wrong and what is accepted); our own bug is logged with
its traceback and raises `RequestFailed` with a generic message. `frameprophet.ui` lays these out
as a Gradio page.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from frameprophet import catalog, data, io, plots, render, saving
from frameprophet.catalog import LoadedModel
from frameprophet.demo import backend
from frameprophet.demo.settings import (
    CLIP_FRAMES,
    CUSTOM_MODEL,
    MAX_UPLOAD_FRAMES,
    MODE_LABELS,
    SOURCE_DATASET,
    ClipChoice,
    PredictRequest,
    RequestError,
    upload_path,
)

log = logging.getLogger(__name__)


class RequestFailed(RuntimeError):
    """Our bug while answering a request (already logged with its traceback)."""


# --------------------------------------------------------------------------------------------
# Where results go, and the models
# --------------------------------------------------------------------------------------------

FPS = 5
KEEP_RESULTS = 16           # result dirs kept on disk (Gradio copies outputs into its cache)
KEEP_CLIPS = 4              # decoded uploads kept, so one upload is decoded once per request

# This process's own folder, removed at exit: two apps on one machine (a test suite beside
# `make run`) must not prune each other's results.
_RESULTS = tempfile.TemporaryDirectory(prefix="frameprophet-results-")
RESULTS_ROOT = Path(_RESULTS.name)
GENERIC_ERROR = ("Sorry, something went wrong while predicting this clip. Please try again with "
                 "another clip, seed or model.")


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 frame', '2 frames' (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def model_choices(shipped: list[str] | None = None) -> list[tuple[str, str]]:
    """(label, name) of the shipped models (baselines marked, a default without weights said
    untrained) and those added with `app.py --model`, the original keras-io model (fetched from
    the Hub when chosen, said beforehand; left out when the Hub is off and it is not cached),
    and a free Hub repo id. `shipped` is `catalog.offered()` when the caller has read it."""
    from frameprophet.hub import KERAS_IO_REPO

    choices = []
    for name in catalog.offered() if shipped is None else shipped:
        if catalog.baseline_note(name):
            name_label = f"{name} (Keras example recipe, for comparison)"
        elif name in catalog.stand_ins() and catalog.model_file(name) is None:
            name_label = f"{name} (untrained here: its weights are not installed)"
        else:
            name_label = name
        choices.append((name_label, name))
    hub = _hub_label(KERAS_IO_REPO)
    if hub and KERAS_IO_REPO not in {name for _, name in choices}:
        choices.append((f"{KERAS_IO_REPO} (the original Keras model, {hub})", KERAS_IO_REPO))
    return [*choices, (CUSTOM_MODEL, CUSTOM_MODEL)]


def model_frames(name: str) -> tuple[int, int, int] | None:
    """(height, width, channels) of a menu model's frames, read from its sidecar or its
    dataset's protocol without loading it; None when not known beforehand (a Hub model)."""
    try:
        path = catalog.model_file(name)
        info = saving.read_sidecar(path) if path is not None else {}
    except ValueError:              # not a menu name, or a damaged sidecar: not known
        return None
    protocol = data.DATASETS.get(info.get("dataset") or getattr(catalog.MODELS.get(name),
                                                                 "dataset", name))
    size = info.get("frame_size") or (protocol.frame_size if protocol else None)
    channels = info.get("channels") or (protocol.channels if protocol else 1)
    return (int(size[0]), int(size[1]), int(channels)) if size else None


def _hub_label(repo_id: str) -> str | None:
    """How a Hub model reaches this server, as its menu label says it: from the cache, or
    downloaded when chosen; None when the Hub is off (HF_HUB_OFFLINE) and it is not cached."""
    from huggingface_hub import constants

    folder = Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    if folder.is_dir() and any(folder.iterdir()):
        return "from the Hugging Face Hub, cached here"
    if constants.HF_HUB_OFFLINE:
        return None
    return "downloaded from the Hugging Face Hub when chosen: needs internet"


def load_model(model: str, progress=None) -> LoadedModel:
    """A request's model (`backend.model`: loaded once, after Keras)."""
    report(progress, 0.05, "Loading the model")
    return backend.model(model)


# --------------------------------------------------------------------------------------------
# The clip of a request
# --------------------------------------------------------------------------------------------

_CLIPS: OrderedDict[tuple, tuple[np.ndarray, list[str]]] = OrderedDict()
_CLIPS_LOCK = threading.Lock()


def read_upload(path: str, frame_size: tuple[int, int], channels: int = 1
                ) -> tuple[np.ndarray, list[str]]:
    """An uploaded clip at `frame_size` with `channels` (1: colour made grey, said in a note;
    3: colour kept) and its notes, decoded once: counting its frames when it is dropped and the
    Predict after it share one decode (a file changed since is read anew)."""
    stat = Path(path).stat() if Path(path).is_file() else None
    key = (str(path), tuple(frame_size), channels, stat and (stat.st_mtime_ns, stat.st_size))
    with _CLIPS_LOCK:
        if key in _CLIPS:
            _CLIPS.move_to_end(key)
            clip, notes = _CLIPS[key]
            return clip, list(notes)
    clip, notes = io.read_clip_with_notes(path, frame_size=tuple(frame_size),
                                          max_frames=MAX_UPLOAD_FRAMES, channels=channels)
    notes += _size_notes(path, tuple(frame_size))
    if stat is not None:
        with _CLIPS_LOCK:
            _CLIPS[key] = (clip, list(notes))
            while len(_CLIPS) > KEEP_CLIPS:
                _CLIPS.popitem(last=False)
    return clip, notes


def _size_notes(path: str, frame_size: tuple[int, int]) -> list[str]:
    """Said when an upload's frames are not the model's size: how they were scaled, and the
    black bars added where their shape differs. Two frames are read at their own size."""
    try:
        h, w = io.read_clip(path, max_frames=2).shape[1:3]
    except ValueError:                          # the full read said what was wrong already
        return []
    out_h, out_w = frame_size
    if (h, w) == (out_h, out_w):
        return []
    scale = min(out_h / h, out_w / w)
    how = f"shrunk {1 / scale:.1f}x" if scale < 1 else f"enlarged {scale:.1f}x"
    bars = "" if h * out_w == w * out_h else " with black bars to keep its shape"
    lost = "; small details are lost" if scale < 0.5 else ""
    return [f"its frames are {w}x{h} and the model's {out_w}x{out_h}: {how}{bars}{lost}"]


def clip_frames(choice: ClipChoice, frame_size: tuple[int, int], channels: int = 1
                ) -> tuple[np.ndarray, list[str]]:
    """The chosen clip (T, H, W, `channels`) at `frame_size` and with the channels of the
    model, and notes on what was changed on the way (an upload cut or made grey, a grey clip
    repeated to colour)."""
    if choice.upload:
        return read_upload(choice.upload, frame_size, channels)
    return generated_clip(SOURCE_DATASET[choice.source], choice.seed, frame_size, channels)


def make_clip(source: str, seed, upload, frame_size: tuple[int, int], channels: int = 1
              ) -> tuple[np.ndarray, list[str]]:
    """`clip_frames` of these settings, checked (`ClipChoice.of`): for scripts."""
    return clip_frames(ClipChoice.of(source, seed, upload), frame_size, channels)


def generated_clip(dataset: str, seed: int, frame_size: tuple[int, int], channels: int = 1,
                   frames: int = CLIP_FRAMES) -> tuple[np.ndarray, list[str]]:
    """`data.example_clip` ("mnist", "squares" or "natural": the page's clip of that seed) at
    the model's frame size and channels, and notes."""
    clip = data.example_clip(dataset, seed, frames=frames)
    return with_channels(io.resize_clip(clip, frame_size), channels)


def clip_from_spec(spec: str, frame_size: tuple[int, int], frames: int = CLIP_FRAMES,
                   channels: int = 1) -> tuple[np.ndarray, list[str]]:
    """The one clip-from-a-spec path (the CLI's `predict` too): `squares:SEED`, `mnist:SEED` or
    `natural:SEED` (`frames` long, as the page shows it) or any file `io.read_clip` reads, and
    notes."""
    kind, _, seed = spec.partition(":")
    if kind in SOURCE_DATASET.values() and (seed.isdigit() or seed == ""):
        return generated_clip(kind, int(seed or 0), frame_size, channels, frames)
    return io.read_clip_with_notes(spec, frame_size=frame_size, channels=channels)


GREY_FOR_COLOUR = ("the clip is grey and this model sees colour: each grey frame is given as "
                   "three equal colour channels")


def with_channels(clip: np.ndarray, channels: int) -> tuple[np.ndarray, list[str]]:
    """A clip with the model's channels: a grey one for a colour model is repeated to three
    equal channels (GREY_FOR_COLOUR says so)."""
    if clip.shape[-1] == channels:
        return clip, []
    if clip.shape[-1] == 1 and channels == 3:
        return np.repeat(clip, 3, axis=-1), [GREY_FOR_COLOUR]
    raise ValueError(f"a clip with {clip.shape[-1]} channels cannot be given to a model of "
                     f"{channels}; models take 1 (grey) or 3 (colour) channels.")


# A folder in an absolute path (`/srv/app/weights/` of `/srv/app/weights/x.keras`), not in a
# URL (`https://host/a/b`), a Hub id (`owner/name`) or a unit (`px/frame`).
_FOLDERS = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"<>:]+/)+")
_OBJECT = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


def public_message(message: str, upload=None) -> str:
    """A message as a visitor may read it: on one line, without the server's folders (the
    upload's temp folder, any absolute path's folders: a file keeps its own name) and without
    an object's repr."""
    path = upload_path(upload)
    if path:
        folder = str(Path(path).parent)
        message = message.replace(folder + os.sep, "").replace(folder, "")
    message = _OBJECT.sub("the file", _FOLDERS.sub("", message))
    return " ".join(message.split())


# --------------------------------------------------------------------------------------------
# Answering a request
# --------------------------------------------------------------------------------------------

def result_dir() -> Path:
    """A fresh directory for one request's files; only the newest KEEP_RESULTS are kept."""
    RESULTS_ROOT.mkdir(parents=True, exist_ok=True)
    old = sorted(RESULTS_ROOT.glob("req-*"))      # by name: the time they were made, no stat race
    for stale in old[: max(0, len(old) - KEEP_RESULTS + 1)]:
        shutil.rmtree(stale, ignore_errors=True)
    path = RESULTS_ROOT / f"req-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


def report(progress, fraction: float, desc: str) -> None:
    if progress is not None:
        progress(fraction, desc=desc)


def answer(run, upload=None):
    """Run a request. Input problems (ValueError: ClipError, ModelFileError, bad settings)
    become a `RequestError` in words; anything else is our bug: logged with its traceback and
    raised as `RequestFailed` with a generic message."""
    try:
        return run()
    except RequestError:
        raise
    except ValueError as e:
        raise RequestError(public_message(str(e), upload)) from e
    except Exception as e:
        log.exception("prediction failed")
        raise RequestFailed(GENERIC_ERROR) from e


@dataclass
class Clip:
    """One request's clip, decoded once, at its model's frame size."""

    frames: np.ndarray
    notes: list[str]
    name: str
    dataset: str | None = None          # "mnist", "squares" or "natural" for generated clips


#: What each dataset's clips show, as the notes say it.
SHOWS = {"mnist": "Moving MNIST digits", "squares": "moving squares",
         "natural": "pictures in motion"}


def run_prediction(request: PredictRequest, progress=None, out_dir: str | Path | None = None):
    """Predict `request.horizon` frames of its clip and draw the result. Returns
    `(gif_path, strip_png, plot_png, info)`."""
    def run():
        started = time.perf_counter()
        clip, loaded = clip_and_model(request.clip, request.model, progress)
        return draw_forecast(loaded, clip, request.context, request.horizon, request.mode,
                             progress, out_dir, started)[0]

    return answer(run, request.clip.upload)


def clip_and_model(choice: ClipChoice, model: str, progress) -> tuple[Clip, LoadedModel]:
    """The model, then the clip at its frame size."""
    loaded = load_model(model, progress)
    report(progress, 0.2, "Reading the clip")
    frames, notes = clip_frames(choice, loaded.predictor.frame_size, loaded.predictor.channels)
    return Clip(frames, notes, choice.name, SOURCE_DATASET.get(choice.source)), loaded


class _Remembering:
    """A stepwise predictor whose closed-loop rollout of one clip also keeps what its ConvLSTM
    carried (`Predictor.memory`), so the forecast and the memory picture share one rollout."""

    def __init__(self, predictor):
        self._predictor = predictor
        self.carried: np.ndarray | None = None

    def __getattr__(self, name):
        return getattr(self._predictor, name)

    def rollout(self, context, horizon, mode="closed_loop", truth=None):
        context = np.asarray(context, np.float32)
        if mode != "closed_loop" or context.ndim != 5 or len(context) != 1:
            return self._predictor.rollout(context, horizon, mode=mode, truth=truth)
        prediction, self.carried = self._predictor.memory(context[0], horizon)
        return prediction[None]


def draw_forecast(loaded: LoadedModel, clip: Clip, context, horizon, mode, progress, out_dir,
                  started, remember: bool = False):
    """`frameprophet.forecast` on the clip, then the GIF, the strip, the plot and the info.
    Returns `((gif, strip, plot, info), result, carried)`: `carried` is the ConvLSTM memory of
    the rollout when `remember` (closed loop, stepwise models), else None."""
    from frameprophet.forecast import forecast

    predictor = loaded.predictor
    remembering = _Remembering(predictor) if remember else None
    report(progress, 0.35, f"Predicting {plural(horizon, 'frame')}")
    result = forecast(remembering or predictor, clip.frames, context, horizon, mode)
    report(progress, 0.7, "Scoring and drawing")
    gif, strip, plot = forecast_files(result, out_dir or result_dir(), fps=FPS)
    info = _forecast_info(loaded, clip, result, started)
    report(progress, 1.0, "Done")
    return (str(gif), str(strip), str(plot), info), result, remembering and remembering.carried


def forecast_files(result, out: str | os.PathLike, fps: float = 5) -> tuple[Path, Path, Path]:
    """A forecast's side-by-side GIF, frame strip and quality plot, written into `out`; the
    plot (matplotlib) in a second thread while Pillow and zlib, which let go of the interpreter
    lock, write the pictures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    teacher = result.mode == "teacher_forced"
    frames = (result.context, result.truth, result.prediction)
    title = "one-step, teacher-forced: every prediction reads the true frames before it"
    with ThreadPoolExecutor(1) as pool:     # the plot beside the pictures: ~65 ms less
        plot = pool.submit(plots.quality_plot, result.curves, out / "quality.png",
                           title=title if teacher else None, horizon=result.prediction.shape[0],
                           stacked=True)
        gif = render.write_animation(render.side_by_side(*frames, teacher_forced=teacher),
                                     out / "rollout.gif", fps=fps)
        strip = render.write_png(render.frame_strip(*frames, teacher_forced=teacher),
                                 out / "strip.png")
        return gif, strip, plot.result()


def _forecast_info(loaded: LoadedModel, clip: Clip, result, started) -> str:
    predictor = loaded.predictor
    context, horizon = result.context.shape[0], result.prediction.shape[0]
    h, w = predictor.frame_size
    ms = result.seconds * 1000
    parts = [f"Model: {loaded.label} ({predictor.method})",
             f"clip: {clip.name} ({plural(clip.frames.shape[0], 'frame')})",
             f"{MODE_LABELS[result.mode]}: {plural(context, 'context frame')} + "
             f"{plural(horizon, 'predicted frame')} at {h}x{w}"
             + (" in colour" if predictor.channels == 3 else ""),
             f"prediction {ms:.0f} ms ({ms / horizon:.1f} ms/frame), "
             f"total {(time.perf_counter() - started) * 1000:.0f} ms"]
    if result.scored:
        parts.append(f"mean MSE over {plural(result.scored, 'scored frame')}: model "
                     f"{result.mean('model'):.1f} vs {result.baseline} "
                     f"{result.mean(result.baseline):.1f}")
    info = " · ".join(parts)
    if result.mode == "teacher_forced":
        info = ("ONE-STEP (teacher-forced): each predicted frame reads the true frames before "
                "it, so errors never build up; compare with copying the previous true frame. "
                "Closed loop is the real test.\n" + info)
    if loaded.baseline:
        info += f"\n{loaded.baseline}"
    return with_notes(info, [*clip.notes, *result.notes, *disagreements(loaded, clip, result)])


def disagreements(loaded: LoadedModel, clip: Clip, result) -> list[str]:
    """Where the model and the clip disagree, in plain words: a model of the other dataset, or
    a prediction worse than the fair baseline (not said of an untrained stand-in, which is
    labelled as such)."""
    notes = []
    learnt = loaded.predictor.info.get("dataset")
    if clip.dataset and learnt in SHOWS and learnt != clip.dataset:
        notes.append(f"this model learnt {SHOWS[learnt]} and this clip shows "
                     f"{SHOWS[clip.dataset]}: choose the {clip.dataset} model for it")
    if result.scored and not loaded.untrained:
        model, baseline = result.mean("model"), result.mean(result.baseline)
        if model > baseline:
            why = ("the model does worse than copying the last frame on its own held-out clips "
                   "too: it has not learnt enough yet" if weak(loaded.predictor.info) else
                   "this clip is unlike what the model learnt")
            notes.append(f"the prediction is worse than simply using {result.baseline} "
                         f"(mean MSE {model:.1f} vs {baseline:.1f}): {why}")
    return notes


def weak(info: dict) -> bool:
    """Whether a model's sidecar says it scored worse than copying the last frame on its own
    held-out clips (closed loop, mean MSE)."""
    scores = info.get("metrics") or {}
    model, copy = ((scores.get(who) or {}).get("mse", {}).get("mean")
                   for who in ("model", "copy_last"))
    return model is not None and copy is not None and model > copy


def with_notes(info: str, notes: list[str]) -> str:
    return info + ("\nNote: " + "; ".join(notes) + "." if notes else "")


