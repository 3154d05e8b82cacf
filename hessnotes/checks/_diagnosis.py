"""The diagnosis of a failed check: the usual slips, each tested against the reference.

By family: the slips of a matrix (:func:`_matrix_slips`: transpose, sign, factor, symmetric
part, entrywise derivative), of a scalar seen across the points (:func:`_scalar_slips`), of the
inputs (:func:`_input_slips`: a captured constant or a fixed input used transposed, a formula
that holds only for symmetric inputs) and the checker's own (row-major vec, an unsymmetrised
bilinear form). Each finding is a computed comparison with its error, never a guess. Private to
:mod:`hessnotes.checks`; see the chapter "Checking derivatives".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from hessnotes.checks import _reader
from hessnotes.checks._inputs import _formula_name, _WrongShape
from hessnotes.checks._report import Finding, _fmt_err


# --------------------------------------------------------------------------------------------------
# Comparing and diagnosing
# --------------------------------------------------------------------------------------------------
def _err(got: torch.Tensor, want: torch.Tensor) -> tuple[float, float, float]:
    """(relative error, max |got - want|, max |want|), normwise over all entries."""
    diff = (got - want).abs()
    worst = float(diff.max()) if diff.numel() else 0.0
    scale = float(want.abs().max()) if want.numel() else 0.0
    if math.isnan(worst):
        worst = math.inf
    return (worst / scale if scale > 0 else worst), worst, scale


def _within(got, want, rtol, atol) -> tuple[float, bool]:
    rel, worst, scale = _err(got, want)
    return rel, worst <= atol + rtol * scale


def _is_sym(a: torch.Tensor, rtol: float) -> bool:
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        return False
    return float((a - a.T).abs().max()) <= rtol * max(float(a.abs().max()), 1e-300)


def _named_factor(c: float) -> str | None:
    for k, s in ((2.0, "2"), (0.5, "½"), (-2.0, "−2"), (-0.5, "−½"), (4.0, "4"), (0.25, "¼")):
        if abs(c - k) <= 1e-3 * abs(k):
            return s
    return None


@dataclass
class _Ctx:
    """What a diagnosis may use besides the closed form and the reference."""

    ref_name: str = "autograd"
    rtol: float = 1e-8
    atol: float = 0.0
    shape_of: str = "the first input"  # what the closed form's shape must equal
    sym_hint: str = "the answer must be symmetric here"
    names: Sequence[str] = ()  # the inputs' names, for messages
    recheck: Callable[[int], tuple[torch.Tensor, torch.Tensor] | None] | None = None
    square_inputs: Sequence[int] = ()
    closed_form: Callable | None = None  # the reader's function ...
    apply: Callable[[Callable], torch.Tensor] | None = None  # ... or another one, applied as it is
    fixed: Sequence[int] = ()  # square, non-symmetric inputs held fixed (may be used transposed)
    extra: Sequence[tuple[str, str, Callable[[torch.Tensor], torch.Tensor], str]] = ()
    allow_transpose: bool = True
    entrywise: bool = False  # test the entrywise derivative of a symmetric matrix (gradients)
    series: Callable[[], tuple[torch.Tensor, torch.Tensor] | None] | None = None  # scalars
    more_points: str = "check at 3 or more points"  # how, when a scalar was seen at one point


def _test(out: list[Finding], ctx: _Ctx, slip: str, cand, want, text: str, short: str) -> Finding:
    """Compare one corrected closed form with the reference; record it with its error."""
    e, ok = _within(cand, want, ctx.rtol, ctx.atol)
    f = Finding(slip, e, ok, text.replace("{e}", _fmt_err(e)), short)
    out.append(f)
    return f


def _factor_text(k: float, ref: str, at: str) -> str:
    name = _named_factor(k)
    if not name:
        return (
            f"c × the closed form matches {ref}{at} for the fitted c = {k:.6g} (rel. error {{e}}): "
            "a constant factor is off"
        )
    why = {
        "2": "a factor 2 is missing",
        "½": "the closed form is twice the right answer",
        "−2": "the sign is wrong and a factor 2 is missing",
        "−½": "the sign is wrong and the closed form is twice too large",
        "4": "a factor 4 is missing",
        "¼": "the closed form is four times the right answer",
    }[name]
    return f"{name} × the closed form matches {ref}{at} (rel. error {{e}}): {why}"


def _diagnose(got: torch.Tensor, want: torch.Tensor, ctx: _Ctx) -> list[Finding]:
    """Test the usual slips of ``got`` against ``want``; each with its computed error.

    Stages: the shape; the value (the slips of a matrix, or, for a scalar, what varies across
    the points); then the inputs (a captured constant used transposed, then a fixed input used
    transposed, then a formula that holds only for symmetric inputs: each later stage only if
    no earlier one fits, so the blame falls on the most specific cause).
    """
    out: list[Finding] = []
    c = got
    if tuple(got.shape) != tuple(want.shape):
        if got.ndim == 2 and tuple(got.shape[::-1]) == tuple(want.shape):
            f = _test(
                out,
                ctx,
                "transposed shape",
                got.T,
                want,
                f"{tuple(got.shape)} is the transpose of {ctx.shape_of}'s shape; the transpose "
                f"of the closed form matches {ctx.ref_name} (rel. error {{e}})",
                "transpose",
            )
            if f.fits:
                return out
            c = got.T
        else:
            return out
    if not torch.isfinite(c).all():
        return out
    if want.numel() == 1:
        _scalar_slips(c.reshape(()), want.reshape(()), ctx, out)
    elif not _matrix_slips(c, want, ctx, out):
        return out
    _input_slips(want, ctx, out)
    return out


def _matrix_slips(c: torch.Tensor, want: torch.Tensor, ctx: _Ctx, out: list[Finding]) -> bool:
    """Transpose, sign, factor, symmetric part, entrywise; False if the closed form is zero."""
    rtol, ref = ctx.rtol, ctx.ref_name
    cc = float((c * c).sum())
    if cc == 0.0:
        out.append(Finding("zero", _err(c, want)[0], False, "", ""))
        return False
    square = c.ndim == 2 and c.shape[0] == c.shape[1] and c.shape[0] > 1
    asym = square and ctx.allow_transpose and not _is_sym(c, rtol)
    if asym:
        _test(
            out,
            ctx,
            "transpose",
            c.T,
            want,
            f"the transpose of the closed form matches {ref} (rel. error {{e}}): a transpose "
            "is missing or extra",
            "transpose",
        )
    sign = _test(
        out,
        ctx,
        "sign",
        -c,
        want,
        f"−1 × the closed form matches {ref} (rel. error {{e}}): the sign is wrong",
        "sign",
    )
    k = float((c * want).sum()) / cc  # the least-squares factor: min_k |k C - R|
    if not sign.fits:
        _test(out, ctx, "factor", k * c, want, _factor_text(k, ref, ""), f"factor {k:.3g}")
    if asym:
        kt = float((c.T * want).sum()) / cc
        if abs(kt - 1) > 1e-3:
            nm = _named_factor(kt) or f"{kt:.4g}"
            _test(
                out,
                ctx,
                "transpose and factor",
                kt * c.T,
                want,
                f"{nm} × the transpose of the closed form matches {ref} (rel. error {{e}})",
                "",
            )
    _extra_slips(c, want, ctx, out)
    if square and _is_sym(want, rtol) and not _is_sym(c, rtol):
        _test(
            out,
            ctx,
            "not symmetric",
            (c + c.T) / 2,
            want,
            "the symmetric part (C + Cᵀ)/2 of the closed form C matches "
            f"{ref} (rel. error {{e}}), but C is not symmetric: {ctx.sym_hint}",
            "symmetric part",
        )
    if square and ctx.entrywise and _is_sym(want, rtol):
        dg = torch.diag(torch.diagonal(c))
        if float((dg - c).abs().max()) > 0:
            _test(
                out,
                ctx,
                "entrywise",
                (c + dg) / 2,
                want,
                f"(C + Diag(C))/2 matches {ref} (rel. error {{e}}): the closed form C is the "
                "entrywise derivative 2 sym(G) − Diag(G) of a symmetric matrix (a table's rule); "
                "the gradient on the symmetric matrices is sym(G) = (G + Gᵀ)/2",
                "entrywise",
            )
    if square and not _is_sym(want, rtol) and _is_sym(c, rtol):
        e, ok = _within(c, (want + want.T) / 2, rtol, ctx.atol)
        out.append(
            Finding(
                "symmetric part",
                e,
                ok,
                "the closed form is the symmetric part (R + Rᵀ)/2 of the right answer R "
                f"(rel. error {_fmt_err(e)}), but R is not symmetric here: the general "
                "formula is needed",
                "only the symmetric part",
            )
        )
    return True


def _extra_slips(c: torch.Tensor, want: torch.Tensor, ctx: _Ctx, out: list[Finding]) -> None:
    """The checker's own slips (row-major vec, an unsymmetrised bilinear form)."""
    for slip, text, fn, short in ctx.extra:
        try:
            cand = fn(c)
        except (_WrongShape, RuntimeError, ValueError, TypeError, IndexError):
            continue
        if cand is not None and tuple(cand.shape) == tuple(want.shape):
            _test(out, ctx, slip, cand, want, text, short)


