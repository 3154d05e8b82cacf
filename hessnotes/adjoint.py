"""Adjoint methods: the gradient of ``f(x(p), p)`` where ``x(p)`` solves an equation.

**Linear.** If ``A(p) x = b(p)`` and ``J(p) = f(x(p), p)``, differentiating the equation gives
``A dx = -(dA x - db)``, so

``dJ = ∇ₓfᵀ dx + ∇ₚfᵀ dp = -λᵀ (dA x - db) + ∇ₚfᵀ dp``  with  ``Aᵀ λ = ∇ₓf``.

One extra (adjoint) solve with ``Aᵀ`` gives ``λ``, and then the whole gradient,
``∇J = ∇ₚf - (∂ₚr)ᵀ λ`` with ``r(x, p) = A(p) x - b(p)``, costs one VJP of ``r`` in ``p``, whatever
the number ``D`` of parameters (:func:`linear_adjoint_gradient`). Forward sensitivities instead
solve ``A ẋ_k = -∂r/∂p_k`` once per parameter: ``D`` more solves
(:func:`linear_forward_gradient`). This is reverse against forward mode again, applied to the
solve.

**Nonlinear.** If ``g(x, p) = 0`` defines ``x(p)`` (implicit function theorem: ``∂ₓg``
invertible), the same argument with ``∂ₓg`` in place of ``A`` gives
``∇J = ∇ₚf - (∂ₚg)ᵀ λ`` with ``(∂ₓg)ᵀ λ = ∇ₓf`` (:func:`implicit_adjoint_gradient`).

**Second order.** With the Lagrangian ``L(x, p, λ) = f(x, p) - λᵀ g(x, p)``, ``∇J(p) = ∇ₚL`` at
``(x(p), p, λ(p))``. Differentiating along a direction ``v`` of ``p`` needs ``ẋ = dx[v]`` (one
tangent solve with ``∂ₓg``) and ``λ̇ = dλ[v]`` (one second-order adjoint solve with ``(∂ₓg)ᵀ``), and
gives the Hessian-vector product ``∇²J(p) v`` for two solves more than the gradient, whatever the
number ``D`` of parameters (:func:`adjoint_hvp`).

:func:`rod_problem` is the model problem of the chapter "Adjoint methods": steady heat flow in a
rod whose conductivity has ``D`` parameters, and :func:`sensitivity_timings` times both methods.

Chapters: "Adjoint methods".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import grad, grad_and_value, jacfwd, jvp, vjp

from hessnotes._linalg import as_torch
from hessnotes.newton import newton_root
from hessnotes.timing import best_time, torch_threads

__all__ = [
    "AdjointHvp",
    "AdjointResult",
    "RodProblem",
    "adjoint_hvp",
    "implicit_adjoint_gradient",
    "linear_adjoint_gradient",
    "linear_forward_gradient",
    "rod_problem",
    "sensitivity_timings",
]


@dataclass(frozen=True)
class AdjointResult:
    """A gradient of ``J(p) = f(x(p), p)`` and what it cost.

    Attributes:
        value: ``J(p)`` (a 0-d tensor, or a float for numpy input).
        gradient: ``∇J(p)``, the shape of ``p`` (numpy or torch like ``p``).
        x: the solution ``x(p)``.
        adjoint: the adjoint ``λ`` (``None`` for forward sensitivities).
        solves: calls of the linear solver (each factorizes a matrix).
        right_hand_sides: right-hand sides solved for in total.
        method: ``"adjoint"``, ``"forward"``, ``"forward, one batched solve"`` or ``"implicit"``.
    """

    value: Any
    gradient: Any
    x: Any
    adjoint: Any
    solves: int
    right_hand_sides: int
    method: str


def _params(p: Any) -> tuple[torch.Tensor, bool]:
    t, numpy = as_torch(p, "p")
    t = t.detach()
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"p has shape {tuple(t.shape)}; pass the parameters as a non-empty 1-D")
    if not torch.isfinite(t).all():
        raise ValueError("p holds NaN or Inf")
    return t, numpy


def _system(A, b, p) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    Ap = torch.as_tensor(A(p))
    if Ap.ndim != 2 or Ap.shape[0] != Ap.shape[1]:
        raise ValueError(f"A(p) has shape {tuple(Ap.shape)}; it must be a square (n, n) matrix")
    if callable(b):
        b_of = b
    else:
        b_fixed = torch.as_tensor(b)

        def b_of(q: torch.Tensor) -> torch.Tensor:
            return b_fixed

    bp = torch.as_tensor(b_of(p))
    if tuple(bp.shape) != (Ap.shape[0],):
        raise ValueError(
            f"b has shape {tuple(bp.shape)} but A(p) is {tuple(Ap.shape)}; b needs shape "
            f"({Ap.shape[0]},)"
        )
    return Ap, b_of


def _solve(M: torch.Tensor, rhs: torch.Tensor, what: str) -> torch.Tensor:
    try:
        return torch.linalg.solve(M, rhs)
    except torch.linalg.LinAlgError as e:
        raise ValueError(f"{what} is singular: {e}; the solution x(p) is not defined") from None


def _value_and_grads(f, x, p) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    def scalar(x, p):
        v = torch.as_tensor(f(x, p))
        if v.numel() != 1:
            raise ValueError(f"f(x, p) has shape {tuple(v.shape)}; it must return a scalar")
        return v.reshape(())

    (gx, gp), val = grad_and_value(scalar, argnums=(0, 1))(x, p)
    return val, gx, gp


def _result(val, grad, x, lam, solves, rhs, method, numpy) -> AdjointResult:
    if numpy:
        return AdjointResult(
            float(val),
            grad.detach().cpu().numpy(),
            x.detach().cpu().numpy(),
            None if lam is None else lam.detach().cpu().numpy(),
            solves,
            rhs,
            method,
        )
    return AdjointResult(val.detach(), grad.detach(), x.detach(), lam, solves, rhs, method)


def linear_adjoint_gradient(
    A: Callable[[torch.Tensor], torch.Tensor],
    b: Any,
    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    p: Any,
) -> AdjointResult:
    """Gradient of ``J(p) = f(x(p), p)``, ``A(p) x = b(p)``, by one adjoint solve.

    Solves ``A x = b`` and ``Aᵀ λ = ∇ₓf(x, p)``, then ``∇J = ∇ₚf - (∂ₚr)ᵀ λ`` with
    ``r(x, p) = A(p) x - b(p)``, the last term one ``torch.func.vjp`` of ``r`` in ``p`` at fixed
    ``x`` (``-λᵀ (∂A/∂p_k) x`` for each ``k`` when ``b`` is fixed). Two solves whatever ``D``.

    Args:
        A: ``p ↦ A(p)``, (n, n), written in torch (differentiable in ``p``).
        b: (n,) right-hand side, or ``p ↦ b(p)``.
        f: ``(x, p) ↦`` scalar objective, written in torch.
        p: (D,) parameters, numpy or torch.

    Returns:
        AdjointResult with ``solves == 2``.

    Raises:
        TypeError: if ``p`` is not a floating array.
        ValueError: on shapes that do not fit, a non-scalar ``f``, or a singular ``A(p)``.
    """
    q, numpy = _params(p)
    Ap, b_of = _system(A, b, q)
    x = _solve(Ap, torch.as_tensor(b_of(q)), "A(p)")
    val, gx, gp = _value_and_grads(f, x, q)
    lam = _solve(Ap.mT, gx, "A(p)ᵀ")
    _, pullback = vjp(lambda r: torch.as_tensor(A(r)) @ x - torch.as_tensor(b_of(r)), q)
    grad = gp - pullback(lam)[0]
    return _result(val, grad, x, lam, 2, 2, "adjoint", numpy)


def linear_forward_gradient(
    A: Callable[[torch.Tensor], torch.Tensor],
    b: Any,
    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    p: Any,
    *,
    batched: bool = False,
) -> AdjointResult:
    """Gradient of ``J(p) = f(x(p), p)``, ``A(p) x = b(p)``, by forward sensitivities.

    For each parameter, ``A ẋ_k = -∂r/∂p_k`` (``r = A(p) x - b(p)``, one JVP of ``r`` in ``p``
    along ``e_k``), and ``∂J/∂p_k = ∇ₓfᵀ ẋ_k + ∂f/∂p_k``. With ``batched=False`` each parameter
    costs one JVP and one separate solve, as with a black-box or iterative solver: ``1 + D``
    solves. With ``batched=True`` the ``D`` JVPs are one ``jacfwd`` (memory ``D`` times that of
    one) and the ``D`` right-hand sides share one call (one LU factorization of ``A``, then ``D``
    triangular solves): 2 solves, ``1 + D`` right-hand sides.

    Args:
        A, b, f, p: as for :func:`linear_adjoint_gradient`.
        batched: solve for all sensitivities in one call.

    Returns:
        AdjointResult (``adjoint`` is ``None``).

    Raises:
        TypeError, ValueError: as for :func:`linear_adjoint_gradient`.
    """
    q, numpy = _params(p)
    Ap, b_of = _system(A, b, q)
    x = _solve(Ap, torch.as_tensor(b_of(q)), "A(p)")
    val, gx, gp = _value_and_grads(f, x, q)

    def r(s):
        return torch.as_tensor(A(s)) @ x - torch.as_tensor(b_of(s))

    D = q.numel()
    if batched:
        dx = _solve(Ap, -jacfwd(r)(q), "A(p)")  # (n, D): all JVPs at once, one factorization
        solves, method = 2, "forward, one batched solve"
    else:
        eye = torch.eye(D, dtype=q.dtype, device=q.device)
        cols = [_solve(Ap, -jvp(r, (q,), (eye[k],))[1], "A(p)") for k in range(D)]
        dx = torch.stack(cols, dim=1)
        solves, method = 1 + D, "forward"
    grad = gp + dx.mT @ gx
    return _result(val, grad, x, None, solves, 1 + D, method, numpy)


def _solution(
    g, x: Any, q: torch.Tensor, residual_rtol: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` as a tensor, checked to solve ``g(x, q) = 0``, and the Jacobian ``∂ₓg`` there."""
    xt = torch.as_tensor(x, dtype=q.dtype).detach()
    if xt.ndim != 1 or xt.numel() == 0:
        raise ValueError(f"x has shape {tuple(xt.shape)}; pass the solution as a non-empty 1-D")
    res = torch.as_tensor(g(xt, q))
    if tuple(res.shape) != tuple(xt.shape):
        raise ValueError(
            f"g(x, p) has shape {tuple(res.shape)} but x has {tuple(xt.shape)}; the implicit "
            "function theorem needs as many equations as unknowns"
        )
    Jx = jacfwd(g, argnums=0)(xt, q)
    bound = residual_rtol * (1 + float(Jx.norm()) * float(xt.norm()))
    if float(res.norm()) > bound:
        raise ValueError(
            f"x does not solve g(x, p) = 0: ‖g(x, p)‖ = {float(res.norm()):.2e} > {bound:.2e}; "
            "solve first (e.g. hessnotes.newton.newton_root) or loosen residual_rtol"
        )
    return xt, Jx


