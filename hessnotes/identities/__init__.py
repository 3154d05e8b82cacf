"""A verified catalogue of matrix-calculus identities: every identity is data, checked three ways.

Each :class:`Identity` holds a function written in torch, its closed-form derivative, the domain
its inputs are drawn from and the conditions under which it holds. :func:`verify` runs the checks
of :mod:`hessnotes.checks` on it, in float64, at several seeded points:

* a **gradient** ``∇f`` is compared with reverse-mode autograd (one VJP) and central
  differences, and ``<∇f, V>`` with forward-mode autograd (``torch.func.jvp``) and central
  differences;
* a **JVP** ``df[V]`` is compared with forward-mode autograd and central differences, and its
  adjoint (the gradient of ``<W, f>``, assembled by applying the closed form to basis directions)
  with reverse-mode autograd and central differences;
* a **Hessian** (matrix in ``vec`` coordinates, Hessian-vector product or bilinear form) is
  compared with ``torch.func.hessian`` (forward over reverse) and second-order central differences.

An entry may carry ``as_printed``: the form its source prints (or that the source's stated
hypothesis leads to), which is expected to **fail**, with ``erratum`` saying why. The catalogue
chapter renders :data:`CATALOGUE` with :func:`catalogue_table`, the errata with
:func:`errata_markdown` and single entries with :func:`entry_markdown` (Markdown with ``$...$``
math, so that the page shows formulas, not LaTeX source); no row is typed by hand.

Sources. ``"Cookbook (N)"`` is equation N of *The Matrix Cookbook* (Petersen and Pedersen, edition
of November 15, 2012), and a number is given only where it was read in the open Lean formalisation
``eric-wieser/lean-matrix-cookbook``, which keeps the Cookbook's numbering. Other entries are
standard results (derived in the book) and have no source number.

Chapters: "Second derivatives and Newton's method", "Critical points and second-order conditions",
"A verified catalogue".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import torch

from hessnotes.checks import CheckResult, check_gradient, check_hessian, check_jvp, general
from hessnotes.identities import (
    determinants,
    differentials,
    eigen,
    exercises,
    forms,
    inverses,
    kronecker,
    norms,
    second_order,
    symmetric,
    traces,
)
from hessnotes.identities._identity import (
    KINDS,
    Identity,
    symmetric_entries_derivative,
    unvech,
    vech,
)

__all__ = [
    "CATALOGUE",
    "KINDS",
    "Identity",
    "as_printed",
    "catalogue_table",
    "counts_by_kind",
    "entry_markdown",
    "errata",
    "errata_markdown",
    "get",
    "printed_error",
    "symmetric_entries_derivative",
    "unvech",
    "vech",
    "verify",
    "verify_all",
]

_DT = torch.float64

#: Every entry, topic by topic: one module-level tuple per topic, in the book's numbering order.
CATALOGUE: tuple[Identity, ...] = (
    *differentials.ENTRIES,
    *traces.ENTRIES,
    *determinants.ENTRIES,
    *inverses.ENTRIES,
    *norms.ENTRIES,
    *forms.ENTRIES,
    *eigen.ENTRIES,
    *second_order.ENTRIES,
    *kronecker.ENTRIES,
    *symmetric.ENTRIES,
    *exercises.ENTRIES,
)

CATALOGUE: tuple[Identity, ...]
"""The registry: every identity of the catalogue, in the order of the book's table."""


# --------------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------------
def _tol(entry: Identity, loose: bool) -> dict:
    if loose:  # measure only: every comparison passes, the errors are recorded
        return {"rtol": 1e300, "atol": 1e300, "fd_rtol": 1e300}
    tol = {"rtol": entry.rtol, "atol": entry.atol}
    if entry.fd_rtol is not None:
        tol["fd_rtol"] = entry.fd_rtol
    return tol


