"""Tests for hessnotes.kron: every result against np.kron, dense solves or brute-force loops."""

from __future__ import annotations

import functools
import re
from functools import reduce

import numpy as np
import pytest
import torch
from helpers import assert_close as _assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes.kron import (
    KroneckerApprox,
    commutation_matrix,
    commutation_perm,
    kron_matvec,
    kron_sum_eigvals,
    kron_sum_matvec,
    kron_sum_solve,
    nearest_kronecker,
    perfect_shuffle,
    rearrange,
    rearrange_via_column_major,
    rearrange_via_row_major,
    second_difference,
    solve_sylvester_sym,
    unvec,
    vec,
)

SETTINGS = settings(max_examples=30, deadline=None)
RTOL, ATOL = 1e-12, 1e-12
# The tests' one assert_close, normwise in the largest entry.
assert_close = functools.partial(_assert_close, rtol=RTOL, atol=ATOL, norm="max")


def sym(rng, n, shift=0.0):
    m = rng.standard_normal((n, n))
    return (m + m.T) / 2 + shift * np.eye(n)


def kron_sum_dense(As):
    """Independent reference: Σ_i I ⊗ … ⊗ A_i ⊗ … ⊗ I built with np.kron."""
    ns = [a.shape[0] for a in As]
    terms = []
    for i, a in enumerate(As):
        terms.append(reduce(np.kron, [a if j == i else np.eye(n) for j, n in enumerate(ns)]))
    return sum(terms)


def R_loops(A, m1, n1, m2, n2):
    """Brute-force Van Loan–Pitsianis rearrangement, straight from its definition."""
    out = np.empty((m1 * n1, m2 * n2), dtype=A.dtype)
    for i1 in range(m1):
        for j1 in range(n1):
            for i2 in range(m2):
                for j2 in range(n2):
                    out[i1 + j1 * m1, i2 + j2 * m2] = A[i1 * m2 + i2, j1 * n2 + j2]
    return out


SHAPES = {
    2: [(3, 2), (2, 5)],
    3: [(3, 2), (2, 4), (4, 3)],
    4: [(2, 3), (3, 2), (1, 2), (2, 2)],
}


# --------------------------------------------------------------------------------------------------
# vec convention
# --------------------------------------------------------------------------------------------------
def test_vec_stacks_columns_and_unvec_inverts():
    X = np.arange(6.0).reshape(2, 3)  # [[0,1,2],[3,4,5]]
    np.testing.assert_array_equal(vec(X), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0])
    np.testing.assert_array_equal(unvec(vec(X), (2, 3)), X)
    T = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(vec(T), T.reshape(-1, order="F"))
    np.testing.assert_array_equal(unvec(vec(T), (2, 3, 4)), T)
    Xt = torch.arange(6.0).reshape(2, 3)
    assert isinstance(vec(Xt), torch.Tensor)
    assert torch.equal(vec(Xt), torch.tensor([0.0, 3.0, 1.0, 4.0, 2.0, 5.0]))
    assert torch.equal(unvec(vec(Xt), (2, 3)), Xt)


def test_vec_trick_convention():
    """(A ⊗ B) vec(X) = vec(B X Aᵀ), with A (2, 3), B (4, 5), X (5, 3)."""
    rng = np.random.default_rng(0)
    A, B, X = rng.standard_normal((2, 3)), rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    assert_close(np.kron(A, B) @ vec(X), vec(B @ X @ A.T), what="np.kron reference")
    assert_close(kron_matvec([A, B], vec(X)), vec(B @ X @ A.T), what="kron_matvec")


# --------------------------------------------------------------------------------------------------
# kron_matvec against np.kron
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("batch", [None, 3])
def test_kron_matvec_matches_np_kron(k, batch):
    rng = np.random.default_rng(10 + k)
    fs = [rng.standard_normal(s) for s in SHAPES[k]]
    n = int(np.prod([s[1] for s in SHAPES[k]]))
    x = rng.standard_normal(n if batch is None else (n, batch))
    got = kron_matvec(fs, x)
    assert_close(got, reduce(np.kron, fs) @ x, what=f"{k} factors, batch={batch}")


def test_kron_matvec_single_factor_and_noncontiguous_x():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((2, 5))
    v = rng.standard_normal(8)[::2]  # strided view
    assert_close(kron_matvec([A], v), A @ v, what="one factor")
    x = rng.standard_normal((3, 20)).T  # (20, 3), Fortran-ordered
    assert_close(kron_matvec([A, B], x), np.kron(A, B) @ x, what="transposed x")


BAD_DTYPES_NP = [np.bool_, np.int32, np.int64, np.float16, np.complex128]
BAD_DTYPES_TORCH = [torch.bool, torch.int64, torch.float16, torch.bfloat16, torch.complex128]


@pytest.mark.parametrize("dtype", BAD_DTYPES_NP)
def test_dtype_policy_numpy_every_numerical_function(dtype):
    """One policy: float32/float64 only, a TypeError in numpy words that says how to cast."""
    S = np.diag([1.0, 2.0])
    bad = S.astype(dtype)
    calls = [
        lambda: kron_matvec([bad, S], np.ones(4)),
        lambda: kron_matvec([S, S], np.ones(4).astype(dtype)),
        lambda: kron_sum_matvec([bad, S], np.ones(4)),
        lambda: kron_sum_eigvals([bad]),
        lambda: kron_sum_solve([S, bad], np.ones(4)),
        lambda: solve_sylvester_sym(S, S, bad),
        lambda: nearest_kronecker(np.kron(S, S).astype(dtype), (2, 2), (2, 2)),
    ]
    name = np.dtype(dtype).name
    for call in calls:
        with pytest.raises(TypeError, match=rf"has dtype {name}; .*float32 or float64.*astype"):
            call()


