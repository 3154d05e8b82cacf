"""Tests of hessnotes.limited: LimitedMemoryHessian against the batch estimators on every window,
and the batch estimators against dense references (numpy, float64, seeded)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch
from helpers import assert_close

from hessnotes.limited import LimitedMemoryHessian
from hessnotes.lowrank import LowRankSymmetric
from hessnotes.secant import (
    bfgs_hessian,
    least_change_hessian,
    least_norm_hessian,
    min_rank_hessian,
    scaling_gamma,
)

METHODS = ["least_norm", "psb", "bfgs", "min_rank", "sr1_sequential"]


def sequential_sr1(S, Y, gamma=0.0):
    """Dense reference: SR1 updates of gamma I, one pair after another (numpy, float64)."""
    B = gamma * np.eye(S.shape[0])
    for s, y in zip(S.T, Y.T, strict=True):
        r = y - B @ s
        B = B + np.outer(r, r) / (r @ s)
    return B


def batch(method: str, S, Y, gamma=None):
    """The batch estimator that a window of LimitedMemoryHessian(method) must reproduce."""
    if method == "least_norm":
        return least_norm_hessian(S, Y)
    if method == "min_rank":
        return min_rank_hessian(S, Y)
    if method == "sr1_sequential":
        return sequential_sr1(S, Y, 0.0 if gamma is None else gamma)
    g = scaling_gamma(S, Y) if gamma is None else gamma
    if method == "psb":
        return least_change_hessian(S, Y, g)
    return bfgs_hessian(S, Y, g)


def stream(D: int, N: int, seed: int, *, noise: float = 0.05, spd: bool = True):
    """N pairs (s, y) of a fixed symmetric A (positive definite if spd), y = A s + noise."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((D, D))
    A = B @ B.T / D + np.eye(D) if spd else (B + B.T) / 2
    S = rng.standard_normal((D, N))
    return A, S, A @ S + noise * rng.standard_normal((D, N))


def dense(H: LowRankSymmetric | np.ndarray) -> np.ndarray:
    d = H if isinstance(H, np.ndarray) else H.dense()
    return d.detach().numpy() if isinstance(d, torch.Tensor) else d


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("memory", [1, 3, 5])
@pytest.mark.parametrize("method", METHODS)
def test_every_window_equals_the_batch_estimator(method, memory, backend):
    D, N = 11, 9
    _, S, Y = stream(D, N, seed=memory)
    conv = torch.from_numpy if backend == "torch" else (lambda a: a)
    lm = LimitedMemoryHessian(method, memory=memory)
    for t in range(N):
        assert lm.update(conv(S[:, t]), conv(Y[:, t]))
        lo = max(0, t + 1 - memory)
        Sw, Yw = S[:, lo : t + 1], Y[:, lo : t + 1]
        assert lm.n_pairs == t + 1 - lo
        Ws, Wy = lm.window()
        assert type(Ws) is type(conv(S))
        np.testing.assert_array_equal(np.asarray(Ws), Sw)  # the window holds the last m pairs
        np.testing.assert_array_equal(np.asarray(Wy), Yw)
        H = lm.hessian
        assert H.kind == backend
        want = dense(batch(method, Sw, Yw))
        assert_close(dense(H), want, rtol=1e-10, what=f"{method}, m={memory}, after pair {t}")
        v = np.linspace(-1, 1, D)
        assert_close(H @ conv(v), want @ v, rtol=1e-10, what="H @ v through the implicit Q")


def test_batch_estimators_against_dense_references():
    """The references themselves: least-norm by brute force, BFGS by sequential dense updates."""
    from hessnotes.references import brute_force_symmetric_lstsq

    _, S, Y = stream(6, 3, seed=2)
    assert_close(
        dense(least_norm_hessian(S, Y)),
        brute_force_symmetric_lstsq(S, Y),
        rtol=1e-10,
        what="least norm",
    )
    g = scaling_gamma(S, Y)
    B = g * np.eye(6)
    for s, y in zip(S.T, Y.T, strict=True):
        Bs = B @ s
        B = B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (y @ s)
    assert_close(dense(batch("bfgs", S, Y)), B, rtol=1e-10, what="BFGS")


