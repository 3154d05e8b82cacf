"""Figures of spectra, estimator errors and timings (chapters on Hessians from gradients).

:func:`plot_spectra` is the one spectrum plot of the book (the least-norm, eigen-derivation and
noisy-pairs chapters all use it).

Pure functions: data in, a Figure out; styling stays local (``hessnotes.figures._style.styled``).
Each estimator keeps one colour, line style and marker across all figures (:data:`ESTIMATOR_STYLE`).

Chapters: "hessnotes", "The least-norm Hessian", "Noisy pairs and a real network", "High
dimensions", "Limited-memory updates".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hessnotes.figures._data import as_array
from hessnotes.figures._style import (
    LINESTYLES,
    MARKERS,
    PALETTE,
    describe_spectrum,
    new_figure,
    set_alt,
    styled,
)

__all__ = [
    "ESTIMATOR_STYLE",
    "plot_eigenvalue_tracks",
    "plot_estimator_errors",
    "plot_spectra",
    "plot_timings",
    "series_style",
]

#: Colour, line style and marker of each estimator (other names cycle through the palette).
ESTIMATOR_STYLE: dict[str, dict[str, Any]] = {
    "min-norm": {"color": PALETTE["blue"], "ls": LINESTYLES[0], "marker": MARKERS[0]},
    "min-rank": {"color": PALETTE["orange"], "ls": LINESTYLES[1], "marker": MARKERS[1]},
    "PSB(γ)": {"color": PALETTE["green"], "ls": LINESTYLES[2], "marker": MARKERS[2]},
    "BFGS(γ)": {"color": PALETTE["vermillion"], "ls": LINESTYLES[3], "marker": MARKERS[3]},
    "low-rank": {"color": PALETTE["blue"], "ls": LINESTYLES[0], "marker": MARKERS[0]},
    "dense": {"color": PALETTE["vermillion"], "ls": LINESTYLES[1], "marker": MARKERS[1]},
}
_OTHER = [PALETTE[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky")]


def series_style(name: str, i: int) -> dict[str, Any]:
    """Colour, line style and marker of series ``i`` named ``name``: :data:`ESTIMATOR_STYLE` for
    the estimators' names, otherwise the i-th entry of a fixed cycle (never grey, the reference)."""
    if name in ESTIMATOR_STYLE:
        return dict(ESTIMATOR_STYLE[name])
    return {"color": _OTHER[i % len(_OTHER)], "ls": LINESTYLES[i % 6], "marker": MARKERS[i % 6]}


