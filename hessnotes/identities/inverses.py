"""Inverses: 5 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import full_rank, general, invertible
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import _eye, _grad, _hess, _jvp, inv, tr

TOPIC = "inverses"

ENTRIES: tuple[Identity, ...] = (
    _grad(
        "aᵀX⁻¹b",
        r"\nabla_X\, a^\top X^{-1} b = -X^{-\top} a b^\top X^{-\top}",
        lambda X, a, b: a @ inv(X) @ b,
        lambda X, a, b: -inv(X).T @ torch.outer(a, b) @ inv(X).T,
        [invertible(3), general(3), general(3)],
        TOPIC,
        "$X$ invertible",
    ),
    _jvp(
        "d(X⁻¹b)",
        r"\d(X^{-1}b) = -X^{-1}\,\d X\,X^{-1}b",
        lambda X, b: torch.linalg.solve(X, b),
        lambda X, b, dX, db: -inv(X) @ dX @ inv(X) @ b,
        [invertible(3), general(3)],
        TOPIC,
        "$X$ invertible, $b$ fixed",
        tangents=(None, 0),
    ),
    _jvp(
        "d X⁺",
        r"\d X^{+} = -X^{+}\d X\,X^{+} + (X^\top X)^{-1}\d X^\top (I - XX^{+})",
        lambda X: torch.linalg.pinv(X),
        lambda X, dX: (
            -inv(X.T @ X) @ X.T @ dX @ inv(X.T @ X) @ X.T
            + inv(X.T @ X) @ dX.T @ (_eye(4) - X @ inv(X.T @ X) @ X.T)
        ),
        [full_rank(4, 2)],
        TOPIC,
        "$X$ of full column rank, $X^{+} = (X^\\top X)^{-1}X^\\top$",
    ),
    _jvp(
        "d P (projector)",
        r"\d P = (I - P)\,\d X\,X^{+} + \big((I - P)\,\d X\,X^{+}\big)^\top",
        lambda X: X @ torch.linalg.pinv(X),
        lambda X, dX: (lambda Q: Q + Q.T)(
            (_eye(4) - X @ inv(X.T @ X) @ X.T) @ dX @ inv(X.T @ X) @ X.T
        ),
        [full_rank(4, 2)],
        TOPIC,
        "$P = XX^{+}$ projects onto the range of $X$, of full column rank",
    ),
    _hess(
        "d² tr(X⁻¹)",
        r"\d^2\tr(X^{-1})[U,V] = \tr(X^{-1}UX^{-1}VX^{-1}) + "
        r"\tr(X^{-1}VX^{-1}UX^{-1})",
        lambda X: tr(inv(X)),
        lambda X, U, V: tr(inv(X) @ U @ inv(X) @ V @ inv(X)) + tr(inv(X) @ V @ inv(X) @ U @ inv(X)),
        [invertible(3)],
        TOPIC,
        "$X$ invertible",
        form="bilinear",
    ),
)