@pytest.mark.parametrize("dtype", BAD_DTYPES_TORCH)
def test_dtype_policy_torch_words(dtype):
    S = torch.eye(2, dtype=torch.float64)
    with pytest.raises(TypeError, match=rf"has dtype {dtype}; .*\.to\(torch\.float64\)"):
        kron_matvec([S.to(dtype), S], torch.ones(4, dtype=torch.float64))
    with pytest.raises(TypeError, match=rf"has dtype {dtype}"):
        kron_sum_solve([S, S.to(dtype)], torch.ones(4, dtype=torch.float64))


def test_mixed_precision_is_refused_not_promoted():
    S = np.eye(2)
    with pytest.raises(TypeError, match=r"mix the dtypes float32 and float64"):
        kron_matvec([S, S.astype(np.float32)], np.ones(4))
    with pytest.raises(TypeError, match=r"mix the dtypes"):
        kron_matvec([S, S], np.ones(4, dtype=np.float32))
    T = torch.eye(2, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"torch.float32 and torch.float64.*\.to\(torch"):
        kron_sum_matvec([T, T.float()], torch.ones(4, dtype=torch.float64))


def test_float32_numpy_stays_float32():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal((2, 2))
    B = B.astype(np.float32)
    x = rng.standard_normal(4).astype(np.float32)
    got = kron_matvec([A, B], x)
    assert got.dtype == np.float32
    assert_close(got, np.kron(A, B).astype(np.float64) @ x, rtol=1e-5, atol=1e-6, what="f32")


@pytest.mark.parametrize("bad", [float("nan"), -1.0, float("inf")])
def test_tolerances_are_validated(bad):
    S = np.diag([1.0, 2.0])
    with pytest.raises(ValueError, match=r"rtol must be finite and >= 0"):
        kron_sum_solve([S, S], np.ones(4), rtol=bad)
    with pytest.raises(ValueError, match=r"sym_rtol must be finite and >= 0"):
        kron_sum_eigvals([S], sym_rtol=bad)
    with pytest.raises(ValueError, match=r"rtol must be finite and >= 0"):
        solve_sylvester_sym(S, S, np.ones((2, 2)), rtol=bad)


def test_kron_matvec_torch_with_grad_stays_differentiable():
    gen = torch.Generator().manual_seed(2)
    A = torch.randn(3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    B = torch.randn(2, 2, generator=gen, dtype=torch.float64)
    x = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda A, x: kron_matvec([A, B], x), (A, x))
    y = kron_matvec([A.detach(), B], x.detach())  # the numpy route for untracked CPU tensors
    assert isinstance(y, torch.Tensor) and not y.requires_grad
    assert_close(y, torch.kron(A.detach(), B) @ x.detach(), what="numpy route")


@pytest.mark.parametrize("k", [2, 3, 4])
def test_kron_matvec_torch_float64(k):
    gen = torch.Generator().manual_seed(k)
    fs = [torch.randn(s, generator=gen, dtype=torch.float64) for s in SHAPES[k]]
    n = int(np.prod([s[1] for s in SHAPES[k]]))
    x = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    got = kron_matvec(fs, x)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    ref = reduce(np.kron, [f.numpy() for f in fs]) @ x.numpy()
    assert_close(got, ref, what=f"torch float64, {k} factors")


def test_kron_matvec_torch_float32_looser_tolerance():
    gen = torch.Generator().manual_seed(3)
    fs = [torch.randn(s, generator=gen) for s in SHAPES[3]]
    x = torch.randn(24, generator=gen)
    got = kron_matvec(fs, x)
    assert got.dtype == torch.float32
    ref = reduce(np.kron, [f.double().numpy() for f in fs]) @ x.double().numpy()
    assert_close(got, ref, rtol=1e-5, atol=1e-5, what="torch float32")


# --------------------------------------------------------------------------------------------------
# kron_matvec: NaN and Inf in every argument, the fast path and the checked path
# --------------------------------------------------------------------------------------------------
KINDS = [
    pytest.param("numpy", np.float64, id="numpy-float64"),
    pytest.param("numpy", np.float32, id="numpy-float32"),
    pytest.param("torch", torch.float64, id="torch-float64"),
    pytest.param("torch", torch.float32, id="torch-float32"),
    pytest.param("torch-grad", torch.float64, id="torch-grad-float64"),
    pytest.param("torch-grad", torch.float32, id="torch-grad-float32"),
]


def as_kind(a, kind, dtype):
    """A float64 numpy array as the given kind and dtype (a fresh copy); "torch-grad" tensors
    require grad, so that kron_matvec takes its differentiable torch route."""
    if kind == "numpy":
        return np.array(a, dtype=dtype)
    return torch.tensor(a, dtype=dtype, requires_grad=kind == "torch-grad")


def bad_entry_error(name, shape):
    where = re.escape(f"{name} (shape {tuple(shape)})")
    return rf"{where} holds 1 NaN or Inf entry; remove"


