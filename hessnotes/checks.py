"""Verify closed-form derivatives against autograd and central finite differences.

The three checkers share one calling convention::

    check_gradient(f, grad, *inputs, wrt=0, ...)
    check_jvp(f, jvp, *inputs, tangents=None, ...)
    check_hessian(f, hess, *inputs, wrt=0, form="matrix" | "hvp" | "bilinear", ...)

Each input is a :class:`Domain` (``general(3, 2)``, ``spd(4)``, ...: redrawn at every seeded
point), a shape tuple (a general domain), or a concrete tensor or numpy array (held as given). A
concrete point for the argument that is differentiated means *check at this point*: the check
runs once, there, and its verdict says so. ``f`` and the closed form are called with torch
tensors (a numpy input is converted); the closed form may return a tensor or an array.

Each check compares the closed form with two independent references:

* **autograd** (reverse mode for gradients and Hessians, forward mode for JVPs): exact up to
  roundoff, so the tolerance is tight;
* **central finite differences**: independent of torch's derivative rules, so a wrong autograd
  rule cannot hide a wrong formula; their truncation and roundoff errors need a looser tolerance.

A comparison passes when ``max|a - b| <= atol + rtol * max|b|`` (normwise: tiny entries cannot
upset it); the reported *relative error* is ``max|a - b| / max|b|``.

**dtype follows the point.** The check runs in the dtype of the concrete differentiated input
(else of the concrete inputs, else float64); domains are sampled in float64 and cast, and other
concrete inputs are cast to it. With ``ε = torch.finfo(dtype).eps``, the machine epsilon
(2⁻⁵² ≈ 2.2e-16 for float64, 2⁻²³ ≈ 1.2e-7 for float32; the unit roundoff is ε/2), the default
tolerances are (see :func:`default_tolerances`)::

    rtol = ε^(1/2)    against autograd            1.5e-08 (float64)   3.5e-04 (float32)
    atol = ε^(3/4)    absolute floor               1.8e-12             6.4e-06
    fd_rtol = ε^(1/3) first-order differences      6.1e-06             4.9e-03
    fd_rtol = ε^(1/4) second-order differences     1.2e-04             1.9e-02

A central difference is accurate to about ε^(2/3) and a second-order one to about ε^(1/2), so
each tolerance leaves a margin of ε^(-1/3) or ε^(-1/4) for constants, yet any slip that changes
the answer by more than a few digits fails.
The closed form and autograd run in the point's dtype. The central differences of a float32 check
are taken in float64 when ``f`` runs in float64 (float32 differences are good to only about
ε^(2/3) ≈ 2e-5), and in float32 otherwise; the roundoff ``ε|f|/h`` of the evaluations is added to
their absolute tolerance, and a difference that misses is retaken with Richardson extrapolation
(truncation O(h⁴)) before the check fails.

**Fast at reader sizes.** Autograd gives the whole gradient in one reverse pass. Differences are
taken along every entry for inputs of at most 100 entries, and otherwise along 20 seeded random
directions (each entry moved by about ``h``); Hessians are formed in full up to 100 entries and
probed with Hessian-vector products above.

**Refused**, each with a message naming the argument (by the parameter name of the reader's
function, e.g. ``W``, else ``the second input``; never a number counted from zero) and the fix:
``points < 1``, an empty differentiated input, a closed form returning ``None`` (``TypeError``),
inputs that are not a Domain, shape or array; the library's dtype policy
(:func:`hessnotes._linalg.check_float_dtype`: bool, integer, float16, bfloat16 and complex points
are a ``TypeError``, never cast silently; float16 differences could not see a 2 % error); NaN or
Inf in a point or a tangent (``ValueError`` naming the first bad entry); inputs on several devices;
and a check whose arrays would exceed :data:`hessnotes._linalg.MAX_DENSE_BYTES`, before anything is
allocated. **Blamed correctly**: ``f`` returning NaN/Inf at a finite point, a non-tensor, a
detached result or the wrong shape raises ``ValueError`` or ``TypeError`` naming ``f``. A kink
of ``f`` at the point (one-sided differences that disagree alike at steps h/2, h and 2h:
``|x|`` at 0, a double eigenvalue) fails the check against central differences with the
diagnosis "f is not differentiable here" (:func:`hessnotes.fd.one_sided_kink`): there is no
derivative to check, whatever the closed form. Otherwise only a disagreement of the closed form
is an ``AssertionError``; a shape error raised inside the closed form (torch's "mat1 and mat2
shapes cannot be multiplied") is one too, reported with the reader's own line and the shapes in
numpy words.

**Diagnosis.** When a closed form fails, the usual slips are tested against the reference and
each is reported with its own computed error: the transpose, a wrong sign, a factor (2, ½ or
fitted), the symmetric part only, a non-symmetric answer where a symmetric one is meant, the
entrywise derivative of a symmetric matrix, a constant captured by the closed form or a fixed
input used transposed (tested first), a formula that holds only for symmetric inputs, a shape
that is the transpose of the input's and, for Hessians, the row-major ``vec`` and a bilinear form
``B(H, K)`` that is not symmetric in (H, K). A scalar closed form is diagnosed across at least
three points: a factor or a constant term only if it is the same at every point (one number at
one point fits any factor, so no factor is claimed there).

With ``raises=False`` a failed check returns its :class:`CheckResult` (printing ``✗`` with the
diagnosis) instead of raising; :func:`attempt` wraps that for a reader's exercise cell.
"""

