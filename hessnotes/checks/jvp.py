"""``check_jvp``: a closed-form Jacobian-vector product against forward mode and differences.

Introduced in "Derivatives as linear maps, and the chain rule"; used in "Derivatives of
factorizations", "Differentiating through an ODE", "Kronecker sums and tensor Sylvester
equations" and others.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.func import jvp as _jvp

from hessnotes._linalg import check_finite
from hessnotes.checks import _reader
from hessnotes.checks._diagnosis import _Ctx
from hessnotes.checks._inputs import (
    _closed,
    _device,
    _draw,
    _f_finite,
    _f_out,
    _more_points,
    _not_detached,
    _prepare,
    _spec,
    _square_nonsym,
    _tols,
    _unit_direction,
    _with,
    _WrongShape,
)
from hessnotes.checks._loop import (
    _apply_to,
    _central,
    _compare,
    _differences,
    _fd_inputs,
    _fd_step,
    _index,
    _kink_failed,
    _series,
)
from hessnotes.checks._report import CheckResult, _Run, _wrap_lines
from hessnotes.checks.domains import Domain
from hessnotes.checks.fd import one_sided_kink


def _jvp_evals(f, xf: list, tf: list, where: str, h: float):
    """``(f(xs + h ts), f(xs - h ts))``."""
    with torch.no_grad():
        plus = _f_out(f, [x + h * t for x, t in zip(xf, tf, strict=True)], where)
        minus = _f_out(f, [x - h * t for x, t in zip(xf, tf, strict=True)], where)
    return plus, minus


def check_jvp(
    f: Callable[..., torch.Tensor],
    jvp: Callable[..., torch.Tensor],
    *inputs,
    tangents: Sequence | None = None,
    points: int | None = None,
    seed: int = 0,
    rtol: float | None = None,
    atol: float | None = None,
    fd_rtol: float | None = None,
    name: str = "",
    raises: bool = True,
) -> CheckResult:
    """Check a closed-form Jacobian-vector product (directional derivative) of ``f``.

    Args:
        f: function of ``k`` inputs, array-valued or scalar, written in torch.
        jvp: closed form called as ``jvp(*xs, *ts)`` with the ``k`` points then the ``k``
            tangents; returns ``df = lim (f(xs + h ts) - f(xs)) / h`` in the shape of ``f``'s
            output.
        *inputs: one per argument, as in :func:`check_gradient`.
        tangents: one per input: ``None`` for a seeded random direction in the input's tangent
            space, ``0`` to hold that input fixed (its tangent is zero), a :class:`Domain` or
            shape to sample it, or a concrete tensor/array of the input's shape. Default: ``None``
            for every input. The inputs with a non-zero tangent are the differentiated ones; if
            they are all concrete, the check runs once, at that point.
        points, seed, rtol, atol, fd_rtol, name, raises: as in :func:`check_gradient`.

    Returns:
        CheckResult.

    Raises:
        AssertionError: where the closed form disagrees with ``torch.func.jvp`` or with central
            differences beyond tolerance, or fails with a shape error (and ``raises=True``),
            with a diagnosis.
        ValueError: on ``points < 1``, empty inputs, every tangent 0, a tangent of the wrong
            shape, NaN or Inf in an input or tangent, inputs on several devices, a check above
            ``MAX_DENSE_BYTES``, or when ``f`` returns NaN/Inf, an empty or a detached result,
            or has a kink along the tangent.
        TypeError: if ``jvp`` returns None or a non-array, or an input or tangent is not a
            Domain, shape or float32/float64 array.
    """
    k = len(inputs)
    if tangents is None:
        tspecs = [None] * k
    else:
        if isinstance(tangents, Domain | torch.Tensor | np.ndarray) or not isinstance(
            tangents, Sequence
        ):
            raise TypeError(
                f"tangents={type(tangents).__name__}; give a list with one entry per input "
                "(None for random, 0 for fixed), e.g. tangents=[None, 0]"
            )
        tspecs = list(tangents)
        if len(tspecs) != k:
            raise ValueError(
                f"got {k} inputs but {len(tspecs)} tangents; give one per input (None or 0)"
            )

    def diff_of(specs):
        d = [i for i, t in enumerate(tspecs) if not _is_zero_tangent(t)]
        if not d:
            raise ValueError(
                "every tangent is 0: nothing varies, so the check cannot fail; give at least "
                "one input a direction (None for a random one)"
            )
        return d

    names = _reader.arg_names(k, jvp, f)
    words = _reader.Words.of(inputs, names)
    specs, dtype, diff, n, at_given = _prepare(
        inputs, names, diff_of, points, checker="check_jvp", copies=lambda m: 8
    )
    rtol, atol, fd_rtol = _tols(dtype, rtol, atol, fd_rtol)
    device = _device(specs)
    tparsed = [_tangent(t, specs[i], names[i], dtype, device) for i, t in enumerate(tspecs)]
    run = _Run("JVP", name, dtype, n, at_given, raises)
    gen = torch.Generator().manual_seed(seed)
    which = " and ".join(names[i] for i in diff)

    def reference(xs, ts, where):
        req = [x.detach().requires_grad_(i in diff) for i, x in enumerate(xs)]
        with torch.enable_grad():
            out = _f_out(f, req, where)
            _f_finite(out, where)
            if out.numel() == 0:
                raise ValueError(
                    f"f returned an empty tensor (shape {tuple(out.shape)}) {where}: there is "
                    "nothing to compare, so the check cannot fail"
                )
            _not_detached(out, which, where)
        _, ref = _jvp(lambda *a: f(*a), tuple(xs), tuple(ts))
        ref = ref.detach()
        if not torch.isfinite(ref).all():
            raise ValueError(
                f"autograd's JVP of f is NaN or Inf {where} although f is finite: f is not "
                "differentiable there; move the point"
            )
        return ref

    def draw():
        xs = _draw(specs, gen, dtype, device)
        return xs, _draw_tangents(specs, tparsed, xs, gen, dtype, device)

    def fresh():
        xs, ts = draw()
        ref = reference(xs, ts, "at a further point")
        what = f"df, an array of the shape of f's output {tuple(ref.shape)}"
        return _closed(jvp, [*xs, *ts], arg="jvp", what=what, where="at a further point",
                       dtype=dtype, device=device, words=words), ref  # fmt: skip

    more = _more_points(at_given, names, diff, specs)
    for p in range(n):
        xs, ts = draw()
        where = run.where(p)
        ref = reference(xs, ts, where)
        what = f"df, an array of the shape of f's output {tuple(ref.shape)}"
        closed = functools.partial(
            _closed, arg="jvp", what=what, dtype=dtype, device=device, words=words
        )
        try:
            got = closed(jvp, [*xs, *ts], where=where)
        except _WrongShape as e:
            run.fail(p, "autograd", math.inf, rtol, _wrap_lines(e.lines), [])
            return run.result()

        def recheck(i, xs=xs, ts=ts, where=where, closed=closed):
            xs2 = _with(xs, i, (xs[i] + xs[i].T) / 2)
            ts2 = _with(ts, i, (ts[i] + ts[i].T) / 2)
            return closed(jvp, [*xs2, *ts2], where=where), reference(xs2, ts2, where)

        ctx = _Ctx(
            rtol=rtol, atol=atol, shape_of="f's output", names=names,
            sym_hint="the JVP of a symmetric-valued f is symmetric",
            recheck=recheck, square_inputs=_square_nonsym(xs, range(len(xs))),
            closed_form=jvp, apply=functools.partial(_apply_to, closed, [*xs, *ts], where),
            fixed=_square_nonsym(xs, [i for i in range(k) if i not in diff]),
            series=functools.partial(_series, run, got, ref, None if at_given else fresh),
            more_points=more,
        )  # fmt: skip
        if not _compare(
            run, p, got, ref, reference="autograd", rtol=rtol, atol=atol, ctx=ctx,
            expected="f's output has shape",
        ):  # fmt: skip
            return run.result()
        ad_err = run.comps[-1].rel_error

        xf, fdt = _fd_inputs(f, xs, dtype)
        tf = [t.to(fdt) for t in ts]
        evals = functools.lru_cache(functools.partial(_jvp_evals, f, xf, tf, where))
        h = max(_fd_step(xf[i], 1) for i in diff)
        g = got.to(fdt)
        with torch.no_grad():
            f0d = _f_out(f, xf, where)
        kink = one_sided_kink(evals, h, f0d, rtol=fd_rtol, atol=atol)
        if kink is not None:
            in_f = f" (in entry {_index(f0d.shape, kink[0])} of f)" if f0d.numel() > 1 else ""
            return _kink_failed(run, p, fd_rtol, f"the tangent{in_f}", h, kink)
        diffs = functools.partial(_central, evals, where=where, step="xs ± h·ts")
        fd, fd_atol = _differences(diffs, h, 1, g, fd_rtol, atol, f0d, fdt)
        if not _compare(
            run, p, g, fd, reference="central differences", rtol=fd_rtol, atol=fd_atol,
            ctx=None, expected="the differences have shape", agrees_with_autograd=ad_err,
        ):  # fmt: skip
            return run.result()
    return run.result()


def _is_zero_tangent(t) -> bool:
    return isinstance(t, int | float) and not isinstance(t, bool) and t == 0


def _tangent(t, spec, name: str, dtype, device):
    """One entry of ``tangents``: None, 0, a Domain, or a concrete finite tensor of the input's
    shape (the dtype policy and the NaN/Inf policy apply, as to a point)."""
    if t is None or _is_zero_tangent(t):
        return t
    label = f"the tangent of {name}"
    ts = _spec(t, label)
    if isinstance(ts, torch.Tensor):
        check_finite(ts, label)
        ts = ts.to(dtype=dtype, device=device, copy=True)
    if tuple(ts.shape) != tuple(spec.shape):
        raise ValueError(
            f"{label} has shape {tuple(ts.shape)} but {name} has shape "
            f"{tuple(spec.shape)}; a tangent has the shape of its input"
        )
    return ts


def _draw_tangents(specs, tparsed, xs, gen, dtype, device) -> list[torch.Tensor]:
    ts = []
    for s, t, x in zip(specs, tparsed, xs, strict=True):
        if _is_zero_tangent(t):
            ts.append(torch.zeros_like(x))
        elif t is None:
            ts.append(_unit_direction(s, x, gen))
        elif isinstance(t, Domain):
            ts.append(t.sample(gen).to(dtype=dtype, device=device))
        else:
            ts.append(t)
    return ts