def test_gamma_defaults_to_scaling_gamma_of_the_window_and_can_be_fixed():
    _, S, Y = stream(8, 6, seed=3)
    for method in ("psb", "bfgs"):
        lm = LimitedMemoryHessian(method, memory=2)
        fixed = LimitedMemoryHessian(method, memory=2, gamma=0.8)
        for t in range(6):
            lm.update(S[:, t], Y[:, t])
            fixed.update(S[:, t], Y[:, t])
            assert lm.gamma == pytest.approx(scaling_gamma(S[:, : t + 1], Y[:, : t + 1]), rel=1e-12)
            assert lm.hessian.sigma == pytest.approx(lm.gamma, rel=1e-14)
            lo = max(0, t - 1)
            want = dense(batch(method, S[:, lo : t + 1], Y[:, lo : t + 1], gamma=0.8))
            assert_close(dense(fixed.hessian), want, rtol=1e-10, what=f"{method} fixed gamma")
    assert LimitedMemoryHessian("least_norm").gamma is None
    assert LimitedMemoryHessian("min_rank").gamma is None


def test_bfgs_skips_and_counts_pairs_without_positive_curvature():
    rng = np.random.default_rng(4)
    D = 10
    A = np.diag(np.r_[np.linspace(1, 3, D - 1), -2.0])  # one direction of negative curvature
    lm = LimitedMemoryHessian("bfgs", memory=3)
    kept = []
    for t in range(12):
        s = rng.standard_normal(D)
        if t in (2, 7):
            s = np.eye(D)[-1] * (1 + t)  # pure negative curvature: s^T y < 0
        y = A @ s
        ok = lm.update(s, y)
        assert ok == (s @ y > 0)
        if ok:
            kept.append((s, y))
    assert lm.n_skipped == 2 and lm.skipped == [2, 7] and lm.n_updates == 12
    Sw = np.stack([p[0] for p in kept[-3:]], 1)
    Yw = np.stack([p[1] for p in kept[-3:]], 1)
    assert_close(dense(lm.hessian), dense(batch("bfgs", Sw, Yw)), rtol=1e-10, what="kept pairs")
    assert lm.hessian.inertia()[0] == D, "BFGS stays positive definite"
    strict = LimitedMemoryHessian("bfgs", memory=3, on_skip="raise")
    strict.update(np.ones(D), A @ np.ones(D))
    with pytest.raises(ValueError, match=r"update 1: .*curvature condition"):
        strict.update(np.eye(D)[-1], A @ np.eye(D)[-1])
    assert strict.n_pairs == 1, "a refused pair leaves the window as it was"


def test_min_rank_skips_a_pair_that_would_break_it_down():
    H = np.diag([1.0, -1.0, 2.0, 3.0])
    x = np.array([1.0, 1.0, 0.0, 0.0])  # x^T H x = 0: the SR1 denominator vanishes
    lm = LimitedMemoryHessian("min_rank", memory=2)
    assert lm.update(np.eye(4)[2], H @ np.eye(4)[2])
    assert not lm.update(x, H @ x)
    assert lm.n_skipped == 1 and lm.n_pairs == 1
    assert_close(
        dense(lm.hessian),
        dense(min_rank_hessian(np.eye(4)[:, 2:3], H[:, 2:3])),
        rtol=1e-12,
        what="window without the breakdown pair",
    )
    with pytest.raises(ValueError, match=r"break min-rank \(SR1\) down"):
        LimitedMemoryHessian("min_rank", on_skip="raise").update(x, H @ x)