def plot_estimator_errors(
    ns: Sequence[int],
    panels: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    axes: Sequence[Axes] | None = None,
    ylabel: str = r"$\|\hat H - H\|_F \,/\, \|H\|_F$",
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Relative error against the number of pairs n, one panel per problem, log y-axis.

    Args:
        ns: (m,) numbers of pairs.
        panels: panel title -> (estimator name -> (m,) errors); NaN (a breakdown) leaves a gap.
        axes: one Axes per panel to draw on (default: a new row of panels sharing the y-axis).
        ylabel: label of the y-axis.
        figsize: size of a new figure (default 3.4 inches per panel by 3.4).

    Returns:
        The Figure.

    Raises:
        ValueError: if ``panels`` is empty, an error array does not match ``ns`` in length, or
            ``axes`` has the wrong length.
    """
    if not panels:
        raise ValueError("panels is empty; give at least one {title: {estimator: errors}}.")
    ns = np.asarray(ns)
    with styled():
        if axes is None:
            k = len(panels)
            fig, axs = plt.subplots(
                1, k, figsize=figsize or (3.4 * k + 0.6, 3.4), sharey=True, layout="constrained"
            )
            axs = np.atleast_1d(axs)
        else:
            if len(axes) != len(panels):
                raise ValueError(f"axes has {len(axes)} entries for {len(panels)} panels.")
            axs, fig = list(axes), axes[0].figure
        for ax, (title, errs) in zip(axs, panels.items(), strict=True):
            for i, (name, e) in enumerate(errs.items()):
                e = np.asarray(e, dtype=np.float64)
                if e.shape != ns.shape:
                    raise ValueError(
                        f"errors of {name!r} in panel {title!r} have shape {e.shape}; expected "
                        f"{ns.shape} to match ns."
                    )
                st = series_style(name, i)
                ax.plot(
                    ns, e, label=name, color=st["color"], ls=st["ls"], marker=st["marker"], ms=4
                )
            ax.set_yscale("log")
            ax.set_title(title)
            ax.set_xlabel("number of pairs $n$")
        axs[0].set_ylabel(ylabel)
        axs[0].legend(fontsize=8)
    parts = []
    for title, errs in panels.items():
        last = ", ".join(f"{k} {float(np.asarray(v)[-1]):.2g}" for k, v in errs.items())
        parts.append(f"{title}: at n = {ns[-1]} the errors are {last}")
    set_alt(
        fig,
        f"Relative error of each estimator against the number of pairs n from {ns[0]} to "
        f"{ns[-1]}, log scale, {len(panels)} panels. " + "; ".join(parts) + ".",
    )
    return fig


def _series(spectra: Mapping[str, Any], dim: int | None) -> dict[str, np.ndarray | None]:
    """Validate name -> eigenvalues (``None`` for a breakdown), pad to ``dim``, sort descending."""
    if not spectra:
        raise ValueError("spectra is empty; give at least one series, e.g. {'true H': evals}")
    out: dict[str, np.ndarray | None] = {}
    for i, (name, e) in enumerate(spectra.items()):
        if e is None:
            if i == 0:
                raise ValueError(f"spectra[{name!r}], the reference (first) series, is None")
            out[name] = None
            continue
        e = as_array(e).reshape(-1)
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
    clip: bool = False,
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
    figsize: tuple[float, float] = (6.0, 3.2),
) -> Figure:
    """Eigenvalues of several symmetric matrices, each in descending order, against the index.

    The first series is the reference (e.g. the true Hessian), drawn as a grey line; the others
    are markers, shifted sideways by a fraction of an index so that equal eigenvalues stay visible,
    in the colours of :data:`ESTIMATOR_STYLE`. A horizontal line marks zero, so that the inertia
    can be read off. A series given as ``None`` is listed in the legend as a breakdown.

    Args:
        spectra: name -> (r,) eigenvalues (or ``None`` for an estimator that broke down; not the
            first). With ``dim``, each series is padded with zeros to length ``dim``: pass the
            nonzero eigenvalues of a low-rank matrix of size ``dim`` (``H.eigvals()``).
        ax: Axes to draw on; a new Figure when ``None``.
        dim: the size D of the matrices, or ``None`` if every series already has all eigenvalues.
        clip: keep the y-range of the reference: ``ylim``, or the reference's range (and 0) padded
            by a quarter. Eigenvalues outside it are drawn at the edge and counted in the legend,
            so that one wild eigenvalue does not flatten the picture.
        title: the Axes title.
        ylim: fixed y-limits (keep them fixed across the frames of a slider).
        figsize: size of a new Figure.

    Returns:
        The Figure.

    Raises:
        ValueError: on an empty mapping, NaN or Inf, a series longer than ``dim``, or a ``None``
            reference.
    """
    series = _series(spectra, dim)
    ref = next(iter(series.values()))
    lo = hi = None
    if ylim is not None:
        lo, hi = ylim
    elif clip:
        lo, hi = min(float(ref.min()), 0.0), max(float(ref.max()), 0.0)
        pad = 0.25 * (hi - lo if hi > lo else 1.0)
        lo, hi = lo - pad, hi + pad
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        m = len(series) - 1  # markers side by side, so that equal eigenvalues stay visible
        for i, (name, e) in enumerate(series.items()):
            if i == 0:
                idx = np.arange(1, e.size + 1)
                ax.plot(
                    idx, e, color=PALETTE["grey"], marker="o", ms=6, alpha=0.5, lw=2, label=name
                )
                ax.axhline(0.0, color=PALETTE["grey"], linewidth=0.8)
                continue
            st = series_style(name, i - 1)
            if e is None:
                ax.plot(
                    [], [], ls="none", marker="x", color=st["color"], label=f"{name}: breaks down"
                )
                continue
            idx = np.arange(1, e.size + 1) + 0.15 * ((i - 1) - (m - 1) / 2)
            label = name
            if clip:
                off = int(((e < lo) | (e > hi)).sum())
                label += f" ({off} off scale)" if off else ""
                e = np.clip(e, lo, hi)
            ax.plot(idx, e, ls="none", marker=st["marker"], ms=5, color=st["color"], label=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("index $i$ (eigenvalues in descending order)")
        ax.set_ylabel(r"$\lambda_i$")
        if lo is not None:
            ax.set_ylim(lo, hi)
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    set_alt(
        fig,
        "Eigenvalues in descending order against their index. "
        + "; ".join(
            f"{k}: breaks down" if e is None else describe_spectrum(k, e) for k, e in series.items()
        )
        + ".",
    )
    return fig


def plot_timings(
    D: Sequence[float],
    times: Mapping[str, Sequence[float]],
    *,
    slopes: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 3.6),
) -> Figure:
    """Time against dimension D on log-log axes, one line per method (NaN points are skipped).

    Args:
        D: (m,) dimensions.
        times: method name -> (m,) times in seconds.
        slopes: method name -> fitted log-log slope, shown in the legend.
        ax: Axes to draw on (default: a new figure).
        title: the title.
        figsize: size of a new figure.

    Returns:
        The Figure.

    Raises:
        ValueError: if a series does not match D in length.
    """
    D = np.asarray(D, dtype=np.float64)
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        for i, (name, t) in enumerate(times.items()):
            t = np.asarray(t, dtype=np.float64)
            if t.shape != D.shape:
                raise ValueError(f"times of {name!r} have shape {t.shape}; expected {D.shape}.")
            ok = np.isfinite(t)
            st = series_style(name, i)
            label = (
                name if not slopes or name not in slopes else f"{name} (slope {slopes[name]:.1f})"
            )
            ax.plot(D[ok], t[ok], color=st["color"], ls=st["ls"], marker=st["marker"], label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("dimension $D$")
        ax.set_ylabel("time (s), best of $k$")
        if title:
            ax.set_title(title)
        ax.legend()
    parts = []
    for name, t in times.items():
        t = np.asarray(t, dtype=np.float64)
        ok = np.isfinite(t)
        if ok.any():
            slope = f", slope {slopes[name]:.1f}" if slopes and name in slopes else ""
            parts.append(f"{name} up to D = {D[ok].max():.0e}{slope}")
    set_alt(fig, "Log-log plot of time against the dimension D: " + "; ".join(parts) + ".")
    return fig


def plot_eigenvalue_tracks(
    steps: Sequence[float],
    true_top: Any,
    estimates: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    title: str | None = None,
    logy: bool = True,
    figsize: tuple[float, float] = (6.4, 3.4),
) -> Figure:
    """The largest eigenvalues of the true Hessian and of estimates along an optimisation path.

    Each of the k tracks of the true Hessian is a grey line (the largest the darkest); each
    estimate's k tracks share its colour and marker (:func:`series_style`), the largest solid, the
    others dashed. NaN (no estimate yet) leaves a gap.

    Args:
        steps: (K,) iteration numbers.
        true_top: (K, k) (or (K,)) largest eigenvalues of the true Hessian at each step,
            descending along the second axis.
        estimates: name -> (K, k) (or (K,)) the same for an estimate.
        ax: Axes to draw on; a new Figure when ``None``.
        title: the Axes title.
        logy: logarithmic eigenvalue axis (the positive values only).
        figsize: size of a new Figure.

    Returns:
        The Figure.

    Raises:
        ValueError: if a track does not have ``len(steps)`` rows or k columns like ``true_top``.
    """
    x = as_array(steps).reshape(-1)
    t = as_array(true_top)
    t = t[:, None] if t.ndim == 1 else t
    if t.ndim != 2 or t.shape[0] != x.size:
        raise ValueError(f"true_top has shape {t.shape}; it needs ({x.size}, k), one row per step")
    ests = {}
    for name, e in estimates.items():
        e = as_array(e)
        e = e[:, None] if e.ndim == 1 else e
        if e.shape != t.shape:
            raise ValueError(f"estimates[{name!r}] has shape {e.shape}; expected {t.shape}")
        ests[name] = e
    k = t.shape[1]
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        for j in range(k):
            ax.plot(
                x,
                t[:, j],
                color=PALETTE["grey"],
                lw=2.6 - 0.6 * j,
                alpha=0.9 - 0.2 * j,
                label="true $H$" if j == 0 else None,
            )
        for i, (name, e) in enumerate(ests.items()):
            st = series_style(name, i)
            for j in range(k):
                ax.plot(
                    x,
                    e[:, j],
                    color=st["color"],
                    ls="-" if j == 0 else "--",
                    lw=1.2,
                    marker=st["marker"] if j == 0 else None,
                    ms=3,
                    markevery=max(1, x.size // 12),
                    label=name if j == 0 else None,
                )
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("iteration $k$")
        ax.set_ylabel(f"largest {k} eigenvalue" + ("s" if k > 1 else ""))
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    last = "; ".join(f"{name} {e[-1, 0]:.4g}" for name, e in [("true H", t), *ests.items()])
    set_alt(
        fig,
        f"The largest {k} eigenvalues of the true Hessian (grey) and of {len(ests)} estimates "
        f"({', '.join(ests)}) over {x.size} iterations; the true largest eigenvalue goes from "
        f"{t[0, 0]:.4g} to {t[-1, 0]:.4g}. At the last iteration the largest eigenvalue is: "
        f"{last}.",
    )
    return fig
