"""Benchmark of :func:`hessnotes.curvature.hvp`: what a Hessian-vector product costs, in gradients.

Run ``python benchmarks/bench_curvature.py`` (about 20 s on 2 cores) or with ``--quick``.

Every time is a **ratio** to one gradient of the same loss timed in the same run (best of k), so
the table travels between machines. Claim checked here (the chapter "Exact curvature" states it
and counts FLOPs with :func:`hessnotes.curvature.hvp_cost`): one forward-over-reverse product costs
a small constant number of gradients (the FLOP count says 3), and a vmapped block of k products
costs less per product than k single ones. Both modes of :func:`hessnotes.curvature.hvp` are
timed: forward-over-reverse and reverse-over-reverse (the default, chosen from this table).
Columns: the matmul-FLOP ratio (exact; for reverse-over-reverse it includes building the
gradient's graph once), the measured time ratio of one product, and of one product within a
block of 16.

A second table times the model form, ``hvp(module, loss, data)`` on the digits network, with one
batch of 1,000 images (the gradient's graph built once and reused) and with the same images in
4 batches (each product runs over the batches, rebuilding each batch's graph: memory of one
batch), in both modes, as the time of one product over that of one gradient of the whole loss.
Target: the default mode is the fastest in every row (exits 1 otherwise).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.func import grad

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hessnotes.curvature import hvp, hvp_cost
from hessnotes.nets import digits_mlp, random_mlp
from hessnotes.timing import best_time


def model_form(k: int) -> bool:
    """Time one product of the model form, one batch against four, both modes."""
    from hessnotes.curvature import DEFAULT_MODE

    ok = True
    print("\nmodel form hvp(module, CrossEntropyLoss(), data), digits network, 1,000 images")
    print(f"{'network':<14}{'data':>12}{'fwd-rev':>9}{'rev-rev':>9}   (one Hv / one gradient)")
    for width in (16, 128):
        m = digits_mlp(hidden=width)
        net, (x, y) = m.module(), m.batch(1000)
        loss = torch.nn.CrossEntropyLoss()
        g = grad(m.parameter_loss(1000))
        t_grad = best_time(lambda g=g, m=m: g(m.params), repeat=k, min_time=0)
        v = torch.randn(m.num_params, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
        for label, data in (
            ("1 batch", (x, y)),
            ("4 batches", list(zip(x.split(250), y.split(250), strict=True))),
        ):
            t = {}
            for mode in ("forward-over-reverse", "reverse-over-reverse"):
                H = hvp(net, loss, data, mode=mode)
                t[mode] = best_time(lambda H=H, v=v: H @ v, repeat=k, min_time=0) / t_grad
            ok &= min(t, key=t.get) == DEFAULT_MODE
            print(
                f"{'D = ' + str(m.num_params):<14}{label:>12}{t['forward-over-reverse']:>9.1f}"
                f"{t['reverse-over-reverse']:>9.1f}"
            )
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    k = 3 if args.quick else 10
    model = digits_mlp()
    f_in, x_in = model.input_loss(int(model.test[0]))
    cases = {
        "digits input loss, D = 64": (f_in, x_in),
        "digits parameter loss, D = 1210": (model.parameter_loss(256), model.params),
        "random MLP 500-256-256, D = 500": (
            random_mlp(500, (256, 256), seed=0),
            torch.linspace(-1, 1, 500, dtype=torch.float64),
        ),
    }
    modes = {"fwd-rev": "forward-over-reverse", "rev-rev": "reverse-over-reverse"}
    print("ratios to one gradient of the same loss, measured in this run")
    print(f"{'loss':<33}{'mode':>8}{'FLOPs':>7}{'one Hv':>8}{'in block of 16':>16}")
    for name, (f, x) in cases.items():
        g = grad(f)
        t_grad = best_time(lambda g=g, x=x: g(x), repeat=k, min_time=0)
        gen = torch.Generator().manual_seed(0)
        V = torch.randn(x.numel(), 16, generator=gen, dtype=x.dtype)
        for short, mode in modes.items():
            H = hvp(f, x, mode=mode)
            t_one = best_time(lambda H=H, V=V: H @ V[:, 0], repeat=k, min_time=0)
            t_blk = best_time(lambda H=H, V=V: H @ V, repeat=max(1, k // 3), min_time=0) / 16
            flops = hvp_cost(f, x, mode=mode).hvp_in_gradients
            print(f"{name:<33}{short:>8}{flops:>7.2f}{t_one / t_grad:>8.1f}{t_blk / t_grad:>16.1f}")
    return 0 if model_form(k) else 1


if __name__ == "__main__":
    sys.exit(main())
