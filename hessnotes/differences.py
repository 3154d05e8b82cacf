"""Finite-difference stencils, Richardson extrapolation and the complex step.

A *stencil* with distinct offsets ``s_0, ..., s_{m-1}`` and weights ``w_j`` approximates the
``k``-th derivative of a smooth scalar function ``g(t) = f(x + t v)`` at ``t = 0``:

    D_h g = h^(-k) Σ_j w_j g(s_j h) = g^(k)(0) + c h^p g^(k+p)(0) + O(h^(p+1)).

Taylor's theorem gives ``Σ_j w_j g(s_j h) = Σ_i (h^i / i!) g^(i)(0) Σ_j w_j s_j^i``, so the
weights solve the m × m Vandermonde system ``Σ_j w_j s_j^i = i! δ_{ik}``, ``i = 0..m-1``
(:func:`stencil_weights`, in exact rational arithmetic), and the leading error is the first
non-zero moment beyond: ``c = Σ_j w_j s_j^(k+p) / (k+p)!`` (:func:`truncation_term`).
Forward ``(0, 1)``: p = 1, c = 1/2; central ``(-1, 1)``: p = 2, c = 1/6; five-point
``(-2, -1, 0, 1, 2)``: p = 4, c = -1/30.

Each evaluation of ``f`` in a format with machine epsilon ``ε`` errs by about ``u |f|``
(``u = ε/2``), so the computed difference errs by ``|c| M h^p + u |f| Σ|w_j| / h^k``;
:func:`balanced_step` gives the step that minimises such a sum. The **complex step**
``Im f(x + i h v) / h = Df(x)[v] - (h²/6) D³f(x)[v, v, v] + O(h⁴)`` subtracts nothing, so it has
no roundoff term: at ``h = 1e-20`` it is exact to rounding (``f`` must be written with
operations that extend analytically to complex arguments: no ``abs``, ``.real`` or comparisons).
**Richardson extrapolation** ``(r^p D(h/r) - D(h)) / (r^p - 1)`` cancels an ``h^p`` error term.

Functions of ``f`` take torch tensors ``x`` and ``v`` (float32 or float64, same shape) and return
tensors of the shape of ``f(x)``, in the dtype of ``x``. Refused, with the argument named: a step
that is not positive and finite, offsets that repeat or are not finite, an order not below the
number of offsets, a non-floating or mismatched ``x`` or ``v``, NaN or Inf in them, and an ``f``
that returns a real tensor at a complex point (for the complex step).

Chapters: "Finite differences done right".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np
import torch
from torch.func import jvp as _jvp

from hessnotes._linalg import check_finite, check_float_dtype, check_positive_int

__all__ = [
    "METHODS",
    "balanced_step",
    "complex_step",
    "difference",
    "difference_errors",
    "richardson",
    "stencil_difference",
    "stencil_weights",
    "truncation_term",
]

#: The methods of :func:`difference`, with their offsets (None: not a real stencil).
METHODS = {
    "forward": (0, 1),
    "central": (-1, 1),
    "richardson": None,
    "five-point": (-2, -1, 0, 1, 2),
    "complex step": None,
}


def _offsets(offsets: Sequence[float], order: int) -> list[Fraction]:
    order = int(order)
    if order < 0:
        raise ValueError(f"order={order}; give the derivative's order, 0 or more")
    s = []
    for o in offsets:
        if not math.isfinite(float(o)):
            raise ValueError(f"offsets={list(offsets)!r} holds {o!r}; give finite numbers")
        s.append(Fraction(o) if isinstance(o, int | Fraction) else Fraction(float(o)))
    if len(set(s)) != len(s):
        raise ValueError(f"offsets={list(offsets)!r} repeat a value; give distinct offsets")
    if order >= len(s):
        raise ValueError(
            f"order={order} needs at least {order + 1} offsets; offsets={list(offsets)!r} has "
            f"{len(s)}"
        )
    return s


def _weights(s: list[Fraction], order: int) -> list[Fraction]:
    """Gauss-Jordan on Σ_j w_j s_j^i = i! δ_{i,order}, exactly (the Vandermonde is invertible)."""
    m = len(s)
    rows = [[sj**i for sj in s] + [Fraction(math.factorial(i)) * (i == order)] for i in range(m)]
    for c in range(m):
        piv = next(r for r in range(c, m) if rows[r][c] != 0)
        rows[c], rows[piv] = rows[piv], rows[c]
        rows[c] = [a / rows[c][c] for a in rows[c]]
        for r in range(m):
            if r != c and rows[r][c] != 0:
                rows[r] = [a - rows[r][c] * b for a, b in zip(rows[r], rows[c], strict=True)]
    return [row[m] for row in rows]


def stencil_weights(offsets: Sequence[float], order: int = 1) -> np.ndarray:
    """Weights ``w`` with ``h^(-order) Σ_j w_j g(s_j h) ≈ g^(order)(0)``, to the highest accuracy.

    They solve the Vandermonde system ``Σ_j w_j s_j^i = i! δ_{i, order}``, ``i = 0..m-1``, in
    exact rational arithmetic (floats are taken at their exact binary value), then rounded once.

    Args:
        offsets: (m,) distinct finite offsets ``s_j`` (integers give exact weights).
        order: the derivative's order ``k``, ``0 <= k < m``.

    Returns:
        (m,) float64 array of weights, e.g. ``[1, -8, 0, 8, -1] / 12`` for ``(-2, -1, 0, 1, 2)``.

    Raises:
        ValueError: on repeated or non-finite offsets, or ``order`` negative or ``>= m``.
    """
    return np.array([float(w) for w in _weights(_offsets(offsets, order), int(order))])


def truncation_term(offsets: Sequence[float], order: int = 1) -> tuple[int, float]:
    """The leading error of the stencil: ``(p, c)`` with ``D_h g - g^(k) = c h^p g^(k+p) + ...``.

    ``c = Σ_j w_j s_j^(k+p) / (k+p)!``, the first non-zero moment of the weights beyond those the
    Vandermonde system fixes.

    Returns:
        ``p`` (the order of accuracy, >= 1) and ``c``: ``(1, 0.5)`` forward, ``(2, 1/6)``
        central, ``(4, -1/30)`` five-point.

    Raises:
        ValueError: as :func:`stencil_weights`.
    """
    s = _offsets(offsets, order)
    w = _weights(s, int(order))
    i = len(s)
    while True:  # a non-zero moment comes within two more powers (Σ w s^i ≠ 0 for i = m or m+1)
        mom = sum(wj * sj**i for wj, sj in zip(w, s, strict=True)) / math.factorial(i)
        if mom != 0:
            return i - int(order), float(mom)
        i += 1


def balanced_step(p: int, trunc: float, roundoff: float) -> tuple[float, float]:
    """Minimiser and minimum of ``err(h) = trunc h^p + roundoff / h`` over ``h > 0``.

    Setting ``err'(h) = p trunc h^(p-1) - roundoff / h² = 0`` gives
    ``h* = (roundoff / (p trunc))^(1/(p+1))`` and ``err(h*) = (p + 1) roundoff / (p h*)``.

    Raises:
        ValueError: if ``p`` is not a positive integer or a constant is not positive and finite.
    """
    p = check_positive_int(p, "p")
    for name, c in (("trunc", trunc), ("roundoff", roundoff)):
        if not (isinstance(c, int | float) and 0 < c < math.inf):
            raise ValueError(f"{name}={c!r}; give a positive, finite constant")
    h = (roundoff / (p * trunc)) ** (1 / (p + 1))
    return h, (p + 1) * roundoff / (p * h)


def _point(x, v, h) -> None:
    if not (isinstance(h, int | float) and 0 < h < math.inf):
        raise ValueError(f"h={h!r}; the step must be a positive, finite number")
    for name, t in (("x", x), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(
                f"{name} is {type(t).__name__}; give a torch tensor, e.g. "
                f"torch.as_tensor({name}, dtype=torch.float64)"
            )
        check_float_dtype(t, name)
    if x.dtype != v.dtype or x.shape != v.shape:
        raise ValueError(
            f"v is {v.dtype} {tuple(v.shape)} but x is {x.dtype} {tuple(x.shape)}; make them equal"
        )
    check_finite(x, "x")
    check_finite(v, "v")


def stencil_difference(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    v: torch.Tensor,
    h: float,
    offsets: Sequence[float],
    order: int = 1,
) -> torch.Tensor:
    """``h^(-k) Σ_j w_j f(x + s_j h v)``, the stencil for ``d^k f(x)[v, ..., v]`` (``k = order``).

    Offsets with weight zero are not evaluated (the centre of a symmetric first-derivative
    stencil). The steps ``s_j h`` are formed in Python floats, so with ``h`` a power of two and
    small integer offsets they are exact.

    Raises:
        ValueError, TypeError: on a bad step, offsets, order, ``x`` or ``v`` (see the module).
    """
    _point(x, v, h)
    w = stencil_weights(offsets, order)
    terms = [
        float(wj) * f(x + torch.as_tensor(float(sj) * h, dtype=x.dtype) * v)
        for wj, sj in zip(w, offsets, strict=True)
        if wj != 0
    ]
    return sum(terms[1:], terms[0]) / h ** int(order)


def richardson(
    d: Callable[[float], torch.Tensor], h: float, p: int, *, ratio: float = 2.0
) -> torch.Tensor:
    """Richardson extrapolation ``(r^p D(h/r) - D(h)) / (r^p - 1)`` of ``D(h) = A + c h^p + ...``.

    The ``h^p`` terms cancel, leaving the next term of the expansion (``h^(p+2)`` for a symmetric
    difference, whose expansion has only even powers).

    Args:
        d: the approximation as a function of the step, e.g. ``lambda h: central(h)``.
        h: the larger step, positive and finite.
        p: the order of the error term to cancel (2 for a central difference).
        ratio: ``r > 1``, the ratio of the two steps.

    Raises:
        ValueError: on a bad ``h``, ``p`` or ``ratio``.
    """
    if not (isinstance(h, int | float) and 0 < h < math.inf):
        raise ValueError(f"h={h!r}; the step must be a positive, finite number")
    p = check_positive_int(p, "p")
    if not (isinstance(ratio, int | float) and 1 < ratio < math.inf):
        raise ValueError(f"ratio={ratio!r}; give a finite ratio of steps above 1, e.g. 2")
    rp = float(ratio) ** p
    return (rp * d(h / ratio) - d(h)) / (rp - 1)


def complex_step(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, v: torch.Tensor, h: float
) -> torch.Tensor:
    """The complex-step derivative ``Im f(x + i h v) / h ≈ Df(x)[v]``, in the dtype of ``x``.

    ``f`` is called at a complex point (complex128 for float64 ``x``, complex64 for float32) and
    must extend analytically: written with arithmetic, ``exp``, ``log``, ``inv``, ``det``, ...,
    not with ``abs``, ``.real``, ``conj`` or comparisons.

    Raises:
        ValueError, TypeError: on a bad step, ``x`` or ``v`` (see the module).
        TypeError: naming ``f``, if ``f`` returns a real tensor at the complex point.
    """
    _point(x, v, h)
    cdtype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
    out = f(x.to(cdtype) + 1j * h * v.to(cdtype))
    if not (isinstance(out, torch.Tensor) and out.is_complex()):
        what = out.dtype if isinstance(out, torch.Tensor) else type(out).__name__
        raise TypeError(
            f"f returned {what} at a complex point; the complex step needs an f that extends "
            "analytically (no abs, .real or casts to a real dtype): use another method"
        )
    return out.imag / h


def difference(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    v: torch.Tensor,
    h: float,
    method: str,
) -> torch.Tensor:
    """``Df(x)[v]`` by one of :data:`METHODS`: ``"forward"``, ``"central"``, ``"richardson"``
    (of central differences at ``h`` and ``h/2``), ``"five-point"`` or ``"complex step"``.

    Raises:
        ValueError: on an unknown method (and as the method itself).
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r}; choose one of {list(METHODS)}")
    if method == "complex step":
        return complex_step(f, x, v, h)
    if method == "richardson":
        _point(x, v, h)
        return richardson(lambda k: stencil_difference(f, x, v, k, (-1, 1)), h, 2)
    return stencil_difference(f, x, v, h, METHODS[method])


