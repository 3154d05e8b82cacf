"""Tests for hessnotes.curvature against dense references (torch.func.hessian, numpy eigvalsh)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import hessian, jacfwd, jacrev

from hessnotes.curvature import (
    CurvatureOperator,
    eigenvalue_density,
    gauss_newton,
    gauss_newton_split,
    hvp,
    hvp_cost,
    lanczos,
    spectral_density,
)
from hessnotes.lowrank import LowRankSymmetric
from hessnotes.nets import random_mlp

F64 = torch.float64


def quartic(D: int, seed: int = 0):
    """A non-quadratic scalar function with a dense, indefinite Hessian."""
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(5, D, generator=gen, dtype=F64)
    A = torch.randn(D, D, generator=gen, dtype=F64)
    A = A + A.T

    def f(x):
        return torch.tanh(W @ x).sum() + 0.25 * (x @ A @ x) ** 2 / D + x.sin().prod()

    return f


def spd_spectrum(eigs, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigs), len(eigs))))
    return (Q * np.asarray(eigs)) @ Q.T


def separated(D=60, seed=0):
    """Top five eigenvalues 10, 8, 6, 4, 2 well separated from a bulk in [-1, 1]."""
    rng = np.random.default_rng(seed)
    eigs = np.concatenate([[10.0, 8.0, 6.0, 4.0, 2.0], rng.uniform(-1, 1, D - 5)])
    return spd_spectrum(eigs, seed), np.sort(eigs)[::-1]


# ---------------------------------------------------------------------------------- hvp
@pytest.mark.parametrize("D", [3, 7])
def test_hvp_matches_torch_func_hessian(D):
    f = quartic(D, seed=D)
    x = torch.linspace(-0.7, 0.9, D, dtype=F64)
    H_ref = hessian(f)(x)
    H = hvp(f, x)
    assert H.shape == (D, D) and H.dtype == F64 and H.products == 0
    gen = torch.Generator().manual_seed(1)
    v = torch.randn(D, generator=gen, dtype=F64)
    V = torch.randn(D, 4, generator=gen, dtype=F64)
    assert_close(H @ v, H_ref @ v, rtol=1e-12, what="H @ v")
    assert_close(H @ V, H_ref @ V, rtol=1e-12, what="H @ V (block of 4)")
    assert H.products == 5
    assert_close(H.dense(), H_ref, rtol=1e-12, what="dense()")
    assert H.products == 5 + D
    H.reset()
    assert H.products == 0


@pytest.mark.parametrize("mode", ["forward-over-reverse", "reverse-over-reverse"])
def test_hvp_modes_agree_with_the_dense_hessian(mode):
    f = random_mlp(8, (10,), activation="softplus", seed=4)
    x = torch.linspace(-1, 2, 8, dtype=F64)
    H = hvp(f, x, mode=mode)
    V = torch.randn(8, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert_close(H @ V, hessian(f)(x) @ V, rtol=1e-12, what=f"{mode} block")
    assert_close(H @ V[:, 0], hessian(f)(x) @ V[:, 0], rtol=1e-12, what=f"{mode} vector")
    assert 1.5 <= hvp_cost(f, x, mode=mode).hvp_in_gradients <= 4.5
    with pytest.raises(ValueError, match="mode"):
        hvp(f, x, mode="reverse")
    with pytest.raises(ValueError, match="mode"):
        hvp_cost(f, x, mode="reverse")


def test_hvp_on_a_network_and_numpy_vectors():
    f = random_mlp(9, (12, 7), seed=2)
    x = torch.linspace(-1, 1, 9, dtype=F64)
    H, H_ref = hvp(f, x), hessian(f)(x)
    V = np.random.default_rng(0).standard_normal((9, 3))
    out = H @ V
    assert isinstance(out, np.ndarray) and out.shape == (9, 3)
    assert_close(out, H_ref.numpy() @ V, rtol=1e-12, what="numpy block")
    assert_close(V.T @ H, V.T @ H_ref.numpy(), rtol=1e-12, what="V^T @ H")
    assert "Hessian" in repr(H) and "D=9" in repr(H)


def test_hvp_float32_and_chunks():
    f = quartic(6, seed=1)
    x = torch.linspace(-0.5, 0.5, 6, dtype=torch.float32)
    H = hvp(f, x.double())
    H32 = hvp(lambda t: f(t.double()).float(), x)
    Hc = hvp(f, x.double(), chunk_size=2)
    V = torch.eye(6, dtype=F64)
    assert (H32 @ V.float()).dtype == torch.float32
    assert_close(H32 @ V.float(), H @ V, rtol=1e-5, what="float32 products")
    assert_close(Hc @ V, H @ V, rtol=1e-14, what="chunked vmap")


def test_hvp_bad_input():
    x = torch.zeros(4, dtype=F64)
    with pytest.raises(ValueError, match=r"scalar.*shape \(4,\)"):
        hvp(lambda t: t**2, x)
    with pytest.raises(ValueError, match=r"shape \(2, 2\); pass a 1-D point"):
        hvp(lambda t: (t**2).sum(), torch.zeros(2, 2, dtype=F64))
    with pytest.raises(TypeError, match=r"numpy array.*torch\.from_numpy"):
        hvp(lambda t: (t**2).sum(), np.zeros(3))
    with pytest.raises(TypeError, match="float32 or float64 only"):
        hvp(lambda t: (t**2).sum(), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch tensor"):
        hvp(lambda t: float(t.sum()), x)
    with pytest.raises(ValueError, match="empty"):
        hvp(lambda t: t.sum(), torch.zeros(0, dtype=F64))
    H = hvp(lambda t: (t**3).sum(), x)
    with pytest.raises(ValueError, match=r"shape \(4,\) or \(4, k\).*got \(5,\)"):
        H @ torch.zeros(5, dtype=F64)
    with pytest.raises(TypeError, match="float32"):
        H @ torch.zeros(4, dtype=torch.float32)
    big = CurvatureOperator(lambda V: V, 20000, F64, torch.device("cpu"), "identity")
    with pytest.raises(ValueError, match=r"dense\(\) of .*3\.2 GB.*MAX_DENSE_BYTES.*force=True"):
        big.dense()


def test_hvp_cost_counts_flops():
    f = random_mlp(20, (32, 32), seed=0)
    cost = hvp_cost(f, torch.ones(20, dtype=F64))
    assert cost.function > 0 and cost.gradient > cost.function
    assert 1.5 <= cost.gradient_in_functions <= 3.0
    assert 1.5 <= cost.hvp_in_gradients <= 4.0
    with pytest.raises(ValueError, match="no matrix products"):
        hvp_cost(lambda t: (t**2).sum(), torch.ones(3, dtype=F64))


# ------------------------------------------------------------------------- Gauss–Newton
def small_net(D=5, m=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    W1 = torch.randn(6, D, generator=gen, dtype=F64)
    W2 = torch.randn(m, 6, generator=gen, dtype=F64)
    label = torch.tensor(1)

    def net(x):
        return W2 @ torch.tanh(W1 @ x)

    def loss(z):
        return torch.nn.functional.cross_entropy(z[None], label[None])

    return net, loss


def test_gauss_newton_split_against_dense_references():
    net, loss = small_net()
    x = torch.linspace(-0.4, 0.6, 5, dtype=F64)
    z = net(x)
    J = jacrev(net)(x)  # (3, 5)
    Hl = hessian(loss)(z)  # (3, 3)
    dl = torch.func.grad(loss)(z)
    d2g = jacfwd(jacrev(net))(x)  # (3, 5, 5): Hessian of each output
    G_ref = J.T @ Hl @ J
    R_ref = torch.einsum("k,kij->ij", dl, d2g)
    H_ref = hessian(lambda t: loss(net(t)))(x)
    split = gauss_newton_split(net, loss, x)
    I5 = torch.eye(5, dtype=F64)
    assert_close(split.gauss_newton @ I5, G_ref, rtol=1e-12, what="J^T H_l J")
    assert_close(split.residual @ I5, R_ref, rtol=1e-11, what="sum_k dl/dg_k grad^2 g_k")
    assert_close(split.hessian @ I5, H_ref, rtol=1e-12, what="H")
    assert_close(G_ref + R_ref, H_ref, rtol=1e-12, what="the split itself")
    assert float(torch.linalg.eigvalsh(G_ref).min()) > -1e-12  # convex loss: G is PSD
    G = gauss_newton(net, loss, x)
    assert_close(G @ I5, G_ref, rtol=1e-12, what="gauss_newton alone")
    assert G.products == 5 and split.residual.products == 5


def test_gauss_newton_bad_input():
    net, loss = small_net()
    x = torch.zeros(5, dtype=F64)
    with pytest.raises(ValueError, match="1-D tensor of outputs"):
        gauss_newton(lambda t: t.sum(), loss, x)
    with pytest.raises(ValueError, match=r"loss\(x\) must be a scalar"):
        gauss_newton(net, lambda z: z * 2, x)
    with pytest.raises(ValueError, match="1-D point"):
        gauss_newton_split(net, loss, torch.zeros(5, 1, dtype=F64))


# ------------------------------------------------------------------------------ Lanczos
def kinds_of(A: np.ndarray):
    """The same symmetric matrix as numpy, torch, a LowRankSymmetric and an hvp operator."""
    w, V = np.linalg.eigh(A)
    At = torch.from_numpy(A)
    return {
        "numpy": A,
        "torch": At,
        "lowrank-numpy": LowRankSymmetric(V, w),
        "lowrank-torch": LowRankSymmetric(torch.from_numpy(V), torch.from_numpy(w)),
        "hvp": hvp(lambda x: 0.5 * x @ At @ x, torch.zeros(A.shape[0], dtype=F64)),
    }


@pytest.mark.parametrize("kind", ["numpy", "torch", "lowrank-numpy", "lowrank-torch", "hvp"])
def test_lanczos_top_eigenvalues(kind):
    A, eigs = separated()
    op = kinds_of(A)[kind]
    res = lanczos(op, 30, seed=3)
    vals = np.asarray(res.values)
    assert vals.shape == (30,) and np.all(np.diff(vals) <= 0)
    assert_close(vals[:5], eigs[:5], rtol=1e-8, what=f"top 5 Ritz values ({kind})")
    is_np = kind in ("numpy", "lowrank-numpy")
    assert isinstance(res.values, np.ndarray) == is_np
    assert isinstance(res.vectors, np.ndarray) == is_np
    Y = np.asarray(res.vectors)
    assert_close(Y.T @ Y, np.eye(30), rtol=0, atol=1e-12, what="Ritz vectors orthonormal")
    assert_close(
        np.linalg.norm(A @ Y - Y * vals, axis=0),
        np.asarray(res.residuals),
        rtol=1e-6,
        atol=1e-12,
        what="residual norms ||A y - theta y||",
    )
    assert res.breakdown is None and res.steps == 30
    assert abs(res.weights.sum() - 1) < 1e-12 and np.all(res.weights >= 0)
    q1 = np.asarray(res.basis)[:, 0]  # Gauss quadrature: sum_i w_i theta_i = q1^T A q1
    assert abs(res.weights @ vals - q1 @ A @ q1) < 1e-12 * eigs[0]
    if kind == "hvp":
        assert op.products == 30


def test_lanczos_relation_and_tridiagonal():
    A, _ = separated(D=40, seed=1)
    res = lanczos(A, 12, seed=0)
    Q, T = res.basis, res.tridiagonal
    assert_close(Q.T @ Q, np.eye(12), rtol=0, atol=1e-13, what="Q^T Q = I")
    assert_close(Q.T @ A @ Q, T, rtol=1e-12, what="T = Q^T A Q")
    R = A @ Q - Q @ T  # = beta_k q_{k+1} e_k^T: only the last column is nonzero
    assert_close(R[:, :-1], np.zeros((40, 11)), rtol=0, atol=1e-12, what="A Q - Q T, first k-1")
    assert abs(np.linalg.norm(R[:, -1]) - res.beta[-1]) < 1e-12
    full = lanczos(A, 40, seed=0)
    assert_close(full.values, np.sort(np.linalg.eigvalsh(A))[::-1], rtol=1e-12, what="k = D")


def test_ritz_of_a_prefix_equals_a_shorter_run():
    A, _ = separated(D=40, seed=3)
    long = lanczos(A, 25, seed=2)
    for j in (1, 7, 25):
        short = lanczos(A, j, seed=2)
        vals, w = long.ritz(j)
        assert_close(vals, short.values, rtol=1e-12, what=f"Ritz values of the first {j} steps")
        assert_close(w, short.weights, rtol=1e-10, atol=1e-14, what=f"weights, {j} steps")
    with pytest.raises(ValueError, match="j=0"):
        long.ritz(0)


def test_lanczos_is_seeded_and_accepts_a_start_vector():
    A, _ = separated(D=20)
    a, b = lanczos(A, 6, seed=5), lanczos(A, 6, seed=5)
    assert np.array_equal(a.values, b.values)
    assert not np.array_equal(a.values, lanczos(A, 6, seed=6).values)
    e = np.zeros(20)
    e[3] = 2.0
    s = lanczos(A, 6, start=e)
    assert_close(s.basis[:, 0], e / 2, rtol=1e-15, what="q_1 = start / ||start||")


@given(
    D=st.integers(2, 12),
    k=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=40, deadline=None)
def test_ritz_values_lie_within_the_spectrum(D, k, seed):
    k = min(k, D)
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((D, D))
    A = B + B.T
    ev = np.linalg.eigvalsh(A)
    res = lanczos(A, k, seed=seed, restart=True)
    scale = np.abs(ev).max()
    assert np.all(res.values <= ev[-1] + 1e-10 * scale)
    assert np.all(res.values >= ev[0] - 1e-10 * scale)
    assert np.all(np.isfinite(res.values)) and res.steps == k


def test_lanczos_breakdown_is_reported_not_nan():
    rng = np.random.default_rng(0)
    V, _ = np.linalg.qr(rng.standard_normal((20, 3)))
    lam = np.array([3.0, -1.0, 2.0])
    L = LowRankSymmetric(V, lam)  # rank 3: the Krylov space of a random vector has dimension 4
    res = lanczos(L, 10)
    assert res.breakdown == 4 and res.steps == 4 and np.all(np.isfinite(res.values))
    assert_close(res.values, [3.0, 2.0, 0.0, -1.0], rtol=1e-12, what="exact after breakdown")
    more = lanczos(L, 10, restart=True)
    assert more.breakdown == 4 and more.steps == 10 and np.all(np.isfinite(more.values))
    assert_close(
        np.asarray(more.values)[[0, 1, -1]], [3.0, 2.0, -1.0], rtol=1e-12, what="restarted"
    )
    Q = more.basis
    assert_close(Q.T @ Q, np.eye(10), rtol=0, atol=1e-12, what="restarted basis orthonormal")
    ident = lanczos(np.eye(5), 3)
    assert ident.breakdown == 1 and ident.values == pytest.approx([1.0], rel=1e-14)
    full = lanczos(2.0 * np.eye(5), 5, restart=True)
    assert_close(full.values, np.full(5, 2.0), rtol=1e-14, what="A = 2I with restarts")


def test_lanczos_bad_input():
    A, _ = separated(D=10)
    with pytest.raises(ValueError, match=r"k=0.*1\.\.10"):
        lanczos(A, 0)
    with pytest.raises(ValueError, match=r"k=11.*1\.\.10"):
        lanczos(A, 11)
    with pytest.raises(TypeError, match="integer"):
        lanczos(A, 2.5)
    with pytest.raises(ValueError, match="square"):
        lanczos(np.zeros((3, 4)), 2)
    with pytest.raises(TypeError, match=r"\.shape"):
        lanczos([[1.0, 0.0], [0.0, 1.0]], 1)
    with pytest.raises(TypeError, match="float32 or float64"):
        lanczos(np.eye(3, dtype=np.int64), 2)
    with pytest.raises(ValueError, match="start has shape"):
        lanczos(A, 2, start=np.ones(3))
    with pytest.raises(ValueError, match="nonzero"):
        lanczos(A, 2, start=np.zeros(10))
    N = np.triu(np.random.default_rng(0).standard_normal((10, 10)))
    with pytest.raises(ValueError, match=r"not symmetric.*\(A \+ A\.T\) / 2"):
        lanczos(N, 5)
    # A nonsymmetric hvp-like operator (a function that is not a gradient) is caught as well.
    M = torch.from_numpy(N)
    op = CurvatureOperator(lambda V: M @ V, 10, F64, torch.device("cpu"), "not a Hessian")
    with pytest.raises(ValueError, match="not symmetric"):
        lanczos(op, 3)
    bad = CurvatureOperator(lambda V: V * float("nan"), 4, F64, torch.device("cpu"), "nan")
    with pytest.raises(ValueError, match="NaN"):
        lanczos(bad, 2)


# --------------------------------------------------------------------- spectral density
def trapezoid(y, x):
    y, x = np.asarray(y), np.asarray(x)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)


@pytest.mark.parametrize("kind", ["numpy", "torch", "lowrank-numpy", "hvp"])
def test_slq_mass_mean_and_histogram(kind):
    A, eigs = separated(D=60, seed=2)
    op = kinds_of(A)[kind]
    sd = spectral_density(op, probes=60, steps=25, seed=1)
    grid, dens = np.asarray(sd.grid), np.asarray(sd.density)
    assert isinstance(sd.grid, np.ndarray) == (kind in ("numpy", "lowrank-numpy"))
    assert np.all(dens >= 0)
    assert abs(trapezoid(dens, grid) - 1) < 1e-8, "mass"
    assert abs(sd.weights.sum() - 1) < 1e-12 and np.all(sd.weights >= 0)
    assert abs(trapezoid(grid * dens, grid) - sd.mean) < 1e-8 * np.abs(eigs).max()
    # The mean is a Hutchinson estimate of tr(A) / D: unbiased, with standard deviation
    # sqrt(2 sum_{i != j} A_ij^2 / probes) / D for Rademacher probes.
    sd_mean = np.sqrt(2 * (np.sum(A**2) - np.sum(np.diag(A) ** 2)) / sd.probes) / 60
    assert abs(sd.mean - np.trace(A) / 60) < 4 * sd_mean
    # Against the exact spectrum, broadened the same way on the same grid.
    exact = eigenvalue_density(eigs, grid=grid, width=sd.width)
    l1 = trapezoid(np.abs(dens - exact), grid)
    assert l1 < 0.15, f"L1 distance to the broadened eigvalsh spectrum {l1:.3f}"
    assert sd.products == 60 * 25


def test_slq_mean_equals_the_hutchinson_sum_of_its_probes():
    """Sum_j tau_j theta_j = e_1^T T e_1 = v^T A v for each probe: the quadrature is exact."""
    A, _ = separated(D=30, seed=4)
    one = spectral_density(A, probes=1, steps=5, seed=7)
    torch_gen = torch.Generator().manual_seed(7)
    z = (torch.randint(0, 2, (30,), generator=torch_gen, dtype=F64) * 2 - 1).numpy()
    assert abs(one.mean - z @ A @ z / 30) < 1e-12 * np.abs(A).max()


def test_slq_exact_spectrum_with_full_steps_on_a_diagonal():
    """For a diagonal A with D steps, every rule has the D eigenvalues as nodes."""
    eigs = np.array([5.0, 3.0, 1.0, -2.0])
    sd = spectral_density(np.diag(eigs), probes=3, steps=4, width=0.05)
    assert_close(np.sort(sd.nodes), np.sort(np.tile(eigs, 3)), rtol=1e-12, what="nodes")
    # Rademacher probes weigh every eigenvector equally: tau = 1/D each.
    assert_close(sd.weights, np.full(12, 1 / 12), rtol=1e-12, what="weights")
    assert_close(
        sd.density,
        eigenvalue_density(eigs, grid=sd.grid, width=0.05),
        rtol=1e-10,
        what="density = broadened exact spectrum",
    )


def test_slq_breakdown_and_defaults():
    sd = spectral_density(3.0 * np.eye(8), probes=2, steps=5)
    assert sd.products == 2 and np.allclose(sd.nodes, 3.0)
    assert sd.width == pytest.approx(0.03)
    assert np.all(np.isfinite(sd.density))


def test_slq_bad_input():
    A = np.eye(4)
    with pytest.raises(ValueError, match="probes"):
        spectral_density(A, probes=0, steps=2)
    with pytest.raises(ValueError, match=r"steps=5.*1\.\.4"):
        spectral_density(A, probes=1, steps=5)
    with pytest.raises(ValueError, match="width"):
        spectral_density(A, probes=1, steps=2, width=-1.0)
    with pytest.raises(ValueError, match="increasing"):
        spectral_density(A, probes=1, steps=2, grid=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="points"):
        spectral_density(A, probes=1, steps=2, points=3)
    with pytest.raises(ValueError, match="finite"):
        eigenvalue_density([np.nan], grid=np.linspace(0, 1, 5), width=0.1)
    with pytest.raises(ValueError, match="width"):
        eigenvalue_density([1.0], grid=np.linspace(0, 1, 5), width=0.0)
    with pytest.raises(ValueError, match="summing to 1"):
        eigenvalue_density([1.0, 2.0], grid=np.linspace(0, 1, 5), width=0.1, weights=[0.5, 0.6])


def test_lanczos_in_float32():
    A, eigs = separated(D=30, seed=5)
    At = torch.from_numpy(A).float()
    res = lanczos(At, 20, seed=0)
    assert res.values.dtype == torch.float32 and res.vectors.dtype == torch.float32
    assert_close(res.values[:5], eigs[:5], rtol=1e-5, what="float32 top 5 Ritz values")
    res_np = lanczos(A.astype(np.float32), 20, seed=0)
    assert res_np.values.dtype == np.float32


# ------------------------------------------------------------------------------ from a model
@pytest.fixture(scope="module")
def digits():
    """The book's digits network as a module with its data, and the same loss on a flat vector."""
    from hessnotes.nets import digits_mlp

    m = digits_mlp()
    return m, m.module(), m.batch(256), torch.nn.CrossEntropyLoss()


