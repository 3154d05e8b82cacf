"""Exact curvature from automatic differentiation: Hessian-vector products, Gauss–Newton, Lanczos.

The estimators of :mod:`hessnotes.secant` infer a Hessian from gradient pairs. This module computes
the curvature that they estimate, exactly and without ever forming a D x D matrix:

* :func:`hvp`: the Hessian of a scalar torch function at a point as an operator, ``H @ v`` by
  forward-over-reverse differentiation (Pearlmutter 1994): ``H v = d/dt grad f(x + t v) |_{t=0}``,
  a forward-mode derivative (``torch.func.jvp``) of the reverse-mode gradient
  (``torch.func.grad``), vmapped over the columns of a block.
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

Kinds: the point ``x`` of :func:`hvp` is a torch tensor (the function is a torch function). An
operator's product follows the vector: numpy in, numpy out; torch in, torch out. :func:`lanczos`
and :func:`spectral_density` return the kind of their operator (numpy for numpy matrices and
numpy-backed :class:`~hessnotes.lowrank.LowRankSymmetric`, torch otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import grad, jvp, vjp, vmap

from hessnotes._linalg import eps_of

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

#: :meth:`CurvatureOperator.dense` refuses D above this unless ``force=True``.
DENSE_LIMIT = 4096


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
    """

    __slots__ = ("_block", "_counter", "_device", "_dtype", "_name", "_size")
    #: Makes numpy defer ``ndarray @ A`` to :meth:`__rmatmul__` instead of failing.
    __array_ufunc__ = None

    def __init__(
        self,
        block: Callable[[torch.Tensor], torch.Tensor],
        D: int,
        dtype: torch.dtype,
        device: torch.device,
        name: str,
    ):
        self._block, self._size, self._dtype, self._device, self._name = (
            block,
            int(D),
            dtype,
            device,
            name,
        )
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
        """``A @ v`` for v of shape (D,) or (D, k); the result has the kind of v."""
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
            ValueError: if D exceeds ``DENSE_LIMIT`` and ``force`` is False.
        """
        D = self._size
        if D > DENSE_LIMIT and not force:
            raise ValueError(
                f"dense() would compute {D} products and store a {D} x {D} matrix; D is above "
                f"DENSE_LIMIT={DENSE_LIMIT}. Pass force=True if you mean it."
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
    if not x.is_floating_point():
        raise TypeError(f"{name} has dtype {x.dtype}; use a floating dtype, e.g. torch.float64.")
    if x.ndim != 1:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}; pass a 1-D point of shape (D,). For a matrix or "
            f"image argument, flatten it: f_flat = lambda v: f(v.reshape{tuple(x.shape)})."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape (0,)); D must be at least 1.")
    return x.detach()


def _check_scalar(f: Callable, x: torch.Tensor, name: str = "f") -> None:
    out = f(x)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{name}(x) must return a torch tensor; it returned {type(out).__name__}.")
    if out.ndim != 0:
        raise ValueError(
            f"{name}(x) must be a scalar (0-d tensor) for a Hessian; it has shape "
            f"{tuple(out.shape)}. Reduce it (e.g. .sum() or .mean()), or use gauss_newton for a "
            "vector-valued network followed by a scalar loss."
        )


_MODES = ("forward-over-reverse", "reverse-over-reverse")


def _hvp_one(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, mode: str
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``v -> H v`` for one vector, by the chosen mode of automatic differentiation."""
    g = grad(f)
    if mode == "forward-over-reverse":
        return lambda v: jvp(g, (x,), (v,))[1]
    _, pullback = vjp(g, x)  # the gradient's own graph, kept for every product
    return lambda v: pullback(v)[0]


