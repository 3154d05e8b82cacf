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

The reference should be computed independently of the formula under test (a library function
that has its own unit tests against brute force, or a dense construction).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from hessnotes.checks import (
    CheckResult,
    Domain,
    _closed,
    _compare,
    _Ctx,
    _returned_tensor,
    _Run,
    default_tolerances,
)

__all__ = ["check_formula"]


def _input_dtype(inputs) -> torch.dtype | None:
    """The floating dtype of the first array input (numpy or torch), if any."""
    for x in inputs:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x.dtype
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            return torch.from_numpy(np.zeros(0, dtype=x.dtype)).dtype
    return None


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
        *inputs: concrete inputs (arrays, tensors or scalars), one per argument; there is one
            point, the given one.
        rtol, atol: tolerances; defaults from the machine epsilon ``ε`` of the first floating
            input's dtype (float64 if there is none): ``rtol = ε^(1/2)``, ``atol = ε^(3/4)``.
        name: what is checked, for the verdict (``attempt`` passes the formula's name).
        raises: if False, a failed check returns its :class:`~hessnotes.checks.CheckResult`
            (printing ``✗`` with the diagnosis) instead of raising.

    Returns:
        CheckResult of kind ``"formula"`` with one comparison, against ``"reference"``.

    Raises:
        AssertionError: if ``raises`` and the formula disagrees with the reference, has the wrong
            shape, or returns NaN or Inf.
        TypeError: if an input is a Domain or a shape (draw concrete inputs), if the formula
            returns ``None`` (a check of ``None`` cannot fail) or a non-array, or if the
            reference returns a non-array.
        ValueError: if the reference returns an empty array, NaN or Inf, or on a bad tolerance.
    """
    for i, x in enumerate(inputs):
        if isinstance(x, Domain) or (
            isinstance(x, tuple) and x and all(isinstance(k, int) for k in x)
        ):
            raise TypeError(
                f"input {i} is {x!r}: check_formula takes concrete inputs, not a Domain or a "
                "shape; draw them yourself, e.g. X = np.random.default_rng(0).standard_normal"
                "((9, 3))"
            )
    if not callable(reference) or not callable(formula):
        raise TypeError("check_formula(reference, formula, *inputs): both must be functions")
    dtype = _input_dtype(inputs) or torch.float64
    tols = default_tolerances(dtype if dtype in (torch.float32, torch.float64) else torch.float64)
    rtol = tols["rtol"] if rtol is None else float(rtol)
    atol = tols["atol"] if atol is None else float(atol)
    if not (rtol >= 0 and atol >= 0) or not np.isfinite(rtol + atol) or rtol + atol == 0:
        raise ValueError(f"rtol={rtol}, atol={atol}: give finite tolerances >= 0, not both 0")
    want = _reference_value(reference, inputs).to(torch.float64)
    run = _Run("formula", name, dtype, 1, True, raises)
    got = _closed(
        formula,
        inputs,
        arg=name or "the formula",
        what=f"an array of shape {tuple(want.shape)}",
        where="at the given point",
        dtype=torch.float64,
        device=want.device,
    )
    ctx = _Ctx(
        ref_name="the reference",
        rtol=rtol,
        atol=atol,
        shape_of="the reference",
        sym_hint="the right answer is a symmetric matrix",
    )
    _compare(
        run,
        0,
        got,
        want,
        reference="reference",
        rtol=rtol,
        atol=atol,
        ctx=ctx,
        expected="the reference has shape",
    )
    return run.result()
