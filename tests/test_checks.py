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
    _report,
    attempt,
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
    with pytest.raises(AssertionError, match="Hessian, point 1 of 3, vs autograd"):
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
    assert msg.startswith("gradient, point 1 of 3, vs autograd (float64):\n")
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
    with pytest.raises(AssertionError, match="gradient, point 1 of 3, vs autograd"):
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
    with pytest.raises(AssertionError, match="JVP of XᵀX, point 1 of 3, vs autograd"):
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
    with pytest.raises(AssertionError, match="Hessian, point 1 of 3, vs autograd"):
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
    with pytest.raises(AssertionError, match="point 1 of 3, vs central differences"):
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
    assert msg.startswith("gradient, point 3 of 3, vs autograd")
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
    assert not bad and str(bad).startswith("✗ gradient, point 1 of 3, vs autograd (float64):")
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


# ---------------------------------------------------------------------------- check_raises
def test_check_raises_prints_the_type_and_the_message(capsys):
    from hessnotes.checks import check_raises

    with check_raises("inv refuses a singular matrix", np.linalg.LinAlgError, "Singular") as r:
        np.linalg.inv(np.zeros((2, 2)))
    assert capsys.readouterr().out == (
        "✓ inv refuses a singular matrix: LinAlgError: Singular matrix\n"
    )
    assert isinstance(r.error, np.linalg.LinAlgError) and str(r).startswith("✓ inv refuses")
    with check_raises("a subclass counts", (KeyError, ValueError)):
        {}["k"]
    assert capsys.readouterr().out.startswith("✓ a subclass counts: KeyError: 'k'")


def test_check_raises_wraps_a_long_message_below_the_verdict(capsys):
    from hessnotes.checks import check_raises

    with check_raises("short", ValueError):
        raise ValueError("word " * 60 + "\nsecond line")
    head, *lines = capsys.readouterr().out.splitlines()
    assert head == "✓ short: ValueError" and len(lines) == 3 and lines[-1].endswith(" …")
    assert all(s.startswith("  word word") and len(s) <= 88 for s in lines)
    assert "second line" not in "".join(lines)  # only the first line of the message
    with check_raises("a name long enough", TypeError):
        raise TypeError("word " * 10)
    (line,) = capsys.readouterr().out.splitlines()
    assert line == "✓ a name long enough: TypeError: " + ("word " * 10).strip()


def test_check_raises_shows_the_message_up_to_the_clause_it_matched(capsys):
    from hessnotes.checks import check_raises

    message = "A is not symmetric: at step 2, q = -0.0231228 (deviation 9.7e-01). Fix: sym(A)"
    with check_raises("refuses", ValueError, "not symmetric"):
        raise ValueError(message)
    with check_raises("refuses", ValueError, "q ="):
        raise ValueError(message)
    with check_raises("refuses", ValueError, "Fix"):
        raise ValueError("first line\nsecond line; Fix: sym(A)")
    assert capsys.readouterr().out.splitlines() == [
        "✓ refuses: ValueError: A is not symmetric",
        "✓ refuses: ValueError: A is not symmetric: at step 2, q = -0.0231228",
        "✓ refuses: ValueError: second line; Fix",
    ]


def test_check_raises_fails_on_nothing_another_type_or_another_message(capsys):
    from hessnotes.checks import check_raises

    with pytest.raises(AssertionError, match="nothing was raised; expected ValueError"):
        with check_raises("refuses", ValueError):
            pass
    with pytest.raises(AssertionError, match="expected ValueError, but TypeError") as info:
        with check_raises("refuses", ValueError):
            raise TypeError("wrong kind")
    assert isinstance(info.value.__cause__, TypeError)  # the reader's traceback is kept
    with pytest.raises(AssertionError, match="does not contain 'symmetric'"):
        with check_raises("refuses", ValueError, "symmetric"):
            raise ValueError("singular")
    with pytest.raises(KeyboardInterrupt):
        with check_raises("never swallowed", ValueError):
            raise KeyboardInterrupt
    assert capsys.readouterr().out == ""
    with pytest.raises(TypeError, match="exception class"):
        check_raises("misuse", "ValueError")
    with pytest.raises(TypeError, match="exception class"):
        check_raises("misuse", ())
    with pytest.raises(TypeError, match="contains is int"):
        check_raises("misuse", ValueError, 3)


# --------------------------------------------------------------------------------------------------
# One calling convention: Domains, shapes and the reader's own point
# --------------------------------------------------------------------------------------------------
F32, F64 = torch.float32, torch.float64


def _point(shape, seed, dtype=T):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=T).to(dtype)


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
# The diagnosis of common slips: each is a computed comparison, printed with its error
# --------------------------------------------------------------------------------------------------
A_4x5, B24 = _fixed((4, 5), 21), _fixed((2, 4), 22)  # tr(A X B) with X (5, 2): gradient Aᵀ Bᵀ
M53 = _fixed((5, 3), 23)


