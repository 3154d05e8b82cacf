"""Figures for noisy pairs: the error of a regularised Hessian estimate against the damping.

Pure functions: data in, a Figure out, with alt text written from the data (``set_alt``).

Chapters: "Noisy pairs and a real network".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes.figures._style import LINESTYLES, MARKERS, PALETTE, new_figure, set_alt, styled

__all__ = ["plot_regularisation"]

_COLOURS = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion")]


def _np(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(-1)


def plot_regularisation(
    dampings: Sequence[float],
    errors: Mapping[str, Sequence[float]],
    *,
    chosen: float | None = None,
    unregularised: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 3.6),
) -> Figure:
    """Errors of Tikhonov estimates against the damping lambda, log-log.

    Args:
        dampings: (m,) positive dampings.
        errors: label -> (m,) errors of the estimate at each damping.
        chosen: a damping to mark with a vertical line (e.g. the discrepancy principle's).
        unregularised: label -> the error at lambda = 0, drawn as a dotted horizontal line in the
            colour of the curve with the same label.
        ax, title, figsize: Axes to draw on (default: a new figure), title, size.

    Returns:
        The Figure; its alt text gives each curve's range and smallest value, the chosen damping
        and the unregularised errors.

    Raises:
        ValueError: no curves, dampings not positive, or errors of the wrong length.
    """
    lam = _np(dampings)
    if not errors:
        raise ValueError("errors is empty; give at least one curve.")
    if lam.size == 0 or np.any(lam <= 0):
        raise ValueError(
            "dampings must be positive (a log axis); lambda = 0 goes in unregularised."
        )
    parts = []
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        for i, (name, err) in enumerate(errors.items()):
            e = _np(err)
            if e.shape != lam.shape:
                raise ValueError(
                    f"errors[{name!r}] has shape {e.shape}; dampings have {lam.shape}."
                )
            colour = _COLOURS[i % len(_COLOURS)]
            ax.loglog(lam, e, color=colour, ls=LINESTYLES[i % 6], marker=MARKERS[i % 6], ms=3,
                      label=name)  # fmt: skip
            j = int(np.argmin(e))
            text = f"{name}: smallest {e[j]:.1e} at lambda {lam[j]:.0e}"
            if unregularised and name in unregularised:
                u = float(unregularised[name])
                ax.axhline(u, color=colour, ls=":", lw=1.2, label=f"{name}, λ = 0")
                text += f", {u:.1e} without damping"
            parts.append(text)
        if chosen is not None:
            ax.axvline(chosen, color=PALETTE["grey"], lw=1.2, label=f"discrepancy λ = {chosen:.1e}")
            parts.append(f"discrepancy principle chooses lambda {chosen:.1e}")
        ax.set_xlabel(r"damping $\lambda$")
        ax.set_ylabel("relative error")
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8)
    return set_alt(fig, "Error against damping on log-log axes. " + "; ".join(parts) + ".")
