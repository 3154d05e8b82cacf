"""Kronecker products and vec: 19 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes._linalg import unvec, vec
from hessnotes.checks import general, invertible, spd
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import (
    _COOK,
    _eye,
    _grad,
    _hess,
    _jvp,
    inv,
    kron,
    tr,
)
from hessnotes.kron import commutation_matrix

TOPIC = "Kronecker and vec"

kv = "Kronecker/vec"


def grad_quadratic_vec(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Gradient of vec(X)ᵀ K vec(X) in X: unvec((K + Kᵀ) vec X)."""
    return unvec((K + K.T) @ vec(X), tuple(X.shape))


ENTRIES: tuple[Identity, ...] = (
    _jvp(
        "vec(AXB)",
        r"\d\vec(AXB) = (B^\top \kron A)\,\vec(\d X)",
        lambda X, A, B: vec(A @ X @ B),
        lambda X, A, B, dX, dA, dB: kron(B.T, A) @ vec(dX),
        [general(3, 4), general(2, 3), general(4, 2)],
        TOPIC,
        "column-major vec",
        kind=kv,
        tangents=(None, 0, 0),
        source=_COOK.format(520),
    ),
    _grad(
        "tr(AᵀB) = vec(A)ᵀvec(B)",
        r"\nabla_A \vec(A)^\top \vec(B) = B",
        lambda A, B: vec(A) @ vec(B),
        lambda A, B: B,
        [general(3, 2), general(3, 2)],
        TOPIC,
        "$A$, $B$ of one shape; $\\vec(A)^\\top\\vec(B) = \\tr(A^\\top B)$",
        kind=kv,
        source=_COOK.format(521),
    ),
    _grad(
        "aᵀXBXᵀc in vec form",
        r"a^\top X B X^\top c = \vec(X)^\top (B^\top \kron ca^\top)\vec(X)",
        lambda X, B, a, c: a @ X @ B @ X.T @ c,
        lambda X, B, a, c: grad_quadratic_vec(X, kron(B.T, torch.outer(c, a))),
        [general(3, 2), general(2, 2), general(3), general(3)],
        TOPIC,
        "any square $B$; both sides are quadratic forms in $X$, checked through their "
        "gradients (equal gradients, equal forms: both vanish at $X = 0$)",
        kind=kv,
        source="Cookbook (524)",
        as_printed=lambda X, B, a, c: grad_quadratic_vec(X, kron(B, torch.outer(c, a))),
        as_printed_latex=r"a^\top X B X^\top c = \vec(X)^\top (B \kron ca^\top)\vec(X)",
        erratum="By $(B \\kron C)\\vec(X) = \\vec(CXB^\\top)$ the printed right side "
        "equals $a^\\top X B^\\top X^\\top c$, which is $a^\\top X B X^\\top c$ only for "
        "a symmetric $B$; the Lean formalisation states it with $B^\\top$. The entry compares "
        "the gradients of the two sides, which are equal exactly when the quadratic forms are.",
    ),
    _grad(
        "tr(A⊗X)",
        r"\nabla_X \tr(A \kron X) = \tr(A)\,I",
        lambda X, A: tr(kron(A, X)),
        lambda X, A: tr(A) * _eye(3),
        [general(3, 3), general(2, 2)],
        TOPIC,
        "$\\tr(A \\kron X) = \\tr A\\,\\tr X$",
        kind=kv,
        source="from Cookbook (515)",
    ),
    _grad(
        "log|det(A⊗X)|",
        r"\nabla_X \log\lvert\det(A \kron X)\rvert = m\,X^{-\top}",
        lambda X, A: torch.linalg.slogdet(kron(A, X))[1],
        lambda X, A: 2 * inv(X).T,
        [invertible(3), invertible(2)],
        TOPIC,
        "$A$ $m \\times m$ (here $m = 2$), $X$ invertible; "
        "$\\det(A \\kron X) = \\det(A)^n\\det(X)^m$",
        kind=kv,
        source="from Cookbook (516)",
    ),
    _jvp(
        "d(A⊗X)⁻¹",
        r"\d(A \kron X)^{-1} = -A^{-1} \kron X^{-1}\,\d X\,X^{-1}",
        lambda X, A: inv(kron(A, X)),
        lambda X, A, dX, dA: -kron(inv(A), inv(X) @ dX @ inv(X)),
        [invertible(2), invertible(2)],
        TOPIC,
        "$A$, $X$ invertible; $(A \\kron X)^{-1} = A^{-1} \\kron X^{-1}$",
        kind=kv,
        tangents=(None, 0),
        source="from Cookbook (512)",
    ),
    _jvp(
        "d(X⊗X)",
        r"\d(X \kron X) = \d X \kron X + X \kron \d X",
        lambda X: kron(X, X),
        lambda X, dX: kron(dX, X) + kron(X, dX),
        [general(2, 3)],
        TOPIC,
        "any shape",
        kind=kv,
    ),
    _grad(
        "tr((A⊗B)C) in B",
        r"\nabla_B \tr\big((A \kron B)C\big) = "
        r"\sum_{i,j} a_{ij}\, C_{[j,i]}^\top",
        lambda B, A, C: tr(kron(A, B) @ C),
        lambda B, A, C: torch.einsum("ab,bjai->ij", A, C.reshape(3, 2, 2, 2)),
        [general(2, 2), general(2, 3), general(6, 4)],
        TOPIC,
        "$C_{[j,i]}$ is block $(j, i)$ of $C$, blocks the shape of $B^\\top$",
        kind=kv,
    ),
    _grad(
        "tr((A⊗B)C) in A",
        r"\nabla_A \tr\big((A \kron B)C\big) = "
        r"\Big[\tr\big(B\,C_{[j,i]}\big)\Big]_{ij}",
        lambda A, B, C: tr(kron(A, B) @ C),
        lambda A, B, C: torch.einsum("cd,bdac->ab", B, C.reshape(3, 2, 2, 2)),
        [general(2, 3), general(2, 2), general(6, 4)],
        TOPIC,
        "$C_{[j,i]}$ is block $(j, i)$ of $C$",
        kind=kv,
    ),
    _grad(
        "tr((A⊗B)X)",
        r"\nabla_X \tr\big((A \kron B)X\big) = A^\top \kron B^\top",
        lambda X, A, B: tr(kron(A, B) @ X),
        lambda X, A, B: kron(A.T, B.T),
        [general(4, 6), general(2, 2), general(3, 2)],
        TOPIC,
        "$(A \\kron B)^\\top = A^\\top \\kron B^\\top$",
        kind=kv,
        source="uses Cookbook (510)",
    ),
    _grad(
        "‖(A⊗B)vec X − y‖²",
        r"\nabla_X \norm{(A \kron B)\vec X - y}_2^2 = "
        r"2B^\top (BXA^\top - Y) A",
        lambda X, A, B, y: ((kron(A, B) @ vec(X) - y) ** 2).sum(),
        lambda X, A, B, y: 2 * B.T @ (B @ X @ A.T - unvec(y, (2, 3))) @ A,
        [general(3, 2), general(3, 2), general(2, 3), general(6)],
        TOPIC,
        "$y = \\vec(Y)$; $(A \\kron B)\\vec X = \\vec(BXA^\\top)$",
        kind=kv,
    ),
    _grad(
        "cᵀ(Bᵀ⊗A)vec X",
        r"\nabla_X\, c^\top (B^\top \kron A)\vec X = A^\top C B^\top",
        lambda X, A, B, c: c @ kron(B.T, A) @ vec(X),
        lambda X, A, B, c: A.T @ unvec(c, (2, 2)) @ B.T,
        [general(3, 4), general(2, 3), general(4, 2), general(4)],
        TOPIC,
        "$c = \\vec(C)$",
        kind=kv,
    ),
    _jvp(
        "vec(Xᵀ) = K vec(X)",
        r"\d\vec(X^\top) = K_{m,n}\,\vec(\d X)",
        lambda X: vec(X.T),
        lambda X, dX: torch.as_tensor(commutation_matrix(3, 2)) @ vec(dX),
        [general(3, 2)],
        TOPIC,
        "$X$ $m \\times n$ (3×2); $K_{m,n}$ the commutation matrix",
        kind=kv,
    ),
    _jvp(
        "d(A⊕B)⁻¹",
        r"\d(A \ksum B)^{-1} = -(A \ksum B)^{-1}(\d A \kron I)(A \ksum B)^{-1}",
        lambda A, B: inv(kron(A, _eye(3)) + kron(_eye(2), B)),
        lambda A, B, dA, dB: (lambda S: -S @ kron(dA, _eye(3)) @ S)(
            inv(kron(A, _eye(3)) + kron(_eye(2), B))
        ),
        [spd(2), spd(3)],
        TOPIC,
        "$A \\ksum B = A \\kron I + I \\kron B$ invertible (here SPD)",
        kind=kv,
        tangents=(None, 0),
    ),
    _hess(
        "∇² tr(XᵀAX) in vec X",
        r"\nabla^2_{\vec X} \tr(X^\top A X) = I \kron (A + A^\top)",
        lambda X, A: tr(X.T @ A @ X),
        lambda X, A: kron(_eye(2), A + A.T),
        [general(3, 2), general(3, 3)],
        TOPIC,
        "column-major vec",
        kind=kv,
    ),
    _hess(
        "∇² tr(XAXᵀ) in vec X",
        r"\nabla^2_{\vec X} \tr(X A X^\top) = (A + A^\top) \kron I",
        lambda X, A: tr(X @ A @ X.T),
        lambda X, A: kron(A + A.T, _eye(3)),
        [general(3, 2), general(2, 2)],
        TOPIC,
        "column-major vec",
        kind=kv,
    ),
    _hess(
        "∇² tr(XᵀAXB) in vec X",
        r"\nabla^2_{\vec X} \tr(X^\top A X B) = "
        r"B^\top \kron A + B \kron A^\top",
        lambda X, A, B: tr(X.T @ A @ X @ B),
        lambda X, A, B: kron(B.T, A) + kron(B, A.T),
        [general(3, 2), general(3, 3), general(2, 2)],
        TOPIC,
        "column-major vec",
        kind=kv,
    ),
    _hess(
        "∇² ‖AX − B‖_F² in vec X",
        r"\nabla^2_{\vec X} \fro{AX - B}^2 = 2\,I \kron A^\top A",
        lambda X, A, B: ((A @ X - B) ** 2).sum(),
        lambda X, A, B: 2 * kron(_eye(2), A.T @ A),
        [general(3, 2), general(4, 3), general(4, 2)],
        TOPIC,
        "column-major vec",
        kind=kv,
    ),
    _hess(
        "∇² aᵀXBXᵀc in vec X",
        r"\nabla^2_{\vec X}\, a^\top X B X^\top c = "
        r"B^\top \kron ca^\top + B \kron ac^\top",
        lambda X, B, a, c: a @ X @ B @ X.T @ c,
        lambda X, B, a, c: kron(B.T, torch.outer(c, a)) + kron(B, torch.outer(a, c)),
        [general(3, 2), general(2, 2), general(3), general(3)],
        TOPIC,
        "column-major vec",
        kind=kv,
    ),
)
