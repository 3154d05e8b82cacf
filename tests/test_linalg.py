"""Tests of hessnotes._linalg's small helpers: machine epsilon, the one memory limit."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import torch

from hessnotes import _linalg
from hessnotes._linalg import MAX_DENSE_BYTES, check_finite, check_memory, eps_of


def test_eps_of_is_machine_epsilon_twice_the_unit_roundoff():
    assert eps_of(torch.float64) == 2.0**-52 == np.nextafter(1.0, 2.0) - 1.0
    assert eps_of(torch.float32) == 2.0**-23
    # One rounding errs by at most the unit roundoff u = eps / 2 (Higham), and that bound is
    # nearly attained: the exact sums of random doubles, rounded to float64.
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(2000), rng.standard_normal(2000)
    worst = max(
        abs(Fraction(float(a + b)) - (Fraction(a) + Fraction(b))) / abs(Fraction(a) + Fraction(b))
        for a, b in zip(x.tolist(), y.tolist(), strict=True)
    )
    u = Fraction(eps_of(torch.float64)) / 2
    assert u / 2 < worst <= u


def test_check_memory_refuses_above_the_one_limit_and_names_the_request():
    check_memory(MAX_DENSE_BYTES, "exactly the limit", "nothing")  # at the limit: allowed
    D, k = 10**7, 2000
    with pytest.raises(ValueError) as err:
        check_memory(8 * D * k, f"lanczos(k={k}) on D = {D}: the basis (D, k)", "use fewer steps")
    msg = str(err.value)
    assert "lanczos(k=2000)" in msg and "160 GB" in msg and "use fewer steps" in msg
    assert "MAX_DENSE_BYTES" in msg
    with pytest.raises(ValueError, match=r"1\.5 kB"):
        check_memory(1500, "a small request", "raise the limit", limit=1000)


@pytest.mark.parametrize("shape", [(7, 3), (7,), (), (0, 4)])
def test_check_finite_scans_in_blocks_and_names_the_first_bad_entry(monkeypatch, shape):
    monkeypatch.setattr(_linalg, "FINITE_BLOCK", 4)  # several blocks even for small inputs
    t = torch.ones(shape, dtype=torch.float64)
    check_finite(t, "X")  # finite: no error, whatever the number of blocks
    if t.numel() == 0:
        return
    idx = tuple(s - 1 for s in shape)  # the last entry, in the last block
    t[idx] = float("inf")
    with pytest.raises(ValueError, match=rf"X \(shape {re.escape(str(tuple(shape)))}\) holds NaN"):
        check_finite(t, "X")
