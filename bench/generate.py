"""How fast the generators make training clips (`data.moving_squares`, `data.moving_mnist`)."""

from __future__ import annotations

from bench.timing import median_time, record


def data_generation() -> None:
    """Sequences generated per second, 256 at a time."""
    from frameprophet import data

    print("data generation", flush=True)
    n = 256
    record("squares_per_s", n / median_time(lambda: data.moving_squares(n, seed=0)), "seq/s",
           "moving squares generated (15 x 40x40)")
    record("mnist_per_s", n / median_time(lambda: data.moving_mnist(n, seed=0)), "seq/s",
           "Moving MNIST generated (20 x 64x64)")
