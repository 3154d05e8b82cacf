"""Statistical checks: a Monte Carlo estimate against a closed form, in standard errors.

:class:`Estimate` is the mean of ``N`` per-sample values with its standard error; :func:`check_mean`
and :func:`check_variance` compare it with a closed form and print a one-line verdict
(:class:`StatCheck`), ``✓ name: 1.3 standard errors (worst of 6 entries, tol 4)``, and raise when
it misses. Used by :mod:`hessnotes.stochastic`, which re-exports them.

Chapters: "Derivatives of random functions".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hessnotes._linalg import as_tensor, check_finite, check_tol, eps_of

__all__ = ["Estimate", "StatCheck", "check_mean", "check_variance"]


def _out(t: torch.Tensor, numpy: bool) -> Any:
    return t.detach().cpu().numpy() if numpy else t.detach()


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean of ``N`` per-sample values, with its standard error.

    Attributes:
        mean: shape ``S``, ``(1/N) Σ_k values[k]``.
        stderr: shape ``S``, ``s / √N`` entrywise, with ``s²`` the unbiased sample variance.
        values: shape ``(N, *S)``, one value per sample.
        variance: the total variance of one sample, ``Σ_entries s²`` (the trace of the sample
            covariance; for a scalar, the sample variance).
        variance_stderr: the standard error of ``variance``, ``std_k(q_k) / √N`` with
            ``q_k = ‖values[k] − mean‖²``.

    Arrays are numpy or torch like the values they were made from.
    """

    mean: Any
    stderr: Any
    values: Any
    variance: float
    variance_stderr: float

    @property
    def samples(self) -> int:
        """The number ``N`` of samples."""
        return int(self.values.shape[0])

    @classmethod
    def of(cls, values: Any) -> Estimate:
        """The estimate from per-sample values of shape ``(N, *S)``, ``N >= 2``.

        Raises:
            TypeError: values that are not a float32/float64 array or tensor.
            ValueError: fewer than 2 samples, or NaN or Inf among the values.
        """
        v, kind = as_tensor(values, "values")
        if v.ndim == 0 or v.shape[0] < 2:
            raise ValueError(
                f"values has shape {tuple(v.shape)}; give (N, ...) with N >= 2 samples along the "
                "first axis (a standard error needs two)"
            )
        v = v.detach()
        check_finite(v, "values")
        n = v.shape[0]
        mean = v.mean(0)
        dev = v - mean
        var = (dev * dev).sum(0) / (n - 1)
        q = (dev * dev).reshape(n, -1).sum(1)
        return cls(
            mean=_out(mean, kind.numpy),
            stderr=_out(torch.sqrt(var / n), kind.numpy),
            values=_out(v, kind.numpy),
            variance=float(q.sum() / (n - 1)),
            variance_stderr=float(q.std() / math.sqrt(n)),
        )


@dataclass(frozen=True)
class StatCheck:
    """The verdict of a statistical check: how many standard errors from the closed form.

    Attributes:
        name: what was compared.
        z: ``max_i |got_i − want_i| / stderr_i`` over the entries.
        sigmas: the tolerance, in standard errors.
        entries: the number of entries compared.
        worst: index of the worst entry, with ``got``, ``want`` and ``stderr`` there.
    """

    name: str
    z: float
    sigmas: float
    entries: int
    worst: tuple[int, ...]
    got: float
    want: float
    stderr: float

    @property
    def passed(self) -> bool:
        return self.z <= self.sigmas

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "✓" if self.passed else "✗"
        where = f"worst of {self.entries} entries, " if self.entries > 1 else ""
        if math.isinf(self.z):
            z = "an entry with zero standard error (exact) differs"
        else:
            z = "0" if self.z == 0 else f"{self.z:.1f}" if self.z < 1e3 else f"{self.z:.1e}"
            z += " standard errors"
        return f"{mark} {self.name}: {z} ({where}tol {self.sigmas:g})"

    __repr__ = __str__

    def message(self) -> str:
        """The failure message: the worst entry, both values and the standard error."""
        at = f" at index {self.worst}" if self.worst else ""
        return (
            f"{self.name}: {self.z:.3g} standard errors exceeds tol {self.sigmas:g}{at}: "
            f"estimate {self.got:.6g} ± {self.stderr:.3g} (one standard error), closed form "
            f"{self.want:.6g}"
        )


