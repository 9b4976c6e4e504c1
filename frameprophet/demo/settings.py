"""What a request may ask for: the page's choices and limits, the checks of each setting, and the
typed requests they make.

Every value a visitor sends, through the page or the API, is checked here and nowhere else
(Gradio passes the API's values on unchanged): a value that is not accepted raises
`RequestError` with one sentence that names the field and says what is accepted. Numbers must
be numbers (a string, a truth value, NaN or infinity is refused, never converted), and a whole
number must be whole (10.5 frames is refused, not rounded).

Each endpoint's settings are checked once, by its request's `of` (`PredictRequest`,
`SceneRequest`, `CompareRequest`, `MemoryRequest`); the run functions take the request.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

from frameprophet import catalog, data, scenes, zoo
from frameprophet.runtime import MODES


class RequestError(ValueError):
    """A request a person got wrong; the message is one sentence saying what is accepted."""


# --------------------------------------------------------------------------------------------
# Choices and limits
# --------------------------------------------------------------------------------------------

#: The page's clips: every generated world of `data.DATASETS` by its label (a world registered
#: there is offered here), then a person's own clip.
SOURCE_DATASET = {d.label: name for name, d in data.DATASETS.items()}
SOURCE_SQUARES, SOURCE_MNIST, SOURCE_NATURAL = (data.DATASETS[name].label
                                                for name in ("squares", "mnist", "natural"))
SOURCE_UPLOAD = "Upload a GIF, MP4, WebM or NPY"
SOURCES = (*SOURCE_DATASET, SOURCE_UPLOAD)
_SOURCE_ALIASES = {**{alias: label for label, name in SOURCE_DATASET.items()
                      for alias in (name, label.lower())},
                   "upload": SOURCE_UPLOAD, "file": SOURCE_UPLOAD}

MODE_CHOICES = [("closed-loop (feeds its own predictions back)", "closed_loop"),
                ("one-step, teacher-forced (reads the true frames)", "teacher_forced")]
_MODE_ALIASES = {"closed-loop": "closed_loop", "closed loop": "closed_loop", **{
    alias: "teacher_forced" for alias in ("teacher-forced", "teacher forced", "one-step",
                                          "one-step teacher-forced")}, **dict(MODE_CHOICES)}
MODE_LABELS = {"closed_loop": "closed-loop", "teacher_forced": "one-step teacher-forced"}

CUSTOM_MODEL = "Custom (Hub repo id)"
#: The model a clip gets unless the person picked one: a world's own, and for a person's own
#: clip (most are colour footage) the model of pictures in motion.
DEFAULT_MODEL = {**{label: next((model for model, entry in zoo.MODELS.items()
                                  if entry.dataset == name and entry.stand_in),
                                 "natural" if data.DATASETS[name].channels == 3 else "mnist")
                    for label, name in SOURCE_DATASET.items()},
                 SOURCE_UPLOAD: "natural"}
WORLDS = ("mnist", "squares", "natural", "drawing")
_WORLD_ALIASES = {"moving mnist": "mnist", "moving squares": "squares", "my drawing": "drawing",
                  "pictures in motion": "natural"}
WORLD_MODEL = {"mnist": "mnist", "squares": "squares", "natural": "natural", "drawing": "mnist"}

CLIP_FRAMES = 20            # generated clips (the Moving MNIST benchmark length)
MAX_UPLOAD_FRAMES = 60      # uploads are cut to this many frames
MAX_HORIZON = 30
DEFAULT_CONTEXT = 10
DEFAULT_HORIZON = 10
DEFAULT_SEED = 0
MAX_SEED = 2**31 - 1
# A model name is a shipped name or a Hub repo id (`owner/name`: 96 characters at most on the
# Hub), with `hf://` before it or a file name after it.
MAX_NAME = 200


# --------------------------------------------------------------------------------------------
# Showing a value in a refusal: short, in words, never an object's repr
# --------------------------------------------------------------------------------------------

def shown(value) -> str:
    """A value as a refusal quotes it: a number as written, a text in quotes (its first 40
    characters), anything else by its kind."""
    if isinstance(value, bool):
        return f"the truth value {str(value).lower()}"
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "infinity" if number > 0 else "minus infinity"
        return str(value) if isinstance(value, numbers.Integral) else f"{number:.15g}"
    if isinstance(value, str):
        cut = value if len(value) <= 40 else value[:40] + "..."
        return f'the text "{cut}"'
    kinds = {list: "a list", tuple: "a list", dict: "an object", type(None): "nothing"}
    return next((said for kind, said in kinds.items() if isinstance(value, kind)), "a value "
                "that is not a number")


def number(value, field: str, accepted: str, whole: bool = False) -> float | int:
    """`value` as a finite number (an int when `whole`), or a `RequestError` that says
    "{field} must be {accepted}, got ...". A text, a truth value, NaN or infinity is refused,
    and so is a fraction where a whole number is asked for."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and math.isfinite(float(value)) and (not whole or float(value).is_integer()):
        return int(value) if whole else float(value)
    raise RequestError(f"{field} must be {accepted}, got {shown(value)}.")