@pytest.mark.parametrize(("kind", "dtype"), KINDS)
@pytest.mark.parametrize("batch", [None, 2])
def test_kron_matvec_nan_inf_in_a_factor_raises_even_against_zeros(kind, dtype, batch):
    """Every entry of every factor, NaN, +Inf and -Inf in turn, with all other factors' entries
    and x such that the bad entry is multiplied by zeros only: a random x, then a unit vector
    (x = e_0: every column j > 0 of A_l meets only zeros), then x = 0 with zero factors."""
    rng = np.random.default_rng(7)
    shapes = SHAPES[3]
    n = int(np.prod([s[1] for s in shapes]))
    xshape = (n,) if batch is None else (n, batch)
    xs = [rng.standard_normal(xshape), np.zeros(xshape), np.zeros(xshape)]
    xs[1][0] = 1.0
    for l, (r, c) in enumerate(shapes):
        for i in range(r):
            for j in range(c):
                for bad in (np.nan, np.inf, -np.inf):
                    for case, x in enumerate(xs):
                        fs = [np.zeros(s) if case == 2 else rng.standard_normal(s) for s in shapes]
                        fs[l][i, j] = bad
                        args = [as_kind(f, kind, dtype) for f in fs]
                        with pytest.raises(
                            ValueError, match=bad_entry_error(f"factors[{l}]", (r, c))
                        ):
                            kron_matvec(args, as_kind(x, kind, dtype))


@pytest.mark.parametrize(("kind", "dtype"), KINDS)
@pytest.mark.parametrize("batch", [None, 2])
def test_kron_matvec_nan_inf_in_x_raises_even_against_zeros(kind, dtype, batch):
    """Every entry of x, NaN, +Inf and -Inf in turn, against random factors, factors with a zero
    column where the bad entry sits, and all-zero factors (Inf · 0 = NaN must still be seen)."""
    rng = np.random.default_rng(8)
    shapes = SHAPES[3]
    n = int(np.prod([s[1] for s in shapes]))
    xshape = (n,) if batch is None else (n, batch)
    for p in range(n):
        jj = np.unravel_index(p, [s[1] for s in shapes])
        for bad in (np.nan, np.inf, -np.inf):
            for case in range(3):
                fs = [np.zeros(s) if case == 2 else rng.standard_normal(s) for s in shapes]
                if case == 1:
                    for f, j in zip(fs, jj, strict=True):
                        f[:, j] = 0.0
                x = rng.standard_normal(xshape)
                x[(p,) if batch is None else (p, p % batch)] = bad
                args = [as_kind(f, kind, dtype) for f in fs]
                with pytest.raises(ValueError, match=bad_entry_error("x", xshape)):
                    kron_matvec(args, as_kind(x, kind, dtype))


