"""Quadratic and bilinear forms: 12 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import general, symmetric
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import _grad, _hess

TOPIC = "quadratic and bilinear forms"

ENTRIES: tuple[Identity, ...] = (
    _grad(
        "xᵀAx",
        r"\nabla_x\, x^\top A x = (A + A^\top)x",
        lambda x, A: x @ A @ x,
        lambda x, A: (A + A.T) @ x,
        [general(3), general(3, 3)],
        TOPIC,
        "$A$ square",
    ),
    _grad(
        "xᵀAx (A sym.)",
        r"\nabla_x\, x^\top A x = 2Ax",
        lambda x, A: x @ A @ x,
        lambda x, A: 2 * A @ x,
        [general(3), symmetric(3)],
        TOPIC,
        "$A = A^\\top$",
    ),
    _grad(
        "aᵀXb",
        r"\nabla_X\, a^\top X b = ab^\top",
        lambda X, a, b: a @ X @ b,
        lambda X, a, b: torch.outer(a, b),
        [general(3, 2), general(3), general(2)],
        TOPIC,
        "any conformable shapes",
    ),
    _grad(
        "aᵀXᵀb",
        r"\nabla_X\, a^\top X^\top b = ba^\top",
        lambda X, a, b: a @ X.T @ b,
        lambda X, a, b: torch.outer(b, a),
        [general(3, 2), general(2), general(3)],
        TOPIC,
        "any conformable shapes",
    ),
    _grad(
        "aᵀXᵀXb",
        r"\nabla_X\, a^\top X^\top X b = X(ab^\top + ba^\top)",
        lambda X, a, b: a @ X.T @ X @ b,
        lambda X, a, b: X @ (torch.outer(a, b) + torch.outer(b, a)),
        [general(3, 2), general(2), general(2)],
        TOPIC,
        "any conformable shapes",
    ),
    _grad(
        "aᵀXᵀCXb",
        r"\nabla_X\, a^\top X^\top C X b = C^\top X a b^\top + C X b a^\top",
        lambda X, a, b, C: a @ X.T @ C @ X @ b,
        lambda X, a, b, C: C.T @ X @ torch.outer(a, b) + C @ X @ torch.outer(b, a),
        [general(3, 2), general(2), general(2), general(3, 3)],
        TOPIC,
        "$C$ square",
    ),
    _grad(
        "(Xb+c)ᵀD(Xb+c)",
        r"\nabla_X (Xb + c)^\top D (Xb + c) = (D + D^\top)(Xb + c)b^\top",
        lambda X, b, c, D: (X @ b + c) @ D @ (X @ b + c),
        lambda X, b, c, D: torch.outer((D + D.T) @ (X @ b + c), b),
        [general(3, 2), general(2), general(3), general(3, 3)],
        TOPIC,
        "$D$ square",
    ),
    _grad(
        "(Ax+b)ᵀ(Cx+d)",
        r"\nabla_x (Ax + b)^\top (Cx + d) = A^\top(Cx + d) + C^\top(Ax + b)",
        lambda x, A, b, C, d: (A @ x + b) @ (C @ x + d),
        lambda x, A, b, C, d: A.T @ (C @ x + d) + C.T @ (A @ x + b),
        [general(3), general(4, 3), general(4), general(4, 3), general(4)],
        TOPIC,
        "any conformable shapes",
    ),
    _grad(
        "xᵀAy (in y)",
        r"\nabla_y\, x^\top A y = A^\top x",
        lambda x, y, A: x @ A @ y,
        lambda x, y, A: A.T @ x,
        [general(3), general(2), general(3, 2)],
        TOPIC,
        "gradient in the second argument",
        wrt=1,
    ),
    _grad(
        "(Ax−b)ᵀW(Ax−b)",
        r"\nabla_x (Ax - b)^\top W (Ax - b) = 2A^\top W (Ax - b)",
        lambda x, A, b, W: (A @ x - b) @ W @ (A @ x - b),
        lambda x, A, b, W: 2 * A.T @ W @ (A @ x - b),
        [general(3), general(4, 3), general(4), symmetric(4)],
        TOPIC,
        "$W = W^\\top$",
    ),
    _grad(
        "Rayleigh quotient",
        r"\nabla_x r(x) = \frac{2}{x^\top x}\big(Ax - r(x)\,x\big)",
        lambda x, A: (x @ A @ x) / (x @ x),
        lambda x, A: 2 / (x @ x) * (A @ x - (x @ A @ x) / (x @ x) * x),
        [general(3), symmetric(3)],
        TOPIC,
        "$r(x) = x^\\top A x / x^\\top x$, $A = A^\\top$, $x \\ne 0$",
    ),
    _hess(
        "∇² aᵀXᵀXb",
        r"\d^2 (a^\top X^\top X b)[U,V] = a^\top U^\top V b + a^\top V^\top U b",
        lambda X, a, b: a @ X.T @ X @ b,
        lambda X, a, b, U, V: a @ U.T @ V @ b + a @ V.T @ U @ b,
        [general(3, 2), general(2), general(2)],
        TOPIC,
        "independent of $X$",
        form="bilinear",
    ),
)
