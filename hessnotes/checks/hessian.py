"""``check_hessian``: a closed-form second derivative, as a matrix, an HVP or a bilinear form.

Introduced in "Second derivatives and Newton's method"; used in "Critical points and
second-order conditions", "Exact curvature", "The vec trick" and the catalogue.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch.func import grad as _func_grad
from torch.func import hessian as _hessian
from torch.func import jvp as _jvp

from hessnotes.checks import _reader
from hessnotes.checks._diagnosis import _Ctx, _within
from hessnotes.checks._inputs import (
    _FULL,
    _check_wrt,
    _closed,
    _device,
    _draw,
    _f_finite,
    _f_out,
    _f_scalar,
    _fd_finite,
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
    _compare,
    _differences,
    _fd_inputs,
    _fd_step,
    _series,
    _unvec,
    _vec,
)
from hessnotes.checks._report import CheckResult, _Run, _wrap_lines


def check_hessian(
    f: Callable[..., torch.Tensor],
    hess: Callable[..., torch.Tensor],
    *inputs,
    wrt: int = 0,
    form: str = "matrix",
    points: int | None = None,
    seed: int = 0,
    rtol: float | None = None,
    atol: float | None = None,
    fd_rtol: float | None = None,
    probes: int = 6,
    name: str = "",
    raises: bool = True,
) -> CheckResult:
    """Check a closed-form second derivative of the scalar ``f(*xs)`` in ``xs[wrt]``.

    Args:
        f: scalar function; ``xs[wrt]`` is a vector or a matrix (any shape).
        hess: the closed form, in one of three forms (``N = xs[wrt].numel()``):

            * ``"matrix"``: ``hess(*xs)`` returns the ``(N, N)`` Hessian with respect to
              ``vec(xs[wrt])`` (column-major, the book's convention);
            * ``"hvp"``: ``hess(*xs, v)`` returns the Hessian applied to ``v`` (shape of the
              input);
            * ``"bilinear"``: ``hess(*xs, u, v)`` returns the scalar ``d²f[u, v]``.
        *inputs: one per argument, as in :func:`check_gradient`.
        wrt: index of the argument to differentiate twice.
        form: see ``hess``.
        points, seed, rtol, atol, name, raises: as in :func:`check_gradient`.
        fd_rtol: tolerance of the second-order central difference
            ``(f(x+hu+hv) - f(x+hu-hv) - f(x-hu+hv) + f(x-hu-hv)) / 4h²`` against ``d²f[u, v]``
            on ``probes`` seeded direction pairs; default ``ε^(1/4)``.
        probes: number of direction pairs (and, above 100 entries, of Hessian-vector products
            ``H v`` from autograd against which the closed form is compared; up to 100 entries
            the whole Hessian is formed with ``torch.func.hessian``).

    Returns:
        CheckResult.

    Raises:
        AssertionError: where the closed form disagrees with autograd or with the finite
            differences beyond tolerance, or fails with a shape error (and ``raises=True``),
            with a diagnosis.
        ValueError: on a bad ``form``, ``wrt``, ``points`` or ``probes``, an empty input, NaN or
            Inf in an input, inputs on several devices, a check above ``MAX_DENSE_BYTES``, or
            when ``f`` returns NaN/Inf, a non-scalar or a detached result.
        TypeError: if ``hess`` returns None or a non-array, or an input is not a Domain, shape
            or float32/float64 array.
    """
    if form not in ("matrix", "hvp", "bilinear"):
        raise ValueError(f"form={form!r}; use 'matrix', 'hvp' or 'bilinear'")
    _check_wrt(wrt, inputs)
    _positive_int("probes", probes)
    names = _reader.arg_names(len(inputs), hess, f)
    words = _reader.Words.of(inputs, names)

    def copies(m: int) -> int:
        return 6 if m <= _FULL else 6 + 3 * max(probes, 6) + 2 * probes

    specs, dtype, _, n, at_given = _prepare(
        inputs, names, lambda s: [wrt], points, checker="check_hessian", copies=copies
    )
    rtol, atol, fd_rtol = _tols(dtype, rtol, atol, fd_rtol, hessian=True)
    device = _device(specs)
    spec = specs[wrt]
    shape = tuple(spec.shape)
    N = math.prod(shape)
    full = N <= _FULL
    k_probe = probes if full else max(probes, 6)
    note = "" if full else f"autograd on {k_probe} Hessian-vector products"
    run = _Run("Hessian", name, dtype, n, at_given, raises, note)
    gen = torch.Generator().manual_seed(seed)
    # Column-major vec of a matrix: permute to (cols, rows) first.
    perm = tuple(reversed(range(len(shape))))
    H, K = _reader.trailing_names(hess, len(inputs), ("u", "v"))

    def fx_of(xs, where):
        def fx(z):
            return _f_scalar(_f_out(f, _with(xs, wrt, z), where), "check_hessian")

        return fx

    def check_f(xs, where):
        x = xs[wrt].detach().requires_grad_(True)
        with torch.enable_grad():
            out = _f_scalar(_f_out(f, _with(xs, wrt, x), where), "check_hessian")
            _f_finite(out, where)
            _not_detached(out, names[wrt], where)
        return out.detach()

    def ref_matrix(xs, where) -> torch.Tensor:
        ref_t = _hessian(fx_of(xs, where))(xs[wrt]).detach().reshape(shape + shape)
        ref = ref_t.permute(*perm, *(len(shape) + i for i in perm)).reshape(N, N)
        if not torch.isfinite(ref).all():
            raise ValueError(
                f"autograd's Hessian of f is NaN or Inf {where} although f is finite; "
                "f is not twice differentiable there; move the point"
            )
        return ref

    def hvp(xs, where, v) -> torch.Tensor:
        fx = fx_of(xs, where)
        _, hv = _jvp(_func_grad(fx), (xs[wrt],), (v,))
        return hv.detach()

    def reference(xs, where, *, probe):
        """Autograd's H V (matrix, hvp) or d²f[u, v] on the probe pairs (bilinear)."""
        if form == "bilinear":
            if full:
                R = ref_matrix(xs, where)
                return torch.stack([_vec(u) @ R @ _vec(v) for u, v in probe])
            return torch.stack([(u * hvp(xs, where, v)).sum() for u, v in probe])
        if full:
            return ref_matrix(xs, where) @ probe
        return torch.stack([_vec(hvp(xs, where, _unvec(probe[:, j], shape)))
                            for j in range(probe.shape[1])], 1)  # fmt: skip

    what = {
        "matrix": f"the ({N}, {N}) Hessian with respect to vec({names[wrt]}), column-major",
        "hvp": f"the Hessian applied to v, an array of shape {shape}",
        "bilinear": f"the scalar d²f[{H}, {K}]",
    }[form]
    closed = functools.partial(
        _closed, arg="hess", what=what, dtype=dtype, device=device, words=words
    )

    def value(fn, xs, *, where, probe):
        """The closed form ``fn`` as the reference is taken: C V, or B(u, v) on the pairs."""
        if form == "bilinear":
            return torch.stack([
                _scalar_b(closed(fn, [*xs, u, v], where=where), H, K) for u, v in probe
            ])  # fmt: skip
        if form == "matrix":
            c = closed(fn, xs, where=where)
            if tuple(c.shape) != (N, N):
                raise _WrongShape(
                    f"the closed form has shape {tuple(c.shape)}, expected ({N}, {N}): the "
                    f"Hessian with respect to vec({names[wrt]}), column-major"
                )
            return c @ probe
        cols = []
        for j in range(probe.shape[1]):
            hv = closed(fn, [*xs, _unvec(probe[:, j], shape)], where=where)
            if tuple(hv.shape) != shape:
                raise _WrongShape(
                    f"the closed form returned shape {tuple(hv.shape)} for H v, expected "
                    f"{shape}, the shape of {names[wrt]}"
                )
            cols.append(_vec(hv))
        return torch.stack(cols, 1)

    def draw_probe(x0):
        if form == "bilinear":
            return [(_unit_direction(spec, x0, gen), _unit_direction(spec, x0, gen))
                    for _ in range(k_probe)]  # fmt: skip
        if full:
            return torch.eye(N, dtype=dtype, device=device)
        return torch.stack([_vec(_unit_direction(spec, x0, gen)) for _ in range(k_probe)], 1)

    def fresh():
        xs = _draw(specs, gen, dtype, device)
        where = "at a further point"
        check_f(xs, where)
        probe = draw_probe(xs[wrt])
        return value(hess, xs, where=where, probe=probe), reference(xs, where, probe=probe)

    more = _more_points(at_given, names, [wrt], specs)
    for p in range(n):
        xs = _draw(specs, gen, dtype, device)
        where = run.where(p)
        check_f(xs, where)
        probe = draw_probe(xs[wrt])
        ref = reference(xs, where, probe=probe)
        try:
            got = value(hess, xs, where=where, probe=probe)
        except _WrongShape as e:
            run.fail(p, "autograd", math.inf, rtol, _wrap_lines(e.lines), [])
            return run.result()

        def recheck(i, xs=xs, where=where, probe=probe):
            xs2 = _with(xs, i, (xs[i] + xs[i].T) / 2)
            check_f(xs2, where)
            return (value(hess, xs2, where=where, probe=probe),
                    reference(xs2, where, probe=probe))  # fmt: skip

        extra = []
        if form == "matrix" and len(shape) == 2 and 1 not in shape:
            matrix = functools.partial(closed, hess, xs, where=where)
            extra.append((
                "row-major vec",
                "the closed form is the Hessian for the row-major vec (rows stacked): "
                "reordered, it matches autograd (rel. error {e}); the book's vec stacks "
                "columns, e.g. B ⊗ A rather than A ⊗ B",
                functools.partial(_row_major_applied, matrix, shape, probe),
                "row-major vec",
            ))  # fmt: skip
        if form == "bilinear":
            swapped = functools.partial(
                value, functools.partial(_swap_last_two, hess), xs, where=where, probe=probe
            )
            extra.extend(_bilinear_slips(swapped, rtol, H, K))
        others = [i for i in range(len(xs)) if i != wrt]
        ctx = _Ctx(
            rtol=rtol, atol=atol, names=names,
            shape_of="the probes" if form == "bilinear" else "the Hessian",
            sym_hint="a Hessian is symmetric", recheck=recheck,
            square_inputs=_square_nonsym(xs, others), extra=extra, allow_transpose=False,
            closed_form=hess,
            apply=functools.partial(_apply_to, functools.partial(value, probe=probe), xs, where),
            fixed=_square_nonsym(xs, others),
            series=functools.partial(_series, run, got, ref, None if at_given else fresh),
            more_points=more,
        )  # fmt: skip
        if form == "bilinear":
            expected = "d²f on the probes has shape"
        else:
            expected = "the Hessian" + ("" if full else " on the probes") + " has shape"
        if not _compare(
            run, p, got, ref, reference="autograd", rtol=rtol, atol=atol, ctx=ctx,
            expected=expected,
        ):  # fmt: skip
            return run.result()
        ad_err = run.comps[-1].rel_error

        # Second-order central differences on seeded direction pairs.
        xf, fdt = _fd_inputs(f, xs, dtype)
        xf0 = xf[wrt]
        h = _fd_step(xf0, 2)
        pairs = [(_unit_direction(spec, xf0, gen), _unit_direction(spec, xf0, gen))
                 for _ in range(probes)]  # fmt: skip
        fx = fx_of(xf, where)
        diffs = functools.partial(_second_differences, fx, xf0, pairs, where)
        with torch.no_grad():
            f0 = fx(xf0)
            pd = [(u.to(dtype), v.to(dtype)) for u, v in pairs]  # the closed form's dtype
            if form == "matrix":
                cm = closed(hess, xs, where=where)
                gotb = torch.stack([_vec(u) @ cm @ _vec(v) for u, v in pd])
            elif form == "hvp":
                gotb = torch.stack([(u * closed(hess, [*xs, v], where=where)).sum() for u, v in pd])
            else:
                gotb = value(hess, xs, where=where, probe=pd)
            gotb = gotb.to(fdt)
        fd, fd_atol = _differences(diffs, h, 2, gotb, fd_rtol, atol, f0, fdt)
        if not _compare(
            run, p, gotb, fd, reference="central differences", rtol=fd_rtol, atol=fd_atol,
            ctx=None, expected="the differences have shape", agrees_with_autograd=ad_err,
        ):  # fmt: skip
            return run.result()
    return run.result()


def _scalar_b(out: torch.Tensor, H: str, K: str) -> torch.Tensor:
    if out.numel() != 1:
        raise _WrongShape(
            f"the closed form returned shape {tuple(out.shape)}; with form='bilinear' it "
            f"must return the scalar d²f[{H}, {K}]"
        )
    return out.reshape(())


def _swap_last_two(fn, *args):
    """``fn`` with its last two arguments swapped: B(K, H) from B(H, K)."""
    return fn(*args[:-2], args[-1], args[-2])


def _bilinear_slips(swapped, rtol: float, H: str, K: str) -> list[tuple]:
    """A bilinear form B(H, K) written unsymmetrised, or with one of its two terms only."""
    return [
        (
            "not symmetric",
            f"the closed form B({H}, {K}) is not symmetric in ({H}, {K}), but "
            f"(B({H}, {K}) + B({K}, {H}))/2 matches autograd (rel. error {{e}}): a second "
            f"derivative is symmetric; symmetrise in ({H}, {K})",
            functools.partial(_symmetrised, swapped, rtol),
            f"symmetrised in ({H}, {K})",
        ),
        (
            "one term",
            f"B({H}, {K}) + B({K}, {H}) matches autograd (rel. error {{e}}): the closed form B "
            f"is one of the two terms of d²f[{H}, {K}] (the product rule gives both); add "
            f"B({K}, {H})",
            functools.partial(_symmetrised, swapped, rtol, factor=2.0),
            "",
        ),
    ]


def _symmetrised(swapped, rtol: float, c: torch.Tensor, factor: float = 1.0):
    """factor × (B(u, v) + B(v, u))/2 on the probes, or None if B is symmetric there already."""
    b = swapped()
    return None if _within(b, c, rtol, 0.0)[1] else factor * (c + b) / 2


def _row_major_applied(matrix, shape, V: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The closed-form matrix reordered from the row-major vec to the column-major one, times V.

    The Hessian in row-major vec is conjugated with the perfect shuffle.
    """
    m, k = shape
    idx = torch.arange(m * k).reshape(m, k).T.reshape(-1)  # col-major position -> row-major
    return matrix()[idx][:, idx] @ V


def _second_differences(fx, x0, pairs, where: str, h: float) -> torch.Tensor:
    """``(f(x+hu+hv) - f(x+hu-hv) - f(x-hu+hv) + f(x-hu-hv)) / 4h²`` for each pair (u, v)."""
    with torch.no_grad():
        out = torch.stack([
            (fx(x0 + h * u + h * v) - fx(x0 + h * u - h * v)
             - fx(x0 - h * u + h * v) + fx(x0 - h * u - h * v))
            / (4 * h * h)
            for u, v in pairs
        ])  # fmt: skip
    return _fd_finite(out, where, h, "x ± h·u ± h·v")
