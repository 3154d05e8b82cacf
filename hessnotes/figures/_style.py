"""Shared look of the book's figures: a colour-blind-safe palette, readable in print and dark mode.

Nothing here touches global matplotlib state: :func:`styled` is a context manager built on
``plt.rc_context`` and :func:`new_figure` returns a fresh Figure (or the one owning ``ax``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "LINESTYLES",
    "MARKERS",
    "PALETTE",
    "alt_text",
    "describe_curve",
    "describe_spectrum",
    "new_figure",
    "set_alt",
    "styled",
]

#: Okabe & Ito (2008) colours, distinguishable with the common colour-vision deficiencies. Black is
#: left out so that lines stay visible when a reader's theme darkens the page.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "grey": "#7F7F7F",
}

#: Line styles and markers to pair with the colours, so that figures also read in greyscale print.
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P")

_RC = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.prop_cycle": plt.cycler(
        color=[PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple")]
    ),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "lines.linewidth": 1.8,
}


@contextmanager
def styled() -> Iterator[None]:
    """Apply the book's style inside a ``with`` block only (global rcParams are restored after).

    One setting is carried out of the block: interactive mode. Jupyter's inline backend is
    imported by the first figure a notebook makes, and switches interactive mode on when it is;
    if that happens inside ``plt.rc_context``, leaving the context would switch it off again and
    every later figure of the notebook would silently not be shown.
    """
    with plt.rc_context(_RC):
        yield
        interactive = mpl.is_interactive()
    mpl.interactive(interactive)


def new_figure(
    ax: Axes | None = None, *, figsize: tuple[float, float] = (6.0, 3.6)
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: the Figure owning ``ax``, or a new Figure with one Axes.

    Call it inside :func:`styled` so that the new Axes picks up the book's style. A new Figure
    comes from ``plt.subplots`` with ``constrained`` layout, so a notebook shows it inline.
    """
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


# --------------------------------------------------------------------------------------------------
# Alt text: every figure says in words what it shows
# --------------------------------------------------------------------------------------------------
_ALT = "_hessnotes_alt"


_TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "sigma": "σ", "theta": "θ", "Delta": "Δ", "star": "⋆",
    "top": "ᵀ", "perp": "⊥", "otimes": "⊗", "oplus": "⊕", "times": "×", "cdot": "·",
    "leq": "≤", "geq": "≥", "infty": "∞", "sqrt": "√", "ell": "ℓ", "nabla": "∇",
}  # fmt: skip


def _plain_math(text: str) -> str:
    """Matplotlib mathtext (``"true $A$"``, ``"$\\gamma I$"``) as plain text for alt text."""

    def plain(m: re.Match) -> str:
        body = re.sub(r"\\[,;:! ]", " ", m.group(1))
        body = re.sub(r"\\([A-Za-z]+)", lambda w: _TEX_SYMBOLS.get(w.group(1), ""), body)
        return re.sub(r"[{}\\]", "", body)

    return re.sub(r"\$([^$]+)\$", plain, text)


def set_alt(fig: Figure, text: str) -> Figure:
    """Attach alt text to ``fig`` (written from the data it shows) and return ``fig``.

    The text travels with the figure when a notebook displays it: the figure gets an instance
    ``_repr_mimebundle_`` that adds ``{"image/png": {"alt": text}}`` to the output's metadata
    (IPython merges it with the PNG that the inline backend renders). The book's Sphinx extension
    copies it into the page's ``<img alt>``. Nothing global changes; other figures are untouched.
    Mathtext from legend labels (``"true $A$"``) is written as plain text (``"true A"``), so a
    screen reader never reads dollar signs or backslashes.

    Raises:
        ValueError: if ``text`` is empty or only whitespace.
    """
    text = _plain_math(" ".join(str(text).split()))
    if not text:
        raise ValueError("alt text is empty; describe what the figure shows")
    setattr(fig, _ALT, text)

    def _repr_mimebundle_(include=None, exclude=None):
        return {}, {"image/png": {"alt": getattr(fig, _ALT)}}

    fig._repr_mimebundle_ = _repr_mimebundle_
    return fig


def alt_text(fig: Figure) -> str | None:
    """The alt text attached by :func:`set_alt`, or ``None``."""
    return getattr(fig, _ALT, None)


def describe_spectrum(name: str, eigs, *, rtol: float = 1e-10) -> str:
    """``"true H: 12 eigenvalues (9 positive, 3 negative), from -1.2 to 4.5"``, for alt text.

    An eigenvalue counts as zero when ``|e| <= rtol * max|e|``.
    """
    e = np.asarray(eigs, dtype=np.float64).reshape(-1)
    if e.size == 0:
        return f"{name}: no eigenvalues"
    cut = rtol * float(np.abs(e).max())
    counts = {
        "positive": int((e > cut).sum()),
        "negative": int((e < -cut).sum()),
        "zero": int((np.abs(e) <= cut).sum()),
    }
    parts = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    return f"{name}: {e.size} eigenvalues ({parts}), from {e.min():.3g} to {e.max():.3g}"


def describe_curve(name: str, x, y, *, xname: str = "x") -> str:
    """``"float64 lowest at 6e-11 (x = 6e-06)"``: the minimum of a curve, for alt text."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    ok = np.isfinite(y) & (y > 0)
    if not ok.any():
        return f"{name}: no positive values"
    j = np.flatnonzero(ok)[np.argmin(y[ok])]
    return f"{name} lowest at {y[j]:.1e} ({xname} = {x[j]:.0e})"