def _tr_axb(X):
    return torch.trace(A_4x5 @ X @ B24)


def _sq(X):  # ||M X||²_F with X (3, 2): gradient 2 Mᵀ M X
    return ((M53 @ X) ** 2).sum()


def _xax(X, A):  # tr(Xᵀ A X), X (5, 3), A (5, 5): gradient (A + Aᵀ) X
    return torch.trace(X.T @ A @ X)


def _fitting(result):
    return [f.slip for f in result.diagnosis if f.fits]


DIAGNOSES = [
    # (slip, call, text shown)
    (
        "transposed shape",
        lambda: check_gradient(_tr_axb, lambda X: B24 @ A_4x5, general(5, 2), raises=False),
        "(2, 5) is the transpose of X's shape; the transpose of the closed form matches",
    ),
    (
        "transpose",
        lambda: check_jvp(
            lambda X, A: X.T @ A @ X,
            lambda X, A, H, dA: (H.T @ A @ X + X.T @ A @ H).T,
            general(5, 3),
            general(5, 5),
            tangents=[None, 0],
            raises=False,
        ),
        "the transpose of the closed form matches autograd",
    ),
    (
        "sign",
        lambda: check_gradient(_tr_axb, lambda X: -A_4x5.T @ B24.T, general(5, 2), raises=False),
        "−1 × the closed form matches autograd",
    ),
    (
        "factor",
        lambda: check_gradient(_sq, lambda X: M53.T @ M53 @ X, general(3, 2), raises=False),
        "2 × the closed form matches autograd",
    ),
    (
        "factor",
        lambda: check_gradient(_sq, lambda X: 4 * M53.T @ M53 @ X, general(3, 2), raises=False),
        "½ × the closed form matches autograd",
    ),
    (
        "factor",
        lambda: check_gradient(_sq, lambda X: 3 * M53.T @ M53 @ X, general(3, 2), raises=False),
        "c × the closed form matches autograd for the fitted c = 0.666667",
    ),
    (
        "symmetric input",
        lambda: check_gradient(
            _xax, lambda X, A: 2 * A @ X, general(5, 3), general(5, 5), raises=False
        ),
        "right when A is symmetric",
    ),
    (
        "symmetric part",
        lambda: check_gradient(
            lambda X: torch.trace(A_4x5[:3, :3] @ X),
            lambda X: C.sym(A_4x5[:3, :3]),
            general(3, 3),
            raises=False,
        ),
        "the closed form is the symmetric part (R + Rᵀ)/2 of the right answer R",
    ),
    (
        "not symmetric",
        lambda: check_gradient(
            lambda X: M53[:, 0] @ X @ M53[:, 1],
            lambda X: torch.outer(M53[:, 0], M53[:, 1]),
            symmetric(5, tangent="symmetric"),
            raises=False,
        ),
        "on the symmetric matrices the gradient is sym(G) = (G + Gᵀ)/2",
    ),
    (
        "not symmetric",
        lambda: check_jvp(lambda X: X.T @ X, lambda X, H: 2 * X.T @ H, general(5, 3), raises=False),
        "the symmetric part (C + Cᵀ)/2 of the closed form C matches autograd",
    ),
    (
        "entrywise",
        lambda: check_gradient(
            torch.logdet,
            lambda X: 2 * inv(X) - torch.diag(torch.diagonal(inv(X))),
            spd(4, tangent="symmetric"),
            raises=False,
        ),
        "the closed form C is the entrywise derivative 2 sym(G) − Diag(G)",
    ),
    (
        "row-major vec",
        lambda: check_hessian(
            lambda X, A, B: 0.5 * torch.trace(X.T @ A @ X @ B),
            lambda X, A, B: torch.kron(A, B),
            general(3, 2),
            spd(3),
            spd(2),
            raises=False,
        ),
        "the closed form is the Hessian for the row-major vec",
    ),
    (
        "sign",
        lambda: check_hessian(
            lambda x, A: x @ A @ x,
            lambda x, A, v: -(A + A.T) @ v,
            general(4),
            general(4, 4),
            form="hvp",
            raises=False,
        ),
        "−1 × the closed form matches autograd",
    ),
    (
        "factor",
        lambda: check_hessian(
            lambda x, A: x @ A @ x,
            lambda x, A, u, v: u @ A @ v,
            general(4),
            symmetric(4),
            form="bilinear",
            raises=False,
        ),
        "2 × the closed form matches autograd",
    ),
    (
        "autograd",
        lambda: check_gradient(
            lambda x: _BadSquare.apply(x).sum(), lambda x: 3 * x, general(3, 2), raises=False
        ),
        "agrees with autograd (rel. error 0.0e+00) but not with central differences",
    ),
]


