"""How the checkers speak about the reader's own code (private to :mod:`hessnotes.checks`).

A check reports a slip in the reader's terms, not the library's:

* **Arguments by name.** :func:`arg_names` reads the parameter names of the reader's function
  (``my_vjp(X, W)`` gives ``X`` and ``W``); a function without names (``*args``, a builtin) gives
  ``the first input``, ``the second input``, ...: an input is never numbered from zero.
* **A shape error inside the reader's formula** (torch's ``mat1 and mat2 shapes cannot be
  multiplied (4x3 and 4x4)``, numpy's ``operands could not be broadcast``) becomes
  :func:`shape_slip`: the reader's own line (the innermost frame of the traceback outside torch,
  numpy and hessnotes), the operation in numpy words with shapes as tuples, and the arguments
  with their shapes. Errors that are not about shapes are not translated.
* **A constant captured by the reader's function** (a global ``A`` or a closure cell) can be
  swapped for its transpose: :func:`transposed_constants` returns the function rebuilt with
  ``Aᵀ`` in place of ``A``, for the diagnosis "A and Aᵀ are swapped".

See the chapter "Checking derivatives".
"""

from __future__ import annotations

import inspect
import linecache
import math
import os
import re
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = [
    "Words",
    "arg_names",
    "ordinal",
    "shape_slip",
    "square_nonsymmetric",
    "trailing_names",
    "transposed_constants",
    "with_constant",
    "with_transposed",
]

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
#: At most this many captured constants are tried by the diagnosis (one evaluation each).
_MAX_CONSTANTS = 6


def ordinal(i: int) -> str:
    """``the first input`` for ``i = 0``, ``the second input`` for 1, ...; ``input 12`` above."""
    return f"the {_ORDINALS[i]} input" if i < len(_ORDINALS) else f"input {i + 1}"


def _positional_names(fn: Callable) -> list[str] | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins such as torch.logdet have no signature
        return None
    names = []
    for p in params:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        names.append(p.name)
    return names


def arg_names(k: int, *fns: Callable) -> tuple[str, ...]:
    """Names of ``k`` inputs for messages: the parameter names of the first of ``fns`` that names
    all ``k`` positionally (the reader's closed form first, then ``f``), else ordinals.

    >>> arg_names(2, lambda X, W: None)
    ('X', 'W')
    >>> arg_names(2, lambda *a: None)
    ('the first input', 'the second input')
    """
    for fn in fns:
        names = _positional_names(fn)
        if names is not None and len(names) >= k:
            return tuple(names[:k])
    return tuple(ordinal(i) for i in range(k))


def trailing_names(fn: Callable, k: int, default: Sequence[str]) -> tuple[str, ...]:
    """The last ``len(default)`` of the first ``k + len(default)`` positional parameter names of
    ``fn`` (e.g. the directions ``H, K`` of ``d2(X, H, K)``), else ``default``."""
    names = _positional_names(fn)
    m = len(default)
    if names is None or len(names) < k + m:
        return tuple(default)
    return tuple(names[k : k + m])


# --------------------------------------------------------------------------------------------------
# A shape error inside the reader's function, in the reader's terms
# --------------------------------------------------------------------------------------------------
_LIBRARY_DIRS = (
    *(os.path.dirname(m.__file__) + os.sep for m in (torch, np) if getattr(m, "__file__", None)),
    os.path.dirname(os.path.dirname(__file__)) + os.sep,  # hessnotes/, not hessnotes/checks/
)

_SHAPE_WORDS = ("shape", "size", "dimension", "broadcast", "aligned", "square", "out of bounds")


def _tuple(*dims: str) -> str:
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _numbers(text: str) -> str:
    """``"2, 6"`` -> ``(2, 6)``."""
    return _tuple(*re.findall(r"-?\d+", text))