def test_sequential_sr1_skips_a_pair_whose_denominator_vanishes():
    H = np.diag([1.0, -1.0, 2.0, 3.0])
    x = np.array([1.0, 1.0, 0.0, 0.0])  # from B = 0: r = H x and x^T r = 0
    lm = LimitedMemoryHessian("sr1_sequential", memory=2)
    assert lm.update(np.eye(4)[2], H @ np.eye(4)[2])
    assert not lm.update(x, H @ x)
    assert lm.n_skipped == 1 and lm.skipped == [1] and lm.n_pairs == 1
    assert_close(dense(lm.hessian), np.diag([0.0, 0.0, 2.0, 0.0]), rtol=1e-14, what="kept pair")
    strict = LimitedMemoryHessian("sr1_sequential", on_skip="raise")
    with pytest.raises(ValueError, match=r"update 0: .*sequential SR1 .*pair 0 .*denominator"):
        strict.update(x, H @ x)
    assert strict.n_pairs == 0


def test_sequential_sr1_against_min_rank():
    """Equal on consistent pairs from 0 (the hereditary property), different on noisy pairs, and
    only the sequential one depends on the order of the pairs."""
    _, S, Y = stream(10, 5, seed=11, noise=0.0)
    seq, mr = (LimitedMemoryHessian(m, memory=5) for m in ("sr1_sequential", "min_rank"))
    for t in range(5):
        seq.update(S[:, t], Y[:, t])
        mr.update(S[:, t], Y[:, t])
    assert_close(dense(seq.hessian), dense(mr.hessian), rtol=1e-10, what="consistent pairs")
    again = LimitedMemoryHessian("sr1_sequential", memory=6)  # a repeated pair: r = 0, no update
    for t in [0, 1, 2, 3, 4, 2]:
        assert again.update(S[:, t], Y[:, t])
    assert_close(dense(again.hessian), dense(mr.hessian), rtol=1e-10, what="repeated pair")

    _, S, Y = stream(10, 5, seed=12, noise=0.1)
    order = [4, 2, 0, 3, 1]
    fits = {}
    for method in ("sr1_sequential", "min_rank"):
        for name, cols in (("in order", range(5)), ("permuted", order)):
            lm = LimitedMemoryHessian(method, memory=5)
            for t in cols:
                lm.update(S[:, t], Y[:, t])
            fits[method, name] = dense(lm.hessian)
    assert_close(fits["sr1_sequential", "in order"], sequential_sr1(S, Y), rtol=1e-10, what="dense")
    assert_close(
        fits["min_rank", "permuted"], fits["min_rank", "in order"], rtol=1e-12, what="min-rank"
    )

    def gap(a, b):
        return np.linalg.norm(a - b) / np.linalg.norm(b)

    assert gap(fits["sr1_sequential", "in order"], fits["min_rank", "in order"]) > 1e-3
    assert gap(fits["sr1_sequential", "permuted"], fits["sr1_sequential", "in order"]) > 1e-3


def test_sequential_sr1_from_gamma_identity():
    _, S, Y = stream(8, 6, seed=13)
    lm = LimitedMemoryHessian("sr1_sequential", memory=3, gamma=0.7)
    assert lm.gamma is None  # no pairs yet
    for t in range(6):
        lm.update(S[:, t], Y[:, t])
    assert lm.gamma == 0.7 and lm.hessian.sigma == pytest.approx(0.7, rel=1e-14)
    want = sequential_sr1(S[:, 3:], Y[:, 3:], 0.7)
    assert_close(dense(lm.hessian), want, rtol=1e-10, what="SR1 from 0.7 I")
    assert_close(lm.hessian @ S[:, -1], Y[:, -1], rtol=1e-10, what="newest secant equation")
    default = LimitedMemoryHessian("sr1_sequential")
    default.update(S[:, 0], Y[:, 0])
    assert default.gamma == 0.0


