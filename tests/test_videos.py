"""Colour end to end, and training, evaluating and predicting on a folder of one's own clips."""

import numpy as np
import pytest
from conftest import TINY_PROPHET, colour_clip, stop_after

from frameprophet import io, metrics, models, render, saving
from frameprophet.forecast import forecast
from frameprophet.predict import Predictor

# -- colour end to end ----------------------------------------------------------------------

def test_a_colour_model_saves_loads_safely_and_rolls_out_in_colour(tmp_path):
    model = models.build("prophet", (16, 16), channels=3, **TINY_PROPHET)
    assert model.get_config()["channels"] == 3
    clip = colour_clip()
    before = Predictor(model).rollout(clip[:6], 4)
    assert before.shape == (4, 16, 16, 3) and before.dtype == np.float32
    saving.save(model, tmp_path / "colour.keras", dataset="videos")
    loaded, _ = saving.load(tmp_path / "colour.keras")          # safe_mode=True inside
    assert loaded.channels == 3
    np.testing.assert_allclose(Predictor(loaded).rollout(clip[:6], 4), before, atol=1e-6)


def test_a_grey_model_refuses_a_colour_clip_in_a_sentence():
    predictor = Predictor(models.build("prophet", (16, 16), **TINY_PROPHET))
    assert predictor.channels == 1
    with pytest.raises(ValueError, match="grey clips"):
        predictor.rollout(colour_clip()[:6], 2)
    with pytest.raises(ValueError, match="channels must be 1"):
        models.build("prophet", (16, 16), channels=2, **TINY_PROPHET)


def test_the_colour_loss_is_the_mean_of_the_channels_ssim():
    rng = np.random.default_rng(1)
    truth = rng.random((2, 3, 16, 16, 3)).astype(np.float32)
    pred = np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1).astype(np.float32)
    import keras

    per_frame = keras.ops.convert_to_numpy(models.ssim_map(truth, pred)).mean(axis=(2, 3, 4))
    np.testing.assert_allclose(per_frame.mean(axis=0), metrics.ssim(pred, truth), atol=1e-5)
    grey = np.stack([metrics.ssim(pred[..., c:c + 1], truth[..., c:c + 1]) for c in range(3)])
    np.testing.assert_allclose(metrics.ssim(pred, truth), grey.mean(axis=0), atol=1e-12)


def test_read_clip_keeps_colour_when_asked_and_repeats_grey(tmp_path):
    clip = colour_clip()
    io.write_gif(clip, tmp_path / "colour.gif")
    grey = io.read_clip(tmp_path / "colour.gif")
    assert grey.shape == (12, 16, 16, 1)                        # the default is unchanged
    rgb = io.read_clip(tmp_path / "colour.gif", channels=3, frame_size=(32, 32))
    assert rgb.shape == (12, 32, 32, 3)
    assert rgb[..., 0].max() > 0.9 and rgb[..., 2].mean() > 0.3      # red square, blue ground
    io.write_gif(clip[..., :1], tmp_path / "grey.gif")
    repeated = io.read_clip(tmp_path / "grey.gif", channels=3)
    assert np.array_equal(repeated[..., 0], repeated[..., 1])
    assert np.array_equal(repeated[..., 1], repeated[..., 2])
    _, notes = io.read_clip_with_notes(tmp_path / "colour.gif", channels=3)
    assert not any("colour dropped" in n for n in notes)
    assert io.resize_clip(clip, (8, 8)).shape == (12, 8, 8, 3)


def test_a_colour_forecast_is_scored_and_drawn_in_colour(tmp_path):
    predictor = Predictor(models.build("prophet", (16, 16), channels=3, **TINY_PROPHET))
    result = forecast(predictor, colour_clip(), 6, 6)
    assert result.prediction.shape == (6, 16, 16, 3)
    assert set(result.curves) == {"model", "copy last frame"}
    frames = render.side_by_side(result.context, result.truth, result.prediction)
    lay = render._Layout((16, 16), render.default_scale((16, 16)))
    x0, y0, x1, y1 = lay.panel_box(0)
    truth_panel = frames[0, y0 + lay.border:y1 - lay.border, x0 + lay.border:x1 - lay.border]
    assert (truth_panel[..., 2] > truth_panel[..., 0] + 50).mean() > 0.5     # blue, not grey
    render.frame_strip(result.context, result.truth, result.prediction)
    gif = io.read_clip(io.write_gif(frames, tmp_path / "c.gif"), channels=3)
    mp4 = io.read_clip(io.write_mp4(frames, tmp_path / "c.mp4"), channels=3)
    for clip in (gif, mp4):
        assert not np.allclose(clip[..., 0], clip[..., 2], atol=0.05)


# -- a folder of clips ----------------------------------------------------------------------