def _scalar_slips(c: torch.Tensor, want: torch.Tensor, ctx: _Ctx, out: list[Finding]) -> None:
    """A scalar: sign, factor and constant term only if the same at every one of >= 3 points."""
    ref = ctx.ref_name
    series = ctx.series() if ctx.series is not None else None
    if series is None or series[0].numel() < 3:
        k = float(want) / float(c) if float(c) != 0 else math.inf
        m = 1 if series is None else series[0].numel()
        seen = "one number at one point" if m == 1 else f"one number at each of {m} points"
        out.append(
            Finding(
                "note",
                math.nan,
                False,
                f"{seen}: any wrong value is some factor off (here {ref} is {k:.6g} × the "
                f"closed form), so that tells nothing; {ctx.more_points}",
            )
        )
        _extra_slips(c, want, ctx, out)
        return
    g, w = series
    n = g.numel()
    at = f" at all {n} points"
    sign = _test(
        out,
        ctx,
        "sign",
        -g,
        w,
        f"−1 × the closed form matches {ref}{at} (rel. error {{e}}): the sign is wrong",
        "sign",
    )
    gg = float((g * g).sum())
    if gg > 0 and not sign.fits:
        k = float((g * w).sum()) / gg
        _test(out, ctx, "factor", k * g, w, _factor_text(k, ref, at), f"factor {k:.3g}")
    d = float((w - g).mean())
    _test(
        out,
        ctx,
        "constant term",
        g + d,
        w,
        f"the closed form + c matches {ref}{at} for c = {d:.6g} (rel. error {{e}}): a constant "
        "term is off",
        "constant term",
    )
    _extra_slips(c, want, ctx, out)
    if not any(f.fits for f in out):
        ratios = ", ".join(
            f"{float(b) / float(a):.3g}" if float(a) else "inf" for a, b in zip(g, w, strict=True)
        )
        out.append(
            Finding(
                "note",
                math.nan,
                False,
                f"{ref} is {ratios} × the closed form at the {n} points, not one factor",
            )
        )


