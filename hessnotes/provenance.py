"""Where a chapter's numbers came from: the versions that computed them and the day they ran.

Chapters: every chapter (its last, hidden cell).
"""

from __future__ import annotations

import datetime
import platform
from dataclasses import dataclass
from importlib import metadata

__all__ = ["Provenance", "provenance"]

_PACKAGES = ("hessnotes", "torch", "numpy")


@dataclass(frozen=True)
class Provenance:
    """The day a chapter was executed and the versions of the packages that computed it."""

    date: str
    versions: tuple[tuple[str, str], ...]
    python: str

    def __str__(self) -> str:
        pkgs = ", ".join(f"{name} {version}" for name, version in self.versions)
        return f"Executed on {self.date} with {pkgs} (Python {self.python})."

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return f'<p class="hn-provenance">{self}</p>'


def provenance(*extra: str) -> Provenance:
    """Versions of hessnotes, torch, numpy (and any ``extra`` distributions), and today's date.

    Every chapter ends with this line, computed when the chapter runs, so a reader can tell which
    software produced the numbers on the page.

    Raises:
        ValueError: if a name in ``extra`` is not an installed distribution.
    """
    versions = []
    for name in (*_PACKAGES, *extra):
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            raise ValueError(f"{name!r} is not an installed distribution; check the name") from None
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    python = ".".join(platform.python_version_tuple()[:2])
    return Provenance(today, tuple(versions), python)