def implicit_adjoint_gradient(
    g: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: Any,
    p: Any,
    *,
    residual_rtol: float = 1e-8,
) -> AdjointResult:
    """Gradient of ``J(p) = f(x(p), p)`` where ``g(x(p), p) = 0``, by implicit differentiation.

    With ``∂ₓg`` invertible at the solution, ``dx = -(∂ₓg)⁻¹ ∂ₚg dp``; one adjoint solve
    ``(∂ₓg)ᵀ λ = ∇ₓf`` then gives ``∇J = ∇ₚf - (∂ₚg)ᵀ λ`` (one VJP of ``g`` in ``p``). ``∂ₓg`` is
    formed densely with ``jacfwd`` (``n`` JVPs); the solver that produced ``x`` is not
    differentiated, so this works for any solver, converged or not only as far as ``x`` is.

    Args:
        g: ``(x, p) ↦`` residual of shape ``(n,)``, written in torch.
        f: ``(x, p) ↦`` scalar objective.
        x: (n,) solution of ``g(x, p) = 0`` (numpy or torch).
        p: (D,) parameters (numpy or torch; the result follows ``p``).
        residual_rtol: ``x`` must satisfy ``‖g(x, p)‖ <= residual_rtol (1 + ‖∂ₓg‖_F ‖x‖)``.

    Returns:
        AdjointResult with ``solves == 1`` (the solve for ``x`` is the caller's).

    Raises:
        ValueError: if ``x`` does not solve the equation, shapes do not fit, or ``∂ₓg`` is
            singular.
    """
    q, numpy = _params(p)
    xt, Jx = _solution(g, x, q, residual_rtol)
    val, gx, gp = _value_and_grads(f, xt, q)
    lam = _solve(Jx.mT, gx, "∂ₓg(x, p)ᵀ")
    _, pullback = vjp(lambda r: g(xt, r), q)
    grad = gp - pullback(lam)[0]
    return _result(val, grad, xt, lam, 1, 1, "implicit", numpy)


