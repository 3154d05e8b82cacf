"""Counting floating-point operations, for cost claims that do not depend on the machine.

A wall-clock time depends on the CPU, its kernels and whatever else runs on it; the number of
floating-point operations a computation dispatches does not. The chapter "High dimensions" asserts
its cost claims on counts, and keeps timings as an illustration (the speed claims themselves are
measured in ``benchmarks/bench_secant.py``).

* :func:`count_flops`: the flops of the matrix products that ``f(*args)`` dispatches, counted by
  ``torch.utils.flop_counter.FlopCounterMode``;
* :func:`flops_vs_dimension`: that count for :func:`~hessnotes.secant.least_norm_hessian` and for
  the dense formula :func:`~hessnotes.references.dense_least_norm` over a range of D.

``FlopCounterMode`` counts matrix-matrix products (``mm``, ``addmm``, ``bmm``, ...) at 2 flops per
multiply-add; it does not count matrix-vector products (``mv``), factorisations (Cholesky, QR,
SVD, eigh, triangular solves) or elementwise work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from hessnotes.references import dense_least_norm
from hessnotes.secant import least_norm_hessian

__all__ = ["count_flops", "flops_vs_dimension"]


def count_flops(f: Callable[..., object], *args: object, **kwargs: object) -> int:
    """Flops of the matrix products torch dispatches while ``f(*args, **kwargs)`` runs.

    Counted by ``torch.utils.flop_counter.FlopCounterMode``: 2 flops per multiply-add of every
    matrix-matrix product ``mm``, ``addmm``, ``bmm`` (and convolution); a product
    ``(m, k) @ (k, p)`` counts ``2 m k p``. Matrix-vector products (``mv``), factorisations,
    solves and elementwise operations are not counted, nor is numpy work. The
    count depends only on the shapes and on the branches ``f`` takes, not on the machine; ``f``
    may run on ``meta`` tensors (shapes without data), which costs no arithmetic at all.

    Args:
        f: the computation.
        *args, **kwargs: its arguments.

    Returns:
        The count, an int (0 if ``f`` does no matrix product).

    Raises:
        TypeError: if ``f`` is not callable.
    """
    if not callable(f):
        raise TypeError(f"f is {type(f).__name__}; give the function whose flops to count.")
    with FlopCounterMode(display=False) as counter:
        f(*args, **kwargs)
    return int(counter.get_total_flops())


def flops_vs_dimension(Ds: Sequence[int], n: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Counted flops of :func:`~hessnotes.secant.least_norm_hessian` and :func:`dense_least_norm`.

    The low-rank route runs on seeded random float64 torch (D, n) pairs, since it branches on the
    data (the conditioning of ``[X Y]`` picks the Gram route for such pairs). The dense route
    ``Y X^+ + (X^+)^T Y^T (I - X X^+)`` takes no data-dependent branch, so it is counted on
    ``meta`` tensors: no D x D array is formed, and D = 10^6 costs nothing. Its count is
    ``2 D^3 + 6 D^2 n`` (the final D x D product and three (D, n) x (n, D) products); the SVD
    inside ``pinv`` is not counted.

    Args:
        Ds: dimensions, each at least 1.
        n: number of pairs, at least 1.
        seed: seed of the data.

    Returns:
        ``{"D": (m,), "low-rank": (m,), "dense": (m,)}``: int64 arrays of D and of the counts.

    Raises:
        ValueError: if ``Ds`` is empty, a D or n is below 1, or a dense count would not fit in
            int64 (D above about 1.6 million).
    """
    Ds = [int(D) for D in Ds]
    if not Ds or min(Ds) < 1 or n < 1:
        raise ValueError(
            f"need a non-empty list of dimensions >= 1 and n >= 1; got Ds={Ds}, n={n}."
        )
    if 2 * max(Ds) ** 3 + 6 * max(Ds) ** 2 * n >= 2**63:
        raise ValueError(
            f"D = {max(Ds)}: the dense count 2 D^3 + 6 D^2 n would overflow int64; keep D below "
            "about 1.6e6."
        )
    gen = torch.Generator().manual_seed(seed)
    low, dense = [], []
    for D in Ds:
        X = torch.randn(D, n, generator=gen, dtype=torch.float64)
        Y = torch.randn(D, n, generator=gen, dtype=torch.float64)
        low.append(count_flops(least_norm_hessian, X, Y))
        del X, Y
        Xm = torch.empty(D, n, dtype=torch.float64, device="meta")
        dense.append(count_flops(dense_least_norm, Xm, torch.empty_like(Xm)))
    return {
        "D": np.asarray(Ds, dtype=np.int64),
        "low-rank": np.asarray(low, dtype=np.int64),
        "dense": np.asarray(dense, dtype=np.int64),
    }