def test_the_default_mode_is_reverse_over_reverse():
    import inspect

    from hessnotes.curvature import DEFAULT_MODE

    assert DEFAULT_MODE == "reverse-over-reverse"
    assert inspect.signature(hvp).parameters["mode"].default is None  # None means the default
    H = hvp(lambda t: (t**3).sum(), torch.ones(3, dtype=F64))
    assert "reverse-over-reverse" in repr(H)


def test_model_form_matches_the_flat_path_on_the_digits_network(digits):
    """hvp, Gauss-Newton, Lanczos and SLQ from (model, loss, data) in one call each equal the
    flat-vector path (DigitsMLP.parameter_loss on DigitsMLP.params) to 1e-12."""
    m, net, data, loss = digits
    f = m.parameter_loss(256)
    V = torch.randn(m.num_params, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    H, Hf = hvp(net, loss, data), hvp(f, m.params)
    assert H.shape == Hf.shape == (1210, 1210) and H.param_names[0] == "0.weight"
    assert_close(H @ V, Hf @ V, rtol=1e-12, what="model hvp @ V vs flat")
    for mode in ("forward-over-reverse", "reverse-over-reverse"):
        assert_close(hvp(net, loss, data, mode=mode) @ V[:, 0], Hf @ V[:, 0], rtol=1e-12, what=mode)
    res = lanczos(net, loss, data, 60, tol=1e-10, nev=5)
    ref = lanczos(Hf, 60, tol=1e-10, nev=5)
    assert res.converged and res.steps == ref.steps < 60
    assert_close(res.values[:5], ref.values[:5], rtol=1e-12, what="top-5 Ritz values")
    ev = torch.linalg.eigvalsh(hessian(f)(m.params)).flip(0)[:5]
    assert_close(res.values[:5], ev, rtol=1e-9, what="top-5 against eigvalsh of the dense H")
    sd = spectral_density(net, loss, data, probes=3, steps=20, seed=1)
    sdf = spectral_density(Hf, probes=3, steps=20, seed=1)
    assert_close(sd.nodes, sdf.nodes, rtol=1e-12, what="SLQ nodes")
    assert_close(sd.density, sdf.density, rtol=1e-12, what="SLQ density")
    # Gauss-Newton: outputs (256, 10) straight from the module; the flat path flattens by hand.
    x, y = data
    G = gauss_newton(net, loss, data)
    Gf = gauss_newton(
        lambda t: m.logits(x, t).reshape(-1),
        lambda z: torch.nn.functional.cross_entropy(z.reshape(256, 10), y),
        m.params,
    )
    assert_close(G @ V, Gf @ V, rtol=1e-12, what="model Gauss-Newton vs flat")
    split = gauss_newton_split(net, loss, data)
    assert_close(split.residual @ V, Hf @ V - Gf @ V, rtol=1e-10, what="residual H - G")


def test_model_form_batches_chunks_and_loaders_agree(digits):
    m, net, data, loss = digits
    x, y = data
    v = torch.randn(m.num_params, generator=torch.Generator().manual_seed(1), dtype=F64)
    want = hvp(net, loss, data) @ v
    uneven = [(x[:100], y[:100]), (x[100:130], y[100:130]), (x[130:], y[130:])]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64)
    for name, op in {
        "uneven batches": hvp(net, loss, uneven),
        "chunks of 50": hvp(net, loss, data, batch_size=50),
        "DataLoader": hvp(net, loss, loader),
        "forward-over-reverse chunks": hvp(net, loss, data, batch_size=64, mode=_FWD),
    }.items():
        assert_close(op @ v, want, rtol=1e-12, what=name)
    summed = hvp(net, torch.nn.CrossEntropyLoss(reduction="sum"), uneven)
    assert_close(summed @ v, 256 * want, rtol=1e-12, what="reduction='sum' is 256 x the mean")
    G = gauss_newton(net, loss, data)
    assert_close(gauss_newton(net, loss, uneven) @ v, G @ v, rtol=1e-12, what="GN over batches")


