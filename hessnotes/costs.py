"""What the book's algorithms cost: timings and flop counts, measured the same way each time.

* :func:`time_vs_dimension`: best-of-k times of :func:`~hessnotes.secant.least_norm_hessian`
  against the dense formula :func:`~hessnotes.references.dense_least_norm` over a range of D
  (chapter "High dimensions");
* :func:`flops_vs_dimension`: their counted flops, machine-independent (same chapter);
* :func:`kron_matvec_timings`: ``(U ⊗ … ⊗ U) x`` by the explicit Kronecker product against
  :func:`~hessnotes.kron.kron_matvec` (chapter "The vec trick").

The tools they use, :mod:`hessnotes.timing` and :mod:`hessnotes.flops`, import nothing of the
library's domains; this module sits above both them and what they measure. The old addresses
(``hessnotes.timing.time_vs_dimension``, ``hessnotes.flops.flops_vs_dimension``,
``hessnotes.kron.kron_matvec_timings`` and ``hessnotes.kron.loglog_slope``) still work: the
package re-exports them there (see ``hessnotes/__init__.py``). Timings are for figures and
benchmarks; the tests never assert on them.

Chapters: "The vec trick", "High dimensions".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial, reduce
from typing import Any

import numpy as np
import torch

from hessnotes._linalg import check_positive_int, loglog_slope
from hessnotes.flops import count_flops
from hessnotes.kron import kron_matvec
from hessnotes.references import dense_least_norm
from hessnotes.secant import least_norm_hessian
from hessnotes.timing import best_of, mean_times, torch_threads

__all__ = ["flops_vs_dimension", "kron_matvec_timings", "time_vs_dimension"]


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
    k, repeats = check_positive_int(k, "k"), check_positive_int(repeats, "repeats")
    ns = [check_positive_int(n, "each entry of ns") for n in ns]
    rng = np.random.default_rng(seed)
    t_exp = np.full((len(ns), repeats), np.nan)
    t_mod = np.full((len(ns), repeats), np.nan)

    for i, n in enumerate(ns):
        u = rng.standard_normal((n, n))
        x = rng.standard_normal(n**k)
        factors = [u] * k
        t_mod[i] = mean_times(partial(kron_matvec, factors, x), repeat=repeats, min_time=1e-3)
        if n <= max_explicit_n:
            explicit = partial(_explicit_kron_matvec, factors, x)
            t_exp[i] = mean_times(explicit, repeat=repeats, min_time=1e-3)
    return t_exp, t_mod


def _explicit_kron_matvec(factors: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """``(A_1 ⊗ … ⊗ A_k) x`` with the Kronecker product formed: ``O(n^{2k})`` work and memory."""
    return reduce(np.kron, factors) @ x


def _kron_loglog_slope(ns: Sequence[int], times: Any) -> float:
    """``hessnotes.kron.loglog_slope(ns, times)`` of old: the fitted exponent over the larger half
    of the timed sizes, i.e. :func:`~hessnotes.timing.loglog_slope` with ``window="upper half"``."""
    return loglog_slope(ns, times, window="upper half")
