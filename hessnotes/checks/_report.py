"""What a check reports: :class:`CheckResult`, its comparisons and findings, and their printing.

:class:`_Run` keeps the bookkeeping of one check (the comparisons so far; how a failure is
raised or recorded) and every number is printed by the same few formatters, so that a passing
error never reads larger than its tolerance. Private to :mod:`hessnotes.checks`.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

_WIDTH = 88  # printed lines stay within this many characters


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """The closed form compared with one reference at one point."""

    point: int
    reference: str
    rel_error: float
    tol: float
    passed: bool
    bound: float | None = None  # what rel_error was held to: rtol + atol / max|reference|


@dataclass(frozen=True)
class Finding:
    """One tested slip of a failed check: a computed comparison, never a guess.

    Attributes:
        slip: ``"transposed shape"``, ``"transpose"``, ``"sign"``, ``"factor"``,
            ``"transpose and factor"``, ``"symmetric part"``, ``"not symmetric"``,
            ``"entrywise"``, ``"symmetric input"``, ``"row-major vec"``, ``"zero"`` or
            ``"autograd"`` (the closed form agrees with autograd but not with differences).
        error: relative error of the corrected closed form against the reference.
        fits: whether that error is within the check's tolerance.
        text: the sentence shown when it fits.
        short: the label shown among the slips that do not fit.
    """

    slip: str
    error: float
    fits: bool
    text: str
    short: str = ""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a check: one :class:`Comparison` per point and reference.

    A passed result prints as two lines: the kind, name, dtype and points, then the largest
    relative errors and tolerances. A failed one (from ``raises=False``) prints ``✗`` with the
    failure message and the diagnosis. ``bool(result)`` is ``result.passed``.
    """

    kind: str
    name: str
    comparisons: tuple[Comparison, ...] = field(repr=False)
    dtype: str = "float64"
    n_points: int = 0
    at_given_point: bool = False
    note: str = ""
    failure: str = ""
    diagnosis: tuple[Finding, ...] = field(default=(), repr=False)

    def error(self, reference: str) -> float:
        """Largest relative error against ``"autograd"`` or ``"central differences"``."""
        errs = [c.rel_error for c in self.comparisons if c.reference == reference]
        if not errs:
            raise KeyError(f"no comparison against {reference!r} was run")
        return max(errs)

    def tol(self, reference: str) -> float:
        """Relative tolerance used against ``reference``."""
        tols = [c.tol for c in self.comparisons if c.reference == reference]
        if not tols:
            raise KeyError(f"no comparison against {reference!r} was run")
        return max(tols)

    def _printed(self, reference: str) -> tuple[str, str]:
        """The largest error and its tolerance as printed: a passing error never reads larger."""
        worst = max(
            (c for c in self.comparisons if c.reference == reference), key=lambda c: c.rel_error
        )
        return _fmt_err(worst.rel_error), _fmt_tol_for(
            worst.rel_error, self.tol(reference), worst.bound
        )

    @property
    def passed(self) -> bool:
        return not self.failure and all(c.passed for c in self.comparisons)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def label(self) -> str:
        return f"{self.kind} of {self.name}" if self.name else self.kind

    @property
    def diagnosis_text(self) -> str:
        """The printed diagnosis of a failed check (``""`` when passed), without the indent."""
        return "\n".join(line[2:] for line in _diagnosis_lines(self.diagnosis))

    def _where(self) -> str:
        if self.at_given_point:
            return "at the given point"
        return f"{self.n_points} point{'s' if self.n_points != 1 else ''}"

    def _refs(self) -> list[str]:
        return list(dict.fromkeys(c.reference for c in self.comparisons))

    def headline(self) -> str:
        """First line(s) of the verdict: mark, what was checked, dtype, points (and how)."""
        mark = "✓" if self.passed else "✗"
        line = f"{mark} {self.label}: {self.dtype}, {self._where()}"
        if not self.note:
            return line
        if len(line) + len(self.note) + 2 <= _WIDTH:
            return f"{line}; {self.note}"
        return f"{line}\n  ({self.note})"

    def __str__(self) -> str:
        if not self.passed:
            return f"✗ {self.failure}"
        errs = ", ".join("{} {} (tol {})".format(r, *self._printed(r)) for r in self._refs())
        return f"{self.headline()}\n  max rel. error: {errs}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if not self.passed:
            return f"<pre>{html.escape(str(self))}</pre>"
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>pass</td></tr>".format(
                html.escape(r), *self._printed(r)
            )
            for r in self._refs()
        )
        return (
            f"<table><caption>{html.escape(self.headline().replace(chr(10), ' '))}</caption>"
            "<tr><th>reference</th><th>max rel. error</th><th>tolerance</th><th>verdict</th></tr>"
            f"{rows}</table>"
        )


