"""Tests of hessnotes.checks: correct formulas pass, wrong ones are caught with a useful message.

Every closed form here is written out by hand; the checks compare it with torch.func and with
central differences, so a test that passes a wrong formula would be a bug in the checks.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes import checks as C
from hessnotes.checks import (
    CheckResult,
    check_gradient,
    check_hessian,
    check_jvp,
    full_rank,
    general,
    invertible,
    orthogonal,
    positive,
    spd,
    symmetric,
)

T = torch.float64
inv = torch.linalg.inv


def _fixed(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=T)


# --------------------------------------------------------------------------------------------------
# Correct formulas pass
# --------------------------------------------------------------------------------------------------
A45 = _fixed((4, 5), 1)  # tr(A X B) with X (5, 3), A (4, 5), B (3, 4)
B34 = _fixed((3, 4), 2)

GRADIENTS = [
    # (name, f, grad, inputs, wrt)
    (
        "||A - x xᵀ||², general A",
        lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
        lambda x, A: -2 * (A + A.T - 2 * torch.outer(x, x)) @ x,
        (general(5), general(5, 5)),
        0,
    ),
    (
        "tr(A X B), rectangular",
        lambda X: torch.trace(A45 @ X @ B34),
        lambda X: A45.T @ B34.T,
        (general(5, 3),),
        0,
    ),
    ("log det X, SPD", torch.logdet, lambda X: inv(X), (spd(4),), 0),
    (
        "log|det X|, invertible",
        lambda X: torch.linalg.slogdet(X)[1],
        lambda X: inv(X).T,
        (invertible(3),),
        0,
    ),
    (
        "tr((XᵀX)⁻¹XᵀAX), full rank",
        lambda X, A: torch.trace(inv(X.T @ X) @ X.T @ A @ X),
        lambda X, A: (
            (torch.eye(5, dtype=T) - X @ inv(X.T @ X) @ X.T) @ (A + A.T) @ X @ inv(X.T @ X)
        ),
        (full_rank(5, 3), general(5, 5)),
        0,
    ),
    (
        "tr(A Q), orthogonal Q",
        lambda Q, A: torch.trace(A @ Q),
        lambda Q, A: A.T,
        (orthogonal(3), general(3, 3)),
        0,
    ),
    ("Σ log x, positive", lambda x: torch.log(x).sum(), lambda x: 1 / x, (positive(4),), 0),
    (
        "aᵀ X b in a (second argument)",
        lambda X, a, b: a @ X @ b,
        lambda X, a, b: X @ b,
        (general(3, 2), general(3), general(2)),
        1,
    ),
]


@pytest.mark.parametrize(
    ("name", "f", "grad", "inputs", "wrt"), GRADIENTS, ids=[g[0] for g in GRADIENTS]
)
def test_correct_gradients_pass(name, f, grad, inputs, wrt):
    r = check_gradient(f, grad, *inputs, wrt=wrt, name=name)
    assert isinstance(r, CheckResult) and r.passed
    assert r.n_points == 3
    assert r.error("autograd") <= 1e-9 and r.error("central differences") <= 1e-6


def test_gradient_with_fixed_numpy_input_and_random_directions():
    A = np.arange(12.0).reshape(3, 4)  # a fixed numpy array is held constant at every point
    r = check_gradient(
        lambda X, A: torch.trace(A @ X), lambda X, A: A.T, general(4, 3), A, fd_directions=4
    )
    assert r.passed and r.n_points == 3


JVPS = [
    ("X⁻¹", lambda X: inv(X), lambda X, H: -inv(X) @ H @ inv(X), [invertible(3)]),
    ("XᵀX", lambda X: X.T @ X, lambda X, H: H.T @ X + X.T @ H, [general(4, 3)]),
    (
        "(XᵀX)⁻¹",
        lambda X: inv(X.T @ X),
        lambda X, H: -inv(X.T @ X) @ (H.T @ X + X.T @ H) @ inv(X.T @ X),
        [full_rank(5, 2)],
    ),
    (
        "A X B (both)",
        lambda A, X: A @ X @ B34,
        lambda A, X, dA, dX: dA @ X @ B34 + A @ dX @ B34,
        [general(4, 5), general(5, 3)],
    ),
    ("scalar log det", torch.logdet, lambda X, H: torch.trace(inv(X) @ H), [spd(3)]),
]


@pytest.mark.parametrize(("name", "f", "jvp", "inputs"), JVPS, ids=[j[0] for j in JVPS])
def test_correct_jvps_pass(name, f, jvp, inputs):
    r = check_jvp(f, jvp, *inputs, name=name)
    assert r.passed and r.kind == "JVP" and r.n_points == 3


def test_jvp_zero_tangent_holds_input_fixed_and_tangent_domains():
    # d(A X) with A held fixed (tangent 0) is A dX; symmetric tangents from a Domain spec.
    r = check_jvp(
        lambda A, X: A @ X,
        lambda A, X, dA, dX: A @ dX,
        general(2, 3),
        general(3, 4),
        tangents=[0, None],
    )
    assert r.passed
    r = check_jvp(
        lambda X: X @ X, lambda X, H: H @ X + X @ H, general(3, 3), tangents=[symmetric(3)]
    )
    assert r.passed


# Hessian of f(x) = xᵀ A x + Σ sin x: A + Aᵀ - diag(sin x); f(X) = ½ tr(Xᵀ A X B) for symmetric
# A, B has Hessian B ⊗ A with respect to the column-major vec(X).
def _f_vec(x, A):
    return x @ A @ x + torch.sin(x).sum()


def _h_vec(x, A):
    return A + A.T - torch.diag(torch.sin(x))


@pytest.mark.parametrize("form", ["matrix", "hvp", "bilinear"])
def test_correct_hessians_pass_in_all_forms(form):
    if form == "matrix":
        hess = _h_vec
    elif form == "hvp":

        def hess(x, A, v):
            return _h_vec(x, A) @ v
    else:

        def hess(x, A, u, v):
            return u @ _h_vec(x, A) @ v

    r = check_hessian(_f_vec, hess, general(4), general(4, 4), form=form, name=form)
    assert r.passed and r.kind == "Hessian"


def test_matrix_hessian_is_with_respect_to_column_major_vec():
    A, B = C.sym(_fixed((3, 3), 3)), C.sym(_fixed((2, 2), 4))

    def f(X):
        return 0.5 * torch.trace(X.T @ A @ X @ B)

    assert check_hessian(f, lambda X: torch.kron(B, A), general(3, 2)).passed
    # Row-major vec would give A ⊗ B: the check must reject it.
    with pytest.raises(AssertionError, match="Hessian, point 0 of 3, vs autograd"):
        check_hessian(f, lambda X: torch.kron(A, B), general(3, 2))


# --------------------------------------------------------------------------------------------------
# Wrong formulas are caught
# --------------------------------------------------------------------------------------------------
def test_missing_transpose_is_caught():
    A = torch.arange(9.0, dtype=T).reshape(3, 3)
    with pytest.raises(AssertionError) as exc:
        check_gradient(lambda X: torch.trace(A @ X), lambda X: A, general(3, 3))
    msg = str(exc.value)
    # Autograd gives exactly Aᵀ, so the worst entry and both values are exact integers.
    assert msg.startswith("gradient, point 0 of 3, vs autograd (float64):\n")
    assert "max rel. error 5.0e-01 exceeds rtol 1e-08" in msg
    assert "worst entry (0, 2): closed form 2, reference 6" in msg and "max |reference| 8)" in msg
    assert "diagnosis: the transpose of the closed form matches autograd" in msg


def test_missing_transpose_on_rectangular_input_is_a_shape_error():
    with pytest.raises(AssertionError, match=r"shape \(4, 5\), but the gradient .* \(5, 4\)"):
        check_gradient(lambda X: torch.trace(A45 @ X), lambda X: A45, general(5, 4))


def test_missing_factor_two_is_caught():
    with pytest.raises(AssertionError, match=r"max rel\. error 5\.0e-01 exceeds rtol"):
        check_gradient(lambda x, A: x @ A @ x, lambda x, A: A @ x, general(4), symmetric(4))


def test_symmetric_only_formula_on_general_matrix_is_caught():
    def f(x, A):
        return x @ A @ x

    def g_sym(x, A):
        return 2 * A @ x  # valid only when A = Aᵀ

    assert check_gradient(f, g_sym, general(4), symmetric(4)).passed
    with pytest.raises(AssertionError, match="gradient, point 0 of 3, vs autograd"):
        check_gradient(f, g_sym, general(4), general(4, 4))
    # The seed's Exercise 1 in its symmetric form, -4 (A - x xᵀ) x, on a general A:
    with pytest.raises(AssertionError, match="vs autograd"):
        check_gradient(
            lambda x, A: ((A - torch.outer(x, x)) ** 2).sum(),
            lambda x, A: -4 * (A - torch.outer(x, x)) @ x,
            general(5),
            general(5, 5),
        )


def test_wrong_jvp_is_caught():
    with pytest.raises(AssertionError, match="JVP of XᵀX, point 0 of 3, vs autograd"):
        check_jvp(lambda X: X.T @ X, lambda X, H: 2 * X.T @ H, general(4, 3), name="XᵀX")
    with pytest.raises(AssertionError, match="vs autograd"):  # X⁻¹ H X⁻¹ without the minus sign
        check_jvp(lambda X: inv(X), lambda X, H: inv(X) @ H @ inv(X), invertible(3))


@pytest.mark.parametrize("form", ["matrix", "hvp", "bilinear"])
def test_wrong_hessian_is_caught_in_all_forms(form):
    def wrong(x, A):
        return 2 * A - torch.diag(torch.sin(x))  # symmetric-A formula for a general A

    hess = {
        "matrix": wrong,
        "hvp": lambda x, A, v: wrong(x, A) @ v,
        "bilinear": lambda x, A, u, v: u @ wrong(x, A) @ v,
    }[form]
    with pytest.raises(AssertionError, match="Hessian, point 0 of 3, vs autograd"):
        check_hessian(_f_vec, hess, general(4), general(4, 4), form=form)


class _BadSquare(torch.autograd.Function):
    """x² with a wrong backward (3x instead of 2x): autograd itself is wrong here."""

    @staticmethod
    def forward(x):
        return x**2

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * g

    @staticmethod
    def vmap(info, in_dims, x):
        return _BadSquare.apply(x), in_dims[0]


def test_central_differences_catch_what_a_wrong_autograd_rule_hides():
    # The closed form agrees with the (wrong) autograd rule; only the differences can catch it.
    with pytest.raises(AssertionError, match="point 0 of 3, vs central differences"):
        check_gradient(lambda x: _BadSquare.apply(x).sum(), lambda x: 3 * x, general(3))


def test_failure_message_names_point_reference_index_values_and_tolerance():
    # Correct at the first points, wrong at point 2 only (and only in entry (1, 0)).
    calls = []

    def grad(X):
        calls.append(1)
        G = X.clone()
        if len(calls) == 3:
            G[1, 0] += 1.0
        return G

    with pytest.raises(AssertionError) as exc:
        check_gradient(lambda X: 0.5 * (X**2).sum(), grad, general(2, 3), rtol=1e-8)
    msg = str(exc.value)
    assert msg.startswith("gradient, point 2 of 3, vs autograd")
    assert "worst entry (1, 0)" in msg and "rtol 1e-08" in msg
    m = re.search(r"closed form (\S+), reference (\S+)$", msg, re.M)
    assert m and abs(float(m.group(1)) - float(m.group(2)) - 1.0) < 1e-6


# --------------------------------------------------------------------------------------------------
# Gradients on the symmetric matrices
# --------------------------------------------------------------------------------------------------
def test_symmetric_tangent_gradient_is_sym_of_unconstrained():
    a, b = _fixed(4, 5), _fixed(4, 6)

    def f(X):
        return a @ X @ b

    G = torch.outer(a, b)
    # On symmetric matrices with symmetric tangents, sym(G) passes and G itself (not symmetric,
    # but equal on symmetric directions) does not, since the gradient must lie in the tangent space.
    assert check_gradient(f, lambda X: C.sym(G), symmetric(4, tangent="symmetric")).passed
    with pytest.raises(AssertionError, match="vs autograd"):
        check_gradient(
            f, lambda X: G + G.T - torch.diag(torch.diagonal(G)), symmetric(4, tangent="symmetric")
        )


def test_symmetric_tangent_log_det():
    assert check_gradient(torch.logdet, lambda X: inv(X), spd(4, tangent="symmetric")).passed
    with pytest.raises(AssertionError, match="vs autograd"):
        check_gradient(
            torch.logdet,
            lambda X: 2 * inv(X) - torch.diag(torch.diagonal(inv(X))),
            spd(4, tangent="symmetric"),
        )


# --------------------------------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------------------------------
def test_domains_sample_what_they_promise():
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        S = symmetric(4).sample(gen)
        torch.testing.assert_close(S, S.T, rtol=0, atol=0)
        P = spd(4).sample(gen)
        assert torch.equal(P, P.T) and torch.linalg.eigvalsh(P).min() >= 1 - 1e-12
        M = invertible(4).sample(gen)
        assert torch.linalg.svdvals(M).min() > 0.1
        F = full_rank(5, 3).sample(gen)
        assert F.shape == (5, 3) and torch.linalg.svdvals(F).min() > 0.1
        Q = orthogonal(3).sample(gen)
        torch.testing.assert_close(Q.T @ Q, torch.eye(3, dtype=T), rtol=0, atol=1e-14)
        assert positive(2, 3).sample(gen).min() >= 0.5
        assert general(2, 3).sample(gen).dtype == T
    d = symmetric(3, tangent="symmetric").direction(gen)
    assert torch.equal(d, d.T) and abs(torch.linalg.norm(d).item() - 1) < 1e-14


def test_points_are_seeded_and_repeatable():
    args = (torch.logdet, lambda X: inv(X), spd(3))
    r1, r2 = check_gradient(*args, seed=7), check_gradient(*args, seed=7)
    assert r1.comparisons == r2.comparisons
    assert check_gradient(*args, points=5).n_points == 5


def test_domain_str():
    assert str(spd(3, tangent="symmetric")) == "spd 3×3, symmetric tangents"
    assert str(general(2, 5)) == "general 2×5"


# --------------------------------------------------------------------------------------------------
# Bad usage
# --------------------------------------------------------------------------------------------------
def test_bad_usage_raises_clear_errors():
    with pytest.raises(ValueError, match="wrt=2 but only 2 inputs"):
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
# The result object
# --------------------------------------------------------------------------------------------------
def test_check_result_str_and_html():
    r = check_gradient(torch.logdet, lambda X: inv(X), spd(3), name="log det X")
    s = str(r)
    assert s == repr(r)
    assert re.fullmatch(
        r"✓ gradient of log det X: float64, 3 points\n"
        r"  max rel\. error: autograd \d\.\de[+-]\d\d \(tol 1e-08\), "
        r"central differences \d\.\de[+-]\d\d \(tol 6e-06\)",
        s,
    ), s
    h = r._repr_html_()
    assert h.startswith("<table><caption>✓ gradient of log det X: float64, 3 points</caption>")
    assert h.count("<tr>") == 3 and h.count("pass") == 2
    eps = torch.finfo(T).eps
    assert r.tol("autograd") == eps**0.5 and r.tol("central differences") == eps ** (1 / 3)
    bad = check_gradient(torch.logdet, lambda X: -inv(X), spd(3), raises=False)
    assert not bad and str(bad).startswith("✗ gradient, point 0 of 3, vs autograd (float64):")
    assert bad._repr_html_().startswith("<pre>✗ gradient")
    html_name = check_gradient(
        lambda x: x.sum(), lambda x: torch.ones(2, dtype=T), general(2), name="<b>"
    )._repr_html_()
    assert "&lt;b&gt;" in html_name and "<b>" not in html_name


@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_property_outer_product_gradient_and_its_transpose(m, n, seed):
    # ∇(aᵀ X b) = a bᵀ for every shape; the transpose b aᵀ fails whenever it differs from a bᵀ.
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(m, generator=gen, dtype=T), torch.randn(n, generator=gen, dtype=T)
    assert check_gradient(lambda X: a @ X @ b, lambda X: torch.outer(a, b), general(m, n)).passed
    wrong = torch.outer(b, a)
    if wrong.shape == (m, n) and torch.allclose(wrong, torch.outer(a, b), rtol=1e-6, atol=1e-9):
        return  # m = n = 1, or a ∥ b by chance: the transpose is right
    with pytest.raises(AssertionError, match="vs autograd"):
        check_gradient(lambda X: a @ X @ b, lambda X: wrong, general(m, n), points=1)


# ---------------------------------------------------------------------------- check_close
def test_check_close_passes_and_prints_a_verdict():
    from hessnotes.checks import check_close, check_error

    a = np.arange(6.0).reshape(3, 2)
    v = check_close("a", a + 1e-14, a, 1e-12)
    assert str(v).startswith("✓ a: rel. error ") and str(v).endswith("(tol 1e-12)")
    assert "max rel. error" in str(check_close("a", torch.tensor(a), a, 1e-12, norm="max"))
    assert "✓ zero: error" in str(check_close("zero", np.zeros(3), np.zeros(3), 1e-12))
    assert str(check_error("e", 1e-13, 1e-12)).startswith("✓ e: rel. error")
    z = np.array([1 + 2j, 3 - 1j])
    assert "rel. error" in str(check_close("complex", z * (1 + 1e-15), z, 1e-12))
    with pytest.raises(AssertionError):
        check_close("complex", z.conj(), z, 1e-6)  # the imaginary part is not dropped


def test_check_close_catches_and_names_the_worst_entry():
    from hessnotes.checks import check_close, check_error

    a = np.arange(6.0).reshape(3, 2)
    b = a.copy()
    b[2, 0] += 1.0
    with pytest.raises(AssertionError, match=r"index \(2, 0\): got 5, want 4"):
        check_close("a", b, a, 1e-6)
    with pytest.raises(AssertionError, match="exceeds tol"):
        check_close("nan", np.array([np.nan]), np.array([1.0]), 1e-6)
    with pytest.raises(ValueError, match="shape"):
        check_close("s", a, a.T, 1e-6)
    with pytest.raises(AssertionError, match="exceeds tol"):
        check_error("e", 2e-12, 1e-12)
