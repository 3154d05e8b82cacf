"""Tests of hessnotes.figures.spectra: the figures draw the data they are given."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest

from hessnotes.figures.spectra import (
    ESTIMATOR_STYLE,
    plot_eigenvalue_tracks,
    plot_estimator_errors,
    plot_spectra,
    plot_timings,
)

NS = np.array([1, 2, 4, 8])


def test_plot_estimator_errors_panels_series_and_gaps(pyplot):
    rc_before = dict(mpl.rcParams)
    panels = {
        "flat": {"min-norm": [0.9, 0.8, 0.7, 0.5], "PSB(γ)": [0.2, 0.2, 0.1, 0.1]},
        "decaying": {"min-rank": [0.5, np.nan, 0.1, 0.01], "custom": [1, 1, 1, 1]},
    }
    fig = plot_estimator_errors(NS, panels)
    assert [ax.get_title() for ax in fig.axes] == ["flat", "decaying"]
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    lines = {ln.get_label(): ln for ln in fig.axes[1].get_lines()}
    assert set(lines) == {"min-rank", "custom"}
    assert np.isnan(lines["min-rank"].get_ydata()[1])  # a breakdown is a gap
    assert lines["min-rank"].get_color() == ESTIMATOR_STYLE["min-rank"]["color"]
    np.testing.assert_array_equal(lines["min-rank"].get_xdata(), NS)
    assert dict(mpl.rcParams) == rc_before, "a figure function changed global matplotlib state"


def test_plot_estimator_errors_on_given_axes_and_bad_input(pyplot):
    fig, ax = pyplot.subplots()
    assert plot_estimator_errors(NS, {"p": {"min-norm": [1, 2, 3, 4]}}, axes=[ax]) is fig
    with pytest.raises(ValueError, match="empty"):
        plot_estimator_errors(NS, {})
    with pytest.raises(ValueError, match="shape"):
        plot_estimator_errors(NS, {"p": {"min-norm": [1, 2]}})
    with pytest.raises(ValueError, match="panels"):
        plot_estimator_errors(NS, {"p": {"a": NS}, "q": {"a": NS}}, axes=[ax])


def test_plot_spectra_pads_sorts_and_fixes_limits(pyplot):
    fig = plot_spectra(
        {"true H": [3.0, 1.0, 2.0, 0.5], "estimate": np.array([-1.0, 2.5])},
        dim=4,
        ylim=(-2.0, 4.0),
        title="n = 1",
    )
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_array_equal(lines["true H"].get_ydata(), [3.0, 2.0, 1.0, 0.5])
    np.testing.assert_array_equal(lines["estimate"].get_ydata(), [2.5, 0.0, 0.0, -1.0])
    np.testing.assert_array_equal(lines["estimate"].get_xdata(), [1, 2, 3, 4])
    assert ax.get_ylim() == (-2.0, 4.0) and ax.get_title() == "n = 1"
    two = plot_spectra({"ref": [1.0, 2.0], "a": [1.0, 2.0], "b": [1.0, 2.0]}).axes[0]
    xs = {ln.get_label(): ln.get_xdata() for ln in two.get_lines()}
    np.testing.assert_allclose(xs["a"], [0.925, 1.925])  # side by side around the index
    np.testing.assert_allclose(xs["b"], [1.075, 2.075])


def test_plot_spectra_clips_counts_off_scale_and_marks_breakdowns(pyplot):
    true = np.array([3.0, 2.0, 1.0, 0.5, 0.0, -0.5])
    est = np.array([50.0, 2.0, 1.0, 0.0, 0.0, -0.4])  # one wild eigenvalue
    fig = plot_spectra({"true H": true, "min-rank": est, "BFGS(γ)": None}, clip=True, title="n = 2")
    ax = fig.axes[0]
    assert ax.get_title() == "n = 2"
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert "min-rank (1 off scale)" in labels and "BFGS(γ): breaks down" in labels
    lo, hi = ax.get_ylim()
    assert lo == pytest.approx(-0.5 - 0.875) and hi == pytest.approx(3.0 + 0.875)
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("min-rank"))
    assert line.get_ydata()[0] == pytest.approx(hi)  # clipped to the edge, still visible
    assert line.get_color() == ESTIMATOR_STYLE["min-rank"]["color"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), true)  # true, descending
    # without clip the wild eigenvalue is drawn where it is
    free = plot_spectra({"true H": true, "min-rank": est}).axes[0]
    assert free.get_ylim()[1] >= 50.0


def test_plot_spectra_errors(pyplot):
    with pytest.raises(ValueError, match="spectra is empty"):
        plot_spectra({})
    with pytest.raises(ValueError, match="more than dim=2"):
        plot_spectra({"a": [1.0, 2.0, 3.0]}, dim=2)
    with pytest.raises(ValueError, match="NaN or Inf"):
        plot_spectra({"a": [1.0, np.nan]})
    with pytest.raises(ValueError, match="reference"):
        plot_spectra({"a": None, "b": [1.0]})


def test_plot_timings_loglog_with_slopes_and_gaps(pyplot):
    D = np.array([1e3, 1e4, 1e5])
    fig = plot_timings(
        D, {"low-rank": D * 1e-8, "dense": [1e-2, np.nan, np.nan]}, slopes={"dense": 3.04}
    )
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"low-rank", "dense (slope 3.0)"}
    assert len(lines["dense (slope 3.0)"].get_xdata()) == 1
    with pytest.raises(ValueError, match="shape"):
        plot_timings(D, {"x": [1.0]})


def test_plot_eigenvalue_tracks_draws_every_track_and_describes_it(pyplot):
    from hessnotes.figures import alt_text

    steps = np.arange(5)
    true = np.c_[np.linspace(10, 20, 5), np.linspace(5, 6, 5)]
    est = {"BFGS(γ)": true * 0.9, "min-norm": np.r_[[np.nan, np.nan]][None].repeat(5, 0)}
    fig = plot_eigenvalue_tracks(steps, true, est, title="path")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "path"
    assert len(ax.get_lines()) == 2 + 2 * 2
    labelled = {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    assert set(labelled) == {"true $H$", "BFGS(γ)", "min-norm"}
    np.testing.assert_array_equal(labelled["BFGS(γ)"].get_ydata(), 0.9 * true[:, 0])
    assert labelled["BFGS(γ)"].get_color() == ESTIMATOR_STYLE["BFGS(γ)"]["color"]
    text = alt_text(fig)
    assert "largest 2 eigenvalues" in text and "from 10 to 20" in text and "BFGS(γ) 18" in text
    one = plot_eigenvalue_tracks(steps, true[:, 0], {"x": true[:, 0]}, logy=False).axes[0]
    assert one.get_yscale() == "linear" and one.get_ylabel() == "largest 1 eigenvalue"
    with pytest.raises(ValueError, match="one row per step"):
        plot_eigenvalue_tracks(steps[:3], true, {})
    with pytest.raises(ValueError, match="expected"):
        plot_eigenvalue_tracks(steps, true, {"x": true[:, :1]})
