"""Hessians from noisy gradient pairs: how noise is amplified, and Tikhonov regularisation.

For fixed X (D x n) of full column rank, the least-norm symmetric fit ``Y -> H*(Y)`` of
:func:`hessnotes.secant.least_norm_hessian` is linear, with operator norm (Frobenius to Frobenius)

    ||H*|| = sqrt(2) / sigma_min(X)   when n < D   (1 / sigma_min(X) when n = D),

so noise ``dY`` in the gradients moves the estimate by up to ``sqrt(2) ||dY||_F / sigma_min(X)``:
:func:`noise_amplification`. Steps that are nearly linearly dependent make that factor huge.

The remedy here is Tikhonov regularisation on the space of symmetric matrices,

    H_lam = argmin_{H = H^T} ||H X - Y||_F^2 + lam^2 ||H||_F^2,

which has the closed form of the symmetric Procrustes solution with every denominator
``sigma_i^2 + sigma_j^2`` replaced by ``sigma_i^2 + sigma_j^2 + 2 lam^2``
(:func:`tikhonov_hessian`); its amplification is at most ``1 / (2 lam)`` whatever X. The damping
``lam`` is tied to a stated noise level ``delta = ||dY||_F`` by Morozov's discrepancy principle
(:func:`discrepancy_damping`): the smallest-norm symmetric H whose residual ``||H X - Y||_F`` is
``delta``, i.e. the least-norm estimate that fits the data *to within the noise* and no further.
``least_norm_hessian(X, Y, noise=delta)`` is that estimate.

Chapters: "Noisy pairs and a real network".
"""

from __future__ import annotations

import math
from typing import Any

import torch

from hessnotes._linalg import Kind, check_pair, eps_of, range_basis
from hessnotes.lowrank import LowRankSymmetric

__all__ = ["discrepancy_damping", "noise_amplification", "tikhonov_hessian"]


def _singular_values(X: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(X.detach().to(device="cpu", dtype=torch.float64))


def noise_amplification(X: Any) -> float:
    """The operator norm of ``Y -> least_norm_hessian(X, Y)``: ``sqrt(2) / sigma_min(X)``.

    For X of full column rank n and D > n; for D = n it is ``1 / sigma_min(X)`` (there is no
    direction outside the range of X to carry the factor 2). Then
    ``||H*(Y + dY) - H*(Y)||_F <= noise_amplification(X) * ||dY||_F`` for every dY, with
    equality for ``dY = u v_n^T``, u a unit vector orthogonal to the range of X and v_n the right
    singular vector of the smallest singular value.

    Args:
        X: (D, n) steps, numpy or torch, float32 or float64.

    Returns:
        The factor, as a float: ``inf`` if X is rank deficient, i.e. if
        ``sigma_min <= 4 n eps sigma_max`` (the rank cut-off of ``least_norm_hessian``), so that a
        rank deficiency that rounding leaves as a tiny singular value counts as one.

    Raises:
        TypeError, ValueError: as :func:`hessnotes.secant.least_norm_hessian` for X.
    """
    Xt, _, _ = check_pair(X, X, ("X", "X"))
    s = _singular_values(Xt)
    n = Xt.shape[1]
    smin = float(s[-1]) if s.numel() == n else 0.0
    if smin <= 4 * n * eps_of(Xt.dtype) * float(s[0]):
        return math.inf
    return (math.sqrt(2.0) if Xt.shape[0] > Xt.shape[1] else 1.0) / smin


def _tikhonov_core(Xh: torch.Tensor, Yh: torch.Tensor, lam: float) -> torch.Tensor:
    """argmin over symmetric m x m H of ||H Xh - Yh||^2 + lam^2 ||H||^2 (float64, small)."""
    m = Xh.shape[0]
    U, s, Vh = torch.linalg.svd(Xh, full_matrices=False)
    if lam == 0.0:
        keep = s > 0
        U, s, Vh = U[:, keep], s[keep], Vh[keep]
        if s.numel() == 0:
            return torch.zeros((m, m), dtype=torch.float64)
    V = Vh.T
    YV = Yh @ V
    C = U.T @ YV
    K = C * s[None, :]
    l2 = 2.0 * lam * lam
    H11 = (K + K.T) / (s[:, None] ** 2 + s[None, :] ** 2 + l2)
    W = (YV - U @ C) * (s / (s**2 + l2))[None, :]
    UW = U @ W.T
    return U @ H11 @ U.T + UW + UW.T


def _coords(X: Any, Y: Any):
    Xt, Yt, kind = check_pair(X, Y)
    n = Xt.shape[1]
    basis = range_basis([Xt, Yt], ["X", "Y"])
    return basis, basis.R[:, :n], basis.R[:, n:], kind


def _finish(basis, core: torch.Tensor, kind: Kind) -> LowRankSymmetric:
    return LowRankSymmetric._from_basis(basis, core, 0.0, kind, coords=True)


def tikhonov_hessian(X: Any, Y: Any, damping: float) -> LowRankSymmetric:
    """The symmetric H minimising ``||H X - Y||_F^2 + damping^2 ||H||_F^2``.

    In the coordinates of an orthonormal basis of span[X Y] (as :func:`least_norm_hessian`), with
    the thin SVD ``Xh = U S V^T``, ``C = U^T Yh V`` and ``l = 2 damping^2``::

        H = U H11 U^T + U W^T + W U^T,
        (H11)_ij = (s_j C_ij + s_i C_ji) / (s_i^2 + s_j^2 + l),
        W = (I - U U^T) Yh V diag(s / (s^2 + l)),

    (a block of H outside span[X Y] would only add to ``||H||``, so it is 0). ``damping = 0``
    gives the least-norm solution. The map ``Y -> H`` has norm at most ``1 / (2 damping)`` for
    any X, against ``sqrt(2) / sigma_min(X)`` without damping.

    Args:
        X, Y: (D, n) pairs, as :func:`hessnotes.secant.least_norm_hessian`.
        damping: lambda >= 0, in the units of H (Y / X).

    Returns:
        LowRankSymmetric of rank <= 2n, same kind, dtype and device as X.

    Raises:
        TypeError, ValueError: as :func:`hessnotes.secant.least_norm_hessian`; damping negative
            or not finite.
    """
    lam = float(damping)
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"damping must be finite and >= 0; got {damping}.")
    basis, Xh, Yh, kind = _coords(X, Y)
    return _finish(basis, _tikhonov_core(Xh, Yh, lam), kind)


