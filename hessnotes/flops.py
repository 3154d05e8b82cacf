"""Counting floating-point operations, for cost claims that do not depend on the machine.

A wall-clock time depends on the CPU, its kernels and whatever else runs on it; the number of
floating-point operations a computation dispatches does not. The chapter "High dimensions" asserts
its cost claims on counts, and keeps timings as an illustration (the speed claims themselves are
measured in ``benchmarks/bench_secant.py``).

* :func:`count_flops`: the flops of the matrix products that ``f(*args)`` dispatches, counted by
  ``torch.utils.flop_counter.FlopCounterMode``.

A tool: it imports nothing of the library's domains. The counts of the book's algorithms are in
:mod:`hessnotes.costs` (``flops_vs_dimension`` moved there; ``hessnotes.flops.flops_vs_dimension``
still works).

``FlopCounterMode`` counts matrix-matrix products (``mm``, ``addmm``, ``bmm``, ...) at 2 flops per
multiply-add; it does not count matrix-vector products (``mv``), factorisations (Cholesky, QR,
SVD, eigh, triangular solves) or elementwise work.

Chapters: "Derivatives as linear maps, and the chain rule", "Automatic differentiation from
scratch", "Differentiating through an ODE", "The blog post's eigen-derivation, revisited", "Noisy
pairs and a real network", "High dimensions", "Limited-memory updates", "Exact curvature",
"Kronecker sums and tensor Sylvester equations", "Second derivatives and Newton's method", "The
least-norm Hessian", "The vec trick".
"""

from __future__ import annotations

from collections.abc import Callable

from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_flops"]


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