def in_range(value, field: str, low, high, whole: bool = True, unit: str = ""
             ) -> float | int:
    """`number` between `low` and `high`, both included (`unit`: words after them)."""
    kind = "a whole number" if whole else "a number"
    accepted = f"{kind} from {low} to {high}{unit}"
    checked = number(value, field, accepted, whole)
    if not low <= checked <= high:
        raise RequestError(f"{field} must be {accepted}, got {shown(value)}.")
    return checked


def text(value, field: str, accepted: str) -> str:
    """A text setting (None: empty); anything else, or one too long, is refused."""
    value = "" if value is None else value
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise RequestError(f"{field} must be {accepted}, got {shown(value)}.")
    return value.strip()


# --------------------------------------------------------------------------------------------
# Checking a request's settings
# --------------------------------------------------------------------------------------------

def normalise_source(source: str | None) -> str:
    """One of SOURCES, from itself or a short name (a dataset's name, upload)."""
    if source in SOURCES:
        return source
    short = ", ".join([*SOURCE_DATASET.values(), "upload"])
    accepted = f"one of: {', '.join(SOURCES)} (or {short})"
    key = text(source, "Source", accepted).lower()
    if key in _SOURCE_ALIASES:
        return _SOURCE_ALIASES[key]
    if key.startswith("upload"):
        return SOURCE_UPLOAD
    raise RequestError(f"Unknown source {shown(source).removeprefix('the text ')}; choose "
                       f"{accepted}.")


def normalise_mode(mode: str | None) -> str:
    """One of MODES, from itself, its label or an alias (closed-loop, one-step, ...)."""
    accepted = "closed_loop (or closed-loop) or teacher_forced (or teacher-forced, one-step)"
    mode = text(mode, "Mode", accepted) or "closed_loop"
    if mode in MODES:
        return mode
    if mode in _MODE_ALIASES or mode.lower() in _MODE_ALIASES:
        return _MODE_ALIASES.get(mode) or _MODE_ALIASES[mode.lower()]
    raise RequestError(f"Unknown mode {shown(mode).removeprefix('the text ')}; use {accepted}.")


def normalise_seed(seed, field: str = "Seed") -> int:
    """A seed from 0 to MAX_SEED (empty: DEFAULT_SEED); anything else is refused by name."""
    if seed is None or seed == "":
        return DEFAULT_SEED
    return in_range(seed, field, 0, MAX_SEED)


def normalise_world(world: str | None) -> str:
    accepted = "mnist, squares, natural or drawing"
    key = text(world, "World", accepted).lower()
    key = _WORLD_ALIASES.get(key, key)
    if key not in WORLDS:
        raise RequestError(f"Unknown world {shown(world).removeprefix('the text ')}; choose "
                           f"{accepted}.")
    return key


