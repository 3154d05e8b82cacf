"""Private helpers shared by the figure modules: turning data into float64 numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_array", "log_axis_values"]


def as_array(x: Any) -> np.ndarray:
    """``x`` (numpy array, torch tensor on any device, list or scalar) as a float64 numpy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def log_axis_values(a: Any, name: str, n: int | None = None) -> np.ndarray:
    """``a`` flattened to a float64 vector for a log axis: non-empty, finite and positive (and of
    length ``n`` when given, one value per x).

    Raises:
        ValueError: naming ``name``, if ``a`` is empty, of the wrong length, or not positive.
    """
    a = as_array(a).reshape(-1)
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if n is not None and a.size != n:
        raise ValueError(f"{name} has {a.size} values; it needs {n}, one per x")
    if not np.isfinite(a).all() or (a <= 0).any():
        raise ValueError(f"{name} must be finite and positive (a log axis), got {a}")
    return a
