"""Tests of hessnotes.distributed against the single-process least_norm_hessian."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from helpers import assert_rel, noisy_pairs

from hessnotes.distributed import (
    gloo_all_reduce_demo,
    least_norm_distributed,
    least_norm_from_gram,
    least_norm_sharded,
    sharded_gram,
)
from hessnotes.references import spd_with_spectrum
from hessnotes.secant import least_norm_hessian


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


def test_least_norm_from_gram_validates_rtol():
    with pytest.raises(ValueError, match="rtol must be finite and >= 0"):
        least_norm_from_gram(np.eye(4), 2, rtol=float("nan"))
