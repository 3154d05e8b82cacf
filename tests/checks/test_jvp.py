"""Tests of hessnotes.check_jvp: correct Jacobian-vector products pass, a zero tangent holds an
input fixed, a wrong JVP is caught.
"""

from __future__ import annotations

import pytest
import torch
from checks_cases import (
    B34,
)

from hessnotes.checks import (
    check_jvp,
    full_rank,
    general,
    invertible,
    spd,
    symmetric,
)

T = torch.float64


inv = torch.linalg.inv


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


def test_wrong_jvp_is_caught():
    with pytest.raises(AssertionError, match="JVP of XᵀX, point 1 of 3, vs autograd"):
        check_jvp(lambda X: X.T @ X, lambda X, H: 2 * X.T @ H, general(4, 3), name="XᵀX")
    with pytest.raises(AssertionError, match="vs autograd"):  # X⁻¹ H X⁻¹ without the minus sign
        check_jvp(lambda X: inv(X), lambda X, H: inv(X) @ H @ inv(X), invertible(3))
