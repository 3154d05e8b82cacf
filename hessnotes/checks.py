"""Verify closed-form derivatives against autograd and central finite differences.

Each ``check_*`` function evaluates a closed-form derivative at several seeded random points (3 by
default), in float64, and compares it with two independent references:

* **autograd** (``torch.func``): exact up to roundoff, so the tolerance is tight;
* **central finite differences**: independent of torch's derivative rules, so a wrong autograd rule
  cannot hide a wrong formula; its truncation error needs a looser tolerance.

A comparison passes when ``max|a - b| <= atol + rtol * max|b|`` (a normwise test: it does not blow
up on entries that happen to be tiny). The reported *relative error* is ``max|a - b| / max|b|``.
On failure an :class:`AssertionError` names the point, the reference, the worst entry's index, both
values and the tolerance. On success a :class:`CheckResult` is returned: it prints as a one-line
verdict and renders as a small table in a notebook.

Inputs are given as *domains*: :func:`general`, :func:`symmetric`, :func:`spd`, :func:`invertible`,
:func:`full_rank`, :func:`orthogonal`, :func:`positive`, :func:`simple_spectrum`,
:func:`distinct_singular_values`, or a plain shape tuple (general), or a
fixed tensor/array (held constant at every point).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import hessian as _hessian
from torch.func import jacrev as _jacrev
from torch.func import jvp as _jvp

__all__ = [
    "CheckResult",
    "Domain",
    "Verdict",
    "check_close",
    "check_error",
    "check_gradient",
    "check_hessian",
    "check_jvp",
    "distinct_singular_values",
    "full_rank",
    "general",
    "invertible",
    "orthogonal",
    "positive",
    "simple_spectrum",
    "spd",
    "sym",
    "symmetric",
]

_DTYPE = torch.float64


# --------------------------------------------------------------------------------------------------
# Domains: where inputs are sampled
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Domain:
    """A set of inputs to sample from.

    Attributes:
        shape: shape of one input.
        kind: ``"general"``, ``"symmetric"``, ``"spd"``, ``"invertible"``, ``"full_rank"``,
            ``"orthogonal"``, ``"positive"``, ``"simple_spectrum"`` (symmetric, eigenvalues at
            least 0.5 apart) or ``"distinct_singular_values"``.
        tangent: ``"general"`` or ``"symmetric"``: the space finite-difference and JVP directions
            are drawn from. Use ``"symmetric"`` to check a gradient *on* the symmetric matrices.
    """

    shape: tuple[int, ...]
    kind: str = "general"
    tangent: str = "general"

    def sample(self, gen: torch.Generator) -> torch.Tensor:
        """Draw one well-conditioned float64 point of this domain."""
        g = torch.randn(self.shape, generator=gen, dtype=_DTYPE)
        k = self.kind
        if k == "general":
            return g
        if k == "positive":
            return 0.5 + g.abs()
        n = self.shape[0]
        eye = torch.eye(n, dtype=_DTYPE)
        if k == "symmetric":
            return (g + g.T) / 2
        if k == "spd":
            return g @ g.T / n + eye
        if k == "invertible":
            return g / math.sqrt(n) + 2.0 * eye
        if k == "orthogonal":
            q, r = torch.linalg.qr(g)
            return q * torch.sign(torch.diagonal(r))
        if k == "simple_spectrum":
            # Q diag(λ) Qᵀ with eigenvalues centred on 0 and at least 0.5 apart.
            q = _haar(n, gen)
            lam = torch.arange(n, dtype=_DTYPE) - (n - 1) / 2
            lam = lam + 0.25 * torch.tanh(torch.randn(n, generator=gen, dtype=_DTYPE))
            return (q * lam) @ q.T
        if k == "distinct_singular_values":
            # U diag(σ) Vᵀ with σ_1 > σ_2 > … at least 0.5 apart and σ_min ≥ 0.75.
            m, p = self.shape
            r = min(m, p)
            u = _haar(m, gen)[:, :r]
            v = _haar(p, gen)[:, :r]
            s = torch.arange(r, 0, -1, dtype=_DTYPE)
            s = s + 0.25 * torch.tanh(torch.randn(r, generator=gen, dtype=_DTYPE))
            return (u * s) @ v.T
        if k == "full_rank":
            # Columns of a random Gaussian matrix plus a multiple of the identity's columns.
            m, p = self.shape
            return g / math.sqrt(m) + torch.eye(m, p, dtype=_DTYPE)
        raise ValueError(f"unknown domain kind {k!r}")

    def direction(self, gen: torch.Generator) -> torch.Tensor:
        """Draw a unit-Frobenius-norm direction in this domain's tangent space."""
        t = torch.randn(self.shape, generator=gen, dtype=_DTYPE)
        if self.tangent == "symmetric":
            t = sym(t)
        return t / torch.linalg.norm(t)

    def project(self, g: torch.Tensor) -> torch.Tensor:
        """Project a gradient onto the tangent space (identity unless ``tangent='symmetric'``)."""
        return sym(g) if self.tangent == "symmetric" else g

    def __str__(self) -> str:
        dims = "×".join(map(str, self.shape))
        extra = (
            ", symmetric tangents" if self.tangent == "symmetric" and self.kind != "general" else ""
        )
        return f"{self.kind} {dims}{extra}"


