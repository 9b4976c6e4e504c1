"""The robustness tables: every shipped model of a world and copy-last on worlds it never saw.

`make robustness` (or `python -m bench.release.robustness --n 200 [--dataset natural]`) scores
each model
of `weights/` made for that dataset on its held-out test clips and on one change at a time
(`frameprophet.evaluate.ROBUSTNESS`: for Moving MNIST the old reflecting bounce, 1.5x and 2x
speed, 3 digits, the training classes in new movies; for pictures in motion a still camera with
cut-outs, a pan alone, nothing moving, the training pictures), writes
bench/results/robustness.json (robustness_natural.json) and each model's rows into its sidecar
and card, and `make scoreboard` puts the tables in the README.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from frameprophet import card, catalog, evaluate, saving

ROOT = Path(__file__).resolve().parents[2]


def models_of(dataset: str) -> list[str]:
    """The shipped models trained on `dataset`, ours first."""
    names = [n for n in saving.shipped_names()      # files in weights/, not stand-ins
             if saving.read_sidecar(saving.resolve(n)).get("dataset") == dataset]
    return sorted(names, key=lambda n: (catalog.baseline_note(n) is not None, n))


def write_cards(report: dict, names: list[str]) -> None:
    """Each model's rows into its sidecar and card (a shipped model's card is rewritten; a new
    `make ship` drops them, as they were measured on the weights it replaces)."""
    for name in names:
        path = Path(saving.resolve(name))
        meta = saving.read_sidecar(path)
        if not meta:
            continue
        meta["robustness"] = evaluate.robustness_of(report, Path(name).stem)
        saving.write_sidecar(path, meta)
        card.write_card(path, meta)


def merged(report: dict, path: Path) -> dict:
    """`report` with the other models' rows of the report at `path` kept, when both measured the
    same clips (`--model mnist` after a new ship re-scores only it)."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    same = all(old.get(key) == report[key] for key in ("clips", "context", "horizon", "seed"))
    if not same or set(old.get("worlds", {})) != set(report["worlds"]):
        return report
    return {**report, "worlds": {world: {**old["worlds"][world], **row}
                                 for world, row in report["worlds"].items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist", choices=sorted(evaluate.ROBUSTNESS))
    p.add_argument("--model", action="append", default=None,
                   help="default: the shipped models of --dataset")
    p.add_argument("--n", type=int, default=200, help="clips per world")
    p.add_argument("--json", default=None, help="default: bench/results/robustness[_DATASET].json")
    args = p.parse_args()
    suffix = "" if args.dataset == "mnist" else f"_{args.dataset}"
    args.json = args.json or str(ROOT / "bench" / "results" / f"robustness{suffix}.json")
    names = args.model or models_of(args.dataset)
    report = evaluate.robustness(names, n=args.n, verbose=True, dataset=args.dataset)
    write_cards(report, names)
    report = merged(report, Path(args.json))
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print("\n".join(evaluate.robustness_table(report)))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
