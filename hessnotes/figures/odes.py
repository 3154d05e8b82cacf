"""Figures for the chapter "Differentiating through an ODE": a trajectory beside its sensitivities,
and the cost of a gradient against the number of parameters. Pure functions: data in, Figure out,
alt text written from the data.

Chapters: "Differentiating through an ODE".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from hessnotes.figures._data import as_array
from hessnotes.figures._style import LINESTYLES, MARKERS, PALETTE, new_figure, set_alt, styled

__all__ = ["plot_ode_costs", "plot_trajectory_sensitivities"]

_COLORS = (PALETTE["blue"], PALETTE["vermillion"], PALETTE["green"], PALETTE["purple"])


def _names(names: Sequence[str] | None, k: int, prefix: str, what: str) -> list[str]:
    if names is None:
        return [f"{prefix}{i + 1}" for i in range(k)]
    names = [str(s) for s in names]
    if len(names) != k:
        raise ValueError(f"{what} has {len(names)} names but the data have {k}; give one each")
    return names


def plot_trajectory_sensitivities(
    t: Any,
    x: Any,
    S: Any,
    *,
    state: int = 0,
    state_names: Sequence[str] | None = None,
    param_names: Sequence[str] | None = None,
    figsize: tuple[float, float] = (7.5, 3.2),
) -> Figure:
    """Left: the state ``x(t)``, one line per component. Right: the sensitivities
    ``∂x_state(t)/∂p_k``, one line per parameter.

    Args:
        t: (M + 1,) times.
        x: (M + 1, n) the trajectory.
        S: (M + 1, n, D) the sensitivities ``∂x/∂p`` on the same grid.
        state: which component's sensitivities to draw on the right.
        state_names, param_names: labels (mathtext allowed), ``n`` and ``D`` of them; default
            ``x1, x2, ...`` and ``p1, p2, ...``.
        figsize: size of the Figure.

    Returns:
        The Figure (two Axes).

    Raises:
        ValueError: on shapes that do not fit, non-finite data, or a ``state`` out of range.
    """
    t, x, S = as_array(t).reshape(-1), as_array(x), as_array(S)
    if t.size < 2 or x.ndim != 2 or S.ndim != 3 or x.shape[0] != t.size or S.shape[:2] != x.shape:
        raise ValueError(
            f"t {t.shape}, x {x.shape} and S {S.shape} must be (M+1,), (M+1, n) and (M+1, n, D) "
            "with M >= 1: one row per time"
        )
    if not (np.isfinite(t).all() and np.isfinite(x).all() and np.isfinite(S).all()):
        raise ValueError("t, x and S must be finite")
    n, D = S.shape[1], S.shape[2]
    if not 0 <= state < n:
        raise ValueError(f"state={state} but the state has {n} components (0-based)")
    xn = _names(state_names, n, "x", "state_names")
    pn = _names(param_names, D, "p", "param_names")
    with styled():
        fig, (a1, a2) = plt.subplots(1, 2, figsize=figsize, layout="constrained")
        for i in range(n):
            c, ls = _COLORS[i % len(_COLORS)], LINESTYLES[i % len(LINESTYLES)]
            a1.plot(t, x[:, i], color=c, ls=ls, label=xn[i])
        for k in range(D):
            c, ls = _COLORS[k % len(_COLORS)], LINESTYLES[k % len(LINESTYLES)]
            a2.plot(t, S[:, state, k], color=c, ls=ls, label=f"∂{xn[state]}/∂{pn[k]}")
        a1.set_xlabel("t")
        a1.set_title("the trajectory")
        a2.set_xlabel("t")
        a2.set_title(f"sensitivities of {xn[state]}")
        a1.legend(fontsize=8)
        a2.legend(fontsize=8)
    mag = np.abs(S[:, state, :])  # (M + 1, D)
    peaks = ", ".join(
        f"{pn[k]} {mag[:, k].max():.2g} at t = {t[int(np.argmax(mag[:, k]))]:.2g}" for k in range(D)
    )
    set_alt(
        fig,
        f"Left: the {n} components of the state ({', '.join(xn)}) from t = {t[0]:g} to "
        f"{t[-1]:g}, {xn[state]} between {x[:, state].min():.2g} and {x[:, state].max():.2g}. "
        f"Right: the derivatives of {xn[state]} with respect to the {D} parameters; their "
        f"largest magnitudes: {peaks}.",
    )
    return fig


def _crossing(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> float | None:
    """Where ``a`` and ``b`` cross, interpolated in log-log; None if they do not."""
    d = np.log(a) - np.log(b)
    for i in range(x.size - 1):
        if d[i] == 0:
            return float(x[i])
        if d[i] * d[i + 1] < 0:
            s = d[i] / (d[i] - d[i + 1])
            return float(np.exp(np.log(x[i]) + s * (np.log(x[i + 1]) - np.log(x[i]))))
    return None


def plot_ode_costs(
    n_params: Sequence[float],
    costs: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    ylabel: str = "flops per gradient",
    title: str | None = None,
) -> Figure:
    """Cost of one gradient against the number of parameters ``D``, one line per method (log-log).

    When there are at least two methods, the crossover of the first two is marked.

    Args:
        n_params: (s,) numbers of parameters, increasing.
        costs: method -> (s,) positive costs (flops, or counted products).
        ax: Axes to draw on; a new Figure when ``None``.
        ylabel: label of the cost axis.
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on an empty mapping, or costs that are not positive, finite and one per ``D``.
    """
    P = as_array(n_params).reshape(-1)
    if P.size == 0 or not np.isfinite(P).all() or (P <= 0).any() or (np.diff(P) <= 0).any():
        raise ValueError(f"n_params must be positive and increasing, got {P}")
    if not costs:
        raise ValueError("costs is empty; give at least one named series")
    series = {}
    for k, v in costs.items():
        v = as_array(v).reshape(-1)
        if v.size != P.size:
            raise ValueError(f"costs[{k!r}] has {v.size} values; it needs {P.size}, one per D")
        if not np.isfinite(v).all() or (v <= 0).any():
            raise ValueError(f"costs[{k!r}] must be finite and positive (a log axis)")
        series[k] = v
    names = list(series)
    cross = _crossing(P, series[names[0]], series[names[1]]) if len(names) > 1 else None
    with styled():
        fig, ax = new_figure(ax)
        for i, (k, v) in enumerate(series.items()):
            ax.plot(
                P,
                v,
                color=_COLORS[i % len(_COLORS)],
                marker=MARKERS[i % len(MARKERS)],
                ls=LINESTYLES[i % len(LINESTYLES)],
                label=k,
            )
        if cross is not None:
            ax.axvline(
                cross, color=PALETTE["grey"], ls=":", lw=1, label=f"crossover D ≈ {cross:.2g}"
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(P, [f"{d:g}" for d in P])  # the D that were counted
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("number of parameters D")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    ends = "; ".join(f"{k} from {v[0]:.3g} to {v[-1]:.3g}" for k, v in series.items())
    where = (
        f" The first two cross near D = {cross:.2g}."
        if cross is not None
        else (" The first two do not cross in this range." if len(names) > 1 else "")
    )
    set_alt(
        fig,
        f"Log-log plot of the {ylabel} against the number of parameters D from {P.min():g} to "
        f"{P.max():g}: {ends}.{where}",
    )
    return fig
