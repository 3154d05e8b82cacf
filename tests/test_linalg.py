"""Tests of hessnotes._linalg's small helpers: machine epsilon, the one memory limit."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import torch

from hessnotes import _linalg
from hessnotes._linalg import MAX_DENSE_BYTES, check_finite, check_memory, eps_of, gram, gram_copy


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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_gram_and_copy_match_separate_products(dtype, threads, monkeypatch):
    """The one-pass Gram matrix (row blocks, several threads) equals the products A_i^T A_j,
    and gram_copy's copy is exact and shares no memory with the inputs."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    monkeypatch.setattr(_linalg, "_GRAM_BLOCK_BYTES", 4096)  # many blocks at a test's size
    rng = np.random.default_rng(0)
    D = 9001  # not a multiple of any block size
    X = rng.standard_normal((D, 3)).astype(dtype)
    Yt = rng.standard_normal((4, D)).astype(dtype)  # a transposed (strided) second block
    blocks = [torch.from_numpy(X), torch.from_numpy(Yt).T]
    Z = np.hstack([X, Yt.T]).astype(np.float64)
    want = Z.T @ Z
    tol = 1e-13 if dtype == np.float64 else 1e-5
    G = gram(blocks, ["X", "Y"])
    assert G.dtype == torch.float64 and G.shape == (7, 7)
    np.testing.assert_allclose(G.numpy(), want, rtol=tol, atol=tol * D)
    G2, C = gram_copy(blocks, ["X", "Y"])
    np.testing.assert_allclose(G2.numpy(), want, rtol=tol, atol=tol * D)
    assert C.dtype == blocks[0].dtype and C.is_contiguous()
    np.testing.assert_array_equal(C.numpy(), np.hstack([X, Yt.T]))
    assert not np.shares_memory(C.numpy(), X) and not np.shares_memory(C.numpy(), Yt)
    G3, Cy = gram_copy(blocks, ["X", "Y"], keep=[1])
    np.testing.assert_array_equal(Cy.numpy(), Yt.T)
    np.testing.assert_allclose(G3.numpy(), want, rtol=tol, atol=tol * D)


def test_gram_names_the_block_with_nan():
    X = torch.ones(70000, 2, dtype=torch.float64)
    Y = torch.ones(70000, 2, dtype=torch.float64)
    Y[12345, 1] = float("nan")
    with pytest.raises(ValueError, match=r"^Y \(shape \(70000, 2\)\).*\(12345, 1\)"):
        gram_copy([X, Y], ["X", "Y"])


def test_check_finite_fast_path_still_finds_overflowing_sums():
    big = torch.full((4,), 1e308, dtype=torch.float64)  # finite entries whose sum overflows
    _linalg.check_finite(big, "big")
    big[2] = float("-inf")
    with pytest.raises(ValueError, match=r"big .*index \(2,\)"):
        _linalg.check_finite(big, "big")


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


def test_check_finite_inside_torch_func_transforms():
    """Inside torch.func.grad a tensor has no storage numpy could read: the check still runs."""

    def f(x):
        check_finite(x, "x")
        return (x**2).sum()

    x = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    torch.testing.assert_close(torch.func.grad(f)(x), 2 * x)
    x[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"x \(shape \(2, 3\)\).*index \(1, 2\)"):
        torch.func.grad(f)(x)
