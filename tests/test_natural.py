"""The natural world: pictures in motion, generated from still pictures only."""

import numpy as np
import pytest

from frameprophet import data, natural


def test_the_same_seed_gives_the_same_clips_and_another_seed_others():
    a = natural.natural_clips(3, frames=6, seed=7)
    b = natural.natural_clips(3, frames=6, seed=7)
    c = natural.natural_clips(3, frames=6, seed=8)
    assert a.shape == (3, 6, 64, 64, 3) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.01


@pytest.mark.parametrize("step", [(0, 2), (3, 0), (-1, -2)])
def test_a_pan_of_dy_dx_per_frame_moves_the_content_by_that(step):
    dy, dx = step
    clip = natural.pan("chelsea", frames=4, step=step)
    for t in range(3):
        # what was at (y + dy, x + dx) is now at (y, x)
        later = clip[t + 1][max(0, -dy):64 - max(0, dy), max(0, -dx):64 - max(0, dx)]
        earlier = clip[t][max(0, dy):64 + min(0, dy), max(0, dx):64 + min(0, dx)]
        np.testing.assert_allclose(later, earlier, atol=1e-5)
    assert np.abs(clip[1] - clip[0]).mean() > 0.01          # it did move


def test_a_still_scene_is_still():
    clip = natural.natural_clips(2, frames=8, seed=3, speed=0, cutouts=0, effects=False)
    np.testing.assert_allclose(clip, np.broadcast_to(clip[:, :1], clip.shape), atol=1e-6)
    assert clip.std() > 0.05                                  # a picture, not a blank


def test_cutouts_move_in_front_of_a_still_camera():
    clip = natural.natural_clips(4, frames=8, seed=3, speed=0, cutouts=2, effects=False)
    assert np.abs(np.diff(clip, axis=1)).max() > 0.1


def test_a_cut_changes_the_scene_once_in_the_first_half_and_never_in_the_second():
    frames, still = 20, dict(speed=0, cutouts=0, effects=False)     # two still shots
    cut = natural.natural_clips(8, frames=frames, seed=5, cuts=1.0, **still)
    changed = np.abs(np.diff(cut, axis=1)).mean((2, 3, 4)) > 0.01    # frame t -> t + 1
    assert (changed.sum(1) == 1).all()                               # one cut in each clip
    assert (changed.argmax(1) + 1 < frames // 2).all()               # where the model reads
    assert len(set(changed.argmax(1))) > 1                           # not always at one frame
    assert not np.diff(natural.natural_clips(4, frames, seed=5, **still), axis=1).any()
    # By default only training clips have cuts: held-out clips stay as they were scored.
    test = natural.natural_clips(20, frames, seed=5, split="test")
    np.testing.assert_array_equal(test, natural.natural_clips(20, frames, seed=5, split="test",
                                                              cuts=0.0))
    train = natural.natural_clips(20, frames, seed=5)
    assert (train != natural.natural_clips(20, frames, seed=5, cuts=0.0)).any()


def test_held_out_pictures_never_appear_in_training_clips(monkeypatch):
    assert set(natural.TEST_PICTURES) <= set(natural.pictures("all"))
    assert not set(natural.pictures("train")) & set(natural.TEST_PICTURES)
    used = []
    real = natural.pyramid

    def recording(name):
        used.append(name)
        return real(name)

    monkeypatch.setattr(natural, "pyramid", recording)
    natural.natural_clips(40, frames=4, seed=0, split="train", cuts=0.5)   # both shots too
    assert used and not set(used) & set(natural.TEST_PICTURES)
    used.clear()
    natural.natural_clips(10, frames=4, seed=0, split="test", cuts=0.5)
    assert set(used) <= set(natural.TEST_PICTURES)


def test_the_protocol_serves_colour_clips_for_training_and_testing():
    context, truth = data.clips("natural", 2)
    assert context.shape == (2, 10, 64, 64, 3) and truth.shape == (2, 10, 64, 64, 3)
    inputs, targets = data.make_pairs("natural", 2, 20, seed=1)
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    assert data.example_clip("natural", seed=1).shape == (20, 64, 64, 3)


@pytest.mark.parametrize("bad", [{"speed": -1}, {"speed": float("inf")}, {"cutouts": 9}])
def test_bad_settings_are_refused_with_the_accepted_range(bad):
    with pytest.raises(ValueError, match="must be 0 to"):
        natural.natural_clips(1, frames=2, seed=0, **bad)


def test_a_colour_blend_model_goes_through_the_hub_as_mnist_does(tmp_path, monkeypatch):
    """A `natural`-shaped model (colour, blend) saved, put in a Hub cache and loaded by hf://
    predicts the same frames; a blend model starts near copying the last frame."""
    from huggingface_hub import constants

    import frameprophet
    from frameprophet import models, saving
    from frameprophet.predict import Predictor
    from tests.test_hub import cache_repo

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    model = models.build("prophet", (16, 16), hidden=8, depth=1, channels=3, blend=True)
    path = tmp_path / "natural.keras"
    saving.save(model, path, dataset="natural", context=10, horizon=10)
    cache_repo(cache, "owner/natural", {"natural.keras": path,
                                        "natural.json": saving.sidecar_path(path)})
    loaded = frameprophet.load_predictor("hf://owner/natural")
    assert loaded.channels == 3 and loaded.model.blend
    clip = natural.natural_clips(1, frames=4, seed=0, size=16)[0]
    future = loaded.rollout(clip, 3)
    np.testing.assert_allclose(future, Predictor(model).rollout(clip, 3), atol=1e-6)
    # Untrained, the gate (sigmoid 2 = 0.88) keeps most of the last frame.
    assert np.abs(future[0] - clip[-1]).mean() < 0.15


def test_the_shipped_natural_model_rolls_out_colour_and_keeps_a_still_scene():
    from frameprophet import load_predictor

    predictor = load_predictor("natural")               # weights/natural.keras, sha256 checked
    assert predictor.channels == 3 and predictor.frame_size == (64, 64) and predictor.stepwise
    still = natural.natural_clips(2, frames=20, seed=11, speed=0, cutouts=0, effects=False,
                                  split="test")
    future = np.stack([predictor.rollout(clip[:10], 10) for clip in still])
    assert future.shape == (2, 10, 64, 64, 3)
    # A still scene stays as it is: on average within 2% of full range, every frame.
    assert np.abs(future - still[:, 10:]).mean((2, 3, 4)).max() < 0.02
