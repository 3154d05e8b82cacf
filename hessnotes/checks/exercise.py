"""``attempt``: a reader's exercise cell, a verdict and never an exception for a slip.

On top of the checkers: it imports them, none of them imports it.

Chapters: every chapter of the book.
"""

from __future__ import annotations

from collections.abc import Callable

from hessnotes.checks._inputs import _formula_name, _NotAttempted
from hessnotes.checks._report import CheckResult
from hessnotes.checks.formula import check_formula
from hessnotes.checks.gradient import check_gradient
from hessnotes.checks.hessian import check_hessian
from hessnotes.checks.jvp import check_jvp


def attempt(check: Callable[..., CheckResult], f, formula, *inputs, **kwargs) -> CheckResult | None:
    """Check a reader's formula in an exercise cell: a verdict, never an exception for a slip.

    Args:
        check: :func:`check_gradient`, :func:`check_jvp` or :func:`check_hessian`; or
            :func:`hessnotes.checks.formula.check_formula`, for a formula that is not a derivative.
        f: the function, as the checker takes it (for ``check_formula``, the reference).
        formula: the reader's closed form (called as the checker calls it).
        *inputs: the checker's inputs (Domains, shapes or concrete arrays).
        **kwargs: further keywords of the checker (``name`` defaults to the formula's name);
            ``raises`` is not allowed, since ``attempt`` always runs with ``raises=False``.

    Returns:
        None, after printing ``not attempted yet — fill in <formula> above and re-run this
        cell``, while the formula returns ``None`` (or raises ``NotImplementedError``);
        otherwise the :class:`CheckResult`, passed (``✓``) or failed (``✗`` with the diagnosis).

    Raises:
        TypeError, ValueError: on misuse (an unknown ``check``, ``raises=``, bad inputs, or an
            ``f`` that returns NaN at the point): those are not slips of the formula. A shape
            error raised inside the formula is a slip: it is returned as a failed check naming
            the reader's line and the shapes. Other errors raised inside the formula propagate
            with their traceback.
    """
    if check not in (check_gradient, check_jvp, check_hessian, check_formula):
        raise TypeError(
            f"check={getattr(check, '__name__', check)!r}; give check_gradient, check_jvp or "
            "check_hessian (or check_formula, for a formula that is not a derivative)"
        )
    if "raises" in kwargs:
        raise TypeError("attempt always runs the check with raises=False; drop raises=")
    if not callable(formula):
        raise TypeError(f"formula is {type(formula).__name__}; give the function you wrote")
    label = _formula_name(formula)
    if label != "the formula":
        kwargs.setdefault("name", label)
    try:
        return check(f, formula, *inputs, raises=False, **kwargs)
    except _NotAttempted:
        print(f"not attempted yet — fill in {label} above and re-run this cell")
        return None