def _dims(text: str) -> str:
    """``4x3`` -> ``(4, 3)``; ``torch.Size([3, 2])`` -> ``(3, 2)``."""
    text = re.sub(r"torch\.Size\(\[([\d, ]*)\]\)", lambda m: _numbers(m[1]), text)
    return re.sub(r"\b(\d+(?:x\d+)+)\b", lambda m: _tuple(*m[1].split("x")), text)


#: torch's shape errors, each as (pattern, sentence in numpy words with shapes as tuples).
_TORCH_SHAPES: tuple[tuple[str, Callable[[re.Match], str]], ...] = (
    (
        r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)",
        lambda m: (
            f"a matrix product L @ R with L of shape ({m[1]}, {m[2]}) and R of shape "
            f"({m[3]}, {m[4]}): the inner sizes {m[2]} and {m[3]} differ"
        ),
    ),
    (
        r"size mismatch, got input \((\d+)\), mat \((\d+)x(\d+)\), vec \((\d+)\)",
        lambda m: (
            f"a matrix-vector product M @ v with M of shape ({m[2]}, {m[3]}) and v of shape "
            f"({m[4]},): the sizes {m[3]} and {m[4]} differ"
        ),
    ),
    (
        r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at "
        r"non-singleton dimension (\d+)",
        lambda m: (
            f"an entrywise operation (+, -, *, /) on two arrays whose sizes {m[1]} and "
            f"{m[2]} differ in one dimension: their shapes do not broadcast"
        ),
    ),
    (
        r"([\w.]+): A must be batches of square matrices, but they are (\d+) by (\d+) matrices",
        lambda m: f"{m[1]} needs a square matrix, but its argument has shape ({m[2]}, {m[3]})",
    ),
    (
        r"Incompatible shapes of A and B for the equation AX = B \((\d+)x(\d+) and (\d+)x(\d+)\)",
        lambda m: (
            f"solve(A, B) with A of shape ({m[1]}, {m[2]}) and B of shape ({m[3]}, "
            f"{m[4]}): B needs {m[1]} rows"
        ),
    ),
    (
        r"shape '\[([\d, -]*)\]' is invalid for input of size (\d+)",
        lambda m: f"a reshape to {_numbers(m[1])} of an array with {m[2]} entries",
    ),
    (
        r"inconsistent tensor size, expected tensor \[(\d+)\] and src \[(\d+)\]",
        lambda m: f"a dot product of vectors of sizes {m[1]} and {m[2]}",
    ),
    (
        r"1D tensors expected, but got (\d)D and (\d)D tensors",
        lambda m: f"a dot product, which needs two vectors, of {m[1]}-D and {m[2]}-D arrays",
    ),
    # numpy's own words, with its shapes as tuples
    (
        r"matmul: Input operand 1 has a mismatch in its core dimension 0.*\(size (\d+) is "
        r"different from (\d+)\)",
        lambda m: f"a matrix product L @ R where R has {m[1]} rows but L has {m[2]} columns",
    ),
    (
        r"shapes \(([\d,]+)\) and \(([\d,]+)\) not aligned: (\d+) \(dim \d+\) != (\d+)",
        lambda m: (
            f"a matrix product of shapes {_numbers(m[1])} and {_numbers(m[2])}: the inner "
            f"sizes {m[3]} and {m[4]} differ"
        ),
    ),
    (
        r"operands could not be broadcast together with shapes \(([\d,]+)\) \(([\d,]+)\)",
        lambda m: (
            f"an entrywise operation (+, -, *, /) on arrays of shapes {_numbers(m[1])} and "
            f"{_numbers(m[2])}, which do not broadcast"
        ),
    ),
)


