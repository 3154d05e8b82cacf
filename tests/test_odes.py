"""Tests of hessnotes.odes: gradients through RK4 against autograd, differences and matrix_exp."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from helpers import assert_close, rel
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes.odes import (
    HeatProblem,
    OdeGradient,
    adjoint_gradient,
    continuous_adjoint_gradient,
    forward_sensitivities,
    heat_problem,
    rk4,
    rk4_amplification,
    rk4_stable_step,
)
from hessnotes.timing import loglog_slope

METHODS = (forward_sensitivities, adjoint_gradient)


def _r(shape, seed, dtype=torch.float64):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _linear(n=3, D=2, seed=0):
    """dx/dt = (A0 + Σ p_k A_k) x, a non-symmetric, damped linear system with D parameters."""
    A0 = _r((n, n), seed) / math.sqrt(n) - 1.5 * torch.eye(n, dtype=torch.float64)
    Ak = _r((D, n, n), seed + 1) / math.sqrt(n)

    def A(p):  # in the dtype of p, so that float32 calls stay float32
        return A0.to(p.dtype) + torch.einsum("k,kij->ij", p, Ak.to(p.dtype))

    def f(x, p):
        return A(p) @ x

    return A, f


def _nonlinear(n=3, D=2, seed=0):
    """dx/dt = tanh(W(p) x) - p₀ x with a callable x₀(p) = x̄ + C p: n states, D parameters."""
    W0, Wk = _r((n, n), seed), _r((D, n, n), seed + 1) / 2
    xbar, C, target = _r(n, seed + 2), _r((n, D), seed + 3), _r(n, seed + 4)

    def f(x, p):
        W = W0.to(p.dtype) + torch.einsum("k,kij->ij", p, Wk.to(p.dtype))
        return torch.tanh(W @ x) - (1 + p[0] ** 2) * x

    def x0(p):
        return xbar.to(p.dtype) + C.to(p.dtype) @ p

    def g(x):
        return 0.5 * ((x - target.to(x.dtype)) ** 2).sum() + x.sum() ** 3 / 10

    return f, x0, g


def _autograd(f, x0, g, p, T, M):
    def J(q):
        start = x0(q) if callable(x0) else x0
        return g(rk4(f, start, q, T, M)[-1])

    return torch.func.grad(J)(p), J


def _central(J, p, h=1e-6):
    e = torch.eye(p.numel(), dtype=p.dtype)
    return torch.stack([(J(p + h * e[k]) - J(p - h * e[k])) / (2 * h) for k in range(p.numel())])


# --------------------------------------------------------------------------------------------------
# rk4
# --------------------------------------------------------------------------------------------------
def test_rk4_one_step_on_a_linear_system_is_the_stability_polynomial():
    A, f = _linear(4, 2, seed=3)
    p, x0 = _r(2, 4), _r(4, 5)
    dt = 0.3
    xs = rk4(f, x0, p, dt, 1)
    Z = dt * A(p).numpy()
    R = np.eye(4) + Z + Z @ Z / 2 + Z @ Z @ Z / 6 + Z @ Z @ Z @ Z / 24
    assert xs.shape == (2, 4)
    assert_close(xs[1], R @ x0.numpy(), rtol=1e-14, what="one RK4 step = R(ΔtA) x0")


def test_rk4_converges_at_order_four_to_the_matrix_exponential():
    A, f = _linear(3, 2, seed=1)
    p, x0, T = _r(2, 2) / 4, _r(3, 3), 2.0
    exact = scipy.linalg.expm(T * A(p).numpy()) @ x0.numpy()
    Ms = [10, 20, 40, 80]
    errs = [np.linalg.norm(rk4(f, x0, p, T, M)[-1].numpy() - exact) for M in Ms]
    slope = loglog_slope([T / M for M in Ms], errs)
    assert 3.8 < slope < 4.3, f"RK4 order measured {slope:.2f}, expected 4"


def test_rk4_numpy_in_numpy_out_and_float32():
    _, f = _linear(3, 2)
    x0, p = np.ones(3), np.array([0.1, -0.2])
    out = rk4(f, x0, p, 1.0, 5)
    assert isinstance(out, np.ndarray) and out.shape == (6, 3) and out.dtype == np.float64
    out32 = rk4(f, x0.astype(np.float32), p.astype(np.float32), 1.0, 5)
    assert out32.dtype == np.float32
    assert_close(out32, out, rtol=1e-5, what="float32 trajectory")
    t = rk4(f, torch.ones(3, dtype=torch.float64), torch.tensor([0.1, -0.2]).double(), 1.0, 5)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64


def test_rk4_refuses_bad_input_with_the_fix():
    _, f = _linear(3, 2)
    x0, p = torch.ones(3, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="steps=0"):
        rk4(f, x0, p, 1.0, 0)
    with pytest.raises(ValueError, match="integer"):
        rk4(f, x0, p, 1.0, 2.5)
    with pytest.raises(ValueError, match="T must be finite and > 0"):
        rk4(f, x0, p, -1.0, 4)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        rk4(f, x0.reshape(3, 1), p, 1.0, 4)
    with pytest.raises(TypeError, match=r"x0.to\(torch.float64\)|p.to\(torch.float64\)"):
        rk4(f, x0, p.float(), 1.0, 4)
    with pytest.raises(TypeError, match="right-hand side"):
        rk4(None, x0, p, 1.0, 4)
    with pytest.raises(ValueError, match="shape of x"):
        rk4(lambda x, q: x[:2], x0, p, 1.0, 4)
    with pytest.raises(ValueError, match="NaN or Inf"):
        rk4(f, torch.tensor([1.0, math.nan, 0.0], dtype=torch.float64), p, 1.0, 4)
    with pytest.raises(TypeError, match="integer"):
        rk4(f, x0.long(), p, 1.0, 4)


def test_rk4_outside_the_stability_region_is_refused_not_returned_as_nan():
    def f(x, p):
        return -p[0] * x

    x0, p = torch.ones(2, dtype=torch.float64), torch.tensor([1e4], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"stability region.*rk4_stable_step"):
        rk4(f, x0, p, 10.0, 100)  # Δt λ = -1000: |R| ~ 4e10 per step, overflows


# --------------------------------------------------------------------------------------------------
# gradients: forward sensitivities and the discrete adjoint are exact for J_Δt
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("n", "D"), [(3, 2), (2, 5)])
def test_gradient_equals_autograd_through_rk4_and_differences(method, n, D):
    f, x0, g = _nonlinear(n, D, seed=n + D)
    p, T, M = 0.3 * _r(D, 7), 1.5, 12
    ref, J = _autograd(f, x0, g, p, T, M)
    res = method(f, x0, p, g, T, M)
    assert isinstance(res, OdeGradient) and res.gradient.shape == (D,)
    assert_close(res.gradient, ref, rtol=1e-12, what=f"{method.__name__} vs autograd")
    assert_close(res.gradient, _central(J, p), rtol=1e-7, what=f"{method.__name__} vs differences")
    assert abs(float(res.value) - float(J(p))) <= 1e-13 * abs(float(J(p)))
    assert_close(res.trajectory, rk4(f, x0(p), p, T, M), rtol=1e-14, what="trajectory")


@pytest.mark.parametrize("method", METHODS)
def test_fixed_initial_state_has_no_initial_condition_term(method):
    _, f = _linear(3, 2, seed=5)
    x0, target, p, T, M = _r(3, 6), _r(3, 8), 0.2 * _r(2, 9), 1.0, 10

    def g(x):
        return 0.5 * ((x - target) ** 2).sum()

    ref, _ = _autograd(f, x0, g, p, T, M)
    assert_close(method(f, x0, p, g, T, M).gradient, ref, rtol=1e-12, what="fixed x0")


def test_adjoint_and_sensitivities_fit_together():
    """S_0 = ∂x₀/∂p, μ_M = ∇g(x_M), and ∇J = S_Mᵀ μ_M: the two methods' pieces meet at T."""
    f, x0, g = _nonlinear(3, 2, seed=11)
    p, T, M = 0.2 * _r(2, 12), 1.0, 8
    rf, ra = forward_sensitivities(f, x0, p, g, T, M), adjoint_gradient(f, x0, p, g, T, M)
    assert rf.sensitivities.shape == (M + 1, 3, 2) and ra.adjoint.shape == (M + 1, 3)
    assert_close(rf.sensitivities[0], torch.func.jacfwd(x0)(p), rtol=1e-15, what="S_0 = ∂x₀/∂p")
    assert_close(ra.adjoint[-1], torch.func.grad(g)(rf.trajectory[-1]), rtol=1e-15, what="μ_M")
    assert_close(rf.sensitivities[-1].T @ ra.adjoint[-1], rf.gradient, rtol=1e-13, what="S_Mᵀ μ_M")


