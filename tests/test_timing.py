"""Tests of hessnotes.timing (behaviour only: no test asserts how fast anything is)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from hessnotes.timing import best_of, best_time, loglog_slope, time_vs_dimension, torch_threads


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


def test_timing_sweep_restores_threads_and_skips_large_dense():
    threads = torch.get_num_threads()
    out = time_vs_dimension([40, 80], 3, dense_max=50, k=2, dense_k=1, budget=0.01)
    assert torch.get_num_threads() == threads, "torch's thread setting was not restored"
    assert set(out) == {"D", "low-rank", "dense"}
    np.testing.assert_array_equal(out["D"], [40.0, 80.0])
    assert np.all(out["low-rank"] > 0) and out["dense"][0] > 0 and np.isnan(out["dense"][1])


def test_threads_restores_and_best_time_validates():
    old = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == old
    assert best_time(lambda: None, repeat=1, min_time=0.0) >= 0
    with pytest.raises(ValueError, match="repeat"):
        best_time(lambda: None, repeat=0)
