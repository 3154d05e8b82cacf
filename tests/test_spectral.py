"""Tests of hessnotes.spectral against torch.func.jvp of eigh/svd and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close

from hessnotes.checks import distinct_singular_values, simple_spectrum, sym
from hessnotes.spectral import eigh_jvp, eigh_signed, eigh_vjp, svd_jvp, svd_signed


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _sym_dir(n, seed):
    return sym(torch.randn(n, n, generator=_gen(seed), dtype=torch.float64))


@pytest.mark.parametrize("n", [2, 5])
def test_eigh_jvp_matches_autograd_and_differences(n):
    A, dA = simple_spectrum(n).sample(_gen(n)), _sym_dir(n, 10 + n)
    dlam, dV = eigh_jvp(A, dA)
    ref = torch.func.jvp(eigh_signed, (A,), (dA,))[1]
    assert_close(dlam, ref[0], rtol=1e-12, what="dλ vs autograd")
    assert_close(dV, ref[1], rtol=1e-12, what="dV vs autograd")
    h = 1e-6
    fd = [
        (p - m) / (2 * h)
        for p, m in zip(eigh_signed(A + h * dA), eigh_signed(A - h * dA), strict=True)
    ]
    assert_close(dlam, fd[0], rtol=1e-7, what="dλ vs differences")
    assert_close(dV, fd[1], rtol=1e-6, what="dV vs differences")
    M = eigh_signed(A)[1].T @ dV
    assert_close(M + M.T, np.zeros((n, n)), rtol=0, atol=1e-12, what="VᵀdV skew")


def test_eigh_signed_convention_and_numpy():
    A = simple_spectrum(4).sample(_gen(1))
    lam, V = eigh_signed(A.numpy())
    assert isinstance(V, np.ndarray)
    idx = np.abs(V).argmax(axis=0)
    assert (V[idx, np.arange(4)] > 0).all()
    assert_close(V @ np.diag(lam) @ V.T, A, rtol=1e-13, what="reconstruction")


def test_eigh_vjp_is_the_adjoint_of_eigh_jvp_and_matches_autograd():
    A = simple_spectrum(5).sample(_gen(2))
    g = _gen(3)
    lb = torch.randn(5, generator=g, dtype=torch.float64)
    Vb = torch.randn(5, 5, generator=g, dtype=torch.float64)
    Abar = eigh_vjp(A, lb, Vb)
    assert_close(Abar, Abar.T, rtol=1e-15, what="symmetric")
    for seed in range(3):
        dA = _sym_dir(5, 20 + seed)
        dlam, dV = eigh_jvp(A, dA)
        np.testing.assert_allclose((Abar * dA).sum(), lb @ dlam + (Vb * dV).sum(), rtol=1e-12)

    def loss(M):
        return (eigh_signed(sym(M))[0] * lb).sum() + (eigh_signed(sym(M))[1] * Vb).sum()

    assert_close(Abar, sym(torch.func.grad(loss)(A)), rtol=1e-12, what="vs autograd")
    assert_close(
        eigh_vjp(A, lb, None),
        eigh_signed(A)[1] @ torch.diag(lb) @ eigh_signed(A)[1].T,
        rtol=1e-13,
        what="eigenvalues only",
    )


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_svd_jvp_matches_autograd_rectangular(shape):
    A = distinct_singular_values(*shape).sample(_gen(4))
    dA = torch.randn(shape, generator=_gen(5), dtype=torch.float64)
    got = svd_jvp(A, dA)
    ref = torch.func.jvp(svd_signed, (A,), (dA,))[1]
    for name, a, b in zip(("dU", "dσ", "dV"), got, ref, strict=True):
        assert_close(a, b, rtol=1e-11, what=name)
    U, s, V = svd_signed(A)
    assert_close(U @ torch.diag(s) @ V.T, A, rtol=1e-13, what="thin SVD")


def test_coinciding_values_are_refused_with_the_reason():
    Q = torch.linalg.qr(torch.randn(4, 4, generator=_gen(6), dtype=torch.float64))[0]
    A = Q @ torch.diag(torch.tensor([1.0, 1.0, 2.0, 3.0], dtype=torch.float64)) @ Q.T
    A = sym(A)
    with pytest.raises(ValueError, match=r"coincide.*not unique"):
        eigh_jvp(A, _sym_dir(4, 7))
    with pytest.raises(ValueError, match="coincide"):
        eigh_vjp(A, None, torch.ones(4, 4, dtype=torch.float64))
    eigh_vjp(A, torch.ones(4, dtype=torch.float64), None)  # eigenvalues alone need no gap
    with pytest.raises(ValueError, match="coincide"):
        svd_jvp(A, _sym_dir(4, 8))


def test_bad_inputs_name_the_argument():
    A = simple_spectrum(3).sample(_gen(9))
    with pytest.raises(ValueError, match="not symmetric"):
        eigh_jvp(A + torch.triu(torch.ones(3, 3, dtype=torch.float64), 1), A)
    with pytest.raises(ValueError, match=r"dA \(shape \(3, 3\)\) is not symmetric"):
        eigh_jvp(A, torch.triu(torch.ones(3, 3, dtype=torch.float64)))
    with pytest.raises(ValueError, match="dA has shape"):
        eigh_jvp(A, torch.zeros(2, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="A must be"):
        eigh_signed([[1.0]])
    with pytest.raises(ValueError, match="zero singular value"):
        svd_jvp(
            torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64),
            torch.ones(2, 3, dtype=torch.float64),
        )
    with pytest.raises(ValueError, match="both None"):
        eigh_vjp(A, None, None)
