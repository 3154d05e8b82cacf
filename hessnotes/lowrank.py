"""A symmetric D x D matrix stored in low rank: ``H = sigma I + Q diag(lam) Q^T``.

Every Hessian estimate in :mod:`hessnotes.secant` comes back as a :class:`LowRankSymmetric`, so that
D can be in the millions: storage is O(D r), a product ``H @ v`` costs O(D r k) for ``v`` of shape
(D, k), a shifted solve ``(H + c I)^{-1} b`` costs the same (:meth:`LowRankSymmetric.solve`), and
the spectrum, trace and Frobenius norm cost O(r) once built. Nothing forms a D x D array except
:meth:`LowRankSymmetric.dense`, which refuses large D unless forced.

It is an operator in the sense of scipy: :meth:`LowRankSymmetric.to_scipy` gives a
``scipy.sparse.linalg.LinearOperator`` (so ``eigsh``, ``minres`` and ``cg`` work on it), and a
numpy-backed H can be passed to ``scipy.sparse.linalg.aslinearoperator`` directly. It converts
between numpy and torch (:meth:`~LowRankSymmetric.numpy`, :meth:`~LowRankSymmetric.torch`,
:meth:`~LowRankSymmetric.to`), and torch-backed estimates carry autograd graphs.

Chapters: "High dimensions".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from hessnotes._linalg import DENSE_LIMIT as DENSE_LIMIT  # re-exported, for compatibility
from hessnotes._linalg import MAX_DENSE_BYTES as MAX_DENSE_BYTES  # re-exported, likewise
from hessnotes._linalg import (
    Basis,
    Kind,
    as_tensor,
    check_finite,
    check_memory,
    check_symmetric,
    check_tol,
    eps_of,
    num,
    range_basis,
    small,
)

__all__ = ["LowRankSymmetric"]


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _as_torch_dtype(dtype: Any, numpy: bool = False) -> torch.dtype:
    """float32/float64 given as a torch dtype, numpy dtype or name; else a TypeError for H.to
    that names the dtypes H can take, in the words of H's kind."""
    if isinstance(dtype, torch.dtype):
        if dtype in (torch.float32, torch.float64):
            return dtype
        name = str(dtype)
    else:
        try:
            nd = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be a numpy or torch dtype; got {dtype!r}.") from None
        if nd == np.float64:
            return torch.float64
        if nd == np.float32:
            return torch.float32
        name = str(nd)
    fix = (
        "H.to(np.float32) or H.to(np.float64)"
        if numpy
        else ("H.to(torch.float32) or H.to(torch.float64)")
    )
    raise TypeError(
        f"H.to(dtype={name}): a LowRankSymmetric holds float32 or float64 only (float16, "
        f"bfloat16, integer and complex are refused: products and solves would lose the "
        f"accuracy its checks promise). Use {fix}; to get a float16 copy of the factors, "
        "convert them yourself, e.g. H.Q.astype(np.float16) or H.Q.half()."
    )


