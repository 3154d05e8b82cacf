"""Exact curvature against estimates from gradient pairs, at an equal budget of gradients.

The chapter "Exact curvature" asks: with B gradient evaluations to spend on a Hessian, is it better
to spend them on Hessian-vector products and Lanczos (:mod:`hessnotes.curvature`), or on B - 1
secant pairs and an estimator of :mod:`hessnotes.secant`? :func:`equal_budget` runs both on the same
function at a list of budgets and compares the top eigenvalues with an exact reference
(``torch.func.hessian``, for D small enough); :func:`top_eigenvalue_error` is the measure.

Accounting, in gradient evaluations:

* one Hessian-vector product costs ``cost`` gradients (:func:`hessnotes.curvature.hvp_cost`
  counts about 3 in matrix-multiply FLOPs), so a budget B buys ``k = B // cost`` Lanczos steps;
* B gradients at ``x0`` and B - 1 points around it give ``n = B - 1`` secant pairs
  ``(x_i - x0, grad f(x_i) - grad f(x0))``.

Chapters: "Exact curvature".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import torch
from torch.func import grad, hessian, vmap

from hessnotes.curvature import eigenvalue_density, hvp, lanczos
from hessnotes.estimators import Estimator, bfgs_skipping, full_spectrum
from hessnotes.nets import sample_cloud
from hessnotes.secant import least_norm_hessian, min_rank_hessian

__all__ = [
    "BudgetComparison",
    "budget_estimators",
    "equal_budget",
    "format_error",
    "top_eigenvalue_error",
]


def top_eigenvalue_error(estimate: Any, exact: Any, k: int = 5) -> float:
    """``max_{i <= k} |lambda_i(estimate) - lambda_i(exact)| / max_i |lambda_i(exact)|``.

    Both spectra are sorted descending, so ``lambda_1`` is the largest (algebraic) eigenvalue;
    the error is relative to the spectral norm of the exact matrix.

    Args:
        estimate: eigenvalues of the estimate (at least k), numpy or torch, any order.
        exact: the exact eigenvalues (at least k, not all zero).
        k: how many of the largest eigenvalues to compare.

    Raises:
        ValueError: fewer than k eigenvalues on either side, k < 1, or an exact spectrum of 0.
    """
    e = np.sort(_np1(estimate))[::-1]
    x = np.sort(_np1(exact))[::-1]
    if k < 1 or e.size < k or x.size < k:
        raise ValueError(
            f"k={k} needs at least k eigenvalues on both sides; got {e.size} (estimate) and "
            f"{x.size} (exact)."
        )
    scale = float(np.abs(x).max())
    if scale == 0.0:
        raise ValueError("the exact spectrum is zero; a relative error is undefined.")
    return float(np.abs(e[:k] - x[:k]).max() / scale)


def _np1(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64).reshape(-1)


def format_error(err: float, *, floor: float = 1e-8) -> str:
    """Print an error robustly across machines: two significant digits, or ``"<1e-08"`` below
    ``floor`` (rounding-level values whose digits depend on the BLAS), ``"fails"`` for NaN."""
    if not math.isfinite(err):
        return "fails"
    if err < floor:
        return f"<{floor:.0e}"
    return f"{err:.2g}" if err >= 1e-3 else f"{err:.1e}"


def budget_estimators() -> dict[str, Estimator]:
    """The secant estimators of the comparison: min-norm, min-rank and BFGS(γ) (skipping pairs
    with ``s^T y <= 0``), as in :func:`hessnotes.estimators.standard_estimators`."""
    return {
        "min-norm": least_norm_hessian,
        "min-rank": min_rank_hessian,
        "BFGS(γ)": bfgs_skipping,
    }


@dataclass(frozen=True)
class BudgetComparison:
    """What :func:`equal_budget` computed.

    Attributes:
        exact: (D,) eigenvalues of the exact Hessian, descending.
        budgets: the budgets B, in gradient evaluations.
        cost: gradient evaluations charged per Hessian-vector product.
        steps: Lanczos steps per budget, ``B // cost``.
        pairs: secant pairs per budget, ``B - 1``.
        spectra: method -> one entry per budget: the Ritz values (Lanczos) or all D eigenvalues
            of the estimate, descending; ``None`` where an estimator broke down.
        weights: method -> one entry per budget: quadrature weights of the Ritz values (Lanczos)
            or ``None`` (an estimate's eigenvalues weigh 1/D each).
        errors: method -> (len(budgets),) top-k eigenvalue errors (NaN at a breakdown).
        k: the number of top eigenvalues compared.
    """

    exact: np.ndarray
    budgets: list[int]
    cost: int
    steps: list[int]
    pairs: list[int]
    spectra: dict[str, list[np.ndarray | None]]
    weights: dict[str, list[np.ndarray | None]]
    errors: dict[str, np.ndarray]
    k: int = 5
    methods: list[str] = field(default_factory=list)

    def density(self, method: str, i: int, *, grid: Any, width: float) -> np.ndarray | None:
        """The broadened spectral density of ``method`` at budget index ``i`` on ``grid``
        (``None`` at a breakdown); ``method="exact"`` gives the exact one."""
        if method == "exact":
            return eigenvalue_density(self.exact, grid=grid, width=width)
        ev = self.spectra[method][i]
        if ev is None:
            return None
        return eigenvalue_density(ev, grid=grid, width=width, weights=self.weights[method][i])

    def table(self) -> str:
        """A text table: one row per method, one column per budget, robustly rounded errors."""
        head = f"{'gradient evaluations':<22}" + "".join(f"{b:>9d}" for b in self.budgets)
        lines = [head]
        lines.append(
            f"{'  Lanczos steps':<22}" + "".join(f"{s:>9d}" for s in self.steps),
        )
        lines.append(f"{'  secant pairs':<22}" + "".join(f"{p:>9d}" for p in self.pairs))
        for name in self.methods:
            lines.append(
                f"{name:<22}" + "".join(f"{format_error(e):>9}" for e in self.errors[name])
            )
        return "\n".join(lines)


def equal_budget(
    f: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    budgets: Sequence[int],
    *,
    cost: int,
    spread: float,
    k: int = 5,
    seed: int = 0,
    exact: Any = None,
    estimators: Mapping[str, Estimator] | None = None,
    mode: str = "forward-over-reverse",
) -> BudgetComparison:
    """Top eigenvalues of the Hessian of f at x0 from Lanczos on exact HVPs and from secant pairs.

    For each budget B: Lanczos with ``B // cost`` steps on :func:`hessnotes.curvature.hvp` (one
    run of the largest length; a shorter run is its prefix, :meth:`LanczosResult.ritz`), and
    each estimator on the first ``B - 1`` of one set of secant pairs, taken from
    ``sample_cloud(x0, max(budgets) - 1, spread, seed=seed)`` against x0 (the pairs of
    :func:`hessnotes.secant.secant_pairs`, with the gradients computed in one vmapped batch).
    Errors are :func:`top_eigenvalue_error` against the exact spectrum.

    Args:
        f: scalar torch function of a (D,) tensor.
        x0: (D,) float64 point.
        budgets: increasing budgets B in gradient evaluations, each with ``B // cost >= k`` and
            ``B <= D + 1`` when estimators are used (at most D pairs make sense).
        cost: gradient evaluations per Hessian-vector product (e.g.
            ``math.ceil(hvp_cost(f, x0).hvp_in_gradients)``).
        spread: typical distance of the secant points from x0.
        k: number of top eigenvalues compared.
        seed: seed of Lanczos' start vector and of the points.
        exact: (D,) exact eigenvalues, or None to compute ``eigvalsh(torch.func.hessian(f)(x0))``.
        estimators: name -> estimator (default :func:`budget_estimators`).
        mode: how :func:`hessnotes.curvature.hvp` computes products (the same numbers either
            way, to rounding; reverse-over-reverse is faster in wall time with torch 2.13).

    Returns:
        BudgetComparison, with methods ``"Lanczos"`` and then the estimators' names.

    Raises:
        ValueError: budgets empty, not increasing, too small for k Lanczos steps, above D + 1,
            or cost < 1.
    """
    budgets = [int(b) for b in budgets]
    D = x0.shape[0]
    if cost < 1:
        raise ValueError(f"cost={cost} must be at least one gradient evaluation per HVP.")
    if not budgets or any(b2 <= b1 for b1, b2 in pairwise(budgets)):
        raise ValueError(f"budgets={budgets} must be a non-empty, increasing list.")
    if budgets[0] // cost < k:
        raise ValueError(
            f"budget {budgets[0]} buys {budgets[0] // cost} Lanczos steps at cost {cost}; "
            f"comparing the top k={k} eigenvalues needs at least {k * cost}."
        )
    if budgets[-1] > D + 1 or budgets[-1] // cost > D:
        raise ValueError(f"budget {budgets[-1]} exceeds D + 1 = {D + 1} gradient evaluations.")
    ests = dict(budget_estimators() if estimators is None else estimators)
    if exact is None:
        exact = torch.linalg.eigvalsh(hessian(f)(x0))
    ex = np.sort(_np1(exact))[::-1]
    H = hvp(f, x0, mode=mode)
    spectra: dict[str, list[np.ndarray | None]] = {"Lanczos": []}
    weights: dict[str, list[np.ndarray | None]] = {"Lanczos": []}
    run = lanczos(H, budgets[-1] // cost, seed=seed)  # shorter runs are its prefixes
    for b in budgets:
        vals, w = run.ritz(b // cost)
        spectra["Lanczos"].append(vals)
        weights["Lanczos"].append(w)
    points = torch.cat([x0[:, None], sample_cloud(x0, budgets[-1] - 1, spread, seed=seed)], 1)
    grads = vmap(grad(f), in_dims=1, out_dims=1, chunk_size=64)(points)  # B gradients, batched
    X, Y = points[:, 1:] - points[:, :1], grads[:, 1:] - grads[:, :1]
    for name, est in ests.items():
        spectra[name], weights[name] = [], []
        for b in budgets:
            try:
                spectra[name].append(full_spectrum(est(X[:, : b - 1], Y[:, : b - 1])))
            except ValueError:
                spectra[name].append(None)
            weights[name].append(None)
    errors = {
        name: np.array([np.nan if s is None else top_eigenvalue_error(s, ex, k) for s in sp])
        for name, sp in spectra.items()
    }
    return BudgetComparison(
        exact=ex,
        budgets=budgets,
        cost=int(cost),
        steps=[b // cost for b in budgets],
        pairs=[b - 1 for b in budgets],
        spectra=spectra,
        weights=weights,
        errors=errors,
        k=k,
        methods=["Lanczos", *ests],
    )
