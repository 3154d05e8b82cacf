"""Reusable experiments for the chapters "Noisy pairs and a real network" and "High dimensions".

Small, seeded building blocks that the chapters call and the tests pin down:

* references for the noisy (inconsistent) secant problem: :func:`brute_force_symmetric_lstsq`
  and the closed-form minimal residual :func:`procrustes_residual`;
* test problems and estimator comparisons: :func:`spd_with_spectrum`, :func:`standard_estimators`,
  :func:`bfgs_skipping`, :func:`fit_estimators`, :func:`estimator_errors`, :func:`full_spectrum`;
* timings: :func:`best_of`, :func:`dense_least_norm`, :func:`time_vs_dimension`,
  :func:`loglog_slope`;
* going past one machine: :func:`sharded_gram`, :func:`least_norm_from_gram`,
  :func:`least_norm_sharded` (shards in one process) and :func:`least_norm_distributed` (one
  ``torch.distributed`` all-reduce of a 2n x 2n matrix), run for real in two local processes by
  :func:`gloo_all_reduce_demo`.

Arrays are (D, n) with the pairs in columns, as in :mod:`hessnotes.secant`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from hessnotes.lowrank import LowRankSymmetric
from hessnotes.secant import (
    bfgs_hessian,
    least_change_hessian,
    least_norm_hessian,
    min_rank_hessian,
    scaling_gamma,
)

__all__ = [
    "best_of",
    "bfgs_skipping",
    "brute_force_symmetric_lstsq",
    "dense_least_norm",
    "estimator_errors",
    "fit_estimators",
    "full_spectrum",
    "gloo_all_reduce_demo",
    "least_norm_distributed",
    "least_norm_from_gram",
    "least_norm_sharded",
    "loglog_slope",
    "procrustes_residual",
    "sharded_gram",
    "spd_with_spectrum",
    "standard_estimators",
    "time_vs_dimension",
]

Estimator = Callable[[Any, Any], LowRankSymmetric]


def _np2d(a: Any, name: str) -> np.ndarray:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    if a.ndim != 2 or a.dtype.kind != "f":
        raise ValueError(f"{name} must be a 2-D float array (D, n); got {a.dtype} {a.shape}.")
    return a.astype(np.float64, copy=False)


def _pair(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X, Y = _np2d(X, "X"), _np2d(Y, "Y")
    if X.shape != Y.shape:
        raise ValueError(f"X has shape {X.shape} but Y has shape {Y.shape}; both must be (D, n).")
    return X, Y


# ------------------------------------------------------------------------ noisy pairs
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
    X, Y = _pair(X, Y)
    _, s, Vt = np.linalg.svd(X, full_matrices=True)
    r = int((s > rtol * s[0]).sum()) if s.size and s[0] > 0 else 0
    V, V0 = Vt[:r].T, Vt[r:].T
    K = V.T @ X.T @ Y @ V
    A = K - K.T
    den = s[:r, None] ** 2 + s[None, :r] ** 2
    iu = np.triu_indices(r, 1)
    return math.sqrt(float((A[iu] ** 2 / den[iu]).sum()) + float(np.linalg.norm(Y @ V0) ** 2))


def bfgs_skipping(X: Any, Y: Any, *, tol: float = 1e-8) -> LowRankSymmetric:
    """Compact BFGS from ``gamma I`` on the pairs with positive curvature only.

    Pairs with ``s_i^T y_i <= tol ||s_i|| ||y_i||`` are skipped (the usual safeguard: BFGS needs
    positive curvature to stay positive definite); ``gamma = scaling_gamma`` of the kept pairs.

    Args:
        X, Y: (D, n) steps and gradient differences (numpy or torch).
        tol: curvature threshold, as in :func:`hessnotes.secant.bfgs_hessian`.

    Returns:
        LowRankSymmetric, positive definite.

    Raises:
        ValueError: if no pair has positive curvature (BFGS is undefined), or bad input as
            :func:`hessnotes.secant.bfgs_hessian`.
    """
    sy = (X * Y).sum(0)
    keep = sy > tol * ((X * X).sum(0) * (Y * Y).sum(0)) ** 0.5
    if not bool(keep.any()):
        raise ValueError(
            f"bfgs_skipping: none of the {X.shape[1]} pairs has positive curvature s^T y > 0; "
            "BFGS is undefined here. Use least_change_hessian (PSB) or least_norm_hessian."
        )
    Xk, Yk = X[:, keep], Y[:, keep]
    return bfgs_hessian(Xk, Yk, scaling_gamma(Xk, Yk), tol=tol)


def _psb(X: Any, Y: Any) -> LowRankSymmetric:
    return least_change_hessian(X, Y, scaling_gamma(X, Y))


def standard_estimators() -> dict[str, Estimator]:
    """The four estimators the chapters compare, by display name.

    * ``"min-norm"``: :func:`~hessnotes.secant.least_norm_hessian`;
    * ``"min-rank"``: :func:`~hessnotes.secant.min_rank_hessian` (SR1 from 0);
    * ``"PSB(γ)"``: :func:`~hessnotes.secant.least_change_hessian` from ``gamma I``;
    * ``"BFGS(γ)"``: :func:`bfgs_skipping` (compact BFGS from ``gamma I``);

    with ``gamma = scaling_gamma(X, Y)`` (``y^T s / s^T s`` of the last pair used).
    """
    return {
        "min-norm": least_norm_hessian,
        "min-rank": min_rank_hessian,
        "PSB(γ)": _psb,
        "BFGS(γ)": bfgs_skipping,
    }


def fit_estimators(
    X: Any, Y: Any, estimators: dict[str, Estimator], ns: Sequence[int]
) -> dict[str, list[LowRankSymmetric | None]]:
    """Each estimator on the first n pairs, for every n in ``ns``.

    Returns:
        name -> list (one entry per n) of the estimate, or ``None`` where the estimator raised
        ``ValueError`` (a breakdown such as SR1's singular ``X^T Y`` or BFGS without positive
        curvature).

    Raises:
        ValueError: if some n is not in ``1..X.shape[1]``.
    """
    N = X.shape[1]
    bad = [n for n in ns if not 1 <= n <= N]
    if bad:
        raise ValueError(f"ns holds {bad}, outside 1..{N} (the number of columns of X).")
    out: dict[str, list[LowRankSymmetric | None]] = {}
    for name, est in estimators.items():
        fits: list[LowRankSymmetric | None] = []
        for n in ns:
            try:
                fits.append(est(X[:, :n], Y[:, :n]))
            except ValueError:
                fits.append(None)
        out[name] = fits
    return out


def estimator_errors(
    H_true: Any, X: Any, Y: Any, estimators: dict[str, Estimator], ns: Sequence[int]
) -> dict[str, np.ndarray]:
    """Relative Frobenius errors ``||H_est - H_true||_F / ||H_true||_F`` against n (small D).

    Args:
        H_true: (D, D) the true Hessian (numpy or torch).
        X, Y: (D, N) pairs; the estimate for n uses the first n columns.
        estimators: name -> ``f(X, Y) -> LowRankSymmetric`` (see :func:`standard_estimators`).
        ns: numbers of pairs, each in ``1..N``.

    Returns:
        name -> (len(ns),) float64 array; NaN marks a breakdown (see :func:`fit_estimators`).

    Raises:
        ValueError: H_true not (D, D), or ns out of range.
    """
    Ht = _np2d(H_true, "H_true")
    D = X.shape[0]
    if Ht.shape != (D, D):
        raise ValueError(f"H_true has shape {Ht.shape}; expected ({D}, {D}) to match X.")
    ref = np.linalg.norm(Ht)
    fits = fit_estimators(X, Y, estimators, ns)
    return {
        name: np.array(
            [np.nan if H is None else np.linalg.norm(_np2d(H.dense(), "H") - Ht) / ref for H in hs]
        )
        for name, hs in fits.items()
    }


def full_spectrum(H: LowRankSymmetric) -> np.ndarray:
    """All D eigenvalues of ``H = sigma I + Q diag(lam) Q^T``, descending, without a D x D array.

    They are ``sigma + lam_i`` and ``sigma`` repeated ``D - r`` times. Returns a float64 numpy
    array of shape (D,).
    """
    lam = np.asarray(
        H.eigvals().detach().cpu() if isinstance(H.eigvals(), torch.Tensor) else H.eigvals(),
        dtype=np.float64,
    )
    D = H.shape[0]
    ev = np.concatenate([H.sigma + lam, np.full(D - lam.size, H.sigma)])
    return np.sort(ev)[::-1]


# ------------------------------------------------------------------------ timings
def best_of(f: Callable[[], object], k: int = 5, *, budget: float = 0.0) -> float:
    """Smallest wall-clock time in seconds of repeated calls of ``f``: robust to a busy machine.

    Calls ``f`` at least ``k`` times, and keeps calling (up to 100 times) while less than
    ``budget`` seconds have been spent, so that fast calls get many chances to run undisturbed.

    Raises:
        ValueError: if ``k < 1``.
    """
    if k < 1:
        raise ValueError(f"k={k} must be at least 1.")
    best, spent, calls = math.inf, 0.0, 0
    while calls < k or (spent < budget and calls < 100):
        t0 = time.perf_counter()
        f()
        dt = time.perf_counter() - t0
        best, spent, calls = min(best, dt), spent + dt, calls + 1
    return best


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


def time_vs_dimension(
    Ds: Sequence[int],
    n: int,
    *,
    dense_max: int = 3000,
    k: int = 5,
    dense_k: int = 2,
    budget: float = 0.2,
    threads: int | None = 1,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Best-of-k times of :func:`~hessnotes.secant.least_norm_hessian` and
    :func:`dense_least_norm` on random float64 torch (D, n) pairs.

    Both routes run through torch (the same BLAS) on ``threads`` threads (torch's setting is
    restored afterwards): one thread keeps the timings steady when other work shares the machine.

    Args:
        Ds: dimensions to time.
        n: number of pairs.
        dense_max: the dense formula is timed only for ``D <= dense_max`` (NaN above).
        k, dense_k: least numbers of repetitions of the low-rank and the dense route.
        budget: seconds the low-rank route may spend on extra repetitions (see :func:`best_of`).
        threads: torch threads while timing (None: leave unchanged).
        seed: seed of the data.

    Returns:
        ``{"D": (m,), "low-rank": (m,), "dense": (m,)}``, times in seconds.
    """
    gen = torch.Generator().manual_seed(seed)
    low, dense = [], []
    old = torch.get_num_threads()
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        for D in Ds:
            X = torch.randn(D, n, generator=gen, dtype=torch.float64)
            Y = torch.randn(D, n, generator=gen, dtype=torch.float64)
            least_norm_hessian(X, Y)  # warm-up
            low.append(best_of(lambda X=X, Y=Y: least_norm_hessian(X, Y), k, budget=budget))
            dense.append(
                best_of(lambda X=X, Y=Y: dense_least_norm(X, Y), dense_k)
                if D <= dense_max
                else np.nan
            )
    finally:
        torch.set_num_threads(old)
    return {
        "D": np.asarray(Ds, dtype=np.float64),
        "low-rank": np.array(low),
        "dense": np.array(dense),
    }


