"""hessnotes against the libraries a user would pick instead, measured in the same run.

Run ``make bench-peers``: it creates ``.venv-peers`` (never the book's ``.venv``) with torch
2.13.0, curvlinops-for-pytorch 3.0.1, PyHessian 0.1, hessian-eigenthings 1.0.0a5 and scipy, and
runs this file there (``--quick``: D = 1e4 only, fewer rounds). The book's own ``make test``
never imports the peers.

The problem: the digits network of the book (:func:`hessnotes.nets.digits_mlp`, a tanh MLP
trained on scikit-learn's digits) at D = 9,610 and 100,210 parameters, float64, the mean
cross-entropy on one batch of training images, one thread (``--threads``). Every library gets
the same ``torch.nn.Module`` (its own copy: PyHessian switches the model to eval mode and fills
``.grad``), loss and batch. One table per operation; each time is the best over rounds in which
the libraries take turns, so a busy machine hits them alike; the ratio is hessnotes' time over
the peer's; the agreement is the relative difference from hessnotes' result.

* **HVP**: one Hessian-vector product on a built operator. Target: <= 1.0 x the fastest peer.
* **Top-5 Lanczos**: the 5 largest eigenvalues to a relative 1e-8, from the model (operator
  construction included): ``hessnotes.lanczos(model, loss, data, k, tol=1e-8, nev=5)`` against
  curvlinops' ``HessianLinearOperator(...).to_scipy()`` with ``scipy.sparse.linalg.eigsh(k=5,
  which="LA", tol=1e-8)``; PyHessian's power iteration and hessian-eigenthings' Lanczos run with
  their own defaults (their agreement shows what those give). Target: <= 0.5 x curvlinops + eigsh.
* **SLQ density** with the same probes (Rademacher vectors drawn the way PyHessian draws them,
  handed to hessnotes as ``probes=``) and the same number of steps. PyHessian 0.1's ``density()``
  calls ``torch.eig``, which torch removed in 2.0: this benchmark replaces it at run time, for
  PyHessian only, by ``torch.linalg.eigh`` (T is symmetric tridiagonal, so that is the same
  decomposition). The agreement is the L1 distance between the two densities broadened with the
  same Gaussian width on the same grid. Target: <= 1.0 x PyHessian.
* **Gauss–Newton product**: ``G v`` with ``G = J^T H_l J``; curvlinops' ``GGNLinearOperator`` and
  hessian-eigenthings' ``GGNOperator`` (PyHessian has none).
* **L-BFGS update + solve** on a real gradient-descent window, against scipy's
  ``LbfgsInvHessProduct`` (the table of ``bench_limited.py``, run here too). Target: <= 2 x scipy.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import digits, load_note

from hessnotes.curvature import (
    eigenvalue_density,
    gauss_newton,
    hvp,
    lanczos,
    spectral_density,
)

F64 = torch.float64


def rel(a, b) -> float:
    a = np.asarray(torch.as_tensor(a).detach().reshape(-1), dtype=np.float64)
    b = np.asarray(torch.as_tensor(b).detach().reshape(-1), dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def turns(calls: dict, rounds: int) -> dict[str, float]:
    """Best time of each call over rounds in which they take turns (order rotated per round)."""
    best = dict.fromkeys(calls, math.inf)
    names = list(calls)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t0 = time.perf_counter()
            calls[name]()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def flat_list(v: torch.Tensor, net: torch.nn.Module) -> list[torch.Tensor]:
    out, i = [], 0
    for p in net.parameters():
        out.append(v[i : i + p.numel()].reshape(p.shape))
        i += p.numel()
    return out


def table(title: str, header: str, rows: list[str]) -> None:
    print(f"\n**{title}**\n")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        print(r)


def verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return ""
    return f"<= {target:g} {'PASS' if ratio <= target else 'FAIL'}"


# ------------------------------------------------------------------------------ operations
def bench_hvp(net, data, loss, rounds: int) -> tuple[list[str], bool]:
    from curvlinops import HessianLinearOperator
    from hessian_eigenthings import HessianOperator, supervised_loss
    from pyhessian import hessian as PyHessian
    from pyhessian.utils import hessian_vector_product

    D = sum(p.numel() for p in net.parameters())
    v = torch.randn(D, generator=torch.Generator().manual_seed(0), dtype=F64)
    H = hvp(net, loss, data)
    ours = H @ v
    c_net, p_net, e_net = (copy.deepcopy(net) for _ in range(3))
    cl = HessianLinearOperator(
        c_net,
        loss,
        list(c_net.parameters()),
        [data],
        check_deterministic=False,
        num_data=len(data[1]),
    )
    ph = PyHessian(p_net, loss, data=data, cuda=False)
    he = HessianOperator(e_net, [data], supervised_loss(loss))
    vl = flat_list(v, p_net)
    calls = {
        "hessnotes": lambda: H @ v,
        "curvlinops": lambda: cl @ v,
        "PyHessian": lambda: hessian_vector_product(ph.gradsH, ph.params, vl),
        "hessian-eigenthings": lambda: he.matvec(v),
    }
    t = turns(calls, rounds)
    results = {
        "curvlinops": cl @ v,
        "PyHessian": torch.cat([h.reshape(-1) for h in calls["PyHessian"]()]),
        "hessian-eigenthings": he.matvec(v),
    }
    fastest = min(t[k] for k in results)
    ok = t["hessnotes"] / fastest <= 1.0
    rows = [
        f"| {D} | {name} | {t['hessnotes'] * 1e3:.2f} ms | {t[name] * 1e3:.2f} ms | "
        f"{t['hessnotes'] / t[name]:.2f} | {rel(results[name], ours):.1e} | "
        + (verdict(t["hessnotes"] / fastest, 1.0) + " (fastest peer)" if t[name] == fastest else "")
        + " |"
        for name in results
    ]
    return rows, ok


def bench_lanczos(net, data, loss, quick: bool) -> tuple[list[str], bool]:
    from curvlinops import HessianLinearOperator
    from hessian_eigenthings import HessianOperator, supervised_loss
    from hessian_eigenthings import lanczos as he_lanczos
    from pyhessian import hessian as PyHessian
    from scipy.sparse.linalg import eigsh

    D = sum(p.numel() for p in net.parameters())
    N = len(data[1])
    out = {}

    def ours():
        out["hessnotes"] = lanczos(net, loss, data, min(D, 300), tol=1e-8, nev=5, seed=0)

    def curv():
        c_net = copy.deepcopy(net)
        op = HessianLinearOperator(
            c_net, loss, list(c_net.parameters()), [data], check_deterministic=False, num_data=N
        )
        v0 = np.random.default_rng(0).standard_normal(D)
        vals = eigsh(op.to_scipy(), k=5, which="LA", tol=1e-8, v0=v0, return_eigenvectors=False)
        out["curvlinops + eigsh"] = np.sort(vals)[::-1]

    def pyh():
        torch.manual_seed(0)
        ph = PyHessian(copy.deepcopy(net), loss, data=data, cuda=False)
        vals, _ = ph.eigenvalues(top_n=5)
        out["PyHessian (power iteration, tol 1e-3)"] = np.sort(np.asarray(vals))[::-1]

    def he():
        op = HessianOperator(copy.deepcopy(net), [data], supervised_loss(loss))
        res = he_lanczos(op, k=5, which="LA", seed=0)
        out["hessian-eigenthings (Lanczos, tol 1e-4)"] = np.sort(res.eigenvalues.numpy())[::-1]

    calls = {
        "hessnotes": ours,
        "curvlinops + eigsh": curv,
        "PyHessian (power iteration, tol 1e-3)": pyh,
        "hessian-eigenthings (Lanczos, tol 1e-4)": he,
    }
    t = turns(calls, 1 if quick else 2)
    res = out["hessnotes"]
    top = np.asarray(res.values[:5])
    rows = []
    ok = True
    for name in list(calls)[1:]:
        agree = float(np.max(np.abs(out[name][:5] - top) / np.abs(top)))
        ratio = t["hessnotes"] / t[name]
        target = 0.5 if name.startswith("curvlinops") else None
        ok &= target is None or ratio <= target
        rows.append(
            f"| {D} | {name} | {t['hessnotes']:.2f} s ({res.steps} products, converged "
            f"{res.converged}) | {t[name]:.2f} s | {ratio:.2f} | {agree:.1e} | "
            f"{verdict(ratio, target)} |"
        )
    return rows, ok


def _patch_torch_eig() -> None:
    """PyHessian 0.1's density() calls torch.eig (removed in torch 2.0). Replace it, here only,
    by torch.linalg.eigh: T is symmetric tridiagonal, so eigh is the same decomposition. It
    returns what torch.eig returned: eigenvalues as (n, 2) real and imaginary parts, and the
    eigenvectors as columns."""

    def eig(A: torch.Tensor, eigenvectors: bool = False):
        w, V = torch.linalg.eigh(A)
        return torch.stack([w, torch.zeros_like(w)], 1), V

    torch.eig = eig


def pyhessian_probes(net: torch.nn.Module, n: int, seed: int) -> tuple[torch.Tensor, list]:
    """The Rademacher probes PyHessian's density() draws after torch.manual_seed(seed), flat."""
    torch.manual_seed(seed)
    probes = []
    for _ in range(n):
        v = [torch.randint_like(p, high=2) for p in net.parameters()]
        for vi in v:
            vi[vi == 0] = -1
        probes.append(torch.cat([vi.reshape(-1) for vi in v]))
    return torch.stack(probes, 1), probes


