"""Differentiating through an ODE: RK4, forward sensitivities, discrete and continuous adjoints.

**The problem.** A state ``x(t) ∈ R^n`` and parameters ``p ∈ R^D`` with

``dx/dt = f(x, p)``,  ``x(0) = x₀(p)``,  ``J(p) = g(x(T))``,

where ``f_x = ∂f/∂x`` is (n, n) and ``f_p = ∂f/∂p`` is (n, D). Every function here integrates with
the classical Runge–Kutta method at a fixed step ``Δt = T / M`` (:func:`rk4`): with
``a = (0, ½, ½, 1)`` and ``b = (1/6, 1/3, 1/3, 1/6)``, one step from ``x_i`` is

``y₁ = x_i``, ``s_j = f(y_j, p)``, ``y_{j+1} = x_i + Δt a_{j+1} s_j``,
``x_{i+1} = x_i + Δt Σ_j b_j s_j``,

of order 4, and ``J_Δt(p) = g(x_M)`` is the function that is differentiated.

**Forward sensitivities** (:func:`forward_sensitivities`). ``S = ∂x/∂p``, (n, D), solves
``dS/dt = f_x S + f_p``, ``S(0) = ∂x₀/∂p``, and ``∇J = S(T)ᵀ ∇g(x(T))``. RK4 applied to the pair
``(x, S)`` is the derivative of the RK4 map itself (differentiate each stage), so this gradient is
the exact gradient of ``J_Δt``. Cost per stage: one ``f`` and ``D`` Jacobian products
``f_x u + f_p e_k`` (JVPs), one per parameter.

**Discrete adjoint** (:func:`adjoint_gradient`). Reverse mode through the RK4 steps: with
``μ_M = ∇g(x_M)`` and, at each step from the last, the cotangents of the stages
``w₄ = Δt b₄ μ_{i+1}``, ``w_j = Δt b_j μ_{i+1} + Δt a_{j+1} f_x(y_{j+1})ᵀ w_{j+1}``,

``μ_i = μ_{i+1} + Σ_j f_x(y_j)ᵀ w_j``,  ``∇J += Σ_j f_p(y_j)ᵀ w_j``,

and finally ``∇J += (∂x₀/∂p)ᵀ μ₀``. Exact for ``J_Δt`` (it equals autograd through :func:`rk4` to
rounding). Cost per stage: one ``f`` forward, and in the sweep one ``f`` again (the stages are
recomputed from the stored ``x_i``) and one VJP ``(f_xᵀ w, f_pᵀ w)``, whatever ``D``; memory: the
``M + 1`` states.

**Continuous adjoint** (:func:`continuous_adjoint_gradient`). ``λ(T) = ∇g(x(T))``,
``dλ/dt = -f_xᵀ λ``, ``∇J = ∫₀ᵀ f_pᵀ λ dt + (∂x₀/∂p)ᵀ λ(0)``, integrated backwards with RK4
together with the state (``dx/dt = f`` run backwards from ``x_M``) and the integral, so that
nothing but the final state is stored (as in "neural ODEs"). It agrees with ``∇J_Δt`` only to
``O(Δt⁴)``, and running the state backwards is unstable for dissipative problems:
:attr:`OdeGradient.reconstruction_error` reports how far the backward state lands from ``x₀``.

**Stability.** One RK4 step of ``dx/dt = λx`` multiplies by ``R(Δt λ)`` with
``R(z) = 1 + z + z²/2 + z³/6 + z⁴/24`` (:func:`rk4_amplification`); :func:`rk4_stable_step` is the
largest ``Δt`` with ``|R(Δt λ)| <= 1`` for given eigenvalues.

:func:`heat_problem` is the model problem with many parameters: the rod of the chapter
"Adjoint methods" (:func:`hessnotes.adjoint.rod_problem`) cooling in time.

Conventions: ``f(x, p)``, ``g(x)`` and a callable ``x₀(p)`` are written in torch; ``x₀`` and ``p``
may be numpy or torch (float32 or float64, one dtype per call); results follow ``p`` (and
:func:`rk4` follows ``x₀``). Counts are of ``f`` only (``x₀`` and ``g`` are differentiated once
each). Serves the chapter "Differentiating through an ODE".

Chapters: "Differentiating through an ODE".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import grad, jacfwd, jvp, vjp, vmap

from hessnotes._linalg import as_tensor, check_finite, check_memory, check_positive_int, num
from hessnotes.adjoint import RodProblem, rod_problem

__all__ = [
    "HeatProblem",
    "OdeGradient",
    "adjoint_gradient",
    "continuous_adjoint_gradient",
    "forward_sensitivities",
    "heat_problem",
    "rk4",
    "rk4_amplification",
    "rk4_stable_step",
]

#: Butcher weights of the classical RK4: stage j is evaluated at x + Δt A[j] s_{j-1}.
_A = (0.0, 0.5, 0.5, 1.0)
_B = (1 / 6, 1 / 3, 1 / 3, 1 / 6)

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class OdeGradient:
    """The gradient of ``J(p) = g(x(T))`` through RK4, and what it cost.

    Attributes:
        value: ``J_Δt(p) = g(x_M)`` (a 0-d tensor, or a float for numpy ``p``).
        gradient: (D,) the gradient.
        trajectory: (M + 1, n) the states ``x_0, ..., x_M`` of the forward pass.
        sensitivities: (M + 1, n, D) ``S_i = ∂x_i/∂p`` (forward sensitivities only, else None).
        adjoint: (M + 1, n) ``μ_0, ..., μ_M`` (discrete) or ``λ`` on the grid (continuous);
            None for forward sensitivities.
        f_evals: evaluations of ``f`` (a JVP's or VJP's own evaluation of ``f`` included).
        jvps: Jacobian-vector products ``f_x u + f_p v``, one per column (``D`` per stage).
        vjps: vector-Jacobian products ``(f_xᵀ w, f_pᵀ w)``, one per stage of the sweep.
        stored: floating-point numbers the method must hold between steps: ``n (1 + D)``
            (forward: ``x`` and ``S``), ``n (M + 2) + D`` (discrete adjoint: every state, ``μ``
            and the gradient), ``2n + D`` (continuous: ``x``, ``λ`` and the integral).
        reconstruction_error: continuous adjoint only: ``‖x̃(0) - x₀‖ / ‖x₀‖`` for the state
            integrated backwards from ``x_M``; ``None`` otherwise.
        steps: ``M``.
        method: ``"forward"``, ``"adjoint"`` or ``"continuous adjoint"``.

    Arrays are numpy or torch like ``p``.
    """

    value: Any
    gradient: Any
    trajectory: Any
    sensitivities: Any
    adjoint: Any
    f_evals: int
    jvps: int
    vjps: int
    stored: int
    reconstruction_error: float | None
    steps: int
    method: str


# --------------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------------
def _horizon(t_final: Any, steps: Any) -> tuple[float, int]:
    steps = check_positive_int(steps, "steps", " (the number M of RK4 steps)")
    if isinstance(t_final, bool) or not isinstance(t_final, int | float | np.floating | np.integer):
        raise TypeError(f"t_final must be a real number, got {type(t_final).__name__}")
    T = float(t_final)
    if not (math.isfinite(T) and T > 0):
        raise ValueError(f"t_final={T!r}; the horizon T must be finite and > 0")
    return T, int(steps)


def _vector(a: Any, name: str) -> tuple[torch.Tensor, bool]:
    t, kind = as_tensor(a, name)
    t = t.detach()
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(
            f"{name} has shape {tuple(t.shape)}; pass it as a non-empty 1-D array, e.g. "
            f"{name}.reshape(-1)"
        )
    check_finite(t, name)
    return t, kind.numpy


def _same_dtype(t: torch.Tensor, ref: torch.Tensor, name: str, ref_name: str) -> None:
    if t.dtype != ref.dtype:
        d = str(ref.dtype).removeprefix("torch.")
        raise TypeError(
            f"{name} has dtype {str(t.dtype).removeprefix('torch.')} but {ref_name} has {d}; "
            f"one call works in one dtype: cast {name}, e.g. {name}.astype(np.{d}) or "
            f"{name}.to(torch.{d})"
        )


def _callable(fn: Any, name: str, what: str) -> None:
    if not callable(fn):
        raise TypeError(f"{name} is {type(fn).__name__}; give {what}, written in torch")


def _initial(x0: Any, q: torch.Tensor) -> tuple[torch.Tensor, Callable | None]:
    """``x₀(p)`` as a tensor, and the callable (None for a fixed initial state)."""
    if callable(x0):
        out = x0(q)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"x0(p) returned {type(out).__name__}; it must return a torch tensor")
        X0, _ = _vector(out, "x0(p)")
        _same_dtype(X0, q, "x0(p)", "p")
        return X0, x0
    X0, _ = _vector(x0, "x0")
    _same_dtype(X0, q, "x0", "p")
    return X0, None


def _stage_out(s: Any, x: torch.Tensor) -> torch.Tensor:
    """The first value of ``f``: a tensor of the state's shape and dtype."""
    if not isinstance(s, torch.Tensor):
        raise TypeError(f"f(x, p) returned {type(s).__name__}; it must return a torch tensor")
    if tuple(s.shape) != tuple(x.shape):
        raise ValueError(
            f"f(x, p) has shape {tuple(s.shape)} but the state x has {tuple(x.shape)}; f must "
            "return dx/dt, of the shape of x"
        )
    if s.dtype != x.dtype:
        raise TypeError(f"f(x, p) returned {s.dtype} for a {x.dtype} state; keep the dtype of x")
    return s


