"""Lineage: a run that continues another (`--init`) and the average of a lineage's ends.

A model's sidecar lists the runs that led to its weights; `prior_runs` reads them, a
continuation keeps what its model last trained with (`continue_training`) and starts from its
weights (`start_from`) where they fit (`check_init`), and `average` writes the mean of the ends
of runs that continue one another.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import keras
import numpy as np

from frameprophet import models, saving
from frameprophet.card import training_runs, write_card


def continue_training(c, runs: list[dict]):
    """A run from `--init` keeps what its model was last trained with (the last of `runs`)
    unless told otherwise: (a prophet without `--loss`) the loss and its SSIM weight. They are
    written into this run's config, so the next continuation finds them too."""
    last = (runs or [{}])[-1].get("config", {})
    if c.recipe != "prophet" or c.loss or not last.get("loss"):
        return c
    options = {**{k: v for k, v in last.get("options", {}).items() if k == "ssim_weight"},
               **c.options}
    return dataclasses.replace(c, loss=last["loss"], options=options)


def check_init(source, options: dict, channels: int) -> None:
    """`--init` continues only where the weights fit: the same channels and patch."""
    have = getattr(source, "channels", 1)
    if have != channels:
        kinds = {1: "grey (1 channel)", 3: "colour (3 channels)"}
        raise ValueError(f"--init is a {kinds[have]} model and these clips are "
                         f"{kinds[channels]}, so its weights cannot continue on them; train "
                         "without --init, or start from a model of the same channels")
    if options.get("patch", source.patch) != source.patch:
        raise ValueError(f"--init cuts frames into {source.patch}x{source.patch} patches and "
                         f"--options asks for {options['patch']}: its weights fit only its own "
                         "patch; drop the patch option")


def start_from(model: keras.Model, source: keras.Model, seed: int | None = None) -> None:
    """Copy the weights of `source` into `model`; a Prophet narrower than `model`
    (`--options '{"hidden": 96}'`) is widened to the same function first (`models.widened`)."""
    if (isinstance(model, models.Prophet) and isinstance(source, models.Prophet)
            and model.hidden != source.hidden):
        source = models.widened(source, model.hidden, seed=seed)
    model.set_weights(source.get_weights())


def average(paths: list[str | os.PathLike], out: str | os.PathLike) -> dict:
    """Stochastic weight averaging over the ends of runs that continue one another: write to
    `out` the mean of the weights of `paths`, each an earlier run's model of the last one's
    lineage (`--init` chains), and return its sidecar.

    Every continuation is a new cosine cycle that ends near its own point of the same basin;
    the mean of those points tends to lie lower in it than any one of them (Izmailov et al.,
    2018, "Averaging Weights Leads to Wider Optima"). Prophet's LayerNorms keep no batch
    statistics, so the mean needs nothing recomputed. The sidecar is the newest model's, its
    last run noting which runs' ends were averaged in, and carries no held-out metrics: the
    average has not been evaluated (`make ship` does that).
    """
    paths = [Path(p) for p in paths]
    out = Path(out)
    if len(paths) < 2:
        raise ValueError("average needs at least two model files: the ends of earlier runs, "
                         "then the newest")
    if out.suffix != ".keras" or any(out.resolve() == p.resolve() for p in paths):
        raise ValueError(f"--out must name a new .keras file, not one being averaged: {out}")
    loaded = [saving.load(p) for p in paths]
    newest, meta = loaded[-1]
    runs = prior_runs(meta)["runs"]
    starts = [r.get("started") for r in runs]
    averaged_with = []
    for path, (model, side) in zip(paths[:-1], loaded[:-1], strict=True):
        own = [r.get("started") for r in prior_runs(side)["runs"]]
        if not own or None in own or len(own) >= len(starts) or starts[:len(own)] != own:
            raise saving.ModelFileError(
                f"{path}: not the end of an earlier run of {paths[-1]}; average only models "
                "that continue one another (--init), the newest last")
        if [w.shape for w in model.weights] != [w.shape for w in newest.weights]:
            raise saving.ModelFileError(f"{path}: its weights have other shapes than "
                                        f"{paths[-1]}'s")
        averaged_with.append({"run": len(own), "file": str(path), "sha256": side.get("sha256")})
    newest.set_weights([np.mean(ws, axis=0, dtype=np.float64).astype(ws[0].dtype)
                        for ws in zip(*(m.get_weights() for m, _ in loaded), strict=True)])
    runs = [*runs[:-1], {**runs[-1], "averaged_with": averaged_with}]
    info = {k: v for k, v in meta.items()
            if k not in ("recipe", "frame_size", "file", "sha256", "keras_version", "metrics")}
    info["training"] = {**info["training"], "runs": runs}
    meta = saving.save(newest, out, **info)
    write_card(out, meta)
    return meta


def prior_runs(sidecar: dict) -> dict:
    """What the sidecar of `--init` says about the runs that led to its weights."""
    runs = training_runs(sidecar)
    return {"runs": runs, "sequences": sum(r.get("sequences", 0) for r in runs),
            "feedback": float(sidecar.get("training", {}).get("feedback") or 0.0)}
