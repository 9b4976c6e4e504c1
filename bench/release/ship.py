"""Ship a trained candidate into weights/ only if it beats the shipped model on held-out digits.

    make ship CANDIDATE=runs/mnist-s18/mnist.keras

Both models are rolled out closed loop on selection clips (1000 by default): the held-out split,
in other movies than the scoreboard's (`data.SELECT_SEED`), so that choosing the better of many
runs does not flatter the reported numbers. Only when the candidate is closer to the dataset's
goal (`evaluate.GOALS`; lower mean MSE where there is none) is it then scored on the scoreboard's
test clips (`data.TEST_SEED`), copied to weights/NAME.keras (NAME is the file's stem), given its
sidecar and card (with the validation curve), and put in the shipped model's row of
bench/results/eval_DATASET.json and .png; the card's held-out metrics are that test evaluation.
Rows of other models in that report (the Keras example's baseline, ablations) are kept as they
were: same clips, not re-run. `make ship` then regenerates the README scoreboard. A candidate
that is not better leaves every file untouched and exits with status 1.

Shipping the app's first model (`mnist`) also draws the app's first result again
(`weights/first_result/`, see `frameprophet.demo.first`);
`python -m bench.release.ship --first-result` (`make first-result`) redraws it alone, when it is
stale.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from frameprophet import card, catalog, evaluate, export, saving
from frameprophet.data import SELECT_SEED
from frameprophet.demo import first
from frameprophet.evaluate import goal_gap

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path("bench", "results")        # the evaluation reports, under the root

# The report keys that make two reports' rows comparable: the same clips measured the same way
# (reports from before the standard generator have no "generator").
COMPARABLE_KEYS = ("dataset", "clips", "context", "horizon", "mode", "seed", "generator")


def ship(candidate: str | Path, root: str | Path = ROOT, n: int = 1000) -> dict | None:
    """Evaluate `candidate` against root/weights/NAME.keras; ship it if it is closer to the goal.

    Returns the new evaluation report when shipped, None when not.
    """
    candidate, root = Path(candidate), Path(root)
    meta = saving.read_sidecar(candidate)
    if not candidate.is_file() or not meta.get("dataset"):
        raise saving.ModelFileError(f"{candidate}: need a .keras file written by "
                                    "`python -m frameprophet train`, with its sidecar beside it")
    name, dataset = candidate.stem, meta["dataset"]
    shipped = root / "weights" / f"{name}.keras"
    if candidate.resolve() == shipped.resolve():
        raise ValueError(f"{candidate} is the shipped file itself; pass the run's output")
    if shipped.exists():
        choice = evaluate.run([str(candidate), str(shipped)], dataset, n=n, seed=SELECT_SEED)
        new, old = (_said(choice, _label(choice, path), "selection clips")
                    for path in (candidate, shipped))
        if goal_gap(new, dataset) >= goal_gap(old, dataset):
            return None

    report = evaluate.run([str(candidate)], dataset, n=n)          # the scoreboard's test clips
    label = _label(report, candidate)
    _said(report, label, "test clips")
    # The card quotes this measurement (1000 clips) rather than the run's own smaller test.
    meta["metrics"] = evaluate.row_metrics(report, label)
    new = report["results"].pop(label)

    shipped.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(candidate, shipped)
    meta["file"] = shipped.name
    runs = card.training_runs(meta) or [{}]
    if "out" in runs[-1].get("config", {}):         # say where the run wrote it and where it went
        runs[-1]["config"]["out"] += f" (copied to weights/{shipped.name})"
    saving.write_sidecar(shipped, meta)
    card.write_card(shipped, meta)
    twin = catalog.twin_folder(name)        # an ONNX twin (the app's first result) kept current
    if twin.is_dir():
        export.export(str(shipped), twin, "onnx")
    if shipped.parent.resolve() == saving.WEIGHTS_DIR.resolve():
        first_result()                      # the app's first result, if it shows this model

    report["results"][name] = {**new, "model": name}
    path = root / RESULTS / f"eval_{dataset}.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    kept = {key: entry for key, entry in previous.get("results", {}).items()
            if key not in report["results"]}
    if all(previous.get(k) == report[k] for k in COMPARABLE_KEYS):
        report["results"].update(kept)
    elif kept:
        print(f"dropped rows {list(kept)} of {path.name}: measured on other clips; "
              "`make evaluate` re-runs them")
    path.parent.mkdir(exist_ok=True)
    evaluate.save_json(report, path)
    evaluate.plot(report, path.with_suffix(".png"))
    print(f"shipped {candidate} as {shipped.relative_to(root)}; wrote {path.relative_to(root)}")
    return report


def first_result() -> Path | None:
    """Draw the app's first result again (weights/first_result/) unless it is current; the
    folder, or None when its model has no weights file."""
    if first.current() is not None:
        return first.folder()
    if catalog.model_file(first.FIRST_EXAMPLE[-1]) is None:
        return None
    catalog.clear()                         # the model as it is on disk now
    where = first.write()
    print(f"drew the app's first result into {where.relative_to(ROOT)}")
    return where


def _label(report: dict, path: Path) -> str:
    """The row of `report` that evaluated the model file at `path`."""
    return next(key for key, entry in report["results"].items() if entry.get("model") == str(path))


def _said(report: dict, label: str, clips: str) -> dict:
    """The row `label` of `report`, printed with its model file and goal gap."""
    result = report["results"][label]
    print(f"{clips}, {result['model']}: MSE {result['mse']['mean']:.2f}, "
          f"SSIM {result['ssim']['mean']:.4f}, goal gap {goal_gap(result, report['dataset']):.4f}")
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("candidate", nargs="?",
                   help="a .keras file written by `python -m frameprophet train`")
    p.add_argument("--n", type=int, default=1000, help="selection clips and test clips")
    p.add_argument("--first-result", action="store_true",
                   help="only draw the app's first result again (weights/first_result/), if "
                        "it is stale")
    args = p.parse_args()
    if args.first_result:
        if first_result() is None:
            sys.exit(f"error: no weights file for {first.FIRST_EXAMPLE[-1]!r}")
        return
    if not args.candidate:
        p.error("give a candidate .keras file, or --first-result")
    try:
        shipped = ship(args.candidate, n=args.n)
    except (ValueError, OSError) as e:               # ModelFileError is a ValueError
        sys.exit(f"error: {e}")
    if shipped is None:
        sys.exit("not shipped: the candidate is not closer to the goal on the selection clips "
                 "(see goal gap above); nothing was changed")


if __name__ == "__main__":
    main()