def test_counts_are_what_f_is_called_for():
    f, x0, g = _nonlinear(3, 4, seed=2)
    calls = [0]

    def counted(x, p):
        calls[0] += 1
        return f(x, p)

    p, T, M = 0.1 * _r(4, 3), 1.0, 6
    for method in (forward_sensitivities, adjoint_gradient, continuous_adjoint_gradient):
        calls[0] = 0
        res = method(counted, x0, p, g, T, M)
        stages = 4 * M
        assert calls[0] == res.f_evals, f"{method.__name__}: f called {calls[0]} times"
        if method is forward_sensitivities:
            assert (res.f_evals, res.jvps, res.vjps) == (stages, stages * 4, 0)
            assert res.stored == 3 * (1 + 4)
        else:
            assert (res.f_evals, res.jvps, res.vjps) == (2 * stages, 0, stages)
            assert res.stored == (3 * (M + 2) + 4 if method is adjoint_gradient else 2 * 3 + 4)


def test_numpy_and_float32_follow_p():
    f, x0, g = _nonlinear(3, 2, seed=4)
    p64 = 0.2 * _r(2, 5)
    ref = adjoint_gradient(f, x0, p64, g, 1.0, 8).gradient
    res = adjoint_gradient(f, x0, p64.numpy(), g, 1.0, 8)
    assert isinstance(res.gradient, np.ndarray) and isinstance(res.value, float)
    assert isinstance(res.trajectory, np.ndarray) and isinstance(res.adjoint, np.ndarray)
    assert_close(res.gradient, ref, rtol=1e-15, what="numpy p")
    for method in METHODS:
        r32 = method(f, x0, p64.float(), g, 1.0, 8)
        assert r32.gradient.dtype == torch.float32
        assert_close(r32.gradient, ref, rtol=1e-4, what=f"{method.__name__} in float32")


