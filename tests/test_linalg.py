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


# --------------------------------------------------------------------------------------------------
# The conventions, each defined once here and used by every module
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 2), (2, 5), (4,), (2, 3, 4)])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_vec_is_column_major_and_unvec_inverts_it(shape, kind):
    a = np.arange(float(np.prod(shape))).reshape(shape)
    x = torch.from_numpy(a) if kind == "torch" else a
    v = _linalg.vec(x)
    assert type(v) is type(x) and tuple(v.shape) == (a.size,)
    np.testing.assert_array_equal(np.asarray(v), a.reshape(-1, order="F"))  # first index fastest
    back = _linalg.unvec(v, shape)
    assert type(back) is type(x)
    np.testing.assert_array_equal(np.asarray(back), a)


def test_vec_trick_pins_the_convention():
    rng = np.random.default_rng(0)
    A, B, X = rng.standard_normal((4, 3)), rng.standard_normal((5, 2)), rng.standard_normal((2, 3))
    np.testing.assert_allclose(
        np.kron(A, B) @ _linalg.vec(X), _linalg.vec(B @ X @ A.T), rtol=1e-13, atol=1e-13
    )


def test_vec_matrix_is_the_jacobian_of_vec_in_numerator_layout():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((4, 2)), rng.standard_normal((3, 5))
    X = torch.from_numpy(rng.standard_normal((2, 3))).requires_grad_(False)
    f = lambda X: torch.from_numpy(A) @ X @ torch.from_numpy(B)  # noqa: E731
    J = _linalg.vec_matrix(torch.func.jacrev(f)(X), 2)
    np.testing.assert_allclose(J.numpy(), np.kron(B.T, A), rtol=1e-13, atol=1e-13)
    H = np.arange(36.0).reshape(2, 3, 2, 3)  # numpy works too
    assert _linalg.vec_matrix(H, 2).shape == (6, 6)


def test_sym_is_the_symmetric_part():
    a = np.array([[1.0, 2.0], [4.0, 3.0]])
    np.testing.assert_array_equal(_linalg.sym(a), [[1.0, 3.0], [3.0, 3.0]])
    assert torch.equal(_linalg.sym(torch.from_numpy(a)), torch.from_numpy(_linalg.sym(a)))


def test_loglog_slope_windows_repeats_and_refusals():
    x = np.array([1.0, 10.0, 100.0, 1000.0, np.nan])
    assert _linalg.loglog_slope(x, 3 * x**2.5) == pytest.approx(2.5, abs=1e-12)
    bent = np.where(x < 50, 1.0, 3 * x**1.0)  # flat, then a line of slope 1
    assert _linalg.loglog_slope(x, bent, window=(50, np.inf)) == pytest.approx(1.0, abs=1e-12)
    assert _linalg.loglog_slope(x, bent, xmin=50) == pytest.approx(1.0, abs=1e-12)
    assert _linalg.loglog_slope(x, bent, window="upper half") == pytest.approx(1.0, abs=1e-12)
    repeats = np.stack([x**2, 5 * x**2, np.full(5, np.nan)], axis=1)  # the best run: column 0
    assert _linalg.loglog_slope(x, repeats) == pytest.approx(2.0, abs=1e-12)
    with pytest.raises(ValueError, match="a slope needs two"):
        _linalg.loglog_slope([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match=r"in 5 <= x <= 6\); a slope needs two"):
        _linalg.loglog_slope([1.0, 2.0], [1.0, 1.0], window=(5, 6))
    with pytest.raises(ValueError, match=r"x has shape \(2,\) and y \(3,\)"):
        _linalg.loglog_slope([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="window="):
        _linalg.loglog_slope([1.0, 2.0], [1.0, 2.0], window="lower half")
    with pytest.raises(ValueError, match="not both"):
        _linalg.loglog_slope([1.0, 2.0], [1.0, 2.0], window=(0, 1), xmin=0)


@pytest.mark.parametrize("good", [1, 7, np.int64(3)])
def test_check_positive_int_accepts_counts(good):
    assert _linalg.check_positive_int(good, "k") == int(good)


@pytest.mark.parametrize("bad", [0, -2, 1.0, 2.5, True, "3", None])
def test_check_positive_int_refuses_everything_else_naming_it(bad):
    with pytest.raises(ValueError, match=r"^k must be a positive integer \(steps\); got k="):
        _linalg.check_positive_int(bad, "k", " (steps)")


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), -np.inf])
def test_check_tol_refuses_negative_nan_and_inf(bad):
    with pytest.raises(ValueError, match="rtol must be finite and >= 0"):
        _linalg.check_tol(bad, "rtol")


