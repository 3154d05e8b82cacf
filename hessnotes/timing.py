"""Timing tools for the chapters and benchmarks: wall-clock times that survive a busy machine.

* :func:`best_of`: the smallest time of repeated calls, robust to a busy machine;
* :func:`best_time`: the best of several *means* of many calls, for calls too fast to time one by
  one (:func:`mean_times` gives all of them, for a spread);
* :func:`torch_threads`: run a block with a given number of torch threads, restored afterwards;
* :func:`loglog_slope`: the fitted exponent ``p`` in ``y ~ c x^p`` (the library's one slope fit,
  from :mod:`hessnotes._linalg`), for times against sizes and errors against steps.

A tool: it imports nothing of the library's domains. Timings of the book's algorithms are in
:mod:`hessnotes.costs` (``time_vs_dimension`` moved there; ``hessnotes.timing.time_vs_dimension``
still works). Timings are for figures and benchmarks; the tests never assert on them.

Chapters: "Finite differences done right", "Second derivatives and Newton's method",
"Differentiating through an ODE", "Derivatives of random functions", "The secant equations", "Exact
curvature", "High dimensions".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from hessnotes._linalg import check_positive_int, check_tol, loglog_slope

__all__ = ["best_of", "best_time", "loglog_slope", "mean_times", "torch_threads"]


def best_of(f: Callable[[], object], k: int = 5, *, budget: float = 0.0) -> float:
    """Smallest wall-clock time in seconds of repeated calls of ``f``: robust to a busy machine.

    Calls ``f`` at least ``k`` times, and keeps calling (up to 100 times) while less than
    ``budget`` seconds have been spent, so that fast calls get many chances to run undisturbed.

    Raises:
        ValueError: if ``k < 1``.
    """
    check_positive_int(k, "k")
    best, spent, calls = math.inf, 0.0, 0
    while calls < k or (spent < budget and calls < 100):
        t0 = time.perf_counter()
        f()
        dt = time.perf_counter() - t0
        best, spent, calls = min(best, dt), spent + dt, calls + 1
    return best


def mean_times(f: Callable[[], object], *, repeat: int = 3, min_time: float = 2e-3) -> list[float]:
    """``repeat`` measurements of the mean time of ``f()`` in seconds.

    Each measurement calls ``f`` often enough to last about ``min_time``, after one warm-up call
    (which also sets that number), so fast calls are not dominated by the clock's resolution.

    Raises:
        ValueError: if ``repeat < 1`` or ``min_time`` is negative or not finite.
    """
    check_positive_int(repeat, "repeat")
    check_tol(min_time, "min_time")
    t0 = time.perf_counter()
    f()
    number = max(1, math.ceil(min_time / max(time.perf_counter() - t0, 1e-9)))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            f()
        times.append((time.perf_counter() - t0) / number)
    return times


def best_time(f: Callable[[], object], *, repeat: int = 3, min_time: float = 2e-3) -> float:
    """Best over ``repeat`` measurements of the mean time of ``f()`` in seconds (see
    :func:`mean_times`).

    Raises:
        ValueError: if ``repeat < 1`` or ``min_time`` is negative or not finite.
    """
    return min(mean_times(f, repeat=repeat, min_time=min_time))


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
