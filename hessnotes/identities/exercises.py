"""The exercise notebook's exercises: 15 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import full_rank, general, symmetric
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import _Diag, _eye, _grad, _jvp, inv, kron, tr

TOPIC = "notebook exercises"


def ex2(X, A):
    Mi = inv(X.T @ X)
    return (A + A.T) @ X @ Mi - X @ Mi @ X.T @ (A + A.T) @ X @ Mi


def F(X):
    d = torch.diagonal(X)
    return (2 * d**2 + torch.cos(d)).sum()


def gF(X):
    return _Diag(4 * X - torch.sin(X))


ENTRIES: tuple[Identity, ...] = (
    _grad(
        "Ex. 1: ‖A − xxᵀ‖_F²",
        r"\nabla_x \fro{A - xx^\top}^2 = -2(A + A^\top - 2xx^\top)x",
        lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
        lambda x, A: -2 * (A + A.T - 2 * torch.outer(x, x)) @ x,
        [general(4), general(4, 4)],
        TOPIC,
        "any square $A$ (the notebook tests a general $A$)",
        source="exercise notebook, Ex. 1",
        as_printed=lambda x, A: -4 * (A - torch.outer(x, x)) @ x,
        as_printed_latex=r"-4(A - xx^\top)x",
        erratum="The notebook states $A = A^\\top$ but tests a general $A$. Under its stated "
        "hypothesis the gradient is $-4(A - xx^\\top)x$ (entry Ex. 1 (A sym.)), which fails "
        "for the general $A$ it tests; the form it prints, with $A + A^\\top$, holds for "
        "every square $A$, so the hypothesis can be dropped.",
    ),
    _grad(
        "Ex. 1 (A sym.)",
        r"\nabla_x \fro{A - xx^\top}^2 = -4(A - xx^\top)x",
        lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
        lambda x, A: -4 * (A - torch.outer(x, x)) @ x,
        [general(4), symmetric(4)],
        TOPIC,
        "$A = A^\\top$",
        source="exercise notebook, Ex. 1",
    ),
    _jvp(
        "Ex. 2: d(XᵀX)",
        r"\d(X^\top X) = \d X^\top X + X^\top \d X",
        lambda X: X.T @ X,
        lambda X, dX: dX.T @ X + X.T @ dX,
        [full_rank(4, 3)],
        TOPIC,
        "any shape",
        source="exercise notebook, Ex. 2",
    ),
    _jvp(
        "Ex. 2: d(XᵀAX)",
        r"\d(X^\top A X) = \d X^\top A X + X^\top A\,\d X",
        lambda X, A: X.T @ A @ X,
        lambda X, A, dX, dA: dX.T @ A @ X + X.T @ A @ dX,
        [full_rank(4, 3), general(4, 4)],
        TOPIC,
        "$A$ fixed",
        tangents=(None, 0),
        source="exercise notebook, Ex. 2",
    ),
    _jvp(
        "Ex. 2: d(XᵀX)⁻¹",
        r"\d M^{-1} = -M^{-1}(\d X^\top X + X^\top \d X)M^{-1}",
        lambda X: inv(X.T @ X),
        lambda X, dX: -inv(X.T @ X) @ (dX.T @ X + X.T @ dX) @ inv(X.T @ X),
        [full_rank(4, 3)],
        TOPIC,
        "$M = X^\\top X$, $X$ of full column rank",
        source="exercise notebook, Ex. 2",
    ),
    _jvp(
        "Ex. 2: d(M⁻¹XᵀAX)",
        r"\d(M^{-1}N) = -M^{-1}\d M\,M^{-1}N + M^{-1}\d N",
        lambda X, A: inv(X.T @ X) @ X.T @ A @ X,
        lambda X, A, dX, dA: (
            -inv(X.T @ X) @ (dX.T @ X + X.T @ dX) @ inv(X.T @ X) @ X.T @ A @ X
            + inv(X.T @ X) @ (dX.T @ A @ X + X.T @ A @ dX)
        ),
        [full_rank(4, 3), general(4, 4)],
        TOPIC,
        "$M = X^\\top X$, $N = X^\\top A X$, $A$ fixed",
        tangents=(None, 0),
        source="exercise notebook, Ex. 2",
    ),
    _grad(
        "Ex. 2: tr(M⁻¹XᵀAX)",
        r"\nabla_X \tr(M^{-1}X^\top A X) = (I - XM^{-1}X^\top)"
        r"(A + A^\top)XM^{-1}",
        lambda X, A: tr(inv(X.T @ X) @ X.T @ A @ X),
        ex2,
        [full_rank(4, 3), general(4, 4)],
        TOPIC,
        "$M = X^\\top X$, $X$ of full column rank, any square $A$",
        source="exercise notebook, Ex. 2",
        as_printed=lambda X, A: 2 * (_eye(4) - X @ inv(X.T @ X) @ X.T) @ A @ X @ inv(X.T @ X),
        as_printed_latex=r"2(I - XM^{-1}X^\top)AXM^{-1}",
        erratum="The notebook states $A = A^\\top$ but tests a general $A$. The simplification "
        "its hypothesis allows, with $2A$ for $A + A^\\top$, fails for a general $A$; the "
        "form it prints, with $A + A^\\top$, holds for every square $A$.",
    ),
    _grad(
        "Ex. 3: tr(X⊙X)",
        r"\nabla_X \tr(X \odot X) = 2\operatorname{Diag}(X)",
        lambda X: torch.diagonal(X * X).sum(),
        lambda X: 2 * _Diag(X),
        [general(3, 2)],
        TOPIC,
        "$X$ 3×2: $\\tr$ sums the main diagonal; $\\operatorname{Diag}$ keeps it",
        source="exercise notebook, Ex. 3",
    ),
    _jvp(
        "Ex. 3: d tr(X⊙X)",
        r"\d\tr(X \odot X) = 2\tr\big(\operatorname{Diag}(X)^\top"
        r"\operatorname{Diag}(\d X)\big)",
        lambda X: torch.diagonal(X * X).sum(),
        lambda X, dX: 2 * tr(_Diag(X).T @ _Diag(dX)),
        [general(3, 2)],
        TOPIC,
        "$X$ 3×2",
        source="exercise notebook, Ex. 3",
    ),
    _grad(
        "Ex. 4: tr(X Diag(X))",
        r"\nabla_X \tr\big(X\operatorname{Diag}(X)\big) = "
        r"2\operatorname{Diag}(X)",
        lambda X: tr(X @ torch.diag(torch.diagonal(X))),
        lambda X: 2 * _Diag(X),
        [general(3, 3)],
        TOPIC,
        "$X$ square; the notebook's broadcast `X * torch.diag(X)` scales column $j$ by "
        "$x_{jj}$, which is the product $X \\operatorname{Diag}(X)$ itself",
        source="exercise notebook, Ex. 4",
    ),
    _jvp(
        "Ex. 4: d tr(X Diag(X))",
        r"\d\tr(X D_X) = \tr(\d X\,D_X + X D_{\d X})",
        lambda X: tr(X @ torch.diag(torch.diagonal(X))),
        lambda X, dX: tr(dX @ _Diag(X) + X @ _Diag(dX)),
        [general(3, 3)],
        TOPIC,
        "$X$ square, $D_X = \\operatorname{Diag}(X)$",
        source="exercise notebook, Ex. 4",
    ),
    _grad(
        "Ex. 5: aᵀX²b",
        r"\nabla_X\, a^\top X^2 b = ab^\top X^\top + X^\top ab^\top",
        lambda X, a, b: a @ X @ X @ b,
        lambda X, a, b: torch.outer(a, b) @ X.T + X.T @ torch.outer(a, b),
        [general(3, 3), general(3), general(3)],
        TOPIC,
        "$X$ square",
        source="exercise notebook, Ex. 5",
    ),
    _grad(
        "Ex. 6: tr(I⊗X + X⊗I)",
        r"\nabla_X \tr(I \kron X + X \kron I) = 2n\,I",
        lambda X: tr(kron(_eye(3), X) + kron(X, _eye(3))),
        lambda X: 6 * _eye(3),
        [general(3, 3)],
        TOPIC,
        "$X$ $n \\times n$ (here $n = 3$)",
        kind="Kronecker/vec",
        source="exercise notebook, Ex. 6",
    ),
    _grad(
        "Ex. 7: ∇_U F(W + UVᵀ)",
        r"\nabla_U F(W + UV^\top) = \nabla F(X)\,V",
        lambda U, V, W: F(W + U @ V.T),
        lambda U, V, W: gF(W + U @ V.T) @ V,
        [general(4, 2), general(3, 2), general(4, 3)],
        TOPIC,
        "$X = W + UV^\\top$ 4×3; checked with the notebook's $F(X) = \\tr(2X\\odot X + \\cos X)$",
        source="exercise notebook, Ex. 7",
    ),
    _grad(
        "Ex. 7: ∇_V F(W + UVᵀ)",
        r"\nabla_V F(W + UV^\top) = \nabla F(X)^\top U",
        lambda U, V, W: F(W + U @ V.T),
        lambda U, V, W: gF(W + U @ V.T).T @ U,
        [general(4, 2), general(3, 2), general(4, 3)],
        TOPIC,
        "as above; gradient in the second argument",
        wrt=1,
        source="exercise notebook, Ex. 7",
    ),
)