from __future__ import annotations

import functools
import html
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import grad as _func_grad
from torch.func import hessian as _hessian
from torch.func import jvp as _jvp

from hessnotes import _reader
from hessnotes._linalg import as_tensor, check_finite, check_memory, check_tol
from hessnotes.fd import one_sided_kink

__all__ = [
    "CheckResult",
    "Comparison",
    "Domain",
    "Finding",
    "Raises",
    "Verdict",
    "attempt",
    "check_close",
    "check_error",
    "check_gradient",
    "check_hessian",
    "check_jvp",
    "check_raises",
    "default_tolerances",
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
_FULL = 100  # up to this many entries: difference every entry, form the whole Hessian
_DIRECTIONS = 20  # above it: this many random difference directions (and Hessian probes >= 6)
_WIDTH = 88  # printed lines stay within this many characters


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


def default_tolerances(dtype: torch.dtype = torch.float64) -> dict[str, float]:
    """The default tolerances of the checks in ``dtype``, from its machine epsilon ``ε``.

    ``ε = torch.finfo(dtype).eps`` is the machine epsilon (the gap between 1 and the next float:
    2⁻⁵² for float64, 2⁻²³ for float32; the unit roundoff is ε/2).

    Returns:
        ``{"rtol": ε^(1/2), "atol": ε^(3/4), "fd_rtol": ε^(1/3), "fd_rtol_hessian": ε^(1/4)}``:
        against autograd, the absolute floor, against first-order central differences (accurate
        to about ε^(2/3)), and against second-order ones (accurate to about ε^(1/2)).

    Raises:
        ValueError: if ``dtype`` is not a real floating dtype.
    """
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype={dtype!r}; give a real floating dtype such as torch.float32")
    eps = float(torch.finfo(dtype).eps)
    return {
        "rtol": eps ** (1 / 2),
        "atol": eps ** (3 / 4),
        "fd_rtol": eps ** (1 / 3),
        "fd_rtol_hessian": eps ** (1 / 4),
    }


# --------------------------------------------------------------------------------------------------
# Inputs: Domains, shapes and concrete arrays
# --------------------------------------------------------------------------------------------------
class _WrongShape(Exception):
    """A closed form of the wrong shape, found deep inside a check: reported as a failure.

    ``lines`` is the report, one sentence or code line each (wrapped when printed).
    """

    def __init__(self, text: str, lines: Sequence[str] | None = None):
        super().__init__(text)
        self.lines = list(lines) if lines is not None else [text]


class _NotAttempted(TypeError):
    """The closed form returned None (or raised NotImplementedError): nothing to check."""


def _spec(s, name: str):
    """A Domain, or a concrete float32/float64 tensor (not yet copied), for one input or tangent.

    Concrete inputs follow the library's dtype policy (:func:`hessnotes._linalg.as_tensor`).
    """
    if isinstance(s, Domain):
        return s
    if isinstance(s, tuple) and all(isinstance(k, int) and not isinstance(k, bool) for k in s):
        return Domain(tuple(s))
    if isinstance(s, torch.Tensor | np.ndarray):
        return as_tensor(s, name)[0].detach()
    if isinstance(s, np.number | float) and not isinstance(s, bool | np.bool_):
        return as_tensor(np.asarray(s), name)[0]
    if isinstance(s, list | tuple) and any(isinstance(e, Domain | list | tuple) for e in s):
        raise TypeError(
            f"{name} is a {type(s).__name__} of specs; the checkers take the inputs unpacked: "
            "check_jvp(f, jvp, general(3), spd(3)), not check_jvp(f, jvp, [general(3), spd(3)])"
        )
    if isinstance(s, int) and not isinstance(s, bool):
        raise TypeError(
            f"{name} is the int {s}: give a shape as a tuple, ({s},), or a value as a "
            f"tensor, torch.tensor({float(s)}, dtype=torch.float64)"
        )
    raise TypeError(
        f"{name} is {type(s).__name__}, not a Domain, a shape tuple or an array; "
        "use e.g. spd(4), general(3, 2), (3, 2), a torch tensor or a numpy array"
    )


def _one_device(specs, names) -> None:
    """Raise ValueError, naming two inputs and the move, if the inputs live on several devices."""
    on = [(names[i], s.device) for i, s in enumerate(specs) if isinstance(s, torch.Tensor)]
    for n, d in on[1:]:
        if d != on[0][1]:
            raise ValueError(
                f"{on[0][0]} is on device {on[0][1]} but {n} is on device {d}; give every input "
                f"on one device, e.g. {n}.to({str(on[0][1])!r})"
            )


def _dtype_of(specs: list, diff: Sequence[int], names) -> torch.dtype:
    """The dtype of the check: the concrete differentiated inputs', else all concrete ones'."""
    floats = [(i, s.dtype) for i, s in enumerate(specs) if isinstance(s, torch.Tensor)]
    lead = [(i, d) for i, d in floats if i in diff]
    pick = lead or floats
    if not pick:
        return _DTYPE
    out = pick[0][1]
    for _, d in pick[1:]:
        out = torch.promote_types(out, d)
    if len({d for _, d in pick}) > 1 and lead:
        said = ", ".join(f"{names[i]} is {str(d).removeprefix('torch.')}" for i, d in lead)
        low = next(names[i] for i, d in lead if d != out)
        raise ValueError(
            f"the differentiated inputs differ in dtype ({said}); give them one dtype, "
            f"e.g. {low}.to({out})"
        )
    return out


def _check_size(checker: str, specs, names, diff, copies: Callable[[int], int]) -> None:
    """Refuse, before drawing anything, a check whose arrays would exceed MAX_DENSE_BYTES.

    A differentiated input of ``m`` entries costs ``copies(m)`` float64 arrays of its size (the
    point, the derivatives, the difference directions or probes); any other input two.
    """
    need, worst = 0, None
    for i, s in enumerate(specs):
        m = math.prod(tuple(s.shape))
        c = copies(m) if i in diff else 2
        need += 8 * m * c
        if worst is None or 8 * m * c > worst[0]:
            worst = (8 * m * c, names[i], tuple(s.shape), c)
    if worst is None:
        return
    _, name, shape, c = worst
    check_memory(
        need,
        f"{checker} with {name} of shape {shape} (about {c} float64 arrays of that size: the "
        "point, its derivatives and the difference directions)",
        f"Check the formula on a smaller {name} (e.g. 100 × 100): a slip in a formula shows at "
        "any size",
    )


def _prepare(
    inputs: Sequence,
    names: Sequence[str],
    diff_of: Callable[[list], list[int]],
    points,
    *,
    checker: str,
    copies: Callable[[int], int],
):
    """Parse inputs; return (specs cast to dtype, dtype, diff indices, n_points, at_given).

    Refused in this order, before anything is drawn or copied: the dtype policy, several
    devices, mixed dtypes of the differentiated inputs, an empty differentiated input, the
    memory limit, NaN or Inf in a concrete input, and a bad ``points``.
    """
    specs = [_spec(s, names[i]) for i, s in enumerate(inputs)]
    if not specs:
        raise ValueError("no inputs given; pass one spec per argument of f, e.g. general(3, 2)")
    diff = diff_of(specs)
    _one_device(specs, names)
    dtype = _dtype_of(specs, diff, names)
    for i in diff:
        shape = tuple(specs[i].shape)
        if math.prod(shape) == 0:
            raise ValueError(
                f"{names[i]} has shape {shape}, no entries: a check over an empty input cannot "
                "fail; give it at least one entry"
            )
    _check_size(checker, specs, names, diff, copies)
    for i, s in enumerate(specs):
        if isinstance(s, torch.Tensor):
            check_finite(s, names[i])
    specs = [s.to(dtype=dtype, copy=True) if isinstance(s, torch.Tensor) else s for s in specs]
    at_given = all(isinstance(specs[i], torch.Tensor) for i in diff)
    if points is None:
        n = 1 if at_given else 3
    elif isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ValueError(
            f"points={points!r}: a check at no points cannot fail; give points >= 1 (default 3)"
        )
    elif at_given and points != 1:
        which = " and ".join(names[i] for i in diff)
        raise ValueError(
            f"points={points}, but {which} is a concrete point, so the check runs once, "
            "at that point; drop points= or pass a Domain such as general(3, 2) instead"
        )
    else:
        n = points
    return specs, dtype, diff, n, at_given


def _draw(specs, gen, dtype, device) -> list[torch.Tensor]:
    return [
        s.sample(gen).to(dtype=dtype, device=device) if isinstance(s, Domain) else s for s in specs
    ]


def _device(specs) -> torch.device:
    for s in specs:
        if isinstance(s, torch.Tensor):
            return s.device
    return torch.device("cpu")


def _unit_direction(spec, x: torch.Tensor, gen) -> torch.Tensor:
    """A seeded direction of unit Frobenius norm in the input's tangent space."""
    if isinstance(spec, Domain) and tuple(spec.shape) == tuple(x.shape):
        return spec.direction(gen).to(dtype=x.dtype, device=x.device)
    t = torch.randn(tuple(x.shape), generator=gen, dtype=_DTYPE)
    return (t / torch.linalg.norm(t)).to(dtype=x.dtype, device=x.device)


def _check_tol(**tols) -> None:
    for k, v in tols.items():
        check_tol(v, k)


def _positive_int(name: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name}={v!r}: give an integer >= 1 (0 would check nothing)")


# --------------------------------------------------------------------------------------------------
# Evaluating f and the closed form, blaming the right party
# --------------------------------------------------------------------------------------------------
def _f_out(f, args, where: str) -> torch.Tensor:
    out = f(*args)
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"f returned {type(out).__name__} {where}, not a torch tensor, so autograd cannot "
            "differentiate it; write f with torch operations (no .item(), .numpy() or math.*)"
        )
    return out


