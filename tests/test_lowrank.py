"""Tests for hessnotes.lowrank: LowRankSymmetric against dense numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as sla
import torch
from helpers import assert_close

from hessnotes.lowrank import LowRankSymmetric


def random_lowrank(D: int, r: int, seed: int, *, sigma: float = 0.0, backend: str = "numpy"):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, r)))
    lam = rng.standard_normal(r) * 3
    if backend == "torch":
        return LowRankSymmetric(torch.from_numpy(Q), torch.from_numpy(lam), sigma), Q, lam
    return LowRankSymmetric(Q, lam, sigma), Q, lam


def dense_of(Q, lam, sigma):
    return (Q * lam) @ Q.T + sigma * np.eye(Q.shape[0])


BACKENDS = ["numpy", "torch"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sigma", [0.0, 0.7, -1.5])
def test_attributes_and_dense(backend, sigma):
    H, Q, lam = random_lowrank(7, 3, seed=1, sigma=sigma, backend=backend)
    assert H.shape == (7, 7)
    assert H.rank == 3
    assert H.sigma == sigma
    if backend == "numpy":
        assert H.dtype == np.float64 and H.device == "cpu"
        assert isinstance(H.Q, np.ndarray) and isinstance(H.lam, np.ndarray)
    else:
        assert H.dtype == torch.float64 and H.device == torch.device("cpu")
        assert isinstance(H.Q, torch.Tensor)
    assert_close(H.dense(), dense_of(Q, lam, sigma), rtol=1e-14, what="dense()")


def test_repr_is_readable():
    H, _, _ = random_lowrank(1000, 4, seed=0, sigma=0.0)
    assert repr(H) == "LowRankSymmetric(D=1000, rank=4, sigma=0, kind=numpy, dtype=float64)"
    G = LowRankSymmetric(torch.zeros(5, 0, dtype=torch.float32), torch.zeros(0), sigma=2.5)
    assert repr(G) == (
        "LowRankSymmetric(D=5, rank=0, sigma=2.5, kind=torch, dtype=float32, device=cpu)"
    )
    assert H.kind == "numpy" and G.kind == "torch"
    assert "0x" not in repr(H)


@pytest.mark.parametrize("backend", BACKENDS)
def test_matmul_vector_and_matrix(backend):
    H, Q, lam = random_lowrank(6, 2, seed=2, sigma=0.3, backend=backend)
    Hd = dense_of(Q, lam, 0.3)
    rng = np.random.default_rng(3)
    v, V, W = rng.standard_normal(6), rng.standard_normal((6, 4)), rng.standard_normal((3, 6))
    conv = torch.from_numpy if backend == "torch" else np.asarray
    out = H @ conv(v)
    assert isinstance(out, torch.Tensor if backend == "torch" else np.ndarray)
    assert_close(out, Hd @ v, rtol=1e-14, what="H @ v (1-D)")
    assert_close(H @ conv(V), Hd @ V, rtol=1e-14, what="H @ V (6x4)")
    assert_close(conv(W) @ H, W @ Hd, rtol=1e-14, what="W @ H (3x6)")


def test_eigh_eigvals_trace_fro():
    H, Q, lam = random_lowrank(8, 3, seed=4, sigma=0.5)
    ev, U = H.eigh()
    assert np.all(np.diff(ev) >= 0), f"eigenvalues not ascending: {ev}"
    assert_close(ev, np.sort(lam), rtol=1e-15, what="eigh values (low-rank part)")
    assert_close(U.T @ U, np.eye(3), rtol=0, atol=1e-14, what="eigh vectors orthonormal")
    Hd = dense_of(Q, lam, 0.5)
    # H's eigenvalues are sigma + lam on U and sigma elsewhere.
    assert_close(Hd @ U, U * (0.5 + ev), rtol=1e-14, what="H U = U (sigma + lam)")
    assert_close(H.eigvals(), ev, rtol=0, what="eigvals() == eigh()[0]")
    full = np.sort(np.concatenate([0.5 + lam, np.full(5, 0.5)]))
    assert_close(np.linalg.eigvalsh(Hd), full, rtol=1e-14, what="spectrum of the dense matrix")
    assert H.trace() == pytest.approx(np.trace(Hd), rel=1e-14)
    assert H.fro_norm() == pytest.approx(np.linalg.norm(Hd), rel=1e-14)


def test_eigh_skips_zero_eigenvalues():
    Q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((5, 3)))
    H = LowRankSymmetric(Q, np.array([2.0, 0.0, -1.0]))
    assert H.rank == 2
    ev, U = H.eigh()
    assert_close(ev, [-1.0, 2.0], rtol=0, what="nonzero eigenvalues")
    assert U.shape == (5, 2)


@pytest.mark.parametrize(
    ("lam", "sigma", "expected"),
    [
        ([3.0, -2.0, 1e-20], 0.0, (1, 1, 3)),  # 1e-20 and sigma = 0 count as zero
        ([3.0, -2.0], 1.0, (4, 1, 0)),  # 1 + 3, 1 - 2, and sigma = 1 on the other 3
        ([3.0, 1.0], -1.0, (1, 3, 1)),  # -1 + 3 > 0, -1 + 1 = 0, -1 on the other 3
    ],
)
def test_inertia(lam, sigma, expected):
    Q, _ = np.linalg.qr(np.random.default_rng(6).standard_normal((5, len(lam))))
    H = LowRankSymmetric(Q, np.array(lam), sigma)
    assert H.inertia() == expected
    ev = np.linalg.eigvalsh(H.dense())
    tol = 1e-12 * np.abs(ev).max()
    dense_counts = (int((ev > tol).sum()), int((ev < -tol).sum()), int((abs(ev) <= tol).sum()))
    assert dense_counts == expected, f"dense inertia {dense_counts} != {expected}; eig {ev}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_from_factors_rank_deficient(backend):
    rng = np.random.default_rng(7)
    U = rng.standard_normal((9, 2)) @ rng.standard_normal((2, 4))  # rank 2, k = 4
    C = rng.standard_normal((4, 4))
    C = C + C.T
    Ui = torch.from_numpy(U) if backend == "torch" else U
    H = LowRankSymmetric.from_factors(Ui, C, sigma=0.25)
    assert H.rank == 2, f"rank {H.rank}, lam = {H.lam}"
    assert_close(H.dense(), U @ C @ U.T + 0.25 * np.eye(9), rtol=1e-13, what="U C U^T + s I")
    Qn = np.asarray(H.Q)
    assert_close(Qn.T @ Qn, np.eye(2), rtol=0, atol=1e-14, what="Q orthonormal")


@pytest.mark.parametrize("D", [40, 3000])  # Gram path and (for D=3000, kappa large) the others
def test_from_factors_paths(D):
    rng = np.random.default_rng(8)
    U = rng.standard_normal((D, 3)) * np.array([1.0, 1e-4, 1e3])
    C = np.diag([1.0, -2.0, 0.5])
    H = LowRankSymmetric.from_factors(U, C)
    V = rng.standard_normal((D, 2))
    assert_close(H @ V, U @ (C @ (U.T @ V)), rtol=1e-12, what=f"from_factors action, D={D}")


def test_algebra():
    H, Qh, lh = random_lowrank(6, 2, seed=9, sigma=0.5)
    G, Qg, lg = random_lowrank(6, 3, seed=10, sigma=-0.2)
    Hd, Gd = dense_of(Qh, lh, 0.5), dense_of(Qg, lg, -0.2)
    assert_close((H + G).dense(), Hd + Gd, rtol=1e-14, what="H + G")
    assert_close((H - G).dense(), Hd - Gd, rtol=1e-14, what="H - G")
    assert_close((H + 2).dense(), Hd + 2 * np.eye(6), rtol=1e-15, what="H + 2 I")
    assert_close((1 - H).dense(), np.eye(6) - Hd, rtol=1e-15, what="I - H")
    assert_close((3 * H).dense(), 3 * Hd, rtol=1e-15, what="3 H")
    assert_close((-H).dense(), -Hd, rtol=1e-15, what="-H")
    Z = H - H
    assert Z.rank == 0 and Z.sigma == 0.0, f"H - H should be 0, got {Z} with lam {Z.lam}"


def test_float32_torch_stays_float32():
    Q, _ = torch.linalg.qr(torch.randn(10, 2, generator=torch.Generator().manual_seed(0)))
    H = LowRankSymmetric(Q, torch.tensor([1.0, -1.0]))
    assert H.dtype == torch.float32
    assert (H @ torch.ones(10)).dtype == torch.float32
    assert H.dense().dtype == torch.float32


def test_dense_refuses_large_D():
    Q = np.zeros((20_001, 1))
    Q[0, 0] = 1.0
    H = LowRankSymmetric(Q, np.array([1.0]))
    with pytest.raises(
        ValueError, match=r"H\.dense\(\) of .*20001 x 20001.*3\.2 GB.*MAX_DENSE_BYTES"
    ):
        H.dense()
    small = LowRankSymmetric(np.eye(4)[:, :1], np.array([2.0]))
    assert small.dense(force=True)[0, 0] == 2.0


def test_bad_input():
    Q, _ = np.linalg.qr(np.random.default_rng(11).standard_normal((5, 2)))
    with pytest.raises(ValueError, match=r"not orthonormal.*from_factors"):
        LowRankSymmetric(2 * Q, np.ones(2))
    with pytest.raises(ValueError, match=r"lam must have shape \(r,\) = \(2,\)"):
        LowRankSymmetric(Q, np.ones(3))
    with pytest.raises(ValueError, match="2-D"):
        LowRankSymmetric(Q[:, 0], np.ones(1))
    with pytest.raises(ValueError, match="NaN or Inf"):
        LowRankSymmetric(Q, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="sigma must be finite"):
        LowRankSymmetric(Q, np.ones(2), sigma=np.inf)
    with pytest.raises(TypeError, match="int64"):
        LowRankSymmetric(np.eye(3, dtype=np.int64), np.ones(3, dtype=np.int64))
    with pytest.raises(TypeError, match="same kind"):
        LowRankSymmetric(Q, torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="symmetric"):
        LowRankSymmetric.from_factors(Q, np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"C must have shape \(k, k\) = \(2, 2\)"):
        LowRankSymmetric.from_factors(Q, np.eye(3))
    H = LowRankSymmetric(Q, np.ones(2))
    with pytest.raises(ValueError, match=r"v of shape \(5,\) or \(5, k\)"):
        H @ np.ones(4)
    with pytest.raises(TypeError, match="convert v"):
        H @ np.ones(5, dtype=np.float32)


# ---------------------------------------------------------------------------- implicit eigenvectors
def test_torch_result_keeps_q_implicit_until_needed_and_agrees():
    """least_norm_hessian on torch keeps Q = [X Y] T E implicit; products and Q agree."""
    from hessnotes.secant import least_norm_hessian

    g = torch.Generator().manual_seed(5)
    X = torch.randn(300, 4, generator=g, dtype=torch.float64)
    A = torch.randn(300, 300, generator=g, dtype=torch.float64)
    Y = (A + A.T) @ X
    H = least_norm_hessian(X, Y)
    assert H._lazy is not None, "a well-conditioned torch input should not form Q eagerly"
    v = torch.randn(300, 3, generator=g, dtype=torch.float64)
    implicit = H @ v
    Q = H.Q  # forms Q once
    assert H._lazy is None
    explicit = (Q * H.lam) @ (Q.T @ v)
    torch.testing.assert_close(implicit, explicit, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(H @ X, Y, rtol=1e-10, atol=1e-10)


def _np(a) -> np.ndarray:
    return a.numpy().copy() if isinstance(a, torch.Tensor) else a.copy()


def _writes(X: torch.Tensor, Xn: np.ndarray):
    """Every way a caller can change X after the fact: in place, through .data, through .numpy()
    and through the numpy array the tensor was made from."""
    return [
        lambda: X.mul_(2.0),
        lambda: X.data.add_(1.0),
        lambda: X.numpy().__imul__(3.0),
        lambda: Xn.__isub__(0.5),
    ]


@pytest.mark.parametrize("how", range(4))
@pytest.mark.parametrize("kind", ["torch", "numpy"])
def test_estimates_never_alias_their_inputs(kind, how):
    """The estimators keep a private copy of X and Y (made in the Gram pass): no write to the
    caller's arrays, through any view, changes an estimate afterwards."""
    from hessnotes.secant import bfgs_hessian, least_norm_hessian, min_rank_hessian

    rng = np.random.default_rng(6 + how)
    Xn, Yn = rng.standard_normal((50, 2)), rng.standard_normal((50, 2))
    Yn = Yn + 3 * Xn  # X^T Y positive definite, for min-rank and BFGS
    X, Y = torch.from_numpy(Xn), torch.from_numpy(Yn)
    args = (X, Y) if kind == "torch" else (Xn, Yn)
    v = np.ones(50) if kind == "numpy" else torch.ones(50, dtype=torch.float64)
    estimates = [
        least_norm_hessian(*args),
        min_rank_hessian(*args),
        bfgs_hessian(*args, 1.0),
        LowRankSymmetric(
            *(np.linalg.qr(Xn)[0], np.ones(2))
            if kind == "numpy"
            else (torch.linalg.qr(X)[0], torch.ones(2, dtype=torch.float64))
        ),
    ]
    before = [_np(H @ v) for H in estimates]
    for write in _writes(X, Xn)[how : how + 1] + _writes(Y, Yn)[how : how + 1]:
        write()
    for H, b in zip(estimates, before, strict=True):
        np.testing.assert_array_equal(_np(H @ v), b)


