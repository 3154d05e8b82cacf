"""Tests of hessnotes.orthogonal_group: tangent projection and the polar factor's derivative."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close

from hessnotes.checks import orthogonal
from hessnotes.orthogonal_group import polar, polar_jvp, skew, tangent_project


def _r(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_tangent_project_is_an_orthogonal_projection_onto_Q_times_skew():
    Q = orthogonal(5).sample(torch.Generator().manual_seed(0))
    Z, W = _r((5, 5), 1), _r((5, 5), 2)
    T = tangent_project(Q, Z)
    M = Q.T @ T
    assert_close(M + M.T, np.zeros((5, 5)), rtol=0, atol=1e-14, what="QᵀT skew")
    assert_close(tangent_project(Q, T), T, rtol=1e-14, what="idempotent")
    # self-adjoint: <P Z, W> = <Z, P W>
    np.testing.assert_allclose((T * W).sum(), (Z * tangent_project(Q, W)).sum(), rtol=1e-12)
    # the residual is orthogonal to every tangent vector Q Ω
    Om = skew(_r((5, 5), 3))
    np.testing.assert_allclose(((Z - T) * (Q @ Om)).sum(), 0.0, atol=1e-13)


def test_riemannian_gradient_matches_derivative_along_geodesics():
    Q = orthogonal(4).sample(torch.Generator().manual_seed(4))
    A = _r((4, 4), 5)
    Om = skew(_r((4, 4), 6))

    def curve(t):
        return torch.trace(A.T @ Q @ torch.linalg.matrix_exp(t * Om))

    t0 = torch.tensor(0.0, dtype=torch.float64)
    slope = torch.func.jvp(curve, (t0,), (torch.ones_like(t0),))[1]
    np.testing.assert_allclose(slope, (tangent_project(Q, A) * (Q @ Om)).sum(), rtol=1e-12)


def test_polar_factor_and_its_derivative_against_autograd_and_differences():
    A = _r((4, 4), 7) + 3 * torch.eye(4, dtype=torch.float64)
    dA = _r((4, 4), 8)
    Q, P = polar(A)
    assert_close(Q @ P, A, rtol=1e-13, what="A = QP")
    assert_close(Q.T @ Q, np.eye(4), rtol=1e-14, what="Q orthogonal")
    assert_close(P, P.T, rtol=1e-14, what="P symmetric")
    assert (torch.linalg.eigvalsh(P) > 0).all()
    # Q is the nearest orthogonal matrix: U Vᵀ from numpy's SVD, an independent reference
    U, _, Vh = np.linalg.svd(A.numpy())
    assert_close(Q, U @ Vh, rtol=1e-13, what="Q = U Vᵀ")
    dQ = polar_jvp(A, dA)
    ref = torch.func.jvp(lambda M: polar(M)[0], (A,), (dA,))[1]
    assert_close(dQ, ref, rtol=1e-11, what="dQ vs autograd")
    h = 1e-6
    fd = (polar(A + h * dA)[0] - polar(A - h * dA)[0]) / (2 * h)
    assert_close(dQ, fd, rtol=1e-7, what="dQ vs differences")
    assert isinstance(polar_jvp(A.numpy(), dA.numpy()), np.ndarray)


def test_polar_factor_maximizes_the_trace_and_has_zero_riemannian_gradient():
    A = _r((4, 4), 9)
    Q, _ = polar(A)
    assert float(torch.linalg.norm(tangent_project(Q, A))) < 1e-13 * float(torch.linalg.norm(A))
    best = torch.trace(A.T @ Q)
    for s in range(5):
        R = Q @ torch.linalg.matrix_exp(0.1 * skew(_r((4, 4), 10 + s)))
        assert torch.trace(A.T @ R) < best


def test_errors_name_the_argument_and_the_fix():
    with pytest.raises(ValueError, match="not orthogonal"):
        tangent_project(2 * torch.eye(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="Z has shape"):
        tangent_project(torch.eye(3, dtype=torch.float64), torch.eye(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="singular"):
        polar(torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="square"):
        skew(torch.zeros(2, 3, dtype=torch.float64))
