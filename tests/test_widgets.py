"""Tests of hessnotes.widgets: the widget tree, the browser-side links, frames and errors."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import subprocess
import sys

import ipywidgets as w
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest
from ipywidgets.widgets.widget import _instances
from ipywidgets.widgets.widget_link import Link

from hessnotes.widgets import MAX_FRAMES, figure_png, frame_slider, frame_sliders

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _render(a, b=0.0):
    """A small pure figure function: a line whose slope and offset are the slider values."""
    fig, ax = plt.subplots(figsize=(2.0, 1.5))
    ax.plot([0, 1], [b, a + b])
    ax.set_ylim(-3, 3)
    return fig


def _png_of(frame: w.HTML) -> bytes:
    """The PNG bytes inside a frame's ``<img src="data:image/png;base64,...">``."""
    m = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', frame.value)
    assert m, frame.value[:120]
    return base64.b64decode(m.group(1))


def _alt_of(frame: w.HTML) -> str:
    m = re.search(r'alt="([^"]*)"', frame.value)
    assert m, frame.value[:120]
    return m.group(1)


def _links_from(source):
    """Every live Link widget whose source is ``source``: (source attr, target widget, attr)."""
    return [
        (m.source[1], m.target[0], m.target[1])
        for m in list(_instances.values())
        if isinstance(m, Link) and m.source[0] is source
    ]


def test_frame_slider_tree_and_links(pyplot):
    box = frame_slider(_render, [0.5, 1.0, 2.0], description="slope", fmt="{:.1f}", start=1)
    assert isinstance(box, w.VBox) and len(box.children) == 2
    slider, stack = box.children
    assert isinstance(slider, w.SelectionSlider) and isinstance(stack, w.Stack)
    assert "hn-slider" in slider._dom_classes and "hn-frames" in stack._dom_classes
    assert slider.description == "slope"
    assert list(slider.options) == [("0.5", 0), ("1.0", 1), ("2.0", 2)]
    assert slider.index == 1 and stack.selected_index == 1
    assert [type(c) for c in stack.children] == [w.HTML] * 3
    assert all(_png_of(c).startswith(PNG_MAGIC) for c in stack.children)
    # Alt text: the slider's label and value, then (when the figure has one) what it shows.
    assert [_alt_of(c) for c in stack.children] == ["slope = 0.5.", "slope = 1.0.", "slope = 2.0."]
    assert 'width="200" height="150"' in stack.children[0].value  # 2 x 1.5 in at 100 CSS px/in
    # The smallest text (tick labels, rcParams' 10 pt here) in CSS px at that size: 10 * 100 / 72.
    assert 'data-text-px="13.9"' in stack.children[0].value
    # The link runs in the browser (jslink), from the slider's index to the stack's selection.
    assert _links_from(slider) == [("index", stack, "selected_index")]
    # Frames differ from one another (the slider visibly changes the figure).
    assert len({_png_of(c) for c in stack.children}) == 3


def test_frame_sliders_two_parameters_nest_stacks(pyplot):
    box = frame_sliders(_render, {"a": [1, 2, 3], "b": [0, 1]}, start=[2, 1])
    s1, s2, outer = box.children
    assert all(isinstance(s, w.SelectionSlider) for s in (s1, s2))
    assert all("hn-slider" in s._dom_classes for s in (s1, s2))
    assert "hn-frames" in outer._dom_classes and outer.selected_index == 2
    assert len(outer.children) == 3
    for inner in outer.children:
        assert isinstance(inner, w.Stack) and len(inner.children) == 2
        assert inner.selected_index == 1
    assert _links_from(s1) == [("index", outer, "selected_index")]
    targets = _links_from(s2)
    assert len(targets) == 3 and all(t[0] == "index" and t[2] == "selected_index" for t in targets)
    assert {id(t[1]) for t in targets} == {id(s) for s in outer.children}
    frames = [_png_of(img) for inner in outer.children for img in inner.children]
    assert len(set(frames)) == 6
    assert _alt_of(outer.children[2].children[1]) == "a = 3, b = 1."


def test_frames_are_valid_deterministic_png_and_figures_are_closed(pyplot):
    before = plt.get_fignums()
    a = figure_png(_render(1.0), dpi=50)
    b = figure_png(_render(1.0), dpi=50)
    assert a == b and a.startswith(PNG_MAGIC)
    img = mpimg.imread(io.BytesIO(a), format="png")
    assert img.shape[:2] == (75, 100)  # figsize (2, 1.5) inches at 50 dpi
    box = frame_slider(_render, [1.0, -1.0], description="a", dpi=50)
    assert plt.get_fignums() == before  # every rendered frame was closed
    assert _png_of(box.children[1].children[0]) == a
    full = figure_png(_render(1.0), dpi=50, colors=None)
    assert len(a) < len(full)  # the palette PNG is smaller ...
    np.testing.assert_allclose(  # ... and looks the same
        mpimg.imread(io.BytesIO(a))[..., :3], mpimg.imread(io.BytesIO(full))[..., :3], atol=0.1
    )