@pytest.mark.parametrize(
    ("slip", "call", "text"), DIAGNOSES, ids=[f"{d[0]}-{i}" for i, d in enumerate(DIAGNOSES)]
)
def test_each_diagnosis_fits_with_its_computed_error_and_is_printed(slip, call, text):
    r = call()
    assert isinstance(r, CheckResult) and not r.passed
    assert slip in _fitting(r), f"{slip} not found in {[(f.slip, f.error) for f in r.diagnosis]}"
    (fit,) = [f for f in r.diagnosis if f.slip == slip and f.fits]
    assert fit.error <= r.tol("autograd") or slip == "autograd"
    assert f"(rel. error {fit.error:.1e}" in fit.text  # the error shown is the one computed
    flat = " ".join(str(r).split())
    assert text in flat and "diagnosis:" in flat
    assert all(len(line) <= 88 for line in str(r).splitlines()), str(r)


def test_the_diagnosis_is_in_the_assertion_message_too():
    with pytest.raises(AssertionError) as exc:
        check_gradient(_xax, lambda X, A: 2 * A @ X, general(5, 3), general(5, 5))
    msg = " ".join(str(exc.value).split())
    assert "diagnosis: the closed form is right when A is symmetric" in msg


def test_no_fitting_slip_is_said_with_the_error_of_each_fix():
    r = check_gradient(_sq, lambda X: M53.T @ M53 @ X + X**2, general(3, 2), raises=False)
    assert not _fitting(r)
    flat = " ".join(str(r).split())
    assert "diagnosis: none of the usual slips fits (rel. error after each fix: sign" in flat
    assert re.search(r"factor -?\d\.\d+ \d\.\de[+-]\d\d", flat)


def test_a_symmetric_formula_on_symmetric_inputs_is_not_misdiagnosed():
    # Correct on symmetric A: passes; no diagnosis is computed for a passing check.
    r = check_gradient(_xax, lambda X, A: 2 * A @ X, general(5, 3), symmetric(5))
    assert r.passed and r.diagnosis == ()


# --------------------------------------------------------------------------------------------------
# Fast defaults still catch the slips at 100 × 100
# --------------------------------------------------------------------------------------------------
N100 = 100
A100 = _fixed((N100, N100), 31) / 10
X100 = _point((N100, N100), 32)


SLIPS_100 = [
    ("transpose", lambda X: torch.trace(A100 @ X), lambda X: A100),
    ("sign", lambda X: torch.trace(A100 @ X), lambda X: -A100.T),
    ("factor", lambda X: (X**2).sum(), lambda X: X),
    ("factor", lambda X: (X**2).sum(), lambda X: 3 * X),
    ("symmetric part", lambda X: torch.trace(A100 @ X), lambda X: C.sym(A100)),
    ("symmetric input", lambda X, A: torch.trace(X.T @ A @ X), lambda X, A: 2 * A @ X),
]


@pytest.mark.parametrize(("slip", "f", "g"), SLIPS_100, ids=[s[0] for s in SLIPS_100])
def test_default_check_at_100x100_catches_and_diagnoses_each_slip(slip, f, g):
    args = (X100, A100) if slip == "symmetric input" else (X100,)
    r = check_gradient(f, g, *args, raises=False)
    assert not r.passed and slip in _fitting(r)
    with pytest.raises(AssertionError):
        check_gradient(f, g, *args)
    # The right formula passes with the same defaults.
    right = {
        "transpose": lambda X: A100.T,
        "sign": lambda X: A100.T,
        "factor": lambda X: 2 * X,
        "symmetric part": lambda X: A100.T,
        "symmetric input": lambda X, A: (A + A.T) @ X,
    }[slip]
    assert check_gradient(f, right, *args).passed


def test_default_check_at_100x80_catches_the_transposed_shape_and_a_wrong_autograd_rule():
    A = _fixed((80, N100), 33)
    X = _point((N100, 80), 34)
    r = check_gradient(lambda X: torch.trace(A @ X), lambda X: A, X, raises=False)
    assert "transposed shape" in _fitting(r)
    r = check_gradient(lambda x: _BadSquare.apply(x).sum(), lambda x: 3 * x, X, raises=False)
    assert not r.passed and _fitting(r) == ["autograd"]
    assert "differences along 20 random directions" in str(r.note)


def test_default_check_at_100x100_on_symmetric_matrices_catches_the_symmetric_slips():
    S = spd(N100, tangent="symmetric")
    r = check_gradient(torch.logdet, lambda X: inv(X), S)
    assert r.passed and "differences along 20 random directions" in r.note
    r = check_gradient(
        torch.logdet, lambda X: 2 * inv(X) - torch.diag(torch.diagonal(inv(X))), S, raises=False
    )
    assert "entrywise" in _fitting(r)
    a, b = _point(N100, 38), _point(N100, 39)
    r = check_gradient(lambda X: a @ X @ b, lambda X: torch.outer(a, b),
                       symmetric(N100, tangent="symmetric"), raises=False)  # fmt: skip
    assert "not symmetric" in _fitting(r)