_FWD = "forward-over-reverse"


def test_model_form_over_a_subset_is_the_hessians_block(digits):
    m, net, data, loss = digits
    H = hvp(net, loss, data, params=["2.weight", "2.bias"])
    assert H.shape == (170, 170) and H.param_names == ["2.weight", "2.bias"]
    full = hessian(m.parameter_loss(256))(m.params)
    assert_close(H.dense(), full[1040:, 1040:], rtol=1e-12, what="Hessian block of layer 2")
    v = torch.arange(170, dtype=F64)
    parts = H.unflatten(v)
    assert parts["2.weight"].shape == (10, 16) and parts["2.bias"].shape == (10,)
    assert torch.equal(parts["2.weight"].reshape(-1), v[:160]) and torch.equal(
        parts["2.bias"], v[160:]
    )


def test_model_form_follows_dtype_and_leaves_the_model_as_it_was(digits):
    m, _, data, loss = digits
    net = m.module().float().train()
    before = {k: t.clone() for k, t in net.state_dict().items()}
    H = hvp(net, loss, (data[0].float(), data[1]))
    assert H.dtype == torch.float32 and H.device == torch.device("cpu")
    out = H @ torch.ones(1210, dtype=torch.float32)
    assert out.dtype == torch.float32
    assert net.training and all(p.grad is None for p in net.parameters())
    assert all(torch.equal(t, before[k]) for k, t in net.state_dict().items())
    with pytest.raises(TypeError, match=r"inputs of batch 0 are torch\.float64.*float32"):
        hvp(net, loss, data)


