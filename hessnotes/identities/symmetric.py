"""Symmetric matrices: 7 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import general, spd, sym, symmetric
from hessnotes.identities._identity import Identity, unvech, vech
from hessnotes.identities._notation import _SYM_SOURCE, _SYM_WHY, _adjugate, _grad, det, inv, tr

TOPIC = "symmetric matrices"


def cook(G):
    return G + G.T - torch.diag(torch.diagonal(G))


ENTRIES: tuple[Identity, ...] = (
    _grad(
        "tr(AX), X sym.",
        r"\nabla_{X \in \Sym} \tr(AX) = \sym(A^\top)",
        lambda X, A: tr(A @ X),
        lambda X, A: sym(A.T),
        [symmetric(3, tangent="symmetric"), general(3, 3)],
        TOPIC,
        "gradient on the symmetric matrices (Frobenius inner product, symmetric directions)",
        source=_SYM_SOURCE,
        as_printed=lambda X, A: cook(A.T),
        as_printed_latex=r"A + A^\top - \operatorname{Diag}(A)",
        erratum=_SYM_WHY.format(g="A^\\top"),
    ),
    _grad(
        "aᵀXb, X sym.",
        r"\nabla_{X \in \Sym}\, a^\top X b = \sym(ab^\top)",
        lambda X, a, b: a @ X @ b,
        lambda X, a, b: sym(torch.outer(a, b)),
        [symmetric(3, tangent="symmetric"), general(3), general(3)],
        TOPIC,
        "gradient on the symmetric matrices",
        source=_SYM_SOURCE,
        as_printed=lambda X, a, b: cook(torch.outer(a, b)),
        as_printed_latex=r"ab^\top + ba^\top - \operatorname{Diag}(ab^\top)",
        erratum=_SYM_WHY.format(g="ab^\\top"),
    ),
    _grad(
        "log det X, X SPD",
        r"\nabla_{X \in \Sym} \log\det X = X^{-1}",
        lambda X: torch.logdet(X),
        lambda X: inv(X),
        [spd(3, tangent="symmetric")],
        TOPIC,
        "gradient on the symmetric matrices, $X$ SPD",
        source=_SYM_SOURCE,
        as_printed=lambda X: cook(inv(X)),
        as_printed_latex=r"2X^{-1} - \operatorname{Diag}(X^{-1})",
        erratum=_SYM_WHY.format(g="X^{-1}"),
    ),
    _grad(
        "det X, X SPD",
        r"\nabla_{X \in \Sym} \det X = \det(X)\,X^{-1}",
        lambda X: det(X),
        lambda X: det(X) * inv(X),
        [spd(3, tangent="symmetric")],
        TOPIC,
        "gradient on the symmetric matrices, $X$ SPD",
        source=_SYM_SOURCE,
        as_printed=lambda X: det(X) * cook(inv(X)),
        as_printed_latex=r"\det(X)\,\big(2X^{-1} - \operatorname{Diag}(X^{-1})\big)",
        erratum=_SYM_WHY.format(g="\\det(X)X^{-1}"),
    ),
    _grad(
        "vech: tr(AX)",
        r"\nabla_\theta \tr(AS) = \operatorname{vech}(A + A^\top - \operatorname{Diag} A)",
        lambda th, A: tr(A @ unvech(th)),
        lambda th, A: vech(cook(A.T)),
        [general(6), general(3, 3)],
        TOPIC,
        "$S = S(\\theta)$ symmetric with $\\operatorname{vech} S = \\theta$",
    ),
    _grad(
        "vech: aᵀXb",
        r"\nabla_\theta\, a^\top S b = \operatorname{vech}(ab^\top + ba^\top - "
        r"\operatorname{Diag} ab^\top)",
        lambda th, a, b: a @ unvech(th) @ b,
        lambda th, a, b: vech(cook(torch.outer(a, b))),
        [general(6), general(3), general(3)],
        TOPIC,
        "$S = S(\\theta)$ symmetric with $\\operatorname{vech} S = \\theta$",
    ),
    _grad(
        "vech: det X",
        r"\nabla_\theta \det S = \operatorname{vech}(2\operatorname{adj} S - "
        r"\operatorname{Diag} \operatorname{adj} S)",
        lambda th: det(unvech(th)),
        lambda th: vech(cook(_adjugate(unvech(th)))),
        [general(6)],
        TOPIC,
        "$S = S(\\theta)$ symmetric with $\\operatorname{vech} S = \\theta$; adj by cofactors",
    ),
)
