"""Command line: python -m frameprophet {models,train,average,predict,evaluate,export,push,pull,
space} ...

Every command takes model names in the one resolution order: an existing path, a short name in
weights/ ("mnist", "squares", "mnist-keras3"), or hf://owner/repo.
"""

from __future__ import annotations

import argparse
import sys

from frameprophet.data import DATASETS
from frameprophet.rollout import MODES


def _models(args) -> None:
    """The model names and the datasets that every command, the page and the cards know
    (`catalog.MODELS`, `data.DATASETS`), and which weights are here."""
    from frameprophet import catalog, saving

    files = set(saving.shipped_names())
    print("models (weights/NAME.keras):")
    for name in catalog.offered():
        entry = catalog.MODELS.get(name)
        if entry is None:
            print(f"  {name:16s} a model file in weights/ (see weights/{name}.md)")
            continue
        d = entry.protocol
        size = "x".join(map(str, d.frame_size))
        here = "weights here" if name in files else "no weights: an untrained stand-in"
        print(f"  {name:16s} {entry.dataset}, {size}, {'colour' if d.channels == 3 else 'grey'}, "
              f"{d.context} -> {d.horizon} frames ({here})\n  {'':16s} {entry.description}")
    print("datasets (train/evaluate --dataset):")
    for name, d in DATASETS.items():
        print(f"  {name:16s} {d.label}: {'x'.join(map(str, d.frame_size))}, {d.channels} "
              f"channel(s), {d.context} -> {d.horizon} frames, {d.frames} a training clip")


def _train(args) -> None:
    from frameprophet.train import config_from_args, train

    meta = train(config_from_args(args))
    if "metrics" not in meta:      # a worker of several, not process 0: it wrote nothing
        print(f"worker {meta['process_id']} of {meta['processes']} done: process 0 writes "
              f"{args.out}")
        return
    m = meta["metrics"]
    print(f"wrote {args.out}: held-out closed-loop MSE {m['model']['mse']['mean']:.1f} "
          f"(copy-last {m['copy_last']['mse']['mean']:.1f}), "
          f"SSIM {m['model']['ssim']['mean']:.3f}")


def _average(args) -> None:
    from frameprophet.card import averaged_runs
    from frameprophet.lineage import average

    runs = average(args.models, args.out)["training"]["runs"]
    print(f"wrote {args.out}: the mean of the weights at the ends of "
          f"{averaged_runs(runs[-1], len(runs))}; `make ship CANDIDATE={args.out}` scores it "
          "on held-out clips")


def _predict(args) -> None:
    from frameprophet import io, render
    from frameprophet.demo import clip_from_spec  # the one clip-from-a-spec path: the page's
    from frameprophet.forecast import forecast
    from frameprophet.predict import load_predictor

    # Refused before any work, not after it.
    if args.context + args.horizon > io.MAX_FRAMES:
        raise ValueError(f"--context and --horizon take at most {io.MAX_FRAMES:,} frames together "
                         f"(the longest clip), not {args.context + args.horizon:,}.")
    write = io.writer_for(args.out, (".gif", ".mp4"), "--out")   # the side-by-side animation
    predictor = load_predictor(args.model)
    clip, notes = clip_from_spec(args.input, predictor.frame_size, args.context + args.horizon,
                             predictor.channels)
    result = forecast(predictor, clip, args.context, args.horizon, mode=args.mode)
    frames = render.side_by_side(result.context, result.truth, result.prediction,
                                 teacher_forced=args.mode == "teacher_forced")
    write(frames, args.out, fps=args.fps)
    horizon = result.prediction.shape[0]
    print(f"{predictor.name} ({predictor.method}): {horizon} frames from "
          f"{result.context.shape[0]} in {result.seconds * 1000:.0f} ms -> {args.out}")
    if result.scored:
        print(f"mean MSE over {result.scored} frames with truth: model "
              f"{result.mean('model'):.1f} vs {result.baseline} {result.mean(result.baseline):.1f}")
        for who in ("model", result.baseline):
            print(f"  MSE per frame, {who}: "
                  + " ".join(f"{v:.1f}" for v in result.curves[who]["mse"]))
    for note in notes + result.notes:
        print(f"note: {note}")


