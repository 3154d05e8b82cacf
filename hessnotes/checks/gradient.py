"""``check_gradient``: a closed-form gradient against autograd and central differences.

Introduced in "Derivatives as linear maps, and the chain rule" and "Checking derivatives".

Chapters: "Derivatives as linear maps, and the chain rule", "Automatic differentiation from
scratch", "Checking derivatives", "Finite differences done right", "Seven identities", "Derivatives
of factorizations", "Derivatives of matrix functions", "Critical points and second-order
conditions", "Adjoint methods", "Differentiating through an ODE", "Derivatives of random functions",
"A verified catalogue", "The vec trick", "Kronecker sums and tensor Sylvester equations", "Shuffles
and rearrangements", "The secant equations", "The least-norm Hessian", "Limited-memory updates",
"Conventions".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from hessnotes._linalg import check_positive_int
from hessnotes.checks import _reader
from hessnotes.checks._diagnosis import _Ctx
from hessnotes.checks._inputs import (
    _DIRECTIONS,
    _FULL,
    _NOTHING,
    _check_wrt,
    _closed,
    _device,
    _draw,
    _f_finite,
    _f_out,
    _f_scalar,
    _more_points,
    _not_detached,
    _prepare,
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
    _entry,
    _fd_inputs,
    _fd_step,
    _series,
    fresh_point,
    run_points,
)
from hessnotes.checks._report import CheckResult, _Run
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
        check_positive_int(fd_directions, "fd_directions", _NOTHING.format("directions"))
    names = _reader.arg_names(len(inputs), grad, f)

    def copies(m: int) -> int:
        return 6 + (fd_directions or (_DIRECTIONS if m > _FULL else 0))

    specs, dtype, _, n, at_given = _prepare(
        inputs, names, lambda s: [wrt], points, checker="check_gradient", copies=copies
    )
    rtol, atol, fd_rtol = _tols(dtype, rtol, atol, fd_rtol)
    stages = _Gradient(
        f,
        grad,
        specs,
        wrt,
        names,
        _reader.Words.of(inputs, names),
        dtype,
        _device(specs),
        torch.Generator().manual_seed(seed),
        _directions(specs[wrt], fd_directions),
        at_given,
        rtol,
        atol,
        fd_rtol,
    )
    note = f"differences along {stages.k_dirs} random directions" if stages.k_dirs else ""
    run = _Run("gradient", name, dtype, n, at_given, raises, note)
    return run_points(run, stages, rtol=rtol, atol=atol, fd_rtol=fd_rtol, reference="autograd")


def _directions(spec, fd_directions: int | None) -> int:
    """How many random difference directions: 0 means every entry."""
    numel = math.prod(spec.shape)
    if fd_directions is not None:
        return fd_directions
    if numel > _FULL:
        return _DIRECTIONS
    if isinstance(spec, Domain) and spec.tangent == "symmetric":
        return 2 * numel  # symmetric directions: as many as entries, twice over
    return 0  # every entry


@dataclass
class _Gradient:
    """The stages of :func:`check_gradient` for :func:`~hessnotes.checks._loop.run_points`."""

    f: Callable
    grad: Callable
    specs: list
    wrt: int
    names: Sequence[str]
    words: _reader.Words
    dtype: torch.dtype
    device: torch.device
    gen: torch.Generator
    k_dirs: int
    at_given: bool
    rtol: float
    atol: float
    fd_rtol: float

    @property
    def symmetric_tangent(self) -> bool:
        s = self.specs[self.wrt]
        return isinstance(s, Domain) and s.tangent == "symmetric"

    @property
    def expected(self) -> str:
        return f"the gradient has the shape of {self.names[self.wrt]},"

    def draw(self, p: int, where: str) -> list[torch.Tensor]:
        return _draw(self.specs, self.gen, self.dtype, self.device)

    def reference(self, xs: list[torch.Tensor], where: str) -> torch.Tensor:
        """Autograd's gradient (one reverse pass), projected onto the tangent space."""
        wrt, name = self.wrt, self.names[self.wrt]
        x = xs[wrt].detach().requires_grad_(True)
        with torch.enable_grad():
            out = _f_scalar(_f_out(self.f, _with(xs, wrt, x), where), "check_gradient")
            _f_finite(out, where)
            _not_detached(out, name, where)
            (g,) = torch.autograd.grad(out, x, allow_unused=True)
        if g is None:  # f's graph does not reach the input
            _not_detached(out.detach(), name, where)
        if not torch.isfinite(g).all():
            raise ValueError(
                f"autograd's gradient of f is NaN or Inf {where} although f is finite: f is "
                "not differentiable there (sqrt or abs at 0?); move the point"
            )
        spec = self.specs[wrt]
        return spec.project(g.detach()) if isinstance(spec, Domain) else g.detach()

    def call(self, fn: Callable, xs: list[torch.Tensor], where: str) -> torch.Tensor:
        shape = tuple(self.specs[self.wrt].shape)
        what = f"the gradient, an array of shape {shape} (the shape of {self.names[self.wrt]})"
        return _closed(
            fn,
            xs,
            arg="grad",
            what=what,
            where=where,
            dtype=self.dtype,
            device=self.device,
            words=self.words,
        )

    def closed(self, xs: list[torch.Tensor], where: str, ref: torch.Tensor) -> torch.Tensor:
        return self.call(self.grad, xs, where)

    def _recheck(self, xs, where: str, i: int):
        """The closed form and autograd with input ``i`` replaced by its symmetric part."""
        xs2 = _with(xs, i, (xs[i] + xs[i].T) / 2)
        return self.call(self.grad, xs2, where), self.reference(xs2, where)

    def context(self, run: _Run, p: int, xs, where: str, got, ref) -> _Ctx:
        hint = (
            "on the symmetric matrices the gradient is sym(G) = (G + Gᵀ)/2"
            if self.symmetric_tangent
            else "the gradient is symmetric here"
        )
        others = [i for i in range(len(xs)) if i != self.wrt]
        fresh = None if self.at_given else functools.partial(fresh_point, self)
        return _Ctx(
            rtol=self.rtol,
            atol=self.atol,
            shape_of=self.names[self.wrt],
            names=self.names,
            sym_hint=hint,
            recheck=functools.partial(self._recheck, xs, where),
            square_inputs=_square_nonsym(xs, range(len(xs))),
            entrywise=True,
            closed_form=self.grad,
            apply=functools.partial(_apply_to, self.call, xs, where),
            fixed=_square_nonsym(xs, others),
            series=functools.partial(_series, run, got, ref, fresh),
            more_points=_more_points(self.at_given, self.names, [self.wrt], self.specs),
        )

    def differences(self, xs, where: str, got: torch.Tensor) -> Differences:
        """Along every entry (``X ± h·E_i``) or along random unit directions (``X ± h·V``)."""
        wrt = self.wrt
        xf, fdt = _fd_inputs(self.f, xs, self.dtype)
        x0 = xf[wrt]
        h = _fd_step(x0, 1)
        fx = functools.partial(_f_along, self.f, xf, wrt, where)
        vs = [_unit_direction(self.specs[wrt], x0, self.gen) for _ in range(self.k_dirs)]
        evals = functools.lru_cache(functools.partial(_gradient_evals, fx, x0, vs))
        g = got.to(fdt)
        got_fd = torch.stack([(g * v).sum() for v in vs]) if vs else g
        with torch.no_grad():
            f0 = fx(x0)
        kink = one_sided_kink(evals, h, f0, rtol=self.fd_rtol, atol=self.atol)
        if kink is not None:
            along = "a random direction" if vs else _entry(self.names[wrt], x0.shape, kink[0])
            return Differences(kink=(along, h, kink))
        step = "X ± h·V" if vs else "X ± h·E_i"
        diffs = functools.partial(
            _central, evals, where=where, step=step, shape=tuple(got_fd.shape)
        )
        fd, fd_atol = _differences(diffs, h, 1, got_fd, self.fd_rtol, self.atol, f0, fdt)
        return Differences(got_fd, fd, fd_atol)


def _f_along(f: Callable, xs: list, wrt: int, where: str, z: torch.Tensor) -> torch.Tensor:
    """``f`` as a function of input ``wrt`` alone, the others held at ``xs``."""
    return _f_scalar(_f_out(f, _with(xs, wrt, z), where), "check_gradient")