def test_large_jvp_and_hessian_defaults():
    X = _point((30, 20), 35)
    assert check_jvp(lambda X: X.T @ X, lambda X, H: H.T @ X + X.T @ H, X).passed
    r = check_jvp(lambda X: X.T @ X, lambda X, H: 2 * X.T @ H, X, raises=False)
    assert "not symmetric" in _fitting(r)
    x = _point(150, 36)  # above 100 entries: Hessian-vector products, not the full Hessian
    A = _fixed((150, 150), 37)
    r = check_hessian(lambda x, A: x @ A @ x, lambda x, A: A + A.T, x, A)
    assert r.passed and "Hessian-vector products" in r.note
    r = check_hessian(lambda x, A: x @ A @ x, lambda x, A, v: 2 * A @ v, x, A, form="hvp",
                      raises=False)  # fmt: skip
    assert "symmetric input" in _fitting(r)
    r = check_hessian(lambda x, A: x @ A @ x, lambda x, A: -(A + A.T), x, A, raises=False)
    assert "sign" in _fitting(r)


# --------------------------------------------------------------------------------------------------
# raises=False and attempt: the reader's exercise cell
# --------------------------------------------------------------------------------------------------
def test_attempt_with_a_stub_prints_not_attempted_and_returns_none(capsys):
    def my_gradient(X):
        return None  # the reader's stub

    def my_hessian(x, v):
        raise NotImplementedError

    assert attempt(check_gradient, lambda X: (X**2).sum(), my_gradient, X100) is None
    assert capsys.readouterr().out == (
        "not attempted yet — fill in my_gradient above and re-run this cell\n"
    )
    assert attempt(check_hessian, lambda x: (x**2).sum(), my_hessian, (3,), form="hvp") is None
    assert "fill in my_hessian above" in capsys.readouterr().out
    assert attempt(check_jvp, lambda x: x, lambda x, t: None, (3,)) is None
    assert "fill in the formula above" in capsys.readouterr().out


def test_attempt_returns_a_verdict_and_never_raises_on_a_wrong_formula(capsys):
    def my_gradient(X):
        return X  # should be 2X

    r = attempt(check_gradient, lambda X: (X**2).sum(), my_gradient, _point((3, 2), 1))
    assert isinstance(r, CheckResult) and not r.passed and capsys.readouterr().out == ""
    s = str(r)
    assert s.startswith("✗ gradient of my_gradient, the given point, vs autograd (float64):")
    assert "2 × the closed form matches autograd" in " ".join(s.split())
    r = attempt(check_gradient, lambda X: (X**2).sum(), lambda X: 2 * X, _point((3, 2), 1))
    assert r.passed and str(r).startswith("✓ gradient: float64, at the given point")
    r = attempt(check_gradient, lambda X: X.sum(), lambda X: torch.ones(2), (2, 3))
    assert not r.passed and "the closed form has shape (2,)" in str(r)


def test_attempt_raises_on_misuse():
    f, g = (lambda x: (x**2).sum()), (lambda x: 2 * x)
    with pytest.raises(TypeError, match="give check_gradient, check_jvp or check_hessian"):
        attempt(print, f, g, (3,))
    with pytest.raises(TypeError, match="drop raises="):
        attempt(check_gradient, f, g, (3,), raises=True)
    with pytest.raises(TypeError, match="formula is int"):
        attempt(check_gradient, f, 3, (3,))
    with pytest.raises(ValueError, match="points=0"):
        attempt(check_gradient, f, g, (3,), points=0)
    with pytest.raises(TypeError, match="not a Domain"):
        attempt(check_gradient, f, g, "3x3")


def test_raises_false_returns_the_passed_result_unchanged():
    a = check_gradient(torch.logdet, lambda X: inv(X), spd(3))
    b = check_gradient(torch.logdet, lambda X: inv(X), spd(3), raises=False)
    assert a == b and a.passed and bool(b)


def test_long_names_keep_every_verdict_line_within_88_characters():
    r = check_gradient(lambda X: (X**2).sum(), lambda X: 2 * X, X100, name="a rather long name")
    lines = str(r).splitlines()
    assert len(lines) == 3 and all(len(x) <= 88 for x in lines)
    assert lines[1] == "  (differences along 20 random directions)"


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


