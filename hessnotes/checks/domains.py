"""Where the checkers draw their points: :class:`Domain` and its constructors.

``general(3, 2)``, ``spd(4)``, ``orthogonal(3)``, ...: seeded, well-conditioned float64 samples,
redrawn at every point of a check, and the tangent space its directions come from
(``tangent="symmetric"`` checks a gradient *on* the symmetric matrices); introduced in "Checking
derivatives".

Chapters: "Derivatives as linear maps, and the chain rule", "Automatic differentiation from
scratch", "Checking derivatives", "Finite differences done right", "Seven identities", "Derivatives
of factorizations", "Derivatives of matrix functions", "Second derivatives and Newton's method",
"Critical points and second-order conditions", "Adjoint methods", "Differentiating through an ODE",
"Derivatives of random functions", "A verified catalogue", "Kronecker sums and tensor Sylvester
equations", "The secant equations", "The least-norm Hessian", "Exact curvature", "Limited-memory
updates", "Conventions".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from hessnotes._linalg import sym

_DTYPE = torch.float64


# --------------------------------------------------------------------------------------------------
# Domains: where inputs are sampled
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Domain:
    """A set of inputs to sample from.

    Attributes:
        shape: shape of one input.
        kind: ``"general"``, ``"symmetric"``, ``"spd"``, ``"invertible"``, ``"full_rank"``,
            ``"orthogonal"``, ``"positive"``, ``"simple_spectrum"`` (symmetric, eigenvalues at
            least 0.5 apart) or ``"distinct_singular_values"``.
        tangent: ``"general"`` or ``"symmetric"``: the space finite-difference and JVP directions
            are drawn from. Use ``"symmetric"`` to check a gradient *on* the symmetric matrices.
    """

    shape: tuple[int, ...]
    kind: str = "general"
    tangent: str = "general"

    def sample(self, gen: torch.Generator) -> torch.Tensor:
        """Draw one well-conditioned float64 point of this domain."""
        g = torch.randn(self.shape, generator=gen, dtype=_DTYPE)
        k = self.kind
        if k == "general":
            return g
        if k == "positive":
            return 0.5 + g.abs()
        n = self.shape[0]
        eye = torch.eye(n, dtype=_DTYPE)
        if k == "symmetric":
            return (g + g.T) / 2
        if k == "spd":
            return g @ g.T / n + eye
        if k == "invertible":
            return g / math.sqrt(n) + 2.0 * eye
        if k == "orthogonal":
            q, r = torch.linalg.qr(g)
            return q * torch.sign(torch.diagonal(r))
        if k == "simple_spectrum":
            # Q diag(λ) Qᵀ with eigenvalues centred on 0 and at least 0.5 apart.
            q = _haar(n, gen)
            lam = torch.arange(n, dtype=_DTYPE) - (n - 1) / 2
            lam = lam + 0.25 * torch.tanh(torch.randn(n, generator=gen, dtype=_DTYPE))
            return (q * lam) @ q.T
        if k == "distinct_singular_values":
            # U diag(σ) Vᵀ with σ_1 > σ_2 > … at least 0.5 apart and σ_min ≥ 0.75.
            m, p = self.shape
            r = min(m, p)
            u = _haar(m, gen)[:, :r]
            v = _haar(p, gen)[:, :r]
            s = torch.arange(r, 0, -1, dtype=_DTYPE)
            s = s + 0.25 * torch.tanh(torch.randn(r, generator=gen, dtype=_DTYPE))
            return (u * s) @ v.T
        if k == "full_rank":
            # Columns of a random Gaussian matrix plus a multiple of the identity's columns.
            m, p = self.shape
            return g / math.sqrt(m) + torch.eye(m, p, dtype=_DTYPE)
        raise ValueError(f"unknown domain kind {k!r}")

    def direction(self, gen: torch.Generator) -> torch.Tensor:
        """Draw a unit-Frobenius-norm direction in this domain's tangent space."""
        t = torch.randn(self.shape, generator=gen, dtype=_DTYPE)
        if self.tangent == "symmetric":
            t = sym(t)
        return t / torch.linalg.norm(t)

    def project(self, g: torch.Tensor) -> torch.Tensor:
        """Project a gradient onto the tangent space (identity unless ``tangent='symmetric'``)."""
        return sym(g) if self.tangent == "symmetric" else g

    def __str__(self) -> str:
        dims = "×".join(map(str, self.shape))
        extra = (
            ", symmetric tangents" if self.tangent == "symmetric" and self.kind != "general" else ""
        )
        return f"{self.kind} {dims}{extra}"


def _haar(n: int, gen: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn((n, n), generator=gen, dtype=_DTYPE))
    return q * torch.sign(torch.diagonal(r))


def general(*shape: int) -> Domain:
    """Any real array of this shape (standard Gaussian samples)."""
    return Domain(tuple(shape), "general")


def positive(*shape: int) -> Domain:
    """Entrywise positive arrays (entries at least 0.5)."""
    return Domain(tuple(shape), "positive")


def symmetric(n: int, *, tangent: str = "general") -> Domain:
    """Symmetric n×n matrices. ``tangent="symmetric"`` restricts directions to symmetric ones."""
    return Domain((n, n), "symmetric", tangent)


def spd(n: int, *, tangent: str = "general") -> Domain:
    """Symmetric positive definite n×n matrices, with eigenvalues at least 1."""
    return Domain((n, n), "spd", tangent)


def invertible(n: int) -> Domain:
    """Invertible n×n matrices, away from singular (2I plus a scaled Gaussian)."""
    return Domain((n, n), "invertible")


def full_rank(m: int, p: int) -> Domain:
    """m×p matrices of full column rank p (needs m ≥ p)."""
    if m < p:
        raise ValueError(f"full_rank(m={m}, p={p}) needs m >= p for full column rank; swap them")
    return Domain((m, p), "full_rank")


def simple_spectrum(n: int, *, tangent: str = "symmetric") -> Domain:
    """Symmetric n×n matrices with a simple spectrum: eigenvalues at least 0.5 apart.

    The domain of eigenvalue and eigenvector derivatives. Directions are symmetric by default,
    because those derivatives are statements about symmetric perturbations.
    """
    return Domain((n, n), "simple_spectrum", tangent)


def distinct_singular_values(m: int, p: int) -> Domain:
    """m×p matrices whose singular values are at least 0.5 apart, the smallest at least 0.75.

    The domain of singular-value derivatives (spectral and nuclear norms).
    """
    return Domain((m, p), "distinct_singular_values")


def orthogonal(n: int) -> Domain:
    """Orthogonal n×n matrices (Haar-distributed)."""
    return Domain((n, n), "orthogonal")