@dataclass(frozen=True)
class AdjointHvp:
    """A Hessian-vector product of ``J(p) = f(x(p), p)`` by second-order adjoints.

    Attributes:
        value: ``J(p)``.
        gradient: ``∇J(p)``, the shape of ``p``.
        hvp: ``∇²J(p) v``, the shape of ``p``.
        x: the solution ``x(p)``.
        adjoint: ``λ``, with ``(∂ₓg)ᵀ λ = ∇ₓf``.
        tangent: ``ẋ = dx[v]``, with ``∂ₓg ẋ = -∂ₚg v``.
        adjoint_tangent: ``λ̇ = dλ[v]``, the second-order adjoint.
        solves: linear solves with ``∂ₓg`` or its transpose (3; the solve for ``x`` is the
            caller's).

    All arrays are numpy or torch like ``p``.
    """

    value: Any
    gradient: Any
    hvp: Any
    x: Any
    adjoint: Any
    tangent: Any
    adjoint_tangent: Any
    solves: int


def adjoint_hvp(
    g: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: Any,
    p: Any,
    v: Any,
    *,
    residual_rtol: float = 1e-8,
) -> AdjointHvp:
    """``∇²J(p) v`` for ``J(p) = f(x(p), p)``, ``g(x(p), p) = 0``, by second-order adjoints.

    With ``L(x, p, λ) = f(x, p) - λᵀ g(x, p)`` and ``G = ∂ₓg`` at the solution:

    * adjoint: ``Gᵀ λ = ∇ₓf``; then ``∇J = ∇ₚL = ∇ₚf - (∂ₚg)ᵀ λ``;
    * tangent: ``G ẋ = -∂ₚg v`` (the derivative of ``g(x(p), p) = 0`` along ``v``);
    * second-order adjoint: ``Gᵀ λ̇ = ∇ₓₓL ẋ + ∇ₓₚL v`` (the derivative of ``∇ₓL = 0``);
    * ``∇²J v = ∇ₚₓL ẋ + ∇ₚₚL v - (∂ₚg)ᵀ λ̇``, the derivative of ``∇ₚL`` along ``(ẋ, v, λ̇)``.

    The second derivatives of ``L`` enter only as products with vectors (JVPs of ``∇ₓL`` and
    ``∇ₚL``), so the cost is three solves with ``G`` (one factorization would serve all three)
    and a few JVPs and VJPs, whatever the number ``D`` of parameters; the dense Hessian would
    take ``D`` of these products. For ``A(p) x = b(p)`` take ``g = A(p) x - b(p)``.

    Args:
        g: ``(x, p) ↦`` residual of shape ``(n,)``, written in torch, twice differentiable.
        f: ``(x, p) ↦`` scalar objective, twice differentiable.
        x: (n,) solution of ``g(x, p) = 0`` (numpy or torch).
        p: (D,) parameters (numpy or torch; the result follows ``p``).
        v: (D,) direction in parameter space.
        residual_rtol: as for :func:`implicit_adjoint_gradient`.

    Returns:
        AdjointHvp with ``solves == 3``.

    Raises:
        ValueError: if ``x`` does not solve the equation, shapes do not fit (``v`` must have
            the shape of ``p``), or ``∂ₓg`` is singular.
    """
    q, numpy = _params(p)
    vt, _ = as_torch(v, "v")
    vt = vt.detach().to(q.dtype)
    if tuple(vt.shape) != tuple(q.shape):
        raise ValueError(
            f"v has shape {tuple(vt.shape)} but p has {tuple(q.shape)}; make them equal"
        )
    xt, G = _solution(g, x, q, residual_rtol)
    val, gx, _ = _value_and_grads(f, xt, q)
    lam = _solve(G.mT, gx, "∂ₓg(x, p)ᵀ")

    def lagrangian(z, r, mu):
        return torch.as_tensor(f(z, r)).reshape(()) - mu @ torch.as_tensor(g(z, r))

    grad_x, grad_p = grad(lagrangian, argnums=0), grad(lagrangian, argnums=1)
    xdot = _solve(G, -jvp(lambda r: g(xt, r), (q,), (vt,))[1], "∂ₓg(x, p)")
    rhs = jvp(lambda z, r: grad_x(z, r, lam), (xt, q), (xdot, vt))[1]
    lamdot = _solve(G.mT, rhs, "∂ₓg(x, p)ᵀ")
    grad_J, hvp = jvp(grad_p, (xt, q, lam), (xdot, vt, lamdot))
    outs = [val, grad_J, hvp, xt, lam, xdot, lamdot]
    if numpy:
        outs = [float(val)] + [t.detach().cpu().numpy() for t in outs[1:]]
    else:
        outs = [t.detach() for t in outs]
    return AdjointHvp(*outs, solves=3)


