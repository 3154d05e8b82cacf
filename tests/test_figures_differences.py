"""Tests of hessnotes.figures.differences: the figure draws the data it is given."""

from __future__ import annotations

import numpy as np
import pytest

from hessnotes.figures._style import alt_text
from hessnotes.figures.differences import plot_difference_errors

STEPS = np.logspace(-8, 0, 9)
ERRS = {"forward": STEPS + 1e-16 / STEPS, "central": STEPS**2 + 1e-16 / STEPS}


def test_draws_each_series_with_slopes_optimal_steps_and_alt_text(pyplot):
    fig = plot_difference_errors(
        STEPS, ERRS, optimal={"central": 6e-6}, slopes={"forward": 1.0}, floor=2.2e-16
    )
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels[:2] == ["forward (slope 1.00)", "central"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), ERRS["central"])
    vlines = [ln.get_xdata()[0] for ln in ax.get_lines() if len(set(ln.get_xdata())) == 1]
    assert 6e-6 in vlines
    assert "central at 6e-06" in alt_text(fig)


def test_on_given_axes_and_exact_zeros(pyplot):
    fig, ax = pyplot.subplots()
    e = ERRS["central"].copy()
    e[2] = 0.0
    assert plot_difference_errors(STEPS, {"c": e}, ax) is fig
    assert np.isnan(ax.get_lines()[0].get_ydata()[2])


def test_bad_input(pyplot):
    with pytest.raises(ValueError, match="steps"):
        plot_difference_errors([0.0, 1.0], {"a": [1, 2]})
    with pytest.raises(ValueError, match="errors is empty"):
        plot_difference_errors(STEPS, {})
    with pytest.raises(ValueError, match=r"errors\['a'\] has 2 values"):
        plot_difference_errors(STEPS, {"a": [1, 2]})
