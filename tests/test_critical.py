"""Tests of hessnotes.critical: classification by inertia against dense numpy/scipy references,
the bordered-Hessian rule, Lagrange multipliers, charts of O(n), and the evidence helpers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import torch
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes.critical import (
    CriticalPoint,
    Neighbourhood,
    bordered_hessian,
    changes_along,
    classify,
    classify_constrained,
    kind_of,
    reduced_hessian,
    sample_neighbourhood,
    skew_coordinates,
    tangent_basis,
)
from hessnotes.identities import vech
from hessnotes.newton import NewtonRecord, newton_minimize
from hessnotes.orthogonal_group import tangent_project


def _np_inertia(M, tol=1e-9, scale=None):
    e = np.linalg.eigvalsh((M + M.T) / 2)
    cut = tol * (max(np.abs(e).max(), 1e-300) if scale is None else scale)
    return int((e > cut).sum()), int((e < -cut).sum()), int((np.abs(e) <= cut).sum())


def _sym_with(eigs, seed):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((len(eigs), len(eigs))))[0]
    return (Q * np.asarray(eigs, dtype=np.float64)) @ Q.T


def _quadratic(Hm):
    """f(X) = ½ vec(X)ᵀ H vec(X) (column-major vec): its Hessian is H, its critical point 0."""
    Ht = torch.as_tensor(Hm)

    def f(X):
        v = X.mT.reshape(-1) if X.ndim == 2 else X
        return 0.5 * v @ Ht.to(X.dtype) @ v

    return f


# --------------------------------------------------------------------------------------------------
# kind_of
# --------------------------------------------------------------------------------------------------
def test_kind_of_uses_the_words_of_newton_record_for_every_small_inertia():
    for N in range(1, 5):
        for pos in range(N + 1):
            for neg in range(N + 1 - pos):
                counts = (pos, neg, N - pos - neg)
                rec = NewtonRecord(None, (), (), 0, True, counts)
                assert kind_of(counts) == rec.kind, counts


def test_kind_of_refuses_bad_counts():
    for bad in [(0, 0, 0), (1, -1, 0), (1, 2), "abc", (1.5, 0, 0)]:
        with pytest.raises(ValueError, match="counts"):
            kind_of(bad)


# --------------------------------------------------------------------------------------------------
# classify
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("eigs", "kind"),
    [
        ([1.0, 2.0, 3.0, 0.5, 4.0, 2.5], "local minimum"),
        ([-1.0, -2.0, -3.0, -0.5, -4.0, -2.5], "local maximum"),
        ([1.0, -2.0, 3.0, 0.5, -4.0, 2.5], "saddle point"),
        ([1.0, 0.0, 3.0, 0.5, 4.0, 2.5], "degenerate stationary point"),
        ([-1.0, 0.0, -3.0, -0.5, -4.0, -2.5], "not a local minimum"),
    ],
)
def test_classify_matches_numpy_on_a_3x2_matrix_variable(eigs, kind):
    H = _sym_with(eigs, seed=1)
    X = np.zeros((3, 2))
    cp = classify(_quadratic(H), X)
    assert isinstance(cp, CriticalPoint) and cp.stationary and cp.kind == kind
    assert cp.inertia == _np_inertia(H)
    np.testing.assert_allclose(cp.eigenvalues, np.linalg.eigvalsh(H), rtol=1e-12, atol=1e-12)
    assert isinstance(cp.eigenvalues, np.ndarray) and cp.x.shape == (3, 2)
    e, V = np.linalg.eigh(H)
    if cp.descent is not None:
        assert cp.descent.shape == (3, 2)
        d = cp.descent.reshape(-1, order="F")  # vec: columns stacked
        assert abs(abs(d @ V[:, 0]) - 1) < 1e-10
        assert (changes_along(_quadratic(H), X, cp.descent, [1e-2, -0.1, 1.0]) < 0).all()
    else:
        assert e[0] >= -1e-12
    if cp.ascent is not None:
        a = cp.ascent.reshape(-1, order="F")
        assert abs(abs(a @ V[:, -1]) - 1) < 1e-10
    n0 = cp.inertia[2]
    assert cp.flat.shape == (n0, 3, 2)
    for z in cp.flat:
        assert np.linalg.norm(H @ z.reshape(-1, order="F")) < 1e-10


def test_directions_have_a_reproducible_sign():
    H = _sym_with([1.0, -2.0, 3.0], seed=4)
    cp = classify(_quadratic(H), np.zeros(3))
    for d in (cp.descent, cp.ascent):
        assert d[np.argmax(np.abs(d))] > 0 and abs(np.linalg.norm(d) - 1) < 1e-14


def test_same_hessian_different_behaviour_at_a_degenerate_point():
    x0 = torch.zeros(2, dtype=torch.float64)
    quartic = classify(lambda z: z[0] ** 4 + z[1] ** 2, x0)
    cubic = classify(lambda z: z[0] ** 3 + z[1] ** 2, x0)
    assert quartic.inertia == cubic.inertia == (1, 0, 1)
    assert quartic.kind == cubic.kind == "degenerate stationary point"
    assert_close(quartic.flat[0].abs(), torch.tensor([1.0, 0.0]), rtol=0, atol=0, what="flat")
    ts = [-0.1, -0.01, 0.01, 0.1]
    assert (changes_along(lambda z: z[0] ** 4 + z[1] ** 2, x0, quartic.flat[0], ts) > 0).all()
    drops = changes_along(lambda z: z[0] ** 3 + z[1] ** 2, x0, torch.tensor([-1.0, 0.0]), ts[2:])
    np.testing.assert_allclose(drops, [-1e-6, -1e-3], rtol=1e-12)


def test_classify_agrees_with_newton_minimize_on_the_saddle_of_phi():
    n = 4
    g = torch.Generator().manual_seed(3)
    Q = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))[0]
    lam = torch.logspace(0, 1, n, dtype=torch.float64)
    A = (Q * lam) @ Q.T

    def phi(X, A):
        return torch.trace(A @ X) - torch.linalg.slogdet(X)[1]

    rec = newton_minimize(phi, torch.eye(n, dtype=torch.float64) * 2 / 11, A, tol=1e-14)
    cp = classify(phi, rec.x, A)
    assert cp.inertia == rec.inertia == (10, 6, 0) and cp.kind == rec.kind == "saddle point"
    # the most negative curvature -λ₃λ₄ along the skew q₃q₄ᵀ - q₄q₃ᵀ (unit after /√2)
    assert abs(cp.eigenvalues[0] + lam[2] * lam[3]) < 1e-10 * lam[3] ** 2
    om = (torch.outer(Q[:, 2], Q[:, 3]) - torch.outer(Q[:, 3], Q[:, 2])) / 2**0.5
    assert abs(abs((cp.descent * om).sum()) - 1) < 1e-10
    assert_close(cp.descent + cp.descent.T, torch.zeros(n, n), rtol=0, atol=1e-12, what="skew")


def test_not_a_critical_point_is_said_so():
    H = _sym_with([1.0, 2.0], seed=0)
    cp = classify(_quadratic(H), np.array([0.3, -0.2]))
    assert not cp.stationary and cp.kind == "not a critical point" and not cp.minimum
    assert "not a critical point" in str(cp) and "classifies nothing" in str(cp)
    assert cp.inertia == (2, 0, 0)  # the Hessian is still reported


def test_classify_gtol_and_rtol():
    H = _sym_with([1.0, 2.0], seed=0)
    x = np.array([1e-6, 0.0])
    assert classify(_quadratic(H), x).kind == "not a critical point"
    assert classify(_quadratic(H), x, gtol=1e-5).kind == "local minimum"
    tiny = np.diag([1.0, 1e-13])
    assert classify(_quadratic(tiny), np.zeros(2)).kind == "local minimum"
    assert classify(_quadratic(tiny), np.zeros(2), rtol=1e-10).inertia == (1, 0, 1)


def test_classify_torch_float32_and_str():
    H = torch.as_tensor(_sym_with([1.0, -2.0, 3.0], seed=5), dtype=torch.float32)
    cp = classify(lambda x: 0.5 * x @ H @ x, torch.zeros(3, dtype=torch.float32))
    assert cp.descent.dtype == torch.float32 and isinstance(cp.eigenvalues, torch.Tensor)
    assert cp.kind == "saddle point"
    assert str(cp).startswith("saddle point: ‖∇f‖ = 0.0e+00 <=")
    assert "2 positive, 1 negative, 0 zero" in repr(cp)


def test_numpy_arguments_of_f_are_passed_as_torch_tensors():
    A = _sym_with([1.0, -2.0, 3.0], seed=8)
    cp = classify(lambda x, A: 0.5 * x @ A @ x, np.zeros(3), A)
    assert cp.inertia == (2, 1, 0) and isinstance(cp.descent, np.ndarray)


def test_classify_refuses_bad_input():
    f = lambda x: (x**2).sum()  # noqa: E731
    with pytest.raises(ValueError, match="at least one entry"):
        classify(f, np.zeros(0))
    with pytest.raises(ValueError, match="NaN or Inf"):
        classify(f, np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="dtype"):
        classify(f, np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="scalar function"):
        classify(lambda x: x**2, np.zeros(2))
    with pytest.raises(TypeError, match="write f in torch"):
        classify(lambda x: 1.0, np.zeros(2))
    with pytest.raises(ValueError, match="gtol"):
        classify(f, np.zeros(2), gtol=-1.0)
    with pytest.raises(ValueError, match="Hessian of f holds NaN"):
        classify(lambda x: (x.abs() ** 1.5).sum(), np.zeros(2))


@settings(max_examples=30, deadline=None)
@given(
    signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=1, max_size=6),
    seed=st.integers(0, 10_000),
)
def test_inertia_counts_the_prescribed_signs(signs, seed):
    rng = np.random.default_rng(seed)
    eigs = np.asarray(signs) * rng.uniform(0.1, 3.0, len(signs))
    cp = classify(_quadratic(_sym_with(eigs, seed)), np.zeros(len(signs)))
    assert cp.inertia == (int((eigs > 0).sum()), int((eigs < 0).sum()), 0)


# --------------------------------------------------------------------------------------------------
# constraints: tangent basis, reduced and bordered Hessians
# --------------------------------------------------------------------------------------------------
def test_tangent_basis_against_scipy_null_space():
    rng = np.random.default_rng(0)
    C = rng.standard_normal((2, 5))
    Z = tangent_basis(C)
    assert Z.shape == (5, 3)
    np.testing.assert_allclose(C @ Z, 0, atol=1e-14)
    np.testing.assert_allclose(Z.T @ Z, np.eye(3), atol=1e-14)
    Zs = scipy.linalg.null_space(C)
    np.testing.assert_allclose(Z @ Z.T, Zs @ Zs.T, atol=1e-13)  # the same projector
    Zt = tangent_basis(torch.as_tensor(C, dtype=torch.float32))
    assert Zt.dtype == torch.float32 and Zt.shape == (5, 3)


def test_tangent_basis_refuses_redundant_constraints_with_the_fix():
    C = np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0]])
    with pytest.raises(ValueError, match=r"rank 1 < m = 2.*Remove redundant constraints"):
        tangent_basis(C)
    with pytest.raises(ValueError, match="no tangent directions"):
        tangent_basis(np.eye(3))
    with pytest.raises(ValueError, match="no rows"):
        tangent_basis(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"\(m, N\)"):
        tangent_basis(np.zeros(3))


@settings(max_examples=30, deadline=None)
@given(
    N=st.integers(2, 7),
    m_frac=st.floats(0.0, 0.99),
    seed=st.integers(0, 10_000),
    zero=st.booleans(),
)
def test_bordered_inertia_is_reduced_inertia_plus_m_m_0(N, m_frac, seed, zero):
    m = 1 + int(m_frac * (N - 1))
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((N, N))
    W = W + W.T
    C = rng.standard_normal((m, N))
    Zs = scipy.linalg.null_space(C)
    if zero:  # make the reduced Hessian singular: remove its component along one tangent vector
        z = Zs[:, :1]
        W = W - z @ (z.T @ W @ z) @ z.T
    R = reduced_hessian(W, C)
    assert R.shape == (N - m, N - m)
    B = bordered_hessian(W, C)
    assert B.shape == (m + N, m + N)
    np.testing.assert_allclose(B[:m, :m], 0)
    np.testing.assert_allclose(B[:m, m:], C)
    # scipy's basis: the inertia does not depend on the basis. Zero means zero relative to ‖W‖.
    scale = np.abs(np.linalg.eigvalsh(W)).max()
    red = _np_inertia(Zs.T @ W @ Zs, tol=1e-9, scale=scale)
    assert _np_inertia(R, tol=1e-9, scale=scale) == red
    pos, neg, z0 = _np_inertia(B, tol=1e-9, scale=scale)
    assert (pos - m, neg - m, z0) == red


def test_reduced_and_bordered_refuse_mismatches():
    W, C = np.eye(3), np.ones((1, 3))
    with pytest.raises(ValueError, match=r"C must be the \(m, N\)"):
        bordered_hessian(W, np.ones((1, 4)))
    with pytest.raises(ValueError, match="Hessian of the Lagrangian"):
        reduced_hessian(np.ones((2, 3)), C)
    with pytest.raises(TypeError, match="same kind"):
        bordered_hessian(W, torch.ones(1, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="dtype"):
        bordered_hessian(W, C.astype(np.float32))
    Bt = bordered_hessian(torch.eye(3, dtype=torch.float64), torch.ones(1, 3, dtype=torch.float64))
    assert isinstance(Bt, torch.Tensor) and Bt.shape == (4, 4)


def _rayleigh(n, seed):
    rng = np.random.default_rng(seed)
    lam = np.sort(rng.uniform(-2, 5, n))
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (Q * lam) @ Q.T, lam, Q


def test_rayleigh_quotient_eigenvector_k_has_k_minus_1_descent_directions():
    n = 5
    A, lam, V = _rayleigh(n, 7)
    At = torch.as_tensor(A)

    def f(x, A):
        return x @ A @ x

    for k in range(n):
        v = V[:, k]
        cp = classify_constrained(f, lambda x: x @ x - 1, v, At)
        assert cp.stationary and cp.feasible
        np.testing.assert_allclose(cp.multipliers, [lam[k]], rtol=1e-12, atol=1e-12)
        assert cp.inertia == (n - 1 - k, k, 0)
        assert cp.bordered_inertia == (n - k, k + 1, 0)
        # reference: the reduced Hessian 2 Zᵀ(A - λ_k I)Z with scipy's null space
        Zs = scipy.linalg.null_space(v[None, :])
        ref = np.linalg.eigvalsh(2 * Zs.T @ (A - lam[k] * np.eye(n)) @ Zs)
        np.testing.assert_allclose(cp.eigenvalues, ref, rtol=1e-12, atol=1e-12)
        if k:
            assert abs(cp.descent @ v) < 1e-14  # tangent
            np.testing.assert_allclose(abs(cp.descent @ V[:, 0]), 1, atol=1e-10)
            sphere = lambda x, d: (x + d) / torch.linalg.vector_norm(x + d)  # noqa: E731
            ch = changes_along(f, v, cp.descent, [1e-3, 1e-2, 0.1], At, retract=sphere)
            t = np.array([1e-3, 1e-2, 0.1])
            np.testing.assert_allclose(ch, t**2 * (lam[0] - lam[k]) / (1 + t**2), rtol=1e-6)
    assert classify_constrained(f, lambda x: x @ x - 1, V[:, 0], At).minimum


def test_hessian_of_f_alone_on_the_tangent_space_would_be_wrong():
    # The curvature of the constraint enters through μ∇²c: without it every eigenvector of an SPD
    # A would look like a minimum.
    n = 4
    A, lam, V = _rayleigh(n, 8)
    A = torch.as_tensor(A - (lam[0] - 1.0) * np.eye(n))  # SPD
    cp = classify_constrained(lambda x, A: x @ A @ x, lambda x: x @ x - 1, V[:, -1], A)
    Zs = scipy.linalg.null_space(V[:, -1][None, :])
    assert _np_inertia(Zs.T @ (2 * A.numpy()) @ Zs) == (n - 1, 0, 0)
    assert cp.inertia == (0, n - 1, 0) and cp.kind == "local maximum"


def test_infeasible_and_nonstationary_constrained_points():
    A, _lam, V = _rayleigh(3, 9)
    A = torch.as_tensor(A)
    f = lambda x, A: x @ A @ x  # noqa: E731
    c = lambda x: x @ x - 1  # noqa: E731
    cp = classify_constrained(f, c, 1.1 * V[:, 0], A)
    assert not cp.feasible and cp.kind == "not feasible" and "not feasible" in str(cp)
    x = V[:, 0] + 0.3 * V[:, 1]
    cp = classify_constrained(f, c, x / np.linalg.norm(x), A)
    assert cp.feasible and cp.kind == "not a critical point"
    assert "‖∇f - Cᵀμ‖" in str(cp)


def test_classify_constrained_refuses_redundant_and_bad_constraints():
    n = 3
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((n, n)))[0]
    f = lambda Q: torch.trace(Q)  # noqa: E731
    with pytest.raises(ValueError, match=r"vech\(QᵀQ - I\)"):
        classify_constrained(f, lambda Q: Q.T @ Q - torch.eye(n, dtype=Q.dtype), Q)
    with pytest.raises(TypeError, match="constraints in torch"):
        classify_constrained(f, lambda Q: 0.0, Q)
    with pytest.raises(ValueError, match="ctol"):
        classify_constrained(f, lambda Q: vech(Q.T @ Q), Q, ctol=float("nan"))


def _brockett(n, seed):
    rng = np.random.default_rng(seed)
    lam = np.sort(rng.uniform(-3, 3, n))
    V = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (V * lam) @ V.T, lam, V, np.diag(np.arange(1.0, n + 1))


def test_brockett_on_O3_constrained_and_chart_agree_with_inversion_count():
    n = 3
    A, _lam, V, G = _brockett(n, 11)
    A_t, G_t = torch.as_tensor(A), torch.as_tensor(G)
    f = lambda Q, A, G: torch.trace(Q.T @ A @ Q @ G)  # noqa: E731
    eye = torch.eye(n, dtype=torch.float64)
    c = lambda Q: vech(Q.T @ Q - eye)  # noqa: E731
    signs = np.array([1.0, -1.0, 1.0])
    for perm in itertools.permutations(range(n)):
        Q = torch.as_tensor(V[:, list(perm)] * signs)
        inv = sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))
        want = (inv, n * (n - 1) // 2 - inv, 0)
        cp = classify_constrained(f, c, Q, A_t, G_t)
        assert cp.inertia == want and cp.bordered_inertia == (inv + 6, want[1] + 6, 0)
        psi = lambda w, Q=Q: f(Q @ torch.linalg.matrix_exp(skew_coordinates(w, n)), A_t, G_t)  # noqa: E731
        assert classify(psi, torch.zeros(3, dtype=torch.float64)).inertia == want
        assert_close(
            tangent_project(Q, 2 * A_t @ Q @ G_t),
            torch.zeros(n, n),
            rtol=0,
            atol=1e-13,
            what="Riemannian gradient at a permutation of eigenvectors",
        )
    # the minimum pairs the largest eigenvalue with the smallest weight
    Qmin = torch.as_tensor(V[:, ::-1].copy())
    nb = sample_neighbourhood(
        f,
        Qmin,
        A_t,
        G_t,
        radii=(1e-3, 1e-1),
        samples=50,
        tangent=tangent_project,
        retract=lambda Q, D: Q @ torch.linalg.matrix_exp(Q.T @ D),
    )
    assert nb.all_increase


# --------------------------------------------------------------------------------------------------
# skew coordinates
# --------------------------------------------------------------------------------------------------
def test_skew_coordinates_are_orthonormal_and_differentiable():
    n = 4
    rng = np.random.default_rng(2)
    u, w = rng.standard_normal(6), rng.standard_normal(6)
    Ou, Ow = skew_coordinates(u, n), skew_coordinates(w, n)
    np.testing.assert_allclose(Ou, -Ou.T)
    np.testing.assert_allclose((Ou * Ow).sum(), u @ w, rtol=1e-13)
    assert Ou[0, 1] == pytest.approx(u[0] / np.sqrt(2)) and Ou[1, 2] == pytest.approx(u[3] / 2**0.5)
    wt = torch.as_tensor(w, dtype=torch.float32).requires_grad_()
    Om = skew_coordinates(wt, n)
    (Om**2).sum().backward()
    assert_close(wt.grad, 2 * wt.detach(), rtol=1e-6, what="d‖Ω‖²/dw = 2w")
    with pytest.raises(ValueError, match="n >= 2"):
        skew_coordinates(np.zeros(0), 1)
    with pytest.raises(ValueError, match="6 coordinates"):
        skew_coordinates(np.zeros(5), 4)


# --------------------------------------------------------------------------------------------------
# evidence helpers
# --------------------------------------------------------------------------------------------------
def test_changes_along_is_half_t_squared_curvature_for_a_quadratic():
    H = _sym_with([1.0, -2.0, 3.0], seed=6)
    cp = classify(_quadratic(H), np.zeros(3))
    ts = np.array([1e-3, -0.5, 2.0])
    np.testing.assert_allclose(
        changes_along(_quadratic(H), np.zeros(3), cp.descent, ts),
        0.5 * ts**2 * cp.eigenvalues[0],
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="shape"):
        changes_along(_quadratic(H), np.zeros(3), np.ones(2), ts)
    with pytest.raises(ValueError, match="zero"):
        changes_along(_quadratic(H), np.zeros(3), np.zeros(3), ts)
    with pytest.raises(ValueError, match="nonzero finite"):
        changes_along(_quadratic(H), np.zeros(3), np.ones(3), [0.0, 1.0])


def test_sample_neighbourhood_signs_and_str():
    H = _sym_with([1.0, 2.0, 3.0], seed=7)
    nb = sample_neighbourhood(_quadratic(H), np.zeros(3), radii=(1e-2, 1.0), samples=40)
    assert isinstance(nb, Neighbourhood) and nb.differences.shape == (2, 40)
    assert nb.all_increase and not nb.all_decrease
    # ½ r² uᵀHu lies between ½ r² λ_min and ½ r² λ_max
    assert (nb.lowest >= 0.5 * nb.radii**2 * 1.0 * (1 - 1e-12)).all()
    assert (nb.highest <= 0.5 * nb.radii**2 * 3.0 * (1 + 1e-12)).all()
    assert "(all > 0)" in str(nb) and "40 random points" in str(nb)
    mixed = sample_neighbourhood(_quadratic(_sym_with([1.0, -1.0], 0)), np.zeros(2), samples=30)
    assert "both signs" in str(mixed)
    same = sample_neighbourhood(_quadratic(H), np.zeros(3), radii=(1e-2, 1.0), samples=40)
    np.testing.assert_array_equal(same.differences, nb.differences)  # seeded
    with pytest.raises(ValueError, match="radii"):
        sample_neighbourhood(_quadratic(H), np.zeros(3), radii=(0.0,))
    with pytest.raises(ValueError, match="samples"):
        sample_neighbourhood(_quadratic(H), np.zeros(3), samples=0)


def test_sample_neighbourhood_on_the_sphere_at_the_top_eigenvector():
    A, _lam, V = _rayleigh(4, 12)
    nb = sample_neighbourhood(
        lambda x, A: x @ A @ x,
        V[:, -1],
        torch.as_tensor(A),
        samples=60,
        tangent=lambda x, z: z - x * (x @ z),
        retract=lambda x, d: (x + d) / torch.linalg.vector_norm(x + d),
    )
    assert nb.all_decrease