@dataclass(frozen=True)
class Words:
    """How a check names the reader's inputs: by their names, in numpy words for numpy inputs.

    Attributes:
        names: the inputs' names (:func:`arg_names`).
        numpy: the reader passed numpy arrays and no tensors: speak of arrays.
        converted: ... which reach the reader's function as torch tensors (say so).
    """

    names: tuple[str, ...]
    numpy: bool = False
    converted: bool = False

    @classmethod
    def of(cls, inputs: Sequence[Any], names: Sequence[str], converted: bool = True) -> Words:
        arrays = [x for x in inputs if isinstance(x, torch.Tensor | np.ndarray)]
        numpy = bool(arrays) and not any(isinstance(x, torch.Tensor) for x in arrays)
        return cls(tuple(names), numpy, converted and numpy)

    def call_names(self, fn: Callable, n_args: int) -> tuple[str, ...]:
        """Names of all of ``fn``'s arguments: its own parameter names, else the inputs'."""
        own = arg_names(n_args, fn)
        if not own[0].startswith("the "):
            return own
        return (*self.names, *own[len(self.names) :])


def _in_words(message: str, numpy: bool) -> str:
    """A torch or numpy shape error as one sentence, shapes as tuples, arrays in numpy words."""
    first = message.strip().splitlines()[0] if message.strip() else message
    for pattern, say in _TORCH_SHAPES:
        m = re.search(pattern, first)
        if m:
            return say(m)
    text = _dims(first)
    text = re.sub(r"\((\d+),(\d+)\)", r"(\1, \2)", text)  # numpy's (4,3) -> (4, 3)
    if numpy:
        text = re.sub(r"\btensors?\b", lambda m: m[0].replace("tensor", "array"), text)
    return text