def _diverged(xs: torch.Tensor, dt: float, what: str = "the RK4 trajectory") -> None:
    ok = torch.isfinite(xs).reshape(xs.shape[0], -1).all(dim=1)
    if not bool(ok.all()):
        i = int(torch.nonzero(~ok)[0])
        raise ValueError(
            f"{what} overflowed to NaN/Inf at step {i} of {xs.shape[0] - 1} (Δt = {dt:.3g}): the "
            "step is probably outside RK4's stability region. Take more steps; "
            "hessnotes.rk4_stable_step(eigenvalues of f_x) gives the largest stable step."
        )


def _memory(M: int, width: int, dtype: torch.dtype, what: str) -> None:
    nbytes = (M + 1) * width * torch.finfo(dtype).bits // 8
    check_memory(nbytes, what, "use fewer steps or a smaller state")


def _scalar_loss(g: Callable, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``g(x)`` and ``∇g(x)``; g must return a finite scalar."""

    def scalar(z):
        v = g(z)
        if not isinstance(v, torch.Tensor) or v.numel() != 1:
            shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise ValueError(f"g(x) returned {shape}; it must return a scalar torch tensor")
        return v.reshape(()), v.reshape(())

    gx, val = grad(scalar, has_aux=True)(x)
    if not (bool(torch.isfinite(val)) and bool(torch.isfinite(gx).all())):
        raise ValueError(f"g(x(T)) = {num(val)} or its gradient is not finite; check g")
    return val.detach(), gx.detach()


def _out(numpy: bool, t: torch.Tensor | None) -> Any:
    if t is None:
        return None
    return t.detach().cpu().numpy() if numpy else t.detach()


# --------------------------------------------------------------------------------------------------
# The integrator
# --------------------------------------------------------------------------------------------------
def _rk4_steps(f: Fn, x: torch.Tensor, p: torch.Tensor, dt: float, M: int) -> list[torch.Tensor]:
    xs = [x]
    for i in range(M):
        s1 = f(x, p)
        if i == 0:
            _stage_out(s1, x)
        s2 = f(x + dt / 2 * s1, p)
        s3 = f(x + dt / 2 * s2, p)
        s4 = f(x + dt * s3, p)
        x = x + dt / 6 * (s1 + 2 * s2 + 2 * s3 + s4)
        xs.append(x)
    return xs


def rk4(f: Fn, x0: Any, p: Any, t_final: float, steps: int) -> Any:
    """Integrate ``dx/dt = f(x, p)`` from ``x(0) = x0`` to ``T`` by RK4 at the step ``T / steps``.

    One step: ``s₁ = f(x)``, ``s₂ = f(x + Δt/2 s₁)``, ``s₃ = f(x + Δt/2 s₂)``,
    ``s₄ = f(x + Δt s₃)``, ``x ← x + Δt/6 (s₁ + 2s₂ + 2s₃ + s₄)``: global error ``O(Δt⁴)``. Written
    without in-place operations, so autograd (``torch.func``) differentiates through it: that is
    the reference for the gradients of this module.

    Args:
        f: ``(x, p) ↦ dx/dt``, (n,) from (n,) and (D,), written in torch.
        x0: (n,) initial state, numpy or torch.
        p: (D,) parameters, of the dtype of ``x0`` (a torch ``p`` may require grad).
        t_final: the horizon ``T > 0``.
        steps: the number of steps ``M >= 1``.

    Returns:
        (M + 1, n) the states ``x_0, ..., x_M``, numpy or torch like ``x0`` (differentiable when
        ``x0`` or ``p`` carries a graph).

    Raises:
        TypeError: if ``f`` is not callable, an input is not a float32/64 array, or dtypes differ.
        ValueError: on shapes that do not fit, ``T <= 0``, ``steps < 1``, or a trajectory that
            overflows (a step outside the stability region; see :func:`rk4_stable_step`).
    """
    _callable(f, "f", "the right-hand side f(x, p)")
    T, M = _horizon(t_final, steps)
    x, kind = as_tensor(x0, "x0")
    q, _ = as_tensor(p, "p")
    for t, name in ((x, "x0"), (q, "p")):
        if t.ndim != 1 or t.numel() == 0:
            raise ValueError(f"{name} has shape {tuple(t.shape)}; pass a non-empty 1-D array")
        check_finite(t.detach(), name)
    _same_dtype(q, x, "p", "x0")
    _memory(M, x.numel(), x.dtype, f"rk4(steps={M}) for a state of {x.numel()} entries")
    xs = torch.stack(_rk4_steps(f, x, q, T / M, M))
    _diverged(xs.detach(), T / M)
    return xs.detach().cpu().numpy() if kind.numpy else xs


# --------------------------------------------------------------------------------------------------
# Forward sensitivities
# --------------------------------------------------------------------------------------------------
def forward_sensitivities(
    f: Fn, x0: Any, p: Any, g: Callable[[torch.Tensor], torch.Tensor], t_final: float, steps: int
) -> OdeGradient:
    """``∇J`` for ``J = g(x(T))`` by RK4 on the state and its sensitivity ``S = ∂x/∂p`` together.

    ``dS/dt = f_x S + f_p``, ``S(0) = ∂x₀/∂p`` (zero for a fixed ``x0``); each RK4 stage evaluates
    ``f`` and its ``D`` JVPs ``f_x U e_k + f_p e_k`` (one ``torch.func.jvp`` batched by
    ``vmap``). Then ``∇J = S_Mᵀ ∇g(x_M)``. This is the exact gradient of ``J_Δt = g(x_M)``: RK4
    on ``(x, S)`` is the derivative of each RK4 stage.

    Args:
        f: ``(x, p) ↦ dx/dt`` in torch.
        x0: (n,) initial state, or ``p ↦ x₀(p)`` in torch.
        p: (D,) parameters, numpy or torch (the result follows ``p``).
        g: ``x ↦`` scalar loss at ``T``, in torch.
        t_final, steps: ``T`` and ``M`` (step ``Δt = T / M``).

    Returns:
        OdeGradient with ``f_evals = 4M``, ``jvps = 4MD``, ``vjps = 0``.

    Raises:
        TypeError, ValueError: as :func:`rk4`; and if ``g`` is not a finite scalar, or the
            sensitivities (``(M + 1) n D`` numbers) would exceed the memory limit.
    """
    _callable(f, "f", "the right-hand side f(x, p)")
    _callable(g, "g", "the loss g(x)")
    T, M = _horizon(t_final, steps)
    q, numpy = _vector(p, "p")
    X0, x0_fn = _initial(x0, q)
    n, D, dt = X0.numel(), q.numel(), T / M
    _memory(M, n * (D + 1), q.dtype, f"forward_sensitivities(steps={M}) with n={n}, D={D}")
    S = jacfwd(x0_fn)(q) if x0_fn is not None else q.new_zeros(n, D)
    eye = torch.eye(D, dtype=q.dtype, device=q.device)

    def stage(y: torch.Tensor, U: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``f(y, p)`` and ``f_x(y) U + f_p(y)``: one evaluation, D JVP columns."""
        return vmap(lambda u, e: jvp(f, (y, q), (u, e)), in_dims=(1, 0), out_dims=(None, 1))(U, eye)

    x, xs, Ss = X0, [X0], [S]
    for i in range(M):
        s1, F1 = stage(x, S)
        if i == 0:
            _stage_out(s1, x)
        s2, F2 = stage(x + dt / 2 * s1, S + dt / 2 * F1)
        s3, F3 = stage(x + dt / 2 * s2, S + dt / 2 * F2)
        s4, F4 = stage(x + dt * s3, S + dt * F3)
        x = x + dt / 6 * (s1 + 2 * s2 + 2 * s3 + s4)
        S = S + dt / 6 * (F1 + 2 * F2 + 2 * F3 + F4)
        xs.append(x)
        Ss.append(S)
    traj, sens = torch.stack(xs), torch.stack(Ss)
    _diverged(traj, dt)
    _diverged(sens, dt, "the sensitivities S")
    val, gx = _scalar_loss(g, traj[-1])
    gradient = S.mT @ gx
    return OdeGradient(
        float(val) if numpy else val,
        _out(numpy, gradient),
        _out(numpy, traj),
        _out(numpy, sens),
        None,
        f_evals=4 * M,
        jvps=4 * M * D,
        vjps=0,
        stored=n * (1 + D),
        reconstruction_error=None,
        steps=M,
        method="forward",
    )


# --------------------------------------------------------------------------------------------------
# The discrete adjoint: reverse mode through the RK4 stages
# --------------------------------------------------------------------------------------------------
def adjoint_gradient(
    f: Fn, x0: Any, p: Any, g: Callable[[torch.Tensor], torch.Tensor], t_final: float, steps: int
) -> OdeGradient:
    """``∇J`` for ``J = g(x(T))`` by the discrete adjoint of RK4 (one reverse sweep).

    Forward: the ``M + 1`` states by RK4. Backward, from ``μ_M = ∇g(x_M)``: at each step the
    stages are recomputed from the stored ``x_i`` (each with its pullback, ``torch.func.vjp``),
    then, from the last stage to the first, ``w₄ = Δt b₄ μ``, ``w_j = Δt b_j μ + Δt a_{j+1}
    f_x(y_{j+1})ᵀ w_{j+1}``; ``μ ← μ + Σ_j f_x(y_j)ᵀ w_j`` and ``∇J += Σ_j f_p(y_j)ᵀ w_j``.
    Finally ``∇J += (∂x₀/∂p)ᵀ μ₀``. This is reverse-mode differentiation of :func:`rk4`, so it
    equals autograd through it to rounding, and its cost does not grow with ``D``.

    Args:
        f, x0, p, g, t_final, steps: as :func:`forward_sensitivities`.

    Returns:
        OdeGradient with ``f_evals = 8M`` (forward pass and recomputed stages), ``jvps = 0``,
        ``vjps = 4M``, and the discrete adjoint ``μ_0, ..., μ_M`` in ``adjoint``.

    Raises:
        TypeError, ValueError: as :func:`forward_sensitivities`.
    """
    _callable(f, "f", "the right-hand side f(x, p)")
    _callable(g, "g", "the loss g(x)")
    T, M = _horizon(t_final, steps)
    q, numpy = _vector(p, "p")
    X0, x0_fn = _initial(x0, q)
    n, D, dt = X0.numel(), q.numel(), T / M
    _memory(M, 2 * n, q.dtype, f"adjoint_gradient(steps={M}) with n={n}")
    traj = torch.stack(_rk4_steps(f, X0, q, dt, M))
    _diverged(traj, dt)
    val, mu = _scalar_loss(g, traj[-1])
    mus, gp = [mu], torch.zeros_like(q)
    for i in reversed(range(M)):
        x, pullbacks, s = traj[i], [], None
        for j in range(4):  # the stages again, each with its pullback
            y = x if j == 0 else x + dt * _A[j] * s
            s, pb = vjp(f, y, q)
            pullbacks.append(pb)
        back, w = mu, dt * _B[3] * mu  # w_4, the cotangent of the last stage
        for j in (3, 2, 1, 0):
            fx_w, fp_w = pullbacks[j](w)  # f_x(y_j)ᵀ w_j, f_p(y_j)ᵀ w_j
            back, gp = back + fx_w, gp + fp_w
            if j > 0:  # w_{j-1} = Δt b_{j-1} μ + Δt a_j f_x(y_j)ᵀ w_j
                w = dt * _B[j - 1] * mu + dt * _A[j] * fx_w
        mu = back
        mus.append(mu)
    if x0_fn is not None:
        gp = gp + vjp(x0_fn, q)[1](mu)[0]
    adj = torch.stack(mus[::-1])
    _diverged(adj, dt, "the discrete adjoint μ")
    return OdeGradient(
        float(val) if numpy else val,
        _out(numpy, gp),
        _out(numpy, traj),
        None,
        _out(numpy, adj),
        f_evals=8 * M,
        jvps=0,
        vjps=4 * M,
        stored=n * (M + 2) + D,
        reconstruction_error=None,
        steps=M,
        method="adjoint",
    )


# --------------------------------------------------------------------------------------------------
# The continuous adjoint, integrated backwards with the state
# --------------------------------------------------------------------------------------------------
def continuous_adjoint_gradient(
    f: Fn,
    x0: Any,
    p: Any,
    g: Callable[[torch.Tensor], torch.Tensor],
    t_final: float,
    steps: int,
    *,
    reconstruction_rtol: float = 1e-2,
) -> OdeGradient:
    """``∇J`` by the adjoint ODE, integrated backwards by RK4 together with the state.

    With ``z = (x, λ, m)``, ``z(T) = (x_M, ∇g(x_M), 0)`` and, in reversed time ``s = T - t``,
    ``dz/ds = (-f, f_xᵀλ, f_pᵀλ)`` (one VJP of ``f`` per stage), RK4 with ``M`` steps gives
    ``m ≈ ∫₀ᵀ f_pᵀλ dt`` and ``λ(0)``; then ``∇J = m + (∂x₀/∂p)ᵀ λ(0)``. Only the current ``z`` is
    kept; the price is an ``O(Δt⁴)`` disagreement with ``∇J_Δt`` and a state run backwards, which
    grows where the forward flow contracts (a stiff, dissipative ``f``).

    Args:
        f, x0, p, g, t_final, steps: as :func:`forward_sensitivities`.
        reconstruction_rtol: the backward state must land within this relative distance of
            ``x₀``, ``‖x̃(0) - x₀‖ <= rtol ‖x₀‖``; ``math.inf`` accepts any finite result (to
            study the failure).

    Returns:
        OdeGradient with ``f_evals = 8M``, ``vjps = 4M``, ``λ`` on the grid in ``adjoint``, and
        ``reconstruction_error``.

    Raises:
        ValueError: if the backward state misses ``x₀`` beyond ``reconstruction_rtol`` or
            overflows (use :func:`adjoint_gradient`, which stores the states), and as
            :func:`forward_sensitivities`.
    """
    _callable(f, "f", "the right-hand side f(x, p)")
    _callable(g, "g", "the loss g(x)")
    T, M = _horizon(t_final, steps)
    rtol = float(reconstruction_rtol)
    if not rtol > 0:
        raise ValueError(f"reconstruction_rtol={rtol!r} must be > 0 (math.inf accepts anything)")
    q, numpy = _vector(p, "p")
    X0, x0_fn = _initial(x0, q)
    n, D, dt = X0.numel(), q.numel(), T / M
    _memory(M, 2 * n, q.dtype, f"continuous_adjoint_gradient(steps={M}) with n={n}")
    traj = torch.stack(_rk4_steps(f, X0, q, dt, M))
    _diverged(traj, dt)
    val, lam = _scalar_loss(g, traj[-1])

    def backward_field(z: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        fx, pb = vjp(f, z[:n], r)
        a, b = pb(z[n : 2 * n])
        return torch.cat([-fx, a, b])

    zs = _rk4_steps(backward_field, torch.cat([traj[-1], lam, torch.zeros_like(q)]), q, dt, M)
    Z = torch.stack(zs[::-1])  # on the grid t_0, ..., t_M
    _diverged(Z, dt, "the backward integration of (x, λ) (the continuous adjoint)")
    x_back, lam0, gp = Z[0, :n], Z[0, n : 2 * n], Z[0, 2 * n :]
    size = max(num(torch.linalg.vector_norm(X0)), 1e-300)
    err = num(torch.linalg.vector_norm(x_back - X0)) / size
    if not err <= rtol:
        raise ValueError(
            f"the state integrated backwards from x(T) lands {err:.3g} (relative) from x0, above "
            f"reconstruction_rtol={rtol:g}: running this flow backwards is unstable, so λ is "
            "computed along the wrong path. Use hessnotes.adjoint_gradient (it stores the states), "
            "or pass reconstruction_rtol=math.inf to accept the result anyway."
        )
    if x0_fn is not None:
        gp = gp + vjp(x0_fn, q)[1](lam0)[0]
    return OdeGradient(
        float(val) if numpy else val,
        _out(numpy, gp),
        _out(numpy, traj),
        None,
        _out(numpy, Z[:, n : 2 * n]),
        f_evals=8 * M,
        jvps=0,
        vjps=4 * M,
        stored=2 * n + D,
        reconstruction_error=err,
        steps=M,
        method="continuous adjoint",
    )


# --------------------------------------------------------------------------------------------------
# Stability
# --------------------------------------------------------------------------------------------------
def rk4_amplification(z: Any) -> Any:
    """RK4's stability function ``R(z) = 1 + z + z²/2 + z³/6 + z⁴/24``.

    One RK4 step of ``dx/dt = λx`` at step ``Δt`` gives ``x₁ = R(Δt λ) x₀``; the step is stable
    for that mode when ``|R(Δt λ)| <= 1``. ``R(z) = e^z + O(z⁵)``.

    Args:
        z: a number, numpy array or torch tensor, real or complex.

    Returns:
        ``R(z)``, of the kind of ``z``.
    """
    return 1 + z * (1 + z * (1 / 2 + z * (1 / 6 + z / 24)))


def rk4_stable_step(eigenvalues: Any, *, safety: float = 1.0) -> float:
    """The largest ``Δt`` with ``|R(Δt λ)| <= 1`` for all eigenvalues ``λ`` (from 0 along each ray).

    For each ``λ ≠ 0`` the ray ``Δt λ``, ``Δt > 0``, leaves the stability region of RK4 at a first
    ``Δt*(λ)`` (found on a fine grid of ``|Δt λ| <= 3.2``, which contains the region, then by
    bisection to relative accuracy 1e-12); the result is ``safety`` times the smallest. On the
    negative real axis ``Δt* |λ| = 2.785...``, on the imaginary axis ``2√2``.

    Args:
        eigenvalues: eigenvalues of ``f_x`` (numbers, numpy or torch, real or complex).
        safety: factor ``0 < safety <= 1`` applied to the bound.

    Returns:
        The step, a float (``inf`` if every eigenvalue is 0).

    Raises:
        ValueError: if there are no eigenvalues, some are NaN/Inf, an eigenvalue has a positive
            real part (the mode grows for every small step, as the exact solution does), or
            ``safety`` is outside (0, 1].
    """
    if isinstance(eigenvalues, torch.Tensor):
        eigenvalues = eigenvalues.detach().cpu().numpy()
    lam = np.asarray(eigenvalues).astype(np.complex128).reshape(-1)
    if lam.size == 0:
        raise ValueError("eigenvalues is empty; give the eigenvalues of f_x")
    if not np.isfinite(lam).all():
        raise ValueError("eigenvalues hold NaN or Inf")
    if not 0 < safety <= 1:
        raise ValueError(f"safety={safety!r} must be in (0, 1]")
    scale = np.abs(lam).max()
    grow = lam.real > 1e-12 * scale
    if grow.any():
        raise ValueError(
            f"eigenvalue {lam[grow][0]:.4g} has a positive real part: no step makes that mode "
            "decay (the exact solution grows too); RK4 stability needs Re λ <= 0"
        )
    lam = lam[np.abs(lam) > 0]
    if lam.size == 0:
        return math.inf
    u = lam / np.abs(lam)  # directions; the step along each is r / |λ|
    r = np.linspace(0, 3.2, 3201)[1:]
    out = np.abs(rk4_amplification(r[None, :] * u[:, None])) > 1 + 1e-14
    first = np.where(out.any(axis=1), out.argmax(axis=1), r.size - 1)
    lo, hi = np.where(first > 0, r[np.maximum(first - 1, 0)], 0.0), r[first]
    for _ in range(45):
        mid = (lo + hi) / 2
        bad = np.abs(rk4_amplification(mid * u)) > 1 + 1e-14
        lo, hi = np.where(bad, lo, mid), np.where(bad, mid, hi)
    return float(safety * np.min(lo / np.abs(lam)))


# --------------------------------------------------------------------------------------------------
# The model problem with many parameters: the rod of "Adjoint methods", cooling in time
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeatProblem:
    """``dx/dt = -A(p) x`` on ``[0, T]``: the rod of :class:`~hessnotes.adjoint.RodProblem` cooling.

    ``x`` is the temperature at the ``n`` interior nodes (ends held at 0), ``A(p)`` the rod's
    (n, n) stiffness matrix with conductivity ``exp(p_k)`` on segment ``k`` (``D`` segments),
    ``x₀`` a fixed smooth initial temperature, and the loss the misfit to the temperature
    ``x_obs = exp(-A(p_true) T) x₀`` observed at ``T``: ``g(x) = (h/2) ‖x - x_obs‖²``,
    ``h = 1/(n+1)``. The eigenvalues of ``-A(p)`` are real and negative, down to about
    ``-4 max(κ) (n+1)²``: the problem is stiff, and stability sets RK4's step.

    Attributes:
        rod: the RodProblem (``rod.A(p)``, ``rod.p_true``, ``rod.n_params``).
        x0: (n,) initial temperature.
        x_obs: (n,) observed temperature at ``T``.
        t_final: ``T``.
    """

    rod: RodProblem
    x0: torch.Tensor
    x_obs: torch.Tensor
    t_final: float

    @property
    def n(self) -> int:
        """Nodes."""
        return self.rod.n

    @property
    def n_params(self) -> int:
        """Parameters ``D``."""
        return self.rod.n_params

    def f(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """``-A(p) x``, written as a matrix-matrix product so that ``count_flops`` sees it."""
        return -(self.rod.A(p) @ x.unsqueeze(-1)).squeeze(-1)

    def g(self, x: torch.Tensor) -> torch.Tensor:
        """``(h/2) ‖x - x_obs‖²``."""
        return 0.5 * ((x - self.x_obs) ** 2).sum() / (self.n + 1)

    def eigenvalues(self, p: torch.Tensor) -> torch.Tensor:
        """The (real) eigenvalues of ``f_x = -A(p)`` (``A`` is symmetric: no flow), ascending."""
        return torch.linalg.eigvalsh(-self.rod.A(torch.as_tensor(p, dtype=torch.float64)))

    def exact_loss(self, p: torch.Tensor) -> torch.Tensor:
        """``g(exp(-A(p) T) x₀)``: the loss of the exact solution (``torch.linalg.matrix_exp``)."""
        return self.g(torch.linalg.matrix_exp(-self.t_final * self.rod.A(p)) @ self.x0)


def heat_problem(
    n: int = 64, n_params: int = 8, *, t_final: float = 0.02, seed: int = 0
) -> HeatProblem:
    """The seeded :class:`HeatProblem`, in float64.

    ``x₀(s) = sin(π s) + ½ sin(3π s)`` at the nodes ``s_i = i / (n+1)``; ``p_true`` as in
    :func:`~hessnotes.adjoint.rod_problem` with the same ``seed``.

    Raises:
        ValueError: as :func:`~hessnotes.adjoint.rod_problem`, or if ``t_final <= 0``.
    """
    T, _ = _horizon(t_final, 1)
    rod = rod_problem(n, n_params, seed=seed)
    s = torch.arange(1, n + 1, dtype=torch.float64) / (n + 1)
    x0 = torch.sin(math.pi * s) + 0.5 * torch.sin(3 * math.pi * s)
    x_obs = torch.linalg.matrix_exp(-T * rod.A(rod.p_true)) @ x0
    return HeatProblem(rod, x0, x_obs, T)