@SETTINGS
@given(
    shapes=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=4),
    batch=st.one_of(st.none(), st.integers(1, 3)),
    where=st.integers(0, 10**6),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    density=st.sampled_from([0.0, 0.3, 1.0]),
    seed=st.integers(0, 2**31),
)
def test_kron_matvec_finds_nan_inf_among_zeros(shapes, batch, where, bad, density, seed):
    """Random shapes, factors and x with a given share of nonzero entries (0: all zeros), one
    bad entry anywhere: the error names the argument that holds it."""
    rng = np.random.default_rng(seed)

    def sparse(shape):
        return rng.standard_normal(shape) * (rng.random(shape) < density)

    n = int(np.prod([c for _, c in shapes]))
    fs = [sparse(s) for s in shapes]
    x = sparse((n,) if batch is None else (n, batch))
    args = [*fs, x]
    target = where % len(args)
    flat = args[target].reshape(-1)
    flat[(where // len(args)) % flat.size] = bad
    name = "x" if target == len(fs) else f"factors[{target}]"
    with pytest.raises(ValueError, match=bad_entry_error(name, args[target].shape)):
        kron_matvec(fs, x)


@pytest.mark.parametrize(("kind", "dtype"), KINDS)
def test_kron_matvec_nan_inf_found_at_benchmark_size(kind, dtype):
    """Three 25 × 25 factors (the BLAS kernels of the benchmark, not only small-matrix ones): a
    bad entry in each factor against a unit vector, in x against zero factors, and at the
    corners."""
    rng = np.random.default_rng(9)
    n = 25
    for l in range(3):
        for i, j in [(0, 0), (n - 1, n - 1), (3, 17), (20, 1)]:
            for bad in (np.nan, np.inf, -np.inf):
                fs = [rng.standard_normal((n, n)) for _ in range(3)]
                fs[l][i, j] = bad
                x = np.zeros(n**3)
                x[rng.integers(n**3)] = 1.0
                args = [as_kind(f, kind, dtype) for f in fs]
                with pytest.raises(ValueError, match=bad_entry_error(f"factors[{l}]", (n, n))):
                    kron_matvec(args, as_kind(x, kind, dtype))
    for p in [0, n**3 - 1, 7777]:
        x = rng.standard_normal(n**3)
        x[p] = np.inf
        zeros = [as_kind(np.zeros((n, n)), kind, dtype) for _ in range(3)]
        with pytest.raises(ValueError, match=bad_entry_error("x", (n**3,))):
            kron_matvec(zeros, as_kind(x, kind, dtype))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_kron_matvec_nan_with_requires_grad_raises(dtype):
    A = torch.ones(3, 2, dtype=dtype, requires_grad=True)
    B = torch.ones(2, 2, dtype=dtype)
    x = torch.ones(4, dtype=dtype)
    with pytest.raises(ValueError, match=bad_entry_error("x", (4,))):
        kron_matvec([A, B], torch.where(torch.arange(4) == 2, torch.nan, x))
    with pytest.raises(ValueError, match=bad_entry_error("factors[0]", (3, 2))):
        kron_matvec([A + torch.tensor([[0, 0], [0, torch.inf], [0, 0]], dtype=dtype), B], x)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_kron_matvec_requires_grad_backward_matches_torch_kron(dtype):
    """Tensors that require grad take the torch route: the result is tracked, in their dtype,
    and its gradients with respect to every argument match those through torch.kron."""
    gen = torch.Generator().manual_seed(5)
    A = torch.randn(3, 2, generator=gen, dtype=dtype, requires_grad=True)
    B = torch.randn(2, 4, generator=gen, dtype=dtype, requires_grad=True)
    x = torch.randn(8, 2, generator=gen, dtype=dtype, requires_grad=True)
    w = torch.randn(6, 2, generator=gen, dtype=dtype)
    y = kron_matvec([A, B], x)
    assert y.requires_grad and y.dtype == dtype
    (y * w).sum().backward()
    got = [t.grad.clone() for t in (A, B, x)]
    for t in (A, B, x):
        t.grad = None
    ((torch.kron(A, B) @ x) * w).sum().backward()
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    for g, t, name in zip(got, (A, B, x), "ABx", strict=True):
        assert_close(g, t.grad, rtol=tol, atol=tol, what=f"d/d{name}")


def test_kron_matvec_nan_raises_our_error_under_any_numpy_error_state():
    """The guard: numpy's flags inside the products never surface as warnings or
    FloatingPointError, whatever the caller's np.errstate; the clear ValueError does."""
    A, x = np.ones((2, 2)), np.ones(4)
    x[1] = np.nan
    with np.errstate(all="raise"), pytest.raises(ValueError, match=r"x \(shape \(4,\)\) holds"):
        kron_matvec([A, A], x)
    with np.errstate(all="raise"):
        y = kron_matvec([A, A], np.ones(4))
    np.testing.assert_array_equal(y, np.full(4, 4.0))


@pytest.mark.parametrize(("kind", "dtype"), KINDS)
def test_kron_matvec_overflow_is_let_through_silently(kind, dtype):
    """Finite inputs whose product overflows give ±inf, as documented: no error, no warning (the
    test suite turns warnings into errors). Huge finite entries that do not overflow are exact."""
    big = 1e200 if dtype in (np.float64, torch.float64) else 1e30
    A = as_kind([[big, big]], kind, dtype)
    y = kron_matvec([A, A], as_kind([1.0, 1.0, 1.0, -1.0], kind, dtype))
    got = y.detach().numpy() if kind != "numpy" else y
    assert got.shape == (1,) and np.isinf(got[0])  # big² (1 + 1 + 1 - 1) overflows
    S = as_kind([[big, 0.0], [0.0, big]], kind, dtype)
    tiny = as_kind([[1 / big, 0.0], [0.0, 1 / big]], kind, dtype)
    y = kron_matvec([S, tiny], as_kind([1.0, 2.0, 3.0, 4.0], kind, dtype))
    got = y.detach().numpy() if kind != "numpy" else y
    assert_close(got, [1.0, 2.0, 3.0, 4.0], rtol=1e-6, atol=0, what="huge finite factors")


def test_kron_matvec_empty_batch_still_checks_the_factors():
    A = np.ones((2, 2))
    assert kron_matvec([A, A], np.ones((4, 0))).shape == (4, 0)
    A[1, 0] = np.nan
    with pytest.raises(ValueError, match=bad_entry_error("factors[1]", (2, 2))):
        kron_matvec([np.ones((2, 2)), A], np.ones((4, 0)))


def test_kron_matvec_checked_path_agrees_with_the_fast_path():
    """Inputs the fast path leaves to the checked path give the same numbers: Fortran-ordered and
    strided factors and x, a big-endian array, a tuple, a numpy subclass, an nn.Parameter without
    grad, and the same factor object repeated."""
    rng = np.random.default_rng(11)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((2, 5))
    x = rng.standard_normal(20)
    ref = np.kron(A, B) @ x
    assert_close(kron_matvec([A, B], x), ref, what="fast path")
    assert_close(kron_matvec((np.asfortranarray(A), B), x), ref, what="Fortran-ordered A")
    strided = np.zeros(40)
    strided[::2] = x
    assert_close(kron_matvec([A, B], strided[::2]), ref, what="strided x")
    wide = np.zeros((3, 8))
    wide[:, ::2] = A
    assert_close(kron_matvec([wide[:, ::2], B], x), ref, what="strided A")
    assert_close(kron_matvec([A.astype(">f8"), B.astype(">f8")], x.astype(">f8")), ref, what="BE")
    sub = A.view(type("Sub", (np.ndarray,), {}))
    assert_close(np.asarray(kron_matvec([sub, B], x)), ref, what="ndarray subclass")
    P = torch.nn.Parameter(torch.from_numpy(A), requires_grad=False)
    got = kron_matvec([P, torch.from_numpy(B)], torch.from_numpy(x))
    assert_close(got, ref, what="nn.Parameter without grad")
    C = rng.standard_normal((3, 3))
    v = rng.standard_normal(27)
    assert_close(kron_matvec([C, C, C], v), reduce(np.kron, [C, C, C]) @ v, what="[C, C, C]")


@SETTINGS
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=5))
def test_transversal_meets_every_index_of_every_axis(shape):
    """The entries the fast path reads: max(shape) of them, every index of every axis among them."""
    from hessnotes.kron import _transversal

    idx = _transversal(tuple(shape))
    assert idx.shape == (max(shape),)
    for axis, values in enumerate(np.unravel_index(idx, shape)):
        assert set(values.tolist()) == set(range(shape[axis])), (shape, axis)


