"""Tests of hessnotes.check_gradient: correct gradients pass; wrong ones are caught (a missing
transpose or factor, a formula that holds only for symmetric inputs); gradients on Sym(n).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from checks_cases import (  # noqa: F401
    B24,
    B34,
    F32,
    F64,
    X100,
    A_4x5,
    _BadSquare,
    _dlogdet,
    _fitting,
    _fixed,
    _point,
    _tr_axb,
    _xax,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes import checks as C
from hessnotes.checks import (
    CheckResult,
    check_gradient,
    full_rank,
    general,
    invertible,
    orthogonal,
    positive,
    spd,
    symmetric,
)

T = torch.float64


inv = torch.linalg.inv


# --------------------------------------------------------------------------------------------------
# Correct formulas pass
# --------------------------------------------------------------------------------------------------
A45 = _fixed((4, 5), 1)  # tr(A X B) with X (5, 3), A (4, 5), B (3, 4)


GRADIENTS = [
    # (name, f, grad, inputs, wrt)
    (
        "||A - x xᵀ||², general A",
        lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
        lambda x, A: -2 * (A + A.T - 2 * torch.outer(x, x)) @ x,
        (general(5), general(5, 5)),
        0,
    ),
    (
        "tr(A X B), rectangular",
        lambda X: torch.trace(A45 @ X @ B34),
        lambda X: A45.T @ B34.T,
        (general(5, 3),),
        0,
    ),
    ("log det X, SPD", torch.logdet, lambda X: inv(X), (spd(4),), 0),
    (
        "log|det X|, invertible",
        lambda X: torch.linalg.slogdet(X)[1],
        lambda X: inv(X).T,
        (invertible(3),),
        0,
    ),
    (
        "tr((XᵀX)⁻¹XᵀAX), full rank",
        lambda X, A: torch.trace(inv(X.T @ X) @ X.T @ A @ X),
        lambda X, A: (
            (torch.eye(5, dtype=T) - X @ inv(X.T @ X) @ X.T) @ (A + A.T) @ X @ inv(X.T @ X)
        ),
        (full_rank(5, 3), general(5, 5)),
        0,
    ),
    (
        "tr(A Q), orthogonal Q",
        lambda Q, A: torch.trace(A @ Q),
        lambda Q, A: A.T,
        (orthogonal(3), general(3, 3)),
        0,
    ),
    ("Σ log x, positive", lambda x: torch.log(x).sum(), lambda x: 1 / x, (positive(4),), 0),
    (
        "aᵀ X b in a (second argument)",
        lambda X, a, b: a @ X @ b,
        lambda X, a, b: X @ b,
        (general(3, 2), general(3), general(2)),
        1,
    ),
]


@pytest.mark.parametrize(
    ("name", "f", "grad", "inputs", "wrt"), GRADIENTS, ids=[g[0] for g in GRADIENTS]
)
def test_correct_gradients_pass(name, f, grad, inputs, wrt):
    r = check_gradient(f, grad, *inputs, wrt=wrt, name=name)
    assert isinstance(r, CheckResult) and r.passed
    assert r.n_points == 3
    assert r.error("autograd") <= 1e-9 and r.error("central differences") <= 1e-6


def test_gradient_with_fixed_numpy_input_and_random_directions():
    A = np.arange(12.0).reshape(3, 4)  # a fixed numpy array is held constant at every point
    r = check_gradient(
        lambda X, A: torch.trace(A @ X), lambda X, A: A.T, general(4, 3), A, fd_directions=4
    )
    assert r.passed and r.n_points == 3


# --------------------------------------------------------------------------------------------------
# Wrong formulas are caught
# --------------------------------------------------------------------------------------------------
def test_missing_transpose_is_caught():
    A = torch.arange(9.0, dtype=T).reshape(3, 3)
    with pytest.raises(AssertionError) as exc:
        check_gradient(lambda X: torch.trace(A @ X), lambda X: A, general(3, 3))
    msg = str(exc.value)
    # Autograd gives exactly Aᵀ, so the worst entry and both values are exact integers.
    assert msg.startswith("gradient, point 1 of 3, vs autograd (float64):\n")
    assert "max rel. error 5.0e-01 exceeds rtol 1e-08" in msg
    assert "worst entry (0, 2): closed form 2, reference 6" in msg and "max |reference| 8)" in msg
    assert "diagnosis: the transpose of the closed form matches autograd" in msg


def test_missing_transpose_on_rectangular_input_is_a_shape_error():
    with pytest.raises(AssertionError, match=r"shape \(4, 5\), but the gradient .* \(5, 4\)"):
        check_gradient(lambda X: torch.trace(A45 @ X), lambda X: A45, general(5, 4))


def test_missing_factor_two_is_caught():
    with pytest.raises(AssertionError, match=r"max rel\. error 5\.0e-01 exceeds rtol"):
        check_gradient(lambda x, A: x @ A @ x, lambda x, A: A @ x, general(4), symmetric(4))


def test_symmetric_only_formula_on_general_matrix_is_caught():
    def f(x, A):
        return x @ A @ x

    def g_sym(x, A):
        return 2 * A @ x  # valid only when A = Aᵀ

    assert check_gradient(f, g_sym, general(4), symmetric(4)).passed
    with pytest.raises(AssertionError, match="gradient, point 1 of 3, vs autograd"):
        check_gradient(f, g_sym, general(4), general(4, 4))
    # The exercise notebook's Exercise 1 in its symmetric form, -4 (A - x xᵀ) x, on a general A:
    with pytest.raises(AssertionError, match="vs autograd"):
        check_gradient(
            lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
            lambda x, A: -4 * (A - torch.outer(x, x)) @ x,
            general(5),
            general(5, 5),
        )


# --------------------------------------------------------------------------------------------------
# Gradients on the symmetric matrices
# --------------------------------------------------------------------------------------------------
def test_symmetric_tangent_gradient_is_sym_of_unconstrained():
    a, b = _fixed(4, 5), _fixed(4, 6)

    def f(X):
        return a @ X @ b

    G = torch.outer(a, b)
    # On symmetric matrices with symmetric tangents, sym(G) passes and G itself (not symmetric,
    # but equal on symmetric directions) does not, since the gradient must lie in the tangent space.
    assert check_gradient(f, lambda X: C.sym(G), symmetric(4, tangent="symmetric")).passed
    with pytest.raises(AssertionError, match="vs autograd"):
        check_gradient(
            f, lambda X: G + G.T - torch.diag(torch.diagonal(G)), symmetric(4, tangent="symmetric")
        )


def test_symmetric_tangent_log_det():
    assert check_gradient(torch.logdet, lambda X: inv(X), spd(4, tangent="symmetric")).passed
    with pytest.raises(AssertionError, match="vs autograd"):
        check_gradient(
            torch.logdet,
            lambda X: 2 * inv(X) - torch.diag(torch.diagonal(inv(X))),
            spd(4, tangent="symmetric"),
        )


@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_property_outer_product_gradient_and_its_transpose(m, n, seed):
    # ∇(aᵀ X b) = a bᵀ for every shape; the transpose b aᵀ fails whenever it differs from a bᵀ.
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(m, generator=gen, dtype=T), torch.randn(n, generator=gen, dtype=T)
    assert check_gradient(lambda X: a @ X @ b, lambda X: torch.outer(a, b), general(m, n)).passed
    wrong = torch.outer(b, a)
    if wrong.shape == (m, n) and torch.allclose(wrong, torch.outer(a, b), rtol=1e-6, atol=1e-9):
        return  # m = n = 1, or a ∥ b by chance: the transpose is right
    with pytest.raises(AssertionError, match="vs autograd"):
        check_gradient(lambda X: a @ X @ b, lambda X: wrong, general(m, n), points=1)
