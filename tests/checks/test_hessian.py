"""Tests of hessnotes.check_hessian: the three forms (matrix in the column-major vec, HVP,
bilinear), a wrong Hessian caught in each, an unsymmetrised bilinear form told to symmetrise.
"""

from __future__ import annotations

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

from hessnotes import checks as C
from hessnotes.checks import (
    check_hessian,
    general,
    invertible,
)

T = torch.float64


inv = torch.linalg.inv


# Hessian of f(x) = xᵀ A x + Σ sin x: A + Aᵀ - diag(sin x); f(X) = ½ tr(Xᵀ A X B) for symmetric
# A, B has Hessian B ⊗ A with respect to the column-major vec(X).
def _f_vec(x, A):
    return x @ A @ x + torch.sin(x).sum()


def _h_vec(x, A):
    return A + A.T - torch.diag(torch.sin(x))


@pytest.mark.parametrize("form", ["matrix", "hvp", "bilinear"])
def test_correct_hessians_pass_in_all_forms(form):
    if form == "matrix":
        hess = _h_vec
    elif form == "hvp":

        def hess(x, A, v):
            return _h_vec(x, A) @ v
    else:

        def hess(x, A, u, v):
            return u @ _h_vec(x, A) @ v

    r = check_hessian(_f_vec, hess, general(4), general(4, 4), form=form, name=form)
    assert r.passed and r.kind == "Hessian"


def test_matrix_hessian_is_with_respect_to_column_major_vec():
    A, B = C.sym(_fixed((3, 3), 3)), C.sym(_fixed((2, 2), 4))

    def f(X):
        return 0.5 * torch.trace(X.T @ A @ X @ B)

    assert check_hessian(f, lambda X: torch.kron(B, A), general(3, 2)).passed
    # Row-major vec would give A ⊗ B: the check must reject it.
    with pytest.raises(AssertionError, match="Hessian, point 1 of 3, vs autograd"):
        check_hessian(f, lambda X: torch.kron(A, B), general(3, 2))


@pytest.mark.parametrize("form", ["matrix", "hvp", "bilinear"])
def test_wrong_hessian_is_caught_in_all_forms(form):
    def wrong(x, A):
        return 2 * A - torch.diag(torch.sin(x))  # symmetric-A formula for a general A

    hess = {
        "matrix": wrong,
        "hvp": lambda x, A, v: wrong(x, A) @ v,
        "bilinear": lambda x, A, u, v: u @ wrong(x, A) @ v,
    }[form]
    with pytest.raises(AssertionError, match="Hessian, point 1 of 3, vs autograd"):
        check_hessian(_f_vec, hess, general(4), general(4, 4), form=form)


# --------------------------------------------------------------------------------------------------
# Bilinear second derivatives: symmetrise in (H, K)
# --------------------------------------------------------------------------------------------------
def _trinv(X):
    return torch.trace(inv(X))


def _b(X, H, K):  # tr(X⁻¹ K X⁻² H): one of the two terms of d² tr(X⁻¹)[H, K]
    Xi = inv(X)
    return torch.trace(Xi @ K @ Xi @ Xi @ H)


def test_an_unsymmetrised_bilinear_form_is_told_to_symmetrise_in_its_own_letters():
    right = lambda X, H, K: _b(X, H, K) + _b(X, K, H)  # noqa: E731
    assert check_hessian(_trinv, right, invertible(3), form="bilinear").passed
    r = check_hessian(_trinv, lambda X, H, K: 2 * _b(X, H, K), invertible(3), form="bilinear",
                      raises=False)  # fmt: skip
    assert _fitting(r) == ["not symmetric"]
    assert "symmetrise in (H, K)" in " ".join(str(r).split())
    r = check_hessian(_trinv, lambda X, U, V: _b(X, U, V), invertible(3), form="bilinear",
                      raises=False)  # fmt: skip
    assert _fitting(r) == ["one term"]
    assert "B(U, V) + B(V, U) matches autograd" in " ".join(str(r).split())
