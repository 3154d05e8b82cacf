"""Figures for the chapter "Exact curvature: Hessian-vector products, Gauss–Newton and Lanczos".

Pure functions: data in, a Figure out, with alt text written from the data (``set_alt``); styling
stays local. The secant estimators keep the colours, line styles and markers of
:data:`hessnotes.figures.spectra.ESTIMATOR_STYLE`; Lanczos and the exact Hessian get their own.

Chapters: "Exact curvature".
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
    alt_text,
    describe_spectrum,
    new_figure,
    set_alt,
    styled,
)
from hessnotes.figures.spectra import ESTIMATOR_STYLE

__all__ = [
    "METHOD_STYLE",
    "plot_budget_errors",
    "plot_budget_frame",
    "plot_curvature_split",
    "plot_densities",
    "plot_secant_error",
    "plot_top_eigenvalues",
]

#: Style of each method: the secant estimators as elsewhere, plus Lanczos and the exact Hessian.
METHOD_STYLE: dict[str, dict[str, Any]] = {
    **ESTIMATOR_STYLE,
    "Lanczos": {"color": PALETTE["purple"], "ls": LINESTYLES[4], "marker": MARKERS[4]},
    "exact": {"color": PALETTE["grey"], "ls": LINESTYLES[0], "marker": ""},
}
_OTHER = [PALETTE[k] for k in ("blue", "vermillion", "green", "sky")]


def _style(name: str, i: int) -> dict[str, Any]:
    if name in METHOD_STYLE:
        return dict(METHOD_STYLE[name])
    return {"color": _OTHER[i % len(_OTHER)], "ls": LINESTYLES[i % 6], "marker": MARKERS[i % 6]}


def _np(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64).reshape(-1)


def _top(ev: Any, k: int) -> np.ndarray:
    return np.sort(_np(ev))[::-1][:k]


def plot_top_eigenvalues(
    exact: Any,
    estimates: Mapping[str, Any | None],
    *,
    k: int = 10,
    ax: Axes | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (4.2, 3.4),
) -> Figure:
    """The k largest eigenvalues: the exact ones as a line, each estimate's as markers.

    Args:
        exact: (D,) exact eigenvalues, any order.
        estimates: label -> eigenvalues (any number, any order) or None (a breakdown, noted in
            the legend).
        k: how many of the largest to show.
        ax: Axes to draw on (default: a new figure).
        title: the Axes title.
        figsize: size of a new figure.

    Returns:
        The Figure; its alt text names the range of the exact top k and each estimate's largest.

    Raises:
        ValueError: k < 1 or an empty exact spectrum.
    """
    t = _top(exact, k)
    if k < 1 or t.size == 0:
        raise ValueError(f"k={k} must be >= 1 and the exact spectrum non-empty.")
    idx = np.arange(1, t.size + 1)
    parts = []
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        ax.plot(idx, t, color=PALETTE["grey"], lw=2.4, label="exact")
        for i, (name, ev) in enumerate(estimates.items()):
            st = _style(name, i)
            if ev is None:
                ax.plot([], [], ls="none", marker="x", color=st["color"], label=f"{name}: fails")
                parts.append(f"{name} breaks down")
                continue
            e = _top(ev, k)
            ax.plot(
                idx[: e.size], e, ls="none", marker=st["marker"], ms=5, mfc="none",
                color=st["color"], label=name,
            )  # fmt: skip
            parts.append(f"{name} largest {e[0]:.3g}")
        ax.set_xlabel("index $i$ (largest first)")
        ax.set_ylabel(r"$\lambda_i$")
        ax.set_xticks(idx if t.size <= 10 else idx[::2])
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8, loc="upper right")
    alt = (
        f"The {t.size} largest eigenvalues of the exact Hessian, from {t[0]:.3g} down to "
        f"{t[-1]:.3g}, against " + ("; ".join(parts) if parts else "no estimates") + "."
    )
    return set_alt(fig, alt)


def plot_densities(
    grid: Any,
    densities: Mapping[str, Any | None],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    floor: float = 1e-4,
    figsize: tuple[float, float] = (4.2, 3.4),
) -> Figure:
    """Smoothed spectral densities on a common grid, log y-axis (values below ``floor`` clipped).

    Args:
        grid: (p,) eigenvalue axis.
        densities: label -> (p,) density (or None for a breakdown); ``"exact"`` is drawn as a
            thick grey line.
        ax, title, figsize: as :func:`plot_top_eigenvalues`.
        floor: smallest density shown (a log axis cannot show 0).

    Returns:
        The Figure; its alt text gives, for each curve, where it peaks.

    Raises:
        ValueError: a density whose shape differs from the grid's, or an empty mapping.
    """
    g = _np(grid)
    if not densities:
        raise ValueError("densities is empty; give at least one curve.")
    parts = []
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        for i, (name, d) in enumerate(densities.items()):
            st = _style(name, i)
            if d is None:
                ax.plot([], [], color=st["color"], ls=st["ls"], label=f"{name}: fails")
                parts.append(f"{name} breaks down")
                continue
            y = _np(d)
            if y.shape != g.shape:
                raise ValueError(f"density {name!r} has shape {y.shape}; the grid has {g.shape}.")
            lw = 2.6 if name == "exact" else 1.5
            ax.plot(g, np.maximum(y, floor), color=st["color"], ls=st["ls"], lw=lw, label=name)
            parts.append(f"{name} peaks at {g[int(np.argmax(y))]:.2g}")
        ax.set_yscale("log")
        ax.set_ylim(floor, None)
        ax.set_xlabel(r"eigenvalue $t$")
        ax.set_ylabel(r"density $\phi(t)$")
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8, loc="upper right")
    alt = (
        f"Spectral densities on a log scale over eigenvalues from {g[0]:.2g} to {g[-1]:.2g}: "
        + "; ".join(parts)
        + "."
    )
    return set_alt(fig, alt)


def plot_budget_frame(
    exact: Any,
    spectra: Mapping[str, Any | None],
    grid: Any,
    densities: Mapping[str, Any | None],
    *,
    k: int = 10,
    title: str | None = None,
    figsize: tuple[float, float] = (7.0, 3.6),
) -> Figure:
    """Two panels at one budget: the top k eigenvalues, and the spectral densities.

    Args:
        exact: (D,) exact eigenvalues.
        spectra: method -> eigenvalues at this budget (or None).
        grid, densities: as :func:`plot_densities` (include ``"exact"`` for the reference).
        k: eigenvalues in the left panel.
        title: the figure's title (e.g. the budget).
        figsize: size of the figure (7 inches fit the page column, so the text stays readable).

    Returns:
        The Figure; its alt text joins both panels' descriptions.
    """
    with styled():
        fig, (a1, a2) = plt.subplots(1, 2, figsize=figsize, layout="constrained")
        # Both panels write their alt text onto the same Figure: read each one as it is set.
        left = alt_text(plot_top_eigenvalues(exact, spectra, k=k, ax=a1, title=f"top {k}"))
        right = alt_text(plot_densities(grid, densities, ax=a2, title="spectral density"))
        if title:
            fig.suptitle(title)
    return set_alt(fig, f"{title + '. ' if title else ''}Left: {left} Right: {right}")


def plot_budget_errors(
    budgets: Sequence[int],
    panels: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    floor: float = 1e-16,
    ylabel: str = "error of the top 5 eigenvalues",
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Error against the budget in gradient evaluations, one panel per problem, log y-axis.

    Args:
        budgets: (m,) budgets, or a mapping panel -> budgets when panels differ (pass a dict).
        panels: panel title -> (method -> (m,) errors); NaN (a breakdown) leaves a gap; values
            below ``floor`` are drawn at the floor.
        floor: smallest error shown.
        ylabel: label of the y-axis.
        figsize: size (default 3.5 inches per panel, at most 7 in all, by 3.4: the column).

    Returns:
        The Figure; alt text gives each method's error at the largest budget in each panel.

    Raises:
        ValueError: no panels, or errors whose length differs from the budgets'.
    """
    if not panels:
        raise ValueError("panels is empty; give at least one problem.")
    names = list(panels)
    per = budgets if isinstance(budgets, Mapping) else dict.fromkeys(names, budgets)
    parts = []
    with styled():
        fig, axs = plt.subplots(
            1,
            len(names),
            figsize=figsize or (min(7.0, 3.5 * len(names)), 3.4),
            layout="constrained",
            squeeze=False,
        )
        for ax, title in zip(axs[0], names, strict=True):
            b = _np(per[title])
            last = []
            for i, (method, err) in enumerate(panels[title].items()):
                e = _np(err)
                if e.shape != b.shape:
                    raise ValueError(
                        f"errors of {method!r} in {title!r} have shape {e.shape}; budgets have "
                        f"{b.shape}."
                    )
                st = _style(method, i)
                ax.plot(b, np.maximum(e, floor), color=st["color"], ls=st["ls"],
                        marker=st["marker"], ms=4, label=method)  # fmt: skip
                last.append(f"{method} {e[-1]:.1e}" if np.isfinite(e[-1]) else f"{method} fails")
            ax.set_yscale("log")
            ax.set_xlabel("gradient evaluations")
            ax.set_title(title)
            parts.append(f"{title}, at {int(b[-1])} gradient evaluations: " + ", ".join(last))
        axs[0][0].set_ylabel(ylabel)
        axs[0][0].legend(fontsize=8)
    return set_alt(fig, "Error against budget on a log scale. " + ". ".join(parts) + ".")


