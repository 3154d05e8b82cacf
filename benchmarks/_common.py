"""Shared pieces of the benchmarks: the book's networks at three sizes, real gradient-descent
windows, interleaved best-of timing. Imported by bench_limited.py and bench_peers.py (which runs
in its own environment with the peers installed, so this module needs only hessnotes, numpy and
torch)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hessnotes.nets import digits_mlp

#: hidden width -> parameters D = 75 h + 10 of the digits MLP (64 -> h tanh -> 10).
WIDTHS = {"1e3": 16, "1e4": 128, "1e5": 1336}


def digits(width: int, steps: int = 200):
    """The trained digits network (:func:`hessnotes.nets.digits_mlp`), its module and its data
    (the first 1,000 training images)."""
    m = digits_mlp(hidden=width, steps=steps)
    return m, m.module(), m.batch(1000)


def gd_window(m, memory: int, lr: float = 0.5, warm: int = 20):
    """``memory + 1`` pairs (s, y) from plain gradient descent with step ``lr`` on the mean
    cross-entropy of all 1,500 training images, after ``warm`` steps: consecutive steps nearly
    parallel, a real run's window. Returns S, Y (D, memory + 1) and the next gradient g (numpy)."""
    from torch.func import grad

    f = m.parameter_loss(1500)
    g = grad(f)
    x = m.params.clone()
    for _ in range(warm):
        x = x - lr * g(x)
    xs, gs = [x], [g(x)]
    for _ in range(memory + 1):
        x = x - lr * gs[-1]
        xs.append(x)
        gs.append(g(x))
    S = torch.stack([b - a for a, b in pairwise(xs)], 1).numpy()
    Y = torch.stack([b - a for a, b in pairwise(gs)], 1).numpy()
    return S, Y, gs[-1].numpy()


def equilibrated_kappa(S: np.ndarray, Y: np.ndarray) -> float:
    """Condition number of the column-scaled Gram matrix of [S Y] (what chooses the QR tier)."""
    Z = np.hstack([S, Y])
    sv = np.linalg.svd(Z / np.linalg.norm(Z, axis=0), compute_uv=False)
    return float((sv[0] / sv[-1]) ** 2) if sv[-1] > 0 else float("inf")


def two_loop(S: np.ndarray, Y: np.ndarray, b: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """L-BFGS's two-loop recursion (Nocedal & Wright, Alg. 7.4) in long double: a reference for
    the inverse BFGS product with H0 = I / gamma, more accurate than either float64 route."""
    S, Y, q = (np.asarray(a, np.longdouble) for a in (S, Y, b))
    n = S.shape[1]
    rho = [1 / (S[:, i] @ Y[:, i]) for i in range(n)]
    a = np.zeros(n, np.longdouble)
    for i in reversed(range(n)):
        a[i] = rho[i] * (S[:, i] @ q)
        q = q - a[i] * Y[:, i]
    r = q / gamma
    for i in range(n):
        r = r + S[:, i] * (a[i] - rho[i] * (Y[:, i] @ r))
    return r.astype(np.float64)


def rel(a, b) -> float:
    a = np.asarray(a.detach() if isinstance(a, torch.Tensor) else a, dtype=np.float64)
    b = np.asarray(b.detach() if isinstance(b, torch.Tensor) else b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def interleaved(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Best-of times of several calls, run in turn in every round so that a busy machine hits
    them alike (one warm-up round first)."""
    for f in calls.values():
        f()
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for name, f in calls.items():
            t0 = time.perf_counter()
            f()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def load_note() -> str:
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    busy = "  WARNING: busy machine, ratios are unreliable" if load > 0.5 * cores else ""
    return f"load average {load:.2f} on {cores} cores{busy}"
