"""Tests of hessnotes.figures.stochastic: the variance figure draws its data and says so."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessnotes.figures import alt_text
from hessnotes.figures.stochastic import plot_estimator_variances


def test_variances_lines_markers_and_alt_text(pyplot):
    D = np.array([1.0, 4.0, 16.0])
    closed = {"pathwise": 4 * D, "score": D**3}
    measured = {
        "pathwise": (4.1 * D, 0.1 * D),
        "score": (torch.tensor(D**3 * 0.9), torch.tensor(D**2)),
        "score, baseline": (2 * D**2, 0.5 * D),
    }
    fig = plot_estimator_variances(D, measured, closed, xlabel="dimension D", title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_title() == "t"
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert "pathwise, closed form" in labels and "score, closed form" in labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "score, baseline, measured" in legend and "score, baseline, closed form" not in legend
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "4", "16"]
    closed_line = next(ln for ln in ax.get_lines() if ln.get_label() == "pathwise, closed form")
    np.testing.assert_allclose(closed_line.get_ydata(), 4 * D)
    text = alt_text(fig)
    assert "dimension D from 1 to 16" in text
    assert "pathwise: measured from 4.1 to 66, closed form slope 1.0" in text
    assert "score: measured from 0.9 to 3.7e+03, closed form slope 3.0" in text
    assert "score, baseline: measured from 2 to 5.1e+02, measured slope 2.0" in text


def test_draws_on_a_given_axes(pyplot):
    fig0, ax = pyplot.subplots()
    fig = plot_estimator_variances([1, 2], {"a": ([1.0, 2.0], [0.0, 0.1])}, {}, ax, xlabel="σ")
    assert fig is fig0


def test_bad_data_is_refused(pyplot):
    x = [1.0, 2.0]
    with pytest.raises(ValueError, match="positive"):
        plot_estimator_variances(x, {"a": ([0.0, 1.0], [0.1, 0.1])}, {}, xlabel="D")
    with pytest.raises(ValueError, match="needs 2"):
        plot_estimator_variances(x, {"a": ([1.0], [0.1])}, {}, xlabel="D")
    with pytest.raises(ValueError, match="no measurement"):
        plot_estimator_variances(x, {"a": ([1.0, 2.0], [0.1, 0.1])}, {"b": x}, xlabel="D")
    with pytest.raises(ValueError, match="pair"):
        plot_estimator_variances(x, {"a": [1.0, 2.0, 3.0]}, {}, xlabel="D")
    with pytest.raises(ValueError, match="stderr"):
        plot_estimator_variances(x, {"a": ([1.0, 2.0], [-0.1, 0.1])}, {}, xlabel="D")
    with pytest.raises(ValueError, match="empty"):
        plot_estimator_variances(x, {}, {}, xlabel="D")
