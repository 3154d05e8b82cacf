"""Critical points and second-order conditions: what a stationary point is, from its Hessian.

**Unconstrained.** At a critical point ``x⋆`` of a twice continuously differentiable scalar
``f`` (``∇f(x⋆) = 0``; ``x`` a vector or an array of any shape, ``N`` entries, Hessians with
respect to the book's column-major ``vec``), Taylor's formula is
``f(x⋆ + h) = f(x⋆) + ½ d²f[h, h] + o(‖h‖²)``. With the inertia ``(n₊, n₋, n₀)`` of the
``(N, N)`` Hessian (the numbers of positive, negative and zero eigenvalues, counted by
:func:`hessnotes.newton.inertia`), the point is

* ``"local minimum"`` (strict) when ``n₊ = N``; ``"local maximum"`` (strict) when ``n₋ = N``;
* ``"saddle point"`` when ``n₊ > 0`` and ``n₋ > 0``;
* ``"not a local minimum"`` when ``n₋ > 0 = n₊`` and ``n₀ > 0`` (it may be a maximum);
* ``"degenerate stationary point"`` when ``n₋ = 0 < n₀``: the second-order test cannot decide.

An eigenvector ``v`` of a negative eigenvalue ``λ`` is a *descent direction*:
``f(x⋆ + tv) = f(x⋆) + ½λt² + o(t²) < f(x⋆)`` for small ``t ≠ 0``. :func:`classify` returns a
:class:`CriticalPoint` with the inertia, the kind, and unit directions of most negative and most
positive curvature (and the flat ones); :func:`kind_of` maps an inertia to its kind, in the
words of :class:`hessnotes.newton.NewtonRecord`.

**Equality constraints.** Minimise ``f(x)`` subject to ``c(x) = 0``, ``c`` with ``m`` outputs, and
``C = ∂vec c / ∂vec x`` the ``(m, N)`` constraint Jacobian, of full row rank ``m`` (the linear
independence constraint qualification). The first-order condition is ``∇f(x⋆) = Cᵀμ`` for
multipliers ``μ ∈ Rᵐ``; the second-order conditions concern the Hessian of the Lagrangian
``W = ∇²ₓₓ(f - μᵀc)`` *on the tangent space* ``null(C)``: with ``Z`` an ``(N, N - m)``
orthonormal basis of it (:func:`tangent_basis`), the *reduced Hessian* ``ZᵀWZ``
(:func:`reduced_hessian`) is classified as above (:func:`classify_constrained`). Equivalently the
*bordered Hessian* ``𝓑 = [[0, C], [Cᵀ, W]]`` (:func:`bordered_hessian`) has the inertia of
``ZᵀWZ`` plus ``(m, m, 0)``, so the point is a strict local minimum on the constraint set exactly
when ``𝓑`` has ``N`` positive, ``m`` negative and no zero eigenvalues.

**Charts.** On a manifold (the sphere, the orthogonal group) a neighbourhood of ``x⋆`` can be
written ``w ↦ χ(w)`` with ``χ(0) = x⋆`` and ``χ′(0)`` injective onto the tangent space; at a
critical point the Hessian of ``f ∘ χ`` at ``w = 0`` is the Riemannian Hessian in those
coordinates, and its inertia does not depend on the chart (Sylvester's law of inertia).
:func:`skew_coordinates` gives orthonormal coordinates of the skew-symmetric matrices, the
tangent space of ``O(n)`` at ``I`` (see :mod:`hessnotes.orthogonal_group`).

**Evidence beyond the inertia.** :func:`changes_along` evaluates ``f`` along a direction (through
a retraction on a manifold) and :func:`sample_neighbourhood` at random points at given distances:
a minimum claimed from the inertia should show only increases, a saddle a decrease along its
descent direction.

Hessians are formed densely (``N²`` entries, refused above
:data:`hessnotes._linalg.MAX_DENSE_BYTES`). ``f`` and ``c`` are written in torch; a numpy point
gives numpy arrays back, a torch point torch tensors.

See the chapter "Critical points and second-order conditions".

Chapters: "Critical points and second-order conditions".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import grad

from hessnotes._linalg import (
    as_torch,
    check_finite,
    check_memory,
    check_positive_int,
    check_tol,
    eps_of,
    unvec,
    vec,
)
from hessnotes.linmaps import jacobian_matrix
from hessnotes.newton import inertia, kind_of

__all__ = [
    "CriticalPoint",
    "Neighbourhood",
    "bordered_hessian",
    "changes_along",
    "classify",
    "classify_constrained",
    "kind_of",
    "reduced_hessian",
    "sample_neighbourhood",
    "skew_coordinates",
    "tangent_basis",
]


# --------------------------------------------------------------------------------------------------
# The classification of an inertia
# --------------------------------------------------------------------------------------------------
def _counts_text(counts: tuple[int, int, int]) -> str:
    return f"{counts[0]} positive, {counts[1]} negative, {counts[2]} zero"


@dataclass(frozen=True)
class CriticalPoint:
    """A point, its first-order test and the second-order classification.

    Attributes:
        x: the point (numpy or torch, as given).
        gradient_norm: ``‖∇f(x)‖`` (unconstrained) or ``‖∇f(x) - Cᵀμ‖``, the norm of the gradient
            projected onto the tangent space (constrained).
        gtol: the tolerance the first-order test used.
        eigenvalues: ``(d,)`` eigenvalues, ascending, of the Hessian (``d = N``) or of the reduced
            Hessian (``d = N - m``).
        inertia: ``(n₊, n₋, n₀)`` of that matrix (:func:`hessnotes.newton.inertia`).
        descent: unit direction of the most negative curvature, of the shape of ``x`` (in the
            tangent space when constrained); ``None`` when no eigenvalue is negative.
        ascent: unit direction of the most positive curvature; ``None`` when none is positive.
        flat: ``(n₀, *x.shape)`` orthonormal directions of zero curvature.
        multipliers: ``(m,)`` Lagrange multipliers ``μ`` (constrained), else ``None``.
        constraint_norm: ``‖c(x)‖`` (constrained), else ``None``.
        ctol: the feasibility tolerance (constrained), else ``None``.
        bordered_inertia: inertia of the bordered Hessian (constrained), else ``None``; it is
            ``inertia + (m, m, 0)``.

    Directions have their largest entry (in absolute value) positive, so they are reproducible.
    """

    x: Any
    gradient_norm: float
    gtol: float
    eigenvalues: Any
    inertia: tuple[int, int, int]
    descent: Any
    ascent: Any
    flat: Any
    multipliers: Any = None
    constraint_norm: float | None = None
    ctol: float | None = None
    bordered_inertia: tuple[int, int, int] | None = None

    @property
    def constrained(self) -> bool:
        """Whether the point was classified on a constraint set."""
        return self.multipliers is not None

    @property
    def feasible(self) -> bool:
        """``‖c(x)‖ <= ctol`` (always True without constraints)."""
        return self.constraint_norm is None or self.constraint_norm <= self.ctol

    @property
    def stationary(self) -> bool:
        """Whether the first-order condition held: ``gradient_norm <= gtol``, and feasible."""
        return self.feasible and self.gradient_norm <= self.gtol

    @property
    def kind(self) -> str:
        """:func:`kind_of` the inertia at a stationary point; ``"not feasible"`` or
        ``"not a critical point"`` otherwise (the inertia then classifies nothing)."""
        if not self.feasible:
            return "not feasible"
        if not self.stationary:
            return "not a critical point"
        return kind_of(self.inertia)

    @property
    def minimum(self) -> bool:
        """Whether the second-order sufficient condition for a strict local minimum holds."""
        return self.kind == "local minimum"

    def __str__(self) -> str:
        which = "reduced Hessian" if self.constrained else "Hessian"
        counts = f"{which} inertia: {_counts_text(self.inertia)}"
        if self.bordered_inertia is not None:
            counts += f" (bordered Hessian: {_counts_text(self.bordered_inertia)})"
        grad_name = "‖∇f - Cᵀμ‖" if self.constrained else "‖∇f‖"
        if not self.feasible:
            return (
                f"not feasible: ‖c(x)‖ = {self.constraint_norm:.1e} > tol {self.ctol:.1e}; the "
                f"{which}'s inertia classifies nothing here"
            )
        if not self.stationary:
            return (
                f"not a critical point: {grad_name} = {self.gradient_norm:.2g} > tol "
                f"{self.gtol:.1e}; the {which}'s inertia ({_counts_text(self.inertia)}) "
                "classifies nothing here"
            )
        where = " on the constraint set" if self.constrained else ""
        return (
            f"{self.kind}{where}: {grad_name} = {self.gradient_norm:.1e} <= {self.gtol:.1e}; "
            f"{counts}"
        )

    __repr__ = __str__


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _point(x: Any, name: str = "x") -> tuple[torch.Tensor, bool]:
    t, numpy = as_torch(x, name)
    t = t.detach()
    if t.numel() == 0:
        raise ValueError(f"{name} has shape {tuple(t.shape)}; it needs at least one entry")
    check_finite(t, name)
    return t, numpy


def _out(t: Any, numpy: bool) -> Any:
    if t is None or not isinstance(t, torch.Tensor):
        return t
    return t.detach().cpu().numpy() if numpy else t.detach()


def _args(args: tuple) -> tuple:
    """Numpy arrays among ``f``'s further arguments become torch tensors (``f`` is torch code)."""
    return tuple(
        torch.from_numpy(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else a for a in args
    )


def _scalar(f: Callable[..., Any], args: tuple, what: str = "f") -> Callable[[torch.Tensor], Any]:
    args = _args(args)

    def fx(z: torch.Tensor) -> torch.Tensor:
        v = f(z, *args)
        if not isinstance(v, torch.Tensor):
            raise TypeError(
                f"{what} returned {type(v).__name__}; write {what} in torch so that autograd can "
                "differentiate it"
            )
        if v.numel() != 1:
            raise ValueError(
                f"{what} returned shape {tuple(v.shape)}; a critical point is a point of a scalar "
                "function"
            )
        return v.reshape(())

    return fx


def _hessian_memory(N: int, dtype: torch.dtype, what: str) -> None:
    itemsize = torch.empty((), dtype=dtype).element_size()
    check_memory(
        3.0 * N * N * itemsize,
        f"{what}: the dense Hessian of N = {N} entries ({N}×{N}, with its eigenvectors)",
        "classify a smaller problem, or probe the curvature with Hessian-vector products "
        "(hessnotes.hvp, hessnotes.lanczos)",
    )


def _finite(t: torch.Tensor, what: str) -> None:
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{what} holds NaN or Inf at this point; f must be smooth here")


def _signed(V: torch.Tensor) -> torch.Tensor:
    """Columns with their largest-magnitude entry positive (a reproducible sign)."""
    if V.shape[1] == 0:
        return V
    idx = V.abs().argmax(dim=0)
    s = torch.sign(V[idx, torch.arange(V.shape[1])])
    return V * torch.where(s == 0, torch.ones_like(s), s)


def _directions(
    M: torch.Tensor, basis: torch.Tensor | None, shape: tuple[int, ...], rtol: float | None
) -> tuple[torch.Tensor, tuple[int, int, int], Any, Any, torch.Tensor]:
    """Eigenvalues, inertia and the descent/ascent/flat directions of a symmetric ``M``.

    The counts come from :func:`hessnotes.newton.inertia`; the directions are taken by position in
    the ascending eigenvalues (the first ``n₋`` negative, the last ``n₊`` positive), so they agree
    with the counts by construction.
    """
    counts = inertia(M, rtol=rtol)
    ev, V = torch.linalg.eigh((M + M.mT) / 2)
    V = _signed(V if basis is None else basis @ V)
    pos, neg, zero = counts

    def as_array(j: int) -> torch.Tensor:
        return unvec(V[:, j], shape)

    descent = as_array(0) if neg else None
    ascent = as_array(V.shape[1] - 1) if pos else None
    flat = torch.stack([as_array(j) for j in range(neg, neg + zero)]) if zero else None
    if flat is None:
        flat = V.new_zeros((0, *shape))
    return ev, counts, descent, ascent, flat


def _default_gtol(dtype: torch.dtype, hess_norm: float, x_norm: float, grad_norm: float = 0.0):
    # A computed critical point is exact to about eps·‖x‖, so its gradient is about
    # ‖∇²f‖·eps·‖x‖; the test allows sqrt(eps) times that scale (and never less than sqrt(eps)).
    return math.sqrt(eps_of(dtype)) * max(1.0, hess_norm * x_norm, grad_norm)


# --------------------------------------------------------------------------------------------------
# Unconstrained
# --------------------------------------------------------------------------------------------------
def classify(
    f: Callable[..., torch.Tensor],
    x: Any,
    *args: Any,
    gtol: float | None = None,
    rtol: float | None = None,
) -> CriticalPoint:
    """Classify ``x`` as a critical point of the scalar ``f(x, *args)`` by its Hessian's inertia.

    The gradient and the ``(N, N)`` Hessian (vec convention) come from autograd
    (``torch.func.grad`` and :func:`hessnotes.linmaps.jacobian_matrix` of it).

    Args:
        f: scalar function written in torch.
        x: the point: a vector, a matrix or any array (numpy or torch, float32 or float64).
        *args: further arguments of ``f``, held fixed (numpy arrays are passed as torch tensors).
        gtol: the first-order test ``‖∇f(x)‖ <= gtol``; default
            ``sqrt(eps) · max(1, ‖∇²f(x)‖₂ ‖x‖)``, the gradient left by a point exact to roundoff
            with a margin of ``eps^(-1/2)``.
        rtol: an eigenvalue ``e`` counts as zero when ``|e| <= rtol · max|e|``; default
            ``10 N eps`` (see :func:`hessnotes.newton.inertia`).

    Returns:
        CriticalPoint; ``print`` it for the verdict, ``.kind`` for the word, ``.descent`` for a
        direction along which ``f`` decreases (if any).

    Raises:
        TypeError: if ``x`` is not a float32/float64 array or tensor, or ``f`` does not return a
            torch tensor.
        ValueError: if ``x`` is empty or holds NaN/Inf, ``f`` is not scalar, its gradient or
            Hessian is not finite at ``x``, the Hessian would be too large, or a tolerance is
            invalid.
    """
    t, numpy = _point(x)
    gtol = None if gtol is None else check_tol(gtol, "gtol")
    rtol = None if rtol is None else check_tol(rtol, "rtol")
    N, shape = t.numel(), tuple(t.shape)
    _hessian_memory(N, t.dtype, "classify")
    fx = _scalar(f, args)
    g = grad(fx)(t)
    _finite(g, "the gradient of f")
    H = jacobian_matrix(grad(fx), t)
    _finite(H, "the Hessian of f")
    ev, counts, descent, ascent, flat = _directions(H, None, shape, rtol)
    gnorm = float(torch.linalg.vector_norm(g))
    hnorm = float(ev.abs().max())
    tol = (
        _default_gtol(t.dtype, hnorm, float(torch.linalg.vector_norm(t))) if gtol is None else gtol
    )
    return CriticalPoint(
        x=_out(t, numpy),
        gradient_norm=gnorm,
        gtol=tol,
        eigenvalues=_out(ev, numpy),
        inertia=counts,
        descent=_out(descent, numpy),
        ascent=_out(ascent, numpy),
        flat=_out(flat, numpy),
    )


# --------------------------------------------------------------------------------------------------
# Equality constraints
# --------------------------------------------------------------------------------------------------
def _matrix_pair(W: Any, C: Any) -> tuple[torch.Tensor, torch.Tensor, bool]:
    w, numpy = as_torch(W, "W")
    c, numpy_c = as_torch(C, "C")
    if numpy != numpy_c:
        raise TypeError("W and C must be the same kind: both numpy arrays or both torch tensors")
    if c.dtype != w.dtype:
        raise TypeError(f"W has dtype {w.dtype} but C has dtype {c.dtype}; cast one to the other")
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] == 0:
        raise ValueError(f"W has shape {tuple(w.shape)}; pass the (N, N) Hessian of the Lagrangian")
    if c.ndim != 2 or c.shape[1] != w.shape[0]:
        raise ValueError(
            f"C has shape {tuple(c.shape)} but W is {tuple(w.shape)}; C must be the (m, N) "
            f"constraint Jacobian with N = {w.shape[0]} (one row per constraint)"
        )
    check_finite(w, "W")
    check_finite(c, "C")
    return w, c, numpy


