"""The library's private foundations: its conventions, its input policy, and thin bases.

Used by nearly every module of :mod:`hessnotes` (so by every chapter); four jobs live here:

* **Conventions, each defined once** (pinned by ``tests/test_linalg.py``): the column-major
  :func:`vec` and :func:`unvec`, :func:`sym`, the one slope fit :func:`loglog_slope`, and the
  validators every module calls: :func:`check_tol` for tolerances, :func:`check_positive_int` for
  counts, :func:`check_symmetric` for matrices that must be symmetric, :func:`check_memory` with
  the one memory limit :data:`MAX_DENSE_BYTES` (and :data:`DENSE_LIMIT`, the D it allows).
* **Input handling.** Numpy arrays and torch tensors come in; all work is done in torch (numpy input
  is wrapped with ``torch.from_numpy``, without a copy; tensors keep their autograd graph) and
  results go back as the caller's kind, dtype and device. Errors speak the caller's language:
  numpy dtypes and ``.astype`` for numpy input, torch dtypes and ``.to`` for torch input.
* **The dtype policy** of the whole library (:func:`check_float_dtype`): float32 and float64 are
  accepted; bool, integer, float16, bfloat16 and complex input is a ``TypeError`` that says how to
  cast, never a silent promotion; all the arrays of one call must share one dtype.
* **Thin orthonormal bases of a tall block matrix** ``A = [A_1 ... A_p]`` (D x k, D >> k), the
  one step whose cost grows with D. :func:`range_basis` returns ``A = Q R`` with ``Q`` orthonormal
  and ``R`` small, choosing among three algorithms from the Gram matrix ``A^T A`` (one pass over
  the data, which every tier needs anyway):

  1. *Gram (Cholesky-QR, one pass).* If the column-equilibrated Gram matrix is well conditioned
     (kappa(G) <= 1e2 in float64, 10 in float32), ``R = chol(G)^T`` and ``Q = A R^{-1}`` is never
     formed: callers multiply ``A`` by a small coefficient matrix once, at the end. The loss of
     orthogonality is about ``eps * kappa(G)``.
  2. *CholeskyQR2* (Yamamoto et al., ETNA 44, 2015). If kappa(G) <= 1e10 (float64; 1e3 in float32)
     one more pass, ``Q1 = A R1^{-1}``, ``R2 = chol(Q1^T Q1)``, makes ``Q`` orthonormal to working
     precision.
  3. *Householder QR* (LAPACK ``geqrf``/``orgqr``, in place) for anything worse, including
     rank-deficient ``A``. Then ``Q`` may contain directions outside range(A); they carry zero
     coefficients. Its one (D, k) work array, the size of ``A``, ends up holding ``Q``.

The small matrices (k x k) are handled in float64 on the CPU whatever the input, which costs nothing
and keeps every decision (ranks, cut-offs, eigenvalues) in one precision.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import torch

__all__ = [
    "DENSE_LIMIT",
    "MAX_DENSE_BYTES",
    "Basis",
    "Kind",
    "as_numpy64",
    "as_tensor",
    "as_torch",
    "check_finite",
    "check_float_dtype",
    "check_matrix",
    "check_memory",
    "check_pair",
    "check_positive_int",
    "check_symmetric",
    "check_tol",
    "dtype_error",
    "eps_of",
    "gram",
    "gram_copy",
    "loglog_slope",
    "num",
    "range_basis",
    "small",
    "sym",
    "to_caller",
    "tracked",
    "unvec",
    "vec",
    "vec_matrix",
]

_FLOAT_DTYPES = (torch.float32, torch.float64)
#: Tier thresholds on kappa of the column-equilibrated Gram matrix: (one-pass, CholeskyQR2).
_KAPPA = {torch.float64: (1e2, 1e10), torch.float32: (1e1, 1e3)}
#: Row block for the final product A @ T: keeps the read-modify-write of the output in cache.
_CHUNK = 65536


@dataclass(frozen=True)
class Kind:
    """Which kind of array the caller gave: numpy or torch, with its dtype and device."""

    numpy: bool
    dtype: torch.dtype
    device: torch.device

    def out(self, t: torch.Tensor) -> Any:
        """Return ``t`` as the caller's kind (numpy shares memory with ``t`` on the CPU)."""
        t = t.to(dtype=self.dtype, device=self.device)
        return t.detach().cpu().numpy() if self.numpy else t

    def tensor(self, a: Any) -> torch.Tensor:
        """A small float64 CPU matrix moved to the working dtype and device."""
        return torch.as_tensor(a).to(dtype=self.dtype, device=self.device)

    @property
    def dtype_name(self) -> str:
        """The dtype in the caller's words: ``float64`` for numpy, ``torch.float64`` for torch."""
        return str(self.dtype).removeprefix("torch.") if self.numpy else str(self.dtype)

    def describe(self) -> str:
        """E.g. ``a numpy float64 array`` or ``a torch.float32 tensor on cuda:0``."""
        if self.numpy:
            return f"a numpy {self.dtype_name} array"
        return f"a {self.dtype_name} tensor on {self.device}"

    def cast_hint(self, name: str, dtype: torch.dtype) -> str:
        """How to cast ``name`` to ``dtype``, in the caller's words."""
        d = str(dtype).removeprefix("torch.")
        return f"{name}.astype(np.{d})" if self.numpy else f"{name}.to(torch.{d})"


