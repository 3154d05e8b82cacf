"""``check_hessian``: a closed-form second derivative, as a matrix, an HVP or a bilinear form.

Introduced in "Second derivatives and Newton's method".

Chapters: "Automatic differentiation from scratch", "Checking derivatives", "Seven identities",
"Second derivatives and Newton's method", "Critical points and second-order conditions", "Adjoint
methods", "A verified catalogue", "The vec trick", "The secant equations", "Exact curvature",
"Limited-memory updates", "Conventions".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.func import grad as _func_grad
from torch.func import hessian as _hessian
from torch.func import jvp as _jvp

from hessnotes._linalg import check_positive_int, vec_matrix
from hessnotes._linalg import unvec as _unvec
from hessnotes._linalg import vec as _vec
from hessnotes.checks import _reader
from hessnotes.checks._diagnosis import _Ctx, _within
from hessnotes.checks._inputs import (
    _FULL,
    _NOTHING,
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
    _prepare,
    _square_nonsym,
    _tols,
    _unit_direction,
    _with,
    _WrongShape,
)
from hessnotes.checks._loop import (
    Differences,
    _apply_to,
    _differences,
    _fd_inputs,
    _fd_step,
    _series,
    fresh_point,
    run_points,
)
from hessnotes.checks._report import CheckResult, _Run


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
    check_positive_int(probes, "probes", _NOTHING.format("probes"))
    names = _reader.arg_names(len(inputs), hess, f)

    def copies(m: int) -> int:
        return 6 if m <= _FULL else 6 + 3 * max(probes, 6) + 2 * probes

    specs, dtype, _, n, at_given = _prepare(
        inputs, names, lambda s: [wrt], points, checker="check_hessian", copies=copies
    )
    rtol, atol, fd_rtol = _tols(dtype, rtol, atol, fd_rtol, hessian=True)
    stages = _Hessian(
        f,
        hess,
        form,
        specs,
        wrt,
        names,
        _reader.Words.of(inputs, names),
        dtype,
        _device(specs),
        torch.Generator().manual_seed(seed),
        probes,
        at_given,
        rtol,
        atol,
        fd_rtol,
        _reader.trailing_names(hess, len(inputs), ("u", "v")),
    )
    note = "" if stages.full else f"autograd on {stages.k_probe} Hessian-vector products"
    run = _Run("Hessian", name, dtype, n, at_given, raises, note)
    return run_points(run, stages, rtol=rtol, atol=atol, fd_rtol=fd_rtol, reference="autograd")


@dataclass
class _Hessian:
    """The stages of :func:`check_hessian` for :func:`~hessnotes.checks._loop.run_points`.

    A point is ``(xs, probe)``. Up to 100 entries (``full``) the probe is the identity and the
    whole Hessian is formed; above, it is ``k_probe`` random columns (Hessian-vector products).
    For ``form="bilinear"`` the probe is a list of direction pairs ``(u, v)``.
    """

    f: Callable
    hess: Callable
    form: str
    specs: list
    wrt: int
    names: Sequence[str]
    words: _reader.Words
    dtype: torch.dtype
    device: torch.device
    gen: torch.Generator
    probes: int
    at_given: bool
    rtol: float
    atol: float
    fd_rtol: float
    letters: tuple[str, str]  # the reader's names of the directions of d²f[H, K]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.specs[self.wrt].shape)

    @property
    def full(self) -> bool:
        return math.prod(self.shape) <= _FULL

    @property
    def k_probe(self) -> int:
        return self.probes if self.full else max(self.probes, 6)

    @property
    def expected(self) -> str:
        if self.form == "bilinear":
            return "d²f on the probes has shape"
        return "the Hessian" + ("" if self.full else " on the probes") + " has shape"

    # -- f, autograd and the probes ------------------------------------------------------------
    def fx(self, xs: list, where: str, z: torch.Tensor) -> torch.Tensor:
        """``f`` as a function of input ``wrt`` alone, the others held at ``xs``."""
        return _f_scalar(_f_out(self.f, _with(xs, self.wrt, z), where), "check_hessian")

    def check_f(self, xs: list, where: str) -> torch.Tensor:
        """f at the point: a finite scalar that depends on input ``wrt`` (else f is blamed)."""
        x = xs[self.wrt].detach().requires_grad_(True)
        with torch.enable_grad():
            out = self.fx(xs, where, x)
            _f_finite(out, where)
            _not_detached(out, self.names[self.wrt], where)
        return out.detach()

    def draw(self, p: int, where: str) -> tuple[list, object]:
        xs = _draw(self.specs, self.gen, self.dtype, self.device)
        self.check_f(xs, where)
        x0, spec = xs[self.wrt], self.specs[self.wrt]
        if self.form == "bilinear":
            return xs, [
                (_unit_direction(spec, x0, self.gen), _unit_direction(spec, x0, self.gen))
                for _ in range(self.k_probe)
            ]
        if self.full:
            return xs, torch.eye(math.prod(self.shape), dtype=self.dtype, device=self.device)
        cols = [_vec(_unit_direction(spec, x0, self.gen)) for _ in range(self.k_probe)]
        return xs, torch.stack(cols, 1)

    def matrix(self, xs: list, where: str) -> torch.Tensor:
        """Autograd's ``(N, N)`` Hessian with respect to the column-major ``vec`` of the input."""
        shape = self.shape
        fx = functools.partial(self.fx, xs, where)
        ref = vec_matrix(_hessian(fx)(xs[self.wrt]).detach().reshape(shape + shape), len(shape))
        if not torch.isfinite(ref).all():
            raise ValueError(
                f"autograd's Hessian of f is NaN or Inf {where} although f is finite; "
                "f is not twice differentiable there; move the point"
            )
        return ref

    def hvp(self, xs: list, where: str, v: torch.Tensor) -> torch.Tensor:
        """Autograd's Hessian-vector product, forward over reverse."""
        fx = functools.partial(self.fx, xs, where)
        _, hv = _jvp(_func_grad(fx), (xs[self.wrt],), (v,))
        return hv.detach()

    def reference(self, pt: tuple[list, object], where: str) -> torch.Tensor:
        """Autograd's ``H V`` (matrix, hvp) or ``d²f[u, v]`` on the probe pairs (bilinear)."""
        xs, probe = pt
        if self.form == "bilinear":
            if self.full:
                R = self.matrix(xs, where)
                return torch.stack([_vec(u) @ R @ _vec(v) for u, v in probe])
            return torch.stack([(u * self.hvp(xs, where, v)).sum() for u, v in probe])
        if self.full:
            return self.matrix(xs, where) @ probe
        cols = [
            _vec(self.hvp(xs, where, _unvec(probe[:, j], self.shape)))
            for j in range(probe.shape[1])
        ]
        return torch.stack(cols, 1)

    # -- the closed form ---------------------------------------------------------------------
    def call(self, fn: Callable, args: list, where: str) -> torch.Tensor:
        N, (H, K), name = math.prod(self.shape), self.letters, self.names[self.wrt]
        what = {
            "matrix": f"the ({N}, {N}) Hessian with respect to vec({name}), column-major",
            "hvp": f"the Hessian applied to v, an array of shape {self.shape}",
            "bilinear": f"the scalar d²f[{H}, {K}]",
        }[self.form]
        return _closed(
            fn,
            args,
            arg="hess",
            what=what,
            where=where,
            dtype=self.dtype,
            device=self.device,
            words=self.words,
        )

    def value(self, fn: Callable, xs: list, where: str, probe) -> torch.Tensor:
        """The closed form ``fn`` as the reference is taken: ``C V``, or ``B(u, v)`` on pairs."""
        return _VALUE[self.form](self, fn, xs, where, probe)

    def closed(self, pt: tuple[list, object], where: str, ref: torch.Tensor) -> torch.Tensor:
        xs, probe = pt
        return self.value(self.hess, xs, where, probe)

    # -- the diagnosis -------------------------------------------------------------------------
    def _recheck(self, xs: list, where: str, probe, i: int):
        """The closed form and autograd with input ``i`` replaced by its symmetric part."""
        xs2 = _with(xs, i, (xs[i] + xs[i].T) / 2)
        self.check_f(xs2, where)
        return self.value(self.hess, xs2, where, probe), self.reference((xs2, probe), where)

    def _extra(self, xs: list, where: str, probe) -> list[tuple]:
        """The slips of this form: the row-major vec (matrix), an unsymmetrised B (bilinear)."""
        shape = self.shape
        if self.form == "matrix" and len(shape) == 2 and 1 not in shape:
            matrix = functools.partial(self.call, self.hess, xs, where)
            text = (
                "the closed form is the Hessian for the row-major vec (rows stacked): "
                "reordered, it matches autograd (rel. error {e}); the book's vec stacks "
                "columns, e.g. B ⊗ A rather than A ⊗ B"
            )
            applied = functools.partial(_row_major_applied, matrix, shape, probe)
            return [("row-major vec", text, applied, "row-major vec")]
        if self.form == "bilinear":
            swapped = functools.partial(
                self.value, functools.partial(_swap_last_two, self.hess), xs, where, probe
            )
            return _bilinear_slips(swapped, self.rtol, *self.letters)
        return []

    def context(self, run: _Run, p: int, pt, where: str, got, ref) -> _Ctx:
        xs, probe = pt
        others = [i for i in range(len(xs)) if i != self.wrt]
        fresh = None if self.at_given else functools.partial(fresh_point, self)
        value = functools.partial(_value_as_closed, self, probe)
        return _Ctx(
            rtol=self.rtol,
            atol=self.atol,
            names=self.names,
            shape_of="the probes" if self.form == "bilinear" else "the Hessian",
            sym_hint="a Hessian is symmetric",
            recheck=functools.partial(self._recheck, xs, where, probe),
            square_inputs=_square_nonsym(xs, others),
            extra=self._extra(xs, where, probe),
            allow_transpose=False,
            closed_form=self.hess,
            apply=functools.partial(_apply_to, value, xs, where),
            fixed=_square_nonsym(xs, others),
            series=functools.partial(_series, run, got, ref, fresh),
            more_points=_more_points(self.at_given, self.names, [self.wrt], self.specs),
        )

    # -- second-order central differences on seeded direction pairs ---------------------------
    def differences(self, pt, where: str, got: torch.Tensor) -> Differences:
        xs, _ = pt
        xf, fdt = _fd_inputs(self.f, xs, self.dtype)
        x0, spec = xf[self.wrt], self.specs[self.wrt]
        h = _fd_step(x0, 2)
        pairs = [
            (_unit_direction(spec, x0, self.gen), _unit_direction(spec, x0, self.gen))
            for _ in range(self.probes)
        ]
        fx = functools.partial(self.fx, xf, where)
        diffs = functools.partial(_second_differences, fx, x0, pairs, where)
        with torch.no_grad():
            f0 = fx(x0)
            pd = [(u.to(self.dtype), v.to(self.dtype)) for u, v in pairs]  # the closed form's
            got_b = _BILINEAR[self.form](self, xs, where, pd).to(fdt)
        fd, fd_atol = _differences(diffs, h, 2, got_b, self.fd_rtol, self.atol, f0, fdt)
        return Differences(got_b, fd, fd_atol)