def hvp(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    mode: str = "forward-over-reverse",
    chunk_size: int | None = None,
) -> CurvatureOperator:
    """The exact Hessian ``H = grad^2 f(x)`` of a scalar torch function as an operator.

    ``H v = d/dt grad f(x + t v)|_{t=0}`` is computed by forward-over-reverse differentiation,
    ``torch.func.jvp(torch.func.grad(f), (x,), (v,))`` (Pearlmutter 1994), and a (D, k) block by
    ``torch.func.vmap`` over its columns. One product costs a small constant times a gradient
    (about 3 in matrix-multiply FLOPs for the book's networks; see :func:`hvp_cost`) and memory of
    a few gradients per column; no D x D array is formed.

    ``mode="reverse-over-reverse"`` computes the same product as ``v^T H`` (H is symmetric), the
    vector-Jacobian product of the gradient, ``torch.func.vjp(torch.func.grad(f), x)``: the
    gradient's graph is built once, at construction, and each product is one backward pass
    through it. The FLOP counts are alike, but with torch 2.13 on the CPU forward-over-reverse
    measured 5-100 times slower in wall time than reverse-over-reverse on the book's networks
    (``benchmarks/bench_curvature.py``); choose reverse-over-reverse when time matters.

    Args:
        f: maps a (D,) tensor to a 0-d tensor; it must be differentiable twice by ``torch.func``
            (no in-place changes of its input, no ``.item()``).
        x: (D,) torch tensor, float32 or float64, on any device. Products use its dtype and device.
        mode: ``"forward-over-reverse"`` (default) or ``"reverse-over-reverse"``.
        chunk_size: columns per vmapped batch (default: all at once); lower it to save memory.

    Returns:
        CurvatureOperator of shape (D, D). ``H @ v`` for v of shape (D,) or (D, k), numpy or
        torch (numpy in, numpy out); ``H.products`` counts the products. Construction evaluates
        ``f(x)`` once to check that it is a scalar; that call is not counted.

    Raises:
        TypeError: x not a floating torch tensor (a numpy point gets a hint), f not returning a
            tensor.
        ValueError: x not 1-D or empty; f(x) not a scalar; an unknown mode.

    Example:
        >>> A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
        >>> H = hvp(lambda x: 0.5 * x @ A @ x + x.sin().sum(), torch.zeros(2, dtype=torch.float64))
        >>> H @ torch.tensor([1.0, 0.0], dtype=torch.float64)
        tensor([2., 1.], dtype=torch.float64)
    """
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}; use one of {_MODES}.")
    x = _check_point(x)
    _check_scalar(f, x)
    one = _hvp_one(f, x, mode)

    def block(V: torch.Tensor) -> torch.Tensor:
        if V.shape[1] == 1:  # one vector (every Lanczos step): no vmap overhead
            return one(V[:, 0])[:, None]
        return vmap(one, in_dims=1, out_dims=1, chunk_size=chunk_size)(V)

    name = "Hessian" if mode == _MODES[0] else "Hessian, reverse-over-reverse"
    return CurvatureOperator(block, x.shape[0], x.dtype, x.device, name)


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
        raise ValueError(
            "net(x) must return a 1-D tensor of outputs (m,); it returned "
            f"{type(z).__name__} of shape {tuple(getattr(z, 'shape', ()))}. For a scalar network "
            "use hvp(f, x) directly."
        )
    _check_scalar(loss, z.detach(), "loss")
    return z.detach()


def gauss_newton(
    net: Callable[[torch.Tensor], torch.Tensor],
    loss: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
) -> CurvatureOperator:
    """The Gauss–Newton term ``G = J^T H_l J`` of the Hessian of ``f(x) = loss(net(x))``.

    With ``z = net(x)`` (m outputs), ``J = dnet/dx`` (m x D) and ``H_l = grad^2 loss(z)`` (m x m),
    one product ``G v`` is a JVP ``u = J v``, a loss Hessian product ``w = H_l u`` (forward over
    reverse on the m outputs) and a VJP ``J^T w``. G is positive semi-definite when the loss is
    convex in the outputs (squared error, softmax cross-entropy), whatever the network.

    Args:
        net: maps a (D,) tensor to (m,) outputs, differentiable by ``torch.func``.
        loss: maps (m,) outputs to a 0-d tensor, twice differentiable.
        x: (D,) torch tensor, float32 or float64.

    Returns:
        CurvatureOperator of shape (D, D), as :func:`hvp`.

    Raises:
        TypeError: as :func:`hvp`.
        ValueError: x not 1-D; net(x) not 1-D; loss(net(x)) not a scalar.
    """
    x = _check_point(x)
    z = _check_network(net, loss, x)
    _, pullback = vjp(net, x)
    gl = grad(loss)

    def one(v: torch.Tensor) -> torch.Tensor:
        _, u = jvp(net, (x,), (v,))
        _, w = jvp(gl, (z,), (u,))
        return pullback(w)[0]

    def block(V: torch.Tensor) -> torch.Tensor:
        if V.shape[1] == 1:
            return one(V[:, 0])[:, None]
        return vmap(one, in_dims=1, out_dims=1)(V)

    return CurvatureOperator(block, x.shape[0], x.dtype, x.device, "Gauss-Newton J^T H_l J")