def _sample_output_shape(entry: Identity) -> tuple[int, ...]:
    gen = torch.Generator().manual_seed(12345)
    xs = [s.sample(gen) for s in entry.inputs]
    return tuple(torch.as_tensor(entry.f(*xs)).shape)


def _run(
    entry: Identity, derivative: Callable, *, points: int, seed: int, loose: bool
) -> tuple[CheckResult, ...]:
    e, tol = entry, _tol(entry, loose)
    common = {"points": points, "seed": seed, "name": e.name, **tol}
    k = len(e.inputs)
    if e.form == "gradient":
        r1 = check_gradient(e.f, derivative, *e.inputs, wrt=e.wrt, **common)

        def jvp(*a):
            g = torch.as_tensor(derivative(*a[:k]), dtype=_DT)
            return (g * a[k + e.wrt]).sum()

        tangents = [None if i == e.wrt else 0 for i in range(k)]
        r2 = check_jvp(e.f, jvp, *e.inputs, tangents=tangents, **common)
        return (r1, r2)
    if e.form == "jvp":
        tangents = list(e.tangents) if e.tangents is not None else [None] * k
        out = [check_jvp(e.f, derivative, *e.inputs, tangents=tangents, **common)]
        # Reverse mode: the gradient of <W, f> is the adjoint of the JVP; assemble it from the
        # closed form applied to basis directions and compare with a VJP and central differences.
        w_dom = general(*_sample_output_shape(e))

        def phi(*a):
            return (a[-1] * torch.as_tensor(e.f(*a[:-1]))).sum()

        for i in range(k):
            if isinstance(tangents[i], int | float) and tangents[i] == 0:
                continue

            def adjoint(*a, i=i):
                xs, w = a[:-1], a[-1]
                x = xs[i]
                cols = []
                for j in range(x.numel()):
                    ts = [torch.zeros_like(z) for z in xs]
                    ts[i] = torch.zeros(x.numel(), dtype=_DT)
                    ts[i][j] = 1.0
                    ts[i] = ts[i].reshape(x.shape)
                    cols.append((w * torch.as_tensor(derivative(*xs, *ts), dtype=_DT)).sum())
                return e.inputs[i].project(torch.stack(cols).reshape(x.shape))

            out.append(check_gradient(phi, adjoint, *e.inputs, w_dom, wrt=i, **common))
        return tuple(out)
    return (check_hessian(e.f, derivative, *e.inputs, form=e.form, **common),)


def verify(entry: Identity, *, points: int = 3, seed: int = 0) -> tuple[CheckResult, ...]:
    """Verify one identity three ways (reverse-mode autograd, forward-mode, central differences).

    Args:
        entry: the identity.
        points: number of seeded random points of the input domains.
        seed: seed of the generator that draws points and directions.

    Returns:
        The :class:`~hessnotes.checks.CheckResult` of every check that was run (two for a
        gradient; one plus one per varying input for a JVP; one for a Hessian).

    Raises:
        AssertionError: where the closed form disagrees with a reference beyond tolerance; the
            message names the identity, the point, the reference, the worst entry and both values.
    """
    return _run(entry, entry.derivative, points=points, seed=seed, loose=False)


def verify_all(
    catalogue: Sequence[Identity] | None = None, *, points: int = 3, seed: int = 0
) -> dict[str, tuple[CheckResult, ...]]:
    """Verify every entry; return ``{name: results}`` in catalogue order.

    Raises:
        AssertionError: at the first identity that fails.
    """
    cat = CATALOGUE if catalogue is None else catalogue
    return {e.name: verify(e, points=points, seed=seed) for e in cat}


def get(name: str) -> Identity:
    """The catalogue entry called ``name``.

    Raises:
        KeyError: if no entry has that name; the message lists close names.
    """
    for e in CATALOGUE:
        if e.name == name:
            return e
    close = [e.name for e in CATALOGUE if name.split(" ")[0].lower() in e.name.lower()][:5]
    raise KeyError(f"no identity named {name!r}; close names: {close or 'none'}")


