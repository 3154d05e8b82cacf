"""Fréchet derivatives of matrix functions: the exponential, the square root and the logarithm.

The Fréchet derivative of a matrix function ``f`` at a square ``A`` is the linear map
``E ↦ L_f(A, E)`` with ``f(A + E) = f(A) + L_f(A, E) + o(‖E‖)``; ``A``, ``E`` and ``L_f(A, E)``
are all (n, n). Four ways to compute it live here:

* **The block-triangular identity** (any square ``A``, :func:`expm_frechet_block`)::

      exp([[A, E], [0, A]]) = [[e^A, L(A, E)], [0, e^A]],

  one matrix exponential of size 2n. Its Jacobian in the book's vec convention (``vec`` stacks
  columns), ``J(A) = ∂vec(e^A)/∂vec(A)`` with ``vec L(A, E) = J(A) vec E``, is
  :func:`expm_frechet_jacobian` (n² block exponentials in one batch).
* **Daleckii–Krein** (symmetric ``A = V diag(λ) Vᵀ``, any ``E``, :func:`daleckii_krein`)::

      L_f(A, E) = V (f^[1] ⊙ (Vᵀ E V)) Vᵀ,   f^[1]_ij = f[λ_i, λ_j],

  with the first divided differences ``f[a, b] = (f(a) - f(b)) / (a - b)`` for ``a ≠ b`` and
  ``f[a, a] = f'(a)`` (:func:`divided_differences`, in forms that keep full accuracy when two
  eigenvalues nearly coincide).
* **The square root** (symmetric positive definite ``A``, ``S = A^{1/2}``, :func:`sqrtm_frechet`):
  differentiating ``S² = A`` gives the Sylvester equation ``S L + L S = E``, solved with
  :func:`hessnotes.kron.solve_sylvester_sym` (in vec form ``(S ⊕ S) vec L = vec E``, a
  Kronecker sum).
* **The logarithm** (symmetric positive definite ``A``, :func:`logm_frechet`): ``e^{log A} = A``
  gives ``L_exp(log A, L_log(A, E)) = E``, so ``L_log(A, ·)`` is the inverse of
  ``L_exp(log A, ·)``; in the eigenbasis it divides by exp's divided differences at ``log λ``,
  which are log's divided differences inverted.

The relative condition number of ``exp`` in the Frobenius norm is
``κ_exp(A) = ‖J(A)‖₂ ‖A‖_F / ‖e^A‖_F`` (:func:`expm_condition`, as ``scipy.linalg.expm_cond``).
:func:`funm_sym` evaluates ``f(A) = V diag(f(λ)) Vᵀ`` for symmetric ``A`` with autograd kept (a
reference for checks).

Every function takes numpy arrays or torch tensors (float32 or float64, the library's dtype
policy) and returns the caller's kind, dtype and device. Results are computed on detached inputs
(no autograd graph), except :func:`expm_frechet_block` and :func:`funm_sym`, which keep it.
Refused with a ``ValueError`` naming the argument: a non-square or empty matrix, shapes that
differ, NaN or Inf, a non-symmetric ``A`` where the formula needs a symmetric one, an ``A`` that
is not positive definite for the square root and the logarithm, and a result that overflows.
A ``TypeError``: integer, complex or half-precision input, or numpy and torch mixed.

See the chapter "Derivatives of matrix functions".

Chapters: "Derivatives of matrix functions".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from hessnotes._linalg import as_tensor, check_finite, check_memory, check_symmetric, eps_of

__all__ = [
    "daleckii_krein",
    "divided_differences",
    "expm_condition",
    "expm_frechet_block",
    "expm_frechet_jacobian",
    "funm_sym",
    "logm_frechet",
    "sqrtm_frechet",
]

_NAMED = ("exp", "log", "sqrt")
_POSITIVE = ("log", "sqrt")  # the principal branch needs positive eigenvalues
FunctionSpec = str | tuple[Callable[[torch.Tensor], torch.Tensor], Callable[..., torch.Tensor]]


# --------------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------------
def _square(A: Any, name: str) -> tuple[torch.Tensor, Any]:
    a, kind = as_tensor(A, name)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(
            f"{name} has shape {tuple(a.shape)}; a matrix function needs a square (n, n) matrix "
            "with n >= 1"
        )
    check_finite(a.detach(), name)
    return a, kind


def _pair(A: Any, E: Any) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """Validate the point ``A`` and the direction ``E``: same kind, dtype, device and shape."""
    a, ka = _square(A, "A")
    e, ke = as_tensor(E, "E")
    if ka.numpy != ke.numpy:
        raise TypeError(
            f"A is {ka.describe()} but E is {ke.describe()}; pass both as numpy arrays or both as "
            "torch tensors"
        )
    if ka.dtype != ke.dtype:
        raise TypeError(
            f"A has dtype {ka.dtype_name} but E has dtype {ke.dtype_name}; cast one to match, "
            f"e.g. {ke.cast_hint('E', ka.dtype)}"
        )
    if ka.device != ke.device:
        raise ValueError(f"A is on {ka.device} but E is on {ke.device}; move both to one device")
    if tuple(e.shape) != tuple(a.shape):
        raise ValueError(
            f"E has shape {tuple(e.shape)} but A has shape {tuple(a.shape)}; the direction E of "
            "a Fréchet derivative L(A, E) has the shape of A"
        )
    check_finite(e.detach(), "E")
    return a, e, ka


def _symmetric_eigh(a: torch.Tensor, what: str, positive: bool) -> tuple[torch.Tensor, ...]:
    """``(λ, V)`` of a symmetric ``a`` (detached); raise unless symmetric (and positive)."""
    a = a.detach()
    check_symmetric(
        a,
        "A",
        needs=f"{what} needs a symmetric A",
        otherwise=", or use expm_frechet_block for the exponential of a general A",
    )
    lam, V = torch.linalg.eigh((a + a.T) / 2)
    if positive and float(lam[0]) <= 0:
        raise ValueError(
            f"A is not positive definite (smallest eigenvalue {float(lam[0]):.3g}); {what} is "
            "defined here for symmetric positive definite A only (the principal branch of the "
            "square root and the logarithm needs positive eigenvalues)"
        )
    return lam, V


def _function_name(f: FunctionSpec) -> str | None:
    if isinstance(f, str):
        if f not in _NAMED:
            raise ValueError(f"f={f!r}; give 'exp', 'log', 'sqrt' or a pair (f, fprime)")
        return f
    if isinstance(f, tuple) and len(f) == 2 and all(callable(g) for g in f):
        return None
    raise TypeError(
        f"f is {type(f).__name__}; give 'exp', 'log', 'sqrt' or a pair of callables "
        "(f, fprime) acting entrywise on torch tensors"
    )


def _out(kind: Any, t: torch.Tensor) -> Any:
    return t.detach().cpu().numpy() if kind.numpy else t


def _finite_result(t: torch.Tensor, what: str) -> torch.Tensor:
    if not bool(torch.isfinite(t).all()):
        raise ValueError(
            f"{what} overflows in {str(t.dtype).removeprefix('torch.')} (Inf or NaN in the "
            "result); scale A down (e^A = (e^{A/2})², so the scaled problem is the same one)"
        )
    return t


# --------------------------------------------------------------------------------------------------
# Divided differences and Daleckii–Krein
# --------------------------------------------------------------------------------------------------
def _dd(lam: torch.Tensor, f: FunctionSpec) -> torch.Tensor:
    """The (n, n) matrix of first divided differences f[λ_i, λ_j] (float, detached)."""
    name = _function_name(f)
    li, lj = lam.reshape(-1, 1), lam.reshape(1, -1)
    gap = (li - lj).abs()
    if name == "exp":
        # e^max · (1 - e^-|d|) / |d|: no cancellation as d → 0, no overflow beyond e^max.
        top = torch.maximum(li, lj)
        ratio = torch.where(gap > 0, -torch.expm1(-gap) / torch.where(gap > 0, gap, 1.0), 1.0)
        return torch.exp(top) * ratio
    if name == "sqrt":
        r = torch.sqrt(lam)
        return 1.0 / (r.reshape(-1, 1) + r.reshape(1, -1))  # exact: (√a - √b)/(a - b)
    if name == "log":
        # log(1 + x) / (x b) with b = min, x = |d| / b >= 0: log1p keeps every digit as x → 0.
        low = torch.minimum(li, lj)
        x = gap / low
        ratio = torch.where(x > 0, torch.log1p(x) / torch.where(x > 0, x, 1.0), 1.0)
        return ratio / low
    fn, fprime = f  # type: ignore[misc]
    scale = torch.maximum(torch.maximum(li.abs(), lj.abs()), torch.ones_like(gap))
    near = gap <= eps_of(lam.dtype) ** (1 / 3) * scale
    fl = fn(lam)
    quotient = (fl.reshape(-1, 1) - fl.reshape(1, -1)) / torch.where(near, 1.0, li - lj)
    return torch.where(near, fprime((li + lj) / 2), quotient)


def divided_differences(lam: Any, f: FunctionSpec = "exp") -> Any:
    """The matrix ``f^[1]`` of first divided differences of ``f`` at the points ``λ``.

    ``f^[1]_ij = f[λ_i, λ_j] = (f(λ_i) - f(λ_j)) / (λ_i - λ_j)`` for ``λ_i ≠ λ_j`` and
    ``f'(λ_i)`` on coinciding points (the diagonal among them). The named functions use forms
    without cancellation, accurate to a few ulps however close two points are:
    ``exp[a, b] = e^max(a,b) (1 - e^-|a-b|) / |a-b|``, ``sqrt[a, b] = 1 / (√a + √b)`` and
    ``log[a, b] = log1p(x) / (x min(a, b))`` with ``x = |a - b| / min(a, b)``. For a pair of
    callables the quotient is used where ``|λ_i - λ_j| > ε^(1/3) max(1, |λ_i|, |λ_j|)`` and
    ``f'`` at the midpoint below (error about ``ε^(2/3)`` relative, with ``ε`` the dtype's
    machine epsilon).

    Args:
        lam: (n,) real points (eigenvalues), numpy or torch; positive for ``"log"``, ``"sqrt"``.
        f: ``"exp"``, ``"log"``, ``"sqrt"``, or ``(f, fprime)``: callables acting entrywise on
            torch tensors.

    Returns:
        (n, n) symmetric matrix, numpy or torch like ``lam``.

    Raises:
        ValueError: ``lam`` not 1-D or empty, NaN/Inf, non-positive points for log or sqrt, an
            unknown name.
        TypeError: a non-float ``lam``, or ``f`` neither a name nor a pair of callables.
    """
    t, kind = as_tensor(lam, "lam")
    t = t.detach()
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"lam has shape {tuple(t.shape)}; give the (n,) points, n >= 1")
    check_finite(t, "lam")
    name = _function_name(f)
    if name in _POSITIVE and float(t.min()) <= 0:
        raise ValueError(
            f"lam holds {float(t.min()):.3g}; the divided differences of {name} need positive "
            "points"
        )
    return _out(kind, _dd(t, f))


def daleckii_krein(A: Any, E: Any, f: FunctionSpec = "exp") -> Any:
    """Fréchet derivative ``L_f(A, E) = V (f^[1] ⊙ (Vᵀ E V)) Vᵀ`` of ``f`` at a symmetric ``A``.

    With ``A = V diag(λ) Vᵀ`` and ``f^[1]_ij = f[λ_i, λ_j]`` (:func:`divided_differences`). The
    formula holds for every direction ``E``, symmetric or not, and at repeated eigenvalues too
    (there ``f[λ, λ] = f'(λ)``): unlike the eigenvectors, ``f(A)`` is differentiable there.

    Args:
        A: (n, n) symmetric matrix; positive definite for ``"log"`` and ``"sqrt"``.
        E: (n, n) direction.
        f: ``"exp"``, ``"log"``, ``"sqrt"`` or a pair ``(f, fprime)`` of entrywise callables.

    Returns:
        (n, n) ``L_f(A, E)``, numpy or torch like ``A``.

    Raises:
        ValueError: bad shapes, NaN/Inf, a non-symmetric ``A``, or (log, sqrt) a non-positive
            eigenvalue.
        TypeError: dtype or kind mismatch, or a bad ``f``.
    """
    a, e, kind = _pair(A, E)
    name = _function_name(f)
    lam, V = _symmetric_eigh(a, "the Daleckii–Krein formula", name in _POSITIVE)
    e = e.detach()
    return _out(kind, _finite_result(V @ (_dd(lam, f) * (V.T @ e @ V)) @ V.T, "L_f(A, E)"))


def funm_sym(A: Any, f: str | Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """``f(A) = V diag(f(λ)) Vᵀ`` for a symmetric ``A = V diag(λ) Vᵀ``, differentiable by autograd.

    Autograd goes through ``torch.linalg.eigh``, whose derivative holds where the eigenvalues are
    distinct: a reference for checks, not a substitute for :func:`daleckii_krein`.

    Args:
        A: (n, n) symmetric matrix (positive definite for ``"log"``, ``"sqrt"``).
        f: ``"exp"``, ``"log"``, ``"sqrt"`` or a callable acting entrywise on a torch tensor.

    Returns:
        (n, n) ``f(A)``, numpy or torch like ``A`` (torch keeps the autograd graph).

    Raises:
        ValueError: not square, NaN/Inf, not symmetric, or not positive definite for log, sqrt.
        TypeError: a non-float ``A`` or a bad ``f``.
    """
    a, kind = _square(A, "A")
    if isinstance(f, str):
        fn = {"exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt}.get(f)
        if fn is None:
            raise ValueError(f"f={f!r}; give 'exp', 'log', 'sqrt' or a callable")
    elif callable(f):
        fn = f
    else:
        raise TypeError(f"f is {type(f).__name__}; give 'exp', 'log', 'sqrt' or a callable")
    _symmetric_eigh(a, f"f(A) for f = {f!r}" if isinstance(f, str) else "funm_sym", f in _POSITIVE)
    lam, V = torch.linalg.eigh((a + a.mT) / 2)
    return _out(kind, (V * fn(lam)) @ V.mT)


# --------------------------------------------------------------------------------------------------
# The exponential: block identity, Jacobian, condition number
# --------------------------------------------------------------------------------------------------
def expm_frechet_block(A: Any, E: Any) -> tuple[Any, Any]:
    """``(e^A, L(A, E))`` from one exponential: ``exp([[A, E], [0, A]]) = [[e^A, L], [0, e^A]]``.

    Works for any square ``A`` (no symmetry, no diagonalisability needed) and costs one matrix
    exponential of size 2n. The same pair as ``scipy.linalg.expm_frechet(A, E)``.

    Args:
        A: (n, n) matrix.
        E: (n, n) direction, of the same kind and dtype.

    Returns:
        ``(e^A, L(A, E))``, both (n, n), numpy or torch like ``A`` (torch keeps the graph).

    Raises:
        ValueError: not square, shapes that differ, NaN/Inf, or ``e^A`` overflows.
        TypeError: non-float input, or numpy and torch mixed.
    """
    a, e, kind = _pair(A, E)
    n = a.shape[0]
    zero = torch.zeros_like(a)
    block = torch.cat([torch.cat([a, e], dim=1), torch.cat([zero, a], dim=1)], dim=0)
    X = _finite_result(torch.linalg.matrix_exp(block), "exp([[A, E], [0, A]])")
    return _out(kind, X[:n, :n]), _out(kind, X[:n, n:])


def _jacobian(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(e^A, J)``: the n² block exponentials, one per unit direction ``e_i e_jᵀ``, in a batch."""
    n = a.shape[0]
    N = n * n
    itemsize = torch.finfo(a.dtype).bits // 8
    check_memory(
        2 * N * (2 * n) ** 2 * itemsize,
        f"expm_frechet_jacobian on A of size n = {n}: n² = {N} block matrices of size 2n",
        "use a smaller A, or estimate ‖J‖₂ by power iteration on E ↦ L(Aᵀ, L(A, E))",
    )
    B = torch.zeros((N, 2 * n, 2 * n), dtype=a.dtype, device=a.device)
    B[:, :n, :n] = a
    B[:, n:, n:] = a
    k = torch.arange(N, device=a.device)
    B[k, k % n, n + k // n] = 1.0  # column k of J is vec L(A, e_i e_jᵀ), k = i + j n (vec)
    X = _finite_result(torch.linalg.matrix_exp(B), "exp([[A, E], [0, A]])")
    J = X[:, :n, n:].mT.reshape(N, N).T  # row k of the reshape is vec(L_k), column-major
    return X[0, :n, :n], J


def expm_frechet_jacobian(A: Any) -> Any:
    """The (n², n²) matrix ``J(A) = ∂vec(e^A)/∂vec(A)``: ``vec L(A, E) = J(A) vec E``.

    ``vec`` stacks columns (:func:`hessnotes.vec`). Column ``i + j n`` is ``vec L(A, e_i e_jᵀ)``,
    from the block identity applied to all n² unit directions in one batched exponential.
    Its eigenvalues are the divided differences ``exp[λ_i, λ_j]`` of the eigenvalues of ``A``
    (for diagonalisable ``A``).

    Args:
        A: (n, n) matrix.

    Returns:
        (n², n²) ``J``, numpy or torch like ``A``.

    Raises:
        ValueError: not square, NaN/Inf, overflow, or more memory than
            ``hessnotes._linalg.MAX_DENSE_BYTES`` (about ``64 n⁴`` bytes in float64).
        TypeError: non-float input.
    """
    a, kind = _square(A, "A")
    return _out(kind, _jacobian(a.detach())[1])


def expm_condition(A: Any) -> float:
    """Relative condition number of ``exp`` at ``A`` in the Frobenius norm.

    ``κ_exp(A) = ‖L(A, ·)‖ ‖A‖_F / ‖e^A‖_F`` with ``‖L(A, ·)‖ = max_E ‖L(A, E)‖_F / ‖E‖_F =
    ‖J(A)‖₂`` (:func:`expm_frechet_jacobian`): to first order, a relative perturbation ``δ`` of
    ``A`` changes ``e^A`` by at most ``κ δ`` relatively. The definition of
    ``scipy.linalg.expm_cond``. Forms ``J``: ``O(n⁵)`` flops and ``O(n⁴)`` memory, for small n.

    Args:
        A: (n, n) matrix.

    Returns:
        ``κ_exp(A)`` as a float (0 for ``A = 0``).

    Raises:
        ValueError: not square, NaN/Inf, overflow, or ``J`` too large to form.
        TypeError: non-float input.
    """
    a, _ = _square(A, "A")
    a = a.detach()
    expA, J = _jacobian(a)
    norm_L = torch.linalg.matrix_norm(J, ord=2)
    return float(norm_L * torch.linalg.matrix_norm(a) / torch.linalg.matrix_norm(expA))


# --------------------------------------------------------------------------------------------------
# Square root and logarithm of a symmetric positive definite matrix
# --------------------------------------------------------------------------------------------------
def sqrtm_frechet(A: Any, E: Any) -> Any:
    """Fréchet derivative of the principal square root at a symmetric positive definite ``A``.

    With ``S = A^{1/2}``, differentiating ``S S = A`` gives the Sylvester equation
    ``S L + L S = E``, uniquely solvable because the eigenvalues of ``S`` are positive (in vec
    form ``(S ⊕ S) vec L = vec E``, a Kronecker sum). Solved by
    :func:`hessnotes.kron.solve_sylvester_sym`: in the eigenbasis of ``S`` it divides by
    ``√λ_i + √λ_j``, which is the Daleckii–Krein formula with ``sqrt[λ_i, λ_j]``.

    Args:
        A: (n, n) symmetric positive definite matrix.
        E: (n, n) direction (need not be symmetric).

    Returns:
        (n, n) ``L_sqrt(A, E)``, numpy or torch like ``A``.

    Raises:
        ValueError: bad shapes, NaN/Inf, ``A`` not symmetric or not positive definite.
        TypeError: dtype or kind mismatch.
    """
    from hessnotes.kron import solve_sylvester_sym

    a, e, kind = _pair(A, E)
    lam, V = _symmetric_eigh(a, "sqrtm_frechet", positive=True)
    S = (V * torch.sqrt(lam)) @ V.T
    return _out(kind, solve_sylvester_sym((S + S.T) / 2, (S + S.T) / 2, e.detach()))


def logm_frechet(A: Any, E: Any) -> Any:
    """Fréchet derivative of the principal logarithm at a symmetric positive definite ``A``.

    ``e^{log A} = A`` and the chain rule give ``L_exp(log A, L_log(A, E)) = E``: ``L_log(A, ·)``
    is the inverse of ``L_exp(log A, ·)``. With ``A = V diag(λ) Vᵀ``, ``log A = V diag(μ) Vᵀ``
    (``μ = log λ``), the exponential's map multiplies ``Vᵀ E V`` entrywise by ``exp[μ_i, μ_j]``,
    so its inverse divides by it, and ``1 / exp[μ_i, μ_j] = log[λ_i, λ_j]``::

        L_log(A, E) = V (log^[1] ⊙ (Vᵀ E V)) Vᵀ,   log^[1]_ij = log[λ_i, λ_j].

    Args:
        A: (n, n) symmetric positive definite matrix.
        E: (n, n) direction (need not be symmetric).

    Returns:
        (n, n) ``L_log(A, E)``, numpy or torch like ``A``.

    Raises:
        ValueError: bad shapes, NaN/Inf, ``A`` not symmetric or not positive definite.
        TypeError: dtype or kind mismatch.
    """
    a, e, kind = _pair(A, E)
    lam, V = _symmetric_eigh(a, "logm_frechet", positive=True)
    return _out(kind, V @ (_dd(lam, "log") * (V.T @ e.detach() @ V)) @ V.T)