def test_model_form_errors_name_the_fix(digits):
    _, net, data, loss = digits
    with pytest.raises((RuntimeError, ValueError), match=r"torch\.nn\.Module.*hvp\(model, loss_fn"):
        hvp(net, data[0][0])
    with pytest.raises(TypeError, match="data is missing"):
        hvp(net, loss)
    with pytest.raises(TypeError, match="only apply to the model form"):
        hvp(lambda t: t.sum(), torch.ones(2, dtype=F64), batch_size=4)
    with pytest.raises(TypeError, match="only apply to the model form"):
        lanczos(torch.eye(3, dtype=F64), 2, params=["x"])
    with pytest.raises(TypeError, match=r"lanczos\(model, loss_fn, data, k\)"):
        lanczos(net, loss)
    with pytest.raises(TypeError, match="steps k is missing"):
        lanczos(net, loss, data)
    with pytest.raises(ValueError, match=r"gauss_newton\(model, loss_fn, \(inputs, targets\)\)"):
        gauss_newton(lambda t: t.reshape(2, 2), lambda z: z.sum(), torch.ones(4, dtype=F64))
    with pytest.raises(ValueError, match="built from a flat function, not from a model"):
        hvp(lambda t: (t**2).sum(), torch.ones(2, dtype=F64)).unflatten(torch.ones(2))


