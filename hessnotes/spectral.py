"""Differentials of the symmetric eigendecomposition and of the SVD.

For a symmetric ``A = V diag(λ) Vᵀ`` with **distinct** eigenvalues (ascending) and a symmetric
direction ``dA``, with ``P = Vᵀ dA V``:

* ``dλ_i = v_iᵀ dA v_i = P_ii``;
* ``dV = V (F ∘ P)``, with ``F_ij = 1 / (λ_j - λ_i)`` for ``i ≠ j`` and ``F_ii = 0``.

For a thin SVD ``A = U diag(σ) Vᵀ`` (``A`` of shape (m, p), ``r = min(m, p)``) with distinct,
positive singular values and ``P = Uᵀ dA V``, with ``F_ij = 1 / (σ_j² - σ_i²)``:

* ``dσ_i = u_iᵀ dA v_i = P_ii``;
* ``dU = U (F ∘ (P S + S Pᵀ)) + (I - U Uᵀ) dA V S⁻¹``;
* ``dV = V (F ∘ (S P + Pᵀ S)) + (I - V Vᵀ) dAᵀ U S⁻¹``.

Eigenvectors and singular vectors are defined up to sign. :func:`eigh_signed` and
:func:`svd_signed` fix the sign (the entry of largest magnitude of each ``v_i`` is positive), which
is locally constant, so their outputs are differentiable functions that finite differences can
check; the differentials here are those of these functions. At a repeated eigenvalue (singular
value) the factors ``1 / (λ_j - λ_i)`` are infinite: the vectors are not differentiable there, and
the functions raise a ``ValueError`` that says so.

See the chapter "Derivatives of factorizations".

Chapters: "Derivatives of factorizations", "Derivatives of matrix functions", "Critical points and
second-order conditions".
"""

from __future__ import annotations

from typing import Any

import torch

from hessnotes._linalg import as_torch as _as_torch
from hessnotes._linalg import check_symmetric, eps_of
from hessnotes._linalg import to_caller as _out

__all__ = ["eigh_jvp", "eigh_signed", "eigh_vjp", "svd_jvp", "svd_signed"]


def _eps(t: torch.Tensor) -> float:
    return eps_of(t.dtype)


def _symmetric(a: torch.Tensor, name: str) -> None:
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"{name} has shape {tuple(a.shape)}; it must be a square (n, n) matrix")
    if not torch.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or Inf")
    check_symmetric(a, name, needs="these formulas are for symmetric matrices and directions")


def _same_shape(a: torch.Tensor, da: torch.Tensor, names: tuple[str, str]) -> None:
    if tuple(da.shape) != tuple(a.shape):
        raise ValueError(
            f"{names[1]} has shape {tuple(da.shape)} but {names[0]} has shape {tuple(a.shape)}; "
            "a direction has the shape of the point"
        )


def _signs(V: torch.Tensor) -> torch.Tensor:
    """+1 or -1 per column: the sign of the column's entry of largest magnitude."""
    idx = V.abs().argmax(dim=0, keepdim=True)
    s = torch.sign(torch.gather(V, 0, idx)).reshape(-1)
    return torch.where(s == 0, torch.ones_like(s), s).detach()


def eigh_signed(A: Any) -> tuple[Any, Any]:
    """``torch.linalg.eigh`` with a sign convention: each eigenvector's largest entry is positive.

    Args:
        A: (n, n) symmetric matrix, numpy or torch (differentiable through torch's ``eigh``).

    Returns:
        ``(λ, V)``: (n,) eigenvalues in ascending order and (n, n) orthonormal eigenvectors, one
        per column, with ``A = V diag(λ) Vᵀ``; numpy or torch like ``A``.

    Raises:
        TypeError: if ``A`` is not a floating numpy array or torch tensor.
        ValueError: if ``A`` is not square, finite and symmetric.
    """
    a, numpy = _as_torch(A, "A")
    _symmetric(a.detach(), "A")
    lam, V = torch.linalg.eigh(a)
    return _out(numpy, lam, V * _signs(V))


