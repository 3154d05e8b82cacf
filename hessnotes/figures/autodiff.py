"""Figures for the chapter "Automatic differentiation from scratch": a computational graph with its
forward and reverse sweeps, and the counted cost of a full Jacobian in each mode.

Pure functions: data in, Figure out, alt text written from the data.

Chapters: "Automatic differentiation from scratch".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hessnotes.admodes import crossover
from hessnotes.figures._style import LINESTYLES, MARKERS, PALETTE, new_figure, set_alt, styled
from hessnotes.figures.course import _mode_axes

__all__ = ["graph_levels", "plot_graph", "plot_jacobian_counts"]

_COLORS = (PALETTE["blue"], PALETTE["vermillion"], PALETTE["sky"], PALETTE["orange"])
_FORWARD, _REVERSE = PALETTE["blue"], PALETTE["vermillion"]


def graph_levels(n_nodes: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """The level of each node of a DAG: 0 for a node without parents, else 1 + its parents' max.

    Nodes are ``0, …, n_nodes - 1`` in a topological order, so every edge ``(i, j)`` (node ``j``
    uses node ``i``) has ``i < j``; the level is the length of the longest path from an input.

    Args:
        n_nodes: the number of nodes ``K``, at least 1.
        edges: pairs ``(i, j)`` with ``0 <= i < j < K``; a pair may repeat.

    Returns:
        ``K`` levels, ints.

    Raises:
        ValueError: if ``n_nodes < 1`` or an edge is out of range or not ordered (``i >= j``:
            the nodes are not in topological order).
    """
    if n_nodes < 1:
        raise ValueError(f"n_nodes={n_nodes}; a graph needs at least one node")
    level = [0] * n_nodes
    for i, j in sorted(((int(i), int(j)) for i, j in edges), key=lambda e: e[1]):
        if not 0 <= i < j < n_nodes:
            raise ValueError(
                f"edge ({i}, {j}) with {n_nodes} nodes: give pairs 0 <= i < j < {n_nodes}, the "
                "nodes in topological order (each after all of its parents)"
            )
        level[j] = max(level[j], level[i] + 1)
    return level


_ALT_SUBS = (
    (r"\^\{-\\top\}", "⁻ᵀ"),
    (r"\^\{-1\}", "⁻¹"),
    (r"\^\{?\\top\}?", "ᵀ"),
    (r"\\(?:mathrm|operatorname)\{([^}]*)\}", r"\1"),
    (r"\\(log|det|exp)\b *(?=[A-Za-z\\])", r"\1 "),
    (r"\\(log|det|exp)\b", r"\1"),
    (r"\\dot *\{?([A-Za-z])\}?", "\\1\u0307"),
    (r"\\bar *\{?([A-Za-z])\}?", "\\1\u0304"),
)


def _alt_math(text: str) -> str:
    """Mathtext of tangents and adjoints (``\\dot X``, ``\\bar S^{-\\top}``) as plain unicode."""
    for pattern, repl in _ALT_SUBS:
        text = re.sub(pattern, repl, text)
    return re.sub(r" +", " ", text)


def _labels(name: str, values: Sequence[str] | None, k: int) -> list[str] | None:
    if values is None:
        return None
    out = [str(v) for v in values]
    if len(out) != k:
        raise ValueError(f"{name} has {len(out)} entries; it needs {k}, one per node")
    return out


def plot_graph(
    labels: Sequence[str],
    edges: Sequence[tuple[int, int]],
    ax: Axes | None = None,
    *,
    forward: Sequence[str] | None = None,
    reverse: Sequence[str] | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (7.5, 3.0),
) -> Figure:
    """A computational graph, inputs on the left, with the rules of its two sweeps beside each node.

    Node ``j`` sits at ``x = level`` (:func:`graph_levels`); nodes of one level are stacked. An
    arrow ``i → j`` means that node ``j`` uses the value of node ``i``; a repeated pair (``x ⊙ x``)
    is drawn as two arcs, and an edge that skips levels as an arc. Above each node, in blue, the
    forward sweep (its tangent, computed from its parents' tangents, left to right); below it, in
    vermillion, the reverse sweep (its adjoint, summed over its children, right to left).

    Args:
        labels: (K,) node labels in topological order (matplotlib mathtext allowed).
        edges: pairs ``(i, j)``, ``i < j``: node ``j`` uses node ``i``.
        ax: Axes to draw on; a new Figure when ``None``.
        forward: (K,) tangent rules, one per node, or ``None``.
        reverse: (K,) adjoint rules, one per node, or ``None``.
        title: the Axes title.
        figsize: size of a new Figure.

    Returns:
        The Figure.

    Raises:
        ValueError: on no labels, bad edges (see :func:`graph_levels`), or ``forward`` /
            ``reverse`` of the wrong length.
    """
    labels = [str(s) for s in labels]
    k = len(labels)
    level = graph_levels(k, edges)
    fwd, rev = _labels("forward", forward, k), _labels("reverse", reverse, k)
    rows: dict[int, list[int]] = {}
    for j, lv in enumerate(level):
        rows.setdefault(lv, []).append(j)
    dx = 2.4
    pos = {}
    for lv, nodes in rows.items():
        for r, j in enumerate(nodes):
            pos[j] = (lv * dx, (len(nodes) - 1) / 2 - r)
    ys = [y for _, y in pos.values()]
    with styled():
        fig, ax = new_figure(ax, figsize=figsize)
        boxes = {}
        for j, (x, y) in pos.items():
            boxes[j] = ax.text(
                x, y, labels[j], ha="center", va="center", fontsize=12, zorder=3,
                bbox={"boxstyle": "round,pad=0.35", "fc": "white", "ec": PALETTE["grey"]},
            )  # fmt: skip
            if fwd is not None:
                ax.text(x, y + 0.5, fwd[j], ha="center", va="bottom", color=_FORWARD, fontsize=10.5)
            if rev is not None:
                ax.text(x, y - 0.5, rev[j], ha="center", va="top", color=_REVERSE, fontsize=10.5)
        seen: dict[tuple[int, int], int] = {}
        repeated = _repeated(edges)
        for i, j in ((int(i), int(j)) for i, j in edges):
            c = seen.get((i, j), 0)
            seen[(i, j)] = c + 1
            gap = level[j] - level[i]
            if (i, j) in repeated:  # x ⊙ x: one arc above, one below
                rad = 0.3 - 0.6 * (c % 2)
            elif gap > 1 and pos[i][1] == pos[j][1]:  # skips a level: an arc of height ~0.25
                rad = 0.5 / (gap * dx)
            else:
                rad = 0.0
            ax.annotate(
                "", xy=(0.0, 0.5), xycoords=boxes[j], xytext=(1.0, 0.5), textcoords=boxes[i],
                arrowprops={"arrowstyle": "-|>", "color": PALETTE["grey"], "lw": 1.2,
                            "connectionstyle": f"arc3,rad={rad}", "shrinkA": 2, "shrinkB": 2},
            )  # fmt: skip
        x_max = max(level) * dx
        top, bottom = max(ys) + 1.1, min(ys) - 1.1
        for y, (x0, x1), colour, text in (
            (top, (0.0, x_max), _FORWARD, "forward sweep: tangents, inputs to output"),
            (bottom, (x_max, 0.0), _REVERSE, "reverse sweep: adjoints, output to inputs"),
        ):
            ax.annotate(
                "", xy=(x1, y), xytext=(x0, y),
                arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.5},
            )  # fmt: skip
            ax.text(x_max / 2, y + (0.08 if y > 0 else -0.08), text, ha="center",
                    va="bottom" if y > 0 else "top", color=colour, fontsize=10)  # fmt: skip
        ax.set_xlim(-0.9 * dx / 2, x_max + 0.9 * dx / 2)
        ax.set_ylim(bottom - 0.4, top + 0.4)
        ax.set_axis_off()
        if title:
            ax.set_title(title)
    arrows = ", ".join(f"{labels[i]} → {labels[j]}" for i, j in edges)
    text = f"Computational graph with {k} nodes and {len(edges)} edges: {arrows}."
    if fwd is not None:
        text += " Forward sweep, inputs to output: " + "; ".join(fwd) + "."
    if rev is not None:
        text += " Reverse sweep, output to inputs: " + "; ".join(reversed(rev)) + "."
    set_alt(fig, _alt_math(text))
    return fig


def _repeated(edges: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    pairs = [(int(i), int(j)) for i, j in edges]
    return {e for e in pairs if pairs.count(e) > 1}


def _counts(a: Any, name: str, size: int | None = None) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    if a.size == 0 or not np.isfinite(a).all() or (a <= 0).any():
        raise ValueError(f"{name} must be non-empty, finite and positive (a log axis), got {a}")
    if size is not None and a.size != size:
        raise ValueError(f"{name} has {a.size} values; it needs {size}, one per number of outputs")
    return a


def plot_jacobian_counts(
    outputs: Sequence[float],
    counts: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    n_inputs: int,
    title: str | None = None,
) -> Figure:
    """Counted flops of a full Jacobian against the number of outputs ``m``, one line per method.

    The first two series are drawn solid and their crossover (interpolated on log axes,
    :func:`hessnotes.admodes.crossover`) is marked; further series are drawn dashed. A dotted line
    marks ``m = n``.

    Args:
        outputs: (s,) numbers of outputs ``m``.
        counts: method name -> (s,) flops, e.g. ``{"forward: n JVPs": ..., "reverse: m VJPs":
            ...}``; at least two series.
        ax: Axes to draw on; a new Figure when ``None``.
        n_inputs: the fixed number of inputs ``n``.
        title: the Axes title.

    Returns:
        The Figure.

    Raises:
        ValueError: on fewer than two series, or empty, non-positive or mismatched values.
    """
    m = _counts(outputs, "outputs")
    if len(counts) < 2:
        raise ValueError(f"counts has {len(counts)} series; give at least two (forward, reverse)")
    series = {str(k): _counts(v, f"counts[{k!r}]", m.size) for k, v in counts.items()}
    names = list(series)
    cross = crossover(m, series[names[0]], series[names[1]])
    with styled():
        fig, ax = new_figure(ax)
        for i, (k, v) in enumerate(series.items()):
            ax.plot(
                m, v, color=_COLORS[i % len(_COLORS)], marker=MARKERS[i % len(MARKERS)],
                ls="-" if i < 2 else LINESTYLES[1 + (i % 2)], lw=1.8 if i < 2 else 1.2,
                markersize=5 if i < 2 else 3, label=k,
            )  # fmt: skip
        _mode_axes(ax, n_inputs, cross, "flops (counted) per full Jacobian", title)
    ends = "; ".join(f"{k} from {v[0]:.3g} to {v[-1]:.3g}" for k, v in series.items())
    where = (
        f"{names[0]} and {names[1]} cross near m = {cross:.0f}"
        if cross is not None
        else f"{names[0]} and {names[1]} do not cross in this range"
    )
    set_alt(
        fig,
        f"Log-log plot of the counted flops of a full Jacobian of a map with {n_inputs} inputs "
        f"against the number of outputs m from {m.min():.0f} to {m.max():.0f}: {ends}; {where}.",
    )
    return fig
