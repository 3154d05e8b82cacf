"""The one per-point loop the checkers share, and what it is made of.

Every checker runs :func:`run_points`: at each point, **draw** it, take the **reference**
(autograd, or the reader's reference for ``check_formula``), call the **closed form**, **compare**
(with a diagnosis on failure), then take **central differences** and compare again. A checker
supplies its stages as an object with the methods of :class:`Stages`; the loop keeps the order
(and so the random draws) and the bookkeeping. Also here: the comparison itself, the differences
with their roundoff allowance and Richardson retry, and the kink of f. Private to
:mod:`hessnotes.checks`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from hessnotes.checks._diagnosis import _Ctx, _diagnose, _within
from hessnotes.checks._inputs import _fd_finite, _WrongShape
from hessnotes.checks._report import (
    CheckResult,
    Finding,
    _fmt_err,
    _fmt_tol,
    _fmt_val,
    _Run,
    _wrap,
    _wrap_lines,
)


def _worst_line(got: torch.Tensor, want: torch.Tensor) -> str:
    diff = (got - want).abs()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, math.inf), diff)
    if got.ndim:
        idx = tuple(int(i) for i in np.unravel_index(int(torch.argmax(diff)), tuple(got.shape)))
    else:
        idx = ()
    return (
        f"  worst entry {idx}: closed form {_fmt_val(float(got[idx]))}, reference "
        f"{_fmt_val(float(want[idx]))}"
    )


def _compare(
    run: _Run,
    p: int,
    got: torch.Tensor,
    want: torch.Tensor,
    *,
    reference: str,
    rtol: float,
    atol: float,
    ctx: _Ctx | None,
    expected: str,
    agrees_with_autograd: float | None = None,
) -> bool:
    """Compare; on failure diagnose and record or raise. Returns whether it passed."""
    if tuple(got.shape) != tuple(want.shape):
        lines = _wrap(
            f"the closed form has shape {tuple(got.shape)}, but {expected} {tuple(want.shape)}"
        )
        findings = _diagnose(got, want, ctx) if ctx is not None else []
        run.fail(p, reference, math.inf, rtol, lines, findings)
        return False
    if not torch.isfinite(got).all():
        bad = "NaN" if torch.isnan(got).any() else "Inf"
        nz = torch.nonzero(~torch.isfinite(got))
        idx = tuple(int(i) for i in nz[0]) if got.ndim else ()
        lines = _wrap(
            f"the closed form returned {bad} at index {idx}, where f and {reference} are "
            "finite: it is the closed form that breaks down here"
        )
        run.fail(p, reference, math.inf, rtol, lines, [])
        return False
    rel, ok = _within(got, want, rtol, atol)
    scale = float(want.abs().max())
    if ok:
        run.ok(p, reference, rel, rtol, rtol + atol / scale if scale > 0 else None)
        if ctx is not None and want.numel() == 1:
            run.scalars.append((got.reshape(()), want.reshape(())))
        return True
    lines = [
        f"  max rel. error {_fmt_err(rel)} exceeds rtol {_fmt_tol(rtol)} (atol {_fmt_tol(atol)}; "
        f"max |reference| {_fmt_val(scale)})",
        _worst_line(got, want),
    ]
    if agrees_with_autograd is not None:
        findings = [
            Finding(
                "autograd",
                agrees_with_autograd,
                True,
                f"the closed form agrees with autograd (rel. error "
                f"{_fmt_err(agrees_with_autograd)}) but not with central differences: "
                "autograd's derivative of f may itself be wrong (a custom autograd.Function?), "
                "or f is not smooth near this point",
            )
        ]
    else:
        findings = _diagnose(got, want, ctx) if ctx is not None else []
    run.fail(p, reference, rel, rtol, lines, findings)
    return False


def _fd_step(x: torch.Tensor, order: int) -> float:
    """Central-difference step: ε^(1/3) for first, ε^(1/4) for second derivatives, scaled."""
    eps = float(torch.finfo(x.dtype).eps)
    scale = max(1.0, float(x.abs().max()))
    return scale * eps ** (1 / 3 if order == 1 else 1 / 4)


def _fd_inputs(f, xs: list[torch.Tensor], dtype) -> tuple[list[torch.Tensor], torch.dtype]:
    """Inputs for the differences: float64 copies when the point is float32 and f runs in float64.

    Central differences in float32 are good to only about ε^(2/3) ≈ 2e-5 (much less when |f| is
    large), so they are taken in float64 where ``f`` allows it; the closed form and autograd stay
    in the point's dtype. If ``f`` fails or does not return float64 there, the point's dtype is
    used.
    """
    if dtype == torch.float64:
        return xs, dtype
    up = [x.to(torch.float64) for x in xs]
    try:
        with torch.no_grad():
            out = f(*up)
    except Exception:  # f is written for its dtype only (e.g. float32 constants): stay there
        return xs, dtype
    if isinstance(out, torch.Tensor) and out.dtype == torch.float64 and torch.isfinite(out).all():
        return up, torch.float64
    return xs, dtype


def _differences(diffs, h, order, got, rtol, atol, f0, dtype):
    """Central differences at step h; if they miss ``got``, Richardson-extrapolated ones.

    Roundoff in the evaluations of f is about ``ε |f| / h`` (``/ h²`` for second order): it is
    added to ``atol``, so a large ``|f|`` cannot fail a right answer. If the plain difference
    misses, truncation may dominate (an ill-conditioned f): ``(4 D(h/2) - D(h)) / 3`` has
    truncation error O(h⁴) and is compared instead (cost only on that path).

    Returns:
        (the differences, the absolute tolerance that goes with them).
    """
    eps = float(torch.finfo(dtype).eps)
    roundoff = (8 if order == 1 else 16) * eps * float(f0.abs().max()) / h**order
    fd = diffs(h)
    fd_atol = atol + roundoff
    if tuple(got.shape) != tuple(fd.shape) or _within(got, fd, rtol, fd_atol)[1]:
        return fd, fd_atol
    amplify = 3.0 if order == 1 else 17 / 3  # (4 · 2^order + 1) / 3
    return (4 * diffs(h / 2) - fd) / 3, atol + amplify * roundoff


def _central(evals, h: float, *, where: str, step: str, shape=None) -> torch.Tensor:
    """``(f(x + hv) - f(x - hv)) / 2h`` from ``evals(h) = (f(x + hv), f(x - hv))``."""
    plus, minus = evals(h)
    out = _fd_finite((plus - minus) / (2 * h), where, h, step)
    return out if shape is None else out.reshape(shape)


def _index(shape, i: int) -> tuple[int, ...]:
    return tuple(int(k) for k in np.unravel_index(i, tuple(shape)))


def _entry(name: str, shape, i: int) -> str:
    return f"entry {_index(shape, i)} of {name}"


def _apply_to(closed, args, where: str, fn) -> torch.Tensor:
    """The closed form's value at ``args`` with ``fn`` in its place (for the diagnosis)."""
    return closed(fn, args, where=where)