def test_fast_path_dtypes_are_the_policy_dtypes():
    """The fast path tests dtypes by identity; those dtypes must be the ones the shared policy
    accepts (the policy itself, check_float_dtype, judges every other dtype)."""
    from hessnotes._linalg import check_float_dtype
    from hessnotes.kron import _F32, _F64, _T32, _T64

    assert {_F32, _F64} == {np.zeros(1, np.float32).dtype, np.zeros(1).dtype}
    for a in [np.zeros(1, _F64), np.zeros(1, _F32), torch.zeros(1, dtype=_T64)]:
        check_float_dtype(a, "a")
    check_float_dtype(torch.zeros(1, dtype=_T32), "a")


# --------------------------------------------------------------------------------------------------
# Hypothesis properties of Kronecker products
# --------------------------------------------------------------------------------------------------
dims = st.integers(1, 4)


@SETTINGS
@given(m=dims, n=dims, p=dims, q=dims, r=dims, s=dims, seed=st.integers(0, 2**31))
def test_mixed_product(m, n, p, q, r, s, seed):
    """(A ⊗ B)(C ⊗ D) = (AC) ⊗ (BD), for A (m, n), C (n, r), B (p, q), D (q, s)."""
    rng = np.random.default_rng(seed)
    A, C = rng.standard_normal((m, n)), rng.standard_normal((n, r))
    B, D = rng.standard_normal((p, q)), rng.standard_normal((q, s))
    x = rng.standard_normal(r * s)
    lhs = kron_matvec([A, B], kron_matvec([C, D], x))
    assert_close(lhs, np.kron(A @ C, B @ D) @ x, what="mixed product")


@SETTINGS
@given(m=dims, n=dims, p=dims, q=dims, seed=st.integers(0, 2**31))
def test_transpose_of_kron(m, n, p, q, seed):
    """(A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ."""
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, n)), rng.standard_normal((p, q))
    y = rng.standard_normal((m * p, 2))
    assert_close(kron_matvec([A.T, B.T], y), np.kron(A, B).T @ y, what="transpose")


@SETTINGS
@given(m=dims, p=dims, c=dims, seed=st.integers(0, 2**31))
def test_inverse_of_kron(m, p, c, seed):
    """(A ⊗ B)⁻¹ = A⁻¹ ⊗ B⁻¹, for a chain of c + 1 well-conditioned square factors."""
    rng = np.random.default_rng(seed)
    sizes = [m, p, *([2] * (c - 1))]
    fs = [3 * np.eye(n) + rng.standard_normal((n, n)) / n for n in sizes]
    x = rng.standard_normal(int(np.prod(sizes)))
    got = kron_matvec([np.linalg.inv(f) for f in fs], x)
    assert_close(got, np.linalg.solve(reduce(np.kron, fs), x), rtol=1e-10, what="inverse")


@SETTINGS
@given(sizes=st.lists(st.integers(1, 4), min_size=2, max_size=3), seed=st.integers(0, 2**31))
def test_kron_sum_eigenvalues_are_all_sums(sizes, seed):
    rng = np.random.default_rng(seed)
    As = [sym(rng, n) for n in sizes]
    got = np.sort(kron_sum_eigvals(As))
    assert_close(got, np.linalg.eigvalsh(kron_sum_dense(As)), rtol=1e-11, what="eigvals")
    # np.kron order: the diagonal of the Kronecker sum of the diagonal matrices of eigenvalues.
    lams = [np.linalg.eigvalsh(a) for a in As]
    assert_close(
        kron_sum_eigvals(As), np.diag(kron_sum_dense([np.diag(v) for v in lams])), what="order"
    )


# --------------------------------------------------------------------------------------------------
# Kronecker sums and Sylvester equations against dense solves
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [(3, 4), (3, 2, 4), (2, 3, 2, 3)])
@pytest.mark.parametrize("batch", [None, 2])
def test_kron_sum_solve_matches_dense(sizes, batch):
    rng = np.random.default_rng(len(sizes))
    As = [sym(rng, n, shift=3.0) for n in sizes]
    N = int(np.prod(sizes))
    b = rng.standard_normal(N if batch is None else (N, batch))
    assert_close(
        kron_sum_solve(As, b), np.linalg.solve(kron_sum_dense(As), b), rtol=1e-10, what=f"{sizes}"
    )


def test_kron_sum_solve_indefinite_and_torch():
    rng = np.random.default_rng(7)
    As = [sym(rng, 3), sym(rng, 4, shift=0.5)]  # indefinite but nonsingular
    b = rng.standard_normal(12)
    ref = np.linalg.solve(kron_sum_dense(As), b)
    assert_close(kron_sum_solve(As, b), ref, rtol=1e-9, what="indefinite")
    got = kron_sum_solve([torch.from_numpy(a) for a in As], torch.from_numpy(b))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    assert_close(got, ref, rtol=1e-9, what="torch float64")
    got32 = kron_sum_solve([torch.from_numpy(a).float() for a in As], torch.from_numpy(b).float())
    assert got32.dtype == torch.float32
    assert_close(got32, ref, rtol=1e-3, atol=1e-4, what="torch float32")


