"""Exact curvature from automatic differentiation: Hessian-vector products, Gauss–Newton, Lanczos.

The estimators of :mod:`hessnotes.secant` infer a Hessian from gradient pairs. This module computes
the curvature that they estimate, exactly and without ever forming a D x D matrix:

* :func:`hvp`: the Hessian of a scalar torch function at a point as an operator, ``H @ v`` by
  differentiating the gradient (Pearlmutter 1994): by default reverse-over-reverse, the
  vector-Jacobian product ``v^T H`` of the gradient's graph, built once; or forward-over-reverse,
  ``H v = d/dt grad f(x + t v) |_{t=0}``. Blocks of vectors are vmapped over their columns.
* :func:`gauss_newton` and :func:`gauss_newton_split`: for a loss ``f(x) = l(g(x))`` of a network
  ``g: R^D -> R^m``, the split ``H = J^T H_l J + sum_k (dl/dg_k) grad^2 g_k`` into the positive
  semi-definite Gauss–Newton term (for a convex ``l``) and the residual term.
* :func:`lanczos`: k Lanczos steps (Lanczos 1950) with full reorthogonalisation (the cure for the
  loss of orthogonality analysed by Paige 1972) on anything with ``@`` and ``.shape``.
* :func:`spectral_density`: stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017), the spectral
  density estimate of PyHessian (Yao et al. 2020); :func:`eigenvalue_density` broadens a known
  spectrum the same way, for comparison.
* :func:`hvp_cost`: the cost of a Hessian-vector product in gradient evaluations, counted in
  matrix-multiply FLOPs (deterministic, unlike timings).

**From a model.** :func:`hvp`, :func:`gauss_newton`, :func:`gauss_newton_split`, :func:`lanczos`
and :func:`spectral_density` also take ``(model, loss_fn, data)``: a ``torch.nn.Module``, a loss
``loss_fn(outputs, targets)`` and one batch ``(inputs, targets)`` or an iterable of batches
(accumulated batch by batch, optionally in chunks of ``batch_size`` rows, so memory stays bounded),
over all parameters or the ones named in ``params=``. The curvature is that of the loss of all
the data with respect to the flat parameter vector: the chosen parameters in the order of
``model.named_parameters()``, each flattened row-major; ``op.unflatten(v)`` maps a vector back to
named parameter shapes. The model's dtype and device are followed and its state (mode, buffers,
``.grad``) is left as it was (see :mod:`hessnotes._model`).

Kinds: the point ``x`` of :func:`hvp` is a torch tensor (the function is a torch function). An
operator's product follows the vector: numpy in, numpy out; torch in, torch out. :func:`lanczos`
and :func:`spectral_density` return the kind of their operator (numpy for numpy matrices and
numpy-backed :class:`~hessnotes.lowrank.LowRankSymmetric`, torch otherwise).

Refused, before anything is computed: vectors holding NaN or Inf (named, with the first bad
entry), and requests whose arrays would exceed the library's memory limit
(:data:`hessnotes._linalg.MAX_DENSE_BYTES`): a Lanczos basis of k steps at large D, a dense D x D
matrix.

Served chapter: "Exact curvature".

Chapters: "Exact curvature".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import grad, jvp, vjp, vmap

from hessnotes._linalg import DENSE_LIMIT as DENSE_LIMIT  # re-exported, for compatibility
from hessnotes._linalg import MAX_DENSE_BYTES as MAX_DENSE_BYTES  # re-exported, likewise
from hessnotes._linalg import check_finite, check_memory, check_positive_int, check_tol, eps_of
from hessnotes._model import ModelLoss, is_model

__all__ = [
    "CurvatureOperator",
    "CurvatureSplit",
    "HvpCost",
    "LanczosResult",
    "SpectralDensity",
    "eigenvalue_density",
    "gauss_newton",
    "gauss_newton_split",
    "hvp",
    "hvp_cost",
    "lanczos",
    "spectral_density",
]


# ------------------------------------------------------------------------------------ operators
class CurvatureOperator:
    """A symmetric D x D matrix known only through its products ``A @ v``.

    Built by :func:`hvp`, :func:`gauss_newton` and :func:`gauss_newton_split`; it never stores a
    D x D array. ``A @ v`` takes ``v`` of shape (D,) or (D, k), numpy or torch, of the operator's
    dtype; the result has the kind and shape of ``v``. Every column of a block counts as one
    product in :attr:`products`.

    Args:
        block: function mapping a (D, k) torch tensor to the (D, k) tensor ``A V``.
        D: the size.
        dtype, device: of the tensors ``block`` expects.
        name: what the operator is, for its repr.
        layout: for an operator built from a model, the (name, shape) of each parameter in the
            flattening order (see :meth:`unflatten`).
    """

    __slots__ = ("_block", "_counter", "_device", "_dtype", "_layout", "_name", "_size")
    #: Makes numpy defer ``ndarray @ A`` to :meth:`__rmatmul__` instead of failing.
    __array_ufunc__ = None

    def __init__(
        self,
        block: Callable[[torch.Tensor], torch.Tensor],
        D: int,
        dtype: torch.dtype,
        device: torch.device,
        name: str,
        layout: list[tuple[str, tuple[int, ...]]] | None = None,
    ):
        self._block, self._size, self._dtype, self._device, self._name = (
            block,
            int(D),
            dtype,
            device,
            name,
        )
        self._layout = layout
        self._counter = [0]

    @property
    def shape(self) -> tuple[int, int]:
        """(D, D)."""
        return (self._size, self._size)

    @property
    def dtype(self) -> torch.dtype:
        """The torch dtype of the point (and of the vectors it multiplies)."""
        return self._dtype

    @property
    def device(self) -> torch.device:
        """The torch device of the point."""
        return self._device

    @property
    def products(self) -> int:
        """Number of matrix-vector products computed so far (each column of a block counts one).

        For :func:`hvp` each is one Hessian-vector product, which costs about as much as a few
        gradient evaluations; :func:`hvp_cost` measures the ratio.
        """
        return self._counter[0]

    @property
    def param_names(self) -> list[str] | None:
        """For an operator built from a model: the parameter names, in the flattening order."""
        return None if self._layout is None else [n for n, _ in self._layout]

    def unflatten(self, v: Any) -> dict[str, Any]:
        """A flat vector (D,) as ``{parameter name: array of that parameter's shape}``.

        The flattening order is that of ``model.named_parameters()`` (restricted to the chosen
        parameters), each parameter row-major. The arrays are views of ``v`` (numpy or torch).

        Raises:
            ValueError: the operator was not built from a model, or v is not of shape (D,).
        """
        if self._layout is None:
            raise ValueError(
                f"{self!r} was built from a flat function, not from a model; it has no parameter "
                "layout to unflatten into (build it as hvp(model, loss_fn, data))."
            )
        if tuple(v.shape) != (self._size,):
            raise ValueError(f"v has shape {tuple(v.shape)}; expected ({self._size},).")
        out, i = {}, 0
        for name, shape in self._layout:
            k = math.prod(shape)
            out[name] = v[i : i + k].reshape(shape)
            i += k
        return out

    def reset(self) -> None:
        """Set :attr:`products` back to zero (to count the cost of one computation)."""
        self._counter[0] = 0

    def __repr__(self) -> str:
        dt = str(self._dtype).removeprefix("torch.")
        return (
            f"CurvatureOperator({self._name}, D={self._size}, dtype={dt}, device={self._device}, "
            f"products={self.products})"
        )

    def __matmul__(self, v: Any) -> Any:
        """``A @ v`` for v of shape (D,) or (D, k); the result has the kind of v.

        Raises:
            ValueError: v of the wrong shape, or holding NaN or Inf (the first bad entry named).
            TypeError: v of another dtype or device.
        """
        is_np = isinstance(v, np.ndarray)
        if is_np:
            vt = torch.from_numpy(np.ascontiguousarray(v))
        elif isinstance(v, torch.Tensor):
            vt = v
        else:
            return NotImplemented
        D = self._size
        if vt.ndim not in (1, 2) or vt.shape[0] != D:
            raise ValueError(
                f"A @ v needs v of shape ({D},) or ({D}, k) for {self!r}; got {tuple(vt.shape)}."
            )
        if vt.dtype != self._dtype or vt.device != self._device:
            raise TypeError(
                f"v is {vt.dtype} on {vt.device} but the operator is {self._dtype} on "
                f"{self._device}; convert v first, e.g. v.to({self._dtype})."
            )
        check_finite(vt, "v")
        V = vt[:, None] if vt.ndim == 1 else vt
        if V.shape[1] == 0:
            out = torch.zeros_like(V)
        else:
            out = self._block(V.detach())
            self._counter[0] += V.shape[1]
        out = out[:, 0] if vt.ndim == 1 else out
        return out.detach().numpy() if is_np else out.detach()

    def __rmatmul__(self, v: Any) -> Any:
        """``v @ A = (A v^T)^T`` (A is symmetric): v of shape (D,) or (k, D)."""
        vt = v if isinstance(v, torch.Tensor | np.ndarray) else None
        if vt is None:
            return NotImplemented
        return (self @ v.T).T

    def dense(self, *, force: bool = False) -> torch.Tensor:
        """The D x D matrix, column by column (D products): a reference for small D only.

        Raises:
            ValueError: if the D x D matrix would exceed the library's memory limit
                (:data:`hessnotes._linalg.MAX_DENSE_BYTES`, D = 16 384 in float64) and
                ``force`` is False.
        """
        D = self._size
        if not force:
            itemsize = torch.empty((), dtype=self._dtype).element_size()
            check_memory(
                D * D * itemsize,
                f"dense() of {self!r}: the D x D matrix, {D} products",
                "Use products A @ v, lanczos or spectral_density instead, or pass force=True",
            )
        return self @ torch.eye(D, dtype=self._dtype, device=self._device)


def _check_point(x: Any, name: str = "x") -> torch.Tensor:
    if isinstance(x, np.ndarray):
        raise TypeError(
            f"{name} is a numpy array; the function is a torch function, so pass a torch tensor, "
            f"e.g. torch.from_numpy({name}). (Products H @ v accept numpy vectors.)"
        )
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor; got {type(x).__name__}.")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"{name} has dtype {x.dtype}; hessnotes computes in float32 or float64 only (integer, "
            f"float16 and bfloat16 points are refused, not cast silently). Convert it first, "
            f"e.g. {name}.to(torch.float64)."
        )
    if x.ndim != 1:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}; pass a 1-D point of shape (D,). For a matrix or "
            f"image argument, flatten it: f_flat = lambda v: f(v.reshape{tuple(x.shape)})."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape (0,)); D must be at least 1.")
    check_finite(x, name)
    return x.detach()


_MODEL_HINT = (
    " {f} is a torch.nn.Module, used here as a function of x (the flat form {where}(f, x)); for "
    "the curvature of a loss with respect to the model's parameters, call "
    "{where}(model, loss_fn, (inputs, targets))."
)


def _check_scalar(f: Callable, x: torch.Tensor, name: str = "f", where: str = "hvp") -> None:
    hint = _MODEL_HINT.format(f=name, where=where) if is_model(f) else ""
    try:
        out = f(x)
    except (RuntimeError, TypeError, ValueError) as err:
        if not hint:
            raise
        raise type(err)(f"{name}(x) failed: {err}.{hint}") from err
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{name}(x) must return a torch tensor; it returned {type(out).__name__}.")
    if out.ndim != 0:
        raise ValueError(
            f"{name}(x) must be a scalar (0-d tensor) for a Hessian; it has shape "
            f"{tuple(out.shape)}. Reduce it (e.g. .sum() or .mean()), or use gauss_newton for a "
            f"vector-valued network followed by a scalar loss.{hint}"
        )


_MODES = ("forward-over-reverse", "reverse-over-reverse")
#: The default mode: measured fastest on the book's networks (benchmarks/bench_curvature.py).
DEFAULT_MODE = "reverse-over-reverse"


def _check_mode(mode: str | None) -> str:
    mode = DEFAULT_MODE if mode is None else mode
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}; use one of {_MODES}.")
    return mode


def _hvp_one(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, mode: str
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``v -> H v`` for one vector with ``torch.func`` (the form :func:`hvp_cost` counts)."""
    g = grad(f)
    if mode == "forward-over-reverse":
        return lambda v: jvp(g, (x,), (v,))[1]
    _, pullback = vjp(g, x)  # the gradient's own graph, kept for every product
    return lambda v: pullback(v)[0]


def _blocked(
    one: Callable[[torch.Tensor], torch.Tensor], chunk_size: int | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A (D, k) block product from a one-vector product: vmapped over the columns."""

    def block(V: torch.Tensor) -> torch.Tensor:
        if V.shape[1] == 1:  # one vector (every Lanczos step): no vmap overhead
            return one(V[:, 0])[:, None]
        return vmap(one, in_dims=1, out_dims=1, chunk_size=chunk_size)(V)

    return block


def _hvp_block(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, mode: str, chunk_size: int | None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The block product ``V -> H V`` of an operator.

    Reverse-over-reverse builds the gradient's graph once with ``torch.autograd`` and
    differentiates it backwards for each vector (``torch.autograd.grad`` with
    ``retain_graph``; a block of k vectors as one batched call, ``is_grads_batched``): the same
    products as ``torch.func.vjp`` of ``torch.func.grad``, without its per-call wrapping, which
    cost 15-20 % of a product on the book's networks. Forward-over-reverse goes through
    ``torch.func`` (:func:`_hvp_one`).
    """
    if mode == "forward-over-reverse":
        return _blocked(_hvp_one(f, x, mode), chunk_size)
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(f(leaf), leaf, create_graph=True)

    def block(V: torch.Tensor) -> torch.Tensor:
        if V.shape[1] == 1:
            (hv,) = torch.autograd.grad(g, leaf, grad_outputs=V[:, 0], retain_graph=True)
            return hv.detach()[:, None]
        step = V.shape[1] if chunk_size is None else chunk_size
        parts = []
        for s in range(0, V.shape[1], step):
            W = V[:, s : s + step].T.contiguous()
            (hv,) = torch.autograd.grad(
                g, leaf, grad_outputs=W, retain_graph=True, is_grads_batched=True
            )
            parts.append(hv.detach().T)
        return torch.cat(parts, dim=1)

    return block


def _over_batches(
    ml: ModelLoss, per_batch: Callable[[Any, Any], Callable[[torch.Tensor], torch.Tensor]]
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``V -> sum_b w_b A_b V`` over the model's data, one batch (or chunk) at a time: memory is
    that of one batch's product, whatever the size of the data."""

    def block(V: torch.Tensor) -> torch.Tensor:
        out, total = torch.zeros_like(V), 0
        for x, y, rows in ml.batches():
            part = per_batch(x, y)(V)
            out += part * (rows if ml.reduction == "mean" else 1.0)
            total += rows
        return out / total if ml.reduction == "mean" else out

    return block


def _model_rr_block(
    ml: ModelLoss, x: Any, y: Any, chunk_size: int | None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Reverse-over-reverse for one batch of a model, the gradient's graph built once on one leaf
    per parameter (as training does): products then need no slicing of a flat vector in the
    graph, which cost about 20 % of a product on the digits network."""
    leaves = [t.detach().clone().requires_grad_(True) for t in ml.unflatten(ml.theta).values()]
    with torch.enable_grad():
        out = ml.loss_of(dict(zip(ml.names, leaves, strict=True)), x, y)
        g = torch.autograd.grad(out, leaves, create_graph=True, allow_unused=True)
    used = [i for i, gi in enumerate(g) if gi is not None and gi.requires_grad]
    offsets = np.cumsum([0, *ml.sizes])

    def product(W: torch.Tensor, batched: bool) -> torch.Tensor:
        """W: (c, D) rows of vectors if batched, else (D,)."""
        outs = [torch.zeros_like(W)] if not used else []
        if used:
            parts = [
                W[..., offsets[i] : offsets[i + 1]].reshape(*W.shape[:-1], *ml.shapes[i])
                for i in used
            ]
            got = torch.autograd.grad(
                [g[i] for i in used],
                leaves,
                grad_outputs=parts,
                retain_graph=True,
                allow_unused=True,
                is_grads_batched=batched,
            )
            lead = W.shape[:-1]
            outs = [
                torch.zeros((*lead, ml.sizes[i]), dtype=W.dtype, device=W.device)
                if gi is None
                else gi.detach().reshape(*lead, ml.sizes[i])
                for i, gi in enumerate(got)
            ]
        return torch.cat(outs, dim=-1)

    def block(V: torch.Tensor) -> torch.Tensor:
        if V.shape[1] == 1:
            return product(V[:, 0], False)[:, None]
        step = V.shape[1] if chunk_size is None else chunk_size
        return torch.cat(
            [
                product(V[:, s : s + step].T.contiguous(), True).T
                for s in range(0, V.shape[1], step)
            ],
            dim=1,
        )

    return block


def _model_hvp(ml: ModelLoss, mode: str, chunk_size: int | None) -> CurvatureOperator:
    theta = ml.theta

    def per_batch(x: Any, y: Any) -> Callable[[torch.Tensor], torch.Tensor]:
        if mode == "reverse-over-reverse":
            return _model_rr_block(ml, x, y, chunk_size)
        return _hvp_block(lambda t: ml.loss(t, x, y), theta, mode, chunk_size)

    if ml.one_batch:  # build the batch's graph once and reuse it for every product
        block = per_batch(*ml.check())
    else:
        ml.check()
        block = _over_batches(ml, per_batch)
    name = f"Hessian of {_loss_name(ml.loss_fn)} over {_data_name(ml)}, {mode}"
    return CurvatureOperator(
        block, ml.D, ml.dtype, ml.device, name, list(zip(ml.names, ml.shapes, strict=True))
    )


def _loss_name(loss_fn: Any) -> str:
    return getattr(loss_fn, "__name__", type(loss_fn).__name__)


def _data_name(ml: ModelLoss) -> str:
    if ml._single:
        rows = ml.data[0].shape[0]
        chunks = "" if ml.batch_size is None else f" in chunks of {ml.batch_size}"
        return f"a batch of {rows}{chunks}"
    return "the batches of data"


_NO_DATA = object()


def _model(
    model: Any, loss_fn: Any, data: Any, where: str, options: dict[str, Any]
) -> ModelLoss | None:
    """The model form's ModelLoss, or None for the flat form (checking the options fit it)."""
    if is_model(model) and data is not _NO_DATA:
        return ModelLoss(model, loss_fn, data, where=where, **options)

    given = [k for k, v in options.items() if v is not None]
    if given:
        raise TypeError(
            f"{where}: {', '.join(given)} only apply to the model form "
            f"{where}(model, loss_fn, data, ...)."
        )
    return None


def hvp(
    f: Any,
    x: Any,
    data: Any = _NO_DATA,
    *,
    mode: str | None = None,
    chunk_size: int | None = None,
    params: Any = None,
    reduction: str | None = None,
    batch_size: int | None = None,
) -> CurvatureOperator:
    """The exact Hessian ``H = grad^2 f(x)`` of a scalar torch function as an operator.

    Two forms:

    * ``hvp(f, x)``: f maps a (D,) tensor to a 0-d tensor, x is the point.
    * ``hvp(model, loss_fn, data)``: the Hessian of the loss of all the data with respect to the
      model's parameters (see the module docstring: batches, ``params``, flattening order,
      ``op.unflatten``). With one batch, its graph is built once and reused for every product;
      with several batches (or ``batch_size``), each product runs over them one at a time, so
      memory is that of one batch.

    ``mode="reverse-over-reverse"`` (the default) computes ``H v`` as ``v^T H`` (H is
    symmetric), the vector-Jacobian product of the gradient,
    ``torch.func.vjp(torch.func.grad(f), x)``: the gradient's graph is built once, at
    construction, and each product is one backward pass through it.
    ``mode="forward-over-reverse"`` is ``H v = d/dt grad f(x + t v)|_{t=0}``,
    ``torch.func.jvp(torch.func.grad(f), (x,), (v,))`` (Pearlmutter 1994). A (D, k) block is
    ``torch.func.vmap`` over its columns. The FLOP counts are alike (a product is a few
    gradients; see :func:`hvp_cost`), but with torch 2.13 on the CPU reverse-over-reverse
    measured several times faster in wall time on the book's networks
    (``benchmarks/bench_curvature.py``), hence the default. No D x D array is formed.

    Args:
        f: maps a (D,) tensor to a 0-d tensor, differentiable twice by ``torch.func`` (no
            in-place changes of its input, no ``.item()``); or a ``torch.nn.Module`` (model form).
        x: (D,) torch tensor, float32 or float64, on any device; products use its dtype and
            device. In the model form: the loss function ``loss_fn(outputs, targets)``.
        data: model form only: a batch ``(inputs, targets)`` or an iterable of batches.
        mode: ``"reverse-over-reverse"`` (default) or ``"forward-over-reverse"``.
        chunk_size: columns per vmapped batch (default: all at once); lower it to save memory.
        params, reduction, batch_size: model form only, see :mod:`hessnotes._model`.

    Returns:
        CurvatureOperator of shape (D, D). ``H @ v`` for v of shape (D,) or (D, k), numpy or
        torch (numpy in, numpy out); ``H.products`` counts the products. Construction evaluates
        ``f(x)`` once to check that it is a scalar (and builds the graph for
        reverse-over-reverse); that is not counted.

    Raises:
        TypeError: x not a float32/float64 torch tensor (a numpy point gets a hint), f not
            returning a tensor; model-form options with the flat form.
        ValueError: x not 1-D, empty, or holding NaN or Inf; f(x) not a scalar; an unknown mode;
            as :class:`hessnotes._model.ModelLoss` for the model form.

    Example:
        >>> A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
        >>> H = hvp(lambda x: 0.5 * x @ A @ x + x.sin().sum(), torch.zeros(2, dtype=torch.float64))
        >>> H @ torch.tensor([1.0, 0.0], dtype=torch.float64)
        tensor([2., 1.], dtype=torch.float64)
    """
    mode = _check_mode(mode)
    opts = {"params": params, "reduction": reduction, "batch_size": batch_size}
    ml = _model(f, x, data, "hvp", opts)
    if ml is not None:
        return _model_hvp(ml, mode, chunk_size)
    if is_model(f) and callable(x) and not isinstance(x, torch.Tensor):
        raise TypeError(
            "hvp(model, loss_fn): the model form is hvp(model, loss_fn, data) with data a batch "
            "(inputs, targets) or an iterable of batches; data is missing."
        )
    x = _check_point(x)
    _check_scalar(f, x)
    block = _hvp_block(f, x, mode, chunk_size)
    return CurvatureOperator(block, x.shape[0], x.dtype, x.device, f"Hessian, {mode}")


# ------------------------------------------------------------------------------- Gauss–Newton
@dataclass(frozen=True)
class CurvatureSplit:
    """``H = G + R`` for a loss ``f = l o g``: the Hessian, its Gauss–Newton and residual terms.

    Attributes:
        hessian: ``H = grad^2 (l o g)(x)``, as :func:`hvp`.
        gauss_newton: ``G = J^T H_l J`` with ``J = dg/dx`` (m x D) and ``H_l = grad^2 l(g(x))``.
        residual: ``R = H - G = sum_k (dl/dg_k) grad^2 g_k``, applied as ``H v - G v``.
    """

    hessian: CurvatureOperator
    gauss_newton: CurvatureOperator
    residual: CurvatureOperator


def _check_network(net: Callable, loss: Callable, x: torch.Tensor) -> torch.Tensor:
    z = net(x)
    if not isinstance(z, torch.Tensor) or z.ndim != 1:
        shape = tuple(getattr(z, "shape", ()))
        raise ValueError(
            f"net(x) must return a 1-D tensor of outputs (m,) for the flat form "
            f"gauss_newton(net, loss, x); it returned {type(z).__name__} of shape {shape}. For a "
            "model and a batch (outputs (N, C)), use gauss_newton(model, loss_fn, (inputs, "
            "targets)), which needs no flattening; for a flat function, return the outputs "
            "flattened (net(x).reshape(-1)) and let loss reshape them back. For a scalar "
            "network use hvp(f, x)."
        )
    _check_scalar(loss, z.detach(), "loss")
    return z.detach()


def _gn_one(
    net: Callable[[torch.Tensor], Any],
    loss: Callable[[Any], torch.Tensor],
    x: torch.Tensor,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``v -> J^T H_l J v`` with the network's graph (its VJP) built once."""
    z, pullback = vjp(net, x)
    z = z.detach()
    gl = grad(loss)

    def one(v: torch.Tensor) -> torch.Tensor:
        _, u = jvp(net, (x,), (v,))  # J v
        _, w = jvp(gl, (z,), (u,))  # H_l (J v)
        return pullback(w)[0]  # J^T H_l J v

    return one


def _model_gn(ml: ModelLoss) -> CurvatureOperator:
    theta = ml.theta

    def per_batch(x: Any, y: Any) -> Callable[[torch.Tensor], torch.Tensor]:
        return _blocked(_gn_one(lambda t: ml.outputs(t, x), lambda z: ml.loss_fn(z, y), theta))

    if ml.one_batch:
        block = per_batch(*ml.check())
    else:
        ml.check()
        block = _over_batches(ml, per_batch)
    name = f"Gauss-Newton J^T H_l J of {_loss_name(ml.loss_fn)} over {_data_name(ml)}"
    return CurvatureOperator(
        block, ml.D, ml.dtype, ml.device, name, list(zip(ml.names, ml.shapes, strict=True))
    )


def gauss_newton(
    net: Any,
    loss: Any,
    x: Any,
    *,
    params: Any = None,
    reduction: str | None = None,
    batch_size: int | None = None,
) -> CurvatureOperator:
    """The Gauss–Newton term ``G = J^T H_l J`` of the Hessian of ``f(x) = loss(net(x))``.

    With ``z = net(x)`` (m outputs), ``J = dnet/dx`` (m x D) and ``H_l = grad^2 loss(z)`` (m x m),
    one product ``G v`` is a JVP ``u = J v``, a loss Hessian product ``w = H_l u`` (forward over
    reverse on the m outputs) and a VJP ``J^T w``. G is positive semi-definite when the loss is
    convex in the outputs (squared error, softmax cross-entropy), whatever the network.

    Two forms:

    * ``gauss_newton(net, loss, x)``: net maps a (D,) tensor to (m,) outputs, loss maps them to
      a 0-d tensor, x is the point.
    * ``gauss_newton(model, loss_fn, data)``: J is the Jacobian of the model's outputs on a batch
      (any shape, e.g. (N, C) logits) with respect to its flat parameters, and ``H_l`` the
      Hessian of ``loss_fn(outputs, targets)`` in the outputs; summed over the batches with the
      weights of the loss (see the module docstring). No flattening by hand.

    Args:
        net: maps a (D,) tensor to (m,) outputs, differentiable by ``torch.func``; or a
            ``torch.nn.Module`` (model form).
        loss: maps (m,) outputs to a 0-d tensor, twice differentiable; in the model form
            ``loss_fn(outputs, targets)``.
        x: (D,) torch tensor, float32 or float64; in the model form a batch
            ``(inputs, targets)`` or an iterable of batches.
        params, reduction, batch_size: model form only, see :mod:`hessnotes._model`.

    Returns:
        CurvatureOperator of shape (D, D), as :func:`hvp`.

    Raises:
        TypeError: as :func:`hvp`.
        ValueError: x not 1-D or not finite; net(x) not 1-D (the message shows both fixes);
            loss(net(x)) not a scalar; as :class:`hessnotes._model.ModelLoss` for the model form.
    """
    opts = {"params": params, "reduction": reduction, "batch_size": batch_size}
    ml = _model(net, loss, x if not isinstance(x, torch.Tensor) else _NO_DATA, "gauss_newton", opts)
    if ml is not None:
        return _model_gn(ml)
    x = _check_point(x)
    _check_network(net, loss, x)
    block = _blocked(_gn_one(net, loss, x))
    return CurvatureOperator(block, x.shape[0], x.dtype, x.device, "Gauss-Newton J^T H_l J")


def gauss_newton_split(
    net: Any,
    loss: Any,
    x: Any,
    *,
    params: Any = None,
    reduction: str | None = None,
    batch_size: int | None = None,
) -> CurvatureSplit:
    """The Hessian of ``loss(net(x))`` and its split ``H = J^T H_l J + sum_k (dl/dg_k) grad^2 g_k``.

    The second term is the residual; it vanishes where the loss gradient ``dl/dz`` does (a perfect
    fit) or where the network is linear in x, and it is the only source of negative curvature when
    the loss is convex in the outputs. Here it is applied as ``H v - G v``, so one of its products
    costs one Hessian-vector product plus one Gauss–Newton product (both counted on the residual).

    Args, Raises: as :func:`gauss_newton` (both forms).

    Returns:
        CurvatureSplit(hessian, gauss_newton, residual), three CurvatureOperator of shape (D, D).
    """
    opts = {"params": params, "reduction": reduction, "batch_size": batch_size}
    data = x if not isinstance(x, torch.Tensor) else _NO_DATA
    ml = _model(net, loss, data, "gauss_newton_split", opts)
    if ml is not None:
        H, G = _model_hvp(ml, DEFAULT_MODE, None), _model_gn(ml)
        D, dtype, device, layout = ml.D, ml.dtype, ml.device, H._layout
    else:
        x = _check_point(x)
        _check_network(net, loss, x)
        H = hvp(lambda t: loss(net(t)), x)
        G = gauss_newton(net, loss, x)
        D, dtype, device, layout = x.shape[0], x.dtype, x.device, None

    def block(V: torch.Tensor) -> torch.Tensor:
        return H._block(V) - G._block(V)

    R = CurvatureOperator(block, D, dtype, device, "residual H - J^T H_l J", layout)
    return CurvatureSplit(H, G, R)


# ------------------------------------------------------------------------------------ cost
@dataclass(frozen=True)
class HvpCost:
    """Matrix-multiply FLOPs of one evaluation of f, of its gradient and of one HVP.

    Counted with ``torch.utils.flop_counter.FlopCounterMode``, which counts matrix products
    (``mm``, ``addmm``, ``bmm``, convolutions; here also matrix-vector ``mv`` and ``dot``, at
    2 FLOPs per multiply-add) and not elementwise work; for networks made of dense layers the
    matrix products dominate. The counts are exact integers, the same on every
    machine.
    """

    function: int
    gradient: int
    hvp: int

    @property
    def gradient_in_functions(self) -> float:
        """``gradient / function``: the cheap-gradient ratio of reverse mode."""
        return self.gradient / self.function

    @property
    def hvp_in_gradients(self) -> float:
        """``hvp / gradient``: what one Hessian-vector product costs, in gradient evaluations."""
        return self.hvp / self.gradient


def hvp_cost(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    mode: str = "forward-over-reverse",
) -> HvpCost:
    """Count the matrix-multiply FLOPs of ``f(x)``, ``grad f(x)`` and one product ``H v``.

    For ``mode="reverse-over-reverse"`` the product's count includes building the gradient's
    graph (one gradient), which :func:`hvp` does once and reuses for every product.

    Args:
        f, x, mode: as :func:`hvp`.

    Returns:
        HvpCost; ``cost.hvp_in_gradients`` converts a budget of products into gradient
        evaluations.

    Raises:
        ValueError: as :func:`hvp`, and if f does no matrix products (nothing to count).
    """
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    extra = {
        aten.mv: lambda a, b, *args, out_shape=None, **kw: 2 * a[0] * a[1],
        aten.dot: lambda a, b, *args, out_shape=None, **kw: 2 * a[0],
    }
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}; use one of {_MODES}.")
    x = _check_point(x)
    _check_scalar(f, x)
    v = torch.ones_like(x)
    g = grad(f)
    counts = []
    for run in (lambda: f(x), lambda: g(x), lambda: _hvp_one(f, x, mode)(v)):
        with FlopCounterMode(display=False, custom_mapping=extra) as counter:
            run()
        counts.append(int(counter.get_total_flops()))
    if counts[0] == 0:
        raise ValueError(
            "f does no matrix products that FlopCounterMode can count, so its cost cannot be "
            "expressed this way; time it instead (see benchmarks/bench_curvature.py)."
        )
    return HvpCost(*counts)


# ------------------------------------------------------------------------------------ Lanczos
@dataclass(frozen=True)
class LanczosResult:
    """The outcome of :func:`lanczos`: Ritz values and vectors, the tridiagonal, diagnostics.

    With ``Q`` the (D, m) orthonormal Lanczos basis and ``T = Q^T A Q`` tridiagonal (diagonal
    ``alpha``, off-diagonal ``beta[:-1]``), the Lanczos relation is
    ``A Q = Q T + beta[-1] q_{m+1} e_m^T``.

    Attributes:
        values: (m,) Ritz values, the eigenvalues of T, descending.
        vectors: (D, m) Ritz vectors ``Q S``, in the order of ``values``, orthonormal.
        residuals: (m,) ``||A y_i - theta_i y_i|| = beta[-1] |S[m-1, i]|`` for each Ritz pair.
        weights: (m,) float64 ``S[0, i]^2``, the Gauss quadrature weights of the start vector:
            ``q_1^T g(A) q_1 ~ sum_i weights_i g(values_i)``, exact for polynomials of degree
            < 2m. With a random start this is a one-probe spectral density estimate, at no extra
            cost (see :func:`spectral_density` and ``eigenvalue_density(..., weights=)``).
        alpha: (m,) diagonal of T (float64).
        beta: (m,) ``beta[j] = ||r_j||`` after step j; ``beta[:-1]`` is the off-diagonal of T and
            ``beta[-1]`` the norm of the last residual (0 where a breakdown was restarted).
        basis: (D, m) the Lanczos vectors Q.
        breakdown: None, or the number of steps after which the Krylov space became invariant
            (``beta`` at rounding level): the Ritz values found so far are then eigenvalues of A.
        steps: m, the number of steps taken (= products used); ``m < k`` after a breakdown
            without ``restart``, or once the stopping tolerance is met.
        tol: the stopping tolerance asked for (None: all k steps were run).
        nev: how many of the largest Ritz values the tolerance applies to.
        converged: with a tolerance, whether the ``nev`` largest Ritz values met it
            (``residuals[i] <= tol * |values[i]|``) within k steps; None without one.
    """

    values: Any
    vectors: Any
    residuals: Any
    weights: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    basis: Any
    breakdown: int | None
    steps: int
    tol: float | None = None
    nev: int | None = None
    converged: bool | None = None

    def __repr__(self) -> str:
        top = ", ".join(f"{float(v):.6g}" for v in list(self.values[:5]))
        more = ", ..." if self.steps > 5 else ""
        stop = (
            ""
            if self.tol is None
            else f", tol={self.tol:.0e} for the top {self.nev}: "
            f"{'converged' if self.converged else 'NOT converged'}"
        )
        bd = "" if self.breakdown is None else f", breakdown after {self.breakdown}"
        return f"LanczosResult(steps={self.steps}, values=[{top}{more}]{bd}{stop})"

    @property
    def tridiagonal(self) -> np.ndarray:
        """(m, m) float64 ``T = Q^T A Q``."""
        m = self.alpha.size
        T = np.diag(self.alpha)
        if m > 1:
            T += np.diag(self.beta[:-1], 1) + np.diag(self.beta[:-1], -1)
        return T

    def ritz(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Ritz values (descending) and quadrature weights after the first j steps, for free.

        The first j steps of a run are the whole of a j-step run from the same start vector, and
        their tridiagonal is the leading j x j block of :attr:`tridiagonal`; so one run of k steps
        gives the results of every shorter one. Beyond :attr:`steps` (after a breakdown) the
        answer is that of all the steps taken.

        Raises:
            ValueError: if j < 1.
        """
        if j < 1:
            raise ValueError(f"j={j} must be at least 1.")
        j = min(int(j), self.steps)
        theta, S = np.linalg.eigh(self.tridiagonal[:j, :j])
        return theta[::-1].copy(), (S[0, ::-1] ** 2).copy()


@dataclass(frozen=True)
class _Op:
    """How to multiply by the caller's operator: kind, dtype, device and size."""

    A: Any
    D: int
    numpy: bool  # results go back as numpy
    dtype: torch.dtype
    device: torch.device
    feed_numpy: bool = False  # A wants numpy vectors (a numpy-backed LowRankSymmetric)

    def apply(self, q: torch.Tensor) -> torch.Tensor:
        v = q.numpy() if self.feed_numpy else q
        out = self.A @ v
        out_t = torch.from_numpy(np.asarray(out)) if self.feed_numpy else out
        if not isinstance(out_t, torch.Tensor) or tuple(out_t.shape) != (self.D,):
            raise ValueError(
                f"A @ v returned shape {tuple(getattr(out_t, 'shape', ()))} for v of shape "
                f"({self.D},); an operator for lanczos must map (D,) to (D,)."
            )
        out_t = out_t.to(dtype=self.dtype, device=self.device)
        try:
            check_finite(out_t, "A @ v")
        except ValueError as err:
            raise ValueError(f"{err} The operator is not finite at this point.") from None
        return out_t

    def out(self, t: torch.Tensor) -> Any:
        return t.detach().cpu().numpy() if self.numpy else t


def _as_op(A: Any) -> _Op:
    shape = getattr(A, "shape", None)
    if shape is None or not hasattr(A, "__matmul__"):
        raise TypeError(
            f"A must support A @ v and have .shape (a numpy or torch matrix, a LowRankSymmetric, "
            f"an hvp operator); got {type(A).__name__}."
        )
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0:
        raise ValueError(f"A must be square, (D, D) with D >= 1; it has shape {shape}.")
    D = shape[0]
    if isinstance(A, np.ndarray):
        if A.dtype not in (np.float32, np.float64):
            raise TypeError(f"A has dtype {A.dtype}; use float32 or float64.")
        return _Op(torch.from_numpy(np.ascontiguousarray(A)), D, True, *_torch_kind(A.dtype))
    dtype = getattr(A, "dtype", torch.float64)
    if isinstance(A, torch.Tensor) or isinstance(dtype, torch.dtype):
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"A has dtype {dtype}; use float32 or float64.")
        device = getattr(A, "device", torch.device("cpu"))
        return _Op(A, D, False, dtype, torch.device(device))
    np_dtype = np.dtype(dtype)
    if np_dtype not in (np.float32, np.float64):
        raise TypeError(f"A has dtype {np_dtype}; use float32 or float64.")
    return _Op(A, D, True, *_torch_kind(np_dtype), feed_numpy=True)


def _torch_kind(np_dtype: Any) -> tuple[torch.dtype, torch.device]:
    dt = torch.float64 if np.dtype(np_dtype) == np.float64 else torch.float32
    return dt, torch.device("cpu")


def _check_steps(k: Any, D: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"{name} must be an integer number of Lanczos steps; got {k!r}.")
    k = int(k)
    if not 1 <= k <= D:
        raise ValueError(
            f"{name}={k} Lanczos steps for an operator of size D={D}; {name} must be in 1..{D} "
            "(the Krylov space has at most D dimensions)."
        )
    return k


def _random_unit(op: _Op, gen: torch.Generator, rademacher: bool = False) -> torch.Tensor:
    if rademacher:
        z = torch.randint(0, 2, (op.D,), generator=gen, dtype=torch.float64) * 2 - 1
    else:
        z = torch.randn(op.D, generator=gen, dtype=torch.float64)
    z = z.to(dtype=op.dtype, device=op.device)
    return z / torch.linalg.vector_norm(z)


def _converged(alpha: np.ndarray, beta: np.ndarray, j: int, tol: float, nev: int) -> bool:
    """After step j + 1: do the nev largest Ritz values have ``|beta_j s_{j,i}| <= tol |theta_i|``?

    The residual of a Ritz pair is ``||A y_i - theta_i y_i|| = beta_j |s_{j,i}|`` (the last
    component of T's eigenvector), and ``|theta_i - lambda| <= ||r_i||`` for an eigenvalue lambda
    of A: the test bounds the relative error of each value (as ARPACK's ``tol`` does).
    """
    m = j + 1
    if m < nev:
        return False
    T = np.diag(alpha[:m]) + (np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1))
    theta, S = np.linalg.eigh(T)
    top = np.argsort(theta)[::-1][:nev]
    scale = max(float(np.abs(theta).max()), 1e-300)
    res = np.abs(beta[j] * S[-1, top])
    return bool(np.all(res <= tol * np.maximum(np.abs(theta[top]), 1e-14 * scale)))


def _run(
    op: _Op,
    k: int,
    q0: torch.Tensor,
    *,
    gen: torch.Generator,
    restart: bool,
    sym_tol: float,
    tol: float | None = None,
    nev: int = 1,
) -> tuple[torch.Tensor, np.ndarray, np.ndarray, int | None, bool]:
    """k Lanczos steps with full reorthogonalisation (fewer once the nev largest Ritz values meet
    ``tol``); returns (Q, alpha, beta, breakdown, converged)."""
    eps = eps_of(op.dtype)
    bd_tol = max(op.D, 10) * eps
    V = torch.empty(k, op.D, dtype=op.dtype, device=op.device)  # row j: q_{j+1}, contiguous
    V[0] = q0
    alpha, beta = np.zeros(k), np.zeros(k)
    breakdown: int | None = None
    anorm = 0.0
    restarted = np.zeros(k, dtype=bool)  # restarted[j]: q_j is a fresh vector (beta[j-1] = 0)
    m = k
    for j in range(k):
        w = op.apply(V[j])
        wnorm = float(torch.linalg.vector_norm(w))
        anorm = max(anorm, wnorm)
        Qj = V[: j + 1]
        h = Qj @ w
        hn = h.detach().cpu().numpy().astype(np.float64)
        alpha[j] = float(hn[j])
        if j >= 1:  # symmetry: q_i^T A q_j must be beta_{j-1} for i = j-1 and 0 for i < j-1
            expect = np.zeros(j)
            expect[j - 1] = 0.0 if restarted[j] else beta[j - 1]
            diff = hn[:j] - expect
            dev = float(np.linalg.norm(diff))
            if dev > sym_tol * max(anorm, 1e-300):
                i = int(np.argmax(np.abs(diff)))
                raise ValueError(
                    f"A is not symmetric: at Lanczos step {j + 1}, q_{i + 1}^T A q_{j + 1} = "
                    f"{hn[i]:.6g} but symmetry requires {expect[i]:.6g} "
                    f"(deviation {dev / anorm:.1e} relative to ||A q||, tol {sym_tol:.0e}). "
                    "Lanczos needs a symmetric operator: pass (A + A.T) / 2 if that is what you "
                    "mean, or use a non-symmetric eigensolver (scipy.sparse.linalg.eigs)."
                )
        w = w - h @ Qj  # classical Gram-Schmidt against all previous vectors, twice
        w = w - (Qj @ w) @ Qj
        beta[j] = float(torch.linalg.vector_norm(w))
        if beta[j] > bd_tol * anorm:
            if tol is not None and _converged(alpha, beta, j, tol, nev):
                return V[: j + 1].T, alpha[: j + 1], beta[: j + 1], breakdown, True
            if j + 1 < k:
                V[j + 1] = w / beta[j]
            continue
        # breakdown: span(Q[:, :j+1]) is invariant under A (to rounding)
        if breakdown is None:
            breakdown = j + 1
        beta[j] = 0.0
        if j + 1 == k:
            break
        if not restart:
            m = j + 1
            break
        z = _random_unit(op, gen)
        for _ in range(2):
            z = z - (Qj @ z) @ Qj
        V[j + 1] = z / torch.linalg.vector_norm(z)
        restarted[j + 1] = True
    done = breakdown is not None and m == breakdown  # an invariant subspace: values exact
    if tol is not None and not done:
        done = _converged(alpha[:m], beta[:m], m - 1, tol, nev)
    return V[:m].T, alpha[:m], beta[:m], breakdown, done


def _operator_args(
    A: Any, args: tuple, where: str, names: tuple[str, ...], options: dict[str, Any]
) -> tuple[Any, tuple]:
    """Split ``where(A, *args)`` into an operator and the remaining positional arguments.

    The operator form is ``where(A, *rest)``; the model form ``where(model, loss_fn, data,
    *rest)`` builds the Hessian operator of the loss (:func:`hvp`) first, with ``options``
    (mode, params, reduction, batch_size). ``names`` are the positional names of ``rest``.
    """
    if is_model(A):
        if len(args) < 2:
            raise TypeError(
                f"{where}(model, ...): the model form is {where}(model, loss_fn, data, "
                f"{', '.join(names)}) with data a batch (inputs, targets) or an iterable of "
                "batches."
            )
        loss_fn, data, rest = args[0], args[1], args[2:]
        ml = ModelLoss(model=A, loss_fn=loss_fn, data=data, where=where, **options["model"])
        return _model_hvp(ml, _check_mode(options["mode"]), None), rest
    given = [k for k, v in {"mode": options["mode"], **options["model"]}.items() if v is not None]
    if given:
        raise TypeError(
            f"{where}: {', '.join(given)} only apply to the model form "
            f"{where}(model, loss_fn, data, ...)."
        )
    return A, args


def _one_positional(rest: tuple, value: Any, name: str, where: str) -> Any:
    if len(rest) > 1:
        raise TypeError(f"{where}: too many positional arguments.")
    if rest and value is not None:
        raise TypeError(f"{where}: {name} given twice (positionally and as {name}=).")
    if not rest and value is None:
        raise TypeError(f"{where}: the number of steps {name} is missing.")
    return rest[0] if rest else value


def _check_basis_memory(op: _Op, k: int, where: str) -> None:
    itemsize = torch.empty((), dtype=op.dtype).element_size()
    dt = str(op.dtype).removeprefix("torch.")
    check_memory(
        op.D * k * itemsize,
        f"{where} on D = {op.D} ({dt}): the Krylov basis Q of {k} steps, (D, {k})",
        "Use fewer steps: the extreme eigenvalues converge in a few dozen (pass tol= to stop "
        "when they have), and a spectral density needs 50-100 steps per probe",
    )


def lanczos(
    A: Any,
    *args: Any,
    k: int | None = None,
    seed: int = 0,
    start: Any = None,
    restart: bool = False,
    sym_tol: float | None = None,
    tol: float | None = None,
    nev: int = 1,
    mode: str | None = None,
    params: Any = None,
    reduction: str | None = None,
    batch_size: int | None = None,
) -> LanczosResult:
    """Up to k steps of the Lanczos process with full reorthogonalisation; Ritz values and vectors.

    Two forms: ``lanczos(A, k)`` for an operator, and ``lanczos(model, loss_fn, data, k)`` for
    the Hessian of a model's loss (built by ``hvp(model, loss_fn, data)``, see :func:`hvp`).

    From a unit vector ``q_1``, the Lanczos process builds an orthonormal basis
    ``Q = [q_1 ... q_k]`` of the Krylov space ``span{q_1, A q_1, ..., A^{k-1} q_1}`` in which
    ``T = Q^T A Q`` is tridiagonal (Lanczos 1950):
    ``A q_j = beta_{j-1} q_{j-1} + alpha_j q_j + beta_j q_{j+1}``. The eigenvalues of T (Ritz
    values) approximate the extreme eigenvalues of A first. In floating point the three-term
    recurrence loses orthogonality as Ritz values converge (Paige 1972), so every new vector is
    orthogonalised against all previous ones, twice (O(D k^2) work, O(D k) memory).

    Each step costs one product ``A @ q``. Symmetry is checked on the way at no extra cost: for a
    symmetric A, ``q_i^T A q_j`` must be ``beta_{j-1}`` for i = j - 1 and 0 for i < j - 1. (With
    k = 1 nothing can be checked.)

    **Stopping.** With ``tol``, the run stops at the first step where the ``nev`` largest Ritz
    values all have residuals ``||A y_i - theta_i y_i|| = beta_j |s_{j,i}| <= tol |theta_i|``;
    since some eigenvalue of A lies within the residual of each Ritz value, each of them is then
    accurate to a relative ``tol`` (the criterion of ARPACK, hence of
    ``scipy.sparse.linalg.eigsh``). The result reports ``tol``, ``nev``, ``converged`` and the
    ``steps`` taken; k is then the most steps allowed.

    Args:
        A: anything with ``A @ v`` for v of shape (D,) and ``.shape == (D, D)``: a numpy array, a
            torch tensor, a LowRankSymmetric, a CurvatureOperator. Float32 or float64. Or a
            ``torch.nn.Module``, followed by ``loss_fn`` and ``data`` (model form).
        k: number of steps (the most, with ``tol``), 1 <= k <= D; positional or keyword.
        seed: seed of the random (Gaussian) start vector.
        start: optional (D,) start vector of A's kind (normalised here) instead of a random one.
        restart: at a breakdown (an invariant subspace, e.g. A of rank r < k - 1, or an
            eigenvalue of multiplicity > 1), continue from a fresh random vector orthogonal to the
            basis (``beta = 0`` there) until k steps are done; default: stop early.
        sym_tol: relative tolerance of the symmetry check; default ``sqrt(eps)`` of the dtype.
        tol: relative residual tolerance for stopping early (see above); default None: k steps.
        nev: how many of the largest Ritz values ``tol`` applies to (default 1).
        mode, params, reduction, batch_size: model form only, as :func:`hvp`.

    Returns:
        LanczosResult with ``values`` (descending), ``vectors``, ``residuals``, the tridiagonal,
        ``breakdown`` and the stopping report; arrays of A's kind (numpy for numpy matrices and
        numpy-backed LowRankSymmetric), alpha and beta float64 numpy. After a breakdown without
        restart it holds m < k Ritz values, which are then exact eigenvalues of A (to rounding).

    Raises:
        TypeError: A without ``@``/``.shape``, an unsupported dtype, k not an integer or
            missing; model-form options with an operator.
        ValueError: A not square; k outside 1..D; a basis of k steps beyond the library's memory
            limit (refused before anything is allocated); ``start`` of the wrong shape, zero or
            not finite; tol negative; nev outside 1..k; A found not symmetric during the run;
            A @ v not finite or of the wrong shape.
    """
    options = {
        "mode": mode,
        "model": {"params": params, "reduction": reduction, "batch_size": batch_size},
    }
    A, rest = _operator_args(A, args, "lanczos", ("k",), options)
    k = _one_positional(rest, k, "k", "lanczos")
    op = _as_op(A)
    k = _check_steps(k, op.D)
    _check_basis_memory(op, k, f"lanczos(k={k})")
    tol = None if tol is None else check_tol(tol, "tol")
    if isinstance(nev, bool) or not isinstance(nev, int | np.integer) or not 1 <= nev <= k:
        raise ValueError(f"nev={nev!r} must be an integer in 1..k = 1..{k}.")
    gen = torch.Generator().manual_seed(seed)
    if start is None:
        q0 = _random_unit(op, gen)
    else:
        s = torch.as_tensor(start).to(dtype=op.dtype, device=op.device)
        if tuple(s.shape) != (op.D,):
            raise ValueError(f"start has shape {tuple(s.shape)}; expected ({op.D},).")
        check_finite(s, "start")
        nrm = torch.linalg.vector_norm(s)
        if not float(nrm) > 0:
            raise ValueError("start must be a nonzero vector.")
        q0 = s / nrm
    stol = math.sqrt(eps_of(op.dtype)) if sym_tol is None else float(sym_tol)
    Q, alpha, beta, breakdown, done = _run(
        op, k, q0, gen=gen, restart=restart, sym_tol=stol, tol=tol, nev=int(nev)
    )
    res = _ritz(op, Q, alpha, beta, breakdown)
    if tol is None:
        return res
    return dataclasses.replace(res, tol=tol, nev=int(nev), converged=done)


def _ritz(
    op: _Op, Q: torch.Tensor, alpha: np.ndarray, beta: np.ndarray, breakdown: int | None
) -> LanczosResult:
    m = alpha.size
    T = np.diag(alpha) + (np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1) if m > 1 else 0.0)
    theta, S = np.linalg.eigh(T)
    theta, S = theta[::-1].copy(), S[:, ::-1].copy()
    St = torch.from_numpy(S).to(dtype=op.dtype, device=op.device)
    vectors = Q @ St
    residuals = np.abs(beta[-1] * S[-1])

    def kind(a: np.ndarray) -> Any:
        return a if op.numpy else torch.from_numpy(a).to(device=op.device)

    return LanczosResult(
        values=kind(theta.astype(np.float64 if op.dtype == torch.float64 else np.float32)),
        vectors=op.out(vectors),
        residuals=kind(residuals.astype(np.float64 if op.dtype == torch.float64 else np.float32)),
        weights=S[0] ** 2,
        alpha=alpha,
        beta=beta,
        basis=op.out(Q),
        breakdown=breakdown,
        steps=m,
    )


# ------------------------------------------------------------------------- spectral density
@dataclass(frozen=True)
class SpectralDensity:
    """A smoothed spectral density ``phi(t) = (1/D) sum_i N(t; lambda_i, width^2)``, estimated.

    Attributes:
        grid: (points,) where the density is evaluated.
        density: (points,) non-negative; its trapezoid integral over ``grid`` is 1 to about 1e-8.
        nodes: (N,) quadrature nodes (Ritz values of all probes, concatenated), float64 numpy.
        weights: (N,) quadrature weights, non-negative, summing to 1 (float64 numpy).
        width: the standard deviation of the Gaussian broadening.
        probes, steps: as requested; ``products`` the number of products used (< probes * steps
            when some probe's Krylov space became invariant early).
    """

    grid: Any
    density: Any
    nodes: np.ndarray
    weights: np.ndarray
    width: float
    probes: int
    steps: int
    products: int

    @property
    def mean(self) -> float:
        """``sum_j w_j theta_j``: the density's mean, an unbiased estimate of ``tr(A) / D``."""
        return float(self.weights @ self.nodes)


def _default_width(lo: float, hi: float) -> float:
    span = hi - lo
    return 0.01 * (span if span > 0 else max(abs(hi), 1.0))


def _gaussian_mixture(grid: np.ndarray, nodes: np.ndarray, weights: np.ndarray, width: float):
    z = (grid[:, None] - nodes[None, :]) / width
    return (np.exp(-0.5 * z**2) @ weights) / (width * math.sqrt(2 * math.pi))


def _make_grid(lo: float, hi: float, width: float, points: int) -> np.ndarray:
    return np.linspace(lo - 6 * width, hi + 6 * width, points)


def _probe_vectors(probes: Any, op: _Op) -> torch.Tensor | None:
    """Given probes as a (D, p) array: unit columns in the operator's dtype; None for a count."""
    if not isinstance(probes, np.ndarray | torch.Tensor):
        return None
    P = torch.as_tensor(probes).to(dtype=op.dtype, device=op.device)
    if P.ndim != 2 or P.shape[0] != op.D or P.shape[1] == 0:
        raise ValueError(
            f"probes has shape {tuple(P.shape)}; pass (D, p) = ({op.D}, p) probe vectors, one per "
            "column, or their number."
        )
    check_finite(P, "probes")
    nrm = torch.linalg.vector_norm(P, dim=0)
    if not bool((nrm > 0).all()):
        raise ValueError(f"probes column {int(torch.nonzero(nrm == 0)[0])} is zero.")
    return P / nrm


def spectral_density(
    A: Any,
    *args: Any,
    probes: Any,
    steps: int,
    seed: int = 0,
    width: float | None = None,
    grid: Any = None,
    points: int = 1024,
    mode: str | None = None,
    params: Any = None,
    reduction: str | None = None,
    batch_size: int | None = None,
) -> SpectralDensity:
    """Stochastic Lanczos quadrature: the spectral density of a symmetric A from products only.

    Two forms: ``spectral_density(A, probes=, steps=)`` for an operator, and
    ``spectral_density(model, loss_fn, data, probes=, steps=)`` for the Hessian of a model's loss
    (built by ``hvp(model, loss_fn, data)``, see :func:`hvp`).

    The spectral density ``phi(t) = (1/D) sum_i delta(t - lambda_i)`` satisfies
    ``int g(t) phi(t) dt = tr g(A) / D = E[v^T g(A) v]`` for a random unit vector ``v = z/sqrt(D)``
    with Rademacher entries ``z``. For each of ``probes`` such vectors, ``steps`` Lanczos steps
    from ``v`` give the Gauss quadrature rule ``v^T g(A) v ~ sum_j tau_j g(theta_j)`` with nodes
    ``theta_j`` (Ritz values) and weights ``tau_j = S[0, j]^2`` (squared first components of T's
    eigenvectors), exact for polynomials of degree < 2 steps (Golub & Meurant). Averaging the
    rules over probes and replacing each node by a Gaussian of standard deviation ``width`` gives
    the smoothed density (Ubaru, Chen & Saad 2017; PyHessian, Yao et al. 2020).

    Args:
        A: as :func:`lanczos` (an operator, or a model followed by ``loss_fn`` and ``data``).
        probes: number of random probe vectors (>= 1), or the probes themselves as a (D, p)
            array of A's kind (each column normalised here), e.g. to use the same probes as
            another implementation.
        steps: Lanczos steps per probe (1..D); a probe whose Krylov space becomes invariant stops
            early with an exact rule.
        seed: seed of the probes.
        width: Gaussian broadening; default ``0.01 * (max node - min node)`` (or
            ``0.01 * max(|node|, 1)`` if all nodes coincide).
        grid: (points,) where to evaluate the density; default ``points`` equispaced values from
            ``min node - 6 width`` to ``max node + 6 width``.
        points: size of the default grid (>= 16).
        mode, params, reduction, batch_size: model form only, as :func:`hvp`.

    Returns:
        SpectralDensity; ``grid`` and ``density`` have A's kind (numpy or torch float64).

    Raises:
        TypeError, ValueError: as :func:`lanczos` for A and steps (a basis of ``steps`` columns
            beyond the memory limit is refused first); probes < 1 or of the wrong shape, not
            finite or zero; width <= 0, points < 16, a grid that is not 1-D and increasing.
    """
    options = {
        "mode": mode,
        "model": {"params": params, "reduction": reduction, "batch_size": batch_size},
    }
    A, rest = _operator_args(A, args, "spectral_density", (), options)
    if rest:
        raise TypeError(
            "spectral_density: probes and steps are keyword arguments: "
            "spectral_density(A, probes=..., steps=...)."
        )
    op = _as_op(A)
    steps = _check_steps(steps, op.D, "steps")
    _check_basis_memory(op, steps, f"spectral_density(steps={steps})")
    given = _probe_vectors(probes, op)
    if given is not None:
        probes = given.shape[1]
    else:
        check_positive_int(probes, "probes", " (of probe vectors), or a (D, p) array of them")
    if width is not None and not (math.isfinite(width) and width > 0):
        raise ValueError(f"width={width} must be positive and finite.")
    if grid is None and points < 16:
        raise ValueError(f"points={points} must be at least 16.")
    gen = torch.Generator().manual_seed(seed)
    tol = math.sqrt(eps_of(op.dtype))
    nodes, weights, used = [], [], 0
    for p in range(int(probes)):
        q0 = _random_unit(op, gen, rademacher=True) if given is None else given[:, p]
        _, alpha, beta, _, _ = _run(op, steps, q0, gen=gen, restart=False, sym_tol=tol)
        m = alpha.size
        used += m
        T = np.diag(alpha) + (np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1) if m > 1 else 0.0)
        theta, S = np.linalg.eigh(T)
        nodes.append(theta)
        weights.append(S[0] ** 2 / probes)
    nodes_a, weights_a = np.concatenate(nodes), np.concatenate(weights)
    lo, hi = float(nodes_a.min()), float(nodes_a.max())
    w = _default_width(lo, hi) if width is None else float(width)
    if grid is None:
        g = _make_grid(lo, hi, w, points)
    else:
        g = np.asarray(grid.cpu() if isinstance(grid, torch.Tensor) else grid, dtype=np.float64)
        if g.ndim != 1 or g.size < 2 or not bool(np.all(np.diff(g) > 0)):
            raise ValueError(f"grid must be 1-D and increasing with >= 2 points; shape {g.shape}.")
    dens = _gaussian_mixture(g, nodes_a, weights_a, w)
    kind = (lambda a: a) if op.numpy else torch.from_numpy
    return SpectralDensity(kind(g), kind(dens), nodes_a, weights_a, w, int(probes), steps, used)


def eigenvalue_density(eigs: Any, *, grid: Any, width: float, weights: Any = None) -> Any:
    """The same Gaussian broadening of a known spectrum: ``(1/D) sum_i N(t; lambda_i, width^2)``.

    Use it to compare :func:`spectral_density` with an exact spectrum (``eigvalsh`` of a dense
    Hessian) or with an estimate's eigenvalues on the same grid and width. With ``weights``
    (e.g. ``LanczosResult.weights``) it is ``sum_i w_i N(t; lambda_i, width^2)`` instead.

    Args:
        eigs: (D,) eigenvalues, numpy or torch.
        grid: (points,) evaluation points.
        width: positive standard deviation.
        weights: optional (D,) non-negative weights summing to 1; default ``1/D`` each.

    Returns:
        (points,) density of the kind of ``grid`` (float64).

    Raises:
        ValueError: empty or non-finite eigenvalues, width not positive, grid not 1-D, weights of
            the wrong shape, negative or not summing to 1.
    """
    e = np.asarray(eigs.detach().cpu() if isinstance(eigs, torch.Tensor) else eigs, np.float64)
    e = e.reshape(-1)
    if e.size == 0 or not np.all(np.isfinite(e)):
        raise ValueError(f"eigs must be non-empty and finite; got {e.size} values.")
    if not (math.isfinite(width) and width > 0):
        raise ValueError(f"width={width} must be positive and finite.")
    is_t = isinstance(grid, torch.Tensor)
    g = np.asarray(grid.detach().cpu() if is_t else grid, dtype=np.float64)
    if g.ndim != 1:
        raise ValueError(f"grid must be 1-D; it has shape {g.shape}.")
    if weights is None:
        w = np.full(e.size, 1.0 / e.size)
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape != e.shape or np.any(w < 0) or abs(w.sum() - 1) > 1e-8:
            raise ValueError(
                f"weights must be {e.size} non-negative numbers summing to 1; got shape "
                f"{w.shape}, sum {w.sum():.6g}."
            )
    d = _gaussian_mixture(g, e, w, float(width))
    return torch.from_numpy(d) if is_t else d
