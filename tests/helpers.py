"""Assertions shared by the test modules (imported as ``from helpers import assert_close``)."""

from __future__ import annotations

import numpy as np
import torch


def assert_close(actual, expected, *, rtol: float, what: str, atol: float = 0.0) -> None:
    """Relative Frobenius check that names the worst entry, both values and the tolerance."""
    a = np.asarray(actual.cpu() if isinstance(actual, torch.Tensor) else actual, dtype=np.float64)
    e = np.asarray(
        expected.cpu() if isinstance(expected, torch.Tensor) else expected, dtype=np.float64
    )
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    err = float(np.linalg.norm(a - e))
    tol = rtol * float(np.linalg.norm(e)) + atol
    if not err <= tol:
        i = np.unravel_index(int(np.argmax(np.abs(a - e))), a.shape)
        raise AssertionError(
            f"{what}: ||actual - expected||_F = {err:.3e} > {tol:.3e} (rtol {rtol:.0e}, "
            f"relative {err / max(float(np.linalg.norm(e)), 1e-300):.1e}); worst entry {i}: "
            f"{a[i]} vs {e[i]}"
        )
