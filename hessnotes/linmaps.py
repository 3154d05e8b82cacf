"""Derivatives as linear maps: the operator ``H ↦ f′(X)[H]``, its matrix, and its adjoint.

The derivative of ``f`` at ``X`` is the linear map ``L = f′(X)`` with
``f(X + H) = f(X) + L[H] + o(‖H‖)``; it acts on a direction ``H`` of the shape of ``X`` and
returns an array of the shape of ``f(X)``. Three objects go with it:

* **its matrix**, the Jacobian in the book's vec convention (``vec`` stacks columns):
  ``vec(L[H]) = J vec(H)``, ``J`` of shape ``(outputs, inputs)`` (numerator layout). Built from
  the operator by applying it to the ``N`` basis matrices (:func:`operator_matrix`), or from
  autograd (:func:`jacobian_matrix`);
* **its adjoint** ``L*`` in the trace inner product ``⟨A, B⟩ = tr(AᵀB)``:
  ``⟨W, L[H]⟩ = ⟨L*[W], H⟩`` for all ``H`` and ``W``. Reverse mode applies ``L*`` (a VJP); its
  matrix is ``Jᵀ``. :func:`adjoint_mismatch` is the dot-product test of a claimed adjoint;
* **the gradient** of a scalar ``f``: ``∇f(X) = L*[1]``, the array of the shape of ``X`` with
  ``L[H] = ⟨∇f(X), H⟩``.

See the chapter "Derivatives as linear maps, and the chain rule".

Chapters: "Derivatives as linear maps, and the chain rule", "Automatic differentiation from
scratch", "Derivatives of matrix functions", "Second derivatives and Newton's method", "Critical
points and second-order conditions".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.func import jacrev

from hessnotes._linalg import as_torch as _as_torch
from hessnotes._linalg import unvec, vec, vec_matrix

__all__ = ["adjoint_mismatch", "jacobian_matrix", "operator_matrix"]


def _out(t: torch.Tensor, numpy: bool) -> Any:
    return t.detach().cpu().numpy() if numpy else t


def operator_matrix(L: Callable[[Any], Any], like: Any) -> Any:
    """The matrix ``J`` of a linear map ``L``: ``vec(L[H]) = J vec(H)`` for every ``H``.

    Column ``k`` of ``J`` is ``vec(L[E_k])`` with ``E_k = unvec(e_k)`` the ``k``-th basis array of
    the input space, so ``J`` costs ``N = like.size`` applications of ``L``: this is how forward
    mode builds a Jacobian, one direction at a time.

    Args:
        L: linear map, called on arrays of the shape of ``like`` (numpy or torch, as ``like``).
        like: an array of the input's shape, dtype and kind (e.g. the point ``X``).

    Returns:
        ``(M, N)`` matrix, ``M`` the size of ``L``'s output; numpy or torch like ``like``.

    Raises:
        TypeError: if ``like`` is not a floating numpy array or torch tensor.
        ValueError: if ``like`` is empty, or ``L`` returns outputs of different shapes.
    """
    x, numpy = _as_torch(like, "like")
    shape, n = tuple(x.shape), x.numel()
    if n == 0:
        raise ValueError(f"like has shape {shape} with no entries; the input space is empty")
    cols, out_shape = [], None
    eye = torch.eye(n, dtype=x.dtype, device=x.device)
    for k in range(n):
        e = unvec(eye[k], shape)
        y = L(e.numpy() if numpy else e)
        y = torch.as_tensor(y, dtype=x.dtype, device=x.device)
        if out_shape is None:
            out_shape = tuple(y.shape)
        elif tuple(y.shape) != out_shape:
            raise ValueError(
                f"L returned shape {tuple(y.shape)} for basis array {k} but {out_shape} before; "
                "a linear map has one output shape"
            )
        cols.append(vec(y))
    return _out(torch.stack(cols, dim=1), numpy)


def jacobian_matrix(f: Callable[[torch.Tensor], torch.Tensor], X: Any) -> Any:
    """Autograd's Jacobian of ``f`` at ``X`` in the vec convention, ``(outputs, inputs)``.

    The reference for :func:`operator_matrix` and for closed forms such as
    ``∂vec(X⁻¹)/∂vec(X) = -(X⁻ᵀ ⊗ X⁻¹)``: ``torch.func.jacrev`` gives an array of shape
    ``f(X).shape + X.shape``, whose axes are reordered so that both sides are vectorised column by
    column.

    Args:
        f: function written in torch, from arrays of ``X``'s shape to arrays (or a scalar).
        X: the point, numpy or torch (numpy is converted and the result returned as numpy).

    Returns:
        ``(M, N)`` Jacobian, ``M = f(X).numel()``, ``N = X.numel()``.

    Raises:
        TypeError: if ``X`` is not a floating numpy array or torch tensor.
    """
    x, numpy = _as_torch(X, "X")
    jac = jacrev(lambda z: torch.as_tensor(f(z)))(x.detach())
    return _out(vec_matrix(jac, jac.ndim - x.ndim), numpy)


def adjoint_mismatch(
    L: Callable[[Any], Any],
    L_adj: Callable[[Any], Any],
    like: Any,
    *,
    trials: int = 3,
    seed: int = 0,
) -> float:
    """Dot-product test of a claimed adjoint: ``max |⟨W, L[H]⟩ - ⟨L*[W], H⟩| / scale``.

    For random ``H`` (shape of ``like``) and ``W`` (shape of ``L[H]``), compares the two sides of
    ``⟨W, L[H]⟩ = ⟨L*[W], H⟩`` relative to ``scale = ‖W‖‖L[H]‖ + ‖L*[W]‖‖H‖``. A true adjoint gives
    roundoff (about ``1e-16`` in float64); a wrong one (a missing transpose) gives order one.

    Args:
        L: linear map on arrays of the shape of ``like``.
        L_adj: the claimed adjoint, on arrays of the shape of ``L``'s output.
        like: array of the input's shape, dtype and kind.
        trials: number of random pairs ``(H, W)``; at least 1.
        seed: seed of the ``torch.Generator`` drawing them.

    Returns:
        The largest relative mismatch over the trials.

    Raises:
        ValueError: if ``trials < 1``, ``like`` is empty, or ``L_adj(W)`` does not have the shape of
            ``like``.
    """
    if trials < 1:
        raise ValueError(f"trials={trials}; the test needs at least one pair (H, W)")
    x, numpy = _as_torch(like, "like")
    if x.numel() == 0:
        raise ValueError(f"like has shape {tuple(x.shape)} with no entries")
    gen = torch.Generator().manual_seed(seed)

    def conv(t: torch.Tensor) -> Any:
        return t.numpy() if numpy else t.to(device=x.device)

    def back(a: Any) -> torch.Tensor:
        return torch.as_tensor(a).detach().cpu().to(torch.float64)

    worst = 0.0
    for _ in range(trials):
        H = torch.randn(tuple(x.shape), generator=gen, dtype=torch.float64)
        LH = back(L(conv(H.to(x.dtype))))
        W = torch.randn(tuple(LH.shape), generator=gen, dtype=torch.float64)
        LW = back(L_adj(conv(W.to(x.dtype))))
        if tuple(LW.shape) != tuple(x.shape):
            raise ValueError(
                f"L_adj returned shape {tuple(LW.shape)}; the adjoint maps the output space back "
                f"to the input space, shape {tuple(x.shape)}"
            )
        lhs, rhs = float((W * LH).sum()), float((LW * H).sum())
        scale = float(W.norm() * LH.norm() + LW.norm() * H.norm())
        worst = max(worst, abs(lhs - rhs) / scale if scale > 0 else abs(lhs - rhs))
    return worst
