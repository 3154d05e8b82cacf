"""Figures for the chapter "Derivatives of matrix functions": the divided-difference matrix of the
Daleckii–Krein formula, and the condition number of the exponential against non-normality. Pure
functions: data in, Figure out, alt text written from the data.

Chapters: "Derivatives of matrix functions".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes.figures._style import MARKERS, PALETTE, new_figure, set_alt, styled

__all__ = ["plot_divided_differences", "plot_expm_conditioning"]


def _np(a: Any, name: str, ndim: int) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != ndim or a.size == 0:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array; got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or Inf")
    return a


def plot_divided_differences(
    lam: Sequence[float],
    F: Any,
    ax: Axes | None = None,
    *,
    name: str = "exp",
    title: str | None = None,
) -> Figure:
    """The matrix ``f^[1]_ij = f[λ_i, λ_j]`` as a heat map on a log colour scale.

    The diagonal holds ``f'(λ_i)``; the Daleckii–Krein formula multiplies the direction, in the
    eigenbasis, entry by entry by this matrix.

    Args:
        lam: (n,) the points (eigenvalues), labelling the rows and columns.
        F: (n, n) positive divided differences.
        ax: Axes to draw on; a new Figure when ``None``.
        name: the function's name, for the labels.
        title: the Axes title (default ``"{name}[λ_i, λ_j]"``).

    Returns:
        The Figure.

    Raises:
        ValueError: on shapes that do not match, NaN/Inf, or non-positive entries.
    """
    lam = _np(lam, "lam", 1)
    F = _np(F, "F", 2)
    n = lam.size
    if F.shape != (n, n):
        raise ValueError(f"F has shape {F.shape}; it needs ({n}, {n}), one row per point in lam")
    if (F <= 0).any():
        raise ValueError("F must be positive (a log colour scale)")
    from matplotlib.colors import LogNorm

    with styled():
        fig, ax = new_figure(ax, figsize=(4.6, 3.8))
        im = ax.imshow(F, cmap="viridis", norm=LogNorm(vmin=F.min(), vmax=F.max()))
        ticks = [f"{v:.2g}" for v in lam]
        ax.set_xticks(range(n), ticks)
        ax.set_yticks(range(n), ticks)
        ax.set_xlabel(r"$\lambda_j$")
        ax.set_ylabel(r"$\lambda_i$")
        ax.grid(False)
        fig.colorbar(im, ax=ax, label="divided difference")
        ax.set_title(title or rf"$\mathrm{{{name}}}[\lambda_i, \lambda_j]$")
    i, j = np.unravel_index(int(np.argmax(F)), F.shape)
    k, m = np.unravel_index(int(np.argmin(F)), F.shape)
    set_alt(
        fig,
        f"Heat map of the {n}×{n} matrix of divided differences {name}[λ_i, λ_j] for the "
        f"eigenvalues {', '.join(ticks)}, on a log colour scale from {F.min():.3g} (at λ = "
        f"{lam[k]:.3g}, {lam[m]:.3g}) to {F.max():.3g} (at λ = {lam[i]:.3g}, {lam[j]:.3g}); "
        f"the diagonal holds the derivative {name}'(λ_i).",
    )
    return fig


def plot_expm_conditioning(
    ts: Sequence[float],
    kappa: Sequence[float],
    bound: Sequence[float],
    ax: Axes | None = None,
    *,
    xlabel: str = "non-normality t",
    title: str | None = None,
) -> Figure:
    """The condition number ``κ_exp(A_t)`` and its lower bound against a parameter ``t``.

    Both on a log axis; where they coincide the map ``E ↦ L(A_t, E)`` is as small as the
    spectrum allows (normal ``A_t``), and the gap between them is the amplification due to
    non-normality.

    Args:
        ts: (T,) the parameter values.
        kappa: (T,) ``κ_exp(A_t)``.
        bound: (T,) the lower bound at each ``t``.
        ax: Axes to draw on; a new Figure when ``None``.
        xlabel: label of the parameter axis.
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on shapes that differ, NaN/Inf, or non-positive values.
    """
    t = _np(ts, "ts", 1)
    k = _np(kappa, "kappa", 1)
    b = _np(bound, "bound", 1)
    if not (k.size == b.size == t.size):
        raise ValueError(
            f"ts, kappa and bound have {t.size}, {k.size} and {b.size} values; give one per t"
        )
    if (k <= 0).any() or (b <= 0).any():
        raise ValueError("kappa and bound must be positive (a log axis)")
    with styled():
        fig, ax = new_figure(ax)
        kw = {"marker": MARKERS[0], "ms": 4}
        ax.plot(t, k, color=PALETTE["vermillion"], label=r"$\kappa_{\exp}$", **kw)
        ax.plot(t, b, color=PALETTE["blue"], ls="--", marker=MARKERS[1], ms=4, label="lower bound")
        ax.fill_between(t, b, k, color=PALETTE["vermillion"], alpha=0.12, lw=0)
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("condition number")
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    ratio = k / b
    set_alt(
        fig,
        f"Semi-log plot against {xlabel} from {t.min():g} to {t.max():g}: the condition number "
        f"of the exponential goes from {k[0]:.3g} to {k[-1]:.3g}, its lower bound from "
        f"{b[0]:.3g} to {b[-1]:.3g}; their ratio goes from {ratio[0]:.3g} to {ratio[-1]:.3g}.",
    )
    return fig
