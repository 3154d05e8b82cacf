"""Sliders that work with no kernel: precomputed frames switched by a linked slider.

A slider figure is a thin wrapper over a pure figure function ``render(value) -> Figure``. Every
frame is rendered once, to PNG bytes, and put in an ``ipywidgets.Stack`` of ``Image`` widgets. The
slider's ``index`` is linked to the stack's ``selected_index`` with ``jslink``, a link that runs in
the browser. So the same widget works live in Jupyter and on the static site, where the frames are
stored in the page's saved widget state and no kernel is needed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import ipywidgets as w
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["figure_png", "frame_slider", "frame_sliders"]

#: Upper bound on the number of frames in one slider figure: each frame is a PNG in the page.
MAX_FRAMES = 64


def figure_png(fig: Figure, *, dpi: int = 80) -> bytes:
    """Render ``fig`` to PNG bytes and close it. The PNG has no metadata, so it is repeatable."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _labels(values: Sequence, fmt: str | Callable[[object], str]) -> list[str]:
    f = fmt if callable(fmt) else fmt.format
    labels = [f(v) for v in values]
    if len(set(labels)) != len(labels):
        raise ValueError(f"slider labels {labels} are not distinct; pass a finer fmt (got {fmt!r})")
    return labels


def _check_values(name: str, values: Sequence) -> list:
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty; give at least one value to show")
    return values


def frame_slider(
    render: Callable[[object], Figure],
    values: Sequence,
    *,
    description: str,
    fmt: str | Callable[[object], str] = "{}",
    start: int = 0,
    dpi: int = 80,
) -> w.VBox:
    """A slider over ``values`` that switches between the precomputed figures ``render(v)``.

    Args:
        render: pure figure function of one value; each returned Figure is closed after rendering.
        values: the slider's positions, in order.
        description: the slider's label.
        fmt: format string or function turning a value into its slider label.
        start: index of the value shown first.
        dpi: resolution of the frames.

    Returns:
        ``VBox([slider, stack])``; the slider has the CSS class ``hn-slider`` and the stack
        ``hn-frames``, which the browser test uses to find them.

    Raises:
        ValueError: if ``values`` is empty, has more than ``MAX_FRAMES`` entries, gives repeated
            labels, or ``start`` is out of range.
    """
    return frame_sliders(
        render, {description: values}, fmt={description: fmt}, start=(start,), dpi=dpi
    )


def frame_sliders(
    render: Callable[..., Figure],
    grid: dict[str, Sequence],
    *,
    fmt: dict[str, str | Callable[[object], str]] | None = None,
    start: Sequence[int] | None = None,
    dpi: int = 80,
) -> w.VBox:
    """One or two sliders over a grid of precomputed figures ``render(*values)``.

    Args:
        render: pure figure function taking one value per slider, in the order of ``grid``.
        grid: slider label -> its values (one or two entries).
        fmt: slider label -> format string or function for the labels (default ``"{}"``).
        start: starting index for each slider (default: all 0).
        dpi: resolution of the frames.

    Returns:
        ``VBox([*sliders, stack])``. With two sliders the stack is nested: an outer ``Stack`` over
        the first parameter whose children are ``Stack`` s over the second; the second slider is
        linked to every inner stack.

    Raises:
        ValueError: on an empty or too large grid, repeated labels or a bad ``start``.
    """
    names = list(grid)
    if not 1 <= len(names) <= 2:
        raise ValueError(f"grid has {len(names)} parameters {names}; give one or two")
    values = [_check_values(f"grid[{n!r}]", grid[n]) for n in names]
    total = 1
    for v in values:
        total *= len(v)
    if total > MAX_FRAMES:
        raise ValueError(
            f"grid {dict(zip(names, map(len, values), strict=True))} makes {total} frames, more "
            f"than MAX_FRAMES={MAX_FRAMES}; use fewer values (each frame is a PNG in the page)"
        )
    fmt = fmt or {}
    start = list(start) if start is not None else [0] * len(names)
    if len(start) != len(names) or any(
        not 0 <= s < len(v) for s, v in zip(start, values, strict=True)
    ):
        raise ValueError(
            f"start={start} is out of range for sliders of lengths {list(map(len, values))}"
        )

    sliders = []
    for name, vals, s in zip(names, values, start, strict=True):
        labels = _labels(vals, fmt.get(name, "{}"))
        slider = w.SelectionSlider(
            options=list(zip(labels, range(len(vals)), strict=True)),
            index=s,
            description=name,
            continuous_update=True,
            style={"description_width": "initial"},
            layout=w.Layout(width="min(460px, 100%)"),
        )
        slider.add_class("hn-slider")
        sliders.append(slider)

    def image(*vals) -> w.Image:
        return w.Image(value=figure_png(render(*vals), dpi=dpi), format="png")

    if len(names) == 1:
        stack = w.Stack([image(v) for v in values[0]], selected_index=start[0])
        w.jslink((sliders[0], "index"), (stack, "selected_index"))
    else:
        inner = []
        for a in values[0]:
            s2 = w.Stack([image(a, b) for b in values[1]], selected_index=start[1])
            w.jslink((sliders[1], "index"), (s2, "selected_index"))
            inner.append(s2)
        stack = w.Stack(inner, selected_index=start[0])
        w.jslink((sliders[0], "index"), (stack, "selected_index"))
    stack.add_class("hn-frames")
    return w.VBox([*sliders, stack])