def _f_finite(out: torch.Tensor, where: str) -> None:
    if not torch.isfinite(out).all():
        bad = "NaN" if torch.isnan(out).any() else "Inf"
        raise ValueError(
            f"f returned {bad} {where}; is the point inside f's domain (e.g. log det needs "
            "det > 0)? This is about f, not the closed form"
        )


def _f_scalar(out: torch.Tensor, checker: str) -> torch.Tensor:
    if out.numel() != 1:
        raise ValueError(
            f"f returned shape {tuple(out.shape)}; {checker} needs a scalar function "
            "(use check_jvp for array-valued functions)"
        )
    return out.reshape(())


def _not_detached(out: torch.Tensor, which: str, where: str) -> None:
    if not out.requires_grad:
        raise ValueError(
            f"f's result {where} is detached from {which}: autograd sees no dependence on it. "
            "Does f call .detach(), .item(), .numpy() or torch.tensor(...) on its input? "
            "Write f with torch operations on its arguments"
        )


def _fd_finite(values: torch.Tensor, where: str, h: float, step: str) -> torch.Tensor:
    """Differences are checked once, after they are all taken (no per-evaluation sync)."""
    if not torch.isfinite(values).all():
        raise ValueError(
            f"f returned NaN or Inf {where} at {step} (h = {h:.1e}): the point is within one "
            "difference step of the edge of f's domain; move it further inside"
        )
    return values


