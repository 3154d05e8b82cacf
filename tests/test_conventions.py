"""Pins the book's conventions (appendix "Conventions"): column-major vec, gradients of the shape of
X, numerator-layout Jacobians, and Hessians with respect to the column-major vec(X).

References are independent of the library where possible: np.kron, explicit index loops,
torch.autograd and torch.func.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import hessian, jacrev

from hessnotes.checks import check_gradient, check_hessian, general
from hessnotes.kron import unvec, vec

T = torch.float64


def test_vec_stacks_columns():
    labels = np.array([["x11", "x12", "x13"], ["x21", "x22", "x23"]])
    assert list(vec(labels)) == ["x11", "x21", "x12", "x22", "x13", "x23"]
    X = np.random.default_rng(0).standard_normal((4, 3))
    v = vec(X)
    for i in range(4):
        for j in range(3):
            assert v[i + 4 * j] == X[i, j], f"vec(X)[{i} + 4*{j}] != X[{i}, {j}]"
    np.testing.assert_array_equal(v, X.reshape(-1, order="F"))
    np.testing.assert_array_equal(unvec(v, (4, 3)), X)
    Xt = torch.tensor(X)
    assert torch.equal(vec(Xt), Xt.T.reshape(-1))


@pytest.mark.parametrize(("m", "n", "p", "q"), [(2, 3, 4, 5), (3, 2, 2, 4), (1, 4, 3, 2)])
def test_kron_vec_identity(m, n, p, q):
    rng = np.random.default_rng(m * 100 + n * 10 + p)
    X, A, B = rng.standard_normal((m, n)), rng.standard_normal((p, n)), rng.standard_normal((q, m))
    np.testing.assert_allclose(np.kron(A, B) @ vec(X), vec(B @ X @ A.T), rtol=1e-12, atol=1e-12)
    # The same with torch tensors.
    Xt, At, Bt = map(torch.tensor, (X, A, B))
    torch.testing.assert_close(
        torch.kron(At, Bt) @ vec(Xt), vec(Bt @ Xt @ At.T), rtol=1e-12, atol=1e-12
    )
    # Row-major flattening swaps the roles of the factors.
    Xr = rng.standard_normal((n, m))
    np.testing.assert_allclose(
        np.kron(A, B) @ Xr.reshape(-1), (A @ Xr @ B.T).reshape(-1), rtol=1e-12, atol=1e-12
    )


def test_gradient_has_the_shape_of_x():
    a, b = torch.tensor([1.0, -2.0, 0.5], dtype=T), torch.tensor([3.0, 1.0], dtype=T)
    X = torch.zeros(3, 2, dtype=T, requires_grad=True)
    (a @ X @ b).backward()
    assert X.grad.shape == (3, 2)
    assert torch.equal(X.grad, torch.outer(a, b))
    assert check_gradient(lambda X: a @ X @ b, lambda X: torch.outer(a, b), general(3, 2)).passed
    with pytest.raises(
        AssertionError, match=r"shape \(2, 3\), but the gradient has the shape of X, \(3, 2\)"
    ):
        check_gradient(lambda X: a @ X @ b, lambda X: torch.outer(b, a), general(3, 2))


def test_jacobian_is_numerator_layout():
    M = torch.tensor(np.random.default_rng(1).standard_normal((2, 3)))
    J = jacrev(lambda x: M @ x)(torch.zeros(3, dtype=T))
    assert J.shape == (2, 3)  # (outputs, inputs)
    assert torch.equal(J, M)
    # Matrix map F(X) = A X B: vec(F) = (Bᵀ ⊗ A) vec(X). Build J column by column from vec
    # basis vectors (independent of any axis permutation).
    rng = np.random.default_rng(2)
    m, n, p, q = 2, 3, 4, 5
    A, B = torch.tensor(rng.standard_normal((p, m))), torch.tensor(rng.standard_normal((n, q)))
    cols = [vec(A @ unvec(e, (m, n)) @ B) for e in torch.eye(m * n, dtype=T)]
    J = torch.stack(cols, dim=1)
    assert J.shape == (p * q, m * n)
    np.testing.assert_allclose(J, np.kron(B.T, A), rtol=1e-12, atol=1e-12)
    J4 = jacrev(lambda X: A @ X @ B)(torch.zeros(m, n, dtype=T))
    torch.testing.assert_close(J4.permute(1, 0, 3, 2).reshape(p * q, m * n), J)


def test_hessian_is_with_respect_to_column_major_vec():
    rng = np.random.default_rng(3)
    m, n = 3, 2
    A, B = torch.tensor(rng.standard_normal((m, m))), torch.tensor(rng.standard_normal((n, n)))
    A, B = (A + A.T) / 2, (B + B.T) / 2

    def f(X):
        return 0.5 * torch.trace(X.T @ A @ X @ B)

    # Independent reference: d²f[U, V] = vec(U)ᵀ H vec(V) for basis matrices U, V.
    E = [unvec(e, (m, n)) for e in torch.eye(m * n, dtype=T)]
    H = torch.tensor([[torch.trace(U.T @ A @ V @ B).item() for V in E] for U in E], dtype=T)
    np.testing.assert_allclose(H, np.kron(B, A), rtol=1e-12, atol=1e-12)
    H4 = hessian(f)(torch.zeros(m, n, dtype=T))
    torch.testing.assert_close(H4.permute(1, 0, 3, 2).reshape(m * n, m * n), H)
    assert check_hessian(f, lambda X: torch.kron(B, A), general(m, n)).passed
    with pytest.raises(AssertionError, match="Hessian, point 1 of 3, vs autograd"):
        check_hessian(f, lambda X: torch.kron(A, B), general(m, n))