def svd_signed(A: Any) -> tuple[Any, Any, Any]:
    """Thin SVD ``A = U diag(σ) Vᵀ`` with each ``v_i``'s largest entry positive (``u_i`` follows).

    Args:
        A: (m, p) matrix, numpy or torch (differentiable through torch's ``svd``).

    Returns:
        ``(U, σ, V)``: (m, r), (r,) descending, (p, r) with ``r = min(m, p)``; numpy or torch like
        ``A``. Note ``V``, not ``Vᵀ``.

    Raises:
        TypeError: if ``A`` is not a floating numpy array or torch tensor.
        ValueError: if ``A`` is not a finite, non-empty 2-D matrix.
    """
    a, numpy = _as_torch(A, "A")
    if a.ndim != 2 or 0 in a.shape or not torch.isfinite(a.detach()).all():
        raise ValueError(f"A has shape {tuple(a.shape)}; it must be a finite, non-empty (m, p)")
    U, s, Vh = torch.linalg.svd(a, full_matrices=False)
    V = Vh.mT
    sg = _signs(V)
    return _out(numpy, U * sg, s, V * sg)


def _gap_matrix(vals: torch.Tensor, name: str, what: str, rtol: float) -> torch.Tensor:
    """``F_ij = 1 / (vals_j - vals_i)`` off the diagonal, 0 on it; raise if two values coincide."""
    n = vals.numel()
    diff = vals.reshape(1, -1) - vals.reshape(-1, 1)  # diff[i, j] = vals_j - vals_i
    off = ~torch.eye(n, dtype=torch.bool, device=vals.device)
    if n > 1:
        gaps = diff.abs().masked_fill(~off, float("inf"))
        g = float(gaps.min())
        scale = max(float(vals.abs().max()), 1e-300)
        if g <= rtol * scale or g == 0:
            i, j = divmod(int(gaps.argmin()), n)
            raise ValueError(
                f"{what} {i} and {j} of {name} coincide ({float(vals[i]):.6g} and "
                f"{float(vals[j]):.6g}, gap {g:.1e} <= {rtol:.1e} × {scale:.2e}): the vectors of a "
                "repeated value are not unique, so they have no derivative. Differentiate a "
                "function of the whole cluster instead (the sum of its values, or the projector "
                "onto its space)"
            )
    return torch.where(off, 1.0 / torch.where(off, diff, torch.ones_like(diff)), 0.0)


def eigh_jvp(A: Any, dA: Any, *, gap_rtol: float | None = None) -> tuple[Any, Any]:
    """Differentials ``(dλ, dV)`` of :func:`eigh_signed` at ``A`` along a symmetric ``dA``.

    ``dλ_i = v_iᵀ dA v_i`` and ``dV = V (F ∘ (Vᵀ dA V))`` with ``F_ij = 1 / (λ_j - λ_i)``
    (``F_ii = 0``): each eigenvector moves towards the others in proportion to the coupling
    ``v_jᵀ dA v_i`` and inversely to the gap. ``Vᵀ dV`` is skew-symmetric, as it must be for
    ``VᵀV = I`` to persist.

    Args:
        A: (n, n) symmetric matrix with distinct eigenvalues.
        dA: (n, n) symmetric direction.
        gap_rtol: two eigenvalues count as equal when their gap is at most
            ``gap_rtol * max|λ|``; default ``10 n eps``.

    Returns:
        ``(dλ, dV)``: (n,) and (n, n), numpy or torch like ``A``.

    Raises:
        TypeError: on a non-floating input.
        ValueError: if ``A`` or ``dA`` is not square, finite and symmetric, their shapes differ,
            or two eigenvalues of ``A`` coincide (the eigenvectors are not differentiable).
    """
    a, numpy = _as_torch(A, "A")
    da, _ = _as_torch(dA, "dA")
    a, da = a.detach(), da.detach().to(dtype=a.dtype, device=a.device)
    _symmetric(a, "A")
    _same_shape(a, da, ("A", "dA"))
    _symmetric(da, "dA")
    lam, V = eigh_signed(a)
    rtol = 10 * a.shape[0] * _eps(a) if gap_rtol is None else gap_rtol
    F = _gap_matrix(lam, "A", "eigenvalues", rtol)
    P = V.T @ da @ V
    return _out(numpy, torch.diagonal(P).clone(), V @ (F * P))