def _returned_tensor(out, message: str) -> torch.Tensor:
    """A function's array-like result as a detached tensor, else TypeError(message with {type})."""
    if isinstance(out, torch.Tensor):
        return out.detach()
    if isinstance(out, np.ndarray | np.number | float | int) and not isinstance(out, bool):
        return torch.as_tensor(np.asarray(out))
    raise TypeError(message.format(type=type(out).__name__))


def _closed(
    fn, args, *, arg: str, what: str, where: str, dtype, device, words: _reader.Words | None = None
) -> torch.Tensor:
    """Call the closed form; None (or NotImplementedError) means there is nothing to check.

    A shape error raised inside it becomes :class:`_WrongShape`, reported in the reader's terms.
    """
    try:
        out = fn(*args)
    except NotImplementedError as e:
        raise _NotAttempted(
            f"{arg} raised NotImplementedError {where}: it must return {what}"
        ) from e
    except (RuntimeError, ValueError, IndexError) as e:
        lines = None
        if words is not None:
            lines = _reader.shape_slip(
                e, _formula_name(fn, "the closed form"), args, words.call_names(fn, len(args)),
                numpy=words.numpy, converted=words.converted,
            )  # fmt: skip
        if lines is None:
            raise
        raise _WrongShape(" ".join(lines), lines) from e
    if out is None:
        raise _NotAttempted(
            f"{arg} returned None {where}: it must return {what} (a check of None cannot fail)"
        )
    t = _returned_tensor(
        out, f"{arg} returned {{type}} {where}, not an array or tensor; return {what}"
    )
    if t.is_complex():
        raise TypeError(f"{arg} returned a complex array {where}; return {what} (real)")
    return t.to(dtype=dtype, device=device)


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
            self.kind, self.name, tuple(self.comps), self.dtype, self.n_points, self.at_given,
            self.note,
        )  # fmt: skip

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
            self.kind, self.name, tuple(self.comps), self.dtype, self.n_points, self.at_given,
            self.note, msg, tuple(findings),
        )  # fmt: skip


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
                out, ctx, "transposed shape", got.T, want,
                f"{tuple(got.shape)} is the transpose of {ctx.shape_of}'s shape; the transpose "
                f"of the closed form matches {ctx.ref_name} (rel. error {{e}})",
                "transpose",
            )  # fmt: skip
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
            out, ctx, "transpose", c.T, want,
            f"the transpose of the closed form matches {ref} (rel. error {{e}}): a transpose "
            "is missing or extra",
            "transpose",
        )  # fmt: skip
    sign = _test(
        out, ctx, "sign", -c, want,
        f"−1 × the closed form matches {ref} (rel. error {{e}}): the sign is wrong", "sign",
    )  # fmt: skip
    k = float((c * want).sum()) / cc  # the least-squares factor: min_k |k C - R|
    if not sign.fits:
        _test(out, ctx, "factor", k * c, want, _factor_text(k, ref, ""), f"factor {k:.3g}")
    if asym:
        kt = float((c.T * want).sum()) / cc
        if abs(kt - 1) > 1e-3:
            nm = _named_factor(kt) or f"{kt:.4g}"
            _test(
                out, ctx, "transpose and factor", kt * c.T, want,
                f"{nm} × the transpose of the closed form matches {ref} (rel. error {{e}})", "",
            )  # fmt: skip
    _extra_slips(c, want, ctx, out)
    if square and _is_sym(want, rtol) and not _is_sym(c, rtol):
        _test(
            out, ctx, "not symmetric", (c + c.T) / 2, want,
            "the symmetric part (C + Cᵀ)/2 of the closed form C matches "
            f"{ref} (rel. error {{e}}), but C is not symmetric: {ctx.sym_hint}",
            "symmetric part",
        )  # fmt: skip
    if square and ctx.entrywise and _is_sym(want, rtol):
        dg = torch.diag(torch.diagonal(c))
        if float((dg - c).abs().max()) > 0:
            _test(
                out, ctx, "entrywise", (c + dg) / 2, want,
                f"(C + Diag(C))/2 matches {ref} (rel. error {{e}}): the closed form C is the "
                "entrywise derivative 2 sym(G) − Diag(G) of a symmetric matrix (a table's rule); "
                "the gradient on the symmetric matrices is sym(G) = (G + Gᵀ)/2",
                "entrywise",
            )  # fmt: skip
    if square and not _is_sym(want, rtol) and _is_sym(c, rtol):
        e, ok = _within(c, (want + want.T) / 2, rtol, ctx.atol)
        out.append(
            Finding(
                "symmetric part", e, ok,
                "the closed form is the symmetric part (R + Rᵀ)/2 of the right answer R "
                f"(rel. error {_fmt_err(e)}), but R is not symmetric here: the general "
                "formula is needed",
                "only the symmetric part",
            )
        )  # fmt: skip
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
                "note", math.nan, False,
                f"{seen}: any wrong value is some factor off (here {ref} is {k:.6g} × the "
                f"closed form), so that tells nothing; {ctx.more_points}",
            )
        )  # fmt: skip
        _extra_slips(c, want, ctx, out)
        return
    g, w = series
    n = g.numel()
    at = f" at all {n} points"
    sign = _test(
        out, ctx, "sign", -g, w,
        f"−1 × the closed form matches {ref}{at} (rel. error {{e}}): the sign is wrong", "sign",
    )  # fmt: skip
    gg = float((g * g).sum())
    if gg > 0 and not sign.fits:
        k = float((g * w).sum()) / gg
        _test(out, ctx, "factor", k * g, w, _factor_text(k, ref, at), f"factor {k:.3g}")
    d = float((w - g).mean())
    _test(
        out, ctx, "constant term", g + d, w,
        f"the closed form + c matches {ref}{at} for c = {d:.6g} (rel. error {{e}}): a constant "
        "term is off",
        "constant term",
    )  # fmt: skip
    _extra_slips(c, want, ctx, out)
    if not any(f.fits for f in out):
        ratios = ", ".join(
            f"{float(b) / float(a):.3g}" if float(a) else "inf" for a, b in zip(g, w, strict=True)
        )
        out.append(
            Finding(
                "note", math.nan, False,
                f"{ref} is {ratios} × the closed form at the {n} points, not one factor",
            )
        )  # fmt: skip


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
                    out, ctx, "transposed constant", cand, want,
                    f"with {name} replaced by {name}ᵀ inside {label}, it matches {ref} (rel. "
                    f"error {{e}}): {name} and {name}ᵀ are swapped in it",
                    f"{name}ᵀ for {name}",
                )  # fmt: skip
        if any(f.fits for f in out if f.slip == "transposed constant"):
            return
        for i in ctx.fixed:
            n = ctx.names[i]
            fn = functools.partial(_reader.with_transposed, ctx.closed_form, i)
            cand = _apply(ctx, fn, want)
            if cand is not None:
                _test(
                    out, ctx, "transposed input", cand, want,
                    f"with {n} replaced by {n}ᵀ in the closed form (f unchanged), it matches "
                    f"{ref} (rel. error {{e}}): {n} and {n}ᵀ are swapped in it",
                    f"{n}ᵀ for {n}",
                )  # fmt: skip
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
                "symmetric input", e, ok,
                f"the closed form is right when {n} is symmetric (rel. error {_fmt_err(e)} with "
                f"{n} replaced by its symmetric part), but {n} is not symmetric here: the "
                "formula assumes a symmetric matrix",
                f"symmetric {n}",
            )
        )  # fmt: skip


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


