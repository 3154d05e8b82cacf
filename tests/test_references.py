"""Tests of hessnotes.references: the brute-force and dense references against np.linalg."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_rel, noisy_pairs

from hessnotes.references import (
    brute_force_symmetric_lstsq,
    dense_least_norm,
    procrustes_residual,
    spd_with_spectrum,
)
from hessnotes.secant import least_norm_hessian


def test_spd_with_spectrum_has_the_given_eigenvalues():
    lam = np.array([3.0, 0.5, 2.0, 1e-3, 7.0])
    A = spd_with_spectrum(lam, seed=4)
    np.testing.assert_array_equal(A, A.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(A), np.sort(lam), rtol=1e-12, atol=1e-14)
    for bad in ([], [[1.0, 2.0]], [1.0, np.nan]):
        with pytest.raises(ValueError, match="eigs"):
            spd_with_spectrum(bad)


def test_brute_force_recovers_h_from_d_pairs_and_is_least_norm():
    A, X, _ = noisy_pairs(5, 5, seed=1)
    assert_rel(brute_force_symmetric_lstsq(X, A @ X), A, 1e-10, "n = D recovers H")
    # Underdetermined consistent data: the answer satisfies H X = Y and adding a feasible
    # symmetric N (N X = 0) only increases the norm.
    X3 = X[:, :3]
    H = brute_force_symmetric_lstsq(X3, A @ X3)
    assert_rel(H @ X3, A @ X3, 1e-10, "secant equations")
    P = np.eye(5) - X3 @ np.linalg.pinv(X3)
    N = P @ (lambda M: M + M.T)(np.random.default_rng(0).standard_normal((5, 5))) @ P
    assert np.linalg.norm(H + 0.1 * N) > np.linalg.norm(H)
    with pytest.raises(ValueError, match="D <= 12"):
        brute_force_symmetric_lstsq(np.ones((13, 2)), np.ones((13, 2)))
    with pytest.raises(ValueError, match="shape"):
        brute_force_symmetric_lstsq(np.ones((4, 2)), np.ones((4, 3)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_procrustes_residual_matches_brute_force_and_bounds(seed):
    _, X, Y = noisy_pairs(6, 3, seed)
    H = brute_force_symmetric_lstsq(X, Y)
    r = procrustes_residual(X, Y)
    np.testing.assert_allclose(r, np.linalg.norm(H @ X - Y), rtol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(least_norm_hessian(X, Y) @ X - Y), r, rtol=1e-9)
    s = np.linalg.svd(X, compute_uv=False)
    skew = np.linalg.norm(X.T @ Y - Y.T @ X)
    assert skew / (2 * s[0]) <= r * (1 + 1e-12) and r <= skew / (2 * s[-1]) * (1 + 1e-12)
    assert r > 1e-3, "noisy pairs must have a positive residual"


def test_procrustes_residual_rank_deficient_and_consistent():
    rng = np.random.default_rng(3)
    A = spd_with_spectrum(rng.uniform(1, 2, 6), seed=3)
    X = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 4))  # rank 2, n = 4
    Y = A @ X + 0.1 * rng.standard_normal((6, 4))
    H = brute_force_symmetric_lstsq(X, Y)
    np.testing.assert_allclose(procrustes_residual(X, Y), np.linalg.norm(H @ X - Y), rtol=1e-8)
    Xc = rng.standard_normal((6, 3))
    assert procrustes_residual(Xc, A @ Xc) <= 1e-12 * np.linalg.norm(A @ Xc)
    Xt = torch.from_numpy(Xc)
    assert procrustes_residual(Xt, Xt) <= 1e-12


def test_dense_formula_matches_low_rank_and_torch():
    rng = np.random.default_rng(8)
    A = spd_with_spectrum(rng.uniform(-1, 2, 30), seed=8)
    X = rng.standard_normal((30, 4))
    assert_rel(dense_least_norm(X, A @ X), least_norm_hessian(X, A @ X).dense(), 1e-10, "dense")
    Xt = torch.from_numpy(X)
    assert_rel(
        dense_least_norm(Xt, torch.from_numpy(A) @ Xt).numpy(),
        dense_least_norm(X, A @ X),
        1e-12,
        "torch",
    )
    with pytest.raises(ValueError, match="shape"):
        dense_least_norm(np.ones((4, 2)), np.ones((4, 3)))


@pytest.mark.parametrize("bad", [float("nan"), -1.0])
def test_tolerances_are_validated(bad):
    X = np.eye(4)[:, :2]
    with pytest.raises(ValueError, match="rcond must be finite and >= 0"):
        brute_force_symmetric_lstsq(X, X, rcond=bad)
    with pytest.raises(ValueError, match="rtol must be finite and >= 0"):
        procrustes_residual(X, X, rtol=bad)
