"""`make ship` puts a trained candidate into weights/ only when it beats the shipped model."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from frameprophet import evaluate, saving
from frameprophet.data import SELECT_SEED, TEST_SEED

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("ship", ROOT / "bench" / "release" / "ship.py")
ship = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ship)


@pytest.fixture
def repo(tmp_path, tiny_model):
    """A repo whose shipped squares model is untrained (conftest's `tiny_model`), a run folder
    holding the real trained one as the candidate, and an earlier report with a row that ship
    must carry over."""
    (tmp_path / "weights").mkdir()
    for suffix in (".keras", ".json"):
        shutil.copy(Path(tiny_model).with_suffix(suffix), tmp_path / "weights" / f"squares{suffix}")
    run = tmp_path / "runs" / "s1"
    run.mkdir(parents=True)
    for suffix in (".keras", ".json"):
        shutil.copy(ROOT / "weights" / f"squares{suffix}", run / f"squares{suffix}")
    (tmp_path / ship.RESULTS).mkdir(parents=True)
    earlier = json.loads((ROOT / ship.RESULTS / "eval_squares.json").read_text())
    earlier.update(clips=4, seed=TEST_SEED,
                   results={"squares-keras2": earlier["results"]["squares-keras2"]})
    (tmp_path / ship.RESULTS / "eval_squares.json").write_text(json.dumps(earlier))
    return tmp_path, run / "squares.keras"


def test_a_better_candidate_is_shipped_with_card_and_report(repo):
    root, candidate = repo
    report = ship.ship(candidate, root=root, n=4)
    shipped = root / "weights" / "squares.keras"
    assert shipped.read_bytes() == candidate.read_bytes()
    meta = saving.read_sidecar(shipped)
    assert meta["file"] == "squares.keras" and meta["sha256"] == saving.sha256(shipped)
    assert meta["training"]["runs"][-1]["config"]["out"].endswith(
        "(copied to weights/squares.keras)")
    assert "Held-out metrics" in (root / "weights" / "squares.md").read_text()
    # The card quotes the evaluation ship just made, the same numbers as the report's row.
    assert meta["metrics"]["clips"] == 4
    assert meta["metrics"]["model"]["mse"] == report["results"]["squares"]["mse"]
    assert meta["metrics"]["copy_last"] == {
        k: v for k, v in report["results"]["copy last frame"].items() if k != "model"}
    assert "4 test clips" in (root / "weights" / "squares.md").read_text()
    assert (root / "weights" / "squares_curve.png").exists()
    saved = json.loads((root / ship.RESULTS / "eval_squares.json").read_text())
    assert saved == report
    # The candidate takes the shipped row under the short name; other rows are kept, not re-run.
    assert list(saved["results"]) == ["copy last frame", "zeros", "squares", "squares-keras2"]
    assert saved["results"]["squares"]["model"] == "squares"
    assert saved["results"]["squares"]["iou"]["mean"] > 0.5
    assert (root / ship.RESULTS / "eval_squares.png").exists()


def test_a_candidate_that_is_not_better_changes_nothing(repo):
    root, candidate = repo
    ship.ship(candidate, root=root, n=4)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert ship.ship(candidate, root=root, n=4) is None           # equal is not better
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_the_choice_is_made_on_selection_clips_and_the_test_clips_only_report(repo,
                                                                              monkeypatch):
    root, candidate = repo
    calls, run = [], evaluate.run

    def recording_run(models, dataset, n=1000, **kwargs):
        calls.append((len(models), kwargs.get("seed", TEST_SEED)))
        return run(models, dataset, n=n, **kwargs)

    monkeypatch.setattr(ship.evaluate, "run", recording_run)
    report = ship.ship(candidate, root=root, n=4)
    assert calls == [(2, SELECT_SEED), (1, TEST_SEED)]   # both compared; the winner reported
    assert report["seed"] == TEST_SEED
    calls.clear()
    assert ship.ship(candidate, root=root, n=4) is None
    assert calls == [(2, SELECT_SEED)]                    # a loser is never scored on the test


def test_a_file_without_a_sidecar_is_refused(repo):
    root, candidate = repo
    (candidate.parent / "squares.json").unlink()
    with pytest.raises(saving.ModelFileError, match="sidecar"):
        ship.ship(candidate, root=root, n=4)


def _result(mse, ssim):
    return {"mse": {"mean": mse}, "ssim": {"mean": ssim}}


def test_on_mnist_the_candidate_closer_to_the_goal_ships_even_at_a_higher_mse():
    blurred, sharper = _result(63.06, 0.829), _result(65.0, 0.846)   # SSIM the binding metric
    assert ship.goal_gap(sharper, "mnist") < ship.goal_gap(blurred, "mnist")
    assert ship.goal_gap(_result(65.0, 0.86), "mnist") > ship.goal_gap(_result(62.0, 0.86), "mnist")
    assert ship.goal_gap(_result(55.0, 0.86), "mnist") <= 1.0             # goal met (#52)
    assert ship.goal_gap(_result(59.0, 0.87), "mnist") > 1.0              # #12's old goal, not
    # without a goal (squares) it is the MSE alone
    assert ship.goal_gap(sharper, "squares") > ship.goal_gap(blurred, "squares")