def test_gradients_refuse_bad_input():
    f, x0, g = _nonlinear(3, 2)
    p = torch.zeros(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        adjoint_gradient(f, x0, p.reshape(1, 2), g, 1.0, 4)
    with pytest.raises(TypeError, match="x0 has dtype float32"):
        forward_sensitivities(f, torch.zeros(3), p, g, 1.0, 4)
    with pytest.raises(ValueError, match="scalar"):
        adjoint_gradient(f, x0, p, lambda x: x, 1.0, 4)
    with pytest.raises(TypeError, match="loss g"):
        adjoint_gradient(f, x0, p, None, 1.0, 4)
    with pytest.raises(TypeError, match="x0\\(p\\) returned"):
        adjoint_gradient(f, lambda q: [0.0, 1.0, 2.0], p, g, 1.0, 4)
    with pytest.raises(ValueError, match="not finite"):
        adjoint_gradient(f, x0, p, lambda x: torch.log(-(x.sum() ** 2) - 1), 1.0, 4)
    with pytest.raises(ValueError, match="NaN or Inf"):
        forward_sensitivities(f, x0, torch.tensor([0.0, math.inf], dtype=torch.float64), g, 1, 4)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), D=st.integers(1, 4), M=st.integers(1, 6), seed=st.integers(0, 99))
def test_forward_and_adjoint_agree_on_random_problems(n, D, M, seed):
    f, x0, g = _nonlinear(n, D, seed=seed)
    p = 0.3 * _r(D, seed + 50)
    a = adjoint_gradient(f, x0, p, g, 0.5, M).gradient
    b = forward_sensitivities(f, x0, p, g, 0.5, M).gradient
    assert rel(a, b) <= 1e-12 or float((a - b).abs().max()) <= 1e-13


