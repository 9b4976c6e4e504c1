"""Shared test set-up: quiet TensorFlow, no network, one way to serve the demo; the tiny things
tests build (one name per meaning: `TINY_PROPHET`, `TINY_RECIPES`, `TINY_PAGE_JOB`), a colour
clip, tiny stand-ins for the shipped models; a tiny saved model and one lineage of tiny training
runs (each built once per session); `says`, which checks a message by what it names.

Helpers are plain names: `from conftest import TINY_PROPHET, colour_clip`."""

import os
import re
import socket
import time

import numpy as np
import pytest

import frameprophet  # noqa: F401  (quiets TensorFlow's C++ notices before any test imports it)

os.environ.setdefault("HF_HUB_OFFLINE", "1")          # tests never touch the network
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


from PIL import Image  # noqa: E402

PILLOW_LIMIT = Image.MAX_IMAGE_PIXELS       # Pillow's own, before any test module imports app


@pytest.fixture(autouse=True)
def pillow_limit_restored():
    """`app.build` lowers Pillow's picture-size limit for the server process (Gradio decodes the
    page's sketch before the app can check it); `import app` builds the page, so every test
    starts from Pillow's own limit and the library's checks speak for themselves."""
    Image.MAX_IMAGE_PIXELS = PILLOW_LIMIT
    yield
    Image.MAX_IMAGE_PIXELS = PILLOW_LIMIT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def serve():
    """`serve(demo, port=None, **launch_kwargs)` starts `demo` on 127.0.0.1 (a free port unless
    one is given) without blocking and returns its URL; the caller closes it.

    Gradio's `launch` checks its own page with one HEAD request and a 3-second timeout, and refuses
    to start if that fails. A stalled CI host failed it once and took 18 API tests with it, so a
    launch that fails only that check is closed and tried again; the tests then prove the server
    answers by using it."""
    def launch(demo, port: int | None = None, **kwargs) -> str:
        for attempt in range(3):
            try:
                demo.launch(prevent_thread_lock=True, server_name="127.0.0.1",
                            server_port=port or free_port(), quiet=True, **kwargs)
                return demo.local_url
            except ValueError as error:
                if "localhost is not accessible" not in str(error) or attempt == 2:
                    raise
                demo.close()
                time.sleep(2)

    return launch


# -- what a message says ------------------------------------------------------------------------

def _stands_in(text: str, part: str, number: bool = False, flags: int = 0) -> bool:
    """Whether `part` stands in `text` on its own: a word not inside a longer word ("model" is
    not in "models"), a number not inside a longer number (7 is not in 17, 7.5 or 0.7)."""
    inner = r"[\d.]" if number else r"\w"
    before = rf"(?<!{inner})" if re.match(r"[\w.]", part) else ""
    after = r"(?!\d|\.\d)" if number else (r"(?!\w)" if re.search(r"\w$", part) else "")
    return re.search(before + re.escape(part) + after, text, flags) is not None


def says(message: str, *, field: str | None = None, values=(), numbers=(), accepted=()) -> bool:
    """Whether `message` names what a person needs to put their request right, whatever its
    wording: the `field` that was wrong, as the page or the API calls it (any case); the
    `values` involved, as sent (a model's or a file's name, a text); the `numbers` involved
    (7 as a whole number, not inside 17 or 7.5; give a text such as "4.0" for a number written
    so); and the `accepted` values (each as written).

    True when it names them all; otherwise an AssertionError lists those it does not name:

        with pytest.raises(demo.RequestError) as error:
            prediction_of(demo.SOURCE_MNIST, 0, None, 5, 31, "closed_loop", "mnist")
        assert says(str(error.value), field="Frames to predict", numbers=[1, 30, 31])
    """
    missing = []
    if field is not None and not _stands_in(message, field, flags=re.IGNORECASE):
        missing.append(f"the field {field!r}")
    missing += [f"the value {v!r}" for v in values if not _stands_in(message, v)]
    missing += [f"the number {n}" for n in numbers if not _stands_in(message, str(n), True)]
    missing += [f"the accepted {a!r}" for a in accepted if not _stands_in(message, a)]
    if missing:
        raise AssertionError(f"{message!r} does not name {', '.join(missing)}")
    return True