def bench_slq(net, data, loss, steps: int, nprobes: int) -> tuple[list[str], bool]:
    from pyhessian import hessian as PyHessian

    _patch_torch_eig()
    D = sum(p.numel() for p in net.parameters())
    P, _ = pyhessian_probes(net, nprobes, seed=0)
    out = {}

    def ours():
        out["hessnotes"] = spectral_density(net, loss, data, probes=P, steps=steps)

    def pyh():
        ph = PyHessian(copy.deepcopy(net), loss, data=data, cuda=False)
        torch.manual_seed(0)  # the same probes as P
        out["PyHessian"] = ph.density(iter=steps, n_v=nprobes)

    t = turns({"hessnotes": ours, "PyHessian": pyh}, 2)
    sd = out["hessnotes"]
    eig, w = out["PyHessian"]
    nodes = np.concatenate([np.asarray(e, dtype=np.float64) for e in eig])
    weights = np.concatenate([np.asarray(x, dtype=np.float64) for x in w]) / nprobes
    grid = np.asarray(sd.grid)
    theirs = eigenvalue_density(nodes, grid=grid, width=sd.width, weights=weights / weights.sum())
    l1 = float(np.sum(np.abs(np.asarray(sd.density) - theirs)[1:] * np.diff(grid)))
    ratio = t["hessnotes"] / t["PyHessian"]
    row = (
        f"| {D} | PyHessian (torch.eig patched) | {t['hessnotes']:.2f} s | {t['PyHessian']:.2f} s "
        f"| {ratio:.2f} | L1 {l1:.1e} | {verdict(ratio, 1.0)} |"
    )
    return [row], ratio <= 1.0