def gauss_newton_split(
    net: Callable[[torch.Tensor], torch.Tensor],
    loss: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
) -> CurvatureSplit:
    """The Hessian of ``loss(net(x))`` and its split ``H = J^T H_l J + sum_k (dl/dg_k) grad^2 g_k``.

    The second term is the residual; it vanishes where the loss gradient ``dl/dz`` does (a perfect
    fit) or where the network is linear in x, and it is the only source of negative curvature when
    the loss is convex in the outputs. Here it is applied as ``H v - G v``, so one of its products
    costs one Hessian-vector product plus one Gauss–Newton product (both counted on the residual).

    Args, Raises: as :func:`gauss_newton`.

    Returns:
        CurvatureSplit(hessian, gauss_newton, residual), three CurvatureOperator of shape (D, D).
    """
    x = _check_point(x)
    _check_network(net, loss, x)
    H = hvp(lambda t: loss(net(t)), x)
    G = gauss_newton(net, loss, x)

    def block(V: torch.Tensor) -> torch.Tensor:
        return H._block(V) - G._block(V)

    R = CurvatureOperator(block, x.shape[0], x.dtype, x.device, "residual H - J^T H_l J")
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
            without ``restart``.
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
        q = q.contiguous()  # a column of the basis is strided; some operators are slower on it
        v = q.numpy() if self.feed_numpy else q
        out = self.A @ v
        out_t = torch.from_numpy(np.asarray(out)) if self.feed_numpy else out
        if not isinstance(out_t, torch.Tensor) or tuple(out_t.shape) != (self.D,):
            raise ValueError(
                f"A @ v returned shape {tuple(getattr(out_t, 'shape', ()))} for v of shape "
                f"({self.D},); an operator for lanczos must map (D,) to (D,)."
            )
        out_t = out_t.to(dtype=self.dtype, device=self.device)
        if not bool(torch.isfinite(out_t).all()):
            raise ValueError("A @ v holds NaN or Inf; the operator is not finite at this point.")
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


def _run(
    op: _Op,
    k: int,
    q0: torch.Tensor,
    *,
    gen: torch.Generator,
    restart: bool,
    sym_tol: float,
) -> tuple[torch.Tensor, np.ndarray, np.ndarray, int | None]:
    """k Lanczos steps with full reorthogonalisation; returns (Q, alpha, beta, breakdown)."""
    eps = eps_of(op.dtype)
    bd_tol = max(op.D, 10) * eps
    Q = torch.empty(op.D, k, dtype=op.dtype, device=op.device)
    Q[:, 0] = q0
    alpha, beta = np.zeros(k), np.zeros(k)
    breakdown: int | None = None
    anorm = 0.0
    restarted = np.zeros(k, dtype=bool)  # restarted[j]: q_j is a fresh vector (beta[j-1] = 0)
    m = k
    for j in range(k):
        w = op.apply(Q[:, j])
        wnorm = float(torch.linalg.vector_norm(w))
        anorm = max(anorm, wnorm)
        h = Q[:, : j + 1].T @ w
        alpha[j] = float(h[j])
        if j >= 1:  # symmetry: q_i^T A q_j must be beta_{j-1} for i = j-1 and 0 for i < j-1
            expect = torch.zeros(j, dtype=h.dtype, device=h.device)
            expect[j - 1] = 0.0 if restarted[j] else beta[j - 1]
            dev = float(torch.linalg.vector_norm(h[:j] - expect))
            if dev > sym_tol * max(anorm, 1e-300):
                i = int(torch.argmax((h[:j] - expect).abs()))
                raise ValueError(
                    f"A is not symmetric: at Lanczos step {j + 1}, q_{i + 1}^T A q_{j + 1} = "
                    f"{float(h[i]):.6g} but symmetry requires {float(expect[i]):.6g} "
                    f"(deviation {dev / anorm:.1e} relative to ||A q||, tol {sym_tol:.0e}). "
                    "Lanczos needs a symmetric operator: pass (A + A.T) / 2 if that is what you "
                    "mean, or use a non-symmetric eigensolver (scipy.sparse.linalg.eigs)."
                )
        w = w - Q[:, : j + 1] @ h  # classical Gram-Schmidt against all previous vectors, twice
        w = w - Q[:, : j + 1] @ (Q[:, : j + 1].T @ w)
        beta[j] = float(torch.linalg.vector_norm(w))
        if beta[j] > bd_tol * anorm:
            if j + 1 < k:
                Q[:, j + 1] = w / beta[j]
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
            z = z - Q[:, : j + 1] @ (Q[:, : j + 1].T @ z)
        Q[:, j + 1] = z / torch.linalg.vector_norm(z)
        restarted[j + 1] = True
    return Q[:, :m], alpha[:m], beta[:m], breakdown


