"""Central finite differences and their error as a function of the step size.

For a smooth ``f`` and a direction ``v``, the central difference

    (f(x + h v) - f(x - h v)) / (2 h) = Df(x)[v] + (h² / 6) D³f(x)[v, v, v] + O(h⁴)

has a *truncation* error of order ``h²``; evaluating ``f`` in a floating-point format with machine
epsilon ``ε`` (``torch.finfo(dtype).eps``: 2⁻⁵² for float64, 2⁻²³ for float32; the unit roundoff
is ``u = ε / 2``, 2⁻⁵³ for float64, in Higham's terms) adds a *roundoff* error of order
``ε |f| / h``. Their sum is smallest near ``h ≈ ε^(1/3)``, where the error is of order
``ε^(2/3)``. The functions here measure that V-shaped curve (see the chapter "Checking
derivatives").

A central difference also hides a kink: at ``|x|`` and ``x = 0`` it gives 0, a plausible
"derivative". The one-sided slopes tell: ``(f(x + hv) - 2 f(x) + f(x - hv)) / h``, the forward
minus the backward slope, is ``h d²f[v, v] + O(h³)`` for a smooth f (it halves with h) and does
not shrink at a kink. :func:`one_sided_kink` compares it at h/2, h and 2h.

Since their subject is floating-point error itself, they take the differences in any torch
floating dtype the caller names (float16 included: that is the point of a precision
comparison); a point or direction that is not floating, or holds NaN or Inf, is refused with
the argument named.

Chapters: "Derivatives as linear maps, and the chain rule", "Checking derivatives", "Finite
differences done right".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.func import jvp as _jvp

from hessnotes._linalg import check_finite, loglog_slope

__all__ = [
    "central_difference",
    "fd_error_curve",
    "fit_slope",
    "one_sided_kink",
    "optimal_step",
]


def _float_dtype(dtype: torch.dtype) -> torch.dtype:
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype={dtype!r}; give a torch floating dtype such as torch.float32")
    return dtype


def central_difference(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, v: torch.Tensor, h: float
) -> torch.Tensor:
    """The central difference ``(f(x + h v) - f(x - h v)) / (2 h)``, in the dtype of ``x``.

    Args:
        f: function of one tensor, written in torch.
        x: the point, any shape.
        v: the direction, same shape as ``x``.
        h: the step, a positive float.

    Returns:
        A tensor of the shape of ``f(x)``: approximately ``Df(x)[v]``.

    Raises:
        TypeError: if ``x`` is not a floating tensor (an integer ``x`` would round every step
            ``h < 1`` to zero).
        ValueError: if ``h`` is not positive and finite, ``v`` differs from ``x`` in shape, or
            ``x`` or ``v`` holds NaN or Inf.
    """
    try:
        positive = 0 < float(h) < math.inf
    except (TypeError, ValueError):
        positive = False
    if not positive:
        raise ValueError(f"h={h!r}; the step must be a positive, finite number")
    for name, t in (("x", x), ("v", v)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            what = t.dtype if isinstance(t, torch.Tensor) else type(t).__name__
            raise TypeError(
                f"{name} is {what}; central_difference takes floating torch tensors, e.g. "
                f"torch.as_tensor({name}, dtype=torch.float64)"
            )
    if tuple(v.shape) != tuple(x.shape):
        raise ValueError(
            f"v has shape {tuple(v.shape)} but x has {tuple(x.shape)}; make them equal"
        )
    check_finite(x, "x")
    check_finite(v, "v")
    h_t = torch.as_tensor(h, dtype=x.dtype)
    return (f(x + h_t * v) - f(x - h_t * v)) / (2 * h_t)


def fd_error_curve(
    f: Callable[[torch.Tensor], torch.Tensor],
    x,
    v,
    steps: Sequence[float],
    *,
    dtype: torch.dtype = torch.float64,
) -> np.ndarray:
    """Relative error of the central difference of ``f`` at ``x`` along ``v``, for each step.

    ``f`` is evaluated in ``dtype``; the reference ``Df(x)[v]`` is ``torch.func.jvp`` in float64.
    The error is ``max|fd - ref| / max|ref|`` (normwise, as in :mod:`hessnotes.checks`).

    Args:
        f: function of one tensor, written in torch, that works in ``dtype`` and in float64.
        x: the point (array or tensor, any shape).
        v: the direction, same shape as ``x``.
        steps: (s,) positive step sizes ``h``.
        dtype: floating dtype in which the differences are taken, e.g. ``torch.float32``.

    Returns:
        (s,) float64 numpy array of relative errors (exactly 0 where the difference is exact).

    Raises:
        ValueError: on a non-floating ``dtype``, non-positive steps, mismatched shapes, NaN or
            Inf in ``x`` or ``v``, or a zero reference derivative (a relative error is then
            undefined).
    """
    dtype = _float_dtype(dtype)
    x64 = torch.as_tensor(x, dtype=torch.float64)
    v64 = torch.as_tensor(v, dtype=torch.float64)
    if x64.shape != v64.shape:
        raise ValueError(f"v has shape {tuple(v64.shape)} but x has {tuple(x64.shape)}")
    check_finite(x64, "x")
    check_finite(v64, "v")
    steps = [float(h) for h in steps]
    if not steps or min(steps) <= 0:
        raise ValueError(f"steps={steps!r}; give a non-empty list of positive step sizes")
    ref = _jvp(f, (x64,), (v64,))[1].detach()
    scale = ref.abs().max().item()
    if scale == 0:
        raise ValueError("Df(x)[v] is zero here; choose another x or v for a relative error")
    xd, vd = x64.to(dtype), v64.to(dtype)
    with torch.no_grad():
        out = [
            (central_difference(f, xd, vd, h).to(torch.float64) - ref).abs().max().item() / scale
            for h in steps
        ]
    return np.asarray(out, dtype=np.float64)


def optimal_step(dtype: torch.dtype) -> float:
    """The rule-of-thumb step ``ε^(1/3)`` for central differences in ``dtype``.

    ``ε`` is the machine epsilon of ``dtype`` (``torch.finfo(dtype).eps``, 2⁻⁵² for float64), twice
    the unit roundoff.

    Raises:
        ValueError: on a non-floating ``dtype``.
    """
    return float(torch.finfo(_float_dtype(dtype)).eps) ** (1 / 3)


def fit_slope(steps: Sequence[float], errors: Sequence[float], lo: float, hi: float) -> float:
    """Least-squares slope of ``log(error)`` against ``log(h)`` over the steps in ``[lo, hi]``.

    Args:
        steps: (s,) positive step sizes.
        errors: (s,) errors measured at those steps.
        lo, hi: the window of steps to fit.

    Returns:
        The slope: about 2 where truncation dominates, about -1 where roundoff does.

    Raises:
        ValueError: if the lengths differ or fewer than two positive errors lie in the window.
    """
    h = np.asarray(steps, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    if h.shape != e.shape or h.ndim != 1:
        raise ValueError(f"steps {h.shape} and errors {e.shape} must be 1-D of equal length")
    return loglog_slope(h, e, window=(lo, hi))


def _one_sided_gap(evals, h: float, f0: torch.Tensor) -> torch.Tensor:
    """``(f(x + hv) - 2 f(x) + f(x - hv)) / h``: the forward minus the backward slope."""
    plus, minus = evals(h)
    return (plus + minus - 2 * f0) / h


def one_sided_kink(
    evals: Callable[[float], tuple[torch.Tensor, torch.Tensor]],
    h: float,
    f0: torch.Tensor,
    *,
    rtol: float,
    atol: float,
) -> tuple[int, float, float] | None:
    """The first direction along which f has a kink at x: (index, forward, backward slope).

    A direction is suspect when its one-sided slopes differ by far more than roundoff
    (``100 ε max|f| / h``) and than the tolerance of the differences (``10 (rtol s + atol)``,
    ``s`` the largest central difference); it is a kink when that gap stays within a factor 4/3
    at steps h/2 and 2h, where a smooth f would halve and double it. Only then are the extra
    evaluations made.

    Args:
        evals: ``evals(h) = (f(x + h v_i), f(x - h v_i))`` stacked over the directions ``v_i``
            (or over the entries of f's output, for one direction).
        h: the step of the central differences.
        f0: ``f(x)``, in the dtype of ``evals`` (a scalar, or of the shape of one evaluation).
        rtol, atol: the tolerance of the central differences.

    Returns:
        None for a smooth f; else the flat index of the first kinked direction (or output
        entry) and the forward and backward slopes there.
    """
    plus, minus = evals(h)
    gap = (plus + minus - 2 * f0) / h
    eps = float(torch.finfo(gap.dtype).eps)
    fmax = max(float(f0.abs().max()), float(plus.abs().max()), float(minus.abs().max()))
    slope = float(((plus - minus) / (2 * h)).abs().max())
    if not (math.isfinite(fmax) and math.isfinite(slope)):
        return None
    kink = gap.abs() > max(100 * eps * fmax / h, 10 * (rtol * slope + atol))
    if not bool(kink.any()):
        return None
    for s in (0.5, 2.0):
        try:
            r = _one_sided_gap(evals, s * h, f0) / gap
        except (RuntimeError, ValueError):  # f fails one step further out: no verdict
            return None
        kink &= torch.isfinite(r) & (r >= 0.75) & (r <= 4 / 3)
    if not bool(kink.any()):
        return None
    i = int(torch.nonzero(kink.reshape(-1))[0])
    f0i = f0.reshape(-1)[i % f0.numel()]
    return i, float((plus.reshape(-1)[i] - f0i) / h), float((f0i - minus.reshape(-1)[i]) / h)
