"""Plain comparisons that print: :func:`check_close`, :func:`check_error`, :func:`check_raises`.

For identities that are not derivatives (``print(check_close("H X = Y", H @ X, Y, 1e-12))``) and
for a refusal (``with check_raises("lanczos refuses M", ValueError, "symmetric"): ...``). No chapter
defines its own verdict printer or ``try``/``except`` block.

Chapters: every chapter of the book.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np
import torch

from hessnotes._linalg import check_tol
from hessnotes.checks._report import _WIDTH, _fmt_err, _fmt_tol_for


# --------------------------------------------------------------------------------------------------
# Plain comparisons, for identities that are not derivatives
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """A passed comparison; prints as ``✓ name: rel. error 3.1e-16 (tol 1e-12)``."""

    name: str
    error: float
    tol: float
    label: str = "rel. error"

    def __str__(self) -> str:
        tol = _fmt_tol_for(self.error, self.tol)
        return f"✓ {self.name}: {self.label} {_fmt_err(self.error)} (tol {tol})"

    __repr__ = __str__


def _as_array(a) -> np.ndarray:
    """float64, or complex128 for complex input (eigenvalues of non-symmetric matrices)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    return a.astype(np.complex128 if np.iscomplexobj(a) else np.float64, copy=False)


def check_close(name: str, got, want, tol: float, *, norm: str = "fro") -> Verdict:
    """Assert that ``got`` equals ``want`` to a relative tolerance, normwise; return a verdict.

    Args:
        name: what is compared, for the verdict.
        got, want: arrays, tensors or scalars of the same shape (compared in float64, or in
            complex128 when either is complex).
        tol: relative tolerance. The error is ``||got - want|| / ||want||``, or the absolute
            ``||got - want||`` when ``want`` is zero.
        norm: ``"fro"`` (Frobenius / 2-norm of all entries) or ``"max"`` (largest entry).

    Returns:
        Verdict, printing as one line.

    Raises:
        AssertionError: beyond tolerance; the message names the worst entry, both values and tol.
        ValueError: on different shapes, an unknown ``norm``, or a ``tol`` that is negative, NaN
            or infinite (:func:`hessnotes._linalg.check_tol`: ``inf`` would pass anything).
    """
    tol = check_tol(tol, "tol")
    g, w = _as_array(got), _as_array(want)
    if g.shape != w.shape:
        raise ValueError(f"{name}: got has shape {g.shape} but want has shape {w.shape}")
    if norm not in ("fro", "max"):
        raise ValueError(f"norm={norm!r}; use 'fro' or 'max'")
    size = (lambda a: float(np.abs(a).max(initial=0.0))) if norm == "max" else np.linalg.norm
    scale = float(size(w))
    err = float(size(g - w)) / (scale if scale > 0 else 1.0)
    label = ("max " if norm == "max" else "") + ("rel. error" if scale > 0 else "error")
    if not np.isfinite(err) or err > tol:
        d = np.abs(g - w)
        idx = (
            tuple(
                int(i)
                for i in np.unravel_index(int(np.argmax(np.where(np.isnan(d), np.inf, d))), d.shape)
            )
            if d.ndim
            else ()
        )
        raise AssertionError(
            f"{name}: {label} {err:.3e} exceeds tol {tol:g}; worst entry at index {idx}: "
            f"got {g[idx]:.10g}, want {w[idx]:.10g}"
        )
    return Verdict(name, err, tol, label)


def check_error(name: str, error: float, tol: float, *, label: str = "rel. error") -> Verdict:
    """Assert that an already measured error is at most ``tol``; return a verdict.

    Raises:
        AssertionError: if ``error > tol`` or it is not finite.
        ValueError: on a ``tol`` that is negative, NaN or infinite.
    """
    tol = check_tol(tol, "tol")
    error = float(error)
    if not math.isfinite(error) or error > tol:
        raise AssertionError(f"{name}: {label} {error:.3e} exceeds tol {tol:g}")
    return Verdict(name, error, tol, label)


