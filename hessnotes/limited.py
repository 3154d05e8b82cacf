"""Limited-memory Hessian estimates: one gradient pair at a time, a window of the last m pairs.

A quasi-Newton run produces pairs ``(s_k, y_k) = (x_{k+1} - x_k, g_{k+1} - g_k)`` one by one, and
old pairs describe the curvature of places the run has left. :class:`LimitedMemoryHessian` keeps
the last ``m`` pairs and gives, at any time, the estimate that the batch estimator of
:mod:`hessnotes.secant` would give on exactly that window:

* ``"least_norm"``: :func:`~hessnotes.secant.least_norm_hessian` (symmetric Procrustes);
* ``"psb"``: :func:`~hessnotes.secant.least_change_hessian` from ``gamma I`` (multi-secant PSB);
* ``"bfgs"``: :func:`~hessnotes.secant.bfgs_hessian` from ``gamma I`` (compact L-BFGS form);
* ``"min_rank"``: :func:`~hessnotes.secant.min_rank_hessian`, ``Y sym(S^T Y)^{-1} Y^T``, the
  symmetric solution of least rank (a batch formula: the order of the pairs does not matter);
* ``"sr1_sequential"``: the symmetric rank-one update applied to the pairs one after another,
  ``B_j = B_{j-1} + r_j r_j^T / (s_j^T r_j)`` with ``r_j = y_j - B_{j-1} s_j``, from
  ``B_0 = gamma I`` (default ``gamma = 0``). On consistent pairs (``S^T Y`` symmetric, e.g. exact
  pairs of a quadratic) from ``B_0 = 0`` it equals ``"min_rank"`` (the hereditary property of
  SR1); on noisy pairs the two differ, and sequential SR1 depends on the order of the pairs.

The old spelling ``"sr1"`` meant ``"min_rank"``; it still gives ``"min_rank"``, with a
``FutureWarning`` that says so.

For ``"psb"`` and ``"bfgs"``, ``gamma`` defaults to :func:`~hessnotes.secant.scaling_gamma` of the
window (``y^T s / s^T s`` of the newest pair). PSB from a *fixed* ``gamma I`` depends on the window
only as a set of pairs; with the default, ``gamma`` is read off the newest pair, so the order of
the pairs matters through ``gamma`` alone (the window keeps that order).

**Cost.** The pairs live in one preallocated (2m, D) buffer, overwritten in place as a ring, and
the Gram matrix ``[S Y]^T [S Y]`` (2m x 2m) is kept up to date: an update computes the inner
products of the new s and y with the window (one O(D m) product) and nothing else that grows with
D. The estimate is then formed from the Gram matrix with O(m^3) small work, its eigenvectors kept
implicit as ``[S Y] T`` (so a product ``H v`` costs O(D m)), as long as the window is well
conditioned (the one-pass Cholesky-QR tier of :mod:`hessnotes._linalg`); worse windows cost the
batch estimator's extra O(D m^2) pass. ``benchmarks/bench_limited.py`` measures the ratio to the
batch estimator on the window.

**Safeguards.** BFGS needs the curvature condition ``s^T y > tol ||s|| ||y||`` to stay positive
definite; min-rank needs ``sym(S^T Y)`` of the window to be invertible; sequential SR1 needs every
denominator ``|s_j^T r_j| > tol ||s_j|| ||r_j||`` along the window (a pair whose ``r_j`` vanishes to
rounding is already fitted and changes nothing, as in the usual SR1 rule). A pair that violates its
method's condition is skipped and counted (``n_skipped``, ``skipped``), or, with
``on_skip="raise"``, raises ``ValueError`` (compare ``exception_strategy`` of scipy's
``BFGS``/``SR1``: ``"skip_update"`` and ``"damp_update"``; damping is not offered here).

An estimate refers to the buffer without a copy; the next :meth:`LimitedMemoryHessian.update`
overwrites it, after which an earlier estimate refuses to answer (it would silently have changed).
Read ``H.Q`` or call ``H.to()`` right away to keep one.

Chapters: "Limited-memory updates".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hessnotes._linalg import (
    Kind,
    as_tensor,
    check_finite,
    check_memory,
    check_positive_int,
    check_tol,
    num,
    range_basis,
    tracked,
)
from hessnotes.lowrank import LowRankSymmetric
from hessnotes.secant import _bfgs_core, _least_norm_basis, _min_rank_core

__all__ = ["LimitedMemoryHessian", "QuasiNewtonRun", "quasi_newton"]

_METHODS = ("least_norm", "psb", "bfgs", "min_rank", "sr1_sequential")
_WITH_GAMMA = ("psb", "bfgs", "sr1_sequential")  # estimates of the form gamma I + low rank
_WHOLE_WINDOW = ("min_rank", "sr1_sequential")  # their safeguard needs the new Gram matrix
_RENAMED = {
    "sr1": (
        "min_rank",
        "LimitedMemoryHessian('sr1') is the minimum-rank estimate Y sym(S^T Y)^(-1) Y^T of the "
        "window (min_rank_hessian), not SR1 updates applied in sequence: the two agree only when "
        "S^T Y is symmetric. It is now called 'min_rank'; for sequential SR1 use "
        "'sr1_sequential'. The name 'sr1' gives 'min_rank' for now and will be removed.",
    )
}
#: Windows of at most this many entries (D m) are updated with numpy bookkeeping
#: (:meth:`LimitedMemoryHessian._update_cpu`), where the fixed cost of small torch operations would
#: exceed the O(D m) work; larger ones through torch (measured in benchmarks/bench_limited.py).
_SMALL = 1 << 18


class LimitedMemoryHessian:
    """The Hessian estimate of a batch estimator on the last ``memory`` pairs, updated one pair at
    a time in O(D m) plus O(m^3) small work.

    Args:
        method: ``"least_norm"``, ``"psb"`` (from gamma I), ``"bfgs"`` (from gamma I),
            ``"min_rank"`` or ``"sr1_sequential"`` (from gamma I); see the module docstring.
            ``"sr1"``, the old name of ``"min_rank"``, still gives it with a ``FutureWarning``.
        memory: m >= 1, the number of pairs kept; the oldest is dropped beyond it.
        gamma: fixed scale of ``H0 = gamma I`` for ``"psb"``, ``"bfgs"`` (positive) and
            ``"sr1_sequential"``; default ``None``: ``scaling_gamma`` of the window (the newest
            pair's ``y^T s / s^T s``) for PSB and BFGS, and 0 for sequential SR1.
        rtol: singular-value cut-off of ``"least_norm"`` and ``"psb"`` (as
            :func:`~hessnotes.secant.least_norm_hessian`).
        tol: the curvature threshold of ``"bfgs"`` and the breakdown threshold of ``"min_rank"``
            and ``"sr1_sequential"`` (as :func:`~hessnotes.secant.bfgs_hessian` and
            :func:`~hessnotes.secant.min_rank_hessian`).
        on_skip: ``"skip"`` (default): a pair violating the method's condition is left out and
            counted; ``"raise"``: ValueError instead.

    Attributes:
        n_pairs: pairs in the window now (at most ``memory``).
        n_updates: calls of :meth:`update` so far.
        n_skipped: pairs left out by the safeguard (``"bfgs"``, ``"min_rank"``,
            ``"sr1_sequential"``).
        skipped: the update numbers (0-based) of the pairs left out.
        n_estimates: estimates formed so far (:attr:`hessian` after a change of the window).
        n_fallbacks: of those, how many needed Householder QR (see "Ill-conditioned windows").
        last_tier: the basis tier of the latest estimate: 1 (Gram), 2 (CholeskyQR2) or 3
            (Householder), or None before the first.

    Ill-conditioned windows: the window [S Y] of a real run is often nearly rank deficient. With
    a small step, gradient descent (or any method converging along a valley) makes consecutive
    steps nearly parallel, and the Gram matrix of the column-scaled window then has a condition
    number of 1e13 and more, beyond the 1e10 that Cholesky-QR tolerates. :attr:`hessian` then
    falls back to Householder QR (an extra O(D m^2) pass and a (D, 2m) work array), and counts it
    in :attr:`n_fallbacks`. :meth:`solve` of ``"bfgs"`` needs no basis at all (the compact inverse
    form), so an L-BFGS iteration never pays for the fallback.

    Raises:
        ValueError: unknown method or ``on_skip``; memory not a positive integer; gamma not
            finite (or not positive for BFGS), or given for a method without ``gamma I``; a
            tolerance not finite and >= 0; a memory whose Gram matrix alone would exceed the
            library's memory limit (:data:`hessnotes._linalg.MAX_DENSE_BYTES`).

    Warns:
        FutureWarning: for ``method="sr1"``, the old name of ``"min_rank"``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> A = np.diag(np.linspace(1, 10, 50))
        >>> lm = LimitedMemoryHessian("bfgs", memory=4)
        >>> for _ in range(6):
        ...     s = rng.standard_normal(50)
        ...     _ = lm.update(s, A @ s)
        >>> lm.n_pairs, lm.hessian.rank
        (4, 8)
    """

    def __init__(
        self,
        method: str = "least_norm",
        memory: int = 8,
        *,
        gamma: float | None = None,
        rtol: float | None = None,
        tol: float = 1e-8,
        on_skip: str = "skip",
    ):
        if method in _RENAMED:
            method, message = _RENAMED[method]
            warnings.warn(message, FutureWarning, stacklevel=2)
        if method not in _METHODS:
            raise ValueError(
                f"method must be one of {', '.join(map(repr, _METHODS))}; got {method!r}."
            )
        memory = check_positive_int(memory, "memory", " (pairs kept)")
        if on_skip not in ("skip", "raise"):
            raise ValueError(f"on_skip must be 'skip' or 'raise'; got {on_skip!r}.")
        if gamma is not None:
            if method not in _WITH_GAMMA:
                raise ValueError(
                    "gamma is the scale of H0 = gamma I for 'psb', 'bfgs' and 'sr1_sequential', "
                    f"not {method!r}."
                )
            gamma = float(gamma)
            if not (abs(gamma) < float("inf")) or (method == "bfgs" and not gamma > 0):
                raise ValueError(
                    f"gamma must be finite{' and positive (BFGS)' if method == 'bfgs' else ''}; "
                    f"got {gamma}."
                )
        check_memory(
            8 * (2 * memory) ** 2,
            f"LimitedMemoryHessian(memory={memory}): the Gram matrix of the window, "
            f"(2 memory) x (2 memory) float64",
            "keep memory to the few pairs a limited-memory method uses (typically 5 to 50)",
        )
        self.method, self.memory, self.on_skip = method, memory, on_skip
        self._gamma_fixed = 0.0 if method == "sr1_sequential" and gamma is None else gamma
        self._rtol = None if rtol is None else check_tol(rtol, "rtol")
        self._tol = check_tol(tol, "tol")
        self.n_updates, self.n_skipped, self.skipped = 0, 0, []
        self.n_estimates, self.n_fallbacks, self.last_tier = 0, 0, None
        self._kind: Kind | None = None
        self._Z: torch.Tensor | None = None  # (2m, D): rows 0..m-1 hold s, rows m..2m-1 hold y
        self._G = torch.zeros((2 * memory, 2 * memory), dtype=torch.float64)
        self._order: list[int] = []  # physical slots, oldest pair first
        self._H: LowRankSymmetric | None = None
        self._Minv: np.ndarray | None = None  # the compact inverse's core, see _inverse_core

    # ------------------------------------------------------------------ state
    @property
    def n_pairs(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        D = "?" if self._Z is None else self._Z.shape[1]
        return (
            f"LimitedMemoryHessian(method={self.method!r}, memory={self.memory}, D={D}, "
            f"pairs={self.n_pairs}, updates={self.n_updates}, skipped={self.n_skipped})"
        )

    # ------------------------------------------------------------------ update
    def _check_pair(self, s: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor, Kind]:
        st, ks = as_tensor(s, "s")
        yt, ky = as_tensor(y, "y")
        if ks != ky:
            raise TypeError(f"s is {ks.describe()} but y is {ky.describe()}; pass both alike.")
        if st.ndim != 1 or yt.shape != st.shape or st.shape[0] == 0:
            raise ValueError(
                f"s and y must be 1-D of the same length D >= 1 (one pair); got shapes "
                f"{tuple(st.shape)} and {tuple(yt.shape)}. Update a (D, n) block column by column."
            )
        if tracked(st, yt):
            raise ValueError(
                "LimitedMemoryHessian stores its pairs in a buffer that it overwrites in place, so "
                "autograd cannot follow them; pass s.detach() and y.detach(), or use the batch "
                "estimators of hessnotes.secant, which are differentiable."
            )
        if self._kind is not None:
            D = self._Z.shape[1]
            if ks != self._kind or st.shape[0] != D:
                raise ValueError(
                    f"this LimitedMemoryHessian holds pairs of length {D} as "
                    f"{self._kind.describe()}; got s of length {st.shape[0]} as {ks.describe()}."
                )
        return st, yt, ks

    def update(self, s: Any, y: Any) -> bool:
        """Add the pair (s, y), dropping the oldest pair when ``memory`` pairs are held.

        Args:
            s: (D,) step ``x_{k+1} - x_k``, numpy or torch, float32 or float64.
            y: (D,) gradient difference ``g_{k+1} - g_k``, the same kind, dtype and device; both
                the same as the earlier pairs.

        Returns:
            True if the pair entered the window, False if the safeguard skipped it.

        Raises:
            TypeError, ValueError: bad input (kind, dtype, shape, NaN/Inf, a zero step, tensors
                that require grad); with ``on_skip="raise"``, a pair violating the curvature
                (BFGS) or breakdown (min-rank, sequential SR1) condition.
        """
        st, yt, ks = self._check_pair(s, y)
        if (
            self.method not in _WHOLE_WINDOW
            and st.device.type == "cpu"
            and st.numel() * self.memory <= _SMALL
        ):
            return self._update_cpu(st, yt, ks)
        if self.method in _WHOLE_WINDOW:  # the test needs the whole new Gram matrix first
            pair = torch.stack([st, yt], dim=1)
            own = (pair.T @ pair).to(device="cpu", dtype=torch.float64)
        else:  # three inner products; the rest is read off the buffer after the write
            ss, sy, yy = st @ st, st @ yt, yt @ yt
            own = torch.stack([torch.stack([ss, sy]), torch.stack([sy, yy])]).to(
                device="cpu", dtype=torch.float64
            )
        if not bool(torch.isfinite(own.diagonal()).all()):  # NaN or Inf show up here, for free
            check_finite(st, "s")
            check_finite(yt, "y")
            raise ValueError("s or y is so large that its square overflows; rescale the pairs.")
        if float(own[0, 0]) == 0.0:
            raise ValueError("s is zero: a zero step carries no curvature information.")
        index = self.n_updates
        self.n_updates += 1
        m = self.memory
        if self._Z is None:
            self._allocate(st, ks)
        k = len(self._order)
        slot = self._order[0] if k == m else k
        order = [*self._order[1:], slot] if k == m else [*self._order, slot]
        if self.method in _WHOLE_WINDOW:
            P = self._products(pair, k)
        else:
            reason = self._violation(None, order, own)
            if reason is not None:
                return self._skip(index, reason)
            self._Z[slot].copy_(st)  # in place, through torch: earlier estimates notice (_Lazy)
            self._Z[m + slot].copy_(yt)
            P = self._products(self._Z[slot::m].T, max(k, slot + 1))  # a view: no copy
        G = self._G.clone()
        G[slot, :], G[:, slot] = P[:, 0], P[:, 0]
        G[m + slot, :], G[:, m + slot] = P[:, 1], P[:, 1]
        G[slot, slot], G[m + slot, m + slot] = own[0, 0], own[1, 1]
        G[slot, m + slot] = G[m + slot, slot] = own[0, 1]
        if self.method in _WHOLE_WINDOW:
            reason = self._violation(G, order, own)
            if reason is not None:
                return self._skip(index, reason)
            self._Z[slot].copy_(st)
            self._Z[m + slot].copy_(yt)
        self._G, self._order, self._H, self._Minv = G, order, None, None
        return True

    def _update_cpu(self, st: torch.Tensor, yt: torch.Tensor, ks: Kind) -> bool:
        """:meth:`update` on the CPU: the same arithmetic, with the O(D) and O(D m) work in torch
        and the small (2m x 2m) bookkeeping in numpy, without the fixed cost of a few dozen small
        torch operations, which at D = 1e4 would cost more than the O(D m) product itself."""
        sn, yn = st.numpy(), yt.numpy()
        with np.errstate(over="ignore", invalid="ignore"):
            ss, sy, yy = (float(a @ b) for a, b in ((sn, sn), (sn, yn), (yn, yn)))
        if not (math.isfinite(ss) and math.isfinite(yy)):  # NaN or Inf show up here, for free
            check_finite(st, "s")
            check_finite(yt, "y")
            raise ValueError("s or y is so large that its square overflows; rescale the pairs.")
        if ss == 0.0:
            raise ValueError("s is zero: a zero step carries no curvature information.")
        index = self.n_updates
        self.n_updates += 1
        m = self.memory
        if self._Z is None:
            self._allocate(st, ks)
        k = len(self._order)
        slot = self._order[0] if k == m else k
        order = [*self._order[1:], slot] if k == m else [*self._order, slot]
        own = torch.tensor([[ss, sy], [sy, yy]], dtype=torch.float64)
        reason = self._violation(None, order, own)
        if reason is not None:
            return self._skip(index, reason)
        self._Z[slot].copy_(st)  # in place, through torch: earlier estimates notice (_Lazy)
        self._Z[m + slot].copy_(yt)
        # [S Y]^T [s y]: the one O(D m) product (rows not in use are 0); torch's threaded copy
        # and product are faster than numpy's at large D, numpy's small arithmetic at small D
        P = (self._Z @ self._Z[slot::m].T).numpy().astype(np.float64, copy=False)
        G = self._G.numpy().copy()
        G[slot, :], G[:, slot] = P[:, 0], P[:, 0]
        G[m + slot, :], G[:, m + slot] = P[:, 1], P[:, 1]
        G[slot, slot], G[m + slot, m + slot] = ss, yy
        G[slot, m + slot] = G[m + slot, slot] = sy
        self._G, self._order, self._H, self._Minv = torch.from_numpy(G), order, None, None
        return True

    def _allocate(self, st: torch.Tensor, ks: Kind) -> None:
        m = self.memory
        check_memory(
            2 * m * st.shape[0] * st.element_size(),
            f"LimitedMemoryHessian(memory={m}) on pairs of length D = {st.shape[0]}: the "
            "window buffer, (2 memory, D)",
            "use a smaller memory",
        )
        self._kind = ks
        self._Z = torch.zeros((2 * m, st.shape[0]), dtype=st.dtype, device=st.device)

    def _products(self, pair: torch.Tensor, k: int) -> torch.Tensor:
        """``[S Y]^T pair`` over the k slots in use, as a (2m, 2) float64 CPU tensor: the one
        O(D m) product of an update (eq. (Gram) of the module docstring)."""
        m = self.memory
        P = torch.zeros((2 * m, 2), dtype=torch.float64)
        if k == m:
            P[:] = (self._Z @ pair).to(device="cpu", dtype=torch.float64)
        elif k:
            P[:k] = (self._Z[:k] @ pair).to(device="cpu", dtype=torch.float64)
            P[m : m + k] = (self._Z[m : m + k] @ pair).to(device="cpu", dtype=torch.float64)
        return P

    def _skip(self, index: int, reason: str) -> bool:
        if self.on_skip == "raise":
            raise ValueError(f"LimitedMemoryHessian({self.method!r}): update {index}: {reason}")
        self.n_skipped += 1
        self.skipped.append(index)
        return False

    def _violation(self, G: torch.Tensor, order: list[int], own: torch.Tensor) -> str | None:
        """Why the window ``order`` (with Gram matrix G) is not allowed, or None."""
        if self.method == "bfgs":
            ss, sy, yy = (num(v) for v in (own[0, 0], own[0, 1], own[1, 1]))
            cos = sy / (ss * yy) ** 0.5 if yy > 0 else 0.0
            if not cos > self._tol:
                return (
                    f"the pair violates the curvature condition s^T y > 0 (s^T y / (||s|| ||y||) "
                    f"= {cos:.2e} <= tol = {self._tol:.0e}): BFGS would not stay positive definite."
                )
        elif self.method == "min_rank":
            Ga, n = self._active(G, sorted(order))
            try:
                _min_rank_core(Ga, n, self._tol)
            except ValueError as e:
                return f"the window would break min-rank (SR1) down ({str(e).split('. ')[0]})."
        elif self.method == "sr1_sequential":
            Ga, n = self._active(G, order)  # oldest pair first: the order of the updates
            try:
                _sr1_core(Ga, n, self._gamma_fixed, self._tol)
            except ValueError as e:
                return f"the window would break sequential SR1 down ({e})"
        return None

    def _active(self, G: torch.Tensor, slots: list[int]) -> tuple[torch.Tensor, int]:
        idx = torch.tensor(slots + [self.memory + t for t in slots])
        return G[idx][:, idx], len(slots)

    # ------------------------------------------------------------------ the estimate
    @property
    def gamma(self) -> float | None:
        """The scale of ``H0 = gamma I`` now (``"psb"``, ``"bfgs"``, ``"sr1_sequential"``), or
        None (other methods, or no pairs yet)."""
        if self.method not in _WITH_GAMMA or not self._order:
            return None
        if self._gamma_fixed is not None:
            return self._gamma_fixed
        j, m = self._order[-1], self.memory
        return num(self._G[m + j, j] / self._G[j, j])

    @property
    def gram(self) -> torch.Tensor:
        """The kept Gram matrix ``[S Y]^T [S Y]`` of the window (2n x 2n, float64, CPU), pairs
        oldest first: what :meth:`update` maintains instead of recomputing it."""
        if not self._order:
            raise ValueError("no pairs yet: call update(s, y) first.")
        m = self.memory
        idx = torch.tensor(self._order + [m + t for t in self._order])
        return self._G[idx][:, idx].clone()

    def window(self) -> tuple[Any, Any]:
        """(S, Y), each (D, n_pairs): the window, oldest pair first (copies, caller's kind)."""
        if not self._order:
            raise ValueError("no pairs yet: call update(s, y) first.")
        idx = torch.tensor(self._order, device=self._Z.device)
        m = self.memory
        S, Y = self._Z[idx].T.contiguous(), self._Z[idx + m].T.contiguous()
        return self._kind.out(S), self._kind.out(Y)

    @property
    def hessian(self) -> LowRankSymmetric:
        """The batch estimator's result on the window (see the module docstring for the cost).

        Raises:
            ValueError: no pairs yet; for BFGS with ``gamma`` from the window, a negative scale
                cannot happen (only pairs with s^T y > 0 enter).
        """
        if self._H is None:
            self._H = self._estimate()
        return self._H

    def _count(self, tier: int) -> None:
        self.n_estimates += 1
        self.n_fallbacks += tier == 3
        self.last_tier = tier

    def solve(self, b: Any, shift: float = 0.0) -> Any:
        """``(H + shift I)^{-1} b`` for the estimate H of the window; b of shape (D,) or (D, k).

        For ``"bfgs"`` with ``shift = 0`` this is the compact inverse of Byrd, Nocedal & Schnabel
        (Math. Prog. 63, 1994, eq. 2.6), the matrix that L-BFGS's two-loop recursion applies:
        with ``B0 = gamma I``, ``R`` the upper triangle of ``S^T Y`` (pairs oldest first),
        ``Dg = diag(s_i^T y_i)``, ``p = S^T b`` and ``q = Y^T b``::

            H^{-1} b = b / gamma + S c_1 - Y R^{-1} p / gamma,
            c_1 = R^{-T} ((Dg + Y^T Y / gamma) R^{-1} p - q / gamma).

        It reads the window twice (``[S Y]^T b`` and ``[S Y] c``) and uses the Gram matrix that
        :meth:`update` keeps, so it costs O(D m) and needs no orthonormal basis, however
        ill-conditioned the window. Other methods and shifts go through
        ``self.hessian.solve(b, shift)``.

        Raises:
            ValueError: no pairs yet; b of the wrong shape or holding NaN or Inf (named, with the
                first bad entry); as :meth:`LowRankSymmetric.solve` for other methods.
            TypeError: b of another kind, dtype or device than the pairs.
        """
        if not self._order:
            raise ValueError("no pairs yet: call update(s, y) first.")
        if self.method != "bfgs" or float(shift) != 0.0:
            return self.hessian.solve(b, shift)
        bt, kb = as_tensor(b, "b")
        D = self._Z.shape[1]
        if kb != self._kind:
            raise TypeError(
                f"b is {kb.describe()} but the pairs are {self._kind.describe()}; convert b "
                f"first, e.g. {kb.cast_hint('b', self._kind.dtype)}."
            )
        if bt.ndim not in (1, 2) or bt.shape[0] != D:
            raise ValueError(
                f"b must have shape ({D},) or ({D}, k) for pairs of length {D}; got "
                f"{tuple(bt.shape)}."
            )
        check_finite(bt, "b")
        return self._kind.out(self._compact_inverse(bt))

    def _inverse_core(self) -> np.ndarray:
        """The (2m, 2m) matrix M with ``H^{-1} b = b / gamma + [S Y] M [S Y]^T b`` in the physical
        slots of the buffer (zero on slots not in use), from the kept Gram matrix; formed once per
        window (O(m^3)) and reused by every solve until the next update."""
        if self._Minv is not None:
            return self._Minv
        m, k = self.memory, len(self._order)
        idx = np.array(self._order + [m + t for t in self._order])
        G = self._G.numpy()[np.ix_(idx, idx)]  # logical order, oldest pair first
        SY, YY = G[:k, k:], G[k:, k:]
        gamma = self.gamma
        Rinv = np.linalg.inv(np.triu(SY))  # k x k upper triangular, diagonal s_i^T y_i > 0
        # c1 = R^-T ((Dg + Y^T Y / gamma) R^-1 p - q / gamma) and c2 = -R^-1 p / gamma
        mid = Rinv.T @ (np.diag(np.diag(SY)) + YY / gamma) @ Rinv
        M = np.block([[mid, -Rinv.T / gamma], [-Rinv / gamma, np.zeros((k, k))]])
        Mp = np.zeros((2 * m, 2 * m))
        Mp[np.ix_(idx, idx)] = M
        self._Minv = Mp
        return Mp

    def _compact_inverse(self, b: torch.Tensor) -> torch.Tensor:
        M = self._inverse_core()
        gamma = self.gamma
        B = b[:, None] if b.ndim == 1 else b
        if b.device.type == "cpu":  # numpy: no thread pool for products of a few columns
            Zn, Bn = self._Z.numpy(), B.detach().numpy()
            w = M @ (Zn @ Bn)  # [S Y]^T b: one pass over the window; then M (small)
            out = torch.from_numpy(Bn / gamma + Zn.T @ w.astype(Zn.dtype, copy=False))
        else:
            pq = (self._Z @ B).to(device="cpu", dtype=torch.float64)
            w = torch.from_numpy(M) @ pq
            out = B / gamma + self._Z.T @ w.to(dtype=b.dtype, device=b.device)
        return out[:, 0] if b.ndim == 1 else out

    def _estimate(self) -> LowRankSymmetric:
        if not self._order:
            raise ValueError("no pairs yet: call update(s, y) first.")
        m, k = self.memory, len(self._order)
        blocks = [self._Z[:k].T, self._Z[m : m + k].T]  # physical slots 0..k-1, no copy
        G, _ = self._active(self._G, list(range(k)))
        kind = self._kind
        if self.method == "min_rank":
            C, _ = _min_rank_core(G, k, self._tol)
            basis = range_basis([blocks[1]], ["Y"], G=G[k:, k:], copy=False)
            self._count(basis.tier)
            return LowRankSymmetric._from_basis(basis, C, 0.0, kind, lazy=True)
        basis = range_basis(blocks, ["S", "Y"], G=G, copy=False)
        self._count(basis.tier)
        if self.method == "least_norm":
            return _least_norm_basis(basis, k, kind, self._rtol, lazy=True)
        gamma = self.gamma
        if self.method == "psb":
            return _least_norm_basis(basis, k, kind, self._rtol, gamma=gamma, lazy=True)
        # BFGS and sequential SR1 depend on the order of the pairs: build the core in logical
        # order (oldest first), then move it to the physical order of the buffer.
        perm = torch.tensor(self._order + [k + t for t in self._order])
        core = _bfgs_core if self.method == "bfgs" else _sr1_core
        C_log = core(G[perm][:, perm], k, gamma, self._tol)
        C = torch.empty_like(C_log)
        C[perm.unsqueeze(1), perm.unsqueeze(0)] = C_log
        return LowRankSymmetric._from_basis(basis, C, gamma, kind, lazy=True)


def _sr1_core(G: torch.Tensor, n: int, gamma: float, tol: float) -> torch.Tensor:
    """The 2n x 2n core C of n SR1 updates of ``gamma I``, ``H = gamma I + [S Y] C [S Y]^T``,
    pairs in order, from the Gram matrix G of ``[S Y]`` alone (float64).

    Update j works in the coordinates of ``[S Y]``: ``B_{j-1} s_j = [S Y] (gamma e_j + C G e_j)``,
    so ``r_j = y_j - B_{j-1} s_j = [S Y] c_j`` with ``c_j = e_{n+j} - gamma e_j - C G e_j``,
    ``s_j^T r_j = e_j^T G c_j``, ``||r_j||^2 = c_j^T G c_j``, and ``C += c_j c_j^T / (s_j^T r_j)``.
    A pair whose ``r_j`` vanishes to rounding is already fitted and leaves C as it is; a pair with
    ``|s_j^T r_j| <= tol ||s_j|| ||r_j||`` breaks SR1 down: ValueError names it.
    """
    eps = torch.finfo(torch.float64).eps
    C = torch.zeros((2 * n, 2 * n), dtype=torch.float64)
    for j in range(n):
        Bs = C @ G[:, j]
        Bs[j] += gamma
        c = -Bs
        c[n + j] += 1.0
        rr, ref = num(c @ G @ c), num(G[n + j, n + j] + Bs @ G @ Bs)
        if rr <= 1e3 * eps * ref:  # r_j = 0 to rounding: B_{j-1} s_j = y_j already
            continue
        sr, ss = num(G[j] @ c), num(G[j, j])
        if not abs(sr) > tol * math.sqrt(ss * rr):
            raise ValueError(
                f"pair {j} of the window (oldest = 0): |s^T r| / (||s|| ||r||) = "
                f"{abs(sr) / math.sqrt(ss * rr):.2e} <= tol = {tol:.0e}, with r = y - B s: the SR1 "
                "denominator vanishes"
            )
        C = C + torch.outer(c, c) / sr
    return (C + C.T) / 2


@dataclass(frozen=True)
class QuasiNewtonRun:
    """The path of :func:`quasi_newton`, with every pair it produced.

    Attributes:
        xs: (D, K + 1) iterates ``x_0 ... x_K``, torch float64.
        fs: (K + 1,) values ``f(x_k)``.
        S, Y: (D, K) the pairs ``s_k = x_{k+1} - x_k`` and ``y_k = g_{k+1} - g_k``, in order.
        n_skipped: pairs the BFGS safeguard left out of the model (see LimitedMemoryHessian).
        converged: whether ``||grad f|| <= gtol`` was reached within ``max_iter`` steps (a run
            also stops when a step rounds to zero).
    """

    xs: torch.Tensor
    fs: torch.Tensor
    S: torch.Tensor
    Y: torch.Tensor
    n_skipped: int
    converged: bool


def quasi_newton(
    f: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    *,
    memory: int = 8,
    max_iter: int = 200,
    gtol: float = 1e-8,
) -> QuasiNewtonRun:
    """Minimise f by limited-memory BFGS steps ``p = -H^{-1} g`` with ``H`` the
    :class:`LimitedMemoryHessian` (``"bfgs"``) of the last ``memory`` pairs.

    The step applies the compact inverse of BFGS (:meth:`LimitedMemoryHessian.solve`: O(D m), no
    basis, so no Householder fallback on a nearly parallel window); the first step is along
    ``-g / ||g||``. A backtracking (Armijo) line search halves the step
    until ``f(x + t p) <= f(x) + 1e-4 t g^T p``. Gradients come from ``torch.func.grad``.

    Args:
        f: scalar function of a (D,) float64 tensor, differentiable by torch.
        x0: (D,) starting point.
        memory: m, the pairs kept.
        max_iter: largest number of steps.
        gtol: stop when ``||grad f(x)|| <= gtol``.

    Returns:
        A :class:`QuasiNewtonRun`.

    Raises:
        ValueError: x0 not 1-D float64, or a line search that fails to decrease f in 60 halvings.
    """
    from torch.func import grad

    if not (isinstance(x0, torch.Tensor) and x0.ndim == 1 and x0.dtype == torch.float64):
        raise ValueError("x0 must be a 1-D torch float64 tensor.")
    g = grad(f)
    x = x0.detach().clone()
    lm = LimitedMemoryHessian("bfgs", memory=memory)
    xs, fs, S, Y = [x], [f(x).detach()], [], []
    gx, converged = g(x), False
    for _ in range(max_iter):
        if float(gx.norm()) <= gtol:
            converged = True
            break
        p = -gx / gx.norm() if lm.n_pairs == 0 else -lm.solve(gx)
        t, fx, slope = 1.0, fs[-1], float(gx @ p)
        for _ in range(60):
            if float(f(x + t * p)) <= float(fx) + 1e-4 * t * slope:
                break
            t /= 2
        else:
            raise ValueError("quasi_newton: the line search found no decrease in 60 halvings.")
        xn = x + t * p
        gn = g(xn)
        s, y = xn - x, gn - gx
        if not bool(s.any()):  # the step vanished in rounding: no further progress possible
            break
        lm.update(s, y)
        S.append(s)
        Y.append(y)
        x, gx = xn, gn
        xs.append(x)
        fs.append(f(x).detach())
    converged = converged or float(gx.norm()) <= gtol
    return QuasiNewtonRun(
        xs=torch.stack(xs, 1),
        fs=torch.stack(fs),
        S=torch.stack(S, 1),
        Y=torch.stack(Y, 1),
        n_skipped=lm.n_skipped,
        converged=converged,
    )
