"""hessnotes.nets: seeded networks that torch.func can differentiate twice."""

import pytest
import torch
from torch.func import grad, hessian

from hessnotes.nets import random_mlp, sample_cloud


def test_mlp_is_deterministic_and_differentiable_twice():
    f, g = random_mlp(6, (8, 5), seed=3), random_mlp(6, (8, 5), seed=3)
    x = torch.linspace(-1, 1, 6, dtype=torch.float64)
    assert f(x).shape == () and torch.equal(f(x), g(x))
    h = hessian(f)(x)
    torch.testing.assert_close(h, h.T, rtol=0, atol=1e-12)
    # The Hessian matches central differences of the gradient (an independent check).
    eps, e0 = 1e-5, torch.zeros(6, dtype=torch.float64)
    e0[2] = eps
    fd = (grad(f)(x + e0) - grad(f)(x - e0)) / (2 * eps)
    torch.testing.assert_close(h[:, 2], fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ["tanh", "softplus", "gelu"])
def test_hessian_is_indefinite_and_nonzero(act):
    f = random_mlp(10, (32,), activation=act, seed=1)
    ev = torch.linalg.eigvalsh(hessian(f)(torch.ones(10, dtype=torch.float64)))
    assert ev.abs().max() > 1e-3


def test_sample_cloud_shape_and_spread():
    x0 = torch.zeros(400, dtype=torch.float64)
    X = sample_cloud(x0, 50, 2.0, seed=0)
    assert X.shape == (400, 50) and X.dtype == torch.float64
    dist = torch.linalg.norm(X - x0[:, None], dim=0)
    assert 1.8 < dist.mean().item() < 2.2
    assert torch.equal(X, sample_cloud(x0, 50, 2.0, seed=0))


def test_bad_input():
    with pytest.raises(ValueError, match="positive"):
        random_mlp(0)
    with pytest.raises(ValueError, match="activation"):
        random_mlp(3, activation="relu6")
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        random_mlp(3)(torch.zeros(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="1-D"):
        sample_cloud(torch.zeros(2, 2), 3, 1.0)
    with pytest.raises(ValueError, match="spread"):
        sample_cloud(torch.zeros(2), 3, -1.0)