def lengths(context, horizon) -> tuple[int, int]:
    """Context (>= 1; the forecast cuts it to the clip) and frames to predict (1..MAX_HORIZON)."""
    c = number(context, "Context frames", "a whole number from 1 to the clip's length minus "
               "one", whole=True)
    if c < 1:
        raise RequestError(f"Context frames: use at least one context frame (a whole number "
                           f"from 1 to the clip's length minus one), got {c}.")
    h = number(horizon, "Frames to predict", f"a whole number between 1 and {MAX_HORIZON}",
               whole=True)
    if not 1 <= h <= MAX_HORIZON:
        raise RequestError(f"Frames to predict must be a whole number between 1 and "
                           f"{MAX_HORIZON}, got {h}.")
    return c, h


def model_name(model, field: str = "Model") -> str:
    """A model's name as typed (a shipped name or a Hub repo id), bounded in length; the
    catalog says whether it is offered."""
    return text(model, field, f"a shipped model's name or a Hugging Face Hub repo id "
                              f"(owner/name) of at most {MAX_NAME} characters")


def scene_settings(world, objects, speed, digits) -> tuple[str, int | None, float | None,
                                                           str | None]:
    """A scene's world, its number of objects and its speed (None: the world's own) and its
    digit classes (None: any). A drawing is one object: `objects` is not read for it."""
    kind = normalise_world(world)
    defaults = scenes.SCENE_DEFAULTS["mnist" if kind == "drawing" else kind]
    count = pace = None
    if kind != "drawing" and objects is not None and objects != "":
        count = in_range(objects, "Objects", defaults.get("min_objects", 1),
                         defaults["max_objects"], unit=f" for {kind}")
    if speed is not None and speed != "":
        fastest = defaults.get("max_speed", data.MNIST_SIZE - data.DIGIT_SIZE)
        pace = (in_range(speed, "Speed", 0, 10, unit=" (squares move by whole pixels)")
                if kind == "squares" else
                in_range(speed, "Speed", 0, fastest, whole=False, unit=" px per frame"
                         + ("" if kind == "natural" else " (the free width of the frame)")))
    accepted = "classes 0-9 like 37 (empty: any)"
    classes = text(digits, "Digits", accepted)
    if kind == "mnist" and not set(classes) <= set("0123456789"):
        raise RequestError(f"Digits must be {accepted}, got {shown(digits)}.")
    return kind, count, pace, classes or None


def chosen_model(model, hub_repo=None) -> str:
    """The model a request names; CUSTOM_MODEL (the page's menu) names the Hub repo id typed in
    `hub_repo`. This is the one place the custom choice is read."""
    if model != CUSTOM_MODEL:
        return model_name(model)
    typed = model_name(hub_repo, "The Hub repo id")
    if not typed:
        raise RequestError("Type a Hugging Face Hub repo id (owner/name): the custom model.")
    return typed


def compare_names(models) -> tuple[str, ...]:
    """2 to 4 distinct model names (a list, or a text of names separated by commas)."""
    names = models.split(",") if isinstance(models, str) else models or []
    if not isinstance(names, list | tuple):
        raise RequestError("Models must be a list of 2 to 4 model names, e.g. mnist and "
                           "mnist-keras3.")
    names = tuple(dict.fromkeys(n for n in (model_name(name) for name in names) if n))
    if not 2 <= len(names) <= 4:
        raise RequestError(f"Compare 2 to 4 models, e.g. mnist and mnist-keras3; got "
                           f"{len(names)}. Offered: {', '.join(catalog.offered())}.")
    return names


def upload_path(upload) -> str | None:
    """The file path in an upload value (a path, a FileData-like dict or object)."""
    if isinstance(upload, dict):
        return upload.get("path")
    return None if upload is None else str(getattr(upload, "path", upload))


