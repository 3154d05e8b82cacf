"""``check_gradient``: a closed-form gradient against autograd and central differences.

Used in most chapters; introduced in "Derivatives as linear maps, and the chain rule" and
"Checking derivatives".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from hessnotes.checks import _reader
from hessnotes.checks._diagnosis import _Ctx
from hessnotes.checks._inputs import (
    _DIRECTIONS,
    _FULL,
    _check_wrt,
    _closed,
    _device,
    _draw,
    _f_finite,
    _f_out,
    _f_scalar,
    _more_points,
    _not_detached,
    _positive_int,
    _prepare,
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
    _entry,
    _fd_inputs,
    _fd_step,
    _kink_failed,
    _series,
)
from hessnotes.checks._report import CheckResult, _Run, _wrap_lines
from hessnotes.checks.domains import Domain
from hessnotes.checks.fd import one_sided_kink


def _gradient_evals(fx, x0: torch.Tensor, vs: list, h: float):
    """``(f(x0 + h v_i), f(x0 - h v_i))`` for each direction, or each entry ``E_i`` if no ``vs``."""
    with torch.no_grad():
        if vs:
            steps = [h * v for v in vs]
        else:
            n = x0.numel()
            eye = torch.eye(n, dtype=x0.dtype, device=x0.device)
            steps = (h * eye).reshape((n, *x0.shape))
        plus = torch.stack([fx(x0 + e) for e in steps])
        minus = torch.stack([fx(x0 - e) for e in steps])
    return plus, minus


# --------------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------------
def check_gradient(
    f: Callable[..., torch.Tensor],
    grad: Callable[..., torch.Tensor],
    *inputs,
    wrt: int = 0,
    points: int | None = None,
    seed: int = 0,
    rtol: float | None = None,
    atol: float | None = None,
    fd_rtol: float | None = None,
    fd_directions: int | None = None,
    name: str = "",
    raises: bool = True,
) -> CheckResult:
    """Check ``grad(*xs)`` against the gradient of the scalar ``f(*xs)`` in ``xs[wrt]``.

    Args:
        f: scalar function of the inputs, written in torch.
        grad: closed-form gradient, same arguments as ``f``; returns a tensor or array of the
            shape of ``xs[wrt]`` (the gradient has the shape of its argument).
        *inputs: one per argument of ``f``: a :class:`Domain` (e.g. ``spd(4)``, redrawn at
            every point), a shape tuple, or a concrete float32/float64 tensor or numpy array. A
            concrete ``inputs[wrt]`` means "check at this point" (one point, said in the
            verdict). Messages name each input by the parameter name of ``grad`` (else of
            ``f``), e.g. ``X``.
        wrt: index of the argument to differentiate.
        points: number of seeded random points; default 3, or 1 at a concrete point.
        seed: seed of the ``torch.Generator`` that draws points and directions.
        rtol, atol: tolerance against autograd (one reverse pass); default from the dtype's
            machine epsilon ε: ``rtol = ε^(1/2)``, ``atol = ε^(3/4)`` (module docstring).
        fd_rtol: tolerance against central differences, default ``ε^(1/3)``.
        fd_directions: ``None`` differences every entry when ``xs[wrt]`` has at most 100 of
            them (``2 * numel`` evaluations) and 20 seeded random directions ``V`` otherwise;
            an integer asks for that many directions. Along directions ``<G, V>`` is compared
            with ``(f(X + hV) - f(X - hV)) / 2h``.
        name: label for the verdict.
        raises: if False, a failed check returns its :class:`CheckResult` (``✗`` and the
            diagnosis) instead of raising ``AssertionError``.

    Returns:
        CheckResult; it prints as a two-line verdict naming the dtype and the points.

    Raises:
        AssertionError: where the closed form disagrees with a reference beyond tolerance, or
            fails with a shape error (and ``raises=True``); the message names the point, the
            reference, the worst entry, both values, the tolerance and a diagnosis of the usual
            slips (for a shape error: the reader's line and the shapes).
        ValueError: on ``points < 1``, an empty ``xs[wrt]``, a bad ``wrt``, NaN or Inf in an
            input, inputs on several devices, a check above ``MAX_DENSE_BYTES``, or when ``f``
            returns NaN/Inf, a non-scalar or a detached result, or has a kink at the point (f is
            blamed, not ``grad``).
        TypeError: if ``grad`` returns None (nothing to check) or a non-array, or an input is
            not a Domain, a shape or a float32/float64 array.

    When the input's domain has ``tangent="symmetric"``, the reference gradient is projected onto
    the symmetric matrices (``sym(G)``) and differences are taken along symmetric directions: that
    checks the gradient *on* the symmetric matrices, which must itself be a symmetric matrix.
    """
    _check_wrt(wrt, inputs)
    if fd_directions is not None:
        _positive_int("fd_directions", fd_directions)
    names = _reader.arg_names(len(inputs), grad, f)
    words = _reader.Words.of(inputs, names)

    def copies(m: int) -> int:
        return 6 + (fd_directions or (_DIRECTIONS if m > _FULL else 0))

    specs, dtype, _, n, at_given = _prepare(
        inputs, names, lambda s: [wrt], points, checker="check_gradient", copies=copies
    )
    rtol, atol, fd_rtol = _tols(dtype, rtol, atol, fd_rtol)
    spec = specs[wrt]
    dom = spec if isinstance(spec, Domain) else None
    symmetric_tangent = dom is not None and dom.tangent == "symmetric"
    numel = math.prod(spec.shape)
    if fd_directions is not None:
        k_dirs = fd_directions
    elif numel > _FULL:
        k_dirs = _DIRECTIONS
    elif symmetric_tangent:
        k_dirs = 2 * numel  # symmetric directions: as many as entries, twice over
    else:
        k_dirs = 0  # every entry
    note = f"differences along {k_dirs} random directions" if k_dirs else ""
    device = _device(specs)
    run = _Run("gradient", name, dtype, n, at_given, raises, note)
    gen = torch.Generator().manual_seed(seed)
    project = dom.project if dom is not None else (lambda g: g)
    want_shape = tuple(spec.shape)
    what = f"the gradient, an array of shape {want_shape} (the shape of {names[wrt]})"
    closed = functools.partial(
        _closed, arg="grad", what=what, dtype=dtype, device=device, words=words
    )

    def reference(xs, where):
        x = xs[wrt].detach().requires_grad_(True)
        with torch.enable_grad():
            out = _f_scalar(_f_out(f, _with(xs, wrt, x), where), "check_gradient")
            _f_finite(out, where)
            _not_detached(out, names[wrt], where)
            (g,) = torch.autograd.grad(out, x, allow_unused=True)
        if g is None:  # f's graph does not reach the input
            _not_detached(out.detach(), names[wrt], where)
        if not torch.isfinite(g).all():
            raise ValueError(
                f"autograd's gradient of f is NaN or Inf {where} although f is finite: f is "
                "not differentiable there (sqrt or abs at 0?); move the point"
            )
        return project(g.detach())

    def fresh():
        xs = _draw(specs, gen, dtype, device)
        return closed(grad, xs, where="at a further point"), reference(xs, "at a further point")

    more = _more_points(at_given, names, [wrt], specs)
    for p in range(n):
        xs = _draw(specs, gen, dtype, device)
        where = run.where(p)
        ref = reference(xs, where)
        try:
            got = closed(grad, xs, where=where)
        except _WrongShape as e:
            run.fail(p, "autograd", math.inf, rtol, _wrap_lines(e.lines), [])
            return run.result()

        def recheck(i, xs=xs, where=where):
            xs2 = _with(xs, i, (xs[i] + xs[i].T) / 2)
            return closed(grad, xs2, where=where), reference(xs2, where)

        ctx = _Ctx(
            rtol=rtol, atol=atol, shape_of=names[wrt], names=names,
            sym_hint="on the symmetric matrices the gradient is sym(G) = (G + Gᵀ)/2"
            if symmetric_tangent else "the gradient is symmetric here",
            recheck=recheck, square_inputs=_square_nonsym(xs, range(len(xs))), entrywise=True,
            closed_form=grad, apply=functools.partial(_apply_to, closed, xs, where),
            fixed=_square_nonsym(xs, [i for i in range(len(xs)) if i != wrt]),
            series=functools.partial(_series, run, got, ref, None if at_given else fresh),
            more_points=more,
        )  # fmt: skip
        if not _compare(
            run, p, got, ref, reference="autograd", rtol=rtol, atol=atol, ctx=ctx,
            expected=f"the gradient has the shape of {names[wrt]},",
        ):  # fmt: skip
            return run.result()
        ad_err = run.comps[-1].rel_error
        xf, fdt = _fd_inputs(f, xs, dtype)
        x0 = xf[wrt]
        h = _fd_step(x0, 1)

        def fx(z, xf=xf, where=where):
            return _f_scalar(_f_out(f, _with(xf, wrt, z), where), "check_gradient")

        vs = [_unit_direction(spec, x0, gen) for _ in range(k_dirs)]
        evals = functools.lru_cache(functools.partial(_gradient_evals, fx, x0, vs))
        g = got.to(fdt)
        got_fd = torch.stack([(g * v).sum() for v in vs]) if vs else g
        with torch.no_grad():
            f0d = fx(x0)
        kink = one_sided_kink(evals, h, f0d, rtol=fd_rtol, atol=atol)
        if kink is not None:
            along = "a random direction" if vs else _entry(names[wrt], x0.shape, kink[0])
            return _kink_failed(run, p, fd_rtol, along, h, kink)
        diffs = functools.partial(
            _central, evals, where=where, step="X ± h·V" if vs else "X ± h·E_i",
            shape=tuple(got_fd.shape),
        )  # fmt: skip
        fd, fd_atol = _differences(diffs, h, 1, got_fd, fd_rtol, atol, f0d, fdt)
        if not _compare(
            run, p, got_fd, fd, reference="central differences", rtol=fd_rtol, atol=fd_atol,
            ctx=None, expected="the differences have shape", agrees_with_autograd=ad_err,
        ):  # fmt: skip
            return run.result()
    return run.result()