def _null_basis(c: torch.Tensor, rtol: float | None) -> torch.Tensor:
    m, N = c.shape
    if m == 0:
        raise ValueError("C has no rows; without constraints use classify")
    _U, s, Vh = torch.linalg.svd(c, full_matrices=True)
    rtol = max(m, N) * eps_of(c.dtype) * 10 if rtol is None else check_tol(rtol, "rtol")
    rank = int((s > rtol * s[0]).sum()) if float(s[0]) > 0 else 0
    if rank < m:
        raise ValueError(
            f"the constraint Jacobian C ({m}×{N}) has rank {rank} < m = {m}: the constraints are "
            "redundant or degenerate here, so the multipliers are not unique. Remove redundant "
            "constraints (e.g. keep only vech(QᵀQ - I), the lower triangle, for QᵀQ = I)"
        )
    if m >= N:
        raise ValueError(
            f"C has shape {(m, N)}: {m} independent constraints on {N} unknowns leave no tangent "
            "directions (the feasible points are isolated); there is nothing to classify"
        )
    return Vh[m:].mT


def tangent_basis(C: Any, *, rtol: float | None = None) -> Any:
    """Orthonormal basis ``Z`` of the tangent space ``null(C) = {h : Ch = 0}`` of a constraint.

    From the SVD ``C = U Σ Vᵀ``: the last ``N - m`` right singular vectors.

    Args:
        C: ``(m, N)`` constraint Jacobian, ``m < N``, of full row rank.
        rtol: ``C`` counts as rank-deficient when ``σ_min <= rtol · σ_max``; default
            ``10 max(m, N) eps``.

    Returns:
        ``(N, N - m)`` matrix with ``ZᵀZ = I`` and ``CZ = 0`` (numpy or torch like ``C``).

    Raises:
        ValueError: if ``C`` is not 2-D, has ``m >= N`` rows, holds NaN/Inf, or is rank-deficient
            (the linear independence constraint qualification fails: the message says how to
            remove redundant constraints).
    """
    c, numpy = as_torch(C, "C")
    if c.ndim != 2:
        raise ValueError(f"C has shape {tuple(c.shape)}; pass the (m, N) constraint Jacobian")
    check_finite(c, "C")
    return _out(_null_basis(c.detach(), rtol), numpy)


