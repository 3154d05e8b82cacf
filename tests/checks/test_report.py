"""Tests of hessnotes.checks._report: the printed verdicts (two lines when passed, the failure
message, HTML), and a passing error never printed above its tolerance.
"""

from __future__ import annotations

import re

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
    _report,
    check_gradient,
    general,
    spd,
)

T = torch.float64


inv = torch.linalg.inv


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
