"""Check a closed-form formula that is not a derivative (a matrix, a vector) against a reference.

The derivative checkers in :mod:`hessnotes.checks` compare a closed form with autograd and finite
differences. Many results in the book are formulas of another kind: the least-norm Hessian
``H* = Y X⁺ + (X⁺)ᵀ Yᵀ (I - X X⁺)`` from the pairs, the eigenvalues of a small matrix, a
product ``H v`` that never forms ``H``. :func:`check_formula` compares such a formula with a
reference function at the reader's own inputs, and reports like the derivative checkers: a ✓
verdict with the error and the tolerance, or a failure with the worst entry and a computed
diagnosis of the usual slips (a transpose, a sign, a factor, a non-symmetric answer where a
symmetric one is meant, a transposed shape). :func:`hessnotes.checks.attempt` takes it, so a
reader's stub that returns ``None`` prints "not attempted yet" and a wrong formula prints its
diagnosis without raising::

    attempt(check_formula, reference, my_formula, X, Y)

A formula that returns one number is checked at several points, ``at=[(X1, Y1), (X2, Y2),
(X3, Y3)]``: at one point any wrong number is "some factor off", so only a ratio that stays the
same across the points is called a constant factor. Inputs follow the checkers' rules: named by
the formula's parameter names, float16 and NaN refused, a shape error inside the formula
reported with the reader's line.

The reference should be computed independently of the formula under test (a library function
that has its own unit tests against brute force, or a dense construction).

Chapters: "Finite differences done right", "The least-norm Hessian", "The blog post's
eigen-derivation, revisited", "Noisy pairs and a real network", "High dimensions", "Limited-memory
updates", "The vec trick", "Kronecker sums and tensor Sylvester equations".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hessnotes._linalg import check_finite, check_tol, dtype_error
from hessnotes.checks import _reader
from hessnotes.checks._diagnosis import _Ctx
from hessnotes.checks._inputs import _closed, _returned_tensor, default_tolerances
from hessnotes.checks._loop import _apply_to, _series, run_points
from hessnotes.checks._report import CheckResult, _Run
from hessnotes.checks.domains import Domain

__all__ = ["check_formula"]


def _input_dtype(points) -> torch.dtype | None:
    """The floating dtype of the first array input (numpy or torch), if any."""
    for x in (x for pt in points for x in pt):
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x.dtype
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            return torch.from_numpy(np.zeros(0, dtype=x.dtype)).dtype
    return None


def _check_input(x, name: str) -> None:
    """Refuse a Domain or shape, a float16/bfloat16 array and NaN or Inf, naming the input.

    Inputs are passed to both functions as given, so integer arrays (an index, a permutation)
    are allowed; a low-precision float would make the tolerance meaningless.
    """
    if isinstance(x, Domain) or (isinstance(x, tuple) and x and all(isinstance(k, int) for k in x)):
        raise TypeError(
            f"{name} is {x if isinstance(x, Domain) else repr(x)}: check_formula takes concrete "
            "inputs, not a Domain or a "
            "shape; draw them yourself, e.g. X = np.random.default_rng(0).standard_normal"
            "((9, 3))"
        )
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        if x.dtype not in (torch.float32, torch.float64):
            raise dtype_error(name, x.dtype, numpy=False)
        check_finite(x.detach(), name)
    elif isinstance(x, np.ndarray) and x.dtype.kind == "f":
        if x.dtype.itemsize not in (4, 8):
            raise dtype_error(name, x.dtype, numpy=True)
        check_finite(torch.from_numpy(np.ascontiguousarray(x)), name)


def _points(inputs: tuple, at) -> list[tuple]:
    if at is None:
        return [tuple(inputs)]
    if inputs:
        raise TypeError(
            "give the inputs either as check_formula(reference, formula, *inputs) or as "
            "at=[(X1, Y1), (X2, Y2), ...], not both"
        )
    if isinstance(at, np.ndarray | torch.Tensor) or not isinstance(at, Sequence) or not at:
        raise TypeError(
            "at= takes a non-empty list of points, one tuple of inputs each, e.g. "
            "at=[(X1, Y1), (X2, Y2), (X3, Y3)]"
        )
    pts = [tuple(pt) if isinstance(pt, tuple | list) else (pt,) for pt in at]
    if len({len(pt) for pt in pts}) > 1:
        raise ValueError(
            f"the points in at= have {sorted({len(pt) for pt in pts})} inputs; give "
            "each point the same inputs"
        )
    return pts


def _reference_value(reference: Callable, inputs) -> torch.Tensor:
    """Call the reference; it is the check's misuse, not the formula's, if that goes wrong."""
    t = _returned_tensor(
        reference(*inputs),
        "the reference returned {type}, not an array or tensor; give a reference function "
        "that returns the right answer as an array",
    )
    if t.is_complex() or not t.is_floating_point():
        raise TypeError(f"the reference returned dtype {t.dtype}; return a real floating array")
    if t.numel() == 0:
        raise ValueError(
            f"the reference returned an empty array (shape {tuple(t.shape)}): a comparison of "
            "nothing cannot fail; give inputs of positive size"
        )
    if not torch.isfinite(t).all():
        bad = "NaN" if torch.isnan(t).any() else "Inf"
        raise ValueError(
            f"the reference returned {bad} at the given inputs; are they inside its domain "
            "(for example, is a matrix that it inverts singular)?"
        )
    return t


def check_formula(
    reference: Callable,
    formula: Callable,
    *inputs,
    at: Sequence | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    name: str = "",
    raises: bool = True,
) -> CheckResult:
    """Compare a closed-form formula with a reference at the given inputs.

    Both are called as ``reference(*inputs)`` and ``formula(*inputs)`` with the inputs exactly
    as given (numpy stays numpy, torch stays torch), and may return a numpy array, a torch tensor
    or a scalar. The comparison passes when ``max|F - R| <= atol + rtol * max|R|`` (normwise, as
    in the derivative checkers); the reported relative error is ``max|F - R| / max|R|``.

    Args:
        reference: function of the inputs returning the right answer ``R``.
        formula: the closed form under test, returning ``F`` of the shape of ``R``.
        *inputs: concrete inputs (arrays, tensors or scalars), one per argument: one point.
        at: instead of ``*inputs``, several points, one tuple of inputs each:
            ``at=[(X1, Y1), (X2, Y2), (X3, Y3)]``. A formula that returns one number should be
            checked at three or more: at one point any wrong number is "a factor off", so only
            what varies across points can tell a factor from another slip.
        rtol, atol: tolerances; defaults from the machine epsilon ``ε`` of the first floating
            input's dtype (float64 if there is none): ``rtol = ε^(1/2)``, ``atol = ε^(3/4)``.
        name: what is checked, for the verdict (``attempt`` passes the formula's name).
        raises: if False, a failed check returns its :class:`~hessnotes.checks.CheckResult`
            (printing ``✗`` with the diagnosis) instead of raising.

    Returns:
        CheckResult of kind ``"formula"`` with one comparison per point, against
        ``"reference"``.

    Raises:
        AssertionError: if ``raises`` and the formula disagrees with the reference, has the wrong
            shape (a shape error raised inside it included, reported with its line), or returns
            NaN or Inf.
        TypeError: if an input is a Domain or a shape (draw concrete inputs), a float16 or
            bfloat16 array, if the formula returns ``None`` (a check of ``None`` cannot fail) or
            a non-array, or if the reference returns a non-array.
        ValueError: if an input holds NaN or Inf, the reference returns an empty array, NaN or
            Inf, or on a bad tolerance.
    """
    if not callable(reference) or not callable(formula):
        raise TypeError("check_formula(reference, formula, *inputs): both must be functions")
    points = _points(inputs, at)
    names = _reader.arg_names(len(points[0]), formula, reference)
    for pt in points:
        for x, nm in zip(pt, names, strict=True):
            _check_input(x, nm)
    dtype = _input_dtype(points) or torch.float64
    tols = default_tolerances(dtype)
    rtol = tols["rtol"] if rtol is None else check_tol(rtol, "rtol")
    atol = tols["atol"] if atol is None else check_tol(atol, "atol")
    if rtol + atol == 0:
        raise ValueError("rtol=0 and atol=0: a comparison with no tolerance fails on rounding")
    wants = [_reference_value(reference, pt).to(torch.float64) for pt in points]
    at_given = len(points) == 1
    run = _Run("formula", name, dtype, len(points), at_given, raises)
    stages = _Formula(
        formula,
        points,
        wants,
        names,
        name or "the formula",
        rtol,
        atol,
        _reader.Words.of(points[0], names, converted=False),
    )
    return run_points(run, stages, rtol=rtol, atol=atol, fd_rtol=rtol, reference="reference")


@dataclass
class _Formula:
    """The stages of :func:`check_formula` for :func:`~hessnotes.checks._loop.run_points`: the
    points are the reader's, the reference is computed up front, and there are no differences."""

    formula: Callable
    points: list[tuple]
    wants: list[torch.Tensor]
    names: Sequence[str]
    label: str
    rtol: float
    atol: float
    words: _reader.Words
    expected: str = "the reference has shape"

    def draw(self, p: int, where: str) -> int:
        return p

    def reference(self, p: int, where: str) -> torch.Tensor:
        return self.wants[p]

    def call(self, want: torch.Tensor, fn: Callable, pt, where: str) -> torch.Tensor:
        return _closed(
            fn,
            pt,
            arg=self.label,
            what=f"an array of shape {tuple(want.shape)}",
            where=where,
            dtype=torch.float64,
            device=want.device,
            words=self.words,
        )

    def closed(self, p: int, where: str, want: torch.Tensor) -> torch.Tensor:
        return self.call(want, self.formula, self.points[p], where)

    def _next_point(self, later, call):
        """The formula and the reference at the next point not yet compared (for the diagnosis)."""
        q = next(later)
        return call(self.formula, self.points[q], f"at point {q + 1}"), self.wants[q]

    def context(self, run: _Run, p: int, _, where: str, got, want) -> _Ctx:
        pt, call = self.points[p], functools.partial(self.call, want)
        later = iter(range(p + 1, len(self.points)))
        fresh = functools.partial(self._next_point, later, call)
        more = (
            "give 3 or more points: check_formula(reference, formula, "
            f"at=[{_at_example(self.names)}])"
        )
        return _Ctx(
            ref_name="the reference",
            rtol=self.rtol,
            atol=self.atol,
            shape_of="the reference",
            sym_hint="the right answer is a symmetric matrix",
            names=self.names,
            closed_form=self.formula,
            apply=functools.partial(_apply_to, call, pt, where),
            fixed=[i for i, x in enumerate(pt) if _reader.square_nonsymmetric(x)],
            series=functools.partial(_series, run, got, want, fresh, need=len(self.points)),
            more_points=more,
        )

    def differences(self, p: int, where: str, got: torch.Tensor) -> None:
        return None


def _at_example(names) -> str:
    """``(X1, Y1), (X2, Y2), (X3, Y3)`` from the formula's parameter names."""
    if not all(n.isidentifier() for n in names):
        return "(...), (...), (...)"
    pts = [", ".join(f"{n}{k}" for n in names) for k in (1, 2, 3)]
    return ", ".join(f"({p})" if len(names) > 1 else p for p in pts)
