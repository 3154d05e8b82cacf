"""Tests of hessnotes.checks._inputs: one calling convention (Domains, shapes, the reader's own
point), dtype follows the point, checks that cannot fail are refused, the right party is blamed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from checks_cases import (  # noqa: F401
    B24,
    B34,
    F32,
    F64,
    X100,
    A_4x5,
    _BadSquare,
    _dlogdet,
    _fitting,
    _fixed,
    _point,
    _tr_axb,
    _xax,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes import checks as C
from hessnotes.checks import (
    attempt,
    check_gradient,
    check_hessian,
    check_jvp,
    full_rank,
    general,
    spd,
)

T = torch.float64


inv = torch.linalg.inv


# --------------------------------------------------------------------------------------------------
# Bad usage
# --------------------------------------------------------------------------------------------------
def test_bad_usage_raises_clear_errors():
    with pytest.raises(ValueError, match="wrt=2, but there are 2 inputs; wrt is a Python index"):
        check_gradient(lambda x, y: x @ y, lambda x, y: y, general(3), general(3), wrt=2)
    with pytest.raises(ValueError, match="wrt=-1"):
        check_gradient(lambda x: x.sum(), lambda x: x, general(3), wrt=-1)
    with pytest.raises(ValueError, match=r"f returned shape \(3,\).*scalar"):
        check_gradient(lambda x: 2 * x, lambda x: 2 * torch.ones(3, dtype=T), general(3))
    with pytest.raises(ValueError, match="scalar"):
        check_hessian(lambda x: 2 * x, lambda x: torch.zeros(3, 3, dtype=T), general(3))
    with pytest.raises(ValueError, match="got 1 inputs but 2 tangents"):
        check_jvp(lambda x: x, lambda x, t: t, general(3), tangents=[None, None])
    with pytest.raises(ValueError, match="form='dense'"):
        check_hessian(
            lambda x: x @ x, lambda x: 2 * torch.eye(3, dtype=T), general(3), form="dense"
        )
    with pytest.raises(ValueError, match="needs m >= p"):
        full_rank(2, 3)
    with pytest.raises(TypeError, match="not a Domain"):
        check_gradient(lambda x: x.sum(), lambda x: x, "3x3")
    with pytest.raises(ValueError, match="unknown domain kind"):
        C.Domain((2, 2), "hermitian").sample(torch.Generator().manual_seed(0))


def test_wrong_shapes_are_reported():
    with pytest.raises(AssertionError, match=r"shape \(3, 2\), but the gradient .* \(2, 3\)"):
        check_gradient(lambda X: (X**2).sum(), lambda X: 2 * X.T, general(2, 3))
    with pytest.raises(AssertionError, match=r"shape \(6,\), expected \(6, 6\)"):
        check_hessian(lambda X: (X**2).sum(), lambda X: 2 * torch.ones(6, dtype=T), general(2, 3))
    with pytest.raises(AssertionError, match="the closed form returned NaN at index"):
        check_gradient(lambda x: x.sum(), lambda x: x * float("nan"), general(3))


# --------------------------------------------------------------------------------------------------
# One calling convention: Domains, shapes and the reader's own point
# --------------------------------------------------------------------------------------------------


def test_gradient_at_the_readers_own_torch_and_numpy_point():
    A = _fixed((4, 3), 7)
    X0 = _point((3, 4), 8)
    for X in (X0, X0.numpy()):
        r = check_gradient(lambda X: torch.trace(A @ X), lambda X: A.T, X, name="tr(AX)")
        assert r.passed and r.at_given_point and r.n_points == 1
        assert str(r).startswith("✓ gradient of tr(AX): float64, at the given point\n")
    # A numpy closed form at a numpy point; a fixed numpy input next to a Domain.
    An = A.numpy()
    r = check_gradient(
        lambda X, A: torch.trace(A @ X), lambda X, A: np.asarray(A).T, X0.numpy(), An
    )
    assert r.passed
    r = check_gradient(lambda X, A: torch.trace(A @ X), lambda X, A: A.T, general(3, 4), An)
    assert r.passed and r.n_points == 3 and not r.at_given_point


def test_mixed_numpy_and_torch_inputs_work():
    X = _point((3, 4), 15).numpy()
    A = _fixed((4, 3), 16)  # torch, next to a numpy point
    r = check_gradient(lambda X, A: torch.trace(A @ X), lambda X, A: A.T.numpy(), X, A)
    assert r.passed and r.at_given_point
    r = check_jvp(lambda X, A: A @ X, lambda X, A, H, dA: A @ H, X, A.numpy(), tangents=[None, 0])
    assert r.passed


def test_concrete_point_of_a_later_argument_and_domains_drawn_once():
    a, b = _point(3, 1), _point(2, 2)
    r = check_gradient(lambda X, a, b: a @ X @ b, lambda X, a, b: X @ b, general(3, 2), a, b, wrt=1)
    assert r.passed and r.at_given_point and r.n_points == 1


def test_jvp_and_hessian_at_the_readers_point():
    X0 = _point((4, 3), 3)
    r = check_jvp(lambda X: X.T @ X, lambda X, H: H.T @ X + X.T @ H, X0, name="XᵀX")
    assert r.passed and r.at_given_point
    H0 = _point((4, 3), 4)
    r = check_jvp(lambda X: X.T @ X, lambda X, H: H.T @ X + X.T @ H, X0, tangents=[H0.numpy()])
    assert r.passed
    A, B = C.sym(_fixed((4, 4), 5)), C.sym(_fixed((3, 3), 6))
    r = check_hessian(lambda X: 0.5 * torch.trace(X.T @ A @ X @ B), lambda X: torch.kron(B, A), X0)
    assert r.passed and r.at_given_point and r.kind == "Hessian"
    r = check_hessian(
        lambda x, A: x @ A @ x, lambda x, A, v: (A + A.T) @ v, _point(5, 7), general(5, 5),
        form="hvp",
    )  # fmt: skip
    assert r.passed


def test_hessian_with_respect_to_a_later_argument():
    def f(A, u, w):
        return u @ A @ w + (A**3).sum()

    def hess(A, u, w, U, V):
        return 6 * (A * U * V).sum()

    ins = (general(3, 2), general(3), general(2))
    assert check_hessian(f, hess, *ins, wrt=0, form="bilinear").passed
    with pytest.raises(AssertionError, match="Hessian, point 1 of 3, vs autograd"):
        check_hessian(f, lambda *a: hess(*a) / 2, *ins, form="bilinear")


def test_old_list_form_and_bare_ints_are_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"unpacked: check_jvp\(f, jvp, general\(3\), spd\(3\)\)"):
        check_jvp(lambda x: x, lambda x, t: t, [general(3)])
    with pytest.raises(TypeError, match=r"give a shape as a tuple, \(3,\)"):
        check_gradient(lambda x: x.sum(), lambda x: torch.ones_like(x), 3)
    with pytest.raises(TypeError, match="complex"):
        check_gradient(lambda x: x.abs().sum(), lambda x: x, np.ones(3) * 1j)
    with pytest.raises(TypeError, match="tangents=Domain"):
        check_jvp(lambda x: x, lambda x, t: t, general(3), tangents=general(3))
    with pytest.raises(
        ValueError, match=r"the tangent of x has shape \(2,\) but x has shape \(3,\)"
    ):
        check_jvp(lambda x: x, lambda x, t: t, general(3), tangents=[np.ones(2)])


# --------------------------------------------------------------------------------------------------
# dtype follows the point
# --------------------------------------------------------------------------------------------------
def test_default_tolerances_follow_machine_epsilon():
    for dt, eps in ((T, 2.0**-52), (F32, 2.0**-23)):
        d = C.default_tolerances(dt)
        assert d == {
            "rtol": eps**0.5,
            "atol": eps**0.75,
            "fd_rtol": eps ** (1 / 3),
            "fd_rtol_hessian": eps**0.25,
        }
    with pytest.raises(ValueError, match="floating dtype"):
        C.default_tolerances(torch.int64)


@pytest.mark.parametrize("kind", ["torch", "numpy"])
def test_float32_point_is_checked_in_float32(kind):
    X = _point((5, 3), 9, F32)
    X = X if kind == "torch" else X.numpy()
    seen, seen_by_grad = [], []

    def f(X):
        seen.append(X.dtype)
        return torch.logdet(X.T @ X)

    def grad(X):
        seen_by_grad.append(X.dtype)
        return 2 * X @ torch.linalg.inv(X.T @ X)

    r = check_gradient(f, grad, X, name="log det XᵀX")
    assert r.passed and r.dtype == "float32" and set(seen_by_grad) == {F32}
    # Autograd runs at the float32 point; the differences are taken in float64 where f allows.
    assert seen[0] == F32 and F64 in seen
    assert "float32, at the given point" in str(r)
    d = C.default_tolerances(F32)
    assert r.tol("autograd") == d["rtol"] and r.tol("central differences") == d["fd_rtol"]
    # The closed form may return float64 numpy: it is compared in float32.
    r = check_gradient(f, lambda X: grad(X).numpy().astype(np.float64), X)
    assert r.passed
    with pytest.raises(AssertionError, match=r"vs autograd \(float32\)"):
        check_gradient(f, lambda X: grad(X).T @ X @ X.T, X)  # wrong, shape (3, 5)... transposed
    with pytest.raises(AssertionError, match=r"vs autograd \(float32\)"):
        check_gradient(f, lambda X: 1.001 * grad(X), X)  # 1e-3 off: above float32's rtol


def test_float32_only_f_takes_its_differences_in_float32():
    W = _point((3, 3), 13, F32)  # a float32 constant inside f: f fails on float64 inputs

    def f(X):
        return ((W @ X) ** 2).sum()

    X = _point((3, 2), 14, F32)
    r = check_gradient(f, lambda X: 2 * W.T @ W @ X, X)
    assert r.passed and r.dtype == "float32"
    r = check_gradient(f, lambda X: W.T @ W @ X, X, raises=False)
    assert "factor" in _fitting(r)


def test_float32_jvp_and_hessian_and_fixed_float64_inputs_are_cast():
    X = _point((4, 4), 10, F32)
    A = _fixed((4, 4), 11)  # float64, cast to the point's float32
    r = check_jvp(lambda X, A: X @ A @ X, lambda X, A, H, dA: H @ A @ X + X @ A @ H, X, A,
                  tangents=[None, 0])  # fmt: skip
    assert r.passed and r.dtype == "float32"
    x = _point(4, 12, F32)
    r = check_hessian(lambda x, A: x @ A @ x, lambda x, A: A + A.T, x, A)
    assert r.passed and r.dtype == "float32"
    assert r.tol("central differences") == C.default_tolerances(F32)["fd_rtol_hessian"]
    with pytest.raises(AssertionError, match=r"\(float32\)"):
        check_hessian(lambda x, A: x @ A @ x, lambda x, A: 2 * A, x, A)


def test_differentiated_inputs_of_two_dtypes_are_refused():
    with pytest.raises(
        ValueError,
        match=r"\(x is float32, y is float64\); give them one dtype, e\.g\. x\.to\(torch\.float64",
    ):
        check_jvp(lambda x, y: x * y, lambda x, y, dx, dy: dx * y + x * dy,
                  _point(3, 1, F32), _point(3, 2))  # fmt: skip


def test_domains_alone_check_in_float64():
    r = check_gradient(lambda x: (x**3).sum(), lambda x: 3 * x**2, general(2, 2))
    assert r.passed and r.dtype == "float64"


@pytest.mark.parametrize(
    ("point", "fix"),
    [
        (np.arange(4).reshape(2, 2), r"X\.astype\(np\.float64\)"),
        (torch.arange(4).reshape(2, 2), r"X\.to\(torch\.float64\)"),
        (np.ones((2, 2), dtype=np.float16), r"X\.astype\(np\.float64\)"),
        (torch.ones(2, 2, dtype=torch.bfloat16), r"X\.to\(torch\.float64\)"),
        (torch.ones(2, 2, dtype=torch.float16), r"X\.to\(torch\.float64\)"),
        (np.ones((2, 2), dtype=bool), r"X\.astype\(np\.float64\)"),
    ],
    ids=["numpy int", "torch int", "numpy float16", "bfloat16", "torch float16", "bool"],
)
def test_points_outside_the_dtype_policy_are_refused_with_the_argument_and_the_cast(point, fix):
    # The library's one dtype policy: refused, never cast silently (a float16 check passed a
    # 2 %-wrong gradient: its tolerances were 3e-2 and 9e-2).
    def f(X, A):
        return (A @ X).pow(2).sum()

    def grad(X, A):
        return 2 * A.T @ A @ X

    for call in (
        lambda: check_gradient(f, grad, point, general(2, 2)),
        lambda: check_jvp(f, lambda X, A, H, dA: (grad(X, A) * H).sum(), point, general(2, 2)),
        lambda: check_hessian(f, lambda X, A: torch.eye(4), point, general(2, 2)),
        lambda: attempt(check_gradient, f, grad, point, general(2, 2)),
    ):
        with pytest.raises(TypeError, match=rf"^X has dtype .*not cast silently.*{fix}"):
            call()
    # A fixed input is named as well.
    with pytest.raises(TypeError, match=r"^A has dtype"):
        check_gradient(f, grad, general(2, 2), point)


def test_a_two_percent_error_is_never_passed_whatever_the_dtype():
    X = _point((3, 2), 40)
    A = _fixed((4, 3), 41)

    def f(X):
        return ((A.to(X.dtype) @ X) ** 2).sum()

    def grad(X):
        return 1.02 * 2 * A.to(X.dtype).T @ A.to(X.dtype) @ X  # 2 % too large

    for dt in (F32, F64):
        r = check_gradient(f, grad, X.to(dt), raises=False)
        assert not r.passed and "factor" in _fitting(r)
    for dt in (torch.float16, torch.bfloat16):
        with pytest.raises(TypeError, match="float32 or float64 only"):
            check_gradient(f, grad, X.to(dt))


# --------------------------------------------------------------------------------------------------
# Checks that cannot fail are refused
# --------------------------------------------------------------------------------------------------
def test_points_below_one_are_refused():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(
            ValueError,
            match=r"points must be a positive integer \(a check with no points cannot fail\)",
        ):
            check_gradient(lambda x: (x**2).sum(), lambda x: 3 * x, (3,), points=bad)
    with pytest.raises(ValueError, match="points=0"):
        check_jvp(lambda x: x, lambda x, t: t, (3,), points=0)
    with pytest.raises(ValueError, match="points=0"):
        check_hessian(lambda x: x @ x, lambda x: 2 * torch.eye(3, dtype=T), (3,), points=0)
    with pytest.raises(ValueError, match="concrete point, so the check runs once"):
        check_gradient(lambda x: (x**2).sum(), lambda x: 2 * x, np.ones(3), points=3)


def test_empty_inputs_are_refused():
    with pytest.raises(ValueError, match=r"X has shape \(0, 3\), no entries"):
        check_gradient(lambda X: X.sum(), lambda X: torch.ones_like(X), general(0, 3))
    with pytest.raises(ValueError, match=r"x has shape \(0,\), no entries"):
        check_gradient(lambda x: x.sum(), lambda x: torch.ones_like(x), np.ones(0))
    with pytest.raises(ValueError, match="y has shape"):
        check_jvp(lambda x, y: x, lambda x, y, dx, dy: dx, (2,), torch.ones(2, 0))
    with pytest.raises(ValueError, match="f returned an empty tensor"):
        check_jvp(lambda x: x[:0], lambda x, t: t[:0], (3,))
    with pytest.raises(ValueError, match="every tangent is 0"):
        check_jvp(lambda x: x, lambda x, t: t, (3,), tangents=[0])


@pytest.mark.parametrize("which", ["gradient", "jvp", "matrix", "hvp", "bilinear"])
def test_a_closed_form_returning_none_is_refused(which):
    f = lambda x: (x**2).sum()  # noqa: E731
    none = lambda *a: None  # noqa: E731
    with pytest.raises(TypeError, match=r"returned None at point 1: it must return .*cannot fail"):
        if which == "gradient":
            check_gradient(f, none, (3,))
        elif which == "jvp":
            check_jvp(f, none, (3,))
        else:
            check_hessian(f, none, (3,), form=which)


def test_other_zero_counts_and_tolerances_are_refused():
    f, g = (lambda x: (x**2).sum()), (lambda x: 2 * x)
    with pytest.raises(ValueError, match="fd_directions=0"):
        check_gradient(f, g, (3,), fd_directions=0)
    with pytest.raises(ValueError, match="probes=0"):
        check_hessian(f, lambda x: 2 * torch.eye(3, dtype=T), (3,), probes=0)
    with pytest.raises(ValueError, match="rtol=-1"):
        check_gradient(f, g, (3,), rtol=-1)
    with pytest.raises(TypeError, match="grad returned str"):
        check_gradient(f, lambda x: "2x", (3,))


# --------------------------------------------------------------------------------------------------
# Blame the right party
# --------------------------------------------------------------------------------------------------
def test_f_returning_nan_at_the_point_blames_f():
    X = -torch.eye(3, dtype=T)  # det = -1: log det is NaN here
    with pytest.raises(ValueError, match=r"f returned NaN at the given point; is the point inside"):
        check_gradient(torch.logdet, lambda X: torch.linalg.inv(X), X)
    with pytest.raises(ValueError, match="f returned NaN at the given point"):
        attempt(check_gradient, torch.logdet, lambda X: torch.linalg.inv(X), X)
    with pytest.raises(ValueError, match="f returned Inf at point 1"):
        check_jvp(lambda x: 1 / (x - x), lambda x, t: t, (3,))
    with pytest.raises(ValueError, match="f returned NaN at the given point"):
        check_hessian(torch.logdet, lambda X: torch.eye(9, dtype=T), X)


def test_f_leaving_its_domain_within_one_step_blames_f():
    x = torch.tensor([1e-7, 1.0], dtype=T)  # x - h < 0: log is NaN one step away
    with pytest.raises(ValueError, match="within one difference step of the edge of f's domain"):
        check_gradient(lambda x: torch.log(x).sum(), lambda x: 1 / x, x)


def test_f_returning_a_non_tensor_or_detached_result_blames_f():
    with pytest.raises(TypeError, match="f returned float at point 1, not a torch tensor"):
        check_gradient(lambda x: (x**2).sum().item(), lambda x: 2 * x, (3,))
    with pytest.raises(TypeError, match="f returned ndarray"):
        check_jvp(lambda x: x.detach().numpy() * 2, lambda x, t: 2 * t, (3,))
    with pytest.raises(ValueError, match="detached from x"):
        check_gradient(lambda x: (x.detach() ** 2).sum(), lambda x: 2 * x, (3,))
    with pytest.raises(ValueError, match="detached from x"):
        check_jvp(lambda x: torch.tensor(x.tolist()) * 2, lambda x, t: 2 * t, (3,))
    with pytest.raises(ValueError, match="detached from x"):
        check_hessian(lambda x: (x.detach() ** 2).sum(), lambda x: 2 * torch.eye(3), (3,))
    with pytest.raises(ValueError, match=r"f returned shape \(3,\); check_gradient needs a scalar"):
        check_gradient(lambda x: x**2, lambda x: 2 * x, (3,))


def test_autograd_nan_where_f_is_finite_blames_f():
    with pytest.raises(ValueError, match="not differentiable there"):
        check_gradient(lambda x: x.abs().sqrt().sum(), lambda x: x, torch.zeros(2, dtype=T))


def test_the_closed_form_is_blamed_for_its_own_shape_and_nan():
    r = check_gradient(lambda X: X.sum(), lambda X: torch.ones(6, dtype=T), (2, 3), raises=False)
    assert not r and "the closed form has shape (6,), but the gradient has the shape" in str(r)
    r = check_jvp(lambda X: X @ X.T, lambda X, H: H, general(2, 3), raises=False)
    assert "the closed form has shape (2, 3), but f's output has shape (2, 2)" in str(r)
    r = check_gradient(lambda x: x.sum(), lambda x: x / 0 * 0, (3,), raises=False)
    assert "the closed form returned NaN at index (0,)" in str(r)
    r = check_hessian(lambda x: (x**2).sum(), lambda x, v: v[:2], (3,), form="hvp", raises=False)
    assert "the closed form returned shape (2,) for H v, expected (3,)" in str(r)
    r = check_hessian(lambda x: (x**2).sum(), lambda x, u, v: u * v, (3,), form="bilinear",
                      raises=False)  # fmt: skip
    assert "returned shape (3,); with form='bilinear' it must return the scalar" in str(r)
    r = check_hessian(lambda x: (x**2).sum(), lambda x: torch.eye(2), (3,), raises=False)
    assert "the closed form has shape (2, 2), expected (3, 3)" in str(r)


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(
    m=st.integers(1, 5),
    n=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([T, F32]),
    as_numpy=st.booleans(),
)
def test_property_the_readers_point_any_dtype_kind_and_shape(m, n, seed, dtype, as_numpy):
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(m, generator=gen, dtype=T), torch.randn(n, generator=gen, dtype=T)
    X = torch.randn(m, n, generator=gen, dtype=T).to(dtype)
    X = X.numpy() if as_numpy else X

    def f(X):
        return a.to(X.dtype) @ X @ b.to(X.dtype)

    r = check_gradient(f, lambda X: torch.outer(a, b), X)
    assert r.passed and r.dtype == str(dtype).removeprefix("torch.") and r.at_given_point
    assert all(len(line) <= 88 for line in str(r).splitlines())
    wrong = torch.outer(b, a)
    if wrong.shape == (m, n) and torch.allclose(wrong, torch.outer(a, b), rtol=1e-3, atol=1e-3):
        return  # the transpose is (nearly) right here
    r = check_gradient(f, lambda X: wrong, X, raises=False)
    assert not r.passed
    assert {"transpose", "transposed shape"} & set(_fitting(r)), r


# --------------------------------------------------------------------------------------------------
# NaN/Inf in points and tangents, memory, devices
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_a_point_or_tangent_is_refused_naming_it_and_its_first_entry(bad):
    X = np.eye(3)
    X[1, 2] = bad
    for call in (
        lambda: check_gradient(torch.logdet, lambda X: inv(X), X),
        lambda: check_hessian(torch.logdet, lambda X: torch.eye(9), X),
        lambda: check_jvp(torch.logdet, _dlogdet, X),
        lambda: attempt(check_gradient, torch.logdet, lambda X: inv(X), X),
    ):
        with pytest.raises(ValueError, match=r"^X \(shape \(3, 3\)\) holds NaN or Inf, first at "
                           r"index \(1, 2\)"):  # fmt: skip
            call()
    with pytest.raises(ValueError, match=r"^A \(shape \(3, 3\)\) holds NaN or Inf"):
        check_gradient(lambda x, A: x @ A @ x, lambda x, A: (A + A.T) @ x, general(3), X)
    with pytest.raises(ValueError, match=r"^the tangent of X \(shape \(3, 3\)\) holds NaN"):
        check_jvp(torch.logdet, _dlogdet, spd(3), tangents=[X])
    with pytest.raises(
        TypeError, match=r"^the tangent of X has dtype int64.*\.astype\(np\.float64"
    ):
        check_jvp(torch.logdet, _dlogdet, spd(3), tangents=[np.eye(3, dtype=int)])


def test_nan_that_f_returns_at_a_finite_point_is_still_fs_domain():
    with pytest.raises(ValueError, match="f returned NaN at the given point; is the point inside"):
        check_gradient(torch.logdet, lambda X: inv(X), -np.eye(3))


def test_huge_checks_are_refused_before_allocating_naming_the_input_and_the_memory():
    said = (
        r"^check_gradient with X of shape \(100000, 100000\) \(about 26 float64 arrays .* would "
        r"need 2\.08 TB of memory \(limit 2\.15 GB.*MAX_DENSE_BYTES\)\. Check the formula on a "
        r"smaller X"
    )
    with pytest.raises(ValueError, match=said):
        check_gradient(lambda X: (X**2).sum(), lambda X: 2 * X, general(100_000, 100_000))
    with pytest.raises(ValueError, match=r"^check_hessian with x of shape \(10000000,\)"):
        check_hessian(lambda x: (x**2).sum(), lambda x, v: 2 * v, general(10**7), form="hvp")
    with pytest.raises(ValueError, match=r"^check_jvp with X of shape \(30000, 30000\)"):
        check_jvp(lambda X: X**2, lambda X, H: 2 * X * H, general(30_000, 30_000))


def test_inputs_on_two_devices_get_the_device_hint_not_a_dtype_hint():
    x = torch.ones(3, device="meta", dtype=torch.float32)  # meta: a device without memory
    with pytest.raises(ValueError, match=r"^x is on device meta but y is on device cpu; .*"
                       r"e\.g\. y\.to\('meta'\)"):  # fmt: skip
        check_jvp(lambda x, y: x * y, lambda x, y, dx, dy: dx * y + x * dy, x, _point(3, 1))