def reduced_hessian(W: Any, C: Any, *, rtol: float | None = None) -> Any:
    """The reduced Hessian ``ZᵀWZ``: the Hessian of the Lagrangian on the tangent space.

    Args:
        W: ``(N, N)`` Hessian of the Lagrangian ``∇²ₓₓ(f - μᵀc)`` (symmetric).
        C: ``(m, N)`` constraint Jacobian of full row rank, ``m < N``.
        rtol: rank tolerance of :func:`tangent_basis`.

    Returns:
        ``(N - m, N - m)`` matrix ``ZᵀWZ`` with ``Z = tangent_basis(C)``; its inertia does not
        depend on the choice of orthonormal (or any) basis of ``null(C)``.

    Raises:
        TypeError: if ``W`` and ``C`` differ in kind or dtype.
        ValueError: bad shapes, NaN/Inf, or a rank-deficient ``C``.
    """
    w, c, numpy = _matrix_pair(W, C)
    Z = _null_basis(c.detach(), rtol)
    return _out(Z.mT @ w @ Z, numpy)


def bordered_hessian(W: Any, C: Any) -> Any:
    """The bordered Hessian ``𝓑 = [[0, C], [Cᵀ, W]]``, ``(m + N, m + N)``.

    With ``C`` of full row rank ``m`` and ``Z`` a basis of ``null(C)``,
    ``inertia(𝓑) = inertia(ZᵀWZ) + (m, m, 0)`` (by congruence, Sylvester's law of inertia), so the
    second-order conditions can be read off ``𝓑`` without a basis of the tangent space.

    Args:
        W: ``(N, N)`` Hessian of the Lagrangian.
        C: ``(m, N)`` constraint Jacobian.

    Returns:
        ``(m + N, m + N)`` symmetric matrix (numpy or torch like ``W``).

    Raises:
        TypeError: if ``W`` and ``C`` differ in kind or dtype.
        ValueError: bad shapes or NaN/Inf.
    """
    w, c, numpy = _matrix_pair(W, C)
    m = c.shape[0]
    top = torch.cat([c.new_zeros((m, m)), c], dim=1)
    bottom = torch.cat([c.mT, w], dim=1)
    return _out(torch.cat([top, bottom], dim=0), numpy)