class LowRankSymmetric:
    """The symmetric matrix ``H = sigma I + Q diag(lam) Q^T`` of size D x D, stored in low rank.

    Args:
        Q: (D, r) with orthonormal columns (checked to ``sqrt(eps)``), numpy or torch, float32 or
            float64. ``r = 0`` is allowed (then ``H = sigma I``).
        lam: (r,) eigenvalues of the low-rank part, same kind, dtype and device as ``Q``.
        sigma: real shift; ``sigma I`` is never stored.
        check: verify shapes, finiteness and orthonormality (costs one O(D r^2) pass).

    ``Q`` and ``lam`` are copied (one O(D r) pass): H never refers to the caller's arrays, so
    no later write to them can change it. The same holds for every estimate of
    :mod:`hessnotes.secant`, which keeps a private copy of its data (see
    :func:`hessnotes._linalg.gram_copy`).

    Raises:
        TypeError: unsupported dtype, or ``Q`` and ``lam`` of different kinds or dtypes.
        ValueError: wrong shapes, NaN or Inf, or columns of ``Q`` that are not orthonormal (build
            from a non-orthonormal factor with :meth:`from_factors` instead).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> H = LowRankSymmetric.from_factors(rng.standard_normal((1000, 3)), np.eye(3))
        >>> H
        LowRankSymmetric(D=1000, rank=3, sigma=0, kind=numpy, dtype=float64)
        >>> z = H.solve(np.ones(1000), shift=1.0)  # (H + I)^{-1} 1, in O(D r)
    """

    __slots__ = ("_kind", "_lam", "_lazy", "_q", "_sigma")
    #: Makes numpy defer ``ndarray @ H`` to :meth:`__rmatmul__` instead of failing.
    __array_ufunc__ = None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Refuse ``np.asarray(H)``: it would silently make a 0-d object array (or a D x D one)."""
        raise TypeError(
            f"np.asarray(H) is not supported for {self!r}: H is stored in low rank and never "
            "forms its D x D matrix implicitly. Use H.dense() for the matrix (small D), H @ v "
            "for products, or H.to_scipy() for a scipy LinearOperator."
        )

    def __init__(self, Q: Any, lam: Any, sigma: float = 0.0, *, check: bool = True):
        Qt, kind = as_tensor(Q, "Q")
        lt, lkind = as_tensor(lam, "lam")
        if kind != lkind:
            raise TypeError(
                f"Q is {kind.describe()} but lam is {lkind.describe()}; they must be the same "
                "kind, dtype and device."
            )
        if Qt.ndim != 2 or Qt.shape[0] == 0:
            raise ValueError(f"Q must be 2-D of shape (D, r) with D >= 1; got {tuple(Qt.shape)}.")
        if lt.shape != (Qt.shape[1],):
            raise ValueError(
                f"lam must have shape (r,) = ({Qt.shape[1]},) to match Q of shape "
                f"{tuple(Qt.shape)}; got {tuple(lt.shape)}."
            )
        sigma = float(sigma)
        if not math.isfinite(sigma):
            raise ValueError(f"sigma must be finite; got {sigma}.")
        if check:
            check_finite(Qt, "Q")
            check_finite(lt, "lam")
            if Qt.shape[1] > 0:
                err = num(
                    (small(Qt.T @ Qt) - torch.eye(Qt.shape[1], dtype=torch.float64)).abs().max()
                )
                tol = math.sqrt(eps_of(kind.dtype))
                if err > tol:
                    raise ValueError(
                        f"the columns of Q (shape {tuple(Qt.shape)}) are not orthonormal: "
                        f"max |Q^T Q - I| = {err:.2e} > {tol:.1e}. Use "
                        "LowRankSymmetric.from_factors(U, C) for H = U C U^T with any U."
                    )
        # Copies of their own: a later write to the caller's Q or lam (through any view) cannot
        # change H. (clone() keeps the autograd graph.)
        self._q, self._lam, self._sigma, self._kind = Qt.clone(), lt.clone(), sigma, kind
        self._lazy = None

    @classmethod
    def _from_tensors(
        cls, Qt: torch.Tensor, lt: torch.Tensor, sigma: float, kind: Kind
    ) -> LowRankSymmetric:
        """Internal constructor: trusted torch tensors in the working dtype and device."""
        self = cls.__new__(cls)
        self._q, self._lam, self._sigma, self._kind = Qt, lt, float(sigma), kind
        self._lazy = None
        return self

    @classmethod
    def _from_lazy(
        cls, lazy: _Lazy, lt: torch.Tensor, sigma: float, kind: Kind
    ) -> LowRankSymmetric:
        """Internal constructor: ``Q = A T E`` kept implicit (see :class:`_Lazy`)."""
        self = cls.__new__(cls)
        self._q, self._lam, self._sigma, self._kind = None, lt, float(sigma), kind
        self._lazy = lazy
        return self

    @property
    def _qt(self) -> torch.Tensor:
        """The explicit (D, r) eigenvector matrix, formed on first use (one O(D k r) pass)."""
        if self._q is None:
            self._q = self._lazy.materialise()
            self._lazy = None
        return self._q

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_factors(
        cls, U: Any, C: Any, sigma: float = 0.0, *, rtol: float | None = None
    ) -> LowRankSymmetric:
        """Build ``H = sigma I + U C U^T`` from a tall ``U`` and a small symmetric ``C``.

        A thin QR ``U = Q_U R`` (see :func:`hessnotes._linalg.range_basis`: Cholesky-QR from the
        Gram matrix when ``U`` is well conditioned, CholeskyQR2 or Householder otherwise) turns
        ``U C U^T`` into ``Q_U (R C R^T) Q_U^T``; the eigendecomposition
        ``R C R^T = E diag(lam) E^T`` then gives ``Q = Q_U E``. Cost O(D k^2); U may be
        rank deficient.

        Args:
            U: (D, k) numpy array or torch tensor, float32 or float64.
            C: (k, k) symmetric (asymmetry above ``sqrt(eps) ||C||`` is an error), numpy or torch.
            sigma: the shift.
            rtol: eigenvalues with ``|lam| <= rtol * max|lam|`` are dropped as rounding noise;
                default ``k * eps`` of U's dtype.

        Returns:
            LowRankSymmetric of rank <= k, same kind, dtype and device as ``U``.

        Raises:
            TypeError, ValueError: as for ``U`` in :func:`hessnotes.secant.least_norm_hessian`; C
                not (k, k), not symmetric, or not finite.
        """
        rtol = None if rtol is None else check_tol(rtol, "rtol")
        Ut, kind = as_tensor(U, "U")
        if Ut.ndim != 2 or 0 in Ut.shape:
            raise ValueError(f"U must be 2-D of shape (D, k), D, k >= 1; got {tuple(Ut.shape)}.")
        k = Ut.shape[1]
        Ct = small(torch.as_tensor(np.asarray(C) if not isinstance(C, torch.Tensor) else C))
        if Ct.shape != (k, k):
            raise ValueError(
                f"C must have shape (k, k) = ({k}, {k}) for U of shape {tuple(Ut.shape)}; "
                f"got {tuple(Ct.shape)}."
            )
        check_finite(Ct, "C")
        check_symmetric(
            Ct, "C", rtol=math.sqrt(eps_of(kind.dtype)), needs="from_factors needs a symmetric C"
        )
        basis = range_basis([Ut], ["U"])
        return cls._from_basis(basis, (Ct + Ct.T) / 2, sigma, kind, rtol=rtol)

    @classmethod
    def _from_basis(
        cls,
        basis: Basis,
        C: torch.Tensor,
        sigma: float,
        kind: Kind,
        *,
        rtol: float | None = None,
        coords: bool = False,
        lazy: bool = False,
    ) -> LowRankSymmetric:
        """``H = sigma I + A C A^T`` with ``A = Q R`` (or ``Q C Q^T`` if ``coords``); C float64.

        Q stays implicit (:class:`_Lazy`) until needed. The basis must own its blocks (a copy,
        :func:`hessnotes._linalg.range_basis`) or, with ``lazy=True``, refer to blocks that only
        hessnotes writes to, through torch, so that the version counter sees every write.
        """
        core = C if coords else basis.R @ C @ basis.R.T
        core = (core + core.T) / 2
        lam, E = torch.linalg.eigh(core)
        if rtol is None:
            rtol = max(core.shape[0], 1) * eps_of(kind.dtype)
        if not lam.numel():
            top = 0.0
        elif coords:
            top = num(lam.abs().max())
        else:  # an a-priori scale, so that exact cancellation (H - H) leaves rank 0
            top = num(torch.linalg.matrix_norm(basis.R, 2) ** 2 * torch.linalg.matrix_norm(C, 2))
        keep = lam.abs() > rtol * top
        if not (basis.owned or lazy):  # blocks the caller may write to: form Q now, a copy
            return cls._from_tensors(basis.combine(E[:, keep]), kind.tensor(lam[keep]), sigma, kind)
        return cls._from_lazy(_Lazy(basis, E[:, keep]), kind.tensor(lam[keep]), sigma, kind)

    # ------------------------------------------------------------------ attributes
    @property
    def Q(self) -> Any:
        """(D, r) orthonormal eigenvectors of the low-rank part (numpy or torch, as built)."""
        return self._kind.out(self._qt)

    @property
    def lam(self) -> Any:
        """(r,) eigenvalues of the low-rank part, in the order of the columns of ``Q``."""
        return self._kind.out(self._lam)

    @property
    def sigma(self) -> float:
        """The shift: ``H = sigma I + Q diag(lam) Q^T``."""
        return self._sigma

    @property
    def shape(self) -> tuple[int, int]:
        """(D, D)."""
        D = self._q.shape[0] if self._q is not None else self._lazy.D
        return (D, D)

    @property
    def rank(self) -> int:
        """Number of nonzero ``lam``: the rank of the low-rank part ``Q diag(lam) Q^T``.

        The shift is not counted: with ``sigma != 0`` the matrix H itself is usually of full rank D
        (see :meth:`inertia` for its zero eigenvalues).
        """
        return int((self._lam != 0).sum())

    @property
    def dtype(self) -> Any:
        """numpy dtype for numpy-backed matrices, torch dtype otherwise."""
        return np.dtype(_dtype_name(self._kind.dtype)) if self._kind.numpy else self._kind.dtype

    @property
    def device(self) -> Any:
        """The torch device; the string ``"cpu"`` for numpy-backed matrices."""
        return "cpu" if self._kind.numpy else self._kind.device

    @property
    def kind(self) -> str:
        """``"numpy"`` or ``"torch"``: what products, ``Q`` and ``lam`` come back as."""
        return "numpy" if self._kind.numpy else "torch"

    def __repr__(self) -> str:
        D = self.shape[0]
        where = "" if self._kind.numpy else f", device={self._kind.device}"
        return (
            f"LowRankSymmetric(D={D}, rank={self.rank}, sigma={self._sigma:g}, kind={self.kind}, "
            f"dtype={_dtype_name(self._kind.dtype)}{where})"
        )

    # ------------------------------------------------------------------ products
    def __matmul__(self, v: Any) -> Any:
        """``H @ v`` for v of shape (D,) or (D, k), in O(D r k); the result has v's kind."""
        vt, vkind = as_tensor(v, "v")
        D = self.shape[0]
        if vt.ndim not in (1, 2) or vt.shape[0] != D:
            raise ValueError(
                f"H @ v needs v of shape ({D},) or ({D}, k) for H of shape {self.shape}; "
                f"got {tuple(vt.shape)}."
            )
        if vt.dtype != self._kind.dtype or vt.device != self._kind.device:
            raise TypeError(
                f"v is {vkind.describe()} but H is {self._kind.describe()}; convert v first, "
                f"e.g. {vkind.cast_hint('v', self._kind.dtype)}, or convert H with H.to(...)."
            )
        check_finite(vt, "v")
        if self._lazy is not None:
            out = self._lazy.apply(self._lam, vt)
        else:
            coef = self._qt.T @ vt
            coef = coef * (self._lam if vt.ndim == 1 else self._lam[:, None])
            out = self._qt @ coef
        if self._sigma != 0.0:
            out = out + self._sigma * vt
        return vkind.out(out)

    def __rmatmul__(self, v: Any) -> Any:
        """``v @ H`` for v of shape (D,) or (k, D); equals ``(H @ v.T).T`` by symmetry."""
        vt, _ = as_tensor(v, "v")
        if vt.ndim == 1:
            return self @ v
        return (self @ v.T).T

    def dense(self, *, force: bool = False) -> Any:
        """The D x D matrix ``sigma I + Q diag(lam) Q^T`` (small D only).

        Raises:
            ValueError: if the D x D matrix would exceed the library's memory limit
                (:data:`hessnotes._linalg.MAX_DENSE_BYTES`; D = 16 384 in float64) and not
                ``force``.
        """
        D = self.shape[0]
        if not force:
            check_memory(
                D * D * torch.empty((), dtype=self._kind.dtype).element_size(),
                f"H.dense() of {self!r}: a {D} x {D} matrix",
                "That is what LowRankSymmetric avoids: use H @ v, eigh(), fro_norm() or trace(), "
                "or pass force=True",
            )
        out = (self._qt * self._lam) @ self._qt.T
        if self._sigma != 0.0:
            out = out + self._sigma * torch.eye(D, dtype=out.dtype, device=out.device)
        return self._kind.out(out)

    # ------------------------------------------------------------------ spectrum
    def eigh(self) -> tuple[Any, Any]:
        """Nonzero eigenpairs of the low-rank part ``Q diag(lam) Q^T``, eigenvalues ascending.

        H itself has eigenvalue ``sigma + lam_i`` on column i of the returned vectors and ``sigma``
        on their orthogonal complement (multiplicity ``D - rank``). No D x D array is formed.

        Returns:
            (evals, evecs) of shapes (r,) and (D, r), evecs orthonormal.
        """
        nz = torch.nonzero(self._lam != 0).flatten()
        order = nz[torch.argsort(self._lam[nz])]
        return self._kind.out(self._lam[order]), self._kind.out(self._qt[:, order])

    def eigvals(self) -> Any:
        """The nonzero eigenvalues of the low-rank part, ascending (shift by ``sigma`` for H's)."""
        return self.eigh()[0]

    def trace(self) -> float:
        """``tr H = sigma D + sum(lam)``."""
        return self._sigma * self.shape[0] + num(small(self._lam).sum())

    def fro_norm(self) -> float:
        """``||H||_F = sqrt(sum_i (sigma + lam_i)^2 + (D - r) sigma^2)``, with r = len(lam)."""
        lam = small(self._lam)
        D, r = self.shape[0], lam.numel()
        return math.sqrt(num(((self._sigma + lam) ** 2).sum()) + (D - r) * self._sigma**2)

    def inertia(self, rtol: float | None = None) -> tuple[int, int, int]:
        """(n_pos, n_neg, n_zero) of H's D eigenvalues; counts sum to D.

        An eigenvalue counts as zero when ``|e| <= rtol * max|e|`` over all of H's eigenvalues.

        Args:
            rtol: relative tolerance; default ``10 * max(r, 1) * eps`` of the dtype.
        """
        rtol = None if rtol is None else check_tol(rtol, "rtol")
        lam = small(self._lam)
        D, r = self.shape[0], lam.numel()
        ev = self._sigma + lam
        if rtol is None:
            rtol = 10 * max(r, 1) * eps_of(self._kind.dtype)
        top = max(num(ev.abs().max()) if r else 0.0, abs(self._sigma) if D > r else 0.0)
        tol = rtol * top
        pos, neg = int((ev > tol).sum()), int((ev < -tol).sum())
        if D > r and self._sigma > tol:
            pos += D - r
        elif D > r and self._sigma < -tol:
            neg += D - r
        return pos, neg, D - pos - neg

    # ------------------------------------------------------------------ solving
    def solve(self, b: Any, shift: float = 0.0, *, rtol: float | None = None) -> Any:
        """Solve ``(H + shift I) z = b`` for b of shape (D,) or (D, k), in O(D r k).

        With ``H + shift I = Q diag(sigma + shift + lam) Q^T + (sigma + shift)(I - Q Q^T)``::

            z = b / (sigma + shift) + Q diag(1/(sigma + shift + lam) - 1/(sigma + shift)) Q^T b,

        (the term ``b / (sigma + shift)`` and the subtraction drop out when r = D). No D x D
        array, no iteration; differentiable for torch inputs.

        Args:
            b: (D,) or (D, k), the kind, dtype and device of H (see :meth:`to` to convert H).
            shift: real c in ``(H + c I) z = b``, e.g. a Levenberg-Marquardt damping.
            rtol: an eigenvalue e of ``H + shift I`` counts as zero when
                ``|e| <= rtol * max|e|``; default ``10 * D * eps`` of the dtype.

        Returns:
            z with the shape, kind, dtype and device of b.

        Raises:
            ValueError: ``H + shift I`` singular within ``rtol``: names the shift and the smallest
                ``|eigenvalue|``. With rank r < D and ``sigma + shift = 0`` the D - r eigenvalues
                off the range of Q are zero, so the system is singular unless r == D.
            TypeError, ValueError: b of another kind, dtype, device or shape (as ``H @ v``).
        """
        shift = float(shift)
        if not math.isfinite(shift):
            raise ValueError(f"shift must be finite; got {shift}.")
        bt, _ = as_tensor(b, "b")
        if bt.dtype == self._kind.dtype and bt.device == self._kind.device:
            check_finite(bt, "b")  # named "b" here; shape and kind are checked by the product
        rtol = None if rtol is None else check_tol(rtol, "rtol")
        D, r = self.shape[0], self._lam.numel()
        if rtol is None:
            rtol = 10 * D * eps_of(self._kind.dtype)
        c = self._sigma + shift
        ev = c + self._lam  # eigenvalues of H + shift I on the range of Q
        evs = small(ev)
        mags = [num(evs.abs().min())] if r else []
        tops = [num(evs.abs().max())] if r else []
        if D > r:
            mags.append(abs(c))
            tops.append(abs(c))
        smallest, top = min(mags), max(tops)
        if not smallest > rtol * top:
            hint = (
                f" H has rank {r} < D = {D}, so with sigma + shift = {c:g} its D - {r} eigenvalues "
                "off the range of Q are zero: the system is singular unless r == D. Pass a "
                "nonzero shift (a damped solve), or solve on the range of Q with H.Q.T @ b."
                if D > r and abs(c) <= rtol * top
                else " Pass a shift that moves every eigenvalue of H away from -shift."
            )
            raise ValueError(
                f"H + shift I is singular: shift = {shift:g}, smallest |eigenvalue| = "
                f"{smallest:.3e} <= rtol * max|eigenvalue| = {rtol * top:.3e}.{hint}"
            )
        if D > r:
            inv = self._rebuilt(1 / ev - 1 / c, 1 / c)
        else:
            inv = self._rebuilt(1 / ev, 0.0)
        return inv @ b

    # ------------------------------------------------------------------ conversion
    def to(self, dtype: Any = None, device: Any = None) -> LowRankSymmetric:
        """A copy in another dtype (float32 or float64) and, for torch, on another device.

        Args:
            dtype: numpy or torch dtype (or its name); default unchanged.
            device: a torch device; only for torch-backed H (use :meth:`torch` first).

        Returns:
            A new LowRankSymmetric of the same kind with its own explicit Q.

        Raises:
            TypeError: a dtype other than float32 or float64.
            ValueError: a device for a numpy-backed H.
        """
        tdt = self._kind.dtype if dtype is None else _as_torch_dtype(dtype, self._kind.numpy)
        if self._kind.numpy and device is not None and torch.device(device).type != "cpu":
            raise ValueError(
                f"{self!r} is numpy-backed and lives on the CPU; convert it with "
                f"H.torch(device={str(device)!r}) instead of H.to(device=...)."
            )
        dev = self._kind.device if device is None else torch.device(device)
        return self._converted(Kind(self._kind.numpy, tdt, dev))

    def numpy(self) -> LowRankSymmetric:
        """The same matrix backed by numpy (CPU, same dtype); products then return numpy arrays."""
        return self._converted(Kind(True, self._kind.dtype, torch.device("cpu")))

    def torch(self, device: Any = None) -> LowRankSymmetric:
        """The same matrix backed by torch (same dtype; on ``device``, default where it is)."""
        dev = self._kind.device if device is None else torch.device(device)
        return self._converted(Kind(False, self._kind.dtype, dev))

    def _converted(self, kind: Kind) -> LowRankSymmetric:
        Q0 = self._q if self._q is not None else self._lazy.materialise()  # H itself unchanged
        Q = Q0.to(dtype=kind.dtype, device=kind.device)
        lam = self._lam.to(dtype=kind.dtype, device=kind.device)
        if Q.data_ptr() == Q0.data_ptr():
            Q = Q.clone()  # a copy of its own: numpy views of one must not alias the other
        if lam.data_ptr() == self._lam.data_ptr():
            lam = lam.clone()
        return self._from_tensors(Q, lam, self._sigma, kind)

    # ------------------------------------------------------------------ scipy
    def _scipy_fn(self, transpose_rows: bool) -> Any:
        def apply(v: Any) -> np.ndarray:
            a = np.asarray(v)
            vt = torch.from_numpy(np.ascontiguousarray(a, dtype=_dtype_name(self._kind.dtype)))
            out = self @ vt.to(self._kind.device)
            return out.detach().cpu().numpy()

        return apply

    def to_scipy(self) -> Any:
        """This H as a ``scipy.sparse.linalg.LinearOperator`` (numpy in, numpy out).

        Works for numpy- and torch-backed H alike (vectors are moved to H's device and back), so
        that ``eigsh``, ``minres``, ``cg`` and the rest of ``scipy.sparse.linalg`` apply. H is
        symmetric, so ``rmatvec = matvec``. The operator's dtype is H's (as a numpy dtype).
        """
        from scipy.sparse.linalg import LinearOperator

        f = self._scipy_fn(False)
        return LinearOperator(
            self.shape,
            matvec=f,
            rmatvec=f,
            matmat=f,
            rmatmat=f,
            dtype=np.dtype(_dtype_name(self._kind.dtype)),
        )

    def _numpy_only(self, what: str) -> None:
        if not self._kind.numpy:
            raise TypeError(
                f"H.{what} is the scipy protocol (numpy arrays in and out), and {self!r} is "
                "torch-backed, whose dtype scipy cannot read. Use H.to_scipy() for a scipy "
                "LinearOperator, H.numpy() for a numpy-backed copy, or H @ v for torch products."
            )

    @property
    def matvec(self) -> Any:
        """``v -> H v`` on numpy arrays: with ``shape`` and ``dtype`` this is what
        ``scipy.sparse.linalg.aslinearoperator(H)`` reads (numpy-backed H; else TypeError)."""
        self._numpy_only("matvec")
        return self._scipy_fn(False)

    @property
    def rmatvec(self) -> Any:
        """``v -> H^T v = H v`` on numpy arrays (see :attr:`matvec`)."""
        self._numpy_only("rmatvec")
        return self._scipy_fn(False)

    @property
    def matmat(self) -> Any:
        """``V -> H V`` on (D, k) numpy arrays (see :attr:`matvec`)."""
        self._numpy_only("matmat")
        return self._scipy_fn(False)

    @property
    def rmatmat(self) -> Any:
        """``V -> H^T V = H V`` on (D, k) numpy arrays (see :attr:`matvec`)."""
        self._numpy_only("rmatmat")
        return self._scipy_fn(False)

    # ------------------------------------------------------------------ algebra
    def __add__(self, other: Any) -> LowRankSymmetric:
        """``H + G`` for another LowRankSymmetric (rank adds, via :meth:`from_factors`) or
        ``H + c`` meaning ``H + c I`` for a real scalar c (only the shift changes)."""
        if isinstance(other, int | float):
            return self._rebuilt(self._lam, self._sigma + other)
        if not isinstance(other, LowRankSymmetric):
            return NotImplemented
        if other._kind != self._kind or other.shape != self.shape:
            raise ValueError(
                f"cannot add {self!r} and {other!r}: shape, kind, dtype and device must match."
            )
        lam = torch.cat([small(self._lam), small(other._lam)])
        basis = range_basis([self._qt, other._qt], ["H.Q", "G.Q"])
        return self._from_basis(basis, torch.diag(lam), self._sigma + other._sigma, self._kind)

    __radd__ = __add__

    def __neg__(self) -> LowRankSymmetric:
        return self._rebuilt(-self._lam, -self._sigma)

    def _rebuilt(self, lam: torch.Tensor, sigma: float) -> LowRankSymmetric:
        """The same eigenvectors (explicit or implicit) with new eigenvalues and shift."""
        if self._lazy is not None:
            return self._from_lazy(self._lazy, lam, sigma, self._kind)
        return self._from_tensors(self._q, lam, sigma, self._kind)

    def __sub__(self, other: Any) -> LowRankSymmetric:
        """``H - G`` or ``H - c I``."""
        if isinstance(other, int | float | LowRankSymmetric):
            return self + (-other)
        return NotImplemented

    def __rsub__(self, other: Any) -> LowRankSymmetric:
        return (-self) + other

    def __mul__(self, c: Any) -> LowRankSymmetric:
        """``c H`` for a real scalar c."""
        if not isinstance(c, int | float):
            return NotImplemented
        return self._rebuilt(self._lam * c, self._sigma * c)

    __rmul__ = __mul__