def test_frame_alt_text_says_what_the_figure_shows(pyplot):
    from hessnotes.figures._style import set_alt

    def render(a):
        fig = _render(a)
        return set_alt(fig, f"a line of slope {a:g} & more")

    box = frame_slider(render, [1.0, 2.0], description="slope")
    assert _alt_of(box.children[1].children[1]) == "slope = 2.0. a line of slope 2 &amp; more"


def test_display_data_carries_the_first_frame_as_a_still(pyplot):
    """Without widgets (the PDF, a notebook viewer) the output shows the frame shown first."""
    from IPython.core.formatters import DisplayFormatter

    box = frame_slider(_render, [0.5, 1.0, 2.0], description="slope", fmt="{:.1f}", start=1)
    data, metadata = DisplayFormatter().format(box)  # what the kernel sends
    assert set(data) == {"text/plain", "image/png", "application/vnd.jupyter.widget-view+json"}
    shown = box.children[1].children[1]
    assert base64.b64decode(data["image/png"]) == _png_of(shown)
    assert metadata["image/png"] == {
        "alt": html.unescape(_alt_of(shown)),
        "slider": {"shown": "slope = 1.0", "frames": 3},
    }

    two = frame_sliders(_render, {"a": [1, 2, 3], "b": [0, 1]}, start=[2, 1])
    data, metadata = DisplayFormatter().format(two)
    assert base64.b64decode(data["image/png"]) == _png_of(two.children[2].children[2].children[1])
    assert metadata["image/png"]["slider"] == {"shown": "a = 3, b = 1", "frames": 6}


def test_figure_png_refuses_bad_options(pyplot):
    with pytest.raises(ValueError, match="dpi=0 must be positive"):
        figure_png(_render(1.0), dpi=0)
    with pytest.raises(ValueError, match="colors=1"):
        figure_png(_render(1.0), colors=1)
    assert plt.get_fignums() == []


def test_label_formatting_by_function(pyplot):
    box = frame_slider(_render, [1e-3, 1e-2], description="h", fmt=lambda v: f"{v:.0e}")
    assert [lab for lab, _ in box.children[0].options] == ["1e-03", "1e-02"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"values": []}, "is empty"),
        ({"values": list(range(MAX_FRAMES + 1))}, "more than MAX_FRAMES=64"),
        ({"values": [0.11, 0.12], "fmt": "{:.1f}"}, "not distinct"),
        ({"values": [1, 2], "start": 2}, r"start=\[2\] is out of range"),
        ({"values": [1, 2], "start": -1}, "out of range"),
    ],
)
def test_frame_slider_errors(pyplot, kwargs, match):
    kwargs = {"description": "x", **kwargs}
    with pytest.raises(ValueError, match=match):
        frame_slider(_render, **kwargs)
    assert plt.get_fignums() == []  # nothing was rendered before the error


def test_frame_sliders_errors(pyplot):
    with pytest.raises(ValueError, match="makes 72 frames"):
        frame_sliders(_render, {"a": range(9), "b": range(8)})
    with pytest.raises(ValueError, match="give one or two"):
        frame_sliders(_render, {"a": [1], "b": [1], "c": [1]})
    with pytest.raises(ValueError, match="give one or two"):
        frame_sliders(_render, {})
    with pytest.raises(ValueError, match=r"grid\['b'\] is empty"):
        frame_sliders(_render, {"a": [1], "b": []})
    with pytest.raises(ValueError, match="out of range"):
        frame_sliders(_render, {"a": [1, 2], "b": [1]}, start=[0])


_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import matplotlib
before = {k: repr(v) for k, v in matplotlib.rcParams.items()}
backend = matplotlib.get_backend()
import hessnotes
names = sorted(m.name for m in pkgutil.walk_packages(hessnotes.__path__, "hessnotes."))
for name in names:
    importlib.import_module(name)
after = {k: repr(v) for k, v in matplotlib.rcParams.items()}
print(json.dumps({"names": names, "changed": sorted(k for k in before if before[k] != after[k]),
                  "backend": [backend, matplotlib.get_backend()]}))
"""


def test_importing_every_hessnotes_module_leaves_rcparams_and_output_alone():
    # A fresh interpreter: in this process the modules are imported already.
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert out.stderr == ""
    report = json.loads(out.stdout)  # nothing else was printed: stdout is exactly this JSON line
    assert {"hessnotes.checks", "hessnotes.widgets", "hessnotes.figures._style"} <= set(
        report["names"]
    )
    assert report["changed"] == []
    assert report["backend"][0] == report["backend"][1]
