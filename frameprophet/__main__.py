"""Command line: `python -m frameprophet {train,predict,evaluate,push,pull} ...`."""

from __future__ import annotations

import argparse
import json
import sys


def _train(args) -> None:
    from frameprophet.train import train

    options = json.loads(args.options) if args.options else None
    meta = train(args.dataset, recipe=args.recipe, minutes=args.minutes, out=args.out,
                 batch=args.batch, lr=args.lr, seed=args.seed, resume=args.resume,
                 steps_per_epoch=args.steps_per_epoch, val_clips=args.val_clips,
                 test_clips_n=args.test_clips, ramp_steps=args.ramp_steps,
                 patience=args.patience, init=args.init, strategy=args.strategy,
                 run_dir=args.run_dir, options=options)
    m = meta["metrics"]
    print(f"wrote {args.out}: held-out closed-loop MSE {m['model']['mse']['mean']:.1f} "
          f"(copy-last {m['copy_last']['mse']['mean']:.1f}), "
          f"SSIM {m['model']['ssim']['mean']:.3f}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m frameprophet", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a recipe on generated data")
    t.add_argument("--dataset", choices=["squares", "mnist"], required=True)
    t.add_argument("--recipe", default="prophet")
    t.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget")
    t.add_argument("--out", required=True, help="where to write NAME.keras (+ .json, .md)")
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--lr", type=float, default=None)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--resume", action="store_true", help="continue the run in runs/NAME")
    t.add_argument("--steps-per-epoch", type=int, default=50)
    t.add_argument("--val-clips", type=int, default=None)
    t.add_argument("--test-clips", type=int, default=256)
    t.add_argument("--ramp-steps", type=int, default=2000,
                   help="batches over which closed-loop feedback rises from 0 to 1")
    t.add_argument("--patience", type=int, default=30)
    t.add_argument("--init", default=None, help="start from the weights of this .keras file")
    t.add_argument("--strategy", choices=["mirrored"], default=None)
    t.add_argument("--run-dir", default=None)
    t.add_argument("--options", default=None, help='recipe options as JSON, e.g. {"hidden": 64}')
    t.set_defaults(func=_train)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
