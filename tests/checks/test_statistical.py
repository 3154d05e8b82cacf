"""Tests of hessnotes.checks.statistical: an estimate and its standard errors, and the checks of
a mean and a variance against closed forms in standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close

from hessnotes.checks.statistical import Estimate, check_mean, check_variance

F64 = torch.float64


def test_estimate_of_values_and_its_standard_errors():
    rng = np.random.default_rng(21)
    v = rng.standard_normal((1000, 2, 3)) * 2.0 + 1.0
    est = Estimate.of(v)
    assert isinstance(est.mean, np.ndarray) and est.mean.shape == (2, 3) and est.samples == 1000
    assert_close(est.mean, v.mean(0), rtol=1e-14, what="mean")
    assert_close(est.stderr, v.std(0, ddof=1) / math.sqrt(1000), rtol=1e-12, what="stderr")
    assert abs(est.variance - v.var(0, ddof=1).sum()) < 1e-10 * est.variance
    check_variance("total variance 6 × 4", est, 24.0)
    scalar = Estimate.of(torch.arange(5, dtype=F64))
    assert float(scalar.mean) == 2.0 and abs(scalar.variance - 2.5) < 1e-14


def test_check_mean_verdicts_and_messages():
    est = Estimate.of(np.array([[0.0, 1.0], [2.0, 1.0], [1.0, 1.0]]))
    ok = check_mean("m", est, np.array([1.0, 1.0]))
    assert ok.passed and str(ok) == "✓ m: 0 standard errors (worst of 2 entries, tol 4)"
    bad = check_mean("m", est, np.array([1.0, 1.5]), raises=False)
    assert not bad and bad.z == math.inf and str(bad).startswith("✗ m:")
    with pytest.raises(AssertionError, match=r"at index \(0,\).*closed form 5"):
        check_mean("m", est, np.array([5.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        check_mean("m", est, np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        check_mean("m", est, np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="sigmas"):
        check_mean("m", est, np.ones(2), sigmas=-1)


def test_an_estimate_needs_two_samples_and_the_stochastic_module_reexports_the_checks():
    with pytest.raises(ValueError, match="N >= 2"):
        Estimate.of(np.zeros((1, 3)))
    import hessnotes.stochastic as S

    assert S.check_mean is check_mean and S.check_variance is check_variance
    assert S.Estimate is Estimate
