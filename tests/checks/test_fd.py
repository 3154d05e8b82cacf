"""Tests of hessnotes.fd: central differences and the V-shaped error curve."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hessnotes.fd import (
    central_difference,
    fd_error_curve,
    fit_slope,
    one_sided_kink,
    optimal_step,
)

T = torch.float64


def test_central_difference_matches_taylor_prediction():
    # sin at x = 1: the error is h² f'''(1) / 6 = -h² cos(1) / 6 up to O(h⁴).
    x, one = torch.tensor(1.0, dtype=T), torch.tensor(1.0, dtype=T)
    for h in (1e-1, 3e-2, 1e-2):
        err = central_difference(torch.sin, x, one, h).item() - math.cos(1.0)
        np.testing.assert_allclose(err, -(h**2) * math.cos(1.0) / 6, rtol=h**2, atol=0)


def test_central_difference_is_exact_for_quadratics_and_keeps_dtype():
    gen = torch.Generator().manual_seed(0)
    A = torch.randn(3, 4, generator=gen, dtype=T)
    X, V = torch.randn(4, 2, generator=gen, dtype=T), torch.randn(4, 2, generator=gen, dtype=T)

    def f(X):
        return (A.to(X.dtype) @ X) ** 2

    got = central_difference(f, X, V, 0.5)
    torch.testing.assert_close(got, 2 * (A @ X) * (A @ V), rtol=1e-13, atol=1e-13)
    assert central_difference(f, X.float(), V.float(), 0.5).dtype == torch.float32


def test_error_curve_has_the_v_shape():
    gen = torch.Generator().manual_seed(1)
    G = torch.randn(4, 4, generator=gen, dtype=T)
    X = G @ G.T / 4 + torch.eye(4, dtype=T)
    V = torch.randn(4, 4, generator=gen, dtype=T)
    V = (V + V.T) / torch.linalg.norm(V + V.T)
    steps = np.logspace(-14, 0, 29)
    for dtype in (torch.float32, torch.float64):
        e = fd_error_curve(torch.logdet, X, V, steps, dtype=dtype)
        assert e.shape == steps.shape and e.dtype == np.float64
        eps, h_opt = torch.finfo(dtype).eps, optimal_step(dtype)
        # Near h = eps^(1/3) the error is of order eps^(2/3), far below both arms of the V.
        j = int(np.argmin(np.abs(np.log(steps / h_opt))))
        assert e[j] <= 100 * eps ** (2 / 3)
        assert e[0] > 1e3 * e[j] and e[-1] > 1e3 * e[j]
        assert h_opt / 100 <= steps[np.argmin(e)] <= h_opt * 100
        # Truncation side: slope 2 over the largest steps.
        assert abs(fit_slope(steps, e, 1e-2 if dtype == T else 1e-1, 1.0) - 2) < 0.3
    # Roundoff side in float64: slope about -1.
    e64 = fd_error_curve(torch.logdet, X, V, steps, dtype=T)
    assert -1.6 < fit_slope(steps, e64, 1e-14, 1e-8) < -0.5


def test_optimal_step_values():
    assert optimal_step(T) == pytest.approx(2.0 ** (-52 / 3))
    assert optimal_step(torch.float32) == pytest.approx(2.0 ** (-23 / 3))


def test_fit_slope_on_exact_power_law():
    h = np.logspace(-6, 0, 13)
    assert fit_slope(h, 3 * h**2, 1e-6, 1.0) == pytest.approx(2.0, abs=1e-12)
    assert fit_slope(h, 1e-16 / h, 1e-6, 1e-3) == pytest.approx(-1.0, abs=1e-12)


def test_errors():
    x = torch.ones(2, dtype=T)
    with pytest.raises(ValueError, match="positive"):
        central_difference(torch.sin, x, x, 0.0)
    with pytest.raises(ValueError, match="make them equal"):
        central_difference(torch.sin, x, torch.ones(3, dtype=T), 0.1)
    with pytest.raises(ValueError, match="torch floating dtype"):
        fd_error_curve(torch.sin, x, x, [0.1], dtype=torch.int64)
    with pytest.raises(ValueError, match="positive step sizes"):
        fd_error_curve(torch.sin, x, x, [0.1, -1.0])
    with pytest.raises(ValueError, match="is zero here"):
        fd_error_curve(lambda z: (z**2).sum(), torch.zeros(2, dtype=T), x, [0.1])
    with pytest.raises(ValueError, match="a slope needs two"):
        fit_slope([1.0, 2.0], [1.0, 1.0], 5.0, 6.0)
    with pytest.raises(ValueError, match="1-D of equal length"):
        fit_slope([1.0, 2.0], [1.0], 0.0, 6.0)


def test_bad_points_and_directions_are_refused_with_their_name():
    x = torch.ones(2, dtype=T)
    bad = torch.tensor([1.0, float("nan")], dtype=T)
    with pytest.raises(ValueError, match=r"^x \(shape \(2,\)\) holds NaN or Inf, first at index"):
        central_difference(torch.sin, bad, x, 0.1)
    with pytest.raises(ValueError, match=r"^v \(shape \(2,\)\) holds NaN or Inf"):
        central_difference(torch.sin, x, bad * float("inf"), 0.1)
    with pytest.raises(ValueError, match=r"^v \(shape \(2,\)\) holds NaN or Inf"):
        fd_error_curve(torch.sin, x, bad, [0.1])
    with pytest.raises(TypeError, match=r"^x is torch\.int64; .*dtype=torch\.float64"):
        central_difference(torch.sin, torch.ones(2, dtype=torch.int64), x, 0.5)  # h -> 0
    with pytest.raises(ValueError, match="positive, finite"):
        central_difference(torch.sin, x, x, float("nan"))
    # float16 is the subject here, not an error: its error curve is measured.
    e = fd_error_curve(torch.sin, torch.tensor(1.0), torch.tensor(1.0), [1e-1], dtype=torch.float16)
    assert 0 < e[0] < 1


def _evals(f, x, V):
    """(f(x + h v_i), f(x - h v_i)) over the columns v_i of V."""

    def evals(h):
        return (
            torch.stack([f(x + h * v) for v in V.T]),
            torch.stack([f(x - h * v) for v in V.T]),
        )

    return evals


@pytest.mark.parametrize(
    ("f", "x", "kinked"),
    [
        (lambda z: z.abs().sum(), [0.5, 0.0, -1.0], 1),  # the kink is in entry 1 only
        (lambda z: torch.relu(z).sum(), [0.0, 2.0, 1.0], 0),
        (lambda z: z.abs().max(), [1.0, -1.0, 0.3], 0),  # a tie of the max
        (lambda z: (z**2).sum(), [0.0, 0.0, 0.0], None),  # smooth, at its minimum
        (lambda z: torch.cos(1e3 * z).sum(), [0.0, 0.1, 0.2], None),  # smooth, curved
    ],
)
def test_one_sided_kink_finds_kinks_and_only_kinks(f, x, kinked):
    x = torch.tensor(x, dtype=T)
    h = optimal_step(T)
    out = one_sided_kink(_evals(f, x, torch.eye(3, dtype=T)), h, f(x), rtol=1e-5, atol=1e-12)
    if kinked is None:
        assert out is None
    else:
        i, fwd, bwd = out
        assert i == kinked and abs(fwd - bwd) > 0.5
