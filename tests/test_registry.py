"""One place to add a dataset or a model name: `data.register_dataset` and
`zoo.register_model`. A name added there is known to training and evaluation, the CLI, the
page's model menu and the cards, with nothing else edited."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from frameprophet import card, catalog, data, demo, zoo
from frameprophet.__main__ import main, parser


def dot_movies(n: int, frames: int, seed: int | None, split: str = "train") -> np.ndarray:
    """One bright pixel crossing a 16x16 frame, a pixel a frame."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, frames, 16, 16, 1), np.float32)
    rows = rng.integers(0, 16, n)
    for t in range(frames):
        out[np.arange(n), t, rows, t % 16] = 1.0
    return out


@pytest.fixture
def dots():
    """The world "dots" and the model "dots-model", registered for one test only."""
    entry = data.register_dataset(data.Dataset(
        "dots", "Moving dots", "A dot crossing the frame. ", frames=6, context=3, horizon=3,
        frame_size=(16, 16), channels=1, movies=dot_movies,
        splits={"test": "rows never seen", "train": "the training rows"}))
    model = zoo.register_model(zoo.ModelName(
        "dots-model", "prophet", "dots", "Predicts where a dot goes next."))
    yield entry, model
    del data.DATASETS["dots"], zoo.MODELS["dots-model"]
    catalog.clear()


def test_a_registered_dataset_gives_clips_pairs_and_cli_choices(dots):
    context, truth = data.clips("dots", 2)
    assert context.shape == (2, 3, 16, 16, 1) and truth.shape == (2, 3, 16, 16, 1)
    inputs, targets = data.make_pairs("dots", 2, 6, seed=0)
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])   # targets: the next frame
    args = parser().parse_args(["evaluate", "--dataset", "dots", "--model", "x.keras"])
    assert args.dataset == "dots"
    with pytest.raises(ValueError, match="dots"):          # unknown names list the known ones
        data.clips("nowhere", 1)


def test_a_registered_model_name_is_offered_listed_and_carded(dots, capsys):
    assert "dots-model" in catalog.offered()
    assert "dots-model" in [value for _, value in demo.model_choices()]
    loaded = catalog.get("dots-model")              # no weights: its dataset's untrained shape
    assert loaded.untrained and loaded.predictor.frame_size == (16, 16)
    assert main(["models"]) == 0
    listed = capsys.readouterr().out
    assert "dots-model" in listed and "Predicts where a dot goes next." in listed
    assert "Moving dots" in listed
    meta = {"recipe": "prophet", "dataset": "dots", "frame_size": [16, 16], "context": 3,
            "horizon": 3, "parameters": 10}
    text = card.card_text(meta, "dots-model")
    assert text.splitlines()[2].startswith("Predicts where a dot goes next.")
    assert "A dot crossing the frame." in text


def test_a_dataset_registered_before_the_page_is_built_is_one_of_its_clips():
    # The page's clip choices are made when the page is imported: a fresh interpreter, as a
    # dataset added beside the others in data.py would be.
    script = textwrap.dedent("""
        import numpy as np
        from frameprophet import data

        def dots(n, frames, seed, split="train"):
            return np.ones((n, frames, 16, 16, 1), np.float32)

        data.register_dataset(data.Dataset("dots", "Moving dots", "Dots. ", frames=6,
                                           context=3, horizon=3, frame_size=(16, 16),
                                           channels=1, movies=dots))
        from frameprophet import demo

        clip, notes = demo.make_clip("dots", 2, None, (32, 32))
        print(demo.SOURCES.index("Moving dots"), demo.DEFAULT_MODEL["Moving dots"], clip.shape)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # Offered after the other worlds, before a person's own clip; a grey world's clips get the
    # grey model unless one was registered for it; read at the page's frame size.
    assert done.stdout.split()[:2] == ["3", "mnist"]
    assert done.stdout.strip().endswith("(20, 32, 32, 1)")


def test_a_name_is_registered_once(dots):
    with pytest.raises(ValueError, match="already"):
        zoo.register_model(zoo.ModelName("mnist", "prophet", "mnist", "again"))
    with pytest.raises(ValueError, match="already"):
        data.register_dataset(dots[0])
    with pytest.raises(ValueError, match="dataset must be one of"):
        zoo.register_model(zoo.ModelName("x", "prophet", "nowhere", "no such world"))
