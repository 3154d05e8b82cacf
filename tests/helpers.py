"""Assertions shared by the test modules (imported as ``from helpers import assert_close``)."""

from __future__ import annotations

import numpy as np
import torch


def assert_close(
    actual, expected, *, rtol: float, what: str = "", atol: float = 0.0, norm: str = "fro"
) -> None:
    """The tests' one closeness check, naming the worst entry, both values and the tolerance.

    ``norm="fro"``: ``||actual - expected||_F <= atol + rtol ||expected||_F`` (the default);
    ``norm="max"``: ``max|actual - expected| <= atol + rtol max|expected|`` (entrywise scale).
    """
    a = np.asarray(actual.cpu() if isinstance(actual, torch.Tensor) else actual, dtype=np.float64)
    e = np.asarray(
        expected.cpu() if isinstance(expected, torch.Tensor) else expected, dtype=np.float64
    )
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    if norm not in ("fro", "max"):
        raise ValueError(f"norm={norm!r}; use 'fro' or 'max'")
    size = np.linalg.norm if norm == "fro" else (lambda x: float(np.abs(x).max(initial=0.0)))
    err = float(size(a - e))
    tol = rtol * float(size(e)) + atol
    if not err <= tol:
        i = np.unravel_index(int(np.argmax(np.abs(a - e))), a.shape) if a.size else ()
        raise AssertionError(
            f"{what}: ||actual - expected||_{norm} = {err:.3e} > {tol:.3e} (rtol {rtol:.0e}, "
            f"atol {atol:.0e}, relative {err / max(float(size(e)), 1e-300):.1e}); worst entry "
            f"{i}: {a[i]} vs {e[i]}"
        )


def rel(a, b) -> float:
    """Relative Frobenius distance ``||a - b||_F / ||b||_F`` in float64."""
    a, b = (
        np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=np.float64)
        for v in (a, b)
    )
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def assert_rel(a, b, tol: float, what: str) -> None:
    """``rel(a, b) <= tol``, with both numbers in the message."""
    err = rel(a, b)
    assert err <= tol, f"{what}: relative Frobenius error {err:.2e} > tol {tol:.0e}"


def noisy_pairs(D: int, n: int, seed: int, noise: float = 0.1):
    """(A, X, Y): an SPD A with eigenvalues in [1, 3], Gaussian steps X and ``Y = A X + noise``."""
    from hessnotes.references import spd_with_spectrum

    rng = np.random.default_rng(seed)
    A = spd_with_spectrum(rng.uniform(1, 3, D), seed=seed)
    X = rng.standard_normal((D, n))
    return A, X, A @ X + noise * rng.standard_normal((D, n))