def eigh_vjp(
    A: Any, lam_bar: Any | None, V_bar: Any | None, *, gap_rtol: float | None = None
) -> Any:
    """Reverse rule of :func:`eigh_signed`: the gradient ``Ā`` of ``⟨λ̄, λ⟩ + ⟨V̄, V⟩`` in ``A``.

    ``Ā = sym(V (diag(λ̄) + F ∘ (Vᵀ V̄)) Vᵀ)`` with ``F_ij = 1 / (λ_j - λ_i)``, so that
    ``⟨Ā, dA⟩ = ⟨λ̄, dλ⟩ + ⟨V̄, dV⟩`` for every symmetric ``dA`` (the adjoint of
    :func:`eigh_jvp`; Giles 2008). It is the gradient on the symmetric matrices, hence symmetric.

    Args:
        A: (n, n) symmetric matrix with distinct eigenvalues.
        lam_bar: (n,) cotangent of the eigenvalues, or ``None`` for zero.
        V_bar: (n, n) cotangent of the eigenvectors, or ``None`` for zero (then no gap is needed).
        gap_rtol: as for :func:`eigh_jvp`.

    Returns:
        (n, n) symmetric ``Ā``, numpy or torch like ``A``.

    Raises:
        TypeError: on a non-floating input.
        ValueError: bad shapes, non-symmetric ``A``, both cotangents ``None``, or coinciding
            eigenvalues while ``V_bar`` is given.
    """
    a, numpy = _as_torch(A, "A")
    a = a.detach()
    _symmetric(a, "A")
    n = a.shape[0]
    if lam_bar is None and V_bar is None:
        raise ValueError("lam_bar and V_bar are both None; give at least one cotangent")
    lam, V = eigh_signed(a)
    M = torch.zeros_like(a)
    if lam_bar is not None:
        lb = _as_torch(lam_bar, "lam_bar")[0].detach().to(a)
        if tuple(lb.shape) != (n,):
            raise ValueError(f"lam_bar has shape {tuple(lb.shape)}; it needs ({n},) like λ")
        M = M + torch.diag(lb)
    if V_bar is not None:
        vb = _as_torch(V_bar, "V_bar")[0].detach().to(a)
        _same_shape(a, vb, ("A", "V_bar"))
        rtol = 10 * n * _eps(a) if gap_rtol is None else gap_rtol
        M = M + _gap_matrix(lam, "A", "eigenvalues", rtol) * (V.T @ vb)
    G = V @ M @ V.T
    return _out(numpy, (G + G.T) / 2)


def svd_jvp(A: Any, dA: Any, *, gap_rtol: float | None = None) -> tuple[Any, Any, Any]:
    """Differentials ``(dU, dσ, dV)`` of :func:`svd_signed` at ``A`` along ``dA``.

    With ``P = Uᵀ dA V``, ``S = diag(σ)`` and ``F_ij = 1 / (σ_j² - σ_i²)`` (``F_ii = 0``):
    ``dσ = diag(P)``, ``dU = U (F ∘ (P S + S Pᵀ)) + (I - U Uᵀ) dA V S⁻¹`` and
    ``dV = V (F ∘ (S P + Pᵀ S)) + (I - V Vᵀ) dAᵀ U S⁻¹``. The second terms move the singular
    vectors out of their current span; they vanish for a square ``A``.

    Args:
        A: (m, p) matrix with distinct singular values (and, if ``m ≠ p``, all positive).
        dA: (m, p) direction.
        gap_rtol: two singular values count as equal (or one as zero) within
            ``gap_rtol * σ_max``; default ``10 max(m, p) eps``.

    Returns:
        ``(dU, dσ, dV)``: (m, r), (r,), (p, r) with ``r = min(m, p)``; numpy or torch like ``A``.

    Raises:
        TypeError: on a non-floating input.
        ValueError: bad or different shapes, NaN/Inf, coinciding singular values, or a zero one in
            a rectangular ``A``.
    """
    a, numpy = _as_torch(A, "A")
    da, _ = _as_torch(dA, "dA")
    a, da = a.detach(), da.detach().to(dtype=a.dtype, device=a.device)
    _same_shape(a, da, ("A", "dA"))
    if not torch.isfinite(da).all():
        raise ValueError("dA holds NaN or Inf")
    U, s, V = svd_signed(a)
    m, p = a.shape
    rtol = 10 * max(m, p) * _eps(a) if gap_rtol is None else gap_rtol
    _gap_matrix(s, "A", "singular values", rtol)  # raises where two coincide
    F = _gap_matrix(s**2, "A", "squared singular values", 0.0)
    S = torch.diag(s)
    P = U.T @ da @ V
    dU = U @ (F * (P @ S + S @ P.T))
    dV = V @ (F * (S @ P + P.T @ S))
    if m != p:
        if float(s.min()) <= rtol * float(s.max()):
            raise ValueError(
                f"A ({m}×{p}) has a zero singular value ({float(s.min()):.2e}): the singular "
                "vectors outside the span are not differentiable; perturb A to full rank"
            )
        inv_s = 1.0 / s
        if m > p:
            dU = dU + (da @ V - U @ P) * inv_s
        else:
            dV = dV + (da.T @ U - V @ P.T) * inv_s
    return _out(numpy, dU, torch.diagonal(P).clone(), dV)
