"""The demo: its requests (`frameprophet.demo`: a typed request made of settings, then run)
directly, then the page's handlers (`frameprophet.ui.handlers`, each with its tab's results) and
the API (`frameprophet.ui.api`) through one app server shared by the module's `server` tests.

Models are small untrained `prophet` models built on the fly (no weights files needed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from conftest import (  # noqa: F401  (one copy, in conftest)
    comparison_of,
    fake_load_model,
    memory_of,
    prediction_of,
    says,
    scene_of,
    tiny_predictor,
)
from PIL import Image

from frameprophet import catalog, demo, io, models, saving, scenes, ui
from frameprophet.ui import api, controls, handlers

# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def fake_models():
    """Every model the UI asks for is a tiny untrained one."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(catalog, "load", fake_load_model)
        catalog.clear()
        yield
    catalog.clear()


def gif_frames(path) -> int:
    with Image.open(path) as im:
        assert im.format == "GIF"
        return im.n_frames


def write_gif_file(path: Path, frames: int, size: int = 32) -> Path:
    rng = np.random.default_rng(frames)
    images = [Image.fromarray((rng.random((size, size)) * 255).astype(np.uint8)).convert("P")
              for _ in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Good and bad uploads."""
    root = tmp_path_factory.mktemp("uploads")
    good_gif = write_gif_file(root / "moving.gif", 12)
    good_npy = root / "moving.npy"
    np.save(good_npy, np.random.default_rng(1).random((14, 64, 64)).astype(np.float32))
    empty = root / "empty.gif"
    empty.write_bytes(b"")
    text = root / "text.gif"
    text.write_text("this is not a GIF at all\n")
    one = write_gif_file(root / "one.gif", 1)
    unknown = root / "clip.xyz"
    unknown.write_bytes(b"\x00\x01\x02\x03" * 64)
    return {"gif": good_gif, "npy": good_npy, "empty": empty, "text": text, "one": one,
            "unknown": unknown}


def notes(info: str) -> list[str]:
    """The notes of a run's info text: after its "Note: ", apart by "; " (a note's own
    clauses come apart too)."""
    assert "\nNote: " in info, info
    return info.split("\nNote: ", 1)[1].removesuffix(".").split("; ")


def note_on(info: str, topic: str) -> str:
    """The one note of `info` (see `notes`) that names `topic`, in any case."""
    about = [note for note in notes(info) if topic.lower() in note.lower()]
    assert len(about) == 1, (topic, notes(info))
    return about[0]


def clip_error_message(path) -> str:
    """What frameprophet.io itself says about a bad file (without the file's folder)."""
    with pytest.raises(io.ClipError) as info:
        io.read_clip(path, frame_size=(64, 64), max_frames=demo.MAX_UPLOAD_FRAMES)
    return str(info.value).replace(str(Path(path).parent) + "/", "")


# --------------------------------------------------------------------------------------------
# run_prediction, called directly
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["closed_loop", "teacher_forced"])
@pytest.mark.parametrize("source", [demo.SOURCE_SQUARES, demo.SOURCE_MNIST])
def test_generated_sources_both_modes(source, mode):
    gif, strip, plot, info = prediction_of(source, 3, None, 4, 3, mode,
                                           demo.DEFAULT_MODEL[source])
    assert gif_frames(gif) == 4 + 3
    size = catalog.MODELS[demo.DEFAULT_MODEL[source]].protocol.frame_size
    with Image.open(gif) as im:                   # panels upscaled to ~240-256 px
        assert im.size[0] > 3 * 200
    assert Image.open(strip).format == "PNG" and Image.open(plot).format == "PNG"
    assert f"{size[0]}x{size[1]}" in info and "ms" in info
    assert "4 context frames + 3 predicted" in info
    assert demo.MODE_LABELS[mode] in info


def test_sources_and_modes_accept_short_names():
    *_, info = prediction_of("squares", 5, None, 2.0, 2, "teacher-forced", "squares")
    assert "one-step teacher-forced" in info


@pytest.mark.parametrize("kind", ["gif", "npy"])
@pytest.mark.parametrize("mode", ["closed_loop", "teacher_forced"])
def test_uploads(clips, kind, mode):
    gif, strip, plot, info = prediction_of(demo.SOURCE_UPLOAD, 0, str(clips[kind]), 5, 4,
                                           mode, "mnist")
    assert gif_frames(gif) == 5 + 4
    assert "64x64" in info                          # resized to the model's frame size


@pytest.mark.parametrize("bad", ["empty", "text", "one", "unknown"])
def test_bad_uploads_are_friendly_errors(clips, bad):
    expected = clip_error_message(clips[bad])
    with pytest.raises(demo.RequestError) as info:
        prediction_of(demo.SOURCE_UPLOAD, 0, str(clips[bad]), 5, 4, "closed_loop", "mnist")
    assert str(info.value) == expected
    assert says(expected, values=[clips[bad].name], numbers=[2, demo.MAX_UPLOAD_FRAMES])
    assert "Traceback" not in expected


def test_upload_source_without_a_file():
    with pytest.raises(demo.RequestError) as error:
        prediction_of(demo.SOURCE_UPLOAD, 0, None, 5, 4, "closed_loop", "mnist")
    assert says(str(error.value), field="upload", accepted=["GIF", "MP4", "WebM", "NPY"])


def test_horizon_past_the_end_of_the_clip():
    n = demo.CLIP_FRAMES
    gif, strip, plot, info = prediction_of(demo.SOURCE_SQUARES, 1, None, n - 4, 9,
                                           "closed_loop", "squares")
    assert gif_frames(gif) == n + 5                 # all 9 predicted, 4 of them with truth
    assert f"truth ends at frame {n} of the clip, after predicted frame 4" in info
    assert "4 scored frames" in info                # frames counted from 1, as the plot does


def test_teacher_forced_stops_where_the_clip_ends():
    n = demo.CLIP_FRAMES
    gif, *_, info = prediction_of(demo.SOURCE_MNIST, 1, None, n - 3, 8, "teacher_forced",
                                  "mnist")
    assert gif_frames(gif) == n + 1                 # 3 true inputs -> 4 predictions
    assert "teacher-forced reads the true frames, so it stops after 4" in info


def test_context_is_cut_to_the_clip():
    *_, info = prediction_of(demo.SOURCE_SQUARES, 1, None, 99, 2, "closed_loop", "squares")
    assert f"{demo.CLIP_FRAMES - 1} context frames" in info
    assert says(note_on(info, "context"), field="context",
                numbers=[demo.CLIP_FRAMES - 1, demo.CLIP_FRAMES])      # cut to 19: the clip has 20


def test_model_and_clip_frame_sizes_differ():
    """A 64x64 model on a 40x40 squares clip: the clip is resized by the library."""
    gif, *_, info = prediction_of(demo.SOURCE_SQUARES, 1, None, 3, 2, "closed_loop", "mnist")
    assert gif_frames(gif) == 5 and "64x64" in info