def _residual(Xh: torch.Tensor, Yh: torch.Tensor, lam: float) -> float:
    return float(torch.linalg.matrix_norm(_tikhonov_core(Xh, Yh, lam) @ Xh - Yh))


def discrepancy_damping(X: Any, Y: Any, noise: float, *, rtol: float = 1e-6) -> float:
    """The damping whose Tikhonov estimate has residual ``||H X - Y||_F = noise`` (Morozov).

    The residual grows monotonically with the damping, from the least-squares residual
    ``r_0 = min_H ||H X - Y||_F`` (nonzero for inconsistent pairs) at 0 towards ``||Y||_F``. If
    ``noise <= r_0`` no symmetric H fits better than the noise anyway and the answer is 0; if
    ``noise >= ||Y||_F`` the data say nothing above the noise and H = 0 would do (an error, since
    no finite damping reaches it). Otherwise the root is found by bisection on ``log(damping)``
    to relative accuracy ``rtol`` (each step costs O(n^3) small work; D enters only through the
    one Gram pass).

    Args:
        X, Y: (D, n) pairs, as :func:`hessnotes.secant.least_norm_hessian`.
        noise: the stated size of the noise in Y, ``||dY||_F`` (absolute, Frobenius over all
            entries), >= 0.
        rtol: relative accuracy of the damping.

    Returns:
        The damping lambda >= 0, a float.

    Raises:
        ValueError: noise negative or not finite, or ``noise >= ||Y||_F``; bad X, Y as
            :func:`hessnotes.secant.least_norm_hessian`.
    """
    delta = float(noise)
    if not (math.isfinite(delta) and delta >= 0):
        raise ValueError(f"noise must be finite and >= 0; got {noise}.")
    _, Xh, Yh, _ = _coords(X, Y)
    ynorm = float(torch.linalg.matrix_norm(Yh))
    if delta >= ynorm:
        raise ValueError(
            f"noise = {delta:.3g} is at least ||Y||_F = {ynorm:.3g}: the pairs carry no signal "
            "above the stated noise (the regularised estimate would be H = 0). Check the noise "
            "level, or collect larger steps."
        )
    if _residual(Xh, Yh, 0.0) >= delta:
        return 0.0
    s = torch.linalg.svdvals(Xh)
    lo, hi = 1e-12 * float(s[0]), float(s[0])
    while _residual(Xh, Yh, hi) < delta:
        hi *= 4.0
    while _residual(Xh, Yh, lo) > delta:
        lo /= 4.0
        if lo < 1e-300:
            return 0.0
    while hi / lo > 1.0 + rtol:
        mid = math.sqrt(lo * hi)
        if _residual(Xh, Yh, mid) < delta:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)
