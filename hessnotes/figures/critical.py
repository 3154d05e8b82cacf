"""Figures for the chapter "Critical points and second-order conditions": contour plots of
functions of two variables with their critical points and the Hessians' eigenvectors drawn, and
the curvature of the Rayleigh quotient on the sphere at each eigenvector. Pure functions: data
in, Figure out, alt text written from the data.

Chapters: "Critical points and second-order conditions".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hessnotes.figures._style import PALETTE, set_alt, styled

__all__ = ["plot_critical_points", "plot_curvature_counts"]

#: Colour and line style of an eigenvector by the sign of its eigenvalue.
_SIGN_STYLE = {
    "positive": (PALETTE["blue"], "-"),
    "negative": (PALETTE["vermillion"], "--"),
    "zero": (PALETTE["grey"], ":"),
}
_MARKER = {
    "local minimum": "o",
    "local maximum": "^",
    "saddle point": "X",
    "degenerate stationary point": "s",
    "not a local minimum": "v",
}


def _np(a: Any, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or Inf")
    return a


def _sign(e: float, scale: float, rtol: float) -> str:
    if abs(e) <= rtol * scale:
        return "zero"
    return "positive" if e > 0 else "negative"


def _panel(p: Mapping[str, Any], k: int) -> dict[str, Any]:
    name = f"panels[{k}]"
    for key in ("x", "y", "values"):
        if key not in p:
            raise ValueError(f"{name} has no {key!r}; give x (nx,), y (ny,) and values (ny, nx)")
    x, y = _np(p["x"], f"{name}['x']").reshape(-1), _np(p["y"], f"{name}['y']").reshape(-1)
    z = _np(p["values"], f"{name}['values']")
    if z.shape != (y.size, x.size):
        raise ValueError(
            f"{name}['values'] has shape {z.shape}; it must be (len(y), len(x)) = "
            f"{(y.size, x.size)}, with values[i, j] = f(x[j], y[i])"
        )
    points = []
    for j, q in enumerate(p.get("points", ())):
        where = f"{name}['points'][{j}]"
        at = _np(q["at"], f"{where}['at']").reshape(-1)
        ev = _np(q["eigenvalues"], f"{where}['eigenvalues']").reshape(-1)
        vecs = _np(q["eigenvectors"], f"{where}['eigenvectors']")
        if at.size != 2 or ev.size != 2 or vecs.shape != (2, 2):
            raise ValueError(
                f"{where}: 'at' must have 2 entries, 'eigenvalues' 2 and 'eigenvectors' shape "
                f"(2, 2) (one eigenvector per column); got {at.size}, {ev.size}, {vecs.shape}"
            )
        kind = str(q.get("kind", ""))
        points.append({"at": at, "eigenvalues": ev, "eigenvectors": vecs, "kind": kind})
    shade = p.get("shade_below")
    return {
        "title": str(p.get("title", "")),
        "x": x,
        "y": y,
        "values": z,
        "points": points,
        "shade_below": None if shade is None else float(shade),
    }


def plot_critical_points(
    panels: Sequence[Mapping[str, Any]],
    axes: Sequence[Axes] | None = None,
    *,
    rtol: float = 1e-10,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Contour plots of functions of two variables, each critical point marked by its kind and
    crossed by its Hessian's eigenvectors (solid blue: positive curvature, dashed vermillion:
    negative, dotted grey: zero). A legend below names the line styles and the markers of the
    kinds present (circle: minimum, triangle: maximum, cross: saddle, square: degenerate).

    Args:
        panels: one mapping per panel with ``"x"`` (nx,), ``"y"`` (ny,), ``"values"`` (ny, nx)
            (``values[i, j] = f(x[j], y[i])``), an optional ``"title"``, an optional
            ``"shade_below"`` level (the region ``f < level`` is shaded, e.g. ``f(x⋆)`` to show
            where the function is lower than at the point) and ``"points"``: a list of mappings
            with ``"at"`` (2,), ``"eigenvalues"`` (2,), ``"eigenvectors"`` (2, 2), one per
            column, and ``"kind"`` (e.g. ``CriticalPoint.kind``).
        axes: one Axes per panel; a new Figure with one row of panels when ``None``.
        rtol: an eigenvalue counts as zero when ``|e| <= rtol · max|e|`` over the point.
        figsize: size of a new Figure; default 3.4 inches per panel by 3.4.

    Returns:
        The Figure.

    Raises:
        ValueError: on no panels, a panel without x, y or values, mismatched shapes, NaN, or
            ``axes`` of the wrong length.
    """
    if not panels:
        raise ValueError("panels is empty; give at least one panel")
    data = [_panel(p, k) for k, p in enumerate(panels)]
    if axes is not None and len(axes) != len(data):
        raise ValueError(f"axes has {len(axes)} Axes for {len(data)} panels")
    with styled():
        if axes is None:
            size = figsize or (3.4 * len(data), 3.4)
            fig, axs = plt.subplots(1, len(data), figsize=size, layout="constrained", squeeze=False)
            axes = list(axs[0])
        fig = axes[0].figure
        descriptions = [_draw_panel(ax, d, rtol) for ax, d in zip(axes, data, strict=True)]
        handles = _legend_handles(data)
        fig.legend(
            handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8
        )
    set_alt(
        fig,
        f"{len(data)} contour plot{'s' * (len(data) != 1)} with critical points marked and the "
        "Hessian's eigenvectors drawn through them (solid: positive curvature, dashed: negative, "
        "dotted: zero). " + " ".join(f"{k + 1}. {t}." for k, t in enumerate(descriptions)),
    )
    return fig


