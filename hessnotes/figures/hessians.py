"""Figures for the chapters on Hessians from gradients: how far gradient pairs are from any
symmetric Hessian as the points spread out, and the spectra, norms and ranks of Hessian estimates
against the true Hessian. Pure functions: data in, Figure out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hessnotes.figures._style import (
    MARKERS,
    PALETTE,
    describe_spectrum,
    new_figure,
    set_alt,
    styled,
)

__all__ = ["plot_asymmetry_vs_spread", "plot_solution_comparison", "plot_spectra"]

_COLORS = (
    PALETTE["blue"],
    PALETTE["vermillion"],
    PALETTE["green"],
    PALETTE["orange"],
    PALETTE["purple"],
    PALETTE["sky"],
)


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


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
    s = _np(spreads).reshape(-1)
    if s.size == 0 or not np.isfinite(s).all() or (s <= 0).any():
        raise ValueError(f"spreads (shape {s.shape}) must be non-empty, finite and positive")
    r = _np(residuals)
    r = r[None, :] if r.ndim == 1 else r
    if r.ndim != 2 or r.shape[1] != s.size:
        raise ValueError(
            f"residuals has shape {_np(residuals).shape}; it needs ({s.size},) or (k, {s.size}), "
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


def _spectra(spectra: Mapping[str, Any], dim: int | None) -> dict[str, np.ndarray]:
    if not spectra:
        raise ValueError("spectra is empty; give at least one series, e.g. {'true H': evals}")
    out = {}
    for name, e in spectra.items():
        e = _np(e).reshape(-1)
        if not np.isfinite(e).all():
            raise ValueError(f"spectra[{name!r}] holds NaN or Inf")
        if dim is not None:
            if e.size > dim:
                raise ValueError(f"spectra[{name!r}] has {e.size} eigenvalues, more than dim={dim}")
            e = np.concatenate([e, np.zeros(dim - e.size)])
        out[name] = np.sort(e)[::-1]
    return out


def plot_spectra(
    spectra: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    dim: int | None = None,
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
    figsize: tuple[float, float] = (6.0, 3.2),
) -> Figure:
    """Eigenvalues of several symmetric matrices, each sorted in descending order, against their
    index ``1, 2, ...``.

    The first series is drawn as a grey line (the reference, e.g. the true Hessian), the others as
    markers, shifted sideways by a fraction of an index so that equal eigenvalues stay visible.
    A horizontal line marks zero, so that the inertia (how many eigenvalues lie above, on and below
    zero) can be read off.

    Args:
        spectra: name -> (r,) eigenvalues. With ``dim``, each series is padded with zeros to
            length ``dim``: pass the nonzero eigenvalues of a low-rank matrix of size ``dim``
            (e.g. ``LowRankSymmetric.eigvals()``).
        ax: Axes to draw on; a new Figure when ``None``.
        dim: the size D of the matrices, or ``None`` if every series already has all eigenvalues.
        title: the Axes title.
        ylim: fixed y-limits (keep them fixed across the frames of a slider).
        figsize: size of a new Figure.

    Returns:
        The Figure.

    Raises:
        ValueError: on an empty mapping, NaN or Inf, or a series longer than ``dim``.
    """
    series = _spectra(spectra, dim)
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        ax.axhline(0.0, color=PALETTE["grey"], linewidth=0.8)
        m = len(series) - 1  # markers side by side, so that equal eigenvalues stay visible
        for i, (name, e) in enumerate(series.items()):
            idx = np.arange(1, e.size + 1)
            if i > 0:
                idx = idx + 0.15 * ((i - 1) - (m - 1) / 2)
            if i == 0:
                ax.plot(idx, e, color=PALETTE["grey"], marker="o", markersize=7, alpha=0.45, lw=1)
                ax.lines[-1].set_label(name)
            else:
                ax.plot(
                    idx,
                    e,
                    color=_COLORS[(i - 1) % len(_COLORS)],
                    marker=MARKERS[(i - 1) % len(MARKERS)],
                    linestyle="none",
                    markersize=5,
                    label=name,
                )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("index (eigenvalues in descending order)")
        ax.set_ylabel("eigenvalue")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    set_alt(
        fig,
        "Eigenvalues in descending order against their index. "
        + "; ".join(describe_spectrum(k, e) for k, e in series.items())
        + ".",
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
    series = _spectra(spectra, dim)
    top = max(float(np.abs(e).max()) if e.size else 0.0 for e in series.values())
    norms = {k: float(np.sqrt((e**2).sum())) for k, e in series.items()}
    ranks = {k: int((np.abs(e) > rtol * top).sum()) for k, e in series.items()}
    with styled():
        fig, (ax1, ax2) = plt.subplots(
            1, 2, figsize=figsize, layout="constrained", gridspec_kw={"width_ratios": [3, 2]}
        )
        plot_spectra(series, ax1, ylim=ylim)
        colors = [PALETTE["grey"]] + [_COLORS[i % len(_COLORS)] for i in range(len(series) - 1)]
        names = list(series)
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
