"""Tests of hessnotes.estimators: the estimator comparison against dense references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_rel, noisy_pairs, rel

from hessnotes.estimators import (
    bfgs_skipping,
    estimator_errors,
    fit_estimators,
    full_spectrum,
    standard_estimators,
)
from hessnotes.references import spd_with_spectrum
from hessnotes.secant import bfgs_hessian, least_change_hessian, least_norm_hessian, scaling_gamma


def test_bfgs_skipping_skips_negative_curvature():
    rng = np.random.default_rng(5)
    A = spd_with_spectrum(np.r_[np.linspace(1, 2, 7), -1.0], seed=5)  # one negative eigenvalue
    v = np.linalg.eigh(A)[1][:, 0]  # the negative-curvature direction
    X = np.c_[rng.standard_normal((8, 2)), v, rng.standard_normal(8)]
    X[:, 0] = np.abs(X[:, 0])
    Y = A @ X
    keep = (X * Y).sum(0) > 0
    assert not keep[2] and keep.sum() >= 2
    got = bfgs_skipping(X, Y).dense()
    Xk, Yk = X[:, keep], Y[:, keep]
    want = bfgs_hessian(Xk, Yk, scaling_gamma(Xk, Yk)).dense()
    assert_rel(got, want, 1e-12, "bfgs_skipping = BFGS on the kept pairs")
    with pytest.raises(ValueError, match="positive curvature"):
        bfgs_skipping(v[:, None], (A @ v)[:, None])


def test_estimator_errors_against_dense_and_breakdowns():
    rng = np.random.default_rng(6)
    A = spd_with_spectrum(np.linspace(1, 4, 7), seed=6)
    X = rng.standard_normal((7, 7))
    errs = estimator_errors(A, X, A @ X, standard_estimators(), [2, 7])
    assert list(errs) == ["min-norm", "min-rank", "PSB(γ)", "BFGS(γ)"]
    for name in ["min-norm", "min-rank", "PSB(γ)"]:  # multi-secant: n = D pairs pin H down
        e = errs[name]
        assert e.shape == (2,) and e[1] <= 1e-10, f"{name}: n = D should recover H, got {e}"
    # BFGS applies the pairs one after another: only the last secant equation survives exactly.
    B = standard_estimators()["BFGS(γ)"](X, A @ X)
    assert_rel(B @ X[:, -1], A @ X[:, -1], 1e-10, "BFGS: H x_n = y_n")
    assert errs["BFGS(γ)"][1] > 1e-3
    g = scaling_gamma(X[:, :2], A @ X[:, :2])
    psb = least_change_hessian(X[:, :2], A @ X[:, :2], g).dense()
    np.testing.assert_allclose(errs["PSB(γ)"][0], rel(psb, A), rtol=1e-12)
    # SR1 breakdown: H = diag(1, -1, 2, 3), x = (1, 1, 0, 0) has x^T H x = 0 -> NaN, not a crash.
    H = np.diag([1.0, -1.0, 2.0, 3.0])
    x = np.array([[1.0], [1.0], [0.0], [0.0]])
    e = estimator_errors(H, x, H @ x, standard_estimators(), [1])
    assert np.isnan(e["min-rank"][0]) and np.isfinite(e["min-norm"][0])
    assert fit_estimators(x, H @ x, standard_estimators(), [1])["min-rank"] == [None]
    with pytest.raises(ValueError, match="outside"):
        fit_estimators(X, X, standard_estimators(), [0])
    with pytest.raises(ValueError, match="H_true"):
        estimator_errors(np.eye(3), X, X, standard_estimators(), [1])


def test_full_spectrum_matches_dense_eigvalsh():
    _, X, Y = noisy_pairs(9, 3, seed=7)
    for H in (least_norm_hessian(X, Y), least_change_hessian(X, Y, 2.5)):
        want = np.sort(np.linalg.eigvalsh(H.dense()))[::-1]
        np.testing.assert_allclose(full_spectrum(H), want, rtol=1e-10, atol=1e-12)
    Ht = least_change_hessian(torch.from_numpy(X), torch.from_numpy(Y), -1.0)
    assert full_spectrum(Ht).shape == (9,) and np.sum(full_spectrum(Ht) == -1.0) == 9 - Ht.rank
