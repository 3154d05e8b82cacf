"""A model, a loss function and data as a function of the flat parameter vector (private).

:mod:`hessnotes.curvature` computes curvature of a scalar function of a flat vector ``theta``.
:class:`ModelLoss` turns the usual training objects into such a function::

    L(theta) = sum_b w_b loss_fn(model(x_b; theta), y_b),

with ``model(x; theta)`` evaluated by ``torch.func.functional_call`` (the module itself is never
changed), ``(x_b, y_b)`` the batches of the data and the weights ``w_b = N_b / N`` for a loss
that averages over the rows of its batch (``reduction="mean"``, so that L is the loss of all
the data as one batch) or ``w_b = 1`` for a summed loss.

**The flattening order** of ``theta``: the chosen parameters in the order of
``model.named_parameters()``, each flattened row-major (``p.reshape(-1)``), concatenated. For
``nn.Sequential(nn.Linear(64, h), nn.Tanh(), nn.Linear(h, 10))`` that is ``0.weight`` (h x 64,
row by row), ``0.bias``, ``2.weight``, ``2.bias``. :meth:`ModelLoss.unflatten` maps a flat
vector back to a dict of named parameter shapes.

**The model's state is left as it was**: its parameters are read (a flat copy is taken at
construction, so the curvature is that at those values), buffers are passed as copies (a batch
norm in training mode updates the copies, not the model), ``.grad`` is never touched, and the
train/eval mode is used as it is, never switched (put the model in ``eval()`` mode first for a
deterministic operator when it has dropout or batch norm).

Served chapter: "Exact curvature" (the digits network from ``model, loss, data``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch.func import functional_call

from hessnotes._linalg import check_positive_int

_REDUCTIONS = ("mean", "sum")


def is_model(obj: Any) -> bool:
    """True for a ``torch.nn.Module`` (the first argument of the model form)."""
    return isinstance(obj, torch.nn.Module)


def _is_batch(obj: Any) -> bool:
    return isinstance(obj, tuple | list) and len(obj) == 2 and isinstance(obj[0], torch.Tensor)


class ModelLoss:
    """``L(theta) = sum_b w_b loss_fn(model(x_b; theta), y_b)`` over the data (see module doc).

    Args:
        model: a ``torch.nn.Module``.
        loss_fn: ``loss_fn(outputs, targets)`` returning a 0-d tensor (e.g.
            ``torch.nn.CrossEntropyLoss()`` or ``torch.nn.functional.mse_loss``).
        data: one batch ``(inputs, targets)``, or an iterable of such batches that can be read
            more than once (a list, a ``DataLoader``); it is read once per product.
        params: which parameters: None (all that require grad), or names or ``Parameter``
            objects of the model; always flattened in the model's order.
        reduction: ``"mean"`` or ``"sum"``, how loss_fn reduces a batch; default
            ``loss_fn.reduction`` when it has one (torch's loss modules), else ``"mean"``.
        batch_size: split every batch into chunks of at most this many rows, so that memory is
            bounded by one chunk (default: batches as given).
        where: the calling function's name, for error messages.

    Raises:
        TypeError: loss_fn not callable; params of the wrong kind; data not a batch or an
            iterable of batches; inputs of another floating dtype than the parameters.
        ValueError: unknown or empty params; reduction not "mean"/"sum" (or disagreeing with
            loss_fn.reduction); empty data; a one-shot iterator as data; batch_size < 1;
            parameters of mixed dtypes or devices; loss_fn not returning a scalar.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: Callable,
        data: Any,
        *,
        params: Any = None,
        reduction: str | None = None,
        batch_size: int | None = None,
        where: str = "hvp",
    ):
        self.model, self.loss_fn, self.where = model, loss_fn, where
        if not callable(loss_fn) or isinstance(loss_fn, torch.Tensor):
            raise TypeError(
                f"{where}(model, loss_fn, data): loss_fn must be callable as "
                f"loss_fn(outputs, targets), e.g. torch.nn.CrossEntropyLoss(); got "
                f"{type(loss_fn).__name__}."
            )
        self.names, self.shapes = self._select(params)
        ps = dict(model.named_parameters())
        chosen = [ps[n] for n in self.names]
        dtypes = {p.dtype for p in chosen}
        devices = {p.device for p in chosen}
        if len(dtypes) > 1 or len(devices) > 1:
            raise ValueError(
                f"{where}: the chosen parameters mix dtypes {sorted(map(str, dtypes))} or devices "
                f"{sorted(map(str, devices))}; convert the model first (model.double(), "
                "model.to(device))."
            )
        self.dtype, self.device = chosen[0].dtype, chosen[0].device
        if self.dtype not in (torch.float32, torch.float64):
            raise TypeError(
                f"{where}: the model's parameters are {self.dtype}; hessnotes computes in float32 "
                "or float64 only (float16 and bfloat16 are refused). Convert the model first, "
                "e.g. model.double()."
            )
        self.sizes = [math.prod(s) for s in self.shapes]
        self.theta = torch.cat([ps[n].detach().reshape(-1) for n in self.names]).clone()
        chosen_set = set(self.names)
        self.fixed = {n: p.detach() for n, p in ps.items() if n not in chosen_set}
        self.buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
        self.reduction = self._reduction(reduction)
        if batch_size is not None:
            batch_size = check_positive_int(batch_size, "batch_size")
        self.batch_size = batch_size
        self._single = self._parse_data(data)
        self.data = data

    # ------------------------------------------------------------------ set-up
    def _select(self, params: Any) -> tuple[list[str], list[tuple[int, ...]]]:
        named = list(self.model.named_parameters())
        if params is None:
            names = [n for n, p in named if p.requires_grad]
        else:
            if isinstance(params, str | torch.Tensor):
                params = [params]
            by_id = {id(p): n for n, p in named}
            wanted = set()
            for p in params:
                if isinstance(p, str):
                    if p not in dict(named):
                        raise ValueError(
                            f"{self.where}: params names {p!r}, which is not a parameter of the "
                            f"model; its parameters are {[n for n, _ in named]}."
                        )
                    wanted.add(p)
                elif isinstance(p, torch.Tensor):
                    if id(p) not in by_id:
                        raise ValueError(
                            f"{self.where}: params holds a tensor of shape {tuple(p.shape)} that "
                            "is not a parameter of the model (pass model.named_parameters() "
                            "names or the Parameter objects themselves)."
                        )
                    wanted.add(by_id[id(p)])
                else:
                    raise TypeError(
                        f"{self.where}: params must be parameter names or Parameter objects; got "
                        f"{type(p).__name__}."
                    )
            names = [n for n, _ in named if n in wanted]
        if not names:
            raise ValueError(
                f"{self.where}: no parameters to differentiate (the model has none that require "
                "grad, or params is empty)."
            )
        shapes = [tuple(dict(named)[n].shape) for n in names]
        return names, shapes

    def _reduction(self, reduction: str | None) -> str:
        own = getattr(self.loss_fn, "reduction", None)
        if own is not None and own not in _REDUCTIONS:
            raise ValueError(
                f"{self.where}: loss_fn has reduction={own!r}; the curvature needs a scalar loss, "
                "so use reduction='mean' or 'sum'."
            )
        if reduction is None:
            return own or "mean"
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}.")
        if own is not None and own != reduction:
            raise ValueError(
                f"{self.where}: reduction={reduction!r} but loss_fn.reduction is {own!r}; drop the "
                "argument (loss_fn's own reduction is used) or make them agree."
            )
        return reduction

    def _parse_data(self, data: Any) -> bool:
        """True for a single batch, False for an iterable of batches (checked here)."""
        if _is_batch(data):
            return True
        if isinstance(data, torch.Tensor):
            raise TypeError(
                f"{self.where}(model, loss_fn, data): data is a single tensor; pass a batch "
                "(inputs, targets) or an iterable of batches. For the curvature with respect to "
                f"the input x, use the flat form with a function of x: {self.where}(lambda x: "
                "loss_fn(model(x), target), x)."
            )
        if not isinstance(data, Iterable):
            raise TypeError(
                f"{self.where}(model, loss_fn, data): data must be a batch (inputs, targets) or "
                f"an iterable of batches (a list, a DataLoader); got {type(data).__name__}."
            )
        if iter(data) is data:
            raise ValueError(
                f"{self.where}(model, loss_fn, data): data is a one-shot iterator (it is read "
                "once per product, so a second pass would find it empty); pass a list of "
                "batches or a DataLoader instead."
            )
        return False

    # ------------------------------------------------------------------ layout
    @property
    def D(self) -> int:
        return self.theta.numel()

    def unflatten(self, v: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{name: tensor of that parameter's shape}`` from a flat (D,) vector (views of v)."""
        out, i = {}, 0
        for n, s, k in zip(self.names, self.shapes, self.sizes, strict=True):
            out[n] = v[i : i + k].reshape(s)
            i += k
        return out

    # ------------------------------------------------------------------ data
    def batches(self) -> Iterator[tuple[Any, Any, int]]:
        """``(inputs, targets, rows)`` for every batch (chunked by batch_size), on the device."""
        source = [self.data] if self._single else self.data
        seen = False
        for b, batch in enumerate(source):
            if not _is_batch(batch):
                raise TypeError(
                    f"{self.where}(model, loss_fn, data): batch {b} of data is "
                    f"{type(batch).__name__}; each batch must be a pair (inputs, targets) with "
                    "inputs a tensor."
                )
            x, y = batch
            if x.ndim == 0 or x.shape[0] == 0:
                raise ValueError(
                    f"{self.where}: batch {b} has inputs of shape {tuple(x.shape)}; a batch needs "
                    "at least one row."
                )
            if x.is_floating_point() and x.dtype != self.dtype:
                raise TypeError(
                    f"{self.where}: the inputs of batch {b} are {x.dtype} but the model's "
                    f"parameters are {self.dtype}; convert the data (inputs.to({self.dtype})) or "
                    "the model (model.to(inputs.dtype)). Nothing is cast silently."
                )
            x = x.to(self.device)
            y = y.to(self.device) if isinstance(y, torch.Tensor) else y
            rows = x.shape[0]
            step = rows if self.batch_size is None else self.batch_size
            for s in range(0, rows, step):
                xs = x[s : s + step]
                ys = y[s : s + step] if isinstance(y, torch.Tensor) and y.ndim else y
                seen = True
                yield xs, ys, xs.shape[0]
        if not seen:
            raise ValueError(f"{self.where}(model, loss_fn, data): data holds no batches.")

    @property
    def one_batch(self) -> bool:
        """One batch, not split: its graphs can be built once and reused for every product."""
        return self._single and (
            self.batch_size is None or self.batch_size >= self.data[0].shape[0]
        )

    def weight(self, rows: int, total: int) -> float:
        return rows / total if self.reduction == "mean" else 1.0

    # ------------------------------------------------------------------ evaluation
    def outputs(self, theta: torch.Tensor, x: Any) -> Any:
        """``model(x; theta)`` through ``functional_call`` (the module is not changed)."""
        return functional_call(
            self.model, {**self.fixed, **self.unflatten(theta), **self.buffers}, (x,)
        )

    def loss(self, theta: torch.Tensor, x: Any, y: Any) -> torch.Tensor:
        """``loss_fn(model(x; theta), y)`` for one batch."""
        return self.loss_fn(self.outputs(theta, x), y)

    def loss_of(self, named: dict[str, torch.Tensor], x: Any, y: Any) -> torch.Tensor:
        """The same loss with the chosen parameters given by name, each a tensor of its own."""
        return self.loss_fn(
            functional_call(self.model, {**self.fixed, **named, **self.buffers}, (x,)), y
        )

    def check(self) -> tuple[Any, Any]:
        """Evaluate the loss on the first batch: a 0-d floating tensor, else a clear error.

        Returns the first batch ``(inputs, targets)``."""
        x, y, _ = next(iter(self.batches()))
        out = self.loss(self.theta, x, y)
        if not isinstance(out, torch.Tensor) or out.ndim != 0:
            raise ValueError(
                f"{self.where}: loss_fn(model(inputs), targets) must return a scalar (0-d "
                f"tensor); it returned {type(out).__name__} of shape "
                f"{tuple(getattr(out, 'shape', ()))}. Use a loss that reduces its batch (e.g. "
                "torch.nn.CrossEntropyLoss() with reduction 'mean' or 'sum')."
            )
        return x, y
