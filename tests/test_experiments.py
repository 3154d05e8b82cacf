"""Tests of hessnotes.experiments against independent references (dense formulas, np.linalg)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from hessnotes.experiments import (
    best_of,
    bfgs_skipping,
    brute_force_symmetric_lstsq,
    dense_least_norm,
    estimator_errors,
    fit_estimators,
    full_spectrum,
    gloo_all_reduce_demo,
    least_norm_distributed,
    least_norm_from_gram,
    least_norm_sharded,
    loglog_slope,
    procrustes_residual,
    sharded_gram,
    spd_with_spectrum,
    standard_estimators,
    time_vs_dimension,
)
from hessnotes.secant import bfgs_hessian, least_change_hessian, least_norm_hessian, scaling_gamma

ROOT = Path(__file__).resolve().parents[1]


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def assert_rel(a, b, tol: float, what: str) -> None:
    err = rel(a, b)
    assert err <= tol, f"{what}: relative Frobenius error {err:.2e} > tol {tol:.0e}"


def noisy_pairs(D: int, n: int, seed: int, noise: float = 0.1):
    rng = np.random.default_rng(seed)
    A = spd_with_spectrum(rng.uniform(1, 3, D), seed=seed)
    X = rng.standard_normal((D, n))
    return A, X, A @ X + noise * rng.standard_normal((D, n))


# ------------------------------------------------------------------------ noisy pairs
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


# ------------------------------------------------------------------------ timings
def test_best_of_and_loglog_slope():
    calls = []
    t = best_of(lambda: calls.append(time.sleep(0.001)), 3)
    assert len(calls) == 3 and 0.001 <= t < 1.0
    with pytest.raises(ValueError, match="k=0"):
        best_of(lambda: None, 0)
    calls.clear()
    best_of(lambda: calls.append(1), 1, budget=10.0)
    assert len(calls) == 100, "a budget buys more calls, at most 100"
    x = np.array([10.0, 100.0, 1000.0, np.nan])
    assert abs(loglog_slope(x, 3 * x**2.5) - 2.5) < 1e-12
    assert abs(loglog_slope(x, np.r_[1.0, 3 * x[1:] ** 1.0], xmin=100) - 1.0) < 1e-12
    with pytest.raises(ValueError, match="two"):
        loglog_slope([1.0], [1.0])


def test_dense_formula_and_timing_sweep():
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
    threads = torch.get_num_threads()
    out = time_vs_dimension([40, 80], 3, dense_max=50, k=2, dense_k=1, budget=0.01)
    assert torch.get_num_threads() == threads, "torch's thread setting was not restored"
    assert set(out) == {"D", "low-rank", "dense"}
    np.testing.assert_array_equal(out["D"], [40.0, 80.0])
    assert np.all(out["low-rank"] > 0) and out["dense"][0] > 0 and np.isnan(out["dense"][1])


# ------------------------------------------------------------------------ past one machine
@pytest.mark.parametrize("shards", [1, 3, 7])
def test_sharded_gram_sums_to_full_gram(shards):
    _, X, Y = noisy_pairs(50, 4, seed=9)
    Z = np.c_[X, Y]
    grams = sharded_gram(X, Y, shards)
    assert len(grams) == shards and all(g.shape == (8, 8) for g in grams)
    np.testing.assert_allclose(sum(grams), Z.T @ Z, rtol=1e-12, atol=1e-12)
    gt = sharded_gram(torch.from_numpy(X), torch.from_numpy(Y), shards)
    assert isinstance(gt[0], torch.Tensor)
    np.testing.assert_allclose(sum(gt).numpy(), Z.T @ Z, rtol=1e-12, atol=1e-12)


def test_sharded_gram_bad_input():
    with pytest.raises(ValueError, match="shards"):
        sharded_gram(np.ones((3, 2)), np.ones((3, 2)), 4)
    with pytest.raises(ValueError, match="shape"):
        sharded_gram(np.ones((3, 2)), np.ones((3, 1)), 1)
    with pytest.raises(TypeError, match="numpy array or a torch tensor"):
        sharded_gram([[1.0]], [[1.0]], 1)
    with pytest.raises(ValueError, match=r"\(2n, 2n\)"):
        least_norm_from_gram(np.eye(3), 2)
    with pytest.raises(ValueError, match="zero"):
        least_norm_from_gram(np.zeros((4, 4)), 2)


@pytest.mark.parametrize(("shards", "consistent"), [(1, True), (4, False), (9, True)])
def test_least_norm_sharded_equals_least_norm_hessian(shards, consistent):
    A, X, Y = noisy_pairs(200, 5, seed=10)
    if consistent:
        Y = A @ X
    want = least_norm_hessian(X, Y).dense()
    H = least_norm_sharded(X, Y, shards)
    assert isinstance(H.Q, np.ndarray)
    assert_rel(H.dense(), want, 1e-10, f"sharded ({shards}) vs least_norm_hessian")
    Ht = least_norm_sharded(torch.from_numpy(X), torch.from_numpy(Y), shards)
    assert isinstance(Ht.Q, torch.Tensor)
    assert_rel(Ht.dense().numpy(), want, 1e-10, "torch input")


def test_cholesky_qr2_pass_rescues_ill_conditioned_pairs():
    rng = np.random.default_rng(12)
    D, n = 400, 6
    A = spd_with_spectrum(rng.uniform(1, 2, D), seed=12)
    U = np.linalg.qr(rng.standard_normal((D, n)))[0]
    V = np.linalg.qr(rng.standard_normal((n, n)))[0]
    X = (U * np.geomspace(1, 1e-6, n)) @ V.T  # kappa(X) = 1e6
    want = least_norm_hessian(X, A @ X).dense()
    with pytest.raises(ValueError, match="not orthonormal"):
        least_norm_sharded(X, A @ X, 3)  # one Gram pass squares kappa: 1e12 * eps >> sqrt(eps)
    assert_rel(least_norm_sharded(X, A @ X, 3, passes=2).dense(), want, 1e-8, "CholeskyQR2")
    with pytest.raises(ValueError, match="passes"):
        least_norm_sharded(X, A @ X, 3, passes=3)


def test_least_norm_from_gram_factor_reproduces_h():
    _, X, Y = noisy_pairs(40, 3, seed=11)
    Z = np.c_[X, Y]
    T, lam = least_norm_from_gram(Z.T @ Z, 3)
    assert T.shape == (6, lam.size) and lam.size <= 6
    Q = Z @ T
    np.testing.assert_allclose(Q.T @ Q, np.eye(lam.size), atol=1e-10)
    assert_rel((Q * lam) @ Q.T, least_norm_hessian(X, Y).dense(), 1e-10, "Z T diag(lam) T^T Z^T")


def test_least_norm_distributed_needs_a_process_group():
    with pytest.raises(RuntimeError, match="process group"):
        least_norm_distributed(torch.ones(4, 1), torch.ones(4, 1))


def test_two_process_gloo_all_reduce():
    """A real 2-process torch.distributed run (gloo over 127.0.0.1) of the Gram all-reduce."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    t0 = time.perf_counter()
    err = gloo_all_reduce_demo(world=2, D=3000, n=4, passes=2, seed=1)
    assert err["gram"] < 1e-13, f"all-reduced Gram matrix off by {err['gram']:.2e}"
    assert err["hv"] < 1e-10, f"distributed H v off by {err['hv']:.2e} (tol 1e-10)"
    assert time.perf_counter() - t0 < 30