def _apply(ctx: _Ctx, fn: Callable, want: torch.Tensor) -> torch.Tensor | None:
    """The closed form's value with ``fn`` in its place, or None if it fails or misfits."""
    try:
        cand = ctx.apply(fn)
    except Exception:  # a trial of the diagnosis: whatever goes wrong, that slip does not fit
        return None
    return cand if tuple(cand.shape) == tuple(want.shape) else None


def _input_slips(want: torch.Tensor, ctx: _Ctx, out: list[Finding]) -> None:
    """A captured constant or a fixed input used transposed; a formula for symmetric inputs."""
    ref = ctx.ref_name
    if ctx.apply is not None and ctx.closed_form is not None:
        label = _formula_name(ctx.closed_form, "the closed form")
        for name, fn in _reader.transposed_constants(ctx.closed_form):
            cand = _apply(ctx, fn, want)
            if cand is not None:
                _test(
                    out,
                    ctx,
                    "transposed constant",
                    cand,
                    want,
                    f"with {name} replaced by {name}ᵀ inside {label}, it matches {ref} (rel. "
                    f"error {{e}}): {name} and {name}ᵀ are swapped in it",
                    f"{name}ᵀ for {name}",
                )
        if any(f.fits for f in out if f.slip == "transposed constant"):
            return
        for i in ctx.fixed:
            n = ctx.names[i]
            fn = functools.partial(_reader.with_transposed, ctx.closed_form, i)
            cand = _apply(ctx, fn, want)
            if cand is not None:
                _test(
                    out,
                    ctx,
                    "transposed input",
                    cand,
                    want,
                    f"with {n} replaced by {n}ᵀ in the closed form (f unchanged), it matches "
                    f"{ref} (rel. error {{e}}): {n} and {n}ᵀ are swapped in it",
                    f"{n}ᵀ for {n}",
                )
        if any(f.fits for f in out if f.slip == "transposed input"):
            return
    if ctx.recheck is None:
        return
    for i in ctx.square_inputs:
        try:
            pair = ctx.recheck(i)
        except (_WrongShape, ValueError, TypeError, RuntimeError, AssertionError):
            pair = None
        if pair is None or tuple(pair[0].shape) != tuple(pair[1].shape):
            continue
        e, ok = _within(pair[0], pair[1], ctx.rtol, ctx.atol)
        n = ctx.names[i] if i < len(ctx.names) else _reader.ordinal(i)
        out.append(
            Finding(
                "symmetric input",
                e,
                ok,
                f"the closed form is right when {n} is symmetric (rel. error {_fmt_err(e)} with "
                f"{n} replaced by its symmetric part), but {n} is not symmetric here: the "
                "formula assumes a symmetric matrix",
                f"symmetric {n}",
            )
        )
