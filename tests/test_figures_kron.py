"""Tests of hessnotes.figures.kron: every plot function returns a Figure (quick smoke tests)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from hessnotes.costs import kron_matvec_timings
from hessnotes.figures.kron import (
    plot_kron_sum_spectrum,
    plot_kron_timing,
    plot_rearrangement_singular_values,
)
from hessnotes.kron import kron_sum_eigvals, nearest_kronecker


def sym(rng, n, shift=0.0):
    m = rng.standard_normal((n, n))
    return (m + m.T) / 2 + shift * np.eye(n)


def test_figures_return_figures():
    t_exp, t_mod = kron_matvec_timings([2, 3, 4, 5], repeats=2, max_explicit_n=4)
    figs = [plot_kron_timing([2, 3, 4, 5], t_exp, t_mod)]
    rng = np.random.default_rng(0)
    ev = kron_sum_eigvals([sym(rng, 5, shift=4.0)] * 3)
    figs.append(plot_kron_sum_spectrum(ev, title="A ⊕ A ⊕ A"))
    figs.append(plot_kron_sum_spectrum(torch.from_numpy(ev)))
    s = nearest_kronecker(rng.standard_normal((6, 6)), (3, 2), (2, 3)).singular_values
    figs.append(plot_rearrangement_singular_values(np.r_[s, 0.0]))
    fig, ax = plt.subplots()
    figs.append(plot_rearrangement_singular_values(s, ax=ax))
    assert figs[-1] is fig
    for f in figs:
        assert isinstance(f, Figure)
        plt.close(f)


def test_the_fitted_slope_in_the_legend_is_the_one_fit_over_the_upper_half():
    ns = np.array([2.0, 4.0, 8.0, 16.0])
    t = 1e-6 * ns[:, None] ** np.array([[3.0, 3.0]])
    t[0] = 1.0  # an unlucky small size does not pull the fit
    fig = plot_kron_timing(ns, t, t)
    labels = [h.get_label() for h in fig.axes[0].get_lines()]
    assert any(s.endswith("fitted slope 3.00") for s in labels), labels
    plt.close(fig)
    fig = plot_kron_timing(ns, np.full((4, 1), np.nan), t)  # nothing timed: no slope, no error
    assert any("fitted slope nan" in s for s in [h.get_label() for h in fig.axes[0].get_lines()])
    plt.close(fig)