# -- tiny things --------------------------------------------------------------------------------

#: `models.build` options of a prophet small enough to train in seconds on a CPU.
TINY_PROPHET = {"hidden": 4, "depth": 1}
#: Options of each recipe at a size that builds and runs in a blink: for tests of a recipe's
#: maths (two ConvLSTM layers, so that what passes between layers is tested too).
TINY_RECIPES = {"prophet": {"hidden": 8, "depth": 2}, "keras2-squares": {"filters": 4},
                "keras3-mnist": {"filters": 4}}
#: A training job from the page (`jobs.training.start`): 16x16 frames, windows of 4 + 4, a tiny
#: prophet, 2 batches of 2 an epoch.
TINY_PAGE_JOB = dict(frame_size=16, context=4, horizon=4, batch=2, steps_per_epoch=2,
                     val_clips=2, test_clips=2, precision="float32", options=TINY_PROPHET)


def colour_clip(frames: int = 12, size: int = 16, seed: int = 0) -> np.ndarray:
    """A red square moving right over a blue ground: float32 (T, size, size, 3); `seed` moves
    it to another row and start."""
    clip = np.zeros((frames, size, size, 3), np.float32)
    clip[..., 2] = 0.5
    y = 2 + 3 * seed % (size - 6)
    for t in range(frames):
        x = (t + seed) % (size - 4)
        clip[t, y:y + 4, x:x + 4] = (1.0, 0.2, 0.0)
    return clip


_PREDICTORS: dict[tuple, object] = {}


def tiny_predictor(size: tuple[int, int], channels: int = 1):
    """A small untrained prophet predictor, one per frame size and channels for the session,
    saying it learnt the dataset of that size and colour."""
    from frameprophet import models
    from frameprophet.predict import Predictor

    if (size, channels) not in _PREDICTORS:
        dataset = "natural" if channels == 3 else "squares" if size == (40, 40) else "mnist"
        _PREDICTORS[size, channels] = Predictor(
            models.build("prophet", size, hidden=8, depth=1, channels=channels),
            {"dataset": dataset})
    return _PREDICTORS[size, channels]


def fake_load_model(resolved: str):
    """`catalog.load` for tests of the page: every model asked for is a tiny untrained one of the
    shipped model's frame size and colour (64x64 grey for any other name)."""
    from frameprophet import catalog

    protocol = catalog.MODELS[resolved].protocol if resolved in catalog.MODELS else None
    size, channels = (protocol.frame_size, protocol.channels) if protocol else ((64, 64), 1)
    return catalog.LoadedModel(tiny_predictor(size, channels), f"test-{resolved}",
                               untrained=True)


def prediction_of(*settings, **options):
    """`demo.run_prediction` of the request these settings make (`demo.PredictRequest.of`, as the
    page and the API make it)."""
    from frameprophet import demo

    return demo.run_prediction(demo.PredictRequest.of(*settings, **options))


def scene_of(*settings, **options):
    """`demo.run_scene` of `demo.SceneRequest.of(*settings, **options)`."""
    from frameprophet import demo

    return demo.run_scene(demo.SceneRequest.of(*settings, **options))


def comparison_of(*settings):
    """`demo.run_compare` of `demo.CompareRequest.of(*settings)`."""
    from frameprophet import demo

    return demo.run_compare(demo.CompareRequest.of(*settings))


def memory_of(*settings):
    """`demo.run_memory` of `demo.MemoryRequest.of(*settings)`."""
    from frameprophet import demo

    return demo.run_memory(demo.MemoryRequest.of(*settings))


@pytest.fixture(scope="module")
def laid_out():
    """The page's widgets (`frameprophet.ui.layout.Page`) in a `gr.Blocks` never launched: a
    tab's handler is called with its own results."""
    import gradio as gr

    from frameprophet import catalog
    from frameprophet.ui.layout import lay_out

    with gr.Blocks():
        return lay_out(catalog.offered())