class _Lazy:
    """Eigenvectors kept implicit: ``Q = A T E`` for tall blocks ``A`` (D x k) and small T, E.

    Forming ``Q`` (D x r) costs a pass over the data, which would double the cost of
    :func:`hessnotes.secant.least_norm_hessian`. Until something needs ``Q`` explicitly
    (``H.Q``, ``eigh()``, ``dense()``, ``H + G``), products use the blocks directly:
    ``H v = sigma v + A (M (A^T v))`` with the small ``M = T E diag(lam) E^T T^T``, which costs the
    same O(D k) per vector as ``Q``. For a basis that owns its blocks (the estimators' private
    copy of X and Y), ``Q`` is formed once, written over them (so the estimate never needs more
    than one D x k array) and kept here, where every matrix sharing these eigenvectors, like
    ``-H`` or ``2 * H``, uses it.

    The blocks are either that private copy (:func:`hessnotes._linalg.range_basis` with
    ``copy=True``: no write by the caller can reach it) or a LimitedMemoryHessian's window, which
    hessnotes overwrites in place through torch; torch counts in-place writes (the version
    counter), so an estimate whose window has moved on raises instead of silently changing.
    """

    __slots__ = ("_E", "_Q", "_basis", "_versions")

    def __init__(self, basis: Basis, E: torch.Tensor):
        self._basis, self._E, self._Q = basis, E, None
        self._versions = [b._version for b in basis._blocks]

    @property
    def D(self) -> int:
        return self._Q.shape[0] if self._Q is not None else self._basis._blocks[0].shape[0]

    def _check(self) -> None:
        now = [b._version for b in self._basis._blocks]
        if now != self._versions:
            raise RuntimeError(
                "the window of the LimitedMemoryHessian that this LowRankSymmetric refers to "
                "without a copy was modified in place (a later update) after it was built. "
                "Rebuild H from the new window, or read H.Q (or call H.to()) right after "
                "building it to keep a copy."
            )

    def materialise(self) -> torch.Tensor:
        """The explicit (D, r) Q. Over an owned copy it is formed once, in place, and kept here;
        over a window that hessnotes overwrites, each call forms a new copy (and the version
        check keeps guarding the products)."""
        if self._Q is not None:
            return self._Q
        self._check()
        if not self._basis.owned:
            return self._basis.combine(self._E)
        self._Q = self._basis.combine_in_place(self._E)
        self._basis = None
        return self._Q

    def apply(self, lam: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if self._Q is not None:
            Q = self._Q
            coef = Q.T @ v
            return Q @ (coef * (lam if v.ndim == 1 else lam[:, None]))
        self._check()
        blocks = self._basis._blocks
        TE = self._E if self._basis._T is None else self._basis._T @ self._E
        M = (TE * small(lam)) @ TE.T
        M = M.to(dtype=v.dtype, device=v.device)
        if len(blocks) == 1:
            return blocks[0] @ (M @ (blocks[0].T @ v))
        coef = torch.cat([b.T @ v for b in blocks], dim=0)
        coef = M @ coef
        out, start = None, 0
        for b in blocks:
            k = b.shape[1]
            term = b @ coef[start : start + k]
            out = term if out is None else out + term
            start += k
        return out
