#!/usr/bin/env bash
# Issue 55's goal on a world FrameProphet never saw: 48 short colour clips (24 GIF, 24 MP4, two
# source sizes) of coloured discs on circular orbits over a slowly turning colour ground; 8 CPU
# minutes of `train --data`; then the closed-loop 10 -> 10 MSE on the held-out files' windows
# must be at most 0.6 x copy-last's. Exits 0 when the goal is met, 1 when not.
# Needs the machine to itself (the rate is part of the claim).
# Usage: bash bench/own_videos.sh            (MINUTES=8 SIZE=32 OUT=runs/own_videos)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
MINUTES=${MINUTES:-8}
SIZE=${SIZE:-32}
OUT=${OUT:-runs/own_videos}
mkdir -p "$OUT"
$PY - "$OUT/clips" <<'PY'
import sys
from pathlib import Path

import numpy as np

from frameprophet.io import write_gif, write_mp4

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(55)
for i in range(48):
    side = 64 if i % 2 else 96                      # GIFs 64x64, MP4s 96x96 (fitted on read)
    yy, xx = np.mgrid[0:side, 0:side] / side
    discs = rng.integers(1, 4)
    centre = rng.uniform(0.35, 0.65, (discs, 2))
    radius = rng.uniform(0.12, 0.3, discs)
    speed = rng.uniform(0.15, 0.45, discs) * rng.choice([-1, 1], discs)    # radians a frame
    phase = rng.uniform(0, 2 * np.pi, discs)
    colour = rng.uniform(0.35, 1.0, (discs, 3))
    hue = rng.uniform(0, 2 * np.pi)
    frames = []
    for t in range(40):
        turn = hue + 0.05 * t                       # the ground's colours turn slowly
        frame = 0.15 + 0.1 * np.stack([np.sin(turn + 3 * xx), np.sin(turn + 2 + 3 * yy),
                                       np.sin(turn + 4 + 3 * (xx + yy) / 2)], axis=-1)
        for k in range(discs):
            y = centre[k, 0] + radius[k] * np.sin(phase[k] + speed[k] * t)
            x = centre[k, 1] + radius[k] * np.cos(phase[k] + speed[k] * t)
            frame[(yy - y) ** 2 + (xx - x) ** 2 < 0.07 ** 2] = colour[k]
        frames.append(frame)
    clip = np.clip(np.stack(frames), 0, 1).astype(np.float32)
    if i % 2:
        write_gif(clip, out / f"orbit_{i:02d}.gif", fps=12)
    else:
        write_mp4(clip, out / f"orbit_{i:02d}.mp4", fps=12)
print(f"wrote 48 clips to {out}")
PY
$PY -m frameprophet train --data "$OUT/clips" --frame-size "$SIZE" --minutes "$MINUTES" \
  --out "$OUT/own_videos.keras" --run-dir "$OUT/run" --note "bench/own_videos.sh"
$PY -m frameprophet evaluate --model "$OUT/own_videos.keras" --data "$OUT/clips" \
  --json "$OUT/eval.json" --plot "$OUT/eval.png"
$PY - "$OUT/eval.json" <<'PY'
import json
import sys

results = json.load(open(sys.argv[1]))["results"]
model, copy = results["own_videos"]["mse"]["mean"], results["copy last frame"]["mse"]["mean"]
ratio = model / copy
print(f"held-out closed-loop 10 -> 10 MSE: model {model:.1f}, copy-last {copy:.1f}, "
      f"ratio {ratio:.3f} (goal <= 0.6): {'met' if ratio <= 0.6 else 'NOT met'}")
sys.exit(0 if ratio <= 0.6 else 1)
PY
