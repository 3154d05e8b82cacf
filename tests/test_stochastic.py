"""Tests of hessnotes.stochastic: gradients of Gaussian expectations by Monte Carlo.

Statistical tests are seeded and their tolerances come from the samples' own spread (a few
standard errors); references are closed-form expectations differentiated by autograd, scipy's
Gaussian density, and exact per-sample identities checked to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes.stochastic import (
    Baseline,
    Estimate,
    check_mean,
    check_variance,
    gaussian_log_density,
    gaussian_score,
    optimal_baseline,
    pathwise_gradient,
    score_function_gradient,
)

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _problem(D: int = 3, seed: int = 0):
    """(μ, L, A): a mean, a lower-triangular invertible factor and a symmetric A."""
    g = _gen(seed)
    mu = torch.randn(D, generator=g, dtype=F64)
    L = torch.tril(torch.randn(D, D, generator=g, dtype=F64), -1) + torch.diag(
        1 + torch.rand(D, generator=g, dtype=F64)
    )
    A = torch.randn(D, D, generator=g, dtype=F64)
    return mu, L, (A + A.T) / 2


def _quadratic(A):
    return lambda z: ((z @ A) * z).sum(-1)


def _quadratic_mean(A):
    """E zᵀAz = μᵀAμ + tr(A L Lᵀ), a function of (μ, L) for autograd."""
    return lambda mu, L: mu @ A @ mu + torch.trace(A @ L @ L.T)


def _exp_mean(a):
    """E exp(aᵀz) = exp(aᵀμ + ½‖Lᵀa‖²)."""
    return lambda mu, L: torch.exp(a @ mu + 0.5 * (L.T @ a) @ (L.T @ a))


def _closed_gradients(F, mu, L):
    return torch.func.grad(F, argnums=(0, 1))(mu, L)


# --------------------------------------------------------------------------------------------------
# Density and score
# --------------------------------------------------------------------------------------------------
def test_log_density_matches_scipy_for_numpy_and_torch():
    mu, L, _ = _problem(4, seed=1)
    z = torch.randn(7, 4, generator=_gen(2), dtype=F64)
    ref = scipy.stats.multivariate_normal(mu.numpy(), (L @ L.T).numpy()).logpdf(z.numpy())
    got = gaussian_log_density(z, mu, L)
    assert isinstance(got, torch.Tensor) and got.shape == (7,)
    assert_close(got, ref, rtol=1e-13, what="log N(z; μ, LLᵀ) vs scipy")
    got_np = gaussian_log_density(z.numpy(), mu.numpy(), L.numpy())
    assert isinstance(got_np, np.ndarray)
    assert_close(got_np, ref, rtol=1e-13, what="numpy")
    one = gaussian_log_density(z[3], mu, L)
    assert one.shape == () and abs(float(one) - ref[3]) < 1e-12


def test_score_is_the_gradient_of_the_log_density_in_mu_and_L():
    mu, L, _ = _problem(3, seed=3)
    L = L + 0.3 * torch.triu(torch.ones(3, 3, dtype=F64), 1)  # not triangular: any invertible L
    z = torch.randn(5, 3, generator=_gen(4), dtype=F64)
    s_mu, s_L = gaussian_score(z, mu, L)
    assert s_mu.shape == (5, 3) and s_L.shape == (5, 3, 3)
    for k in range(5):
        ref_mu, ref_L = torch.func.grad(gaussian_log_density, argnums=(1, 2))(z[k], mu, L)
        assert_close(s_mu[k], ref_mu, rtol=1e-12, what=f"∇_μ log p at z_{k}")
        assert_close(s_L[k], ref_L, rtol=1e-12, what=f"∇_L log p at z_{k}")
    Sigma = L @ L.T
    assert_close(s_mu, torch.linalg.solve(Sigma, (z - mu).T).T, rtol=1e-12, what="Σ⁻¹(z − μ)")
    one_mu, one_L = gaussian_score(z[0], mu, L)
    assert one_mu.shape == (3,) and one_L.shape == (3, 3)


def test_the_score_has_mean_zero_and_covariance_the_fisher_information():
    """E[s] = 0 and E[s_μ s_μᵀ] = Σ⁻¹, with 200 000 samples, within 4 standard errors."""
    mu, L, _ = _problem(3, seed=5)
    est = score_function_gradient(
        lambda z: torch.ones(z.shape[0], dtype=z.dtype), mu, L, samples=200_000, generator=_gen(6)
    )  # f = 1: the estimator is the score itself
    assert check_mean("E[∇_μ log p] = 0", est.mu, np.zeros(3)).passed
    assert check_mean("E[∇_L log p] = 0", est.L, np.zeros((3, 3))).passed
    s = torch.as_tensor(est.mu.values)
    fisher = Estimate.of(s[:, :, None] * s[:, None, :])
    assert check_mean("E[s sᵀ] = Σ⁻¹", fisher, torch.linalg.inv(L @ L.T)).passed
    # the check has power: a wrong covariance is many standard errors away
    assert not check_mean("wrong", fisher, torch.linalg.inv(L @ L.T) * 1.1, raises=False)


# --------------------------------------------------------------------------------------------------
# Unbiasedness against closed forms
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", [pathwise_gradient, score_function_gradient])
def test_both_estimators_are_unbiased_for_a_quadratic_and_an_exponential(estimator):
    mu, L, A = _problem(3, seed=7)
    a = torch.tensor([0.3, -0.2, 0.4], dtype=F64)
    cases = {
        "zᵀAz": (_quadratic(A), _quadratic_mean(A)),
        "exp(aᵀz)": (lambda z: torch.exp(z @ a), _exp_mean(a)),
    }
    for name, (f, F) in cases.items():
        est = estimator(f, mu, L, samples=40_000, generator=_gen(8))
        g_mu, g_L = _closed_gradients(F, mu, L)
        check_mean(f"{name}: value", est.value, F(mu, L))
        check_mean(f"{name}: ∇_μ", est.mu, g_mu)
        check_mean(f"{name}: ∇_L", est.L, g_L)


def test_closed_form_gradients_used_above_are_right():
    """∇_μ E zᵀAz = 2Aμ and ∇_L = 2AL (A symmetric); for exp: E·a and E·a aᵀ L."""
    mu, L, A = _problem(3, seed=9)
    g_mu, g_L = _closed_gradients(_quadratic_mean(A), mu, L)
    assert_close(g_mu, 2 * A @ mu, rtol=1e-13, what="2Aμ")
    assert_close(g_L, 2 * A @ L, rtol=1e-13, what="2AL")
    a = torch.tensor([0.3, -0.2, 0.4], dtype=F64)
    E = _exp_mean(a)(mu, L)
    g_mu, g_L = _closed_gradients(_exp_mean(a), mu, L)
    assert_close(g_mu, E * a, rtol=1e-13, what="E a")
    assert_close(g_L, E * torch.outer(a, a) @ L, rtol=1e-13, what="E a aᵀ L")


def test_pathwise_is_biased_for_an_indicator_and_the_score_function_is_not():
    mu, L, _ = _problem(2, seed=10)
    a = torch.tensor([1.0, -0.5], dtype=F64)

    def f(z):  # 1[aᵀz > 0] as (1 + sign)/2: derivative 0 almost everywhere
        return (1 + torch.sign(z @ a)) / 2

    def F(mu, L):
        return torch.special.ndtr(a @ mu / torch.linalg.norm(L.T @ a))

    g_mu, g_L = _closed_gradients(F, mu, L)
    pw = pathwise_gradient(f, mu, L, samples=20_000, generator=_gen(11))
    assert float(pw.mu.values.abs().max()) == 0.0  # every sample's gradient is zero
    assert not check_mean("pathwise, indicator", pw.mu, g_mu, raises=False)
    sf = score_function_gradient(f, mu, L, samples=20_000, generator=_gen(11))
    check_mean("score, indicator ∇_μ", sf.mu, g_mu)
    check_mean("score, indicator ∇_L", sf.L, g_L)


# --------------------------------------------------------------------------------------------------
# Variances against closed forms
# --------------------------------------------------------------------------------------------------
def test_pathwise_variance_of_a_quadratic():
    """Total variances 4‖AL‖²_F (∇_μ) and 4D‖Aμ‖² + 4(D+1)‖AL‖²_F (∇_L)."""
    D = 4
    mu, L, A = _problem(D, seed=12)
    est = pathwise_gradient(_quadratic(A), mu, L, samples=40_000, generator=_gen(13))
    AL2, Amu2 = float((A @ L).square().sum()), float((A @ mu).square().sum())
    check_variance("∇_μ", est.mu, 4 * AL2)
    check_variance("∇_L", est.L, 4 * D * Amu2 + 4 * (D + 1) * AL2)
    assert not check_variance("wrong", est.mu, 4.4 * AL2, raises=False)


@pytest.mark.parametrize("D", [1, 3, 8])
def test_score_variance_and_the_optimal_baseline_for_a_squared_distance(D):
    """f = ‖z − c‖², z ∼ N(μ, σ²I), a = ‖μ − c‖²: total variances of the ∇_μ estimators."""
    sigma, a = 0.7, 1.3
    c = torch.linspace(-1, 1, D, dtype=F64)
    mu = c + math.sqrt(a / D)
    L = sigma * torch.eye(D, dtype=F64)

    def f(z):
        return (z - c).square().sum(-1)

    var_score = (
        a * a * D / sigma**2 + 2 * a * (D + 2) ** 2 - 4 * a + sigma**2 * D * (D + 2) * (D + 4)
    )
    var_best = 4 * a * (D + 1) + 2 * sigma**2 * D * (D + 2)
    b_exact = a + sigma**2 * (D + 2)
    sf = score_function_gradient(f, mu, L, samples=100_000, generator=_gen(14), wrt="mu")
    check_variance("score", sf.mu, var_score)
    b = optimal_baseline(f, mu, L, samples=100_000, generator=_gen(15), wrt="mu")
    assert b.L is None
    assert abs(float(b.mu) - b_exact) < 0.03 * b_exact
    sb = score_function_gradient(
        f, mu, L, samples=100_000, generator=_gen(14), wrt="mu", baseline=b
    )
    check_variance("score, b*", sb.mu, var_best)
    check_mean("score, b*: unbiased", sb.mu, 2 * (mu - c))
    assert sb.mu.variance < sf.mu.variance
    pw = pathwise_gradient(f, mu, L, samples=100_000, generator=_gen(14), wrt="mu")
    check_variance("pathwise", pw.mu, 4 * sigma**2 * D)


def test_optimal_baseline_minimises_the_sample_variance_and_per_coordinate_does_better():
    """On one set of samples the variance of (f − b)s is a parabola in b with its minimum at
    the sample b* (exact); per-coordinate baselines never do worse than one per block."""
    mu, L, A = _problem(3, seed=16)
    f = _quadratic(A + 2 * torch.eye(3, dtype=F64))
    gen_state = _gen(17)
    b = optimal_baseline(f, mu, L, samples=5000, generator=gen_state)
    b_same = optimal_baseline(f, mu, L, samples=5000, generator=_gen(17))
    assert float(b.mu) == float(b_same.mu) and float(b.L) == float(b_same.L)  # reproducible

    def second_moment(baseline):
        est = score_function_gradient(f, mu, L, samples=5000, generator=_gen(17), baseline=baseline)
        v = torch.as_tensor(est.mu.values)
        return float(v.square().sum(1).mean())

    best = second_moment(b)  # same samples as the baseline: the sample minimiser
    for delta in (-0.5, -0.01, 0.01, 0.5):
        assert second_moment(Baseline(float(b.mu) + delta, float(b.L))) > best
    bc = optimal_baseline(f, mu, L, samples=5000, generator=_gen(17), per_coordinate=True)
    assert bc.mu.shape == (3,) and bc.L.shape == (3, 3)
    assert second_moment(bc) <= best


# --------------------------------------------------------------------------------------------------
# Exact identities and properties
# --------------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    D=st.integers(1, 4),
    b=st.floats(-3, 3),
    seed=st.integers(0, 2**16),
)
def test_a_baseline_shifts_each_sample_by_b_times_the_score(D, b, seed):
    mu, L, A = _problem(D, seed=seed % 97)
    f = _quadratic(A)
    plain = score_function_gradient(f, mu, L, samples=16, generator=_gen(seed))
    based = score_function_gradient(f, mu, L, samples=16, generator=_gen(seed), baseline=b)
    s_mu, s_L = gaussian_score(plain.z, mu, L)
    assert_close(based.mu.values, plain.mu.values - b * s_mu, rtol=1e-10, atol=1e-10, what="μ")
    assert_close(based.L.values, plain.L.values - b * s_L, rtol=1e-10, atol=1e-10, what="L")


@settings(max_examples=25, deadline=None)
@given(D=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_pathwise_is_exact_for_a_linear_f(D, seed):
    """f = cᵀz: every sample's ∇_μ is c (zero spread) and ∇_L is c εᵀ."""
    mu, L, _ = _problem(D, seed=seed % 89)
    c = torch.randn(D, generator=_gen(seed + 1), dtype=F64)
    est = pathwise_gradient(lambda z: z @ c, mu, L, samples=8, generator=_gen(seed))
    assert_close(est.mu.mean, c, rtol=1e-15, what="mean")
    assert float(est.mu.stderr.abs().max()) == 0.0
    assert check_mean("exact", est.mu, c).z == 0.0
    assert_close(est.L.values, c[None, :, None] * est.eps[:, None, :], rtol=1e-15, what="c εᵀ")
    assert_close(est.z, mu + est.eps @ L.T, rtol=1e-15, what="z = μ + Lε")


