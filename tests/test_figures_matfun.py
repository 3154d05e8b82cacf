"""Tests of hessnotes.figures.matfun: each figure draws its data and says so in its alt text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessnotes.figures import alt_text
from hessnotes.figures.matfun import plot_divided_differences, plot_expm_conditioning
from hessnotes.matfun import divided_differences


def test_divided_differences_heat_map(pyplot):
    lam = np.array([-1.0, 0.0, 2.0])
    F = divided_differences(lam, "exp")
    fig = plot_divided_differences(lam, torch.as_tensor(F))
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.get_images()[0].get_array(), F)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1", "0", "2"]
    text = alt_text(fig)
    assert "3×3" in text and f"to {np.exp(2):.3g}" in text and f"from {np.exp(-1):.3g}" in text
    assert "derivative exp'(λ_i)" in text


def test_divided_differences_rejects_bad_data(pyplot):
    with pytest.raises(ValueError, match=r"needs \(2, 2\)"):
        plot_divided_differences([1.0, 2.0], np.ones((3, 3)))
    with pytest.raises(ValueError, match="positive"):
        plot_divided_differences([1.0, 2.0], -np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        plot_divided_differences([1.0, np.nan], np.ones((2, 2)))


def test_expm_conditioning_lines_and_alt(pyplot):
    ts = [0.0, 1.0, 2.0]
    fig = plot_expm_conditioning(ts, [2.0, 4.0, 20.0], [2.0, 1.0, 0.5], title="t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "t"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [2, 4, 20])
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [2, 1, 0.5])
    text = alt_text(fig)
    assert "from 2 to 20" in text and "from 2 to 0.5" in text and "from 1 to 40" in text
    with pytest.raises(ValueError, match="one per t"):
        plot_expm_conditioning(ts, [1.0, 2.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        plot_expm_conditioning(ts, [1.0, 0.0, 1.0], [1.0, 1.0, 1.0])
