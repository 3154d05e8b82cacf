"""Norms: 11 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import distinct_singular_values, general
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import _eye, _grad, _hess

TOPIC = "norms"

nrm = torch.linalg.vector_norm

ENTRIES: tuple[Identity, ...] = (
    _grad(
        "‖x‖₂",
        r"\nabla_x \norm{x}_2 = x / \norm{x}_2",
        lambda x: nrm(x),
        lambda x: x / nrm(x),
        [general(4)],
        TOPIC,
        "$x \\ne 0$",
    ),
    _grad(
        "‖x‖₂²",
        r"\nabla_x \norm{x}_2^2 = 2x",
        lambda x: nrm(x) ** 2,
        lambda x: 2 * x,
        [general(4)],
        TOPIC,
        "any $x$",
    ),
    _grad(
        "‖x − a‖₂",
        r"\nabla_x \norm{x - a}_2 = (x - a)/\norm{x - a}_2",
        lambda x, a: nrm(x - a),
        lambda x, a: (x - a) / nrm(x - a),
        [general(4), general(4)],
        TOPIC,
        "$x \\ne a$",
    ),
    _grad(
        "‖x‖₃",
        r"\nabla_x \norm{x}_p = x \odot \lvert x\rvert^{p-2} / \norm{x}_p^{p-1}",
        lambda x: nrm(x, 3),
        lambda x: x * x.abs() / nrm(x, 3) ** 2,
        [general(4)],
        TOPIC,
        "$x \\ne 0$; checked for $p = 3$",
    ),
    _grad(
        "‖X‖_F",
        r"\nabla_X \fro{X} = X / \fro{X}",
        lambda X: torch.linalg.matrix_norm(X),
        lambda X: X / torch.linalg.matrix_norm(X),
        [general(3, 2)],
        TOPIC,
        "$X \\ne 0$",
    ),
    _grad(
        "‖AX − B‖_F²",
        r"\nabla_X \fro{AX - B}^2 = 2A^\top(AX - B)",
        lambda X, A, B: ((A @ X - B) ** 2).sum(),
        lambda X, A, B: 2 * A.T @ (A @ X - B),
        [general(3, 2), general(4, 3), general(4, 2)],
        TOPIC,
        "any conformable shapes",
    ),
    _grad(
        "‖XA − B‖_F²",
        r"\nabla_X \fro{XA - B}^2 = 2(XA - B)A^\top",
        lambda X, A, B: ((X @ A - B) ** 2).sum(),
        lambda X, A, B: 2 * (X @ A - B) @ A.T,
        [general(3, 2), general(2, 4), general(3, 4)],
        TOPIC,
        "any conformable shapes",
    ),
    _grad(
        "‖AXB − C‖_F²",
        r"\nabla_X \fro{AXB - C}^2 = 2A^\top(AXB - C)B^\top",
        lambda X, A, B, C: ((A @ X @ B - C) ** 2).sum(),
        lambda X, A, B, C: 2 * A.T @ (A @ X @ B - C) @ B.T,
        [general(3, 2), general(4, 3), general(2, 3), general(4, 3)],
        TOPIC,
        "any conformable shapes",
    ),
    _grad(
        "‖X‖_* (nuclear)",
        r"\nabla_X \norm{X}_* = U V^\top",
        lambda X: torch.linalg.matrix_norm(X, "nuc"),
        lambda X: (lambda u, s, vh: u @ vh)(*torch.linalg.svd(X, full_matrices=False)),
        [distinct_singular_values(4, 3)],
        TOPIC,
        "$X = U\\Sigma V^\\top$ thin SVD, full rank, distinct singular values",
    ),
    _grad(
        "‖X‖₂ (spectral)",
        r"\nabla_X \norm{X}_2 = u_1 v_1^\top",
        lambda X: torch.linalg.matrix_norm(X, 2),
        lambda X: (lambda u, s, vh: torch.outer(u[:, 0], vh[0]))(
            *torch.linalg.svd(X, full_matrices=False)
        ),
        [distinct_singular_values(4, 3)],
        TOPIC,
        "$\\sigma_1 > \\sigma_2$ (simple top singular value, vectors $u_1$, $v_1$)",
    ),
    _hess(
        "∇² ‖x‖₂",
        r"\nabla_x^2 \norm{x}_2 = \big(I - xx^\top/\norm{x}_2^2\big)/\norm{x}_2",
        lambda x: nrm(x),
        lambda x: (_eye(4) - torch.outer(x, x) / nrm(x) ** 2) / nrm(x),
        [general(4)],
        TOPIC,
        "$x \\ne 0$",
    ),
)
