"""Tests of hessnotes.figures.calculus: the figures draw the data they are given."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hessnotes.figures.calculus import plot_central_difference, plot_fd_error

STEPS = np.logspace(-8, 0, 9)
ERRS = {"float32": STEPS**2 + 1e-7 / STEPS, "float64": STEPS**2 + 1e-16 / STEPS}


def test_plot_fd_error_draws_each_series_on_log_axes(pyplot):
    fig = plot_fd_error(STEPS, ERRS, optimal={"float64": 6e-6}, current=1e-4)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    series = [ln for ln in ax.get_lines() if ln.get_label() in ERRS]
    assert [ln.get_label() for ln in series] == ["float32", "float64"]
    np.testing.assert_array_equal(series[1].get_ydata(), ERRS["float64"])
    vlines = [ln.get_xdata()[0] for ln in ax.get_lines() if len(set(ln.get_xdata())) == 1]
    assert 6e-6 in vlines and 1e-4 in vlines  # the optimal step and the current step
    assert any("6e-06" in t.get_text() for t in ax.texts)


def test_plot_fd_error_on_given_axes_and_zero_errors(pyplot):
    fig, ax = pyplot.subplots()
    e = ERRS["float64"].copy()
    e[3] = 0.0  # an exact difference: left out on a log axis, not a warning
    assert plot_fd_error(STEPS, {"x": e}, ax) is fig
    assert np.isnan(ax.get_lines()[0].get_ydata()[3])


def test_plot_central_difference_secant_slope(pyplot):
    h = 0.5
    fig = plot_central_difference(torch.sin, 1.0, h, slope=math.cos(1.0), steps=STEPS, errors=ERRS)
    assert len(fig.axes) == 2
    secant = next(ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("secant"))
    x, y = secant.get_xdata(), secant.get_ydata()
    fd = (math.sin(1 + h) - math.sin(1 - h)) / (2 * h)
    np.testing.assert_allclose((y[-1] - y[0]) / (x[-1] - x[0]), fd, rtol=1e-12)
    assert f"{fd:.4f}" in secant.get_label()
    assert "h = 5e-01" in fig.axes[0].get_title()
    assert len(plot_central_difference(torch.sin, 1.0, h, slope=0.54).axes) == 1


def test_figure_errors(pyplot):
    with pytest.raises(ValueError, match="positive"):
        plot_fd_error([0.0, 1.0], {"a": [1, 2]})
    with pytest.raises(ValueError, match="errors is empty"):
        plot_fd_error(STEPS, {})
    with pytest.raises(ValueError, match=r"needs \(9,\)"):
        plot_fd_error(STEPS, {"a": [1.0, 2.0]})
    with pytest.raises(ValueError, match="must be positive"):
        plot_central_difference(torch.sin, 1.0, -0.1, slope=0.5)
    with pytest.raises(ValueError, match="both steps and errors"):
        plot_central_difference(torch.sin, 1.0, 0.1, slope=0.5, steps=STEPS)