def as_printed(entry: Identity) -> Identity:
    """The entry with its printed (failing) form in place of the corrected derivative.

    Raises:
        ValueError: if the entry has no ``as_printed`` form.
    """
    if entry.as_printed is None:
        raise ValueError(f"Identity {entry.name!r} has no as_printed form (no erratum)")
    return replace(
        entry,
        name=f"{entry.name} (as printed)",
        latex=entry.as_printed_latex or entry.latex,
        derivative=entry.as_printed,
        as_printed=None,
        as_printed_latex="",
        erratum="",
    )


def printed_error(entry: Identity, *, points: int = 3, seed: int = 0) -> float:
    """Largest relative error of the printed form against autograd.

    Raises:
        ValueError: if the entry has no printed form.
        AssertionError: if the printed form passes :func:`verify` after all (the erratum is void).
    """
    wrong = as_printed(entry)
    try:
        verify(wrong, points=points, seed=seed)
    except AssertionError:
        pass
    else:
        raise AssertionError(
            f"the printed form of {entry.name!r} passes verification; its erratum is not real"
        )
    res = _run(wrong, wrong.derivative, points=points, seed=seed, loose=True)
    return max(r.error("autograd") for r in res)


def errata(catalogue: Sequence[Identity] | None = None) -> list[Identity]:
    """The entries that carry a printed form expected to fail."""
    cat = CATALOGUE if catalogue is None else catalogue
    return [e for e in cat if e.as_printed is not None]


def counts_by_kind(catalogue: Sequence[Identity] | None = None) -> dict[str, int]:
    """Number of identities of each kind, in the order of :data:`KINDS`."""
    cat = CATALOGUE if catalogue is None else catalogue
    return {k: sum(e.kind == k for e in cat) for k in KINDS}


# --------------------------------------------------------------------------------------------------
# Tables (Markdown with $...$ math; the book renders it with MathJax)
# --------------------------------------------------------------------------------------------------
def _visible_length(latex: str) -> int:
    """Rough printed width of a LaTeX string: a macro counts as one symbol, braces as nothing."""
    return len(re.sub(r"[{}]|\\[,;!: ]", "", re.sub(r"\\[A-Za-z]+", "x", latex)))


