"""Kronecker algebra without forming Kronecker products.

Conventions (pinned by ``tests/test_kron.py``):

* ``vec`` stacks **columns** (column-major), so ``(A ⊗ B) vec(X) = vec(B X Aᵀ)``.
* ``⊗`` is ``np.kron``: ``(A ⊗ B)[i1*m2 + i2, j1*n2 + j2] = A[i1, j1] B[i2, j2]``. A vector ``x`` of
  length ``n1*…*nk`` acted on by ``A1 ⊗ … ⊗ Ak`` is read as the *row-major* (C-order) tensor
  ``x.reshape(n1, …, nk)``; factor ``A_i`` acts on axis ``i`` (a *mode product*).
* The Kronecker sum is ``A ⊕ B = A ⊗ I + I ⊗ B``, in ``np.kron`` factor order, and
  ``A1 ⊕ … ⊕ Ak = Σ_i I ⊗ … ⊗ A_i ⊗ … ⊗ I``.

Every function accepts numpy arrays or torch tensors and returns the same kind (same dtype, same
device). Numerical routines follow the library's one dtype policy (see :mod:`hessnotes._linalg`):
float32 or float64, one dtype per call, anything else a ``TypeError`` that says how to cast; they
reject NaN and Inf. Pure index shuffles (``vec``, ``unvec``, ``rearrange`` and its recipes) accept
any dtype, even strings, so that a chapter can show where each entry goes.

Chapters: "Derivatives as linear maps, and the chain rule", "Derivatives of matrix functions",
"Second derivatives and Newton's method", "A verified catalogue", "The vec trick", "Kronecker sums
and tensor Sylvester equations", "Shuffles and rearrangements", "Conventions".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
import torch

from hessnotes._linalg import check_float_dtype, check_positive_int, check_symmetric, check_tol
from hessnotes._linalg import unvec as _unvec
from hessnotes._linalg import vec as _vec

__all__ = [
    "KroneckerApprox",
    "commutation_matrix",
    "commutation_perm",
    "kron_matvec",
    "kron_sum_eigvals",
    "kron_sum_matvec",
    "kron_sum_solve",
    "nearest_kronecker",
    "perfect_shuffle",
    "rearrange",
    "rearrange_via_column_major",
    "rearrange_via_row_major",
    "second_difference",
    "solve_sylvester_sym",
    "unvec",
    "vec",
]

Array = Any  # np.ndarray | torch.Tensor
_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)
_T64, _T32 = torch.float64, torch.float32


# --------------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------------
def _is_torch(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def _as_array(x: Any, name: str, *, numeric: bool = True) -> Array:
    """Return ``x`` as a torch tensor (unchanged) or a numpy array; numeric input must be float32
    or float64 (the dtype policy of :func:`hessnotes._linalg.check_float_dtype`)."""
    arr = x if isinstance(x, (torch.Tensor, np.ndarray)) else np.asarray(x)
    if numeric:
        dt = arr.dtype  # identity tests first: the common case costs nothing
        if not (dt is _F64 or dt is _F32 or dt is _T64 or dt is _T32):
            check_float_dtype(arr, name)
    return arr


def _check_finite(x: Array, name: str) -> None:
    fin = torch.isfinite(x) if _is_torch(x) else np.isfinite(x)
    if not fin.all():
        count = int((~fin).sum())
        raise ValueError(
            f"{name} (shape {tuple(x.shape)}) holds {count} NaN or Inf entr"
            f"{'y' if count == 1 else 'ies'}; remove or replace them before calling."
        )


def _same_kind(arrays: Sequence[Array], what: str) -> bool:
    """Return True when all are torch tensors (on one device), False when all are numpy; all must
    share one dtype (no silent promotion, as everywhere in hessnotes)."""
    first = arrays[0]
    dt0, t0 = first.dtype, type(first)
    if all(type(a) is t0 and a.dtype == dt0 for a in arrays):  # the common case, in one pass
        if t0 is np.ndarray:
            return False
        if t0 is torch.Tensor:
            dev0 = first.device
            if all(a.device == dev0 for a in arrays):
                return True
    kinds = {_is_torch(a) for a in arrays}
    if len(kinds) > 1:
        raise TypeError(
            f"{what} mix numpy arrays and torch tensors; convert them all to one kind "
            "(torch.as_tensor(a) or t.numpy())."
        )
    is_t = kinds == {True}
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) > 1:
        names = sorted(str(d) for d in dtypes)
        fix = "a.to(torch.float64)" if is_t else "a.astype(np.float64)"
        raise TypeError(
            f"{what} mix the dtypes {' and '.join(names)}; pass them all in one precision, e.g. "
            f"{fix}."
        )
    if is_t:
        devices = {a.device for a in arrays}
        if len(devices) > 1:
            raise ValueError(
                f"{what} live on different devices {sorted(map(str, devices))}; move them to one "
                "device with .to(device)."
            )
    return is_t


def _sequence(xs: Any, name: str) -> list[Any]:
    if isinstance(xs, (np.ndarray, torch.Tensor)) or not isinstance(xs, Sequence) or not xs:
        shape = f" of shape {tuple(xs.shape)}" if hasattr(xs, "shape") else ""
        raise ValueError(
            f"{name} must be a non-empty list or tuple of matrices; got "
            f"{type(xs).__name__}{shape}. Wrap a single matrix A as [A]."
        )
    return list(xs)


def _matrices(
    xs: Any,
    name: str,
    *,
    square: bool = False,
    labels: Sequence[str] | None = None,
    finite: bool = True,
) -> tuple[list[Array], bool]:
    """Validate a non-empty list of 2-D float32/float64 matrices of one kind, dtype and device.

    Written for speed (it runs on every :func:`kron_matvec` call): labels are only formatted for
    an error, and a factor repeated as the same object (A ⊗ A ⊗ A) is checked once.
    """
    if type(xs) not in (list, tuple) or not xs:
        xs = _sequence(xs, name)
    mats: list[Array] = []
    seen: set[int] = set()
    for i, a in enumerate(xs):
        if id(a) in seen:
            mats.append(a)
            continue
        seen.add(id(a))
        if type(a) is not np.ndarray and not isinstance(a, torch.Tensor):
            a = np.asarray(a)
        dt = a.dtype
        if not (dt is _F64 or dt is _F32 or dt is _T64 or dt is _T32):
            check_float_dtype(a, labels[i] if labels else f"{name}[{i}]")
        shape = a.shape
        lab = None
        if len(shape) != 2 or 0 in shape or (square and shape[0] != shape[1]):
            lab = labels[i] if labels else f"{name}[{i}]"
            if len(shape) != 2 or 0 in shape:
                raise ValueError(
                    f"{lab} has shape {tuple(shape)}; it must be a non-empty 2-D matrix."
                )
            raise ValueError(f"{lab} has shape {tuple(shape)}; it must be square (n, n).")
        if finite:
            _check_finite(a, labels[i] if labels else f"{name}[{i}]")
        mats.append(a)
    return mats, _same_kind(mats, name)


def _eps(dtype: Any) -> float:
    return float(torch.finfo(dtype).eps if isinstance(dtype, torch.dtype) else np.finfo(dtype).eps)


def _pair(p: Any, name: str) -> tuple[int, int]:
    try:
        a, b = p
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in p)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a pair of positive integers (rows, cols); got {p!r}.")
    return int(a), int(b)


def _reshape_f(x: Array, shape: tuple[int, ...]) -> Array:
    """Column-major (Fortran-order) reshape, for numpy and torch alike."""
    return _unvec(_vec(x), shape)


def _permute(x: Array, axes: tuple[int, ...]) -> Array:
    return x.permute(*axes) if _is_torch(x) else x.transpose(axes)


# --------------------------------------------------------------------------------------------------
# vec and unvec
# --------------------------------------------------------------------------------------------------
def vec(X: Array) -> Array:
    """Stack the columns of ``X`` into one vector (column-major order).

    ``vec(X)[i + j*m] = X[i, j]`` for ``X`` of shape (m, n); for an N-D array the first index runs
    fastest. With this convention ``(A ⊗ B) vec(X) = vec(B X Aᵀ)``.

    Args:
        X: array or tensor with at least one axis, any dtype.

    Returns:
        1-D array of length ``X.size`` (numpy in, numpy out; torch in, torch out).

    Raises:
        ValueError: if ``X`` is 0-D.
    """
    X = _as_array(X, "X", numeric=False)
    if X.ndim == 0:
        raise ValueError("X is 0-D (a scalar); vec needs an array with at least one axis.")
    return _vec(X)


def unvec(x: Array, shape: Sequence[int]) -> Array:
    """Inverse of :func:`vec`: fill an array of ``shape`` column by column from ``x``.

    Args:
        x: 1-D array of length ``prod(shape)``.
        shape: target shape, e.g. ``(m, n)``.

    Returns:
        Array of ``shape`` with ``vec(unvec(x, shape)) == x``.

    Raises:
        ValueError: if ``x`` is not 1-D or its length is not ``prod(shape)``.
    """
    x = _as_array(x, "x", numeric=False)
    shape = tuple(check_positive_int(s, "each entry of shape") for s in shape)
    if x.ndim != 1 or x.shape[0] != math.prod(shape):
        raise ValueError(
            f"x has shape {tuple(x.shape)}, but shape {shape} needs a 1-D x of length "
            f"{math.prod(shape)}; pass vec(X) of an array X with that shape."
        )
    return _reshape_f(x, shape)


# --------------------------------------------------------------------------------------------------
# Matrix-vector products with Kronecker products
# --------------------------------------------------------------------------------------------------
def _kron_matvec(factors: Sequence[Array], x: Array) -> Array:
    """Unchecked core of :func:`kron_matvec`; ``x`` is (N,) or (N, b)."""
    b = x.shape[1] if x.ndim == 2 else 1
    t = x
    # Invariant: the row-major layout of t holds a tensor whose leading axis is the next mode.
    # Each step contracts that axis with A_i and appends A_i's row axis at the end, so after k
    # steps the axes are (b, m1, ..., mk). One GEMM per factor, operands passed transposed.
    for a in factors:
        t = t.reshape(a.shape[1], -1).T @ a.T
    m = math.prod(a.shape[0] for a in factors)
    return t.reshape(b, m).T if x.ndim == 2 else t.reshape(m)


def kron_matvec(factors: Sequence[Array], x: Array) -> Array:
    """Compute ``(A1 ⊗ A2 ⊗ … ⊗ Ak) x`` without forming the Kronecker product.

    Reading ``x`` as the row-major tensor ``x.reshape(n1, …, nk)``, the product is the sequence of
    mode products ``y[i1…ik] = Σ A1[i1, j1] ⋯ Ak[ik, jk] x[j1…jk]``: one matrix product per factor,
    ``O(N Σ_i m_i)`` work for ``N = n1⋯nk`` instead of ``O(N M)`` with ``M = m1⋯mk``, and no
    ``M × N`` matrix in memory. Equal to ``np.kron(A1, np.kron(A2, …)) @ x``.

    Args:
        factors: non-empty sequence of matrices ``A_i`` of shape (m_i, n_i); rectangular allowed.
        x: (N,) vector, or (N, b) with one vector per column, where ``N = n1 * … * nk``.

    Returns:
        (M,) or (M, b) with ``M = m1 * … * mk``; numpy or torch like the inputs, in their dtype.
        A product too large for the dtype overflows to ``±inf`` (or NaN where infinities meet)
        without a warning, as in torch (numpy's ``@`` would warn).

    Raises:
        ValueError: if a factor is not a non-empty 2-D matrix, ``x`` has the wrong length or
            number of axes, an input holds NaN or Inf, or tensors sit on different devices.
        TypeError: if numpy arrays and torch tensors are mixed, an input is not float32 or
            float64, or the inputs mix dtypes.

    Cost of the checks: kinds, dtypes and shapes are read from the headers. NaN and Inf are
    found in the result: in IEEE arithmetic they survive every product and sum (``NaN · 0`` and
    ``Inf · 0`` are NaN), so a bad ``A_l[i, j]`` spoils every entry of the result with index
    ``i`` on axis ``l``, and a bad entry of ``x`` the whole column; ``max(m_i, b)`` entries that
    meet every index of every axis are read (25 of 15625 for three 25 × 25 factors), and only if
    one is not finite are the inputs scanned, to name the culprit. This needs a BLAS that forms
    every product of a matrix product, as OpenBLAS does (the reference BLAS skipped products with
    a zero factor until 2014, Reference-LAPACK issue 179). CPU tensors outside autograd run
    through numpy's BLAS on shared memory (no copy), which is faster than torch's for these small
    products; tensors that require grad or live on a GPU stay in torch (differentiable), and
    there the sum of the result is tested.
    """
    y = _kron_matvec_plain(factors, x)
    return _kron_matvec_checked(factors, x) if y is None else y


@np.errstate(all="ignore")
def _kron_matvec_plain(factors: Any, x: Any) -> Array | None:
    """The fast path of :func:`kron_matvec`: the product, or None to take the checked path.

    It takes only a list or tuple of 2-D numpy arrays of exactly float32 or float64, one dtype, or
    CPU tensors that do not require grad (read as numpy arrays sharing their memory), with an
    ``x`` of the same kind and dtype, a valid shape and at least one column. Everything else,
    every bad input included, returns None, and :func:`_kron_matvec_checked`, which accepts all
    this accepts, decides and words the error. The dtypes are tested by identity against the
    policy's dtypes; any other dtype is judged by the policy's own
    :func:`hessnotes._linalg.check_float_dtype` on the checked path.

    NaN and Inf are found in the result, from a few entries (:func:`_transversal`). In IEEE
    arithmetic ``+`` and ``×`` never turn NaN or ±Inf into a finite number (``NaN · 0`` and
    ``Inf · 0`` are NaN), so a non-finite entry ``A_l[i, j]`` makes every entry of the result with
    index ``i`` on axis ``l`` non-finite, and a non-finite ``x[:, c]`` the whole column
    ``y[:, c]``. A set of entries that meets every index of every axis therefore sees any NaN or
    Inf in any input. This holds for a BLAS that forms every product of a matrix product, as
    OpenBLAS does, and the reference BLAS since 2014 (before, it skipped products with a zero
    factor). ``tests/test_kron.py`` pins it on the machine that runs them, with NaN and Inf
    against zeros in every entry of every argument. If a seen entry is not finite, the checked
    path scans the inputs exactly: it names the culprit, or finds none (an overflow) and returns
    the product.

    The ``errstate`` decorator (cheaper than a ``with`` block) is the one guard for the whole
    call: NaN and Inf raise floating-point flags inside the products before they are found,
    products may overflow, and some BLAS builds (Accelerate on macOS) raise spurious flags on
    finite numbers.
    """
    tf = type(factors)
    if (tf is not list and tf is not tuple) or not factors:
        return None
    tx = type(x)
    if tx is np.ndarray:
        dt = x.dtype
        if dt is not _F64 and dt is not _F32:
            return None
        for a in factors:
            if type(a) is not np.ndarray or a.dtype is not dt:
                return None
        fs = factors
    elif tx is torch.Tensor:
        dt = x.dtype
        if (dt is not _T64 and dt is not _T32) or not x.is_cpu or x.requires_grad:
            return None
        for a in factors:
            if type(a) is not torch.Tensor or a.dtype is not dt or not a.is_cpu or a.requires_grad:
                return None
        try:  # no numpy view of e.g. a sparse tensor: the checked path computes in torch
            fs, x = [a.numpy() for a in factors], x.numpy()
        except (RuntimeError, TypeError):
            return None
    else:
        return None
    ndim = x.ndim
    if ndim == 1:
        axes = []
    elif ndim == 2 and x.shape[1] > 0:
        axes = [x.shape[1]]  # the batch axis of y.T, which is (b, m1, ..., mk) in C order
    else:
        return None
    n = 1
    try:
        for a in fs:
            r, c = a.shape  # a ValueError unless 2-D
            axes.append(r)
            n *= c
    except ValueError:
        return None
    if n == 0 or 0 in axes or x.shape[0] != n:
        return None
    y = _kron_matvec(fs, x)
    seen = (y if ndim == 1 else y.T.reshape(-1))[_transversal(tuple(axes))]  # y.T: a view
    # A few entries: a Python sum is quicker than a numpy reduction (and, for float32, can
    # not overflow).
    if not math.isfinite(sum(seen.tolist()) if seen.size <= 64 else np.add.reduce(seen)):
        return None
    return torch.from_numpy(y) if tx is torch.Tensor else y


@functools.lru_cache(maxsize=128)
def _transversal(shape: tuple[int, ...]) -> np.ndarray:
    """Flat C-order indices, into an array of ``shape``, of the entries
    ``(s mod d_1, …, s mod d_r)`` for ``s < max(shape)``: every index of every axis occurs, in
    ``max(shape)`` entries.

    For ``shape = (25, 25, 25)`` that is the diagonal, 25 entries of 15625. Read-only (cached).
    """
    s = np.arange(max(shape))
    idx = np.zeros(s.size, dtype=np.intp)
    stride = 1
    for d in reversed(shape):
        idx += (s % d) * stride
        stride *= d
    idx.flags.writeable = False
    return idx


def _kron_matvec_checked(factors: Any, x: Any) -> Array:
    """:func:`kron_matvec` for every input the fast path does not take: validates kinds, dtypes
    and shapes (raising, in that order), computes, with torch for tensors on a GPU or in autograd
    (differentiable) and numpy otherwise, and finds NaN and Inf from the sum of the result as the
    fast path does from a few of its entries; then, or for an empty batch, it scans the inputs
    exactly and names the one that holds NaN or Inf (none: an overflow, let through)."""
    fs, is_t = _matrices(factors, "factors", finite=False)
    x = _as_array(x, "x")
    if type(x) is not type(fs[0]) or x.dtype != fs[0].dtype or (is_t and x.device != fs[0].device):
        _same_kind([*fs, x], "factors and x")  # raises, naming the mismatch
    n = math.prod(a.shape[1] for a in fs)
    if x.ndim not in (1, 2) or x.shape[0] != n:
        cols = " x ".join(str(a.shape[1]) for a in fs)
        raise ValueError(
            f"x has shape {tuple(x.shape)}, but factors of shapes "
            f"{[tuple(a.shape) for a in fs]} need x of shape ({n},) or ({n}, b) with "
            f"{n} = {cols}. If your vectors are rows, pass x.T."
        )
    views = None
    if is_t and _numpy_ok(fs, x):
        try:
            views = [a.numpy() for a in fs], x.numpy()
        except (RuntimeError, TypeError):  # no numpy view (e.g. sparse): stay in torch
            views = None
    if is_t and views is None:
        y = _kron_matvec(fs, x)
        finite = bool(torch.isfinite(y.detach().sum()))
    else:
        with np.errstate(all="ignore"):  # NaN and Inf are found below; overflow is let through
            yn = _kron_matvec(*views) if is_t else _kron_matvec(fs, x)
            finite = math.isfinite(np.add.reduce(yn, axis=None))
        y = torch.from_numpy(yn) if is_t else yn
    if not finite or (x.ndim == 2 and x.shape[1] == 0):  # an empty batch shows nothing in y
        for i, a in enumerate(fs):
            _check_finite(a, f"factors[{i}]")
        _check_finite(x, "x")
    return y


def _numpy_ok(fs: list[torch.Tensor], x: torch.Tensor) -> bool:
    """True for CPU tensors without requires_grad: they can go through numpy's BLAS (``.numpy()``
    shares their memory). Tensors that require grad keep the differentiable torch route."""
    return x.device.type == "cpu" and not (x.requires_grad or any(a.requires_grad for a in fs))


def _kron_matvec_fast(fs: list[Array], x: Array, is_t: bool) -> Array:
    """:func:`_kron_matvec`, through numpy for CPU tensors that autograd does not track."""
    if is_t and _numpy_ok(fs, x):
        out = _kron_matvec([a.numpy() for a in fs], x.numpy())
        return torch.from_numpy(out)
    return _kron_matvec(fs, x)


# --------------------------------------------------------------------------------------------------
# Kronecker sums
# --------------------------------------------------------------------------------------------------
def _sym_eigh(
    As: Any, name: str, sym_rtol: float | None, labels: Sequence[str] | None = None
) -> tuple[list[Array], list[Array], bool, Any]:
    """Validate symmetric real matrices and return their eigenvalues, eigenvectors, kind, dtype."""
    sym_rtol = None if sym_rtol is None else check_tol(sym_rtol, "sym_rtol")
    mats, is_t = _matrices(As, name, square=True, labels=labels)
    labels = labels or [f"{name}[{i}]" for i in range(len(mats))]
    dt = mats[0].dtype
    lams, vecs = [], []
    for a, lab in zip(mats, labels, strict=True):
        a = a.to(dt) if is_t else a.astype(dt, copy=False)
        check_symmetric(
            a,
            lab,
            rtol=sym_rtol,
            needs="the eigendecomposition method needs symmetric matrices",
            otherwise=", or use a Schur-based (Bartels–Stewart) solver for a non-symmetric one",
        )
        lam, u = torch.linalg.eigh(a) if is_t else np.linalg.eigh(a)
        lams.append(lam)
        vecs.append(u)
    return lams, vecs, is_t, dt


def _sum_grid(lams: Sequence[Array]) -> Array:
    """All sums λ1[i1] + … + λk[ik] as a row-major (n1, …, nk) array."""
    k = len(lams)
    out = 0
    for i, lam in enumerate(lams):
        out = out + lam.reshape([lam.shape[0] if j == i else 1 for j in range(k)])
    return out


def _check_nonsingular(sums: Array, lams: Sequence[Array], rtol: float, what: str) -> None:
    scale = sum(float(lam.abs().max() if _is_torch(lam) else np.abs(lam).max()) for lam in lams)
    flat = sums.reshape(-1)
    absval = flat.abs() if _is_torch(flat) else np.abs(flat)
    j = int(absval.argmin())
    if float(absval[j]) <= rtol * scale:
        idx = np.unravel_index(j, tuple(sums.shape))
        terms = " + ".join(f"λ{i + 1}[{int(t)}]" for i, t in enumerate(idx))
        raise ValueError(
            f"{what} is singular within tolerance: the eigenvalue sum {terms} (eigenvalues in "
            f"ascending order per factor) is {float(flat[j]):.3g}, and |{float(flat[j]):.3g}| <= "
            f"rtol * Σ max|λ| = {rtol * scale:.3g}. Shift a factor (A + c I) so that no sum of "
            "eigenvalues vanishes, or solve in the least-squares sense."
        )


def kron_sum_eigvals(As: Sequence[Array], *, sym_rtol: float | None = None) -> Array:
    """Eigenvalues of the Kronecker sum ``A1 ⊕ … ⊕ Ak`` of symmetric matrices, in ``np.kron`` order.

    If ``A_i = U_i diag(λ_i) U_iᵀ`` then ``A1 ⊕ … ⊕ Ak = (U1 ⊗ … ⊗ Uk) diag(Λ) (U1 ⊗ … ⊗ Uk)ᵀ``
    with ``Λ[i1…ik] = λ1[i1] + … + λk[ik]``: every sum of one eigenvalue per factor.

    Args:
        As: non-empty sequence of real symmetric (n_i, n_i) matrices.
        sym_rtol: tolerance on ``max|A - Aᵀ| / max|A|``; default ``100 n_i eps``.

    Returns:
        (N,) array of the sums, ``N = n1 * … * nk``, ordered like the diagonal of
        ``np.kron(diag(λ1), I) + np.kron(I, diag(λ2))`` (row-major over ``(i1, …, ik)``);
        not sorted.

    Raises:
        ValueError: if an ``A_i`` is not square, not symmetric, complex, or holds NaN or Inf.
        TypeError: if numpy arrays and torch tensors are mixed.
    """
    lams, _, _, _ = _sym_eigh(As, "As", sym_rtol)
    return _sum_grid(lams).reshape(-1)


def kron_sum_matvec(As: Sequence[Array], x: Array) -> Array:
    """Compute ``(A1 ⊕ A2 ⊕ … ⊕ Ak) x`` without forming the Kronecker sum.

    ``A1 ⊕ … ⊕ Ak = Σ_i I ⊗ … ⊗ A_i ⊗ … ⊗ I`` (``np.kron`` order). Reading ``x`` as the row-major
    tensor ``x.reshape(n1, …, nk)``, term ``i`` is the mode product of ``A_i`` along axis ``i``,
    so the cost is ``O(N Σ_i n_i)`` for ``N = n1⋯nk``. For k = 3 and ``A_i = T`` (the 1-D second
    difference) this applies the 3-D discrete Laplacian. The ``A_i`` need not be symmetric.

    Args:
        As: non-empty sequence of square (n_i, n_i) matrices.
        x: (N,) vector or (N, b) with one vector per column, ``N = n1 * … * nk``.

    Returns:
        Array of the shape of ``x``; numpy or torch like the inputs, in their dtype.

    Raises:
        ValueError: if an ``A_i`` is not square, ``x`` has the wrong shape, an input holds NaN or
            Inf, or tensors sit on different devices.
        TypeError: if numpy arrays and torch tensors are mixed, or an input is not numeric.
    """
    mats, is_t = _matrices(As, "As", square=True)
    x = _as_array(x, "x")
    _same_kind([*mats, x], "As and x")
    ns = [a.shape[0] for a in mats]
    n = math.prod(ns)
    if x.ndim not in (1, 2) or x.shape[0] != n:
        raise ValueError(
            f"x has shape {tuple(x.shape)}, but As of sizes {ns} need x of shape ({n},) or "
            f"({n}, b). If your vectors are rows, pass x.T."
        )
    _check_finite(x, "x")
    t = x.reshape(*ns, -1)
    y = 0
    for i, a in enumerate(mats):
        if is_t:
            y = y + torch.movedim(torch.tensordot(a, t, dims=([1], [i])), 0, i)
        else:
            y = y + np.moveaxis(np.tensordot(a, t, axes=([1], [i])), 0, i)
    return y.reshape(x.shape)


def kron_sum_solve(
    As: Sequence[Array], b: Array, *, rtol: float | None = None, sym_rtol: float | None = None
) -> Array:
    """Solve ``(A1 ⊕ A2 ⊕ … ⊕ Ak) x = b`` for symmetric ``A_i`` by eigendecomposition.

    With ``A_i = U_i diag(λ_i) U_iᵀ`` and ``U = U1 ⊗ … ⊗ Uk``, the solution is
    ``x = U (Uᵀ b ./ Λ)`` where ``Λ`` holds all sums ``λ1[i1] + … + λk[ik]``
    (see :func:`kron_sum_eigvals`). Both products with ``U`` are mode products
    (:func:`kron_matvec`), so the cost is ``O(Σ n_i³ + N Σ n_i)`` for ``N = n1⋯nk`` unknowns,
    against ``O(N³)`` for a dense solve. For k = 3 and equal ``n`` this is the tensor Sylvester
    equation ``Σ_i X ×_i A = B`` on an n×n×n grid, solved in ``O(n⁴)``.

    Args:
        As: non-empty sequence of real symmetric (n_i, n_i) matrices.
        b: (N,) right-hand side, or (N, r) with one right-hand side per column.
        rtol: the sum is declared singular when ``min|Λ| <= rtol * Σ_i max|λ_i|``;
            default ``(Σ n_i) * eps``.
        sym_rtol: tolerance on ``max|A - Aᵀ| / max|A|``; default ``100 n_i eps``.

    Returns:
        ``x`` with the shape of ``b``; numpy or torch like the inputs.

    Raises:
        ValueError: if an ``A_i`` is not square or not symmetric, ``b`` has the wrong shape, an
            input holds NaN or Inf, or the Kronecker sum is singular within ``rtol``.
        TypeError: if numpy arrays and torch tensors are mixed.
    """
    rtol = None if rtol is None else check_tol(rtol, "rtol")
    lams, us, is_t, dt = _sym_eigh(As, "As", sym_rtol)
    b = _as_array(b, "b")
    _same_kind([*us, b], "As and b")
    n = math.prod(u.shape[0] for u in us)
    if b.ndim not in (1, 2) or b.shape[0] != n:
        raise ValueError(
            f"b has shape {tuple(b.shape)}, but As of sizes {[u.shape[0] for u in us]} need b of "
            f"shape ({n},) or ({n}, r). If your right-hand sides are rows, pass b.T."
        )
    _check_finite(b, "b")
    sums = _sum_grid(lams)
    if rtol is None:
        rtol = sum(u.shape[0] for u in us) * _eps(dt)
    _check_nonsingular(sums, lams, rtol, "The Kronecker sum A1 ⊕ … ⊕ Ak")
    lam = sums.reshape(-1)
    y = _kron_matvec_fast([u.T for u in us], b, is_t)
    y = y / (lam[:, None] if b.ndim == 2 else lam)
    return _kron_matvec_fast(us, y, is_t)


def solve_sylvester_sym(
    A: Array, B: Array, C: Array, *, rtol: float | None = None, sym_rtol: float | None = None
) -> Array:
    """Solve the Sylvester equation ``A X + X B = C`` for symmetric ``A`` and ``B``.

    With ``A = U diag(a) Uᵀ`` and ``B = V diag(b) Vᵀ``, ``X = U [(Uᵀ C V) ./ (a_i + b_j)] Vᵀ``. In
    vec form this is ``(B ⊕ A) vec(X) = vec(C)`` (``Bᵀ = B``), the two-factor case of
    :func:`kron_sum_solve`; ``B = A`` gives the Lyapunov equation. Cost ``O(m³ + n³)``. For
    non-symmetric ``A``, ``B`` the Bartels–Stewart algorithm (Schur forms) is the standard method.

    Args:
        A: (m, m) real symmetric.
        B: (n, n) real symmetric.
        C: (m, n) right-hand side.
        rtol: singular when ``min|a_i + b_j| <= rtol * (max|a| + max|b|)``; default
            ``(m + n) * eps``.
        sym_rtol: tolerance on ``max|A - Aᵀ| / max|A|``; default ``100 n eps``.

    Returns:
        (m, n) solution ``X``; numpy or torch like the inputs.

    Raises:
        ValueError: if ``A`` or ``B`` is not square and symmetric, ``C`` is not (m, n), an input
            holds NaN or Inf, or some ``a_i + b_j`` is zero within ``rtol`` (singular equation).
        TypeError: if numpy arrays and torch tensors are mixed.
    """
    rtol = None if rtol is None else check_tol(rtol, "rtol")
    (a, b), (u, v), _, dt = _sym_eigh([A, B], "A and B", sym_rtol, ["A", "B"])
    C = _as_array(C, "C")
    _same_kind([u, C], "A, B and C")
    if C.ndim != 2 or tuple(C.shape) != (u.shape[0], v.shape[0]):
        raise ValueError(
            f"C has shape {tuple(C.shape)}, but A of shape {tuple(u.shape)} and B of shape "
            f"{tuple(v.shape)} need C of shape ({u.shape[0]}, {v.shape[0]})."
        )
    _check_finite(C, "C")
    sums = a[:, None] + b[None, :]
    if rtol is None:
        rtol = (u.shape[0] + v.shape[0]) * _eps(dt)
    _check_nonsingular(sums, [a, b], rtol, "The Sylvester operator X -> A X + X B")
    return u @ ((u.T @ C @ v) / sums) @ v.T


def second_difference(n: int, h: float | None = None) -> np.ndarray:
    """The 1-D second-difference matrix with Dirichlet boundary conditions, ``-d²/dx²``.

    ``T = tridiag(-1, 2, -1) / h²`` of shape (n, n): the discrete ``-u''`` on ``n`` interior points
    of ``[0, 1]`` with ``u(0) = u(1) = 0``. It is symmetric positive definite with eigenvalues
    ``(2 - 2 cos(jπ/(n+1))) / h²`` and eigenvectors ``sin(jπ i/(n+1))``, ``i, j = 1..n``. The 3-D
    Poisson matrix on an n×n×n grid is ``T ⊕ T ⊕ T``.

    Args:
        n: number of interior grid points.
        h: grid spacing; default ``1 / (n + 1)`` (the unit interval). ``h = 1`` gives the plain
            ``tridiag(-1, 2, -1)``.

    Returns:
        (n, n) float64 numpy array.

    Raises:
        ValueError: if ``n`` is not a positive integer or ``h`` is not a positive finite number.
    """
    n = check_positive_int(n, "n")
    h = 1.0 / (n + 1) if h is None else h
    real = isinstance(h, (int, float, np.floating, np.integer)) and not isinstance(h, bool)
    if not (real and math.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive finite number; got {h!r}.")
    t = 2.0 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
    return t / float(h) ** 2


# --------------------------------------------------------------------------------------------------
# Shuffles
# --------------------------------------------------------------------------------------------------
def commutation_perm(m: int, n: int) -> np.ndarray:
    """Index array ``p`` with ``vec(Aᵀ) = vec(A)[p]`` for every (m, n) matrix ``A``.

    ``vec(A)[i + j m] = A[i, j]`` and ``vec(Aᵀ)[j + i n] = A[i, j]``, so ``p[j + i n] = i + j m``.

    Args:
        m: rows of ``A``.
        n: columns of ``A``.

    Returns:
        (m n,) integer permutation.

    Raises:
        ValueError: if ``m`` or ``n`` is not a positive integer.
    """
    m, n = check_positive_int(m, "m"), check_positive_int(n, "n")
    return (np.arange(m)[:, None] + m * np.arange(n)[None, :]).reshape(-1)


def commutation_matrix(m: int, n: int) -> np.ndarray:
    """The commutation matrix ``K_{m,n}``: ``K vec(A) = vec(Aᵀ)`` for every (m, n) matrix ``A``.

    ``K`` is the permutation matrix of :func:`commutation_perm`; ``K_{m,n}ᵀ = K_{n,m}`` and
    ``K_{p,m} (A ⊗ B) K_{n,q} = B ⊗ A`` for ``A`` (m, n) and ``B`` (p, q). Dense, for teaching and
    small sizes; apply it to vectors with ``v[commutation_perm(m, n)]`` instead.

    Args:
        m: rows of ``A``.
        n: columns of ``A``.

    Returns:
        (m n, m n) float64 permutation matrix.

    Raises:
        ValueError: if ``m`` or ``n`` is not a positive integer.
    """
    p = commutation_perm(m, n)
    k = np.zeros((p.size, p.size))
    k[np.arange(p.size), p] = 1.0
    return k


def perfect_shuffle(p: int, r: int) -> np.ndarray:
    """The perfect shuffle ``𝒫_{p,r}`` of ``p r`` items, as an index array.

    Deal ``p r`` cards, numbered ``0 … pr-1``, into ``r`` piles round-robin and stack the piles:
    ``[0, r, 2r, …, 1, r+1, …, r-1, …]``. As a row and column permutation it swaps the factors of a
    Kronecker product of any shapes: for ``B`` (m1, n1) and ``C`` (m2, n2),
    ``np.kron(B, C)[perfect_shuffle(m1, m2)][:, perfect_shuffle(n1, n2)] == np.kron(C, B)``, i.e.
    ``𝒫_{m1,m2} (B ⊗ C) 𝒫_{n1,n2}ᵀ = C ⊗ B``. It equals ``commutation_perm(r, p)``: ``𝒫_{p,r}`` is
    the commutation matrix ``K_{r,p}``.

    Args:
        p: cards per pile (the size of the first Kronecker factor).
        r: number of piles (the size of the second Kronecker factor).

    Returns:
        (p r,) integer permutation.

    Raises:
        ValueError: if ``p`` or ``r`` is not a positive integer.
    """
    p, r = check_positive_int(p, "p"), check_positive_int(r, "r")
    return (np.arange(r)[:, None] + r * np.arange(p)[None, :]).reshape(-1)


# --------------------------------------------------------------------------------------------------
# The Van Loan–Pitsianis rearrangement and the nearest Kronecker product
# --------------------------------------------------------------------------------------------------
def _rearrange_args(
    A: Any, bshape: Any, cshape: Any, *, numeric: bool = False
) -> tuple[Array, int, int, int, int]:
    A = _as_array(A, "A", numeric=numeric)
    m1, n1 = _pair(bshape, "(m1, n1)")
    m2, n2 = _pair(cshape, "(m2, n2)")
    if A.ndim != 2 or tuple(A.shape) != (m1 * m2, n1 * n2):
        raise ValueError(
            f"A has shape {tuple(A.shape)}, but (m1, n1) = {(m1, n1)} and (m2, n2) = {(m2, n2)} "
            f"need A of shape (m1*m2, n1*n2) = ({m1 * m2}, {n1 * n2}); check the factor shapes."
        )
    return A, m1, n1, m2, n2


def rearrange(A: Array, bshape: tuple[int, int], cshape: tuple[int, int]) -> Array:
    """The Van Loan–Pitsianis rearrangement ``R(A)``, with ``R(B ⊗ C) = vec(B) vec(C)ᵀ``.

    View ``A`` as an m1×n1 grid of m2×n2 blocks ``A_{i1 j1}``. Row ``i1 + j1 m1`` of ``R(A)`` is
    ``vec(A_{i1 j1})ᵀ`` (blocks taken column by column), so
    ``R(A)[i1 + j1 m1, i2 + j2 m2] = A[i1 m2 + i2, j1 n2 + j2]``. ``R`` only moves entries, so
    ``‖R(A)‖_F = ‖A‖_F``, and ``R`` is linear: ``A = Σ_k B_k ⊗ C_k`` iff
    ``R(A) = Σ_k vec(B_k) vec(C_k)ᵀ``. The Kronecker rank of ``A`` is the rank of ``R(A)``.

    Implementation: the row-major 4-index view ``A[i1, i2, j1, j2]`` permuted to
    ``(j1, i1, j2, i2)`` and read row-major. See :func:`rearrange_via_row_major` and
    :func:`rearrange_via_column_major` for two other reshape recipes giving the same matrix.

    Args:
        A: (m1 m2, n1 n2) array or tensor, any dtype.
        bshape: ``(m1, n1)``, the shape of the first Kronecker factor ``B``.
        cshape: ``(m2, n2)``, the shape of the second Kronecker factor ``C``.

    Returns:
        (m1 n1, m2 n2) array, same kind and dtype as ``A``.

    Raises:
        ValueError: if the shapes are not pairs of positive integers or do not match ``A``.
    """
    A, m1, n1, m2, n2 = _rearrange_args(A, bshape, cshape)
    return _permute(A.reshape(m1, m2, n1, n2), (2, 0, 3, 1)).reshape(n1 * m1, n2 * m2)


def rearrange_via_row_major(A: Array, bshape: tuple[int, int], cshape: tuple[int, int]) -> Array:
    """``R(A)`` by the exercise notebook's first recipe: row-major reshapes, two transposes, a
    column-major read.

    Steps, per block row ``i1`` (the leading axis never moves):

    1. row-major reshape to (m1, n1, m2 n2), swap the last two axes;
    2. row-major reshape to (m1, m2, n1, n2), swap the last two axes;
    3. column-major reshape to (m1 n1, m2 n2).

    Why it works: within block row ``i1`` the entries sit row-major in the order ``(i2, j1, j2)``,
    at offset ``ρ`` in ``0 … L-1`` with ``L = m2 n1 n2``. Transposing an R×C row-major matrix sends
    offset ``ρ`` to ``ρ R mod (L - 1)`` (the last entry stays). Step 1 transposes an n1×(m2 n2)
    matrix, step 2 (with the column-major read of step 3, which is a row-major read with the axes
    reversed) an m2×(n1 n2) matrix, so together ``ρ → ρ m2 n1 mod (L - 1)``: a single transpose of
    an (m2 n1)×n2 matrix, which rotates ``(i2, j1, j2)`` into ``(j2, i2, j1)``. Read column-major
    with ``i1`` in front, that is row ``i1 + j1 m1``, column ``i2 + j2 m2``: exactly ``R(A)``.

    Args:
        A: (m1 m2, n1 n2) array or tensor, any dtype.
        bshape: ``(m1, n1)``.
        cshape: ``(m2, n2)``.

    Returns:
        (m1 n1, m2 n2), equal to :func:`rearrange`.

    Raises:
        ValueError: if the shapes are not pairs of positive integers or do not match ``A``.
    """
    A, m1, n1, m2, n2 = _rearrange_args(A, bshape, cshape)
    t = _permute(A.reshape(m1, n1, m2 * n2), (0, 2, 1))
    t = _permute(t.reshape(m1, m2, n1, n2), (0, 1, 3, 2))
    return _reshape_f(t, (m1 * n1, m2 * n2))


def rearrange_via_column_major(A: Array, bshape: tuple[int, int], cshape: tuple[int, int]) -> Array:
    """``R(A)`` by the exercise notebook's second recipe: every reshape column-major, each index
    named.

    Steps:

    1. column-major reshape to (m2, m1, n2, n1): the column-major offset of
       ``A[i1 m2 + i2, j1 n2 + j2]`` is ``i2 + m2 (i1 + m1 (j2 + n2 j1))``, so the entry lands at
       ``[i2, i1, j2, j1]``;
    2. reorder to ``[i2, j2, i1, j1]`` and column-major reshape to (m2 n2, m1, n1): the first index
       becomes ``i2 + j2 m2``, the position in ``vec(C)``;
    3. move it last, ``[i1, j1, i2 + j2 m2]``, and column-major reshape to (m1 n1, m2 n2): the row
       becomes ``i1 + j1 m1``, the position in ``vec(B)``.

    Args:
        A: (m1 m2, n1 n2) array or tensor, any dtype.
        bshape: ``(m1, n1)``.
        cshape: ``(m2, n2)``.

    Returns:
        (m1 n1, m2 n2), equal to :func:`rearrange`.

    Raises:
        ValueError: if the shapes are not pairs of positive integers or do not match ``A``.
    """
    A, m1, n1, m2, n2 = _rearrange_args(A, bshape, cshape)
    t = _permute(_reshape_f(A, (m2, m1, n2, n1)), (0, 2, 1, 3))
    t = _permute(_reshape_f(t, (m2 * n2, m1, n1)), (1, 2, 0))
    return _reshape_f(t, (m1 * n1, m2 * n2))


@dataclass(frozen=True, eq=False)
class KroneckerApprox:
    """A sum of Kronecker products ``Σ_k B[k] ⊗ C[k]`` approximating a matrix ``A``.

    Attributes:
        B: tuple of (m1, n1) factors.
        C: tuple of (m2, n2) factors, ``C[k]`` paired with ``B[k]``.
        singular_values: all singular values of ``R(A)``, descending (the Kronecker-rank spectrum);
            the approximation keeps the first ``len(B)``.
        error: ``‖A - Σ_k B[k] ⊗ C[k]‖_F / ‖A‖_F = sqrt(Σ_{k > rank} σ_k²) / sqrt(Σ σ_k²)``
            (0 when ``A = 0``).
    """

    B: tuple[Array, ...]
    C: tuple[Array, ...]
    singular_values: Array
    error: float

    @property
    def rank(self) -> int:
        """Number of Kronecker terms kept."""
        return len(self.B)

    def dense(self) -> Array:
        """The dense (m1 m2, n1 n2) matrix ``Σ_k B[k] ⊗ C[k]``; for small cases and checks."""
        kron = torch.kron if _is_torch(self.B[0]) else np.kron
        return reduce(lambda s, t: s + t, (kron(b, c) for b, c in zip(self.B, self.C, strict=True)))


def nearest_kronecker(
    A: Array, bshape: tuple[int, int], cshape: tuple[int, int], rank: int = 1
) -> KroneckerApprox:
    """Factors ``(B_k, C_k)`` minimising ``‖A - Σ_{k ≤ rank} B_k ⊗ C_k‖_F`` (Van Loan–Pitsianis).

    Because :func:`rearrange` preserves the Frobenius norm and maps ``B ⊗ C`` to
    ``vec(B) vec(C)ᵀ``, the problem is the best rank-``rank`` approximation of ``R(A)``, given by
    its truncated SVD ``R(A) ≈ Σ_k σ_k u_k v_kᵀ`` (Eckart–Young): ``B_k = √σ_k unvec(u_k)``,
    ``C_k = √σ_k unvec(v_k)``. The sign of each pair is fixed so that the largest-magnitude entry of
    ``B_k`` is positive.

    Args:
        A: (m1 m2, n1 n2) real matrix, numpy or torch.
        bshape: ``(m1, n1)``.
        cshape: ``(m2, n2)``.
        rank: number of Kronecker terms, ``1 <= rank <= min(m1 n1, m2 n2)``.

    Returns:
        :class:`KroneckerApprox` with the factors, the singular values of ``R(A)`` and the relative
        Frobenius error.

    Raises:
        ValueError: if the shapes do not match ``A``, ``rank`` is out of range, or ``A`` holds NaN
            or Inf.
        TypeError: if ``A`` is not numeric.
    """
    A, m1, n1, m2, n2 = _rearrange_args(A, bshape, cshape, numeric=True)
    _check_finite(A, "A")
    kmax = min(m1 * n1, m2 * n2)
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= kmax:
        raise ValueError(
            f"rank must be an integer in [1, min(m1*n1, m2*n2)] = [1, {kmax}]; got {rank!r}."
        )
    is_t = _is_torch(A)
    R = rearrange(A, (m1, n1), (m2, n2))
    if is_t:
        u, s, vh = torch.linalg.svd(R, full_matrices=False)
    else:
        u, s, vh = np.linalg.svd(R, False)
    bs, cs = [], []
    for k in range(int(rank)):
        uk, vk, root = u[:, k], vh[k], math.sqrt(float(s[k]))
        j = int(uk.abs().argmax() if is_t else np.abs(uk).argmax())
        sign = -1.0 if float(uk[j].real) < 0 else 1.0
        bs.append(unvec(sign * root * uk, (m1, n1)))
        cs.append(unvec(sign * root * vk, (m2, n2)))
    s2 = (s**2).tolist()
    total = math.fsum(s2)
    err = math.sqrt(math.fsum(s2[int(rank) :]) / total) if total > 0 else 0.0
    return KroneckerApprox(B=tuple(bs), C=tuple(cs), singular_values=s, error=err)