def difference_errors(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    v: torch.Tensor,
    steps: Sequence[float],
    methods: Sequence[str] = tuple(METHODS),
) -> dict[str, np.ndarray]:
    """Relative error of each method against ``torch.func.jvp``, for each step, in float64.

    The error is ``max|D_h - ref| / max|ref|`` (normwise, as in :mod:`hessnotes.checks`).

    Args:
        f: function of one tensor, written in torch (and analytic, for the complex step).
        x: the point, float64 tensor of any shape.
        v: the direction, float64 tensor of the shape of ``x``.
        steps: (s,) positive steps.
        methods: names from :data:`METHODS`.

    Returns:
        method -> (s,) float64 array of relative errors (0 where the difference is exact).

    Raises:
        ValueError: on an empty or non-positive ``steps``, an unknown method, bad ``x``/``v``,
            or a zero reference (a relative error is then undefined).
    """
    hs = [float(h) for h in steps]
    if not hs or not all(0 < h < math.inf for h in hs):
        raise ValueError(f"steps={hs!r}; give a non-empty list of positive, finite steps")
    _point(x, v, hs[0])
    ref = _jvp(f, (x,), (v,))[1].detach().to(torch.float64)
    scale = float(ref.abs().max())
    if scale == 0:
        raise ValueError("Df(x)[v] is zero here; choose another x or v for a relative error")
    out = {}
    with torch.no_grad():
        for m in methods:
            errs = [
                float((difference(f, x, v, h, m).to(torch.float64) - ref).abs().max()) / scale
                for h in hs
            ]
            out[m] = np.asarray(errs, dtype=np.float64)
    return out