def test_poisson_3d_with_second_difference():
    """T ⊕ T ⊕ T u = f for u = sin(πx) sin(2πy) sin(πz): f = 6π²u up to O(h²)."""
    n = 12
    T = second_difference(n)
    h = 1 / (n + 1)
    x = np.arange(1, n + 1) * h
    u = np.einsum("i,j,k->ijk", np.sin(np.pi * x), np.sin(2 * np.pi * x), np.sin(np.pi * x))
    lam = (2 - 2 * np.cos(np.pi * h)) / h**2 * 2 + (2 - 2 * np.cos(2 * np.pi * h)) / h**2
    got = kron_sum_solve([T, T, T], lam * u.reshape(-1))  # the discrete eigenfunction: exact
    assert_close(got, u.reshape(-1), rtol=1e-12, what="discrete eigenfunction")
    got = kron_sum_solve([T, T, T], 6 * np.pi**2 * u.reshape(-1))
    assert_close(got, u.reshape(-1), rtol=0.05, what="continuous solution, O(h^2)")


def test_second_difference():
    np.testing.assert_array_equal(second_difference(3, h=1), [[2, -1, 0], [-1, 2, -1], [0, -1, 2]])
    n = 5
    T = second_difference(n)
    assert_close(T, second_difference(n, h=1) * 36.0)
    lam = (2 - 2 * np.cos(np.arange(1, n + 1) * np.pi / (n + 1))) * 36.0
    assert_close(np.linalg.eigvalsh(T), lam, what="eigenvalues")


@pytest.mark.parametrize("m, n", [(3, 5), (4, 2)])
def test_solve_sylvester_sym(m, n):
    rng = np.random.default_rng(m * n)
    A, B, C = sym(rng, m, shift=2.0), sym(rng, n, shift=2.0), rng.standard_normal((m, n))
    X = solve_sylvester_sym(A, B, C)
    # vec(AX + XB) = (I ⊗ A + Bᵀ ⊗ I) vec(X)
    ref = np.linalg.solve(np.kron(np.eye(n), A) + np.kron(B.T, np.eye(m)), vec(C))
    assert_close(vec(X), ref, rtol=1e-10, what="dense")
    assert_close(A @ X + X @ B, C, rtol=1e-10, what="residual")
    Xt = solve_sylvester_sym(*(torch.from_numpy(M) for M in (A, B, C)))
    assert isinstance(Xt, torch.Tensor)
    assert_close(Xt, X, rtol=1e-10, what="torch")


# --------------------------------------------------------------------------------------------------
# Shuffles, rearrangement, nearest Kronecker product
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m, n", [(2, 3), (4, 1), (3, 3)])
def test_commutation(m, n):
    rng = np.random.default_rng(m + 10 * n)
    A = rng.standard_normal((m, n))
    K = commutation_matrix(m, n)
    np.testing.assert_array_equal(K @ vec(A), vec(A.T))
    np.testing.assert_array_equal(vec(A)[commutation_perm(m, n)], vec(A.T))
    np.testing.assert_array_equal(K.T, commutation_matrix(n, m))
    p, q = 2, 4
    B = rng.standard_normal((p, q))
    assert_close(
        commutation_matrix(p, m) @ np.kron(A, B) @ commutation_matrix(n, q),
        np.kron(B, A),
        what="K (A ⊗ B) K = B ⊗ A",
    )


@pytest.mark.parametrize("m1, n1, m2, n2", [(3, 2, 2, 2), (4, 3, 3, 2), (2, 5, 3, 4), (1, 3, 2, 1)])
def test_perfect_shuffle_swaps_factors(m1, n1, m2, n2):
    rng = np.random.default_rng(m1 * n1 * m2 * n2)
    B, C = rng.standard_normal((m1, n1)), rng.standard_normal((m2, n2))
    got = np.kron(B, C)[perfect_shuffle(m1, m2)][:, perfect_shuffle(n1, n2)]
    np.testing.assert_array_equal(got, np.kron(C, B))
    # Dealing cards into r piles, brute force.
    p, r = m1, m2
    dealt = [card for pile in range(r) for card in range(p * r) if card % r == pile]
    np.testing.assert_array_equal(perfect_shuffle(p, r), dealt)
    np.testing.assert_array_equal(perfect_shuffle(p, r), commutation_perm(r, p))


@pytest.mark.parametrize("m1, n1, m2, n2", [(3, 2, 2, 2), (4, 3, 3, 2), (2, 5, 3, 4), (1, 3, 2, 1)])
def test_rearrange_and_both_recipes(m1, n1, m2, n2):
    rng = np.random.default_rng(m1 + n1 + m2 + n2)
    A = rng.standard_normal((m1 * m2, n1 * n2))
    ref = R_loops(A, m1, n1, m2, n2)
    for f in (rearrange, rearrange_via_row_major, rearrange_via_column_major):
        np.testing.assert_array_equal(f(A, (m1, n1), (m2, n2)), ref, err_msg=f.__name__)
        got = f(torch.from_numpy(A), (m1, n1), (m2, n2))
        assert isinstance(got, torch.Tensor)
        np.testing.assert_array_equal(got.numpy(), ref, err_msg=f"{f.__name__} torch")
    B, C = rng.standard_normal((m1, n1)), rng.standard_normal((m2, n2))
    np.testing.assert_array_equal(
        rearrange(np.kron(B, C), (m1, n1), (m2, n2)), np.outer(vec(B), vec(C))
    )
    labels = np.array([[f"{i}{j}" for j in range(n1 * n2)] for i in range(m1 * m2)])
    np.testing.assert_array_equal(
        rearrange_via_row_major(labels, (m1, n1), (m2, n2)), R_loops(labels, m1, n1, m2, n2)
    )


