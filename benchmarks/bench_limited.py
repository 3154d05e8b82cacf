"""Benchmark of :class:`hessnotes.LimitedMemoryHessian`: one update against the batch estimator.

Run ``python benchmarks/bench_limited.py`` (or ``make bench``; ``--quick`` for D = 1e5 only).

For D = 1e5 and 1e6 and memory m = 4, 8, 16, a full window of m pairs is held; then, round by
round, one new pair arrives. The limited-memory route is ``lm.update(s, y)`` followed by
``lm.hessian`` (the estimate on the new window); the batch route is the batch estimator of
:mod:`hessnotes.secant` on the same window, given as two ready (D, m) tensors (the most favourable
case for it: assembling the window would cost another O(D m) copy). Both run in the same rounds,
interleaved, and each time is the best over the rounds, so the ratio compares them under one
machine load. The update costs O(D m) (inner products of the new pair with the window) plus
O(m^3); the batch route costs a Gram pass O(D m^2) (plus, for numpy input, forming Q).

Pairs: ``y = A s + g`` with a diagonal A (eigenvalues in [1, 3]) and Gaussian s and g, torch
float64 on the CPU: noisy pairs whose windows are well conditioned, so both routes take the
one-pass Cholesky-QR tier (for a badly conditioned window both add the same extra O(D m^2) pass).
Each round also checks that the two estimates agree (relative error of H v, <= 1e-10).

Targets (update + hessian over the batch estimator): <= 0.8 at m = 4, where both routes are one
pass over the same memory and the batch's extra O(D m^2) flops are still cheap; <= 0.5 at m = 8;
<= 0.3 at m = 16.

**L-BFGS on a real window** (second table): the last m = 8 pairs of plain gradient descent on the
digits network (D = 9,610 and 100,210), whose steps are nearly parallel (the column-scaled Gram
matrix of [S Y] has a condition number of 1e13 and more). Per new pair, ``lm.update(s, y)`` then
``lm.solve(g)`` (the compact inverse, no basis) against scipy's
``LbfgsInvHessProduct(S, Y).matvec(g)`` on ready-made (m, D) arrays (the most favourable case for
scipy: it is handed its window), both with H0 = I, timed in the same rounds; accuracy of each
against the two-loop recursion in long double. Target: <= 2 x scipy at the same accuracy. The
route through the estimate, ``lm.hessian.solve(g)``, is timed too: on such a window its basis falls
back to Householder QR, which ``lm.n_fallbacks`` counts.

Exits with status 1 if a row misses its target.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hessnotes.limited import LimitedMemoryHessian
from hessnotes.secant import (
    bfgs_hessian,
    least_change_hessian,
    least_norm_hessian,
    min_rank_hessian,
    scaling_gamma,
)

TARGET = {4: 0.8, 8: 0.5, 16: 0.3}
BATCH = {
    "least_norm": lambda S, Y: least_norm_hessian(S, Y),
    "psb": lambda S, Y: least_change_hessian(S, Y, scaling_gamma(S, Y)),
    "bfgs": lambda S, Y: bfgs_hessian(S, Y, scaling_gamma(S, Y)),
    "min_rank": lambda S, Y: min_rank_hessian(S, Y),
}


def run(D: int, m: int, method: str, rounds: int, gen: torch.Generator) -> dict[str, float]:
    a = 1 + 2 * torch.rand(D, generator=gen, dtype=torch.float64)
    pool = [torch.randn(D, generator=gen, dtype=torch.float64) for _ in range(m + 3)]
    noise = [torch.randn(D, generator=gen, dtype=torch.float64) for _ in range(m + 3)]
    pairs = [(s, a * s + g) for s, g in zip(pool, noise, strict=True)]
    lm = LimitedMemoryHessian(method, memory=m)
    for s, y in pairs[:m]:
        lm.update(s, y)
    est = BATCH[method]
    v = torch.randn(D, generator=gen, dtype=torch.float64)
    t_lm = t_upd = t_batch = math.inf
    worst = 0.0
    for r in range(rounds):
        s, y = pairs[(m + r) % len(pairs)]
        t0 = time.perf_counter()
        lm.update(s, y)
        t1 = time.perf_counter()
        H = lm.hessian
        t2 = time.perf_counter()
        S, Y = lm.window()  # untimed: the batch route gets its window ready-made
        t3 = time.perf_counter()
        Hb = est(S, Y)
        t4 = time.perf_counter()
        t_upd, t_lm, t_batch = min(t_upd, t1 - t0), min(t_lm, t2 - t0), min(t_batch, t4 - t3)
        want = Hb @ v
        worst = max(worst, float(torch.linalg.norm(H @ v - want) / torch.linalg.norm(want)))
        del S, Y, Hb
    assert worst <= 1e-10, f"{method} D={D} m={m}: limited vs batch differ by {worst:.1e}"
    return {"update": t_upd, "lm": t_lm, "batch": t_batch, "err": worst}


def lbfgs_real_window(width: int, steps: int, rounds: int) -> bool:
    """One row of the L-BFGS table: update + solve against scipy on a gradient-descent window."""
    from _common import digits, equilibrated_kappa, gd_window, rel, two_loop
    from scipy.optimize import LbfgsInvHessProduct

    m_pairs = 8
    model, _, _ = digits(width, steps)
    S, Y, g = gd_window(model, m_pairs + rounds)  # a stream of real pairs, one per round
    S, Y = np.ascontiguousarray(S.T), np.ascontiguousarray(Y.T)  # row j: pair j, contiguous
    D = S.shape[1]
    lm = LimitedMemoryHessian("bfgs", memory=m_pairs, gamma=1.0)
    old = LimitedMemoryHessian("bfgs", memory=m_pairs, gamma=1.0)
    for j in range(m_pairs):
        lm.update(S[j], Y[j])
        old.update(S[j], Y[j])
    t = {"ours": math.inf, "scipy": math.inf, "estimate": math.inf}
    out = {}

    def ours(j: int) -> None:
        lm.update(S[j], Y[j])  # the oldest pair is overwritten in place
        out["ours"] = lm.solve(g)

    def scipy(Sw: np.ndarray, Yw: np.ndarray) -> None:
        out["scipy"] = LbfgsInvHessProduct(Sw, Yw).matvec(g)

    for r in range(rounds):  # the two routes alternate which goes first
        j = m_pairs + r  # the new pair; the window is then pairs j - m + 1 .. j
        Sw, Yw = S[j - m_pairs + 1 : j + 1].copy(), Y[j - m_pairs + 1 : j + 1].copy()
        for name in ("ours", "scipy") if r % 2 == 0 else ("scipy", "ours"):
            t0 = time.perf_counter()
            ours(j) if name == "ours" else scipy(Sw, Yw)
            t[name] = min(t[name], time.perf_counter() - t0)
    for r in range(rounds):  # the route through the estimate, as before this change
        j = m_pairs + r
        t0 = time.perf_counter()
        old.update(S[j], Y[j])
        out["estimate"] = old.hessian.solve(g)
        t["estimate"] = min(t["estimate"], time.perf_counter() - t0)
    kappa = equilibrated_kappa(Sw.T, Yw.T)
    ref = two_loop(Sw.T, Yw.T, g)
    e_ours, e_scipy, e_est = (rel(out[k], ref) for k in ("ours", "scipy", "estimate"))
    ratio = t["ours"] / t["scipy"]
    ok = ratio <= 2.0 and e_ours <= max(10 * e_scipy, 1e-13)
    print(
        f"| {D} | {kappa:.1e} | {fmt(t['ours'])} | {fmt(t['scipy'])} | {ratio:.2f} | "
        f"<= 2 {'PASS' if ok else 'FAIL'} | {e_ours:.1e} | {e_scipy:.1e} | "
        f"{fmt(t['estimate'])} ({t['estimate'] / t['scipy']:.1f} x), {e_est:.1e}, "
        f"{old.n_fallbacks} of {old.n_estimates} estimates fell back to Householder |"
    )
    return ok


def fmt(t: float) -> str:
    return f"{t * 1e3:8.2f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="D = 1e5 only, fewer rounds")
    args = ap.parse_args()
    Ds = [10**5] if args.quick else [10**5, 10**6]
    gen = torch.Generator().manual_seed(0)
    print("hessnotes.limited benchmark: per new pair, best over interleaved rounds")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64 on the CPU\n")
    header = (
        "| D | m | method | update | update + hessian | batch on the window | ratio | "
        "target | max rel. diff of H v |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for D in Ds:
        rounds = 25 if D <= 10**5 else 10
        for m in (4, 8, 16):
            for method in BATCH:
                r = run(D, m, method, 6 if args.quick else rounds, gen)
                ratio = r["lm"] / r["batch"]
                verdict = "PASS" if ratio <= TARGET[m] else "FAIL"
                ok &= ratio <= TARGET[m]
                print(
                    f"| {D:.0e} | {m} | {method} | {fmt(r['update'])} | {fmt(r['lm'])} | "
                    f"{fmt(r['batch'])} | {ratio:.3f} | <= {TARGET[m]} {verdict} | {r['err']:.1e} |"
                )
    print(
        "\nL-BFGS update + solve on a real gradient-descent window (m = 8, H0 = I), against "
        "scipy.optimize.LbfgsInvHessProduct, best over interleaved rounds"
    )
    print(
        "| D | kappa of [S Y] | hessnotes update + solve | scipy | ratio | target | "
        "rel. error, hessnotes | rel. error, scipy | update + hessian.solve (before) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    sizes = [(128, 200)] if args.quick else [(128, 200), (1336, 60)]
    for width, steps in sizes:
        ok &= lbfgs_real_window(width, steps, 10 if args.quick else 30)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
