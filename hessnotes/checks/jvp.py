"""``check_jvp``: a closed-form Jacobian-vector product against forward mode and differences.

Introduced in "Derivatives as linear maps, and the chain rule".

Chapters: "Derivatives as linear maps, and the chain rule", "Automatic differentiation from
scratch", "Checking derivatives", "Finite differences done right", "Seven identities", "Derivatives
of factorizations", "Derivatives of matrix functions", "Differentiating through an ODE", "Kronecker
sums and tensor Sylvester equations".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
)
from hessnotes.checks._loop import (
    Differences,
    _apply_to,
    _central,
    _differences,
    _fd_inputs,
    _fd_step,
    _index,
    _series,
    fresh_point,
    run_points,
)
from hessnotes.checks._report import CheckResult, _Run
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
    tspecs = _tangent_specs(tangents, k)
    names = _reader.arg_names(k, jvp, f)
    specs, dtype, diff, n, at_given = _prepare(
        inputs,
        names,
        functools.partial(_differentiated, tspecs),
        points,
        checker="check_jvp",
        copies=lambda m: 8,
    )
    rtol, atol, fd_rtol = _tols(dtype, rtol, atol, fd_rtol)
    device = _device(specs)
    tparsed = [_tangent(t, specs[i], names[i], dtype, device) for i, t in enumerate(tspecs)]
    stages = _Jvp(
        f,
        jvp,
        specs,
        tparsed,
        diff,
        names,
        _reader.Words.of(inputs, names),
        dtype,
        device,
        torch.Generator().manual_seed(seed),
        at_given,
        rtol,
        atol,
        fd_rtol,
    )
    run = _Run("JVP", name, dtype, n, at_given, raises)
    return run_points(run, stages, rtol=rtol, atol=atol, fd_rtol=fd_rtol, reference="autograd")


def _tangent_specs(tangents, k: int) -> list:
    """``tangents`` as a list of one entry per input (``None`` for every input by default)."""
    if tangents is None:
        return [None] * k
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
    return tspecs


def _differentiated(tspecs: list, specs) -> list[int]:
    """The inputs with a non-zero tangent; at least one."""
    d = [i for i, t in enumerate(tspecs) if not _is_zero_tangent(t)]
    if not d:
        raise ValueError(
            "every tangent is 0: nothing varies, so the check cannot fail; give at least "
            "one input a direction (None for a random one)"
        )
    return d


@dataclass
class _Jvp:
    """The stages of :func:`check_jvp` for :func:`~hessnotes.checks._loop.run_points`.

    A point is ``(xs, ts)``: the inputs and their tangents.
    """

    f: Callable
    jvp: Callable
    specs: list
    tangents: list
    diff: list[int]
    names: Sequence[str]
    words: _reader.Words
    dtype: torch.dtype
    device: torch.device
    gen: torch.Generator
    at_given: bool
    rtol: float
    atol: float
    fd_rtol: float
    expected: str = "f's output has shape"

    def draw(self, p: int, where: str) -> tuple[list, list]:
        xs = _draw(self.specs, self.gen, self.dtype, self.device)
        return xs, _draw_tangents(self.specs, self.tangents, xs, self.gen, self.dtype, self.device)

    def reference(self, pt: tuple[list, list], where: str) -> torch.Tensor:
        """Forward-mode autograd: ``torch.func.jvp``."""
        xs, ts = pt
        which = " and ".join(self.names[i] for i in self.diff)
        req = [x.detach().requires_grad_(i in self.diff) for i, x in enumerate(xs)]
        with torch.enable_grad():
            out = _f_out(self.f, req, where)
            _f_finite(out, where)
            if out.numel() == 0:
                raise ValueError(
                    f"f returned an empty tensor (shape {tuple(out.shape)}) {where}: there is "
                    "nothing to compare, so the check cannot fail"
                )
            _not_detached(out, which, where)
        f = self.f
        _, ref = _jvp(lambda *a: f(*a), tuple(xs), tuple(ts))
        ref = ref.detach()
        if not torch.isfinite(ref).all():
            raise ValueError(
                f"autograd's JVP of f is NaN or Inf {where} although f is finite: f is not "
                "differentiable there; move the point"
            )
        return ref

    def call(self, ref: torch.Tensor, fn: Callable, args: list, where: str) -> torch.Tensor:
        what = f"df, an array of the shape of f's output {tuple(ref.shape)}"
        return _closed(
            fn,
            args,
            arg="jvp",
            what=what,
            where=where,
            dtype=self.dtype,
            device=self.device,
            words=self.words,
        )

    def closed(self, pt: tuple[list, list], where: str, ref: torch.Tensor) -> torch.Tensor:
        xs, ts = pt
        return self.call(ref, self.jvp, [*xs, *ts], where)

    def _recheck(self, pt, where: str, ref: torch.Tensor, i: int):
        """The closed form and autograd with input ``i`` and its tangent symmetrised."""
        xs, ts = pt
        xs2 = _with(xs, i, (xs[i] + xs[i].T) / 2)
        ts2 = _with(ts, i, (ts[i] + ts[i].T) / 2)
        return self.call(ref, self.jvp, [*xs2, *ts2], where), self.reference((xs2, ts2), where)

    def context(self, run: _Run, p: int, pt, where: str, got, ref) -> _Ctx:
        xs, ts = pt
        fixed = [i for i in range(len(xs)) if i not in self.diff]
        fresh = None if self.at_given else functools.partial(fresh_point, self)
        call = functools.partial(self.call, ref)
        return _Ctx(
            rtol=self.rtol,
            atol=self.atol,
            shape_of="f's output",
            names=self.names,
            sym_hint="the JVP of a symmetric-valued f is symmetric",
            recheck=functools.partial(self._recheck, pt, where, ref),
            square_inputs=_square_nonsym(xs, range(len(xs))),
            closed_form=self.jvp,
            apply=functools.partial(_apply_to, call, [*xs, *ts], where),
            fixed=_square_nonsym(xs, fixed),
            series=functools.partial(_series, run, got, ref, fresh),
            more_points=_more_points(self.at_given, self.names, self.diff, self.specs),
        )

    def differences(self, pt, where: str, got: torch.Tensor) -> Differences:
        """``(f(xs + h ts) - f(xs - h ts)) / 2h``."""
        xs, ts = pt
        xf, fdt = _fd_inputs(self.f, xs, self.dtype)
        tf = [t.to(fdt) for t in ts]
        evals = functools.lru_cache(functools.partial(_jvp_evals, self.f, xf, tf, where))
        h = max(_fd_step(xf[i], 1) for i in self.diff)
        g = got.to(fdt)
        with torch.no_grad():
            f0 = _f_out(self.f, xf, where)
        kink = one_sided_kink(evals, h, f0, rtol=self.fd_rtol, atol=self.atol)
        if kink is not None:
            in_f = f" (in entry {_index(f0.shape, kink[0])} of f)" if f0.numel() > 1 else ""
            return Differences(kink=(f"the tangent{in_f}", h, kink))
        diffs = functools.partial(_central, evals, where=where, step="xs ± h·ts")
        fd, fd_atol = _differences(diffs, h, 1, g, self.fd_rtol, self.atol, f0, fdt)
        return Differences(g, fd, fd_atol)


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
