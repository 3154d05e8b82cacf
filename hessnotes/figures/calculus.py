"""Figures for the chapter "Checking derivatives": the finite-difference error against the step
size, and the secant of a central difference. Pure functions: data in, Figure out.

Chapters: "Checking derivatives".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes.figures._style import (
    LINESTYLES,
    MARKERS,
    PALETTE,
    describe_curve,
    new_figure,
    set_alt,
    styled,
)

__all__ = ["plot_central_difference", "plot_fd_error"]

_COLORS = (PALETTE["vermillion"], PALETTE["blue"], PALETTE["green"], PALETTE["purple"])


def _curves(steps, errors: Mapping[str, Sequence[float]]) -> tuple[np.ndarray, dict]:
    h = np.asarray(steps, dtype=np.float64).reshape(-1)
    if h.size == 0 or not np.isfinite(h).all() or (h <= 0).any():
        raise ValueError(f"steps (shape {h.shape}) must be non-empty, finite and positive")
    if not errors:
        raise ValueError("errors is empty; give at least one series, e.g. {'float64': e}")
    out = {}
    for name, e in errors.items():
        e = np.asarray(e, dtype=np.float64).reshape(-1)
        if e.shape != h.shape:
            raise ValueError(f"errors[{name!r}] has shape {e.shape}; it needs {h.shape} like steps")
        out[name] = e
    return h, out


def plot_fd_error(
    steps: Sequence[float],
    errors: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    optimal: Mapping[str, float] | None = None,
    current: float | None = None,
    title: str | None = None,
) -> Figure:
    """Log-log relative error of a central difference against the step size ``h``.

    Each series is one floating-point format. Where truncation dominates (large ``h``) the error
    falls like ``h²``; where roundoff dominates (small ``h``) it grows like ``ε / h``. A dotted
    vertical line marks each series' ``optimal[name]`` (e.g. ``ε^(1/3)``). Exact zeros, which a
    log axis cannot show, are left out.

    Args:
        steps: (s,) positive step sizes.
        errors: series name -> (s,) relative errors, e.g. from
            :func:`hessnotes.checks.fd.fd_error_curve`.
        ax: Axes to draw on; a new Figure when ``None``.
        optimal: series name -> step to mark with a dotted line.
        current: a step to mark with a solid grey line and a dot on every series (for sliders).
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on empty or non-positive steps, or an error series of another length.
    """
    h, series = _curves(steps, errors)
    optimal = dict(optimal or {})
    with styled():
        fig, ax = new_figure(ax)
        for i, (name, e) in enumerate(series.items()):
            color = _COLORS[i % len(_COLORS)]
            shown = np.where(e > 0, e, np.nan)
            ax.plot(
                h,
                shown,
                color=color,
                linestyle=LINESTYLES[i % len(LINESTYLES)],
                marker=MARKERS[i % len(MARKERS)],
                markersize=3,
                label=name,
            )
            if name in optimal:
                ax.axvline(optimal[name], color=color, linestyle=":", linewidth=1.2)
                ax.annotate(
                    f"$\\varepsilon^{{1/3}}$ = {optimal[name]:.0e}",
                    xy=(optimal[name], 0.97 - 0.07 * i),
                    xycoords=("data", "axes fraction"),
                    xytext=(-3, 0),
                    textcoords="offset points",
                    color=color,
                    fontsize=8,
                    ha="right",
                    va="top",
                )
            if current is not None:
                j = int(np.argmin(np.abs(np.log(h) - np.log(current))))
                if e[j] > 0:
                    ax.plot(h[j], e[j], "o", color=color, markersize=8, zorder=5)
        if current is not None:
            ax.axvline(current, color=PALETTE["grey"], linewidth=1.0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step size h")
        ax.set_ylabel("relative error")
        ax.set_title(title or "Central difference: truncation ∝ h², roundoff ∝ ε/h")
        ax.legend(fontsize=8, loc="lower right")
    lows = "; ".join(describe_curve(k, h, e, xname="h") for k, e in series.items())
    where = f", h = {current:.0e} marked" if current is not None else ""
    set_alt(
        fig,
        f"Log-log plot of the relative error of a central difference against the step h, "
        f"from {h.min():.0e} to {h.max():.0e}{where}: {lows}.",
    )
    return fig


def plot_central_difference(
    f: Callable[[torch.Tensor], torch.Tensor],
    x0: float,
    h: float,
    *,
    slope: float,
    steps: Sequence[float] | None = None,
    errors: Mapping[str, Sequence[float]] | None = None,
    optimal: Mapping[str, float] | None = None,
    width: float = 1.2,
    figsize: tuple[float, float] = (7.0, 3.2),
) -> Figure:
    """The secant of a central difference next to the error curve, for one step ``h``.

    Left: ``f`` on ``[x0 - width, x0 + width]``, its tangent at ``x0`` (slope ``f'(x0)``) and the
    secant through ``x0 ± h``, whose slope ``(f(x0 + h) - f(x0 - h)) / 2h`` is the central
    difference (in float64). Right, when ``steps`` and ``errors`` are given: :func:`plot_fd_error`
    with ``h`` marked, so that a slider over ``h`` moves along the V.

    Args:
        f: scalar function of one real variable, written in torch (applied elementwise).
        x0: the point.
        h: the step, positive.
        slope: the exact derivative ``f'(x0)``.
        steps, errors, optimal: as in :func:`plot_fd_error` (both or neither of steps/errors).
        width: half-width of the plotted interval.
        figsize: size of a new Figure.

    Returns:
        The Figure (one or two Axes).

    Raises:
        ValueError: if ``h`` or ``width`` is not positive, or only one of steps/errors is given.
    """
    if not (h > 0 and width > 0):
        raise ValueError(f"h={h!r} and width={width!r} must be positive")
    if (steps is None) != (errors is None):
        raise ValueError("give both steps and errors (for the error panel) or neither")
    grid = torch.linspace(x0 - width, x0 + width, 201, dtype=torch.float64)
    with torch.no_grad():
        y = f(grid).numpy()
        f0, fp, fm = (float(f(torch.tensor(t, dtype=torch.float64))) for t in (x0, x0 + h, x0 - h))
    fd = (fp - fm) / (2 * h)
    xs = grid.numpy()
    with styled():
        fig, axes = _panels(2 if steps is not None else 1, figsize)
        ax = axes[0]
        ax.plot(xs, y, color=PALETTE["grey"], label="f")
        ax.plot(
            xs, f0 + slope * (xs - x0), color=PALETTE["blue"], label=f"tangent, slope {slope:.4f}"
        )
        ax.plot(
            xs,
            fm + fd * (xs - (x0 - h)),
            color=PALETTE["vermillion"],
            linestyle="--",
            label=f"secant, slope {fd:.4f}",
        )
        ax.plot([x0 - h, x0 + h], [fm, fp], "o", color=PALETTE["vermillion"], markersize=5)
        lo, hi = float(y.min()), float(y.max())
        pad = 0.15 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(xs[0], xs[-1])
        ax.set_xlabel("x")
        ax.set_title(f"h = {h:.0e}: |secant − tangent| = {abs(fd - slope):.1e}", fontsize=10)
        ax.legend(fontsize=8, loc="lower center")
        if steps is not None:
            plot_fd_error(steps, errors, axes[1], optimal=optimal, current=h, title="error vs h")
    right = "; right, the error against h with the current step marked" if steps is not None else ""
    set_alt(
        fig,
        f"The function near x = {x0:g} with its tangent (slope {slope:.4f}) and the secant "
        f"through x ± {h:.0e} (slope {fd:.4f}, off by {abs(fd - slope):.1e}){right}.",
    )
    return fig


def _panels(k: int, figsize: tuple[float, float]):
    fig, axes = plt.subplots(1, k, figsize=figsize, layout="constrained", squeeze=False)
    return fig, list(axes[0])