def classify_constrained(
    f: Callable[..., torch.Tensor],
    c: Callable[[torch.Tensor], torch.Tensor],
    x: Any,
    *args: Any,
    gtol: float | None = None,
    ctol: float | None = None,
    rtol: float | None = None,
) -> CriticalPoint:
    """Classify ``x`` as a critical point of ``f(x, *args)`` on the set ``{c(x) = 0}``.

    Computes ``∇f`` and the constraint Jacobian ``C`` (autograd), the least-squares multipliers
    ``μ`` of ``∇f = Cᵀμ`` (exact at a critical point), the Hessian ``W`` of the Lagrangian
    ``f - μᵀ vec(c)``, the reduced Hessian ``ZᵀWZ`` on ``null(C)`` and the bordered Hessian.

    Args:
        f: scalar function written in torch.
        c: constraints, ``x ↦`` an array of ``m`` entries (any shape; rows of ``C`` follow
            ``vec(c(x))``), written in torch; extra data should be closed over.
        x: the point (numpy or torch).
        *args: further arguments of ``f`` (numpy arrays are passed as torch tensors).
        gtol: first-order test ``‖∇f - Cᵀμ‖ <= gtol``; default
            ``sqrt(eps) · max(1, ‖W‖₂ ‖x‖, ‖∇f‖)``.
        ctol: feasibility test ``‖c(x)‖ <= ctol``; default ``sqrt(eps) · max(1, ‖C‖₂ ‖x‖)``.
        rtol: zero-eigenvalue cut-off of :func:`hessnotes.newton.inertia` for the reduced and
            bordered Hessians (and the rank test of ``C``).

    Returns:
        CriticalPoint with ``multipliers``, ``constraint_norm`` and ``bordered_inertia`` set; its
        directions lie in the tangent space and have the shape of ``x``.

    Raises:
        TypeError, ValueError: as :func:`classify`; also if ``c`` has ``m >= N`` entries or its
            Jacobian is rank-deficient at ``x``.
    """
    t, numpy = _point(x)
    gtol = None if gtol is None else check_tol(gtol, "gtol")
    ctol = None if ctol is None else check_tol(ctol, "ctol")
    rtol = None if rtol is None else check_tol(rtol, "rtol")
    N, shape = t.numel(), tuple(t.shape)
    fx = _scalar(f, args)

    def cx(z: torch.Tensor) -> torch.Tensor:
        v = c(z)
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"c returned {type(v).__name__}; write the constraints in torch")
        return vec(v) if v.ndim else v.reshape(1)

    cval = cx(t)
    m = cval.numel()
    _hessian_memory(N + m, t.dtype, "classify_constrained")
    _finite(cval, "c(x)")
    g = vec(grad(fx)(t))
    _finite(g, "the gradient of f")
    C = jacobian_matrix(cx, t)
    _finite(C, "the constraint Jacobian")
    Z = _null_basis(C, rtol)
    mu = torch.linalg.lstsq(C.mT, g.reshape(-1, 1)).solution.reshape(-1)
    residual = float(torch.linalg.vector_norm(Z.mT @ g))

    def lagrangian(z: torch.Tensor) -> torch.Tensor:
        return fx(z) - mu @ cx(z)

    W = jacobian_matrix(grad(lagrangian), t)
    _finite(W, "the Hessian of the Lagrangian")
    R = Z.mT @ W @ Z
    ev, counts, descent, ascent, flat = _directions(R, Z, shape, rtol)
    bcounts = inertia(bordered_hessian(W, C), rtol=rtol)
    xn = float(torch.linalg.vector_norm(t))
    wn = float(torch.linalg.matrix_norm(W, ord=2))
    cn = float(torch.linalg.matrix_norm(C, ord=2))
    if gtol is None:
        gtol = _default_gtol(t.dtype, wn, xn, float(torch.linalg.vector_norm(g)))
    if ctol is None:
        ctol = _default_gtol(t.dtype, cn, xn)
    return CriticalPoint(
        x=_out(t, numpy),
        gradient_norm=residual,
        gtol=gtol,
        eigenvalues=_out(ev, numpy),
        inertia=counts,
        descent=_out(descent, numpy),
        ascent=_out(ascent, numpy),
        flat=_out(flat, numpy),
        multipliers=_out(mu, numpy),
        constraint_norm=float(torch.linalg.vector_norm(cval)),
        ctol=ctol,
        bordered_inertia=bcounts,
    )