def _square_nonsym(xs, idx) -> list[int]:
    out = []
    for i in idx:
        x = xs[i]
        if x.ndim == 2 and x.shape[0] == x.shape[1] and x.shape[0] > 1:
            if float((x - x.T).abs().max()) > 0:
                out.append(i)
    return out


def _with(xs, i, z):
    return [*xs[:i], z, *xs[i + 1 :]]


def _fd_step(x: torch.Tensor, order: int) -> float:
    """Central-difference step: ε^(1/3) for first, ε^(1/4) for second derivatives, scaled."""
    eps = float(torch.finfo(x.dtype).eps)
    scale = max(1.0, float(x.abs().max()))
    return scale * eps ** (1 / 3 if order == 1 else 1 / 4)


def _tols(dtype, rtol, atol, fd_rtol, hessian=False):
    d = default_tolerances(dtype)
    rtol = d["rtol"] if rtol is None else rtol
    atol = d["atol"] if atol is None else atol
    fd_default = d["fd_rtol_hessian"] if hessian else d["fd_rtol"]
    fd_rtol = fd_default if fd_rtol is None else fd_rtol
    _check_tol(rtol=rtol, atol=atol, fd_rtol=fd_rtol)
    return rtol, atol, fd_rtol


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


def _wrap_lines(lines: Sequence[str]) -> list[str]:
    """Report lines, indented and wrapped; a quoted line of code (four spaces) is kept whole."""
    out = []
    for line in lines:
        if line.startswith("    "):  # the reader's code: one line, cut to the width
            out.append(f"  {line}" if len(line) + 2 <= _WIDTH else f"  {line[: _WIDTH - 3]}…")
        else:
            out += _wrap(line)
    return out


