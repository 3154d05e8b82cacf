"""Gradients of expectations, ``∇_θ E_{z∼p_θ}[f(z)]``, by Monte Carlo, with standard errors.

The distribution is a Gaussian ``z ∼ N(μ, Σ)`` with ``Σ = L Lᵀ``, written as a transformation of
standard normal noise, ``z = μ + L ε`` with ``ε ∼ N(0, I_D)``. The parameters are ``θ = (μ, L)``:
``μ`` of shape ``(D,)`` and ``L`` of shape ``(D, D)``, any invertible matrix (a Cholesky factor is
the usual choice; then the gradient on the lower triangle is ``tril`` of the one returned here).
With ``F(μ, L) = E f(μ + L ε)`` two unbiased estimators of ``∇F`` average ``N`` per-sample values:

* **pathwise** (reparameterisation): differentiate through the sample,
  ``∇_μ F = E[∇f(z)]`` and ``∇_L F = E[∇f(z) εᵀ]`` (:func:`pathwise_gradient`); needs ``∇f``.
* **score function** (REINFORCE, likelihood ratio): differentiate the density,
  ``∇_θ F = E[(f(z) − b) ∇_θ log p_θ(z)]`` for any constant baseline ``b``, because
  ``E[∇_θ log p_θ] = 0`` (:func:`score_function_gradient`); needs only values of ``f``. The
  Gaussian score is ``∇_μ log p = Σ⁻¹(z − μ) = L⁻ᵀ w`` and ``∇_L log p = L⁻ᵀ(w wᵀ − I)`` with
  ``w = L⁻¹(z − μ)`` (:func:`gaussian_score`); at a sample, ``w = ε``.

The baseline that minimises the total variance (the trace of the covariance) of one block of the
score-function estimator over constants is ``b* = E[f ‖s‖²] / E[‖s‖²]`` with ``s`` the score of
that block, or ``b*_i = E[f s_i²] / E[s_i²]`` per coordinate (:func:`optimal_baseline`). Estimate
it from separate samples: a baseline computed from the same samples biases the estimate.

**Samples.** Every estimator draws ``ε`` explicitly, as ``(N, D)`` standard normals, from the
given ``generator``: ``torch.randn((N, D), generator=generator, dtype=float64, device=generator
.device)`` for a ``torch.Generator``, ``generator.standard_normal((N, D))`` for a numpy
``Generator``; then cast to the inputs' dtype and device. There is no global random state.

**Results.** An :class:`Estimate` holds the ``N`` per-sample values, their mean and its standard
error ``s / √N`` (``s`` the sample standard deviation of each entry), and the total variance of one
sample with its own standard error. :func:`check_mean` and :func:`check_variance` compare an
estimate with a closed form in units of standard errors and print a one-line verdict; they are
checkers, so they live with the others in :mod:`hessnotes.checks.statistical` (with
:class:`Estimate` and :class:`StatCheck`) and are re-exported here.

**dtype and device follow the inputs** ``μ`` and ``L`` (float32 or float64, numpy or torch; numpy
in, numpy out). ``f`` is always called with a torch tensor ``z`` of shape ``(N, D)`` and must
return the ``N`` values ``f(z_k)``, row by row (the pathwise estimator's per-sample gradients come
from one backward pass of ``Σ_k f(z_k)``, which is right only if row ``k`` of the output depends
on row ``k`` of ``z`` alone).

**Refused**, with messages naming the argument and the fix: ``μ`` not of shape ``(D,)`` or ``L``
not ``(D, D)``; NaN or Inf in either; mixed kinds or dtypes (the library's dtype policy); a
singular ``L`` (score function); fewer than 2 samples; a missing or wrong ``generator``; an ``f``
that returns the wrong shape, NaN or Inf, or (pathwise) no autograd graph (a piecewise constant
``f`` has no useful derivative: use the score function); a result above ``MAX_DENSE_BYTES``.

See the chapter "Derivatives of random functions".

Chapters: "Derivatives of random functions".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from hessnotes._linalg import as_tensor, check_finite, check_memory, eps_of
from hessnotes.checks.statistical import Estimate, StatCheck, check_mean, check_variance

__all__ = [
    "Baseline",
    "Estimate",
    "GaussianGradient",
    "StatCheck",
    "check_mean",
    "check_variance",
    "gaussian_log_density",
    "gaussian_score",
    "optimal_baseline",
    "pathwise_gradient",
    "score_function_gradient",
]

_WRT = ("mu", "L", "both")


def _out(t: torch.Tensor, numpy: bool) -> Any:
    return t.detach().cpu().numpy() if numpy else t.detach()


# --------------------------------------------------------------------------------------------------
# The Gaussian: inputs, draws, density and score
# --------------------------------------------------------------------------------------------------
def _params(mu: Any, L: Any) -> tuple[torch.Tensor, torch.Tensor, bool]:
    m, km = as_tensor(mu, "mu")
    l, kl = as_tensor(L, "L")
    if km.numpy != kl.numpy:
        raise TypeError(
            f"mu is {km.describe()} but L is {kl.describe()}; pass both as numpy arrays or both "
            "as torch tensors"
        )
    if km.dtype != kl.dtype:
        raise TypeError(
            f"mu has dtype {km.dtype_name} but L has dtype {kl.dtype_name}; cast one to match, "
            f"e.g. {kl.cast_hint('L', km.dtype)}"
        )
    if km.device != kl.device:
        raise ValueError(f"mu is on {km.device} but L is on {kl.device}; move both to one device")
    if m.ndim != 1 or m.shape[0] == 0:
        raise ValueError(
            f"mu has shape {tuple(m.shape)}; it must be a vector of shape (D,) with D >= 1 (for a "
            "scalar Gaussian use mu of shape (1,) and L of shape (1, 1))"
        )
    D = m.shape[0]
    if tuple(l.shape) != (D, D):
        raise ValueError(
            f"L has shape {tuple(l.shape)} but mu has shape ({D},); L must be ({D}, {D}), a "
            f"factor of the covariance Σ = L Lᵀ (for z = μ + σ ε use L = σ I)"
        )
    m, l = m.detach(), l.detach()
    check_finite(m, "mu")
    check_finite(l, "L")
    return m, l, km.numpy


def _inverse(L: torch.Tensor) -> torch.Tensor:
    """``L⁻¹``, refusing a singular or numerically singular ``L``."""
    s = torch.linalg.svdvals(L)
    eps = eps_of(L.dtype)
    if float(s[-1]) <= L.shape[0] * eps * float(s[0]):
        raise ValueError(
            f"L is singular (smallest singular value {float(s[-1]):.3g}, largest "
            f"{float(s[0]):.3g}); the Gaussian N(μ, LLᵀ) has no density and no score. Give an "
            "invertible L (a Cholesky factor with a positive diagonal)"
        )
    return torch.linalg.inv(L)


def _samples(samples: Any) -> int:
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer):
        raise TypeError(f"samples must be an integer N >= 2; got {type(samples).__name__}")
    if samples < 2:
        raise ValueError(
            f"samples={samples}; give N >= 2 (a standard error needs two samples; thousands for a "
            "useful one)"
        )
    return int(samples)


def _draw(generator: Any, n: int, D: int, like: torch.Tensor) -> torch.Tensor:
    """``ε``, ``(n, D)`` standard normals from ``generator`` (see the module docstring)."""
    if isinstance(generator, torch.Generator):
        e = torch.randn((n, D), generator=generator, dtype=torch.float64, device=generator.device)
    elif isinstance(generator, np.random.Generator):
        e = torch.from_numpy(generator.standard_normal((n, D)))
    else:
        raise TypeError(
            f"generator is {type(generator).__name__}; give the random generator explicitly, "
            "e.g. generator=torch.Generator().manual_seed(0) or np.random.default_rng(0)"
        )
    return e.to(dtype=like.dtype, device=like.device)


def _wrt(wrt: str) -> tuple[bool, bool]:
    if wrt not in _WRT:
        raise ValueError(f"wrt={wrt!r}; use 'mu', 'L' or 'both'")
    return wrt != "L", wrt != "mu"


def _memory(n: int, D: int, dtype: torch.dtype, with_L: bool, what: str) -> None:
    per = D * D if with_L else D
    check_memory(
        float(n) * (per + 3 * D) * torch.finfo(dtype).bits / 8,
        f"{what}(samples={n}) with D = {D}: the per-sample gradients, (N, D, D)",
        "use fewer samples, or wrt='mu'",
    )


def gaussian_log_density(z: Any, mu: Any, L: Any) -> Any:
    """``log N(z; μ, L Lᵀ) = −½‖w‖² − log|det L| − (D/2) log 2π`` with ``w = L⁻¹(z − μ)``.

    Differentiable in all three arguments (torch tensors keep their graph), so it serves as the
    ``f`` of :func:`hessnotes.check_gradient` for the score.

    Args:
        z: ``(D,)`` or ``(N, D)`` points.
        mu: ``(D,)`` mean.
        L: ``(D, D)`` invertible factor of the covariance (not checked here, so that autograd
            can run through it; a singular ``L`` gives ``inf`` or torch's solver error).

    Returns:
        A scalar for one point, ``(N,)`` values for ``N`` points; numpy or torch like ``mu``.

    Raises:
        ValueError: on shapes that do not fit, NaN or Inf.
        TypeError: on mixed kinds or dtypes.
    """
    zt, kz = as_tensor(z, "z")
    m, km = as_tensor(mu, "mu")
    l, kl = as_tensor(L, "L")
    _params(m.detach(), l.detach())  # shape, dtype and finiteness checks only
    for t, k, name in ((zt, kz, "z"), (l, kl, "L")):
        if t.dtype != m.dtype or k.numpy != km.numpy:
            raise TypeError(f"{name} is {k.describe()} but mu is {km.describe()}; pass them alike")
    D = m.shape[0]
    if zt.shape[-1:] != (D,) or zt.ndim > 2:
        raise ValueError(f"z has shape {tuple(zt.shape)}; give ({D},) or (N, {D}) points")
    r = (zt - m).reshape(-1, D)
    w = torch.linalg.solve(l, r.T).T
    logdet = torch.linalg.slogdet(l)[1]
    out = -0.5 * (w * w).sum(-1) - logdet - 0.5 * D * math.log(2 * math.pi)
    out = out.reshape(zt.shape[:-1])
    return out.detach().cpu().numpy() if km.numpy else out


def gaussian_score(z: Any, mu: Any, L: Any) -> tuple[Any, Any]:
    """The score of ``N(μ, L Lᵀ)``: ``(∇_μ log p(z), ∇_L log p(z))``.

    With ``w = L⁻¹(z − μ)``::

        ∇_μ log p = Σ⁻¹ (z − μ) = L⁻ᵀ w,        ∇_L log p = L⁻ᵀ (w wᵀ − I).

    The second is the gradient with respect to all ``D²`` entries of ``L``; for a Cholesky
    factor parameterised by its lower triangle, take ``tril`` of it.

    Args:
        z: ``(D,)`` or ``(N, D)`` points.
        mu: ``(D,)`` mean.
        L: ``(D, D)`` invertible.

    Returns:
        ``(s_mu, s_L)`` of shapes ``(D,)`` and ``(D, D)``, or ``(N, D)`` and ``(N, D, D)``; numpy
        or torch like ``mu``.

    Raises:
        ValueError: on shapes that do not fit, NaN or Inf, or a singular ``L``.
        TypeError: on mixed kinds or dtypes.
    """
    m, l, numpy = _params(mu, L)
    zt, kz = as_tensor(z, "z")
    if zt.dtype != m.dtype or kz.numpy != numpy:
        raise TypeError(f"z is {kz.describe()}; pass it like mu")
    D = m.shape[0]
    if zt.shape[-1:] != (D,) or zt.ndim > 2:
        raise ValueError(f"z has shape {tuple(zt.shape)}; give ({D},) or (N, {D}) points")
    zt = zt.detach()
    check_finite(zt, "z")
    Li = _inverse(l)
    w = (zt - m).reshape(-1, D) @ Li.T
    s_mu, s_L = _score(w, Li)
    if zt.ndim == 1:
        s_mu, s_L = s_mu[0], s_L[0]
    return _out(s_mu, numpy), _out(s_L, numpy)


def _score(w: torch.Tensor, Li: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``L⁻ᵀ w`` and ``L⁻ᵀ(w wᵀ − I) = (L⁻ᵀ w) wᵀ − L⁻ᵀ``, one row per sample."""
    s_mu = w @ Li  # row k: (L⁻ᵀ w_k)ᵀ
    s_L = s_mu[:, :, None] * w[:, None, :] - Li.T
    return s_mu, s_L


# --------------------------------------------------------------------------------------------------
# The estimators
# --------------------------------------------------------------------------------------------------
class Baseline(NamedTuple):
    """A baseline per block: scalars, or arrays of the block's shape (per coordinate)."""

    mu: Any
    L: Any


@dataclass(frozen=True)
class GaussianGradient:
    """Monte Carlo estimates of ``F(μ, L) = E f(μ + L ε)`` and of its gradient.

    Attributes:
        value: :class:`Estimate` of ``F`` (the values ``f(z_k)``).
        mu: :class:`Estimate` of ``∇_μ F``, shape ``(D,)`` (``None`` when not asked for).
        L: :class:`Estimate` of ``∇_L F``, shape ``(D, D)`` (``None`` when not asked for).
        z: ``(N, D)`` samples ``z_k = μ + L ε_k``.
        eps: ``(N, D)`` the standard normal draws ``ε_k``.
    """

    value: Estimate
    mu: Estimate | None
    L: Estimate | None
    z: Any
    eps: Any


def _f_values(f: Callable, z: torch.Tensor, what: str) -> torch.Tensor:
    if not callable(f):
        raise TypeError(f"f is {type(f).__name__}; give a function of the (N, D) samples z")
    y = f(z)
    if isinstance(y, np.ndarray):
        y = torch.from_numpy(y)
    if not isinstance(y, torch.Tensor):
        raise TypeError(
            f"f returned {type(y).__name__}; it must return a tensor of the N values f(z_k)"
        )
    n = z.shape[0]
    if tuple(y.shape) != (n,):
        raise ValueError(
            f"f returned shape {tuple(y.shape)} for samples z of shape {tuple(z.shape)}; it must "
            f"return ({n},), one value per row of z (e.g. (z * z).sum(-1), not (z * z).sum())"
        )
    if not torch.isfinite(y.detach()).all():
        k = int(torch.nonzero(~torch.isfinite(y.detach()))[0])
        raise ValueError(f"f returned NaN or Inf at sample {k} ({what}); f must be finite")
    return y


def _setup(mu, L, samples, generator, wrt, what):
    m, l, numpy = _params(mu, L)
    n = _samples(samples)
    use_mu, use_L = _wrt(wrt)
    D = m.shape[0]
    _memory(n, D, m.dtype, use_L, what)
    eps = _draw(generator, n, D, m)
    return m, l, numpy, n, use_mu, use_L, eps


def pathwise_gradient(
    f: Callable[[torch.Tensor], torch.Tensor],
    mu: Any,
    L: Any,
    *,
    samples: int,
    generator: Any,
    wrt: str = "both",
) -> GaussianGradient:
    """The pathwise (reparameterisation) estimate of ``∇ E f(z)``, ``z = μ + L ε ∼ N(μ, LLᵀ)``.

    Per sample ``k``, with ``g_k = ∇f(z_k)`` from autograd::

        ∇_μ:  g_k            ∇_L:  g_k ε_kᵀ

    Both are unbiased when ``f`` is differentiable (and ``∇f`` integrable), because
    ``∇_θ E f(μ + L ε) = E ∇_θ f(μ + L ε)``. For an ``f`` with jumps (an indicator) they are
    biased: the derivative is zero almost everywhere, but the expectation moves.

    Args:
        f: torch function mapping the ``(N, D)`` samples to their ``N`` values, row by row.
        mu: ``(D,)`` mean.
        L: ``(D, D)`` factor of the covariance (``z = μ + σ ε`` is ``L = σ I``).
        samples: the number ``N`` of samples, at least 2.
        generator: a ``torch.Generator`` or numpy ``Generator`` (see the module docstring).
        wrt: ``"mu"``, ``"L"`` or ``"both"``: which gradients to estimate.

    Returns:
        :class:`GaussianGradient` (numpy or torch, dtype and device like ``mu``).

    Raises:
        ValueError: on bad shapes, NaN or Inf, ``samples < 2``, an ``f`` with the wrong output
            shape, non-finite values or no autograd graph, or per-sample values above
            ``MAX_DENSE_BYTES``.
        TypeError: on mixed kinds or dtypes, a missing or wrong generator, a non-callable ``f``.
    """
    m, l, numpy, _, use_mu, use_L, eps = _setup(mu, L, samples, generator, wrt, "pathwise_gradient")
    z = (m + eps @ l.T).requires_grad_(True)
    with torch.enable_grad():
        y = _f_values(f, z, "pathwise_gradient")
        if not y.requires_grad:
            raise ValueError(
                "f(z) does not depend differentiably on z (its result has no autograd graph, as "
                "for a comparison like z[:, 0] > 0): the pathwise estimator needs ∇f. For an f "
                "without a useful derivative use score_function_gradient"
            )
        (g,) = torch.autograd.grad(y.sum(), z, allow_unused=True)
    if g is None:
        g = torch.zeros_like(z)
    g = g.detach()
    check_finite(g, "the gradient of f at the samples")
    return GaussianGradient(
        value=Estimate.of(_out(y.detach(), numpy)),
        mu=Estimate.of(_out(g, numpy)) if use_mu else None,
        L=Estimate.of(_out(g[:, :, None] * eps[:, None, :], numpy)) if use_L else None,
        z=_out(z.detach(), numpy),
        eps=_out(eps, numpy),
    )


def _baseline(b: Any, shape: tuple[int, ...], like: torch.Tensor, name: str) -> torch.Tensor:
    t = b if isinstance(b, torch.Tensor) else torch.as_tensor(np.asarray(b, dtype=np.float64))
    t = t.detach().to(dtype=like.dtype, device=like.device)
    if t.ndim and tuple(t.shape) != shape:
        raise ValueError(
            f"{name} has shape {tuple(t.shape)}; a baseline is a number or, per coordinate, an "
            f"array of shape {shape}"
        )
    check_finite(t, name)
    return t


def _baselines(
    baseline: Any, D: int, like: torch.Tensor, use: tuple[bool, bool]
) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(baseline, tuple):
        if len(baseline) != 2:
            raise ValueError(
                f"baseline has {len(baseline)} parts; give a number or (b_mu, b_L), e.g. the "
                "result of optimal_baseline"
            )
        parts, names = baseline, ("baseline.mu", "baseline.L")
    else:
        parts, names = (baseline, baseline), ("baseline", "baseline")
    out = []
    for b, name, shape, used in zip(parts, names, ((D,), (D, D)), use, strict=True):
        if b is None and used:
            raise ValueError(
                f"{name} is None (not estimated, e.g. optimal_baseline(wrt=...) for the other "
                "block only); estimate the baseline of every block you ask for"
            )
        out.append(_baseline(0.0 if b is None else b, shape, like, name))
    return out[0], out[1]


def score_function_gradient(
    f: Callable[[torch.Tensor], Any],
    mu: Any,
    L: Any,
    *,
    samples: int,
    generator: Any,
    baseline: Any = 0.0,
    wrt: str = "both",
) -> GaussianGradient:
    """The score-function (REINFORCE) estimate of ``∇ E f(z)``, ``z = μ + L ε ∼ N(μ, LLᵀ)``.

    Per sample ``k``, with the score ``(s_μ, s_L)`` of :func:`gaussian_score` at ``z_k``
    (``w = ε_k``)::

        ∇_μ:  (f(z_k) − b_μ) L⁻ᵀ ε_k          ∇_L:  (f(z_k) − b_L) L⁻ᵀ(ε_k ε_kᵀ − I)

    Unbiased for any ``f`` with ``E f²`` finite and any baseline ``b`` that does not depend on
    the samples, since ``E[s] = 0``; ``f`` need not be differentiable or even continuous.

    Args:
        f: function mapping the ``(N, D)`` samples (a torch tensor) to their ``N`` values; called
            without gradient tracking.
        mu, L, samples, generator, wrt: as in :func:`pathwise_gradient`.
        baseline: a number (both blocks), or ``(b_mu, b_L)`` with each a number or an array of the
            block's shape ``(D,)`` / ``(D, D)`` (per coordinate), e.g. :func:`optimal_baseline`.

    Returns:
        :class:`GaussianGradient`; ``value`` estimates ``F`` from the same samples.

    Raises:
        ValueError: as :func:`pathwise_gradient` (except that ``f`` needs no graph), a singular
            ``L``, or a baseline of the wrong shape or not finite.
        TypeError: as :func:`pathwise_gradient`.
    """
    m, l, numpy, _, use_mu, use_L, eps = _setup(
        mu, L, samples, generator, wrt, "score_function_gradient"
    )
    Li = _inverse(l)
    b_mu, b_L = _baselines(baseline, m.shape[0], m, (use_mu, use_L))
    z = m + eps @ l.T
    with torch.no_grad():
        y = _f_values(f, z, "score_function_gradient").detach().to(dtype=m.dtype, device=m.device)
        s_mu, s_L = _score(eps, Li) if use_L else (eps @ Li, None)
        g_mu = (y[:, None] - b_mu) * s_mu if use_mu else None
        g_L = (y[:, None, None] - b_L) * s_L if use_L else None
    return GaussianGradient(
        value=Estimate.of(_out(y, numpy)),
        mu=Estimate.of(_out(g_mu, numpy)) if use_mu else None,
        L=Estimate.of(_out(g_L, numpy)) if use_L else None,
        z=_out(z, numpy),
        eps=_out(eps, numpy),
    )


def optimal_baseline(
    f: Callable[[torch.Tensor], Any],
    mu: Any,
    L: Any,
    *,
    samples: int,
    generator: Any,
    per_coordinate: bool = False,
    wrt: str = "both",
) -> Baseline:
    """Estimate the variance-minimising constant baselines of the score-function estimator.

    For one block with score ``s`` (``s_μ`` or ``s_L``), the total variance of ``(f − b) s`` is
    ``E[f² ‖s‖²] − 2b E[f ‖s‖²] + b² E[‖s‖²] − ‖∇F‖²``, a parabola in ``b`` with its minimum at::

        b* = E[f ‖s‖²] / E[‖s‖²]          (per coordinate: b*_i = E[f s_i²] / E[s_i²])

    where it is lower by ``E[f ‖s‖²]² / E[‖s‖²]``. Each ratio is estimated from ``N`` samples
    drawn here; use a generator state not used for the gradient estimate itself, so that the
    baseline is independent of it and the estimate stays unbiased.

    Args:
        f, mu, L, samples, generator: as in :func:`score_function_gradient`.
        per_coordinate: one baseline per entry of each block instead of one per block.
        wrt: ``"mu"``, ``"L"`` or ``"both"``: the blocks to estimate (the other is ``None``).

    Returns:
        :class:`Baseline` ``(mu, L)``: two numbers (0-d arrays or tensors), or arrays of shapes
        ``(D,)`` and ``(D, D)``; numpy or torch like ``mu``.

    Raises:
        ValueError, TypeError: as :func:`score_function_gradient`.
    """
    m, l, numpy, _, use_mu, use_L, eps = _setup(mu, L, samples, generator, wrt, "optimal_baseline")
    Li = _inverse(l)
    z = m + eps @ l.T
    with torch.no_grad():
        y = _f_values(f, z, "optimal_baseline").detach().to(dtype=m.dtype, device=m.device)
        s_mu, s_L = _score(eps, Li) if use_L else (eps @ Li, None)
        out = []
        for s, used in ((s_mu, use_mu), (s_L, use_L)):
            if not used:
                out.append(None)
                continue
            q = s * s  # (N, *block)
            yq = y.reshape(-1, *([1] * (q.ndim - 1))) * q
            b = yq.sum(0) / q.sum(0) if per_coordinate else yq.sum() / q.sum()  # b* per block
            out.append(_out(b, numpy))
    return Baseline(out[0], out[1])
