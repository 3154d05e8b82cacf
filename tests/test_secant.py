"""Tests for hessnotes.secant against an independent brute force over a basis of Sym(D)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes import _linalg
from hessnotes.lowrank import LowRankSymmetric
from hessnotes.secant import (
    EigenDerivation,
    bfgs_hessian,
    eigen_derivation_hessian,
    least_change_hessian,
    least_norm_hessian,
    min_rank_hessian,
    scaling_gamma,
    secant_pairs,
    symmetric_residual,
)


# ----------------------------------------------------------------------------- references
def sym_basis(D: int) -> list[np.ndarray]:
    """Orthonormal basis of Sym(D) in the Frobenius inner product: E_ii, (E_ij + E_ji)/sqrt 2."""
    basis = []
    for i in range(D):
        for j in range(i, D):
            E = np.zeros((D, D))
            E[i, j] = E[j, i] = 1.0 if i == j else 2**-0.5
            basis.append(E)
    return basis


def brute_force(X: np.ndarray, Y: np.ndarray, rcond: float = 1e-10) -> np.ndarray:
    """Least-norm minimiser of ||H X - Y||_F over symmetric H by vectorised least squares.

    With H = sum_k h_k B_k over an orthonormal basis of Sym(D), ||H||_F = ||h||_2 and
    vec(H X) = A h with A[:, k] = vec(B_k X); numpy's SVD-based lstsq gives the minimum-norm h.
    """
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    B = sym_basis(X.shape[0])
    A = np.stack([(b @ X).T.reshape(-1) for b in B], axis=1)
    h = np.linalg.lstsq(A, Y.T.reshape(-1), rcond=rcond)[0]
    return sum(hk * b for hk, b in zip(h, B, strict=True))


def dense(H: LowRankSymmetric) -> np.ndarray:
    d = H.dense()
    return d.cpu().double().numpy() if isinstance(d, torch.Tensor) else np.asarray(d, np.float64)


def sym(rng, D):
    A = rng.standard_normal((D, D))
    return A + A.T


def make_case(kind: str, D: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind in ("consistent", "inconsistent"):
        X = rng.standard_normal((D, n))
    elif kind in ("rank_deficient", "rank_deficient_noisy"):  # rank < min(D, n), up to rounding
        r = max(1, min(D, n) - 1)
        X = rng.standard_normal((D, r)) @ rng.standard_normal((r, n))
    elif kind == "fp_rank_deficient":  # last column a combination of the others, in floating point
        X = rng.standard_normal((D, n))
        X[:, -1] = 0.3 * X[:, 0] + 0.7 * X[:, -2] if n > 1 else 0.0 * X[:, 0]
    else:
        raise AssertionError(kind)
    A = sym(rng, D)
    Y = A @ X
    if kind in ("inconsistent", "rank_deficient_noisy"):
        Y = Y + rng.standard_normal((D, n))
    return X, Y


def as_backend(a, backend: str, dtype=np.float64):
    a = np.asarray(a, dtype)
    return torch.from_numpy(a) if backend == "torch" else a


# n > D on purpose: more pairs than dimensions draws the transposition hint (a UserWarning).
_WIDE = pytest.mark.filterwarnings("ignore:X and Y have shape:UserWarning")
SHAPES = [
    (3, 2),
    (4, 3),
    pytest.param(2, 5, marks=_WIDE),
    (8, 3),
    (6, 6),
    (5, 1),
    (1, 1),
    (7, 4),
    (8, 8),
    pytest.param(3, 7, marks=_WIDE),
]
KINDS = [
    "consistent",
    "inconsistent",
    "rank_deficient",
    "rank_deficient_noisy",
    "fp_rank_deficient",
]


@pytest.fixture(params=["gram", "cholqr2", "householder"])
def tier(request, monkeypatch):
    """Force one of the three thin-QR algorithms for both dtypes."""
    kappa = {"gram": (np.inf, np.inf), "cholqr2": (0.0, np.inf), "householder": (0.0, 0.0)}
    k = kappa[request.param]
    monkeypatch.setattr(_linalg, "_KAPPA", {torch.float64: k, torch.float32: k})
    return request.param


# ----------------------------------------------------------------------------- brute force
@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("D", "n"), SHAPES)
def test_least_norm_matches_brute_force(D, n, kind, backend):
    X, Y = make_case(kind, D, n, seed=D * 100 + n)
    H = least_norm_hessian(as_backend(X, backend), as_backend(Y, backend))
    assert isinstance(H.Q, torch.Tensor if backend == "torch" else np.ndarray)
    assert_close(dense(H), brute_force(X, Y), rtol=1e-12, atol=1e-14, what=f"{kind} {D}x{n}")


@_WIDE
@pytest.mark.parametrize("kind", KINDS)
def test_each_qr_path_matches_brute_force(tier, kind):
    for D, n in [(8, 3), (7, 2), (6, 3), (4, 5)]:
        X, Y = make_case(kind, D, n, seed=7 * D + n)
        if tier != "householder" and kind != "consistent" and kind != "inconsistent":
            continue  # rank-deficient [X Y]: Cholesky fails and the code falls back anyway
        H = least_norm_hessian(X, Y)
        assert_close(dense(H), brute_force(X, Y), rtol=1e-12, what=f"{tier} {kind} {D}x{n}")


def test_each_path_is_taken(monkeypatch):
    seen = []
    orig = _linalg.range_basis

    def spy(*a, **kw):
        b = orig(*a, **kw)
        seen.append(b.tier)
        return b

    import hessnotes.secant as secant

    monkeypatch.setattr(secant, "range_basis", spy)
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((300, 3)))
    V, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    for kappa in (1.0, 1e3, 1e7):  # column scaling alone would be undone by equilibration
        X = (U * np.array([1.0, kappa**-0.5, 1 / kappa])) @ V.T
        least_norm_hessian(X, rng.standard_normal((300, 3)))
    assert seen == [1, 2, 3], f"tiers taken {seen}, expected Gram, CholeskyQR2, Householder"


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("kind", ["consistent", "inconsistent"])
@pytest.mark.parametrize(("D", "n"), [(3, 2), (8, 3), pytest.param(2, 5, marks=_WIDE), (6, 6)])
def test_least_norm_float32(D, n, kind, backend):
    X, Y = make_case(kind, D, n, seed=3 + D + n)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    H = least_norm_hessian(
        as_backend(X32, backend, np.float32), as_backend(Y32, backend, np.float32)
    )
    assert H.dtype in (np.float32, torch.float32)
    assert_close(dense(H), brute_force(X32, Y32), rtol=1e-5, what=f"float32 {kind} {D}x{n}")


def test_large_D_never_dense():
    rng = np.random.default_rng(1)
    D = 200_000  # a D x D float64 array would need 320 GB
    X = rng.standard_normal((D, 2))
    d = rng.uniform(1, 2, D)
    Y = d[:, None] * X
    H = least_norm_hessian(X, Y)
    assert H.rank == 4
    assert_close(H @ X, Y, rtol=1e-12, what="H X = Y at D = 2e5")


# ----------------------------------------------------------------------------- properties
@st.composite
def problems(draw, consistent: bool = True, max_D: int = 8):
    D = draw(st.integers(1, max_D))
    n = draw(st.integers(1, D))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((D, n))
    A = sym(rng, D)
    Y = A @ X if consistent else rng.standard_normal((D, n))
    return X, Y, A, rng


PROP = settings(max_examples=40, deadline=None)


@PROP
@given(problems(consistent=False))
def test_symmetric(p):
    X, Y, _, _ = p
    Hd = dense(least_norm_hessian(X, Y))
    assert_close(Hd, Hd.T, rtol=1e-14, atol=1e-300, what="H - H^T")


@PROP
@given(problems(consistent=True))
def test_secant_equations(p):
    X, Y, _, _ = p
    assert_close(least_norm_hessian(X, Y) @ X, Y, rtol=1e-10, what="H X = Y")


@PROP
@given(problems(consistent=False), st.booleans())
def test_minimality(p, consistent):
    X, Y, A, rng = p
    if consistent:
        Y = A @ X
    D = X.shape[0]
    U, s, _ = np.linalg.svd(X)
    r = int((s > 1e-10 * s[0]).sum())
    if r == D:
        return  # no feasible perturbation
    P = U[:, r:] @ U[:, r:].T
    N = P @ sym(rng, D) @ P  # symmetric, N X = 0
    Hd = dense(least_norm_hessian(X, Y))
    assert np.linalg.norm(N @ X) <= 1e-10 * np.linalg.norm(N)
    lhs, rhs = np.linalg.norm(Hd + N) ** 2, np.linalg.norm(Hd) ** 2 + np.linalg.norm(N) ** 2
    assert lhs > np.linalg.norm(Hd) ** 2
    assert abs(lhs - rhs) <= 1e-10 * rhs, f"||H+N||^2 = {lhs} != ||H||^2 + ||N||^2 = {rhs}"


@PROP
@given(problems(consistent=False), st.floats(0.1, 10), st.floats(0.1, 10), st.booleans())
def test_equivariance(p, a, b, flip):
    X, Y, _, rng = p
    D = X.shape[0]
    Qo, _ = np.linalg.qr(rng.standard_normal((D, D)))
    a = -a if flip else a
    Hd = dense(least_norm_hessian(X, Y))
    assert_close(
        dense(least_norm_hessian(Qo @ X, Qo @ Y)), Qo @ Hd @ Qo.T, rtol=1e-11, what="QHQ^T"
    )
    assert_close(dense(least_norm_hessian(a * X, b * Y)), (b / a) * Hd, rtol=1e-11, what="(b/a)H")


@PROP
@given(problems(consistent=False))
def test_invariance_under_column_rotation(p):
    X, Y, _, rng = p
    R, _ = np.linalg.qr(rng.standard_normal((X.shape[1], X.shape[1])))
    assert_close(
        dense(least_norm_hessian(X @ R, Y @ R)),
        dense(least_norm_hessian(X, Y)),
        rtol=1e-11,
        what="H(XR, YR) = H(X, Y)",
    )


@PROP
@given(st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_n_equals_D_recovers_H(D, seed):
    rng = np.random.default_rng(seed)
    A, X = sym(rng, D), rng.standard_normal((D, D))
    if np.linalg.cond(X) > 1e6:
        return
    assert_close(dense(least_norm_hessian(X, A @ X)), A, rtol=1e-10, what=f"n = D = {D}")


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_spd_structure(n):
    rng = np.random.default_rng(10 + n)
    D = 8
    B = rng.standard_normal((D, D))
    A = B @ B.T + 0.1 * np.eye(D)
    X = rng.standard_normal((D, n))
    Y = A @ X
    M = min_rank_hessian(X, Y)
    gap = np.linalg.eigvalsh(A - dense(M))
    assert gap.min() >= -1e-12 * np.abs(gap).max(), f"A - min_rank not PSD: eigenvalues {gap}"
    assert least_norm_hessian(X, Y).inertia() == (n, n, D - 2 * n)
    assert M.inertia() == (n, 0, D - n)


# ----------------------------------------------------------------------------- min rank, blog
BLOG_H = np.array(
    [
        [0.68753582, 0.77990032, 0.67761106],
        [0.77990032, 0.90211256, 0.71772732],
        [0.67761106, 0.71772732, 0.81647766],
    ]
)
BLOG_X = np.array(
    [[-2.20796738, -0.30411266], [-1.40391911, -0.54950598], [-0.42806159, 0.83258512]]
)
BLOG_Y = np.array(
    [[-2.90303289, -0.07347936], [-3.29571902, -0.13532473], [-2.85327694, 0.07932159]]
)


def test_blog_example_numbers():
    assert_close(BLOG_H @ BLOG_X, BLOG_Y, rtol=1e-8, what="blog data: H X = Y")
    N, M = least_norm_hessian(BLOG_X, BLOG_Y), min_rank_hessian(BLOG_X, BLOG_Y)
    assert N.fro_norm() == pytest.approx(2.246, abs=5e-4)
    assert M.fro_norm() == pytest.approx(2.262, abs=5e-4)
    assert N.fro_norm() < M.fro_norm()
    # The data come from a rank-2 H with 2 pairs spanning its range: min rank recovers it.
    assert_close(dense(M), BLOG_H, rtol=1e-7, what="min_rank recovers the blog's H")
    E = eigen_derivation_hessian(BLOG_X, BLOG_Y)
    assert_close(dense(E.H), dense(M), rtol=1e-12, what="eigen derivation == min_rank (blog)")
    assert_close(np.sort(E.s), [0.14866874, 2.2574573], rtol=1e-7, what="blog eigenvalues s")
    text = repr(E)
    assert text.startswith("EigenDerivation(G (3, 3), J rank 2") and "LowRankSymmetric(" in text
    assert "array(" not in text and len(text) < 300, "print(E) shows a summary, not every array"


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize(("D", "n"), [(5, 2), (8, 3), (4, 4), (9, 1)])
def test_min_rank_and_eigen_derivation(D, n, backend):
    rng = np.random.default_rng(D + 10 * n)
    X = rng.standard_normal((D, n))
    A = sym(rng, D)
    Y = A @ X
    ref = Y @ np.linalg.solve(X.T @ Y, Y.T)
    Xb, Yb = as_backend(X, backend), as_backend(Y, backend)
    M, info = min_rank_hessian(Xb, Yb, return_info=True)
    assert M.rank == n and info.asymmetry < 1e-12
    assert_close(dense(M), ref, rtol=1e-10, what="Y (X^T Y)^-1 Y^T")
    assert_close(M @ X, Y, rtol=1e-10, what="min_rank: H X = Y")
    # min_rank = least_norm + P Y (X^T Y)^-1 Y^T P with P = I - X X^+
    P = np.eye(D) - X @ np.linalg.pinv(X)
    extra = P @ Y @ np.linalg.solve(X.T @ Y, Y.T) @ P
    assert_close(dense(M), dense(least_norm_hessian(X, Y)) + extra, rtol=1e-9, what="M = H* + ..")
    E = eigen_derivation_hessian(Xb, Yb)
    assert isinstance(E, EigenDerivation)
    assert_close(dense(E.H), ref, rtol=1e-10, what="eigen derivation == min_rank")
    m = E.G.shape[1]
    assert E.J.shape == (m, m) and E.M.shape == (n, n) and E.U.shape == (D, n)
    assert_close(np.asarray(E.inv_s), np.sort(1 / np.asarray(E.s)), rtol=1e-12, what="1/s")
    assert E.asymmetry < 1e-10


def test_min_rank_asymmetric_data_reports():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    S = X.T @ Y
    M, info = min_rank_hessian(X, Y, return_info=True)
    expect = np.linalg.norm(S - S.T) / np.linalg.norm(S)
    assert info.asymmetry == pytest.approx(expect, rel=1e-12)
    assert symmetric_residual(X, Y) == pytest.approx(expect, rel=1e-12)
    Ss = (S + S.T) / 2
    assert_close(dense(M), Y @ np.linalg.solve(Ss, Y.T), rtol=1e-10, what="Y sym(X^T Y)^-1 Y^T")


def test_sr1_breakdown_example():
    H = np.diag([1.0, -1.0, 2.0, 3.0])
    x = np.array([[1.0], [1.0], [0.0], [0.0]])
    with pytest.raises(ValueError, match=r"SR1.*diag\(1, -1, 2, 3\)"):
        min_rank_hessian(x, H @ x)
    with pytest.raises(ValueError, match="SR1"):
        eigen_derivation_hessian(x, H @ x + np.array([[0.0], [0.0], [1.0], [0.0]]))
    # least_norm never breaks down: it is the PSB update from 0
    N = least_norm_hessian(x, H @ x)
    assert_close(N @ x, H @ x, rtol=1e-14, atol=1e-15, what="least_norm at the SR1 breakdown")


# ----------------------------------------------------------------------------- updates from H0
def test_scaling_gamma():
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    s, y = X[:, -1], Y[:, -1]
    assert scaling_gamma(X, Y) == pytest.approx(y @ s / (s @ s), rel=1e-14)
    lsq = np.sum(X * Y) / np.sum(X * X)
    assert scaling_gamma(X, Y, which="lstsq") == pytest.approx(lsq, rel=1e-14)
    with pytest.raises(ValueError, match="which"):
        scaling_gamma(X, Y, which="first")
    with pytest.raises(ValueError, match="step s is zero"):
        scaling_gamma(np.zeros((5, 1)), Y[:, :1])


@pytest.mark.parametrize(("D", "n"), [(6, 1), (6, 3), pytest.param(4, 5, marks=_WIDE)])
def test_least_change_scalar(D, n):
    rng = np.random.default_rng(5 + n)
    X, Y = rng.standard_normal((D, n)), rng.standard_normal((D, n))
    g = 0.8
    H = least_change_hessian(X, Y, g)
    assert H.sigma == g
    ref = g * np.eye(D) + brute_force(X, Y - g * X)
    assert_close(dense(H), ref, rtol=1e-12, what="gamma I + least_norm(X, Y - gamma X)")
    if n == 1:  # the PSB formula
        s, y = X[:, 0], Y[:, 0]
        r = y - g * s
        psb = g * np.eye(D) + (np.outer(r, s) + np.outer(s, r)) / (s @ s)
        psb -= (s @ r) * np.outer(s, s) / (s @ s) ** 2
        assert_close(dense(H), psb, rtol=1e-12, what="PSB")


def test_least_change_lowrank_H0():
    rng = np.random.default_rng(6)
    D, n = 7, 2
    H0 = LowRankSymmetric.from_factors(rng.standard_normal((D, 2)), np.diag([1.0, -2.0]), 0.3)
    X = rng.standard_normal((D, n))
    Y = sym(rng, D) @ X
    H = least_change_hessian(X, Y, H0)
    H0d = dense(H0)
    assert_close(dense(H), H0d + brute_force(X, Y - H0d @ X), rtol=1e-11, what="H0 + LN(X, Y-H0X)")
    assert_close(H @ X, Y, rtol=1e-11, what="least_change: H X = Y")
    with pytest.raises(TypeError, match="real scalar"):
        least_change_hessian(X, Y, "identity")
    with pytest.raises(ValueError, match="must match"):
        least_change_hessian(X[:5], Y[:5], H0)


@pytest.mark.parametrize(("D", "n"), [(8, 1), (8, 3), (5, 5), pytest.param(3, 4, marks=_WIDE)])
def test_bfgs_matches_sequential_updates(D, n):
    rng = np.random.default_rng(7 + D + n)
    B = rng.standard_normal((D, D))
    A = B @ B.T + 0.5 * np.eye(D)
    X = rng.standard_normal((D, n))
    Y = A @ X
    g = scaling_gamma(X, Y)
    Bk = g * np.eye(D)
    for i in range(n):
        s, y = X[:, i], Y[:, i]
        Bs = Bk @ s
        Bk = Bk - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (y @ s)
    H = bfgs_hessian(X, Y, g)
    assert H.sigma == g
    assert_close(dense(H), Bk, rtol=1e-10, what=f"compact BFGS vs {n} sequential updates")
    assert_close(H @ X[:, -1], Y[:, -1], rtol=1e-10, what="BFGS: last secant equation")
    assert H.inertia()[0] == D, "BFGS from gamma I with s^T y > 0 must be positive definite"


def test_bfgs_curvature_condition():
    x = np.array([[1.0], [1.0], [0.0], [0.0]])
    y = np.diag([1.0, -2.0, 2.0, 3.0]) @ x
    with pytest.raises(ValueError, match="curvature condition"):
        bfgs_hessian(x, y, 1.0)
    with pytest.raises(ValueError, match="gamma must be positive"):
        bfgs_hessian(x, -y, 0.0)


# ----------------------------------------------------------------------------- pairs from f
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_secant_pairs(backend):
    rng = np.random.default_rng(8)
    D, m = 5, 4
    A, b = sym(rng, D), rng.standard_normal(D)
    At, bt = torch.from_numpy(A), torch.from_numpy(b)

    def f(x):
        return 0.5 * x @ At @ x + bt @ x

    P = rng.standard_normal((D, m))
    X, Y = secant_pairs(f, as_backend(P, backend))
    assert isinstance(X, torch.Tensor if backend == "torch" else np.ndarray)
    assert X.shape == (D, m - 1)
    assert_close(X, P[:, 1:] - P[:, :1], rtol=0, what="X = points - x0")
    assert_close(Y, A @ np.asarray(X), rtol=1e-12, what="differences: Y = A X for any quadratic")
    _, Yr = secant_pairs(f, as_backend(P, backend), differences=False)
    assert_close(Yr, A @ P + b[:, None], rtol=1e-12, what="raw gradients")
    assert symmetric_residual(X, Y) < 1e-12
    with pytest.raises(ValueError, match="at least 2 points"):
        secant_pairs(f, as_backend(P[:, :1], backend))
    with pytest.raises(TypeError, match="scalar"):
        secant_pairs(lambda x: x, as_backend(P, backend))


def test_symmetric_residual_grows_off_quadratic():
    rng = np.random.default_rng(9)

    def f(x):
        return torch.sum(torch.cosh(x)) + 0.25 * torch.sum(x**4)

    small_pts = 1e-2 * rng.standard_normal((6, 4))
    X1, Y1 = secant_pairs(f, small_pts)
    X2, Y2 = secant_pairs(f, 100 * small_pts)
    assert symmetric_residual(X1, Y1) < symmetric_residual(X2, Y2)


# ----------------------------------------------------------------------------- bad input
FUNCS = {
    "least_norm": least_norm_hessian,
    "min_rank": min_rank_hessian,
    "eigen": eigen_derivation_hessian,
    "least_change": lambda X, Y: least_change_hessian(X, Y, 1.0),
    "bfgs": lambda X, Y: bfgs_hessian(X, Y, 1.0),
    "residual": symmetric_residual,
    "gamma": scaling_gamma,
}
GOOD = np.random.default_rng(0).standard_normal((4, 2))


def _nan():
    a = GOOD.copy()
    a[2, 1] = np.nan
    return a


def _inf():
    a = GOOD.copy()
    a[0, 0] = -np.inf
    return a


BAD = [
    ("shapes", GOOD, GOOD[:3], ValueError, r"X has shape \(4, 2\) but Y has shape \(3, 2\)"),
    ("1-D", GOOD[:, 0], GOOD[:, 0], ValueError, r"X must be 2-D.*reshape\(-1, 1\)"),
    ("3-D", GOOD[None], GOOD[None], ValueError, "must be 2-D"),
    ("n=0", GOOD[:, :0], GOOD[:, :0], ValueError, r"n >= 1 columns"),
    ("D=0", GOOD[:0], GOOD[:0], ValueError, r"D >= 1 rows"),
    ("nan", GOOD, _nan(), ValueError, r"Y \(shape \(4, 2\)\) holds NaN or Inf.*\(2, 1\)"),
    ("inf", _inf(), GOOD, ValueError, r"X \(shape \(4, 2\)\) holds NaN or Inf"),
    ("int", GOOD.astype(int), GOOD, TypeError, r"X has dtype int64.*astype"),
    ("complex", GOOD, GOOD + 0j, TypeError, "Y has dtype complex128"),
    ("dtypes", GOOD, GOOD.astype(np.float32), TypeError, "different dtypes|cast one"),
    ("kinds", GOOD, torch.from_numpy(GOOD), TypeError, "same kind"),
    ("list", GOOD.tolist(), GOOD, TypeError, "numpy array or a torch tensor"),
]


@pytest.mark.parametrize("fname", list(FUNCS))
@pytest.mark.parametrize(("case", "X", "Y", "exc", "msg"), BAD, ids=[b[0] for b in BAD])
def test_bad_input(fname, case, X, Y, exc, msg):
    with pytest.raises(exc, match=msg):
        FUNCS[fname](X, Y)


@pytest.mark.parametrize("fname", ["least_norm", "min_rank", "bfgs"])
def test_bad_input_torch(fname):
    t = torch.from_numpy(GOOD)
    with pytest.raises(TypeError, match=r"torch\.int64"):
        FUNCS[fname](t.long(), t)
    bad = t.clone()
    bad[1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        FUNCS[fname](t, bad)


def test_overflow_is_reported():
    big = np.full((3, 2), 1e200)
    with pytest.raises(ValueError, match="overflow"):
        least_norm_hessian(big, GOOD[:3])


# ----------------------------------------------------------------------------- rough edges
def test_errors_in_numpy_words_for_numpy_and_torch_words_for_torch():
    X = GOOD
    with pytest.raises(TypeError, match=r"X has dtype float64 but Y has dtype float32") as e:
        least_norm_hessian(X, X.astype(np.float32))
    assert "torch" not in str(e.value) and "Y.astype(np.float64)" in str(e.value)
    t = torch.from_numpy(X)
    with pytest.raises(TypeError, match=r"torch\.float64 but Y has dtype torch\.float32.*\.to\("):
        least_norm_hessian(t, t.float())
    H = least_norm_hessian(X, X)
    with pytest.raises(TypeError, match=r"v is a numpy float32 array but H is a numpy float64"):
        H @ X.astype(np.float32)


@pytest.mark.parametrize("dtype", [np.bool_, np.int64, np.float16, np.complex128])
def test_one_dtype_policy_message_across_secant_lowrank_and_kron(dtype):
    from hessnotes.kron import kron_matvec

    bad = GOOD.astype(dtype)
    msgs = []
    for call in (
        lambda: least_norm_hessian(bad, GOOD),
        lambda: LowRankSymmetric.from_factors(bad, np.eye(2)),
        lambda: kron_matvec([bad], np.ones(2)),
    ):
        with pytest.raises(TypeError) as e:
            call()
        msg = str(e.value)
        assert "astype(np.float64)" in msg, msg  # numpy words for numpy input
        msgs.append(msg.split(" has dtype ")[1].split("Cast it first")[0])
    assert len(set(msgs)) == 1, msgs  # the same words everywhere, after the argument's name
    assert msgs[0].startswith(np.dtype(dtype).name) and "float32 or float64" in msgs[0]


@pytest.mark.parametrize("bad", [float("nan"), -1e-3, float("inf")])
def test_tolerances_must_be_finite_and_non_negative(bad):
    X = GOOD
    calls = {
        "rtol": [
            lambda: least_norm_hessian(X, X, rtol=bad),
            lambda: least_change_hessian(X, X, 1.0, rtol=bad),
            lambda: eigen_derivation_hessian(X, X, rtol=bad),
            lambda: LowRankSymmetric.from_factors(X, np.eye(2), rtol=bad),
            lambda: least_norm_hessian(X, X).inertia(rtol=bad),
        ],
        "tol": [
            lambda: min_rank_hessian(X, X, tol=bad),
            lambda: bfgs_hessian(X, X, 1.0, tol=bad),
        ],
    }
    for name, fs in calls.items():
        for f in fs:
            with pytest.raises(ValueError, match=rf"{name} must be finite and >= 0"):
                f()
    with pytest.raises(TypeError, match="rtol must be a real number"):
        least_norm_hessian(X, X, rtol="1e-8")


def dense_bfgs(B0: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """n successive dense BFGS updates of B0 (the independent reference)."""
    B = B0.copy()
    for s, y in zip(X.T, Y.T, strict=True):
        Bs = B @ s
        B = B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (y @ s)
    return B


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_bfgs_from_a_low_rank_H0(backend):
    rng = np.random.default_rng(11)
    D, n = 9, 3
    A = rng.standard_normal((D, D))
    A = A @ A.T + np.eye(D)
    X = rng.standard_normal((D, n))
    Y = A @ X
    H0 = LowRankSymmetric.from_factors(rng.standard_normal((D, 2)), np.diag([2.0, 0.5]), 1.5)
    Xb, Yb = as_backend(X, backend), as_backend(Y, backend)
    H0b = H0 if backend == "numpy" else H0.torch()
    H = bfgs_hessian(Xb, Yb, H0b)
    assert H.sigma == 1.5 and H.rank <= 2 + 2 * n
    assert_close(dense(H), dense_bfgs(dense(H0), X, Y), rtol=1e-10, what="BFGS from low-rank H0")
    # the same as from the scalar when H0 has no low-rank part
    assert_close(
        dense(bfgs_hessian(X, Y, LowRankSymmetric(np.zeros((D, 0)), np.zeros(0), 2.0))),
        dense(bfgs_hessian(X, Y, 2.0)),
        rtol=1e-12,
        what="LowRankSymmetric 2 I = scalar 2",
    )
    indefinite = LowRankSymmetric.from_factors(rng.standard_normal((D, 1)), -np.eye(1) * 50, 1.0)
    with pytest.raises(ValueError, match="must be positive definite"):
        bfgs_hessian(X, Y, indefinite)
    with pytest.raises(ValueError, match="must match"):
        bfgs_hessian(X[:5], Y[:5], H0)


def test_least_change_scalar_forms_no_D_sized_difference(monkeypatch):
    """PSB from gamma I works on [X Y] times a small matrix: one Gram pass of [X Y]."""
    rng = np.random.default_rng(12)
    X, Y = rng.standard_normal((30, 4)), rng.standard_normal((30, 4))
    seen = []
    real = _linalg.gram_copy

    def spy(blocks, names=None, **kw):
        seen.append([b.data_ptr() for b in blocks])
        return real(blocks, names, **kw)

    import hessnotes.secant as sec

    monkeypatch.setattr(_linalg, "gram_copy", spy)
    H = sec.least_change_hessian(X, Y, 0.7)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    assert seen == [[Xt.data_ptr(), Yt.data_ptr()]], "the Gram pass must read X and Y themselves"
    want = 0.7 * np.eye(30) + brute_force(X, Y - 0.7 * X)
    assert_close(dense(H), want, rtol=1e-10, what="PSB from 0.7 I")


# ----------------------------------------------------------------------------- autograd
def _grad_inputs(D: int, n: int, seed: int, consistent: bool, spd: bool = False):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((D, D))
    A = B @ B.T + D * np.eye(D) if spd else B + B.T
    X = rng.standard_normal((D, n))
    Y = A @ X + (0.0 if consistent else 0.3 * rng.standard_normal((D, n)))
    return (torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True))


ESTIMATORS_AD = {
    "least_norm": lambda X, Y: least_norm_hessian(X, Y),
    "min_rank": lambda X, Y: min_rank_hessian(X, Y),
    "least_change(0.7)": lambda X, Y: least_change_hessian(X, Y, 0.7),
    "least_change(H0)": lambda X, Y: least_change_hessian(
        X,
        Y,
        LowRankSymmetric(
            torch.eye(X.shape[0], 2, dtype=torch.float64),
            torch.tensor([2.0, -1.0], dtype=torch.float64),
        ),
    ),
    "bfgs(1.3)": lambda X, Y: bfgs_hessian(X, Y, 1.3),
}


@pytest.mark.parametrize("consistent", [True, False], ids=["consistent", "inconsistent"])
@pytest.mark.parametrize("name", list(ESTIMATORS_AD))
def test_estimators_are_differentiable_gradcheck(name, consistent):
    """torch.autograd.gradcheck (central differences vs backward) at a generic point, small D."""
    est = ESTIMATORS_AD[name]
    D = 8 if "H0" in name else 5  # H0 + update has rank 2 + 2n: keep it below D
    X, Y = _grad_inputs(D, 2, seed=21, consistent=consistent, spd=name.startswith("bfgs"))
    H = est(X, Y)
    out = H @ X
    assert out.requires_grad, f"{name}: the result is cut off from the graph"
    V = torch.from_numpy(np.random.default_rng(3).standard_normal((D, 2)))
    assert torch.autograd.gradcheck(lambda X, Y: est(X, Y).dense(), (X, Y), atol=1e-6, rtol=1e-5)
    assert torch.autograd.gradcheck(lambda X, Y: est(X, Y) @ V, (X, Y), atol=1e-6, rtol=1e-5)


def test_gradient_of_a_scalar_of_the_estimate_matches_finite_differences():
    """A reader's use: d/dY of ||H v||^2 by backward, against a central difference."""
    X, Y = _grad_inputs(6, 3, seed=5, consistent=False)
    v = torch.linspace(-1, 1, 6, dtype=torch.float64)
    loss = (least_norm_hessian(X, Y) @ v).square().sum()
    (gY,) = torch.autograd.grad(loss, Y)
    E = torch.zeros_like(Y)
    E[2, 1] = 1e-6
    with torch.no_grad():
        fd = (
            (least_norm_hessian(X, Y + E) @ v).square().sum()
            - (least_norm_hessian(X, Y - E) @ v).square().sum()
        ) / 2e-6
    assert abs(float(gY[2, 1]) - float(fd)) <= 1e-6 * max(1.0, abs(float(fd)))


def test_householder_fallback_refuses_to_cut_the_graph():
    X = torch.ones(6, 2, dtype=torch.float64)  # two equal columns: rank deficient
    X = X * torch.tensor([1.0, 2.0], dtype=torch.float64)
    X.requires_grad_(True)
    Y = torch.randn(6, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(ValueError, match="autograd cannot differentiate"):
        least_norm_hessian(X, Y)
    with torch.no_grad():  # no gradient wanted: the Householder path runs as before
        H = least_norm_hessian(X, Y)
    assert not (H @ X.detach()).requires_grad
    H = least_norm_hessian(X.detach(), Y)
    assert H.rank >= 1


def test_more_pairs_than_dimensions_draws_the_transposition_hint():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((3, 50)), rng.standard_normal((3, 50))  # 50 pairs stored by row?
    with pytest.warns(UserWarning, match=r"X and Y have shape \(3, 50\).*pass X\.T and Y\.T"):
        least_norm_hessian(X, Y)