def _check_wrt(wrt, inputs) -> None:
    if isinstance(wrt, bool) or not isinstance(wrt, int) or not 0 <= wrt < len(inputs):
        raise ValueError(
            f"wrt={wrt!r}, but there are {len(inputs)} inputs; wrt is a Python index, "
            f"0 for the first input to {len(inputs) - 1} for the last"
        )


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


def _jvp_evals(f, xf: list, tf: list, where: str, h: float):
    """``(f(xs + h ts), f(xs - h ts))``."""
    with torch.no_grad():
        plus = _f_out(f, [x + h * t for x, t in zip(xf, tf, strict=True)], where)
        minus = _f_out(f, [x - h * t for x, t in zip(xf, tf, strict=True)], where)
    return plus, minus


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


def _more_points(at_given: bool, names, idx: Sequence[int], specs) -> str:
    """How to see a scalar at 3 points, in the reader's terms."""
    if not at_given:
        return "check at 3 or more points (points=3)"
    shape = tuple(specs[idx[0]].shape)
    doms = f"general({', '.join(map(str, shape))})"
    if len(shape) == 2 and shape[0] == shape[1]:
        doms += f" or spd({shape[0]})"
    which = " and ".join(names[i] for i in idx)
    return f"pass a Domain such as {doms} for {which}, in place of the point, to check at 3 points"


