"""Figures for the chapters on Hessians from gradients: how far gradient pairs are from any
symmetric Hessian as the points spread out, and the spectra, norms and ranks of Hessian estimates
against the true Hessian (the spectrum panel is :func:`hessnotes.figures.spectra.plot_spectra`).
Pure functions: data in, Figure out.

Chapters: "The secant equations", "The blog post's eigen-derivation, revisited".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes.figures._data import as_array
from hessnotes.figures._style import (
    MARKERS,
    PALETTE,
    describe_spectrum,
    new_figure,
    set_alt,
    styled,
)
from hessnotes.figures.spectra import _series, plot_spectra, series_style

__all__ = ["plot_asymmetry_vs_spread", "plot_solution_comparison"]

_COLORS = (
    PALETTE["blue"],
    PALETTE["vermillion"],
    PALETTE["green"],
    PALETTE["orange"],
    PALETTE["purple"],
    PALETTE["sky"],
)


def plot_asymmetry_vs_spread(
    spreads: Sequence[float],
    residuals: Any,
    ax: Axes | None = None,
    *,
    labels: Sequence[str] | None = None,
    reference_slope: float | None = 1.0,
    title: str | None = None,
) -> Figure:
    """Log-log plot of the relative asymmetry of ``X^T Y`` against the spread of the points.

    One line per row of ``residuals`` (e.g. one per seed). A dashed grey line of slope
    ``reference_slope``, anchored at the geometric mean of the first column, shows the expected
    rate ``O(spread)``. Zero residuals, which a log axis cannot show, are left out.

    Args:
        spreads: (s,) positive spreads (typical distance of a point from the base point).
        residuals: (k, s) or (s,) relative asymmetries ``||X^T Y - Y^T X||_F / ||X^T Y||_F``,
            e.g. from :func:`hessnotes.secant.symmetric_residual`.
        ax: Axes to draw on; a new Figure when ``None``.
        labels: (k,) legend labels of the rows; default ``"seed 0"``, ``"seed 1"``, ...
        reference_slope: slope of the dashed reference line; ``None`` for no line.
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on empty, non-finite or non-positive spreads, residuals whose last axis is not
            ``len(spreads)``, negative residuals, or a wrong number of labels.
    """
    s = as_array(spreads).reshape(-1)
    if s.size == 0 or not np.isfinite(s).all() or (s <= 0).any():
        raise ValueError(f"spreads (shape {s.shape}) must be non-empty, finite and positive")
    r = as_array(residuals)
    r = r[None, :] if r.ndim == 1 else r
    if r.ndim != 2 or r.shape[1] != s.size:
        raise ValueError(
            f"residuals has shape {as_array(residuals).shape}; it needs ({s.size},) or "
            f"(k, {s.size}), "
            "one column per spread"
        )
    if (r < 0).any() or not np.isfinite(r).all():
        raise ValueError("residuals must be finite and non-negative (they are relative norms)")
    labels = list(labels) if labels is not None else [f"seed {i}" for i in range(r.shape[0])]
    if len(labels) != r.shape[0]:
        raise ValueError(f"labels has {len(labels)} entries for {r.shape[0]} rows of residuals")
    with styled():
        fig, ax = new_figure(ax)
        for i, (row, lab) in enumerate(zip(r, labels, strict=True)):
            ax.plot(
                s,
                np.where(row > 0, row, np.nan),
                color=_COLORS[i % len(_COLORS)],
                marker=MARKERS[i % len(MARKERS)],
                markersize=3,
                linewidth=1.2,
                label=lab,
            )
        if reference_slope is not None:
            first = r[:, 0][r[:, 0] > 0]
            if first.size:
                anchor = float(np.exp(np.log(first).mean()))
                ref = anchor * (s / s[0]) ** reference_slope
                ax.plot(
                    s,
                    ref,
                    color=PALETTE["grey"],
                    linestyle="--",
                    label=f"slope {reference_slope:g}",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("spread of the points")
        ax.set_ylabel(r"$\|X^\top Y - Y^\top X\|_F \,/\, \|X^\top Y\|_F$")
        ax.legend(fontsize=8, ncols=2)
        if title:
            ax.set_title(title)
    pos = r[r > 0]
    rng_ = f"from {pos.min():.1e} to {pos.max():.1e}" if pos.size else "all zero"
    set_alt(
        fig,
        f"Log-log plot of the relative asymmetry of X^T Y against the spread of the points "
        f"({s.min():.0e} to {s.max():.0e}), {r.shape[0]} lines, values {rng_}"
        + (f", with a reference line of slope {reference_slope:g}." if reference_slope else "."),
    )
    return fig


def plot_solution_comparison(
    spectra: Mapping[str, Any],
    *,
    dim: int | None = None,
    rtol: float = 1e-8,
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
    figsize: tuple[float, float] = (7.0, 3.2),
) -> Figure:
    """Spectra (left) and Frobenius norms with ranks (right) of several symmetric matrices.

    The Frobenius norm is ``sqrt(sum e_i^2)`` over the eigenvalues; the rank counts the
    eigenvalues with ``|e_i| > rtol * max |e|`` (over all series). Each bar is labelled with its
    norm and rank.

    Args:
        spectra: name -> (r,) eigenvalues, as for :func:`plot_spectra` (the first is the reference).
        dim: pad each series with zeros to this size, as for :func:`plot_spectra`.
        rtol: relative cut-off below which an eigenvalue counts as zero for the rank.
        title: title of the whole Figure.
        ylim: y-limits of the spectrum panel.
        figsize: size of the Figure.

    Returns:
        The Figure, with two Axes.

    Raises:
        ValueError: as :func:`plot_spectra`, or ``rtol`` not in [0, 1).
    """
    if not 0 <= rtol < 1:
        raise ValueError(f"rtol={rtol} must lie in [0, 1)")
    series = _series(spectra, dim)
    top = max(float(np.abs(e).max()) if e.size else 0.0 for e in series.values())
    norms = {k: float(np.sqrt((e**2).sum())) for k, e in series.items()}
    ranks = {k: int((np.abs(e) > rtol * top).sum()) for k, e in series.items()}
    with styled():
        fig, (ax1, ax2) = plt.subplots(
            1, 2, figsize=figsize, layout="constrained", gridspec_kw={"width_ratios": [3, 2]}
        )
        plot_spectra(series, ax1, ylim=ylim)
        names = list(series)
        colors = [PALETTE["grey"]] + [series_style(k, i)["color"] for i, k in enumerate(names[1:])]
        bars = ax2.bar(range(len(names)), [norms[k] for k in names], color=colors, alpha=0.85)
        for i, (bar, k) in enumerate(zip(bars, names, strict=True)):
            bar.set_hatch(("", "//", "..", "xx", "\\\\", "++")[i % 6])
            ax2.annotate(
                f"{norms[k]:.3f}\nrank {ranks[k]}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax2.set_xticks(range(len(names)), names, fontsize=8, rotation=15)
        ax2.set_ylabel(r"$\|H\|_F$")
        ax2.set_ylim(0, 1.3 * max(norms.values()) if max(norms.values()) > 0 else 1.0)
        ax2.grid(axis="x", visible=False)
        if title:
            fig.suptitle(title)
    set_alt(
        fig,
        "Left, eigenvalues in descending order; right, Frobenius norms and ranks. "
        + "; ".join(
            f"{describe_spectrum(k, e)}; norm {norms[k]:.3f}, rank {ranks[k]}"
            for k, e in series.items()
        )
        + ".",
    )
    return fig