def lanczos(
    A: Any,
    k: int,
    *,
    seed: int = 0,
    start: Any = None,
    restart: bool = False,
    sym_tol: float | None = None,
) -> LanczosResult:
    """k steps of the Lanczos process with full reorthogonalisation; Ritz values and vectors.

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

    Args:
        A: anything with ``A @ v`` for v of shape (D,) and ``.shape == (D, D)``: a numpy array, a
            torch tensor, a LowRankSymmetric, a CurvatureOperator. Float32 or float64.
        k: number of steps, 1 <= k <= D.
        seed: seed of the random (Gaussian) start vector.
        start: optional (D,) start vector of A's kind (normalised here) instead of a random one.
        restart: at a breakdown (an invariant subspace, e.g. A of rank r < k - 1, or an
            eigenvalue of multiplicity > 1), continue from a fresh random vector orthogonal to the
            basis (``beta = 0`` there) until k steps are done; default: stop early.
        sym_tol: relative tolerance of the symmetry check; default ``sqrt(eps)`` of the dtype.

    Returns:
        LanczosResult with ``values`` (descending), ``vectors``, ``residuals``, the tridiagonal
        and ``breakdown``; arrays of A's kind (numpy for numpy matrices and numpy-backed
        LowRankSymmetric), alpha and beta float64 numpy. After a breakdown without restart it
        holds m < k Ritz values, which are then exact eigenvalues of A (to rounding).

    Raises:
        TypeError: A without ``@``/``.shape``, an unsupported dtype, k not an integer.
        ValueError: A not square; k outside 1..D; ``start`` of the wrong shape or zero; A found
            not symmetric during the run; A @ v not finite or of the wrong shape.
    """
    op = _as_op(A)
    k = _check_steps(k, op.D)
    gen = torch.Generator().manual_seed(seed)
    if start is None:
        q0 = _random_unit(op, gen)
    else:
        s = torch.as_tensor(start).to(dtype=op.dtype, device=op.device)
        if tuple(s.shape) != (op.D,):
            raise ValueError(f"start has shape {tuple(s.shape)}; expected ({op.D},).")
        nrm = torch.linalg.vector_norm(s)
        if not float(nrm) > 0 or not bool(torch.isfinite(s).all()):
            raise ValueError("start must be a nonzero, finite vector.")
        q0 = s / nrm
    tol = math.sqrt(eps_of(op.dtype)) if sym_tol is None else float(sym_tol)
    Q, alpha, beta, breakdown = _run(op, k, q0, gen=gen, restart=restart, sym_tol=tol)
    return _ritz(op, Q, alpha, beta, breakdown)


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


def spectral_density(
    A: Any,
    *,
    probes: int,
    steps: int,
    seed: int = 0,
    width: float | None = None,
    grid: Any = None,
    points: int = 1024,
) -> SpectralDensity:
    """Stochastic Lanczos quadrature: the spectral density of a symmetric A from products only.

    The spectral density ``phi(t) = (1/D) sum_i delta(t - lambda_i)`` satisfies
    ``int g(t) phi(t) dt = tr g(A) / D = E[v^T g(A) v]`` for a random unit vector ``v = z/sqrt(D)``
    with Rademacher entries ``z``. For each of ``probes`` such vectors, ``steps`` Lanczos steps
    from ``v`` give the Gauss quadrature rule ``v^T g(A) v ~ sum_j tau_j g(theta_j)`` with nodes
    ``theta_j`` (Ritz values) and weights ``tau_j = S[0, j]^2`` (squared first components of T's
    eigenvectors), exact for polynomials of degree < 2 steps (Golub & Meurant). Averaging the
    rules over probes and replacing each node by a Gaussian of standard deviation ``width`` gives
    the smoothed density (Ubaru, Chen & Saad 2017; PyHessian, Yao et al. 2020).

    Args:
        A: as :func:`lanczos`.
        probes: number of random probe vectors (>= 1).
        steps: Lanczos steps per probe (1..D); a probe whose Krylov space becomes invariant stops
            early with an exact rule.
        seed: seed of the probes.
        width: Gaussian broadening; default ``0.01 * (max node - min node)`` (or
            ``0.01 * max(|node|, 1)`` if all nodes coincide).
        grid: (points,) where to evaluate the density; default ``points`` equispaced values from
            ``min node - 6 width`` to ``max node + 6 width``.
        points: size of the default grid (>= 16).

    Returns:
        SpectralDensity; ``grid`` and ``density`` have A's kind (numpy or torch float64).

    Raises:
        TypeError, ValueError: as :func:`lanczos` for A and steps; probes < 1, width <= 0,
            points < 16, a grid that is not 1-D and increasing.
    """
    op = _as_op(A)
    steps = _check_steps(steps, op.D, "steps")
    if isinstance(probes, bool) or not isinstance(probes, int | np.integer) or probes < 1:
        raise ValueError(f"probes={probes!r} must be a positive integer number of probe vectors.")
    if width is not None and not (math.isfinite(width) and width > 0):
        raise ValueError(f"width={width} must be positive and finite.")
    if grid is None and points < 16:
        raise ValueError(f"points={points} must be at least 16.")
    gen = torch.Generator().manual_seed(seed)
    tol = math.sqrt(eps_of(op.dtype))
    nodes, weights, used = [], [], 0
    for _ in range(int(probes)):
        q0 = _random_unit(op, gen, rademacher=True)
        _, alpha, beta, _ = _run(op, steps, q0, gen=gen, restart=False, sym_tol=tol)
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
