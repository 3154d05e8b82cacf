"""Tests of hessnotes.checks.exercise: attempt and raises=False, the reader's exercise cell."""

from __future__ import annotations

import pytest
import torch
from checks_cases import (
    X100,
    _point,
)

from hessnotes.checks import (
    CheckResult,
    attempt,
    check_gradient,
    check_hessian,
    check_jvp,
    spd,
)

T = torch.float64


inv = torch.linalg.inv


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
