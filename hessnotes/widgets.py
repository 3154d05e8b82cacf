"""Sliders that work with no kernel: precomputed frames switched by a linked slider.

A slider figure is a thin wrapper over a pure figure function ``render(value) -> Figure``. Every
frame is rendered once, to a compact PNG, and put in an ``ipywidgets.Stack`` of frames. The
slider's ``index`` is linked to the stack's ``selected_index`` with ``jslink``, a link that runs in
the browser. So the same widget works live in Jupyter and on the static site, where the frames are
stored in the page's saved widget state and no kernel is needed.

Each frame is an ``<img>`` (in an ``HTML`` widget) with alt text: the slider's label and value,
then what the figure shows, as written by the figure function (:func:`hessnotes.figures.alt_text`).
Frames are drawn at ``dpi`` and shown at :data:`CSS_PX_PER_INCH` CSS pixels per inch of figure
width, so that 8 pt legend text is 11 CSS pixels tall on the page and sharp on high-density
screens.

Where there are no widgets (the book's PDF, a notebook viewer without widget state), the output
falls back to a still: the slider's display data also holds the frame shown first as
``image/png``, with its alt text and ``{"slider": {"shown": "<label = value>", "frames": N}}`` in
the output's metadata.

Chapters: "Checking derivatives", "Exact curvature", "Kronecker sums and tensor Sylvester
equations", "Noisy pairs and a real network", "Shuffles and rearrangements", "The blog post's
eigen-derivation, revisited", "The least-norm Hessian".
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence

import ipywidgets as w
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from hessnotes.figures import alt_text

__all__ = [
    "CSS_PX_PER_INCH",
    "MAX_FRAMES",
    "FrameSliders",
    "figure_png",
    "frame_slider",
    "frame_sliders",
]

#: Upper bound on the number of frames in one slider figure: each frame is a PNG in the page.
MAX_FRAMES = 64

#: CSS pixels per inch of figure width at which a frame is shown (8 pt text -> 11 CSS px).
CSS_PX_PER_INCH = 100


def figure_png(fig: Figure, *, dpi: int = 150, colors: int | None = 128) -> bytes:
    """Render ``fig`` to PNG bytes and close it.

    Args:
        fig: the figure; it is closed afterwards.
        dpi: resolution.
        colors: quantise to a palette of this many colours (2 to 256; line art loses nothing
            visible and the file shrinks about threefold), or ``None`` for full colour.

    Returns:
        PNG bytes without metadata, so the same figure always gives the same bytes.

    Raises:
        ValueError: if ``dpi`` is not positive or ``colors`` is outside 2..256 (the figure is
            closed all the same).
    """
    buf = io.BytesIO()
    try:  # the figure is closed whatever happens
        if not dpi > 0:
            raise ValueError(f"dpi={dpi!r} must be positive")
        if colors is not None and not 2 <= colors <= 256:
            raise ValueError(f"colors={colors!r}: give 2 to 256 palette colours, or None")
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(fig)
    if colors is None:
        return buf.getvalue()
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    palette = image.quantize(
        colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    palette.save(out, format="png", optimize=True)
    return out.getvalue()


class FrameSliders(w.VBox):
    """``VBox([*sliders, stack])`` that also carries a still of the frame shown first.

    In Jupyter and on the site it is the widget. Its display data adds ``image/png`` (that frame)
    for outputs with no widgets, such as the book's PDF; the metadata gives the frame's alt text
    and ``{"slider": {"shown": "<label = value>", "frames": N}}`` for a caption.
    """

    def __init__(self, children, *, still: bytes, shown: str, frames: int, alt: str, **kwargs):
        super().__init__(children, **kwargs)
        self._still = base64.b64encode(still).decode("ascii")
        self._still_metadata = {"alt": alt, "slider": {"shown": shown, "frames": frames}}

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        data["image/png"] = self._still
        return data, {"image/png": self._still_metadata}


def _frame(fig: Figure, caption: str, dpi: int) -> tuple[w.HTML, bytes, str]:
    """One frame: ``<img>`` with alt text ``caption`` + what the figure shows, at CSS size.

    Returns the frame's widget, its PNG bytes and its alt text.
    """
    described = alt_text(fig)
    alt = f"{caption}. {described}" if described else f"{caption}."
    width, height = (round(x * CSS_PX_PER_INCH) for x in fig.get_size_inches())
    png = figure_png(fig, dpi=dpi)
    text_px = _smallest_text_px(fig)  # after drawing: tick labels exist only once drawn
    encoded = base64.b64encode(png).decode("ascii")
    frame = w.HTML(
        f'<img class="hn-frame" src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}" '
        f'width="{width}" height="{height}" data-text-px="{text_px:.1f}">'
    )
    return frame, png, alt


def _smallest_text_px(fig: Figure) -> float:
    """Height in CSS pixels of the figure's smallest visible text when shown at natural size."""
    sizes = [
        t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes, default=0.0) * CSS_PX_PER_INCH / 72


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
    dpi: int = 150,
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
        :class:`FrameSliders`, a ``VBox([slider, stack])``; the slider has the CSS class
        ``hn-slider`` and the stack ``hn-frames``, which the browser test uses to find them.

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
    dpi: int = 150,
) -> w.VBox:
    """One or two sliders over a grid of precomputed figures ``render(*values)``.

    Args:
        render: pure figure function taking one value per slider, in the order of ``grid``.
        grid: slider label -> its values (one or two entries).
        fmt: slider label -> format string or function for the labels (default ``"{}"``).
        start: starting index for each slider (default: all 0).
        dpi: resolution of the frames.

    Returns:
        :class:`FrameSliders`, a ``VBox([*sliders, stack])``. With two sliders the stack is
        nested: an outer ``Stack`` over the first parameter whose children are ``Stack`` s over the
        second; the second slider is linked to every inner stack.

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

    sliders, all_labels = [], []
    for name, vals, s in zip(names, values, start, strict=True):
        labels = _labels(vals, fmt.get(name, "{}"))
        all_labels.append(labels)
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

    still = {}  # the frame shown first: its PNG, caption and alt text

    def image(*idx: int) -> w.HTML:
        vals = [v[i] for v, i in zip(values, idx, strict=True)]
        caption = ", ".join(
            f"{n} = {lab[i]}" for n, lab, i in zip(names, all_labels, idx, strict=True)
        )
        frame, png, alt = _frame(render(*vals), caption, dpi)
        if list(idx) == start:
            still.update(still=png, shown=caption, alt=alt)
        return frame

    if len(names) == 1:
        stack = w.Stack([image(i) for i in range(len(values[0]))], selected_index=start[0])
        w.jslink((sliders[0], "index"), (stack, "selected_index"))
    else:
        inner = []
        for i in range(len(values[0])):
            s2 = w.Stack([image(i, j) for j in range(len(values[1]))], selected_index=start[1])
            w.jslink((sliders[1], "index"), (s2, "selected_index"))
            inner.append(s2)
        stack = w.Stack(inner, selected_index=start[0])
        w.jslink((sliders[0], "index"), (stack, "selected_index"))
    stack.add_class("hn-frames")
    return FrameSliders([*sliders, stack], frames=total, **still)