def test_nearest_kronecker_exact_and_rank_two():
    rng = np.random.default_rng(5)
    (m1, n1), (m2, n2) = (3, 2), (2, 4)
    B1, C1 = rng.standard_normal((m1, n1)), rng.standard_normal((m2, n2))
    B2, C2 = rng.standard_normal((m1, n1)), rng.standard_normal((m2, n2))
    A = np.kron(B1, C1)
    approx = nearest_kronecker(A, (m1, n1), (m2, n2))
    assert isinstance(approx, KroneckerApprox) and approx.rank == 1
    assert approx.error < 1e-14, approx.error
    assert approx.singular_values.shape == (min(m1 * n1, m2 * n2),)
    assert_close(approx.dense(), A, what="rank-1 exact")
    assert_close(approx.B[0] * approx.C[0][0, 0], B1 * C1[0, 0], what="factor up to scale")
    A2 = A + np.kron(B2, C2)
    a1, a2 = (nearest_kronecker(A2, (m1, n1), (m2, n2), rank=r) for r in (1, 2))
    assert a2.error < 1e-14 and a1.error > 0.05
    assert_close(a2.dense(), A2, what="rank-2 exact")
    err1 = np.linalg.norm(A2 - a1.dense()) / np.linalg.norm(A2)
    assert abs(err1 - a1.error) < 1e-12, (err1, a1.error)
    s = np.linalg.svd(R_loops(A2, m1, n1, m2, n2), compute_uv=False)
    assert_close(a1.singular_values, s, what="Kronecker-rank spectrum")


