"""Tests for hessnotes.formulas: check_formula, alone and through attempt.

References here are dense numpy constructions (a transpose, a pseudo-inverse, a brute-force
least-squares solve over a basis of symmetric matrices), independent of the formulas under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hessnotes.checks import CheckResult, attempt, general
from hessnotes.formulas import check_formula


def _least_norm_brute(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Minimum-norm symmetric H with H X = Y, by lstsq over an orthonormal symmetric basis."""
    D = X.shape[0]
    basis = []
    for j in range(D):
        for i in range(j, D):
            E = np.zeros((D, D))
            E[i, j] = E[j, i] = 1.0 if i == j else 2**-0.5
            basis.append(E)
    L = np.stack([(E @ X).ravel() for E in basis], axis=1)
    theta = np.linalg.lstsq(L, Y.ravel(), rcond=None)[0]
    return sum(t * E for t, E in zip(theta, basis, strict=True))


def _h_star(X, Y):
    Xp = np.linalg.pinv(X)
    return Y @ Xp + Xp.T @ Y.T @ (np.eye(X.shape[0]) - X @ Xp)


@pytest.fixture
def pairs(rng):
    A = rng.standard_normal((5, 5))
    A = A + A.T
    X = rng.standard_normal((5, 2))
    return X, A @ X


def test_a_right_formula_passes_with_a_two_line_verdict(pairs):
    X, Y = pairs
    r = check_formula(_least_norm_brute, _h_star, X, Y, name="H*")
    assert isinstance(r, CheckResult) and r.passed and r.kind == "formula"
    lines = str(r).splitlines()
    assert lines[0] == "✓ formula of H*: float64, at the given point"
    assert lines[1].startswith("  max rel. error: reference ") and lines[1].endswith("(tol 1e-08)")
    assert r.error("reference") <= 1e-12


def test_torch_inputs_and_outputs_work_and_mixed_outputs_are_compared(pairs):
    X, Y = (torch.from_numpy(a) for a in pairs)
    r = check_formula(lambda X, Y: X.T @ Y, lambda X, Y: (Y.T @ X).numpy().T, X, Y)
    assert r.passed


@pytest.mark.parametrize(
    ("wrong", "slip", "text"),
    [
        (lambda M: M.T, "transpose", "the transpose of the closed form matches the reference"),
        (lambda M: -M, "sign", "the sign is wrong"),
        (lambda M: 0.5 * M, "factor", "a factor 2 is missing"),
        (lambda M: 1.7 * M, "factor", "for the fitted c = 0.588235"),
    ],
)
def test_a_wrong_formula_fails_with_the_slip_that_fits(rng, wrong, slip, text):
    B = rng.standard_normal((3, 3))  # B B is square and not symmetric: every slip can show
    r = check_formula(lambda B: B @ B, lambda B: wrong(B @ B), B, raises=False)
    assert not r.passed
    fits = [f.slip for f in r.diagnosis if f.fits]
    assert fits[0] == slip, r.diagnosis
    assert text in " ".join(str(r).split())
    with pytest.raises(AssertionError, match="vs reference"):
        check_formula(lambda B: B @ B, lambda B: wrong(B @ B), B)


def test_the_missing_projector_in_h_star_is_caught_and_the_worst_entry_named(pairs):
    X, Y = pairs

    def no_projector(X, Y):
        Xp = np.linalg.pinv(X)
        return Y @ Xp + Xp.T @ Y.T

    with pytest.raises(AssertionError) as e:
        check_formula(_least_norm_brute, no_projector, X, Y)
    msg = str(e.value)
    assert msg.startswith("formula, the given point, vs reference (float64):")
    assert "worst entry" in msg and "exceeds rtol 1e-08" in msg


def test_a_non_symmetric_answer_where_a_symmetric_one_is_meant_is_named(pairs):
    X, Y = pairs
    skew = np.triu(np.ones((5, 5)), 1)
    skew = skew - skew.T
    r = check_formula(
        _least_norm_brute, lambda X, Y: _h_star(X, Y) + 0.1 * skew, X, Y, raises=False
    )
    fits = {f.slip: f for f in r.diagnosis if f.fits}
    assert "not symmetric" in fits and fits["not symmetric"].error <= 1e-12


def test_a_transposed_shape_is_a_failure_with_its_diagnosis(rng):
    A = rng.standard_normal((4, 3))
    r = check_formula(lambda A: 2 * A, lambda A: 2 * A.T, A, raises=False)
    assert not r.passed
    assert "the closed form has shape (3, 4), but the reference has shape (4, 3)" in str(r)
    assert r.diagnosis[0].slip == "transposed shape" and r.diagnosis[0].fits


