"""Tests for hessnotes.identities: every catalogue entry verifies, broken entries and printed forms
fail, the tables are computed from the registry, and the vech coordinates behave."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import torch
from torch.func import jacrev

from hessnotes.checks import distinct_singular_values, general, simple_spectrum, sym
from hessnotes.identities import (
    CATALOGUE,
    KINDS,
    Identity,
    as_printed,
    catalogue_table,
    counts_by_kind,
    entry_markdown,
    errata,
    errata_markdown,
    get,
    printed_error,
    symmetric_entries_derivative,
    unvech,
    vech,
    verify,
)

BY_NAME = {e.name: e for e in CATALOGUE}
DT = torch.float64


# --------------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", CATALOGUE, ids=[e.name for e in CATALOGUE])
def test_entry_verifies(entry):
    results = verify(entry)
    expected = {"gradient": 2, "matrix": 1, "hvp": 1, "bilinear": 1}.get(entry.form)
    if expected is not None:
        assert len(results) == expected, f"{entry.name}: {len(results)} checks, want {expected}"
    else:  # JVP: forward check plus one reverse check per varying input
        assert len(results) >= 2, f"{entry.name}: JVP verified without its reverse-mode check"
    for r in results:
        assert r.passed, f"{entry.name}: {r}"
        assert r.n_points == 3, f"{entry.name}: {r.n_points} points, want 3"
        for ref in ("autograd", "central differences"):
            assert r.error(ref) <= r.tol(ref), f"{entry.name}: {ref} error above tolerance"


def test_registry_size_names_kinds():
    assert len(CATALOGUE) >= 80, f"only {len(CATALOGUE)} identities; the issue asks for 80"
    names = [e.name for e in CATALOGUE]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate names {dup}"
    for e in CATALOGUE:
        assert e.latex.strip(), f"{e.name}: empty LaTeX"
        assert e.kind in KINDS, f"{e.name}: kind {e.kind!r}"
        assert e.conditions.strip(), f"{e.name}: no conditions"
        assert e.latex.count("{") == e.latex.count("}"), f"{e.name}: unbalanced braces in LaTeX"
    counts = counts_by_kind()
    assert sum(counts.values()) == len(CATALOGUE)
    assert all(counts[k] >= 10 for k in KINDS), f"thin kind in {counts}"


def test_get():
    assert get("tr(AXB)") is BY_NAME["tr(AXB)"]
    with pytest.raises(KeyError, match="close names"):
        get("tr(AXC)")


def test_topics_cover_the_issue():
    topics = {e.topic for e in CATALOGUE}
    for t in (
        "traces",
        "determinants",
        "inverses",
        "norms",
        "quadratic and bilinear forms",
        "eigenvalues and eigenvectors",
        "second order",
        "Kronecker and vec",
        "symmetric matrices",
        "notebook exercises",
    ):
        assert t in topics, f"no identity on {t}"
    done = {re.match(r"Ex\. (\d)", e.name).group(1) for e in CATALOGUE if e.name.startswith("Ex.")}
    assert done == set("1234567"), f"notebook exercises covered: {sorted(done)}"
    for name in ("d² log det X", "∇² ‖A − xxᵀ‖_F² (A sym.)", "dv_k", "dλ_k", "vec(AXB)"):
        assert name in BY_NAME, f"missing {name}"


def test_cookbook_numbers_only_where_read():
    # Numbers were read in the Lean formalisation for the derivative rules (36)-(46) and the
    # Kronecker/vec section (510)-(524); nothing else may carry a Cookbook number.
    allowed = {36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 510, 512, 515, 516, 520, 521, 524}
    for e in CATALOGUE:
        for n in re.findall(r"\((\d+)\)", e.source):
            assert int(n) in allowed, f"{e.name}: Cookbook number ({n}) was not read in a source"


# --------------------------------------------------------------------------------------------------
# Broken entries must fail
# --------------------------------------------------------------------------------------------------
def test_dropped_transpose_fails():
    good = BY_NAME["tr(X²)"]
    verify(good)
    broken = replace(good, name="tr(X²) broken", derivative=lambda X: 2 * X)  # should be 2Xᵀ
    with pytest.raises(AssertionError, match=r"tr\(X²\) broken, point 1 of 3, vs autograd"):
        verify(broken)


def test_dropped_transpose_in_rectangular_gradient_fails():
    good = BY_NAME["tr(XᵀAX)"]  # ∇ = (A + Aᵀ)X for a general A, X 3×2
    broken = replace(good, derivative=lambda X, A: 2 * A @ X)  # Aᵀ dropped
    with pytest.raises(AssertionError, match="vs autograd"):
        verify(broken)
    # A transpose dropped in a rectangular case is caught by the shape check.
    rect = BY_NAME["tr(AX)"]  # ∇ = Aᵀ with A 2×3, X 3×2
    with pytest.raises(AssertionError, match="shape"):
        verify(replace(rect, derivative=lambda X, A: A))


def test_broken_jvp_fails_forward_and_reverse():
    good = BY_NAME["d(X⁻¹)"]
    inv = torch.linalg.inv
    broken = replace(good, derivative=lambda X, dX: -inv(X) @ dX.T @ inv(X))
    with pytest.raises(AssertionError, match="JVP"):
        verify(broken)
    # The reverse-mode check alone also catches it: give the forward check a huge tolerance.
    from hessnotes import identities

    results = identities._run(broken, broken.derivative, points=1, seed=0, loose=True)
    _, reverse = results  # the forward check, then the adjoint check against jacrev
    assert reverse.error("autograd") > 1e-2, "the reverse-mode (adjoint) check missed it"


def test_broken_hessian_fails():
    good = BY_NAME["∇² tr(XᵀAXB) in vec X"]

    def kron(P, Q):
        return torch.kron(P.contiguous(), Q.contiguous())

    # Correct: Bᵀ ⊗ A + B ⊗ Aᵀ. Broken: the transposes moved to the wrong factors.
    broken = replace(good, derivative=lambda X, A, B: kron(B, A) + kron(B.T, A.T))
    with pytest.raises(AssertionError, match="Hessian"):
        verify(broken)


def test_wrong_eigenvector_formula_fails():
    good = BY_NAME["dv_k"]
    broken = replace(
        good, derivative=lambda A, dA: good.derivative(A, dA) * 2.0
    )  # wrong by a factor
    with pytest.raises(AssertionError):
        verify(broken)


# --------------------------------------------------------------------------------------------------
# Errata: printed forms must fail
# --------------------------------------------------------------------------------------------------
ERRATA = errata()


def test_errata_cover_structured_and_notebook():
    names = {e.name for e in ERRATA}
    assert any("sym." in n or "SPD" in n for n in names), names
    assert "Ex. 1: ‖A − xxᵀ‖_F²" in names
    for e in ERRATA:
        assert e.as_printed_latex.strip() and e.erratum.strip(), e.name


@pytest.mark.parametrize("entry", ERRATA, ids=[e.name for e in ERRATA])
def test_printed_form_fails(entry):
    with pytest.raises(AssertionError):
        verify(as_printed(entry))
    err = printed_error(entry)
    assert err > 1e-2, f"{entry.name}: the printed form is off by only {err:.1e}"


def test_printed_error_refuses_a_void_erratum():
    e = BY_NAME["tr(X²)"]
    void = replace(e, as_printed=e.derivative, as_printed_latex="2X^\\top", erratum="none")
    with pytest.raises(AssertionError, match="erratum is not real"):
        printed_error(void)
    with pytest.raises(ValueError, match="no as_printed"):
        as_printed(e)


# --------------------------------------------------------------------------------------------------
# Structured matrices: vech coordinates versus the Frobenius gradient
# --------------------------------------------------------------------------------------------------
def test_vech_roundtrip_and_order():
    X = torch.arange(9, dtype=DT).reshape(3, 3)
    S = X + X.T
    assert vech(S).tolist() == [S[0, 0], S[1, 0], S[2, 0], S[1, 1], S[2, 1], S[2, 2]]
    th = torch.randn(10, generator=torch.Generator().manual_seed(1), dtype=DT)
    M = unvech(th)
    assert M.shape == (4, 4) and torch.equal(M, M.T)
    torch.testing.assert_close(vech(M), th, rtol=0, atol=0)
    with pytest.raises(ValueError, match="n\\(n\\+1\\)/2"):
        unvech(torch.zeros(5, dtype=DT))
    with pytest.raises(ValueError, match="square"):
        vech(torch.zeros(3, 2, dtype=DT))


def test_cookbook_rule_is_the_vech_derivative_and_sym_is_the_gradient():
    gen = torch.Generator().manual_seed(3)
    A = torch.randn(4, 4, generator=gen, dtype=DT)
    th = torch.randn(10, generator=gen, dtype=DT)

    def f(X):  # a nonlinear function of a general matrix
        return torch.trace(A @ X @ X) + torch.sin(X).sum()

    X = unvech(th)
    G = jacrev(f)(X)  # unconstrained gradient
    d_theta = jacrev(lambda t: f(unvech(t)))(th)  # independent: autograd over the vech coordinates
    torch.testing.assert_close(vech(symmetric_entries_derivative(G)), d_theta, rtol=1e-12, atol=0)
    # The Frobenius gradient on Sym is sym(G): <sym G, V> = df[V] for symmetric V; the Cookbook rule
    # is not.
    V = sym(torch.randn(4, 4, generator=gen, dtype=DT))
    df = torch.func.jvp(f, (X,), (V,))[1]
    torch.testing.assert_close((sym(G) * V).sum(), df, rtol=1e-12, atol=1e-12)
    wrong = (symmetric_entries_derivative(G) * V).sum()
    assert abs(wrong - df) > 1e-3, "the vech derivative should not act as the Frobenius gradient"


# --------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------
def test_catalogue_table_rows_from_registry():
    cat = CATALOGUE[:6]
    results = {e.name: verify(e) for e in cat}
    md = catalogue_table(results, cat)
    lines = md.splitlines()
    assert len(lines) == 2 + len(cat)
    assert lines[0].count("|") == 7, lines[0]
    for i, (e, line) in enumerate(zip(cat, lines[2:], strict=True), 1):
        assert line.startswith(f"| {i} |"), line
        assert e.latex[-12:] in line and e.kind in line  # long identities are broken at "="
        assert line.count("|") == 7, f"row {i} breaks the table: {line}"
        assert re.search(r"\$ \| \d\.\de[+-]\d\d;<br>\d\.\de[+-]\d\d \| ", line), line
        assert line.endswith(f"| {' '.join(e.source.split()) or '—'} |"), line
    with pytest.raises(KeyError):
        catalogue_table({}, cat)


def test_errata_markdown():
    md = errata_markdown()
    items = md.splitlines()
    assert len(items) == len(ERRATA)
    number = {e.name: i for i, e in enumerate(CATALOGUE, 1)}
    for e, item in zip(ERRATA, items, strict=True):
        assert item.startswith(f"- **No. {number[e.name]}, {e.name}**"), item
        assert f"${e.as_printed_latex}$" in item and f"${e.latex}$" in item
        assert e.erratum in item
        assert re.search(r"relative error \d\.\de[+-]\d\d against autograd", item), item


# --------------------------------------------------------------------------------------------------
# The Identity type and the new domains
# --------------------------------------------------------------------------------------------------
def test_identity_rejects_bad_entries():
    e = CATALOGUE[0]
    with pytest.raises(ValueError, match="latex is empty"):
        replace(e, latex=" ")
    with pytest.raises(ValueError, match="kind"):
        replace(e, kind="gradients")
    with pytest.raises(ValueError, match=r"contains '\|'"):
        replace(e, latex=r"|x|")
    with pytest.raises(ValueError, match="go together"):
        replace(e, as_printed=e.derivative)
    with pytest.raises(ValueError, match="wrt"):
        replace(e, wrt=5)
    with pytest.raises(TypeError, match="Domain"):
        Identity("x", "x", "gradient", "t", e.f, e.derivative, ((3, 3),), "c")


def test_simple_spectrum_and_distinct_singular_values_domains():
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        A = simple_spectrum(4).sample(gen)
        torch.testing.assert_close(A, A.T, rtol=0, atol=1e-15)
        gaps = torch.diff(torch.linalg.eigvalsh(A))
        assert gaps.min() >= 0.5 - 1e-12, f"eigenvalue gap {gaps.min():.3g} < 0.5"
        X = distinct_singular_values(4, 3).sample(gen)
        s = torch.linalg.svdvals(X)
        assert X.shape == (4, 3) and s.min() >= 0.75 - 1e-12
        assert (-torch.diff(s)).min() >= 0.5 - 1e-12
    d = simple_spectrum(3)
    assert d.tangent == "symmetric" and str(d) == "simple_spectrum 3×3, symmetric tangents"
    v = d.direction(gen)
    torch.testing.assert_close(v, v.T, rtol=0, atol=0)
    assert str(general(3, 2)) == "general 3×2"


def test_cookbook_524_as_printed_is_the_form_with_b_transposed():
    # vec(X)ᵀ(B ⊗ caᵀ)vec(X) = aᵀXBᵀXᵀc (the erratum), not aᵀXBXᵀc, for a non-symmetric B.
    gen = torch.Generator().manual_seed(3)
    X, B = torch.randn(4, 3, generator=gen, dtype=DT), torch.randn(3, 3, generator=gen, dtype=DT)
    a, c = torch.randn(4, generator=gen, dtype=DT), torch.randn(4, generator=gen, dtype=DT)
    vx = X.T.reshape(-1)
    printed = vx @ torch.kron(B, torch.outer(c, a)) @ vx
    corrected = vx @ torch.kron(B.T.contiguous(), torch.outer(c, a)) @ vx
    torch.testing.assert_close(printed, a @ X @ B.T @ X.T @ c, rtol=1e-12, atol=0)
    torch.testing.assert_close(corrected, a @ X @ B @ X.T @ c, rtol=1e-12, atol=0)
    assert abs(printed - corrected) > 0.1 * abs(corrected)
    assert "aᵀXBXᵀc in vec form" in {e.name for e in ERRATA}


def test_notebook_exercise_4_broadcast_is_the_matrix_product():
    # torch.diag(X) is the vector of x_jj; X * d scales column j by x_jj: X Diag(X), exactly.
    X = torch.randn(4, 4, generator=torch.Generator().manual_seed(4), dtype=DT)
    d = torch.diag(X)
    assert torch.equal(X * d, X @ torch.diag(d))
    assert not torch.allclose(X * d, torch.diag(d) @ X)


def test_entry_markdown_renders_the_identity_as_math_and_the_text_without_jargon():
    e = get("tr(XᵀAXB)")
    md = entry_markdown(e, 17)
    assert md.startswith("**No. 17, tr(XᵀAXB)**")
    assert f"| identity | ${e.latex}$ |" in md and "| source | — |" in md
    assert entry_markdown(e).startswith("**tr(XᵀAXB)**")
    # what a reader sees of the registry: no "seed", and ⊙ (not ∘) for the entrywise product
    for entry in CATALOGUE:
        text = " ".join((entry.name, entry.latex, entry.conditions, entry.source, entry.erratum))
        assert "seed" not in text.lower(), entry.name
        assert "∘" not in text and "\\circ " not in entry.latex, entry.name
