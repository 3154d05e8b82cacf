"""Tests of hessnotes._linalg's precision helper: machine epsilon, not unit roundoff."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from hessnotes._linalg import eps_of


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
