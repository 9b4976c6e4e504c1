"""A world FrameProphet never trained on: short colour clips of coloured discs on circular
orbits over a slowly turning colour ground, half GIF (64x64), half MP4 (96x96, fitted on read).
`bench/experiments/own_videos.sh` trains on them; `make bench` times the data path with them.

    python -m bench.orbits FOLDER [N]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def orbit_clip(rng: np.random.Generator, side: int, frames: int = 40) -> np.ndarray:
    """One (frames, side, side, 3) float32 clip in [0, 1]: 1-3 discs orbiting."""
    yy, xx = np.mgrid[0:side, 0:side] / side
    discs = rng.integers(1, 4)
    centre = rng.uniform(0.35, 0.65, (discs, 2))
    radius = rng.uniform(0.12, 0.3, discs)
    speed = rng.uniform(0.15, 0.45, discs) * rng.choice([-1, 1], discs)    # radians a frame
    phase = rng.uniform(0, 2 * np.pi, discs)
    colour = rng.uniform(0.35, 1.0, (discs, 3))
    hue = rng.uniform(0, 2 * np.pi)
    out = []
    for t in range(frames):
        turn = hue + 0.05 * t                       # the ground's colours turn slowly
        frame = 0.15 + 0.1 * np.stack([np.sin(turn + 3 * xx), np.sin(turn + 2 + 3 * yy),
                                       np.sin(turn + 4 + 3 * (xx + yy) / 2)], axis=-1)
        for k in range(discs):
            y = centre[k, 0] + radius[k] * np.sin(phase[k] + speed[k] * t)
            x = centre[k, 1] + radius[k] * np.cos(phase[k] + speed[k] * t)
            frame[(yy - y) ** 2 + (xx - x) ** 2 < 0.07 ** 2] = colour[k]
        out.append(frame)
    return np.clip(np.stack(out), 0, 1).astype(np.float32)


def write_orbits(folder: str | Path, n: int = 48, seed: int = 55) -> Path:
    """Write `n` clips into `folder`: odd ones GIF 64x64, even ones MP4 96x96."""
    from frameprophet.io import write_gif, write_mp4

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        clip = orbit_clip(rng, 64 if i % 2 else 96)
        writer, ext = (write_gif, "gif") if i % 2 else (write_mp4, "mp4")
        writer(clip, folder / f"orbit_{i:02d}.{ext}", fps=12)
    return folder


if __name__ == "__main__":
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 48
    print(f"wrote {n} clips to {write_orbits(sys.argv[1], n)}")
