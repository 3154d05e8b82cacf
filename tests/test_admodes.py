"""Tests of hessnotes.admodes: Jacobians by both modes against jacrev, exact flop counts."""

from __future__ import annotations

import itertools

import pytest
import torch
from helpers import assert_close

from hessnotes.admodes import (
    ModeTimes,
    chain_flops,
    crossover,
    jacobian_flops,
    jacobian_forward,
    jacobian_reverse,
    mode_sweep,
    tanh_layers,
    time_modes,
)


def _x(n, seed=0):
    return torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("widths", [(7, 5, 3), (3, 9, 4, 6), (5, 1)])
def test_both_modes_equal_jacrev_rectangular(widths):
    f = tanh_layers(widths, seed=1)
    x = _x(widths[0])
    ref = torch.func.jacrev(f)(x)
    assert ref.shape == (widths[-1], widths[0])
    assert_close(jacobian_forward(f, x), ref, rtol=1e-14, what="forward")
    assert_close(jacobian_reverse(f, x), ref, rtol=1e-14, what="reverse")


def test_scalar_output_gives_one_row():
    def f(x):
        return (x**3).sum()

    x = _x(4)
    assert_close(jacobian_forward(f, x), (3 * x**2)[None], rtol=1e-15, what="forward scalar")
    assert_close(jacobian_reverse(f, x), (3 * x**2)[None], rtol=1e-15, what="reverse scalar")


def test_tanh_layers_is_seeded_scaled_and_follows_dtype():
    f, g = tanh_layers((6, 4, 2), seed=3), tanh_layers((6, 4, 2), seed=3)
    x = _x(6)
    assert torch.equal(f(x), g(x))
    assert not torch.equal(f(x), tanh_layers((6, 4, 2), seed=4)(x))
    f32 = tanh_layers((6, 4, 2), seed=3, dtype=torch.float32)
    assert f32(x.float()).dtype == torch.float32


@pytest.mark.parametrize("widths", [(16, 8, 1), (3, 5, 7, 11), (1, 4, 9)])
def test_dispatched_flops_equal_the_chain_formula(widths):
    f = tanh_layers(widths)
    x = _x(widths[0])
    for mode in ("forward", "reverse"):
        assert jacobian_flops(f, x, mode) == chain_flops(widths, mode)
    per = sum(a * b for a, b in itertools.pairwise(widths))
    assert chain_flops(widths, "forward") == 2 * widths[0] * per
    assert chain_flops(widths, "reverse") * widths[0] == chain_flops(widths, "forward") * widths[-1]


def test_time_modes_reports_positive_times_and_exact_flops():
    t = time_modes(tanh_layers((5, 4, 3)), _x(5), repeat=1, min_time=0.0)
    assert isinstance(t, ModeTimes) and (t.n_in, t.n_out) == (5, 3)
    for name in ("f", "jvp", "vjp", "forward", "reverse", "jacfwd", "jacrev"):
        assert getattr(t, name) > 0
    assert (t.flops_forward, t.flops_reverse) == (chain_flops((5, 4, 3), "forward"), 3 * 2 * 32)
    sweep = mode_sweep([(4, 1), (2, 6)], hidden=(3,), repeat=1, min_time=0.0)
    assert [(s.n_in, s.n_out) for s in sweep] == [(4, 1), (2, 6)]


def test_crossover_interpolates_on_log_axes():
    x = [1, 10, 100]
    assert crossover(x, [10, 10, 10], [1, 10**0.5, 100]) == pytest.approx(10 ** (4 / 3))
    assert crossover(x, [1, 1, 1], [2, 3, 4]) is None
    assert crossover(x, [1, 5, 1], [2, 5, 3]) == 10.0


def test_bad_inputs_are_refused_with_the_fix():
    f = tanh_layers((3, 2))
    with pytest.raises(ValueError, match="1-D torch tensor"):
        jacobian_forward(f, torch.zeros(3, 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="1-D"):
        jacobian_reverse(lambda x: torch.outer(x, x), _x(3))
    with pytest.raises(ValueError, match="mode"):
        chain_flops((3, 2), "sideways")
    with pytest.raises(ValueError, match="widths"):
        tanh_layers((3,))
    with pytest.raises(ValueError, match="positive"):
        crossover([1, 2], [1, 0], [1, 1])
    with pytest.raises(ValueError, match="empty"):
        mode_sweep([])
