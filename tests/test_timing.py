"""Tests of hessnotes.timing (behaviour only: no test asserts how fast anything is)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from hessnotes.timing import best_of, best_time, loglog_slope, mean_times, torch_threads


def test_best_of_and_loglog_slope():
    calls = []
    t = best_of(lambda: calls.append(time.sleep(0.001)), 3)
    assert len(calls) == 3 and 0.001 <= t < 1.0
    with pytest.raises(ValueError, match="k=0"):
        best_of(lambda: None, 0)
    calls.clear()
    best_of(lambda: calls.append(1), 1, budget=10.0)
    assert len(calls) == 100, "a budget buys more calls, at most 100"
    x = np.array([10.0, 100.0, 1000.0, np.nan])
    assert abs(loglog_slope(x, 3 * x**2.5) - 2.5) < 1e-12
    assert abs(loglog_slope(x, np.r_[1.0, 3 * x[1:] ** 1.0], xmin=100) - 1.0) < 1e-12
    with pytest.raises(ValueError, match="two"):
        loglog_slope([1.0], [1.0])


def test_threads_restores_and_best_time_validates():
    old = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == old
    assert best_time(lambda: None, repeat=1, min_time=0.0) >= 0
    with pytest.raises(ValueError, match="repeat"):
        best_time(lambda: None, repeat=0)
    calls = []
    times = mean_times(lambda: calls.append(1), repeat=4, min_time=0.0)
    assert len(times) == 4 and all(s >= 0 for s in times) and len(calls) == 5  # one warm-up
    assert best_time(lambda: None, repeat=2, min_time=0.0) >= 0
