"""Verify closed-form derivatives against autograd and central finite differences.

The three checkers share one calling convention::

    check_gradient(f, grad, *inputs, wrt=0, ...)
    check_jvp(f, jvp, *inputs, tangents=None, ...)
    check_hessian(f, hess, *inputs, wrt=0, form="matrix" | "hvp" | "bilinear", ...)

Each input is a :class:`Domain` (``general(3, 2)``, ``spd(4)``, ...: redrawn at every seeded
point), a shape tuple (a general domain), or a concrete tensor or numpy array (held as given). A
concrete point for the argument that is differentiated means *check at this point*: the check
runs once, there, and its verdict says so. ``f`` and the closed form are called with torch
tensors (a numpy input is converted); the closed form may return a tensor or an array.

Each check compares the closed form with two independent references:

* **autograd** (reverse mode for gradients and Hessians, forward mode for JVPs): exact up to
  roundoff, so the tolerance is tight;
* **central finite differences**: independent of torch's derivative rules, so a wrong autograd
  rule cannot hide a wrong formula; their truncation and roundoff errors need a looser tolerance.

A comparison passes when ``max|a - b| <= atol + rtol * max|b|`` (normwise: tiny entries cannot
upset it); the reported *relative error* is ``max|a - b| / max|b|``.

**dtype follows the point.** The check runs in the dtype of the concrete differentiated input
(else of the concrete inputs, else float64); domains are sampled in float64 and cast, and other
concrete inputs are cast to it. With ``ε = torch.finfo(dtype).eps``, the machine epsilon
(2⁻⁵² ≈ 2.2e-16 for float64, 2⁻²³ ≈ 1.2e-7 for float32; the unit roundoff is ε/2), the default
tolerances are (see :func:`default_tolerances`)::

    rtol = ε^(1/2)    against autograd            1.5e-08 (float64)   3.5e-04 (float32)
    atol = ε^(3/4)    absolute floor               1.8e-12             6.4e-06
    fd_rtol = ε^(1/3) first-order differences      6.1e-06             4.9e-03
    fd_rtol = ε^(1/4) second-order differences     1.2e-04             1.9e-02

A central difference is accurate to about ε^(2/3) and a second-order one to about ε^(1/2), so
each tolerance leaves a margin of ε^(-1/3) or ε^(-1/4) for constants, yet any slip that changes
the answer by more than a few digits fails.
The closed form and autograd run in the point's dtype. The central differences of a float32 check
are taken in float64 when ``f`` runs in float64 (float32 differences are good to only about
ε^(2/3) ≈ 2e-5), and in float32 otherwise; the roundoff ``ε|f|/h`` of the evaluations is added to
their absolute tolerance, and a difference that misses is retaken with Richardson extrapolation
(truncation O(h⁴)) before the check fails.

**Fast at reader sizes.** Autograd gives the whole gradient in one reverse pass. Differences are
taken along every entry for inputs of at most 100 entries, and otherwise along 20 seeded random
directions (each entry moved by about ``h``); Hessians are formed in full up to 100 entries and
probed with Hessian-vector products above.

**Refused**, each with a message naming the argument (by the parameter name of the reader's
function, e.g. ``W``, else ``the second input``; never a number counted from zero) and the fix:
``points < 1``, an empty differentiated input, a closed form returning ``None`` (``TypeError``),
inputs that are not a Domain, shape or array; the library's dtype policy
(:func:`hessnotes._linalg.check_float_dtype`: bool, integer, float16, bfloat16 and complex points
are a ``TypeError``, never cast silently; float16 differences could not see a 2 % error); NaN or
Inf in a point or a tangent (``ValueError`` naming the first bad entry); inputs on several devices;
and a check whose arrays would exceed :data:`hessnotes._linalg.MAX_DENSE_BYTES`, before anything is
allocated. **Blamed correctly**: ``f`` returning NaN/Inf at a finite point, a non-tensor, a
detached result or the wrong shape raises ``ValueError`` or ``TypeError`` naming ``f``. A kink
of ``f`` at the point (one-sided differences that disagree alike at steps h/2, h and 2h:
``|x|`` at 0, a double eigenvalue) fails the check against central differences with the
diagnosis "f is not differentiable here" (:func:`hessnotes.checks.fd.one_sided_kink`): there is no
derivative to check, whatever the closed form. Otherwise only a disagreement of the closed form
is an ``AssertionError``; a shape error raised inside the closed form (torch's "mat1 and mat2
shapes cannot be multiplied") is one too, reported with the reader's own line and the shapes in
numpy words.

**Diagnosis.** When a closed form fails, the usual slips are tested against the reference and
each is reported with its own computed error: the transpose, a wrong sign, a factor (2, ½ or
fitted), the symmetric part only, a non-symmetric answer where a symmetric one is meant, the
entrywise derivative of a symmetric matrix, a constant captured by the closed form or a fixed
input used transposed (tested first), a formula that holds only for symmetric inputs, a shape
that is the transpose of the input's and, for Hessians, the row-major ``vec`` and a bilinear form
``B(H, K)`` that is not symmetric in (H, K). A scalar closed form is diagnosed across at least
three points: a factor or a constant term only if it is the same at every point (one number at
one point fits any factor, so no factor is claimed there).

With ``raises=False`` a failed check returns its :class:`CheckResult` (printing ``✗`` with the
diagnosis) instead of raising; :func:`attempt` wraps that for a reader's exercise cell.

**The package.** One module per part of a check: :mod:`~hessnotes.checks.domains` (where points
are drawn), ``_inputs`` (parsing, dtype, tolerances, blame), ``_loop`` (the one per-point loop:
draw, reference, closed form, compare, differences, compare), ``_report`` (results and their
printing), ``_diagnosis`` (the slips, by family), ``_reader`` (the reader's terms); the checkers
:mod:`~hessnotes.checks.gradient`, :mod:`~hessnotes.checks.jvp`, :mod:`~hessnotes.checks.hessian`
and :mod:`~hessnotes.checks.formula` supply their stages to the loop; :mod:`~hessnotes.checks.fd`
takes the differences, :mod:`~hessnotes.checks.close` the plain printing comparisons,
:mod:`~hessnotes.checks.statistical` the checks of Monte Carlo estimates, and
:mod:`~hessnotes.checks.exercise` (``attempt``) sits on top, imported by none of them.

Chapters: every chapter of the book.
"""

from hessnotes.checks._inputs import default_tolerances
from hessnotes.checks._report import CheckResult, Comparison, Finding
from hessnotes.checks.close import Raises, Verdict, check_close, check_error, check_raises
from hessnotes.checks.domains import (
    Domain,
    distinct_singular_values,
    full_rank,
    general,
    invertible,
    orthogonal,
    positive,
    simple_spectrum,
    spd,
    sym,
    symmetric,
)
from hessnotes.checks.exercise import attempt
from hessnotes.checks.gradient import check_gradient
from hessnotes.checks.hessian import check_hessian
from hessnotes.checks.jvp import check_jvp
from hessnotes.checks.statistical import Estimate, StatCheck, check_mean, check_variance

__all__ = [
    "CheckResult",
    "Comparison",
    "Domain",
    "Estimate",
    "Finding",
    "Raises",
    "StatCheck",
    "Verdict",
    "attempt",
    "check_close",
    "check_error",
    "check_gradient",
    "check_hessian",
    "check_jvp",
    "check_mean",
    "check_raises",
    "check_variance",
    "default_tolerances",
    "distinct_singular_values",
    "full_rank",
    "general",
    "invertible",
    "orthogonal",
    "positive",
    "simple_spectrum",
    "spd",
    "sym",
    "symmetric",
]
