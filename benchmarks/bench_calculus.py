"""Benchmark the course chapters' cost claims: ratios measured in one run, each with its target.

Run with ``python benchmarks/bench_calculus.py`` (or ``make bench``). Every time is the best of
several means on one torch thread (``hessnotes.admodes.time_modes``,
``hessnotes.adjoint.sensitivity_timings``), so each ratio compares two methods under the same
machine load. Exits with status 1 if a target fails.

* Forward against reverse mode: the full Jacobian of ``tanh_layers((n, 64, m))`` by ``n`` JVPs and
  by ``m`` VJPs, and by ``jacfwd`` / ``jacrev``; flops are counted exactly.
* Adjoint against forward sensitivities: one gradient of the rod problem for ``P`` parameters.
"""

from __future__ import annotations

import sys

from hessnotes.adjoint import sensitivity_timings
from hessnotes.admodes import mode_sweep

rows: list[tuple[str, str, str, str]] = []


def row(name: str, value: float, target: str, ok: bool | None) -> None:
    rows.append((name, f"{value:.3g}×", target, "" if ok is None else ("PASS" if ok else "FAIL")))


def bench_modes() -> None:
    print("Full Jacobian of tanh_layers((n, 64, m)): times per Jacobian (best of 7, one thread)")
    print(
        f"{'n':>5} {'m':>5} {'n JVPs':>10} {'m VJPs':>10} {'jacfwd':>10} {'jacrev':>10} "
        f"{'loops fwd/rev':>14} {'flops fwd/rev':>14}"
    )
    shapes = [(64, 1), (64, 16), (64, 64), (64, 256), (64, 1024), (1, 64), (16, 64), (256, 64)]
    for t in mode_sweep(shapes, hidden=(64,), repeat=7, min_time=5e-3):
        ms = [1e3 * v for v in (t.forward, t.reverse, t.jacfwd, t.jacrev)]
        print(
            f"{t.n_in:5d} {t.n_out:5d}"
            + "".join(f" {v:8.2f}ms" for v in ms)
            + f" {t.forward / t.reverse:13.3g}× {t.flops_forward / t.flops_reverse:13.3g}×"
        )
        key = f"modes n={t.n_in} m={t.n_out}"
        if (t.n_in, t.n_out) == (64, 1):
            row(
                f"{key}: n JVPs / m VJPs",
                t.forward / t.reverse,
                ">= 4×",
                t.forward / t.reverse >= 4,
            )
        elif (t.n_in, t.n_out) == (64, 1024):
            r = t.reverse / t.forward
            row(f"{key}: m VJPs / n JVPs", r, ">= 2×", r >= 2)
        else:
            row(f"{key}: n JVPs / m VJPs", t.forward / t.reverse, "(reported)", None)
        row(f"{key}: jacfwd / jacrev", t.jacfwd / t.jacrev, "(reported)", None)


def bench_adjoint() -> None:
    Ps = [1, 4, 16, 64, 256]
    t = sensitivity_timings(256, Ps, repeat=5, min_time=5e-3)
    print("\nGradient of the rod problem, n = 256: times per gradient (best of 5, one thread)")
    print(
        f"{'P':>5} {'adjoint':>10} {'forward':>10} {'fwd batched':>12} {'solves a/f':>11} "
        f"{'forward/adjoint':>16}"
    )
    for i, P in enumerate(Ps):
        a, f, b = t["adjoint"][i], t["forward"][i], t["forward, batched"][i]
        print(
            f"{P:5d} {a * 1e3:8.2f}ms {f * 1e3:8.2f}ms {b * 1e3:10.2f}ms "
            f"{t['solves adjoint'][i]:5d}/{t['solves forward'][i]:<5d} {f / a:15.3g}×"
        )
    row(
        "adjoint P=256: forward / adjoint",
        t["forward"][-1] / t["adjoint"][-1],
        ">= 10×",
        t["forward"][-1] / t["adjoint"][-1] >= 10,
    )
    row(
        "adjoint P=256: forward batched / adjoint",
        t["forward, batched"][-1] / t["adjoint"][-1],
        "(reported)",
        None,
    )
    flat = t["adjoint"][-1] / t["adjoint"][0]
    row("adjoint: P=256 / P=1", flat, "<= 3×", flat <= 3)


def main() -> int:
    bench_modes()
    bench_adjoint()
    w = max(len(r[0]) for r in rows)
    print(f"\n{'ratio':<{w}}  {'value':>8}  {'target':>10}  verdict")
    for name, value, target, verdict in rows:
        print(f"{name:<{w}}  {value:>8}  {target:>10}  {verdict}")
    return 1 if any(r[3] == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
