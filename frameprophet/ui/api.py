"""The page's API: `/predict`, `/scene`, `/compare` and `/memory`, each a typed function made an
endpoint with `gr.api` (no widgets: Gradio passes what a client sends on unchanged, and the
demo's checks say what is accepted). Their docstrings are the API page's documentation.

A client's files arrive as Gradio's file payloads, which Gradio has checked are uploads to this
server; anything else where a file belongs is refused in words. Results go back as files the
client downloads, and a refusal as an error with the demo's own sentence. (No `from __future__
import annotations` here: `gr.api` reads the return annotations as types.)
"""

import inspect
from contextlib import contextmanager

import gradio as gr
from gradio.data_classes import FileData

from frameprophet import demo, scenes
from frameprophet.demo.settings import shown
from frameprophet.ui.handlers import gradio_error
from frameprophet.ui.wiring import ONE_AT_A_TIME

# Each input's default, which the API page also shows as its example.
SOURCE, SEED, MODE, MODEL = (demo.SOURCE_MNIST, demo.DEFAULT_SEED, "closed_loop",
                             demo.DEFAULT_MODEL[demo.SOURCE_MNIST])
CONTEXT, HORIZON = demo.DEFAULT_CONTEXT, demo.DEFAULT_HORIZON
SCENE = scenes.SCENE_DEFAULTS["mnist"]
MODELS = ("mnist", "mnist-keras3")     # a tuple: a default is never changed in place


def predict(source: str = SOURCE, seed: float = SEED, upload: FileData | None = None,
            context: int = CONTEXT, horizon: int = HORIZON, mode: str = MODE,
            model: str = MODEL) -> tuple[FileData, FileData, FileData, str]:
    """Predict the next frames of a clip.

    source: "Moving squares", "Moving MNIST", "Pictures in motion" (colour) or "Upload a GIF,
    MP4, WebM or NPY" (also "squares" / "mnist" / "natural" / "upload"); seed: clip seed for
    generated sources (0 to 2147483647); upload: the clip file for uploads; context: frames the
    model reads (1 to the clip's length minus one); horizon: frames to predict (1..30); mode:
    "closed_loop" or "teacher_forced"; model: a shipped model name or a Hugging Face Hub repo id
    (owner/name).
    Returns the animated GIF, the frame strip, the quality plot and an info line.
    """
    with errors_in_words():
        request = demo.PredictRequest.of(source, seed, sent_file(upload, "Upload"), context,
                                         horizon, mode, model)
        gif, strip, plot, info = demo.run_prediction(request)
    return FileData(path=gif), FileData(path=strip), FileData(path=plot), info


def scene(world: str = "mnist", objects: float = SCENE["objects"],
          speed: float = SCENE["speed"], digits: str = "", seed: float = SEED,
          context: int = CONTEXT, horizon: int = HORIZON, mode: str = MODE, model: str = MODEL,
          sketch: FileData | None = None) -> tuple[FileData, FileData, FileData, str]:
    """Build a scene and predict its next frames.

    world: "mnist", "squares", "natural" (pictures in motion, colour) or "drawing"; objects:
    1..4 digits, 1..7 squares or 0..3 cut-outs; speed: px per frame (MNIST learnt 3.6, up to 36;
    squares learnt 1, whole numbers up to 10; natural learnt up to 6, up to 12); digits: classes
    like "37" (empty: any; only 8s and 9s are held out of training); seed: the scene's seed;
    context, horizon, mode, model: as for /predict; sketch: for world "drawing", a picture of a
    shape or a digit (any colours on a plain background), moved and bounced like a Moving MNIST
    digit. Settings the model never saw are allowed and noted in the info line. Returns the
    animated GIF, the frame strip, the quality plot and the info.
    """
    with errors_in_words():
        # A file, which Gradio never opens: `demo.sketch` checks its size from the header
        # before decoding it, and keeps its alpha (a transparent canvas's strokes would vanish
        # into black).
        request = demo.SceneRequest.of(world, objects, speed, digits, seed, context, horizon,
                                       mode, model, sketch=sent_file(sketch, "Sketch"))
        gif, strip, plot, info = demo.run_scene(request)
    return FileData(path=gif), FileData(path=strip), FileData(path=plot), info


