"""Tests of hessnotes.costs: the timings and flop counts of the book's algorithms (shapes, counts
and behaviour only: no test asserts how fast anything is), and the old addresses of the names
that moved here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessnotes.costs import flops_vs_dimension, kron_matvec_timings, time_vs_dimension
from hessnotes.flops import count_flops
from hessnotes.kron import loglog_slope
from hessnotes.secant import least_norm_hessian


def test_timing_sweep_restores_threads_and_skips_large_dense():
    threads = torch.get_num_threads()
    out = time_vs_dimension([40, 80], 3, dense_max=50, k=2, dense_k=1, budget=0.01)
    assert torch.get_num_threads() == threads, "torch's thread setting was not restored"
    assert set(out) == {"D", "low-rank", "dense"}
    np.testing.assert_array_equal(out["D"], [40.0, 80.0])
    assert np.all(out["low-rank"] > 0) and out["dense"][0] > 0 and np.isnan(out["dense"][1])


def test_least_norm_count_is_the_gram_blocks_plus_small_work():
    # [X Y]^T [X Y] in three blocks X^T X, X^T Y, Y^T Y: 3 * 2 D n^2 flops; the rest is 2n x 2n
    n = 3
    out = flops_vs_dimension([7, 40, 300], n, seed=2)
    np.testing.assert_array_equal(out["D"], [7, 40, 300])
    assert out["low-rank"].dtype == np.int64 and out["dense"].dtype == np.int64
    small = out["low-rank"] - 6 * out["D"] * n**2
    assert small[0] > 0 and np.all(small == small[0]), small
    np.testing.assert_array_equal(out["dense"], 2 * out["D"] ** 3 + 6 * out["D"] ** 2 * n)
    # the same count as a direct call on the same seeded pairs
    g = torch.Generator().manual_seed(2)
    X = torch.randn(7, n, generator=g, dtype=torch.float64)
    Y = torch.randn(7, n, generator=g, dtype=torch.float64)
    assert count_flops(least_norm_hessian, X, Y) == out["low-rank"][0]


def test_flops_vs_dimension_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        flops_vs_dimension([], 3)
    with pytest.raises(ValueError, match="n >= 1"):
        flops_vs_dimension([10], 0)
    with pytest.raises(ValueError, match="overflow int64"):
        flops_vs_dimension([2 * 10**6], 16)


def test_kron_matvec_timings_shapes_and_the_explicit_limit():
    t_exp, t_mod = kron_matvec_timings([2, 3, 4, 5], repeats=2, max_explicit_n=4)
    assert t_exp.shape == t_mod.shape == (4, 2) and np.isnan(t_exp[-1]).all()
    assert np.all(t_mod > 0) and np.all(t_exp[:-1] > 0)
    with pytest.raises(ValueError, match="repeats must be a positive integer"):
        kron_matvec_timings([2], repeats=0)


def test_kron_loglog_slope_of_old_is_the_one_fit_over_the_upper_half():
    ns = np.array([2, 4, 8, 16, 32])
    t = np.stack([1e-6 * ns**3.0, 5e-6 * ns**3.0], axis=1)  # best run is column 0
    assert abs(loglog_slope(ns, t) - 3.0) < 1e-12
    # Small sizes dominated by overhead do not pull the fit: only the larger half is used.
    t1 = 1e-6 * ns**2.0
    t1[:2] = 1.0
    assert abs(loglog_slope(ns, t1) - 2.0) < 1e-12
    t2 = np.array([1e-3, 8e-3, np.nan, np.nan, np.nan])  # not timed beyond n = 4
    assert abs(loglog_slope(ns, t2) - 3.0) < 1e-12
    with pytest.raises(ValueError, match=r"x has shape \(5,\) and y \(4,\)"):
        loglog_slope(ns, np.ones(4))
    with pytest.raises(ValueError, match=r"only 1 of 5 points"):
        loglog_slope(ns, [1.0, np.nan, np.nan, np.nan, 0.0])


def test_moved_names_keep_their_old_addresses():
    import hessnotes.costs as costs
    import hessnotes.flops as flops
    import hessnotes.kron as kron
    import hessnotes.nets as nets
    import hessnotes.timing as timing

    assert timing.time_vs_dimension is costs.time_vs_dimension
    assert flops.flops_vs_dimension is costs.flops_vs_dimension
    assert kron.kron_matvec_timings is costs.kron_matvec_timings
    assert kron.softmax_layer_samples is nets.softmax_layer_samples
    assert kron.SoftmaxLayerSamples is nets.SoftmaxLayerSamples
