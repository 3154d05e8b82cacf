"""Small, seeded torch networks whose Hessians the book computes and estimates from gradients.

* :func:`random_mlp`: a pure function ``f: (D,) -> ()`` built from fixed random weights, so that
  ``torch.func.grad(f)`` and ``torch.func.hessian(f)`` apply directly and every result is
  repeatable.
* :func:`softmax_layer_samples`: inputs and output gradients of one softmax layer, the setting of
  Kronecker-factored curvature (K-FAC) in the chapter "Shuffles and rearrangements" (moved here
  from :mod:`hessnotes.kron`, which still re-exports it).
* :func:`digits_mlp`: a small MLP *trained* on scikit-learn's 8x8 digits (real data that ships with
  the package), with its input Hessian (64 pixels) and its parameter Hessian (1,210 parameters)
  as functions for ``torch.func``, and the same network as a ``torch.nn.Module`` with its data
  (:meth:`DigitsMLP.module`, :meth:`DigitsMLP.batch`) for the model form of
  :mod:`hessnotes.curvature`.

Chapters: "Shuffles and rearrangements", "The secant equations", "Noisy pairs and a real network",
"Exact curvature".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import torch

from hessnotes._linalg import check_positive_int

__all__ = [
    "DigitsMLP",
    "SoftmaxLayerSamples",
    "digits_mlp",
    "random_mlp",
    "sample_cloud",
    "softmax_layer_samples",
]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "softplus": torch.nn.functional.softplus,
    "gelu": torch.nn.functional.gelu,
}


def random_mlp(
    D: int,
    hidden: Sequence[int] = (64, 64),
    *,
    activation: str = "tanh",
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A scalar MLP loss ``f(x) = 0.5 * ||W_L s(... s(W_1 x + b_1) ...) + b_L - t||²``.

    The weights are Gaussian with variance ``1 / fan_in`` (so activations stay of order one), the
    target ``t`` is random, and the activation ``s`` is smooth, so ``f`` has a genuine, indefinite,
    input-dependent Hessian.

    Args:
        D: input dimension.
        hidden: widths of the hidden layers; the last one maps to an output of width 4, which
            enters the squared loss.
        activation: ``"tanh"``, ``"softplus"`` or ``"gelu"``.
        seed: seed of the weights.
        dtype: dtype of the weights; inputs must match it.

    Returns:
        ``f(x)`` for ``x`` of shape ``(D,)``, returning a 0-d tensor. It works with ``torch.func``.

    Raises:
        ValueError: if ``D`` or a width is not positive, or the activation is unknown.
    """
    if D < 1 or any(h < 1 for h in hidden):
        raise ValueError(f"D={D} and hidden={tuple(hidden)} must be positive widths")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation={activation!r}; choose one of {sorted(_ACTIVATIONS)}")
    act = _ACTIVATIONS[activation]
    gen = torch.Generator().manual_seed(seed)
    widths = [D, *hidden, 4]
    layers = []
    for fan_in, fan_out in pairwise(widths):
        w = torch.randn(fan_out, fan_in, generator=gen, dtype=dtype) / math.sqrt(fan_in)
        b = 0.1 * torch.randn(fan_out, generator=gen, dtype=dtype)
        layers.append((w, b))
    target = torch.randn(widths[-1], generator=gen, dtype=dtype)

    def f(x: torch.Tensor) -> torch.Tensor:
        if x.shape != (D,):
            raise ValueError(f"x has shape {tuple(x.shape)}; this network takes shape ({D},)")
        h = x
        for i, (w, b) in enumerate(layers):
            h = w @ h + b
            if i < len(layers) - 1:
                h = act(h)
        return 0.5 * ((h - target) ** 2).sum()

    return f


def sample_cloud(x0: torch.Tensor, n: int, spread: float, *, seed: int = 0) -> torch.Tensor:
    """``n`` points around ``x0``: the columns of ``x0 + spread * Z / sqrt(D)``, Z standard normal.

    Dividing by ``sqrt(D)`` makes ``spread`` the typical distance of a point from ``x0``.

    Returns:
        Tensor of shape ``(D, n)`` with the dtype and device of ``x0``.

    Raises:
        ValueError: if ``x0`` is not 1-D, ``n < 1`` or ``spread < 0``.
    """
    if x0.ndim != 1:
        raise ValueError(f"x0 has shape {tuple(x0.shape)}; pass a 1-D point of shape (D,)")
    if n < 1 or spread < 0:
        raise ValueError(f"n={n} must be >= 1 and spread={spread} must be >= 0")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(x0.shape[0], n, generator=gen, dtype=x0.dtype).to(x0.device)
    return x0[:, None] + spread * z / math.sqrt(x0.shape[0])