def test_nan_from_the_formula_is_its_failure(rng):
    A = rng.standard_normal((3, 3))
    r = check_formula(lambda A: A, lambda A: A * np.nan, A, raises=False)
    assert not r.passed and "the closed form returned NaN" in str(r)


def test_float32_inputs_get_float32_tolerances(rng):
    A = rng.standard_normal((6, 6)).astype(np.float32)
    A64 = A.astype(np.float64)
    slightly_off = lambda A: np.linalg.inv(A64) * (1 + 1e-5)  # noqa: E731
    r32 = check_formula(lambda A: np.linalg.inv(A64), slightly_off, A)
    assert r32.passed and str(r32).startswith("✓ formula: float32")
    r64 = check_formula(lambda A: np.linalg.inv(A), slightly_off, A64, raises=False)
    assert not r64.passed


def test_a_stub_is_not_attempted_and_attempt_never_raises_on_a_wrong_formula(pairs, capsys):
    X, Y = pairs

    def my_h_star(X, Y):
        return None  # the reader's stub

    assert attempt(check_formula, _least_norm_brute, my_h_star, X, Y) is None
    assert capsys.readouterr().out == (
        "not attempted yet — fill in my_h_star above and re-run this cell\n"
    )

    def my_h_star(X, Y):  # the reader fills it in, wrongly
        return -_h_star(X, Y)

    r = attempt(check_formula, _least_norm_brute, my_h_star, X, Y)
    assert not r.passed and str(r).startswith("✗ formula of my_h_star, the given point")
    assert "the sign is wrong" in " ".join(r.diagnosis_text.split())

    def my_h_star(X, Y):
        raise NotImplementedError

    assert attempt(check_formula, _least_norm_brute, my_h_star, X, Y) is None
    with pytest.raises(TypeError, match="returned None"):
        check_formula(_least_norm_brute, lambda X, Y: None, X, Y)


def test_misuse_and_a_bad_reference_are_refused_with_the_fix(pairs):
    X = pairs[0]
    with pytest.raises(TypeError, match="concrete inputs, not a Domain or a shape"):
        check_formula(lambda X: X, lambda X: X, general(3, 2))
    with pytest.raises(TypeError, match="concrete inputs"):
        check_formula(lambda X: X, lambda X: X, (3, 2))
    with pytest.raises(TypeError, match="both must be functions"):
        check_formula(np.eye(3), lambda X: X, X)
    with pytest.raises(ValueError, match="cannot fail"):
        check_formula(lambda X: X, lambda X: X, np.zeros((0, 3)))
    with pytest.raises(ValueError, match="reference returned NaN"):
        check_formula(lambda X: X * np.nan, lambda X: X, X)
    with pytest.raises(TypeError, match="reference returned NoneType"):
        check_formula(lambda X: None, lambda X: X, X)
    with pytest.raises(ValueError, match="rtol=-1"):
        check_formula(lambda X: X, lambda X: X, X, rtol=-1)
    with pytest.raises(TypeError, match="drop raises="):
        attempt(check_formula, lambda X: X, lambda X: X, X, raises=True)


