"""Second order: 8 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import general, spd, symmetric
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import _eye, _hess, inv, tr

TOPIC = "second order"

ENTRIES: tuple[Identity, ...] = (
    _hess(
        "∇² xᵀAx",
        r"\nabla_x^2\, x^\top A x = A + A^\top",
        lambda x, A: x @ A @ x,
        lambda x, A: A + A.T,
        [general(3), general(3, 3)],
        TOPIC,
        "$A$ square",
    ),
    _hess(
        "∇² ‖Ax − b‖²",
        r"\nabla_x^2 \norm{Ax - b}_2^2 = 2A^\top A",
        lambda x, A, b: ((A @ x - b) ** 2).sum(),
        lambda x, A, b: 2 * A.T @ A,
        [general(3), general(4, 3), general(4)],
        TOPIC,
        "any conformable shapes",
    ),
    _hess(
        "∇² (Ax−b)ᵀW(Ax−b)",
        r"\nabla_x^2 (Ax - b)^\top W (Ax - b) = 2A^\top W A",
        lambda x, A, b, W: (A @ x - b) @ W @ (A @ x - b),
        lambda x, A, b, W: 2 * A.T @ W @ A,
        [general(3), general(4, 3), general(4), symmetric(4)],
        TOPIC,
        "$W = W^\\top$",
    ),
    _hess(
        "d² log det X",
        r"\d^2 \log\det X\,[U,V] = -\tr(X^{-1}UX^{-1}V)",
        lambda X: torch.logdet(X),
        lambda X, U, V: -tr(inv(X) @ U @ inv(X) @ V),
        [spd(3)],
        TOPIC,
        "$\\det X > 0$ (drawn SPD), general directions $U$, $V$",
        form="bilinear",
    ),
    _hess(
        "∇² ‖A − xxᵀ‖_F² (A sym.)",
        r"\nabla_x^2 \fro{A - xx^\top}^2 = "
        r"-4A + 4\norm{x}_2^2 I + 8xx^\top",
        lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
        lambda x, A: -4 * A + 4 * (x @ x) * _eye(4) + 8 * torch.outer(x, x),
        [general(4), symmetric(4)],
        TOPIC,
        "$A = A^\\top$",
    ),
    _hess(
        "∇² ‖A − xxᵀ‖_F²",
        r"\nabla_x^2 \fro{A - xx^\top}^2 = "
        r"-2(A + A^\top) + 4\norm{x}_2^2 I + 8xx^\top",
        lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
        lambda x, A: -2 * (A + A.T) + 4 * (x @ x) * _eye(4) + 8 * torch.outer(x, x),
        [general(4), general(4, 4)],
        TOPIC,
        "any square $A$",
    ),
    _hess(
        "HVP ‖XXᵀ − A‖_F²",
        r"\nabla^2 f\,[V] = 4(VX^\top + XV^\top)X + 4(XX^\top - A)V",
        lambda X, A: ((X @ X.T - A) ** 2).sum(),
        lambda X, A, V: 4 * ((V @ X.T + X @ V.T) @ X + (X @ X.T - A) @ V),
        [general(3, 2), symmetric(3)],
        TOPIC,
        "$f(X) = \\fro{XX^\\top - A}^2$, $A = A^\\top$; Hessian-vector product",
        form="hvp",
    ),
    _hess(
        "∇² log-sum-exp",
        r"\nabla_x^2 \log\textstyle\sum_i e^{x_i} = "
        r"\operatorname{Diag}(p) - pp^\top",
        lambda x: torch.logsumexp(x, 0),
        lambda x: (
            torch.diag(torch.softmax(x, 0)) - torch.outer(torch.softmax(x, 0), torch.softmax(x, 0))
        ),
        [general(4)],
        TOPIC,
        "$p = \\operatorname{softmax}(x)$",
    ),
)
