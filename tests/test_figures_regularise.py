"""Tests of hessnotes.figures.regularise."""

from __future__ import annotations

import numpy as np
import pytest

from hessnotes.figures import alt_text
from hessnotes.figures.regularise import plot_regularisation


def test_plot_regularisation_curves_lines_and_alt(pyplot):
    lam = np.geomspace(1e-6, 1, 7)
    err = {"range of X": 0.4 + lam, "well determined": 1e-5 + lam**2}
    fig = plot_regularisation(lam, err, chosen=1e-3, unregularised={"range of X": 1e6}, title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == [
        "range of X",
        "range of X, λ = 0",
        "well determined",
        "discrepancy λ = 1.0e-03",
    ]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), 0.4 + lam)
    alt = alt_text(fig)
    assert "range of X: smallest 4.0e-01 at lambda 1e-06, 1.0e+06 without damping" in alt
    assert "discrepancy principle chooses lambda 1.0e-03" in alt


def test_plot_regularisation_bad_input(pyplot):
    with pytest.raises(ValueError, match="empty"):
        plot_regularisation([1.0], {})
    with pytest.raises(ValueError, match="positive"):
        plot_regularisation([0.0, 1.0], {"a": [1, 2]})
    with pytest.raises(ValueError, match="shape"):
        plot_regularisation([1.0, 2.0], {"a": [1.0]})
