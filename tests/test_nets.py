"""hessnotes.nets: seeded networks that torch.func can differentiate twice."""

import functools

import numpy as np
import pytest
import torch
from helpers import assert_close as _assert_close
from torch.func import grad, hessian

from hessnotes._linalg import vec
from hessnotes.nets import _trained, digits_mlp, random_mlp, sample_cloud, softmax_layer_samples

assert_close = functools.partial(_assert_close, rtol=1e-12, atol=1e-12, norm="max")


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


# ------------------------------------------------------------------------ the digits network
def test_digits_mlp_trains_and_is_deterministic():
    state = torch.random.get_rng_state().clone()
    threads = torch.get_num_threads()
    m = digits_mlp()
    assert torch.equal(torch.random.get_rng_state(), state), "global RNG untouched"
    assert torch.get_num_threads() == threads, "thread count restored"
    assert m.num_params == 64 * 16 + 16 + 16 * 10 + 10 == 1210
    assert m.images.shape == (1797, 64) and float(m.images.max()) == 1.0
    assert m.train.numel() == 1500 and m.test.numel() == 297
    assert set(m.train.tolist()).isdisjoint(m.test.tolist())
    assert m.losses[-1] < 0.1 * m.losses[0]
    assert m.accuracy("test") > 0.9 and m.accuracy("train") > 0.95
    # Repeatable from scratch (not just from the cache): a second training gives the same bits.
    theta = _trained.__wrapped__(16, 200, 0.02, 0)[0]
    assert torch.equal(theta, m.params)
    m.params.zero_()  # a copy: the cache is not changed
    assert not torch.equal(digits_mlp().params, m.params)
    assert "P=1210" in repr(digits_mlp())


def test_digits_input_and_parameter_hessians():
    m = digits_mlp(hidden=4, steps=30)
    f, x0 = m.input_loss(5)
    assert x0.shape == (64,) and f(x0).shape == ()
    H = hessian(f)(x0)
    torch.testing.assert_close(H, H.T, rtol=0, atol=1e-12)
    # Every pixel enters through W_1 (4 x 64): the input Hessian has rank <= the hidden width.
    ev = torch.linalg.eigvalsh(H).abs()
    assert int((ev > 1e-10 * ev.max()).sum()) <= 4
    eps, e = 1e-5, torch.zeros(64, dtype=torch.float64)
    e[20] = eps
    fd = (grad(f)(x0 + e) - grad(f)(x0 - e)) / (2 * eps)
    torch.testing.assert_close(H[:, 20], fd, rtol=1e-6, atol=1e-9)
    # The loss is the cross-entropy of the network's logits: compare with torch's own.
    z = m.network()(x0)
    want = torch.nn.functional.cross_entropy(z[None], m.labels[5:6])
    torch.testing.assert_close(f(x0), want, rtol=1e-14, atol=0)
    torch.testing.assert_close(m.output_loss(int(m.labels[5]))(z), want, rtol=1e-14, atol=0)
    fp = m.parameter_loss(batch=32)
    P = m.num_params
    assert P == 75 * 4 + 10
    Hp = hessian(fp)(m.params)
    assert Hp.shape == (P, P)
    torch.testing.assert_close(Hp, Hp.T, rtol=0, atol=1e-12)
    idx = m.train[:32]
    want = torch.nn.functional.cross_entropy(m.logits(m.images[idx]), m.labels[idx])
    torch.testing.assert_close(fp(m.params), want, rtol=1e-14, atol=0)


def test_digits_bad_input():
    m = digits_mlp(hidden=4, steps=30)
    with pytest.raises(ValueError, match="positive"):
        digits_mlp(hidden=0)
    with pytest.raises(ValueError, match=r"\(64,\) or a batch"):
        m.logits(torch.zeros(8, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"expected \(310,\)"):
        m.logits(torch.zeros(64, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    with pytest.raises(IndexError, match=r"0\.\.1796"):
        m.input_loss(1797)
    with pytest.raises(ValueError, match="batch"):
        m.parameter_loss(batch=0)
    with pytest.raises(ValueError, match="digit"):
        m.output_loss(10)
    with pytest.raises(ValueError, match="split"):
        m.accuracy("val")


def test_softmax_layer_samples_gradients_and_fisher():
    s = softmax_layer_samples(400, 4, 3, seed=1)
    assert s.a.shape == (400, 4) and s.g.shape == (400, 3) and s.W.shape == (3, 4)
    np.testing.assert_array_equal(s.a[:, -1], 1.0)
    assert set(np.unique(s.y)) <= {0, 1, 2}
    assert_close(s.g.sum(axis=1), np.zeros(400), atol=1e-14, what="g sums to zero")
    # Per-example gradient of -log softmax(W a)_y against autograd: G = g aᵀ, vec(G) = a ⊗ g.
    W = torch.from_numpy(s.W).requires_grad_(True)
    for i in range(3):
        a = torch.from_numpy(s.a[i])
        loss = -torch.log_softmax(W @ a, dim=0)[int(s.y[i])]
        (G,) = torch.autograd.grad(loss, W)
        assert_close(G, np.outer(s.g[i], s.a[i]), what=f"gradient, example {i}")
        assert_close(vec(G), np.kron(s.a[i], s.g[i]), what=f"vec(G) = a ⊗ g, example {i}")
    # Labels are drawn from p: the mean of g is near zero (E[p - e_y] = 0).
    assert np.abs(softmax_layer_samples(20000, 4, 3, seed=2).g.mean(axis=0)).max() < 0.02
    # Same seed, same draw.
    np.testing.assert_array_equal(
        softmax_layer_samples(50, 3, 2, seed=5).g, softmax_layer_samples(50, 3, 2, seed=5).g
    )


def test_softmax_layer_samples_errors():
    with pytest.raises(ValueError, match=r"at least 2"):
        softmax_layer_samples(10, 1, 3)
    with pytest.raises(ValueError, match=r"scale must be a finite non-negative"):
        softmax_layer_samples(10, 3, 3, scale=np.nan)
    with pytest.raises(ValueError, match=r"n must be a positive integer"):
        softmax_layer_samples(0, 3, 3)
