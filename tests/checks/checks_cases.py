"""Cases shared by the tests of hessnotes.checks (curvlinops' cases.py pattern): fixed points and
matrices, small functions with known derivatives, and an autograd rule that is wrong on purpose.
"""

from __future__ import annotations

import torch

T = torch.float64


inv = torch.linalg.inv


def _fixed(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=T)


A_4x5, B24 = _fixed((4, 5), 21), _fixed((2, 4), 22)  # tr(A X B) with X (5, 2): gradient Aᵀ Bᵀ


B34 = _fixed((3, 4), 2)


F32, F64 = torch.float32, torch.float64


class _BadSquare(torch.autograd.Function):
    """x² with a wrong backward (3x instead of 2x): autograd itself is wrong here."""

    @staticmethod
    def forward(x):
        return x**2

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * g

    @staticmethod
    def vmap(info, in_dims, x):
        return _BadSquare.apply(x), in_dims[0]


def _dlogdet(X, H):
    return torch.trace(inv(X) @ H)


def _fitting(result):
    return [f.slip for f in result.diagnosis if f.fits]


def _point(shape, seed, dtype=T):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=T).to(dtype)


def _tr_axb(X):
    return torch.trace(A_4x5 @ X @ B24)


def _xax(X, A):  # tr(Xᵀ A X), X (5, 3), A (5, 5): gradient (A + Aᵀ) X
    return torch.trace(X.T @ A @ X)


N100 = 100
X100 = _point((N100, N100), 32)
