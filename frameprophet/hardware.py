"""The machine-dependent choices of a run, in one place: which GPUs Keras sees, the dtype policy
(`--precision`), the distribution (`--strategy`) and the machine in a line for the card."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

import keras

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
STRATEGIES = ("data-parallel",)


def _cpuinfo(field: str) -> str:
    """The value of the first `field` line of /proc/cpuinfo ('' off Linux or without one)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    line = next((ln for ln in text.splitlines() if ln.partition(":")[0].strip() == field), "")
    return line.partition(":")[2].strip()


def _cpu_flags() -> set[str]:
    return set(_cpuinfo("flags").split())


def accelerators() -> list[str]:
    """The GPUs Keras' backend sees, e.g. ['gpu:0'] ([] on a CPU-only machine)."""
    try:
        return [d for d in keras.distribution.list_devices() if "cpu" not in d.lower()]
    except Exception:       # a backend without device listing: assume none
        return []


def check_choices(strategy: str | None, precision: str) -> None:
    """Refuse a `--strategy` or a `--precision` this machine cannot run. The precision is only
    named here: a run of several processes asks for the devices after it joins the others."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    check_strategy(strategy)


def resolve_precision(precision: str) -> str:
    """The dtype policy for `--precision`: bfloat16 only where the hardware runs it fast."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    fast_bf16 = bool(accelerators()) or bool({"amx_bf16", "avx512_bf16"} & _cpu_flags())
    if precision == "auto":
        return "mixed_bfloat16" if fast_bf16 else "float32"
    if precision == "mixed_bfloat16" and not fast_bf16:
        raise ValueError("mixed_bfloat16 needs a GPU or a CPU with AMX or AVX512-BF16, and this "
                         "machine has neither: use --precision float32 (or auto)")
    return precision


def hardware() -> str:
    """The machine in a line, for the card."""
    gpus = accelerators()
    bf16 = sorted({"amx_bf16", "avx512_bf16"} & _cpu_flags())
    # The model name too: two hosts with the same flags (an AMD EPYC and an Intel Xeon, both
    # AVX512-BF16) train the shipped model 2.5x apart, and the card's seq/s should say why.
    model = _cpuinfo("model name")
    cpu = (f"{model + ', ' if model else ''}{platform.machine()}, {os.cpu_count()} CPU cores"
           + (f" ({', '.join(bf16)})" if bf16 else ""))
    where = f"{len(gpus)} GPU(s) + {cpu}" if gpus else f"CPU only ({cpu})"
    return f"{where}; Keras {keras.__version__} on {keras.backend.backend()}"


def check_strategy(strategy: str | None) -> list[str]:
    """The GPUs `--strategy` trains on ([] without one); refuses one this machine cannot run."""
    if strategy in (None, ""):
        return []
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)} or omitted, "
                         f"got {strategy!r}")
    gpus = accelerators()
    if not gpus:
        raise ValueError("--strategy data-parallel needs GPUs and this machine has none "
                         f"(devices: {', '.join(keras.distribution.list_devices())}); drop it")
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ValueError(f"--strategy data-parallel runs under JAX or TensorFlow, not {backend}")
    return gpus


def distribution_scope(strategy: str | None):
    """A context in which to build the model for `--strategy` (a no-op without one)."""
    gpus = check_strategy(strategy)
    if not gpus:
        return contextlib.nullcontext()
    if keras.backend.backend() == "jax":
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=gpus))
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.distribute.MirroredStrategy().scope()
