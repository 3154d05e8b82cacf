"""Moved to :mod:`hessnotes.checks.formula`; re-exported here, so old imports keep working."""

from hessnotes.checks.formula import check_formula

__all__ = ["check_formula"]