@settings(max_examples=15, deadline=None)
@given(c=st.floats(-4, 4).filter(lambda c: abs(c - 1) > 0.01 and abs(c) > 0.05))
def test_property_a_scaled_gradient_is_diagnosed_with_the_inverse_factor(c):
    r = check_gradient(_sq, lambda X: c * 2 * M53.T @ M53 @ X, general(3, 2), raises=False)
    fits = [f for f in r.diagnosis if f.fits]
    assert fits and fits[0].slip in ("factor", "sign")
    if fits[0].slip == "factor":
        assert fits[0].error <= 1e-12


# --------------------------------------------------------------------------------------------------
# The reader's terms: names, not numbers counted from zero; a shape slip with the reader's line
# --------------------------------------------------------------------------------------------------
_X32 = np.arange(6.0).reshape(3, 2) / 7 - 0.3  # the reader's numpy point X (3, 2) ...
_A43 = np.arange(12.0).reshape(4, 3) / 11 + np.eye(4, 3)  # ... and constant A (4, 3)


def _f_ax(X, A):
    return ((A @ X) ** 2).sum()


def _grad_ax_wrong_shapes(X, A):
    return 2 * A @ A.T @ X  # (4, 4) @ (3, 2): should be Aᵀ A X


def test_a_shape_slip_in_the_readers_formula_is_a_failed_check_in_the_readers_terms(capsys):
    r = attempt(check_gradient, _f_ax, _grad_ax_wrong_shapes, _X32, _A43)
    assert isinstance(r, CheckResult) and not r.passed and capsys.readouterr().out == ""
    s = str(r)
    assert s.startswith("✗ gradient of _grad_ax_wrong_shapes, the given point, vs autograd")
    flat = " ".join(s.split())
    assert "_grad_ax_wrong_shapes failed on the shapes of its arrays, at line" in flat
    assert "\n      return 2 * A @ A.T @ X  # (4, 4) @ (3, 2)" in s  # the reader's own line
    assert (
        "A matrix product L @ R with L of shape (4, 4) and R of shape (3, 2): the inner sizes "
        "4 and 3 differ." in flat
    )
    assert "Its arrays: X (3, 2), A (4, 3) (your numpy arrays reach it as torch tensors" in flat
    assert "(3, 2) is the shape of X." in flat
    assert "mat1" not in s and "4x4" not in s and not re.search(r"\binput \d", s)
    assert all(len(line) <= 88 for line in s.splitlines())
    # Raised, it is an AssertionError that does not chain torch's message and frames.
    with pytest.raises(AssertionError) as exc:
        check_gradient(_f_ax, _grad_ax_wrong_shapes, _X32, _A43)
    assert exc.value.__suppress_context__ and "L of shape (4, 4)" in str(exc.value)


def test_a_shape_slip_in_jvp_and_hessian_forms_and_torch_words_for_torch_inputs():
    X = torch.from_numpy(_X32)
    r = check_jvp(lambda X: X.T @ X, lambda X, H: H @ X, X, raises=False)  # (3, 2) @ (3, 2)
    flat = " ".join(str(r).split())
    assert "the closed form failed on the shapes of its arrays" in flat
    assert "Its tensors: X (3, 2), H (3, 2)." in flat and "numpy" not in flat
    r = check_hessian(lambda x: (x**4).sum(), lambda x, v: 12 * x.reshape(3, 1) @ v, (3,),
                      form="hvp", raises=False)  # fmt: skip
    assert "matrix-vector product M @ v with M of shape (3, 1)" in " ".join(str(r).split())


def test_errors_that_are_not_shape_slips_still_propagate():
    def broken(X, A):
        return X.no_such_method()

    with pytest.raises(AttributeError):
        attempt(check_gradient, _f_ax, broken, _X32, _A43)


def _messages():
    """Every refusal and diagnosis a reader may meet that names an input."""
    inv_ = torch.linalg.inv
    calls = [
        lambda: check_gradient(_f_ax, lambda X, A: A, np.ones(0), _A43),
        lambda: check_gradient(_f_ax, lambda X, A: X, _X32, np.arange(12).reshape(4, 3)),
        lambda: check_gradient(_f_ax, lambda X, A: X, _X32 * np.nan, _A43),
        lambda: check_jvp(
            lambda x, y: x * y, lambda x, y, dx, dy: dx, _point(3, 1, F32), _point(3, 2)
        ),
        lambda: check_jvp(lambda x: x, lambda x, t: t, general(3), tangents=[np.ones(2)]),
        lambda: check_gradient(lambda x: (x.detach() ** 2).sum(), lambda x: 2 * x, (3,)),
        lambda: check_gradient(_f_ax, lambda X, A: X, _X32, points=3),
        lambda: check_gradient(lambda X: X.sum(), lambda X: X, [general(3)]),
        lambda: check_gradient(
            _xax, lambda X, A: 2 * A @ X, general(5, 3), general(5, 5), raises=False
        ),
        lambda: check_gradient(_tr_axb, lambda X: B24 @ A_4x5, general(5, 2), raises=False),
        lambda: check_hessian(
            lambda X: 0.5 * torch.trace(X.T @ X),
            lambda X: torch.eye(5),
            general(3, 2),
            raises=False,
        ),
        lambda: check_gradient(
            lambda X: torch.logdet(X), lambda X: inv_(X) @ inv_(X), spd(3), raises=False
        ),
    ]
    out = []
    for call in calls:
        try:
            out.append(str(call()))
        except (TypeError, ValueError, AssertionError) as e:
            out.append(str(e))
    return out