def test_check_tol_accepts_numbers_and_scalar_tensors_and_positive_refuses_zero():
    assert _linalg.check_tol(0, "tol") == 0.0
    assert _linalg.check_tol(np.float32(0.5), "tol") == 0.5
    assert _linalg.check_tol(torch.tensor(1e-3), "tol") == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        _linalg.check_tol(0.0, "tol", positive=True)
    with pytest.raises(TypeError, match="real number"):
        _linalg.check_tol("1e-8", "tol")


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_check_symmetric_allows_rounding_and_refuses_structure(kind):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4))
    s = (a + a.T) / 2
    wrap = torch.from_numpy if kind == "torch" else np.asarray
    noisy = s + 10 * np.finfo(float).eps * np.triu(np.ones((4, 4)), 1)  # rounding-sized
    _linalg.check_symmetric(wrap(noisy), "A", needs="x")
    with pytest.raises(ValueError) as info:
        _linalg.check_symmetric(wrap(a), "A", needs="the method needs it", otherwise=", or not")
    msg = str(info.value)
    assert msg.startswith("A (shape (4, 4)) is not symmetric: max|A - Aᵀ| = ")
    assert msg.endswith(
        "The method needs it: pass (A + A.T) / 2 if the asymmetry is rounding, or not."
    )
    _linalg.check_symmetric(wrap(a), "A", rtol=10.0, needs="x")  # a loose rtol lets it pass
    _linalg.check_symmetric(wrap(np.zeros((3, 3))), "Z", needs="x")


def test_dense_limit_is_derived_from_the_one_memory_limit():
    assert _linalg.DENSE_LIMIT == 16384 and 8 * _linalg.DENSE_LIMIT**2 <= MAX_DENSE_BYTES
    from hessnotes import curvature, lowrank

    assert curvature.DENSE_LIMIT is lowrank.DENSE_LIMIT is _linalg.DENSE_LIMIT


def test_each_convention_is_defined_once_in_the_library():
    """No module re-implements vec, unvec, sym, the slope fit, the symmetry check, the count
    check, the inertia words or the estimator type: they live in one place each."""
    import ast
    from pathlib import Path

    root = Path(_linalg.__file__).parent
    homes = {
        "def vec": {"_linalg.py", "kron.py"},  # kron.vec: the public, checked form
        "def unvec": {"_linalg.py", "kron.py"},
        "def _vec": set(),
        "def _unvec": set(),
        "def sym": {"_linalg.py"},
        "def _sym": set(),
        "polyfit": {"_linalg.py"},
        "is not symmetric: max|": {"_linalg.py"},
        "must be a positive integer{": {"_linalg.py"},
        '"degenerate stationary point"': {"newton.py"},
        "Estimator = ": {"estimators.py"},
        "DENSE_LIMIT = ": {"_linalg.py"},
    }
    found = {k: set() for k in homes}
    for path in root.rglob("*.py"):
        text = path.read_text()
        ast.parse(text)  # every module parses
        for key in homes:
            if key.startswith("def "):
                hit = any(line.lstrip().startswith(key + "(") for line in text.splitlines())
            elif key == '"degenerate stationary point"':
                hit = f"return {key}" in text or f"else {key}" in text
            else:
                hit = key in text
            if hit:
                found[key].add(path.name)
    assert found == homes
