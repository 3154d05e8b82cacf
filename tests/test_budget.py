"""Tests for hessnotes.budget: the equal-budget comparison on quadratics with known spectra."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessnotes.budget import equal_budget, format_error, top_eigenvalue_error
from hessnotes.curvature import lanczos
from hessnotes.references import spd_with_spectrum

F64 = torch.float64


def quadratic(D=30, seed=0):
    eigs = np.concatenate([[9.0, 7.0, 5.0, 3.0, 2.0], np.linspace(0.1, 1.0, D - 5)])
    A = spd_with_spectrum(eigs, seed=seed)
    At = torch.from_numpy(A)
    b = torch.linspace(-1, 1, D, dtype=F64)
    return (lambda x: 0.5 * x @ At @ x + b @ x), A, np.sort(eigs)[::-1]


def test_top_eigenvalue_error_definition():
    exact = np.array([4.0, -5.0, 2.0, 1.0])
    est = np.array([1.0, 2.5, 3.0, 0.0])  # sorted: 3, 2.5, 1, 0 against 4, 2, 1, -5
    assert top_eigenvalue_error(est, exact, k=3) == pytest.approx(1.0 / 5.0)
    assert top_eigenvalue_error(torch.tensor(est), exact, k=1) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="at least k"):
        top_eigenvalue_error(est[:2], exact, k=3)
    with pytest.raises(ValueError, match="zero"):
        top_eigenvalue_error(est, np.zeros(4), k=2)


def test_format_error_is_robust():
    assert format_error(3.4e-15) == "<1e-08"
    assert format_error(0.123456) == "0.12"
    assert format_error(2.5e-5) == "2.5e-05"
    assert format_error(float("nan")) == "fails"


def test_equal_budget_on_a_quadratic():
    f, A, eigs = quadratic()
    x0 = torch.linspace(0.5, -0.5, 30, dtype=F64)
    cmp = equal_budget(f, x0, [15, 24, 31], cost=3, spread=0.1)
    assert cmp.steps == [5, 8, 10] and cmp.pairs == [14, 23, 30]
    np.testing.assert_allclose(cmp.exact, eigs, rtol=1e-12)
    # Lanczos column: the same as calling lanczos on the dense matrix with the same seed.
    want = top_eigenvalue_error(lanczos(A, 10, seed=0).values, eigs)
    assert cmp.errors["Lanczos"][2] == pytest.approx(want, rel=1e-6, abs=1e-13)
    assert cmp.errors["Lanczos"][2] < 1e-3
    # With D pairs of a quadratic, the min-norm estimate is A itself (to rounding).
    assert cmp.errors["min-norm"][2] < 1e-10
    assert cmp.errors["min-norm"][0] > 1e-2  # 14 pairs are not enough
    assert set(cmp.errors) == {"Lanczos", "min-norm", "min-rank", "BFGS(γ)"}
    assert cmp.methods[0] == "Lanczos"
    grid = np.linspace(-1, 10, 300)
    d = cmp.density("Lanczos", 1, grid=grid, width=0.2)
    assert d.shape == (300,) and np.all(d >= 0)
    assert cmp.density("exact", 0, grid=grid, width=0.2).shape == (300,)
    lines = cmp.table().splitlines()
    assert lines[0].split()[-3:] == ["15", "24", "31"]
    assert lines[3].startswith("Lanczos") and len(lines) == 7


def test_equal_budget_bad_input():
    f, _, _ = quadratic()
    x0 = torch.zeros(30, dtype=F64)
    with pytest.raises(ValueError, match="increasing"):
        equal_budget(f, x0, [20, 15], cost=3, spread=0.1)
    with pytest.raises(ValueError, match="at least 15"):
        equal_budget(f, x0, [12, 20], cost=3, spread=0.1)
    with pytest.raises(ValueError, match="D \\+ 1"):
        equal_budget(f, x0, [15, 40], cost=3, spread=0.1)
    with pytest.raises(ValueError, match="cost"):
        equal_budget(f, x0, [15], cost=0, spread=0.1)
