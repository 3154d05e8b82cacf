"""Pure plot functions: data and parameters in, a Figure out, with alt text written from the data.

:func:`alt_text` reads the text a figure function attached
(see :func:`hessnotes.figures._style.set_alt`).

Chapters: each module of the package names its own (one module per family of figures).
"""

from hessnotes.figures._style import alt_text

__all__ = ["alt_text"]