# ----------------------------------------------------------------- stopping on a tolerance
def test_lanczos_stops_on_a_relative_residual_tolerance():
    A, eigs = separated(D=200, seed=3)
    res = lanczos(A, 150, tol=1e-10, nev=5, seed=1)
    assert res.converged and res.tol == 1e-10 and res.nev == 5 and res.steps < 150
    assert np.all(np.asarray(res.residuals[:5]) <= 1e-10 * np.abs(res.values[:5]))
    assert_close(res.values[:5], eigs[:5], rtol=1e-10, what="top 5 to the tolerance")
    short = lanczos(A, 3, tol=1e-10, nev=3, seed=1)
    assert short.steps == 3 and short.converged is False
    assert "NOT converged" in repr(short) and "tol=1e-10" in repr(short)
    assert lanczos(A, 10).converged is None and lanczos(A, 10).tol is None
    with pytest.raises(ValueError, match=r"nev=6 must be an integer in 1\.\.k = 1\.\.5"):
        lanczos(A, 5, tol=1e-8, nev=6)
    with pytest.raises(ValueError, match="tol must be finite and >= 0"):
        lanczos(A, 5, tol=-1.0)


def test_slq_accepts_given_probe_vectors():
    A, _ = separated(D=40, seed=4)
    rng = np.random.default_rng(0)
    P = rng.choice([-1.0, 1.0], size=(40, 3))
    sd = spectral_density(A, probes=P, steps=10)
    runs = [lanczos(A, 10, start=P[:, j]) for j in range(3)]
    nodes = np.concatenate([np.sort(r.values) for r in runs])
    assert sd.probes == 3
    assert_close(np.sort(sd.nodes), np.sort(nodes), rtol=1e-12, what="SLQ nodes, given probes")
    with pytest.raises(ValueError, match=r"probes has shape \(39, 3\)"):
        spectral_density(A, probes=P[:-1], steps=5)


