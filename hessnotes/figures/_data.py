"""Private helpers shared by the figure modules: turning data into float64 numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_array"]


def as_array(x: Any) -> np.ndarray:
    """``x`` (numpy array, torch tensor on any device, list or scalar) as a float64 numpy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)