def test_the_old_name_sr1_still_gives_min_rank_and_says_so():
    _, S, Y = stream(7, 3, seed=14)
    said = r"\('sr1'\) is the minimum-rank .*'min_rank'.*sequential"
    with pytest.warns(FutureWarning, match=said):
        old = LimitedMemoryHessian("sr1", memory=3)
    assert old.method == "min_rank"
    for t in range(3):
        old.update(S[:, t], Y[:, t])
    assert_close(dense(old.hessian), dense(min_rank_hessian(S, Y)), rtol=1e-12, what="alias")


def test_psb_is_invariant_under_permuting_the_pairs_only_with_gamma_fixed():
    _, S, Y = stream(9, 5, seed=15, noise=0.1)
    rev = S[:, ::-1], Y[:, ::-1]
    g = scaling_gamma(S, Y)
    fixed = (dense(least_change_hessian(S, Y, g)), dense(least_change_hessian(*rev, g)))
    assert_close(fixed[1], fixed[0], rtol=1e-12, what="PSB, gamma fixed, reversed pairs")
    newest = dense(least_change_hessian(*rev, scaling_gamma(*rev)))
    assert np.linalg.norm(newest - fixed[0]) > 1e-3 * np.linalg.norm(fixed[0])


def test_indefinite_stream_for_least_norm_and_psb():
    _, S, Y = stream(9, 7, seed=5, spd=False, noise=0.0)
    for method in ("least_norm", "psb"):
        lm = LimitedMemoryHessian(method, memory=4)
        for t in range(7):
            lm.update(S[:, t], Y[:, t])
        want = dense(batch(method, S[:, 3:], Y[:, 3:]))
        assert_close(dense(lm.hessian), want, rtol=1e-10, what=method)
        assert_close(lm.hessian @ S[:, -1], Y[:, -1], rtol=1e-10, what="newest secant equation")


def test_float32_stays_float32():
    _, S, Y = stream(7, 4, seed=6)
    lm = LimitedMemoryHessian("bfgs", memory=2)
    for t in range(4):
        lm.update(S[:, t].astype(np.float32), Y[:, t].astype(np.float32))
    H = lm.hessian
    assert H.dtype == np.float32 and (H @ S[:, 0].astype(np.float32)).dtype == np.float32
    want = dense(batch("bfgs", S[:, 2:], Y[:, 2:]))
    assert_close(dense(H), want, rtol=1e-5, what="float32 window")


def test_an_earlier_estimate_refuses_after_the_buffer_moved_on():
    _, S, Y = stream(7, 4, seed=6)
    lm, keep = (LimitedMemoryHessian("least_norm", memory=2) for _ in range(2))
    lm.update(S[:, 0], Y[:, 0])
    keep.update(S[:, 0], Y[:, 0])
    H, K = lm.hessian, keep.hessian
    assert H._lazy is not None, "a well-conditioned window gives an implicit Q on the buffer"
    _ = K.Q  # reading Q gives the estimate its own copy
    lm.update(S[:, 1], Y[:, 1])
    keep.update(S[:, 1], Y[:, 1])
    with pytest.raises(RuntimeError, match="modified in place"):
        H @ np.ones(7)
    assert_close(K @ S[:, 0], Y[:, 0], rtol=1e-10, what="the copy still answers")