# ------------------------------------------------------------------- refused before allocating
def test_huge_krylov_bases_are_refused_before_allocating():
    huge = CurvatureOperator(lambda V: V, 10**7, F64, torch.device("cpu"), "identity, D = 1e7")
    with pytest.raises(ValueError, match=r"lanczos\(k=2000\) on D = 10000000.*160 GB.*fewer steps"):
        lanczos(huge, 2000)
    with pytest.raises(ValueError, match=r"spectral_density\(steps=2000\).*160 GB"):
        spectral_density(huge, probes=1, steps=2000)
    assert huge.products == 0


def test_nan_vectors_are_refused_with_the_argument_and_the_entry():
    H = hvp(lambda t: (t**3).sum(), torch.ones(4, dtype=F64))
    v = torch.ones(4, dtype=F64)
    v[2] = float("nan")
    with pytest.raises(
        ValueError, match=r"^v \(shape \(4,\)\) holds NaN or Inf, first at index \(2,\)"
    ):
        H @ v
    with pytest.raises(ValueError, match=r"^x \(shape \(4,\)\).*index \(1,\)"):
        hvp(lambda t: (t**3).sum(), torch.tensor([1.0, float("inf"), 0, 0], dtype=F64))
    with pytest.raises(ValueError, match=r"^start \(shape \(4,\)\)"):
        lanczos(H, 2, start=v)
    assert H.products == 0