# --------------------------------------------------------------------------------------------------
# the continuous adjoint: O(Δt⁴) from the exact gradient, unstable backwards on a stiff problem
# --------------------------------------------------------------------------------------------------
def test_continuous_adjoint_converges_at_order_four_to_the_exact_gradient():
    """Exact: J(p) = g(expm(A(p) T) x0), differentiated by autograd through matrix_exp."""
    A, f = _linear(3, 2, seed=7)
    x0, target, p, T = _r(3, 8), _r(3, 9), 0.3 * _r(2, 10), 2.0

    def g(x):
        return 0.5 * ((x - target) ** 2).sum()

    exact = torch.func.grad(lambda q: g(torch.linalg.matrix_exp(T * A(q)) @ x0))(p)
    Ms = [8, 16, 32, 64]
    cont = [continuous_adjoint_gradient(f, x0, p, g, T, M) for M in Ms]
    disc = [adjoint_gradient(f, x0, p, g, T, M).gradient for M in Ms]
    e_cont = [rel(r.gradient, exact) for r in cont]
    e_gap = [rel(r.gradient, d) for r, d in zip(cont, disc, strict=True)]
    for errs, what in ((e_cont, "continuous vs exact"), (e_gap, "continuous vs discrete")):
        slope = loglog_slope([T / M for M in Ms], errs)
        assert 3.7 < slope < 4.5, f"{what}: slope {slope:.2f}, expected 4 ({errs})"
    assert cont[-1].reconstruction_error < 1e-6
    assert cont[-1].adjoint.shape == (65, 3)
    assert_close(cont[-1].adjoint[-1], torch.func.grad(g)(cont[-1].trajectory[-1]), rtol=1e-15,
                 what="λ(T) = ∇g")  # fmt: skip


def test_continuous_adjoint_refuses_an_unstable_backward_state():
    hp = heat_problem(16, 4, t_final=0.1)  # 46 steps: roundoff grows by |R(2.5)|^46 backwards
    p = torch.zeros(4, dtype=torch.float64)
    M = math.ceil(hp.t_final / (0.9 * rk4_stable_step(hp.eigenvalues(p))))
    with pytest.raises(ValueError, match=r"backwards.*adjoint_gradient"):
        continuous_adjoint_gradient(hp.f, hp.x0, p, hp.g, hp.t_final, M)
    res = continuous_adjoint_gradient(
        hp.f, hp.x0, p, hp.g, hp.t_final, M, reconstruction_rtol=math.inf
    )
    good = adjoint_gradient(hp.f, hp.x0, p, hp.g, hp.t_final, M).gradient
    assert res.reconstruction_error > 1e3 and rel(res.gradient, good) > 1
    with pytest.raises(ValueError, match="reconstruction_rtol"):
        continuous_adjoint_gradient(hp.f, hp.x0, p, hp.g, 1.0, 4, reconstruction_rtol=0)


# --------------------------------------------------------------------------------------------------
# stability
# --------------------------------------------------------------------------------------------------
def test_amplification_is_one_step_of_the_test_equation_and_close_to_exp():
    for lam in (-0.3, -2.0, 0.7):  # one RK4 step of dx/dt = λx with Δt = 1 multiplies by R(λ)
        p = torch.tensor([lam], dtype=torch.float64)
        x1 = rk4(lambda x, q: q * x, torch.ones(1, dtype=torch.float64), p, 1.0, 1)[1]
        assert abs(float(x1[0]) - rk4_amplification(lam)) <= 1e-15
    small = np.array([1e-2, -1e-2 + 1e-2j])
    ratio = (rk4_amplification(small) - np.exp(small)) / small**5
    np.testing.assert_allclose(ratio, -1 / 120, rtol=0.02)
    t = rk4_amplification(torch.tensor([-1.0], dtype=torch.float64))
    assert isinstance(t, torch.Tensor) and abs(float(t) - 0.375) < 1e-15


