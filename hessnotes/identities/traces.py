"""Traces: 17 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import full_rank, general, invertible
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import _grad, _matpow, inv, tr

TOPIC = "traces"

ENTRIES: tuple[Identity, ...] = (
    _grad(
        "tr(AX)",
        r"\nabla_X \tr(AX) = A^\top",
        lambda X, A: tr(A @ X),
        lambda X, A: A.T,
        [general(3, 2), general(2, 3)],
        TOPIC,
        "$X$ 3×2, $A$ 2×3",
    ),
    _grad(
        "tr(AXᵀ)",
        r"\nabla_X \tr(AX^\top) = A",
        lambda X, A: tr(A @ X.T),
        lambda X, A: A,
        [general(3, 2), general(3, 2)],
        TOPIC,
        "$A$, $X$ of one shape",
    ),
    _grad(
        "tr(AXB)",
        r"\nabla_X \tr(AXB) = A^\top B^\top",
        lambda X, A, B: tr(A @ X @ B),
        lambda X, A, B: A.T @ B.T,
        [general(3, 2), general(4, 3), general(2, 4)],
        TOPIC,
        "$AXB$ square",
    ),
    _grad(
        "tr(AXᵀB)",
        r"\nabla_X \tr(AX^\top B) = BA",
        lambda X, A, B: tr(A @ X.T @ B),
        lambda X, A, B: B @ A,
        [general(3, 2), general(4, 2), general(3, 4)],
        TOPIC,
        "$AX^\\top B$ square",
    ),
    _grad(
        "tr(XᵀX)",
        r"\nabla_X \tr(X^\top X) = 2X",
        lambda X: tr(X.T @ X),
        lambda X: 2 * X,
        [general(3, 2)],
        TOPIC,
        "any shape",
    ),
    _grad(
        "tr(XᵀAX)",
        r"\nabla_X \tr(X^\top A X) = (A + A^\top)X",
        lambda X, A: tr(X.T @ A @ X),
        lambda X, A: (A + A.T) @ X,
        [general(3, 2), general(3, 3)],
        TOPIC,
        "$A$ square, not necessarily symmetric",
    ),
    _grad(
        "tr(XAXᵀ)",
        r"\nabla_X \tr(X A X^\top) = X(A + A^\top)",
        lambda X, A: tr(X @ A @ X.T),
        lambda X, A: X @ (A + A.T),
        [general(3, 2), general(2, 2)],
        TOPIC,
        "$A$ square",
    ),
    _grad(
        "tr(XᵀAXB)",
        r"\nabla_X \tr(X^\top A X B) = AXB + A^\top X B^\top",
        lambda X, A, B: tr(X.T @ A @ X @ B),
        lambda X, A, B: A @ X @ B + A.T @ X @ B.T,
        [general(3, 2), general(3, 3), general(2, 2)],
        TOPIC,
        "$A$, $B$ square",
    ),
    _grad(
        "tr(AXBX)",
        r"\nabla_X \tr(AXBX) = A^\top X^\top B^\top + B^\top X^\top A^\top",
        lambda X, A, B: tr(A @ X @ B @ X),
        lambda X, A, B: A.T @ X.T @ B.T + B.T @ X.T @ A.T,
        [general(3, 2), general(2, 3), general(2, 3)],
        TOPIC,
        "$AXBX$ square",
    ),
    _grad(
        "tr(AXBXᵀC)",
        r"\nabla_X \tr(AXBX^\top C) = A^\top C^\top X B^\top + CAXB",
        lambda X, A, B, C: tr(A @ X @ B @ X.T @ C),
        lambda X, A, B, C: A.T @ C.T @ X @ B.T + C @ A @ X @ B,
        [general(3, 2), general(4, 3), general(2, 2), general(3, 4)],
        TOPIC,
        "$B$ square, $AXBX^\\top C$ square",
    ),
    _grad(
        "tr(X²)",
        r"\nabla_X \tr(X^2) = 2X^\top",
        lambda X: tr(X @ X),
        lambda X: 2 * X.T,
        [general(3, 3)],
        TOPIC,
        "$X$ square",
    ),
    _grad(
        "tr(X⁴)",
        r"\nabla_X \tr(X^k) = k\,(X^{k-1})^\top",
        lambda X: tr(_matpow(X, 4)),
        lambda X: 4 * _matpow(X, 3).T,
        [general(3, 3)],
        TOPIC,
        "$X$ square; checked for $k=4$",
    ),
    _grad(
        "tr(AX³)",
        r"\nabla_X \tr(AX^k) = \sum_{r=0}^{k-1} (X^r A X^{k-1-r})^\top",
        lambda X, A: tr(A @ _matpow(X, 3)),
        lambda X, A: sum(_matpow(X, r) @ A @ _matpow(X, 2 - r) for r in range(3)).T,
        [general(3, 3), general(3, 3)],
        TOPIC,
        "$X$ square; checked for $k=3$",
    ),
    _grad(
        "tr(X⁻¹)",
        r"\nabla_X \tr(X^{-1}) = -(X^{-2})^\top",
        lambda X: tr(inv(X)),
        lambda X: -(inv(X) @ inv(X)).T,
        [invertible(3)],
        TOPIC,
        "$X$ invertible",
    ),
    _grad(
        "tr(AX⁻¹B)",
        r"\nabla_X \tr(AX^{-1}B) = -X^{-\top}A^\top B^\top X^{-\top}",
        lambda X, A, B: tr(A @ inv(X) @ B),
        lambda X, A, B: -inv(X).T @ A.T @ B.T @ inv(X).T,
        [invertible(3), general(2, 3), general(3, 2)],
        TOPIC,
        "$X$ invertible",
    ),
    _grad(
        "tr((XᵀX)⁻¹)",
        r"\nabla_X \tr\big((X^\top X)^{-1}\big) = -2X(X^\top X)^{-2}",
        lambda X: tr(inv(X.T @ X)),
        lambda X: -2 * X @ inv(X.T @ X) @ inv(X.T @ X),
        [full_rank(3, 2)],
        TOPIC,
        "$X$ of full column rank",
    ),
    _grad(
        "tr(exp X)",
        r"\nabla_X \tr(e^X) = (e^X)^\top",
        lambda X: tr(torch.linalg.matrix_exp(X)),
        lambda X: torch.linalg.matrix_exp(X).T,
        [general(3, 3)],
        TOPIC,
        "$X$ square",
    ),
)
