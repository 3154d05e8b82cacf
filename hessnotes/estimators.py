"""Comparing Hessian estimators on the same pairs, for the chapter "Noisy pairs and a real network".

* :func:`standard_estimators`: the four estimators the chapters compare (min-norm, min-rank,
  PSB(gamma), BFGS(gamma)), by display name; :func:`bfgs_skipping` is BFGS on the pairs of
  positive curvature;
* :func:`fit_estimators` and :func:`estimator_errors`: each estimator on the first n pairs, and its
  relative Frobenius error against the true Hessian;
* :func:`full_spectrum`: all D eigenvalues of a LowRankSymmetric, without a D x D array.

Arrays are (D, n) with the pairs in columns, as in :mod:`hessnotes.secant`.

Chapters: "Noisy pairs and a real network", "Limited-memory updates".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from hessnotes._linalg import as_numpy64
from hessnotes.lowrank import LowRankSymmetric
from hessnotes.secant import (
    bfgs_hessian,
    least_change_hessian,
    least_norm_hessian,
    min_rank_hessian,
    scaling_gamma,
)

__all__ = [
    "Estimator",
    "bfgs_skipping",
    "estimator_errors",
    "fit_estimators",
    "full_spectrum",
    "standard_estimators",
]

#: An estimator: ``f(X, Y) -> LowRankSymmetric`` for (D, n) pairs.
Estimator = Callable[[Any, Any], LowRankSymmetric]


def bfgs_skipping(X: Any, Y: Any, *, tol: float = 1e-8) -> LowRankSymmetric:
    """Compact BFGS from ``gamma I`` on the pairs with positive curvature only.

    Pairs with ``s_i^T y_i <= tol ||s_i|| ||y_i||`` are skipped (the usual safeguard: BFGS needs
    positive curvature to stay positive definite); ``gamma = scaling_gamma`` of the kept pairs.

    Args:
        X, Y: (D, n) steps and gradient differences (numpy or torch).
        tol: curvature threshold, as in :func:`hessnotes.secant.bfgs_hessian`.

    Returns:
        LowRankSymmetric, positive definite.

    Raises:
        ValueError: if no pair has positive curvature (BFGS is undefined), or bad input as
            :func:`hessnotes.secant.bfgs_hessian`.
    """
    sy = (X * Y).sum(0)
    keep = sy > tol * ((X * X).sum(0) * (Y * Y).sum(0)) ** 0.5
    if not bool(keep.any()):
        raise ValueError(
            f"bfgs_skipping: none of the {X.shape[1]} pairs has positive curvature s^T y > 0; "
            "BFGS is undefined here. Use least_change_hessian (PSB) or least_norm_hessian."
        )
    Xk, Yk = X[:, keep], Y[:, keep]
    return bfgs_hessian(Xk, Yk, scaling_gamma(Xk, Yk), tol=tol)


def _psb(X: Any, Y: Any) -> LowRankSymmetric:
    return least_change_hessian(X, Y, scaling_gamma(X, Y))


def standard_estimators() -> dict[str, Estimator]:
    """The four estimators the chapters compare, by display name.

    * ``"min-norm"``: :func:`~hessnotes.secant.least_norm_hessian`;
    * ``"min-rank"``: :func:`~hessnotes.secant.min_rank_hessian`, ``Y sym(X^T Y)^{-1} Y^T``
      (sequential SR1 updates from 0 give the same only when ``X^T Y`` is symmetric);
    * ``"PSB(γ)"``: :func:`~hessnotes.secant.least_change_hessian` from ``gamma I``;
    * ``"BFGS(γ)"``: :func:`bfgs_skipping` (compact BFGS from ``gamma I``);

    with ``gamma = scaling_gamma(X, Y)`` (``y^T s / s^T s`` of the last pair used).
    """
    return {
        "min-norm": least_norm_hessian,
        "min-rank": min_rank_hessian,
        "PSB(γ)": _psb,
        "BFGS(γ)": bfgs_skipping,
    }


def fit_estimators(
    X: Any, Y: Any, estimators: dict[str, Estimator], ns: Sequence[int]
) -> dict[str, list[LowRankSymmetric | None]]:
    """Each estimator on the first n pairs, for every n in ``ns``.

    Returns:
        name -> list (one entry per n) of the estimate, or ``None`` where the estimator raised
        ``ValueError`` (a breakdown such as SR1's singular ``X^T Y`` or BFGS without positive
        curvature).

    Raises:
        ValueError: if some n is not in ``1..X.shape[1]``.
    """
    N = X.shape[1]
    bad = [n for n in ns if not 1 <= n <= N]
    if bad:
        raise ValueError(f"ns holds {bad}, outside 1..{N} (the number of columns of X).")
    out: dict[str, list[LowRankSymmetric | None]] = {}
    for name, est in estimators.items():
        fits: list[LowRankSymmetric | None] = []
        for n in ns:
            try:
                fits.append(est(X[:, :n], Y[:, :n]))
            except ValueError:
                fits.append(None)
        out[name] = fits
    return out


def estimator_errors(
    H_true: Any, X: Any, Y: Any, estimators: dict[str, Estimator], ns: Sequence[int]
) -> dict[str, np.ndarray]:
    """Relative Frobenius errors ``||H_est - H_true||_F / ||H_true||_F`` against n (small D).

    Args:
        H_true: (D, D) the true Hessian (numpy or torch).
        X, Y: (D, N) pairs; the estimate for n uses the first n columns.
        estimators: name -> ``f(X, Y) -> LowRankSymmetric`` (see :func:`standard_estimators`).
        ns: numbers of pairs, each in ``1..N``.

    Returns:
        name -> (len(ns),) float64 array; NaN marks a breakdown (see :func:`fit_estimators`).

    Raises:
        ValueError: H_true not (D, D), or ns out of range.
    """
    Ht = as_numpy64(H_true, "H_true")
    D = X.shape[0]
    if Ht.shape != (D, D):
        raise ValueError(f"H_true has shape {Ht.shape}; expected ({D}, {D}) to match X.")
    ref = np.linalg.norm(Ht)
    fits = fit_estimators(X, Y, estimators, ns)
    return {
        name: np.array(
            [
                np.nan if H is None else np.linalg.norm(as_numpy64(H.dense(), "H") - Ht) / ref
                for H in hs
            ]
        )
        for name, hs in fits.items()
    }


def full_spectrum(H: LowRankSymmetric) -> np.ndarray:
    """All D eigenvalues of ``H = sigma I + Q diag(lam) Q^T``, descending, without a D x D array.

    They are ``sigma + lam_i`` and ``sigma`` repeated ``D - r`` times. Returns a float64 numpy
    array of shape (D,).
    """
    lam = np.asarray(
        H.eigvals().detach().cpu() if isinstance(H.eigvals(), torch.Tensor) else H.eigvals(),
        dtype=np.float64,
    )
    D = H.shape[0]
    ev = np.concatenate([H.sigma + lam, np.full(D - lam.size, H.sigma)])
    return np.sort(ev)[::-1]