def test_numpy_result_keeps_q_implicit_on_its_copy():
    """numpy inputs are copied too, so their estimates keep Q implicit like torch ones."""
    from hessnotes.secant import least_norm_hessian

    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((40, 3)), rng.standard_normal((40, 3))
    H = least_norm_hessian(X, Y)
    assert H._lazy is not None
    Y *= 2.0
    Hn = least_norm_hessian(X, Y / 2.0)
    np.testing.assert_allclose(H.dense(), Hn.dense(), rtol=1e-12, atol=1e-12)


def test_forming_q_reuses_the_copy_in_place():
    """H.Q is written over the estimate's own copy of [X Y]: no second D x 2n array."""
    from hessnotes.secant import least_norm_hessian

    g = torch.Generator().manual_seed(9)
    X = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    Y = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    H = least_norm_hessian(X, Y)
    Z = H._lazy._basis._blocks[0]
    ptr = Z.data_ptr()
    v = torch.randn(4000, generator=g, dtype=torch.float64)
    implicit = H @ v
    minus = -H  # shares the eigenvectors
    Q = H.Q
    assert Q.data_ptr() == ptr and Q.shape == (4000, 6)
    torch.testing.assert_close(H @ v, implicit, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(minus @ v, -implicit, rtol=1e-12, atol=1e-12)


def test_scalar_algebra_keeps_laziness():
    from hessnotes.secant import least_norm_hessian

    g = torch.Generator().manual_seed(8)
    X = torch.randn(80, 3, generator=g, dtype=torch.float64)
    Y = torch.randn(80, 3, generator=g, dtype=torch.float64)
    H = least_norm_hessian(X, Y)
    G = -(2.0 * H) + 1.5
    assert G._lazy is not None
    v = torch.randn(80, generator=g, dtype=torch.float64)
    torch.testing.assert_close(G @ v, -2.0 * (H @ v) + 1.5 * v, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- an operator
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("D", "r", "sigma", "shift"),
    [(9, 3, 0.0, 0.7), (9, 3, 1.2, -0.4), (6, 6, 0.0, 0.0), (7, 2, -1.0, 3.0)],
)
def test_solve_with_shift_against_np_linalg_solve(backend, D, r, sigma, shift):
    H, Q, lam = random_lowrank(D, r, seed=D + r, sigma=sigma, backend=backend)
    if D == r:
        lam = lam + np.sign(lam) * 0.5  # full rank, no eigenvalue near zero
        H = LowRankSymmetric(
            H.Q, H.lam * 0 + (torch.from_numpy(lam) if backend == "torch" else lam)
        )
    A = dense_of(Q, lam, sigma) + shift * np.eye(D)
    rng = np.random.default_rng(1)
    for shape in [(D,), (D, 4)]:
        b = rng.standard_normal(shape)
        bb = torch.from_numpy(b) if backend == "torch" else b
        z = H.solve(bb, shift=shift)
        assert type(z) is type(bb) and tuple(z.shape) == shape
        assert_close(z, np.linalg.solve(A, b), rtol=1e-11, what=f"solve {shape}, shift {shift}")


def test_solve_on_a_singular_system_names_shift_and_smallest_eigenvalue():
    H, _, lam = random_lowrank(8, 3, seed=3, sigma=0.0)
    with pytest.raises(
        ValueError,
        match=r"shift = 0.*smallest \|eigenvalue\| = 0.*rank 3 < D = 8.*"
        r"singular unless r == D",
    ):
        H.solve(np.ones(8))
    with pytest.raises(ValueError, match=rf"shift = {-lam[1]:g}, smallest \|eigenvalue\|"):
        H.solve(np.ones(8), shift=-float(lam[1]))
    with pytest.raises(ValueError, match="shift must be finite"):
        H.solve(np.ones(8), shift=float("nan"))
    with pytest.raises(ValueError, match="shape"):
        H.solve(np.ones(7), shift=1.0)
    with pytest.raises(ValueError, match="rtol must be finite"):
        H.solve(np.ones(8), shift=1.0, rtol=-1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_scipy_eigsh_minres_cg(backend):
    rng = np.random.default_rng(4)
    D = 40
    H = LowRankSymmetric.from_factors(
        rng.standard_normal((D, 4)), np.diag([9.0, 4.0, -2.0, 1.0]), 1.5
    )
    Hb = H if backend == "numpy" else H.torch()
    op = Hb.to_scipy()
    assert isinstance(op, sla.LinearOperator) and op.shape == (D, D) and op.dtype == np.float64
    dense = H.dense()
    ev = sla.eigsh(op, k=3, which="LA", return_eigenvectors=False)
    np.testing.assert_allclose(np.sort(ev), np.linalg.eigvalsh(dense)[-3:], rtol=1e-10)
    b = rng.standard_normal(D)
    x, info = sla.minres(op, b, rtol=1e-12)
    assert info == 0
    assert_close(x, np.linalg.solve(dense, b), rtol=1e-8, what="minres (indefinite H)")
    spd = (Hb + 3.0).to_scipy()  # eigenvalues >= 1.5 - 2 + 3 > 0
    x, info = sla.cg(spd, b, rtol=1e-12)
    assert info == 0
    assert_close(x, np.linalg.solve(dense + 3 * np.eye(D), b), rtol=1e-8, what="cg")
    V = rng.standard_normal((D, 3))
    assert_close(op.matmat(V), dense @ V, rtol=1e-12, what="matmat")
    assert_close(op.rmatvec(b), dense @ b, rtol=1e-12, what="rmatvec")


def test_aslinearoperator_directly_for_numpy_and_a_clear_error_for_torch():
    H, Q, lam = random_lowrank(12, 3, seed=5, sigma=0.5)
    op = sla.aslinearoperator(H)
    assert op.shape == (12, 12) and op.dtype == np.float64
    v = np.random.default_rng(0).standard_normal(12)
    assert_close(op.matvec(v), dense_of(Q, lam, 0.5) @ v, rtol=1e-13, what="aslinearoperator")
    assert_close(op.rmatvec(v), dense_of(Q, lam, 0.5) @ v, rtol=1e-13, what="rmatvec")
    ev = sla.eigsh(op, k=2, which="LM", return_eigenvectors=False)
    want = np.linalg.eigvalsh(dense_of(Q, lam, 0.5))
    np.testing.assert_allclose(np.sort(np.abs(ev)), np.sort(np.abs(want))[-2:], rtol=1e-10)
    with pytest.raises(TypeError, match=r"torch-backed.*H\.to_scipy\(\)"):
        sla.aslinearoperator(H.torch())


def test_np_asarray_refuses_and_points_to_dense():
    H, _, _ = random_lowrank(6, 2, seed=6)
    for f in (np.asarray, np.array):
        with pytest.raises(TypeError, match=r"H\.dense\(\)"):
            f(H)
    X = np.ones((3, 6))
    assert_close(X @ H, (H @ X.T).T, rtol=1e-14, what="ndarray @ H still works")


def test_to_numpy_torch_round_trips():
    H, Q, lam = random_lowrank(10, 3, seed=7, sigma=0.25)
    want = dense_of(Q, lam, 0.25)
    Ht = H.torch()
    assert Ht.kind == "torch" and isinstance(Ht.Q, torch.Tensor) and Ht.dtype == torch.float64
    H32 = Ht.to(dtype=torch.float32)
    assert H32.dtype == torch.float32 and H32.sigma == 0.25
    assert_close(H32.dense(), want, rtol=1e-6, what="float32")
    back = H32.numpy().to(dtype=np.float64)
    assert back.kind == "numpy" and back.dtype == np.float64
    assert_close(back.dense(), want, rtol=1e-6, what="round trip")
    assert_close(H.to("float32").dense(), want, rtol=1e-6, what="dtype by name")
    Hn = H.numpy()
    Hn.Q[0, 0] = 99.0  # a copy of its own
    assert H.Q[0, 0] != 99.0
    with pytest.raises(TypeError, match=r"H\.to\(dtype=float16\).*Use H\.to\(np\.float32\)"):
        H.to(dtype=np.float16)
    with pytest.raises(TypeError, match=r"H\.to\(dtype=torch\.int64\).*H\.to\(torch\.float32\)"):
        Ht.to(dtype=torch.int64)
    with pytest.raises(ValueError, match=r"numpy-backed.*H.torch\(device="):
        H.to(device="cuda")
    assert Ht.to(device="cpu").device == torch.device("cpu")


def test_lazy_q_converts_too():
    from hessnotes.secant import least_norm_hessian

    gen = torch.Generator().manual_seed(8)
    X, Y = (torch.randn(20, 3, generator=gen, dtype=torch.float64) for _ in range(2))
    H = least_norm_hessian(X, Y)
    assert H._lazy is not None
    assert_close(H.numpy().dense(), H.dense(), rtol=1e-14, what="lazy -> numpy")


def test_nan_vectors_are_refused_by_products_and_solves():
    H = LowRankSymmetric.from_factors(np.eye(5)[:, :2], np.eye(2), 1.0)
    v = np.ones(5)
    v[3] = np.inf
    with pytest.raises(
        ValueError, match=r"^v \(shape \(5,\)\) holds NaN or Inf, first at index \(3,\)"
    ):
        H @ v
    B = np.ones((5, 2))
    B[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"^b \(shape \(5, 2\)\).*index \(1, 1\)"):
        H.solve(B)
