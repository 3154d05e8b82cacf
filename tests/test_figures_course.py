"""Tests of hessnotes.figures.course: each figure draws its data and says so in its alt text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessnotes.figures import alt_text
from hessnotes.figures.course import (
    plot_avoided_crossing,
    plot_convergence,
    plot_mode_costs,
    plot_sensitivity_costs,
    plot_taylor_remainders,
)


def test_mode_costs_marks_the_crossover(pyplot):
    m = [1, 10, 100, 1000]
    fig = plot_mode_costs(m, [0.01] * 4, [1e-4, 1e-3, 1e-2, 1e-1], n_inputs=64, title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "t"
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels[:3] == ["forward: 64 JVPs", "reverse: m VJPs", "m = n = 64"]
    assert labels[3] == "crossover m ≈ 100"
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.1, 1, 10, 100])
    text = alt_text(fig)
    assert "64 inputs" in text and "cross near m = 100" in text and "1 to 1000" in text
    fig2 = plot_mode_costs(m, [1.0] * 4, [1e-3] * 4, n_inputs=8)
    assert "do not cross" in alt_text(fig2)


def test_mode_costs_rejects_bad_data(pyplot):
    with pytest.raises(ValueError, match="positive"):
        plot_mode_costs([1, 2], [0.0, 1.0], [1.0, 1.0], n_inputs=2)
    with pytest.raises(ValueError, match="values"):
        plot_mode_costs([1, 2], [1.0], [1.0, 1.0], n_inputs=2)


def test_avoided_crossing_two_panels_and_peaks_in_alt(pyplot):
    ts = np.linspace(-1, 1, 5)
    gaps = [0.5, 0.1]
    ev = np.stack(
        [np.stack([-np.sqrt(ts**2 + d**2 / 4), np.sqrt(ts**2 + d**2 / 4)], -1) for d in gaps]
    )
    sp = np.stack([(d / 4) / (ts**2 + d**2 / 4) for d in gaps])
    fig = plot_avoided_crossing(ts, gaps, ev, torch.as_tensor(sp))
    a1, a2 = fig.axes
    assert a2.get_yscale() == "log"
    assert len(a1.get_lines()) == 4
    np.testing.assert_allclose(a2.get_lines()[0].get_ydata(), sp[0])
    text = alt_text(fig)
    assert "10 at t = 0 for δ = 0.1" in text and "2 at t = 0 for δ = 0.5" in text
    with pytest.raises(ValueError, match="one row per gap"):
        plot_avoided_crossing(ts, gaps, ev[:1], sp)


def test_sensitivity_costs_lines_and_alt(pyplot):
    P = [1, 10, 100]
    fig = plot_sensitivity_costs(P, {"adjoint": [1e-3] * 3, "forward": [1e-3, 1e-2, 1e-1]})
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.get_lines()] == ["adjoint", "forward"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [1, 10, 100])
    assert "forward from 1 to 1e+02 ms" in alt_text(fig) and "P from 1 to 100" in alt_text(fig)
    with pytest.raises(ValueError, match="needs 3"):
        plot_sensitivity_costs(P, {"adjoint": [1.0, 2.0]})


def test_convergence_leaves_zeros_out(pyplot):
    fig = plot_convergence({"Newton": [0.5, 0.25, 0.0625, 0.0], "gd": np.geomspace(1, 0.1, 6)})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    y = ax.get_lines()[0].get_ydata()
    assert np.isnan(y[-1]) and y[0] == 0.5
    assert "Newton: 3 steps from 5.0e-01 to 0.0e+00" in alt_text(fig)
    with pytest.raises(ValueError, match="empty"):
        plot_convergence({})
    with pytest.raises(ValueError, match="NaN"):
        plot_convergence({"a": [1.0, np.nan]})


def test_taylor_remainders_reference_slopes(pyplot):
    t = np.logspace(-3, -1, 5)
    fig = plot_taylor_remainders(t, {"lin": t**2, "quad": t**3}, {"lin": 2, "quad": 3})
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    ref = lines[1].get_ydata()
    np.testing.assert_allclose(np.diff(np.log(ref)) / np.diff(np.log(t)), 2.0, rtol=1e-12)
    assert "lin with slope 2; quad with slope 3" in alt_text(fig)
    with pytest.raises(ValueError, match="not in remainders"):
        plot_taylor_remainders(t, {"lin": t}, {"cubic": 3})