def _reader_frame(exc: BaseException) -> tuple[str, int, str] | None:
    """(function, place, source line) of the innermost frame of ``exc``'s traceback in the
    reader's code, outside torch, numpy and hessnotes; the place is ``line 3 of its cell`` in
    Jupyter (as its tracebacks count), else ``line 3 of script.py``."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith(_LIBRARY_DIRS) and not code.co_filename.startswith("<"):
            found = (code.co_name, tb.tb_lineno, code.co_filename)
        tb = tb.tb_next
    if found is None:
        return None
    name, line, filename = found
    cell = "ipykernel_" in filename or "ipython-input" in filename  # a Jupyter cell
    place = f"line {line} of {'its cell' if cell else os.path.basename(filename)}"
    return name, place, linecache.getline(filename, line).strip()


def _shape(a: Any) -> tuple[int, ...] | None:
    s = getattr(a, "shape", None)
    return tuple(int(d) for d in s) if s is not None else None


def _str_shape(s: tuple[int, ...]) -> str:
    return _tuple(*map(str, s))


def shape_slip(
    exc: BaseException,
    fn_label: str,
    args: Sequence[Any],
    names: Sequence[str],
    *,
    numpy: bool,
    converted: bool,
) -> list[str] | None:
    """Lines that report a shape error raised inside the reader's function, or None.

    Args:
        exc: the exception the function raised (RuntimeError, ValueError or IndexError).
        fn_label: the function's name in the message, e.g. ``my_gradient``.
        args: the arguments it was called with (their shapes are listed).
        names: the names of the first ``len(names)`` arguments.
        numpy: speak of arrays (the reader passed numpy), not tensors.
        converted: the reader's numpy arrays reached the function as torch tensors (say so).

    Returns:
        None if ``exc`` is not about shapes; else the message lines, unwrapped.
    """
    if not isinstance(exc, RuntimeError | ValueError | IndexError):
        return None
    message = str(exc)
    if not any(w in message.lower() for w in _SHAPE_WORDS):
        return None
    where = _reader_frame(exc)
    if where is None:
        head = f"{fn_label} failed on the shapes of its arrays:"
    elif where[0] in (fn_label, "<lambda>"):
        head = f"{fn_label} failed on the shapes of its arrays, at {where[1]}:"
    else:
        head = (
            f"{fn_label} failed on the shapes of its arrays, in {where[0]}, which it calls, "
            f"at {where[1]}:"
        )
    lines = [head]
    if where is not None and where[2]:
        lines.append(f"    {where[2]}")
    said = _in_words(message, numpy)
    lines.append(said[:1].upper() + said[1:] + ".")
    shapes = [(n, _shape(a)) for n, a in zip(names, args, strict=False)]
    listed = [f"{n} {_str_shape(s)}" for n, s in shapes if s is not None]
    if listed:
        kind = "arrays" if numpy else "tensors"
        tail = " (your numpy arrays reach it as torch tensors of these shapes)" if converted else ""
        lines.append(f"Its {kind}: " + ", ".join(listed) + tail + ".")
    named = _named_shapes(said, shapes)
    if named:
        lines.append(named)
    return lines


def _named_shapes(text: str, shapes: Sequence[tuple[str, tuple[int, ...] | None]]) -> str:
    """``(3, 2) is the shape of X; (4, 3) is the shape of Wᵀ.`` for the shapes quoted in text."""
    out = []
    for found in dict.fromkeys(re.findall(r"\((\d+(?:, \d+)*),?\)", text)):
        s = tuple(int(d) for d in found.split(", "))
        owners = [n for n, t in shapes if t == s] or [f"{n}ᵀ" for n, t in shapes if t == s[::-1]]
        if owners and len(s) > 1:
            out.append(f"{_str_shape(s)} is the shape of {' and of '.join(owners)}")
    return "; ".join(out) + "." if out else ""


# --------------------------------------------------------------------------------------------------
# The reader's function with a captured constant transposed
# --------------------------------------------------------------------------------------------------
def square_nonsymmetric(v: Any) -> bool:
    """Whether ``v`` is a square, non-symmetric, floating matrix (n >= 2), array or tensor."""
    if isinstance(v, torch.Tensor):
        if not v.is_floating_point() or v.ndim != 2:
            return False
        a = v.detach().to("cpu", torch.float64).numpy()
    elif isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.ndim == 2:
        a = v.astype(np.float64, copy=False)
    else:
        return False
    if a.shape[0] != a.shape[1] or a.shape[0] < 2:
        return False
    scale = float(np.abs(a).max())
    return math.isfinite(scale) and float(np.abs(a - a.T).max()) > 1e-12 * scale


def with_constant(fn: types.FunctionType, name: str, value: Any) -> types.FunctionType:
    """``fn`` rebuilt with the global or closure variable ``name`` bound to ``value``."""
    code = fn.__code__
    closure = fn.__closure__
    glob = fn.__globals__
    if name in code.co_freevars:
        closure = tuple(
            types.CellType(value) if n == name else c
            for n, c in zip(code.co_freevars, closure or (), strict=True)
        )
    else:
        glob = {**glob, name: value}
    new = types.FunctionType(code, glob, fn.__name__, fn.__defaults__, closure)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def transposed_constants(fn: Callable) -> list[tuple[str, Callable]]:
    """``(name, fn with that constant transposed)`` for each square, non-symmetric matrix that
    ``fn`` reads from a global or a closure cell (at most a few; none for builtins)."""
    code = getattr(fn, "__code__", None)
    if not isinstance(fn, types.FunctionType) or code is None:
        return []
    cells = dict(zip(code.co_freevars, fn.__closure__ or (), strict=True))
    out = []
    for name in dict.fromkeys((*code.co_freevars, *code.co_names)):
        if name in cells:
            try:
                value = cells[name].cell_contents
            except ValueError:  # an empty cell
                continue
        elif name in fn.__globals__:
            value = fn.__globals__[name]
        else:
            continue
        if square_nonsymmetric(value):
            out.append((name, with_constant(fn, name, value.T)))
            if len(out) == _MAX_CONSTANTS:
                break
    return out


def with_transposed(fn: Callable, i: int, *args: Any) -> Any:
    """``fn`` called with its argument ``i`` transposed (use with functools.partial)."""
    return fn(*args[:i], args[i].T, *args[i + 1 :])
