"""Tests of hessnotes.checks._loop, the per-point loop's differences: central differences catch
what a wrong autograd rule hides, and a kink of f fails the check instead of passing it.
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
    check_gradient,
    check_jvp,
    general,
    orthogonal,
)

T = torch.float64


inv = torch.linalg.inv


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


def test_central_differences_catch_what_a_wrong_autograd_rule_hides():
    # The closed form agrees with the (wrong) autograd rule; only the differences can catch it.
    with pytest.raises(AssertionError, match="point 1 of 3, vs central differences"):
        check_gradient(lambda x: _BadSquare.apply(x).sum(), lambda x: 3 * x, general(3))