class Raises:
    """The context manager of :func:`check_raises`; after the block, ``error`` is the exception."""

    def __init__(self, name: str, exception, contains: str | None) -> None:
        self.name, self.exception, self.contains = name, exception, contains
        self.error: BaseException | None = None

    def _expected(self) -> str:
        kinds = self.exception if isinstance(self.exception, tuple) else (self.exception,)
        return " or ".join(k.__name__ for k in kinds)

    def __enter__(self) -> Raises:
        return self

    def __exit__(self, kind, error, tb) -> bool:
        if kind is None:
            raise AssertionError(f"{self.name}: nothing was raised; expected {self._expected()}")
        if not issubclass(kind, Exception):
            return False  # KeyboardInterrupt, SystemExit: never swallowed
        first = _first_line(error)
        if not isinstance(error, self.exception):
            raise AssertionError(
                f"{self.name}: expected {self._expected()}, but {kind.__name__} was raised: {first}"
            ) from error
        if self.contains is not None and self.contains not in str(error):
            raise AssertionError(
                f"{self.name}: {kind.__name__} was raised, but its message does not contain "
                f"{self.contains!r}: {first}"
            ) from error
        self.error = error
        print(self)
        return True

    def __str__(self) -> str:
        if self.error is None:
            return f"{self.name}: not run yet"
        head = f"✓ {self.name}: {type(self.error).__name__}"
        first = _fragment(str(self.error), self.contains)
        if len(head) + 2 + len(first) <= _WIDTH:
            return f"{head}: {first}"
        lines = textwrap.wrap(
            first,
            _WIDTH,
            initial_indent="  ",
            subsequent_indent="  ",
            max_lines=3,
            placeholder=" …",
        )
        return "\n".join([head, *lines])

    __repr__ = __str__


def _first_line(error: BaseException) -> str:
    lines = [s.strip() for s in str(error).splitlines() if s.strip()]
    return lines[0].rstrip(":") if lines else "(no message)"


_CLAUSE_ENDS = (": ", "; ", ". ", " (", "\n")


def _fragment(message: str, contains: str | None) -> str:
    """The message's first line; with ``contains``, from the start of its line to the end of the
    clause holding it (the next ``: ``, ``; ``, ``. ``, `` (`` or line break), so that numbers
    further on, which may depend on rounding, are not printed."""
    if contains is None or contains not in message:
        return _first_line(Exception(message))
    i = message.index(contains)
    start = message.rfind("\n", 0, i) + 1
    ends = [k for k in (message.find(e, i + len(contains)) for e in _CLAUSE_ENDS) if k >= 0]
    return message[start : min(ends, default=len(message))].strip().rstrip(":")


def check_raises(name: str, exception, contains: str | None = None) -> Raises:
    """Assert that a block raises ``exception``; print a one-line verdict naming it.

    Use it as ``with check_raises("lanczos refuses a non-symmetric M", ValueError, "symmetric"):``
    followed by the call that must fail. The verdict reads ``✓ <name>: ValueError: <fragment>``,
    the fragment being the message's first line or, with ``contains``, the message up to the end
    of the clause holding ``contains`` (so that numbers further on, which may depend on rounding,
    stay out of a printed output); a fragment too long for one line goes below, wrapped to at most
    three lines.
    The exception itself is then ``.error`` of the returned object.

    Args:
        name: what is shown, for the verdict.
        exception: the exception class expected (or a tuple of classes); a subclass counts.
        contains: text the message must contain (plain text, not a regular expression).

    Returns:
        Raises, the context manager; ``.error`` holds the exception after the block.

    Raises:
        AssertionError: after the block, if it raised nothing, an exception of another class
            (chained, so its traceback is kept), or a message without ``contains``.
        TypeError: if ``exception`` is not an exception class or tuple of them, or ``contains``
            is not a string.
    """
    kinds = exception if isinstance(exception, tuple) else (exception,)
    if not kinds or not all(isinstance(k, type) and issubclass(k, Exception) for k in kinds):
        raise TypeError(
            f"exception={exception!r}; give an exception class such as ValueError "
            "(or a tuple of them)"
        )
    if contains is not None and not isinstance(contains, str):
        raise TypeError(f"contains is {type(contains).__name__}; give a piece of the message")
    return Raises(str(name), exception, contains)
