"""Eigenvalues and eigenvectors: 8 entries of the identity catalogue, in the book's order.

Each entry is an :class:`~hessnotes.identities.Identity`, verified by
:func:`hessnotes.identities.verify`; the chapter "A verified catalogue" shows them all.

Chapters: "A verified catalogue".
"""

from __future__ import annotations

import torch

from hessnotes.checks import simple_spectrum, sym, symmetric
from hessnotes.identities._identity import Identity
from hessnotes.identities._notation import _eig, _eye, _grad, _hess, _jvp

TOPIC = "eigenvalues and eigenvectors"

simple = "$A = A^\\top$, simple spectrum, symmetric directions"

ENTRIES: tuple[Identity, ...] = (
    _grad(
        "λ_max",
        r"\nabla_A \lambda_{\max}(A) = v v^\top",
        lambda A: torch.linalg.eigvalsh(sym(A))[-1],
        lambda A: torch.outer(_eig(A, -1)[2], _eig(A, -1)[2]),
        [simple_spectrum(3)],
        TOPIC,
        simple + "; $v$ the unit top eigenvector",
    ),
    _grad(
        "λ_min",
        r"\nabla_A \lambda_{\min}(A) = v v^\top",
        lambda A: torch.linalg.eigvalsh(sym(A))[0],
        lambda A: torch.outer(_eig(A, 0)[2], _eig(A, 0)[2]),
        [simple_spectrum(3)],
        TOPIC,
        simple + "; $v$ the unit bottom eigenvector",
    ),
    _jvp(
        "dλ_k",
        r"\d\lambda_k = v_k^\top\,\d A\,v_k",
        lambda A: torch.linalg.eigvalsh(sym(A))[1],
        lambda A, dA: _eig(A, 1)[2] @ dA @ _eig(A, 1)[2],
        [simple_spectrum(3)],
        TOPIC,
        simple + "; checked for the middle eigenvalue of a 3×3",
    ),
    _jvp(
        "dλ (all)",
        r"\d\lambda = \diag(V^\top\,\d A\,V)",
        lambda A: torch.linalg.eigvalsh(sym(A)),
        lambda A, dA: torch.diagonal(_eig(A, 0)[1].T @ dA @ _eig(A, 0)[1]),
        [simple_spectrum(4)],
        TOPIC,
        simple + "; $V$ the eigenvectors",
    ),
    _jvp(
        "dv_k",
        r"\d v_k = (\lambda_k I - A)^{+}\,\d A\,v_k",
        lambda A: _eig(A, 1)[2],
        lambda A, dA: (
            torch.linalg.pinv(_eig(A, 1)[0][1] * _eye(3) - A, hermitian=True) @ dA @ _eig(A, 1)[2]
        ),
        [simple_spectrum(3)],
        TOPIC,
        simple + "; unit $v_k$ with a fixed sign, so $v_k^\\top \\d v_k = 0$",
    ),
    _grad(
        "λ₁ + λ₂ (Ky Fan)",
        r"\nabla_A \sum_{i \le k}\lambda_i(A) = V_k V_k^\top",
        lambda A: torch.linalg.eigvalsh(sym(A))[-2:].sum(),
        lambda A: (lambda V: V @ V.T)(_eig(A, 0)[1][:, -2:]),
        [simple_spectrum(4)],
        TOPIC,
        "$A = A^\\top$, $\\lambda_k > \\lambda_{k+1}$ (top $k$ eigenvalues, eigenvectors "
        "$V_k$); checked for $k = 2$",
    ),
    _grad(
        "tr exp(A) via eigenvalues",
        r"\nabla_A \sum_i e^{\lambda_i(A)} = e^{A}",
        lambda A: torch.exp(torch.linalg.eigvalsh(sym(A))).sum(),
        lambda A: torch.linalg.matrix_exp(A),
        [symmetric(3, tangent="symmetric")],
        TOPIC,
        "$A = A^\\top$; symmetric directions",
    ),
    _hess(
        "d²λ_max",
        r"\d^2\lambda_k[U,V] = 2\sum_{j \ne k} "
        r"\frac{(v_j^\top U v_k)(v_j^\top V v_k)}{\lambda_k - \lambda_j}",
        lambda A: torch.linalg.eigvalsh(sym(A))[-1],
        lambda A, U, V: (
            lambda lam, W: (
                2
                * sum(
                    (W[:, j] @ U @ W[:, -1]) * (W[:, j] @ V @ W[:, -1]) / (lam[-1] - lam[j])
                    for j in range(2)
                )
            )
        )(*torch.linalg.eigh(A)),
        [simple_spectrum(3)],
        TOPIC,
        simple + "; checked for the largest eigenvalue",
        form="bilinear",
    ),
)
