"""Forward and reverse mode: what a full Jacobian costs in each order, counted and timed.

For ``f: Rⁿ → Rᵐ`` written as a chain ``f = f_L ∘ … ∘ f_1``, the chain rule makes the Jacobian a
product of the layers' Jacobians, ``J = J_L ⋯ J_1``. Forward mode pushes tangents through it from
the right (one JVP per input direction: ``n`` passes for the whole ``J``); reverse mode pulls
cotangents through it from the left (one VJP per output direction: ``m`` passes). Each pass costs
a small multiple of one evaluation of ``f``, so reverse mode wins when ``m < n`` (a gradient,
``m = 1``, costs one pass whatever ``n``) and forward mode when ``m > n``.

This module builds Jacobians both ways (:func:`jacobian_forward`, :func:`jacobian_reverse`),
counts the multiply-adds each order performs, analytically (:func:`chain_flops`) and as torch
dispatches them (:func:`jacobian_flops`), and times both (:func:`time_modes`,
:func:`mode_sweep`). See the chapter "Derivatives as linear maps, and the chain rule".

Chapters: "Derivatives as linear maps, and the chain rule", "Automatic differentiation from
scratch".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from torch.func import jacfwd, jacrev, jvp, vjp
from torch.utils.flop_counter import FlopCounterMode

from hessnotes.timing import best_time, torch_threads

__all__ = [
    "ModeTimes",
    "chain_flops",
    "crossover",
    "jacobian_flops",
    "jacobian_forward",
    "jacobian_reverse",
    "mode_sweep",
    "tanh_layers",
    "time_modes",
]

_MODES = ("forward", "reverse")


def _widths(widths: Sequence[int]) -> tuple[int, ...]:
    w = tuple(int(v) for v in widths)
    if len(w) < 2 or any(v < 1 for v in w) or any(int(v) != v for v in widths):
        raise ValueError(
            f"widths={tuple(widths)}: give at least two positive integers, (inputs, ..., outputs)"
        )
    return w


def _mode(mode: str) -> str:
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}; use 'forward' or 'reverse'")
    return mode


def tanh_layers(
    widths: Sequence[int], *, seed: int = 0, dtype: torch.dtype = torch.float64
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A seeded chain ``x ↦ W_L tanh(W_{L-1} ⋯ tanh(W_1 x))`` from ``widths[0]`` to ``widths[-1]``.

    ``W_k`` has shape ``(widths[k], widths[k-1])`` and Gaussian entries of variance
    ``1 / widths[k-1]``, so activations stay of order one. The map has ``n = widths[0]`` inputs and
    ``m = widths[-1]`` outputs; the number of multiply-adds in one evaluation is
    ``Σ_k widths[k] widths[k-1]``.

    Args:
        widths: ``(n, h_1, ..., m)``, at least two positive integers.
        seed: seed of the ``torch.Generator`` drawing the weights.
        dtype: floating dtype of the weights (the input must match).

    Returns:
        ``f`` taking a 1-D tensor of length ``n`` to a 1-D tensor of length ``m``.

    Raises:
        ValueError: if ``widths`` has fewer than two entries or a non-positive one.
    """
    w = _widths(widths)
    gen = torch.Generator().manual_seed(seed)
    weights = [
        torch.randn(b, a, generator=gen, dtype=torch.float64).to(dtype) / math.sqrt(a)
        for a, b in pairwise(w)
    ]

    def f(x: torch.Tensor) -> torch.Tensor:
        for W in weights[:-1]:
            x = torch.tanh(W @ x)
        return weights[-1] @ x

    return f


def chain_flops(widths: Sequence[int], mode: str) -> int:
    """Multiply-add flops (2 per multiply-add) of the full Jacobian of :func:`tanh_layers`.

    Forward mode carries ``n = widths[0]`` tangents through every layer, reverse mode
    ``m = widths[-1]`` cotangents, and a layer ``W_k`` costs ``widths[k] widths[k-1]``
    multiply-adds per vector, so the two counts are ``2 n Σ_k w_k w_{k-1}`` and
    ``2 m Σ_k w_k w_{k-1}``: their ratio is exactly ``n / m``. (The elementwise ``tanh′`` factors
    and the one evaluation of ``f`` are not counted.)

    Args:
        widths: ``(n, h_1, ..., m)`` as for :func:`tanh_layers`.
        mode: ``"forward"`` or ``"reverse"``.

    Returns:
        The flop count, an int.

    Raises:
        ValueError: on bad ``widths`` or an unknown ``mode``.
    """
    w = _widths(widths)
    per_vector = sum(a * b for a, b in pairwise(w))
    return 2 * per_vector * (w[0] if _mode(mode) == "forward" else w[-1])


