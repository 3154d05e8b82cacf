"""Tests of hessnotes.figures.critical: the eigenvectors are drawn with the sign's style, the
shading and the points are where the data says, and the alt text says it in words."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex

from hessnotes.figures import alt_text
from hessnotes.figures._style import PALETTE
from hessnotes.figures.critical import plot_critical_points, plot_curvature_counts


def _panel(f, kind, ev, shade=None):
    s = np.linspace(-1, 1, 41)
    X, Y = np.meshgrid(s, s)
    point = {"at": [0.0, 0.0], "eigenvalues": ev, "eigenvectors": np.eye(2), "kind": kind}
    return {
        "title": kind,
        "x": s,
        "y": s,
        "values": f(X, Y),
        "points": [point],
        "shade_below": shade,
    }


def _segments(ax):
    """The eigenvector segments: two-point lines through the origin."""
    return [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 2]


def test_eigenvectors_are_styled_by_the_sign_of_their_eigenvalue(pyplot):
    panels = [
        _panel(lambda x, y: x**2 - y**2, "saddle point", [2.0, -2.0]),
        _panel(
            lambda x, y: x**3 + y**2,
            "degenerate stationary point",
            torch.tensor([0.0, 2.0]),
            shade=0.0,
        ),
    ]
    fig = plot_critical_points(panels)
    a1, a2 = fig.axes[:2]
    seg = _segments(a1)
    assert [to_hex(ln.get_color()) for ln in seg] == [
        PALETTE["blue"].lower(),
        PALETTE["vermillion"].lower(),
    ]
    assert [ln.get_linestyle() for ln in seg] == ["-", "--"]
    np.testing.assert_allclose(seg[0].get_ydata(), [0, 0])  # e₁ drawn along x
    seg2 = _segments(a2)
    assert to_hex(seg2[0].get_color()) == PALETTE["grey"].lower() and seg2[0].get_linestyle() == ":"
    text = alt_text(fig)
    assert "saddle point at (0, 0) with Hessian eigenvalues 2, -2" in text
    assert "degenerate stationary point at (0, 0) with Hessian eigenvalues 0, 2" in text
    assert "the region where f < 0 is shaded" in text
    assert text.count("shaded") == 1  # x² - y² panel has no shading asked for
    assert a1.get_title() == "saddle point"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [
        "positive curvature",
        "negative curvature",
        "zero curvature",
        "saddle point",
        "degenerate stationary point",
    ]


def test_given_axes_and_errors(pyplot):
    fig, axs = pyplot.subplots(1, 2)
    p = _panel(lambda x, y: x**2 + y**2, "local minimum", [2.0, 2.0])
    assert plot_critical_points([p, p], axes=list(axs)) is fig
    with pytest.raises(ValueError, match="2 Axes for 1 panels"):
        plot_critical_points([p], axes=list(axs))
    with pytest.raises(ValueError, match="empty"):
        plot_critical_points([])
    bad = dict(p, values=p["values"][:, :-1])
    with pytest.raises(ValueError, match=r"\(len\(y\), len\(x\)\)"):
        plot_critical_points([bad])
    with pytest.raises(ValueError, match="one eigenvector per column"):
        plot_critical_points([dict(p, points=[dict(p["points"][0], eigenvectors=np.eye(3))])])
    with pytest.raises(ValueError, match="NaN"):
        plot_critical_points([dict(p, values=np.full_like(p["values"], np.nan))])
    with pytest.raises(ValueError, match="no 'values'"):
        plot_critical_points([{"x": [0, 1], "y": [0, 1]}])


def test_curvature_counts_bars_and_alt(pyplot):
    counts = np.array([[2, 0, 0], [1, 1, 0], [0, 2, 0]])
    fig = plot_curvature_counts(["v1", "v2", "v3"], counts, title="sphere")
    ax = fig.axes[0]
    heights = [round(b.get_height()) for b in ax.patches]
    assert heights == [2, 1, 0, 0, 1, 2, 0, 0, 0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["v1", "v2", "v3"]
    text = alt_text(fig)
    assert "v2: 1 positive, 1 negative, 0 zero" in text and "(sphere)" in text
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        plot_curvature_counts(["a", "b", "c"], counts[:2])
    with pytest.raises(ValueError, match="non-negative integers"):
        plot_curvature_counts(["a"], [[0.5, 0, 0]])