def _evaluate(args) -> None:
    from frameprophet import evaluate
    from frameprophet.metrics import NAMES

    if (args.dataset is None) == (args.data is None):
        raise ValueError("evaluate takes --dataset squares|mnist|natural or --data PATH (your "
                         "own clips)")
    frames = args.n * ((args.context or 10) + (args.horizon or 10))
    if frames > MAX_CLIPS * 20:         # the benchmark's file: 10,000 clips of 20 frames
        raise ValueError(f"evaluate reads at most {MAX_CLIPS * 20:,} frames (--n clips of "
                         f"--context + --horizon frames each), not {frames:,}.")
    if args.data is not None:
        if not args.model:
            raise ValueError("evaluate --data needs a --model: the clips are read at its frame "
                             "size and colour")
        report = evaluate.run_videos(args.model, args.data, every_file=args.every_file, n=args.n,
                                     context=args.context, horizon=args.horizon, mode=args.mode)
    else:
        report = evaluate.run(args.model, args.dataset, n=args.n, context=args.context,
                              horizon=args.horizon, mode=args.mode,
                              split=args.split, file=args.file)
    width = max(len(name) for name in report["results"])
    keys = [k for k in NAMES if k in next(iter(report["results"].values()))]
    print(f"\n{report['dataset']} {report['context']}->{report['horizon']} {report['mode']}, "
          f"{report['clips']} clips ({report['split']}), means over the horizon")
    print(f"{'':{width}}  " + "  ".join(f"{k.upper():>8}" for k in keys))
    for name, entry in report["results"].items():
        print(f"{name:{width}}  " + "  ".join(f"{entry[k]['mean']:8.3f}" for k in keys))
    print("MSE per predicted frame:")
    for name, entry in report["results"].items():
        print(f"{name:{width}}  " + " ".join(f"{v:.1f}" for v in entry["mse"]["per_step"]))
    if args.json:
        evaluate.save_json(report, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        evaluate.plot(report, args.plot)
        print(f"wrote {args.plot}")


def _push(args) -> None:
    from frameprophet import hub

    print(hub.push(args.weights, args.repo_id, private=args.private, token=args.token))


def _pull(args) -> None:
    from frameprophet import hub

    print(hub.pull(args.repo_id))


def _space(args) -> None:
    from frameprophet import space

    folder = space.build_space(args.out)
    print(f"assembled the Space in {folder}")
    if args.repo_id:
        print(space.upload_space(folder, args.repo_id, token=args.token))


def _export(args) -> None:
    from frameprophet.export import SPEC_FILE, export

    spec = export(args.model, args.out, fmt=args.format)
    print(f"wrote {args.out}: one step of {spec['name']} ({spec['frame_size'][0]}x"
          f"{spec['frame_size'][1]}x{spec['channels']}, any batch) as {spec['graph']} + "
          f"{SPEC_FILE}; 10 -> 10 closed-loop rollout max |diff| to Keras "
          f"{spec['max_abs_diff']:.1g} (tolerance {spec['tolerance']:g})")


# Sizes a command accepts: a clip has at most MAX_FRAMES frames (context and prediction alike),
# and an evaluation at most as many clips as the benchmark's own test file holds.
MAX_CLIPS = 10_000


def count(low: int, high: int):
    """An argparse type for a whole number from `low` to `high`; argparse names the flag."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"takes a whole number from {low:,} to {high:,}, not {text[:20]!r}")
        return value
    return parse


def frames_per_second(text: str) -> float:
    """An argparse type for --fps: from 0.1 to 60 frames a second."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.1 <= value <= 60:          # NaN and inf fail this too
        raise argparse.ArgumentTypeError(f"takes a number from 0.1 to 60, not {text[:20]!r}")
    return value


def parser() -> argparse.ArgumentParser:
    from frameprophet.io.limits import MAX_FRAMES

    p = argparse.ArgumentParser(prog="python -m frameprophet", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    m = sub.add_parser("models", help="the model names and datasets known here")
    m.set_defaults(func=_models)

    t = sub.add_parser("train", help="train a recipe on generated data or your own clips")
    from frameprophet.train import add_arguments

    add_arguments(t)
    t.set_defaults(func=_train)

    a = sub.add_parser("average", help="average the weights of the ends of runs that continue "
                       "one another (stochastic weight averaging)")
    a.add_argument("models", nargs="+", help="earlier runs' .keras files, then the newest")
    a.add_argument("--out", required=True, help="the averaged model's .keras file")
    a.set_defaults(func=_average)

    pr = sub.add_parser("predict", help="predict a clip and write a side-by-side GIF")
    pr.add_argument("input", help="squares:SEED, mnist:SEED, natural:SEED, or a "
                    "GIF/MP4/WebM/NPY/ZIP file")
    pr.add_argument("--model", default="mnist")
    pr.add_argument("--context", type=count(1, MAX_FRAMES), default=10)
    pr.add_argument("--horizon", type=count(1, MAX_FRAMES), default=10)
    pr.add_argument("--mode", choices=MODES, default="closed_loop")
    pr.add_argument("--fps", type=frames_per_second, default=4)
    pr.add_argument("--out", default="prediction.gif", help=".gif or .mp4")
    pr.set_defaults(func=_predict)

    e = sub.add_parser("evaluate", help="metrics per horizon step on the held-out test split")
    e.add_argument("--model", action="append", default=[], help="repeat for several models")
    e.add_argument("--dataset", choices=list(DATASETS), default=None)
    e.add_argument("--data", default=None, help="your own clips instead of --dataset: a folder "
                   "or glob; scores the files training holds out of it (see --every-file)")
    e.add_argument("--every-file", action="store_true",
                   help="--data: score the windows of every file, not only the held-out ones")
    e.add_argument("--n", type=count(1, MAX_CLIPS), default=1000, help="test clips")
    e.add_argument("--context", type=count(1, MAX_FRAMES), default=None)
    e.add_argument("--horizon", type=count(1, MAX_FRAMES), default=None)
    e.add_argument("--mode", choices=MODES, default="closed_loop")
    e.add_argument("--split", choices=["test", "train"], default="test",
                   help="mnist: the held-out digits (test) or the same clips made from the "
                        "training digits (train)")
    e.add_argument("--file", default=None,
                   help="mnist: score the first --n sequences of the benchmark's "
                        "mnist_test_seq.npy ((20, N, 64, 64) uint8) instead of generated clips")
    e.add_argument("--json", default=None)
    e.add_argument("--plot", default=None)
    e.set_defaults(func=_evaluate)

    pu = sub.add_parser("push", help="publish a .keras file, its sidecar and a card to the Hub")
    pu.add_argument("weights")
    pu.add_argument("repo_id")
    pu.add_argument("--private", action="store_true")
    pu.add_argument("--token", default=None, help="default: HF_TOKEN or the saved login")
    pu.set_defaults(func=_push)

    pl = sub.add_parser("pull", help="download a model repo into the Hugging Face cache")
    pl.add_argument("repo_id")
    pl.set_defaults(func=_pull)

    ex = sub.add_parser("export", help="export a stepwise model's one-frame step for ONNX "
                        "Runtime (run it with frameprophet.runtime, no TensorFlow)")
    ex.add_argument("model", help="a path, a short name in weights/ or hf://owner/repo")
    ex.add_argument("--format", choices=["onnx", "tflite"], default="onnx")
    ex.add_argument("--out", required=True, help="the folder to write")
    ex.set_defaults(func=_export)

    sp = sub.add_parser("space", help="assemble (and optionally upload) a Hugging Face Space")
    sp.add_argument("--out", default="space_build")
    sp.add_argument("--repo-id", default=None)
    sp.add_argument("--token", default=None)
    sp.set_defaults(func=_space)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        import keras  # noqa: F401  (an unknown KERAS_BACKEND fails here, in Keras' own words)
    except ValueError as e:
        print(f"error: {e} (KERAS_BACKEND may be tensorflow, jax or torch)", file=sys.stderr)
        return 2
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, OSError, RuntimeError) as e:   # ClipError, ModelFileError are ValueErrors
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
