"""Tests of hessnotes.checks.close: check_close, check_error and check_raises, the chapters'
printing checks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

T = torch.float64


inv = torch.linalg.inv


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
