"""Tests of hessnotes.matfun against scipy.linalg, torch autograd and central differences."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes import vec
from hessnotes.matfun import (
    daleckii_krein,
    divided_differences,
    expm_condition,
    expm_frechet_block,
    expm_frechet_jacobian,
    funm_sym,
    logm_frechet,
    sqrtm_frechet,
)

SETTINGS = settings(max_examples=25, deadline=None)


def _rng(seed):
    return np.random.default_rng(seed)


def _sym(n, seed):
    a = _rng(seed).standard_normal((n, n))
    return (a + a.T) / 2


def _spd(n, seed):
    a = _rng(seed).standard_normal((n, n))
    return a @ a.T / n + np.eye(n)


def _central(f, A, E, h=1e-6):
    return (f(A + h * E) - f(A - h * E)) / (2 * h)


# --------------------------------------------------------------------------------------------------
# The block identity and the Jacobian
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 3, 5])
def test_block_matches_scipy_autograd_and_differences(n):
    rng = _rng(n)
    A, E = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    X, L = expm_frechet_block(A, E)
    Xs, Ls = sl.expm_frechet(A, E)
    assert isinstance(L, np.ndarray) and L.dtype == np.float64
    assert_close(X, Xs, rtol=1e-13, what="e^A vs scipy")
    assert_close(L, Ls, rtol=1e-13, what="L vs scipy.linalg.expm_frechet")
    At, Et = torch.tensor(A), torch.tensor(E)
    ref = torch.func.jvp(torch.linalg.matrix_exp, (At,), (Et,))[1]
    assert_close(L, ref, rtol=1e-12, what="L vs torch.func.jvp(matrix_exp)")
    assert_close(L, _central(sl.expm, A, E), rtol=1e-8, what="L vs central differences")


def test_block_torch_float32_and_graph():
    g = torch.Generator().manual_seed(3)
    A = torch.randn(4, 4, generator=g, dtype=torch.float64)
    E = torch.randn(4, 4, generator=g, dtype=torch.float64)
    _, L32 = expm_frechet_block(A.float(), E.float())
    assert L32.dtype == torch.float32 and isinstance(L32, torch.Tensor)
    assert_close(L32, expm_frechet_block(A, E)[1], rtol=1e-5, what="float32")
    A.requires_grad_(True)
    _, L = expm_frechet_block(A, E)
    assert L.requires_grad  # the block identity keeps autograd's graph


def test_commuting_direction_gives_the_scalar_rule():
    A = _rng(4).standard_normal((4, 4))
    _, L = expm_frechet_block(A, A)  # E = A commutes with A: L(A, A) = A e^A
    assert_close(L, A @ sl.expm(A), rtol=1e-13, what="L(A, A) = A e^A")
    _, LI = expm_frechet_block(A, np.eye(4))
    assert_close(LI, sl.expm(A), rtol=1e-13, what="L(A, I) = e^A")


def test_jacobian_is_autograds_in_the_vec_convention():
    A = _rng(5).standard_normal((3, 3))
    J = expm_frechet_jacobian(A)
    ref = torch.func.jacfwd(torch.linalg.matrix_exp)(torch.tensor(A))  # (i, j, k, l)
    ref = ref.permute(1, 0, 3, 2).reshape(9, 9)  # rows vec(out), columns vec(in), column-major
    assert_close(J, ref, rtol=1e-13, what="J vs jacfwd")
    E = _rng(6).standard_normal((3, 3))
    assert_close(J @ vec(E), vec(expm_frechet_block(A, E)[1]), rtol=1e-13, what="J vec E")
    Jt = expm_frechet_jacobian(torch.tensor(A))
    assert isinstance(Jt, torch.Tensor) and Jt.shape == (9, 9)


def test_jacobian_eigenvalues_are_divided_differences():
    A = _sym(4, 7)
    lam = np.linalg.eigvalsh(A)
    got = np.sort(np.linalg.eigvals(expm_frechet_jacobian(A)).real)
    want = np.sort(divided_differences(lam, "exp").reshape(-1))
    assert_close(got, want, rtol=1e-12, what="eig(J) = exp[λ_i, λ_j]")


def test_condition_number_matches_scipy_and_the_normal_bound():
    rng = _rng(8)
    for n in (2, 4):
        A = rng.standard_normal((n, n))
        np.testing.assert_allclose(expm_condition(A), sl.expm_cond(A), rtol=1e-12)
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    B = np.zeros((4, 4))
    B[:2, :2] = [[0.3, 1.2], [-1.2, 0.3]]  # normal, with a complex pair
    B[2, 2], B[3, 3] = -1.0, 0.7
    A = Q @ B @ Q.T
    assert np.linalg.norm(A @ A.T - A.T @ A) < 1e-13
    bound = np.exp(0.7) * np.linalg.norm(A) / np.linalg.norm(sl.expm(A))
    np.testing.assert_allclose(expm_condition(torch.tensor(A)), bound, rtol=1e-12)
    N = np.triu(np.ones((4, 4)), 1)
    An = np.diag([0.0, -1, -2, -3]) + 2 * N
    assert expm_condition(An) > 2 * np.linalg.norm(An) / np.linalg.norm(sl.expm(An))
    assert expm_condition(np.zeros((3, 3))) == 0.0


# --------------------------------------------------------------------------------------------------
# Divided differences and Daleckii–Krein
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "f", "fp"),
    [("exp", np.exp, np.exp), ("log", np.log, lambda x: 1 / x), ("sqrt", np.sqrt, None)],
)
def test_divided_differences_named(name, f, fp):
    lam = np.array([0.5, 1.0, 2.5, 4.0])
    F = divided_differences(lam, name)
    for i in range(4):
        for j in range(4):
            if i != j:
                want = (f(lam[i]) - f(lam[j])) / (lam[i] - lam[j])
                np.testing.assert_allclose(F[i, j], want, rtol=1e-14)
    want_diag = fp(lam) if fp else 0.5 / np.sqrt(lam)
    np.testing.assert_allclose(np.diag(F), want_diag, rtol=1e-15)
    np.testing.assert_array_equal(F, F.T)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt"])
def test_divided_differences_keep_every_digit_near_a_double_point(name):
    # exp[a, a + d] = e^a (e^d - 1)/d; log[a, a + d] = log1p(d/a)/d; sqrt: 1/(√a + √(a + d)),
    # each written with the mean value between the points, to an error O(d²) ≪ 1e-15 here.
    a, d = 1.3, 1e-9
    F = divided_differences(torch.tensor([a, a + d], dtype=torch.float64), name)
    m = a + d / 2
    want = {"exp": np.exp(m), "log": 1 / m, "sqrt": 0.5 / np.sqrt(m)}[name]
    np.testing.assert_allclose(float(F[0, 1]), want, rtol=1e-15)
    naive_f = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt}[name]
    naive = (naive_f(a + d) - naive_f(a)) / d
    assert abs(naive - want) / want > 1e-10  # the quotient loses about 7 digits here


def test_divided_differences_callable_pair_and_extremes():
    lam = np.array([-1.0, 0.0, 1e-12, 2.0])
    F = divided_differences(lam, (torch.sin, torch.cos))
    np.testing.assert_allclose(F[1, 2], np.cos(5e-13), rtol=1e-12)  # the midpoint derivative
    np.testing.assert_allclose(F[0, 3], (np.sin(-1) - np.sin(2)) / -3, rtol=1e-14)
    big = divided_differences(np.array([-800.0, 700.0]), "exp")  # no 0·inf
    assert np.isfinite(big).all() and big[0, 1] > 0


@pytest.mark.parametrize("name", ["exp", "log", "sqrt"])
def test_daleckii_krein_against_the_block_identity_in_scipy(name):
    A, E = _spd(4, 9), _rng(10).standard_normal((4, 4))  # E general, not symmetric
    fn = {"exp": sl.expm, "log": sl.logm, "sqrt": sl.sqrtm}[name]
    B = np.block([[A, E], [np.zeros((4, 4)), A]])
    assert_close(daleckii_krein(A, E, name), fn(B)[:4, 4:], rtol=1e-12, what=f"{name}: block")
    assert_close(daleckii_krein(A, E, name), _central(fn, A, E), rtol=1e-7, what=f"{name}: fd")


def test_daleckii_krein_at_a_repeated_eigenvalue():
    Q = np.linalg.qr(_rng(11).standard_normal((4, 4)))[0]
    A = Q @ np.diag([1.0, 1.0, 3.0, 5.0]) @ Q.T
    A = (A + A.T) / 2
    E = _rng(12).standard_normal((4, 4))
    assert_close(daleckii_krein(A, E), sl.expm_frechet(A, E)[1], rtol=1e-13, what="double λ")


def test_daleckii_krein_torch_autograd_on_symmetric_directions():
    A = torch.tensor(_spd(5, 13))
    E = torch.tensor(_sym(5, 14))
    for name in ("exp", "log", "sqrt"):
        ref = torch.func.jvp(lambda M, name=name: funm_sym(M, name), (A,), (E,))[1]
        got = daleckii_krein(A, E, name)
        assert isinstance(got, torch.Tensor)
        assert_close(got, ref, rtol=1e-12, what=f"{name} vs autograd through eigh")


def test_daleckii_krein_float32():
    A, E = _spd(4, 15), _rng(16).standard_normal((4, 4))
    got = daleckii_krein(A.astype(np.float32), E.astype(np.float32), "log")
    assert got.dtype == np.float32
    assert_close(got, logm_frechet(A, E), rtol=1e-5, what="float32")


def L(M, E):
    return expm_frechet_block(M, E)[1]


@SETTINGS
@given(n=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_properties_linear_adjoint_and_sylvester(n, seed):
    rng = _rng(seed)
    A = rng.standard_normal((n, n))
    E1, E2, G = (rng.standard_normal((n, n)) for _ in range(3))
    assert_close(L(A, E1 + 2 * E2), L(A, E1) + 2 * L(A, E2), rtol=1e-12, atol=1e-12, what="lin")
    # adjoint: ⟨G, L(A, E)⟩ = ⟨L(Aᵀ, G), E⟩
    np.testing.assert_allclose((G * L(A, E1)).sum(), (L(A.T, G) * E1).sum(), rtol=1e-10, atol=1e-10)
    P = A @ A.T / n + np.eye(n)
    S = sl.sqrtm(P).real
    Ls = sqrtm_frechet(P, E1)
    assert_close(S @ Ls + Ls @ S, E1, rtol=1e-12, what="S L + L S = E")
    # the inverse relation: L_exp(log P, L_log(P, E)) = E
    Ll = logm_frechet(P, E1)
    assert_close(L(funm_sym(P, "log"), Ll), E1, rtol=1e-11, what="L_exp(log P, L_log) = E")


def test_sqrt_and_log_against_dense_kronecker_solves():
    n = 4
    P, E = _spd(n, 17), _rng(18).standard_normal((n, n))
    S = sl.sqrtm(P).real
    I = np.eye(n)
    K = np.kron(I, S) + np.kron(S.T, I)  # vec(S L + L S) = (I ⊗ S + Sᵀ ⊗ I) vec L
    want = np.linalg.solve(K, vec(E)).reshape(n, n).T
    assert_close(sqrtm_frechet(P, E), want, rtol=1e-12, what="sqrt vs np.kron solve")
    J = expm_frechet_jacobian(sl.logm(P).real)
    want = np.linalg.solve(J, vec(E)).reshape(n, n).T
    assert_close(logm_frechet(P, E), want, rtol=1e-11, what="log vs J(log P)⁻¹ vec E")


def test_funm_sym_values_and_numpy():
    P = _spd(3, 19)
    assert_close(funm_sym(P, "sqrt"), sl.sqrtm(P).real, rtol=1e-13, what="sqrt")
    assert_close(funm_sym(P, "log"), sl.logm(P).real, rtol=1e-13, what="log")
    assert_close(funm_sym(P, torch.cos), sl.cosm(P), rtol=1e-13, what="callable")


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------
def test_bad_inputs_are_refused_with_the_argument_named():
    A, E = _spd(3, 20), np.ones((3, 3))
    with pytest.raises(ValueError, match=r"A has shape \(3, 2\); a matrix function needs a square"):
        expm_frechet_block(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"E has shape \(2, 2\) but A has shape \(3, 3\)"):
        expm_frechet_block(A, np.ones((2, 2)))
    bad = A.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"A .* holds NaN or Inf"):
        daleckii_krein(bad, E)
    with pytest.raises(ValueError, match=r"E .* holds NaN or Inf"):
        sqrtm_frechet(A, bad)
    nonsym = A + np.triu(np.ones((3, 3)), 1)
    for fn in (daleckii_krein, sqrtm_frechet, logm_frechet):
        with pytest.raises(
            ValueError, match=r"A \(shape \(3, 3\)\) is not symmetric.*\(A \+ A.T\) / 2"
        ):
            fn(nonsym, E)
    indefinite = np.diag([1.0, -1.0, 2.0])
    for fn in (sqrtm_frechet, logm_frechet):
        with pytest.raises(ValueError, match="not positive definite"):
            fn(indefinite, E)
    with pytest.raises(ValueError, match="not positive definite"):
        daleckii_krein(indefinite, E, "sqrt")
    with pytest.raises(ValueError, match="need positive points"):
        divided_differences(np.array([1.0, 0.0]), "log")
    with pytest.raises(ValueError, match="f='cos'"):
        daleckii_krein(A, E, "cos")
    with pytest.raises(TypeError, match="pair of callables"):
        daleckii_krein(A, E, np.cos)
    with pytest.raises(TypeError, match="A is a numpy float64 array but E is"):
        expm_frechet_block(A, torch.tensor(E))
    with pytest.raises(TypeError, match="E has dtype float32"):
        expm_frechet_block(A, E.astype(np.float32))
    with pytest.raises(TypeError, match="float32 or float64 only"):
        expm_condition(np.eye(3, dtype=np.int64))
    with pytest.raises(ValueError, match="overflows"):
        expm_frechet_block(np.diag([800.0, 1.0]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="lam has shape"):
        divided_differences(np.ones((2, 2)))


def test_jacobian_memory_is_refused_before_allocating(monkeypatch):
    import hessnotes.matfun as mf

    monkeypatch.setattr(mf, "check_memory", _refuse)
    with pytest.raises(ValueError, match="n² = 9 block matrices"):
        expm_condition(np.eye(3))


def _refuse(nbytes, what, fix, *, limit=None):
    from hessnotes._linalg import check_memory

    check_memory(nbytes, what, fix, limit=100)
