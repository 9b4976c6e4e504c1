"""The demo: `run_prediction` directly, then the `/predict` API through gradio_client.

Models are small untrained `prophet` models built on the fly (no weights files needed).
"""

from __future__ import annotations

import socket
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from frameprophet import io, models, saving, ui
from frameprophet.predict import Predictor

# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------

_PREDICTORS: dict[tuple[int, int], Predictor] = {}


def tiny_predictor(size: tuple[int, int]) -> Predictor:
    """A small untrained prophet model, one per frame size for the whole session."""
    if size not in _PREDICTORS:
        _PREDICTORS[size] = Predictor(models.build("prophet", size, hidden=8, depth=1))
    return _PREDICTORS[size]


def fake_load_model(resolved: str) -> ui.LoadedModel:
    size = ui.KNOWN_MODELS.get(resolved, (64, 64))
    return ui.LoadedModel(tiny_predictor(size), f"test-{resolved}", untrained=True)


@pytest.fixture(scope="module", autouse=True)
def fake_models():
    """Every model the UI asks for is a tiny untrained one."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ui, "load_model", fake_load_model)
        ui.clear_model_cache()
        yield
    ui.clear_model_cache()


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


def clip_error_message(path) -> str:
    """What frameprophet.io itself says about a bad file (without the file's folder)."""
    with pytest.raises(io.ClipError) as info:
        io.read_clip(path, frame_size=(64, 64), max_frames=ui.MAX_UPLOAD_FRAMES)
    return str(info.value).replace(str(Path(path).parent) + "/", "")


# --------------------------------------------------------------------------------------------
# run_prediction, called directly
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["closed_loop", "teacher_forced"])
@pytest.mark.parametrize("source", [ui.SOURCE_SQUARES, ui.SOURCE_MNIST])
def test_generated_sources_both_modes(source, mode):
    gif, strip, plot, info = ui.run_prediction(source, 3, None, 4, 3, mode,
                                               ui.DEFAULT_MODEL[source])
    assert gif_frames(gif) == 4 + 3
    size = ui.KNOWN_MODELS[ui.DEFAULT_MODEL[source]]
    with Image.open(gif) as im:                   # panels upscaled to ~240-256 px
        assert im.size[0] > 3 * 200
    assert Image.open(strip).format == "PNG" and Image.open(plot).format == "PNG"
    assert f"{size[0]}x{size[1]}" in info and "ms" in info
    assert "4 context + 3 predicted" in info
    assert ui.MODE_LABELS[mode] in info


def test_sources_and_modes_accept_short_names():
    *_, info = ui.run_prediction("squares", "5", None, 2.0, 2, "teacher-forced", "squares")
    assert "one-step teacher-forced" in info


@pytest.mark.parametrize("kind", ["gif", "npy"])
@pytest.mark.parametrize("mode", ["closed_loop", "teacher_forced"])
def test_uploads(clips, kind, mode):
    gif, strip, plot, info = ui.run_prediction(ui.SOURCE_UPLOAD, 0, str(clips[kind]), 5, 4,
                                               mode, "mnist")
    assert gif_frames(gif) == 5 + 4
    assert "64x64" in info                          # resized to the model's frame size


@pytest.mark.parametrize("bad", ["empty", "text", "one", "unknown"])
def test_bad_uploads_are_friendly_errors(clips, bad):
    expected = clip_error_message(clips[bad])
    with pytest.raises(gr.Error) as info:
        ui.run_prediction(ui.SOURCE_UPLOAD, 0, str(clips[bad]), 5, 4, "closed_loop", "mnist")
    assert info.value.message == expected
    assert len(expected) > 10 and "Traceback" not in expected


def test_upload_source_without_a_file():
    with pytest.raises(gr.Error, match="Upload"):
        ui.run_prediction(ui.SOURCE_UPLOAD, 0, None, 5, 4, "closed_loop", "mnist")


def test_horizon_past_the_end_of_the_clip():
    n = ui.CLIP_FRAMES
    gif, strip, plot, info = ui.run_prediction(ui.SOURCE_SQUARES, 1, None, n - 4, 9,
                                               "closed_loop", "squares")
    assert gif_frames(gif) == n + 5                 # all 9 predicted, 4 of them with truth
    assert "clip ended" in info and "4 scored frames" in info


def test_teacher_forced_stops_where_the_clip_ends():
    n = ui.CLIP_FRAMES
    gif, *_, info = ui.run_prediction(ui.SOURCE_MNIST, 1, None, n - 3, 8, "teacher_forced",
                                      "mnist")
    assert gif_frames(gif) == n + 1                 # 3 true inputs -> 4 predictions
    assert "teacher-forced needs true input frames" in info


def test_context_is_cut_to_the_clip():
    *_, info = ui.run_prediction(ui.SOURCE_SQUARES, 1, None, 99, 2, "closed_loop", "squares")
    assert f"{ui.CLIP_FRAMES - 1} context" in info and "context cut" in info


def test_model_and_clip_frame_sizes_differ():
    """A 64x64 model on a 40x40 squares clip: the clip is resized by the library."""
    gif, *_, info = ui.run_prediction(ui.SOURCE_SQUARES, 1, None, 3, 2, "closed_loop", "mnist")
    assert gif_frames(gif) == 5 and "64x64" in info


