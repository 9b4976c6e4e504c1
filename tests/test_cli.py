"""The command line: predict writes a side-by-side GIF, evaluate writes JSON and a plot."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from frameprophet import data, io, models, saving
from frameprophet.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def test_predict_generated_clip_writes_an_animated_gif(tiny_model, tmp_path, capsys):
    out = tmp_path / "pred.gif"
    assert main(["predict", "squares:3", "--model", tiny_model, "--context", "7",
                 "--horizon", "8", "--out", str(out)]) == 0
    assert "8 frames from 7" in capsys.readouterr().out
    with Image.open(out) as gif:
        assert gif.n_frames == 15                       # context + predicted frames


def test_predict_a_file_in_teacher_forced_mode(tiny_model, tmp_path):
    clip = data.moving_squares(1, frames=12, seed=0)[1][0]
    io.write_gif(clip, tmp_path / "clip.gif")
    out = tmp_path / "pred.gif"
    assert main(["predict", str(tmp_path / "clip.gif"), "--model", tiny_model, "--context",
                 "6", "--horizon", "4", "--mode", "teacher_forced", "--out", str(out)]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 10


def test_predict_writes_an_mp4_when_asked_and_refuses_other_outputs(tiny_model, tmp_path,
                                                                    capsys):
    out = tmp_path / "pred.mp4"
    assert main(["predict", "squares:3", "--model", tiny_model, "--context", "7",
                 "--horizon", "8", "--out", str(out)]) == 0
    assert io.read_clip(out).shape[0] == 15
    assert main(["predict", "squares:3", "--model", tiny_model, "--out",
                 str(tmp_path / "pred.png")]) == 2
    assert "--out must end in .gif or .mp4" in capsys.readouterr().err
    assert not (tmp_path / "pred.png").exists()


def test_bad_input_and_unknown_model_exit_with_a_message(tiny_model, tmp_path, capsys):
    (tmp_path / "notes.gif").write_text("not a gif")
    assert main(["predict", str(tmp_path / "notes.gif"), "--model", tiny_model,
                 "--out", str(tmp_path / "x.gif")]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["predict", "squares:1", "--model", "no-such-model"]) == 2
    assert "tried" in capsys.readouterr().err


def test_evaluate_reports_models_and_baselines(tiny_model, tmp_path, capsys):
    args = ["evaluate", "--model", tiny_model, "--dataset", "squares", "--n", "6",
            "--json", str(tmp_path / "e.json"), "--plot", str(tmp_path / "e.png")]
    assert main(args) == 0
    report = json.loads((tmp_path / "e.json").read_text())
    label = Path(tiny_model).stem                     # a file is labelled by its stem
    assert set(report["results"]) == {"copy last frame", "zeros", label}
    entry = report["results"][label]
    assert entry["model"] == tiny_model
    assert len(entry["mse"]["per_step"]) == 8 and "iou" in entry and entry["clips"] == 6
    # Baselines are computed, not copied: zeros' MSE is the truth's energy.
    _, truth = data.clips("squares", 6)
    assert np.isclose(report["results"]["zeros"]["mse"]["mean"],
                      (truth ** 2).sum(axis=(2, 3, 4)).mean())
    assert (tmp_path / "e.png").stat().st_size > 10_000
    assert "copy last frame" in capsys.readouterr().out


def test_evaluate_on_the_training_digits_scores_those_clips_and_squares_refuses(tmp_path, capsys):
    args = ["evaluate", "--dataset", "mnist", "--n", "3", "--split", "train",
            "--json", str(tmp_path / "train.json")]
    assert main(args) == 0
    report = json.loads((tmp_path / "train.json").read_text())
    assert "0..3999" in report["split"] and "0..3999" in capsys.readouterr().out
    # The same seed's clips from the training digits, not the held-out ones: zeros' MSE is
    # the truth's energy, which tells the two apart.
    energy = {split: (data.clips("mnist", 3, split=split)[1] ** 2).sum(axis=(2, 3, 4)).mean()
              for split in ("train", "test")}
    assert not np.isclose(energy["train"], energy["test"])
    assert np.isclose(report["results"]["zeros"]["mse"]["mean"], energy["train"])
    assert main(["evaluate", "--dataset", "squares", "--n", "3", "--split", "train"]) == 2
    assert "split must be one of ['test'] for squares" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "tiny-mnist.keras"
    saving.save(models.build("prophet", (64, 64), hidden=4, depth=1), path, dataset="mnist",
                context=10, horizon=10)
    return str(path)


def test_evaluate_file_scores_the_benchmark_file_layout(tiny_mnist, tmp_path, capsys):
    # mnist_test_seq.npy's layout: (T, N, 64, 64) uint8, time first. Five sequences of ours.
    movies = data.moving_mnist(5, seed=11, split="test")
    raw = np.round(np.moveaxis(movies[..., 0], 0, 1) * 255).astype(np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", raw)
    out = tmp_path / "file.json"
    assert main(["evaluate", "--model", tiny_mnist, "--dataset", "mnist", "--n", "4",
                 "--file", str(tmp_path / "mnist_test_seq.npy"), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["clips"] == 4 and "mnist_test_seq.npy, its first 4 sequences" in report["split"]
    # zeros' MSE is the truth's energy: frames 10..19 of the file's first 4 sequences.
    truth = raw[10:20, :4].astype(np.float64) / 255
    assert np.isclose(report["results"]["zeros"]["mse"]["mean"], (truth ** 2).sum((2, 3)).mean())
    np.save(tmp_path / "bad.npy", raw[:, :, :32])
    assert main(["evaluate", "--dataset", "mnist", "--file", str(tmp_path / "bad.npy")]) == 2
    assert "expected the mnist_test_seq.npy layout" in capsys.readouterr().err


def test_robustness_scores_each_world_for_model_and_copy_last(tiny_mnist):
    from frameprophet import evaluate

    report = evaluate.robustness([tiny_mnist], n=2)
    assert list(report["worlds"]) == list(evaluate.ROBUSTNESS["mnist"])
    for row in report["worlds"].values():
        assert set(row) == {"copy last frame", "tiny-mnist"}
        # An untrained tiny model's SSIM can sit just below 0; copy-last's is a real score.
        assert row["copy last frame"]["mse"] > 0 and 0 < row["copy last frame"]["ssim"] <= 1
        assert row["tiny-mnist"]["mse"] > 0 and -1 <= row["tiny-mnist"]["ssim"] <= 1
    # Each world really is another world: copy-last scores differ between them.
    scores = {round(row["copy last frame"]["mse"], 3) for row in report["worlds"].values()}
    assert len(scores) == len(evaluate.ROBUSTNESS["mnist"])
    table = evaluate.robustness_table(report)
    assert table[0].startswith("| world | copy last frame MSE / SSIM | tiny-mnist MSE / SSIM")
    assert len(table) == 2 + len(evaluate.ROBUSTNESS["mnist"])

    # `make robustness` also puts each model's rows into its sidecar and its card
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "robustness", ROOT / "bench" / "release" / "robustness.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.write_cards(report, [tiny_mnist])
    card_text = Path(tiny_mnist).with_suffix(".md").read_text()
    row = report["worlds"]["3 digits"]
    assert "## Robustness" in card_text and (
        f"| 3 digits | {row['tiny-mnist']['mse']:.1f} / {row['tiny-mnist']['ssim']:.3f} | "
        f"{row['copy last frame']['mse']:.1f} / {row['copy last frame']['ssim']:.3f} |"
        in card_text)
    assert saving.read_sidecar(tiny_mnist)["robustness"]["clips"] == 2
    # re-scoring one model keeps the others' rows of the same clips, never of other clips
    (tmp := Path(tiny_mnist).with_name("robustness.json")).write_text(json.dumps(
        {**report, "worlds": {w: {**row, "other": {"mse": 1.0, "ssim": 0.5}}
                              for w, row in report["worlds"].items()}}))
    assert set(script.merged(report, tmp)["worlds"]["3 digits"]) == {
        "copy last frame", "tiny-mnist", "other"}
    assert script.merged({**report, "clips": 3}, tmp)["worlds"] == report["worlds"]
