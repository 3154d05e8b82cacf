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
