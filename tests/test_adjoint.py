"""Tests of hessnotes.adjoint: gradients against autograd through the solver and differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close

from hessnotes.adjoint import (
    AdjointHvp,
    AdjointResult,
    adjoint_hvp,
    implicit_adjoint_gradient,
    linear_adjoint_gradient,
    linear_forward_gradient,
    rod_problem,
    sensitivity_timings,
)
from hessnotes.newton import newton_root


def _r(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _affine_problem(n=6, P=4, seed=0):
    """A(p) = A0 + Σ p_k A_k (non-symmetric), b(p) = b0 + B p, f = ½‖x - t‖² + c·p."""
    A0 = _r((n, n), seed) + 3 * n**0.5 * torch.eye(n, dtype=torch.float64)
    Ak = _r((P, n, n), seed + 1)
    b0, B, t, c = _r(n, seed + 2), _r((n, P), seed + 3), _r(n, seed + 4), _r(P, seed + 5)

    def A(p):
        return A0 + torch.einsum("k,kij->ij", p, Ak)

    def b(p):
        return b0 + B @ p

    def f(x, p):
        return 0.5 * ((x - t) ** 2).sum() + c @ p

    return A, b, f


def _reference(A, b, f, p):
    def J(q):
        return f(torch.linalg.solve(A(q), b(q)), q)

    return torch.func.grad(J)(p), J


@pytest.mark.parametrize("P", [1, 4, 9])
def test_adjoint_and_forward_match_autograd_through_the_solve(P):
    A, b, f = _affine_problem(P=P, seed=P)
    p = 0.1 * _r(P, 50 + P)
    ref, J = _reference(A, b, f, p)
    ra = linear_adjoint_gradient(A, b, f, p)
    rf = linear_forward_gradient(A, b, f, p)
    rb = linear_forward_gradient(A, b, f, p, batched=True)
    for r in (ra, rf, rb):
        assert isinstance(r, AdjointResult)
        assert_close(r.gradient, ref, rtol=1e-12, what=r.method)
        np.testing.assert_allclose(float(r.value), float(J(p)), rtol=1e-14)
    assert (ra.solves, rf.solves, rb.solves) == (2, 1 + P, 2)
    assert (ra.right_hand_sides, rf.right_hand_sides, rb.right_hand_sides) == (2, 1 + P, 1 + P)
    # central differences, an independent reference that does not use torch's solve rule
    h = 1e-6
    fd = torch.stack([(J(p + h * e) - J(p - h * e)) / (2 * h) for e in torch.eye(P, dtype=p.dtype)])
    assert_close(ra.gradient, fd, rtol=1e-7, what="adjoint vs differences")


def test_fixed_b_numpy_in_numpy_out():
    A, _, f = _affine_problem(P=3, seed=7)
    b = _r(6, 99)
    p = np.zeros(3)
    r = linear_adjoint_gradient(A, b.numpy(), f, p)
    assert isinstance(r.gradient, np.ndarray) and isinstance(r.value, float)
    ref, _ = _reference(A, lambda q: b, f, torch.zeros(3, dtype=torch.float64))
    assert_close(r.gradient, ref, rtol=1e-12, what="numpy")


def test_the_transpose_matters_on_a_non_symmetric_problem():
    prob = rod_problem(n=30, n_params=5, advection=20.0)
    p = torch.zeros(5, dtype=torch.float64)
    A = prob.A(p)
    assert not torch.allclose(A, A.T)
    ref, _ = _reference(prob.A, lambda q: prob.b, prob.f, p)
    r = linear_adjoint_gradient(prob.A, prob.b, prob.f, p)
    assert_close(r.gradient, ref, rtol=1e-11, what="rod with flow")
    assert_close(r.adjoint, torch.linalg.solve(A.T, (r.x - prob.x_obs) / 31), rtol=1e-12, what="λ")


def test_rod_problem_is_a_consistent_discretization():
    prob = rod_problem(n=50, n_params=1, alpha=0.0)
    # κ = 1: -u'' = 1 has u = s(1-s)/2, reproduced exactly by the 3-point stencil
    s = torch.arange(1, 51, dtype=torch.float64) / 51
    x = torch.linalg.solve(prob.A(torch.zeros(1, dtype=torch.float64)), prob.b)
    assert_close(x, s * (1 - s) / 2, rtol=1e-12, what="exact quadratic")
    assert float(prob.f(prob.x_obs, prob.p_true)) == 0.0


def test_implicit_gradient_matches_autograd_through_unrolled_newton():
    prob = rod_problem(n=40, n_params=4, reaction=30.0)
    p = 0.3 * _r(4, 11)
    x0 = torch.zeros(40, dtype=torch.float64)

    def J(q):
        x = x0
        for _ in range(8):
            Jx = prob.A(q) + 3 * prob.reaction * torch.diag(x**2)
            x = x - torch.linalg.solve(Jx, prob.g(x, q))
        return prob.f(x, q)

    x = newton_root(prob.g, x0, p).x
    r = implicit_adjoint_gradient(prob.g, prob.f, x, p)
    assert r.solves == 1 and r.method == "implicit"
    assert_close(r.gradient, torch.func.grad(J)(p), rtol=1e-10, what="implicit vs unrolled")
    # the linear case of g: the same gradient as linear_adjoint_gradient
    lin = rod_problem(n=40, n_params=4, advection=5.0)
    xl = torch.linalg.solve(lin.A(p), lin.b)
    ri = implicit_adjoint_gradient(lin.g, lin.f, xl, p)
    assert_close(
        ri.gradient,
        linear_adjoint_gradient(lin.A, lin.b, lin.f, p).gradient,
        rtol=1e-12,
        what="implicit = linear adjoint",
    )


@pytest.mark.parametrize("D", [1, 3, 6])
def test_adjoint_hvp_matches_the_autograd_hessian_through_the_solve(D):
    # A(p) depends linearly on p and f has a cross term, so every block of the Lagrangian's
    # second derivative (xx, xp, pp) and the p-dependence of A all enter the product.
    A, b, f0 = _affine_problem(P=D, seed=20 + D)
    w = _r(D, 70 + D)

    def f(x, p):
        return f0(x, p) + (x[:D] * p).sum() ** 2 + (w @ p) ** 3

    p, v = 0.1 * _r(D, 80 + D), _r(D, 90 + D)

    def J(q):
        return f(torch.linalg.solve(A(q), b(q)), q)

    x = torch.linalg.solve(A(p), b(p))
    r = adjoint_hvp(lambda x, q: A(q) @ x - b(q), f, x, p, v)
    assert isinstance(r, AdjointHvp) and r.solves == 3
    assert_close(r.hvp, torch.func.hessian(J)(p) @ v, rtol=1e-11, what="∇²J v vs autograd")
    assert_close(r.gradient, torch.func.grad(J)(p), rtol=1e-12, what="∇J")
    np.testing.assert_allclose(float(r.value), float(J(p)), rtol=1e-14)
    # the two linear solves it claims: ẋ and λ̇ satisfy their equations
    G = A(p)
    assert_close(
        G @ r.tangent,
        torch.func.jvp(lambda q: b(q) - A(q) @ x, (p,), (v,))[1],
        rtol=1e-12,
        what="tangent equation",
    )
    # dropping the second-order adjoint λ̇ (treating λ as fixed) is wrong
    wrong = torch.func.jvp(
        lambda z, q: torch.func.grad(lambda q2: f(z, q2) - r.adjoint @ (A(q2) @ z - b(q2)))(q),
        (x, p),
        (r.tangent, v),
    )[1]
    assert (wrong - r.hvp).norm() > 1e-3 * r.hvp.norm()


def test_adjoint_hvp_nonlinear_against_differences_of_the_implicit_gradient():
    prob = rod_problem(n=40, n_params=4, reaction=30.0)
    p, v = 0.3 * _r(4, 12), _r(4, 13)
    x0 = torch.zeros(40, dtype=torch.float64)

    def grad_J(q):
        x = newton_root(prob.g, x0, q, tol=1e-14).x
        return implicit_adjoint_gradient(prob.g, prob.f, x, q).gradient

    x = newton_root(prob.g, x0, p, tol=1e-14).x
    r = adjoint_hvp(prob.g, prob.f, x, p, v)
    h = 1e-5
    fd = (grad_J(p + h * v) - grad_J(p - h * v)) / (2 * h)
    assert_close(r.hvp, fd, rtol=1e-7, what="∇²J v vs central differences of ∇J")
    assert_close(r.gradient, grad_J(p), rtol=1e-12, what="∇J")


def test_adjoint_hvp_numpy_float32_and_errors():
    prob = rod_problem(n=20, n_params=3, advection=5.0)
    p = np.zeros(3)
    x = torch.linalg.solve(prob.A(torch.zeros(3, dtype=torch.float64)), prob.b)
    r = adjoint_hvp(prob.g, prob.f, x.numpy(), p, np.ones(3))
    assert isinstance(r.hvp, np.ndarray) and isinstance(r.value, float) and r.hvp.shape == (3,)
    r32 = adjoint_hvp(
        lambda x, q: prob.g(x.double(), q.double()).float(),
        lambda x, q: prob.f(x.double(), q.double()).float(),
        x.float(),
        torch.zeros(3, dtype=torch.float32),
        torch.ones(3, dtype=torch.float32),
    )
    assert r32.hvp.dtype == torch.float32
    np.testing.assert_allclose(r32.hvp.numpy(), r.hvp, rtol=1e-3)
    with pytest.raises(ValueError, match="v has shape"):
        adjoint_hvp(prob.g, prob.f, x, p, np.ones(4))
    with pytest.raises(ValueError, match="does not solve"):
        adjoint_hvp(prob.g, prob.f, x + 1, p, np.ones(3))


def test_sensitivity_timings_counts_solves_exactly():
    t = sensitivity_timings(20, [1, 3], repeat=1, min_time=0.0)
    assert list(t["solves adjoint"]) == [2, 2] and list(t["solves forward"]) == [2, 4]
    assert (t["adjoint"] > 0).all() and t["P"].tolist() == [1.0, 3.0]


def test_errors_name_the_argument():
    A, b, f = _affine_problem(P=2)
    with pytest.raises(ValueError, match="p has shape"):
        linear_adjoint_gradient(A, b, f, torch.zeros(2, 1, dtype=torch.float64))
    with pytest.raises(TypeError, match="p must be"):
        linear_adjoint_gradient(A, b, f, [0.0, 0.0])
    with pytest.raises(ValueError, match="b has shape"):
        linear_adjoint_gradient(A, torch.zeros(5, dtype=torch.float64), f, torch.zeros(2).double())
    with pytest.raises(ValueError, match="scalar"):
        linear_adjoint_gradient(A, b, lambda x, p: x, torch.zeros(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="singular"):
        linear_adjoint_gradient(
            lambda p: torch.zeros(6, 6, dtype=torch.float64) * p.sum(),
            b,
            f,
            torch.zeros(2, dtype=torch.float64),
        )
    prob = rod_problem(n=10, n_params=2, reaction=1.0)
    with pytest.raises(ValueError, match="does not solve"):
        implicit_adjoint_gradient(
            prob.g,
            prob.f,
            torch.zeros(10, dtype=torch.float64),
            torch.zeros(2, dtype=torch.float64),
        )
    with pytest.raises(ValueError, match="n_params"):
        rod_problem(n=4, n_params=9)
