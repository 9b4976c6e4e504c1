"""Training throughput with `train_on_batch`: the shipped recipe (fused cell, the precision
`train` picks here) against Keras' ConvLSTM2D cell and the Keras 3 example's recipe; and the
ceiling that this CPU puts on the precision's share (`gates_conv`)."""

from __future__ import annotations

import functools

from bench.timing import RESULTS, median_time, record, value


@functools.cache
def shipped_shape() -> dict:
    """The shipped mnist model's size (patch, hidden, depth, kernel): the training figures are
    for the model users get, and "the same size" is its size."""
    from frameprophet import saving

    model, _ = saving.load(saving.WEIGHTS_DIR / "mnist.keras")
    return {key: getattr(model, key) for key in ("patch", "hidden", "depth", "kernel")}


def training_throughput() -> None:
    """Sequences/s after warm-up of each recipe; the compute rate is sequences/s x parameters,
    so recipes of different sizes compare."""
    import keras

    from frameprophet import data, models
    from frameprophet.hardware import resolve_precision

    print("training throughput (sequences/s, train_on_batch after warm-up)", flush=True)
    precision = resolve_precision("auto")
    shape = shipped_shape()
    fused = {**shape, "cell": "fused"}
    cases = [("prophet", "prophet", fused, precision, 16, 4)]
    if precision != "float32":   # splits the compute-rate gain into the cell's and the precision's
        cases.append(("prophet_float32", "prophet", fused, "float32", 16, 4))
    cases += [("prophet_keras_cell", "prophet", {**shape, "cell": "keras"}, "float32", 16, 4),
              ("keras3-mnist", "keras3-mnist", {}, "float32", 5, 2)]
    for name, recipe, options, policy, batch, steps in cases:
        keras.config.set_dtype_policy(policy)
        model = models.build(recipe, (64, 64), **options)
        if recipe == "prophet":
            model.feedback.assign(0.5)                  # the scheduled-sampling objective
        x, y = data.make_pairs("mnist", batch, 20, seed=0)
        seconds = median_time(lambda m=model, x=x, y=y: m.train_on_batch(x, y), repeats=steps)
        record(f"train_{name}_seq_per_s", batch / seconds, "seq/s",
               f"training {name} ({policy}, batch {batch} x 19 frames, "
               f"{model.count_params():,} parameters)")
        RESULTS[f"train_{name}_seq_per_s"]["parameters"] = int(model.count_params())
    keras.config.set_dtype_policy("float32")

    def rate(name):
        r = RESULTS[f"train_{name}_seq_per_s"]
        return r["value"] * r["parameters"]

    record("train_cell_speedup", rate("prophet") / rate("prophet_keras_cell"), "x",
           f"training compute rate, shipped recipe ({precision}, fused cell) vs Keras "
           "ConvLSTM2D cell in float32, same size")
    if precision != "float32":
        record("train_fused_cell_speedup", rate("prophet_float32") / rate("prophet_keras_cell"),
               "x", "of which the fused cell (both float32)")
        record("train_precision_speedup", rate("prophet") / rate("prophet_float32"), "x",
               f"of which {precision} (both the fused cell)")
    record("train_speedup", value("train_prophet_seq_per_s")
           / value("train_keras3-mnist_seq_per_s"), "x",
           "training sequences/s, prophet vs keras3-mnist")
    if precision != "float32":
        gates_conv(precision)


def gates_conv(precision: str) -> None:
    """The ceiling of `train_precision_speedup` on this CPU: the fused cell's gates convolution
    (concat(x, h) -> 4 x hidden, 3x3 at the shipped model's grid, ~90% of a training step's
    FLOPs) alone, float32 against `precision`. Where bfloat16 runs on AVX512-BF16 (no AMX) it is
    about twice float32 at best (2.05x, 438 vs 213 GFLOP/s, on a 2-core AMD EPYC), so with the
    fused cell's ~1.05x the compute-rate goal of 2.5x is out of reach on such a CPU: even with
    nothing but the convolutions left, the ratio would be ~2.47x there. Fewer FLOPs per
    convolution do not come cheap either: Winograd F(2x2, 3x3) written in `keras.ops` (exact to
    7e-6 in float32) took 269 ms forward + backward against the direct convolution's 44 ms at
    this size in bfloat16: its tile transforms are memory-bound elementwise ops."""
    import keras
    import numpy as np

    shape = shipped_shape()
    hidden, kernel, grid = shape["hidden"], shape["kernel"], 64 // shape["patch"]
    x = np.random.default_rng(0).random((64, grid, grid, 2 * hidden), dtype=np.float32)
    flops = 2 * x.shape[0] * grid * grid * kernel * kernel * 2 * hidden * 4 * hidden
    speed = {}
    for policy in ("float32", precision):
        conv = keras.layers.Conv2D(4 * hidden, kernel, padding="same", dtype=policy)
        inputs = keras.ops.convert_to_tensor(x, dtype=conv.compute_dtype)
        speed[policy] = flops / median_time(lambda c=conv, i=inputs: c(i), repeats=7, warmup=2)
        record(f"gates_conv_{policy}_gflops", speed[policy] / 1e9, "GFLOP/s",
               f"the cell's gates convolution alone ({policy}, 64 x {grid}x{grid}x{2 * hidden} "
               f"-> {4 * hidden}, {kernel}x{kernel})")
    record("gates_conv_precision_speedup", speed[precision] / speed["float32"], "x",
           f"{precision} vs float32 on that convolution alone: the ceiling of "
           "train_precision_speedup on this CPU")
