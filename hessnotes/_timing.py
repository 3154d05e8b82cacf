"""Private: wall-clock timing that survives a busy machine (best of several means)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

__all__ = ["best_time", "threads"]


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
def threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` (``None``: unchanged); restore afterwards."""
    old = torch.get_num_threads()
    try:
        if n is not None:
            torch.set_num_threads(n)
        yield
    finally:
        torch.set_num_threads(old)