def bench_gn(net, data, loss, rounds: int) -> list[str]:
    from curvlinops import GGNLinearOperator
    from hessian_eigenthings import GGNOperator, supervised_forward, supervised_loss_of_output

    D = sum(p.numel() for p in net.parameters())
    v = torch.randn(D, generator=torch.Generator().manual_seed(2), dtype=F64)
    G = gauss_newton(net, loss, data)
    ours = G @ v
    c_net, e_net = copy.deepcopy(net), copy.deepcopy(net)
    cl = GGNLinearOperator(
        c_net,
        loss,
        list(c_net.parameters()),
        [data],
        check_deterministic=False,
        num_data=len(data[1]),
    )
    he = GGNOperator(e_net, [data], supervised_forward, supervised_loss_of_output(loss))
    calls = {
        "hessnotes": lambda: G @ v,
        "curvlinops": lambda: cl @ v,
        "hessian-eigenthings": lambda: he.matvec(v),
    }
    t = turns(calls, rounds)
    results = {"curvlinops": cl @ v, "hessian-eigenthings": he.matvec(v)}
    return [
        f"| {D} | {name} | {t['hessnotes'] * 1e3:.2f} ms | {t[name] * 1e3:.2f} ms | "
        f"{t['hessnotes'] / t[name]:.2f} | {rel(results[name], ours):.1e} |"
        for name in results
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="D = 1e4 only, fewer rounds")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # PyHessian builds its gradient graph with backward(create_graph=True), on which torch warns
    # about a reference cycle; its copy of the model is dropped after each use.
    warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
    from importlib.metadata import version

    peers = ("curvlinops-for-pytorch", "PyHessian", "hessian-eigenthings", "scipy")
    print(
        f"torch {torch.__version__}, "
        + ", ".join(f"{p} {version(p)}" for p in peers)
        + f"; {torch.get_num_threads()} thread(s), float64"
    )
    print(load_note())
    sizes = [(128, 200, 1000)] if args.quick else [(128, 200, 1000), (1336, 60, 500)]
    ok = True
    rows = {k: [] for k in ("hvp", "lanczos", "slq", "gn")}
    for width, steps, n in sizes:
        m, net, _ = digits(width, steps)
        data = m.batch(n)
        loss = torch.nn.CrossEntropyLoss()
        r, good = bench_hvp(net, data, loss, 5 if args.quick else 15)
        rows["hvp"] += r
        ok &= good
        r, good = bench_lanczos(net, data, loss, args.quick)
        rows["lanczos"] += r
        ok &= good
        r, good = bench_slq(net, data, loss, steps=40, nprobes=2)
        rows["slq"] += r
        ok &= good
        rows["gn"] += bench_gn(net, data, loss, 5 if args.quick else 15)
        print(f"(D = {m.num_params} done: {n} images)", flush=True)
    head = "| D | peer | hessnotes | peer | hessnotes / peer | agreement | target |"
    table("HVP (one product on a built operator)", head, rows["hvp"])
    table("Top-5 eigenvalues from the model (construction included)", head, rows["lanczos"])
    table("SLQ density, the same probes, 40 steps x 2 probes", head, rows["slq"])
    table(
        "Gauss-Newton product",
        "| D | peer | hessnotes | peer | hessnotes / peer | agreement |",
        rows["gn"],
    )
    from bench_limited import lbfgs_real_window

    print("\n**L-BFGS update + solve on a real gradient-descent window (m = 8), against scipy**\n")
    print(
        "| D | kappa of [S Y] | hessnotes update + solve | scipy | ratio | target | "
        "rel. error, hessnotes | rel. error, scipy | update + hessian.solve (before) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for width, steps, _ in sizes:
        ok &= lbfgs_real_window(width, steps, 10 if args.quick else 30)
    print(load_note())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