def compare(source: str = SOURCE, seed: float = SEED, upload: FileData | None = None,
            context: int = CONTEXT, horizon: int = HORIZON, mode: str = MODE,
            models: list[str] = MODELS) -> tuple[FileData, FileData, str]:
    """Predict the same clip with 2 to 4 models, side by side.

    source, seed, upload, context, horizon, mode: as for /predict; models: 2 to 4 shipped model
    names or Hub repo ids of one frame size, e.g. ["mnist", "mnist-keras3"]. Returns one
    animated GIF (truth and each model), one plot (each model's per-frame MSE and SSIM and the
    baseline's) and the info text.
    """
    with errors_in_words():
        request = demo.CompareRequest.of(source, seed, sent_file(upload, "Upload"), context,
                                         horizon, mode, models)
        gif, plot, info = demo.run_compare(request)
    return FileData(path=gif), FileData(path=plot), info


def memory(source: str = SOURCE, seed: float = SEED, upload: FileData | None = None,
           context: int = CONTEXT, horizon: int = HORIZON,
           model: str = MODEL) -> tuple[FileData, str]:
    """What the ConvLSTM remembers while it predicts a clip (closed loop).

    source, seed, upload, context, horizon, model: as for /predict (stepwise models only: our
    prophet models). Returns a picture (the frames read: context, then the model's own
    predictions; under each, one heat map per layer of its hidden state's size) and the info.
    """
    with errors_in_words():
        request = demo.MemoryRequest.of(source, seed, sent_file(upload, "Upload"), context,
                                        horizon, model)
        png, info = demo.run_memory(request)
    return FileData(path=png), info


#: Each endpoint and what it returns, as the API page names the results.
ENDPOINTS = {predict: ("Animation", "Frame strip", "Quality plot", "Run info"),
             scene: ("Animation", "Frame strip", "Quality plot", "Run info"),
             compare: ("Comparison", "Comparison quality plot", "Comparison info"),
             memory: ("What it remembers", "Run info")}


def add_api(page: gr.Blocks) -> None:
    """Make each function of ENDPOINTS an endpoint of `page` under its own name (inside its
    `with page:` block). The API page names each input and result, and shows each input's
    default as its example (Gradio's own would be "..." for None, which the endpoint refuses)."""
    for fn, returns in ENDPOINTS.items():
        endpoint = gr.api(fn, api_name=fn.__name__, **ONE_AT_A_TIME)
        for block_id, parameter in zip(endpoint["inputs"],
                                       inspect.signature(fn).parameters.values(), strict=True):
            block = page.blocks[block_id]
            block.label = parameter.name
            block.example_payload = block.example_value = lambda value=parameter.default: value
        for block_id, label in zip(endpoint["outputs"], returns, strict=True):
            page.blocks[block_id].label = label


# --------------------------------------------------------------------------------------------
# What a client sends and gets
# --------------------------------------------------------------------------------------------

@contextmanager
def errors_in_words():
    """The demo's errors as Gradio's, raised to the caller: a refusal's own sentence, or the
    generic message for our bug."""
    try:
        yield
    except (demo.RequestError, demo.RequestFailed) as error:
        raise gradio_error(error) from error


def sent_file(value, field: str) -> str | None:
    """The server path of a file a client sent (`gradio_client.handle_file`): Gradio has moved
    such a payload into its cache after checking it was uploaded here. A path typed as text,
    or any other value, is refused: a client may not name the server's files."""
    if value is None or value == "":
        return None
    if isinstance(value, dict) and isinstance(value.get("path"), str) and (
            value.get("meta") or {}).get("_type") == "gradio.FileData":
        return value["path"]
    got = "a text (this server's files are never read by name)" if isinstance(value, str) \
        else shown(value)
    raise demo.RequestError(f"{field} must be a file sent with gradio_client's handle_file, "
                            f"got {got}.")
