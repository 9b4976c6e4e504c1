"""Regenerate the README scoreboard from measured files (never typed by hand).

Reads bench/results/ (eval_mnist.json and eval_squares.json from `make evaluate`, robustness.json
from `make robustness`, timings.json from `make bench`) and the weights' sidecars, and rewrites the
part of README.md between the `<!-- scoreboard:start -->` and `<!-- scoreboard:end -->` markers.

    python -m bench.release.scoreboard        # make scoreboard
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.timing import RESULTS_DIR, markdown
from frameprophet import evaluate, metrics, saving
from frameprophet.card import training_budget

ROOT = Path(__file__).resolve().parents[2]

ABLATIONS = "bench/experiments/ablation/"     # where ablation models are kept
START, END = "<!-- scoreboard:start -->", "<!-- scoreboard:end -->"

OPENSTL = [  # Moving MNIST 10->10 as OpenSTL publishes it (protocol: `openstl_section`)
    ("ConvLSTM-S (15.0M params)", 29.80, 90.64, 0.9288),
    ("PredRNN (23.8M)", 23.97, 72.82, 0.9462),
    ("SimVP-gSTA (46.8M)", 26.69, 77.19, 0.9402),
    ("TAU (44.7M)", 24.60, 71.93, 0.9454),
]


def load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def sidecar(model: str) -> dict:
    """The sidecar of an evaluated model (a short name or a path), resolved as everywhere else."""
    try:
        return saving.read_sidecar(saving.resolve(model))
    except saving.ModelFileError:
        return {}


def eval_table(report: dict) -> list[str]:
    keys = [k for k in (*metrics.NAMES, "ssim_openstl")
            if k in next(iter(report["results"].values()))]
    heads = {"ssim_openstl": "SSIM (OpenSTL's)"}
    lines = ["| model | trained | clips | " + " | ".join(heads.get(k, k.upper()) for k in keys)
             + " |",
             "|---|---|---|" + "---|" * len(keys)]
    for name, entry in report["results"].items():
        trained = "—"
        if side := sidecar(entry.get("model", name)):
            objective = ("closed-loop" if side.get("training", {}).get("feedback", 0.0) > 0
                         else "one-step")
            trained = f"{side.get('recipe')}, {objective}, {training_budget(side)}"
        cells = " | ".join(f"{entry[k]['mean']:.3f}" if k in ("ssim", "iou", "ssim_openstl")
                           else f"{entry[k]['mean']:.1f}" for k in keys)
        lines.append(f"| {name} | {trained} | {entry.get('clips', report['clips'])} | "
                     f"{cells} |")
    fewer = [f"`{name}`" for name, entry in report["results"].items()
             if entry.get("clips", report["clips"]) != report["clips"]]
    if fewer:
        lines += ["", f"{', '.join(fewer)}: fewer clips (its own set, from the same generator "
                  "and seed), because its O(T^2) prediction is slow; its means are noisier than "
                  "the other rows'."]
    ablations = [name for name, entry in report["results"].items()
                 if entry.get("model", "").startswith(ABLATIONS)]
    if ablations:
        lines += ["", f"{', '.join(f'`{n}`' for n in ablations)}: ablation kept in "
                  f"`{ABLATIONS}`, the same recipe and data as the shipped model; the "
                  "*trained* column shows what differs."]
    return lines


def openstl_section(mnist: dict) -> list[str]:
    """OpenSTL's published table under its own protocol, and ours beside it: the same
    generator, but not the same budget, data or SSIM reading."""
    lines = ["OpenSTL's published Moving MNIST 10 -> 10 results, **their protocol**: the "
             "benchmark file `mnist_test_seq.npy` (10,000 sequences; our `evaluate --file` "
             "scores it), models trained on movies of digits from the 60,000-digit MNIST train "
             "split, 200 epochs of 10,000 sequences (~2M sequences seen) on a V100. Their SSIM is "
             "skimage's on float frames with its old default data range of 2, which reads "
             "higher than ours (range 1): compare their SSIM with our *SSIM (OpenSTL's)* column.",
             "", "| OpenSTL model | MSE | MAE | SSIM (OpenSTL's) |", "|---|---|---|---|"]
    lines += [f"| {n} | {a} | {b} | {c} |" for n, a, b, c in OPENSTL] + [""]
    ours = mnist["results"].get("mnist")
    side = sidecar("mnist")
    if ours and side:
        from frameprophet.predict import load_predictor

        model = load_predictor("mnist").model
        steps = mnist["context"] + mnist["horizon"] - 1
        macs = model.multiply_adds(frames=steps) / 1e9
        t = side.get("training", {})
        lines += [f"Ours, `mnist`: {model.count_params() / 1e6:.2f}M parameters, "
                  f"{macs:.1f}G multiply-adds per 10 -> 10 sample ({steps} steps, counted from "
                  f"the convolution kernels), {t.get('sequences_seen'):,} training sequences "
                  f"from MNIST's 4,000 digits of classes 0-7 on 2-core CPUs; MSE "
                  f"{ours['mse']['mean']:.1f}, SSIM {ours['ssim']['mean']:.3f} (ours) / "
                  f"{ours.get('ssim_openstl', {}).get('mean', float('nan')):.3f} (OpenSTL's) "
                  "on held-out 8s and 9s.", ""]
    return lines


def eval_section(report: dict, title: str, clips: str, frames: str = "") -> list[str]:
    """One evaluation report's heading ("**title, C -> H frames`frames`, mode**, `clips`")
    and its table."""
    return [f"**{title}, {report['context']} -> {report['horizon']} frames{frames}, "
            f"{report['mode'].replace('_', '-')}**, {clips}", "", *eval_table(report), ""]


def natural_section() -> list[str]:
    """Pictures in motion (eval_natural.json, robustness_natural.json) and real footage
    (real_footage.json), where measured."""
    parts = []
    natural = load(RESULTS_DIR / "eval_natural.json")
    if natural:
        parts += eval_section(natural, "Pictures in motion",
                              f"on {natural['clips']} generated test clips ({natural['split']}, "
                              f"seed {natural['seed']}), colour 64x64; MSE/MAE summed over the "
                              "pixels and channels.")
    robust = load(RESULTS_DIR / "robustness_natural.json")
    if robust:
        parts += [f"**Robustness, pictures in motion**: {robust['clips']} clips per world "
                  "(held-out pictures unless the row says otherwise), MSE / SSIM.", ""]
        parts += evaluate.robustness_table(robust) + [""]
    real = load(RESULTS_DIR / "real_footage.json")
    if real:
        parts += [f"**Real footage** (never seen in training; {real['protocol']}): MSE as a "
                  "share of copy-last's, and SSIM (copy-last's in brackets). "
                  "`python -m bench.release.real_footage FOLDER --json "
                  "bench/results/real_footage.json` (see its docstring for the films).", ""]
        for name, row in real["models"].items():
            films = ", ".join(f"{film} {r['ratio']:.2f} ({r['ssim']:.3f} / "
                              f"{r['copy_last_ssim']:.3f})" for film, r in row["films"].items())
            parts += [f"- `{name}`: mean {row['mean_ratio']:.2f}, worst "
                      f"{row['worst_ratio']:.2f}; {films}"]
        parts += [""]
    return parts


def build() -> str:
    parts = [START, ""]
    mnist = load(RESULTS_DIR / "eval_mnist.json")
    if mnist:
        parts += eval_section(mnist, "Moving MNIST",
                              f"on {mnist['clips']} generated test clips of the "
                              f"{mnist.get('generator', 'reflecting (old)')} generator "
                              f"({mnist['split']}, seed {mnist['seed']}); means over the horizon; "
                              "MSE/MAE summed over the 64x64 pixels.")
        parts += openstl_section(mnist)
    robust = load(RESULTS_DIR / "robustness.json")
    if robust:
        parts += [f"**Robustness**: closed loop {robust['context']} -> {robust['horizon']}, "
                  f"{robust['clips']} clips per world (held-out digits unless the row says "
                  f"otherwise, seed {robust['seed']}), MSE / SSIM; one change from the standard "
                  "test clips per row. Regenerate: `make robustness scoreboard`.", ""]
        parts += evaluate.robustness_table(robust) + [""]
    squares = load(RESULTS_DIR / "eval_squares.json")
    if squares:
        parts += eval_section(squares, "Moving squares",
                              f"{squares['clips']} test clips; IoU of the prediction thresholded "
                              "at 0.5 against the clean truth.", frames=" from noisy input")
    parts += natural_section()
    bench = load(RESULTS_DIR / "timings.json")
    if bench:
        parts += [markdown(bench), ""]
    parts += ["Regenerate: `make evaluate bench scoreboard`.", "", END]
    return "\n".join(parts)


def main() -> None:
    os.chdir(ROOT)                       # model paths in the reports are relative to the repo
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        sys.exit(f"README.md has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + build() + tail)
    print("README scoreboard updated")


if __name__ == "__main__":
    main()
