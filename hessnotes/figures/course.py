"""Figures for the course chapters of "Matrix calculus, checked": forward against reverse mode,
an avoided eigenvalue crossing, adjoint against forward sensitivities, Newton's convergence and
Taylor remainders. Pure functions: data in, Figure out, alt text written from the data.

Chapters: "Derivatives as linear maps, and the chain rule", "Derivatives of factorizations", "Second
derivatives and Newton's method", "Adjoint methods".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes.figures._data import log_axis_values
from hessnotes.figures._style import LINESTYLES, MARKERS, PALETTE, new_figure, set_alt, styled

__all__ = [
    "plot_avoided_crossing",
    "plot_convergence",
    "plot_mode_costs",
    "plot_sensitivity_costs",
    "plot_taylor_remainders",
]

_COLORS = (PALETTE["blue"], PALETTE["vermillion"], PALETTE["green"], PALETTE["purple"])


def _np(a: Any, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    return a


def _series(series: Mapping[str, Any], n: int | None, name: str) -> dict[str, np.ndarray]:
    if not series:
        raise ValueError(f"{name} is empty; give at least one named series")
    out = {}
    for k, v in series.items():
        v = _np(v, f"{name}[{k!r}]").reshape(-1)
        if n is not None and v.size != n:
            raise ValueError(f"{name}[{k!r}] has {v.size} values; it needs {n}, one per x")
        if np.isnan(v).any() or (v < 0).any():
            raise ValueError(f"{name}[{k!r}] must be non-negative numbers without NaN")
        out[k] = v
    return out


def _crossing(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> float | None:
    d = np.log(a) - np.log(b)
    for i in range(x.size - 1):
        if d[i] == 0:
            return float(x[i])
        if d[i] * d[i + 1] < 0:
            s = d[i] / (d[i] - d[i + 1])
            return float(np.exp(np.log(x[i]) + s * (np.log(x[i + 1]) - np.log(x[i]))))
    return None


def _mode_axes(
    ax: Axes, n_inputs: int, cross: float | None, ylabel: str, title: str | None
) -> None:
    """The axes of a forward-against-reverse cost plot over the number of outputs m: log scales,
    the line m = n, the crossover (when there is one), labels and legend."""
    ax.axvline(n_inputs, color=PALETTE["grey"], ls=":", lw=1, label=f"m = n = {n_inputs}")
    if cross is not None:
        ax.axvline(cross, color=PALETTE["green"], lw=1, label=f"crossover m ≈ {cross:.0f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of outputs m")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)


def plot_mode_costs(
    sizes: Sequence[float],
    forward: Sequence[float],
    reverse: Sequence[float],
    ax: Axes | None = None,
    *,
    n_inputs: int,
    title: str | None = None,
) -> Figure:
    """Time of a full Jacobian by forward mode (``n`` JVPs) and reverse mode (``m`` VJPs) against
    the number of outputs ``m``, at a fixed number of inputs ``n``; the crossover is marked.

    Args:
        sizes: (s,) numbers of outputs ``m``.
        forward, reverse: (s,) seconds per Jacobian by each mode.
        ax: Axes to draw on; a new Figure when ``None``.
        n_inputs: the fixed ``n`` (a dotted line marks ``m = n``).
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on empty, non-positive or mismatched inputs.
    """
    m = log_axis_values(sizes, "sizes")
    tf, tr = log_axis_values(forward, "forward"), log_axis_values(reverse, "reverse")
    if not (m.size == tf.size == tr.size):
        raise ValueError(f"sizes, forward, reverse have {m.size}, {tf.size}, {tr.size} values")
    cross = _crossing(m, tf, tr)
    with styled():
        fig, ax = new_figure(ax)
        ax.plot(m, tf * 1e3, color=_COLORS[0], marker=MARKERS[0], label=f"forward: {n_inputs} JVPs")
        ax.plot(m, tr * 1e3, color=_COLORS[1], marker=MARKERS[1], ls="--", label="reverse: m VJPs")
        _mode_axes(ax, n_inputs, cross, "ms per full Jacobian", title)
    where = (
        f"the curves cross near m = {cross:.0f}"
        if cross is not None
        else "the curves do not cross in this range"
    )
    set_alt(
        fig,
        f"Log-log plot of the time of a full Jacobian of a map with {n_inputs} inputs against the "
        f"number of outputs m from {m.min():.0f} to {m.max():.0f}: forward mode takes "
        f"{tf.min() * 1e3:.3g} to {tf.max() * 1e3:.3g} ms while reverse mode grows from "
        f"{tr.min() * 1e3:.3g} to {tr.max() * 1e3:.3g} ms; {where}.",
    )
    return fig


def plot_avoided_crossing(
    ts: Sequence[float],
    gaps: Sequence[float],
    eigenvalues: Any,
    speeds: Any,
    *,
    figsize: tuple[float, float] = (7.5, 3.2),
) -> Figure:
    """Two eigenvalues of ``A(t)`` near an avoided crossing, and how fast an eigenvector turns.

    Left: the pair ``λ₁(t) < λ₂(t)`` for each minimal gap ``δ``. Right: ``‖dv₁/dt‖`` on a log axis,
    which peaks near ``1/δ`` at ``t = 0``: the eigenvector derivative has the factor
    ``1 / (λ₂ - λ₁)``.

    Args:
        ts: (T,) values of the parameter.
        gaps: (G,) minimal gaps ``δ``, one curve each.
        eigenvalues: (G, T, 2) the two eigenvalues at each ``t``.
        speeds: (G, T) ``‖dv₁/dt‖``.
        figsize: size of the Figure.

    Returns:
        The Figure (two Axes).

    Raises:
        ValueError: on shapes that do not match.
    """
    t = _np(ts, "ts").reshape(-1)
    g = log_axis_values(gaps, "gaps")
    ev, sp = _np(eigenvalues, "eigenvalues"), _np(speeds, "speeds")
    if ev.shape != (g.size, t.size, 2) or sp.shape != (g.size, t.size):
        raise ValueError(
            f"eigenvalues {ev.shape} and speeds {sp.shape} must be ({g.size}, {t.size}, 2) and "
            f"({g.size}, {t.size}): one row per gap, one column per t"
        )
    with styled():
        fig, (a1, a2) = plt.subplots(1, 2, figsize=figsize, layout="constrained")
        for i, d in enumerate(g):
            c, ls = _COLORS[i % len(_COLORS)], LINESTYLES[i % len(LINESTYLES)]
            a1.plot(t, ev[i, :, 0], color=c, ls=ls, label=f"δ = {d:g}")
            a1.plot(t, ev[i, :, 1], color=c, ls=ls)
            a2.plot(t, sp[i], color=c, ls=ls, label=f"δ = {d:g}")
            a2.axhline(1 / d, color=c, lw=0.8, ls=":")
        a1.set_xlabel("t")
        a1.set_ylabel(r"$\lambda_1(t),\ \lambda_2(t)$")
        a1.set_title("eigenvalues of A + tB")
        a2.set_yscale("log")
        a2.set_xlabel("t")
        a2.set_ylabel(r"$\|\mathrm{d}v_1/\mathrm{d}t\|$")
        a2.set_title("dotted: 1/δ")
        a1.legend(fontsize=8)
    peaks = ", ".join(
        f"{sp[i].max():.3g} at t = {t[int(np.argmax(sp[i]))]:.2g} for δ = {d:g}"
        for i, d in enumerate(g)
    )
    set_alt(
        fig,
        f"Left: two eigenvalues of A + tB for t from {t.min():g} to {t.max():g} approach each "
        f"other to within the gaps {', '.join(f'{d:g}' for d in g)} and turn away. Right, log "
        f"scale: the speed of the first eigenvector peaks at {peaks}; dotted lines mark 1/δ.",
    )
    return fig


def plot_sensitivity_costs(
    n_params: Sequence[float],
    times: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Seconds per gradient against the number of parameters ``P``, one line per method.

    Args:
        n_params: (s,) numbers of parameters.
        times: method name -> (s,) seconds, e.g. ``{"adjoint": ..., "forward": ...}``.
        ax: Axes to draw on; a new Figure when ``None``.
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on empty, non-positive or mismatched inputs.
    """
    P = log_axis_values(n_params, "n_params")
    series = _series(times, P.size, "times")
    for k, v in series.items():
        log_axis_values(v, f"times[{k!r}]")
    with styled():
        fig, ax = new_figure(ax)
        for i, (k, v) in enumerate(series.items()):
            ax.plot(
                P,
                v * 1e3,
                color=_COLORS[i % len(_COLORS)],
                marker=MARKERS[i % len(MARKERS)],
                ls=LINESTYLES[i % len(LINESTYLES)],
                label=k,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of parameters P")
        ax.set_ylabel("ms per gradient")
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    ends = "; ".join(
        f"{k} from {v[0] * 1e3:.2g} to {v[-1] * 1e3:.2g} ms" for k, v in series.items()
    )
    set_alt(
        fig,
        f"Log-log plot of the time per gradient against the number of parameters P from "
        f"{P.min():.0f} to {P.max():.0f}: {ends}.",
    )
    return fig


def plot_convergence(
    errors: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    ylabel: str = "error",
    title: str | None = None,
) -> Figure:
    """Errors against the iteration number on a log axis, one line per method.

    A line that bends downwards (the number of correct digits doubling) is quadratic convergence;
    a straight line is linear convergence. Zeros are left out (a log axis cannot show them).

    Args:
        errors: method name -> errors ``e_0, e_1, …`` (series may differ in length).
        ax: Axes to draw on; a new Figure when ``None``.
        ylabel: label of the error axis.
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on an empty mapping, NaN or negative errors.
    """
    series = _series(errors, None, "errors")
    with styled():
        fig, ax = new_figure(ax)
        for i, (k, e) in enumerate(series.items()):
            ax.plot(
                np.arange(e.size),
                np.where(e > 0, e, np.nan),
                color=_COLORS[i % len(_COLORS)],
                marker=MARKERS[i % len(MARKERS)],
                ls=LINESTYLES[i % len(LINESTYLES)],
                markersize=4,
                label=k,
            )
        ax.set_yscale("log")
        ax.set_xlabel("iteration k")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    desc = "; ".join(
        f"{k}: {e.size - 1} steps from {e[0]:.1e} to {e[-1]:.1e}" for k, e in series.items()
    )
    set_alt(fig, f"Semi-log plot of the {ylabel} against the iteration: {desc}.")
    return fig


def plot_taylor_remainders(
    steps: Sequence[float],
    remainders: Mapping[str, Sequence[float]],
    slopes: Mapping[str, float],
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Log-log remainders of Taylor models against the step size, with reference slopes.

    Args:
        steps: (s,) step sizes ``t``.
        remainders: model name -> (s,) ``|f(X + tH) - model(t)|``.
        slopes: model name -> the expected slope (drawn dashed through the series' middle point).
        ax: Axes to draw on; a new Figure when ``None``.
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on empty, non-positive or mismatched inputs, or a slope for an unknown series.
    """
    t = log_axis_values(steps, "steps")
    series = _series(remainders, t.size, "remainders")
    if set(slopes) - set(series):
        raise ValueError(f"slopes names {sorted(set(slopes) - set(series))} are not in remainders")
    with styled():
        fig, ax = new_figure(ax)
        for i, (k, r) in enumerate(series.items()):
            c = _COLORS[i % len(_COLORS)]
            ax.plot(t, np.where(r > 0, r, np.nan), color=c, marker=MARKERS[i], label=k)
            if k in slopes and (r > 0).any():
                j = int(np.flatnonzero(r > 0)[len(np.flatnonzero(r > 0)) // 2])
                ax.plot(t, r[j] * (t / t[j]) ** slopes[k], color=c, ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step t")
        ax.set_ylabel("remainder")
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    desc = "; ".join(f"{k} with slope {slopes[k]:g}" for k in series if k in slopes)
    set_alt(
        fig,
        f"Log-log plot of Taylor remainders against the step t from {t.min():.0e} to "
        f"{t.max():.0e}, {len(series)} lines ({desc}), dotted reference lines.",
    )
    return fig