def _top_level(latex: str, tokens: tuple[str, ...], *, parens: bool = False) -> list[int]:
    """Positions of ``tokens`` in ``latex`` outside braces (and outside parentheses if asked)."""
    depth, paren, out = 0, 0, []
    for k, ch in enumerate(latex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        paren += {"(": 1, ")": -1}.get(ch, 0)
        if (
            depth == 0
            and (not parens or paren == 0)
            and any(latex.startswith(t, k) for t in tokens)
        ):
            out.append(k)
    return out


def _display(latex: str, width: int = 28) -> str:
    """Break a long identity for a table cell (MathJax ``aligned``): after its first top-level
    ``=``, and the right side once more at the ``+`` or ``-`` nearest its middle if still long."""
    if _visible_length(latex) <= width or not _top_level(latex, ("=",)):
        return latex
    k = _top_level(latex, ("=",))[0]
    lhs, rhs = latex[:k].rstrip(), latex[k + 1 :].lstrip()
    lines = [lhs, rf"\quad = {rhs}"]
    cuts = [c for c in _top_level(rhs, (" + ", " - "), parens=True) if c > 0]
    cuts = cuts or [c for c in _top_level(rhs, (" + ", " - ")) if c > 0]
    if _visible_length(rhs) > width - 4 and cuts:
        c = min(cuts, key=lambda c: abs(_visible_length(rhs[:c]) - _visible_length(rhs[c:])))
        lines[1:] = [rf"\quad = {rhs[:c]}", rf"\qquad {rhs[c + 1 :]}"]
    return r"\begin{aligned} " + r" \\ ".join("&" + ln for ln in lines) + r" \end{aligned}"


def _cell(text: str) -> str:
    return " ".join(text.split()) if text else "—"


def catalogue_table(
    results: Mapping[str, Sequence[CheckResult]] | None = None,
    catalogue: Sequence[Identity] | None = None,
) -> str:
    """The catalogue as a Markdown table: number, identity, error, kind, conditions, source.

    The key columns come first (what holds, and how well it was checked), so that on a narrow
    screen the columns that scroll out of view are the bibliographic ones.

    Args:
        results: ``{name: results}`` from :func:`verify_all`; computed when omitted.
        catalogue: the entries (default :data:`CATALOGUE`).

    Returns:
        A Markdown table (MyST: ``$...$`` math, long identities broken with ``aligned``), one
        row per entry. The third column is the largest relative error against autograd and
        against central differences, formatted ``.1e`` and separated by ``<br>``.

    Raises:
        KeyError: if ``results`` lacks an entry of the catalogue.
        AssertionError: if an identity fails (when ``results`` is computed here).
    """
    cat = CATALOGUE if catalogue is None else catalogue
    res = verify_all(cat) if results is None else results
    rows = [
        "| # | identity | max rel. error (autograd; differences) | kind | conditions | source |",
        "|---:|---|---|---|---|---|",
    ]
    for i, e in enumerate(cat, 1):
        rs = res[e.name]
        ad = max(r.error("autograd") for r in rs)
        fd = max(r.error("central differences") for r in rs)
        rows.append(
            f"| {i} | ${_display(e.latex)}$ | {ad:.1e};<br>{fd:.1e} | {e.kind} "
            f"| {_cell(e.conditions)} | {_cell(e.source)} |"
        )
    return "\n".join(rows)


def entry_markdown(entry: Identity, number: int | None = None) -> str:
    """One entry as a small Markdown table of its fields, the identity rendered as math.

    Args:
        entry: the identity.
        number: its row in the catalogue's table, shown in the heading when given.

    Returns:
        Markdown (MyST, ``$...$`` math): a bold heading with the name, then a two-column table
        of the identity, its kind, form and topic, the input domains, the conditions and the
        source (``—`` where empty).
    """
    head = f"**No. {number}, {entry.name}**" if number is not None else f"**{entry.name}**"
    rows = [
        ("identity", f"${entry.latex}$"),
        ("kind, form, topic", f"{entry.kind}, {entry.form}, {entry.topic}"),
        ("inputs", ", ".join(str(d) for d in entry.inputs)),
        ("conditions", _cell(entry.conditions)),
        ("source", _cell(entry.source)),
    ]
    return "\n".join(
        [head, "", "| field | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    )


def errata_markdown(catalogue: Sequence[Identity] | None = None) -> str:
    """The errata as a Markdown list: per entry the printed form, its error, the fix and why.

    Every printed form is re-verified here and must fail (see :func:`printed_error`), and every
    corrected form must pass (see :func:`verify`).

    Args:
        catalogue: the entries (default :data:`CATALOGUE`); numbers refer to rows of its table.

    Returns:
        Markdown, one list item per erratum, with ``$...$`` math; the measured relative error of the
        printed form against autograd is formatted ``.1e``.

    Raises:
        AssertionError: if a printed form passes after all, or a corrected form fails.
    """
    cat = CATALOGUE if catalogue is None else catalogue
    number = {e.name: i for i, e in enumerate(cat, 1)}
    items = []
    for e in errata(cat):
        verify(e)
        err = printed_error(e)
        items.append(
            f"- **No. {number[e.name]}, {e.name}** ({_cell(e.source)}). "
            f"As printed or implied: ${e.as_printed_latex}$, which fails (relative error {err:.1e} "
            f"against autograd). Corrected, and verified: ${e.latex}$. Why: {e.erratum}"
        )
    return "\n".join(items)
