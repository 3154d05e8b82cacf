"""Calculus under the constraint ``QᵀQ = I``: the tangent space of the orthogonal group.

Differentiating ``QᵀQ = I`` gives ``dQᵀ Q + Qᵀ dQ = 0``: ``Ω = Qᵀ dQ`` is skew-symmetric, so the
tangent space of ``O(n)`` at ``Q`` is ``T_Q = {Q Ω : Ωᵀ = -Ω}``, of dimension ``n(n-1)/2``. In the
trace inner product the orthogonal projection onto it is ``Z ↦ Q skew(Qᵀ Z)``
(:func:`tangent_project`), and the gradient of ``f`` restricted to ``O(n)`` (the Riemannian
gradient) is the projection of the ordinary gradient, ``Q skew(Qᵀ ∇f(Q))``.

A factorization with an orthogonal factor obeys the same constraint. For the polar decomposition
``A = Q P`` (``Q`` orthogonal, ``P`` symmetric positive definite), ``dQ = Q Ω`` where ``Ω`` solves
the Sylvester equation ``Ω P + P Ω = Qᵀ dA - dAᵀ Q`` (:func:`polar_jvp`).

See the chapter "Derivatives of factorizations".

Chapters: "Derivatives of factorizations", "Critical points and second-order conditions".
"""

from __future__ import annotations

from typing import Any

import torch

from hessnotes._linalg import as_torch as _as_torch
from hessnotes._linalg import to_caller as _out

__all__ = ["polar", "polar_jvp", "skew", "tangent_project"]


def _square(a: torch.Tensor, name: str) -> None:
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"{name} has shape {tuple(a.shape)}; it must be a square (n, n) matrix")
    if not torch.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or Inf")


def _pair(a: Any, b: Any, names: tuple[str, str]) -> tuple[torch.Tensor, torch.Tensor, bool]:
    x, numpy = _as_torch(a, names[0])
    y, _ = _as_torch(b, names[1])
    x, y = x.detach(), y.detach().to(dtype=x.dtype, device=x.device)
    _square(x, names[0])
    if tuple(y.shape) != tuple(x.shape):
        raise ValueError(
            f"{names[1]} has shape {tuple(y.shape)} but {names[0]} has shape {tuple(x.shape)}; "
            "they must match"
        )
    if not torch.isfinite(y).all():
        raise ValueError(f"{names[1]} holds NaN or Inf")
    return x, y, numpy


def skew(A: Any) -> Any:
    """Skew-symmetric part ``(A - Aᵀ) / 2`` of a square matrix (numpy or torch, like ``A``).

    Raises:
        ValueError: if ``A`` is not square.
    """
    a, numpy = _as_torch(A, "A")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"A has shape {tuple(a.shape)}; skew needs a square matrix")
    return _out(numpy, (a - a.mT) / 2)


def tangent_project(Q: Any, Z: Any, *, rtol: float | None = None) -> Any:
    """Orthogonal projection of ``Z`` onto the tangent space of ``O(n)`` at ``Q``: ``Q skew(QᵀZ)``.

    The projection is orthogonal in the trace inner product: ``Z - Q skew(QᵀZ) = Q sym(QᵀZ)`` is
    orthogonal to every tangent ``QΩ``. With ``Z = ∇f(Q)`` it is the Riemannian gradient of ``f``
    on ``O(n)``: ``⟨Q skew(Qᵀ∇f), QΩ⟩ = ⟨∇f, QΩ⟩`` for every skew ``Ω``.

    Args:
        Q: (n, n) orthogonal matrix.
        Z: (n, n) matrix.
        rtol: tolerance on ``max|QᵀQ - I|``; default ``100 n eps``.

    Returns:
        (n, n) tangent vector, numpy or torch like ``Q``.

    Raises:
        ValueError: if the shapes differ or are not square, or ``Q`` is not orthogonal.
    """
    q, z, numpy = _pair(Q, Z, ("Q", "Z"))
    n = q.shape[0]
    tol = 100 * n * float(torch.finfo(q.dtype).eps) if rtol is None else rtol
    err = float((q.T @ q - torch.eye(n, dtype=q.dtype, device=q.device)).abs().max())
    if err > tol:
        raise ValueError(
            f"Q is not orthogonal: max|QᵀQ - I| = {err:.2e} > {tol:.1e}; the tangent space "
            "belongs to a point of O(n) (orthonormalise Q first, e.g. with polar(Q)[0])"
        )
    M = q.T @ z
    return _out(numpy, q @ ((M - M.T) / 2))


def polar(A: Any) -> tuple[Any, Any]:
    """Polar decomposition ``A = Q P`` of an invertible ``A``: ``Q = U Vᵀ``, ``P = V Σ Vᵀ``.

    ``Q`` is the orthogonal matrix nearest to ``A`` in the Frobenius norm, and it does not depend on
    the signs the SVD chooses, so it is a differentiable function of ``A`` (torch autograd goes
    through ``torch.linalg.svd``).

    Args:
        A: (n, n) invertible matrix, numpy or torch.

    Returns:
        ``(Q, P)``, (n, n) orthogonal and symmetric positive definite, like ``A``.

    Raises:
        ValueError: if ``A`` is not square and finite, or is singular (``σ_min <= n eps σ_max``).
    """
    a, numpy = _as_torch(A, "A")
    _square(a.detach(), "A")
    U, s, Vh = torch.linalg.svd(a)
    n = a.shape[0]
    sd = s.detach()
    if float(sd.min()) <= n * float(torch.finfo(a.dtype).eps) * float(sd.max()):
        raise ValueError(
            f"A is singular (σ_min = {float(sd.min()):.2e}, σ_max = {float(sd.max()):.2e}): its "
            "orthogonal polar factor is not unique"
        )
    return _out(numpy, U @ Vh, (Vh.mT * s) @ Vh)


def polar_jvp(A: Any, dA: Any) -> Any:
    """Differential ``dQ`` of the orthogonal polar factor of ``A`` along ``dA``.

    ``A = QP`` gives ``Qᵀ dA = Ω P + dP`` with ``Ω = Qᵀ dQ`` skew and ``dP`` symmetric; subtracting
    the transpose leaves the Sylvester equation ``Ω P + P Ω = Qᵀ dA - dAᵀ Q``. In the eigenbasis
    ``P = V diag(σ) Vᵀ`` it is diagonal: ``Ω = V [(Vᵀ C V)_ij / (σ_i + σ_j)] Vᵀ`` with ``C`` the
    right-hand side, and ``σ_i + σ_j > 0`` makes the solution unique. Then ``dQ = Q Ω``.

    Args:
        A: (n, n) invertible matrix.
        dA: (n, n) direction.

    Returns:
        (n, n) ``dQ``, numpy or torch like ``A``; ``Qᵀ dQ`` is skew-symmetric.

    Raises:
        ValueError: bad shapes, NaN/Inf, or a singular ``A``.
    """
    a, da, numpy = _pair(A, dA, ("A", "dA"))
    Q, _ = polar(a)
    _, s, Vh = torch.linalg.svd(a)
    V = Vh.mT
    C = Q.T @ da - da.T @ Q
    Omega = V @ ((V.T @ C @ V) / (s.reshape(-1, 1) + s.reshape(1, -1))) @ V.T
    return _out(numpy, Q @ Omega)