# ------------------------------------------------------------------------ a trained network
#: Pixel values of ``load_digits`` are integers 0..16; images are divided by this.
_PIXEL_MAX = 16.0


def _load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits (shipped with the package, no download) as float64 and int64."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - scikit-learn is pinned in requirements.txt
        raise ImportError(
            "digits_mlp needs scikit-learn for its data set (load_digits ships with it and loads "
            "offline): pip install scikit-learn"
        ) from None
    data = load_digits()
    images = torch.from_numpy(data.data.astype("float64")) / _PIXEL_MAX
    return images, torch.from_numpy(data.target.astype("int64"))


class DigitsMLP:
    """A tanh MLP trained on scikit-learn's 8x8 digits: a real network on real data, small enough
    for exact Hessians.

    The network is ``g(x; theta) = W_2 tanh(W_1 x + b_1) + b_2`` (64 inputs, ``hidden`` units, 10
    logits) with softmax cross-entropy ``l(z, c) = logsumexp(z) - z_c``. ``theta`` is the flat
    vector of all parameters, in the order ``W_1, b_1, W_2, b_2`` (row-major), so that
    ``P = 64 h + h + 10 h + 10`` (1,210 for h = 16). Build it with :func:`digits_mlp`.

    Attributes:
        params: (P,) float64, the trained parameters.
        hidden: the width h.
        images, labels: all 1,797 images (1797, 64) in [0, 1] and their digits (1797,).
        train, test: index tensors of the seeded split (1,500 / 297 images).
        losses: training loss (mean cross-entropy over the training set) before each step.
    """

    def __init__(self, params, hidden, images, labels, train, test, losses):
        self.params, self.hidden = params, hidden
        self.images, self.labels, self.train, self.test = images, labels, train, test
        self.losses = losses

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """Shapes of ``W_1, b_1, W_2, b_2``."""
        h = self.hidden
        return [(h, 64), (h,), (10, h), (10,)]

    @property
    def num_params(self) -> int:
        """P, the length of ``params``."""
        return self.params.numel()

    def __repr__(self) -> str:
        return (
            f"DigitsMLP(64 -> {self.hidden} tanh -> 10, P={self.num_params}, "
            f"test accuracy {self.accuracy('test'):.3f})"
        )

    def _unflatten(self, theta: torch.Tensor) -> list[torch.Tensor]:
        out, i = [], 0
        for s in self.shapes:
            n = math.prod(s)
            out.append(theta[i : i + n].reshape(s))
            i += n
        return out

    def logits(self, x: torch.Tensor, theta: torch.Tensor | None = None) -> torch.Tensor:
        """``g(x; theta)``: (64,) -> (10,) or (N, 64) -> (N, 10); ``theta`` defaults to ``params``.

        Raises:
            ValueError: if x does not end in 64 pixels or theta has the wrong length.
        """
        theta = self.params if theta is None else theta
        if theta.shape != (self.num_params,):
            raise ValueError(
                f"theta has shape {tuple(theta.shape)}; expected ({self.num_params},) "
                "(the flat parameters W_1, b_1, W_2, b_2)."
            )
        if x.ndim not in (1, 2) or x.shape[-1] != 64:
            raise ValueError(
                f"x has shape {tuple(x.shape)}; pass one image (64,) or a batch (N, 64) of "
                "flattened 8x8 images."
            )
        W1, b1, W2, b2 = self._unflatten(theta)
        return torch.tanh(x @ W1.T + b1) @ W2.T + b2

    def _label(self, label: int) -> torch.Tensor:
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label={label} must be a digit 0..9.")
        return torch.tensor(int(label))

    def network(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """``g: (64,) -> (10,)`` at the trained parameters (the network of a Gauss–Newton split)."""
        return lambda x: self.logits(x)

    def output_loss(self, label: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """``l(z) = logsumexp(z) - z_label``: the loss as a function of the 10 logits."""
        c = self._label(label)
        return lambda z: torch.logsumexp(z, 0) - z[c]

    def input_loss(self, index: int) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
        """The loss of image ``index`` as a function of its 64 pixels, and the image.

        Returns:
            ``(f, x0)`` with ``f(x) = l(g(x), label[index])`` for x of shape (64,) (a 0-d tensor)
            and ``x0 = images[index]``; ``hessian(f)(x0)`` is the input Hessian.

        Raises:
            IndexError: index outside 0..1796.
        """
        if not 0 <= index < self.images.shape[0]:
            raise IndexError(f"index={index} outside 0..{self.images.shape[0] - 1}.")
        g, l = self.network(), self.output_loss(int(self.labels[index]))
        return (lambda x: l(g(x))), self.images[index].clone()

    def parameter_loss(self, batch: int = 256) -> Callable[[torch.Tensor], torch.Tensor]:
        """The mean cross-entropy over the first ``batch`` training images, a function of theta.

        ``f(theta)`` for theta of shape (P,); ``hessian(f)(model.params)`` is the parameter
        Hessian (P x P, 1,210 x 1,210 for h = 16).

        Raises:
            ValueError: batch outside 1..1500.
        """
        if not 1 <= batch <= self.train.numel():
            raise ValueError(f"batch={batch} must be in 1..{self.train.numel()}.")
        idx = self.train[:batch]
        xb, yb = self.images[idx], self.labels[idx]
        return lambda theta: torch.nn.functional.cross_entropy(self.logits(xb, theta), yb)

    def module(self) -> torch.nn.Sequential:
        """The same network as a ``torch.nn.Module`` with the trained parameters (float64 copies).

        ``nn.Sequential(nn.Linear(64, h), nn.Tanh(), nn.Linear(h, 10))``, in eval mode. Its
        ``named_parameters()`` are ``0.weight, 0.bias, 2.weight, 2.bias``, which flattened
        row-major and concatenated give exactly :attr:`params`: the flattening order of the
        model form of :func:`hessnotes.curvature.hvp`. Changing the module does not change this
        DigitsMLP.
        """
        h = self.hidden
        net = torch.nn.Sequential(torch.nn.Linear(64, h), torch.nn.Tanh(), torch.nn.Linear(h, 10))
        net = net.to(torch.float64).eval()
        with torch.no_grad():
            for p, value in zip(net.parameters(), self._unflatten(self.params), strict=True):
                p.copy_(value)
        return net

    def batch(self, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        """``(images, labels)`` of the first ``batch`` training images: the data of
        :meth:`parameter_loss` with the same ``batch``, for the model form
        ``hvp(self.module(), torch.nn.CrossEntropyLoss(), self.batch(batch))``.

        Raises:
            ValueError: batch outside 1..1500.
        """
        if not 1 <= batch <= self.train.numel():
            raise ValueError(f"batch={batch} must be in 1..{self.train.numel()}.")
        idx = self.train[:batch]
        return self.images[idx].clone(), self.labels[idx].clone()

    def accuracy(self, split: str = "test") -> float:
        """Fraction of ``"train"`` or ``"test"`` images classified correctly."""
        if split not in ("train", "test"):
            raise ValueError(f"split={split!r}; use 'train' or 'test'.")
        idx = self.train if split == "train" else self.test
        pred = self.logits(self.images[idx]).argmax(1)
        return float((pred == self.labels[idx]).double().mean())


@functools.lru_cache(maxsize=4)
def _trained(hidden: int, steps: int, lr: float, seed: int):
    images, labels = _load_digits()
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(images.shape[0], generator=gen)
    train, test = perm[:1500], perm[1500:]
    W1 = torch.randn(hidden, 64, generator=gen, dtype=torch.float64) / math.sqrt(64)
    W2 = torch.randn(10, hidden, generator=gen, dtype=torch.float64) / math.sqrt(hidden)
    b1, b2 = torch.zeros(hidden, dtype=torch.float64), torch.zeros(10, dtype=torch.float64)
    theta = torch.cat([W1.reshape(-1), b1, W2.reshape(-1), b2]).requires_grad_(True)
    model = DigitsMLP(theta, hidden, images, labels, train, test, [])
    xb, yb = images[train], labels[train]
    opt = torch.optim.Adam([theta], lr=lr)
    losses = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is fastest, and the sums repeatable
    try:
        with torch.enable_grad():
            for _ in range(steps):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(model.logits(xb, theta), yb)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
    finally:
        torch.set_num_threads(threads)
    return theta.detach().clone(), images, labels, train, test, tuple(losses)


def digits_mlp(hidden: int = 16, *, steps: int = 200, lr: float = 0.02, seed: int = 0) -> DigitsMLP:
    """Train a ``64 -> hidden (tanh) -> 10`` MLP on scikit-learn's digits; seeded, deterministic.

    The data is ``sklearn.datasets.load_digits`` (1,797 8x8 images of handwritten digits, which ship
    with scikit-learn; nothing is downloaded), pixels scaled to [0, 1]. A seeded permutation splits
    it into 1,500 training and 297 test images. Weights start Gaussian with variance ``1 / fan_in``
    (biases 0) from a local ``torch.Generator``; training is full-batch Adam on the mean cross-
    entropy, in float64. About a second on one core for the defaults, which reach a test accuracy of
    about 0.98 (training loss about 0.013). Nothing global is changed for good: no
    ``torch.manual_seed``, no deterministic-algorithms switch (full-batch float64 training on the
    CPU is repeatable as it is); training runs on one thread (``torch.set_num_threads(1)``, restored
    afterwards), which for these small matrices is several times faster than two threads on a busy
    machine. Results are cached per argument set, so chapters that share the network train it once.

    Args:
        hidden: width of the hidden layer (P = 75 h + 10 parameters).
        steps: Adam steps.
        lr: Adam's learning rate.
        seed: seed of the split and the initial weights.

    Returns:
        DigitsMLP (its tensors are copies: changing them does not change the cache).

    Raises:
        ValueError: hidden or steps not positive, lr not positive.
        ImportError: scikit-learn is not installed.
    """
    if hidden < 1 or steps < 1 or not lr > 0:
        raise ValueError(f"hidden={hidden}, steps={steps} and lr={lr} must be positive.")
    theta, images, labels, train, test, losses = _trained(int(hidden), int(steps), float(lr), seed)
    return DigitsMLP(
        theta.clone(),
        int(hidden),
        images.clone(),
        labels.clone(),
        train.clone(),
        test.clone(),
        list(losses),
    )


# --------------------------------------------------------------------------------------------------
# An example for Kronecker-factored curvature (K-FAC)
# --------------------------------------------------------------------------------------------------
class SoftmaxLayerSamples(NamedTuple):
    """Per-example quantities of a softmax linear layer ``p = softmax(W a)``.

    Attributes:
        a: (N, d_in) inputs; the last feature is the constant 1 (a bias).
        g: (N, c) output gradients ``g = p - e_y`` of the cross-entropy ``-log p_y``.
        W: (c, d_in) weights.
        y: (N,) labels, drawn from the model's own ``p`` (so that ``E[vec(G) vec(G)ᵀ]`` is the
            Fisher information, not the empirical Fisher).
    """

    a: np.ndarray
    g: np.ndarray
    W: np.ndarray
    y: np.ndarray


def softmax_layer_samples(
    n: int, d_in: int, n_classes: int, *, scale: float = 1.0, seed: int = 0
) -> SoftmaxLayerSamples:
    """Draw inputs and output gradients of a softmax layer, the setting of K-FAC.

    The inputs are correlated Gaussians ``a = L z`` (``z ~ N(0, I)``, a seeded ``L``) with the last
    feature set to 1, the weights ``W = scale · N(0, 1)``, the probabilities
    ``p = softmax(W a)`` and the labels ``y ~ p``. The gradient of ``-log p_y`` with respect to
    ``W`` is ``G = g aᵀ`` with ``g = p - e_y``, so ``vec(G) = a ⊗ g`` and the layer's Fisher
    matrix is ``F = E[(a aᵀ) ⊗ (g gᵀ)]`` of shape (d_in c, d_in c). Since ``g`` depends on ``a``
    (through ``p``), ``F`` is not exactly ``E[a aᵀ] ⊗ E[g gᵀ]``; larger ``scale`` means more
    confident predictions and a stronger dependence.

    Args:
        n: number of examples ``N``.
        d_in: input dimension including the bias feature (at least 2).
        n_classes: number of classes ``c`` (at least 2).
        scale: standard deviation of the weights.
        seed: seed of the generator.

    Returns:
        :class:`SoftmaxLayerSamples` ``(a, g, W, y)``, float64 numpy arrays (``y`` integer).

    Raises:
        ValueError: if ``n`` is not a positive integer, ``d_in`` or ``n_classes`` is below 2, or
            ``scale`` is not a finite non-negative number.
    """
    n = check_positive_int(n, "n")
    d_in, n_classes = check_positive_int(d_in, "d_in"), check_positive_int(n_classes, "n_classes")
    if d_in < 2 or n_classes < 2:
        raise ValueError(
            f"d_in = {d_in} and n_classes = {n_classes} must both be at least 2 (d_in counts the "
            "bias feature)."
        )
    real = isinstance(scale, (int, float, np.floating, np.integer)) and not isinstance(scale, bool)
    if not (real and math.isfinite(scale) and scale >= 0):
        raise ValueError(f"scale must be a finite non-negative number; got {scale!r}.")
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((d_in, d_in)) / math.sqrt(d_in)
    a = rng.standard_normal((n, d_in)) @ L.T
    a[:, -1] = 1.0
    W = float(scale) * rng.standard_normal((n_classes, d_in))
    z = a @ W.T
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    # Inverse-CDF sampling; the clip guards against a cumulative sum rounding to just below 1.
    y = np.minimum((p.cumsum(axis=1) <= rng.random((n, 1))).sum(axis=1), n_classes - 1)
    g = p - np.eye(n_classes)[y]
    return SoftmaxLayerSamples(a=a, g=g, W=W, y=y)
