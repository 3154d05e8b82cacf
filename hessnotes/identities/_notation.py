"""The notation the catalogue's entries are written in (private).

Short torch helpers (``tr``, ``det``, ``inv``, ``kron``, ``Diag``, the adjugate, ...) and the
entry constructors ``_grad``, ``_jvp`` and ``_hess``; the entries themselves are module-level
tuples, one module per topic (:mod:`hessnotes.identities.traces`, ...).
"""

from __future__ import annotations

import torch

from hessnotes.checks import sym
from hessnotes.identities._identity import Identity

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