def _haar(n: int, gen: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn((n, n), generator=gen, dtype=_DTYPE))
    return q * torch.sign(torch.diagonal(r))


def sym(a: torch.Tensor) -> torch.Tensor:
    """Symmetric part ``(A + Aᵀ) / 2`` of a square matrix."""
    return (a + a.T) / 2


def general(*shape: int) -> Domain:
    """Any real array of this shape (standard Gaussian samples)."""
    return Domain(tuple(shape), "general")


def positive(*shape: int) -> Domain:
    """Entrywise positive arrays (entries at least 0.5)."""
    return Domain(tuple(shape), "positive")


def symmetric(n: int, *, tangent: str = "general") -> Domain:
    """Symmetric n×n matrices. ``tangent="symmetric"`` restricts directions to symmetric ones."""
    return Domain((n, n), "symmetric", tangent)


def spd(n: int, *, tangent: str = "general") -> Domain:
    """Symmetric positive definite n×n matrices, with eigenvalues at least 1."""
    return Domain((n, n), "spd", tangent)


def invertible(n: int) -> Domain:
    """Invertible n×n matrices, away from singular (2I plus a scaled Gaussian)."""
    return Domain((n, n), "invertible")


def full_rank(m: int, p: int) -> Domain:
    """m×p matrices of full column rank p (needs m ≥ p)."""
    if m < p:
        raise ValueError(f"full_rank(m={m}, p={p}) needs m >= p for full column rank; swap them")
    return Domain((m, p), "full_rank")


def simple_spectrum(n: int, *, tangent: str = "symmetric") -> Domain:
    """Symmetric n×n matrices with a simple spectrum: eigenvalues at least 0.5 apart.

    The domain of eigenvalue and eigenvector derivatives. Directions are symmetric by default,
    because those derivatives are statements about symmetric perturbations.
    """
    return Domain((n, n), "simple_spectrum", tangent)


def distinct_singular_values(m: int, p: int) -> Domain:
    """m×p matrices whose singular values are at least 0.5 apart, the smallest at least 0.75.

    The domain of singular-value derivatives (spectral and nuclear norms).
    """
    return Domain((m, p), "distinct_singular_values")


def orthogonal(n: int) -> Domain:
    """Orthogonal n×n matrices (Haar-distributed)."""
    return Domain((n, n), "orthogonal")


def _as_spec(spec) -> Domain | torch.Tensor:
    if isinstance(spec, Domain):
        return spec
    if isinstance(spec, tuple) and all(isinstance(s, int) for s in spec):
        return Domain(spec)
    if isinstance(spec, int):
        return Domain((spec,))
    if isinstance(spec, np.ndarray | torch.Tensor | float):
        return torch.as_tensor(spec, dtype=_DTYPE)
    raise TypeError(
        f"input spec {spec!r} is not a Domain, a shape tuple or a fixed array; "
        "use e.g. spd(4), general(3, 2), (3, 2) or a tensor"
    )


def _draw(specs, gen) -> list[torch.Tensor]:
    return [s.sample(gen) if isinstance(s, Domain) else s.clone() for s in specs]


def _direction(spec, x, gen) -> torch.Tensor:
    if isinstance(spec, Domain):
        return spec.direction(gen)
    t = torch.randn(x.shape, generator=gen, dtype=_DTYPE)
    return t / torch.linalg.norm(t)


