"""Figures for the chapter "Derivatives of random functions": the variance of Monte Carlo gradient
estimators against a parameter (the dimension, a scale), measured with error bars beside the
closed forms. Pure functions: data in, Figure out, alt text written from the data.

Chapters: "Derivatives of random functions".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes.figures._data import as_array, log_axis_values
from hessnotes.figures._style import LINESTYLES, MARKERS, PALETTE, new_figure, set_alt, styled
from hessnotes.timing import loglog_slope

__all__ = ["plot_estimator_variances"]

_COLORS = (PALETTE["blue"], PALETTE["vermillion"], PALETTE["green"], PALETTE["purple"])


def plot_estimator_variances(
    x: Sequence[float],
    measured: Mapping[str, tuple[Any, Any]],
    closed: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    xlabel: str,
    ylabel: str = "total variance of one sample",
    title: str | None = None,
) -> Figure:
    """Measured variances (markers, error bars of ±2 standard errors) and their closed forms
    (lines) against ``x``, on log-log axes.

    Args:
        x: (s,) positive values of the parameter (e.g. the dimension ``D``).
        measured: estimator name → ``(variance, stderr)``, each (s,): the measured total variance
            of one sample and its standard error.
        closed: estimator name → (s,) closed-form variances; every name must also be in
            ``measured`` (it gets the same colour). Names without a closed form are allowed.
        ax: Axes to draw on; a new Figure when ``None``.
        xlabel, ylabel, title: axis labels and title.

    Returns:
        The Figure. Its alt text gives, per estimator, the range of the measured variances and
        the log-log slope of the closed form (or of the measurements, without one).

    Raises:
        ValueError: on empty, mismatched, non-finite or non-positive data, or a closed form
            without a measurement.
    """
    xs = log_axis_values(x, "x")
    if not measured:
        raise ValueError("measured is empty; give at least one estimator")
    extra = set(closed) - set(measured)
    if extra:
        raise ValueError(f"closed has {sorted(extra)} with no measurement; name them in measured")
    data = {}
    for k, pair in measured.items():
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise ValueError(f"measured[{k!r}] must be a pair (variance, stderr)")
        v = log_axis_values(pair[0], f"measured[{k!r}] variance", xs.size)
        se = as_array(pair[1]).reshape(-1)
        if se.size != xs.size or not np.isfinite(se).all() or (se < 0).any():
            raise ValueError(f"measured[{k!r}] stderr must be {xs.size} finite numbers >= 0")
        data[k] = (v, se)
    lines = {k: log_axis_values(v, f"closed[{k!r}]", xs.size) for k, v in closed.items()}
    parts = []
    with styled():
        fig, ax = new_figure(ax)
        for i, (k, (v, se)) in enumerate(data.items()):
            color = _COLORS[i % len(_COLORS)]
            if k in lines:
                ax.plot(xs, lines[k], color=color, ls=LINESTYLES[i % len(LINESTYLES)], lw=1.4,
                        label=f"{k}, closed form")  # fmt: skip
            lo = np.minimum(2 * se, v * (1 - 1e-3))  # keep the bar above 0 on a log axis
            ax.errorbar(xs, v, yerr=[lo, 2 * se], color=color, marker=MARKERS[i % len(MARKERS)],
                        ls="none", ms=5, capsize=2, label=f"{k}, measured")  # fmt: skip
            ref = lines.get(k, v)
            slope = loglog_slope(xs, ref) if xs.size >= 2 else float("nan")
            src = "closed form" if k in lines else "measured"
            parts.append(
                f"{k}: measured from {v.min():.2g} to {v.max():.2g}, {src} slope {slope:.1f}"
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        if xs.size <= 10:  # few values (dimensions, frequencies): label each one plainly
            ax.set_xticks(xs, [f"{v:g}" for v in xs])
            ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    set_alt(
        fig,
        f"Log-log plot of the variance of gradient estimators against {xlabel} from "
        f"{xs.min():.3g} to {xs.max():.3g}, measured with error bars of two standard errors and "
        f"closed forms as lines. " + "; ".join(parts) + ".",
    )
    return fig
