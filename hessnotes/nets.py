"""Small, seeded torch networks whose *input* Hessians the book estimates from gradients.

A network here is a pure function ``f: (D,) -> ()`` built from fixed random weights, so that
``torch.func.grad(f)`` and ``torch.func.hessian(f)`` apply directly and every result is repeatable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise

import torch

__all__ = ["random_mlp", "sample_cloud"]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "softplus": torch.nn.functional.softplus,
    "gelu": torch.nn.functional.gelu,
}


def random_mlp(
    D: int,
    hidden: Sequence[int] = (64, 64),
    *,
    activation: str = "tanh",
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A scalar MLP loss ``f(x) = 0.5 * ||W_L s(... s(W_1 x + b_1) ...) + b_L - t||²``.

    The weights are Gaussian with variance ``1 / fan_in`` (so activations stay of order one), the
    target ``t`` is random, and the activation ``s`` is smooth, so ``f`` has a genuine, indefinite,
    input-dependent Hessian.

    Args:
        D: input dimension.
        hidden: widths of the hidden layers; the last one maps to an output of width 4, which
            enters the squared loss.
        activation: ``"tanh"``, ``"softplus"`` or ``"gelu"``.
        seed: seed of the weights.
        dtype: dtype of the weights; inputs must match it.

    Returns:
        ``f(x)`` for ``x`` of shape ``(D,)``, returning a 0-d tensor. It works with ``torch.func``.

    Raises:
        ValueError: if ``D`` or a width is not positive, or the activation is unknown.
    """
    if D < 1 or any(h < 1 for h in hidden):
        raise ValueError(f"D={D} and hidden={tuple(hidden)} must be positive widths")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation={activation!r}; choose one of {sorted(_ACTIVATIONS)}")
    act = _ACTIVATIONS[activation]
    gen = torch.Generator().manual_seed(seed)
    widths = [D, *hidden, 4]
    layers = []
    for fan_in, fan_out in pairwise(widths):
        w = torch.randn(fan_out, fan_in, generator=gen, dtype=dtype) / math.sqrt(fan_in)
        b = 0.1 * torch.randn(fan_out, generator=gen, dtype=dtype)
        layers.append((w, b))
    target = torch.randn(widths[-1], generator=gen, dtype=dtype)

    def f(x: torch.Tensor) -> torch.Tensor:
        if x.shape != (D,):
            raise ValueError(f"x has shape {tuple(x.shape)}; this network takes shape ({D},)")
        h = x
        for i, (w, b) in enumerate(layers):
            h = w @ h + b
            if i < len(layers) - 1:
                h = act(h)
        return 0.5 * ((h - target) ** 2).sum()

    return f


def sample_cloud(x0: torch.Tensor, n: int, spread: float, *, seed: int = 0) -> torch.Tensor:
    """``n`` points around ``x0``: the columns of ``x0 + spread * Z / sqrt(D)``, Z standard normal.

    Dividing by ``sqrt(D)`` makes ``spread`` the typical distance of a point from ``x0``.

    Returns:
        Tensor of shape ``(D, n)`` with the dtype and device of ``x0``.

    Raises:
        ValueError: if ``x0`` is not 1-D, ``n < 1`` or ``spread < 0``.
    """
    if x0.ndim != 1:
        raise ValueError(f"x0 has shape {tuple(x0.shape)}; pass a 1-D point of shape (D,)")
    if n < 1 or spread < 0:
        raise ValueError(f"n={n} must be >= 1 and spread={spread} must be >= 0")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(x0.shape[0], n, generator=gen, dtype=x0.dtype).to(x0.device)
    return x0[:, None] + spread * z / math.sqrt(x0.shape[0])