@pytest.fixture(scope="module")
def client(serve):
    """A `gradio_client.Client` of the whole page, served once per test module."""
    from gradio_client import Client

    from frameprophet import ui

    page = ui.build_demo()
    url = serve(page)
    try:
        yield Client(url, verbose=False)
    finally:
        page.close()


@pytest.fixture
def fresh_catalog(monkeypatch):
    """A catalog with no added models and nothing loaded, for this test alone."""
    from frameprophet import catalog

    monkeypatch.setattr(catalog, "_ADDED", {})
    catalog.clear()
    yield catalog
    catalog.clear()


# -- a tiny saved model and one lineage of tiny training runs, built once per session ----------


def stop_after(epochs: int):
    """A Keras callback that ends `fit` after `epochs` epochs, as an early-stopping rule would."""
    import keras

    class StopAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 >= epochs:
                self.model.stop_training = True

    return StopAfter()


def train_tiny(folder, epochs: int | None = None, extra_callbacks=(), **kwargs) -> dict:
    """A tiny `train` run in `folder` (squares, batch 2, 2 steps an epoch, writes tiny.keras and
    run/), stopped after `epochs` epochs when given; returns the sidecar."""
    from frameprophet import train

    args = dict(dataset="squares", minutes=5, out=str(folder / "tiny.keras"), batch=2,
                steps_per_epoch=2, val_clips=2, test_clips=3, ramp=1e-6, precision="float32",
                run_dir=str(folder / "run"), options=TINY_PROPHET)
    args.update(kwargs)
    callbacks = [*extra_callbacks, *([stop_after(epochs)] if epochs else [])]
    return train.train(train.TrainConfig(**args), verbose=0, extra_callbacks=callbacks)


@pytest.fixture(name="train_tiny")
def train_tiny_fixture():
    """`train_tiny(folder, epochs=None, extra_callbacks=(), **config)`: see `train_tiny`."""
    return train_tiny


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """An untrained tiny prophet for squares (40x40, context 7, horizon 8) saved with its
    sidecar: for tests of what is done with a model file, not of what it predicts."""
    from frameprophet import models, saving

    path = tmp_path_factory.mktemp("tiny_model") / "tiny.keras"
    saving.save(models.build("prophet", (40, 40), **TINY_PROPHET), path, dataset="squares",
                context=7, horizon=8)
    return str(path)


@pytest.fixture(scope="session")
def lineage(tmp_path_factory) -> dict:
    """One lineage of tiny training runs, trained once and shared by the init/average tests:

    - `first`: a new model (bce+ssim, SSIM weight 0.5, note "first run"), 2 epochs;
    - `second`: `--init first` with no options and no loss (it keeps the first's), 1 epoch;
    - `average`: `average first second`;
    - `third`: `--init average`, widened to hidden 8 and told `--loss bce`, 1 epoch.

    Each entry is the model's path and its sidecar; `root` is the folder they live in. Tests
    read these files and never write into `root`."""
    from frameprophet import saving
    from frameprophet.__main__ import main

    root = tmp_path_factory.mktemp("lineage")
    first = train_tiny(root, epochs=2, note="first run", loss="bce+ssim",
                       options={**TINY_PROPHET, "ssim_weight": 0.5})
    second = train_tiny(root, epochs=1, init=str(root / "tiny.keras"),
                        out=str(root / "second.keras"), run_dir=str(root / "run2"), options={})
    average = root / "soup" / "tiny.keras"
    assert main(["average", str(root / "tiny.keras"), str(root / "second.keras"),
                 "--out", str(average)]) == 0
    third = train_tiny(root, epochs=1, init=str(average), out=str(root / "third.keras"),
                       run_dir=str(root / "run3"), options={"hidden": 8}, loss="bce")
    return {"root": root,
            "first": (root / "tiny.keras", first), "second": (root / "second.keras", second),
            "average": (average, saving.read_sidecar(average)),
            "third": (root / "third.keras", third)}
