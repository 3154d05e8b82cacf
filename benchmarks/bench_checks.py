"""Benchmark hessnotes.checks: a correct gradient check with default arguments, 10×10 and 100×100.

Run with ``python benchmarks/bench_checks.py`` (or ``make bench``). For each function and size the
table gives, measured in the same run:

* ``check``: ``check_gradient(f, grad, X0)`` at the reader's own point ``X0`` (one point) and with
  a domain (three seeded points), default arguments;
* ``× f``: that time over one evaluation of ``f`` (the cost in units of the reader's function);
* ``old``: the old default strategy at one point (``torch.func.jacrev`` plus central differences
  along every entry, ``2 · numel`` evaluations), and ``old / new``.

Target: the correct 100×100 check at a point takes at most 1 s. Exits with status 1 if it fails.
Times are best-of-k wall-clock (few repeats for the slow old strategy).
"""

from __future__ import annotations

import functools
import math
import sys

import torch
from torch.func import jacrev

from hessnotes.checks import check_gradient, general, invertible
from hessnotes.timing import best_time as _best_time

T = torch.float64
TARGET_S = 1.0


#: Best of 5 mean times (seconds per call), each mean over calls lasting at least 5 ms.
best_time = functools.partial(_best_time, repeat=5, min_time=5e-3)


def old_default(f, grad, x: torch.Tensor) -> None:
    """The previous default at one point: jacrev, then differences along every entry."""
    g = grad(x)
    ref = jacrev(f)(x)
    assert (g - ref).abs().max() <= 1e-9 * ref.abs().max()
    h = torch.finfo(T).eps ** (1 / 3) * max(1.0, float(x.abs().max()))
    fd = torch.zeros(x.numel(), dtype=T)
    with torch.no_grad():
        for i in range(x.numel()):
            e = torch.zeros(x.numel(), dtype=T)
            e[i] = h
            e = e.reshape(x.shape)
            fd[i] = (f(x + e) - f(x - e)) / (2 * h)
    assert (g.reshape(-1) - fd).abs().max() <= 1e-6 * fd.abs().max()


def fmt_t(t: float) -> str:
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def main() -> int:
    inv = torch.linalg.inv
    cases = [
        ("log|det X|", lambda X: torch.linalg.slogdet(X)[1], lambda X: inv(X).T, invertible),
        ("||A X||²", None, None, lambda n: general(n, n)),
    ]
    rows = []
    ok = True
    print("hessnotes.checks benchmark: correct gradient checks with default arguments")
    for n in (10, 100):
        gen = torch.Generator().manual_seed(n)
        X0 = torch.randn(n, n, generator=gen, dtype=T) / math.sqrt(n) + 2 * torch.eye(n, dtype=T)
        A = torch.randn(n, n, generator=gen, dtype=T)
        for name, f, g, dom in cases:
            if f is None:
                f = lambda X, A=A: ((A @ X) ** 2).sum()  # noqa: E731
                g = lambda X, A=A: 2 * A.T @ A @ X  # noqa: E731
            r = check_gradient(f, g, X0)
            assert r.passed, r
            t_f = best_time(lambda f=f, X0=X0: f(X0))
            t_point = best_time(lambda f=f, g=g, X0=X0: check_gradient(f, g, X0))
            t_dom = best_time(lambda f=f, g=g, dom=dom, n=n: check_gradient(f, g, dom(n)))
            reps = 3 if n <= 10 else 1
            t_old = best_time(
                lambda f=f, g=g, X0=X0: old_default(f, g, X0), repeat=reps, min_time=0
            )
            rows.append((f"{name}, {n}×{n}", t_f, t_point, t_dom, t_old))
            if n == 100:
                ok &= t_point <= TARGET_S
    hdr = (
        "| function, size | one f | check at X0 | × f | check, 3 points | old, 1 point "
        "| old / new |"
    )
    print(hdr)
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, t_f, t_p, t_d, t_o in rows:
        print(
            f"| {label} | {fmt_t(t_f)} | {fmt_t(t_p)} | {t_p / t_f:.0f}× | {fmt_t(t_d)} "
            f"| {fmt_t(t_o)} | {t_o / t_p:.2g}× |"
        )
    verdict = "PASS" if ok else "FAIL"
    print(f"target: a correct 100×100 check at a point in <= {TARGET_S:g} s: {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