def _value_as_closed(stages: _Hessian, probe, fn: Callable, xs: list, where: str):
    """``stages.value`` in the argument order of ``_apply_to``'s ``closed``."""
    return stages.value(fn, xs, where, probe)


# The closed form as the reference is taken, one function per form (scikit-learn's dispatch).
def _value_matrix(st: _Hessian, fn: Callable, xs: list, where: str, probe) -> torch.Tensor:
    """``C @ V`` for the reader's ``(N, N)`` matrix ``C``."""
    N = math.prod(st.shape)
    c = st.call(fn, xs, where)
    if tuple(c.shape) != (N, N):
        raise _WrongShape(
            f"the closed form has shape {tuple(c.shape)}, expected ({N}, {N}): the "
            f"Hessian with respect to vec({st.names[st.wrt]}), column-major"
        )
    return c @ probe


def _value_hvp(st: _Hessian, fn: Callable, xs: list, where: str, probe) -> torch.Tensor:
    """``[vec(hess(xs, v_j))]_j`` for the probe's columns ``v_j``."""
    cols = []
    for j in range(probe.shape[1]):
        hv = st.call(fn, [*xs, _unvec(probe[:, j], st.shape)], where)
        if tuple(hv.shape) != st.shape:
            raise _WrongShape(
                f"the closed form returned shape {tuple(hv.shape)} for H v, expected "
                f"{st.shape}, the shape of {st.names[st.wrt]}"
            )
        cols.append(_vec(hv))
    return torch.stack(cols, 1)


