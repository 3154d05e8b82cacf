"""Tests of hessnotes.linmaps against np.kron and torch.func.jacrev (float64, rectangular)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes.kron import commutation_matrix
from hessnotes.linmaps import adjoint_mismatch, jacobian_matrix, operator_matrix


def _mats(seed, *shapes):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]


def test_operator_matrix_of_AHB_is_kron_torch_and_numpy():
    A, B, X = _mats(0, (4, 3), (2, 5), (3, 2))
    J = operator_matrix(lambda H: A @ H @ B, X)
    assert isinstance(J, torch.Tensor) and J.shape == (20, 6)
    assert_close(J, np.kron(B.numpy().T, A.numpy()), rtol=1e-14, what="A H B")
    Jn = operator_matrix(lambda H: A.numpy() @ H @ B.numpy(), X.numpy())
    assert isinstance(Jn, np.ndarray)
    assert_close(Jn, np.kron(B.numpy().T, A.numpy()), rtol=1e-14, what="A H B, numpy")


def test_operator_matrix_of_transpose_is_commutation_matrix():
    X = _mats(1, (3, 2))[0]
    assert_close(operator_matrix(lambda H: H.T, X), commutation_matrix(3, 2), rtol=0, what="K")


def test_jacobian_matrix_matches_kronecker_forms_rectangular():
    (X,) = _mats(2, (5, 3))
    J = jacobian_matrix(lambda Z: Z.T @ Z, X)
    Xn = X.numpy()
    want = np.kron(np.eye(3), Xn.T) + np.kron(Xn.T, np.eye(3)) @ commutation_matrix(5, 3)
    assert_close(J, want, rtol=1e-14, what="XᵀX")
    (S,) = _mats(3, (4, 4))
    S = S + 4 * torch.eye(4, dtype=torch.float64)
    Si = np.linalg.inv(S.numpy())
    assert_close(jacobian_matrix(torch.linalg.inv, S), -np.kron(Si.T, Si), rtol=1e-13, what="inv")


def test_jacobian_matrix_of_scalar_and_vector_and_numpy_in_out():
    (X,) = _mats(4, (3, 2))
    J = jacobian_matrix(lambda Z: (Z**2).sum(), X)
    assert J.shape == (1, 6)
    assert_close(J[0], (2 * X).T.reshape(-1), rtol=1e-15, what="gradient row in vec order")
    Jn = jacobian_matrix(lambda z: torch.sin(z), X.numpy()[:, 0].copy())
    assert isinstance(Jn, np.ndarray)
    assert_close(Jn, np.diag(np.cos(X.numpy()[:, 0])), rtol=1e-15, what="diag")


def test_adjoint_mismatch_small_for_true_adjoint_large_for_wrong_one():
    A, B, X = _mats(5, (4, 3), (2, 5), (3, 2))

    def L(H):
        return A @ H @ B

    assert adjoint_mismatch(L, lambda W: A.T @ W @ B.T, X) < 1e-15
    assert adjoint_mismatch(L, lambda W: (A.T @ W @ B.T) * 1.01, X) > 1e-3


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 5), n=st.integers(1, 5), p=st.integers(1, 5), seed=st.integers(0, 99))
def test_adjoint_of_random_AHB_passes_property(m, n, p, seed):
    A, B, X = _mats(seed, (p, m), (n, p), (m, n))
    assert adjoint_mismatch(lambda H: A @ H @ B, lambda W: A.T @ W @ B.T, X, seed=seed) < 1e-14


def test_errors_name_the_argument():
    X = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(TypeError, match="like"):
        operator_matrix(lambda H: H, [1.0, 2.0])
    with pytest.raises(TypeError, match="float"):
        operator_matrix(lambda H: H, torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="no entries"):
        operator_matrix(lambda H: H, torch.zeros(0, dtype=torch.float64))
    with pytest.raises(ValueError, match="trials"):
        adjoint_mismatch(lambda H: H, lambda W: W, X, trials=0)
    with pytest.raises(ValueError, match="input space"):
        adjoint_mismatch(lambda H: H.sum(0), lambda W: W, X)