def make_folder(root, size: int = 16) -> dict:
    """Colour and grey clips in GIF, MP4 and a folder of frames, one damaged, one too short."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    (root / "sub").mkdir()
    io.write_gif(colour_clip(24, size, seed=1), root / "a.gif")               # 24 frames
    io.write_mp4(colour_clip(30, size, seed=2), root / "sub" / "b.mp4")       # 30 frames
    io.write_gif(colour_clip(20, size, seed=3)[..., :1], root / "grey.gif")   # 20 frames
    io.write_gif(colour_clip(5, size, seed=4), root / "short.gif")            # too short
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    (root / "frames").mkdir()
    for t, frame in enumerate(colour_clip(20, size, seed=5)):                 # 20 frames
        Image.fromarray((frame * 255).astype(np.uint8)).save(root / "frames" / f"f{t}.png")
    (root / "notes.txt").write_text("not a clip")
    return {"a.gif": 24, "sub/b.mp4": 30, "grey.gif": 20, "frames": 20}


def test_a_folder_becomes_windows_with_skips_said_and_files_held_out(tmp_path):
    from frameprophet import videos

    expected = make_folder(tmp_path / "clips")
    lines = []
    data = videos.load(tmp_path / "clips", frame_size=(16, 16), context=5, horizon=5,
                       cache=tmp_path / "cache", say=lines.append)
    assert {f["name"]: f["frames"] for f in data.files} == expected
    assert any(line.startswith("skipped broken.mp4: ") for line in lines)
    assert any(line.startswith("skipped short.gif: has 5 frames") for line in lines)
    assert len([line for line in lines if line.startswith("skipped")]) == 2   # not notes.txt
    assert "4 clips, 94 frames, colour, fitted to 16x16" in lines[-1]
    assert data.channels == 3 and data.frame_size == (16, 16)
    held = [f for f in data.files if f["held_out"]]
    assert len(held) == 1                                       # 20% of 4 files, at least one
    train_frames = sum(f["frames"] for f in data.files if not f["held_out"])
    assert len(data.starts(held_out=False)) == train_frames - 3 * 9      # stride 1
    assert len(data.starts(held_out=True, stride=10)) == held[0]["frames"] // 10
    inputs, targets = data.batches(3, 2, seed=0)[0]
    assert inputs.shape == targets.shape == (3, 9, 16, 16, 3)
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    context, truth = data.held_out()
    assert context.shape[1:] == (5, 16, 16, 3) and truth.shape[1:] == (5, 16, 16, 3)
    info = data.info()
    assert info["files"] == 4 and info["held_out_files"] == [held[0]["name"]]
    assert len(info["digest"]) == 64 and info["skipped"][0][0] == "broken.mp4"
    # sizes and rates from the headers (MP4s are written enlarged; a frame folder has neither)
    assert info["sizes"] == {"16x16": 2, "128x128": 1, "?": 1}
    assert info["fps"] == {"5": 3, "?": 1}


def test_clips_are_decoded_once_and_a_changed_folder_is_read_again(tmp_path, monkeypatch):
    from frameprophet import videos

    make_folder(tmp_path / "clips")
    first = videos.load(tmp_path / "clips", (16, 16), 5, 5, cache=tmp_path / "c", say=None)

    def decode(*args, **kwargs):
        raise RuntimeError("decoded again")

    monkeypatch.setattr(io, "read_clip", decode)
    again = videos.load(tmp_path / "clips", (16, 16), 5, 5, cache=tmp_path / "c", say=None)
    np.testing.assert_array_equal(again.frames, first.frames)
    assert again.digest == first.digest
    io.write_gif(colour_clip(20, 16, seed=9), tmp_path / "clips" / "new.gif")
    with pytest.raises(RuntimeError, match="decoded again"):
        videos.load(tmp_path / "clips", (16, 16), 5, 5, cache=tmp_path / "c", say=None)


def test_a_glob_a_grey_folder_and_a_folder_without_clips(tmp_path):
    from frameprophet import videos

    make_folder(tmp_path / "clips")
    data = videos.load(str(tmp_path / "clips" / "*.gif"), (16, 16), 5, 5,
                       cache=tmp_path / "c", say=None)
    assert sorted(f["name"] for f in data.files) == ["a.gif", "grey.gif"]
    grey = videos.load(tmp_path / "clips", (16, 16), 5, 5, channels=1, cache=tmp_path / "c",
                       say=None)
    assert grey.held_out()[0].shape[-1] == 1
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match=r"no clip files found\); training needs at least 2"):
        videos.load(tmp_path / "empty", (16, 16), cache=tmp_path / "c", say=None)
    with pytest.raises(ValueError, match="no such folder or file"):
        videos.load(tmp_path / "missing", (16, 16), cache=tmp_path / "c", say=None)


# -- train --data, --init, the card ------------------------------------------------------

def _train_on(folder, tmp_path, name="own", **kwargs):
    from frameprophet import train

    args = dict(data=str(folder), context=5, horizon=5, frame_size=16, minutes=5, batch=2,
                steps_per_epoch=2, val_clips=2, test_clips=3, ramp=1e-6, precision="float32",
                out=str(tmp_path / f"{name}.keras"), run_dir=str(tmp_path / f"run-{name}"),
                options=TINY_PROPHET)
    args.update(kwargs)
    return train.train(train.TrainConfig(**args), verbose=0, extra_callbacks=[stop_after(1)])


@pytest.mark.slow
def test_train_on_a_folder_keeps_colour_scores_held_out_files_and_describes_the_data(
        tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPROPHET_CACHE", str(tmp_path / "cache"))
    make_folder(tmp_path / "clips")
    meta = _train_on(tmp_path / "clips", tmp_path)
    model, side = saving.load(tmp_path / "own.keras")
    assert model.channels == 3 and side["dataset"] == "videos"
    assert side["context"] == 5 and side["horizon"] == 5 and side["frame_size"] == [16, 16]
    assert side["data"]["held_out_files"] == meta["data"]["held_out_files"]
    assert side["metrics"]["clips"] >= 1 and len(side["metrics"]["model"]["mse"]["per_step"]) == 5
    text = (tmp_path / "own.md").read_text()
    for words in ["4 files", "colour (3 channels)", "16x16", "skipped `broken.mp4`",
                  "held-out files", side["data"]["digest"], "| data |", "| frame_size | `16` |"]:
        assert words in text, words
    # --init continues a model of the same channels, and refuses one of other channels
    again = _train_on(tmp_path / "clips", tmp_path, name="again", init=str(tmp_path / "own.keras"))
    assert len(again["training"]["runs"]) == 2
    with pytest.raises(ValueError, match="grey \\(1 channel\\) model and these clips are colour"):
        _train_on(tmp_path / "clips", tmp_path, name="x", init="weights/squares.keras")


def test_train_refuses_bad_data_options_before_touching_the_run_folder(tmp_path, monkeypatch):
    from frameprophet import train

    monkeypatch.setenv("FRAMEPROPHET_CACHE", str(tmp_path / "cache"))
    (tmp_path / "run-own").mkdir()
    (tmp_path / "run-own" / "keep").write_text("the last run's files")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no clip files found"):
        _train_on(tmp_path / "empty", tmp_path)
    with pytest.raises(ValueError, match="--holdout is a share"):
        _train_on(tmp_path / "empty", tmp_path, holdout=1.5)
    with pytest.raises(ValueError, match="go with --data"):
        train.train(train.TrainConfig(dataset="squares", context=3, out=str(tmp_path / "x.keras"),
                                      run_dir=str(tmp_path / "run-own")))
    assert (tmp_path / "run-own" / "keep").exists()


# -- evaluate --data and predict with a colour model ----------------------------------------

@pytest.mark.slow
def test_evaluate_and_predict_a_colour_model_on_own_clips(tmp_path, capsys, monkeypatch):
    import json

    from frameprophet.__main__ import main

    monkeypatch.setenv("FRAMEPROPHET_CACHE", str(tmp_path / "cache"))
    expected = make_folder(tmp_path / "clips")
    path = str(tmp_path / "colour.keras")
    saving.save(models.build("prophet", (16, 16), channels=3, **TINY_PROPHET), path,
                dataset="videos", context=5, horizon=5)
    args = ["evaluate", "--model", path, "--data", str(tmp_path / "clips"), "--context", "5",
            "--horizon", "5", "--json", str(tmp_path / "e.json")]
    assert main(args) == 0
    report = json.loads((tmp_path / "e.json").read_text())
    assert set(report["results"]) == {"copy last frame", "zeros", "colour"}
    assert len(report["results"]["colour"]["mse"]["per_step"]) == 5
    assert "held-out 1 file(s)" in report["split"]
    out = capsys.readouterr().out
    assert "skipped broken.mp4" in out and "MSE per predicted frame" in out
    assert main(args + ["--every-file"]) == 0
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["clips"] == sum((n - 10) // 5 + 1 for n in expected.values())   # stride 5
    assert main(["evaluate", "--data", str(tmp_path / "clips")]) == 2
    assert "needs a --model" in capsys.readouterr().err

    for out_file in ("p.mp4", "p.gif"):
        assert main(["predict", str(tmp_path / "clips" / "sub" / "b.mp4"), "--model", path,
                     "--context", "5", "--horizon", "5", "--out",
                     str(tmp_path / out_file)]) == 0
        written = io.read_clip(tmp_path / out_file, channels=3)
        assert not np.allclose(written[..., 0], written[..., 2], atol=0.05)   # in colour
    out = capsys.readouterr().out
    assert "MSE per frame, model:" in out and "MSE per frame, copy last frame:" in out
    assert main(["predict", "squares:1", "--model", path, "--context", "5", "--horizon", "5",
                 "--out", str(tmp_path / "s.gif")]) == 0          # grey clips, repeated
