"""The training tab's loose ends, without a browser: a ZIP of clips is several clips, a short
budget has epochs that end, a stopped run says how much of its budget it used, a model worse
than copying the last frame is called so, and a page shows only its own ended run."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from frameprophet import catalog, data, io, videos
from frameprophet.demo import RequestError
from frameprophet.jobs import clips as training_clips
from frameprophet.jobs import training


def grey_clip(frames: int, seed: int) -> np.ndarray:
    return data.example_clip("mnist", seed, frames=frames)[:, ::4, ::4]     # 16x16


@pytest.fixture
def clip_files(tmp_path) -> list[Path]:
    return [io.save_clip(grey_clip(8, s), tmp_path / f"clip{s}.gif") for s in range(3)]


def test_a_zip_of_clips_is_unpacked_into_one_clip_each(clip_files, tmp_path):
    archive = tmp_path / "holiday.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in clip_files:
            z.write(path, f"trip/{path.name}")
        z.writestr("../../escape.gif", clip_files[0].read_bytes())   # a name never followed
    job = tmp_path / "job"
    job.mkdir()
    spec, _ = training_clips.gather([str(archive)], None, job, None)
    names = sorted(p.name for p in Path(spec).iterdir())
    assert names == ["01-holiday-01-clip0.gif", "01-holiday-02-clip1.gif",
                     "01-holiday-03-clip2.gif", "01-holiday-04-escape.gif"]
    found = videos.load(spec, (16, 16), 4, 4, say=None)
    assert len(found.files) == 4 and not (tmp_path / "escape.gif").exists()


def test_a_zip_of_frames_stays_one_clip_and_two_folders_of_frames_are_two(tmp_path):
    clip = (grey_clip(8, 1)[..., 0] * 255).astype(np.uint8)
    one, two = tmp_path / "frames.zip", tmp_path / "two.zip"
    with zipfile.ZipFile(one, "w") as a, zipfile.ZipFile(two, "w") as b:
        for t, frame in enumerate(clip):
            png = _png(frame)
            a.writestr(f"f{t:02d}.png", png)
            b.writestr(f"walk/f{t:02d}.png", png)
            b.writestr(f"run/f{t:02d}.png", png)
    dest = tmp_path / "dest"
    dest.mkdir()
    assert training_clips.unpack_clips(one, dest, "a") == 0         # read as it is: one clip
    assert training_clips.unpack_clips(two, dest, "b") == 2
    assert sorted(p.name for p in dest.iterdir()) == ["b-frames-01", "b-frames-02"]
    assert len(videos.load(str(dest), (16, 16), 4, 4, say=None).files) == 2


def _png(frame: np.ndarray) -> bytes:
    import io as stdio

    from PIL import Image

    out = stdio.BytesIO()
    Image.fromarray(frame).save(out, format="PNG")
    return out.getvalue()


def test_a_zip_that_unpacks_too_far_is_refused_in_a_sentence(clip_files, tmp_path,
                                                              monkeypatch):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in clip_files:
            z.write(path, path.name)
    monkeypatch.setattr(training_clips, "MAX_UNPACKED_BYTES", 100)
    (tmp_path / "dest").mkdir()
    with pytest.raises(RequestError, match="big.zip unpacks to more than"):
        training_clips.unpack_clips(archive, tmp_path / "dest", "x")


def test_a_short_budget_has_short_epochs_and_a_short_clip_is_said_in_words(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("FRAMEPROPHET_CACHE", str(tmp_path / "cache"))
    paths = [str(io.save_clip(grey_clip(12, s), tmp_path / f"c{s}.gif")) for s in range(3)]
    paths.append(str(io.save_clip(grey_clip(5, 9), tmp_path / "short.gif")))
    config = {**training.PAGE_CONFIG, "frame_size": 16, "context": 4, "horizon": 4}
    job = training._prepare(paths, None, 1, None, tmp_path / "runs", dict(config))
    try:
        assert job.config.steps_per_epoch == training.STEPS_PER_MINUTE       # 1 minute
        assert "short.gif: has 5 frames; a window needs 8 (4 read + 4 predicted)" in job.summary
        assert "--context" not in job.summary
    finally:
        job.clean_up()
    long = training._prepare(paths, None, 30, None, tmp_path / "runs", dict(config))
    long.clean_up()
    assert long.config.steps_per_epoch == training.STEPS_PER_EPOCH


def ended_job(tmp_path, monkeypatch, mse: float, stopped_at: float) -> training.TrainingJob:
    """A job whose child has ended (no process), stopped at `stopped_at` of a 10-minute
    budget, scoring `mse` against copy-last's 100."""
    from frameprophet.train import TrainConfig

    monkeypatch.setattr(catalog, "_ADDED", {})
    monkeypatch.setattr(training, "FINAL_PICTURES", tmp_path / "pictures")
    out = tmp_path / "m.keras"
    out.write_bytes(b"x")
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / training.STOP).touch()
    begun = time.time() - 3600
    score = {"model": {"mse": {"mean": mse}}, "copy_last": {"mse": {"mean": 100.0}}}
    events = [{"event": "begin", "time": begun},
              {"event": "epoch", "epoch": 1, "val_mse": mse, "val_ssim": 0.5, "sequences": 8},
              {"event": "done", "out": str(out), "metrics": score,
               "time": begun + stopped_at * 600}]
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return training.TrainingJob(TrainConfig(minutes=10, out=str(out)), folder, "m", "")


def test_a_stopped_run_says_how_much_budget_it_used_and_a_weak_model_is_called_so(
        tmp_path, monkeypatch):
    status = ended_job(tmp_path, monkeypatch, 150.0, 0.56).status()
    assert status.state == "stopped" and status.fraction == pytest.approx(0.56, abs=0.01)
    assert "worse than simply copying the last frame" in status.message
    from frameprophet.ui.training import progress_html

    assert "56% of the budget" in progress_html(status.fraction, status.state)
    (tmp_path / "b").mkdir()
    assert "worse than" not in ended_job(tmp_path / "b", monkeypatch, 50.0, 1.0).status().message


def test_a_page_shows_its_own_ended_run_and_keeps_stops_answer(tmp_path, monkeypatch):
    from frameprophet.ui import training as training_tab

    job = ended_job(tmp_path, monkeypatch, 50.0, 1.0)
    monkeypatch.setattr(training, "_CURRENT", job)
    said = job.status().message
    other = training_tab.poll(-1, "", "", "another page's token", [])
    assert other[:6] == (gr.skip(),) * 6                # a new page: not someone else's run
    assert other[6] == "m"                              # its model still reaches the menus
    own = training_tab.poll(-1, "", "", job.token, [])
    assert own[0] == said and own[1] == said
    again = training_tab.poll(1, "m", said, job.token, [])
    assert again[0] == gr.skip()            # said once: Stop's "nothing to stop" stays shown
    assert training.stop(job.token) == training.NOTHING_RUNNING