@SETTINGS
@given(seed=st.integers(0, 2**31))
def test_nearest_kronecker_beats_perturbations(seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((6, 6))
    a = nearest_kronecker(A, (3, 2), (2, 3))
    best = np.linalg.norm(A - a.dense())
    for _ in range(5):
        B = a.B[0] + 1e-3 * rng.standard_normal((3, 2))
        C = a.C[0] + 1e-3 * rng.standard_normal((2, 3))
        assert np.linalg.norm(A - np.kron(B, C)) >= best - 1e-12


def test_nearest_kronecker_torch():
    gen = torch.Generator().manual_seed(2)
    B, C = (
        torch.randn(2, 3, generator=gen, dtype=torch.float64),
        torch.randn(4, 2, generator=gen, dtype=torch.float64),
    )
    A = torch.kron(B, C) + 1e-3 * torch.randn(8, 6, generator=gen, dtype=torch.float64)
    a = nearest_kronecker(A, (2, 3), (4, 2))
    assert isinstance(a.dense(), torch.Tensor) and isinstance(a.singular_values, torch.Tensor)
    ref = nearest_kronecker(A.numpy(), (2, 3), (4, 2))
    assert_close(a.dense(), ref.dense(), what="torch vs numpy")
    assert abs(a.error - ref.error) < 1e-12


# --------------------------------------------------------------------------------------------------
# Error paths
# --------------------------------------------------------------------------------------------------
def test_errors_kron_matvec():
    A, B = np.ones((3, 2)), np.ones((2, 4))
    with pytest.raises(ValueError, match=r"x has shape \(7,\).*\(8,\) or \(8, b\)"):
        kron_matvec([A, B], np.ones(7))
    with pytest.raises(ValueError, match=r"pass x.T"):
        kron_matvec([A, B], np.ones((3, 8)))
    with pytest.raises(ValueError, match=r"x has shape \(8, 1, 1\)"):
        kron_matvec([A, B], np.ones((8, 1, 1)))
    with pytest.raises(ValueError, match=r"Wrap a single matrix"):
        kron_matvec(A, np.ones(2))
    with pytest.raises(ValueError, match=r"non-empty list"):
        kron_matvec([], np.ones(2))
    with pytest.raises(ValueError, match=r"factors\[1\] has shape \(4,\)"):
        kron_matvec([A, np.ones(4)], np.ones(8))
    with pytest.raises(ValueError, match=r"factors\[0\] has shape \(0, 2\)"):
        kron_matvec([np.ones((0, 2))], np.ones(2))
    with pytest.raises(ValueError, match=r"x \(shape \(8,\)\) holds 1 NaN"):
        kron_matvec([A, B], np.r_[np.ones(7), np.nan])
    bad = A.copy()
    bad[0, 0], bad[2, 1] = np.inf, np.nan
    with pytest.raises(ValueError, match=r"factors\[0\] \(shape \(3, 2\)\) holds 2 NaN or Inf"):
        kron_matvec([bad, B], np.ones(8))
    with pytest.raises(TypeError, match=r"mix numpy arrays and torch tensors"):
        kron_matvec([A, torch.ones(2, 4)], np.ones(8))
    with pytest.raises(TypeError, match=r"has dtype <U1; .*float32 or float64"):
        kron_matvec([A, B], np.array(["a"] * 8))


def test_errors_kron_sum_and_sylvester():
    S = np.diag([1.0, 2.0, 3.0])
    N = np.array([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"As\[1\] \(shape \(2, 2\)\) is not symmetric.*Bartels"):
        kron_sum_solve([S, N], np.ones(6))
    with pytest.raises(ValueError, match=r"As\[0\] has shape \(3, 2\); it must be square"):
        kron_sum_solve([np.ones((3, 2))], np.ones(3))
    with pytest.raises(ValueError, match=r"singular within tolerance.*sum λ1\[0\] \+ λ2\[0\]"):
        kron_sum_solve([S, np.diag([5.0, -1.0])], np.ones(6))
    with pytest.raises(ValueError, match=r"b has shape \(5,\).*\(6,\) or \(6, r\)"):
        kron_sum_solve([S, np.eye(2)], np.ones(5))
    with pytest.raises(ValueError, match=r"b \(shape \(6,\)\) holds 1 NaN"):
        kron_sum_solve([S, np.eye(2)], np.r_[np.ones(5), np.inf])
    with pytest.raises(TypeError, match=r"complex128.*float32 or float64"):
        kron_sum_eigvals([S.astype(complex)])
    with pytest.raises(ValueError, match=r"is not symmetric"):
        kron_sum_eigvals([N])
    with pytest.raises(ValueError, match=r"^B \(shape \(2, 2\)\) is not symmetric"):
        solve_sylvester_sym(S, N, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"C has shape \(2, 3\).*need C of shape \(3, 2\)"):
        solve_sylvester_sym(S, np.eye(2), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Sylvester operator .* is singular"):
        solve_sylvester_sym(S, -np.eye(2), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"n must be a positive integer"):
        second_difference(0)
    with pytest.raises(ValueError, match=r"h must be a positive finite number"):
        second_difference(3, h=-1.0)


def test_errors_shuffles_and_rearrange():
    A = np.ones((6, 5))
    with pytest.raises(ValueError, match=r"A has shape \(6, 5\).*\(m1\*m2, n1\*n2\) = \(6, 4\)"):
        rearrange(A, (3, 2), (2, 2))
    with pytest.raises(ValueError, match=r"A has shape \(6, 5\)"):
        rearrange_via_row_major(A, (3, 2), (2, 2))
    with pytest.raises(ValueError, match=r"A has shape \(6, 5\)"):
        rearrange_via_column_major(A, (3, 2), (2, 2))
    with pytest.raises(ValueError, match=r"\(m1, n1\) must be a pair of positive integers"):
        rearrange(A, (3, 2, 1), (2, 2))
    with pytest.raises(ValueError, match=r"\(m2, n2\) must be a pair"):
        rearrange(A, (3, 5), (2, 0))
    with pytest.raises(ValueError, match=r"rank must be an integer in \[1, min.*= \[1, 4\]"):
        nearest_kronecker(np.ones((6, 4)), (3, 2), (2, 2), rank=5)
    with pytest.raises(ValueError, match=r"A \(shape \(6, 4\)\) holds 1 NaN"):
        nearest_kronecker(np.r_[np.ones((5, 4)), [[np.nan, 0, 0, 0]]], (3, 2), (2, 2))
    with pytest.raises(ValueError, match=r"m must be a positive integer"):
        commutation_matrix(0, 3)
    with pytest.raises(ValueError, match=r"r must be a positive integer"):
        perfect_shuffle(2, 2.5)
    with pytest.raises(ValueError, match=r"x has shape \(5,\), but shape \(2, 3\) needs"):
        unvec(np.ones(5), (2, 3))
    with pytest.raises(ValueError, match=r"0-D"):
        vec(np.float64(1.0))


# --------------------------------------------------------------------------------------------------
# Additions for the chapters: kron_sum_matvec
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(3, 4), (3, 2, 4), (2, 3, 2, 3)])
@pytest.mark.parametrize("batch", [None, 2])
def test_kron_sum_matvec_matches_dense(sizes, batch):
    rng = np.random.default_rng(20 + len(sizes))
    As = [rng.standard_normal((n, n)) for n in sizes]  # not symmetric: any square factors
    N = int(np.prod(sizes))
    x = rng.standard_normal(N if batch is None else (N, batch))
    assert_close(kron_sum_matvec(As, x), kron_sum_dense(As) @ x, what=f"{sizes}, batch={batch}")
    got = kron_sum_matvec([torch.from_numpy(a) for a in As], torch.from_numpy(x))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    assert_close(got, kron_sum_dense(As) @ x, what=f"torch {sizes}")


def test_kron_sum_matvec_inverts_kron_sum_solve():
    rng = np.random.default_rng(4)
    As = [sym(rng, n, shift=4.0) for n in (4, 3, 5)]
    b = rng.standard_normal(60)
    assert_close(kron_sum_matvec(As, kron_sum_solve(As, b)), b, rtol=1e-11, what="residual")


def test_kron_sum_matvec_errors():
    with pytest.raises(ValueError, match=r"As\[0\] has shape \(3, 2\); it must be square"):
        kron_sum_matvec([np.ones((3, 2))], np.ones(3))
    with pytest.raises(ValueError, match=r"x has shape \(5,\).*\(6,\) or \(6, b\)"):
        kron_sum_matvec([np.eye(3), np.eye(2)], np.ones(5))
    with pytest.raises(ValueError, match=r"x \(shape \(6,\)\) holds 1 NaN"):
        kron_sum_matvec([np.eye(3), np.eye(2)], np.r_[np.ones(5), np.nan])
    with pytest.raises(TypeError, match=r"mix numpy arrays and torch tensors"):
        kron_sum_matvec([np.eye(3)], torch.ones(3))
