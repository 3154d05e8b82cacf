"""hessnotes.figures._style: local styling that leaves global state alone."""

import matplotlib as mpl

from hessnotes.figures._style import PALETTE, new_figure, styled


def test_styled_restores_rcparams_but_keeps_interactive_mode(pyplot):
    before = dict(mpl.rcParams)
    was = mpl.is_interactive()
    try:
        with styled():
            assert mpl.rcParams["axes.spines.top"] is False
            # what Jupyter's inline backend does when the first figure imports it
            mpl.interactive(True)
        assert mpl.is_interactive(), "interactive mode switched on inside must survive"
        after = dict(mpl.rcParams)
        after["interactive"] = before["interactive"]
        assert after == before
    finally:
        mpl.interactive(was)


def test_new_figure_reuses_a_given_axes(pyplot):
    with styled():
        fig, ax = new_figure()
        fig2, ax2 = new_figure(ax)
    assert fig2 is fig and ax2 is ax
    assert len(set(PALETTE.values())) == len(PALETTE)


def test_alt_text_travels_in_the_display_metadata(pyplot):
    from IPython.core.formatters import DisplayFormatter

    from hessnotes.figures import alt_text
    from hessnotes.figures._style import set_alt

    with styled():
        fig, ax = new_figure()
        other, _ = new_figure()
    ax.plot([1, 2, 3])
    assert alt_text(fig) is None
    assert set_alt(fig, "  a rising\nline ") is fig
    assert alt_text(fig) == "a rising line"
    _, md = DisplayFormatter().format(fig)
    assert md["image/png"]["alt"] == "a rising line"
    assert alt_text(other) is None and not hasattr(other, "_repr_mimebundle_")


def test_alt_text_has_no_mathtext(pyplot):
    from hessnotes.figures import alt_text
    from hessnotes.figures._style import set_alt

    with styled():
        fig, _ = new_figure()
    set_alt(fig, r"true $A$ against $\gamma I$, $H^{\star}$ and $\mathrm{BFGS}\,(n)$; cost $5")
    assert alt_text(fig) == "true A against γ I, H^⋆ and BFGS (n); cost $5"


def test_empty_alt_text_is_refused(pyplot):
    import pytest

    from hessnotes.figures._style import set_alt

    with styled():
        fig, _ = new_figure()
    with pytest.raises(ValueError, match="alt text is empty"):
        set_alt(fig, "   ")


def test_describe_spectrum_counts_the_inertia():
    from hessnotes.figures._style import describe_spectrum

    text = describe_spectrum("H*", [3.0, 1.0, 0.0, 1e-14, -2.0])
    assert text == "H*: 5 eigenvalues (2 positive, 1 negative, 2 zero), from -2 to 3"


def test_every_figure_function_writes_alt_text_from_its_data(pyplot):
    """Alt text says what the data show (numbers from the data), not only what kind of plot."""
    import numpy as np
    import torch

    from hessnotes.figures import alt_text
    from hessnotes.figures.calculus import plot_central_difference, plot_fd_error
    from hessnotes.figures.hessians import plot_solution_comparison
    from hessnotes.figures.kron import plot_kron_sum_spectrum, plot_rearrangement_singular_values
    from hessnotes.figures.spectra import plot_spectra

    steps = np.logspace(-8, 0, 9)
    errs = {"float64": np.r_[1e-8, 1e-9, 1e-10, 3e-11, 1e-9, 1e-7, 1e-5, 1e-3, 1e-1]}
    cases = {
        plot_fd_error(steps, errs): "float64 lowest at 3.0e-11 (h = 1e-05)",
        plot_central_difference(torch.sin, 1.0, 0.1, slope=0.5403): "secant through x ± 1e-01",
        plot_spectra({"A": [2.0, 1.0, -1.0]}): "A: 3 eigenvalues (2 positive, 1 negative)",
        plot_solution_comparison({"A": [2.0, 1.0], "H": [2.0, 0.0]}): "H: 2 eigenvalues "
        "(1 positive, 1 zero), from 0 to 2; norm 2.000, rank 1",
        plot_spectra({"H": [3.0, 1.0, -1.0], "min-rank": [3.0, 0.0, 0.0], "BFGS(γ)": None}): (
            "BFGS(γ): breaks down"
        ),
        plot_kron_sum_spectrum(np.array([1.0, 2.0, 4.0])): "3 eigenvalues of a Kronecker sum, "
        "from 1 to 4; condition number 4",
        plot_rearrangement_singular_values(np.array([2.0, 1e-17])): "1 above the roundoff level",
    }
    for fig, expected in cases.items():
        assert expected in (alt_text(fig) or ""), (alt_text(fig), expected)