# --------------------------------------------------------------------------------------------
# The requests: each endpoint's settings, checked once by `of`
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClipChoice:
    """Which clip: a generated source and its seed, or an uploaded file."""

    source: str                     # one of SOURCES
    seed: int                       # a generated clip's seed (DEFAULT_SEED for an upload)
    upload: str | None = None       # the uploaded file (SOURCE_UPLOAD only)

    @classmethod
    def of(cls, source, seed, upload) -> ClipChoice:
        """The source (or its short name), the seed (read for generated sources only) and the
        upload (a file is needed for SOURCE_UPLOAD), checked."""
        source = normalise_source(source)
        if source != SOURCE_UPLOAD:
            return cls(source, normalise_seed(seed))
        path = upload_path(upload)
        if not path:
            raise RequestError("Upload a GIF, MP4, WebM or NPY clip first (or pick another "
                               "source).")
        return cls(source, DEFAULT_SEED, path)

    @property
    def name(self) -> str:
        """What the info line calls the clip."""
        if self.upload:
            return f"upload {Path(self.upload).name}"
        return f"{self.source} seed {self.seed}"


@dataclass(frozen=True)
class PredictRequest:
    """/predict and the clip tab's Predict: a clip, how far to forecast it and with which
    model."""

    clip: ClipChoice
    context: int                    # >= 1 (the forecast cuts it to the clip)
    horizon: int                    # 1..MAX_HORIZON
    mode: str                       # one of MODES
    model: str                      # a name as sent: the catalog says whether it is offered

    @classmethod
    def of(cls, source, seed, upload, context, horizon, mode, model,
           hub_repo=None) -> PredictRequest:
        """The settings as the page or the API sends them, checked (`hub_repo`: the page's box
        for CUSTOM_MODEL)."""
        mode = normalise_mode(mode)
        context, horizon = lengths(context, horizon)
        return cls(ClipChoice.of(source, seed, upload), context, horizon, mode,
                   chosen_model(model, hub_repo))


@dataclass(frozen=True)
class Scene:
    """A scene to build: a world with its objects, speed and digits, or a drawing."""

    world: str                      # one of WORLDS
    objects: int | None             # None: the world's own (a drawing is one object)
    speed: float | None             # None: the world's own
    digits: str | None              # MNIST's digit classes, e.g. "37" (None: any)
    seed: int
    # world "drawing": the picture as sent (read within the upload limits by `sketch`)
    sketch: object = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, world, objects, speed, digits, seed, sketch=None) -> Scene:
        kind, count, pace, classes = scene_settings(world, objects, speed, digits)
        return cls(kind, count, pace, classes, normalise_seed(seed),
                   sketch if kind == "drawing" else None)


@dataclass(frozen=True)
class SceneRequest:
    """/scene and the scene tab's Predict: a scene, how far to forecast it and with which
    model."""

    scene: Scene
    context: int
    horizon: int
    mode: str
    model: str

    @classmethod
    def of(cls, world, objects, speed, digits, seed, context, horizon, mode, model,
           sketch=None, hub_repo=None) -> SceneRequest:
        mode = normalise_mode(mode)
        context, horizon = lengths(context, horizon)
        return cls(Scene.of(world, objects, speed, digits, seed, sketch), context, horizon,
                   mode, chosen_model(model, hub_repo))


@dataclass(frozen=True)
class CompareRequest:
    """/compare and the Compare tab's Predict: one clip forecast by 2 to 4 models."""

    clip: ClipChoice
    context: int
    horizon: int
    mode: str
    models: tuple[str, ...]         # 2 to 4 distinct names

    @classmethod
    def of(cls, source, seed, upload, context, horizon, mode, models) -> CompareRequest:
        mode = normalise_mode(mode)
        context, horizon = lengths(context, horizon)
        return cls(ClipChoice.of(source, seed, upload), context, horizon, mode,
                   compare_names(models))


@dataclass(frozen=True)
class MemoryRequest:
    """/memory: what a model remembers while it forecasts a clip (closed loop)."""

    clip: ClipChoice
    context: int
    horizon: int
    model: str

    @classmethod
    def of(cls, source, seed, upload, context, horizon, model) -> MemoryRequest:
        context, horizon = lengths(context, horizon)
        return cls(ClipChoice.of(source, seed, upload), context, horizon, chosen_model(model))