def test_no_message_numbers_an_input_from_zero():
    msgs = _messages()
    assert len(msgs) == 12
    for m in msgs:
        assert not re.search(r"\b(input|tangent) \d", m), m
        assert "point 0" not in m and "0-based" not in m, m
    assert "A has dtype int64" in msgs[1] and "X (shape (3, 2)) holds NaN" in msgs[2]
    assert "right when A is symmetric" in " ".join(msgs[8].split())
    assert "transpose of X's shape" in msgs[9]


def test_functions_without_parameter_names_get_ordinals():
    with pytest.raises(ValueError, match="the second input has shape"):
        check_jvp(lambda *a: a[0], lambda *a: a[2], (2,), torch.ones(2, 0))
    r = check_gradient(lambda *a: torch.trace(a[0].T @ a[1] @ a[0]),
                       lambda *a: 2 * a[1] @ a[0], general(5, 3), general(5, 5),
                       raises=False)  # fmt: skip
    assert "right when the second input is symmetric" in " ".join(str(r).split())


# --------------------------------------------------------------------------------------------------
# A scalar closed form is diagnosed by what varies across the points
# --------------------------------------------------------------------------------------------------
def _dlogdet(X, H):
    return torch.trace(inv(X) @ H)


SCALAR_SLIPS = [
    # (the reader's d log det X [H], what must be said)
    (lambda X, H: 2 * _dlogdet(X, H), "½ × the closed form matches autograd at all 3 points"),
    (lambda X, H: -_dlogdet(X, H), "−1 × the closed form matches autograd at all 3 points"),
    (lambda X, H: 0.7 * _dlogdet(X, H), "for the fitted c = 1.42857"),
    (lambda X, H: _dlogdet(X, H) + 1, "the closed form + c matches autograd at all 3 points"),
    (lambda X, H: torch.trace(X @ H), "not one factor"),  # structurally different slips:
    (lambda X, H: torch.trace(inv(X) @ inv(X) @ H), "not one factor"),  # no factor claimed
    (lambda X, H: torch.trace(H), "not one factor"),
    (lambda X, H: torch.trace(inv(X) @ H) ** 2, "not one factor"),
]


@pytest.mark.parametrize(("jvp", "said"), SCALAR_SLIPS, ids=range(len(SCALAR_SLIPS)))
def test_a_scalar_is_a_constant_factor_off_only_if_the_ratio_is_the_same_at_every_point(jvp, said):
    r = check_jvp(torch.logdet, jvp, spd(3), raises=False)
    assert not r.passed
    flat = " ".join(r.diagnosis_text.split())
    assert said in flat, flat
    if said == "not one factor":
        assert not _fitting(r) and "a constant factor is off" not in flat
        assert re.search(r"autograd is (-?\d[\d.e+-]*, ){2}-?\d[\d.e+-]* × the closed form", flat)


def test_one_scalar_at_one_point_claims_no_factor_and_says_how_to_see_more():
    X0 = spd(3).sample(torch.Generator().manual_seed(5))
    r = check_jvp(torch.logdet, lambda X, H: torch.trace(X @ H), X0, raises=False)
    flat = " ".join(r.diagnosis_text.split())
    assert not _fitting(r) and "one number at one point" in flat
    assert "pass a Domain such as general(3, 3) or spd(3) for X" in flat
    # At random points the same slip is seen at three of them, however many were asked for.
    r = check_jvp(torch.logdet, lambda X, H: 2 * _dlogdet(X, H), spd(3), points=1, raises=False)
    assert "at all 3 points" in r.diagnosis_text


def test_a_formula_right_at_two_points_and_wrong_at_the_third_is_not_a_factor():
    calls = []

    def jvp(X, H):
        calls.append(1)
        return _dlogdet(X, H) * (1.5 if len(calls) == 3 else 1.0)

    r = check_jvp(torch.logdet, jvp, spd(3), raises=False)
    assert str(r).startswith("✗ JVP, point 3 of 3, vs autograd")
    assert not _fitting(r) and "not one factor" in r.diagnosis_text


