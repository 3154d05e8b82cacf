"""Tests of hessnotes.newton: iterates against closed forms, quadratic convergence, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes.identities import unvech, vech
from hessnotes.kron import commutation_matrix
from hessnotes.newton import (
    NewtonRecord,
    convergence_order,
    inertia,
    newton_minimize,
    newton_root,
)


def _spd(n, seed, cond=10.0):
    g = torch.Generator().manual_seed(seed)
    Q = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))[0]
    return (Q * torch.logspace(0, np.log10(cond), n, dtype=torch.float64)) @ Q.T


def test_newton_minimize_on_logdet_objective_is_newton_schulz():
    n = 4
    A = _spd(n, 0)

    def phi(X, A):
        return torch.trace(A @ X) - torch.linalg.slogdet(X)[1]

    X0 = torch.eye(n, dtype=torch.float64) / 5.5
    rec = newton_minimize(phi, X0, A, keep_iterates=True, tol=1e-14)
    assert isinstance(rec, NewtonRecord) and rec.converged
    X = X0
    for it in rec.iterates[1:]:
        X = 2 * X - X @ A @ X
        assert_close(it, X, rtol=1e-11, what="Newton = Newton–Schulz")
    assert_close(rec.x, torch.linalg.inv(A), rtol=1e-13, what="limit")
    K = torch.as_tensor(commutation_matrix(n, n))

    def hess(X, A):
        Xi = torch.linalg.inv(X)
        return K @ torch.kron(Xi.T.contiguous(), Xi.contiguous())

    rec2 = newton_minimize(phi, X0, A, hess=hess, tol=1e-14)
    assert rec2.steps == rec.steps
    assert_close(rec2.x, rec.x, rtol=1e-13, what="closed-form Hessian")


def _phi(X, A):
    return torch.trace(A @ X) - torch.linalg.slogdet(X)[1]


def test_newton_minimize_reports_the_saddle_of_phi_on_general_6x6_matrices():
    # φ(X) = tr(AX) - log|det X| over all of R^{6×6}: Newton converges to A⁻¹, a saddle point
    # with n(n+1)/2 = 21 positive and n(n-1)/2 = 15 negative Hessian eigenvalues.
    n = 6
    A = _spd(n, 43)
    rec = newton_minimize(_phi, torch.eye(n, dtype=torch.float64) / 5.5, A, tol=1e-14)
    assert rec.converged
    assert_close(rec.x, torch.linalg.inv(A), rtol=1e-13, what="stationary point")
    assert rec.inertia == (21, 15, 0)
    assert rec.kind == "saddle point" and not rec.minimum
    text = str(rec)
    assert text.startswith("✗") and "not a local minimum" in text and "15 negative" in text
    # the reference: eigenvalues of the dense Hessian by torch.func.hessian, counted by numpy
    H = torch.func.hessian(lambda X: _phi(X, A))(rec.x).reshape(n * n, n * n)
    ev = np.linalg.eigvalsh(H.numpy())
    assert ((ev > 0).sum(), (ev < 0).sum()) == (21, 15)


def test_newton_minimize_reports_a_minimum_of_phi_on_symmetric_matrices():
    n = 6
    A = _spd(n, 43)
    X0 = torch.eye(n, dtype=torch.float64) / 5.5
    rec = newton_minimize(lambda t, A: _phi(unvech(t), A), vech(X0), A, tol=1e-14)
    assert rec.converged and rec.minimum and rec.kind == "local minimum"
    assert rec.inertia == (21, 0, 0)
    assert str(rec).startswith("✓ Newton: local minimum")
    assert_close(unvech(rec.x), torch.linalg.inv(A), rtol=1e-13, what="minimiser")
    # the same iterates as on all matrices (Newton is invariant under linear coordinates)
    rec_all = newton_minimize(_phi, X0, A, tol=1e-14)
    assert rec.steps == rec_all.steps


def test_newton_minimize_classifies_maximum_degenerate_and_unconverged():
    rec = newton_minimize(lambda x: -(x**2).sum() - x.sum(), torch.zeros(3, dtype=torch.float64))
    assert rec.kind == "local maximum" and rec.inertia == (0, 3, 0)
    assert "3 negative eigenvalues" in str(rec)
    rec = newton_minimize(lambda x: x[0] ** 2 - x[1] ** 2, torch.ones(2, dtype=torch.float64))
    assert rec.kind == "saddle point" and "1 negative eigenvalue " in str(rec)
    # a flat direction: at a stationary point with a zero eigenvalue the second-order test is silent
    z = torch.zeros(2, dtype=torch.float64)
    rec = newton_minimize(lambda x: x[0] ** 2, z)
    assert rec.converged and rec.steps == 0 and rec.inertia == (1, 0, 1)
    assert rec.kind == "degenerate stationary point" and "cannot decide" in str(rec)
    rec = newton_minimize(lambda x: -(x[0] ** 2), z)
    assert rec.inertia == (0, 1, 1) and rec.kind == "not a local minimum"
    assert "stationary point after 0 steps, not a local minimum: 1 negative" in str(rec)
    rec = newton_minimize(
        lambda x: (x**4).sum(), torch.ones(1, dtype=torch.float64), maxiter=2, tol=1e-14
    )
    assert not rec.converged and rec.kind == "not converged" and "not converged" in str(rec)
    assert rec.inertia == (1, 0, 0)
    rec = newton_root(lambda x: x**2 - 2, torch.ones(1, dtype=torch.float64))
    assert rec.inertia is None and rec.kind == "root" and str(rec).startswith("✓ Newton (equation)")


def test_inertia_counts_against_numpy_and_is_invariant_under_congruence():
    rng = np.random.default_rng(5)
    Q = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    H = (Q * np.array([-2.0, -1e-3, 0.0, 1.0, 3.0])) @ Q.T
    assert inertia(H) == (2, 2, 1)
    C = rng.standard_normal((5, 5)) + 5 * np.eye(5)  # invertible
    assert inertia(C.T @ H @ C, rtol=1e-12) == (2, 2, 1)
    assert inertia(torch.as_tensor(H, dtype=torch.float32)) == (2, 2, 1)
    assert inertia(np.zeros((3, 3))) == (0, 0, 3)
    assert inertia(H, rtol=0.5) == (1, 1, 3)  # |e| <= 1.5 counts as zero
    with pytest.raises(ValueError, match="square"):
        inertia(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        inertia(np.full((2, 2), np.nan))


def test_newton_minimize_rectangular_matrix_and_vector_quadratics_in_one_step():
    A = _spd(3, 1)
    C = torch.randn(3, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)

    def f(X):
        return 0.5 * torch.trace(X.T @ A @ X) - (C * X).sum()

    rec = newton_minimize(f, torch.zeros(3, 2, dtype=torch.float64))
    assert rec.steps == 1 and rec.minimum and rec.inertia == (6, 0, 0)
    assert_close(rec.x, torch.linalg.solve(A, C), rtol=1e-13, what="A X = C")
    rec_np = newton_minimize(lambda x: ((x - 1.0) ** 2).sum() + x.sum() ** 2, np.zeros(3))
    assert isinstance(rec_np.x, np.ndarray)
    np.testing.assert_allclose(rec_np.x, np.full(3, 0.25), rtol=1e-13)


def test_newton_root_converges_quadratically_on_a_matrix_square_root():
    A = _spd(3, 3)
    rec = newton_root(lambda X, A: X @ X - A, torch.eye(3, dtype=torch.float64), A)
    assert rec.converged
    w, V = torch.linalg.eigh(A)
    assert_close(rec.x, (V * w.sqrt()) @ V.T, rtol=1e-13, what="principal square root")
    q = convergence_order(rec.errors, floor=1e-12)
    assert q.size >= 2 and abs(q[-1] - 2) < 0.2


@settings(max_examples=25, deadline=None)
@given(q=st.floats(1.0, 3.0), c=st.floats(0.2, 0.9))
def test_convergence_order_recovers_the_exponent(q, c):
    e = [c]
    while e[-1] > 1e-60 and len(e) < 40:
        e.append(0.5 * e[-1] ** q)
    est = convergence_order(e)
    assert est.size >= 1
    assert abs(est[-1] - q) < 0.05 * q


def test_convergence_order_skips_stagnation_and_floor():
    assert convergence_order([1.0, 0.1, 0.1, 0.01]).size == 0
    np.testing.assert_allclose(convergence_order([1e-1, 1e-2, 1e-4, 1e-16], floor=1e-15), [2.0])
    with pytest.raises(ValueError, match="non-negative"):
        convergence_order([1.0, -1.0])


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="singular"):
        newton_root(lambda x: x**2 + 1, torch.zeros(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="as many equations"):
        newton_root(lambda x: x[:1], torch.zeros(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="scalar"):
        newton_minimize(lambda x: x, torch.zeros(2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        newton_minimize(
            lambda x: (x**2).sum(),
            torch.ones(2, 2, dtype=torch.float64),
            hess=lambda x: torch.eye(3),
        )
    with pytest.raises(ValueError, match="tol"):
        newton_root(lambda x: x, torch.zeros(1, dtype=torch.float64), tol=0.0)
    with pytest.raises(TypeError, match="x0"):
        newton_root(lambda x: x, [1.0])


def test_a_diverging_run_is_reported_as_diverged_not_as_a_stationary_point():
    """From 3αI pure Newton on φ(X) = tr(AX) - log|det X| overflows (‖R_k‖ = ‖R_0‖^(2^k)); once
    ‖x‖ is inf the step test ‖Δ‖ <= tol ‖x‖ holds for any step, which used to read as converged."""
    n = 6
    g = torch.Generator().manual_seed(43)
    Qa = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))[0]
    lam = torch.logspace(0, 1, n, dtype=torch.float64)
    A = (Qa * lam) @ Qa.T
    alpha = 2 / float(lam.min() + lam.max())

    def phi(X, A):
        return torch.trace(A @ X) - torch.linalg.slogdet(X)[1]

    rec = newton_minimize(phi, 3 * alpha * torch.eye(n, dtype=torch.float64), A, maxiter=60)
    assert rec.diverged and not rec.converged and rec.kind == "diverged"
    assert rec.inertia is None and "diverged" in str(rec) and str(rec).startswith("✗")
    with pytest.raises(ValueError, match="not finite"):
        newton_root(lambda x: x**2 + 1.0, torch.tensor([1e200], dtype=torch.float64))