def dtype_error(name: str, dtype: Any, numpy: bool) -> TypeError:
    """The one message of the dtype policy, in numpy or torch words."""
    fix = f"{name}.astype(np.float64)" if numpy else f"{name}.to(torch.float64)"
    return TypeError(
        f"{name} has dtype {dtype}; hessnotes computes in float32 or float64 only (bool, integer, "
        f"float16, bfloat16 and complex are refused, not cast silently). Cast it first, e.g. {fix}."
    )


def check_float_dtype(a: Any, name: str) -> None:
    """Raise the policy's TypeError unless ``a`` (numpy array or torch tensor) is float32/64."""
    if isinstance(a, torch.Tensor):
        if a.dtype not in _FLOAT_DTYPES:
            raise dtype_error(name, a.dtype, numpy=False)
    elif not (a.dtype.kind == "f" and a.dtype.itemsize in (4, 8)):
        raise dtype_error(name, a.dtype, numpy=True)


def check_tol(value: Any, name: str, *, positive: bool = False) -> float:
    """A tolerance as a float: a real number, finite and >= 0 (> 0 if ``positive``).

    The one tolerance validator of the library: ``nan``, ``inf`` and ``-1`` all raise, since a
    tolerance of NaN passes nothing silently and one of ``inf`` passes everything.

    Raises:
        TypeError: not a real number.
        ValueError: NaN, infinite or negative (or zero, if ``positive``).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
            value = float(value)
        else:
            raise TypeError(f"{name} must be a real number; got {type(value).__name__}.")
    v = float(value)
    if not (math.isfinite(v) and (v > 0 if positive else v >= 0)):
        raise ValueError(
            f"{name} must be finite and {'>' if positive else '>='} 0; got {name}={v!r}."
        )
    return v


def num(x: Any) -> float:
    """A scalar tensor (or number) as a float, detached first: decisions never touch the graph."""
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


def eps_of(dtype: torch.dtype) -> float:
    """Machine epsilon of a torch floating dtype, ``torch.finfo(dtype).eps``.

    The gap between 1 and the next larger float: 2⁻⁵² for float64, 2⁻²³ for float32. It is twice
    the unit roundoff ``u`` (2⁻⁵³ for float64), the bound on the relative error of one rounding.
    """
    return float(torch.finfo(dtype).eps)


def as_tensor(a: Any, name: str) -> tuple[torch.Tensor, Kind]:
    """Wrap a numpy array or torch tensor as a floating torch tensor, without copying.

    Raises:
        TypeError: if ``a`` is neither, or its dtype is not float32 or float64.
    """
    if isinstance(a, torch.Tensor):
        check_float_dtype(a, name)
        t, is_np = a, False  # the graph is kept: the estimators are differentiable
    elif isinstance(a, np.ndarray):
        check_float_dtype(a, name)
        if any(s < 0 for s in a.strides) or not a.dtype.isnative:
            a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("="))
        if a.flags.writeable:
            t = torch.from_numpy(a)
        else:  # torch warns about read-only memory; we never write to it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                t = torch.from_numpy(a)
        is_np = True
    else:
        raise TypeError(
            f"{name} must be a numpy array or a torch tensor, got {type(a).__name__}. "
            f"Wrap it with np.asarray({name}, dtype=np.float64)."
        )
    return t, Kind(is_np, t.dtype, t.device)


def as_torch(a: Any, name: str) -> tuple[torch.Tensor, bool]:
    """:func:`as_tensor`, returning whether the caller gave numpy (see :func:`to_caller`)."""
    t, kind = as_tensor(a, name)
    return t, kind.numpy


def to_caller(numpy: bool, *ts: torch.Tensor) -> Any:
    """One or several results as the caller's kind: numpy arrays if ``numpy``, else tensors."""
    res = tuple(t.detach().cpu().numpy() if numpy else t for t in ts)
    return res if len(res) > 1 else res[0]


def as_numpy64(a: Any, name: str) -> np.ndarray:
    """A 2-D float array or tensor as a float64 numpy array (dense references and comparisons).

    Raises:
        ValueError: if ``a`` is not 2-D or not of a floating dtype.
    """
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    if a.ndim != 2 or a.dtype.kind != "f":
        raise ValueError(f"{name} must be a 2-D float array (D, n); got {a.dtype} {a.shape}.")
    return a.astype(np.float64, copy=False)


#: Elements checked at once by :func:`check_finite`: ``torch.isfinite`` makes temporaries about
#: 1.4 times the size of its input, so a large input is scanned in row blocks of this size.
FINITE_BLOCK = 1 << 20