# --------------------------------------------------------------------------------------------------
# Bilinear second derivatives: symmetrise in (H, K)
# --------------------------------------------------------------------------------------------------
def _trinv(X):
    return torch.trace(inv(X))


def _b(X, H, K):  # tr(X⁻¹ K X⁻² H): one of the two terms of d² tr(X⁻¹)[H, K]
    Xi = inv(X)
    return torch.trace(Xi @ K @ Xi @ Xi @ H)


def test_an_unsymmetrised_bilinear_form_is_told_to_symmetrise_in_its_own_letters():
    right = lambda X, H, K: _b(X, H, K) + _b(X, K, H)  # noqa: E731
    assert check_hessian(_trinv, right, invertible(3), form="bilinear").passed
    r = check_hessian(_trinv, lambda X, H, K: 2 * _b(X, H, K), invertible(3), form="bilinear",
                      raises=False)  # fmt: skip
    assert _fitting(r) == ["not symmetric"]
    assert "symmetrise in (H, K)" in " ".join(str(r).split())
    r = check_hessian(_trinv, lambda X, U, V: _b(X, U, V), invertible(3), form="bilinear",
                      raises=False)  # fmt: skip
    assert _fitting(r) == ["one term"]
    assert "B(U, V) + B(V, U) matches autograd" in " ".join(str(r).split())


# --------------------------------------------------------------------------------------------------
# A transposed constant is blamed before a symmetric input
# --------------------------------------------------------------------------------------------------
A_EX2 = _fixed((4, 4), 9)  # linear-maps, exercise 2: F(X) = X A Xᵀ, its VJP at W
W_EX2 = _fixed((3, 3), 10)


def _pairing(X, W):
    return (W * (X @ A_EX2 @ X.T)).sum()


def test_a_swapped_captured_constant_is_blamed_not_the_input():
    def my_vjp(X, W):
        return W @ X @ A_EX2 + W.T @ X @ A_EX2.T  # A and Aᵀ swapped

    assert check_gradient(_pairing, lambda X, W: W @ X @ A_EX2.T + W.T @ X @ A_EX2,
                          general(3, 4), W_EX2).passed  # fmt: skip
    r = attempt(check_gradient, _pairing, my_vjp, general(3, 4), W_EX2)
    assert _fitting(r) == ["transposed constant"]
    flat = " ".join(str(r).split())
    assert "with A_EX2 replaced by A_EX2ᵀ inside my_vjp, it matches autograd" in flat
    assert "A_EX2 and A_EX2ᵀ are swapped in it" in flat and "W is not symmetric" not in flat

    def in_a_closure():
        A = A_EX2

        def my_vjp(X, W):
            return W @ X @ A + W.T @ X @ A.T

        return my_vjp

    r = check_gradient(_pairing, in_a_closure(), general(3, 4), W_EX2, raises=False)
    assert _fitting(r) == ["transposed constant"] and "A and Aᵀ are swapped" in str(r)


def test_a_transposed_fixed_input_and_a_symmetric_input_are_still_told_apart():
    # ∇ tr(W X) = Wᵀ: returning W swaps W and Wᵀ (the input W, no constant in sight).
    r = check_gradient(lambda X, W: torch.trace(W @ X), lambda X, W: W, general(3, 3), W_EX2,
                       raises=False)  # fmt: skip
    assert "transposed input" in _fitting(r) and "symmetric input" not in _fitting(r)
    assert "with W replaced by Wᵀ in the closed form (f unchanged)" in " ".join(str(r).split())
    # W X A + W X Aᵀ is right only for symmetric W: that is what is said.
    r = check_gradient(_pairing, lambda X, W: W @ X @ A_EX2.T + W @ X @ A_EX2, general(3, 4),
                       W_EX2, raises=False)  # fmt: skip
    assert _fitting(r) == ["symmetric input"] and "right when W is symmetric" in str(r)


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


# --------------------------------------------------------------------------------------------------
# A kink is not a derivative; a passing error never prints above its tolerance
# --------------------------------------------------------------------------------------------------
KINKS = [
    ("|x| at 0", lambda x: x.abs().sum(), torch.sign, np.array([1.0, 0.0, -2.0]), "(1,)"),
    ("relu at 0", lambda x: torch.relu(x).sum(), lambda x: (x > 0) * 1.0, np.zeros(2), "(0,)"),
    ("100x + |x|", lambda x: 100 * x.sum() + x.abs().sum(), lambda x: 100 + torch.sign(x),
     np.zeros(2), "(0,)"),
    ("max entry, a tie", lambda X: X.max(), lambda X: (X == X.max()).to(X.dtype) / 2,
     np.array([[1.0, 1.0], [0.0, -1.0]]), "(0, 0)"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "f", "grad", "x", "entry"), KINKS, ids=[k[0] for k in KINKS])
