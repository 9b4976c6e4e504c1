"""What a request may ask for: the page's choices and limits, and the checks of each setting.

Every value a visitor sends, through the page or the API, is checked here and nowhere else
(Gradio passes the API's numbers on unchanged): a value that is not accepted raises
`RequestError` with one sentence that names the field and says what is accepted. Numbers must
be numbers (a string, a truth value, NaN or infinity is refused, never converted), and a whole
number must be whole (10.5 frames is refused, not rounded).
"""

from __future__ import annotations

import math
import numbers

from frameprophet import data
from frameprophet.runtime import MODES


class RequestError(ValueError):
    """A request a person got wrong; the message is one sentence saying what is accepted."""


# --------------------------------------------------------------------------------------------
# Choices and limits
# --------------------------------------------------------------------------------------------

SOURCE_SQUARES = "Moving squares"
SOURCE_MNIST = "Moving MNIST"
SOURCE_NATURAL = "Pictures in motion"
SOURCE_UPLOAD = "Upload a GIF, MP4, WebM or NPY"
SOURCES = (SOURCE_SQUARES, SOURCE_MNIST, SOURCE_NATURAL, SOURCE_UPLOAD)
#: The generated sources' datasets (`data.example_clip`'s names).
SOURCE_DATASET = {SOURCE_SQUARES: "squares", SOURCE_MNIST: "mnist", SOURCE_NATURAL: "natural"}
_SOURCE_ALIASES = {"squares": SOURCE_SQUARES, "moving squares": SOURCE_SQUARES,
                   "mnist": SOURCE_MNIST, "moving mnist": SOURCE_MNIST,
                   "natural": SOURCE_NATURAL, "pictures in motion": SOURCE_NATURAL,
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
DEFAULT_MODEL = {SOURCE_SQUARES: "squares", SOURCE_MNIST: "mnist", SOURCE_NATURAL: "natural",
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
    """One of SOURCES, from itself or a short name (squares, mnist, upload)."""
    if source in SOURCES:
        return source
    accepted = f"one of: {', '.join(SOURCES)} (or squares, mnist, natural, upload)"
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
    defaults = data.SCENE_DEFAULTS["mnist" if kind == "drawing" else kind]
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
