"""Differentials: 9 entries of the identity catalogue, in the book's order.

The first rules of the Cookbook; four of them are filed under the topics of inverses and
determinants (their ``topic`` field). Each entry is an :class:`~hessnotes.identities.Identity`,
verified by :func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import general, invertible, spd
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import _COOK, _adjugate, _jvp, det, inv, kron, tr

TOPIC = "differentials"

ENTRIES: tuple[Identity, ...] = (
    _jvp(
        "d tr X",
        r"\d\tr(X) = \tr(\d X)",
        lambda X: tr(X),
        lambda X, dX: tr(dX),
        [general(3, 3)],
        TOPIC,
        "$X$ square",
        source=_COOK.format(36),
    ),
    _jvp(
        "d(XY)",
        r"\d(XY) = \d X\,Y + X\,\d Y",
        lambda X, Y: X @ Y,
        lambda X, Y, dX, dY: dX @ Y + X @ dY,
        [general(3, 2), general(2, 4)],
        TOPIC,
        "$X$ 3×2, $Y$ 2×4",
        source=_COOK.format(37),
    ),
    _jvp(
        "d(X⊙Y)",
        r"\d(X \odot Y) = \d X \odot Y + X \odot \d Y",
        lambda X, Y: X * Y,
        lambda X, Y, dX, dY: dX * Y + X * dY,
        [general(3, 2), general(3, 2)],
        TOPIC,
        "$\\odot$ is the entrywise (Hadamard) product (the Cookbook writes $\\circ$)",
        source=_COOK.format(38),
    ),
    _jvp(
        "d(X⊗Y)",
        r"\d(X \kron Y) = \d X \kron Y + X \kron \d Y",
        lambda X, Y: kron(X, Y),
        lambda X, Y, dX, dY: kron(dX, Y) + kron(X, dY),
        [general(2, 3), general(3, 2)],
        TOPIC,
        "any shapes",
        kind="Kronecker/vec",
        source=_COOK.format(39),
    ),
    _jvp(
        "d(X⁻¹)",
        r"\d(X^{-1}) = -X^{-1}\,\d X\,X^{-1}",
        lambda X: inv(X),
        lambda X, dX: -inv(X) @ dX @ inv(X),
        [invertible(3)],
        "inverses",
        "$X$ invertible",
        source=_COOK.format(40),
    ),
    _jvp(
        "d det X (adjugate)",
        r"\d\det X = \tr(\operatorname{adj}(X)\,\d X)",
        lambda X: det(X),
        lambda X, dX: tr(_adjugate(X) @ dX),
        [general(3, 3)],
        "determinants",
        "any square $X$; adj by cofactors",
        source=_COOK.format(41),
    ),
    _jvp(
        "d det X",
        r"\d\det X = \det X\,\tr(X^{-1}\d X)",
        lambda X: det(X),
        lambda X, dX: det(X) * tr(inv(X) @ dX),
        [invertible(3)],
        "determinants",
        "$X$ invertible",
        source="Cookbook (42), (46)",
    ),
    _jvp(
        "d log det X",
        r"\d\log\det X = \tr(X^{-1}\d X)",
        lambda X: torch.logdet(X),
        lambda X, dX: tr(inv(X) @ dX),
        [spd(3)],
        "determinants",
        "$\\det X > 0$ (drawn SPD, directions general)",
        source=_COOK.format(43),
    ),
    _jvp(
        "d Xᵀ",
        r"\d(X^\top) = (\d X)^\top",
        lambda X: X.T,
        lambda X, dX: dX.T,
        [general(3, 2)],
        TOPIC,
        "any shape",
        source=_COOK.format(44),
    ),
)