@pytest.mark.parametrize("args, message", [
    ((ui.SOURCE_MNIST, 0, None, 0, 3, "closed_loop", "mnist"), "at least one context"),
    ((ui.SOURCE_MNIST, 0, None, 5, 31, "closed_loop", "mnist"), "between 1 and 30"),
    ((ui.SOURCE_MNIST, 0, None, 5, 3, "sideways", "mnist"), "Unknown mode"),
    (("Webcam", 0, None, 5, 3, "closed_loop", "mnist"), "Unknown source"),
    ((ui.SOURCE_MNIST, "abc", None, 5, 3, "closed_loop", "mnist"), "whole number"),
    ((ui.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", "/etc/passwd"), "Unknown model"),
    ((ui.SOURCE_MNIST, 0, None, 5, 3, "closed_loop", ui.CUSTOM_MODEL), "repo id"),
])
def test_bad_arguments_are_friendly_errors(args, message):
    with pytest.raises(gr.Error, match=message):
        ui.run_prediction(*args)


def test_unexpected_failures_get_a_generic_message(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(ui.render, "side_by_side", boom)
    with pytest.raises(gr.Error) as info:
        ui.run_prediction(ui.SOURCE_SQUARES, 0, None, 3, 2, "closed_loop", "squares")
    assert info.value.message == ui.GENERIC_ERROR


def test_models_are_loaded_once():
    ui.clear_model_cache()
    first = ui.get_model("squares")
    assert ui.get_model("squares") is first
    assert ui.get_model("mnist") is not first


def test_model_names():
    assert ui.resolve_model("squares") == "squares"
    assert ui.resolve_model("owner/name") == "hf://owner/name"
    assert ui.resolve_model("hf://owner/name") == "hf://owner/name"
    assert ui.resolve_model("owner/repo/model.keras") == "hf://owner/repo/model.keras"
    for bad in ["", "../weights/x.keras", "a/b/c", "/abs/path.keras", "x y"]:
        with pytest.raises(gr.Error):
            ui.resolve_model(bad)
    assert ui.model_choices()[:2] == ["mnist", "squares"]
    assert ui.model_choices()[-1] == ui.CUSTOM_MODEL


def test_custom_model_uses_the_hub_repo_box():
    *_, info = ui.run_prediction(ui.SOURCE_MNIST, 0, None, 3, 2, "closed_loop", ui.CUSTOM_MODEL,
                                 hub_repo="someone/some-model")
    assert "test-hf://someone/some-model" in info


_ORIGINAL_LOAD_MODEL = ui.load_model        # captured at import, before the fixture patches it


def test_real_loader_falls_back_to_an_untrained_model(monkeypatch, tmp_path):
    monkeypatch.setattr(saving, "WEIGHTS_DIR", tmp_path)        # no weights files at all
    monkeypatch.setattr(ui, "untrained_predictor", lambda size: tiny_predictor(tuple(size)))
    loaded = _ORIGINAL_LOAD_MODEL("squares")
    assert loaded.untrained and "untrained (weights not found)" in loaded.label
    assert loaded.predictor.frame_size == (40, 40)
    assert ui.model_choices() == ["mnist", "squares", "keras-io/conv-lstm", ui.CUSTOM_MODEL]


def test_hub_errors_are_friendly_and_offline():
    """HF_HUB_OFFLINE=1 (conftest): a Hub id must fail as a gr.Error, never crash."""
    with pytest.raises(gr.Error, match="someone/does-not-exist"):
        _ORIGINAL_LOAD_MODEL("hf://someone/does-not-exist")


# --------------------------------------------------------------------------------------------
# The /predict API through gradio_client
# --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client():
    from gradio_client import Client

    demo = ui.build_demo()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                quiet=True)
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def test_api_signature(client):
    info = client.view_api(print_info=False, return_format="dict")
    endpoint = info["named_endpoints"]["/predict"]
    names = [p["parameter_name"] for p in endpoint["parameters"]]
    assert names == ["source", "seed", "upload", "context", "horizon", "mode", "model"]
    assert len(endpoint["returns"]) == 4
    assert set(info["named_endpoints"]) == {"/predict"}


@pytest.mark.parametrize("mode", ["closed_loop", "teacher_forced"])
@pytest.mark.parametrize("source", [ui.SOURCE_SQUARES, ui.SOURCE_MNIST])
def test_api_generated_sources(client, source, mode):
    gif, strip, plot, info = client.predict(
        source=source, seed=2, upload=None, context=3, horizon=3, mode=mode,
        model=ui.DEFAULT_MODEL[source], api_name="/predict")
    assert gif_frames(gif) == 6
    assert Image.open(strip).format == "PNG" and Image.open(plot).format == "PNG"
    assert "3 context + 3 predicted" in info


def test_api_upload(client, clips):
    from gradio_client import handle_file

    gif, *_, info = client.predict(
        source=ui.SOURCE_UPLOAD, seed=0, upload=handle_file(str(clips["gif"])), context=4,
        horizon=5, mode="closed_loop", model="mnist", api_name="/predict")
    assert gif_frames(gif) == 9 and "64x64" in info


def test_api_bad_upload_reports_the_clip_error(client, clips):
    from gradio_client import handle_file

    expected = clip_error_message(clips["text"])
    with pytest.raises(Exception) as info:
        client.predict(source=ui.SOURCE_UPLOAD, seed=0, upload=handle_file(str(clips["text"])),
                       context=4, horizon=5, mode="closed_loop", model="mnist",
                       api_name="/predict")
    assert expected in str(info.value)                   # the same words as io's ClipError
    assert "/tmp" not in str(info.value) and "gradio" not in str(info.value)


def test_the_original_keras_io_model_is_offered_and_fails_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "keras-io/conv-lstm" in ui.model_choices()
    assert ui.resolve_model("keras-io/conv-lstm") == "hf://keras-io/conv-lstm"
    with pytest.raises(gr.Error, match="(?i)hub"):
        _ORIGINAL_LOAD_MODEL("hf://keras-io/conv-lstm")
