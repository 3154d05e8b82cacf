"""The least-norm Hessian with the rows of X and Y spread over shards or processes.

The only step of :func:`~hessnotes.secant.least_norm_hessian` that mixes rows is the Gram matrix
``Z^T Z`` of ``Z = [X Y]``, a sum over row blocks; everything else is small (2n x 2n) or row-local.

* :func:`sharded_gram`: per-shard Gram matrices, whose sum is the full one (the all-reduce);
* :func:`least_norm_from_gram`: the estimate from the Gram matrix alone (optionally a second,
  CholeskyQR2 pass for accuracy);
* :func:`least_norm_sharded`: the whole algorithm shard by shard in one process;
* :func:`least_norm_distributed`: the same over ``torch.distributed`` processes (one all-reduce
  of a 2n x 2n matrix per pass), run for real in two local processes by
  :func:`gloo_all_reduce_demo`.

Arrays are (D, n) with the pairs in columns, as in :mod:`hessnotes.secant`.

Chapters: "High dimensions".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from hessnotes._linalg import check_tol
from hessnotes.lowrank import LowRankSymmetric
from hessnotes.secant import least_norm_hessian

__all__ = [
    "gloo_all_reduce_demo",
    "least_norm_distributed",
    "least_norm_from_gram",
    "least_norm_sharded",
    "sharded_gram",
]


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
    out = [_block_gram(Xp, Yp) for Xp, Yp in _shards(Xt, Yt, shards)]
    return [g.numpy() for g in out] if is_np else out


def _shards(X: torch.Tensor, Y: torch.Tensor, shards: int):
    """The row blocks ``(X_p, Y_p)`` as views: ``Z_p = [X_p Y_p]`` is never copied, so the
    sharded algorithm needs no memory of the size of its data beyond the factor it returns."""
    return zip(
        torch.tensor_split(X, shards, dim=0), torch.tensor_split(Y, shards, dim=0), strict=True
    )


def _block_gram(Xp: torch.Tensor, Yp: torch.Tensor) -> torch.Tensor:
    """``Z_p^T Z_p`` for ``Z_p = [X_p Y_p]`` from its four blocks."""
    XY = Xp.T @ Yp
    return torch.cat([torch.cat([Xp.T @ Xp, XY], dim=1), torch.cat([XY.T, Yp.T @ Yp], dim=1)])


def _rows_times(Xp: torch.Tensor, Yp: torch.Tensor, M: torch.Tensor, out=None) -> torch.Tensor:
    """``Z_p M = X_p M[:n] + Y_p M[n:]`` (written into ``out`` if given)."""
    n = Xp.shape[1]
    out = torch.matmul(Xp, M[:n], out=out)
    return out.addmm_(Yp, M[n:])


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
    else:
        rtol = check_tol(rtol, "rtol")
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
    with warnings.catch_warnings():  # coordinates of r <= 2n rows: r < n is not a transposition
        warnings.filterwarnings("ignore", "X and Y have shape", UserWarning)
        Hs = least_norm_hessian(R[:, :n], R[:, n:])
    T, lam = W @ Hs.Q, Hs.lam
    return (T.numpy(), lam.numpy()) if isinstance(G, np.ndarray) else (T, lam)


def least_norm_sharded(X: Any, Y: Any, shards: int, *, passes: int = 1) -> LowRankSymmetric:
    """:func:`~hessnotes.secant.least_norm_hessian` computed shard by shard, in one process.

    Steps: per-shard Gram matrices (:func:`sharded_gram`); their sum (the all-reduce); with
    ``passes=2`` a second Gram matrix of the shards' rows of ``Z W``, summed again (CholeskyQR2);
    the small problem (:func:`least_norm_from_gram`); each shard's rows ``Z_p T`` (local work);
    finally the rows are written into one Q, which a distributed code would not do. The shards are
    views of X and Y, so the only large allocation is Q itself.

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

    def second_gram(W: torch.Tensor) -> torch.Tensor:
        Wt = W.to(dtype=Xt.dtype, device=Xt.device)
        local = (_rows_times(Xp, Yp, Wt) for Xp, Yp in _shards(Xt, Yt, shards))
        return sum(q.T @ q for q in local)  # the second all-reduce

    T, lam = least_norm_from_gram(
        torch.as_tensor(G), X.shape[1], refine=second_gram if passes == 2 else None
    )
    # Each shard forms its own rows Z_p T of the factor, written straight into Q.
    Tt = T.to(dtype=Xt.dtype, device=Xt.device)
    Q = torch.empty(Xt.shape[0], Tt.shape[1], dtype=Xt.dtype, device=Xt.device)
    row = 0
    for Xp, Yp in _shards(Xt, Yt, shards):
        _rows_times(Xp, Yp, Tt, out=Q[row : row + Xp.shape[0]])
        row += Xp.shape[0]
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