def _kink_failed(run: _Run, p: int, fd_rtol: float, along: str, h: float, kink) -> CheckResult:
    """A kink of f at the point: the check fails against central differences, blaming f."""
    _, fwd, bwd = kink
    lines = _wrap(
        f"the one-sided differences of f disagree along {along}: (f(x + hv) − f(x))/h = "
        f"{fwd:.4g}, (f(x) − f(x − hv))/h = {bwd:.4g}, alike at h = {h:.1e}, h/2 and 2h"
    )
    text = (
        "f is not differentiable here (a kink, like |x| at 0 or max(x, 0), or a double "
        "eigenvalue): there is no derivative to check at this point; move the point"
    )
    run.fail(p, "central differences", math.inf, fd_rtol, lines, [Finding("kink", 0.0, True, text)])
    return run.result()


def _series(run: _Run, got: torch.Tensor, want: torch.Tensor, fresh, need: int = 3):
    """A scalar closed form and its reference at up to ``need`` points: the points passed so far,
    this one, and fresh ones from ``fresh()`` (None at a concrete point)."""
    vals = [*run.scalars, (got.reshape(()), want.reshape(()))]
    while fresh is not None and len(vals) < need:
        try:
            g, w = fresh()
        except Exception:  # a trial of the diagnosis: no more points then
            break
        if g.numel() != 1 or w.numel() != 1:
            break
        vals.append((g.reshape(()), w.reshape(())))
    return torch.stack([v[0] for v in vals]), torch.stack([v[1] for v in vals])


# --------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Differences:
    """What central differences gave at one point: the closed form in their terms and the
    differences with their absolute tolerance; or, instead, a kink of f
    (``(along, h, one_sided_kink's result)``), which fails the check whatever the closed form."""

    got: torch.Tensor | None = None
    fd: torch.Tensor | None = None
    atol: float = 0.0
    kink: tuple | None = None


class Stages(Protocol):
    """A checker's steps at one point, called by :func:`run_points` in this order."""

    expected: str  # how a shape mismatch with the reference is phrased

    def draw(self, p: int, where: str):
        """The point (inputs, and tangents or probes): drawn, or the reader's own."""

    def reference(self, pt, where: str) -> torch.Tensor:
        """The reference value at the point (autograd, or the reader's reference)."""

    def closed(self, pt, where: str, ref: torch.Tensor) -> torch.Tensor:
        """The closed form at the point, as the reference is taken; may raise _WrongShape."""

    def context(self, run: _Run, p: int, pt, where: str, got, ref) -> _Ctx:
        """What the diagnosis may use at this point."""

    def differences(self, pt, where: str, got: torch.Tensor) -> Differences | None:
        """Central differences at the point (None: the checker takes none)."""


def run_points(
    run: _Run, stages: Stages, *, rtol: float, atol: float, fd_rtol: float, reference: str
) -> CheckResult:
    """Draw → reference → closed form → compare → differences → compare, at each point.

    The first failure ends the check (recorded, or raised by ``run`` when ``raises=True``).
    """
    for p in range(run.n_points):
        where = run.where(p)
        pt = stages.draw(p, where)
        ref = stages.reference(pt, where)
        try:
            got = stages.closed(pt, where, ref)
        except _WrongShape as e:
            run.fail(p, reference, math.inf, rtol, _wrap_lines(e.lines), [])
            return run.result()
        ctx = stages.context(run, p, pt, where, got, ref)
        if not _compare(
            run,
            p,
            got,
            ref,
            reference=reference,
            rtol=rtol,
            atol=atol,
            ctx=ctx,
            expected=stages.expected,
        ):
            return run.result()
        agrees = run.comps[-1].rel_error
        d = stages.differences(pt, where, got)
        if d is None:
            continue
        if d.kink is not None:
            return _kink_failed(run, p, fd_rtol, *d.kink)
        if not _compare(
            run,
            p,
            d.got,
            d.fd,
            reference="central differences",
            rtol=fd_rtol,
            atol=d.atol,
            ctx=None,
            expected="the differences have shape",
            agrees_with_autograd=agrees,
        ):
            return run.result()
    return run.result()


def fresh_point(stages: Stages) -> tuple[torch.Tensor, torch.Tensor]:
    """The closed form and the reference at a further point (for a scalar's diagnosis)."""
    where = "at a further point"
    pt = stages.draw(-1, where)
    ref = stages.reference(pt, where)
    return stages.closed(pt, where, ref), ref
