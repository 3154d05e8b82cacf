"""Shared fixtures. Figures are closed after every test; randomness is seeded per test."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests never display; notebooks (run by nbval) use the inline backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


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
