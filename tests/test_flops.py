"""Tests of hessnotes.flops against counts worked out by hand (shapes only: no timing)."""

from __future__ import annotations

import pytest
import torch

from hessnotes.flops import count_flops
from hessnotes.references import dense_least_norm


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