def check_finite(t: torch.Tensor, name: str) -> None:
    """Raise ValueError naming ``name`` if ``t`` holds NaN or Inf, with the first bad entry.

    The fast path is one sum: a sum is finite only if every entry is (NaN and Inf propagate), so
    the entries are scanned only when it is not (bad values, or finite ones overflowing). The scan
    goes through row blocks of about :data:`FINITE_BLOCK` elements, so it needs a few MB of
    temporaries whatever the size of ``t`` (``torch.isfinite`` of a 1e6 x 32 float64 factor at
    once needs 0.35 GB).
    """
    total = None
    if t.device.type == "cpu" and t.dtype in _FLOAT_DTYPES:
        try:  # a tensor inside a torch.func transform has no storage numpy could read
            array = t.detach().numpy()
        except RuntimeError:
            array = None
        if array is not None:
            with np.errstate(over="ignore", invalid="ignore"):  # inf - inf, overflow: see below
                total = np.sum(array)  # single-threaded: no thread pool for a check
    if total is None:
        total = num(t.sum())
    if math.isfinite(total):
        return
    t = t.detach()
    rows = max(1, FINITE_BLOCK // max(1, math.prod(t.shape[1:]))) if t.ndim else FINITE_BLOCK
    start = 0
    for block in torch.split(t, rows) if t.ndim else (t,):
        bad = ~torch.isfinite(block)
        if bool(bad.any()):
            idx = tuple(int(i) for i in torch.nonzero(bad)[0])
            if t.ndim:
                idx = (idx[0] + start, *idx[1:])
            raise ValueError(
                f"{name} (shape {tuple(t.shape)}) holds NaN or Inf, first at index {idx} "
                f"(value {num(t[idx])}). Remove or repair those entries."
            )
        start += block.shape[0] if t.ndim else 0
    # every entry is finite: only the sum overflowed


#: The one memory limit of the library: an array that hessnotes would allocate on the caller's
#: behalf (a dense D x D reference, a Krylov basis, a window of pairs, a Jacobian) larger than this
#: is refused before anything is allocated. 2 GiB: a D x D float64 matrix up to D = 16 384.
MAX_DENSE_BYTES = 2 * 1024**3


def _format_bytes(nbytes: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{int(nbytes)} bytes"


def check_memory(nbytes: float, what: str, fix: str, *, limit: float | None = None) -> None:
    """Refuse, before allocating, a request whose arrays would need more than the limit.

    Args:
        nbytes: bytes the request would allocate (compute it from shapes and the itemsize).
        what: the request in the caller's words, naming the argument, e.g.
            ``"lanczos(k=2000) on D = 10000000 (float64): the Krylov basis V, (D, k)"``.
        fix: what to do instead, e.g. ``"use fewer steps k"``.
        limit: bytes allowed; default :data:`MAX_DENSE_BYTES`.

    Raises:
        ValueError: ``"<what> would need 160 GB (limit 2.15 GB). <fix>."``
    """
    cap = MAX_DENSE_BYTES if limit is None else limit
    if nbytes > cap:
        raise ValueError(
            f"{what} would need {_format_bytes(nbytes)} of memory (limit "
            f"{_format_bytes(cap)}, hessnotes._linalg.MAX_DENSE_BYTES). {fix}."
        )


def check_matrix(t: torch.Tensor, name: str) -> None:
    """Raise ValueError unless ``t`` is 2-D with at least one row and one column."""
    if t.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D of shape (D, n), one vector per column; got shape "
            f"{tuple(t.shape)}. For a single vector x use x.reshape(-1, 1)."
        )
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(
            f"{name} has shape {tuple(t.shape)}; it needs D >= 1 rows and n >= 1 columns "
            "(at least one pair)."
        )


def check_pair(
    X: Any, Y: Any, names: tuple[str, str] = ("X", "Y"), *, finite: bool = True
) -> tuple[torch.Tensor, torch.Tensor, Kind]:
    """Validate two (D, n) matrices of the same kind, dtype, device and shape.

    Args:
        X, Y: numpy arrays or torch tensors.
        names: their names in error messages.
        finite: also scan for NaN and Inf (callers that compute the Gram matrix first skip this
            and check the Gram diagonal instead, which costs nothing).

    Raises:
        TypeError: unsupported dtype, or X and Y of different kinds or dtypes.
        ValueError: not 2-D, empty, different shapes or devices, NaN or Inf.

    Warns:
        UserWarning: n > 2 D, far more pairs than dimensions: most often pairs stored one per
            row (transposed); the message says so and how to fix it.
    """
    nx, ny = names
    Xt, kx = as_tensor(X, nx)
    Yt, ky = as_tensor(Y, ny)
    if kx.numpy != ky.numpy:
        raise TypeError(
            f"{nx} is a {'numpy array' if kx.numpy else 'torch tensor'} but {ny} is a "
            f"{'numpy array' if ky.numpy else 'torch tensor'}; pass both as the same kind."
        )
    if kx.dtype != ky.dtype:
        raise TypeError(
            f"{nx} has dtype {kx.dtype_name} but {ny} has dtype {ky.dtype_name}; cast one to match "
            f"the other, e.g. {ky.cast_hint(ny, kx.dtype)}."
        )
    if kx.device != ky.device:
        raise ValueError(
            f"{nx} is on {kx.device} but {ny} is on {ky.device}; move both to the same device."
        )
    check_matrix(Xt, nx)
    check_matrix(Yt, ny)
    if Xt.shape != Yt.shape:
        raise ValueError(
            f"{nx} has shape {tuple(Xt.shape)} but {ny} has shape {tuple(Yt.shape)}; both must be "
            f"(D, n) with column i of {ny} paired with column i of {nx}."
        )
    D, n = Xt.shape
    if n > 2 * D:  # a few more pairs than dimensions is a legitimate (small) problem
        warnings.warn(
            f"{nx} and {ny} have shape ({D}, {n}): more than twice as many pairs (columns, "
            f"n = {n}) as dimensions (rows, D = {D}). Pairs go in columns, (D, n); if each row of "
            f"your arrays is one pair, pass {nx}.T and {ny}.T. (With n > D pairs on purpose, at "
            "most D of them are independent; silence this with warnings.filterwarnings.)",
            UserWarning,
            stacklevel=3,
        )
    if finite:
        check_finite(Xt, nx)
        check_finite(Yt, ny)
    return Xt, Yt, kx


def small(t: torch.Tensor) -> torch.Tensor:
    """A small matrix as float64 on the CPU (differentiable: the autograd graph is kept)."""
    return t.to(device="cpu", dtype=torch.float64)


def tracked(*tensors: torch.Tensor) -> bool:
    """True when autograd records operations on any of ``tensors`` (grad mode on, requires_grad)."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


#: Bytes of one row block of the fused Gram pass (:func:`gram`, :func:`gram_copy`): small enough
#: that the block is still in the core's cache when its Gram matrix is taken, large enough that the
#: per-block overhead (a few microseconds) is small against its memory traffic.
_GRAM_BLOCK_BYTES = 1 << 20
#: Below this many entries (D k) the Gram matrix is one product: blocking would only add overhead.
_GRAM_SMALL = 1 << 16


def _rows_per_block(k: int, itemsize: int) -> int:
    return max(256, _GRAM_BLOCK_BYTES // max(1, k * itemsize))


def _check_gram_blocks(blocks: list[torch.Tensor], names: list[str] | None) -> list[str]:
    names = names or [f"A_{i}" for i in range(len(blocks))]
    D = blocks[0].shape[0]
    for b, nm in zip(blocks, names, strict=True):
        if b.ndim != 2 or b.shape[0] != D:
            raise ValueError(
                f"{nm} has shape {tuple(b.shape)}; every block must be 2-D with D = {D} rows."
            )
    return names


def _fused_pass(
    blocks: list[torch.Tensor], out: torch.Tensor | None, keep: list[int] | None
) -> torch.Tensor:
    """Gram matrix of ``[A_1 ... A_p]`` (float64, CPU) in one pass over row blocks.

    Each block of rows is gathered into a small contiguous buffer (or straight into ``out``, a new
    (D, k') array receiving the blocks listed in ``keep``) and its Gram matrix ``B^T B`` is taken
    while it is still in cache. Reading the data once is what makes this as fast as one ``Z^T Z``
    on an already concatenated Z, where separate products ``A_i^T A_j`` read every block p times.
    On the CPU the rows are split among ``torch.get_num_threads()`` threads (numpy releases the
    GIL while it copies and multiplies), each summing its own Gram matrix.
    """
    ref = blocks[0]
    D = ref.shape[0]
    widths = [b.shape[1] for b in blocks]
    k = sum(widths)
    rows = _rows_per_block(k, ref.element_size())
    direct = out is not None and (keep is None or keep == list(range(len(blocks))))
    cols = None
    if out is not None and not direct:
        starts = np.cumsum([0, *widths])
        cols = [c for i in keep for c in range(int(starts[i]), int(starts[i + 1]))]
    if ref.device.type != "cpu":
        return _fused_rows(blocks, out, cols, direct, 0, D, rows, torch).cpu()
    src = [b.detach().numpy() for b in blocks]
    dst = None if out is None else out.numpy()
    workers = max(1, min(torch.get_num_threads(), D // (4 * rows)))
    if workers == 1:
        return torch.from_numpy(_fused_rows(src, dst, cols, direct, 0, D, rows, np))
    cuts = [round(D * i / workers / rows) * rows for i in range(workers)] + [D]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        parts = [
            pool.submit(_fused_rows, src, dst, cols, direct, lo, hi, rows, np)
            for lo, hi in pairwise(cuts)
        ]
        return torch.from_numpy(sum(p.result() for p in parts))


def _fused_rows(src, dst, cols, direct, lo, hi, rows, xp) -> Any:
    """Rows ``lo:hi`` of :func:`_fused_pass`, with numpy arrays (``xp = np``) or tensors."""
    k = sum(a.shape[1] for a in src)
    if xp is np:
        G = np.zeros((k, k), dtype=np.float64)
        buf = None if direct else np.empty((rows, k), dtype=src[0].dtype)
        kept = None if cols is None else np.asarray(cols)
    else:
        G = torch.zeros((k, k), dtype=torch.float64, device=src[0].device)
        buf = None if direct else torch.empty((rows, k), dtype=src[0].dtype, device=G.device)
        kept = None if cols is None else torch.tensor(cols, device=G.device)
    for s in range(lo, hi, rows):
        e = min(hi, s + rows)
        B = dst[s:e] if direct else buf[: e - s]
        c = 0
        for a in src:
            w = a.shape[1]
            B[:, c : c + w] = a[s:e]
            c += w
        P = B.T @ B  # numpy: one symmetric rank-k update (syrk)
        G += P.astype(np.float64, copy=False) if xp is np else P.to(torch.float64)
        if kept is not None:
            dst[s:e] = B[:, kept]
    return G


def _pairwise_gram(blocks: list[torch.Tensor]) -> torch.Tensor:
    """The Gram matrix from the products ``A_i^T A_j`` (i <= j) on whole blocks: autograd can
    follow it, and ``FlopCounterMode`` counts it (2 D k_i k_j flops each), for small inputs."""
    p = len(blocks)
    rows: list[list[torch.Tensor | None]] = [[None] * p for _ in range(p)]
    for i in range(p):
        for j in range(i, p):
            rows[i][j] = small(blocks[i].T @ blocks[j])
    for i in range(p):
        for j in range(i):
            rows[i][j] = rows[j][i].T
    return torch.cat([torch.cat(r, dim=1) for r in rows], dim=0)


def _one_pass(blocks: list[torch.Tensor]) -> bool:
    """Use the fused row-block pass: large data that autograd does not track, and no torch
    dispatch mode active (``FlopCounterMode`` counts only torch's own products)."""
    D, k = blocks[0].shape[0], sum(b.shape[1] for b in blocks)
    return (
        D * k > _GRAM_SMALL
        and not tracked(*blocks)
        and torch._C._len_torch_dispatch_stack() == 0
        and blocks[0].device.type != "meta"
    )


def _gram_finite(G: torch.Tensor, blocks: list[torch.Tensor], names: list[str]) -> torch.Tensor:
    """``G`` if its diagonal is finite; else the policy's error (a NaN/Inf shows up there)."""
    if not bool(torch.isfinite(torch.diagonal(G)).all()):
        for b, nm in zip(blocks, names, strict=True):
            check_finite(b, nm)
        raise ValueError(
            f"the entries of {', '.join(names)} are so large that their squares overflow in "
            f"{str(blocks[0].dtype).removeprefix('torch.')}; rescale them (the results scale "
            "accordingly)."
        )
    return G


def gram(blocks: list[torch.Tensor], names: list[str] | None = None) -> torch.Tensor:
    """Gram matrix of ``[A_1 ... A_p]`` as float64 on the CPU, one pass over the data.

    Large inputs are read once, in row blocks that stay in cache while their Gram matrix is taken
    (:func:`_fused_pass`); tensors that autograd tracks go through differentiable products.
    A NaN or Inf anywhere in a block shows up on the diagonal, so the scan for bad values only
    runs when the diagonal is not finite.

    Raises:
        ValueError: NaN or Inf in a block, or entries so large that their squares overflow.
    """
    names = _check_gram_blocks(blocks, names)
    G = _fused_pass(blocks, None, None) if _one_pass(blocks) else _pairwise_gram(blocks)
    return _gram_finite(G, blocks, names)


def _empty(shape: tuple[int, int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A new array; on the CPU from numpy, which asks Linux for huge pages for large arrays
    (``madvise``): first-touching 256 MB then costs about a third of what 4 kB pages cost."""
    if device.type != "cpu":
        return torch.empty(shape, dtype=dtype, device=device)
    return torch.from_numpy(np.empty(shape, dtype=str(dtype).removeprefix("torch.")))


def gram_copy(
    blocks: list[torch.Tensor], names: list[str] | None = None, *, keep: list[int] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Gram matrix of ``[A_1 ... A_p]`` and a private copy of the blocks, in one pass.

    The estimators keep their data (the copy) instead of referring to the caller's arrays, so that
    no later write to X or Y, through any view (``X.data``, ``X.numpy()``, the numpy array a tensor
    came from), can change an estimate. Copying each row block while computing its Gram matrix
    costs one write on top of the one read the Gram matrix needs anyway.

    Args:
        blocks: (D, k_i) tensors of one dtype and device.
        names: their names for error messages.
        keep: indices of the blocks to copy (default all), concatenated in that order.

    Returns:
        ``(G, Z)``: the float64 CPU Gram matrix of all blocks and a new contiguous (D, k') tensor
        holding the kept blocks side by side. For tensors that autograd tracks, Z is
        ``torch.cat`` of them (differentiable).

    Raises:
        ValueError: as :func:`gram`.
    """
    names = _check_gram_blocks(blocks, names)
    keep = list(range(len(blocks))) if keep is None else list(keep)
    ref = blocks[0]
    if _one_pass(blocks):
        width = sum(blocks[i].shape[1] for i in keep)
        Z = _empty((ref.shape[0], width), ref.dtype, ref.device)
        G = _fused_pass(blocks, Z, keep)
    else:  # torch.cat always allocates: a copy, differentiable
        G, Z = _pairwise_gram(blocks), torch.cat([blocks[i] for i in keep], dim=1)
    return _gram_finite(G, blocks, names), Z


class Basis:
    """An orthonormal basis ``Q`` (D x m) with ``A = Q R`` for a tall block matrix ``A``.

    ``Q`` is either explicit or implicit (``Q = A T`` for a small ``T``); use :meth:`combine` to
    form ``Q E`` for a small ``E`` with a single pass over the data.

    Attributes:
        R: (m, k) float64 CPU tensor with ``A = Q R``.
        tier: 1 (Gram), 2 (CholeskyQR2) or 3 (Householder).
        owned: the blocks are private to this basis (a copy made by :func:`range_basis`, or
            work arrays of its own): no caller holds them, and :meth:`combine_in_place` may
            overwrite them (unless autograd tracks them).
    """

    def __init__(
        self,
        R: torch.Tensor,
        blocks: list[torch.Tensor],
        T: torch.Tensor | None,
        tier: int,
        *,
        owned: bool = False,
    ):
        self.R = R
        self.tier = tier
        self.owned = owned
        self._blocks = blocks
        self._T = T  # None means blocks == [Q] explicitly

    def combine(self, E: torch.Tensor) -> torch.Tensor:
        """Return ``Q @ E`` (D x r) in the working dtype and device; ``E`` is (m, r) float64."""
        ref = self._blocks[0]
        TE = E if self._T is None else self._T @ E
        TE = TE.to(dtype=ref.dtype, device=ref.device)
        if len(self._blocks) == 1:
            return self._blocks[0] @ TE
        D, r = ref.shape[0], TE.shape[1]
        parts, start = [], 0
        for b in self._blocks:
            parts.append(TE[start : start + b.shape[1]])
            start += b.shape[1]
        if tracked(TE, *self._blocks):  # out= and in-place products cannot be differentiated
            return _sum_products(self._blocks, parts)
        out = torch.empty((D, r), dtype=ref.dtype, device=ref.device)
        for s in range(0, D, _CHUNK):
            o = out[s : s + _CHUNK]
            torch.mm(self._blocks[0][s : s + _CHUNK], parts[0], out=o)
            for b, P in zip(self._blocks[1:], parts[1:], strict=True):
                o.addmm_(b[s : s + _CHUNK], P)
        return out

    def combine_in_place(self, E: torch.Tensor) -> torch.Tensor:
        """``Q @ E`` written over the basis' own (D, k) block, r <= k columns: no new D-sized
        memory. Only for an owned basis; afterwards the basis is spent (its block holds the
        result, returned as the view ``block[:, :r]``)."""
        if not self.owned or len(self._blocks) != 1 or tracked(E, *self._blocks):
            return self.combine(E)
        Z = self._blocks[0]
        TE = E if self._T is None else self._T @ E
        TE = TE.to(dtype=Z.dtype, device=Z.device)
        r = TE.shape[1]
        if r > Z.shape[1]:
            return self.combine(E)
        rows = _rows_per_block(Z.shape[1], Z.element_size())
        tmp = torch.empty((min(rows, Z.shape[0]), r), dtype=Z.dtype, device=Z.device)
        for s in range(0, Z.shape[0], rows):
            blk = Z[s : s + rows]
            t = tmp[: blk.shape[0]]
            torch.mm(blk, TE, out=t)
            blk[:, :r] = t
        self.owned, self._blocks, self._T = False, [], None
        return Z[:, :r]


def _sum_products(blocks: list[torch.Tensor], parts: list[torch.Tensor]) -> torch.Tensor:
    out = blocks[0] @ parts[0]
    for b, P in zip(blocks[1:], parts[1:], strict=True):
        out = out + b @ P
    return out


def _equilibrated_chol(G: torch.Tensor, kmax: float) -> tuple[torch.Tensor, float] | None:
    """(R, kappa) with G = R^T R and kappa of the equilibrated G, if kappa <= kmax; else None."""
    d = torch.diagonal(G)
    if not bool((d > 0).all()):
        return None
    s = d.sqrt()
    Gs = G / (s[:, None] * s[None, :])
    ev = torch.linalg.eigvalsh(Gs)
    if not ev[0] > 0 or num(ev[-1] / ev[0]) > kmax:
        return None
    L, info = torch.linalg.cholesky_ex(Gs)
    if int(info) != 0:
        return None
    return L.T * s[None, :], num(ev[-1] / ev[0])


def range_basis(
    blocks: list[torch.Tensor],
    names: list[str] | None = None,
    G: torch.Tensor | None = None,
    *,
    copy: bool = True,
    owned: bool = False,
) -> Basis:
    """Thin orthonormal basis of the columns of ``[A_1 ... A_p]`` (each D x k_i), see module doc.

    Args:
        blocks: tall matrices with the same number of rows, dtype and device.
        names: their names for error messages.
        G: their Gram matrix if already known (float64, CPU).
        copy: copy the blocks first (in the same pass as the Gram matrix when G is not given,
            :func:`gram_copy`), so that the basis, and every estimate built on it, never refers to
            the caller's arrays. ``copy=False`` refers to the blocks as they are (for data that
            only hessnotes writes to, through torch, like a LimitedMemoryHessian's window).
        owned: with ``copy=False``, the blocks are already a private copy (from
            :func:`gram_copy`) that the basis may overwrite.

    Returns:
        A :class:`Basis` with ``A = Q R``; ``m = k`` in tiers 1-2 and ``m = min(D, k)`` in tier 3.
    """
    given = blocks
    if copy:
        if G is None:
            G, Z = gram_copy(blocks, names)
        else:
            Z = torch.cat(blocks, dim=1)
        blocks, owned = [Z], True
        del Z
    elif G is None:
        G = gram(blocks, names)
    dtype = blocks[0].dtype
    k1, k2 = _KAPPA[dtype]
    # Tier 1 is only worth it (and only accurate) for a modest kappa; tier 2 up to k2.
    chol = _equilibrated_chol(G, k2)
    if chol is not None:
        R1, kappa = chol
        T1 = torch.linalg.inv(R1)  # triangular; kappa(equilibrated R1) <= sqrt(k2)
        if kappa <= k1:
            return Basis(R1, blocks, T1, tier=1, owned=owned)
        first = Basis(R1, blocks, T1, tier=1, owned=owned)
        Q1 = first.combine_in_place(torch.eye(T1.shape[0], dtype=torch.float64))
        L2, info = torch.linalg.cholesky_ex(small(Q1.T @ Q1))
        if int(info) == 0:
            R2 = L2.T
            return Basis(R2 @ R1, [Q1], torch.linalg.inv(R2), tier=2, owned=True)
        if owned:  # Q1 was written over the copy, A = Q1 R1: Householder QR of Q1 finishes it
            R3, Q3 = _householder([Q1])
            return Basis(R3 @ R1, Q3, None, tier=3, owned=True)
        del Q1
    if tracked(*blocks):
        raise ValueError(
            "the columns of the inputs (" + ", ".join(names or ["A"]) + ") are rank deficient or "
            f"too ill-conditioned (kappa of the column-scaled Gram matrix above {k2:.0e}) for the "
            "Cholesky-QR paths, and the Householder QR fallback works in place, so autograd "
            "cannot differentiate through it. Drop dependent columns (or rescale them), or "
            "compute under torch.no_grad() / on detached inputs if no gradient is needed."
        )
    if copy:  # the copy is not needed: Householder's work array is a copy of its own
        blocks = given
    R, Q = _householder(blocks)
    return Basis(R, Q, None, tier=3, owned=True)


def _householder(blocks: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Householder QR of [A_1 ... A_p] with one (D, k) work array that ends up holding Q."""
    ref = blocks[0]
    D, k = ref.shape[0], sum(b.shape[1] for b in blocks)
    if D < k:
        Q, R = torch.linalg.qr(torch.cat(blocks, dim=1), mode="reduced")
        return small(R), [Q]
    # Column-major storage lets LAPACK work in place: no hidden copies of the tall matrix.
    A = torch.empty((k, D), dtype=ref.dtype, device=ref.device).T
    torch.cat(blocks, dim=1, out=A)
    tau = torch.empty(k, dtype=ref.dtype, device=ref.device)
    torch.geqrf(A, out=(A, tau))
    R = small(torch.triu(A[:k]))
    torch.linalg.householder_product(A, tau, out=A)
    return R, [A]


# --------------------------------------------------------------------------------------------------
# Conventions, each defined once (pinned by tests/test_linalg.py)
# --------------------------------------------------------------------------------------------------
#: A dense D x D float64 matrix fits MAX_DENSE_BYTES up to this D (16 384): the dense-size limit
#: of ``LowRankSymmetric.dense`` and ``CurvatureOperator.dense``, derived from the memory limit.
DENSE_LIMIT = math.isqrt(MAX_DENSE_BYTES // 8)


def _reverse_axes(a: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return a.permute(tuple(reversed(range(a.ndim))))
    return a.transpose()


def vec(a: Any) -> Any:
    """Column-major ``vec``: the columns of ``a`` stacked into one vector (the first index fastest).

    ``vec(X)[i + j m] = X[i, j]`` for ``X`` of shape (m, n), so that
    ``(A ⊗ B) vec(X) = vec(B X Aᵀ)`` (the book's convention, chapter "Conventions"); an N-D array
    is read the same way. numpy in,
    numpy out; torch in, torch out (a view where possible, the autograd graph kept). No checks:
    :func:`hessnotes.kron.vec` is the public, checked form.
    """
    return _reverse_axes(a).reshape(-1)


def unvec(v: Any, shape: Any) -> Any:
    """The inverse of :func:`vec`: fill an array of ``shape`` column by column from ``v``."""
    return _reverse_axes(v.reshape(tuple(reversed(tuple(shape)))))


def vec_matrix(d: Any, out_ndim: int) -> Any:
    """A derivative array as a matrix in the vec convention (numerator layout).

    ``d`` has shape ``out_shape + in_shape`` (``d[i..., j...] = ∂f_i/∂x_j``, as ``jacrev`` and
    ``hessian`` return it); the result is the ``(M, N)`` matrix ``J`` with
    ``vec(df) = J vec(dx)``, ``M = prod(out_shape)``, ``N = prod(in_shape)``.
    """
    in_ndim = d.ndim - out_ndim
    perm = (*reversed(range(out_ndim)), *(out_ndim + i for i in reversed(range(in_ndim))))
    m, n = math.prod(d.shape[:out_ndim]), math.prod(d.shape[out_ndim:])
    p = d.permute(perm) if isinstance(d, torch.Tensor) else d.transpose(perm)
    return p.reshape(m, n)


def sym(a: Any) -> Any:
    """Symmetric part ``(A + Aᵀ) / 2`` of a square matrix (numpy or torch)."""
    return (a + a.T) / 2


def check_positive_int(value: Any, name: str, what: str = "") -> int:
    """``value`` as an int, if it is an integer >= 1 (a bool is not); ``what`` says what it counts.

    Raises:
        ValueError: ``"<name> must be a positive integer<what>; got <value>."``
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer{what}; got {name}={value!r}.")
    return int(value)


def check_symmetric(
    a: Any, name: str, *, rtol: float | None = None, needs: str, otherwise: str = ""
) -> None:
    """Raise ValueError unless the square matrix ``a`` is symmetric to ``rtol``.

    Symmetric means ``max|a - aᵀ| <= rtol · max|a|``, with ``rtol = 100 n ε`` of ``a``'s dtype by
    default: the rounding of a few products, not a structural asymmetry.

    Args:
        a: (n, n) numpy array or torch tensor.
        name: its name in the message.
        rtol: relative tolerance; default ``100 n ε``.
        needs: what needs the symmetry, e.g. ``"the eigendecomposition method needs symmetric
            matrices"``.
        otherwise: what to do for a genuinely non-symmetric matrix, e.g. ``", or use
            expm_frechet_block for a general A"``.

    Raises:
        ValueError: ``"<name> (shape (n, n)) is not symmetric: max|<name> - <name>ᵀ| = ... > tol
            ... (max|<name>| = ...). <needs>: pass (<name> + <name>.T) / 2 if the asymmetry is
            rounding<otherwise>."``
    """
    if isinstance(a, torch.Tensor):
        a = a.detach()
        asym, scale, dtype = num((a - a.T).abs().max()), num(a.abs().max()), a.dtype
        eps = eps_of(dtype)
    else:
        asym, scale = float(np.abs(a - a.T).max()), float(np.abs(a).max())
        eps = float(np.finfo(a.dtype).eps)
    tol = (100 * a.shape[0] * eps if rtol is None else rtol) * max(scale, 1e-300)
    if asym > tol:
        raise ValueError(
            f"{name} (shape {tuple(a.shape)}) is not symmetric: max|{name} - {name}ᵀ| = "
            f"{asym:.2e} > tol {tol:.1e} (max|{name}| = {scale:.2e}). {needs[0].upper()}"
            f"{needs[1:]}: pass ({name} + {name}.T) / 2 if the asymmetry is rounding{otherwise}."
        )


def loglog_slope(x: Any, y: Any, *, window: Any = None, xmin: float | None = None) -> float:
    """Least-squares slope ``p`` of ``log y`` against ``log x``: the exponent in ``y ≈ c x^p``.

    The one slope fit of the library: of times against sizes (``time ~ c D^p``), of errors
    against steps (2 where a central difference's truncation dominates, -1 where roundoff does),
    of variances against dimensions. Points with a non-finite or non-positive ``x`` or ``y`` are
    left out.

    Args:
        x: (s,) abscissae: sizes, steps, dimensions.
        y: (s,) values, or (s, repeats) repeated measurements (timings): each row's smallest
            positive finite value, the best run, is used.
        window: the points to fit: ``None``, all of them; ``(lo, hi)``, those with
            ``lo <= x <= hi``; ``"upper half"``, the larger half (at least two) of the usable
            points, where fixed per-call costs matter least.
        xmin: the same as ``window=(xmin, inf)`` (kept for old code; not with ``window``).

    Returns:
        The fitted slope ``p``.

    Raises:
        ValueError: ``y`` without ``len(x)`` rows, a bad ``window``, or fewer than two usable
            points in it.
    """
    xs = np.asarray(x, dtype=np.float64)
    y0 = np.asarray(y, dtype=np.float64)
    ys = y0[:, None] if y0.ndim == 1 else y0
    if xs.ndim != 1 or ys.ndim != 2 or ys.shape[0] != xs.size:
        raise ValueError(
            f"x has shape {xs.shape} and y {y0.shape}; give x of shape (s,) and y of shape (s,) "
            "or (s, repeats)."
        )
    if xmin is not None:
        if window is not None:
            raise ValueError("give window=(lo, hi) or xmin=, not both")
        window = (xmin, math.inf)
    best = np.where(np.isfinite(ys) & (ys > 0), ys, np.inf).min(axis=1)
    ok = np.isfinite(xs) & (xs > 0) & np.isfinite(best)
    if isinstance(window, tuple | list) and len(window) == 2:
        ok &= (xs >= float(window[0])) & (xs <= float(window[1]))
    elif window not in (None, "upper half"):
        raise ValueError(f"window={window!r}; give None, (lo, hi) or 'upper half'")
    keep = np.flatnonzero(ok)
    if keep.size < 2:
        where = "" if window in (None, "upper half") else f" in {window[0]:g} <= x <= {window[1]:g}"
        raise ValueError(
            f"only {keep.size} of {xs.size} points are usable (x and y finite and "
            f"positive{where}); a slope needs two."
        )
    if window == "upper half":
        keep = keep[-max(2, (keep.size + 1) // 2) :]
    return float(np.polyfit(np.log(xs[keep]), np.log(best[keep]), 1)[0])