def _draw_panel(ax: Axes, d: Mapping[str, Any], rtol: float) -> str:
    """One panel: contours, the shaded region, the points; returns its description."""
    x, y, z = d["x"], d["y"], d["values"]
    ax.contour(x, y, z, levels=14, colors=PALETTE["grey"], linewidths=0.7, linestyles="solid")
    shade = d["shade_below"] is not None and (z < d["shade_below"]).any()
    if shade:
        ax.contourf(
            x, y, z, levels=[z.min() - 1.0, d["shade_below"]], colors=[PALETTE["orange"]], alpha=0.3
        )
    span = 0.16 * min(x.max() - x.min(), y.max() - y.min())
    words = [_draw_point(ax, q, span, rtol) for q in d["points"]]
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if d["title"]:
        ax.set_title(d["title"])
    shaded = f"; the region where f < {d['shade_below']:.3g} is shaded" if shade else ""
    return (
        f"{d['title'] or 'panel'} (x from {x.min():.3g} to {x.max():.3g}, y from "
        f"{y.min():.3g} to {y.max():.3g}): " + ("; ".join(words) or "no points") + shaded
    )


def _draw_point(ax: Axes, q: Mapping[str, Any], span: float, rtol: float) -> str:
    """A critical point: its eigenvectors styled by the sign of curvature, and its marker."""
    at, ev, V = q["at"], q["eigenvalues"], q["eigenvectors"]
    scale = float(np.abs(ev).max()) if np.abs(ev).max() > 0 else 1.0
    for e, v in zip(ev, V.T, strict=True):
        colour, ls = _SIGN_STYLE[_sign(float(e), scale, rtol)]
        v = v / np.linalg.norm(v)
        ends = np.stack([at - span * v, at + span * v])
        ax.plot(ends[:, 0], ends[:, 1], color=colour, ls=ls, lw=2.2)
    ax.plot(
        at[0],
        at[1],
        ls="none",
        marker=_MARKER.get(q["kind"], "o"),
        ms=8,
        color="white",
        markeredgecolor=PALETTE["blue"] if q["kind"] else "black",
        markeredgewidth=1.6,
    )
    signs = ", ".join(f"{e:.3g}" for e in ev)
    return (
        f"{q['kind'] or 'a point'} at ({at[0]:.3g}, {at[1]:.3g}) with Hessian eigenvalues {signs}"
    )


def _legend_handles(data: Sequence[Mapping[str, Any]]) -> list[Line2D]:
    """The line styles of the three signs of curvature, then the markers of the kinds present."""
    handles = [
        Line2D([], [], color=c, ls=ls, lw=2.2, label=f"{s} curvature")
        for s, (c, ls) in _SIGN_STYLE.items()
    ]
    kinds = dict.fromkeys(q["kind"] for d in data for q in d["points"] if q["kind"])
    return handles + [
        Line2D(
            [],
            [],
            ls="none",
            marker=_MARKER.get(k, "o"),
            ms=7,
            color="white",
            markeredgecolor=PALETTE["blue"],
            markeredgewidth=1.6,
            label=k,
        )
        for k in kinds
    ]


def plot_curvature_counts(
    labels: Sequence[str],
    counts: Any,
    ax: Axes | None = None,
    *,
    xlabel: str = "critical point",
    title: str | None = None,
) -> Figure:
    """Stacked bars of the inertia ``(n₊, n₋, n₀)`` at a family of critical points.

    Args:
        labels: (k,) names of the critical points (e.g. ``"v1"``, …).
        counts: (k, 3) numbers of positive, negative and zero eigenvalues at each.
        ax: Axes to draw on; a new Figure when ``None``.
        xlabel, title: axis label and title.

    Returns:
        The Figure.

    Raises:
        ValueError: on mismatched lengths or counts that are not non-negative integers.
    """
    c = _np(counts, "counts")
    if c.ndim != 2 or c.shape[1] != 3 or c.shape[0] != len(labels):
        raise ValueError(
            f"counts has shape {c.shape}; it must be ({len(labels)}, 3): (positive, negative, "
            "zero) for each label"
        )
    if (c < 0).any() or (c != np.round(c)).any():
        raise ValueError("counts must be non-negative integers")
    names = ("positive", "negative", "zero")
    with styled():
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.0, 3.2), layout="constrained")
        fig = ax.figure
        xs = np.arange(len(labels))
        bottom = np.zeros(len(labels))
        hatches = ("", "//", "..")
        for j, name in enumerate(names):
            colour = _SIGN_STYLE[name][0]
            ax.bar(
                xs,
                c[:, j],
                bottom=bottom,
                color=colour,
                hatch=hatches[j],
                label=name,
                edgecolor="white",
            )
            bottom += c[:, j]
        ax.set_xticks(xs, list(labels))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("eigenvalues")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="x", visible=False)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        if title:
            ax.set_title(title)
    rows = "; ".join(
        f"{lab}: {int(p)} positive, {int(n)} negative, {int(z)} zero"
        for lab, (p, n, z) in zip(labels, c, strict=True)
    )
    set_alt(
        fig,
        f"Stacked bars of the signs of the curvature at {len(labels)} critical points ("
        f"{title or xlabel}). {rows}.",
    )
    return fig
