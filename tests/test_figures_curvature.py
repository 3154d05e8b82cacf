"""Tests of hessnotes.figures.curvature: the figures draw the data they are given, with alt text."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest
import torch

from hessnotes.figures import alt_text
from hessnotes.figures.curvature import (
    METHOD_STYLE,
    plot_budget_errors,
    plot_budget_frame,
    plot_curvature_split,
    plot_densities,
    plot_secant_error,
    plot_top_eigenvalues,
)

EXACT = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1, -0.2, -1.0])


def test_plot_top_eigenvalues_draws_the_top_k(pyplot):
    rc = dict(mpl.rcParams)
    est = {"Lanczos": torch.tensor([4.9, 2.8, 1.0]), "min-rank": None}
    fig = plot_top_eigenvalues(EXACT, est, k=5, title="t")
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_array_equal(lines["exact"].get_ydata(), EXACT[:5])
    np.testing.assert_allclose(lines["Lanczos"].get_ydata(), [4.9, 2.8, 1.0])
    assert lines["Lanczos"].get_color() == METHOD_STYLE["Lanczos"]["color"]
    assert "min-rank: fails" in lines
    assert alt_text(fig) == (
        "The 5 largest eigenvalues of the exact Hessian, from 5 down to 0.5, against Lanczos "
        "largest 4.9; min-rank breaks down."
    )
    assert dict(mpl.rcParams) == rc
    with pytest.raises(ValueError, match="k=0"):
        plot_top_eigenvalues(EXACT, {}, k=0)


def test_plot_densities_log_axis_floor_and_alt(pyplot):
    g = np.linspace(-2, 6, 81)
    d = np.exp(-((g - 1.0) ** 2))
    fig = plot_densities(g, {"exact": d, "BFGS(γ)": None}, floor=1e-3)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    line = ax.get_lines()[0]
    assert line.get_ydata().min() == pytest.approx(1e-3)
    assert "exact peaks at 1" in alt_text(fig) and "BFGS(γ) breaks down" in alt_text(fig)
    with pytest.raises(ValueError, match="shape"):
        plot_densities(g, {"x": d[:3]})
    with pytest.raises(ValueError, match="empty"):
        plot_densities(g, {})


def test_plot_budget_frame_two_panels(pyplot):
    g = np.linspace(-2, 6, 50)
    fig = plot_budget_frame(EXACT, {"Lanczos": EXACT[:3]}, g, {"exact": np.ones(50)}, k=4,
                            title="budget 30")  # fmt: skip
    assert len(fig.axes) == 2
    assert alt_text(fig).startswith("budget 30. Left: The 4 largest")
    assert "Right: Spectral densities" in alt_text(fig)


def test_plot_budget_errors_panels_floor_and_gaps(pyplot):
    b = [15, 30, 60]
    panels = {
        "input": {"Lanczos": [0.1, 1e-20, 1e-15], "min-rank": [0.5, np.nan, np.nan]},
        "parameters": {"Lanczos": [0.2, 0.1, 0.01]},
    }
    fig = plot_budget_errors(b, panels)
    assert [ax.get_title() for ax in fig.axes] == ["input", "parameters"]
    ln = fig.axes[0].get_lines()[0]
    assert ln.get_ydata()[1] == pytest.approx(1e-16)
    assert "min-rank fails" in alt_text(fig) and "Lanczos 1.0e-15" in alt_text(fig)
    fig2 = plot_budget_errors(
        {"a": [1, 2], "b": [3, 4, 5]}, {"a": {"x": [1, 2]}, "b": {"x": [1, 2, 3]}}
    )
    np.testing.assert_array_equal(fig2.axes[1].get_lines()[0].get_xdata(), [3, 4, 5])
    with pytest.raises(ValueError, match="shape"):
        plot_budget_errors(b, {"p": {"x": [1.0]}})
    with pytest.raises(ValueError, match="empty"):
        plot_budget_errors(b, {})


def test_plot_curvature_split_symlog_and_counts(pyplot):
    fig = plot_curvature_split({"H": EXACT, "G": np.abs(EXACT), "R": EXACT - np.abs(EXACT)})
    ax = fig.axes[0]
    assert ax.get_yscale() == "symlog" and len(ax.get_lines()) == 4  # 3 spectra + zero line
    alt = alt_text(fig)
    assert "H: 8 eigenvalues (6 positive, 2 negative)" in alt
    assert "R: 8 eigenvalues (2 negative, 6 zero)" in alt
    with pytest.raises(ValueError, match="empty"):
        plot_curvature_split({})


def test_plot_secant_error_loglog(pyplot):
    r = np.array([1e-1, 1e-2, 1e-3])
    fig = plot_secant_error(r, {"forward": r**2, "central": r**3}, slopes={"forward": 2.0})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert [ln.get_label() for ln in ax.get_lines()] == ["forward (slope 2.00)", "central"]
    assert "forward from 1.0e-02 down to 1.0e-06, slope 2.00" in alt_text(fig)
    with pytest.raises(ValueError, match="shape"):
        plot_secant_error(r, {"x": [1.0]})