def _value_bilinear(st: _Hessian, fn: Callable, xs: list, where: str, probe) -> torch.Tensor:
    """``[B(u, v)]`` over the probe pairs."""
    return torch.stack([_scalar_b(st.call(fn, [*xs, u, v], where), *st.letters) for u, v in probe])


_VALUE = {"matrix": _value_matrix, "hvp": _value_hvp, "bilinear": _value_bilinear}


# The closed form as d²f[u, v] on the difference pairs, one function per form.
def _bilinear_of_matrix(st: _Hessian, xs: list, where: str, pairs) -> torch.Tensor:
    """``vec(u)ᵀ C vec(v)``."""
    cm = st.call(st.hess, xs, where)
    return torch.stack([_vec(u) @ cm @ _vec(v) for u, v in pairs])


def _bilinear_of_hvp(st: _Hessian, xs: list, where: str, pairs) -> torch.Tensor:
    """``⟨u, hess(xs, v)⟩``."""
    return torch.stack([(u * st.call(st.hess, [*xs, v], where)).sum() for u, v in pairs])


def _bilinear_of_bilinear(st: _Hessian, xs: list, where: str, pairs) -> torch.Tensor:
    return st.value(st.hess, xs, where, pairs)


_BILINEAR = {
    "matrix": _bilinear_of_matrix,
    "hvp": _bilinear_of_hvp,
    "bilinear": _bilinear_of_bilinear,
}


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
        out = torch.stack(
            [
                (
                    fx(x0 + h * u + h * v)
                    - fx(x0 + h * u - h * v)
                    - fx(x0 - h * u + h * v)
                    + fx(x0 - h * u - h * v)
                )
                / (4 * h * h)
                for u, v in pairs
            ]
        )
    return _fd_finite(out, where, h, "x ± h·u ± h·v")
