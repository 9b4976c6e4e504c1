"""Training as `train` runs it, through `model.fit` on a PyDataset: TensorFlow's malloc patch
against `RestoreMallocThresholds`, and a folder of one's own clips against generated MNIST."""

from __future__ import annotations

import time
from pathlib import Path

from bench.timing import median_time, record, value
from bench.training import shipped_shape


def _shipped_size_model(channels: int = 1):
    """A new prophet of the shipped model's size in the precision `train` picks here, with the
    scheduled-sampling objective on; and that precision."""
    import keras

    from frameprophet import models
    from frameprophet.hardware import resolve_precision

    precision = resolve_precision("auto")
    keras.config.set_dtype_policy(precision)
    model = models.build("prophet", (64, 64), channels=channels, **shipped_shape())
    keras.config.set_dtype_policy("float32")
    model.feedback.assign(0.5)
    return model, precision


def training_through_fit() -> None:
    """Sequences/s through fit, first with TensorFlow's from_generator malloc patch in place,
    then with `RestoreMallocThresholds` undoing it. TensorFlow applies the patch once per
    process, at the first generator run, so the order measures both."""
    from frameprophet.callbacks import RestoreMallocThresholds
    from frameprophet.train import SequenceBatches

    print("training through fit (sequences/s after warm-up)", flush=True)
    model, precision = _shipped_size_model()
    batch, steps = 16, 3
    model.fit(SequenceBatches("mnist", batch, 1, frames=20), verbose=0)   # traces; patches
    for key, callbacks, label in [
            ("fit_patched", [], "TensorFlow's malloc patch in place"),
            ("fit", [RestoreMallocThresholds()], "malloc thresholds restored, as `train` runs")]:
        batches = SequenceBatches("mnist", batch, steps, frames=20)
        seconds = median_time(lambda b=batches, c=callbacks: model.fit(b, verbose=0, callbacks=c),
                              repeats=3, warmup=0)
        record(f"train_{key}_seq_per_s", batch * steps / seconds, "seq/s",
               f"training prophet through fit ({precision}, batch {batch}), {label}")
    record("train_fit_speedup", value("train_fit_seq_per_s") / value("train_fit_patched_seq_per_s"),
           "x", "training through fit, malloc thresholds restored vs TensorFlow's patch")


def training_on_own_videos() -> None:
    """Training on a folder of one's own clips is as fast as on generated Moving MNIST: the data
    path (windows cut from the decode-once cache) is not the bottleneck. The same colour model
    goes through `fit` on each source, side by side: 48 orbit clips (`bench.orbits`, GIF and
    MP4, decoded once) and MNIST batches made grey-to-colour on the fly."""
    import tempfile

    import numpy as np

    from bench.orbits import write_orbits
    from frameprophet import videos
    from frameprophet.callbacks import RestoreMallocThresholds
    from frameprophet.train import SequenceBatches

    class ColourMnist(SequenceBatches):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return np.repeat(x, 3, axis=-1), np.repeat(y, 3, axis=-1)

    print("training on your own clips vs generated MNIST (sequences/s through fit)", flush=True)
    model, precision = _shipped_size_model(channels=3)
    batch, steps = 16, 3
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        found = videos.load(write_orbits(Path(tmp) / "clips"), (64, 64), 10, 10,
                            cache=Path(tmp) / "cache", say=None)
        record("own_videos_decode_s", time.perf_counter() - started, "s",
               "writing and decoding 48 clips (24 GIF, 24 MP4) into the cache, once")
        sources = {"own_videos": lambda: found.batches(batch, steps, seed=1),
                   "mnist_colour": lambda: ColourMnist("mnist", batch, steps, frames=20)}
        model.fit(sources["mnist_colour"](), verbose=0)        # traces
        for key, make in sources.items():
            seconds = median_time(lambda m=make: model.fit(m(), verbose=0,
                                                           callbacks=[RestoreMallocThresholds()]),
                                  repeats=3, warmup=1)
            record(f"train_{key}_seq_per_s", batch * steps / seconds, "seq/s",
                   f"training a colour prophet through fit ({precision}, batch {batch}) on "
                   + ("48 orbit clips" if key == "own_videos" else "generated MNIST"))
    record("train_own_videos_rate", value("train_own_videos_seq_per_s")
           / value("train_mnist_colour_seq_per_s"), "x",
           "training rate on your own clips vs on generated MNIST, same model (goal >= 0.8)")
