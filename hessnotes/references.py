"""Dense and brute-force references for the secant problem, for small D.

Independent of :mod:`hessnotes.secant` (numpy only, no low-rank algebra), so that the chapters and
tests can check the low-rank estimators against them:

* :func:`brute_force_symmetric_lstsq`: the least-norm symmetric least-squares solution of
  ``H X = Y``, by a solve over an orthonormal basis of Sym(D);
* :func:`procrustes_residual`: the closed-form minimal residual ``min ||H X - Y||_F``;
* :func:`dense_least_norm`: the textbook dense formula ``Y X^+ + (X^+)^T Y^T (I - X X^+)``
  (O(D^3); also timed against the low-rank route in :mod:`hessnotes.timing`);
* :func:`spd_with_spectrum`: a dense symmetric test matrix with a given spectrum.

Arrays are (D, n) with the pairs in columns, as in :mod:`hessnotes.secant`.

Chapters: "Noisy pairs and a real network", "The least-norm Hessian".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hessnotes._linalg import as_numpy64, check_tol

__all__ = [
    "brute_force_symmetric_lstsq",
    "dense_least_norm",
    "procrustes_residual",
    "spd_with_spectrum",
]


def _pair(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X, Y = as_numpy64(X, "X"), as_numpy64(Y, "Y")
    if X.shape != Y.shape:
        raise ValueError(f"X has shape {X.shape} but Y has shape {Y.shape}; both must be (D, n).")
    return X, Y


def spd_with_spectrum(eigs: Sequence[float] | np.ndarray, *, seed: int = 0) -> np.ndarray:
    """The symmetric matrix ``Q diag(eigs) Q^T`` with a Haar-random orthogonal Q.

    Args:
        eigs: (D,) eigenvalues (positive ones give an SPD matrix).
        seed: seed of ``np.random.default_rng``.

    Returns:
        (D, D) float64 numpy array, exactly symmetric.

    Raises:
        ValueError: if ``eigs`` is not a non-empty 1-D array of finite numbers.
    """
    lam = np.asarray(eigs, dtype=np.float64)
    if lam.ndim != 1 or lam.size == 0 or not np.isfinite(lam).all():
        raise ValueError(f"eigs must be a non-empty 1-D array of finite numbers; got {lam.shape}.")
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
    Q = Q * np.sign(np.diag(R))  # Haar measure
    A = (Q * lam) @ Q.T
    return (A + A.T) / 2


def brute_force_symmetric_lstsq(X: Any, Y: Any, *, rcond: float = 1e-10) -> np.ndarray:
    """Least-norm minimiser of ``||H X - Y||_F`` over symmetric H, by brute force (small D only).

    H is written as ``sum_k h_k B_k`` over the orthonormal basis ``E_ii``, ``(E_ij + E_ji)/sqrt 2``
    of Sym(D), so that ``||H||_F = ||h||_2`` and ``vec(H X) = A h`` with ``A[:, k] = vec(B_k X)``
    (Dn x D(D+1)/2). numpy's SVD-based ``lstsq`` returns the minimum-norm ``h``. An independent
    reference for :func:`hessnotes.secant.least_norm_hessian`.

    Args:
        X, Y: (D, n) arrays (numpy or torch), D <= 12.
        rcond: relative cut-off on the singular values of A.

    Returns:
        (D, D) float64 numpy array.

    Raises:
        ValueError: shapes differ, are not 2-D, or D > 12 (the basis has D(D+1)/2 elements).
    """
    rcond = check_tol(rcond, "rcond")
    X, Y = _pair(X, Y)
    D = X.shape[0]
    if D > 12:
        raise ValueError(f"brute force is for D <= 12 (Sym(D) has D(D+1)/2 elements); got D={D}.")
    basis = []
    for i in range(D):
        for j in range(i, D):
            B = np.zeros((D, D))
            B[i, j] = B[j, i] = 1.0 if i == j else 2**-0.5
            basis.append(B)
    A = np.stack([(B @ X).T.reshape(-1) for B in basis], axis=1)
    h = np.linalg.lstsq(A, Y.T.reshape(-1), rcond=rcond)[0]
    return np.einsum("k,kij->ij", h, np.stack(basis))


def procrustes_residual(X: Any, Y: Any, *, rtol: float = 1e-12) -> float:
    """``min ||H X - Y||_F`` over symmetric H, in closed form from the thin SVD of X.

    With ``X = U S V^T`` (the r singular values above ``rtol * s_max``), ``K = V^T X^T Y V`` and
    ``V_0`` an orthonormal basis of the rest of R^n::

        min ||H X - Y||_F^2 = sum_{i<j<=r} (K_ij - K_ji)^2 / (s_i^2 + s_j^2) + ||Y V_0||_F^2.

    For X of full column rank the last term vanishes, and the residual is zero iff ``X^T Y`` is
    symmetric.

    Args:
        X, Y: (D, n) arrays (numpy or torch).
        rtol: relative cut-off on the singular values of X.

    Returns:
        The minimal residual, a float.

    Raises:
        ValueError: shapes differ or are not 2-D.
    """
    rtol = check_tol(rtol, "rtol")
    X, Y = _pair(X, Y)
    _, s, Vt = np.linalg.svd(X, full_matrices=True)
    r = int((s > rtol * s[0]).sum()) if s.size and s[0] > 0 else 0
    V, V0 = Vt[:r].T, Vt[r:].T
    K = V.T @ X.T @ Y @ V
    A = K - K.T
    den = s[:r, None] ** 2 + s[None, :r] ** 2
    iu = np.triu_indices(r, 1)
    return math.sqrt(float((A[iu] ** 2 / den[iu]).sum()) + float(np.linalg.norm(Y @ V0) ** 2))


def dense_least_norm(X: Any, Y: Any) -> Any:
    """The textbook dense formula ``Y X^+ + (X^+)^T Y^T (I - X X^+)`` through a pseudo-inverse.

    Forms D x D matrices, and the last product multiplies two of them: O(D^3) time, O(D^2) memory.
    The least-norm solution of ``H X = Y`` on consistent data; used to time the naive route.

    Args:
        X, Y: (D, n) numpy arrays (``np.linalg.pinv``) or torch tensors (``torch.linalg.pinv``).

    Returns:
        (D, D) array of the input's kind.

    Raises:
        ValueError: shapes differ or are not 2-D.
    """
    if isinstance(X, torch.Tensor) and isinstance(Y, torch.Tensor):
        if X.ndim != 2 or X.shape != Y.shape:
            raise ValueError(f"X {tuple(X.shape)} and Y {tuple(Y.shape)} must both be (D, n).")
        Xp = torch.linalg.pinv(X)
        eye = torch.eye(X.shape[0], dtype=X.dtype, device=X.device)
        return Y @ Xp + Xp.T @ Y.T @ (eye - X @ Xp)
    X, Y = _pair(X, Y)
    Xp = np.linalg.pinv(X)
    return Y @ Xp + Xp.T @ Y.T @ (np.eye(X.shape[0]) - X @ Xp)
