"""Tests of hessnotes.figures.hessians: each figure returns quickly and draws its data."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from hessnotes.figures.hessians import plot_asymmetry_vs_spread, plot_solution_comparison

SPREADS = np.logspace(-3, 0, 7)
RES = np.vstack([0.3 * SPREADS, 0.5 * SPREADS, 0.2 * SPREADS])  # three "seeds", slope 1


def test_asymmetry_vs_spread_draws_rows_and_reference(pyplot):
    t0 = time.perf_counter()
    fig = plot_asymmetry_vs_spread(SPREADS, RES, title="tanh MLP")
    assert time.perf_counter() - t0 < 5.0
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_title() == "tanh MLP"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"seed 0", "seed 1", "seed 2", "slope 1"}
    np.testing.assert_array_equal(lines["seed 1"].get_ydata(), RES[1])
    ref = lines["slope 1"].get_ydata()
    np.testing.assert_allclose(ref[0], np.exp(np.log(RES[:, 0]).mean()), rtol=1e-12)
    np.testing.assert_allclose(np.diff(np.log(ref)) / np.diff(np.log(SPREADS)), 1.0, rtol=1e-12)


def test_asymmetry_vs_spread_1d_torch_zero_and_given_axes(pyplot):
    fig, ax = pyplot.subplots()
    r = torch.tensor(0.1 * SPREADS**2)
    r[2] = 0.0  # exact symmetry: left out on a log axis, not a warning
    out = plot_asymmetry_vs_spread(SPREADS, r, ax, labels=["f"], reference_slope=2.0)
    assert out is fig
    (line, ref) = ax.get_lines()
    assert line.get_label() == "f" and np.isnan(line.get_ydata()[2])
    assert ref.get_label() == "slope 2"
    fig2 = plot_asymmetry_vs_spread(SPREADS, RES[0], reference_slope=None)
    assert [ln.get_label() for ln in fig2.axes[0].get_lines()] == ["seed 0"]


def test_plot_solution_comparison_norms_and_ranks(pyplot):
    spectra = {
        "true H": [2.0, 1.0, 0.0],
        "min-norm": [1.9, 0.8, -0.3],
        "min-rank": torch.tensor([2.0, 1.0]),
    }
    t0 = time.perf_counter()
    fig = plot_solution_comparison(spectra, dim=3, title="compare")
    assert time.perf_counter() - t0 < 5.0
    assert len(fig.axes) == 2
    bars = fig.axes[1].patches
    heights = [b.get_height() for b in bars]
    want = [np.sqrt(5.0), np.sqrt(1.9**2 + 0.8**2 + 0.09), np.sqrt(5.0)]
    np.testing.assert_allclose(heights, want, rtol=1e-12)
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == [f"{want[0]:.3f}\nrank 2", f"{want[1]:.3f}\nrank 3", f"{want[2]:.3f}\nrank 2"]
    assert fig._suptitle.get_text() == "compare"
    # a loose cut-off counts small eigenvalues as zero
    fig2 = plot_solution_comparison({"a": [1.0, 1e-3]}, rtol=1e-2)
    assert fig2.axes[1].texts[0].get_text().endswith("rank 1")


def test_figure_errors(pyplot):
    with pytest.raises(ValueError, match="positive"):
        plot_asymmetry_vs_spread([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"needs \(7,\)"):
        plot_asymmetry_vs_spread(SPREADS, np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        plot_asymmetry_vs_spread(SPREADS, -RES)
    with pytest.raises(ValueError, match="labels has 1 entries"):
        plot_asymmetry_vs_spread(SPREADS, RES, labels=["a"])
    with pytest.raises(ValueError, match="rtol"):
        plot_solution_comparison({"a": [1.0]}, rtol=1.5)
