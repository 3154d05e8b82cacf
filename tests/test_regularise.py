"""Tests for hessnotes.regularise: noise amplification and Tikhonov fits, against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close

from hessnotes.regularise import discrepancy_damping, noise_amplification, tikhonov_hessian
from hessnotes.secant import least_norm_hessian


def sym_basis(D):
    """Orthonormal basis of Sym(D) in the Frobenius inner product: E_ii, (E_ij + E_ji)/sqrt 2."""
    out = []
    for i in range(D):
        for j in range(i, D):
            E = np.zeros((D, D))
            if i == j:
                E[i, i] = 1.0
            else:
                E[i, j] = E[j, i] = 1 / math.sqrt(2)
            out.append(E)
    return out


def brute_tikhonov(X, Y, lam):
    """min ||H X - Y||^2 + lam^2 ||H||^2 over Sym(D) by stacked least squares."""
    D = X.shape[0]
    B = sym_basis(D)
    M = np.stack([(E @ X).reshape(-1) for E in B], axis=1)
    A = np.vstack([M, lam * np.eye(len(B))])
    b = np.concatenate([Y.reshape(-1), np.zeros(len(B))])
    c = np.linalg.lstsq(A, b, rcond=None)[0]
    return sum(ci * E for ci, E in zip(c, B, strict=True))


def map_norm(X, solve):
    """Operator norm (Frobenius to Frobenius) of the linear map Y -> solve(X, Y), by brute force."""
    D, n = X.shape
    cols = []
    for k in range(D * n):
        E = np.zeros(D * n)
        E[k] = 1.0
        cols.append(np.asarray(solve(X, E.reshape(D, n))).reshape(-1))
    return float(np.linalg.norm(np.stack(cols, axis=1), 2))


@pytest.mark.parametrize(("D", "n"), [(6, 3), (5, 2), (3, 3)])
def test_noise_amplification_is_the_exact_operator_norm(D, n):
    rng = np.random.default_rng(D + n)
    X = rng.standard_normal((D, n))
    s = np.linalg.svd(X, compute_uv=False)
    want = (math.sqrt(2) if D > n else 1.0) / s[-1]
    got = map_norm(X, lambda X_, Y_: least_norm_hessian(X_, Y_).dense())
    assert got == pytest.approx(want, rel=1e-10)
    assert noise_amplification(X) == pytest.approx(want, rel=1e-12)
    assert noise_amplification(torch.from_numpy(X)) == pytest.approx(want, rel=1e-12)


def test_amplification_is_attained_and_the_map_is_linear():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((7, 3))
    U, s, Vt = np.linalg.svd(X, full_matrices=True)
    u = U[:, 3]  # orthogonal to the range of X
    dY = np.outer(u, Vt[-1])
    H = least_norm_hessian(X, dY).dense()
    assert np.linalg.norm(H) == pytest.approx(math.sqrt(2) / s[-1], rel=1e-12)
    Y1, Y2 = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    lhs = least_norm_hessian(X, 2 * Y1 - 3 * Y2).dense()
    rhs = 2 * least_norm_hessian(X, Y1).dense() - 3 * least_norm_hessian(X, Y2).dense()
    assert_close(lhs, rhs, rtol=1e-12, what="H*(2 Y1 - 3 Y2) = 2 H*(Y1) - 3 H*(Y2)")
    assert noise_amplification(np.ones((4, 2))) == math.inf


@pytest.mark.parametrize(("D", "n", "lam"), [(6, 2, 0.3), (5, 3, 1.7), (4, 4, 0.05)])
def test_tikhonov_matches_brute_force(D, n, lam):
    rng = np.random.default_rng(10 * D + n)
    X, Y = rng.standard_normal((D, n)), rng.standard_normal((D, n))
    H = tikhonov_hessian(X, Y, lam)
    assert isinstance(H.Q, np.ndarray)
    assert_close(H.dense(), brute_tikhonov(X, Y, lam), rtol=1e-10, what="Tikhonov vs brute")
    Ht = tikhonov_hessian(torch.from_numpy(X), torch.from_numpy(Y), lam)
    assert isinstance(Ht.Q, torch.Tensor)
    assert_close(Ht.dense(), H.dense(), rtol=1e-12, what="torch = numpy")
    assert_close(
        tikhonov_hessian(X, Y, 0.0).dense(),
        least_norm_hessian(X, Y).dense(),
        rtol=1e-12,
        what="damping 0 = least norm",
    )


def test_tikhonov_bounds_the_amplification_whatever_the_conditioning():
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((6, 3)))
    V, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    X = U @ np.diag([1.0, 1e-3, 1e-9]) @ V.T
    assert noise_amplification(X) > 1e9
    lam = 0.1
    got = map_norm(X, lambda X_, Y_: tikhonov_hessian(X_, Y_, lam).dense())
    assert got <= 1 / (2 * lam) * (1 + 1e-10)


def test_discrepancy_damping_meets_the_noise_level():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((20, 20))
    A = A + A.T
    X = rng.standard_normal((20, 5))
    dY = 1e-2 * rng.standard_normal((20, 5))
    Y = A @ X + dY
    delta = float(np.linalg.norm(dY))
    lam = discrepancy_damping(X, Y, delta)
    assert lam > 0
    H = tikhonov_hessian(X, Y, lam)
    assert np.linalg.norm(H @ X - Y) == pytest.approx(delta, rel=1e-5)
    same = least_norm_hessian(X, Y, noise=delta)
    assert_close(same.dense(), H.dense(), rtol=1e-12, what="least_norm_hessian(noise=)")
    fixed = least_norm_hessian(X, Y, damping=lam)
    assert_close(fixed.dense(), H.dense(), rtol=1e-12, what="least_norm_hessian(damping=)")
    # Below the least-squares residual of inconsistent pairs there is nothing to give up: 0.
    r0 = np.linalg.norm(least_norm_hessian(X, Y).dense() @ X - Y)
    assert discrepancy_damping(X, Y, 0.5 * r0) == 0.0
    assert discrepancy_damping(X, Y, 0.0) == 0.0


def test_near_rank_deficient_steps_blow_up_and_noise_tames_them():
    rng = np.random.default_rng(5)
    D, n = 30, 5
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    A = (Q * np.linspace(1, 2, D)) @ Q.T
    U, _ = np.linalg.qr(rng.standard_normal((D, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    X = U @ np.diag([1.0, 0.8, 0.5, 0.3, 8e-13]) @ V.T
    dY = 1e-6 * rng.standard_normal((D, n))
    Y = A @ X + dY
    wild = least_norm_hessian(X, Y).fro_norm()
    assert wild > 1e4 * np.linalg.norm(A)
    tamed = least_norm_hessian(X, Y, noise=float(np.linalg.norm(dY)))
    assert tamed.fro_norm() < np.linalg.norm(A)
    clean = least_norm_hessian(X, A @ X).fro_norm()
    assert clean < np.linalg.norm(A)


def test_bad_input():
    X, Y = np.ones((4, 2)), np.ones((4, 2))
    with pytest.raises(ValueError, match="damping"):
        tikhonov_hessian(X, Y, -1.0)
    with pytest.raises(ValueError, match="noise"):
        discrepancy_damping(X, Y, -1.0)
    with pytest.raises(ValueError, match="no signal"):
        discrepancy_damping(X, Y, 10.0)
    with pytest.raises(ValueError, match="at most one"):
        least_norm_hessian(X, Y, noise=0.1, damping=0.2)
    with pytest.raises(ValueError, match="at most one"):
        least_norm_hessian(X, Y, rtol=1e-3, noise=0.1)
    with pytest.raises(ValueError, match=r"has shape \(4, 3\)"):
        tikhonov_hessian(X, np.ones((4, 3)), 0.1)
