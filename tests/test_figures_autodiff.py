"""Tests of hessnotes.figures.autodiff: the graph is laid out from its edges, the counts are drawn
as given, and the alt text says both."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessnotes.figures import alt_text
from hessnotes.figures.autodiff import graph_levels, plot_graph, plot_jacobian_counts

LOGDET_GRAM = (
    ["$X$", r"$T = X^\top$", "$S = TX$", r"$y = \log\det S$"],
    [(0, 1), (1, 2), (0, 2), (2, 3)],
)


def test_levels_are_longest_paths():
    # X -> T -> S <- X, S -> y: S is two steps from X along the longer path.
    assert graph_levels(4, LOGDET_GRAM[1]) == [0, 1, 2, 3]
    # Two inputs, a repeated edge (x ⊙ x), and a node of level 1 beside one of level 2.
    assert graph_levels(5, [(0, 2), (0, 2), (1, 3), (2, 4), (3, 4)]) == [0, 0, 1, 1, 2]
    assert graph_levels(1, []) == [0]


def test_levels_refuse_unordered_edges():
    with pytest.raises(ValueError, match="topological order"):
        graph_levels(3, [(2, 1)])
    with pytest.raises(ValueError, match="topological order"):
        graph_levels(3, [(0, 3)])
    with pytest.raises(ValueError, match="at least one node"):
        graph_levels(0, [])


def test_graph_draws_nodes_sweeps_and_alt_text(pyplot):
    labels, edges = LOGDET_GRAM
    fwd = [r"$\dot X$", r"$\dot T = \dot X^\top$", "c", r"$\dot y = \mathrm{tr}(S^{-1}\dot S)$"]
    rev = [r"$\bar X$", "b", r"$\bar S = \bar y S^{-\top}$", r"$\bar y = 1$"]
    fig = plot_graph(labels, edges, forward=fwd, reverse=rev, title="t")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    for s in [*labels, *fwd, *rev]:
        assert s in texts
    # One arrow per edge and one per sweep.
    assert sum(1 for t in ax.texts if t.get_text() == "" and t.arrow_patch is not None) == 4 + 2
    assert ax.get_title() == "t"
    text = alt_text(fig)
    assert "4 nodes and 4 edges" in text and "X → S = TX" in text
    assert "y = log det S" in text
    dot, bar = "\u0307", "\u0304"  # combining dot above and macron: Ẋ is X + dot
    assert (
        f"Forward sweep, inputs to output: X{dot}; T{dot} = X{dot}ᵀ; c; y{dot} = tr(S⁻¹S{dot})."
        in text
    )
    assert f"Reverse sweep, output to inputs: y{bar} = 1; S{bar} = y{bar} S⁻ᵀ; b; X{bar}." in text
    assert "$" not in text and "\\" not in text


def test_graph_node_positions_follow_levels(pyplot):
    fig = plot_graph(["a", "b", "c"], [(0, 2), (1, 2)])
    pos = {t.get_text(): t.get_position() for t in fig.axes[0].texts if t.get_text() in "abc"}
    assert pos["a"][0] == pos["b"][0] < pos["c"][0]  # two inputs stacked at level 0
    assert pos["a"][1] != pos["b"][1] and pos["c"][1] == 0
    assert "Forward sweep" not in alt_text(fig)


def test_graph_rejects_bad_annotations(pyplot):
    with pytest.raises(ValueError, match="forward has 1 entries; it needs 2"):
        plot_graph(["a", "b"], [(0, 1)], forward=["x"])
    with pytest.raises(ValueError, match="topological order"):
        plot_graph(["a", "b"], [(1, 0)])


def test_counts_plot_series_and_crossover(pyplot):
    m = [1, 2, 4, 8, 16, 32]
    n = 4
    fwd = [2 * n * (m_ + 10) for m_ in m]  # 2nS with S growing with m
    rev = [(m_ + 1) * (m_ + 10) for m_ in m]  # (m + 1)S
    fig = plot_jacobian_counts(
        m, {"forward": fwd, "reverse": torch.tensor(rev), "extra": np.ones(6)}, n_inputs=n
    )
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels[:4] == ["forward", "reverse", "extra", "m = n = 4"]
    assert labels[4] == "crossover m ≈ 7"  # 2n - 1, interpolated on log axes between 4 and 8
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), rev)
    assert ax.get_lines()[2].get_linestyle() == "--"
    text = alt_text(fig)
    assert "with 4 inputs" in text and "from 1 to 32" in text
    assert "forward and reverse cross near m = 7" in text


def test_counts_plot_without_crossing_and_bad_input(pyplot):
    fig = plot_jacobian_counts([1, 2], {"a": [1, 2], "b": [10, 20]}, n_inputs=1)
    assert "do not cross" in alt_text(fig)
    with pytest.raises(ValueError, match="at least two"):
        plot_jacobian_counts([1, 2], {"a": [1, 2]}, n_inputs=1)
    with pytest.raises(ValueError, match="positive"):
        plot_jacobian_counts([1, 2], {"a": [0, 2], "b": [1, 2]}, n_inputs=1)
    with pytest.raises(ValueError, match="needs 2"):
        plot_jacobian_counts([1, 2], {"a": [1, 2, 3], "b": [1, 2]}, n_inputs=1)