def jacobian_flops(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, mode: str) -> int:
    """Flops of the matrix products torch dispatches for ``jacfwd(f)(x)`` or ``jacrev(f)(x)``.

    Counted with ``torch.utils.flop_counter.FlopCounterMode``, which counts matrix-matrix products
    (``mm``, ``addmm``, ``bmm``) at 2 flops per multiply-add. Under ``vmap`` the ``n`` tangents of
    ``jacfwd`` (the ``m`` cotangents of ``jacrev``) are batched into such products, so the count
    measures the work that scales with the mode; the matrix-vector products of the single primal
    evaluation are not counted. For :func:`tanh_layers` it equals :func:`chain_flops` exactly.

    Args:
        f: function of a 1-D tensor.
        x: the point.
        mode: ``"forward"`` (``jacfwd``) or ``"reverse"`` (``jacrev``).

    Returns:
        The flop count, an int.

    Raises:
        ValueError: on an unknown ``mode``.
    """
    builder = jacfwd if _mode(mode) == "forward" else jacrev
    with FlopCounterMode(display=False) as counter:
        builder(f)(x)
    return int(counter.get_total_flops())


def _vector_map(f, x, name="x") -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(x, torch.Tensor) or x.ndim != 1 or x.numel() == 0:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(
            f"{name} must be a non-empty 1-D torch tensor, got {shape}; flatten a matrix input "
            "with vec (hessnotes.kron.vec) and unvec it inside f"
        )
    y = torch.as_tensor(f(x))
    if y.ndim > 1:
        raise ValueError(
            f"f returned shape {tuple(y.shape)}; these builders need a 1-D (or scalar) output, "
            "so return vec of a matrix output"
        )
    return x, y


