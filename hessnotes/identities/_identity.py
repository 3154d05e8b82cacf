"""The entry type of the identity catalogue and the half-vectorisation of symmetric matrices.

Public names are re-exported by :mod:`hessnotes.identities`; see there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from hessnotes.checks import Domain

__all__ = ["KINDS", "Identity", "symmetric_entries_derivative", "unvech", "vech"]

KINDS = ("gradient", "JVP", "Hessian", "Kronecker/vec")
_FORMS = ("gradient", "jvp", "matrix", "hvp", "bilinear")


# --------------------------------------------------------------------------------------------------
# The entry type
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """One identity of the catalogue.

    Attributes:
        name: short unique name, e.g. ``"tr(AXB)"``.
        latex: the identity in LaTeX (MathJax macros of the book allowed; no ``|`` characters,
            write ``\\lVert``/``\\lvert`` instead, so that the Markdown table stays intact).
        kind: one of :data:`KINDS`: ``"gradient"``, ``"JVP"``, ``"Hessian"``, ``"Kronecker/vec"``.
        topic: section of the catalogue (traces, determinants, ...).
        f: the function, written in torch, of the inputs in order.
        derivative: the closed form, by ``form``:

            * ``"gradient"``: ``derivative(*xs)``, the gradient in ``xs[wrt]`` (shape of it);
            * ``"jvp"``: ``derivative(*xs, *ts)``, the directional derivative ``df``;
            * ``"matrix"`` / ``"hvp"`` / ``"bilinear"``: the second derivative in ``xs[0]``, as
              in :func:`hessnotes.checks.check_hessian`.
        inputs: one spec per argument: a :class:`~hessnotes.checks.Domain` (redrawn at each point).
        conditions: when the identity holds (plain text, may contain ``$...$`` math).
        form: how ``derivative`` is given (see above).
        source: where it comes from, e.g. ``"Cookbook (40)"``, or ``""`` for a standard result.
        wrt: index of the differentiated input (``form="gradient"``).
        tangents: for ``form="jvp"``: one entry per input, ``None`` (random direction) or ``0``
            (input held fixed); default: all ``None``.
        rtol, atol: tolerance against autograd; fd_rtol: against central differences
            (``None``: the defaults of :mod:`hessnotes.checks`).
        as_printed: the form that fails (as the source prints it, or as its hypothesis implies),
            same call signature as ``derivative``; ``None`` when there is no erratum.
        as_printed_latex: that form in LaTeX.
        erratum: why the printed form fails and what corrects it.
    """

    name: str
    latex: str
    kind: str
    topic: str
    f: Callable[..., torch.Tensor] = field(repr=False)
    derivative: Callable[..., torch.Tensor] = field(repr=False)
    inputs: tuple[Domain, ...] = field(repr=False)
    conditions: str = ""
    form: str = "gradient"
    source: str = ""
    wrt: int = 0
    tangents: tuple | None = field(default=None, repr=False)
    rtol: float = 1e-9
    atol: float = 1e-12
    fd_rtol: float | None = None
    as_printed: Callable[..., torch.Tensor] | None = field(default=None, repr=False)
    as_printed_latex: str = ""
    erratum: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("Identity.name is empty; give a short unique name")
        if not self.latex.strip():
            raise ValueError(f"Identity {self.name!r}: latex is empty; write the identity in LaTeX")
        if self.kind not in KINDS:
            raise ValueError(f"Identity {self.name!r}: kind={self.kind!r}; use one of {KINDS}")
        if self.form not in _FORMS:
            raise ValueError(f"Identity {self.name!r}: form={self.form!r}; use one of {_FORMS}")
        for attr in ("latex", "conditions", "as_printed_latex", "erratum", "source"):
            if "|" in getattr(self, attr):
                raise ValueError(
                    f"Identity {self.name!r}: {attr} contains '|', which breaks the Markdown "
                    "table; write \\lVert, \\rVert, \\lvert or \\rvert instead"
                )
        if not all(isinstance(s, Domain) for s in self.inputs):
            raise TypeError(f"Identity {self.name!r}: every input must be a Domain")
        if not 0 <= self.wrt < len(self.inputs):
            raise ValueError(
                f"Identity {self.name!r}: wrt={self.wrt} but {len(self.inputs)} inputs"
            )
        if self.tangents is not None and len(self.tangents) != len(self.inputs):
            raise ValueError(f"Identity {self.name!r}: give one tangent per input")
        if (self.as_printed is None) != (not self.erratum):
            raise ValueError(
                f"Identity {self.name!r}: as_printed and erratum go together; give both or neither"
            )


# --------------------------------------------------------------------------------------------------
# Symmetric matrices: half-vectorisation
# --------------------------------------------------------------------------------------------------
def _tril_index(n: int) -> tuple[list[int], list[int]]:
    rows, cols = [], []
    for j in range(n):
        for i in range(j, n):
            rows.append(i)
            cols.append(j)
    return rows, cols


def vech(X: torch.Tensor) -> torch.Tensor:
    """Half-vectorisation: the n(n+1)/2 entries on and below the diagonal, column by column.

    Args:
        X: (n, n) tensor.

    Returns:
        (n(n+1)/2,) tensor ``[X11, X21, …, Xn1, X22, …, Xnn]``.

    Raises:
        ValueError: if ``X`` is not a square matrix.
    """
    if X.ndim != 2 or X.shape[0] != X.shape[1]:
        raise ValueError(f"vech needs a square matrix; got shape {tuple(X.shape)}")
    r, c = _tril_index(X.shape[0])
    return X[r, c]


def unvech(theta: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`vech` on the symmetric matrices: mirror the lower triangle.

    Args:
        theta: (n(n+1)/2,) tensor.

    Returns:
        The symmetric (n, n) matrix ``S`` with ``vech(S) = theta``; differentiable in ``theta``.

    Raises:
        ValueError: if the length of ``theta`` is not a triangular number.
    """
    m = theta.shape[-1] if theta.ndim == 1 else -1
    n = int((math.isqrt(8 * m + 1) - 1) // 2) if m > 0 else 0
    if theta.ndim != 1 or n * (n + 1) // 2 != m:
        raise ValueError(
            f"unvech needs a 1-D tensor of length n(n+1)/2; got shape {tuple(theta.shape)}"
        )
    r, c = _tril_index(n)
    low = torch.zeros((n, n), dtype=theta.dtype, device=theta.device).index_put(
        (torch.tensor(r, device=theta.device), torch.tensor(c, device=theta.device)), theta
    )
    return low + low.T - torch.diag(torch.diagonal(low))


def symmetric_entries_derivative(G: torch.Tensor) -> torch.Tensor:
    """``G + Gᵀ − Diag(G)``: the derivative in the n(n+1)/2 independent entries of a symmetric X.

    For ``f`` of a general matrix with gradient ``G`` at a symmetric ``X``, the derivative of
    ``θ ↦ f(unvech(θ))`` is ``vech(G + Gᵀ − Diag(G))``: an off-diagonal coordinate moves two
    entries. This is the Matrix Cookbook's rule for symmetric matrices; it is *not* the gradient
    on the symmetric matrices for the Frobenius inner product, which is ``sym(G)``.

    Raises:
        ValueError: if ``G`` is not square.
    """
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(f"G must be square; got shape {tuple(G.shape)}")
    return G + G.T - torch.diag(torch.diagonal(G))
