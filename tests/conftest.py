"""Shared fixtures. Figures are closed after every test; randomness is seeded per test."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests never display; notebooks (run by nbval) use the inline backend

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch


@pytest.fixture
def pyplot():
    """Give a test pyplot and close every figure it made afterwards."""
    yield plt
    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)
