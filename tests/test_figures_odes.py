"""Tests of hessnotes.figures.odes: each figure draws its data and says so in its alt text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessnotes.figures import alt_text
from hessnotes.figures.odes import plot_ode_costs, plot_trajectory_sensitivities


def _data(M=50, n=2, D=3):
    t = np.linspace(0, 5, M + 1)
    x = np.stack([np.cos(t) * np.exp(-t / 4), -np.sin(t) * np.exp(-t / 4)], 1)[:, :n]
    S = np.stack([np.outer(np.sin((k + 1) * t), np.ones(n)) * (k + 1) for k in range(D)], -1)
    return t, x, S


def test_trajectory_sensitivities_draws_both_panels(pyplot):
    t, x, S = _data()
    fig = plot_trajectory_sensitivities(
        t, torch.as_tensor(x), S, state=1, state_names=["θ", "ω"], param_names=["a", "b", "c"]
    )
    a1, a2 = fig.axes
    assert [ln.get_label() for ln in a1.get_lines()] == ["θ", "ω"]
    assert [ln.get_label() for ln in a2.get_lines()] == ["∂ω/∂a", "∂ω/∂b", "∂ω/∂c"]
    np.testing.assert_allclose(a2.get_lines()[2].get_ydata(), S[:, 1, 2])
    np.testing.assert_allclose(a1.get_lines()[0].get_ydata(), x[:, 0])
    text = alt_text(fig)
    assert "2 components of the state (θ, ω)" in text and "3 parameters" in text
    assert f"c {np.abs(S[:, 1, 2]).max():.2g} at t = " in text
    assert "t = 0 to 5" in text


def test_trajectory_sensitivities_default_names_and_bad_input(pyplot):
    t, x, S = _data(n=2, D=1)
    fig = plot_trajectory_sensitivities(t, x, S)
    assert [ln.get_label() for ln in fig.axes[1].get_lines()] == ["∂x1/∂p1"]
    with pytest.raises(ValueError, match="one row per time"):
        plot_trajectory_sensitivities(t[:-1], x, S)
    with pytest.raises(ValueError, match="state=2"):
        plot_trajectory_sensitivities(t, x, S, state=2)
    with pytest.raises(ValueError, match="param_names has 2 names"):
        plot_trajectory_sensitivities(t, x, S, param_names=["a", "b"])
    bad = x.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        plot_trajectory_sensitivities(t, bad, S)


def test_ode_costs_lines_crossover_and_alt(pyplot):
    D = [1, 2, 4, 8]
    fwd = [3.0 * (1 + 2 * d) for d in D]
    adj = [12.0] * 4
    fig = plot_ode_costs(D, {"forward": fwd, "adjoint": np.array(adj)}, title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_title() == "t"
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels[:2] == ["forward", "adjoint"]
    assert labels[2].startswith("crossover D ≈ 1.")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), fwd)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4", "8"]
    text = alt_text(fig)
    assert "forward from 9 to 51" in text and "adjoint from 12 to 12" in text
    assert "cross near D = 1." in text and "D from 1 to 8" in text
    fig2 = plot_ode_costs(D, {"forward": fwd, "adjoint": [1.0] * 4})
    assert "do not cross" in alt_text(fig2)
    fig3 = plot_ode_costs(D, {"forward": fwd})
    assert "cross" not in alt_text(fig3)


def test_ode_costs_refuses_bad_data(pyplot):
    with pytest.raises(ValueError, match="empty"):
        plot_ode_costs([1, 2], {})
    with pytest.raises(ValueError, match="one per D"):
        plot_ode_costs([1, 2], {"a": [1.0]})
    with pytest.raises(ValueError, match="positive"):
        plot_ode_costs([1, 2], {"a": [1.0, 0.0]})
    with pytest.raises(ValueError, match="increasing"):
        plot_ode_costs([2, 1], {"a": [1.0, 2.0]})
