"""Moved to :mod:`hessnotes.checks.formula`; re-exported here, so old imports keep working.

Chapters: "The least-norm Hessian", "The blog post's eigen-derivation, revisited", "Noisy pairs and
a real network", "High dimensions", "Limited-memory updates".
"""

from hessnotes.checks.formula import check_formula

__all__ = ["check_formula"]
