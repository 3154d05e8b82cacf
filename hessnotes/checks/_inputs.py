"""The checkers' inputs: parsing Domains, shapes and arrays, dtype, tolerances, and blame.

Everything a check refuses before it runs (the dtype policy, devices, empty inputs, the memory
limit, NaN or Inf, ``points < 1``), the default tolerances from the machine epsilon, and the calls
of ``f`` and of the closed form that blame the right party (``f`` for NaN or a detached result,
the closed form for its own shape slip). Private to :mod:`hessnotes.checks`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from hessnotes._linalg import as_tensor, check_finite, check_memory, check_positive_int, check_tol
from hessnotes.checks import _reader
from hessnotes.checks.domains import _DTYPE, Domain

_FULL = 100  # up to this many entries: difference every entry, form the whole Hessian


_DIRECTIONS = 20  # above it: this many random difference directions (and Hessian probes >= 6)


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
        return specs, dtype, diff, (1 if at_given else 3), at_given
    n = check_positive_int(points, "points", _NOTHING.format("points"))
    if at_given and n != 1:
        which = " and ".join(names[i] for i in diff)
        raise ValueError(
            f"points={points}, but {which} is a concrete point, so the check runs once, "
            "at that point; drop points= or pass a Domain such as general(3, 2) instead"
        )
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


#: What a count of zero would mean, said when one is refused (check_positive_int's ``what``).
_NOTHING = " (a check with no {} cannot fail)"


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
                e,
                _formula_name(fn, "the closed form"),
                args,
                words.call_names(fn, len(args)),
                numpy=words.numpy,
                converted=words.converted,
            )
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


def _tols(dtype, rtol, atol, fd_rtol, hessian=False):
    d = default_tolerances(dtype)
    rtol = d["rtol"] if rtol is None else rtol
    atol = d["atol"] if atol is None else atol
    fd_default = d["fd_rtol_hessian"] if hessian else d["fd_rtol"]
    fd_rtol = fd_default if fd_rtol is None else fd_rtol
    _check_tol(rtol=rtol, atol=atol, fd_rtol=fd_rtol)
    return rtol, atol, fd_rtol


def _check_wrt(wrt, inputs) -> None:
    if isinstance(wrt, bool) or not isinstance(wrt, int) or not 0 <= wrt < len(inputs):
        raise ValueError(
            f"wrt={wrt!r}, but there are {len(inputs)} inputs; wrt is a Python index, "
            f"0 for the first input to {len(inputs) - 1} for the last"
        )


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


# --------------------------------------------------------------------------------------------------
# The reader's exercise cell
# --------------------------------------------------------------------------------------------------
def _formula_name(formula, default: str = "the formula") -> str:
    n = getattr(formula, "__name__", "")
    return n if n and n.isidentifier() else default
