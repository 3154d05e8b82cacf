"""Timing helpers for the chapters and benchmarks: wall-clock times that survive a busy machine.

* :func:`best_of`: the smallest time of repeated calls, robust to a busy machine;
* :func:`best_time`: the best of several *means* of many calls, for calls too fast to time one by
  one;
* :func:`torch_threads`: run a block with a given number of torch threads, restored afterwards;
* :func:`time_vs_dimension`: :func:`~hessnotes.secant.least_norm_hessian` against the dense
  formula :func:`~hessnotes.references.dense_least_norm` over a range of D;
* :func:`loglog_slope`: the fitted exponent p in ``time ~ c D^p``.

Timings are for figures and benchmarks; the tests never assert on them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

__all__ = ["best_of", "best_time", "loglog_slope", "torch_threads"]


def best_of(f: Callable[[], object], k: int = 5, *, budget: float = 0.0) -> float:
    """Smallest wall-clock time in seconds of repeated calls of ``f``: robust to a busy machine.

    Calls ``f`` at least ``k`` times, and keeps calling (up to 100 times) while less than
    ``budget`` seconds have been spent, so that fast calls get many chances to run undisturbed.

    Raises:
        ValueError: if ``k < 1``.
    """
    if k < 1:
        raise ValueError(f"k={k} must be at least 1.")
    best, spent, calls = math.inf, 0.0, 0
    while calls < k or (spent < budget and calls < 100):
        t0 = time.perf_counter()
        f()
        dt = time.perf_counter() - t0
        best, spent, calls = min(best, dt), spent + dt, calls + 1
    return best


def best_time(f: Callable[[], object], *, repeat: int = 3, min_time: float = 2e-3) -> float:
    """Best over ``repeat`` measurements of the mean time of ``f()`` in seconds.

    Each measurement calls ``f`` often enough to last about ``min_time``, after one warm-up call
    (which also sets that number), so fast calls are not dominated by the clock's resolution.

    Raises:
        ValueError: if ``repeat < 1`` or ``min_time < 0``.
    """
    if repeat < 1 or min_time < 0:
        raise ValueError(f"repeat={repeat} must be >= 1 and min_time={min_time} >= 0")
    t0 = time.perf_counter()
    f()
    number = max(1, math.ceil(min_time / max(time.perf_counter() - t0, 1e-9)))
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            f()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` (``None``: unchanged); restore afterwards."""
    old = torch.get_num_threads()
    try:
        if n is not None:
            torch.set_num_threads(n)
        yield
    finally:
        torch.set_num_threads(old)


def loglog_slope(x: Any, y: Any, *, xmin: float = 0.0) -> float:
    """Least-squares slope of ``log y`` against ``log x`` over the finite points with x >= xmin.

    Raises:
        ValueError: fewer than two usable points.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y) & (x >= xmin) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        raise ValueError(
            f"need at least two finite positive points with x >= {xmin}; got {ok.sum()}."
        )
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])
