"""The page's defaults and how its controls answer each other (`frameprophet.ui.controls`): a
person's own clip gets the model of pictures in motion unless they picked a model (their pick
stays); the pictures-in-motion source and scene give colour clips; the context slider follows
the tab's clip; the Compare tab's ticks stay of one frame size."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from conftest import fake_load_model, prediction_of

from frameprophet import catalog, data, demo, io, scenes
from frameprophet.ui import controls, handlers, layout


@pytest.fixture(autouse=True)
def fake_models(monkeypatch):
    monkeypatch.setattr(catalog, "load", fake_load_model)
    catalog.clear()
    yield
    catalog.clear()


def test_an_upload_or_pictures_in_motion_pick_natural_unless_the_person_picked():
    assert catalog.MODELS["natural"].protocol.frame_size == (64, 64)
    assert "natural" in catalog.offered()
    for source in (demo.SOURCE_UPLOAD, demo.SOURCE_NATURAL, "upload", "natural"):
        assert controls.suggest_model(source, False)["value"] == "natural"
    assert controls.suggest_model(demo.SOURCE_SQUARES, False)["value"] == "squares"
    assert controls.suggest_model(demo.SOURCE_MNIST, False)["value"] == "mnist"
    for source in demo.SOURCES:                     # the person's own pick is never changed
        assert controls.suggest_model(source, True) == gr.skip()
    assert controls.on_world("natural", False)[2]["value"] == "natural"
    assert controls.on_world("squares", True)[2] == gr.skip()


def test_pictures_in_motion_are_colour_clips_on_the_clip_tab_and_in_the_scene(laid_out):
    frames, notes = demo.make_clip(demo.SOURCE_NATURAL, 2, None, (64, 64), 3)
    assert frames.shape == (demo.CLIP_FRAMES, 64, 64, 3) and notes == []
    assert np.array_equal(frames, data.example_clip("natural", 2))
    assert frames.std(axis=-1).mean() > 0.01                 # colour, not grey in 3 channels
    clip = demo.scene_clip(demo.Scene.of("natural", 2, 3.0, "", 5))
    assert clip.frames.shape == (demo.CLIP_FRAMES, 64, 64, 3) and clip.dataset == "natural"
    assert clip.notes == []                                  # 2 cut-outs at 3 px: as trained
    fast, said = scenes.scene("natural", 0, 9.0, seed=1)
    assert fast.shape[-1] == 3 and said == ["speed 9 px per frame: the model learnt up to 6"]
    with pytest.raises(demo.RequestError, match="Objects must be a whole number from 0 to 3"):
        demo.Scene.of("natural", 4, 2.0, "", 0)
    gif, strip, plot, info = prediction_of(demo.SOURCE_NATURAL, 3, None, 5, 3, "closed_loop",
                                           "natural")
    assert "in colour" in info and "Pictures in motion seed 3" in info
    assert "three equal colour channels" not in info          # colour kept, not made of grey
    results = laid_out.scene.results                      # the scene tab's own results
    shown = handlers.predict_scene(results, "natural", 1, 2.0, "", 0, None, 5, 3, "closed_loop",
                                   "natural", None)
    assert "natural scene seed 0" in shown[results.info] and "in colour" in shown[results.info]
    pictures = [shown[p] for p in (results.animation, results.strip, results.plot)]
    assert all(p["visible"] and p["value"] for p in pictures)   # shown from the first on
    assert demo.clip_from_spec("natural:3", (64, 64), channels=3)[0].shape[-1] == 3


def test_the_context_slider_follows_the_tab_shown(tmp_path):
    """A 60-frame upload on Compare, the slider at 45, then the clip tab's 20-frame clip: the
    slider is cut to 19, and back on Compare the person's 45 returns."""
    long = io.save_clip(data.example_clip("mnist", 1, frames=60), tmp_path / "long.npy")
    slider, cut = controls.slider_for_tab("clip", demo.SOURCE_MNIST, None, 45, "mnist", [],
                                             None)
    assert slider["maximum"] == 19 and slider["value"] == 19 and cut == [45, 19]
    slider, cut = controls.slider_for_tab("compare", demo.SOURCE_UPLOAD, str(long), 19,
                                             None, ["mnist"], cut)
    assert slider["maximum"] == 59 and slider["value"] == 45 and cut is None
    slider, cut = controls.slider_for_tab("scene", None, None, 45, "mnist", [], None)
    assert slider["maximum"] == 19 and slider["value"] == 19


def test_ticking_a_model_of_another_frame_size_unticks_the_others_and_says_so(monkeypatch):
    said = []
    monkeypatch.setattr(gr, "Info", said.append)
    assert demo.model_frames("squares") == (40, 40, 1)
    assert demo.model_frames("natural") == (64, 64, 3)
    assert demo.model_frames("owner/not-here") is None
    labels = dict((value, label) for label, value in layout.compare_choices(
        ["mnist", "squares", "natural"]))
    assert labels == {"mnist": "mnist · 64x64", "squares": "squares · 40x40",
                      "natural": "natural · 64x64 colour"}

    def tick(models, value, selected=True):
        return controls.compare_ticks(models, gr.SelectData(
            None, {"index": 0, "value": value, "selected": selected}))

    assert tick(["mnist", "mnist-keras3"], "squares") == ["squares"]
    assert said == ["Unticked mnist, mnist-keras3: squares predicts 40x40 grey frames, and a "
                    "comparison needs models of one frame size."]
    assert tick(["mnist", "natural"], "natural") == ["natural"]          # colour apart too
    assert tick(["mnist", "mnist-keras3"], "mnist-keras3") == gr.skip()  # of one size: kept
    assert tick(["mnist", "squares"], "squares", selected=False) == gr.skip()   # an untick