# --------------------------------------------------------------------------------------------------
# The model problem: steady heat flow in a rod
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RodProblem:
    """``-(κ u′)′ + v u′ + c u³ = 1`` on (0, 1), ``u(0) = u(1) = 0``, ``log κ`` piecewise constant.

    The rod is cut into ``D`` equal segments and ``κ = exp(p_k)`` on segment ``k``; ``v`` is a
    constant flow speed (advection). Finite differences on ``n`` interior nodes (spacing
    ``h = 1/(n+1)``, central differences for ``u′``) give the tridiagonal ``A(p)``, symmetric
    positive definite when ``v = 0`` and non-symmetric otherwise (formed densely, as a black-box
    solver would receive it) and, for ``c > 0``, the nonlinear residual
    ``g(x, p) = A(p) x + c x³ - b`` (monotone, so with a unique solution, when ``v = 0``).

    The objective is a data misfit with a small penalty, ``f(x, p) = (h/2) ‖x - x_obs‖² +
    (α/2) ‖p‖²``, where ``x_obs`` solves the problem at the seeded "true" parameters ``p_true``.

    Attributes:
        n, n_params: nodes and parameters.
        b: (n,) right-hand side (the heat source ``h``-scaled: ones).
        x_obs: (n,) observations.
        p_true: (D,) parameters that produced them.
        reaction: ``c``.
        alpha: ``α``.
        advection: ``v``.
    """

    n: int
    n_params: int
    b: torch.Tensor
    x_obs: torch.Tensor
    p_true: torch.Tensor
    reaction: float
    alpha: float
    advection: float
    _segment: torch.Tensor

    def conductivity(self, p: torch.Tensor) -> torch.Tensor:
        """``κ`` at the ``n + 1`` cell edges (midpoints between nodes)."""
        return torch.exp(p[self._segment])

    def A(self, p: torch.Tensor) -> torch.Tensor:
        """(n, n) stiffness matrix, tridiagonal, SPD (formed densely).

        ``(A x)_i = -(κ_{i+½} (x_{i+1} - x_i) - κ_{i-½} (x_i - x_{i-1})) / h²``, with
        ``x_0 = x_{n+1} = 0``.
        """
        k = self.conductivity(p) * (self.n + 1) ** 2
        c = torch.full((self.n - 1,), 0.5 * self.advection * (self.n + 1), dtype=k.dtype)
        return torch.diag(k[:-1] + k[1:]) - torch.diag(k[1:-1] - c, 1) - torch.diag(k[1:-1] + c, -1)

    def g(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Residual ``A(p) x + c x³ - b`` of the (for ``c > 0``) nonlinear equation."""
        return self.A(p) @ x + self.reaction * x**3 - self.b

    def f(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Objective ``(h/2) ‖x - x_obs‖² + (α/2) ‖p‖²``."""
        return 0.5 * ((x - self.x_obs) ** 2).sum() / (self.n + 1) + 0.5 * self.alpha * (p**2).sum()


def rod_problem(
    n: int = 100,
    n_params: int = 8,
    *,
    reaction: float = 0.0,
    advection: float = 0.0,
    alpha: float = 1e-4,
    seed: int = 0,
) -> RodProblem:
    """The seeded model problem (see :class:`RodProblem`), in float64.

    ``p_true`` is a smooth random profile (a few sines with decaying amplitudes); ``x_obs`` solves
    the linear problem (``reaction = 0``) or, for ``reaction > 0``, the nonlinear one by Newton's
    method, at ``p_true``.

    Raises:
        ValueError: if ``n < 2``, ``n_params < 1`` or ``n_params > n + 1``, or ``reaction < 0``.
    """
    if n < 2 or n_params < 1 or n_params > n + 1:
        raise ValueError(f"n={n}, n_params={n_params}: need n >= 2 and 1 <= n_params <= n + 1")
    if reaction < 0:
        raise ValueError(f"reaction={reaction} must be >= 0 (c u³ with c >= 0 keeps g monotone)")
    gen = torch.Generator().manual_seed(seed)
    mid = (torch.arange(n_params, dtype=torch.float64) + 0.5) / n_params
    amp = torch.randn(4, generator=gen, dtype=torch.float64) / torch.arange(1, 5) ** 1.5
    p_true = sum(amp[j] * torch.sin((j + 1) * math.pi * mid) for j in range(4))
    edges = (torch.arange(n + 1, dtype=torch.float64) + 0.5) / (n + 1)
    segment = torch.clamp((edges * n_params).long(), max=n_params - 1)
    b = torch.ones(n, dtype=torch.float64)
    args = (float(reaction), alpha, float(advection), segment)
    prob = RodProblem(n, n_params, b, torch.zeros_like(b), p_true, *args)
    if reaction == 0:
        x_obs = torch.linalg.solve(prob.A(p_true), b)
    else:
        x_obs = newton_root(prob.g, torch.zeros(n, dtype=torch.float64), p_true, tol=1e-13).x
    return RodProblem(n, n_params, b, x_obs, p_true, *args)


def sensitivity_timings(
    n: int,
    n_params: Sequence[int],
    *,
    repeat: int = 3,
    min_time: float = 2e-3,
    num_threads: int | None = 1,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Seconds per gradient of the rod problem by the adjoint and by forward sensitivities.

    Measured in one run on ``num_threads`` torch threads, at ``p = 0``, for each number of
    parameters; the solve counts are exact.

    Returns:
        ``{"P", "adjoint", "forward", "forward, batched", "solves adjoint", "solves forward"}``,
        arrays of the length of ``n_params``.

    Raises:
        ValueError: if ``n_params`` is empty (and as :func:`rod_problem`).
    """
    if len(n_params) == 0:
        raise ValueError("n_params is empty; give the numbers of parameters to time")
    out: dict[str, list] = {k: [] for k in ("adjoint", "forward", "forward, batched")}
    solves_a, solves_f = [], []
    kw = {"repeat": repeat, "min_time": min_time}
    with torch_threads(num_threads):
        for P in n_params:
            prob = rod_problem(n, P, seed=seed)
            p = torch.zeros(P, dtype=torch.float64)
            args = (prob.A, prob.b, prob.f, p)
            out["adjoint"].append(best_time(lambda a=args: linear_adjoint_gradient(*a), **kw))
            out["forward"].append(best_time(lambda a=args: linear_forward_gradient(*a), **kw))
            out["forward, batched"].append(
                best_time(lambda a=args: linear_forward_gradient(*a, batched=True), **kw)
            )
            solves_a.append(linear_adjoint_gradient(*args).solves)
            solves_f.append(linear_forward_gradient(*args).solves)
    res = {"P": np.asarray(n_params, dtype=np.float64)}
    res.update({k: np.asarray(v) for k, v in out.items()})
    res["solves adjoint"] = np.asarray(solves_a)
    res["solves forward"] = np.asarray(solves_f)
    return res