@pytest.mark.parametrize("args, named", [
    pytest.param((demo.SOURCE_MNIST, 0, None, 0, 3, "closed_loop", "mnist"),
                 dict(field="Context frames", numbers=[1, 0]), id="context"),
    pytest.param((demo.SOURCE_MNIST, 0, None, 5, 31, "closed_loop", "mnist"),
                 dict(field="Frames to predict", numbers=[1, 30, 31]), id="horizon"),
    pytest.param((demo.SOURCE_MNIST, 0, None, 5, 3, "sideways", "mnist"),
                 dict(field="mode", values=["sideways"],
                      accepted=["closed_loop", "teacher_forced"]), id="mode"),
    pytest.param(("Webcam", 0, None, 5, 3, "closed_loop", "mnist"),
                 dict(field="source", values=["Webcam"], accepted=demo.SOURCES), id="source"),
    pytest.param((demo.SOURCE_MNIST, "abc", None, 5, 3, "closed_loop", "mnist"),
                 dict(field="Seed", values=["abc"], numbers=[0, demo.MAX_SEED]), id="seed"),
    pytest.param((demo.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", "/etc/passwd"),
                 dict(field="model", values=["passwd"], accepted=["mnist", "squares"]),
                 id="model"),                          # a path's folders are not repeated
    pytest.param((demo.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", demo.CUSTOM_MODEL),
                 dict(field="Hugging Face Hub repo id", accepted=["owner/name"]), id="hub"),
])
def test_bad_arguments_are_friendly_errors(args, named):
    with pytest.raises(demo.RequestError) as error:
        prediction_of(*args)
    assert says(str(error.value), **named)


def test_unexpected_failures_get_a_generic_message(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(demo.request.render, "side_by_side", boom)
    with pytest.raises(demo.RequestFailed) as info:
        prediction_of(demo.SOURCE_SQUARES, 0, None, 3, 2, "closed_loop", "squares")
    assert str(info.value) == demo.GENERIC_ERROR


def test_models_are_loaded_once():
    catalog.clear()
    first = catalog.get("squares")
    assert catalog.get("squares") is first
    assert catalog.get("mnist") is not first


def test_a_retrained_weights_file_is_loaded_anew(monkeypatch, tmp_path):
    weights = tmp_path / "mnist.keras"
    weights.write_bytes(b"x")
    monkeypatch.setattr(saving, "WEIGHTS_DIR", tmp_path)
    catalog.clear()
    first = catalog.get("mnist")
    assert catalog.get("mnist") is first
    later = weights.stat().st_mtime_ns + 10**9
    os.utime(weights, ns=(later, later))                  # `train --out weights/mnist.keras`
    assert catalog.get("mnist") is not first
    catalog.clear()


def test_model_names():
    assert catalog.resolve("squares") == "squares"
    assert catalog.resolve("owner/name") == "hf://owner/name"
    assert catalog.resolve("hf://owner/name") == "hf://owner/name"
    assert catalog.resolve("owner/repo/model.keras") == "hf://owner/repo/model.keras"
    for bad in ["", "../weights/x.keras", "a/b/c", "/abs/path.keras", "x y"]:
        with pytest.raises(saving.ModelFileError) as error:
            catalog.resolve(bad)
        assert says(str(error.value), field="model", values=[bad] if bad else [],
                    accepted=["mnist", "squares", "owner/name"])
    with pytest.raises(demo.RequestError) as error:
        prediction_of(demo.SOURCE_MNIST, 0, None, 3, 2, "closed_loop", "a/b/c")
    assert says(str(error.value), field="model", values=["a/b/c"], accepted=["mnist", "squares"])
    values = [value for _, value in demo.model_choices()]
    assert values[:2] == ["mnist", "squares"] and values[-1] == demo.CUSTOM_MODEL


def test_custom_model_uses_the_hub_repo_box(laid_out, monkeypatch):
    """The menu's custom choice reads the Hub box, as the page sends them."""
    monkeypatch.setattr(handlers.gr, "Warning", lambda message: None)
    results = laid_out.clip.results
    shown = handlers.predict_clip(results, demo.SOURCE_MNIST, 0, None, 3, 2, "closed_loop",
                                  demo.CUSTOM_MODEL, "someone/some-model", False)
    assert "test-hf://someone/some-model" in shown[results.info]
    empty = handlers.predict_clip(results, demo.SOURCE_MNIST, 0, None, 3, 2, "closed_loop",
                                  demo.CUSTOM_MODEL, "", False)
    assert says(empty[results.info], field="Hugging Face Hub repo id", accepted=["owner/name"])


_ORIGINAL_LOAD_MODEL = catalog.load        # captured at import, before the fixture patches it


def test_real_loader_falls_back_to_an_untrained_model(monkeypatch, tmp_path):
    from frameprophet import predict  # catalog reads it there at load time (Keras loads late)

    monkeypatch.setattr(saving, "WEIGHTS_DIR", tmp_path)        # no weights files at all
    monkeypatch.setattr(predict, "untrained_predictor",
                        lambda size, channels=1: tiny_predictor(tuple(size), channels))
    loaded = _ORIGINAL_LOAD_MODEL("squares")
    assert loaded.untrained and "untrained (weights not found)" in loaded.label
    assert loaded.predictor.frame_size == (40, 40)
    colour = _ORIGINAL_LOAD_MODEL("natural")              # the colour default, untrained too
    assert colour.untrained and colour.predictor.channels == 3
    choices = dict((value, label) for label, value in demo.model_choices())
    assert list(choices)[:3] == ["mnist", "squares", "natural"]
    assert choices["natural"] == "natural (untrained here: its weights are not installed)"
    assert list(choices)[-1] == demo.CUSTOM_MODEL


def test_hub_errors_are_friendly_and_offline():
    """HF_HUB_OFFLINE=1 (conftest): a Hub id must fail with a sentence, never crash."""
    with pytest.raises(saving.ModelFileError) as error:
        _ORIGINAL_LOAD_MODEL("hf://someone/does-not-exist")
    assert says(str(error.value), field="Hugging Face Hub", values=["someone/does-not-exist"])


# --------------------------------------------------------------------------------------------
# The /predict API through gradio_client
# --------------------------------------------------------------------------------------------

@pytest.mark.server
def test_api_signature(client):
    info = client.view_api(print_info=False, return_format="dict")
    endpoint = info["named_endpoints"]["/predict"]
    names = [p["parameter_name"] for p in endpoint["parameters"]]
    assert names == ["source", "seed", "upload", "context", "horizon", "mode", "model"]
    assert len(endpoint["returns"]) == 4
    assert set(info["named_endpoints"]) == {"/predict", "/scene", "/compare", "/memory"}
    scene = info["named_endpoints"]["/scene"]
    assert [p["parameter_name"] for p in scene["parameters"]] == [
        "world", "objects", "speed", "digits", "seed", "context", "horizon", "mode", "model",
        "sketch"]


@pytest.mark.parametrize("mode", ["closed_loop", "teacher_forced"])
@pytest.mark.parametrize("source", [demo.SOURCE_SQUARES, demo.SOURCE_MNIST])
@pytest.mark.server
def test_api_generated_sources(client, source, mode):
    gif, strip, plot, info = client.predict(
        source=source, seed=2, upload=None, context=3, horizon=3, mode=mode,
        model=demo.DEFAULT_MODEL[source], api_name="/predict")
    assert gif_frames(gif) == 6
    assert Image.open(strip).format == "PNG" and Image.open(plot).format == "PNG"
    assert "3 context frames + 3 predicted" in info


@pytest.mark.server
def test_api_upload(client, clips):
    from gradio_client import handle_file

    gif, *_, info = client.predict(
        source=demo.SOURCE_UPLOAD, seed=0, upload=handle_file(str(clips["gif"])), context=4,
        horizon=5, mode="closed_loop", model="mnist", api_name="/predict")
    assert gif_frames(gif) == 9 and "64x64" in info


@pytest.mark.server
def test_api_bad_upload_reports_the_clip_error(client, clips):
    from gradio_client import handle_file

    expected = clip_error_message(clips["text"])
    with pytest.raises(Exception) as info:
        client.predict(source=demo.SOURCE_UPLOAD, seed=0, upload=handle_file(str(clips["text"])),
                       context=4, horizon=5, mode="closed_loop", model="mnist",
                       api_name="/predict")
    assert expected in str(info.value)                   # the same words as io's ClipError
    assert "/tmp" not in str(info.value) and "gradio" not in str(info.value)


def test_the_original_keras_io_model_is_offered_and_fails_clearly_offline(monkeypatch,
                                                                            tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    labels = {value: label for label, value in demo.model_choices()}
    assert "keras-io/conv-lstm" not in labels        # offline and not cached: not offered
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    labels = {value: label for label, value in demo.model_choices()}
    assert labels["keras-io/conv-lstm"].endswith("from the Hugging Face Hub when chosen: needs "
                                                 "internet)")       # said beforehand
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    (tmp_path / "models--keras-io--conv-lstm" / "snapshots" / "abc").mkdir(parents=True)
    labels = {value: label for label, value in demo.model_choices()}
    assert labels["keras-io/conv-lstm"].endswith("cached here)")
    assert catalog.resolve("keras-io/conv-lstm") == "hf://keras-io/conv-lstm"
    with pytest.raises(saving.ModelFileError) as info:
        _ORIGINAL_LOAD_MODEL("hf://keras-io/conv-lstm")
    message = str(info.value)                       # one line, no machine paths or advice
    assert says(message, field="Hugging Face Hub", values=["keras-io/conv-lstm"],
                accepted=["shipped models"])
    assert "\n" not in message and str(tmp_path) not in message and "HF_" not in message
    assert "hf://" not in message and "models--" not in message    # the id, not the cache's


# --------------------------------------------------------------------------------------------
# What a person sees: labels, notes, errors that keep the last result
# --------------------------------------------------------------------------------------------

def test_each_request_gets_its_own_folder_and_only_the_newest_are_kept():
    made = [demo.result_dir() for _ in range(demo.KEEP_RESULTS + 3)]
    assert len(set(made)) == len(made) and all(p.parent == demo.RESULTS_ROOT for p in made)
    assert sorted(demo.RESULTS_ROOT.glob("req-*")) == made[-demo.KEEP_RESULTS:]
    assert demo.RESULTS_ROOT.name.startswith("frameprophet-results-")     # this process's own


def test_an_upload_updates_the_context_slider_with_one_update(clips):
    # One update per output (the slider, its cut): a 1-tuple for one output once became the
    # slider's value in the browser. The value is left alone when it fits: the person may have
    # moved it while the file decoded.
    update, cut = controls.on_upload(demo.SOURCE_UPLOAD, str(clips["gif"]), 10)
    assert isinstance(update, dict) and update["maximum"] == 11 and "value" not in update
    assert cut is None
    assert controls.on_upload(demo.SOURCE_UPLOAD, None, 10) == (gr.update(), None)
    hidden, shown, slider, cut = controls.on_source(demo.SOURCE_UPLOAD, str(clips["npy"]),
                                                       20)
    assert slider["maximum"] == 13 and slider["value"] == 13 and cut == [20, 13]


def test_teacher_forced_says_so_and_uses_the_one_step_baseline():
    *_, info = prediction_of(demo.SOURCE_MNIST, 7, None, 10, 10, "teacher_forced", "mnist")
    assert info.startswith("ONE-STEP (teacher-forced)")
    assert "vs copy previous true frame" in info and "copy last frame" not in info
    *_, closed = prediction_of(demo.SOURCE_MNIST, 7, None, 10, 10, "closed_loop", "mnist")
    assert "vs copy last frame" in closed and "ONE-STEP" not in closed


def test_baselines_are_marked_and_explained(monkeypatch, tmp_path):
    for name, recipe in [("mnist", "prophet"), ("mnist-keras3", "keras3-mnist")]:
        (tmp_path / f"{name}.keras").write_bytes(b"x")
        (tmp_path / f"{name}.json").write_text(f'{{"recipe": "{recipe}"}}')
    monkeypatch.setattr(saving, "WEIGHTS_DIR", tmp_path)
    labels = dict((value, label) for label, value in demo.model_choices())
    assert labels["mnist"] == "mnist"
    assert labels["mnist-keras3"] == "mnist-keras3 (Keras example recipe, for comparison)"
    note = catalog.baseline_note("mnist-keras3")
    assert note.startswith("mnist-keras3 is the Keras 3 example's recipe, kept for comparison")
    assert "flat grey from the first predicted frame" in note    # measured: ~0.3 everywhere
    assert catalog.baseline_note("mnist") is None


def test_uploads_that_do_not_suit_the_model_get_notes(tmp_path):
    rng = np.random.default_rng(0)
    colour = (rng.random((70, 32, 32, 3)) * 255).astype(np.uint8)
    colour[..., 0] = 255                              # red-ish and bright: unlike MNIST
    path = tmp_path / "long_colour.npy"
    np.save(path, colour)
    *_, info = prediction_of(demo.SOURCE_UPLOAD, 0, str(path), 10, 5, "closed_loop", "mnist")
    assert f"only its first {demo.MAX_UPLOAD_FRAMES} frames are used" in info
    assert says(note_on(info, "colour"), values=["grey", "natural"])   # and which model keeps it
    assert says(note_on(info, "background is"), field="background", values=["bright"])


def test_a_refused_request_keeps_the_previous_result_on_the_page(monkeypatch, laid_out):
    """A refusal changes only the tab's info box: its pictures (and the memory box) stay."""
    warnings = []
    monkeypatch.setattr(handlers.gr, "Warning", warnings.append)
    clip, scene, compare = (laid_out.clip.results, laid_out.scene.results,
                            laid_out.compare.results)
    result = handlers.predict_clip(clip, demo.SOURCE_MNIST, 0, None, 0, 3, "closed_loop",
                                   "mnist", None, False)
    assert list(result) == [clip.info]
    assert result[clip.info].startswith("Not predicted: ")
    assert says(result[clip.info], field="Context frames", numbers=[1, 0])   # at least 1, got 0
    assert len(warnings) == 1 and says(warnings[0], field="Context frames", numbers=[1, 0])
    for results, refused in (
            (scene, handlers.predict_scene(scene, "mnist", 2, 100, "", 0, None, 5, 3,
                                           "closed_loop", "mnist", None)),
            (compare, handlers.predict_compare(compare, demo.SOURCE_MNIST, 0, None, ["mnist"],
                                               5, 3, "closed_loop"))):
        assert list(refused) == [results.info]                      # each tab's own info
        assert refused[results.info].startswith("Not predicted: ")


def test_expected_errors_log_one_line_and_bugs_a_traceback(caplog, monkeypatch, clips):
    caplog.set_level("INFO", logger="frameprophet.ui.handlers")
    sent = {"path": str(clips["text"]), "meta": {"_type": "gradio.FileData"}}  # Gradio's payload
    with pytest.raises(gr.Error) as info:
        api.predict(demo.SOURCE_UPLOAD, 0, sent, 5, 4, "closed_loop", "mnist")
    assert info.value.print_exception is False            # Gradio prints no traceback
    refused = [r for r in caplog.records if r.getMessage().startswith("refused:")]
    assert len(refused) == 1 and refused[0].exc_info is None
    caplog.clear()
    monkeypatch.setattr(demo.request.render, "frame_strip", lambda *a, **k: 1 / 0)
    with pytest.raises(gr.Error) as info:
        api.predict(demo.SOURCE_MNIST, 0, None, 5, 4, "closed_loop", "mnist")
    assert info.value.message == demo.GENERIC_ERROR
    assert any(r.exc_info for r in caplog.records)         # our bug: the traceback is logged


# --------------------------------------------------------------------------------------------
# The API takes the documented values and their aliases; the queue holds a crowd
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, mode", [("mnist", "closed-loop"), ("Moving MNIST", "closed_loop"),
                                          ("squares", "teacher-forced"), ("mnist", "one-step")])
@pytest.mark.server
def test_api_accepts_documented_values_and_aliases(client, source, mode):
    *_, info = client.predict(source=source, seed=3, upload=None, context=4, horizon=3,
                              mode=mode, model="mnist", api_name="/predict")
    assert "4 context frames + 3 predicted" in info


@pytest.mark.server
def test_api_refuses_other_values_listing_the_accepted_ones(client):
    with pytest.raises(Exception) as error:
        client.predict(source="mnist", seed=3, upload=None, context=4, horizon=3,
                       mode="sideways", model="mnist", api_name="/predict")
    assert says(str(error.value), field="mode", values=["sideways"],
                accepted=["closed_loop", "teacher_forced"])
    with pytest.raises(Exception) as error:
        client.predict(source="webcam", seed=3, upload=None, context=4, horizon=3,
                       mode="closed_loop", model="mnist", api_name="/predict")
    assert says(str(error.value), field="source", values=["webcam"], accepted=demo.SOURCES)


@pytest.mark.server
def test_32_people_at_once_all_get_an_answer(client):
    jobs = [client.submit(source="squares", seed=i, upload=None, context=3, horizon=2,
                          mode="closed_loop", model="squares", api_name="/predict")
            for i in range(32)]
    answers = [job.result(timeout=300) for job in jobs]
    assert len(answers) == 32 and all("3 context frames + 2 predicted" in a[3] for a in answers)
    assert ui.QUEUE_SETTINGS["max_size"] >= 64


# --------------------------------------------------------------------------------------------
# Build a scene
# --------------------------------------------------------------------------------------------

def test_a_scene_as_trained_is_the_standard_clip_and_says_nothing_odd():
    *_, info = scene_of("mnist", 2, 3.6, "", 7, 10, 10, "closed_loop", "mnist")
    *_, standard = prediction_of(demo.SOURCE_MNIST, 7, None, 10, 10, "closed_loop", "mnist")
    assert "mnist scene seed 7" in info and "Note:" not in info
    mse = [line for line in info.split(" · ") if line.startswith("mean MSE")]
    assert mse == [line for line in standard.split(" · ") if line.startswith("mean MSE")]


def test_out_of_distribution_scenes_are_labelled():
    *_, info = scene_of("mnist", 3, 7.2, "37", 1, 10, 10, "closed_loop", "mnist")
    assert "(out of distribution)" in info
    assert "3 digits: the model learnt 2" in info and "speed 7.2" in info
    assert says(note_on(info, "held out"), values=["8s", "9s"])     # 3 and 7 were trained on
    assert note_on(info, "training-split")
    *_, squares = scene_of("squares", 2, 2, "", 1, 7, 8, "closed_loop", "squares")
    assert "2 squares: the model learnt 3 to 7" in squares and "speed 2 px per frame" in squares
    assert says(note_on(squares, "speed"), field="speed", numbers=[2, 1],
                values=["leave the frame"])                     # squares do not bounce


@pytest.mark.parametrize("args, named", [
    pytest.param(("mnist", 0, 3.6, "", 0),
                 dict(field="Objects", values=["mnist"], numbers=[1, 4, 0]), id="objects"),
    pytest.param(("mnist", 2, 99, "", 0), dict(field="Speed", numbers=[0, 36, 99]), id="speed"),
    pytest.param(("mnist", 2, 3.6, "3a", 0), dict(field="Digits", values=["3a"], numbers=[0, 9]),
                 id="digits"),
    pytest.param(("squares", 2, 1.5, "", 0),
                 dict(field="Speed", numbers=[0, 10, 1.5], accepted=["whole number"]),
                 id="squares-speed"),
    pytest.param(("moon", 2, 3.6, "", 0),
                 dict(field="world", values=["moon"], accepted=demo.WORLDS), id="world"),
])
def test_bad_scenes_get_one_line(args, named):
    with pytest.raises(demo.RequestError) as error:
        scene_of(*args, 10, 10, "closed_loop", "mnist")
    assert says(str(error.value), **named)
    assert "\n" not in str(error.value)


@pytest.mark.server
def test_api_scene(client):
    gif, strip, plot, info = client.predict(world="mnist", objects=3, speed=3.6, digits="",
                                            seed=2, context=5, horizon=4, mode="closed-loop",
                                            model="mnist", api_name="/scene")
    assert gif_frames(gif) == 9 and "3 digits" in info


# --------------------------------------------------------------------------------------------
# Compare models
# --------------------------------------------------------------------------------------------

def test_compare_two_models_on_one_clip(monkeypatch):
    # Each model's training budget stands beside its name: the Keras example's recipe trained on
    # 790 sequences must not read as what that recipe can do.
    training = {"sequences_seen": 790, "wall_minutes": 122.3, "hardware": "CPU only (x86_64)"}
    monkeypatch.setitem(tiny_predictor((64, 64)).info, "training", training)
    gif, plot, info = comparison_of(demo.SOURCE_MNIST, 3, None, 5, 4, "closed_loop",
                                    ["mnist", "mnist-keras3"])
    assert gif_frames(gif) == 9
    with Image.open(gif) as im:
        assert im.size[0] > 3 * 128                      # truth and two models side by side
    lines = info.splitlines()
    assert lines[1].startswith("mnist (trained 122 min, 790 sequences, CPU): mean MSE")
    assert lines[2].startswith("mnist-keras3 (trained 122 min, 790 sequences, CPU): mean")
    assert lines[3].startswith("copy last frame: mean MSE")
    assert Image.open(plot).format == "PNG"


@pytest.mark.parametrize("models, named", [
    pytest.param(["mnist"], dict(field="models", numbers=[2, 4, 1]), id="one"),
    pytest.param(["mnist", "a", "b", "c", "d"], dict(field="models", numbers=[2, 4, 5]),
                 id="five"),
    pytest.param(["mnist", "not-a-model"],
                 dict(field="model", values=["not-a-model"], accepted=["mnist", "squares"]),
                 id="unknown"),
    pytest.param(["mnist", "squares"],                  # each model's frame size
                 dict(values=["mnist", "64x64", "squares", "40x40"]), id="sizes"),
])
def test_bad_compares_get_one_line(models, named):
    with pytest.raises(demo.RequestError) as error:
        comparison_of(demo.SOURCE_MNIST, 3, None, 5, 4, "closed_loop", models)
    assert says(str(error.value), **named)
    assert "\n" not in str(error.value)


@pytest.mark.server
def test_api_compare(client):
    gif, plot, info = client.predict(source="mnist", seed=1, upload=None, context=4, horizon=3,
                                     mode="closed-loop", models=["mnist", "mnist-keras3"],
                                     api_name="/compare")
    assert gif_frames(gif) == 7 and "mnist-keras3: mean MSE" in info
    with pytest.raises(Exception) as error:
        client.predict(source="mnist", seed=1, upload=None, context=4, horizon=3,
                       mode="closed-loop", models=["mnist"], api_name="/compare")
    assert says(str(error.value), field="models", numbers=[2, 4, 1])


def sketch_file(tmp_path, draw) -> str:
    canvas = np.full((120, 160, 3), 255, np.uint8)
    draw(canvas)
    path = tmp_path / "sketch.png"
    Image.fromarray(canvas).save(path)
    return str(path)


def test_a_drawing_is_moved_and_forecast(tmp_path):
    def ring(c):
        c[30:90, 50:60] = 0
        c[30:40, 50:100] = 0

    *_, info = scene_of("drawing", None, 5, "", 2, 10, 10, "closed_loop", "mnist",
                        sketch=sketch_file(tmp_path, ring))
    assert "drawing scene seed 2" in info and "your drawing" in info
    page_value = {"background": None, "layers": [], "composite": np.asarray(
        Image.open(sketch_file(tmp_path, ring)))}
    *_, again = scene_of("drawing", None, 5, "", 2, 10, 10, "closed_loop", "mnist",
                         sketch=page_value)
    assert "drawing scene seed 2" in again


@pytest.mark.parametrize("draw, named", [
    pytest.param(None, dict(field="drawing", accepted=["shape", "digit"]), id="none"),
    pytest.param(lambda c: None, dict(field="canvas", values=["blank"]), id="blank"),
    pytest.param(lambda c: c.__setitem__((slice(60, 62), slice(80, 82)), 0),
                 dict(field="drawing", values=["dot", "2x2", "160x120"], numbers=[6]),
                 id="dot"),
])
def test_bad_sketches_get_one_line(tmp_path, draw, named):
    sketch = None if draw is None else sketch_file(tmp_path, draw)
    with pytest.raises(demo.RequestError) as error:
        scene_of("drawing", None, 3.6, "", 0, 10, 10, "closed_loop", "mnist", sketch=sketch)
    assert says(str(error.value), **named)
    assert "\n" not in str(error.value)


@pytest.mark.server
def test_api_scene_with_a_sketch(client, tmp_path):
    from gradio_client import handle_file

    path = sketch_file(tmp_path, lambda c: c.__setitem__((slice(20, 100), slice(70, 82)), 0))
    gif, *_, info = client.predict(world="drawing", objects=1, speed=3.6, digits="", seed=0,
                                   context=5, horizon=5, mode="closed_loop", model="mnist",
                                   sketch=handle_file(path), api_name="/scene")
    assert gif_frames(gif) == 10 and "your drawing" in info

    # A canvas exported with a transparent background: black strokes, alpha 0 elsewhere.
    rgba = np.zeros((120, 160, 4), np.uint8)
    rgba[20:100, 70:82, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "transparent.png")
    gif, *_, info = client.predict(world="drawing", objects=1, speed=3.6, digits="", seed=0,
                                   context=5, horizon=5, mode="closed_loop", model="mnist",
                                   sketch=handle_file(str(tmp_path / "transparent.png")),
                                   api_name="/scene")
    assert gif_frames(gif) == 10 and "your drawing" in info


# --------------------------------------------------------------------------------------------
# What it remembers
# --------------------------------------------------------------------------------------------

def test_memory_view_on_the_page_reuses_the_forecasts_rollout(monkeypatch, laid_out):
    calls = []
    predictor = tiny_predictor((64, 64))
    for name in ("rollout", "memory"):
        original = getattr(predictor, name)
        monkeypatch.setattr(predictor, name, lambda *a, _f=original, _n=name, **k:
                            calls.append(_n) or _f(*a, **k))
    results = laid_out.clip.results
    result = handlers.predict_clip(results, demo.SOURCE_MNIST, 2, None, 6, 4, "closed_loop",
                                   "mnist", None, True)
    assert calls == ["memory"]                         # one rollout: the forecast's
    assert result[results.memory_box]["visible"] is True       # the memory box is shown
    with Image.open(result[results.memory]) as im:
        assert im.size[0] > 9 * 60                     # a column for each of the 9 inputs
    alone, _ = memory_of(demo.SOURCE_MNIST, 2, None, 6, 4, "mnist")
    assert np.array_equal(np.asarray(Image.open(alone)),
                          np.asarray(Image.open(result[results.memory])))
    calls.clear()
    result = handlers.predict_clip(results, demo.SOURCE_MNIST, 2, None, 6, 4, "teacher_forced",
                                   "mnist", None, True)
    assert calls == ["rollout", "memory"]              # memory is closed loop
    assert result[results.memory_box]["visible"] is True
    without = handlers.predict_clip(results, demo.SOURCE_MNIST, 2, None, 6, 4, "closed_loop",
                                    "mnist", None, False)
    assert without[results.memory_box]["visible"] is False and without[results.memory] is None


@pytest.mark.server
def test_memory_through_the_api(client):
    png, info = client.predict(source="mnist", seed=2, upload=None, context=6, horizon=4,
                               model="mnist", api_name="/memory")
    assert Image.open(png).format == "PNG" and "1 ConvLSTM layer," in info


@pytest.mark.server
def test_the_api_page_examples_are_values_the_api_accepts(client):
    info = client.view_api(print_info=False, return_format="dict")
    examples = {p["parameter_name"]: p["example_input"]
                for p in info["named_endpoints"]["/predict"]["parameters"]}
    assert examples["source"] == demo.SOURCE_MNIST and examples["mode"] == "closed_loop"
    assert examples["model"] == "mnist" and examples["upload"] is None   # not a sample PDF


# --------------------------------------------------------------------------------------------
# Every bound is the app's: named, explained, the previous result kept
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [-1, demo.MAX_SEED + 1, 2.5])
def test_seeds_out_of_range_are_refused_by_name(seed):
    with pytest.raises(demo.RequestError) as error:
        prediction_of(demo.SOURCE_MNIST, seed, None, 3, 2, "closed_loop", "mnist")
    assert says(str(error.value), field="Seed", numbers=[0, demo.MAX_SEED, seed])
    assert demo.normalise_seed(demo.MAX_SEED) == demo.MAX_SEED


def test_the_page_keeps_its_result_for_a_negative_seed_and_a_fast_scene(monkeypatch,
                                                                        laid_out):
    warnings = []
    monkeypatch.setattr(handlers.gr, "Warning", warnings.append)
    clip, scene = laid_out.clip.results, laid_out.scene.results
    refused = handlers.predict_clip(clip, demo.SOURCE_MNIST, -1, None, 5, 3, "closed_loop",
                                    "mnist", None, False)
    fast = handlers.predict_scene(scene, "mnist", 2, 100, "", 0, None, 5, 3, "closed_loop",
                                  "mnist", None)
    assert list(refused) == [clip.info] and list(fast) == [scene.info]     # pictures stay
    assert says(refused[clip.info], field="Seed", numbers=[0, demo.MAX_SEED, -1])
    assert says(fast[scene.info], field="Speed", numbers=[0, 36, 100], values=["px per frame"])
    assert len(warnings) == 2


def test_no_page_input_has_bounds_gradio_would_enforce():
    """Gradio refuses a Number or Slider value out of its bounds before the app sees it (and
    blanks every output): the page's numbers are unbounded and its sliders' ranges are the
    page's own; the API reads no widget at all (`gr.api`: each value reaches the demo), and
    there are no hidden widgets standing in for the API."""
    page = ui.build_demo()
    try:
        endpoints = [d for d in page.fns.values() if d.api_visibility == "public"]
        assert sorted(d.api_name for d in endpoints) == ["compare", "memory", "predict",
                                                         "scene"]
        for fn in endpoints:
            assert all(type(block).__name__ == "Api" for block in fn.inputs), fn.api_name
        numbers = [b for b in page.blocks.values() if isinstance(b, gr.Number)]
        assert numbers and all(b.minimum is None and b.maximum is None for b in numbers)
        # no hidden stand-ins for the API: each hidden input is one that a tab or the menu shows
        hidden = {b.elem_id or b.label for b in page.blocks.values()
                  if isinstance(b, gr.Textbox | gr.Number | gr.File | gr.Button | gr.Dropdown)
                  and b.visible is False}
        assert hidden == {"Hugging Face Hub repo id", "fp-upload", "fp-compare-upload",
                          "fp-scene-predict", "fp-compare-predict"}
    finally:
        page.close()


def test_a_two_frame_upload_keeps_a_valid_context_slider(tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(controls.gr, "Info", said.append)
    two = write_gif_file(tmp_path / "two.gif", 2)
    update, cut = controls.on_upload(demo.SOURCE_UPLOAD, str(two), 10)
    assert update["maximum"] > 1 and update["value"] == 1         # min 1 < max: a valid slider
    assert said and says(said[0], field="Context frames", numbers=[2, 1]) and cut == [10, 1]
    # back to Moving MNIST: the person's 10 again, not the 2-frame clip's 1
    *_, slider, cut = controls.on_source(demo.SOURCE_MNIST, None, 1, "mnist", [10, 1])
    assert slider["maximum"] == demo.CLIP_FRAMES - 1 and slider["value"] == 10 and cut is None
    # the slider moved since the cut (by the person, or an example's 7): their value stays
    *_, slider, cut = controls.on_source(demo.SOURCE_SQUARES, None, 7, "squares", [10, 1])
    assert "value" not in slider and cut is None
    *_, info = prediction_of(demo.SOURCE_UPLOAD, 0, str(two), 2, 3, "closed_loop", "mnist")
    assert "1 context frame + 3 predicted frames" in info and "context cut to 1 frame (" in info


def test_an_upload_is_decoded_once_per_request(clips, monkeypatch, laid_out):
    reads = []
    original = io.read_clip_with_notes
    monkeypatch.setattr(io, "read_clip_with_notes", lambda *a, **k: reads.append(a) or
                        original(*a, **k))
    fresh = clips["gif"].with_name("fresh.gif")
    fresh.write_bytes(clips["gif"].read_bytes())
    for model in ("mnist", "natural"):                  # a grey model and a colour one
        controls.on_upload(demo.SOURCE_UPLOAD, str(fresh), 10, model)  # counts its frames
        handlers.predict_clip(laid_out.clip.results, demo.SOURCE_UPLOAD, 0, str(fresh), 5, 3,
                              "closed_loop", model, None, True)
    assert len(reads) == 2


# --------------------------------------------------------------------------------------------
# Squares scenes tell the truth; the world picks its model and speed; words agree in number
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("squares", [None, 3, 5, 7])
def test_squares_scenes_as_trained_are_in_distribution(squares):
    clip, notes = scenes.scene("squares", squares, 1, seed=3)
    assert notes == [] and clip.shape == (20, 40, 40, 1)
    *_, info = scene_of("squares", squares, 1, "", 3, 5, 3, "closed_loop", "squares")
    assert "out of distribution" not in info and "Note:" not in info


def test_squares_scenes_take_1_to_7_squares_and_mnist_1_to_4_digits():
    assert scenes.scene("squares", 1, 1)[1] == ["1 square: the model learnt 3 to 7"]
    assert scenes.scene("mnist", 1, 3.6)[1] == ["1 digit: the model learnt 2"]
    with pytest.raises(ValueError) as error:
        scenes.scene("squares", 8, 1)
    assert says(str(error.value), field="objects", values=["squares"], numbers=[1, 7, 8])
    with pytest.raises(ValueError) as error:
        scenes.scene("mnist", 5, 3.6)
    assert says(str(error.value), field="objects", values=["mnist"], numbers=[1, 4, 5])


def test_picking_a_world_sets_its_model_speed_and_controls():
    objects, speed, model, sketch, digits = controls.on_world("squares")
    assert objects["maximum"] == 7 and speed["value"] == 1 and speed["step"] == 1
    assert model["value"] == "squares" and sketch["visible"] is False
    assert digits["visible"] is False                    # digits are MNIST's
    objects, speed, model, sketch, digits = controls.on_world("mnist")
    assert objects["maximum"] == 4 and speed["value"] == 3.6 and model["value"] == "mnist"
    objects, speed, model, _, digits = controls.on_world("natural")
    assert (objects["minimum"], objects["maximum"], objects["value"]) == (0, 3, 1)
    assert model["value"] == "natural" and digits["visible"] is False
    objects, *_, sketch, digits = controls.on_world("drawing")
    assert sketch["visible"] is True and digits["visible"] is False
    assert objects["visible"] is False                   # a drawing is one object


def test_one_of_each_is_said_in_the_singular():
    *_, info = prediction_of(demo.SOURCE_MNIST, 0, None, 1, 1, "closed_loop", "mnist")
    assert "1 context frame + 1 predicted frame at" in info
    assert "over 1 scored frame:" in info


@pytest.mark.server
def test_api_takes_the_context_the_clip_allows_and_names_refused_fields(client, tmp_path):
    from gradio_client import handle_file

    long = write_gif_file(tmp_path / "long.gif", 60)
    gif, *_, info = client.predict(source="upload", seed=0, upload=handle_file(str(long)),
                                   context=25, horizon=5, mode="closed_loop", model="mnist",
                                   api_name="/predict")
    assert gif_frames(gif) == 30 and "25 context frames + 5 predicted" in info
    with pytest.raises(Exception) as error:
        client.predict(source="mnist", seed=-1, upload=None, context=4, horizon=3,
                       mode="closed_loop", model="mnist", api_name="/predict")
    assert says(str(error.value), field="Seed", numbers=[0, 2147483647, -1])
    with pytest.raises(Exception) as error:
        client.predict(world="mnist", objects=2, speed=100, digits="", seed=0, context=5,
                       horizon=3, mode="closed_loop", model="mnist", api_name="/scene")
    assert says(str(error.value), field="Speed", numbers=[0, 36, 100])
    *_, info = client.predict(world="squares", objects=6, speed=1, digits="", seed=0,
                              context=5, horizon=3, mode="closed_loop", model="squares",
                              api_name="/scene")
    assert "squares scene seed 0" in info and "out of distribution" not in info


# --------------------------------------------------------------------------------------------
# When the model and the clip disagree, the info says so
# --------------------------------------------------------------------------------------------

def test_a_model_of_the_other_dataset_is_named():
    *_, info = prediction_of(demo.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", "squares")
    assert says(note_on(info, "learnt"), values=["moving squares", "Moving MNIST"],
                accepted=["mnist model"])                # what it learnt, what this is, the fix
    *_, info = scene_of("squares", 4, 1, "", 0, 5, 3, "closed_loop", "mnist")
    assert says(note_on(info, "learnt"), values=["Moving MNIST", "moving squares"],
                accepted=["squares model"])
    *_, info = prediction_of(demo.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", "mnist")
    assert "Note:" not in info                           # nothing to say


def test_a_prediction_worse_than_copying_the_last_frame_is_said(monkeypatch):
    trained = catalog.LoadedModel(tiny_predictor((64, 64)), "looks-trained", untrained=False)
    monkeypatch.setattr(catalog, "get", lambda choice: trained)
    *_, info = prediction_of(demo.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", "mnist")
    model, copy = re.search(r"model (\d+\.\d) vs copy last frame (\d+\.\d)", info).groups()
    assert float(model) > float(copy)
    assert says(note_on(info, "worse"), values=["copy last frame"], numbers=[model, copy])
    monkeypatch.setattr(trained, "untrained", True)      # an untrained stand-in says so itself
    *_, info = prediction_of(demo.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", "mnist")
    assert "Note:" not in info


def test_an_upload_of_another_frame_size_says_how_it_was_fitted(tmp_path):
    path = tmp_path / "wide.npy"
    np.save(path, np.random.default_rng(2).random((8, 32, 48)).astype(np.float32))
    *_, info = prediction_of(demo.SOURCE_UPLOAD, 0, str(path), 4, 2, "closed_loop", "mnist")
    assert ("its frames are 48x32 and the model's 64x64: enlarged 1.3x with black bars to keep "
            "its shape") in info
    big = tmp_path / "big.npy"
    np.save(big, np.random.default_rng(3).random((4, 256, 256)).astype(np.float32))
    *_, info = prediction_of(demo.SOURCE_UPLOAD, 0, str(big), 2, 2, "closed_loop", "mnist")
    assert "shrunk 4.0x; small details are lost" in info and "black bars" not in info


# --------------------------------------------------------------------------------------------
# The Compare tab is whole: its own clip (uploads too), pictures and colours
# --------------------------------------------------------------------------------------------

def test_the_compare_tab_has_its_own_pictures_and_keeps_the_clips(clips, laid_out):
    results = laid_out.compare.results
    shown = handlers.predict_compare(results, demo.SOURCE_UPLOAD, 0, str(clips["gif"]),
                                     ["mnist", "mnist-keras3"], 4, 3, "closed_loop")
    assert set(shown) == set(results.outputs())          # its own outputs: the clip's stay
    assert not set(results.outputs()) & set(laid_out.clip.results.outputs())
    assert shown[results.animation]["visible"] is True
    assert gif_frames(shown[results.animation]["value"]) == 4 + 3
    assert Image.open(shown[results.plot]["value"]).format == "PNG"
    assert f"upload {clips['gif'].name}" in shown[results.info]   # the tab's own upload


def test_the_compare_tab_hides_the_clip_tabs_model_menu_and_examples(laid_out):
    page = laid_out
    names = {page.settings.model: "model_choice", page.settings.hub_repo: "hub_repo",
             page.clip.examples_box: "clip_examples",
             **{page.tab(t).results.column: f"{t}_results" for t in ("clip", "scene", "compare")},
             **{page.tab(t).predict: f"{t}_button" for t in ("clip", "scene", "compare")}}

    def shown(tab, choice):
        updates = controls.show_tab(page, tab, choice)
        assert set(updates) == set(controls.tab_outputs(page)) == set(names)
        return {names[k]: u["visible"] for k, u in updates.items()}

    compare = shown("compare", "mnist")
    assert not compare["model_choice"] and not compare["hub_repo"]
    assert compare["compare_results"] and compare["compare_button"]
    assert not compare["clip_results"] and not compare["scene_results"]
    assert not compare["clip_examples"]                 # the clip tab's, not the comparison's
    scene = shown("scene", demo.CUSTOM_MODEL)
    assert scene["model_choice"] and scene["hub_repo"] and scene["scene_results"]
    assert not scene["clip_results"] and scene["scene_button"] and not scene["clip_button"]
    assert not scene["clip_examples"] and shown("clip", "mnist")["clip_examples"]


def test_compared_models_have_one_colour_each_and_the_baseline_is_grey():
    from frameprophet import plots, render

    curves = {name: {"mse": np.arange(3.0), "ssim": np.ones(3)}
              for name in ("mnist", "mnist-keras3", "copy last frame")}
    fig = plots.quality_plot(curves)
    colours = {line.get_label(): line.get_color() for line in fig.axes[0].get_lines()}
    assert colours["mnist"] == render.hex_colour(render.PREDICTED_COLOUR)      # ours: orange
    assert colours["copy last frame"] == render.hex_colour(render.BASELINE_COLOUR)
    assert len(set(colours.values())) == 3


# --------------------------------------------------------------------------------------------
# Your own models on the page: `app.py --model PATH_OR_HUB_ID`, grey and colour
# --------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, Path]:
    """Two tiny untrained models saved as a person's own files: grey and colour, 32x32 (the
    colour one biased to predict red, so its colour does not hang on the random start)."""
    root = tmp_path_factory.mktemp("own_models")
    files = {"grey": root / "my-grey.keras", "colour": root / "my-colour.keras"}
    for kind, path in files.items():
        model = models.build("prophet", (32, 32), hidden=4, depth=1,
                             channels=3 if kind == "colour" else 1)
        if kind == "colour":       # untrained, yet surely colour: red up, green down
            bias = np.zeros(model.decoder[-1].bias.shape, np.float32)
            bias[0::3], bias[1::3] = 3.0, -3.0
            model.decoder[-1].bias.assign(bias)
        saving.save(model, path)
    (root / "broken.keras").write_text("not a model")
    files["broken"] = root / "broken.keras"
    return files


@pytest.fixture
def real_loader(monkeypatch):
    """The catalog's own loader (not the module's tiny fakes); models added are withdrawn after."""
    monkeypatch.setattr(catalog, "load", _ORIGINAL_LOAD_MODEL)
    monkeypatch.setattr(catalog, "_ADDED", {})
    catalog.clear()
    yield
    catalog.clear()


def load_app():
    """app.py as a module (it builds the page on import, as Spaces does)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fp_app", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def panel(gif_path, index: int, size=(32, 32)) -> np.ndarray:
    """The inside of panel `index` (0 truth, 1 prediction, 2 error) of an animation's last frame."""
    from frameprophet import render

    lay = render._Layout(size, render.default_scale(size))
    with Image.open(gif_path) as im:
        im.seek(im.n_frames - 1)
        rgb = np.asarray(im.convert("RGB")).astype(int)
    top, left = lay.top + lay.border, lay.lefts[index] + lay.border
    return rgb[top:top + lay.panel_h, left:left + lay.panel_w]


def test_app_model_flag_adds_files_to_the_menus_and_typed_paths_stay_refused(model_files,
                                                                             real_loader):
    app = load_app()
    args = app.configure(["--model", str(model_files["grey"]),
                          "--model", str(model_files["colour"])])
    assert args.model == [str(model_files["grey"]), str(model_files["colour"])]
    values = [value for _, value in demo.model_choices()]
    assert {"my-grey", "my-colour"} <= set(values) and values[-1] == demo.CUSTOM_MODEL
    assert catalog.offered()[-2:] == ["my-grey", "my-colour"]      # the Compare tab's boxes too
    assert catalog.get("my-colour").predictor.channels == 3
    with pytest.raises(saving.ModelFileError) as error:
        catalog.resolve(str(model_files["grey"]))                   # a visitor's typed path
    assert says(str(error.value), field="model", values=[str(model_files["grey"])],
                accepted=["my-grey", "my-colour"])
    *_, info = prediction_of(demo.SOURCE_MNIST, 0, None, 3, 2, "closed_loop", "my-grey")
    assert info.startswith("Model: my-grey")
    assert "--model PATH_OR_HUB_ID" in app.parser().format_help()


@pytest.mark.parametrize("spec, why", [          # what is wrong with the file or the name
    ("missing.keras", "no such file"),
    ("broken", "not a Keras model file"),
    ("a/b/c", "not a Hub repo id"),
    ("someone/not-cached", "Hugging Face Hub"),
])
def test_a_bad_model_flag_is_one_sentence(model_files, real_loader, spec, why):
    spec = str(model_files[spec]) if spec == "broken" else spec
    with pytest.raises(saving.ModelFileError) as error:
        catalog.add(spec)
    message = str(error.value)
    assert says(message, field="--model", values=[spec, why], accepted=[".keras", "owner/name"])
    assert message.count(spec) == 1 and message.endswith(".") and "\n" not in message
    assert spec.split("/")[-1].removesuffix(".keras") not in catalog.offered()


@pytest.mark.slow
def test_app_stops_at_start_up_on_a_bad_model_flag(tmp_path):
    import subprocess
    import sys

    missing = tmp_path / "nothing.keras"
    run = subprocess.run([sys.executable, str(ROOT / "app.py"), "--model", str(missing)],
                         capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert run.returncode == 2
    said = run.stderr.strip().splitlines()[-1]
    assert said.startswith("app.py: error: ")             # argparse's one line
    assert says(said, field="--model", values=[str(missing), "no such file"],
                accepted=[".keras", "owner/name"])
    assert "Traceback" not in run.stderr


def test_a_colour_model_shows_a_colour_upload_in_colour(model_files, real_loader, tmp_path):
    catalog.add(str(model_files["colour"]))
    rng = np.random.default_rng(3)
    np.save(tmp_path / "colour.npy", rng.random((8, 32, 32, 3)).astype(np.float32))
    gif, strip, plot, info = prediction_of("upload", 0, str(tmp_path / "colour.npy"),
                                           4, 3, "closed_loop", "my-colour")
    assert "at 32x32 in colour" in info and "grey" not in info
    for index in (0, 1):                                    # truth and prediction in colour
        rgb = panel(gif, index)
        assert np.abs(rgb[..., 0] - rgb[..., 1]).max() > 40


def test_a_grey_model_makes_a_colour_upload_grey_and_says_so(model_files, real_loader,
                                                             tmp_path):
    catalog.add(str(model_files["grey"]))
    rng = np.random.default_rng(4)
    np.save(tmp_path / "colour.npy", rng.random((8, 32, 32, 3)).astype(np.float32))
    gif, *_, info = prediction_of("upload", 0, str(tmp_path / "colour.npy"), 4, 3,
                                  "closed_loop", "my-grey")
    assert says(note_on(info, "colour"), values=["grey"]) and "in colour" not in info
    truth = panel(gif, 0)                   # grey, up to the GIF palette's rounding
    assert np.abs(np.diff(truth, axis=-1)).max() <= 12


def test_a_grey_world_given_to_a_colour_model_is_repeated_and_said(model_files, real_loader):
    catalog.add(str(model_files["colour"]))
    *_, info = prediction_of(demo.SOURCE_SQUARES, 1, None, 4, 2, "closed_loop",
                             "my-colour")
    assert demo.GREY_FOR_COLOUR in info
    *_, info = scene_of("squares", 3, None, "", 0, 4, 2, "closed_loop", "my-colour")
    assert demo.GREY_FOR_COLOUR in info
    catalog.add(str(model_files["grey"]))
    with pytest.raises(demo.RequestError) as error:
        comparison_of(demo.SOURCE_SQUARES, 1, None, 4, 2, "closed_loop",
                      ["my-grey", "my-colour"])
    assert says(str(error.value), values=["my-grey", "grey", "my-colour", "colour"])


def test_one_clip_from_a_spec_for_the_page_and_the_cli():
    page, _ = demo.make_clip(demo.SOURCE_SQUARES, 5, None, (40, 40), channels=3)
    cli, notes = demo.clip_from_spec("squares:5", (40, 40), demo.CLIP_FRAMES, 3)   # the CLI's
    np.testing.assert_array_equal(page, cli)
    assert page.shape == (demo.CLIP_FRAMES, 40, 40, 3) and notes == [demo.GREY_FOR_COLOUR]
    grey, notes = demo.clip_from_spec("mnist:2", (64, 64), frames=6)
    assert grey.shape == (6, 64, 64, 1) and notes == []