def test_check_gradient_fails_at_a_kink_instead_of_passing_it(label, f, grad, x, entry):
    # Autograd and the central difference both agree with the closed form here: only the
    # one-sided differences see that there is no gradient to check.
    r = check_gradient(f, grad, x, raises=False)
    assert not r.passed and _fitting(r) == ["kink"]
    s = " ".join(str(r).split())
    assert s.startswith("✗ gradient, the given point, vs central differences (float64):")
    assert f"the one-sided differences of f disagree along entry {entry} of " in s
    assert "diagnosis: f is not differentiable here" in s
    assert r.error("autograd") <= 1e-12  # ... although autograd agreed
    with pytest.raises(AssertionError, match="f is not differentiable here"):
        check_gradient(f, grad, x)


def _lam1(A):
    return torch.linalg.eigvalsh(C.sym(A))[0]


def test_check_jvp_fails_at_a_kink_too_and_a_double_eigenvalue_is_one():
    r = check_jvp(lambda x: x.abs(), lambda x, t: torch.sign(x) * t, np.array([1.0, 0.0, -2.0]),
                  raises=False)  # fmt: skip
    assert _fitting(r) == ["kink"] and "along the tangent (in entry (1,) of f)" in str(r)
    Q = orthogonal(4).sample(torch.Generator().manual_seed(20))
    A0 = (Q * torch.tensor([1.0, 1.0, 3.0, 5.0], dtype=T)) @ Q.T  # λ₁ = λ₂ = 1
    # The factorizations chapter's example: autograd's JVP (one eigenvector of the pair) is the
    # closed form; the one-sided slopes are the two eigenvalues of the 2×2 block of the tangent.
    r = check_jvp(_lam1, lambda A, dA: torch.func.jvp(_lam1, (A,), (dA,))[1], A0,
                  tangents=[C.sym(_fixed((4, 4), 21))], raises=False)  # fmt: skip
    assert _fitting(r) == ["kink"] and r.error("autograd") == 0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.sampled_from([1e-3, 1.0, 30.0]))
def test_property_smooth_functions_are_never_called_kinked(seed, scale):
    # Stationary points (where the one-sided slopes differ by h f'') and random points.
    x = _point(4, seed) * scale
    for f, g, at in (
        (lambda x: 1e4 * (x**2).sum(), lambda x: 2e4 * x, torch.zeros(4, dtype=T)),
        (lambda x: torch.cos(x).sum(), lambda x: -torch.sin(x), torch.zeros(4, dtype=T)),
        (
            lambda x: (x**4).sum() + torch.exp(x / 30).sum(),
            lambda x: 4 * x**3 + torch.exp(x / 30) / 30,
            x,
        ),
        (lambda x: torch.log1p(x**2).sum(), lambda x: 2 * x / (1 + x**2), x),
    ):
        assert check_gradient(f, g, at).passed


@settings(max_examples=200, deadline=None)
@given(err=st.floats(1e-17, 1e-1), tol=st.floats(1e-16, 1e-1), slack=st.floats(0, 1))
def test_property_a_passing_error_never_reads_larger_than_its_tolerance(err, tol, slack):
    bound = tol + slack * tol  # what atol adds on top of rtol
    if err > bound:
        return
    shown = _report._fmt_tol_for(err, tol, bound)
    assert float(_report._fmt_err(err)) <= float(shown)
    if float(_report._fmt_err(err)) <= float(_report._fmt_tol(tol)):
        assert shown == _report._fmt_tol(tol)  # the usual form is kept when it reads right


def test_verdicts_print_the_tolerance_with_enough_digits():
    A = _fixed((3, 3), 42)

    def f(X):
        return torch.trace(A @ X)

    # rtol 1.2e-4 printed as 1e-04 would sit below an error printed as 1.2e-04.
    r = check_gradient(f, lambda X: (1 + 1.16e-4) * A.T, general(3, 3), rtol=1.2e-4,
                       fd_rtol=1.2e-4)  # fmt: skip
    assert "autograd 1.2e-04 (tol 1.2e-04)" in str(r)
    # A pass through atol: printed as the bound it was held to, rounded up.
    r = check_gradient(f, lambda X: (1 + 1.4e-4) * A.T, general(3, 3), rtol=1e-4, atol=1e-4,
                       fd_rtol=1e-4)  # fmt: skip
    m = re.search(r"autograd (\S+) \(tol (\S+)\)", str(r))
    assert float(m.group(1)) <= float(m.group(2))
    assert "(tol 1e-08)" in str(check_gradient(f, lambda X: A.T, general(3, 3)))  # unchanged
    assert str(C.check_close("x", 1 + 1.16e-3, 1.0, 1.2e-3)).endswith("(tol 1.2e-03)")
    assert str(C.check_error("e", 0.99e-12, 1e-12)).endswith("(tol 1e-12)")
