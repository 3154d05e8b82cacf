"""Figures for the Kronecker chapters: timing of the vec trick, Kronecker-sum spectra, and the
singular values of the Van Loan–Pitsianis rearrangement. Pure functions: data in, Figure out.

Chapters: "The vec trick", "Kronecker sums and tensor Sylvester equations", "Shuffles and
rearrangements".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes._linalg import loglog_slope
from hessnotes.figures._data import as_array
from hessnotes.figures._style import MARKERS, PALETTE, new_figure, set_alt, styled

__all__ = ["plot_kron_sum_spectrum", "plot_kron_timing", "plot_rearrangement_singular_values"]


def _fit_slope(ns: np.ndarray, t: np.ndarray) -> float:
    """Slope of log t against log n over the larger half (at least 2) of the timed sizes."""
    if np.count_nonzero(np.isfinite(t) & (t > 0)) < 2:
        return float("nan")
    return loglog_slope(ns, t, window="upper half")


def plot_kron_timing(
    ns: Sequence[int],
    t_explicit: Any,
    t_modes: Any,
    ax: Axes | None = None,
    *,
    k: int = 3,
) -> Figure:
    """Log-log time of ``(U ⊗ … ⊗ U) x`` against ``n``: explicit Kronecker product vs mode products.

    Each series is drawn as its best run (markers) with the range over repeats (vertical bars), so
    the picture does not hinge on one run. A least-squares line through ``log(best)`` against
    ``log(n)``, over the larger half of the timed sizes (where fixed per-call overheads no longer
    dominate), gives the fitted slope shown in the legend; dashed grey reference lines of slope
    ``2k`` (explicit: ``n^k × n^k`` matrix) and ``k + 1`` (mode products: ``k`` products of
    ``n^{k-1} × n`` by ``n × n``), drawn through each series' largest timed ``n``, show the theory.

    Args:
        ns: (s,) sizes ``n``.
        t_explicit: (s,) or (s, repeats) seconds for the explicit product; NaN where not timed.
        t_modes: (s,) or (s, repeats) seconds for :func:`hessnotes.kron.kron_matvec`.
        ax: Axes to draw on; a new Figure when ``None``.
        k: number of Kronecker factors (sets the reference slopes).

    Returns:
        The Figure.

    Raises:
        ValueError: if the time arrays do not have ``len(ns)`` rows.
    """
    ns = np.asarray(ns, dtype=float)
    series = []
    for name, t in (("t_explicit", t_explicit), ("t_modes", t_modes)):
        t = as_array(t)
        t = t[:, None] if t.ndim == 1 else t
        if t.ndim != 2 or t.shape[0] != ns.size:
            raise ValueError(
                f"{name} has shape {t.shape}; it needs shape ({ns.size},) or ({ns.size}, repeats) "
                f"to match ns of length {ns.size}."
            )
        series.append(t)
    alt: list[str] = []
    with styled():
        fig, ax = new_figure(ax)
        specs = (
            ("explicit np.kron", 2 * k, PALETTE["vermillion"], MARKERS[0]),
            ("mode products (kron_matvec)", k + 1, PALETTE["blue"], MARKERS[1]),
        )
        for t, (label, p, color, marker) in zip(series, specs, strict=True):
            all_nan = np.isnan(t).all(axis=1)
            best = np.where(all_nan, np.nan, np.nanmin(np.where(np.isnan(t), np.inf, t), axis=1))
            hi = np.where(all_nan, np.nan, np.nanmax(np.where(np.isnan(t), -np.inf, t), axis=1))
            slope = _fit_slope(ns, best)
            alt.append(f"{label}, fitted slope {slope:.2f} (theory {p})")
            ax.vlines(ns, best, hi, color=color, alpha=0.5, linewidth=1.2)
            ax.plot(
                ns,
                best,
                marker=marker,
                color=color,
                linestyle="-",
                label=f"{label}: fitted slope {slope:.2f}",
            )
            ok = np.flatnonzero(np.isfinite(best))
            if ok.size:
                j = ok[-1]
                ref = best[j] * (ns / ns[j]) ** p
                ax.plot(
                    ns,
                    ref,
                    color=PALETTE["grey"],
                    linestyle="--",
                    linewidth=1.0,
                    label=f"$\\propto n^{{{p}}}$",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ns, [f"{n:g}" for n in ns])
        ax.minorticks_off()
        ax.set_xlabel("n  (each factor is n × n)")
        ax.set_ylabel("time per product [s]")
        ax.set_title(f"Product with a {k}-factor Kronecker product, best of repeats")
        ax.legend(fontsize=8)
    set_alt(
        fig,
        f"Log-log plot of the time per product with a {k}-factor Kronecker product "
        f"against n from {ns.min():g} to {ns.max():g}: " + "; ".join(alt) + ".",
    )
    return fig


def plot_kron_sum_spectrum(
    eigvals: Any,
    ax: Axes | None = None,
    title: str | None = None,
    *,
    bins: int = 50,
    xlim: tuple[float, float] | None = None,
) -> Figure:
    """Histogram of the eigenvalues of a Kronecker sum, with its 2-norm condition number.

    For a symmetric matrix ``κ₂ = max|λ| / min|λ|``; for ``A ⊕ A ⊕ A`` the extremes are
    ``3 λ_min(A)`` and ``3 λ_max(A)``, so ``κ₂`` is that of ``A`` when ``A`` is definite, while the
    bulk of the ``N = n³`` sums piles up in the middle (a sum of three independent draws).

    Args:
        eigvals: (N,) eigenvalues, e.g. from :func:`hessnotes.kron.kron_sum_eigvals`.
        ax: Axes to draw on; a new Figure when ``None``.
        title: text placed before the condition number in the title.
        bins: number of histogram bins.
        xlim: fixed x-limits (keeps slider frames comparable).

    Returns:
        The Figure.

    Raises:
        ValueError: if ``eigvals`` is empty or holds NaN or Inf.
    """
    ev = as_array(eigvals).reshape(-1)
    if ev.size == 0 or not np.isfinite(ev).all():
        raise ValueError(f"eigvals (shape {ev.shape}) must be non-empty and finite.")
    amin = np.abs(ev).min()
    cond = np.inf if amin == 0 else np.abs(ev).max() / amin
    with styled():
        fig, ax = new_figure(ax)
        ax.hist(ev, bins=bins, range=xlim, color=PALETTE["blue"], alpha=0.8)
        for v, name, style in ((ev.min(), "min", ":"), (ev.max(), "max", "--")):
            ax.axvline(
                v,
                color=PALETTE["vermillion"],
                linestyle=style,
                linewidth=1.2,
                label=f"λ_{name} = {v:.3g}",
            )
        if xlim is not None:
            ax.set_xlim(xlim)
        ax.set_xlabel("eigenvalue λ_i + λ_j + …")
        ax.set_ylabel("count")
        head = f"{title}: " if title else ""
        ax.set_title(f"{head}N = {ev.size}, κ₂ = max|λ|/min|λ| = {cond:.3g}")
        ax.legend(fontsize=8)
    about = f" ({title})" if title else ""
    set_alt(
        fig,
        f"Histogram of the {ev.size} eigenvalues of a Kronecker sum{about}, "
        f"from {ev.min():.3g} to {ev.max():.3g}; condition number {cond:.3g}.",
    )
    return fig


def plot_rearrangement_singular_values(
    s: Any, ax: Axes | None = None, *, ylim: tuple[float, float] | None = None
) -> Figure:
    """Semilog stem plot of the singular values ``σ_k`` of ``R(A)``, the Kronecker-rank spectrum.

    ``A`` is a sum of ``r`` Kronecker products exactly when ``R(A)`` has rank ``r``, so an exact
    ``B ⊗ C`` shows one singular value and the rest at roundoff (below the dotted line
    ``ε σ₁``); added noise lifts the tail. Exact zeros are drawn at the bottom of the axes.

    Args:
        s: (r,) singular values, descending (``KroneckerApprox.singular_values``).
        ax: Axes to draw on; a new Figure when ``None``.
        ylim: fixed y-limits (keeps slider frames comparable).

    Returns:
        The Figure.

    Raises:
        ValueError: if ``s`` is empty, negative, or holds NaN or Inf.
    """
    s = as_array(s).reshape(-1)
    if s.size == 0 or not np.isfinite(s).all() or (s < 0).any():
        raise ValueError(f"s (shape {s.shape}) must be non-empty, finite and non-negative.")
    top = s.max() if s.max() > 0 else 1.0
    floor = top * 1e-18 if ylim is None else ylim[0]
    k = np.arange(1, s.size + 1)
    shown = np.maximum(s, floor)
    with styled():
        fig, ax = new_figure(ax)
        ax.vlines(k, floor, shown, color=PALETTE["blue"], linewidth=1.5)
        ax.plot(k, shown, MARKERS[0], color=PALETTE["blue"], label="σ_k of R(A)")
        ax.axhline(
            np.finfo(float).eps * top,
            color=PALETTE["grey"],
            linestyle=":",
            label="roundoff level ε σ₁",
        )
        ax.set_yscale("log")
        ax.set_ylim(ylim if ylim is not None else (floor, top * 10))
        ax.set_xticks(k if s.size <= 20 else np.linspace(1, s.size, 10).round().astype(int))
        ax.set_xlabel("k")
        ax.set_ylabel("σ_k")
        ax.set_title("Kronecker-rank spectrum: singular values of R(A)")
        ax.legend(fontsize=8)
    above = int((s > np.finfo(float).eps * top).sum())
    set_alt(
        fig,
        f"Semilog stem plot of the {s.size} singular values of the rearrangement R(A): largest "
        f"{s[0]:.3g}, {above} above the roundoff level ε σ₁, smallest {s[-1]:.1e}.",
    )
    return fig
