"""Real footage: models against copy-last on films the models never saw.

    python -m bench.release.real_footage FOLDER --model natural --model mnist [--json out.json]

The protocol: each film in FOLDER (any clip `io.read_clip` reads) is fitted into
64x64 (aspect kept, black bars, as uploads are), every 3rd frame is kept, and windows of
10 context + 10 truth frames with stride 10 (at most 12 per film) are rolled out closed loop.
Per film: each model's mean MSE over copy-last's (the ratio), its SSIM, and whether its SSIM is
above copy-last's at every step. Grey models read the films as grey (their SSIM and MSE are
then on grey frames, and so are copy-last's of that row).

No film ships with FrameProphet. Films of these kinds (pedestrians from a fixed
camera, a tree, an animated film, a hand moving an object) are in Debian's `opencv-doc` package
(`/usr/share/doc/opencv-doc/examples/data/*.avi`, and `box.mp4.gz`, `cup.mp4.gz` in its html
folder). Measure with them; never tune to them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from frameprophet import io
from frameprophet.forecast import baseline
from frameprophet.metrics import evaluate
from frameprophet.predict import load_predictor

EVERY, CONTEXT, HORIZON, STRIDE, MOST = 3, 10, 10, 10, 12


def windows(clip: np.ndarray) -> np.ndarray:
    """Up to MOST windows of CONTEXT + HORIZON frames of every EVERY-th frame of `clip`."""
    clip, n = clip[::EVERY], CONTEXT + HORIZON
    starts = list(range(0, len(clip) - n + 1, STRIDE))[:MOST]
    return np.stack([clip[s:s + n] for s in starts]) if starts else clip[:0, :n]


def score(predictor, films: dict[str, np.ndarray]) -> dict:
    """Per film: the model's MSE over copy-last's, SSIM, and SSIM above copy-last's per step."""
    rows = {}
    for name, clip in films.items():
        clip = clip if predictor.channels == 3 else clip @ io.LUMA[:, None]
        w = windows(clip)
        if not len(w):
            continue
        ctx, truth = w[:, :CONTEXT], w[:, CONTEXT:]
        copy = evaluate(baseline(ctx, truth, HORIZON, "closed_loop"), truth)
        ours = evaluate(np.stack([predictor.rollout(c, HORIZON) for c in ctx]), truth)
        rows[name] = {"windows": len(w), "mse": float(ours["mse"].mean()),
                      "copy_last_mse": float(copy["mse"].mean()),
                      "ratio": float(ours["mse"].mean() / copy["mse"].mean()),
                      "ssim": float(ours["ssim"].mean()),
                      "copy_last_ssim": float(copy["ssim"].mean()),
                      "ssim_above_copy_last_every_step":
                          bool((ours["ssim"].mean(0) > copy["ssim"].mean(0)).all())}
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", help="a folder of films")
    p.add_argument("--model", action="append", default=None, help="default: natural")
    p.add_argument("--json", default=None, help="write the report here")
    args = p.parse_args()
    films = {}
    for path in sorted(Path(args.folder).iterdir()):
        try:
            films[path.name] = io.read_clip(path, frame_size=(64, 64), channels=3)
        except (io.ClipError, ValueError) as e:
            print(f"skipped {path.name}: {e}")
    report = {"protocol": f"64x64, every {EVERY}rd frame, {CONTEXT} -> {HORIZON} closed loop, "
                          f"windows with stride {STRIDE}, at most {MOST} per film",
              "models": {}}
    for name in args.model or ["natural"]:
        rows = score(load_predictor(name), films)
        ratios = [r["ratio"] for r in rows.values()]
        report["models"][name] = {"films": rows, "mean_ratio": float(np.mean(ratios)),
                                  "worst_ratio": float(max(ratios))}
        print(f"\n{name}: mean MSE / copy-last {np.mean(ratios):.3f}, worst {max(ratios):.3f}")
        for film, r in rows.items():
            print(f"  {film:24s} {r['windows']:3d} windows  ratio {r['ratio']:.3f}  SSIM "
                  f"{r['ssim']:.3f} (copy-last {r['copy_last_ssim']:.3f})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
