"""Newton's method for equations and for minimisation, on vectors or matrices, with a record.

**Equations.** For ``g(x) = 0``: ``x ← x - g′(x)⁻¹ g(x)`` (:func:`newton_root`).

**Minimisation.** For a scalar ``f`` of an array ``X`` (a vector or a matrix): the second-order
model ``f(X + Δ) ≈ f(X) + ⟨∇f, Δ⟩ + ½ d²f[Δ, Δ]`` is stationary where ``∇²f vec(Δ) = -vec(∇f)``,
with ``∇²f`` the ``(N, N)`` Hessian with respect to ``vec(X)`` (the book's column-major vec), so
``X ← X + Δ`` (:func:`newton_minimize`). The Hessian is formed densely, ``N²`` entries for
``N = X.numel()``: fine for the small examples here, hopeless for an ``n × n`` matrix with large
``n`` (``n⁴`` entries), which is what the part "Hessians from gradients" is about.

Near a solution where the Jacobian (Hessian) is invertible and Lipschitz, the error squares at
every step: ``e_{k+1} <= C e_k²``. :func:`convergence_order` estimates the exponent from a record.

**Newton's step does not know minima from saddles.** It goes to the stationary point of the
quadratic model, whatever the signs of the Hessian's eigenvalues, and converges just as fast to a
saddle point as to a minimum. So :func:`newton_minimize` records the *inertia* of the Hessian at
the last iterate, the numbers of positive, negative and zero eigenvalues, and its record says
"local minimum" only when the gradient test held and every eigenvalue is positive (the
second-order sufficient condition); a negative eigenvalue makes it "not a local minimum", with
the count printed.

See the chapter "Second derivatives and Newton's method".

Chapters: "Second derivatives and Newton's method", "Critical points and second-order conditions",
"Adjoint methods".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import grad, hessian, jacfwd

from hessnotes._linalg import as_torch, check_tol, eps_of, unvec, vec, vec_matrix

__all__ = [
    "NewtonRecord",
    "convergence_order",
    "inertia",
    "kind_of",
    "newton_minimize",
    "newton_root",
]


@dataclass(frozen=True)
class NewtonRecord:
    """The outcome of a Newton iteration.

    Attributes:
        x: the last iterate (numpy or torch like ``x0``).
        errors: ``error(x_k)`` for ``k = 0, 1, …, steps``: by default the residual norm
            ``‖g(x_k)‖`` (roots) or the gradient norm ``‖∇f(x_k)‖_F`` (minimisation).
        iterates: ``x_0, …, x_steps`` (kept only with ``keep_iterates=True``, else empty).
        steps: Newton steps taken.
        converged: whether the stopping test held: a root, or a *stationary* point (which may be
            a saddle; see :attr:`kind`).
        inertia: for :func:`newton_minimize`, the numbers ``(positive, negative, zero)`` of
            eigenvalues of the ``(N, N)`` Hessian at ``x`` (they sum to ``N``); ``None`` for
            :func:`newton_root`, and for a run that diverged.
        diverged: whether the iteration stopped because an iterate (or its norm) overflowed or
            became NaN; then ``converged`` is False.

    ``print(record)`` gives a one-line verdict: ✓ for a root or a local minimum, ✗ for a
    stationary point that is not a local minimum, or a run that did not converge.
    """

    x: Any
    errors: tuple[float, ...]
    iterates: tuple[Any, ...]
    steps: int
    converged: bool
    inertia: tuple[int, int, int] | None = None
    diverged: bool = False

    @property
    def kind(self) -> str:
        """What the last iterate is.

        ``"root"`` (:func:`newton_root`, converged); for :func:`newton_minimize`, when converged:
        ``"local minimum"`` (every Hessian eigenvalue positive), ``"local maximum"`` (every one
        negative), ``"saddle point"`` (both signs), ``"not a local minimum"`` (negative and zero
        eigenvalues, none positive), ``"degenerate stationary point"`` (none negative, some zero:
        the second-order test cannot decide); ``"diverged"`` when an iterate overflowed;
        ``"not converged"`` otherwise.
        """
        if self.diverged:
            return "diverged"
        if not self.converged:
            return "not converged"
        if self.inertia is None:
            return "root"
        return kind_of(self.inertia)

    @property
    def minimum(self) -> bool:
        """Whether the run ended at a strict local minimum: converged, Hessian positive definite."""
        return self.kind == "local minimum"

    def __str__(self) -> str:
        steps = f"{self.steps} step{'s' * (self.steps != 1)}"
        if self.diverged:
            return f"✗ Newton: diverged after {steps} (the iterate overflowed or became NaN)"
        if self.inertia is None:
            what = f"converged in {steps}" if self.converged else f"not converged after {steps}"
            return f"{'✓' if self.converged else '✗'} Newton (equation): {what}"
        pos, neg, zero = self.inertia
        counts = f"Hessian inertia: {pos} positive, {neg} negative, {zero} zero"
        if not self.converged:
            return f"✗ Newton: not converged after {steps} ({counts} at the last iterate)"
        if self.minimum:
            return f"✓ Newton: local minimum after {steps} ({counts})"
        if self.kind == "degenerate stationary point":
            return (
                f"✗ Newton: stationary point after {steps}, degenerate: the second-order test "
                f"cannot decide ({counts})"
            )
        what = "" if self.kind == "not a local minimum" else f"a {self.kind}, "
        return (
            f"✗ Newton: stationary point after {steps}, {what}not a local minimum: "
            f"{neg} negative eigenvalue{'s' * (neg != 1)} ({counts})"
        )


def inertia(H: torch.Tensor, *, rtol: float | None = None) -> tuple[int, int, int]:
    """Numbers ``(positive, negative, zero)`` of eigenvalues of a symmetric matrix ``H``.

    ``H`` is symmetrised, ``(H + Hᵀ)/2``, and an eigenvalue ``e`` counts as zero when
    ``|e| <= rtol · max|e|`` (all zero if ``H = 0``). By Sylvester's law of inertia the counts
    are the same for ``Cᵀ H C`` with any invertible ``C``: they do not depend on the coordinates.

    Args:
        H: ``(N, N)`` torch tensor or numpy array.
        rtol: relative cut-off; default ``10 · N · eps`` of the dtype.

    Returns:
        ``(positive, negative, zero)``, summing to ``N``.

    Raises:
        ValueError: if ``H`` is not square or holds NaN or Inf.
    """
    M, _ = as_torch(H, "H")
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"H has shape {tuple(M.shape)}; pass a square (N, N) matrix")
    if not torch.isfinite(M).all():
        raise ValueError("H holds NaN or Inf; the inertia is not defined")
    N = M.shape[0]
    rtol = 10 * max(N, 1) * eps_of(M.dtype) if rtol is None else check_tol(rtol, "rtol")
    ev = torch.linalg.eigvalsh((M + M.mT) / 2) if N else M.new_zeros(0)
    tol = rtol * float(ev.abs().max()) if N else 0.0
    pos, neg = int((ev > tol).sum()), int((ev < -tol).sum())
    return pos, neg, N - pos - neg


def kind_of(counts: tuple[int, int, int]) -> str:
    """What a critical point is, from the inertia ``(n₊, n₋, n₀)`` of its (reduced) Hessian.

    Returns one of ``"local minimum"`` (no negative and no zero eigenvalue: the second-order
    sufficient condition), ``"local maximum"``, ``"saddle point"`` (both signs),
    ``"not a local minimum"`` (negative and zero eigenvalues, no positive one) and
    ``"degenerate stationary point"`` (no negative eigenvalue, some zero: undecided). The one
    home of these words: :attr:`NewtonRecord.kind` (a converged run) and
    :class:`hessnotes.critical.CriticalPoint` use it (``hessnotes.critical.kind_of`` re-exports it).

    Raises:
        ValueError: if ``counts`` is not three non-negative integers with a positive sum.
    """
    ok = isinstance(counts, tuple | list) and len(counts) == 3
    if not ok or not all(isinstance(k, int | np.integer) and k >= 0 for k in counts):
        raise ValueError(f"counts={counts!r}; pass the inertia (positive, negative, zero)")
    pos, neg, zero = (int(k) for k in counts)
    if pos + neg + zero == 0:
        raise ValueError("counts=(0, 0, 0): an empty Hessian classifies nothing")
    if neg == 0:
        return "local minimum" if zero == 0 else "degenerate stationary point"
    if pos == 0:
        return "local maximum" if zero == 0 else "not a local minimum"
    return "saddle point"


def _start(x0: Any) -> tuple[torch.Tensor, bool]:
    t, numpy = as_torch(x0, "x0")
    return t.detach().clone(), numpy


def _step(M: torch.Tensor, rhs: torch.Tensor, what: str, k: int) -> torch.Tensor:
    if not torch.isfinite(M).all() or not torch.isfinite(rhs).all():
        raise ValueError(f"step {k}: the {what} or the right-hand side holds NaN or Inf")
    try:
        return torch.linalg.solve(M, rhs)
    except torch.linalg.LinAlgError:
        raise ValueError(
            f"step {k}: the {what} ({M.shape[0]}×{M.shape[1]}) is singular; Newton's step is "
            "not defined there (start elsewhere, or regularise)"
        ) from None


def _out(x: torch.Tensor, numpy: bool) -> Any:
    return x.detach().cpu().numpy() if numpy else x.detach()


def _stopped(r_norm: float, stop: float, dx: torch.Tensor, x: torch.Tensor, tol: float) -> bool:
    """The stopping test: a small residual, or a step below roundoff of a *finite* iterate (once
    ``‖x‖`` overflows, ``‖Δ‖ <= tol · ‖x‖`` would hold for any step)."""
    x_norm = float(x.norm())
    return r_norm <= stop or (math.isfinite(x_norm) and float(dx.norm()) <= tol * x_norm)


def _overflowed(x: torch.Tensor, r: torch.Tensor) -> bool:
    return not (math.isfinite(float(x.norm())) and math.isfinite(float(r.norm())))


def _check_args(tol: float, maxiter: int) -> None:
    check_tol(tol, "tol", positive=True)
    if isinstance(maxiter, bool) or not isinstance(maxiter, int | np.integer) or maxiter < 0:
        raise ValueError(f"maxiter must be an integer >= 0; got maxiter={maxiter!r}.")


def newton_root(
    g: Callable[..., torch.Tensor],
    x0: Any,
    *args: Any,
    tol: float = 1e-12,
    maxiter: int = 50,
    error: Callable[[torch.Tensor], float] | None = None,
    keep_iterates: bool = False,
) -> NewtonRecord:
    """Solve ``g(x, *args) = 0`` by Newton's method with the Jacobian from ``torch.func.jacfwd``.

    Stops when ``‖g(x_k)‖ <= tol · max(1, ‖g(x_0)‖)``, when a step is below roundoff of the
    iterate (``‖Δ‖ <= tol · ‖x‖``: the residual then sits at its roundoff floor), or after
    ``maxiter`` steps.

    Args:
        g: residual written in torch, ``x`` of any shape to an array of the same size.
        x0: starting point (numpy or torch).
        *args: further arguments of ``g``, held fixed.
        tol: relative stopping tolerance on the residual norm.
        maxiter: most steps.
        error: ``x ↦`` the error to record (default: the residual norm).
        keep_iterates: also record every iterate.

    Returns:
        NewtonRecord.

    Raises:
        ValueError: if ``g(x)`` does not have as many entries as ``x``, the Jacobian is singular or
            not finite, or ``tol``/``maxiter`` are invalid.
    """
    _check_args(tol, maxiter)
    x, numpy = _start(x0)

    def res(z):
        return torch.as_tensor(g(z, *args))

    r = res(x)
    if r.numel() != x.numel():
        raise ValueError(
            f"g(x) has {r.numel()} entries but x has {x.numel()}; Newton's method needs as many "
            "equations as unknowns"
        )
    if not math.isfinite(float(r.norm())):
        raise ValueError("g(x0) is not finite (NaN or Inf): start from a point where g is defined")
    err = error or (lambda z: float(res(z).norm()))
    stop = tol * max(1.0, float(r.norm()))
    errors, iterates = [err(x)], [_out(x, numpy)] if keep_iterates else []
    converged = float(r.norm()) <= stop
    k = 0
    while not converged and k < maxiter:
        J = vec_matrix(jacfwd(res)(x), x.ndim) if x.ndim else jacfwd(res)(x).reshape(1, 1)
        dx = unvec(_step(J, -vec(r), "Jacobian", k), x.shape)
        x = x + dx
        k += 1
        r = res(x)
        errors.append(err(x))
        if keep_iterates:
            iterates.append(_out(x, numpy))
        if _overflowed(x, r):
            return NewtonRecord(
                _out(x, numpy), tuple(errors), tuple(iterates), k, False, None, True
            )
        converged = _stopped(float(r.norm()), stop, dx, x, tol)
    return NewtonRecord(_out(x, numpy), tuple(errors), tuple(iterates), k, converged)


def newton_minimize(
    f: Callable[..., torch.Tensor],
    x0: Any,
    *args: Any,
    hess: Callable[..., Any] | None = None,
    tol: float = 1e-12,
    maxiter: int = 50,
    error: Callable[[torch.Tensor], float] | None = None,
    keep_iterates: bool = False,
    inertia_rtol: float | None = None,
) -> NewtonRecord:
    """Newton's method for a scalar ``f(x, *args)`` of a vector or matrix ``x``.

    Each step solves ``∇²f(x) vec(Δ) = -vec(∇f(x))`` with the dense ``(N, N)`` Hessian in the vec
    convention (``torch.func.hessian`` by default, or the closed form ``hess(x, *args)``), and
    sets ``x ← x + Δ``: the stationary point of the quadratic model. No line search: this is the
    pure method, quadratically convergent near a non-degenerate stationary point.

    Stops when ``‖∇f(x_k)‖_F <= tol · max(1, ‖∇f(x_0)‖_F)``, when a step is below roundoff of the
    iterate (``‖Δ‖ <= tol · ‖x‖``), or after ``maxiter`` steps. Then it computes the Hessian at the
    last iterate once more and records its inertia: the stopping test finds a *stationary* point,
    and only the second-order condition (no negative and no zero eigenvalue) makes it a local
    minimum. ``record.kind`` and ``print(record)`` say which it is.

    To minimise over a subspace (for instance the symmetric matrices), write ``f`` in coordinates
    of the subspace (e.g. ``θ ↦ f(unvech(θ))``): Newton's iterates do not depend on the choice of
    coordinates, and by Sylvester's law of inertia neither does the inertia.

    Args:
        f: scalar function written in torch.
        x0: starting point, a vector or a matrix (numpy or torch).
        *args: further arguments of ``f``, held fixed.
        hess: optional closed-form Hessian, ``(N, N)`` with respect to ``vec(x)``.
        tol, maxiter, error, keep_iterates: as for :func:`newton_root` (the default error is the
            gradient norm).
        inertia_rtol: an eigenvalue ``e`` of the last Hessian counts as zero when
            ``|e| <= inertia_rtol · max|e|``; default ``10 · N · eps`` (see :func:`inertia`).

    Returns:
        NewtonRecord, with :attr:`~NewtonRecord.inertia` set.

    Raises:
        ValueError: if ``f`` is not scalar, ``hess`` returns the wrong shape, a Hessian is
            singular (during the steps) or not finite, or ``tol``/``maxiter`` are invalid.
    """
    _check_args(tol, maxiter)
    x, numpy = _start(x0)
    if x.ndim not in (1, 2):
        raise ValueError(f"x0 has shape {tuple(x.shape)}; pass a vector or a matrix")

    def fx(z):
        v = torch.as_tensor(f(z, *args))
        if v.numel() != 1:
            raise ValueError(f"f returned shape {tuple(v.shape)}; Newton minimises a scalar")
        return v.reshape(())

    gradient = grad(fx)
    N = x.numel()

    def hessian_matrix(z):
        if hess is None:
            return vec_matrix(hessian(fx)(z), z.ndim)
        H = torch.as_tensor(hess(z, *args), dtype=z.dtype)
        if tuple(H.shape) != (N, N):
            raise ValueError(
                f"hess returned shape {tuple(H.shape)}; it must be ({N}, {N}), the Hessian with "
                "respect to vec(x) (columns stacked)"
            )
        return H

    err = error or (lambda z: float(gradient(z).norm()))
    G = gradient(x)
    if not math.isfinite(float(G.norm())):
        raise ValueError("∇f(x0) is not finite (NaN or Inf): start from a point where f is smooth")
    stop = tol * max(1.0, float(G.norm()))
    errors, iterates = [err(x)], [_out(x, numpy)] if keep_iterates else []
    converged = float(G.norm()) <= stop
    k = 0
    while not converged and k < maxiter:
        dx = unvec(_step(hessian_matrix(x), -vec(G), "Hessian", k), x.shape)
        x = x + dx
        k += 1
        G = gradient(x)
        errors.append(err(x))
        if keep_iterates:
            iterates.append(_out(x, numpy))
        if _overflowed(x, G):
            return NewtonRecord(
                _out(x, numpy), tuple(errors), tuple(iterates), k, False, None, True
            )
        converged = _stopped(float(G.norm()), stop, dx, x, tol)
    counts = inertia(hessian_matrix(x), rtol=inertia_rtol)
    return NewtonRecord(_out(x, numpy), tuple(errors), tuple(iterates), k, converged, counts)


def convergence_order(errors: Any, *, floor: float = 0.0) -> np.ndarray:
    """Estimates ``q_k = log(e_{k+1} / e_k) / log(e_k / e_{k-1})`` of the order of convergence.

    For ``e_{k+1} ≈ C e_k^q`` the ratio tends to ``q``: 1 for linear convergence, 2 for Newton's
    quadratic convergence. Triples where an error is at most ``floor`` (roundoff) or the errors do
    not decrease are skipped.

    Args:
        errors: sequence of errors ``e_0, e_1, …``.
        floor: ignore errors at or below this level (e.g. ``100 eps``).

    Returns:
        1-D array of the estimates (possibly empty).

    Raises:
        ValueError: if ``errors`` is not 1-D or holds NaN or a negative value.
    """
    e = np.asarray(errors, dtype=np.float64)
    if e.ndim != 1 or np.isnan(e).any() or (e < 0).any():
        raise ValueError("errors must be a 1-D sequence of non-negative numbers")
    out = []
    for k in range(1, e.size - 1):
        a, b, c = e[k - 1], e[k], e[k + 1]
        if min(a, b, c) <= floor or not (a > b > c):
            continue
        out.append(np.log(c / b) / np.log(b / a))
    return np.asarray(out)
