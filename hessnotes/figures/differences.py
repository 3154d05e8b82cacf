"""Figures for the chapter "Finite differences done right": the error of several difference
methods against the step size, with each method's fitted slope and predicted best step.
Pure functions: data in, Figure out.

Chapters: "Finite differences done right".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes.figures._data import as_array, log_axis_values
from hessnotes.figures._style import (
    LINESTYLES,
    MARKERS,
    PALETTE,
    describe_curve,
    new_figure,
    set_alt,
    styled,
)

__all__ = ["plot_difference_errors"]

_COLORS = tuple(PALETTE[k] for k in ("vermillion", "blue", "green", "purple", "orange", "sky"))


def plot_difference_errors(
    steps: Sequence[float],
    errors: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    optimal: Mapping[str, float] | None = None,
    slopes: Mapping[str, float] | None = None,
    floor: float | None = None,
    title: str | None = None,
) -> Figure:
    """Log-log relative error of each difference method against the step ``h``.

    Exact zeros, which a log axis cannot show, are left out.

    Args:
        steps: (s,) positive steps.
        errors: method name -> (s,) relative errors, e.g. from
            :func:`hessnotes.differences.difference_errors`.
        ax: Axes to draw on; a new Figure when ``None``.
        optimal: method name -> predicted best step, marked with a dotted line of its colour.
        slopes: method name -> fitted slope, shown in the legend.
        floor: a level to mark with a grey dashed line (e.g. the machine epsilon).
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on empty or non-positive steps, no series, or a series of another length,
            naming the series.
    """
    h = log_axis_values(steps, "steps")
    if not errors:
        raise ValueError("errors is empty; give at least one series, e.g. {'central': e}")
    series = {}
    for name, e in errors.items():
        e = as_array(e).reshape(-1)
        if e.shape != h.shape:
            raise ValueError(f"errors[{name!r}] has {e.size} values; it needs {h.size}, one per h")
        series[name] = e
    optimal, slopes = dict(optimal or {}), dict(slopes or {})
    with styled():
        fig, ax = new_figure(ax, figsize=(6.4, 4.0))
        for i, (name, e) in enumerate(series.items()):
            color = _COLORS[i % len(_COLORS)]
            label = name + (f" (slope {slopes[name]:.2f})" if name in slopes else "")
            ax.plot(
                h,
                np.where(e > 0, e, np.nan),
                color=color,
                linestyle=LINESTYLES[i % len(LINESTYLES)],
                marker=MARKERS[i % len(MARKERS)],
                markersize=3,
                label=label,
            )
            if name in optimal:
                ax.axvline(optimal[name], color=color, linestyle=":", linewidth=1.2)
        if floor is not None:
            ax.axhline(floor, color=PALETTE["grey"], linestyle="--", linewidth=1.0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step size h")
        ax.set_ylabel("relative error")
        ax.set_title(title or "Error against step: truncation falls, roundoff rises")
        ax.legend(fontsize=8, loc="upper center")
    lows = "; ".join(describe_curve(k, h, e, xname="h") for k, e in series.items())
    marks = ", ".join(f"{k} at {v:.0e}" for k, v in optimal.items())
    set_alt(
        fig,
        f"Log-log plot of the relative error of {len(series)} difference methods against the "
        f"step h, from {h.min():.0e} to {h.max():.0e}: {lows}."
        + (f" Dotted lines mark the predicted best steps: {marks}." if marks else ""),
    )
    return fig
