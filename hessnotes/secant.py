"""Symmetric Hessian estimates from gradient pairs, stored in low rank.

Setting: ``X = [x_1 ... x_n]`` and ``Y = [y_1 ... y_n]`` are (D, n), with ``y_i`` the gradient (or
gradient difference) that goes with the point (or step) ``x_i``; we want a symmetric H with
``H X ~ Y`` and D far too large for a D x D matrix. Every estimator returns a
:class:`~hessnotes.lowrank.LowRankSymmetric`.

* :func:`least_norm_hessian`: the symmetric H of least Frobenius norm among the minimisers of
  ``||H X - Y||_F`` (symmetric Procrustes, Higham 1988). On consistent data (``X^T Y`` symmetric and
  ``Y X^+ X = Y``) it is ``H* = Y X^+ + (X^+)^T Y^T (I - X X^+)``, of rank <= 2n.
* :func:`min_rank_hessian`: ``Y (X^T Y)^{-1} Y^T``, the symmetric rank-n solution (SR1 from zero);
  it equals ``H* + P Y (X^T Y)^{-1} Y^T P`` with ``P = I - X X^+``.
* :func:`eigen_derivation_hessian`: the seed blog's derivation step by step; it lands on
  :func:`min_rank_hessian`, not on the least-norm solution.
* :func:`least_change_hessian` (multi-secant PSB), :func:`bfgs_hessian` (compact BFGS) and
  :func:`scaling_gamma` for updates from ``H0 = gamma I``.
* :func:`secant_pairs` builds (X, Y) from a function with torch autograd;
  :func:`symmetric_residual` measures how far ``X^T Y`` is from symmetric.

Inputs may be numpy arrays or torch tensors, float32 or float64, on any device; results come back
as the same kind, dtype and device. The only O(D) work is one Gram pass ``[X Y]^T [X Y]`` plus one
product forming the result (more passes only for ill-conditioned data, see
:mod:`hessnotes._linalg`); no D x D array is ever formed.

Chapters: "hessnotes", "The secant equations", "The least-norm Hessian", "The blog post's
eigen-derivation, revisited", "Noisy pairs and a real network", "Exact curvature", "High
dimensions", "Limited-memory updates".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from hessnotes._linalg import (
    Basis,
    Kind,
    as_tensor,
    check_finite,
    check_matrix,
    check_pair,
    check_tol,
    eps_of,
    gram,
    gram_copy,
    num,
    range_basis,
    small,
)
from hessnotes.lowrank import LowRankSymmetric

__all__ = [
    "EigenDerivation",
    "MinRankInfo",
    "bfgs_hessian",
    "eigen_derivation_hessian",
    "least_change_hessian",
    "least_norm_hessian",
    "min_rank_hessian",
    "scaling_gamma",
    "secant_pairs",
    "symmetric_residual",
]

_SR1_EXAMPLE = (
    "For example H = diag(1, -1, 2, 3) and x = (1, 1, 0, 0) give y = H x = (1, -1, 0, 0) and "
    "x^T y = 0."
)


# ---------------------------------------------------------------------------- least norm
def _default_rtol(n: int, dtype: torch.dtype) -> float:
    return 4 * n * eps_of(dtype)


def _procrustes(Xh: torch.Tensor, Yh: torch.Tensor, rtol: float) -> torch.Tensor:
    """Least-norm minimiser of ||H Xh - Yh||_F over symmetric m x m H (float64, small).

    With the thin SVD ``Xh = U S V^T`` truncated to the r singular values above ``rtol * s_max``,
    ``C = U^T Yh V`` and ``W = (I - U U^T) Yh V S^{-1}``, the solution is
    ``U H11 U^T + U W^T + W U^T`` with ``(H11)_ij = (s_j C_ij + s_i C_ji) / (s_i^2 + s_j^2)``.
    """
    m = Xh.shape[0]
    U, s, Vh = torch.linalg.svd(Xh, full_matrices=False)
    if s.numel() == 0 or num(s[0]) == 0.0:
        return torch.zeros((m, m), dtype=torch.float64)
    r = int((s > rtol * s[0]).sum())
    U, s, V = U[:, :r], s[:r], Vh[:r].T
    YV = Yh @ V
    C = U.T @ YV
    K = C * s[None, :]
    H11 = (K + K.T) / (s[:, None] ** 2 + s[None, :] ** 2)
    W = (YV - U @ C) / s[None, :]
    UW = U @ W.T
    return U @ H11 @ U.T + UW + UW.T


def _opt_tol(value: float | None, name: str) -> float | None:
    return None if value is None else check_tol(value, name)


def _least_norm_basis(
    basis: Basis,
    n: int,
    kind: Kind,
    rtol: float | None,
    *,
    gamma: float = 0.0,
    lazy: bool = False,
) -> LowRankSymmetric:
    """Least-norm (``gamma = 0``) or PSB (``gamma I + least-norm fit of Y - gamma X``) estimate
    from a basis of ``A = [X Y] = Q R``, in the coordinates of Q.

    ``[X, Y - gamma X] = A M`` with ``M = [[I, -gamma I], [0, I]]``, so its coordinates are ``R M``
    and no D-sized ``Y - gamma X`` is ever formed.
    """
    R = basis.R
    if rtol is None:
        rtol = _default_rtol(n, kind.dtype)
    Xh, Yh = R[:, :n], R[:, n:]
    if gamma != 0.0:
        Yh = Yh - gamma * Xh
    Hs = _procrustes(Xh, Yh, rtol)
    return LowRankSymmetric._from_basis(basis, Hs, gamma, kind, coords=True, lazy=lazy)


def _least_norm(
    Xt: torch.Tensor,
    Yt: torch.Tensor,
    kind: Kind,
    rtol: float | None,
    *,
    gamma: float = 0.0,
    G: torch.Tensor | None = None,
) -> LowRankSymmetric:
    basis = range_basis([Xt, Yt], ["X", "Y"], G=G)
    return _least_norm_basis(basis, Xt.shape[1], kind, rtol, gamma=gamma)


def least_norm_hessian(
    X: Any,
    Y: Any,
    *,
    rtol: float | None = None,
    noise: float | None = None,
    damping: float | None = None,
) -> LowRankSymmetric:
    """Symmetric H of least Frobenius norm among the minimisers of ``||H X - Y||_F``.

    This is the symmetric Procrustes problem (Higham 1988). With ``Z = [X Y] = Q_Z R`` a thin QR,
    H lives in span(Q_Z) and the problem shrinks to ``(Xh, Yh) = Q_Z^T (X, Y)``, 2n x n each. With
    the truncated thin SVD ``Xh = U S V^T``, ``C = U^T Yh V`` and ``W = (I - U U^T) Yh V S^{-1}``::

        H = Q_Z [U H11 U^T + U W^T + W U^T] Q_Z^T,
        (H11)_ij = (s_j C_ij + s_i C_ji) / (s_i^2 + s_j^2).

    On consistent data (``X^T Y = Y^T X`` and ``Y X^+ X = Y``) this is
    ``H* = Y X^+ + (X^+)^T Y^T (I - X X^+)``, so ``H X = Y``; for n = 1 it is the PSB update from 0.

    Cost: one Gram pass ``[X Y]^T [X Y]`` and O(n^3) small work. For torch inputs the
    eigenvectors stay implicit (``Q = [X Y] T`` for a small T; see ``hessnotes.lowrank._Lazy``)
    until something needs them explicitly, so the extra memory is O(n^2); numpy inputs get Q at once
    (one more O(D n r) pass, memory D x r with r <= 2n). An ill-conditioned ``[X Y]`` (kappa after
    column scaling above 10 in float64, 3 in float32) costs more passes (CholeskyQR2, then
    Householder QR; see :mod:`hessnotes._linalg`) and one (D, 2n) work array. Never D x D.

    Args:
        X: (D, n) steps or points, one per column; numpy or torch, float32 or float64.
        Y: (D, n) gradient differences or gradients, same kind, dtype, device and shape.
        rtol: relative cut-off on the singular values of X: those ``<= rtol * s_max`` count as zero
            (X is replaced by its truncated SVD). Default ``4 n eps`` of the dtype, which catches
            rounding-level rank deficiency (e.g. X = B C with B of fewer than n columns).
        noise: the size ``||dY||_F`` of the noise in Y, if known. Then the result is the
            Tikhonov-regularised fit whose residual ``||H X - Y||_F`` equals the noise (Morozov's
            discrepancy principle; :func:`hessnotes.regularise.discrepancy_damping`): the
            least-norm H that fits the pairs to within the noise. Noise amplification is then
            bounded whatever the conditioning of X (see :mod:`hessnotes.regularise`).
        damping: a fixed Tikhonov parameter instead (:func:`hessnotes.regularise.tikhonov_hessian`).
            ``noise`` and ``damping`` exclude each other and ``rtol``.

    Returns:
        LowRankSymmetric of rank <= 2n (sigma = 0), same kind, dtype and device as X.

    Raises:
        TypeError: integer, complex or half dtypes; X and Y of different kinds or dtypes.
        ValueError: X or Y not 2-D, with n = 0 or D = 0, of different shapes, or holding NaN or Inf;
            more than one of rtol, noise, damping; noise or damping negative, or noise >= ||Y||_F.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> A = rng.standard_normal((50, 50)); A = A + A.T
        >>> X = rng.standard_normal((50, 3)); H = least_norm_hessian(X, A @ X)
        >>> bool(np.allclose(H @ X, A @ X)), H.rank
        (True, 6)

    See the chapter "The least-norm Hessian" for the derivation.
    """
    if sum(a is not None for a in (rtol, noise, damping)) > 1:
        raise ValueError(
            "least_norm_hessian: give at most one of rtol (truncation), noise (Tikhonov with the "
            "damping chosen by the discrepancy principle) and damping (a fixed Tikhonov parameter)."
        )
    if noise is not None or damping is not None:
        from hessnotes.regularise import discrepancy_damping, tikhonov_hessian

        lam = discrepancy_damping(X, Y, noise) if noise is not None else damping
        return tikhonov_hessian(X, Y, lam)
    rtol = _opt_tol(rtol, "rtol")
    Xt, Yt, kind = check_pair(X, Y, finite=False)  # NaN/Inf are caught on the Gram diagonal
    return _least_norm(Xt, Yt, kind, rtol)


# ---------------------------------------------------------------------------- min rank
@dataclass(frozen=True)
class MinRankInfo:
    """Diagnostics of :func:`min_rank_hessian`.

    Attributes:
        asymmetry: ``||X^T Y - Y^T X||_F / ||X^T Y||_F``, zero on consistent (quadratic) data.
        min_scaled_eig: smallest ``|eigenvalue|`` of ``S~ = N^{-1} sym(X^T Y) N^{-1}`` with
            ``N = diag(sqrt(||x_i|| ||y_i||))``; for n = 1 it is ``|cos angle(x, y)|``.
    """

    asymmetry: float
    min_scaled_eig: float


def symmetric_residual(X: Any, Y: Any) -> float:
    """``||X^T Y - Y^T X||_F / ||X^T Y||_F``: how far the pairs are from any symmetric H.

    A symmetric H with ``H X = Y`` needs ``X^T Y = X^T H X`` symmetric, so this is zero for exact
    gradient differences of a quadratic and grows with the spread of the points on other functions.
    Returns 0.0 when ``X^T Y = 0``.

    Raises:
        TypeError, ValueError: as :func:`least_norm_hessian`.
    """
    Xt, Yt, _ = check_pair(X, Y)
    S = small(Xt.T @ Yt)
    return _asymmetry(S)


def _asymmetry(S: torch.Tensor) -> float:
    nrm = num(torch.linalg.norm(S))
    return 0.0 if nrm == 0.0 else num(torch.linalg.norm(S - S.T)) / nrm


def min_rank_hessian(
    X: Any, Y: Any, *, tol: float = 1e-8, return_info: bool = False
) -> LowRankSymmetric | tuple[LowRankSymmetric, MinRankInfo]:
    """The minimum-rank symmetric solution ``H = Y S^{-1} Y^T`` with ``S = sym(X^T Y)``.

    On consistent data ``X^T Y`` is symmetric, ``H X = Y`` and H has rank n (the SR1 update from
    H0 = 0; the blog's eigen-derivation lands here). It equals the least-norm solution plus
    ``P Y (X^T Y)^{-1} Y^T P`` with ``P = I - X X^+``, so the two coincide iff that term is 0. When
    ``X^T Y`` is definite (e.g. H positive definite) this means ``P Y = 0``; when it is indefinite
    the term can vanish with ``P Y != 0`` (see the chapter "The eigen-derivation, revisited").

    Asymmetric ``X^T Y`` (noise, non-quadratic f): S is its symmetric part ``(X^T Y + Y^T X) / 2``;
    then ``H X = Y`` no longer holds exactly. The relative asymmetry is reported with
    ``return_info=True`` (see :class:`MinRankInfo`; also :func:`symmetric_residual`).

    Breakdown: S must be invertible. When it is singular or nearly so (smallest ``|eigenvalue|`` of
    the scaled ``S~`` of :class:`MinRankInfo` at most ``tol``) the SR1 denominator vanishes and
    ``ValueError`` is raised. For example H = diag(1, -1, 2, 3) and x = (1, 1, 0, 0) give
    y = H x = (1, -1, 0, 0) and x^T y = 0: no rank-one symmetric H' with H' x = y exists.

    Args:
        X, Y: (D, n) pairs, as :func:`least_norm_hessian`.
        tol: breakdown threshold on the scaled eigenvalues (the usual SR1 safeguard is 1e-8).
        return_info: also return a :class:`MinRankInfo`.

    Returns:
        LowRankSymmetric of rank <= n, or ``(H, info)``.

    Raises:
        TypeError, ValueError: as :func:`least_norm_hessian`; ValueError on SR1 breakdown.
    """
    tol = check_tol(tol, "tol")
    Xt, Yt, kind = check_pair(X, Y)
    G, Zy = gram_copy([Xt, Yt], ["X", "Y"], keep=[1])  # one pass; only Y is kept (H = Y C Y^T)
    H, info = _min_rank(Zy, Xt.shape[1], kind, tol, G)
    return (H, info) if return_info else H


def _min_rank_core(G: torch.Tensor, n: int, tol: float) -> tuple[torch.Tensor, MinRankInfo]:
    """``C = sym(X^T Y)^{-1}`` (n x n) from the Gram matrix of ``[X Y]``, or the SR1 breakdown."""
    S = G[:n, n:]
    asym = _asymmetry(S)
    Ssym = (S + S.T) / 2
    d = (torch.diagonal(G)[:n] * torch.diagonal(G)[n:]).sqrt().sqrt()
    if bool((d == 0).any()):
        i = int(torch.nonzero(d == 0)[0])
        raise ValueError(
            f"min_rank_hessian: pair {i} has x_i = 0 or y_i = 0, so X^T Y (shape {n}x{n}) is "
            "singular: the SR1 update breaks down. Remove that pair."
        )
    ev = torch.linalg.eigvalsh(Ssym / (d[:, None] * d[None, :]))
    m = num(ev.abs().min())
    if m <= tol:
        raise ValueError(
            f"min_rank_hessian: sym(X^T Y) ({n}x{n}) is singular or nearly so (smallest "
            f"|eigenvalue| of its scaled form = {m:.2e} <= tol = {tol:.0e}). This is the breakdown "
            "of the symmetric rank-one (SR1) update: some combination of steps has x^T H x ~ 0, so "
            f"Y (X^T Y)^(-1) Y^T does not exist. {_SR1_EXAMPLE} Drop or perturb the offending "
            "pair, or use least_norm_hessian, which never breaks down."
        )
    C = torch.linalg.solve(Ssym, torch.eye(n, dtype=torch.float64))
    return (C + C.T) / 2, MinRankInfo(asym, m)


def _min_rank(
    Zy: torch.Tensor, n: int, kind: Kind, tol: float, G: torch.Tensor
) -> tuple[LowRankSymmetric, MinRankInfo]:
    """``Y (X^T Y)^{-1} Y^T`` from the Gram matrix of [X Y] and a private copy Zy of Y."""
    C, info = _min_rank_core(G, n, tol)
    basis = range_basis([Zy], ["Y"], G=G[n:, n:], copy=False, owned=True)
    return LowRankSymmetric._from_basis(basis, C, 0.0, kind), info


# ---------------------------------------------------------------------------- the blog's route
@dataclass(frozen=True)
class EigenDerivation:
    """The seed blog's eigen-derivation, every intermediate exposed (arrays in the input's kind).

    Attributes:
        G: (D, m) orthonormal basis of span[X Y] (Householder QR; m = min(D, 2n)).
        Xhat, Yhat: (m, n) coordinates ``G^T X`` and ``G^T Y``.
        J: (m, m) ``Yhat Yhat^T``, of rank k <= n.
        J_evals, J_evecs: eigenpairs of J, eigenvalues descending (the blog's ``S_J``, ``U_J``).
        J_pinv: (m, m) pseudo-inverse of J from its k eigenvalues above the cut-off.
        M: (k, k) ``S_k^{-1} U_k^T Yhat Xhat^T U_k``, the small eigenproblem ``M a = (1/s) a``.
        inv_s: (k,) eigenvalues ``1/s_i`` of sym(M), ascending.
        alpha_hat: (k, k) their orthonormal eigenvectors; ``alpha = U_k alpha_hat`` is (m, k).
        s: (k,) the Hessian eigenvalues ``s_i``.
        U: (D, k) the Hessian eigenvectors ``G alpha``.
        asymmetry: ``||M - M^T||_F / ||M||_F`` (zero on consistent data).
        H: the result ``U diag(s) U^T`` as a LowRankSymmetric; equals :func:`min_rank_hessian`.
    """

    G: Any
    Xhat: Any
    Yhat: Any
    J: Any
    J_evals: Any
    J_evecs: Any
    J_pinv: Any
    M: Any
    inv_s: Any
    alpha_hat: Any
    alpha: Any
    s: Any
    U: Any
    asymmetry: float
    H: LowRankSymmetric

    def __repr__(self) -> str:
        """Shapes and the headline numbers, not every array (print a field to see it)."""
        k = len(self.s)
        s = ", ".join(f"{float(v):.4g}" for v in list(self.s[:6]))
        more = ", ..." if k > 6 else ""
        return (
            f"EigenDerivation(G {tuple(self.G.shape)}, J rank {k}, M {tuple(self.M.shape)}, "
            f"s = [{s}{more}], asymmetry {self.asymmetry:.1e}, H = {self.H!r})"
        )


def eigen_derivation_hessian(
    X: Any, Y: Any, *, rtol: float | None = None, tol: float = 1e-8
) -> EigenDerivation:
    """Follow the seed blog's eigen-derivation of a low-rank Hessian, exposing every step.

    Steps: ``G`` orthonormal basis of span[X Y]; ``Xhat = G^T X``, ``Yhat = G^T Y``;
    ``J = Yhat Yhat^T = U_J S_J U_J^T`` keeping its k nonzero eigenvalues; the small eigenproblem
    ``M alpha_hat = (1/s) alpha_hat`` with ``M = S_k^{-1} U_k^T Yhat Xhat^T U_k``; then
    ``u_i = G U_k alpha_hat_i`` and ``H = sum_i s_i u_i u_i^T``.

    Worked through, ``M`` is the inverse of the min-rank Hessian written in the basis ``G U_k``
    (when ``X^T Y`` is symmetric), so the result is ``Y (X^T Y)^{-1} Y^T``, that is
    :func:`min_rank_hessian`: the minimum-*rank* solution, not the least-norm one the blog's title
    promises. When ``X^T Y`` is not symmetric, M is not either; its symmetric part is used and
    ``asymmetry`` reports the rest.

    Args:
        X, Y: (D, n) pairs, as :func:`least_norm_hessian`.
        rtol: eigenvalues of J at most ``rtol * max`` count as zero (pseudo-inverse); default
            ``4 m eps``.
        tol: an eigenvalue ``1/s`` of M with ``|1/s| <= tol ||X||_F / ||Y||_F`` means ``s`` is
            infinite, the SR1 breakdown of :func:`min_rank_hessian`; ValueError.

    Returns:
        An :class:`EigenDerivation`.

    Raises:
        TypeError, ValueError: as :func:`min_rank_hessian`.
    """
    rtol, tol = _opt_tol(rtol, "rtol"), check_tol(tol, "tol")
    Xt, Yt, kind = check_pair(X, Y)
    Gt, _ = torch.linalg.qr(torch.cat([Xt, Yt], dim=1), mode="reduced")
    Xh, Yh = small(Gt.T @ Xt), small(Gt.T @ Yt)
    m = Gt.shape[1]
    J = Yh @ Yh.T
    SJ, UJ = torch.linalg.eigh(J)
    SJ, UJ = SJ.flip(0), UJ.flip(1)
    if rtol is None:
        rtol = 4 * m * eps_of(kind.dtype)
    k = int((SJ > rtol * SJ[0]).sum()) if num(SJ[0]) > 0 else 0
    if k == 0:
        raise ValueError("eigen_derivation_hessian: Y is zero, so J = Yhat Yhat^T has no range.")
    Uk, Sk = UJ[:, :k], SJ[:k]
    J_pinv = Uk @ torch.diag(1 / Sk) @ Uk.T
    M = (Uk.T @ Yh @ Xh.T @ Uk) / Sk[:, None]
    asym = _asymmetry(M)
    inv_s, ah = torch.linalg.eigh((M + M.T) / 2)
    # M ~ H^{-1} has the units of X / Y; for n = 1 the test below reads |cos angle(x, y)| <= tol.
    top = num(torch.linalg.norm(Xh) / torch.linalg.norm(Yh))
    if num(inv_s.abs().min()) <= tol * top:
        raise ValueError(
            "eigen_derivation_hessian: the small eigenproblem has an eigenvalue 1/s ~ 0 (relative "
            f"to ||X||/||Y||: {num(inv_s.abs().min()) / top:.1e} <= tol = {tol:.0e}), so s is "
            f"infinite: X^T Y is singular, the SR1 breakdown. {_SR1_EXAMPLE}"
        )
    s = 1 / inv_s
    alpha = Uk @ ah
    Ut = Gt @ kind.tensor(alpha)
    H = LowRankSymmetric._from_tensors(Ut, kind.tensor(s), 0.0, kind)
    out = kind.out
    return EigenDerivation(
        G=out(Gt),
        Xhat=out(Xh),
        Yhat=out(Yh),
        J=out(J),
        J_evals=out(SJ),
        J_evecs=out(UJ),
        J_pinv=out(J_pinv),
        M=out(M),
        inv_s=out(inv_s),
        alpha_hat=out(ah),
        alpha=out(alpha),
        s=out(s),
        U=out(Ut),
        asymmetry=asym,
        H=H,
    )


# ---------------------------------------------------------------------------- updates from H0
def scaling_gamma(X: Any, Y: Any, *, which: str = "last") -> float:
    """The scale ``gamma`` of an initial Hessian ``H0 = gamma I``.

    * ``which="last"`` (default): ``gamma = y^T s / s^T s`` for the last pair (s, y) = columns
      ``n - 1`` of (X, Y): the Rayleigh quotient of the true Hessian along s on a quadratic
      (the Barzilai-Borwein step, inverted). The alternative ``y^T y / s^T y`` (Nocedal & Wright,
      eq. 7.20, inverted) is larger.
    * ``which="lstsq"``: ``gamma = tr(X^T Y) / tr(X^T X)``, the least-squares fit of
      ``||gamma X - Y||_F`` over all pairs.

    Raises:
        TypeError, ValueError: as :func:`least_norm_hessian`; ValueError for a zero step or an
            unknown ``which``.
    """
    Xt, Yt, _ = check_pair(X, Y)
    return _scaling_gamma(Xt, Yt, which)


def _scaling_gamma(Xt: torch.Tensor, Yt: torch.Tensor, which: str = "last") -> float:
    if which == "last":
        s, y = Xt[:, -1], Yt[:, -1]
    elif which == "lstsq":
        s, y = Xt.reshape(-1), Yt.reshape(-1)
    else:
        raise ValueError(f"which must be 'last' or 'lstsq'; got {which!r}.")
    ss = num(small(s @ s))
    if ss == 0.0:
        raise ValueError("scaling_gamma: the step s is zero, so y^T s / s^T s is undefined.")
    return num(small(y @ s)) / ss


def _gamma_of(H0: Any) -> float:
    """A real scalar H0 (Python, numpy or 0-d torch) as a finite float, or a clear error."""
    if isinstance(H0, bool) or not isinstance(H0, int | float):
        try:
            gamma = float(H0)  # numpy and 0-d torch scalars
        except (TypeError, ValueError):
            raise TypeError(
                f"H0 must be a real scalar (meaning gamma I) or a LowRankSymmetric; got "
                f"{type(H0).__name__}."
            ) from None
    else:
        gamma = float(H0)
    if not math.isfinite(gamma):
        raise ValueError(f"H0 = {gamma} must be finite.")
    return gamma


def _check_h0(H0: LowRankSymmetric, Xt: torch.Tensor, kind: Kind) -> None:
    if H0.shape[0] != Xt.shape[0] or H0._kind != kind:
        raise ValueError(
            f"H0 is {H0!r} but X has shape {tuple(Xt.shape)} and is {kind.describe()}; they "
            "must match (convert H0 with H0.to(...), H0.numpy() or H0.torch())."
        )


def least_change_hessian(
    X: Any, Y: Any, H0: float | LowRankSymmetric, *, rtol: float | None = None
) -> LowRankSymmetric:
    """Multi-secant PSB update: ``H = H0 + least_norm_hessian(X, Y - H0 X)``.

    The symmetric H closest to H0 in Frobenius norm among the minimisers of ``||H X - Y||_F``; for
    n = 1 it is the Powell-symmetric-Broyden update. Cost as :func:`least_norm_hessian` (plus
    ``H0 @ X`` for a LowRankSymmetric H0). For a scalar ``H0 = gamma``, ``[X, Y - gamma X]`` is
    ``[X Y]`` times a small matrix, so the one Gram pass is that of ``[X Y]`` and no D-sized
    ``Y - gamma X`` is formed.

    Args:
        X, Y: (D, n) pairs, as :func:`least_norm_hessian`.
        H0: a real scalar gamma meaning ``gamma I`` (see :func:`scaling_gamma`), or a
            LowRankSymmetric of the same kind, dtype, device and size D.
        rtol: as :func:`least_norm_hessian`.

    Returns:
        LowRankSymmetric; ``sigma = gamma`` and rank <= 2n for scalar H0, rank <= rank(H0) + 2n and
        ``sigma = H0.sigma`` otherwise.

    Raises:
        TypeError: H0 neither a real scalar nor a LowRankSymmetric; dtypes as above.
        ValueError: as :func:`least_norm_hessian`; H0 of another size, kind or device.
    """
    rtol = _opt_tol(rtol, "rtol")
    Xt, Yt, kind = check_pair(X, Y)
    if isinstance(H0, LowRankSymmetric):
        _check_h0(H0, Xt, kind)
        return H0 + _least_norm(Xt, Yt - H0 @ Xt, kind, rtol)
    return _least_norm(Xt, Yt, kind, rtol, gamma=_gamma_of(H0))


def _bfgs_core(G: torch.Tensor, n: int, gamma: float, tol: float) -> torch.Tensor:
    """The 2n x 2n core C of compact BFGS, ``H = gamma I + [S Y] C [S Y]^T``, from the Gram matrix
    of ``[S Y]`` (pairs in order); ValueError names the first pair violating the curvature test.
    For a LowRankSymmetric ``B0`` pass the Gram matrix of ``[B0 S, Y]`` with ``S^T B0 S`` in its
    top-left block and ``gamma = 1`` (then ``H = B0 + [B0 S, Y] C [B0 S, Y]^T``)."""
    SS, SY, YY = G[:n, :n], G[:n, n:], G[n:, n:]
    sy = torch.diagonal(SY)
    cos = sy / (torch.diagonal(SS) * torch.diagonal(YY)).sqrt()
    bad = torch.nonzero(~(cos > tol)).flatten()
    if bad.numel():
        i = int(bad[0])
        raise ValueError(
            f"bfgs_hessian: pair {i} violates the curvature condition s^T y > 0 "
            f"(s^T y / (||s|| ||y||) = {num(cos[i]):.2e} <= tol = {tol:.0e}), so the BFGS update "
            "is undefined or not positive definite. Skip that pair (LimitedMemoryHessian with "
            "method='bfgs' does), or use least_change_hessian (PSB) or min_rank_hessian (SR1)."
        )
    L = torch.tril(SY, -1)
    mid = torch.cat([torch.cat([gamma * SS, L], 1), torch.cat([L.T, -torch.diag(sy)], 1)], 0)
    scale = torch.cat(
        [torch.full((n,), gamma, dtype=torch.float64), torch.ones(n, dtype=torch.float64)]
    )
    C = -scale[:, None] * torch.linalg.solve(mid, torch.diag(scale))
    return (C + C.T) / 2


def bfgs_hessian(
    X: Any, Y: Any, H0: float | LowRankSymmetric, *, tol: float = 1e-8
) -> LowRankSymmetric:
    """BFGS from ``H0`` (``gamma I`` or a positive definite LowRankSymmetric) applied to the pairs
    in order, in compact form.

    Byrd, Nocedal & Schnabel (Math. Prog. 63, 1994, Thm 2.3): with ``S = X``, ``L`` the strictly
    lower triangle of ``S^T Y`` and ``Dg = diag(s_i^T y_i)``::

        H = B0 - [B0 S, Y] [[S^T B0 S, L], [L^T, -Dg]]^{-1} [B0 S, Y]^T,

    the same matrix as n successive BFGS updates of B0, of rank <= 2n above B0. For
    ``B0 = gamma I`` the blocks are ``gamma S`` and ``gamma S^T S``.

    Args:
        X: (D, n) steps s_i; Y: (D, n) gradient differences y_i, as :func:`least_norm_hessian`.
        H0: positive scale ``gamma`` of ``B0 = gamma I`` (see :func:`scaling_gamma`), or a
            positive definite LowRankSymmetric B0 of the same kind, dtype, device and size (as
            :func:`least_change_hessian` accepts).
        tol: the curvature condition ``s_i^T y_i > tol * ||s_i|| ||y_i||`` must hold for every pair
            (``||s_i||`` in the norm of B0, ``sqrt(s_i^T B0 s_i)``, for a LowRankSymmetric H0).

    Returns:
        LowRankSymmetric, positive definite: ``sigma = gamma`` and rank <= 2n for scalar H0;
        ``sigma = H0.sigma`` and rank <= rank(H0) + 2n otherwise.

    Raises:
        TypeError: H0 neither a real scalar nor a LowRankSymmetric.
        ValueError: gamma not positive and finite, or H0 not positive definite; a pair violating
            the curvature condition (BFGS would not be positive definite; skip that pair, or use
            :func:`least_change_hessian`); otherwise as :func:`least_norm_hessian`.
    """
    tol = check_tol(tol, "tol")
    Xt, Yt, kind = check_pair(X, Y, finite=False)
    n = Xt.shape[1]
    if isinstance(H0, LowRankSymmetric):
        _check_h0(H0, Xt, kind)
        ev = small(H0._lam) + H0.sigma
        lowest = min(
            num(ev.min()) if ev.numel() else math.inf,
            H0.sigma if H0.shape[0] > ev.numel() else math.inf,
        )
        if not lowest > 0:
            raise ValueError(
                f"bfgs_hessian: H0 = {H0!r} must be positive definite (its smallest eigenvalue is "
                f"{lowest:.3g}); BFGS keeps B positive definite only from a positive definite "
                "start. Use least_change_hessian for an indefinite H0."
            )
        check_finite(Xt, "X")
        check_finite(Yt, "Y")
        B0S = H0 @ Xt  # a torch tensor (Xt is torch even for numpy input)
        G = gram([B0S, Yt], ["H0 X", "Y"])
        G[:n, :n] = small(Xt.T @ B0S)  # S^T B0 S, symmetric in exact arithmetic
        G[:n, :n] = (G[:n, :n] + G[:n, :n].T) / 2
        SY = small(Xt.T @ Yt)
        G[:n, n:], G[n:, :n] = SY, SY.T
        # the curvature test and L use S^T Y; the Gram matrix of [B0 S, Y] for the basis
        C = _bfgs_core(G, n, 1.0, tol)
        basis = range_basis([B0S, Yt], ["H0 X", "Y"])
        return H0 + LowRankSymmetric._from_basis(basis, C, 0.0, kind)
    gamma = _gamma_of(H0)
    if not gamma > 0:
        raise ValueError(f"gamma must be positive and finite; got {gamma}.")
    G, Z = gram_copy([Xt, Yt], ["X", "Y"])
    C = _bfgs_core(G, n, gamma, tol)
    basis = range_basis([Z], ["X", "Y"], G=G, copy=False, owned=True)
    return LowRankSymmetric._from_basis(basis, C, gamma, kind)


# ---------------------------------------------------------------------------- pairs from f
def secant_pairs(
    f: Callable[[torch.Tensor], torch.Tensor],
    points: Any,
    *,
    differences: bool = True,
) -> tuple[Any, Any]:
    """Build (X, Y) from a scalar function with torch autograd.

    Args:
        f: maps a (D,) torch tensor to a scalar tensor (differentiable with autograd).
        points: (D, m) points, one per column; numpy or torch, float32 or float64.
        differences: if True (default), ``X = points[:, 1:] - x0`` and ``Y = g[:, 1:] - g0`` with
            ``x0, g0`` the first point and its gradient (n = m - 1 pairs). Then ``H X = Y`` exactly
            for the Hessian H of **any** quadratic. If False, ``X = points`` and ``Y`` the raw
            gradients (n = m); that is only right when ``grad f(0) = 0``, e.g. a quadratic form
            ``x^T A x / 2`` centred at 0, as the seed blog assumes.

    Returns:
        (X, Y), each (D, n), the kind, dtype and device of ``points``.

    Raises:
        TypeError: ``f`` does not return a scalar tensor; dtype as :func:`least_norm_hessian`.
        ValueError: points not 2-D, empty, holding NaN or Inf; fewer than two points with
            ``differences=True``.
    """
    P, kind = as_tensor(points, "points")
    check_matrix(P, "points")
    check_finite(P, "points")
    if differences and P.shape[1] < 2:
        raise ValueError(
            f"points has shape {tuple(P.shape)}; differences=True needs at least 2 points "
            "(columns): a base point and one more."
        )
    grads: list[torch.Tensor] = []
    for j in range(P.shape[1]):
        x = P[:, j].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            val = f(x)
        if not isinstance(val, torch.Tensor) or val.numel() != 1:
            raise TypeError(
                f"f must return a scalar torch tensor; at column {j} it returned "
                f"{type(val).__name__} of shape {tuple(getattr(val, 'shape', ()))}."
            )
        (g,) = torch.autograd.grad(val.reshape(()), x, allow_unused=True)
        grads.append(torch.zeros_like(x) if g is None else g.detach())
    Gm = torch.stack(grads, dim=1)
    if differences:
        X, Y = P[:, 1:] - P[:, :1], Gm[:, 1:] - Gm[:, :1]
    else:
        X, Y = P.clone(), Gm
    return kind.out(X), kind.out(Y)
