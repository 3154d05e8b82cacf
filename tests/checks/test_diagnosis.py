"""Tests of hessnotes.checks._diagnosis: each usual slip is a computed comparison, printed with
its error; the fast defaults still catch them at 100 × 100; a scalar is diagnosed across
points; a transposed captured constant is blamed before a symmetric input.
"""

from __future__ import annotations

import re

import pytest
import torch
from checks_cases import (
    B24,
    N100,
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
    CheckResult,
    attempt,
    check_gradient,
    check_hessian,
    check_jvp,
    general,
    spd,
    symmetric,
)

T = torch.float64


inv = torch.linalg.inv


# --------------------------------------------------------------------------------------------------
# The diagnosis of common slips: each is a computed comparison, printed with its error
# --------------------------------------------------------------------------------------------------


M53 = _fixed((5, 3), 23)


def _sq(X):  # ||M X||²_F with X (3, 2): gradient 2 Mᵀ M X
    return ((M53 @ X) ** 2).sum()


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


A100 = _fixed((N100, N100), 31) / 10


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


@settings(max_examples=15, deadline=None)
@given(c=st.floats(-4, 4).filter(lambda c: abs(c - 1) > 0.01 and abs(c) > 0.05))
def test_property_a_scaled_gradient_is_diagnosed_with_the_inverse_factor(c):
    r = check_gradient(_sq, lambda X: c * 2 * M53.T @ M53 @ X, general(3, 2), raises=False)
    fits = [f for f in r.diagnosis if f.fits]
    assert fits and fits[0].slip in ("factor", "sign")
    if fits[0].slip == "factor":
        assert fits[0].error <= 1e-12


# --------------------------------------------------------------------------------------------------
# A scalar closed form is diagnosed by what varies across the points
# --------------------------------------------------------------------------------------------------


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