def loglog_slope(x: Any, y: Any, *, xmin: float = 0.0) -> float:
    """Least-squares slope of ``log y`` against ``log x`` over the finite points with x >= xmin.

    Raises:
        ValueError: fewer than two usable points.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y) & (x >= xmin) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        raise ValueError(
            f"need at least two finite positive points with x >= {xmin}; got {ok.sum()}."
        )
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


# ------------------------------------------------------------------------ past one machine
def _torch2(a: Any, name: str) -> tuple[torch.Tensor, bool]:
    if isinstance(a, torch.Tensor):
        t, is_np = a, False
    elif isinstance(a, np.ndarray):
        t, is_np = torch.from_numpy(a), True
    else:
        raise TypeError(f"{name} must be a numpy array or a torch tensor; got {type(a).__name__}.")
    if t.dtype not in (torch.float32, torch.float64) or t.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D float32/float64 array; got {t.dtype} {tuple(t.shape)}."
        )
    return t, is_np


def sharded_gram(X: Any, Y: Any, shards: int) -> list[Any]:
    """Per-shard Gram matrices ``Z_p^T Z_p`` of ``Z = [X Y]`` split into row blocks.

    Shard p holds rows ``D_p`` of X and Y (contiguous blocks of nearly equal size). Their sum is
    the full Gram matrix ``Z^T Z`` (2n x 2n): the one all-reduce of the distributed algorithm.

    Args:
        X, Y: (D, n) numpy arrays or torch tensors of the same kind, dtype and device.
        shards: number of row blocks, ``1 <= shards <= D``.

    Returns:
        List of ``shards`` (2n, 2n) arrays of the input's kind, dtype and device.

    Raises:
        ValueError: shapes differ or ``shards`` is out of range.
    """
    Xt, is_np = _torch2(X, "X")
    Yt, _ = _torch2(Y, "Y")
    if Xt.shape != Yt.shape:
        raise ValueError(f"X has shape {tuple(Xt.shape)} but Y {tuple(Yt.shape)}; both (D, n).")
    if not 1 <= shards <= Xt.shape[0]:
        raise ValueError(f"shards={shards} must be in 1..D={Xt.shape[0]}.")
    Z = torch.cat([Xt, Yt], dim=1)
    out = [Zp.T @ Zp for Zp in torch.tensor_split(Z, shards, dim=0)]
    return [g.numpy() for g in out] if is_np else out


def least_norm_from_gram(
    G: Any,
    n: int,
    *,
    rtol: float | None = None,
    refine: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[Any, Any]:
    """Least-norm Hessian from the Gram matrix of ``Z = [X Y]``: ``H = Z T diag(lam) T^T Z^T``.

    From ``G = Z^T Z = V diag(mu) V^T`` (keeping ``mu > rtol * max mu``), ``W = V diag(mu^{-1/2})``
    makes ``Q_Z = Z W`` orthonormal and ``Z = Q_Z R`` with ``R = diag(mu^{1/2}) V^T``. The problem
    shrinks to ``(Xh, Yh) = (R[:, :n], R[:, n:])``, solved by
    :func:`~hessnotes.secant.least_norm_hessian` (``Hs = Qs diag(lam) Qs^T``), and
    ``T = W Qs`` (2n x r). Each worker then forms its own rows ``Z_p T`` with no more communication.

    One Gram matrix squares the condition number of Z: the columns of ``Z W`` lose orthogonality
    like ``eps * kappa(Z)^2``. ``refine`` repairs this as CholeskyQR2 does: it must return the Gram
    matrix ``(Z W)^T (Z W)`` of the *computed* ``Z W`` (a second pass over the data, and a second
    all-reduce); with its Cholesky factor ``L L^T``, ``W <- W L^{-T}`` and ``R <- L^T R``.

    Args:
        G: (2n, 2n) symmetric positive semi-definite Gram matrix (numpy or torch).
        n: number of pairs.
        rtol: relative cut-off on the eigenvalues of G; default ``2n * eps`` of float64.
        refine: optional ``W -> (Z W)^T (Z W)`` for the second (CholeskyQR2) pass; W is a (2n, k)
            float64 CPU tensor.

    Returns:
        ``(T, lam)`` of shapes (2n, r) and (r,), float64, G's kind (torch results on the CPU).

    Raises:
        ValueError: G not (2n, 2n), not finite or zero; the refining Gram matrix not positive
            definite (Z too ill-conditioned even for two passes: use least_norm_hessian).
    """
    Gt = torch.as_tensor(G).detach().to(device="cpu", dtype=torch.float64)
    if Gt.shape != (2 * n, 2 * n):
        raise ValueError(f"G has shape {tuple(Gt.shape)}; expected (2n, 2n) = ({2 * n}, {2 * n}).")
    if not bool(torch.isfinite(Gt).all()):
        raise ValueError("G holds NaN or Inf; check X and Y.")
    mu, V = torch.linalg.eigh((Gt + Gt.T) / 2)
    if float(mu[-1]) <= 0:
        raise ValueError("G is zero: X and Y are zero, so there is nothing to estimate.")
    if rtol is None:
        rtol = 2 * n * float(torch.finfo(torch.float64).eps)
    keep = mu > rtol * mu[-1]
    mu, V = mu[keep], V[:, keep]
    W, R = V / mu.sqrt(), mu.sqrt()[:, None] * V.T
    if refine is not None:
        G2 = torch.as_tensor(refine(W)).detach().to(device="cpu", dtype=torch.float64)
        L, info = torch.linalg.cholesky_ex((G2 + G2.T) / 2)
        if int(info) != 0:
            raise ValueError(
                "the second Gram matrix is not positive definite: [X Y] is too ill-conditioned "
                "for CholeskyQR2; use least_norm_hessian (Householder QR)."
            )
        W = torch.linalg.solve_triangular(L, W.T, upper=False).T  # W L^{-T}
        R = L.T @ R
    Hs = least_norm_hessian(R[:, :n], R[:, n:])
    T, lam = W @ Hs.Q, Hs.lam
    return (T.numpy(), lam.numpy()) if isinstance(G, np.ndarray) else (T, lam)


def least_norm_sharded(X: Any, Y: Any, shards: int, *, passes: int = 1) -> LowRankSymmetric:
    """:func:`~hessnotes.secant.least_norm_hessian` computed shard by shard, in one process.

    Steps: per-shard Gram matrices (:func:`sharded_gram`); their sum (the all-reduce); with
    ``passes=2`` a second Gram matrix of the shards' rows of ``Z W``, summed again (CholeskyQR2);
    the small problem (:func:`least_norm_from_gram`); each shard's rows ``Z_p T`` (local work);
    finally the rows are stacked, which a distributed code would not do.

    Args:
        X, Y: (D, n) numpy arrays or torch tensors, float32 or float64.
        shards: number of row blocks.
        passes: 1 (one all-reduce, accurate while kappa([X Y]) stays well below 1e8 ** 0.5) or 2
            (CholeskyQR2, two all-reduces).

    Returns:
        LowRankSymmetric of X's kind; its constructor verifies that Q is orthonormal.

    Raises:
        ValueError: as :func:`sharded_gram` and :func:`least_norm_from_gram`; ``passes`` not 1 or 2;
            Q not orthonormal to ``sqrt(eps)`` (one pass on ill-conditioned data: use passes=2).
    """
    if passes not in (1, 2):
        raise ValueError(f"passes={passes}; use 1 (Gram) or 2 (CholeskyQR2).")
    grams = sharded_gram(X, Y, shards)
    G = sum(grams[1:], grams[0])  # the all-reduce
    Xt, _ = _torch2(X, "X")
    Yt, _ = _torch2(Y, "Y")
    blocks = torch.tensor_split(torch.cat([Xt, Yt], dim=1), shards, dim=0)

    def local(M: torch.Tensor) -> list[torch.Tensor]:
        Mt = M.to(dtype=Xt.dtype, device=Xt.device)
        return [Zp @ Mt for Zp in blocks]

    def second_gram(W: torch.Tensor) -> torch.Tensor:
        return sum(q.T @ q for q in local(W))  # the second all-reduce

    T, lam = least_norm_from_gram(
        torch.as_tensor(G), X.shape[1], refine=second_gram if passes == 2 else None
    )
    Q = torch.cat(local(T), dim=0)
    lam_t = lam.to(dtype=Xt.dtype, device=Xt.device)
    if isinstance(X, np.ndarray):
        return LowRankSymmetric(Q.numpy(), lam_t.numpy())
    return LowRankSymmetric(Q, lam_t)


def least_norm_distributed(
    X_local: torch.Tensor, Y_local: torch.Tensor, *, passes: int = 1, rtol: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-norm Hessian with the rows of X and Y spread over ``torch.distributed`` processes.

    Each process passes its rows (D_p, n) of X and Y. One ``all_reduce`` (sum) of the local Gram
    matrix ``Z_p^T Z_p`` (2n x 2n) gives every process the full Gram matrix (``passes=2`` adds a
    second all-reduce, CholeskyQR2); the small problem is solved redundantly
    (:func:`least_norm_from_gram`) and each process forms its rows of Q.
    Then ``H = Q diag(lam) Q^T`` with Q stacked over the processes in rank order; a product
    ``H v`` needs one more all-reduce, of ``Q_p^T v_p`` (r numbers).

    Args:
        X_local, Y_local: (D_p, n) torch tensors, float32 or float64, on the process's device.
        passes: 1 or 2, as :func:`least_norm_sharded`.
        rtol: as :func:`least_norm_from_gram`.

    Returns:
        ``(Q_local, lam)``: (D_p, r) rows of the orthonormal factor and the (r,) eigenvalues.

    Raises:
        RuntimeError: if no process group is initialised.
        ValueError: as :func:`sharded_gram`; ``passes`` not 1 or 2.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError(
            "least_norm_distributed needs an initialised process group: call "
            "torch.distributed.init_process_group(...) first, or use least_norm_sharded."
        )
    if passes not in (1, 2):
        raise ValueError(f"passes={passes}; use 1 (Gram) or 2 (CholeskyQR2).")
    Z = torch.cat([X_local, Y_local], dim=1)

    def all_reduced_gram(M: torch.Tensor) -> torch.Tensor:
        G = (M.T @ M).to(torch.float64)
        dist.all_reduce(G, op=dist.ReduceOp.SUM)
        return G.cpu()

    def second_gram(W: torch.Tensor) -> torch.Tensor:
        return all_reduced_gram(Z @ W.to(dtype=Z.dtype, device=Z.device))

    T, lam = least_norm_from_gram(
        all_reduced_gram(Z),
        X_local.shape[1],
        rtol=rtol,
        refine=second_gram if passes == 2 else None,
    )
    return Z @ T.to(dtype=Z.dtype, device=Z.device), lam.to(dtype=Z.dtype, device=Z.device)


def _gloo_worker(
    rank: int, world: int, port: int, D: int, n: int, seed: int, passes: int, queue: Any
) -> None:
    """One process of :func:`gloo_all_reduce_demo`: report (rank, Gram error, H v error, error)."""
    import torch.distributed as dist

    try:
        torch.set_num_threads(1)
        dist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
        )
        gen = torch.Generator().manual_seed(seed)
        X, Y = (torch.randn(D, n, generator=gen, dtype=torch.float64) for _ in range(2))
        v = torch.randn(D, generator=gen, dtype=torch.float64)
        rows = torch.tensor_split(torch.arange(D), world)[rank]
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        (G,) = sharded_gram(X[lo:hi], Y[lo:hi], 1)
        dist.all_reduce(G)
        Z = torch.cat([X, Y], dim=1)
        gram_err = float(torch.linalg.norm(G - Z.T @ Z) / torch.linalg.norm(Z.T @ Z))
        Q, lam = least_norm_distributed(X[lo:hi], Y[lo:hi], passes=passes)
        c = Q.T @ v[lo:hi]
        dist.all_reduce(c)  # H v needs one all-reduce of r numbers
        want = (least_norm_hessian(X, Y) @ v)[lo:hi]
        hv_err = float(torch.linalg.norm(Q @ (lam * c) - want) / torch.linalg.norm(want))
        dist.destroy_process_group()
        queue.put((rank, gram_err, hv_err, ""))
    except Exception as e:  # report, never hang the parent
        queue.put((rank, math.nan, math.nan, f"{type(e).__name__}: {e}"))


def gloo_all_reduce_demo(
    *,
    world: int = 2,
    D: int = 100_000,
    n: int = 8,
    passes: int = 1,
    seed: int = 0,
    timeout: float = 60.0,
) -> dict[str, float]:
    """Run :func:`least_norm_distributed` in ``world`` real processes on this machine.

    The processes talk through ``torch.distributed`` with the gloo backend over TCP on 127.0.0.1.
    Each draws the same seeded (D, n) pairs, keeps its block of rows, all-reduces its Gram matrix
    and forms its rows of Q; one more all-reduce gives its rows of ``H v``. Both are compared with
    the single-process results.

    Args:
        world: number of processes.
        D, n: size of the pairs.
        passes: 1 or 2 all-reduces of Gram matrices, as :func:`least_norm_sharded`.
        seed: seed of X, Y and v.
        timeout: seconds to wait for the processes.

    Returns:
        ``{"gram": max relative error of the all-reduced Gram matrix, "hv": max relative error of
        the rows of H v}`` over the processes.

    Raises:
        RuntimeError: a process failed or did not finish in time (its message is included).
    """
    import socket

    import torch.multiprocessing as tmp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = tmp.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(
            target=_gloo_worker, args=(r, world, port, D, n, seed, passes, queue), daemon=True
        )
        for r in range(world)
    ]
    for p in procs:
        p.start()
    results = []
    try:
        for _ in range(world):
            results.append(queue.get(timeout=timeout))
    except Exception as e:
        raise RuntimeError(f"gloo demo: only {len(results)} of {world} processes reported") from e
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    bad = [r for r in results if r[3]]
    if bad:
        raise RuntimeError(f"gloo demo: process {bad[0][0]} failed: {bad[0][3]}")
    return {"gram": max(r[1] for r in results), "hv": max(r[2] for r in results)}