def test_stable_step_on_the_axes_against_closed_forms():
    roots = np.roots([1 / 24, 1 / 6, 1 / 2, 1])  # R(z) = 1 with z ≠ 0
    real_root = float(roots[np.abs(roots.imag) < 1e-12].real[0])
    assert abs(rk4_stable_step([-1.0]) - abs(real_root)) < 1e-9
    assert abs(rk4_stable_step([-10.0]) - abs(real_root) / 10) < 1e-10
    assert abs(rk4_stable_step(np.array([2j, -2j])) - math.sqrt(2)) < 1e-9  # 2√2 / 2
    both = rk4_stable_step(torch.tensor([-1.0, -4.0], dtype=torch.float64))
    assert abs(both - abs(real_root) / 4) < 1e-10
    assert abs(rk4_stable_step([-1.0], safety=0.5) - abs(real_root) / 2) < 1e-9
    assert rk4_stable_step([0.0]) == math.inf
    # on the boundary |R| = 1, just inside < 1, just outside > 1
    lam = -0.3 + 2.0j
    s = rk4_stable_step([lam])
    assert abs(abs(rk4_amplification(s * lam)) - 1) < 1e-10
    assert abs(rk4_amplification(0.999 * s * lam)) < 1 < abs(rk4_amplification(1.001 * s * lam))


def test_stable_step_refuses_growing_modes_and_empty_input():
    with pytest.raises(ValueError, match="positive real part"):
        rk4_stable_step([-1.0, 0.1 + 1j])
    with pytest.raises(ValueError, match="empty"):
        rk4_stable_step([])
    with pytest.raises(ValueError, match="NaN"):
        rk4_stable_step([math.nan])
    with pytest.raises(ValueError, match="safety"):
        rk4_stable_step([-1.0], safety=1.5)


# --------------------------------------------------------------------------------------------------
# the heat problem
# --------------------------------------------------------------------------------------------------
def test_heat_problem_is_the_cooling_rod():
    hp = heat_problem(20, 5, t_final=0.05)
    assert isinstance(hp, HeatProblem) and (hp.n, hp.n_params) == (20, 5)
    p = 0.1 * _r(5, 1)
    x = _r(20, 2)
    assert_close(hp.f(x, p), -hp.rod.A(p) @ x, rtol=1e-15, what="f = -A(p) x")
    ev = hp.eigenvalues(p)
    assert bool((ev < 0).all())
    assert_close(ev, np.sort(np.linalg.eigvals(-hp.rod.A(p).numpy()).real), rtol=1e-12, what="ev")
    assert float(hp.exact_loss(hp.rod.p_true)) < 1e-28
    dt = rk4_stable_step(ev)
    M = math.ceil(hp.t_final / (0.5 * dt))
    xT = rk4(hp.f, hp.x0, p, hp.t_final, M)[-1]
    exact = torch.linalg.matrix_exp(-hp.t_final * hp.rod.A(p)) @ hp.x0
    assert_close(xT, exact, rtol=1e-6, what="RK4 at a stable step vs matrix_exp")
    assert_close(
        adjoint_gradient(hp.f, hp.x0, p, hp.g, hp.t_final, M).gradient,
        torch.func.grad(hp.exact_loss)(p),
        rtol=1e-4,
        what="discrete adjoint vs the gradient through matrix_exp",
    )
    with pytest.raises(ValueError, match="n_params"):
        heat_problem(4, 9)
    with pytest.raises(ValueError, match="T must be"):
        heat_problem(8, 2, t_final=0.0)


def test_heat_problem_step_just_past_the_bound_blows_up():
    hp = heat_problem(16, 2, t_final=1.0)
    p = torch.zeros(2, dtype=torch.float64)
    dt = rk4_stable_step(hp.eigenvalues(p))
    ok = rk4(hp.f, hp.x0, p, 300 * 0.95 * dt, 300)
    bad = rk4(hp.f, hp.x0, p, 300 * 1.05 * dt, 300)
    assert float(ok[-1].norm()) < float(ok[0].norm())
    assert float(bad[-1].norm()) > 1e6 * float(bad[0].norm())
