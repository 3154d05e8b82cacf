"""Tests of hessnotes.checks._reader: names, shape errors in the reader's terms, transposed
constants, and the checkers speaking in those terms (no input numbered from zero, the reader's
own line).

The shape errors here are the real ones torch and numpy raise (provoked, not typed in), so a
change of their wording in a new release shows up as a failing translation.
"""

from __future__ import annotations

import functools
import re

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
    _point,
    _tr_axb,
    _xax,
)

from hessnotes.checks import (
    CheckResult,
    _reader,
    attempt,
    check_gradient,
    check_hessian,
    check_jvp,
    general,
    spd,
)

T = torch.float64


def test_arg_names_come_from_the_first_function_that_names_every_input():
    def my_vjp(X, W):
        return X

    assert _reader.arg_names(2, my_vjp) == ("X", "W")
    assert _reader.arg_names(2, lambda *a: 0, my_vjp) == ("X", "W")  # *args: the next one
    assert _reader.arg_names(2, torch.logdet) == ("the first input", "the second input")
    assert _reader.arg_names(3, lambda X, W: 0) == tuple(
        f"the {w} input" for w in ("first", "second", "third")
    )
    assert _reader.ordinal(11) == "input 12"  # counted from 1, as a reader counts
    assert _reader.trailing_names(lambda X, H, K: 0, 1, ("u", "v")) == ("H", "K")
    assert _reader.trailing_names(lambda *a: 0, 1, ("u", "v")) == ("u", "v")


def _raised(fn, *args) -> BaseException:
    try:
        fn(*args)
    except Exception as e:
        return e
    raise AssertionError("did not raise")


A43, B44 = torch.ones(4, 3, dtype=T), torch.ones(4, 4, dtype=T)
CASES = [
    # (what the reader wrote, its arguments, the sentence expected, numpy words)
    (lambda A, B: A @ B, (A43, B44), "a matrix product L @ R with L of shape (4, 3) and R of "
     "shape (4, 4): the inner sizes 3 and 4 differ", True),
    (lambda A, B: A @ B[:, 0], (A43, B44), "a matrix-vector product M @ v with M of shape "
     "(4, 3) and v of shape (4,): the sizes 3 and 4 differ", True),
    (lambda A, B: A + B, (A43, B44), "an entrywise operation (+, -, *, /) on two arrays whose "
     "sizes 3 and 4 differ in one dimension", True),
    (lambda A, B: torch.linalg.inv(A), (A43, B44), "linalg.inv needs a square matrix, but its "
     "argument has shape (4, 3)", True),
    (lambda A, B: torch.linalg.solve(B, A.T), (A43, B44), "solve(A, B) with A of shape (4, 4) "
     "and B of shape (3, 4): B needs 4 rows", True),
    (lambda A, B: A.reshape(5, 2), (A43, B44), "a reshape to (5, 2) of an array with 12 "
     "entries", True),
    (lambda A, B: A.numpy() @ B.numpy(), (A43, B44), "a matrix product L @ R where R has 4 "
     "rows but L has 3 columns", True),
    (lambda A, B: np.dot(A.numpy(), B.numpy()), (A43, B44), "a matrix product of shapes "
     "(4, 3) and (4, 4): the inner sizes 3 and 4 differ", True),
    (lambda A, B: A.numpy() + B.numpy(), (A43, B44), "an entrywise operation (+, -, *, /) on "
     "arrays of shapes (4, 3) and (4, 4), which do not broadcast", True),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "args", "said", "numpy"), CASES, ids=range(len(CASES)))
def test_torch_and_numpy_shape_errors_are_said_in_numpy_words(fn, args, said, numpy):
    e = _raised(fn, *args)
    lines = _reader.shape_slip(e, "my_formula", args, ("A", "B"), numpy=numpy, converted=True)
    assert lines is not None, e
    text = " ".join(lines)
    assert said[:1].upper() + said[1:] in text, (text, str(e))
    assert "mat1" not in text and "tensor" not in text.replace("torch tensors", "")
    assert re.search(r"\b\d+x\d+\b", text) is None  # shapes as tuples, not 4x3
    # The reader's own line, quoted: this file, the lambda above.
    assert re.fullmatch(
        r"my_formula failed on the shapes of its arrays, at line \d+ of "
        r"test_reader\.py:",
        lines[0],
    )
    assert lines[1].startswith("    (lambda A, B: ")
    assert "Its arrays: A (4, 3), B (4, 4) (your numpy arrays reach it as torch tensors" in text


def test_the_line_of_a_helper_the_formula_calls_is_named():
    def helper(A):
        return A @ A

    def my_formula(A):
        return 2 * helper(A)

    e = _raised(my_formula, A43)
    lines = _reader.shape_slip(e, "my_formula", (A43,), ("A",), numpy=False, converted=False)
    assert re.fullmatch(
        r"my_formula failed on the shapes of its arrays, in helper, which it "
        r"calls, at line \d+ of test_reader\.py:",
        lines[0],
    )
    assert lines[1] == "    return A @ A"
    assert lines[-2] == "Its tensors: A (4, 3)."
    assert lines[-1] == "(4, 3) is the shape of A."


def test_errors_that_are_not_about_shapes_are_left_alone():
    e = _raised(lambda A: A.no_such_method(), A43)
    assert _reader.shape_slip(e, "f", (A43,), ("A",), numpy=False, converted=False) is None
    e = _raised(lambda A: torch.linalg.cholesky(-torch.eye(2)), A43)  # not positive definite
    assert _reader.shape_slip(e, "f", (A43,), ("A",), numpy=False, converted=False) is None


A_GLOBAL = torch.arange(9.0, dtype=T).reshape(3, 3)


def _uses_global(X):
    return A_GLOBAL @ X


def test_transposed_constants_of_globals_and_closures():
    (name, fn), *rest = _reader.transposed_constants(_uses_global)
    assert name == "A_GLOBAL" and not rest
    X = torch.eye(3, dtype=T)
    torch.testing.assert_close(fn(X), A_GLOBAL.T, rtol=0, atol=0)
    torch.testing.assert_close(_uses_global(X), A_GLOBAL, rtol=0, atol=0)  # the original intact

    B = np.arange(4.0).reshape(2, 2)
    S = B + B.T  # symmetric: transposing changes nothing, so it is not tried

    def closure(x):
        return B @ x + S @ x

    ((name, fn),) = _reader.transposed_constants(closure)
    assert name == "B"
    np.testing.assert_array_equal(fn(np.ones(2)), B.T @ np.ones(2) + S @ np.ones(2))
    assert _reader.transposed_constants(torch.logdet) == []
    assert _reader.transposed_constants(functools.partial(_uses_global)) == []


def test_with_transposed_and_square_nonsymmetric():
    fn = functools.partial(_reader.with_transposed, lambda X, W: W @ X, 1)
    W = A_GLOBAL
    torch.testing.assert_close(fn(torch.eye(3, dtype=T), W), W.T, rtol=0, atol=0)
    assert _reader.square_nonsymmetric(W) and _reader.square_nonsymmetric(W.numpy())
    assert not _reader.square_nonsymmetric(W + W.T)
    assert not _reader.square_nonsymmetric(torch.ones(2, 3))
    assert not _reader.square_nonsymmetric(torch.arange(4).reshape(2, 2))  # integer
    assert not _reader.square_nonsymmetric(torch.ones(1, 1))


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