def _np64(a: Any, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    try:
        out = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a real number, array or tensor; got {type(a)}") from e
    return out


def _stat_check(name, got, se, want, sigmas, raises, eps) -> StatCheck:
    sigmas = check_tol(sigmas, "sigmas")
    got, se = _np64(got, "the estimate"), _np64(se, "the standard error")
    want = _np64(want, "want")
    if want.shape != got.shape:
        raise ValueError(
            f"{name}: the closed form has shape {want.shape} but the estimate has shape "
            f"{got.shape}; give want of the estimate's shape"
        )
    if not np.isfinite(want).all():
        raise ValueError(f"{name}: the closed form want holds NaN or Inf")
    d = np.abs(got - want)
    # An entry with zero spread (an exact estimate) must match to rounding.
    tiny = 16 * eps * max(float(np.abs(want).max(initial=0.0)), float(np.abs(got).max(initial=0.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, d / np.where(se > 0, se, 1.0), np.where(d > tiny, np.inf, 0.0))
    i = np.unravel_index(int(np.argmax(z)), z.shape) if z.ndim else ()
    res = StatCheck(
        name=name, z=float(z[i]), sigmas=sigmas, entries=int(max(z.size, 1)),
        worst=tuple(int(k) for k in i), got=float(got[i]), want=float(want[i]),
        stderr=float(se[i]),
    )  # fmt: skip
    if raises and not res.passed:
        raise AssertionError(res.message())
    return res


def _estimate_eps(est: Estimate) -> float:
    dt = est.values.dtype
    return float(np.finfo(dt).eps) if isinstance(dt, np.dtype) else eps_of(dt)


def check_mean(
    name: str, estimate: Estimate, want: Any, *, sigmas: float = 4.0, raises: bool = True
) -> StatCheck:
    """Check that an unbiased estimate agrees with a closed form within a few standard errors.

    Each entry must satisfy ``|mean_i − want_i| <= sigmas · stderr_i``; an entry with zero
    standard error (an exact estimate) must match to rounding. For an unbiased estimate the
    chance that one entry misses 4 standard errors is about 6e-5 (the mean is close to normal).

    Args:
        name: what is compared, for the verdict.
        estimate: an :class:`Estimate`.
        want: the closed form, of the shape of ``estimate.mean``.
        sigmas: the tolerance in standard errors.
        raises: if False, a miss returns the ``✗`` verdict instead of raising.

    Returns:
        StatCheck, printing as ``✓ name: 1.3 standard errors (worst of 6 entries, tol 4)``.

    Raises:
        AssertionError: beyond tolerance (with ``raises=True``), naming the worst entry.
        ValueError: on a closed form of another shape or holding NaN or Inf.
    """
    return _stat_check(
        name, estimate.mean, estimate.stderr, want, sigmas, raises, _estimate_eps(estimate)
    )


def check_variance(
    name: str, estimate: Estimate, want: float, *, sigmas: float = 4.0, raises: bool = True
) -> StatCheck:
    """Check the total variance of one sample against a closed form, in standard errors.

    Compares ``estimate.variance`` (the trace of the sample covariance) with ``want`` within
    ``sigmas · estimate.variance_stderr``. The sample variance is itself a mean (of squared
    deviations), so its standard error comes from the spread of those squares; for heavy-tailed
    values it needs many samples to be reliable.

    Returns:
        StatCheck (see :func:`check_mean`).

    Raises:
        AssertionError: beyond tolerance (with ``raises=True``).
        ValueError: on a non-scalar or non-finite ``want``.
    """
    return _stat_check(
        name,
        estimate.variance,
        estimate.variance_stderr,
        want,
        sigmas,
        raises,
        _estimate_eps(estimate),
    )