def _vec(a: torch.Tensor) -> torch.Tensor:
    return a.T.reshape(-1) if a.ndim == 2 else a.reshape(-1)


def _unvec(v: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    return v.reshape(tuple(reversed(shape))).T if len(shape) == 2 else v.reshape(shape)


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


# --------------------------------------------------------------------------------------------------
# The reader's exercise cell
# --------------------------------------------------------------------------------------------------
def _formula_name(formula, default: str = "the formula") -> str:
    n = getattr(formula, "__name__", "")
    return n if n and n.isidentifier() else default


def attempt(check: Callable[..., CheckResult], f, formula, *inputs, **kwargs) -> CheckResult | None:
    """Check a reader's formula in an exercise cell: a verdict, never an exception for a slip.

    Args:
        check: :func:`check_gradient`, :func:`check_jvp` or :func:`check_hessian`; or
            :func:`hessnotes.formulas.check_formula`, for a formula that is not a derivative.
        f: the function, as the checker takes it (for ``check_formula``, the reference).
        formula: the reader's closed form (called as the checker calls it).
        *inputs: the checker's inputs (Domains, shapes or concrete arrays).
        **kwargs: further keywords of the checker (``name`` defaults to the formula's name);
            ``raises`` is not allowed, since ``attempt`` always runs with ``raises=False``.

    Returns:
        None, after printing ``not attempted yet — fill in <formula> above and re-run this
        cell``, while the formula returns ``None`` (or raises ``NotImplementedError``);
        otherwise the :class:`CheckResult`, passed (``✓``) or failed (``✗`` with the diagnosis).

    Raises:
        TypeError, ValueError: on misuse (an unknown ``check``, ``raises=``, bad inputs, or an
            ``f`` that returns NaN at the point): those are not slips of the formula. A shape
            error raised inside the formula is a slip: it is returned as a failed check naming
            the reader's line and the shapes. Other errors raised inside the formula propagate
            with their traceback.
    """
    from hessnotes.formulas import check_formula  # here: hessnotes.formulas imports checks

    if check not in (check_gradient, check_jvp, check_hessian, check_formula):
        raise TypeError(
            f"check={getattr(check, '__name__', check)!r}; give check_gradient, check_jvp or "
            "check_hessian (or check_formula, for a formula that is not a derivative)"
        )
    if "raises" in kwargs:
        raise TypeError("attempt always runs the check with raises=False; drop raises=")
    if not callable(formula):
        raise TypeError(f"formula is {type(formula).__name__}; give the function you wrote")
    label = _formula_name(formula)
    if label != "the formula":
        kwargs.setdefault("name", label)
    try:
        return check(f, formula, *inputs, raises=False, **kwargs)
    except _NotAttempted:
        print(f"not attempted yet — fill in {label} above and re-run this cell")
        return None


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
        tol = _fmt_tol_for(self.error, self.tol)
        return f"✓ {self.name}: {self.label} {_fmt_err(self.error)} (tol {tol})"

    __repr__ = __str__


def _as_array(a) -> np.ndarray:
    """float64, or complex128 for complex input (eigenvalues of non-symmetric matrices)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    return a.astype(np.complex128 if np.iscomplexobj(a) else np.float64, copy=False)


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


class Raises:
    """The context manager of :func:`check_raises`; after the block, ``error`` is the exception."""

    def __init__(self, name: str, exception, contains: str | None) -> None:
        self.name, self.exception, self.contains = name, exception, contains
        self.error: BaseException | None = None

    def _expected(self) -> str:
        kinds = self.exception if isinstance(self.exception, tuple) else (self.exception,)
        return " or ".join(k.__name__ for k in kinds)

    def __enter__(self) -> Raises:
        return self

    def __exit__(self, kind, error, tb) -> bool:
        if kind is None:
            raise AssertionError(f"{self.name}: nothing was raised; expected {self._expected()}")
        if not issubclass(kind, Exception):
            return False  # KeyboardInterrupt, SystemExit: never swallowed
        first = _first_line(error)
        if not isinstance(error, self.exception):
            raise AssertionError(
                f"{self.name}: expected {self._expected()}, but {kind.__name__} was raised: {first}"
            ) from error
        if self.contains is not None and self.contains not in str(error):
            raise AssertionError(
                f"{self.name}: {kind.__name__} was raised, but its message does not contain "
                f"{self.contains!r}: {first}"
            ) from error
        self.error = error
        print(self)
        return True

    def __str__(self) -> str:
        if self.error is None:
            return f"{self.name}: not run yet"
        head = f"✓ {self.name}: {type(self.error).__name__}"
        first = _fragment(str(self.error), self.contains)
        if len(head) + 2 + len(first) <= _WIDTH:
            return f"{head}: {first}"
        lines = textwrap.wrap(
            first,
            _WIDTH,
            initial_indent="  ",
            subsequent_indent="  ",
            max_lines=3,
            placeholder=" …",
        )
        return "\n".join([head, *lines])

    __repr__ = __str__


def _first_line(error: BaseException) -> str:
    lines = [s.strip() for s in str(error).splitlines() if s.strip()]
    return lines[0].rstrip(":") if lines else "(no message)"


_CLAUSE_ENDS = (": ", "; ", ". ", " (", "\n")


def _fragment(message: str, contains: str | None) -> str:
    """The message's first line; with ``contains``, from the start of its line to the end of the
    clause holding it (the next ``: ``, ``; ``, ``. ``, `` (`` or line break), so that numbers
    further on, which may depend on rounding, are not printed."""
    if contains is None or contains not in message:
        return _first_line(Exception(message))
    i = message.index(contains)
    start = message.rfind("\n", 0, i) + 1
    ends = [k for k in (message.find(e, i + len(contains)) for e in _CLAUSE_ENDS) if k >= 0]
    return message[start : min(ends, default=len(message))].strip().rstrip(":")


def check_raises(name: str, exception, contains: str | None = None) -> Raises:
    """Assert that a block raises ``exception``; print a one-line verdict naming it.

    Use it as ``with check_raises("lanczos refuses a non-symmetric M", ValueError, "symmetric"):``
    followed by the call that must fail. The verdict reads ``✓ <name>: ValueError: <fragment>``,
    the fragment being the message's first line or, with ``contains``, the message up to the end
    of the clause holding ``contains`` (so that numbers further on, which may depend on rounding,
    stay out of a printed output); a fragment too long for one line goes below, wrapped to at most
    three lines.
    The exception itself is then ``.error`` of the returned object.

    Args:
        name: what is shown, for the verdict.
        exception: the exception class expected (or a tuple of classes); a subclass counts.
        contains: text the message must contain (plain text, not a regular expression).

    Returns:
        Raises, the context manager; ``.error`` holds the exception after the block.

    Raises:
        AssertionError: after the block, if it raised nothing, an exception of another class
            (chained, so its traceback is kept), or a message without ``contains``.
        TypeError: if ``exception`` is not an exception class or tuple of them, or ``contains``
            is not a string.
    """
    kinds = exception if isinstance(exception, tuple) else (exception,)
    if not kinds or not all(isinstance(k, type) and issubclass(k, Exception) for k in kinds):
        raise TypeError(
            f"exception={exception!r}; give an exception class such as ValueError "
            "(or a tuple of them)"
        )
    if contains is not None and not isinstance(contains, str):
        raise TypeError(f"contains is {type(contains).__name__}; give a piece of the message")
    return Raises(str(name), exception, contains)