# --------------------------------------------------------------------------------------------------
# Coordinates on O(n)
# --------------------------------------------------------------------------------------------------
def skew_coordinates(w: Any, n: int) -> Any:
    """The skew-symmetric ``Ω = Σ_{i<j} w_ij (e_ie_jᵀ - e_je_iᵀ)/√2``: orthonormal coordinates.

    The ``n(n-1)/2`` matrices ``(e_ie_jᵀ - e_je_iᵀ)/√2`` are an orthonormal basis of the skew
    matrices in the trace inner product, so ``‖Ω‖_F = ‖w‖`` and ``⟨Ω(u), Ω(w)⟩ = uᵀw``. The pairs
    ``i < j`` are ordered row by row: ``(0, 1), (0, 2), …, (0, n-1), (1, 2), …``
    (``torch.triu_indices(n, n, 1)``). Differentiable in ``w``. ``w ↦ Q exp(Ω(w))`` is a chart of
    ``O(n)`` around ``Q``.

    Args:
        w: ``(n(n-1)/2,)`` coordinates (numpy or torch).
        n: the matrix size, ``n >= 2``.

    Returns:
        ``(n, n)`` skew-symmetric matrix, numpy or torch like ``w``.

    Raises:
        ValueError: if ``n < 2`` or ``w`` is not a vector of length ``n(n-1)/2``.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n={n!r}; the skew matrices need n >= 2")
    t, numpy = as_torch(w, "w")
    d = n * (n - 1) // 2
    if t.ndim != 1 or t.shape[0] != d:
        raise ValueError(
            f"w has shape {tuple(t.shape)}; for n = {n} it must be a vector of n(n-1)/2 = {d} "
            "coordinates"
        )
    i, j = torch.triu_indices(n, n, 1, device=t.device)
    upper = t.new_zeros((n, n)).index_put((i, j), t / math.sqrt(2))
    omega = upper - upper.mT
    return omega.detach().cpu().numpy() if numpy else omega  # torch: differentiable in w


# --------------------------------------------------------------------------------------------------
# Evidence: along a direction, and in a sampled neighbourhood
# --------------------------------------------------------------------------------------------------
def _retraction(retract: Callable | None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if retract is None:
        return lambda z, v: z + v
    return lambda z, v: torch.as_tensor(retract(z, v))


def changes_along(
    f: Callable[..., torch.Tensor],
    x: Any,
    direction: Any,
    ts: Sequence[float],
    *args: Any,
    retract: Callable[[Any, Any], Any] | None = None,
) -> np.ndarray:
    """``f(R(x, t·d)) - f(x)`` for each ``t`` in ``ts``, with ``R(x, v) = x + v`` by default.

    Args:
        f: scalar function written in torch.
        x: the point.
        direction: ``d``, of the shape of ``x`` (a tangent vector on a manifold).
        ts: step lengths (any signs, none zero).
        *args: further arguments of ``f``.
        retract: ``R(x, v)``, a point of the manifold near ``x`` for a tangent step ``v`` (e.g.
            ``(x + v)/‖x + v‖`` on the sphere, ``Q exp(Qᵀv)`` on ``O(n)``); called with torch
            tensors.

    Returns:
        ``(len(ts),)`` float64 numpy array of the changes.

    Raises:
        ValueError: if ``direction`` differs in shape from ``x``, is zero, ``ts`` is empty or
            holds 0, NaN or Inf, or ``f`` is not finite there.
    """
    t, _ = _point(x)
    d, _ = _point(direction, "direction")
    d = d.to(dtype=t.dtype, device=t.device)
    if tuple(d.shape) != tuple(t.shape):
        raise ValueError(
            f"direction has shape {tuple(d.shape)} but x has shape {tuple(t.shape)}; they must "
            "match"
        )
    if float(torch.linalg.vector_norm(d)) == 0:
        raise ValueError("direction is zero; give a nonzero direction")
    steps = np.asarray(ts, dtype=np.float64).reshape(-1)
    if steps.size == 0 or not np.isfinite(steps).all() or (steps == 0).any():
        raise ValueError(f"ts={list(steps)}; give nonzero finite step lengths")
    fx = _scalar(f, args)
    R = _retraction(retract)
    f0 = float(fx(t))
    out = np.array([float(fx(R(t, float(s) * d))) - f0 for s in steps])
    if not np.isfinite(out).all():
        raise ValueError("f is not finite at some of the points along the direction")
    return out


@dataclass(frozen=True)
class Neighbourhood:
    """Changes ``f(x') - f(x)`` at random points ``x'`` at given distances from ``x``.

    Attributes:
        radii: ``(r,)`` distances (lengths of the tangent steps).
        differences: ``(r, samples)`` float64 changes, one row per radius.
    """

    radii: np.ndarray
    differences: np.ndarray

    @property
    def lowest(self) -> np.ndarray:
        """``(r,)`` smallest change at each radius."""
        return self.differences.min(axis=1)

    @property
    def highest(self) -> np.ndarray:
        """``(r,)`` largest change at each radius."""
        return self.differences.max(axis=1)

    @property
    def all_increase(self) -> bool:
        """Every sampled point has a larger value (evidence for a minimum)."""
        return bool((self.differences > 0).all())

    @property
    def all_decrease(self) -> bool:
        """Every sampled point has a smaller value (evidence for a maximum)."""
        return bool((self.differences < 0).all())

    def __str__(self) -> str:
        k = self.differences.shape[1]
        sign = "all > 0" if self.all_increase else "all < 0" if self.all_decrease else "both signs"
        rows = "; ".join(
            f"r = {r:.0e}: from {lo:.2e} to {hi:.2e}"
            for r, lo, hi in zip(self.radii, self.lowest, self.highest, strict=True)
        )
        return f"f(x') - f(x) at {k} random points at distance r: {rows} ({sign})"

    __repr__ = __str__


def sample_neighbourhood(
    f: Callable[..., torch.Tensor],
    x: Any,
    *args: Any,
    radii: Sequence[float] = (1e-3, 1e-2, 1e-1),
    samples: int = 200,
    seed: int = 0,
    tangent: Callable[[Any, Any], Any] | None = None,
    retract: Callable[[Any, Any], Any] | None = None,
) -> Neighbourhood:
    """Evaluate ``f`` at random points at distance ``r`` from ``x``, for each ``r`` in ``radii``.

    Each point is ``R(x, r·u)`` with ``u`` a seeded Gaussian array, projected onto the tangent
    space by ``tangent(x, ·)`` (default: kept as drawn) and scaled to unit norm; ``R`` is
    ``retract`` (default ``x + v``). A finite sample is evidence, not a proof: it can miss a
    narrow valley of descent (the chapter's exercise on Peano's surface).

    Args:
        f: scalar function written in torch.
        x: the point.
        *args: further arguments of ``f``.
        radii: positive distances.
        samples: points per radius (the same directions at every radius).
        seed: seed of the ``torch.Generator`` that draws the directions.
        tangent: ``(x, Z) ↦`` projection of ``Z`` onto the tangent space at ``x`` (e.g.
            :func:`hessnotes.tangent_project` on ``O(n)``).
        retract: ``(x, v) ↦`` a point near ``x``, as in :func:`changes_along`.

    Returns:
        Neighbourhood.

    Raises:
        ValueError: on empty or non-positive ``radii``, ``samples < 1``, a projected direction
            that is zero, or ``f`` not finite at a sampled point.
    """
    t, _ = _point(x)
    r = np.asarray(radii, dtype=np.float64).reshape(-1)
    if r.size == 0 or not np.isfinite(r).all() or (r <= 0).any():
        raise ValueError(f"radii={list(r)}; give positive finite distances")
    samples = check_positive_int(samples, "samples")
    fx = _scalar(f, args)
    R = _retraction(retract)
    project = (lambda z, u: u) if tangent is None else (lambda z, u: torch.as_tensor(tangent(z, u)))
    gen = torch.Generator().manual_seed(seed)
    f0 = float(fx(t))
    diffs = np.empty((r.size, samples))
    for k in range(samples):
        u = torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype)
        u = project(t, u)
        nu = float(torch.linalg.vector_norm(u))
        if nu == 0:
            raise ValueError("a projected direction is zero; check tangent(x, Z)")
        u = u / nu
        for i, ri in enumerate(r):
            diffs[i, k] = float(fx(R(t, float(ri) * u))) - f0
    if not np.isfinite(diffs).all():
        raise ValueError("f is not finite at some sampled points; use smaller radii")
    return Neighbourhood(r, diffs)