def _fmt_err(e: float) -> str:
    """Measured errors: two significant digits, always with a decimal point (e.g. ``3.1e-16``)."""
    return f"{e:.1e}"


def _fmt_tol(t: float) -> str:
    """Tolerances: one significant digit, no decimal point (e.g. ``1e-09``)."""
    return f"{t:.0e}"


def _fmt_tol_for(err: float, tol: float, bound: float | None = None) -> str:
    """The tolerance printed beside a passing ``err``: ``_fmt_tol(tol)`` unless the printed error
    would then read larger than it (``1.4e-04 (tol 1e-04)``, from the rounding of ``tol`` or from
    the absolute tolerance); then the bound the error was held to, rounded up to two digits."""
    short = _fmt_tol(tol)
    if not math.isfinite(err) or float(_fmt_err(err)) <= float(short):
        return short
    b = max(err, tol if bound is None or not math.isfinite(bound) else bound)
    e = math.floor(math.log10(b))
    m = math.ceil(round(b / 10.0 ** (e - 1), 6))  # two significant digits, rounded up
    if m >= 100:
        m, e = m // 10, e + 1
    return f"{m / 10:.1f}e{e:+03d}"


def _fmt_val(v: float) -> str:
    return f"{v:.8g}"


def _wrap(text: str, first: str = "  ", rest: str = "    ") -> list[str]:
    return textwrap.wrap(
        text, width=_WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


class _Run:
    """Bookkeeping of one check: comparisons so far, and how a failure is reported."""

    def __init__(self, kind, name, dtype, n_points, at_given, raises, note=""):
        self.kind, self.name, self.n_points, self.at_given = kind, name, n_points, at_given
        self.dtype = str(dtype).removeprefix("torch.")
        self.raises, self.note = raises, note
        self.comps: list[Comparison] = []
        self.failed: CheckResult | None = None
        self.scalars: list[tuple[torch.Tensor, torch.Tensor]] = []  # (closed form, reference)

    @property
    def label(self) -> str:
        return f"{self.kind} of {self.name}" if self.name else self.kind

    def where(self, p: int) -> str:
        """Points are counted from 1 in messages, as a reader counts them."""
        return "at the given point" if self.at_given else f"at point {p + 1}"

    def point(self, p: int) -> str:
        return "the given point" if self.at_given else f"point {p + 1} of {self.n_points}"

    def result(self) -> CheckResult:
        if self.failed is not None:
            return self.failed
        return CheckResult(
            self.kind,
            self.name,
            tuple(self.comps),
            self.dtype,
            self.n_points,
            self.at_given,
            self.note,
        )

    def ok(self, p, reference, rel, tol, bound=None) -> None:
        self.comps.append(Comparison(p, reference, rel, tol, True, bound))

    def fail(self, p, reference, rel, tol, lines: list[str], findings: Sequence[Finding]) -> None:
        """Record (raises=False) or raise (raises=True) a failed comparison with its diagnosis."""
        self.comps.append(Comparison(p, reference, rel, tol, False))
        head = f"{self.label}, {self.point(p)}, vs {reference} ({self.dtype}):"
        body = [head, *lines, *_diagnosis_lines(findings)]
        msg = "\n".join(body)
        if self.raises:  # from None: a slip inside the closed form is reported, not chained
            raise AssertionError(msg) from None
        self.failed = CheckResult(
            self.kind,
            self.name,
            tuple(self.comps),
            self.dtype,
            self.n_points,
            self.at_given,
            self.note,
            msg,
            tuple(findings),
        )


def _diagnosis_lines(findings: Sequence[Finding]) -> list[str]:
    """The fitting slips, one sentence each; else the errors after each fix, with any note
    (a finding of slip ``"note"``: what the values show when no slip fits)."""
    if not findings:
        return []
    fits = [f for f in findings if f.fits]
    if fits:
        out = []
        for f in fits:
            out += _wrap(f.text, "  diagnosis: ", "    ")
        return out
    tried = ", ".join(f"{f.short} {_fmt_err(f.error)}" for f in findings if f.short)
    notes = " ".join(f.text for f in findings if f.slip == "note")
    if notes and not tried:
        return _wrap(notes, "  diagnosis: ", "    ")
    if not tried:
        return []
    text = "none of the usual slips fits"
    text += f": {notes}" if notes else ""
    return _wrap(f"{text} (rel. error after each fix: {tried})", "  diagnosis: ", "    ")


def _wrap_lines(lines: Sequence[str]) -> list[str]:
    """Report lines, indented and wrapped; a quoted line of code (four spaces) is kept whole."""
    out = []
    for line in lines:
        if line.startswith("    "):  # the reader's code: one line, cut to the width
            out.append(f"  {line}" if len(line) + 2 <= _WIDTH else f"  {line[: _WIDTH - 3]}…")
        else:
            out += _wrap(line)
    return out