@settings(max_examples=25, deadline=None)
@given(D=st.integers(2, 6), n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_h_star_passes_and_its_transpose_slip_is_always_caught(D, n, seed):
    n = min(n, D)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((D, D))
    X = rng.standard_normal((D, n))
    Y = (A + A.T) @ X
    assert check_formula(_least_norm_brute, _h_star, X, Y, rtol=1e-9).passed
    half = check_formula(_least_norm_brute, lambda X, Y: Y @ np.linalg.pinv(X), X, Y, raises=False)
    assert half.passed == (D == n)  # Y X⁺ alone is H* only when X is square and invertible


def test_printed_lines_stay_within_88_characters(pairs):
    X, Y = pairs
    r = check_formula(_least_norm_brute, lambda X, Y: Y @ np.linalg.pinv(X), X, Y, raises=False)
    assert max(len(line) for line in str(r).splitlines()) <= 88


# --------------------------------------------------------------------------------------------------
# Scalars at several points, bad inputs, shape slips
# --------------------------------------------------------------------------------------------------
def _residual(X, Y):
    """The best symmetric residual min ||H X - Y||_F, by the brute-force solve."""
    return np.linalg.norm(_least_norm_brute(X, Y) @ X - Y)


@pytest.fixture
def noisy_points(rng):
    return [(rng.standard_normal((4, 2)), rng.standard_normal((4, 2))) for _ in range(3)]


def test_a_scalar_formula_at_three_points_names_a_factor_only_when_it_is_constant(noisy_points):
    assert check_formula(_residual, _residual, at=noisy_points).passed
    r = check_formula(_residual, lambda X, Y: np.sqrt(2) * _residual(X, Y), at=noisy_points,
                      raises=False)  # fmt: skip
    assert [f.slip for f in r.diagnosis if f.fits] == ["factor"]
    assert "at all 3 points for the fitted c = 0.707107" in " ".join(r.diagnosis_text.split())
    r = check_formula(_residual, lambda X, Y: np.linalg.norm(X.T @ Y - Y.T @ X), at=noisy_points,
                      raises=False)  # fmt: skip
    flat = " ".join(r.diagnosis_text.split())
    assert not [f for f in r.diagnosis if f.fits] and "not one factor" in flat
    assert "a constant factor is off" not in flat


def test_a_scalar_at_one_point_claims_no_factor_and_shows_the_call_with_at(noisy_points):
    X, Y = noisy_points[0]
    r = check_formula(_residual, lambda X, Y: np.sqrt(2) * _residual(X, Y), X, Y, raises=False)
    flat = " ".join(r.diagnosis_text.split())
    assert not [f for f in r.diagnosis if f.fits] and "one number at one point" in flat
    assert "check_formula(reference, formula, at=[(X1, Y1), (X2, Y2), (X3, Y3)])" in flat
    r = check_formula(_residual, lambda X, Y: np.sqrt(2) * _residual(X, Y), at=noisy_points[:2],
                      raises=False)  # fmt: skip
    assert "one number at each of 2 points" in " ".join(r.diagnosis_text.split())


def test_at_takes_several_points_and_refuses_misuse(noisy_points):
    A = noisy_points[0][0] @ noisy_points[0][0].T  # consistent pairs Y = A X, A symmetric
    r = check_formula(_least_norm_brute, _h_star, at=[(X, A @ X) for X, _ in noisy_points])
    assert r.passed and str(r).startswith("✓ formula: float64, 3 points")
    X = noisy_points[0][0]
    r = check_formula(lambda X: X.T @ X, lambda X: X.T @ X, at=[X, 2 * X])  # one input each
    assert r.passed and r.n_points == 2
    with pytest.raises(TypeError, match="not both"):
        check_formula(_residual, _residual, *noisy_points[0], at=noisy_points)
    with pytest.raises(TypeError, match="non-empty list of points"):
        check_formula(_residual, _residual, at=[])
    with pytest.raises(ValueError, match="the same inputs"):
        check_formula(_residual, _residual, at=[noisy_points[0], noisy_points[1][:1]])


def test_bad_inputs_are_refused_with_their_name(noisy_points):
    X, Y = noisy_points[0]
    with pytest.raises(TypeError, match=r"^Y has dtype float16.*Y\.astype\(np\.float64\)"):
        check_formula(_residual, _residual, X, Y.astype(np.float16))
    with pytest.raises(TypeError, match=r"^X has dtype torch\.bfloat16.*X\.to\(torch\.float64\)"):
        check_formula(_residual, _residual, torch.from_numpy(X).bfloat16(), torch.from_numpy(Y))
    Yn = Y.copy()
    Yn[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"^Y \(shape \(4, 2\)\) holds NaN or Inf, first at "
                       r"index \(3, 1\)"):  # fmt: skip
        check_formula(_residual, _residual, X, Yn)
    with pytest.raises(TypeError, match=r"^X is general 3×2: check_formula takes concrete"):
        check_formula(_residual, _residual, general(3, 2), Y)


def test_a_shape_slip_is_reported_with_the_readers_line_in_numpy_words(noisy_points):
    X, Y = noisy_points[0]

    def my_h_star(X, Y):
        Xp = np.linalg.pinv(X)
        return Y @ Xp.T  # (4, 2) @ (4, 2)

    r = attempt(check_formula, _least_norm_brute, my_h_star, X, Y)
    s = str(r)
    assert s.startswith("✗ formula of my_h_star, the given point, vs reference (float64):")
    assert "\n      return Y @ Xp.T  # (4, 2) @ (4, 2)\n" in s
    flat = " ".join(s.split())
    assert "A matrix product L @ R where R has 4 rows but L has 2 columns." in flat
    assert "Its arrays: X (4, 2), Y (4, 2)." in flat and "torch" not in flat


def test_a_transposed_constant_in_a_formula_is_named(rng):
    M = rng.standard_normal((3, 3))

    def my_formula(X):
        return M.T @ X

    r = check_formula(lambda X: M @ X, my_formula, rng.standard_normal((3, 2)), raises=False)
    assert "with M replaced by Mᵀ inside my_formula, it matches the reference" in " ".join(
        str(r).split()
    )
