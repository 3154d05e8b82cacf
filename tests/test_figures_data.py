"""Tests of hessnotes.figures._data: data into float64 arrays, and the one log-axis validator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessnotes.figures._data import as_array, log_axis_values


def test_as_array_takes_tensors_lists_and_scalars():
    assert as_array(torch.ones(2, dtype=torch.float32)).dtype == np.float64
    np.testing.assert_array_equal(as_array([1, 2]), [1.0, 2.0])
    assert as_array(3).shape == ()


def test_log_axis_values_flatten_and_refuse_what_a_log_axis_cannot_show():
    np.testing.assert_array_equal(log_axis_values(np.ones((2, 2)), "t"), np.ones(4))
    assert log_axis_values(torch.tensor([1.0, 2.0]), "t", 2).dtype == np.float64
    with pytest.raises(ValueError, match="t is empty"):
        log_axis_values([], "t")
    with pytest.raises(ValueError, match="t has 2 values; it needs 3"):
        log_axis_values([1.0, 2.0], "t", 3)
    for bad in ([1.0, 0.0], [1.0, np.nan], [-1.0]):
        with pytest.raises(ValueError, match="t must be finite and positive"):
            log_axis_values(bad, "t")
