"""What the book's algorithms cost: timings and flop counts, measured the same way each time.

* :func:`time_vs_dimension`: best-of-k times of :func:`~hessnotes.secant.least_norm_hessian`
  against the dense formula :func:`~hessnotes.references.dense_least_norm` over a range of D;
* :func:`flops_vs_dimension`: their counted flops, machine-independent;
* :func:`kron_matvec_timings`: ``(U ⊗ … ⊗ U) x`` by the explicit Kronecker product against
  :func:`~hessnotes.kron.kron_matvec`, and :func:`loglog_slope` its fitted exponent.

Moved here from :mod:`hessnotes.timing`, :mod:`hessnotes.flops` and :mod:`hessnotes.kron`, whose
old addresses still work (the package re-exports them there).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from functools import reduce
from typing import Any

import numpy as np
import torch

from hessnotes.flops import count_flops
from hessnotes.kron import _posint, kron_matvec
from hessnotes.references import dense_least_norm
from hessnotes.secant import least_norm_hessian
from hessnotes.timing import best_of, torch_threads

__all__ = ["flops_vs_dimension", "kron_matvec_timings", "loglog_slope", "time_vs_dimension"]


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
    with torch_threads(threads):
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
    return {
        "D": np.asarray(Ds, dtype=np.float64),
        "low-rank": np.array(low),
        "dense": np.array(dense),
    }


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


def kron_matvec_timings(
    ns: Sequence[int], *, k: int = 3, repeats: int = 5, max_explicit_n: int = 16, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock times of ``(U ⊗ … ⊗ U) x``, explicit ``np.kron`` against :func:`kron_matvec`.

    For each ``n`` in ``ns`` a seeded (n, n) matrix ``U`` and a vector of length ``n**k`` are drawn.
    The explicit method forms the ``n**k × n**k`` Kronecker product and multiplies (``O(n^{2k})``
    work and memory); the mode-product method costs ``O(k n^{k+1})``. Each is timed ``repeats``
    times (each time the mean over enough calls to last about 1 ms, after one warm-up call), so
    that a plot can show the best run and the spread rather than one lucky or unlucky run.

    Args:
        ns: matrix sizes, increasing.
        k: number of factors.
        repeats: timings per size and method.
        max_explicit_n: largest ``n`` for which the explicit product is formed (memory
            ``8 n^{2k}`` bytes); larger sizes get NaN.
        seed: seed of the generator.

    Returns:
        ``(t_explicit, t_modes)``, each of shape (len(ns), repeats), in seconds.

    Raises:
        ValueError: if ``k``, ``repeats`` or an entry of ``ns`` is not a positive integer.
    """
    k, repeats = _posint(k, "k"), _posint(repeats, "repeats")
    ns = [_posint(n, "each entry of ns") for n in ns]
    rng = np.random.default_rng(seed)
    t_exp = np.full((len(ns), repeats), np.nan)
    t_mod = np.full((len(ns), repeats), np.nan)

    def best_loop(f: Any, out: np.ndarray) -> None:
        t0 = time.perf_counter()
        f()  # warm-up; also sets how many calls make one measurement of >= 1 ms
        number = max(1, math.ceil(1e-3 / max(time.perf_counter() - t0, 1e-9)))
        for r in range(repeats):
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            out[r] = (time.perf_counter() - t0) / number

    for i, n in enumerate(ns):
        u = rng.standard_normal((n, n))
        x = rng.standard_normal(n**k)
        best_loop(lambda u=u, x=x: kron_matvec([u] * k, x), t_mod[i])
        if n <= max_explicit_n:
            best_loop(lambda u=u, x=x: reduce(np.kron, [u] * k) @ x, t_exp[i])
    return t_exp, t_mod


def loglog_slope(ns: Sequence[int], times: Any) -> float:
    """Fitted exponent ``p`` in ``time ≈ c n^p``, robust to one unlucky run.

    Each size's time is the best (smallest) of its repeats, NaN ignored. A least-squares line
    through ``log(best)`` against ``log(n)`` is fitted over the larger half (at least two) of the
    sizes that were timed, where fixed per-call costs matter least. This is the rule behind the
    slopes in the legend of :func:`hessnotes.figures.kron.plot_kron_timing`.

    Args:
        ns: (s,) increasing sizes.
        times: (s,) or (s, repeats) seconds, e.g. one output of :func:`kron_matvec_timings`; NaN
            where a size was not timed.

    Returns:
        The fitted slope ``p``.

    Raises:
        ValueError: if ``times`` does not have ``len(ns)`` rows, or fewer than two sizes have a
            positive finite time.
    """
    ns = np.asarray(ns, dtype=float)
    t0 = np.asarray(times, dtype=float)
    t = t0[:, None] if t0.ndim == 1 else t0
    if t.ndim != 2 or t.shape[0] != ns.size or ns.ndim != 1:
        raise ValueError(
            f"times has shape {t0.shape}, but ns of length {ns.size} needs times of shape "
            f"({ns.size},) or ({ns.size}, repeats)."
        )
    ok_runs = np.isfinite(t) & (t > 0)
    best = np.where(ok_runs, t, np.inf).min(axis=1)
    ok = np.flatnonzero(np.isfinite(best) & (ns > 0))
    if ok.size < 2:
        raise ValueError(
            f"only {ok.size} of {ns.size} sizes have a positive finite time; a slope needs two."
        )
    ok = ok[-max(2, (ok.size + 1) // 2) :]
    return float(np.polyfit(np.log(ns[ok]), np.log(best[ok]), 1)[0])