def test_bad_input():
    with pytest.raises(ValueError, match="method must be one of"):
        LimitedMemoryHessian("lbfgs")
    with pytest.raises(ValueError, match="memory must be a positive integer"):
        LimitedMemoryHessian(memory=0)
    with pytest.raises(ValueError, match="on_skip"):
        LimitedMemoryHessian(on_skip="damp")
    with pytest.raises(ValueError, match="positive"):
        LimitedMemoryHessian("bfgs", gamma=-1.0)
    with pytest.raises(ValueError, match="gamma is the scale"):
        LimitedMemoryHessian("min_rank", gamma=1.0)
    with pytest.raises(ValueError, match="tol must be finite"):
        LimitedMemoryHessian(tol=float("nan"))
    lm = LimitedMemoryHessian()
    with pytest.raises(ValueError, match="no pairs yet"):
        _ = lm.hessian
    with pytest.raises(ValueError, match="1-D of the same length"):
        lm.update(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(TypeError, match=r"has dtype int64.*astype"):
        lm.update(np.ones(3, dtype=int), np.ones(3))
    with pytest.raises(ValueError, match="zero step"):
        lm.update(np.zeros(3), np.ones(3))
    lm.update(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="pairs of length 3 as a numpy float64 array"):
        lm.update(torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="length 3"):
        lm.update(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="NaN or Inf"):
        lm.update(np.r_[1.0, np.nan, 1.0], np.ones(3))
    t = torch.ones(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="autograd cannot follow"):
        LimitedMemoryHessian().update(t, t)
    assert "pairs=1" in repr(lm) and "method='least_norm'" in repr(lm)


def test_quasi_newton_on_a_quadratic_converges_and_records_its_pairs():
    from hessnotes.limited import quasi_newton

    rng = np.random.default_rng(9)
    D = 10
    B = rng.standard_normal((D, D))
    A = torch.from_numpy(B @ B.T / D + np.eye(D))
    b = torch.from_numpy(rng.standard_normal(D))
    run = quasi_newton(
        lambda x: 0.5 * x @ A @ x - b @ x, torch.zeros(D, dtype=torch.float64), memory=4, gtol=1e-8
    )
    assert run.converged and run.n_skipped == 0
    assert_close(run.xs[:, -1], torch.linalg.solve(A, b), rtol=1e-7, what="minimiser")
    assert_close(run.S, run.xs[:, 1:] - run.xs[:, :-1], rtol=1e-15, what="steps")
    assert_close(run.Y, A @ run.S, rtol=1e-10, what="gradient differences of a quadratic")
    assert bool((run.fs[1:] <= run.fs[:-1]).all()), "Armijo steps decrease f"
    with pytest.raises(ValueError, match="1-D torch float64"):
        quasi_newton(lambda x: x @ x, np.zeros(3))


def test_gram_property_is_the_window_gram_matrix():
    _, S, Y = stream(8, 6, seed=10)
    lm = LimitedMemoryHessian("bfgs", memory=3)
    for t in range(6):
        lm.update(S[:, t], Y[:, t])
    Z = np.c_[S[:, 3:], Y[:, 3:]]
    assert_close(lm.gram, Z.T @ Z, rtol=1e-13, what="incremental Gram matrix")


# -------------------------------------------------------------------- solving, real windows
def gradient_descent_window(D: int = 300, m: int = 6, seed: int = 0):
    """The last m pairs of gradient descent with a small step on a quadratic plus a quartic:
    consecutive steps nearly parallel, the kind of window a real run produces."""
    rng = np.random.default_rng(seed)
    A = np.diag(np.linspace(1.0, 50.0, D))
    grad = lambda x: A @ x + 0.1 * x**3  # noqa: E731
    x = rng.standard_normal(D)
    xs = []
    for _ in range(40 + m + 1):
        xs.append(x)
        x = x - 0.01 * grad(x)
    xs = xs[-(m + 1) :]
    S = np.stack([b - a for a, b in pairwise(xs)], 1)
    Y = np.stack([grad(b) - grad(a) for a, b in pairwise(xs)], 1)
    return S, Y


def two_loop(S, Y, b, gamma):
    """L-BFGS's two-loop recursion (Nocedal & Wright, Alg. 7.4) in long double: the reference."""
    S, Y, q = (np.asarray(a, np.longdouble) for a in (S, Y, b))
    rho = [1 / (S[:, i] @ Y[:, i]) for i in range(S.shape[1])]
    a = np.zeros(S.shape[1], np.longdouble)
    for i in reversed(range(S.shape[1])):
        a[i] = rho[i] * (S[:, i] @ q)
        q = q - a[i] * Y[:, i]
    r = q / gamma
    for i in range(S.shape[1]):
        r = r + S[:, i] * (a[i] - rho[i] * (Y[:, i] @ r))
    return r.astype(np.float64)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_bfgs_solve_is_the_two_loop_recursion_without_a_basis(backend):
    S, Y = gradient_descent_window()
    G = np.hstack([S, Y])
    kappa = np.linalg.cond(G / np.linalg.norm(G, axis=0))
    assert kappa > 1e5, f"the window should be ill-conditioned (kappa {kappa:.1e})"
    b = np.random.default_rng(1).standard_normal(S.shape[0])
    conv = torch.from_numpy if backend == "torch" else np.asarray
    lm = LimitedMemoryHessian("bfgs", memory=4)
    for j in range(S.shape[1]):  # 6 pairs through a window of 4: the ring wraps
        lm.update(conv(S[:, j]), conv(Y[:, j]))
    z = lm.solve(conv(b))
    assert isinstance(z, torch.Tensor if backend == "torch" else np.ndarray)
    assert lm.n_estimates == 0, "solve needs no estimate (no basis, no QR)"
    ref = two_loop(S[:, -4:], Y[:, -4:], b, lm.gamma)
    assert_close(z, ref, rtol=1e-12, what="compact inverse vs two-loop recursion")
    from scipy.optimize import LbfgsInvHessProduct

    lm1 = LimitedMemoryHessian("bfgs", memory=4, gamma=1.0)
    for j in range(S.shape[1]):
        lm1.update(S[:, j], Y[:, j])
    scipy_z = LbfgsInvHessProduct(S[:, -4:].T, Y[:, -4:].T).matvec(b)
    assert_close(lm1.solve(b), scipy_z, rtol=1e-12, what="gamma = 1 vs scipy's L-BFGS product")
    Bm = np.stack([b, 2 * b], 1)
    assert_close(lm.solve(conv(Bm)), np.stack([ref, 2 * ref], 1), rtol=1e-12, what="(D, 2) block")


def test_solve_agrees_with_the_estimate_and_counts_fallbacks():
    _, S, Y = stream(30, 5, seed=3)
    lm = LimitedMemoryHessian("bfgs", memory=3)
    b = np.linspace(-1, 1, 30)
    for j in range(5):
        lm.update(S[:, j], Y[:, j])
        assert_close(lm.solve(b), lm.hessian.solve(b), rtol=1e-10, what=f"after update {j}")
    assert lm.n_estimates == 5 and lm.n_fallbacks == 0 and lm.last_tier == 1
    S2, Y2 = gradient_descent_window(D=60, m=5)
    ill = LimitedMemoryHessian("least_norm", memory=5)
    for j in range(5):
        ill.update(S2[:, j], Y2[:, j])
    _ = ill.hessian
    assert ill.last_tier == 3 and ill.n_fallbacks == 1, "a gradient-descent window needs QR"
    psb = LimitedMemoryHessian("psb", memory=3)
    for j in range(3):
        psb.update(S[:, j], Y[:, j])
    assert_close(psb.solve(b, 0.5), psb.hessian.solve(b, 0.5), rtol=1e-12, what="psb, shifted")


def test_solve_and_memory_refuse_bad_input():
    with pytest.raises(
        ValueError, match=r"LimitedMemoryHessian\(memory=1000000\).*32 TB.*MAX_DENSE"
    ):
        LimitedMemoryHessian("bfgs", memory=10**6)
    lm = LimitedMemoryHessian("bfgs", memory=2)
    with pytest.raises(ValueError, match="no pairs yet"):
        lm.solve(np.ones(4))
    lm.update(np.array([1.0, 0, 0, 0]), np.array([2.0, 0, 0, 0]))
    bad = np.ones(4)
    bad[1] = np.nan
    with pytest.raises(
        ValueError, match=r"^b \(shape \(4,\)\) holds NaN or Inf, first at index \(1,\)"
    ):
        lm.solve(bad)
    with pytest.raises(TypeError, match=r"b is a torch\.float64 tensor"):
        lm.solve(torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"b must have shape \(4,\) or \(4, k\)"):
        lm.solve(np.ones(3))