def test_the_draw_is_the_documented_one_and_reproducible():
    mu, L, A = _problem(3, seed=18)
    est = pathwise_gradient(_quadratic(A), mu, L, samples=10, generator=_gen(19))
    assert torch.equal(est.eps, torch.randn((10, 3), generator=_gen(19), dtype=F64))
    est_np = score_function_gradient(
        _quadratic(A), mu, L, samples=10, generator=np.random.default_rng(20)
    )
    ref = np.random.default_rng(20).standard_normal((10, 3))
    assert np.array_equal(est_np.eps.numpy(), ref)


# --------------------------------------------------------------------------------------------------
# The API as a reader uses it: numpy and torch, float32, wrong input
# --------------------------------------------------------------------------------------------------
def test_dtype_and_kind_follow_the_inputs():
    mu, L, A = _problem(2, seed=22)
    f = _quadratic(A)
    e32 = pathwise_gradient(
        _quadratic(A.float()), mu.float(), L.float(), samples=100, generator=_gen(0)
    )
    assert e32.mu.mean.dtype == torch.float32 and e32.L.values.dtype == torch.float32
    assert e32.z.dtype == torch.float32
    e64 = pathwise_gradient(f, mu, L, samples=100, generator=_gen(0))
    assert_close(e32.mu.mean, e64.mu.mean, rtol=1e-5, what="float32 vs float64")
    en = score_function_gradient(f, mu.numpy(), L.numpy(), samples=100, generator=_gen(0))
    assert isinstance(en.mu.mean, np.ndarray) and isinstance(en.L.values, np.ndarray)
    assert isinstance(en.z, np.ndarray)
    et = score_function_gradient(f, mu, L, samples=100, generator=_gen(0))
    assert_close(en.L.mean, et.L.mean, rtol=1e-14, what="numpy = torch")
    b = optimal_baseline(f, mu.numpy(), L.numpy(), samples=100, generator=_gen(0))
    assert isinstance(b.mu, np.ndarray) and b.mu.shape == ()
    only = pathwise_gradient(f, mu, L, samples=10, generator=_gen(0), wrt="mu")
    assert only.L is None and only.mu.mean.shape == (2,)
    only = score_function_gradient(f, mu, L, samples=10, generator=_gen(0), wrt="L")
    assert only.mu is None and only.L.mean.shape == (2, 2)