def plot_curvature_split(
    spectra: Mapping[str, Any],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    linthresh: float | None = None,
    figsize: tuple[float, float] = (6.0, 3.4),
) -> Figure:
    """Sorted spectra of H and of its parts (e.g. the Gauss–Newton and residual terms), symlog y.

    Args:
        spectra: label -> (D,) eigenvalues.
        ax, title, figsize: as :func:`plot_top_eigenvalues`.
        linthresh: the linear range of the symlog axis (default 1e-3 of the largest |eigenvalue|).

    Returns:
        The Figure; alt text counts each spectrum's positive, negative and zero eigenvalues.

    Raises:
        ValueError: an empty mapping.
    """
    if not spectra:
        raise ValueError("spectra is empty; give at least one spectrum.")
    evs = {name: np.sort(_np(e))[::-1] for name, e in spectra.items()}
    top = max(float(np.abs(e).max()) for e in evs.values())
    lt = linthresh if linthresh is not None else 1e-3 * (top if top > 0 else 1.0)
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        for i, (name, e) in enumerate(evs.items()):
            st = {"color": _OTHER[i % 4] if i else PALETTE["grey"], "marker": MARKERS[i % 6]}
            ax.plot(np.arange(1, e.size + 1), e, ls="none", marker=st["marker"], ms=4,
                    mfc="none" if i else st["color"], color=st["color"], label=name)  # fmt: skip
        ax.set_yscale("symlog", linthresh=lt)
        ax.axhline(0.0, color=PALETTE["grey"], lw=0.8)
        ax.set_xlabel("index $i$ (eigenvalues in descending order)")
        ax.set_ylabel(r"$\lambda_i$ (symmetric log scale)")
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8, loc="upper right")
    alt = "Sorted eigenvalues on a symmetric log scale. " + "; ".join(
        describe_spectrum(name, e, rtol=1e-10) for name, e in evs.items()
    )
    return set_alt(fig, alt + ".")