def jacobian_forward(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The Jacobian of ``f`` at ``x`` by forward mode: ``n`` JVPs, one column ``J e_j`` each.

    A plain loop of ``torch.func.jvp`` calls (no ``vmap``), so its cost is ``n`` passes, each a
    small multiple of one evaluation of ``f``.

    Args:
        f: map from a 1-D tensor of length ``n`` to a 1-D tensor of length ``m`` (or a scalar).
        x: the point, shape ``(n,)``.

    Returns:
        ``(m, n)`` Jacobian (numerator layout; ``m = 1`` for a scalar ``f``).

    Raises:
        ValueError: if ``x`` is not a non-empty 1-D tensor or ``f(x)`` has more than one axis.
    """
    x, y = _vector_map(f, x)
    eye = torch.eye(x.numel(), dtype=x.dtype, device=x.device)
    cols = [jvp(f, (x,), (eye[j],))[1].reshape(-1) for j in range(x.numel())]
    return torch.stack(cols, dim=1).reshape(max(y.numel(), 1), x.numel())


def jacobian_reverse(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The Jacobian of ``f`` at ``x`` by reverse mode: one linearisation, ``m`` VJPs (rows).

    ``torch.func.vjp`` evaluates ``f`` once and records it; each of the ``m`` pullbacks of a basis
    cotangent ``e_i`` returns row ``e_iᵀ J``.

    Args:
        f: map from a 1-D tensor of length ``n`` to a 1-D tensor of length ``m`` (or a scalar).
        x: the point, shape ``(n,)``.

    Returns:
        ``(m, n)`` Jacobian (numerator layout).

    Raises:
        ValueError: if ``x`` is not a non-empty 1-D tensor or ``f(x)`` has more than one axis.
    """
    x, _ = _vector_map(f, x)
    y, pullback = vjp(f, x)
    eye = torch.eye(max(y.numel(), 1), dtype=y.dtype, device=y.device)
    rows = [pullback(eye[i].reshape(y.shape))[0] for i in range(eye.shape[0])]
    return torch.stack(rows, dim=0)


@dataclass(frozen=True)
class ModeTimes:
    """Seconds per call of each way to differentiate one map ``f: Rⁿ → Rᵐ`` (best of repeats).

    Attributes:
        n_in, n_out: ``n`` and ``m``.
        f: one evaluation of ``f``.
        jvp: one JVP (``torch.func.jvp``).
        vjp: one VJP (``torch.func.vjp`` and one pullback).
        forward: the full Jacobian by ``n`` JVPs (:func:`jacobian_forward`).
        reverse: the full Jacobian by ``m`` VJPs (:func:`jacobian_reverse`).
        jacfwd, jacrev: the full Jacobian by ``torch.func.jacfwd`` / ``jacrev`` (vmapped).
        flops_forward, flops_reverse: :func:`jacobian_flops` of the two (deterministic).
    """

    n_in: int
    n_out: int
    f: float
    jvp: float
    vjp: float
    forward: float
    reverse: float
    jacfwd: float
    jacrev: float
    flops_forward: int
    flops_reverse: int


def time_modes(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    repeat: int = 3,
    min_time: float = 2e-3,
    num_threads: int | None = 1,
) -> ModeTimes:
    """Time one evaluation, one JVP, one VJP and the full Jacobian by each mode, in one run.

    Every time is the best of ``repeat`` means (see ``hessnotes.timing.best_time``), measured on
    ``num_threads`` torch threads (restored afterwards): one thread keeps ratios steady when other
    work shares the machine. Only ratios measured in the same run mean anything.

    Args:
        f: map from a 1-D tensor to a 1-D tensor (or a scalar).
        x: the point, shape ``(n,)``.
        repeat, min_time: see ``best_time``.
        num_threads: torch threads while timing; ``None`` leaves the setting alone.

    Returns:
        ModeTimes.

    Raises:
        ValueError: as :func:`jacobian_forward`.
    """
    x, y = _vector_map(f, x)
    t = torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
    w = torch.ones(y.shape, dtype=y.dtype)
    kw = {"repeat": repeat, "min_time": min_time}
    with torch_threads(num_threads):
        times = {
            "f": best_time(lambda: f(x), **kw),
            "jvp": best_time(lambda: jvp(f, (x,), (t,)), **kw),
            "vjp": best_time(lambda: vjp(f, x)[1](w), **kw),
            "forward": best_time(lambda: jacobian_forward(f, x), **kw),
            "reverse": best_time(lambda: jacobian_reverse(f, x), **kw),
            "jacfwd": best_time(lambda: jacfwd(f)(x), **kw),
            "jacrev": best_time(lambda: jacrev(f)(x), **kw),
        }
    return ModeTimes(
        n_in=x.numel(),
        n_out=max(y.numel(), 1),
        flops_forward=jacobian_flops(f, x, "forward"),
        flops_reverse=jacobian_flops(f, x, "reverse"),
        **times,
    )


def mode_sweep(
    shapes: Sequence[tuple[int, int]],
    *,
    hidden: Sequence[int] = (64,),
    seed: int = 0,
    repeat: int = 3,
    min_time: float = 2e-3,
    num_threads: int | None = 1,
) -> list[ModeTimes]:
    """:func:`time_modes` of ``tanh_layers((n, *hidden, m))`` for each ``(n, m)`` in ``shapes``.

    Args:
        shapes: ``(inputs, outputs)`` pairs, e.g. ``[(64, m) for m in (1, 4, 16, 64, 256)]``.
        hidden: widths of the hidden layers.
        seed: seed of the weights and the points.
        repeat, min_time, num_threads: as for :func:`time_modes`.

    Returns:
        One ModeTimes per shape, in order.

    Raises:
        ValueError: if ``shapes`` is empty or holds a non-positive size.
    """
    if len(shapes) == 0:
        raise ValueError("shapes is empty; give (inputs, outputs) pairs such as [(64, 1)]")
    out = []
    for k, (n, m) in enumerate(shapes):
        f = tanh_layers((n, *hidden, m), seed=seed + k)
        x = torch.randn(n, generator=torch.Generator().manual_seed(seed + k), dtype=torch.float64)
        out.append(time_modes(f, x, repeat=repeat, min_time=min_time, num_threads=num_threads))
    return out


def crossover(x: Sequence[float], a: Sequence[float], b: Sequence[float]) -> float | None:
    """Where two positive cost curves ``a(x)`` and ``b(x)`` cross, interpolated on log-log axes.

    Returns the first ``x*`` between consecutive samples where ``a - b`` changes sign (linear
    interpolation of ``log a - log b`` against ``log x``), or ``None`` if they do not cross.

    Raises:
        ValueError: if the three have different lengths, fewer than 2 points, or a value <= 0.
    """
    x, a, b = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (x, a, b))
    if not (x.size == a.size == b.size) or x.size < 2:
        raise ValueError(f"x, a, b have sizes {x.size}, {a.size}, {b.size}; need equal sizes >= 2")
    if (x <= 0).any() or (a <= 0).any() or (b <= 0).any():
        raise ValueError("crossover works on log axes: x, a and b must be positive")
    d, lx = np.log(a) - np.log(b), np.log(x)
    for i in range(x.size - 1):
        if d[i] == 0:
            return float(x[i])
        if d[i] * d[i + 1] < 0:
            s = d[i] / (d[i] - d[i + 1])
            return float(np.exp(lx[i] + s * (lx[i + 1] - lx[i])))
    return float(x[-1]) if d[-1] == 0 else None