# --------------------------------------------------------------------------------------------------
# Comparison and results
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """The closed form compared with one reference at one point."""

    point: int
    reference: str
    rel_error: float
    tol: float
    passed: bool


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a passed check: one :class:`Comparison` per point and reference."""

    kind: str
    name: str
    comparisons: tuple[Comparison, ...] = field(repr=False)

    def error(self, reference: str) -> float:
        """Largest relative error against ``"autograd"`` or ``"central differences"``."""
        return max(c.rel_error for c in self.comparisons if c.reference == reference)

    def tol(self, reference: str) -> float:
        """Relative tolerance used against ``reference``."""
        return max(c.tol for c in self.comparisons if c.reference == reference)

    @property
    def n_points(self) -> int:
        return len({c.point for c in self.comparisons})

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.comparisons)

    def _refs(self) -> list[str]:
        return list(dict.fromkeys(c.reference for c in self.comparisons))

    def __str__(self) -> str:
        parts = ", ".join(
            f"{_fmt_err(self.error(r))} vs {r} (tol {_fmt_tol(self.tol(r))})" for r in self._refs()
        )
        mark = "✓" if self.passed else "✗"
        label = f"{self.kind} of {self.name}" if self.name else self.kind
        return f"{mark} {label}: max rel. error {parts}; {self.n_points} points"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r)}</td><td>{_fmt_err(self.error(r))}</td>"
            f"<td>{_fmt_tol(self.tol(r))}</td><td>{'pass' if self.passed else 'FAIL'}</td></tr>"
            for r in self._refs()
        )
        title = html.escape(str(self).split(":")[0])
        return (
            f"<table><caption>{title}, {self.n_points} points</caption>"
            "<tr><th>reference</th><th>max rel. error</th><th>tolerance</th><th>verdict</th></tr>"
            f"{rows}</table>"
        )


def _fmt_err(e: float) -> str:
    """Measured errors: two significant digits, always with a decimal point (e.g. ``3.1e-16``)."""
    return f"{e:.1e}"


def _fmt_tol(t: float) -> str:
    """Tolerances: one significant digit, no decimal point (e.g. ``1e-09``)."""
    return f"{t:.0e}"


def _compare(
    got: torch.Tensor, want: torch.Tensor, *, rtol: float, atol: float, where: str
) -> tuple[float, bool]:
    got = torch.as_tensor(got, dtype=_DTYPE).detach()
    want = torch.as_tensor(want, dtype=_DTYPE).detach()
    if got.shape != want.shape:
        raise AssertionError(
            f"{where}: the closed form has shape {tuple(got.shape)} but the reference has shape "
            f"{tuple(want.shape)}; return the derivative in the shape of the input"
        )
    if not torch.isfinite(got).all():
        raise AssertionError(f"{where}: the closed form returned NaN or Inf")
    diff = (got - want).abs()
    scale = want.abs().max().item() if want.numel() else 0.0
    worst = diff.max().item() if diff.numel() else 0.0
    rel = worst / scale if scale > 0 else worst
    ok = worst <= atol + rtol * scale
    if not ok:
        idx = np.unravel_index(int(torch.argmax(diff)), tuple(got.shape)) if got.ndim else ()
        idx = tuple(int(i) for i in idx)
        raise AssertionError(
            f"{where}: max |closed form - reference| = {worst:.3e} at index {idx} "
            f"(closed form {got[idx].item():.10g}, reference {want[idx].item():.10g}); "
            f"relative error {rel:.3e} exceeds tolerance rtol={rtol:g} (atol={atol:g}, "
            f"scale max|reference| = {scale:.3e})"
        )
    return rel, ok


def _fd_step(x: torch.Tensor, order: int) -> float:
    """Central-difference step: eps^(1/3) for first, eps^(1/4) for second derivatives, scaled."""
    eps = torch.finfo(_DTYPE).eps
    scale = max(1.0, x.abs().max().item())
    return scale * eps ** (1 / 3 if order == 1 else 1 / 4)


def _scalar(f, args) -> torch.Tensor:
    out = f(*args)
    out = torch.as_tensor(out)
    if out.numel() != 1:
        raise ValueError(
            f"f returned shape {tuple(out.shape)}; check_gradient and check_hessian need a scalar "
            "function (use check_jvp for array-valued functions)"
        )
    return out.reshape(())


# --------------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------------
def check_gradient(
    f: Callable[..., torch.Tensor],
    grad: Callable[..., torch.Tensor],
    *inputs,
    wrt: int = 0,
    points: int = 3,
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    fd_rtol: float = 1e-6,
    fd_directions: int | None = None,
    name: str = "",
) -> CheckResult:
    """Check ``grad(*xs)`` against the gradient of the scalar ``f(*xs)`` in ``xs[wrt]``.

    Args:
        f: scalar function of the inputs, written in torch.
        grad: closed-form gradient, same arguments as ``f``; returns an array of the shape of
            ``xs[wrt]`` (the gradient has the shape of its argument).
        *inputs: one spec per argument: a :class:`Domain` (e.g. ``spd(4)``), a shape tuple, or a
            fixed array held constant at every point.
        wrt: index of the argument to differentiate.
        points: number of seeded random points.
        seed: seed of the ``torch.Generator`` that draws points and directions.
        rtol, atol: tolerance against autograd (``torch.func.jacrev``).
        fd_rtol: tolerance against central differences. With ``fd_directions=None`` every entry is
            differenced (``2 * numel`` evaluations); otherwise that many random directions ``V`` are
            used and ``<G, V>`` is compared with ``(f(X + hV) - f(X - hV)) / 2h``.
        name: label for the verdict.

    Returns:
        CheckResult; it prints as a one-line verdict.

    Raises:
        AssertionError: where the closed form disagrees with a reference beyond tolerance.

    When the input's domain has ``tangent="symmetric"``, the reference gradient is projected onto
    the symmetric matrices (``sym(G)``) and differences are taken along symmetric directions: that
    checks the gradient *on* the symmetric manifold, which must itself be a symmetric matrix.
    """
    specs = [_as_spec(s) for s in inputs]
    if not 0 <= wrt < len(specs):
        raise ValueError(f"wrt={wrt} but only {len(specs)} inputs were given")
    if not isinstance(specs[wrt], Domain):
        raise ValueError(f"input {wrt} is fixed; the argument to differentiate needs a Domain")
    dom: Domain = specs[wrt]
    gen = torch.Generator().manual_seed(seed)
    comps: list[Comparison] = []
    for p in range(points):
        xs = _draw(specs, gen)

        def fx(x, xs=xs):
            return _scalar(f, [*xs[:wrt], x, *xs[wrt + 1 :]])

        got = torch.as_tensor(grad(*xs), dtype=_DTYPE)
        ref = dom.project(_jacrev(fx)(xs[wrt]))
        where = f"gradient{' of ' + name if name else ''}, point {p}, vs autograd"
        rel, ok = _compare(got, ref, rtol=rtol, atol=atol, where=where)
        comps.append(Comparison(p, "autograd", rel, rtol, ok))

        x0 = xs[wrt]
        h = _fd_step(x0, 1)
        with torch.no_grad():
            if fd_directions is None and dom.tangent == "general":
                fd = torch.zeros_like(x0).reshape(-1)
                for i in range(x0.numel()):
                    e = torch.zeros_like(fd)
                    e[i] = h
                    e = e.reshape(x0.shape)
                    fd[i] = (fx(x0 + e) - fx(x0 - e)) / (2 * h)
                fd = fd.reshape(x0.shape)
                got_fd = got
            else:
                k = fd_directions or 2 * x0.numel()
                vs = [dom.direction(gen) for _ in range(k)]
                fd = torch.stack([(fx(x0 + h * v) - fx(x0 - h * v)) / (2 * h) for v in vs])
                got_fd = torch.stack([(got * v).sum() for v in vs])
        where = f"gradient{' of ' + name if name else ''}, point {p}, vs central differences"
        rel, ok = _compare(got_fd, fd, rtol=fd_rtol, atol=atol, where=where)
        comps.append(Comparison(p, "central differences", rel, fd_rtol, ok))
    return CheckResult("gradient", name, tuple(comps))


def check_jvp(
    f: Callable[..., torch.Tensor],
    jvp: Callable[..., torch.Tensor],
    inputs: Sequence,
    tangents: Sequence | None = None,
    *,
    points: int = 3,
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    fd_rtol: float = 1e-6,
    name: str = "",
) -> CheckResult:
    """Check a closed-form Jacobian-vector product (directional derivative) of ``f``.

    Args:
        f: function of ``k`` inputs, array-valued or scalar, written in torch.
        jvp: closed form called as ``jvp(*xs, *ts)`` with the ``k`` points then the ``k`` tangents;
            returns ``d f = lim (f(xs + h ts) - f(xs)) / h`` in the shape of ``f``'s output.
        inputs: one spec per argument (see :func:`check_gradient`).
        tangents: one spec per argument for the directions: a :class:`Domain` or shape, ``None``
            for a random direction in the input's tangent space, or ``0`` to hold that input fixed.
            Default: ``None`` for every argument.
        points, seed, rtol, atol, fd_rtol, name: as in :func:`check_gradient`.

    Returns:
        CheckResult.

    Raises:
        AssertionError: where the closed form disagrees with ``torch.func.jvp`` or with central
            differences beyond tolerance.
    """
    specs = [_as_spec(s) for s in inputs]
    tspecs = list(tangents) if tangents is not None else [None] * len(specs)
    if len(tspecs) != len(specs):
        raise ValueError(f"got {len(specs)} inputs but {len(tspecs)} tangents; give one per input")
    gen = torch.Generator().manual_seed(seed)
    comps: list[Comparison] = []
    for p in range(points):
        xs = _draw(specs, gen)
        ts = []
        for s, t, x in zip(specs, tspecs, xs, strict=True):
            if isinstance(t, int | float) and t == 0:
                ts.append(torch.zeros_like(x))
            elif t is None:
                ts.append(_direction(s, x, gen))
            else:
                ts.append(_as_spec(t).sample(gen))
        got = torch.as_tensor(jvp(*xs, *ts), dtype=_DTYPE)
        _, ref = _jvp(lambda *a: torch.as_tensor(f(*a)), tuple(xs), tuple(ts))
        where = f"JVP{' of ' + name if name else ''}, point {p}, vs autograd"
        rel, ok = _compare(got, ref, rtol=rtol, atol=atol, where=where)
        comps.append(Comparison(p, "autograd", rel, rtol, ok))
        h = max(_fd_step(x, 1) for x in xs)
        with torch.no_grad():
            plus = torch.as_tensor(f(*[x + h * t for x, t in zip(xs, ts, strict=True)]))
            minus = torch.as_tensor(f(*[x - h * t for x, t in zip(xs, ts, strict=True)]))
            fd = (plus - minus) / (2 * h)
        where = f"JVP{' of ' + name if name else ''}, point {p}, vs central differences"
        rel, ok = _compare(got, fd, rtol=fd_rtol, atol=atol, where=where)
        comps.append(Comparison(p, "central differences", rel, fd_rtol, ok))
    return CheckResult("JVP", name, tuple(comps))


def check_hessian(
    f: Callable[..., torch.Tensor],
    hess: Callable[..., torch.Tensor],
    x,
    *fixed,
    form: str = "matrix",
    points: int = 3,
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    fd_rtol: float = 1e-5,
    probes: int = 6,
    name: str = "",
) -> CheckResult:
    """Check a closed-form second derivative of the scalar ``f(x, *fixed)``.

    Args:
        f: scalar function; ``x`` is a vector or a matrix.
        hess: the closed form, in one of three forms:

            * ``"matrix"``: ``hess(x, *fixed)`` returns the ``(N, N)`` Hessian with respect to
              ``vec(x)`` (column-major, the book's convention), ``N = x.numel()``;
            * ``"hvp"``: ``hess(x, *fixed, v)`` returns the Hessian applied to ``v`` (shape of x);
            * ``"bilinear"``: ``hess(x, *fixed, u, v)`` returns the scalar ``d²f[u, v]``.
        x: spec of the differentiated input (a :class:`Domain` or shape).
        *fixed: specs of further arguments (Domains are re-drawn at every point, arrays fixed).
        form: see ``hess``.
        points, seed, rtol, atol, name: as in :func:`check_gradient`.
        fd_rtol: tolerance of the second-order central difference
            ``(f(x+hu+hv) - f(x+hu-hv) - f(x-hu+hv) + f(x-hu-hv)) / 4h²``, compared with
            ``d²f[u, v]`` on ``probes`` random direction pairs.

    Returns:
        CheckResult.

    Raises:
        AssertionError: where the closed form disagrees with ``torch.func.hessian`` or with the
            finite differences beyond tolerance.
    """
    if form not in ("matrix", "hvp", "bilinear"):
        raise ValueError(f"form={form!r}; use 'matrix', 'hvp' or 'bilinear'")
    dom = _as_spec(x)
    if not isinstance(dom, Domain):
        raise ValueError("x must be a Domain or a shape: the Hessian is taken at random points")
    specs = [dom, *(_as_spec(s) for s in fixed)]
    gen = torch.Generator().manual_seed(seed)
    comps: list[Comparison] = []
    for p in range(points):
        xs = _draw(specs, gen)
        x0, rest = xs[0], xs[1:]

        def fx(z, rest=rest):
            return _scalar(f, [z, *rest])

        n = x0.numel()
        ref_t = _hessian(fx)(x0).reshape(x0.shape + x0.shape)
        # Column-major vec: flatten a matrix by columns, i.e. permute to (cols, rows) first.
        perm = tuple(reversed(range(x0.ndim)))
        ref = ref_t.permute(*perm, *(x0.ndim + i for i in perm)).reshape(n, n)

        def bilinear(u, v, rest=rest, x0=x0, ref=ref):
            if form == "bilinear":
                return torch.as_tensor(hess(x0, *rest, u, v), dtype=_DTYPE).reshape(())
            if form == "hvp":
                return (torch.as_tensor(hess(x0, *rest, v), dtype=_DTYPE) * u).sum()
            hm = torch.as_tensor(hess(x0, *rest), dtype=_DTYPE)
            return _vec(u) @ hm @ _vec(v)

        where = f"Hessian{' of ' + name if name else ''}, point {p}, vs autograd"
        if form == "matrix":
            got = torch.as_tensor(hess(x0, *rest), dtype=_DTYPE)
            if got.shape != (n, n):
                raise AssertionError(
                    f"{where}: the closed form has shape {tuple(got.shape)}, expected ({n}, {n}) "
                    "(the Hessian with respect to vec(x), column-major)"
                )
            rel, ok = _compare(got, ref, rtol=rtol, atol=atol, where=where)
        elif form == "hvp":
            basis = torch.eye(n, dtype=_DTYPE)
            cols = [_vec(torch.as_tensor(hess(x0, *rest, _unvec(e, x0.shape)))) for e in basis]
            rel, ok = _compare(torch.stack(cols, 1), ref, rtol=rtol, atol=atol, where=where)
        else:
            uv = [(dom.direction(gen), dom.direction(gen)) for _ in range(probes)]
            got = torch.stack([bilinear(u, v) for u, v in uv])
            want = torch.stack([_vec(u) @ ref @ _vec(v) for u, v in uv])
            rel, ok = _compare(got, want, rtol=rtol, atol=atol, where=where)
        comps.append(Comparison(p, "autograd", rel, rtol, ok))

        h = _fd_step(x0, 2)
        uv = [(dom.direction(gen), dom.direction(gen)) for _ in range(probes)]
        with torch.no_grad():
            fd = torch.stack(
                [
                    (
                        fx(x0 + h * u + h * v)
                        - fx(x0 + h * u - h * v)
                        - fx(x0 - h * u + h * v)
                        + fx(x0 - h * u - h * v)
                    )
                    / (4 * h * h)
                    for u, v in uv
                ]
            )
            got = torch.stack([bilinear(u, v) for u, v in uv])
        where = f"Hessian{' of ' + name if name else ''}, point {p}, vs central differences"
        rel, ok = _compare(got, fd, rtol=fd_rtol, atol=atol, where=where)
        comps.append(Comparison(p, "central differences", rel, fd_rtol, ok))
    return CheckResult("Hessian", name, tuple(comps))


def _vec(a: torch.Tensor) -> torch.Tensor:
    return a.T.reshape(-1) if a.ndim == 2 else a.reshape(-1)


def _unvec(v: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    return v.reshape(tuple(reversed(shape))).T if len(shape) == 2 else v.reshape(shape)


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
        return f"✓ {self.name}: {self.label} {_fmt_err(self.error)} (tol {_fmt_tol(self.tol)})"

    __repr__ = __str__


def _as_array(a) -> np.ndarray:
    """float64, or complex128 for complex input (eigenvalues of non-symmetric matrices)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    return a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)


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
        ValueError: on different shapes or an unknown ``norm``.
    """
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
    """
    error = float(error)
    if not math.isfinite(error) or error > tol:
        raise AssertionError(f"{name}: {label} {error:.3e} exceeds tol {tol:g}")
    return Verdict(name, error, tol, label)