def plot_secant_error(
    spreads: Sequence[float],
    errors: Mapping[str, Sequence[float]],
    *,
    slopes: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (5.0, 3.4),
) -> Figure:
    """Log-log error of finite-difference HVPs against the step length r, with reference slopes.

    Args:
        spreads: (s,) step lengths r.
        errors: label -> (s,) errors.
        slopes: label -> fitted slope, shown in the legend.
        ax, title, figsize: as :func:`plot_top_eigenvalues`.

    Returns:
        The Figure; alt text states each series' range and slope.

    Raises:
        ValueError: errors of another length than ``spreads``.
    """
    r = _np(spreads)
    parts = []
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        for i, (name, err) in enumerate(errors.items()):
            e = _np(err)
            if e.shape != r.shape:
                raise ValueError(f"errors[{name!r}] has shape {e.shape}; spreads have {r.shape}.")
            st = _style(name, i + 2)
            s = (slopes or {}).get(name)
            label = name + (f" (slope {s:.2f})" if s is not None else "")
            ax.loglog(r, e, color=st["color"], ls=st["ls"], marker=st["marker"], ms=4, label=label)
            parts.append(
                f"{name} from {e.max():.1e} down to {e.min():.1e}"
                + (f", slope {s:.2f}" if s is not None else "")
            )
        ax.set_xlabel("step length $r$")
        ax.set_ylabel("error")
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8)
    return set_alt(fig, "Log-log error against step length: " + "; ".join(parts) + ".")
