"""Tests of hessnotes.differences: stencil weights, truncation terms, Richardson, complex step."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import jvp

from hessnotes.differences import (
    METHODS,
    balanced_step,
    complex_step,
    difference,
    difference_errors,
    richardson,
    stencil_difference,
    stencil_weights,
    truncation_term,
)
from hessnotes.fd import central_difference

F64 = torch.float64


def _point(seed=0, shape=(3, 2)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=F64), torch.randn(*shape, generator=g, dtype=F64)


def _f(X):  # a rectangular matrix function, analytic (works at complex points)
    A = torch.arange(6.0, dtype=X.dtype).reshape(2, 3) / 5
    return torch.sum(torch.exp(A @ X) ** 2) + torch.trace(X.T @ X @ torch.ones(2, 2, dtype=X.dtype))


@pytest.mark.parametrize(
    ("offsets", "order", "want"),
    [
        ((0, 1), 1, [-1, 1]),
        ((-1, 1), 1, [-0.5, 0.5]),
        ((-2, -1, 0, 1, 2), 1, [1 / 12, -8 / 12, 0, 8 / 12, -1 / 12]),
        ((0, 1, 2), 1, [-1.5, 2, -0.5]),
        ((-1, 0, 1), 2, [1, -2, 1]),
    ],
)
def test_stencil_weights_known_and_against_a_numpy_vandermonde_solve(offsets, order, want):
    w = stencil_weights(offsets, order)
    np.testing.assert_allclose(w, want, rtol=0, atol=1e-15)
    s = np.asarray(offsets, dtype=np.float64)
    V = s[None, :] ** np.arange(len(s))[:, None]
    rhs = np.zeros(len(s))
    rhs[order] = math.factorial(order)
    np.testing.assert_allclose(w, np.linalg.solve(V, rhs), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(
    ("offsets", "order", "want"),
    [
        ((0, 1), 1, (1, 0.5)),
        ((-1, 1), 1, (2, 1 / 6)),
        ((-2, -1, 0, 1, 2), 1, (4, -1 / 30)),
        ((-1, 0, 1), 2, (2, 1 / 12)),
    ],
)
def test_truncation_term_known(offsets, order, want):
    p, c = truncation_term(offsets, order)
    assert p == want[0]
    assert c == pytest.approx(want[1], rel=1e-15)


def test_truncation_term_predicts_the_measured_error():
    # sin at x = 1: the central difference's error is (h²/6) sin'''(1) = -(h²/6) cos(1) + O(h⁴)
    x, v = torch.tensor(1.0, dtype=F64), torch.tensor(1.0, dtype=F64)
    for offsets, deriv in (((-1, 1), -math.cos(1.0)), ((-2, -1, 0, 1, 2), math.cos(1.0))):
        p, c = truncation_term(offsets)
        h = 2.0**-4
        err = float(stencil_difference(torch.sin, x, v, h, offsets)) - math.cos(1.0)
        assert err == pytest.approx(c * h**p * deriv, rel=0.02)


@settings(max_examples=30, deadline=None)
@given(st.sets(st.integers(-6, 6), min_size=2, max_size=6), st.integers(0, 3), st.data())
def test_weights_are_exact_on_polynomials_of_degree_below_m(offsets, order, data):
    offsets = sorted(offsets)
    if order >= len(offsets):
        order = len(offsets) - 1
    coeffs = data.draw(st.lists(st.integers(-5, 5), min_size=len(offsets), max_size=len(offsets)))
    w = stencil_weights(offsets, order)
    # g(t) = Σ a_i t^i, g^(order)(0) = order! a_order; the stencil with h = 1 reproduces it
    g = [sum(a * s**i for i, a in enumerate(coeffs)) for s in offsets]
    got = float(np.dot(w, g))
    assert got == pytest.approx(
        math.factorial(order) * coeffs[order], abs=1e-9 * (1 + max(map(abs, g)))
    )


def test_stencil_difference_against_autograd_and_the_library_central_difference():
    X, V = _point()
    ref = jvp(_f, (X,), (V,))[1]
    five = stencil_difference(_f, X, V, 1e-3, (-2, -1, 0, 1, 2))
    np.testing.assert_allclose(float(five), float(ref), rtol=1e-10)
    cd = stencil_difference(_f, X, V, 1e-4, (-1, 1))
    np.testing.assert_allclose(float(cd), float(central_difference(_f, X, V, 1e-4)), rtol=1e-13)


def test_richardson_of_central_is_the_five_point_stencil_at_half_the_step():
    X, V = _point(1)
    h = 2.0**-6
    rich = difference(_f, X, V, h, "richardson")
    five = stencil_difference(_f, X, V, h / 2, (-2, -1, 0, 1, 2))
    np.testing.assert_allclose(float(rich), float(five), rtol=1e-12)
    # and it cancels the h² term: on g(h) = 3 + h² + h⁴ it leaves -h⁴/4
    out = richardson(lambda k: torch.tensor(3 + k**2 + k**4, dtype=F64), 0.5, 2)
    assert float(out) == pytest.approx(3 - 0.5**4 / 4, rel=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_complex_step_is_exact_to_rounding_at_a_tiny_step(dtype):
    g = torch.Generator().manual_seed(2)
    X = (torch.randn(4, 4, generator=g, dtype=F64) / 4 + 2 * torch.eye(4, dtype=F64)).to(dtype)
    E = torch.randn(4, 4, generator=g, dtype=F64).to(dtype)
    for f, closed in (
        (torch.logdet, lambda X, E: torch.trace(torch.linalg.solve(X, E))),
        (
            lambda X: torch.trace(torch.linalg.inv(X)),
            lambda X, E: -torch.trace(torch.linalg.inv(X) @ E @ torch.linalg.inv(X)),
        ),
    ):
        got = complex_step(f, X, E, 1e-20)
        assert got.dtype == dtype and got.shape == ()
        want = float(closed(X.to(F64), E.to(F64)))
        eps = torch.finfo(dtype).eps
        assert abs(float(got) - want) <= 50 * eps * abs(want)
        np.testing.assert_allclose(float(jvp(f, (X,), (E,))[1]), want, rtol=50 * eps)


def test_difference_errors_orders_and_the_complex_step_floor():
    x = 1 + torch.arange(16, dtype=F64) / 16
    v = torch.ones_like(x)
    steps = 2.0 ** -np.arange(2, 8)
    e = difference_errors(torch.exp, x, v, steps)
    assert list(e) == list(METHODS) and all(a.shape == (6,) for a in e.values())
    for m, p in (("forward", 1), ("central", 2), ("five-point", 4), ("richardson", 4)):
        ratios = e[m][:-1] / e[m][1:]  # halving h divides the error by about 2^p
        np.testing.assert_allclose(np.log2(ratios), p, atol=0.15)
    tiny = difference_errors(torch.exp, x, v, [1e-20], methods=["complex step"])
    assert tiny["complex step"][0] <= 2 * torch.finfo(F64).eps


def test_balanced_step_against_a_grid():
    h = np.logspace(-12, 0, 200001)
    for p, a, b in ((1, 0.5, 2.2e-16), (2, 1 / 6, 1.1e-16), (4, 1 / 30, 1.7e-16)):
        hs, es = balanced_step(p, a, b)
        j = np.argmin(a * h**p + b / h)
        assert hs == pytest.approx(h[j], rel=1e-3)
        assert es == pytest.approx(a * h[j] ** p + b / h[j], rel=1e-6)


def test_dtype_and_shape_follow_the_input():
    X, V = _point(3)
    for dtype in (torch.float32, torch.float64):
        for m in METHODS:
            out = difference(
                lambda Z: torch.exp(Z) @ torch.ones(2, dtype=Z.dtype),
                X.to(dtype),
                V.to(dtype),
                1e-2,
                m,
            )
            assert out.dtype == dtype and out.shape == (3,)


def test_bad_input_is_refused_with_the_argument_named():
    X, V = _point()
    with pytest.raises(ValueError, match="h=0"):
        stencil_difference(_f, X, V, 0, (-1, 1))
    with pytest.raises(ValueError, match="repeat"):
        stencil_weights((0, 1, 1))
    with pytest.raises(ValueError, match="order=2 needs at least 3 offsets"):
        stencil_weights((0, 1), 2)
    with pytest.raises(ValueError, match="finite"):
        stencil_weights((0, math.inf))
    with pytest.raises(TypeError, match=r"x has dtype torch\.int64"):
        stencil_difference(_f, torch.ones(3, 2, dtype=torch.int64), V, 0.1, (-1, 1))
    with pytest.raises(TypeError, match=r"x is ndarray"):
        complex_step(_f, X.numpy(), V, 0.1)
    with pytest.raises(ValueError, match=r"v is torch\.float64 \(2, 3\)"):
        complex_step(_f, X, V.T, 0.1)
    with pytest.raises(ValueError, match="x \\(shape"):
        central = X.clone()
        central[0, 0] = math.nan
        difference(_f, central, V, 0.1, "central")
    with pytest.raises(ValueError, match="method='backward'"):
        difference(_f, X, V, 0.1, "backward")
    with pytest.raises(TypeError, match=r"f returned torch\.float64 at a complex point"):
        complex_step(lambda Z: torch.abs(Z).sum(), X, V, 1e-20)
    with pytest.raises(ValueError, match="ratio=1"):
        richardson(lambda k: torch.tensor(k), 0.1, 2, ratio=1)
    with pytest.raises(ValueError, match="steps"):
        difference_errors(_f, X, V, [])
    with pytest.raises(ValueError, match="zero"):
        difference_errors(lambda Z: (Z * 0).sum(), X, V, [0.1])
    with pytest.raises(ValueError, match="trunc"):
        balanced_step(2, 0.0, 1e-16)


def test_exact_rational_weights_for_float_offsets():
    # 0.5 is exact in binary: the weights of (-0.5, 0.5) are exactly (-1, 1)
    np.testing.assert_array_equal(stencil_weights((-0.5, 0.5)), [-1.0, 1.0])
    assert Fraction(stencil_weights((-3, -1, 1, 3))[0]).limit_denominator(100) == Fraction(1, 48)