def test_bad_inputs_are_refused_with_a_fix():
    mu, L, A = _problem(2, seed=23)
    f = _quadratic(A)
    g = _gen(0)
    kw = {"samples": 10, "generator": g}
    with pytest.raises(ValueError, match=r"mu has shape \(2, 1\).*\(D,\)"):
        pathwise_gradient(f, mu[:, None], L, **kw)
    with pytest.raises(ValueError, match=r"L has shape \(2, 3\).*\(2, 2\)"):
        pathwise_gradient(f, mu, torch.zeros(2, 3, dtype=F64), **kw)
    with pytest.raises(ValueError, match="NaN"):
        pathwise_gradient(f, torch.tensor([0.0, math.nan], dtype=F64), L, **kw)
    with pytest.raises(TypeError, match=r"L\.to"):
        pathwise_gradient(f, mu, L.float(), **kw)
    with pytest.raises(TypeError, match="both as numpy"):
        pathwise_gradient(f, mu.numpy(), L, **kw)
    with pytest.raises(TypeError, match=r"integer|float32 or float64"):
        pathwise_gradient(f, mu.int(), L.int(), **kw)
    with pytest.raises(ValueError, match="singular"):
        score_function_gradient(f, mu, torch.ones(2, 2, dtype=F64), **kw)
    with pytest.raises(ValueError, match="N >= 2"):
        pathwise_gradient(f, mu, L, samples=1, generator=g)
    with pytest.raises(TypeError, match="integer"):
        pathwise_gradient(f, mu, L, samples=10.0, generator=g)
    with pytest.raises(TypeError, match=r"manual_seed\(0\)"):
        pathwise_gradient(f, mu, L, samples=10, generator=None)
    with pytest.raises(ValueError, match="wrt="):
        pathwise_gradient(f, mu, L, wrt="sigma", **kw)
    with pytest.raises(ValueError, match=r"return \(10,\), one value per row"):
        pathwise_gradient(lambda z: (z * z).sum(), mu, L, **kw)
    with pytest.raises(ValueError, match="NaN or Inf at sample"):
        score_function_gradient(lambda z: torch.log(z[:, 0] - 100), mu, L, **kw)
    with pytest.raises(ValueError, match="score_function_gradient"):
        pathwise_gradient(lambda z: (z[:, 0] > 0).to(z.dtype), mu, L, **kw)
    with pytest.raises(TypeError, match="f is int"):
        pathwise_gradient(3, mu, L, **kw)
    with pytest.raises(ValueError, match=r"baseline.mu has shape \(3,\)"):
        score_function_gradient(f, mu, L, baseline=(np.zeros(3), 0.0), **kw)
    with pytest.raises(ValueError, match=r"baseline\.L is None"):
        score_function_gradient(f, mu, L, baseline=Baseline(0.0, None), **kw)
    with pytest.raises(ValueError, match="3 parts"):
        score_function_gradient(f, mu, L, baseline=(0.0, 0.0, 0.0), **kw)
    with pytest.raises(ValueError, match=r"would need .* of memory"):
        pathwise_gradient(f, mu, L, samples=10**9, generator=g)
    with pytest.raises(TypeError, match="L is a numpy"):
        gaussian_log_density(mu, mu, L.numpy())
    with pytest.raises(ValueError, match=r"z has shape \(3,\)"):
        gaussian_score(torch.zeros(3, dtype=F64), mu, L)
