"""Figures for the chapters "Noisy pairs and a real network" and "High dimensions".

Pure functions: data in, a Figure out; styling stays local (``hessnotes.figures._style.styled``).
Each estimator keeps one colour, line style and marker across all figures (:data:`ESTIMATOR_STYLE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes.figures._style import (
    LINESTYLES,
    MARKERS,
    PALETTE,
    describe_spectrum,
    new_figure,
    set_alt,
    styled,
)

__all__ = ["ESTIMATOR_STYLE", "plot_estimator_errors", "plot_spectra", "plot_timings"]

#: Colour, line style and marker of each estimator (other names cycle through the palette).
ESTIMATOR_STYLE: dict[str, dict[str, Any]] = {
    "min-norm": {"color": PALETTE["blue"], "ls": LINESTYLES[0], "marker": MARKERS[0]},
    "min-rank": {"color": PALETTE["orange"], "ls": LINESTYLES[1], "marker": MARKERS[1]},
    "PSB(γ)": {"color": PALETTE["green"], "ls": LINESTYLES[2], "marker": MARKERS[2]},
    "BFGS(γ)": {"color": PALETTE["vermillion"], "ls": LINESTYLES[3], "marker": MARKERS[3]},
    "low-rank": {"color": PALETTE["blue"], "ls": LINESTYLES[0], "marker": MARKERS[0]},
    "dense": {"color": PALETTE["vermillion"], "ls": LINESTYLES[1], "marker": MARKERS[1]},
}
_OTHER = [PALETTE[k] for k in ("sky", "purple", "grey", "yellow")]


def _style(name: str, i: int) -> dict[str, Any]:
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
                st = _style(name, i)
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


def plot_spectra(
    true_eigs: Sequence[float],
    estimates: Mapping[str, Sequence[float] | None],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 3.2),
) -> Figure:
    """Sorted eigenvalues of the true Hessian (line) and of estimates (markers).

    The y-range is that of the true spectrum (and 0), padded by a quarter; estimated eigenvalues
    outside it are clipped to the edge and counted in the legend, so that one wild eigenvalue does
    not flatten the picture. An estimate given as ``None`` is marked as a breakdown.

    Args:
        true_eigs: (D,) eigenvalues of the true Hessian (any order; shown descending).
        estimates: label -> (D,) eigenvalues of an estimate (or None).
        ax: Axes to draw on (default: a new figure).
        title: the title.
        figsize: size of a new figure.

    Returns:
        The Figure.

    Raises:
        ValueError: if an estimate does not have D eigenvalues.
    """
    t = np.sort(np.asarray(true_eigs, dtype=np.float64))[::-1]
    D = t.size
    lo, hi = min(t.min(), 0.0), max(t.max(), 0.0)
    pad = 0.25 * (hi - lo if hi > lo else 1.0)
    lo, hi = lo - pad, hi + pad
    idx = np.arange(1, D + 1)
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        ax.plot(idx, t, color=PALETTE["grey"], lw=2.4, label="true $H$")
        ax.axhline(0.0, color=PALETTE["grey"], lw=0.8)
        for i, (name, ev) in enumerate(estimates.items()):
            st = _style(name, i)
            if ev is None:
                ax.plot(
                    [], [], ls="none", marker="x", color=st["color"], label=f"{name}: breaks down"
                )
                continue
            e = np.sort(np.asarray(ev, dtype=np.float64))[::-1]
            if e.shape != (D,):
                raise ValueError(f"estimate {name!r} has {e.size} eigenvalues; expected D={D}.")
            off = int(((e < lo) | (e > hi)).sum())
            label = name + (f" ({off} off scale)" if off else "")
            ax.plot(
                idx,
                np.clip(e, lo, hi),
                ls="none",
                marker=st["marker"],
                ms=4,
                mfc="none",
                color=st["color"],
                label=label,
            )
        ax.set_ylim(lo, hi)
        ax.set_xlabel("index $i$ (eigenvalues in descending order)")
        ax.set_ylabel(r"$\lambda_i$")
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8, loc="upper right")
    described = [describe_spectrum("true H", t)] + [
        f"{k}: breaks down" if ev is None else describe_spectrum(k, ev)
        for k, ev in estimates.items()
    ]
    set_alt(
        fig,
        "Sorted eigenvalues of the true Hessian and of estimates. " + "; ".join(described) + ".",
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
            st = _style(name, i)
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
