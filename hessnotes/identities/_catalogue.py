"""The entries of the identity catalogue (:data:`hessnotes.identities.CATALOGUE`).

Each entry is one call of ``_grad``, ``_jvp`` or ``_hess``: name, LaTeX, the function in torch,
the closed form, the input domains, the topic and the conditions. Adding an identity means adding
one such call; ``tests/test_identities.py`` verifies every entry.
"""

from __future__ import annotations

import torch

from hessnotes.checks import (
    distinct_singular_values,
    full_rank,
    general,
    invertible,
    simple_spectrum,
    spd,
    sym,
    symmetric,
)
from hessnotes.identities._identity import Identity, unvech, vech
from hessnotes.kron import commutation_matrix

__all__ = ["CATALOGUE"]

_DT = torch.float64


# --------------------------------------------------------------------------------------------------
# Small helpers for the entries (torch, float64)
# --------------------------------------------------------------------------------------------------
inv = torch.linalg.inv
det = torch.linalg.det
tr = torch.trace


def kron(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``torch.kron`` of contiguous copies (torch's kron rejects some transposed views)."""
    return torch.kron(A.contiguous(), B.contiguous())


def _eye(n: int) -> torch.Tensor:
    return torch.eye(n, dtype=_DT)


def _vec(M: torch.Tensor) -> torch.Tensor:
    return M.T.reshape(-1)


def _unvec(v: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    return v.reshape(shape[1], shape[0]).T


def _Diag(M: torch.Tensor) -> torch.Tensor:
    """Keep the main diagonal of a (possibly rectangular) matrix, zero elsewhere."""
    return M * torch.eye(*M.shape, dtype=M.dtype)


def _adjugate(X: torch.Tensor) -> torch.Tensor:
    """Adjugate by cofactors (valid for singular X too)."""
    n = X.shape[0]
    cof = torch.empty_like(X)
    for i in range(n):
        for j in range(n):
            keep_r = [r for r in range(n) if r != i]
            keep_c = [c for c in range(n) if c != j]
            cof[i, j] = (-1) ** (i + j) * det(X[keep_r][:, keep_c])
    return cof.T


def _eig(A: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eigenvalues, eigenvectors and the k-th eigenvector with a fixed sign."""
    lam, V = torch.linalg.eigh(sym(A))
    v = V[:, k]
    return lam, V, v * torch.sign(v[torch.argmax(v.abs())])


def _matpow(X: torch.Tensor, k: int) -> torch.Tensor:
    return torch.linalg.matrix_power(X, k)


# --------------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------------
def _grad(name, latex, f, d, inputs, topic, conditions="", kind="gradient", **kw) -> Identity:
    return Identity(name, latex, kind, topic, f, d, tuple(inputs), conditions, "gradient", **kw)


def _jvp(name, latex, f, d, inputs, topic, conditions="", kind="JVP", **kw) -> Identity:
    return Identity(name, latex, kind, topic, f, d, tuple(inputs), conditions, "jvp", **kw)


def _hess(name, latex, f, d, inputs, topic, conditions="", form="matrix", kind="Hessian", **kw):
    return Identity(name, latex, kind, topic, f, d, tuple(inputs), conditions, form, **kw)


_COOK = "Cookbook ({})"
_SYM_SOURCE = "Cookbook, Symmetric (structured matrices)"
_SYM_WHY = (
    "$G + G^\\top - \\operatorname{{Diag}}(G)$ with $G = {g}$ is the derivative with respect to "
    "the $n(n+1)/2$ independent entries (the vech coordinates; see the vech entries). It is not "
    "the gradient for the Frobenius inner product: an off-diagonal coordinate moves two entries, "
    "so the inner product counts it twice, and the gradient on the symmetric matrices is "
    "$\\sym(G)$."
)


def _build() -> tuple[Identity, ...]:
    E: list[Identity] = []
    add = E.append

    # ---------------------------------------------------------------- differentials (Cookbook)
    t = "differentials"
    add(
        _jvp(
            "d tr X",
            r"\d\tr(X) = \tr(\d X)",
            lambda X: tr(X),
            lambda X, dX: tr(dX),
            [general(3, 3)],
            t,
            "$X$ square",
            source=_COOK.format(36),
        )
    )
    add(
        _jvp(
            "d(XY)",
            r"\d(XY) = \d X\,Y + X\,\d Y",
            lambda X, Y: X @ Y,
            lambda X, Y, dX, dY: dX @ Y + X @ dY,
            [general(3, 2), general(2, 4)],
            t,
            "$X$ 3×2, $Y$ 2×4",
            source=_COOK.format(37),
        )
    )
    add(
        _jvp(
            "d(X⊙Y)",
            r"\d(X \odot Y) = \d X \odot Y + X \odot \d Y",
            lambda X, Y: X * Y,
            lambda X, Y, dX, dY: dX * Y + X * dY,
            [general(3, 2), general(3, 2)],
            t,
            "$\\odot$ is the entrywise (Hadamard) product (the Cookbook writes $\\circ$)",
            source=_COOK.format(38),
        )
    )
    add(
        _jvp(
            "d(X⊗Y)",
            r"\d(X \kron Y) = \d X \kron Y + X \kron \d Y",
            lambda X, Y: kron(X, Y),
            lambda X, Y, dX, dY: kron(dX, Y) + kron(X, dY),
            [general(2, 3), general(3, 2)],
            t,
            "any shapes",
            kind="Kronecker/vec",
            source=_COOK.format(39),
        )
    )
    add(
        _jvp(
            "d(X⁻¹)",
            r"\d(X^{-1}) = -X^{-1}\,\d X\,X^{-1}",
            lambda X: inv(X),
            lambda X, dX: -inv(X) @ dX @ inv(X),
            [invertible(3)],
            "inverses",
            "$X$ invertible",
            source=_COOK.format(40),
        )
    )
    add(
        _jvp(
            "d det X (adjugate)",
            r"\d\det X = \tr(\operatorname{adj}(X)\,\d X)",
            lambda X: det(X),
            lambda X, dX: tr(_adjugate(X) @ dX),
            [general(3, 3)],
            "determinants",
            "any square $X$; adj by cofactors",
            source=_COOK.format(41),
        )
    )
    add(
        _jvp(
            "d det X",
            r"\d\det X = \det X\,\tr(X^{-1}\d X)",
            lambda X: det(X),
            lambda X, dX: det(X) * tr(inv(X) @ dX),
            [invertible(3)],
            "determinants",
            "$X$ invertible",
            source="Cookbook (42), (46)",
        )
    )
    add(
        _jvp(
            "d log det X",
            r"\d\log\det X = \tr(X^{-1}\d X)",
            lambda X: torch.logdet(X),
            lambda X, dX: tr(inv(X) @ dX),
            [spd(3)],
            "determinants",
            "$\\det X > 0$ (drawn SPD, directions general)",
            source=_COOK.format(43),
        )
    )
    add(
        _jvp(
            "d Xᵀ",
            r"\d(X^\top) = (\d X)^\top",
            lambda X: X.T,
            lambda X, dX: dX.T,
            [general(3, 2)],
            t,
            "any shape",
            source=_COOK.format(44),
        )
    )

    # ---------------------------------------------------------------- traces
    t = "traces"
    add(
        _grad(
            "tr(AX)",
            r"\nabla_X \tr(AX) = A^\top",
            lambda X, A: tr(A @ X),
            lambda X, A: A.T,
            [general(3, 2), general(2, 3)],
            t,
            "$X$ 3×2, $A$ 2×3",
        )
    )
    add(
        _grad(
            "tr(AXᵀ)",
            r"\nabla_X \tr(AX^\top) = A",
            lambda X, A: tr(A @ X.T),
            lambda X, A: A,
            [general(3, 2), general(3, 2)],
            t,
            "$A$, $X$ of one shape",
        )
    )
    add(
        _grad(
            "tr(AXB)",
            r"\nabla_X \tr(AXB) = A^\top B^\top",
            lambda X, A, B: tr(A @ X @ B),
            lambda X, A, B: A.T @ B.T,
            [general(3, 2), general(4, 3), general(2, 4)],
            t,
            "$AXB$ square",
        )
    )
    add(
        _grad(
            "tr(AXᵀB)",
            r"\nabla_X \tr(AX^\top B) = BA",
            lambda X, A, B: tr(A @ X.T @ B),
            lambda X, A, B: B @ A,
            [general(3, 2), general(4, 2), general(3, 4)],
            t,
            "$AX^\\top B$ square",
        )
    )
    add(
        _grad(
            "tr(XᵀX)",
            r"\nabla_X \tr(X^\top X) = 2X",
            lambda X: tr(X.T @ X),
            lambda X: 2 * X,
            [general(3, 2)],
            t,
            "any shape",
        )
    )
    add(
        _grad(
            "tr(XᵀAX)",
            r"\nabla_X \tr(X^\top A X) = (A + A^\top)X",
            lambda X, A: tr(X.T @ A @ X),
            lambda X, A: (A + A.T) @ X,
            [general(3, 2), general(3, 3)],
            t,
            "$A$ square, not necessarily symmetric",
        )
    )
    add(
        _grad(
            "tr(XAXᵀ)",
            r"\nabla_X \tr(X A X^\top) = X(A + A^\top)",
            lambda X, A: tr(X @ A @ X.T),
            lambda X, A: X @ (A + A.T),
            [general(3, 2), general(2, 2)],
            t,
            "$A$ square",
        )
    )
    add(
        _grad(
            "tr(XᵀAXB)",
            r"\nabla_X \tr(X^\top A X B) = AXB + A^\top X B^\top",
            lambda X, A, B: tr(X.T @ A @ X @ B),
            lambda X, A, B: A @ X @ B + A.T @ X @ B.T,
            [general(3, 2), general(3, 3), general(2, 2)],
            t,
            "$A$, $B$ square",
        )
    )
    add(
        _grad(
            "tr(AXBX)",
            r"\nabla_X \tr(AXBX) = A^\top X^\top B^\top + B^\top X^\top A^\top",
            lambda X, A, B: tr(A @ X @ B @ X),
            lambda X, A, B: A.T @ X.T @ B.T + B.T @ X.T @ A.T,
            [general(3, 2), general(2, 3), general(2, 3)],
            t,
            "$AXBX$ square",
        )
    )
    add(
        _grad(
            "tr(AXBXᵀC)",
            r"\nabla_X \tr(AXBX^\top C) = A^\top C^\top X B^\top + CAXB",
            lambda X, A, B, C: tr(A @ X @ B @ X.T @ C),
            lambda X, A, B, C: A.T @ C.T @ X @ B.T + C @ A @ X @ B,
            [general(3, 2), general(4, 3), general(2, 2), general(3, 4)],
            t,
            "$B$ square, $AXBX^\\top C$ square",
        )
    )
    add(
        _grad(
            "tr(X²)",
            r"\nabla_X \tr(X^2) = 2X^\top",
            lambda X: tr(X @ X),
            lambda X: 2 * X.T,
            [general(3, 3)],
            t,
            "$X$ square",
        )
    )
    add(
        _grad(
            "tr(X⁴)",
            r"\nabla_X \tr(X^k) = k\,(X^{k-1})^\top",
            lambda X: tr(_matpow(X, 4)),
            lambda X: 4 * _matpow(X, 3).T,
            [general(3, 3)],
            t,
            "$X$ square; checked for $k=4$",
        )
    )
    add(
        _grad(
            "tr(AX³)",
            r"\nabla_X \tr(AX^k) = \sum_{r=0}^{k-1} (X^r A X^{k-1-r})^\top",
            lambda X, A: tr(A @ _matpow(X, 3)),
            lambda X, A: sum(_matpow(X, r) @ A @ _matpow(X, 2 - r) for r in range(3)).T,
            [general(3, 3), general(3, 3)],
            t,
            "$X$ square; checked for $k=3$",
        )
    )
    add(
        _grad(
            "tr(X⁻¹)",
            r"\nabla_X \tr(X^{-1}) = -(X^{-2})^\top",
            lambda X: tr(inv(X)),
            lambda X: -(inv(X) @ inv(X)).T,
            [invertible(3)],
            t,
            "$X$ invertible",
        )
    )
    add(
        _grad(
            "tr(AX⁻¹B)",
            r"\nabla_X \tr(AX^{-1}B) = -X^{-\top}A^\top B^\top X^{-\top}",
            lambda X, A, B: tr(A @ inv(X) @ B),
            lambda X, A, B: -inv(X).T @ A.T @ B.T @ inv(X).T,
            [invertible(3), general(2, 3), general(3, 2)],
            t,
            "$X$ invertible",
        )
    )
    add(
        _grad(
            "tr((XᵀX)⁻¹)",
            r"\nabla_X \tr\big((X^\top X)^{-1}\big) = -2X(X^\top X)^{-2}",
            lambda X: tr(inv(X.T @ X)),
            lambda X: -2 * X @ inv(X.T @ X) @ inv(X.T @ X),
            [full_rank(3, 2)],
            t,
            "$X$ of full column rank",
        )
    )
    add(
        _grad(
            "tr(exp X)",
            r"\nabla_X \tr(e^X) = (e^X)^\top",
            lambda X: tr(torch.linalg.matrix_exp(X)),
            lambda X: torch.linalg.matrix_exp(X).T,
            [general(3, 3)],
            t,
            "$X$ square",
        )
    )

    # ---------------------------------------------------------------- determinants
    t = "determinants"
    add(
        _grad(
            "det X",
            r"\nabla_X \det X = \det(X)\,X^{-\top}",
            lambda X: det(X),
            lambda X: det(X) * inv(X).T,
            [invertible(3)],
            t,
            "$X$ invertible",
        )
    )
    add(
        _grad(
            "log|det X|",
            r"\nabla_X \log\lvert\det X\rvert = X^{-\top}",
            lambda X: torch.linalg.slogdet(X)[1],
            lambda X: inv(X).T,
            [invertible(3)],
            t,
            "$X$ invertible",
        )
    )
    add(
        _grad(
            "log det X (SPD)",
            r"\nabla_X \log\det X = X^{-1}",
            lambda X: torch.logdet(X),
            lambda X: inv(X),
            [spd(3)],
            t,
            "$X$ SPD; as a gradient in all directions (it is symmetric already)",
        )
    )
    add(
        _grad(
            "det(AXB)",
            r"\nabla_X \det(AXB) = \det(AXB)\,A^\top (AXB)^{-\top} B^\top",
            lambda X, A, B: det(A @ X @ B),
            lambda X, A, B: det(A @ X @ B) * A.T @ inv(A @ X @ B).T @ B.T,
            [general(3, 4), general(2, 3), general(4, 2)],
            t,
            "$AXB$ square and invertible",
        )
    )
    add(
        _grad(
            "det(XᵀAX)",
            r"\nabla_X \det M = \det(M)\,(AXM^{-1} + A^\top X M^{-\top})",
            lambda X, A: det(X.T @ A @ X),
            lambda X, A: (
                det(X.T @ A @ X) * (A @ X @ inv(X.T @ A @ X) + A.T @ X @ inv(X.T @ A @ X).T)
            ),
            [full_rank(3, 2), invertible(3)],
            t,
            "$M = X^\\top A X$ invertible; $A$ need not be symmetric",
        )
    )
    add(
        _grad(
            "log det(XᵀX)",
            r"\nabla_X \log\det(X^\top X) = 2X(X^\top X)^{-1}",
            lambda X: torch.logdet(X.T @ X),
            lambda X: 2 * X @ inv(X.T @ X),
            [full_rank(3, 2)],
            t,
            "$X$ of full column rank",
        )
    )
    add(
        _grad(
            "det(X²)",
            r"\nabla_X \det(X^k) = k\det(X)^k X^{-\top}",
            lambda X: det(X @ X),
            lambda X: 2 * det(X) ** 2 * inv(X).T,
            [invertible(3)],
            t,
            "$X$ invertible; checked for $k=2$",
        )
    )
    add(
        _grad(
            "det(X⁻¹)",
            r"\nabla_X \det(X^{-1}) = -\det(X^{-1})\,X^{-\top}",
            lambda X: det(inv(X)),
            lambda X: -det(inv(X)) * inv(X).T,
            [invertible(3)],
            t,
            "$X$ invertible",
        )
    )
    add(
        _grad(
            "log det(A + XXᵀ)",
            r"\nabla_X \log\det(A + XX^\top) = 2(A + XX^\top)^{-1}X",
            lambda X, A: torch.logdet(A + X @ X.T),
            lambda X, A: 2 * inv(A + X @ X.T) @ X,
            [general(3, 2), spd(3)],
            t,
            "$A$ SPD",
        )
    )
    add(
        _hess(
            "d² det X",
            r"\d^2\det X[U,V] = \det X\,\big(\tr(X^{-1}U)\tr(X^{-1}V) - "
            r"\tr(X^{-1}UX^{-1}V)\big)",
            lambda X: det(X),
            lambda X, U, V: (
                det(X) * (tr(inv(X) @ U) * tr(inv(X) @ V) - tr(inv(X) @ U @ inv(X) @ V))
            ),
            [invertible(3)],
            t,
            "$X$ invertible",
            form="bilinear",
        )
    )

    # ---------------------------------------------------------------- inverses
    t = "inverses"
    add(
        _grad(
            "aᵀX⁻¹b",
            r"\nabla_X\, a^\top X^{-1} b = -X^{-\top} a b^\top X^{-\top}",
            lambda X, a, b: a @ inv(X) @ b,
            lambda X, a, b: -inv(X).T @ torch.outer(a, b) @ inv(X).T,
            [invertible(3), general(3), general(3)],
            t,
            "$X$ invertible",
        )
    )
    add(
        _jvp(
            "d(X⁻¹b)",
            r"\d(X^{-1}b) = -X^{-1}\,\d X\,X^{-1}b",
            lambda X, b: torch.linalg.solve(X, b),
            lambda X, b, dX, db: -inv(X) @ dX @ inv(X) @ b,
            [invertible(3), general(3)],
            t,
            "$X$ invertible, $b$ fixed",
            tangents=(None, 0),
        )
    )
    add(
        _jvp(
            "d X⁺",
            r"\d X^{+} = -X^{+}\d X\,X^{+} + (X^\top X)^{-1}\d X^\top (I - XX^{+})",
            lambda X: torch.linalg.pinv(X),
            lambda X, dX: (
                -inv(X.T @ X) @ X.T @ dX @ inv(X.T @ X) @ X.T
                + inv(X.T @ X) @ dX.T @ (_eye(4) - X @ inv(X.T @ X) @ X.T)
            ),
            [full_rank(4, 2)],
            t,
            "$X$ of full column rank, $X^{+} = (X^\\top X)^{-1}X^\\top$",
        )
    )
    add(
        _jvp(
            "d P (projector)",
            r"\d P = (I - P)\,\d X\,X^{+} + \big((I - P)\,\d X\,X^{+}\big)^\top",
            lambda X: X @ torch.linalg.pinv(X),
            lambda X, dX: (lambda Q: Q + Q.T)(
                (_eye(4) - X @ inv(X.T @ X) @ X.T) @ dX @ inv(X.T @ X) @ X.T
            ),
            [full_rank(4, 2)],
            t,
            "$P = XX^{+}$ projects onto the range of $X$, of full column rank",
        )
    )
    add(
        _hess(
            "d² tr(X⁻¹)",
            r"\d^2\tr(X^{-1})[U,V] = \tr(X^{-1}UX^{-1}VX^{-1}) + "
            r"\tr(X^{-1}VX^{-1}UX^{-1})",
            lambda X: tr(inv(X)),
            lambda X, U, V: (
                tr(inv(X) @ U @ inv(X) @ V @ inv(X)) + tr(inv(X) @ V @ inv(X) @ U @ inv(X))
            ),
            [invertible(3)],
            t,
            "$X$ invertible",
            form="bilinear",
        )
    )

    # ---------------------------------------------------------------- norms
    t = "norms"
    nrm = torch.linalg.vector_norm
    add(
        _grad(
            "‖x‖₂",
            r"\nabla_x \norm{x}_2 = x / \norm{x}_2",
            lambda x: nrm(x),
            lambda x: x / nrm(x),
            [general(4)],
            t,
            "$x \\ne 0$",
        )
    )
    add(
        _grad(
            "‖x‖₂²",
            r"\nabla_x \norm{x}_2^2 = 2x",
            lambda x: nrm(x) ** 2,
            lambda x: 2 * x,
            [general(4)],
            t,
            "any $x$",
        )
    )
    add(
        _grad(
            "‖x − a‖₂",
            r"\nabla_x \norm{x - a}_2 = (x - a)/\norm{x - a}_2",
            lambda x, a: nrm(x - a),
            lambda x, a: (x - a) / nrm(x - a),
            [general(4), general(4)],
            t,
            "$x \\ne a$",
        )
    )
    add(
        _grad(
            "‖x‖₃",
            r"\nabla_x \norm{x}_p = x \odot \lvert x\rvert^{p-2} / \norm{x}_p^{p-1}",
            lambda x: nrm(x, 3),
            lambda x: x * x.abs() / nrm(x, 3) ** 2,
            [general(4)],
            t,
            "$x \\ne 0$; checked for $p = 3$",
        )
    )
    add(
        _grad(
            "‖X‖_F",
            r"\nabla_X \fro{X} = X / \fro{X}",
            lambda X: torch.linalg.matrix_norm(X),
            lambda X: X / torch.linalg.matrix_norm(X),
            [general(3, 2)],
            t,
            "$X \\ne 0$",
        )
    )
    add(
        _grad(
            "‖AX − B‖_F²",
            r"\nabla_X \fro{AX - B}^2 = 2A^\top(AX - B)",
            lambda X, A, B: ((A @ X - B) ** 2).sum(),
            lambda X, A, B: 2 * A.T @ (A @ X - B),
            [general(3, 2), general(4, 3), general(4, 2)],
            t,
            "any conformable shapes",
        )
    )
    add(
        _grad(
            "‖XA − B‖_F²",
            r"\nabla_X \fro{XA - B}^2 = 2(XA - B)A^\top",
            lambda X, A, B: ((X @ A - B) ** 2).sum(),
            lambda X, A, B: 2 * (X @ A - B) @ A.T,
            [general(3, 2), general(2, 4), general(3, 4)],
            t,
            "any conformable shapes",
        )
    )
    add(
        _grad(
            "‖AXB − C‖_F²",
            r"\nabla_X \fro{AXB - C}^2 = 2A^\top(AXB - C)B^\top",
            lambda X, A, B, C: ((A @ X @ B - C) ** 2).sum(),
            lambda X, A, B, C: 2 * A.T @ (A @ X @ B - C) @ B.T,
            [general(3, 2), general(4, 3), general(2, 3), general(4, 3)],
            t,
            "any conformable shapes",
        )
    )
    add(
        _grad(
            "‖X‖_* (nuclear)",
            r"\nabla_X \norm{X}_* = U V^\top",
            lambda X: torch.linalg.matrix_norm(X, "nuc"),
            lambda X: (lambda u, s, vh: u @ vh)(*torch.linalg.svd(X, full_matrices=False)),
            [distinct_singular_values(4, 3)],
            t,
            "$X = U\\Sigma V^\\top$ thin SVD, full rank, distinct singular values",
        )
    )
    add(
        _grad(
            "‖X‖₂ (spectral)",
            r"\nabla_X \norm{X}_2 = u_1 v_1^\top",
            lambda X: torch.linalg.matrix_norm(X, 2),
            lambda X: (lambda u, s, vh: torch.outer(u[:, 0], vh[0]))(
                *torch.linalg.svd(X, full_matrices=False)
            ),
            [distinct_singular_values(4, 3)],
            t,
            "$\\sigma_1 > \\sigma_2$ (simple top singular value, vectors $u_1$, $v_1$)",
        )
    )
    add(
        _hess(
            "∇² ‖x‖₂",
            r"\nabla_x^2 \norm{x}_2 = \big(I - xx^\top/\norm{x}_2^2\big)/\norm{x}_2",
            lambda x: nrm(x),
            lambda x: (_eye(4) - torch.outer(x, x) / nrm(x) ** 2) / nrm(x),
            [general(4)],
            t,
            "$x \\ne 0$",
        )
    )

    # ---------------------------------------------------------------- quadratic and bilinear forms
    t = "quadratic and bilinear forms"
    add(
        _grad(
            "xᵀAx",
            r"\nabla_x\, x^\top A x = (A + A^\top)x",
            lambda x, A: x @ A @ x,
            lambda x, A: (A + A.T) @ x,
            [general(3), general(3, 3)],
            t,
            "$A$ square",
        )
    )
    add(
        _grad(
            "xᵀAx (A sym.)",
            r"\nabla_x\, x^\top A x = 2Ax",
            lambda x, A: x @ A @ x,
            lambda x, A: 2 * A @ x,
            [general(3), symmetric(3)],
            t,
            "$A = A^\\top$",
        )
    )
    add(
        _grad(
            "aᵀXb",
            r"\nabla_X\, a^\top X b = ab^\top",
            lambda X, a, b: a @ X @ b,
            lambda X, a, b: torch.outer(a, b),
            [general(3, 2), general(3), general(2)],
            t,
            "any conformable shapes",
        )
    )
    add(
        _grad(
            "aᵀXᵀb",
            r"\nabla_X\, a^\top X^\top b = ba^\top",
            lambda X, a, b: a @ X.T @ b,
            lambda X, a, b: torch.outer(b, a),
            [general(3, 2), general(2), general(3)],
            t,
            "any conformable shapes",
        )
    )
    add(
        _grad(
            "aᵀXᵀXb",
            r"\nabla_X\, a^\top X^\top X b = X(ab^\top + ba^\top)",
            lambda X, a, b: a @ X.T @ X @ b,
            lambda X, a, b: X @ (torch.outer(a, b) + torch.outer(b, a)),
            [general(3, 2), general(2), general(2)],
            t,
            "any conformable shapes",
        )
    )
    add(
        _grad(
            "aᵀXᵀCXb",
            r"\nabla_X\, a^\top X^\top C X b = C^\top X a b^\top + C X b a^\top",
            lambda X, a, b, C: a @ X.T @ C @ X @ b,
            lambda X, a, b, C: C.T @ X @ torch.outer(a, b) + C @ X @ torch.outer(b, a),
            [general(3, 2), general(2), general(2), general(3, 3)],
            t,
            "$C$ square",
        )
    )
    add(
        _grad(
            "(Xb+c)ᵀD(Xb+c)",
            r"\nabla_X (Xb + c)^\top D (Xb + c) = (D + D^\top)(Xb + c)b^\top",
            lambda X, b, c, D: (X @ b + c) @ D @ (X @ b + c),
            lambda X, b, c, D: torch.outer((D + D.T) @ (X @ b + c), b),
            [general(3, 2), general(2), general(3), general(3, 3)],
            t,
            "$D$ square",
        )
    )
    add(
        _grad(
            "(Ax+b)ᵀ(Cx+d)",
            r"\nabla_x (Ax + b)^\top (Cx + d) = A^\top(Cx + d) + C^\top(Ax + b)",
            lambda x, A, b, C, d: (A @ x + b) @ (C @ x + d),
            lambda x, A, b, C, d: A.T @ (C @ x + d) + C.T @ (A @ x + b),
            [general(3), general(4, 3), general(4), general(4, 3), general(4)],
            t,
            "any conformable shapes",
        )
    )
    add(
        _grad(
            "xᵀAy (in y)",
            r"\nabla_y\, x^\top A y = A^\top x",
            lambda x, y, A: x @ A @ y,
            lambda x, y, A: A.T @ x,
            [general(3), general(2), general(3, 2)],
            t,
            "gradient in the second argument",
            wrt=1,
        )
    )
    add(
        _grad(
            "(Ax−b)ᵀW(Ax−b)",
            r"\nabla_x (Ax - b)^\top W (Ax - b) = 2A^\top W (Ax - b)",
            lambda x, A, b, W: (A @ x - b) @ W @ (A @ x - b),
            lambda x, A, b, W: 2 * A.T @ W @ (A @ x - b),
            [general(3), general(4, 3), general(4), symmetric(4)],
            t,
            "$W = W^\\top$",
        )
    )
    add(
        _grad(
            "Rayleigh quotient",
            r"\nabla_x r(x) = \frac{2}{x^\top x}\big(Ax - r(x)\,x\big)",
            lambda x, A: (x @ A @ x) / (x @ x),
            lambda x, A: 2 / (x @ x) * (A @ x - (x @ A @ x) / (x @ x) * x),
            [general(3), symmetric(3)],
            t,
            "$r(x) = x^\\top A x / x^\\top x$, $A = A^\\top$, $x \\ne 0$",
        )
    )
    add(
        _hess(
            "∇² aᵀXᵀXb",
            r"\d^2 (a^\top X^\top X b)[U,V] = a^\top U^\top V b + a^\top V^\top U b",
            lambda X, a, b: a @ X.T @ X @ b,
            lambda X, a, b, U, V: a @ U.T @ V @ b + a @ V.T @ U @ b,
            [general(3, 2), general(2), general(2)],
            t,
            "independent of $X$",
            form="bilinear",
        )
    )

    # ---------------------------------------------------------------- eigenvalues, eigenvectors
    t = "eigenvalues and eigenvectors"
    simple = "$A = A^\\top$, simple spectrum, symmetric directions"
    add(
        _grad(
            "λ_max",
            r"\nabla_A \lambda_{\max}(A) = v v^\top",
            lambda A: torch.linalg.eigvalsh(sym(A))[-1],
            lambda A: torch.outer(_eig(A, -1)[2], _eig(A, -1)[2]),
            [simple_spectrum(3)],
            t,
            simple + "; $v$ the unit top eigenvector",
        )
    )
    add(
        _grad(
            "λ_min",
            r"\nabla_A \lambda_{\min}(A) = v v^\top",
            lambda A: torch.linalg.eigvalsh(sym(A))[0],
            lambda A: torch.outer(_eig(A, 0)[2], _eig(A, 0)[2]),
            [simple_spectrum(3)],
            t,
            simple + "; $v$ the unit bottom eigenvector",
        )
    )
    add(
        _jvp(
            "dλ_k",
            r"\d\lambda_k = v_k^\top\,\d A\,v_k",
            lambda A: torch.linalg.eigvalsh(sym(A))[1],
            lambda A, dA: _eig(A, 1)[2] @ dA @ _eig(A, 1)[2],
            [simple_spectrum(3)],
            t,
            simple + "; checked for the middle eigenvalue of a 3×3",
        )
    )
    add(
        _jvp(
            "dλ (all)",
            r"\d\lambda = \diag(V^\top\,\d A\,V)",
            lambda A: torch.linalg.eigvalsh(sym(A)),
            lambda A, dA: torch.diagonal(_eig(A, 0)[1].T @ dA @ _eig(A, 0)[1]),
            [simple_spectrum(4)],
            t,
            simple + "; $V$ the eigenvectors",
        )
    )
    add(
        _jvp(
            "dv_k",
            r"\d v_k = (\lambda_k I - A)^{+}\,\d A\,v_k",
            lambda A: _eig(A, 1)[2],
            lambda A, dA: (
                torch.linalg.pinv(_eig(A, 1)[0][1] * _eye(3) - A, hermitian=True)
                @ dA
                @ _eig(A, 1)[2]
            ),
            [simple_spectrum(3)],
            t,
            simple + "; unit $v_k$ with a fixed sign, so $v_k^\\top \\d v_k = 0$",
        )
    )
    add(
        _grad(
            "λ₁ + λ₂ (Ky Fan)",
            r"\nabla_A \sum_{i \le k}\lambda_i(A) = V_k V_k^\top",
            lambda A: torch.linalg.eigvalsh(sym(A))[-2:].sum(),
            lambda A: (lambda V: V @ V.T)(_eig(A, 0)[1][:, -2:]),
            [simple_spectrum(4)],
            t,
            "$A = A^\\top$, $\\lambda_k > \\lambda_{k+1}$ (top $k$ eigenvalues, eigenvectors "
            "$V_k$); checked for $k = 2$",
        )
    )
    add(
        _grad(
            "tr exp(A) via eigenvalues",
            r"\nabla_A \sum_i e^{\lambda_i(A)} = e^{A}",
            lambda A: torch.exp(torch.linalg.eigvalsh(sym(A))).sum(),
            lambda A: torch.linalg.matrix_exp(A),
            [symmetric(3, tangent="symmetric")],
            t,
            "$A = A^\\top$; symmetric directions",
        )
    )
    add(
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
            t,
            simple + "; checked for the largest eigenvalue",
            form="bilinear",
        )
    )

    # ---------------------------------------------------------------- second order
    t = "second order"
    add(
        _hess(
            "∇² xᵀAx",
            r"\nabla_x^2\, x^\top A x = A + A^\top",
            lambda x, A: x @ A @ x,
            lambda x, A: A + A.T,
            [general(3), general(3, 3)],
            t,
            "$A$ square",
        )
    )
    add(
        _hess(
            "∇² ‖Ax − b‖²",
            r"\nabla_x^2 \norm{Ax - b}_2^2 = 2A^\top A",
            lambda x, A, b: ((A @ x - b) ** 2).sum(),
            lambda x, A, b: 2 * A.T @ A,
            [general(3), general(4, 3), general(4)],
            t,
            "any conformable shapes",
        )
    )
    add(
        _hess(
            "∇² (Ax−b)ᵀW(Ax−b)",
            r"\nabla_x^2 (Ax - b)^\top W (Ax - b) = 2A^\top W A",
            lambda x, A, b, W: (A @ x - b) @ W @ (A @ x - b),
            lambda x, A, b, W: 2 * A.T @ W @ A,
            [general(3), general(4, 3), general(4), symmetric(4)],
            t,
            "$W = W^\\top$",
        )
    )
    add(
        _hess(
            "d² log det X",
            r"\d^2 \log\det X\,[U,V] = -\tr(X^{-1}UX^{-1}V)",
            lambda X: torch.logdet(X),
            lambda X, U, V: -tr(inv(X) @ U @ inv(X) @ V),
            [spd(3)],
            t,
            "$\\det X > 0$ (drawn SPD), general directions $U$, $V$",
            form="bilinear",
        )
    )
    add(
        _hess(
            "∇² ‖A − xxᵀ‖_F² (A sym.)",
            r"\nabla_x^2 \fro{A - xx^\top}^2 = "
            r"-4A + 4\norm{x}_2^2 I + 8xx^\top",
            lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
            lambda x, A: -4 * A + 4 * (x @ x) * _eye(4) + 8 * torch.outer(x, x),
            [general(4), symmetric(4)],
            t,
            "$A = A^\\top$",
        )
    )
    add(
        _hess(
            "∇² ‖A − xxᵀ‖_F²",
            r"\nabla_x^2 \fro{A - xx^\top}^2 = "
            r"-2(A + A^\top) + 4\norm{x}_2^2 I + 8xx^\top",
            lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
            lambda x, A: -2 * (A + A.T) + 4 * (x @ x) * _eye(4) + 8 * torch.outer(x, x),
            [general(4), general(4, 4)],
            t,
            "any square $A$",
        )
    )
    add(
        _hess(
            "HVP ‖XXᵀ − A‖_F²",
            r"\nabla^2 f\,[V] = 4(VX^\top + XV^\top)X + 4(XX^\top - A)V",
            lambda X, A: ((X @ X.T - A) ** 2).sum(),
            lambda X, A, V: 4 * ((V @ X.T + X @ V.T) @ X + (X @ X.T - A) @ V),
            [general(3, 2), symmetric(3)],
            t,
            "$f(X) = \\fro{XX^\\top - A}^2$, $A = A^\\top$; Hessian-vector product",
            form="hvp",
        )
    )
    add(
        _hess(
            "∇² log-sum-exp",
            r"\nabla_x^2 \log\textstyle\sum_i e^{x_i} = "
            r"\operatorname{Diag}(p) - pp^\top",
            lambda x: torch.logsumexp(x, 0),
            lambda x: (
                torch.diag(torch.softmax(x, 0))
                - torch.outer(torch.softmax(x, 0), torch.softmax(x, 0))
            ),
            [general(4)],
            t,
            "$p = \\operatorname{softmax}(x)$",
        )
    )

    # ---------------------------------------------------------------- Kronecker and vec
    t = "Kronecker and vec"
    kv = "Kronecker/vec"
    add(
        _jvp(
            "vec(AXB)",
            r"\d\vec(AXB) = (B^\top \kron A)\,\vec(\d X)",
            lambda X, A, B: _vec(A @ X @ B),
            lambda X, A, B, dX, dA, dB: kron(B.T, A) @ _vec(dX),
            [general(3, 4), general(2, 3), general(4, 2)],
            t,
            "column-major vec",
            kind=kv,
            tangents=(None, 0, 0),
            source=_COOK.format(520),
        )
    )
    add(
        _grad(
            "tr(AᵀB) = vec(A)ᵀvec(B)",
            r"\nabla_A \vec(A)^\top \vec(B) = B",
            lambda A, B: _vec(A) @ _vec(B),
            lambda A, B: B,
            [general(3, 2), general(3, 2)],
            t,
            "$A$, $B$ of one shape; $\\vec(A)^\\top\\vec(B) = \\tr(A^\\top B)$",
            kind=kv,
            source=_COOK.format(521),
        )
    )

    def grad_quadratic_vec(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        """Gradient of vec(X)ᵀ K vec(X) in X: unvec((K + Kᵀ) vec X)."""
        return _unvec((K + K.T) @ _vec(X), tuple(X.shape))

    add(
        _grad(
            "aᵀXBXᵀc in vec form",
            r"a^\top X B X^\top c = \vec(X)^\top (B^\top \kron ca^\top)\vec(X)",
            lambda X, B, a, c: a @ X @ B @ X.T @ c,
            lambda X, B, a, c: grad_quadratic_vec(X, kron(B.T, torch.outer(c, a))),
            [general(3, 2), general(2, 2), general(3), general(3)],
            t,
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
        )
    )
    add(
        _grad(
            "tr(A⊗X)",
            r"\nabla_X \tr(A \kron X) = \tr(A)\,I",
            lambda X, A: tr(kron(A, X)),
            lambda X, A: tr(A) * _eye(3),
            [general(3, 3), general(2, 2)],
            t,
            "$\\tr(A \\kron X) = \\tr A\\,\\tr X$",
            kind=kv,
            source="from Cookbook (515)",
        )
    )
    add(
        _grad(
            "log|det(A⊗X)|",
            r"\nabla_X \log\lvert\det(A \kron X)\rvert = m\,X^{-\top}",
            lambda X, A: torch.linalg.slogdet(kron(A, X))[1],
            lambda X, A: 2 * inv(X).T,
            [invertible(3), invertible(2)],
            t,
            "$A$ $m \\times m$ (here $m = 2$), $X$ invertible; "
            "$\\det(A \\kron X) = \\det(A)^n\\det(X)^m$",
            kind=kv,
            source="from Cookbook (516)",
        )
    )
    add(
        _jvp(
            "d(A⊗X)⁻¹",
            r"\d(A \kron X)^{-1} = -A^{-1} \kron X^{-1}\,\d X\,X^{-1}",
            lambda X, A: inv(kron(A, X)),
            lambda X, A, dX, dA: -kron(inv(A), inv(X) @ dX @ inv(X)),
            [invertible(2), invertible(2)],
            t,
            "$A$, $X$ invertible; $(A \\kron X)^{-1} = A^{-1} \\kron X^{-1}$",
            kind=kv,
            tangents=(None, 0),
            source="from Cookbook (512)",
        )
    )
    add(
        _jvp(
            "d(X⊗X)",
            r"\d(X \kron X) = \d X \kron X + X \kron \d X",
            lambda X: kron(X, X),
            lambda X, dX: kron(dX, X) + kron(X, dX),
            [general(2, 3)],
            t,
            "any shape",
            kind=kv,
        )
    )
    add(
        _grad(
            "tr((A⊗B)C) in B",
            r"\nabla_B \tr\big((A \kron B)C\big) = "
            r"\sum_{i,j} a_{ij}\, C_{[j,i]}^\top",
            lambda B, A, C: tr(kron(A, B) @ C),
            lambda B, A, C: torch.einsum("ab,bjai->ij", A, C.reshape(3, 2, 2, 2)),
            [general(2, 2), general(2, 3), general(6, 4)],
            t,
            "$C_{[j,i]}$ is block $(j, i)$ of $C$, blocks the shape of $B^\\top$",
            kind=kv,
        )
    )
    add(
        _grad(
            "tr((A⊗B)C) in A",
            r"\nabla_A \tr\big((A \kron B)C\big) = "
            r"\Big[\tr\big(B\,C_{[j,i]}\big)\Big]_{ij}",
            lambda A, B, C: tr(kron(A, B) @ C),
            lambda A, B, C: torch.einsum("cd,bdac->ab", B, C.reshape(3, 2, 2, 2)),
            [general(2, 3), general(2, 2), general(6, 4)],
            t,
            "$C_{[j,i]}$ is block $(j, i)$ of $C$",
            kind=kv,
        )
    )
    add(
        _grad(
            "tr((A⊗B)X)",
            r"\nabla_X \tr\big((A \kron B)X\big) = A^\top \kron B^\top",
            lambda X, A, B: tr(kron(A, B) @ X),
            lambda X, A, B: kron(A.T, B.T),
            [general(4, 6), general(2, 2), general(3, 2)],
            t,
            "$(A \\kron B)^\\top = A^\\top \\kron B^\\top$",
            kind=kv,
            source="uses Cookbook (510)",
        )
    )
    add(
        _grad(
            "‖(A⊗B)vec X − y‖²",
            r"\nabla_X \norm{(A \kron B)\vec X - y}_2^2 = "
            r"2B^\top (BXA^\top - Y) A",
            lambda X, A, B, y: ((kron(A, B) @ _vec(X) - y) ** 2).sum(),
            lambda X, A, B, y: 2 * B.T @ (B @ X @ A.T - _unvec(y, (2, 3))) @ A,
            [general(3, 2), general(3, 2), general(2, 3), general(6)],
            t,
            "$y = \\vec(Y)$; $(A \\kron B)\\vec X = \\vec(BXA^\\top)$",
            kind=kv,
        )
    )
    add(
        _grad(
            "cᵀ(Bᵀ⊗A)vec X",
            r"\nabla_X\, c^\top (B^\top \kron A)\vec X = A^\top C B^\top",
            lambda X, A, B, c: c @ kron(B.T, A) @ _vec(X),
            lambda X, A, B, c: A.T @ _unvec(c, (2, 2)) @ B.T,
            [general(3, 4), general(2, 3), general(4, 2), general(4)],
            t,
            "$c = \\vec(C)$",
            kind=kv,
        )
    )
    add(
        _jvp(
            "vec(Xᵀ) = K vec(X)",
            r"\d\vec(X^\top) = K_{m,n}\,\vec(\d X)",
            lambda X: _vec(X.T),
            lambda X, dX: torch.as_tensor(commutation_matrix(3, 2)) @ _vec(dX),
            [general(3, 2)],
            t,
            "$X$ $m \\times n$ (3×2); $K_{m,n}$ the commutation matrix",
            kind=kv,
        )
    )
    add(
        _jvp(
            "d(A⊕B)⁻¹",
            r"\d(A \ksum B)^{-1} = -(A \ksum B)^{-1}(\d A \kron I)(A \ksum B)^{-1}",
            lambda A, B: inv(kron(A, _eye(3)) + kron(_eye(2), B)),
            lambda A, B, dA, dB: (lambda S: -S @ kron(dA, _eye(3)) @ S)(
                inv(kron(A, _eye(3)) + kron(_eye(2), B))
            ),
            [spd(2), spd(3)],
            t,
            "$A \\ksum B = A \\kron I + I \\kron B$ invertible (here SPD)",
            kind=kv,
            tangents=(None, 0),
        )
    )
    add(
        _hess(
            "∇² tr(XᵀAX) in vec X",
            r"\nabla^2_{\vec X} \tr(X^\top A X) = I \kron (A + A^\top)",
            lambda X, A: tr(X.T @ A @ X),
            lambda X, A: kron(_eye(2), A + A.T),
            [general(3, 2), general(3, 3)],
            t,
            "column-major vec",
            kind=kv,
        )
    )
    add(
        _hess(
            "∇² tr(XAXᵀ) in vec X",
            r"\nabla^2_{\vec X} \tr(X A X^\top) = (A + A^\top) \kron I",
            lambda X, A: tr(X @ A @ X.T),
            lambda X, A: kron(A + A.T, _eye(3)),
            [general(3, 2), general(2, 2)],
            t,
            "column-major vec",
            kind=kv,
        )
    )
    add(
        _hess(
            "∇² tr(XᵀAXB) in vec X",
            r"\nabla^2_{\vec X} \tr(X^\top A X B) = "
            r"B^\top \kron A + B \kron A^\top",
            lambda X, A, B: tr(X.T @ A @ X @ B),
            lambda X, A, B: kron(B.T, A) + kron(B, A.T),
            [general(3, 2), general(3, 3), general(2, 2)],
            t,
            "column-major vec",
            kind=kv,
        )
    )
    add(
        _hess(
            "∇² ‖AX − B‖_F² in vec X",
            r"\nabla^2_{\vec X} \fro{AX - B}^2 = 2\,I \kron A^\top A",
            lambda X, A, B: ((A @ X - B) ** 2).sum(),
            lambda X, A, B: 2 * kron(_eye(2), A.T @ A),
            [general(3, 2), general(4, 3), general(4, 2)],
            t,
            "column-major vec",
            kind=kv,
        )
    )
    add(
        _hess(
            "∇² aᵀXBXᵀc in vec X",
            r"\nabla^2_{\vec X}\, a^\top X B X^\top c = "
            r"B^\top \kron ca^\top + B \kron ac^\top",
            lambda X, B, a, c: a @ X @ B @ X.T @ c,
            lambda X, B, a, c: kron(B.T, torch.outer(c, a)) + kron(B, torch.outer(a, c)),
            [general(3, 2), general(2, 2), general(3), general(3)],
            t,
            "column-major vec",
            kind=kv,
        )
    )

    # ---------------------------------------------------------------- symmetric matrices
    t = "symmetric matrices"

    def cook(G):
        return G + G.T - torch.diag(torch.diagonal(G))

    add(
        _grad(
            "tr(AX), X sym.",
            r"\nabla_{X \in \Sym} \tr(AX) = \sym(A^\top)",
            lambda X, A: tr(A @ X),
            lambda X, A: sym(A.T),
            [symmetric(3, tangent="symmetric"), general(3, 3)],
            t,
            "gradient on the symmetric matrices (Frobenius inner product, symmetric directions)",
            source=_SYM_SOURCE,
            as_printed=lambda X, A: cook(A.T),
            as_printed_latex=r"A + A^\top - \operatorname{Diag}(A)",
            erratum=_SYM_WHY.format(g="A^\\top"),
        )
    )
    add(
        _grad(
            "aᵀXb, X sym.",
            r"\nabla_{X \in \Sym}\, a^\top X b = \sym(ab^\top)",
            lambda X, a, b: a @ X @ b,
            lambda X, a, b: sym(torch.outer(a, b)),
            [symmetric(3, tangent="symmetric"), general(3), general(3)],
            t,
            "gradient on the symmetric matrices",
            source=_SYM_SOURCE,
            as_printed=lambda X, a, b: cook(torch.outer(a, b)),
            as_printed_latex=r"ab^\top + ba^\top - \operatorname{Diag}(ab^\top)",
            erratum=_SYM_WHY.format(g="ab^\\top"),
        )
    )
    add(
        _grad(
            "log det X, X SPD",
            r"\nabla_{X \in \Sym} \log\det X = X^{-1}",
            lambda X: torch.logdet(X),
            lambda X: inv(X),
            [spd(3, tangent="symmetric")],
            t,
            "gradient on the symmetric matrices, $X$ SPD",
            source=_SYM_SOURCE,
            as_printed=lambda X: cook(inv(X)),
            as_printed_latex=r"2X^{-1} - \operatorname{Diag}(X^{-1})",
            erratum=_SYM_WHY.format(g="X^{-1}"),
        )
    )
    add(
        _grad(
            "det X, X SPD",
            r"\nabla_{X \in \Sym} \det X = \det(X)\,X^{-1}",
            lambda X: det(X),
            lambda X: det(X) * inv(X),
            [spd(3, tangent="symmetric")],
            t,
            "gradient on the symmetric matrices, $X$ SPD",
            source=_SYM_SOURCE,
            as_printed=lambda X: det(X) * cook(inv(X)),
            as_printed_latex=r"\det(X)\,\big(2X^{-1} - \operatorname{Diag}(X^{-1})\big)",
            erratum=_SYM_WHY.format(g="\\det(X)X^{-1}"),
        )
    )
    add(
        _grad(
            "vech: tr(AX)",
            r"\nabla_\theta \tr(AS) = \operatorname{vech}(A + A^\top - \operatorname{Diag} A)",
            lambda th, A: tr(A @ unvech(th)),
            lambda th, A: vech(cook(A.T)),
            [general(6), general(3, 3)],
            t,
            "$S = S(\\theta)$ symmetric with $\\operatorname{vech} S = \\theta$",
        )
    )
    add(
        _grad(
            "vech: aᵀXb",
            r"\nabla_\theta\, a^\top S b = \operatorname{vech}(ab^\top + ba^\top - "
            r"\operatorname{Diag} ab^\top)",
            lambda th, a, b: a @ unvech(th) @ b,
            lambda th, a, b: vech(cook(torch.outer(a, b))),
            [general(6), general(3), general(3)],
            t,
            "$S = S(\\theta)$ symmetric with $\\operatorname{vech} S = \\theta$",
        )
    )
    add(
        _grad(
            "vech: det X",
            r"\nabla_\theta \det S = \operatorname{vech}(2\operatorname{adj} S - "
            r"\operatorname{Diag} \operatorname{adj} S)",
            lambda th: det(unvech(th)),
            lambda th: vech(cook(_adjugate(unvech(th)))),
            [general(6)],
            t,
            "$S = S(\\theta)$ symmetric with $\\operatorname{vech} S = \\theta$; adj by cofactors",
        )
    )

    # ---------------------------------------------------------- the exercise notebook's exercises
    t = "notebook exercises"
    add(
        _grad(
            "Ex. 1: ‖A − xxᵀ‖_F²",
            r"\nabla_x \fro{A - xx^\top}^2 = -2(A + A^\top - 2xx^\top)x",
            lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
            lambda x, A: -2 * (A + A.T - 2 * torch.outer(x, x)) @ x,
            [general(4), general(4, 4)],
            t,
            "any square $A$ (the notebook tests a general $A$)",
            source="exercise notebook, Ex. 1",
            as_printed=lambda x, A: -4 * (A - torch.outer(x, x)) @ x,
            as_printed_latex=r"-4(A - xx^\top)x",
            erratum="The notebook states $A = A^\\top$ but tests a general $A$. Under its stated "
            "hypothesis the gradient is $-4(A - xx^\\top)x$ (entry Ex. 1 (A sym.)), which fails "
            "for the general $A$ it tests; the form it prints, with $A + A^\\top$, holds for "
            "every square $A$, so the hypothesis can be dropped.",
        )
    )
    add(
        _grad(
            "Ex. 1 (A sym.)",
            r"\nabla_x \fro{A - xx^\top}^2 = -4(A - xx^\top)x",
            lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
            lambda x, A: -4 * (A - torch.outer(x, x)) @ x,
            [general(4), symmetric(4)],
            t,
            "$A = A^\\top$",
            source="exercise notebook, Ex. 1",
        )
    )
    add(
        _jvp(
            "Ex. 2: d(XᵀX)",
            r"\d(X^\top X) = \d X^\top X + X^\top \d X",
            lambda X: X.T @ X,
            lambda X, dX: dX.T @ X + X.T @ dX,
            [full_rank(4, 3)],
            t,
            "any shape",
            source="exercise notebook, Ex. 2",
        )
    )
    add(
        _jvp(
            "Ex. 2: d(XᵀAX)",
            r"\d(X^\top A X) = \d X^\top A X + X^\top A\,\d X",
            lambda X, A: X.T @ A @ X,
            lambda X, A, dX, dA: dX.T @ A @ X + X.T @ A @ dX,
            [full_rank(4, 3), general(4, 4)],
            t,
            "$A$ fixed",
            tangents=(None, 0),
            source="exercise notebook, Ex. 2",
        )
    )
    add(
        _jvp(
            "Ex. 2: d(XᵀX)⁻¹",
            r"\d M^{-1} = -M^{-1}(\d X^\top X + X^\top \d X)M^{-1}",
            lambda X: inv(X.T @ X),
            lambda X, dX: -inv(X.T @ X) @ (dX.T @ X + X.T @ dX) @ inv(X.T @ X),
            [full_rank(4, 3)],
            t,
            "$M = X^\\top X$, $X$ of full column rank",
            source="exercise notebook, Ex. 2",
        )
    )
    add(
        _jvp(
            "Ex. 2: d(M⁻¹XᵀAX)",
            r"\d(M^{-1}N) = -M^{-1}\d M\,M^{-1}N + M^{-1}\d N",
            lambda X, A: inv(X.T @ X) @ X.T @ A @ X,
            lambda X, A, dX, dA: (
                -inv(X.T @ X) @ (dX.T @ X + X.T @ dX) @ inv(X.T @ X) @ X.T @ A @ X
                + inv(X.T @ X) @ (dX.T @ A @ X + X.T @ A @ dX)
            ),
            [full_rank(4, 3), general(4, 4)],
            t,
            "$M = X^\\top X$, $N = X^\\top A X$, $A$ fixed",
            tangents=(None, 0),
            source="exercise notebook, Ex. 2",
        )
    )

    def ex2(X, A):
        Mi = inv(X.T @ X)
        return (A + A.T) @ X @ Mi - X @ Mi @ X.T @ (A + A.T) @ X @ Mi

    add(
        _grad(
            "Ex. 2: tr(M⁻¹XᵀAX)",
            r"\nabla_X \tr(M^{-1}X^\top A X) = (I - XM^{-1}X^\top)"
            r"(A + A^\top)XM^{-1}",
            lambda X, A: tr(inv(X.T @ X) @ X.T @ A @ X),
            ex2,
            [full_rank(4, 3), general(4, 4)],
            t,
            "$M = X^\\top X$, $X$ of full column rank, any square $A$",
            source="exercise notebook, Ex. 2",
            as_printed=lambda X, A: 2 * (_eye(4) - X @ inv(X.T @ X) @ X.T) @ A @ X @ inv(X.T @ X),
            as_printed_latex=r"2(I - XM^{-1}X^\top)AXM^{-1}",
            erratum="The notebook states $A = A^\\top$ but tests a general $A$. The simplification "
            "its hypothesis allows, with $2A$ for $A + A^\\top$, fails for a general $A$; the "
            "form it prints, with $A + A^\\top$, holds for every square $A$.",
        )
    )
    add(
        _grad(
            "Ex. 3: tr(X⊙X)",
            r"\nabla_X \tr(X \odot X) = 2\operatorname{Diag}(X)",
            lambda X: torch.diagonal(X * X).sum(),
            lambda X: 2 * _Diag(X),
            [general(3, 2)],
            t,
            "$X$ 3×2: $\\tr$ sums the main diagonal; $\\operatorname{Diag}$ keeps it",
            source="exercise notebook, Ex. 3",
        )
    )
    add(
        _jvp(
            "Ex. 3: d tr(X⊙X)",
            r"\d\tr(X \odot X) = 2\tr\big(\operatorname{Diag}(X)^\top"
            r"\operatorname{Diag}(\d X)\big)",
            lambda X: torch.diagonal(X * X).sum(),
            lambda X, dX: 2 * tr(_Diag(X).T @ _Diag(dX)),
            [general(3, 2)],
            t,
            "$X$ 3×2",
            source="exercise notebook, Ex. 3",
        )
    )
    add(
        _grad(
            "Ex. 4: tr(X Diag(X))",
            r"\nabla_X \tr\big(X\operatorname{Diag}(X)\big) = "
            r"2\operatorname{Diag}(X)",
            lambda X: tr(X @ torch.diag(torch.diagonal(X))),
            lambda X: 2 * _Diag(X),
            [general(3, 3)],
            t,
            "$X$ square; the notebook's broadcast `X * torch.diag(X)` scales column $j$ by "
            "$x_{jj}$, which is the product $X \\operatorname{Diag}(X)$ itself",
            source="exercise notebook, Ex. 4",
        )
    )
    add(
        _jvp(
            "Ex. 4: d tr(X Diag(X))",
            r"\d\tr(X D_X) = \tr(\d X\,D_X + X D_{\d X})",
            lambda X: tr(X @ torch.diag(torch.diagonal(X))),
            lambda X, dX: tr(dX @ _Diag(X) + X @ _Diag(dX)),
            [general(3, 3)],
            t,
            "$X$ square, $D_X = \\operatorname{Diag}(X)$",
            source="exercise notebook, Ex. 4",
        )
    )
    add(
        _grad(
            "Ex. 5: aᵀX²b",
            r"\nabla_X\, a^\top X^2 b = ab^\top X^\top + X^\top ab^\top",
            lambda X, a, b: a @ X @ X @ b,
            lambda X, a, b: torch.outer(a, b) @ X.T + X.T @ torch.outer(a, b),
            [general(3, 3), general(3), general(3)],
            t,
            "$X$ square",
            source="exercise notebook, Ex. 5",
        )
    )
    add(
        _grad(
            "Ex. 6: tr(I⊗X + X⊗I)",
            r"\nabla_X \tr(I \kron X + X \kron I) = 2n\,I",
            lambda X: tr(kron(_eye(3), X) + kron(X, _eye(3))),
            lambda X: 6 * _eye(3),
            [general(3, 3)],
            t,
            "$X$ $n \\times n$ (here $n = 3$)",
            kind=kv,
            source="exercise notebook, Ex. 6",
        )
    )

    def F(X):
        d = torch.diagonal(X)
        return (2 * d**2 + torch.cos(d)).sum()

    def gF(X):
        return _Diag(4 * X - torch.sin(X))

    add(
        _grad(
            "Ex. 7: ∇_U F(W + UVᵀ)",
            r"\nabla_U F(W + UV^\top) = \nabla F(X)\,V",
            lambda U, V, W: F(W + U @ V.T),
            lambda U, V, W: gF(W + U @ V.T) @ V,
            [general(4, 2), general(3, 2), general(4, 3)],
            t,
            "$X = W + UV^\\top$ 4×3; checked with the notebook's "
            "$F(X) = \\tr(2X\\odot X + \\cos X)$",
            source="exercise notebook, Ex. 7",
        )
    )
    add(
        _grad(
            "Ex. 7: ∇_V F(W + UVᵀ)",
            r"\nabla_V F(W + UV^\top) = \nabla F(X)^\top U",
            lambda U, V, W: F(W + U @ V.T),
            lambda U, V, W: gF(W + U @ V.T).T @ U,
            [general(4, 2), general(3, 2), general(4, 3)],
            t,
            "as above; gradient in the second argument",
            wrt=1,
            source="exercise notebook, Ex. 7",
        )
    )
    return tuple(E)


CATALOGUE: tuple[Identity, ...] = _build()
