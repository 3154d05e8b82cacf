"""Determinants: 10 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import full_rank, general, invertible, spd
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import _grad, _hess, det, inv, tr

TOPIC = "determinants"

ENTRIES: tuple[Identity, ...] = (
    _grad(
        "det X",
        r"\nabla_X \det X = \det(X)\,X^{-\top}",
        lambda X: det(X),
        lambda X: det(X) * inv(X).T,
        [invertible(3)],
        TOPIC,
        "$X$ invertible",
    ),
    _grad(
        "log|det X|",
        r"\nabla_X \log\lvert\det X\rvert = X^{-\top}",
        lambda X: torch.linalg.slogdet(X)[1],
        lambda X: inv(X).T,
        [invertible(3)],
        TOPIC,
        "$X$ invertible",
    ),
    _grad(
        "log det X (SPD)",
        r"\nabla_X \log\det X = X^{-1}",
        lambda X: torch.logdet(X),
        lambda X: inv(X),
        [spd(3)],
        TOPIC,
        "$X$ SPD; as a gradient in all directions (it is symmetric already)",
    ),
    _grad(
        "det(AXB)",
        r"\nabla_X \det(AXB) = \det(AXB)\,A^\top (AXB)^{-\top} B^\top",
        lambda X, A, B: det(A @ X @ B),
        lambda X, A, B: det(A @ X @ B) * A.T @ inv(A @ X @ B).T @ B.T,
        [general(3, 4), general(2, 3), general(4, 2)],
        TOPIC,
        "$AXB$ square and invertible",
    ),
    _grad(
        "det(XᵀAX)",
        r"\nabla_X \det M = \det(M)\,(AXM^{-1} + A^\top X M^{-\top})",
        lambda X, A: det(X.T @ A @ X),
        lambda X, A: det(X.T @ A @ X) * (A @ X @ inv(X.T @ A @ X) + A.T @ X @ inv(X.T @ A @ X).T),
        [full_rank(3, 2), invertible(3)],
        TOPIC,
        "$M = X^\\top A X$ invertible; $A$ need not be symmetric",
    ),
    _grad(
        "log det(XᵀX)",
        r"\nabla_X \log\det(X^\top X) = 2X(X^\top X)^{-1}",
        lambda X: torch.logdet(X.T @ X),
        lambda X: 2 * X @ inv(X.T @ X),
        [full_rank(3, 2)],
        TOPIC,
        "$X$ of full column rank",
    ),
    _grad(
        "det(X²)",
        r"\nabla_X \det(X^k) = k\det(X)^k X^{-\top}",
        lambda X: det(X @ X),
        lambda X: 2 * det(X) ** 2 * inv(X).T,
        [invertible(3)],
        TOPIC,
        "$X$ invertible; checked for $k=2$",
    ),
    _grad(
        "det(X⁻¹)",
        r"\nabla_X \det(X^{-1}) = -\det(X^{-1})\,X^{-\top}",
        lambda X: det(inv(X)),
        lambda X: -det(inv(X)) * inv(X).T,
        [invertible(3)],
        TOPIC,
        "$X$ invertible",
    ),
    _grad(
        "log det(A + XXᵀ)",
        r"\nabla_X \log\det(A + XX^\top) = 2(A + XX^\top)^{-1}X",
        lambda X, A: torch.logdet(A + X @ X.T),
        lambda X, A: 2 * inv(A + X @ X.T) @ X,
        [general(3, 2), spd(3)],
        TOPIC,
        "$A$ SPD",
    ),
    _hess(
        "d² det X",
        r"\d^2\det X[U,V] = \det X\,\big(\tr(X^{-1}U)\tr(X^{-1}V) - "
        r"\tr(X^{-1}UX^{-1}V)\big)",
        lambda X: det(X),
        lambda X, U, V: det(X) * (tr(inv(X) @ U) * tr(inv(X) @ V) - tr(inv(X) @ U @ inv(X) @ V)),
        [invertible(3)],
        TOPIC,
        "$X$ invertible",
        form="bilinear",
    ),
)
