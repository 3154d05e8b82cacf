"""Tests of hessnotes.flops against counts worked out by hand (shapes only: no timing)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessnotes.flops import count_flops, flops_vs_dimension
from hessnotes.references import dense_least_norm
from hessnotes.secant import least_norm_hessian


def test_count_flops_of_products_is_two_per_multiply_add():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(5, 3, generator=g, dtype=torch.float64)
    B = torch.randn(3, 7, generator=g, dtype=torch.float64)
    v = torch.randn(7, generator=g, dtype=torch.float64)
    assert count_flops(torch.mm, A, B) == 2 * 5 * 3 * 7
    assert count_flops(lambda: (A @ B) @ B.T) == 2 * 5 * 3 * 7 + 2 * 5 * 7 * 3
    # keyword arguments are passed on; elementwise work is not counted
    assert count_flops(torch.add, A, A, alpha=2.0) == 0
    assert count_flops(lambda: (A * 2).sum()) == 0
    # FlopCounterMode does not count matrix-vector products (aten.mv); batched products it does
    assert count_flops(lambda: B @ v) == 0
    Ab = torch.randn(4, 5, 3, generator=g, dtype=torch.float64)
    Bb = torch.randn(4, 3, 2, generator=g, dtype=torch.float64)
    assert count_flops(torch.bmm, Ab, Bb) == 2 * 4 * 5 * 3 * 2


def test_count_flops_on_meta_tensors_equals_the_real_count():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(60, 4, generator=g, dtype=torch.float64)
    Y = torch.randn(60, 4, generator=g, dtype=torch.float64)
    real = count_flops(dense_least_norm, X, Y)
    meta = count_flops(dense_least_norm, X.to("meta"), Y.to("meta"))
    D, n = 60, 4
    assert real == meta == 2 * D**3 + 6 * D**2 * n


def test_count_flops_refuses_a_non_callable():
    with pytest.raises(TypeError, match="give the function"):
        count_flops(3)


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
