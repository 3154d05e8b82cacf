"""Tests of hessnotes.checks.domains: every Domain samples what it promises, repeatably."""

from __future__ import annotations

import torch

from hessnotes.checks import (
    check_gradient,
    full_rank,
    general,
    invertible,
    orthogonal,
    positive,
    spd,
    symmetric,
)

T = torch.float64


inv = torch.linalg.inv


# --------------------------------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------------------------------
def test_domains_sample_what_they_promise():
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        S = symmetric(4).sample(gen)
        torch.testing.assert_close(S, S.T, rtol=0, atol=0)
        P = spd(4).sample(gen)
        assert torch.equal(P, P.T) and torch.linalg.eigvalsh(P).min() >= 1 - 1e-12
        M = invertible(4).sample(gen)
        assert torch.linalg.svdvals(M).min() > 0.1
        F = full_rank(5, 3).sample(gen)
        assert F.shape == (5, 3) and torch.linalg.svdvals(F).min() > 0.1
        Q = orthogonal(3).sample(gen)
        torch.testing.assert_close(Q.T @ Q, torch.eye(3, dtype=T), rtol=0, atol=1e-14)
        assert positive(2, 3).sample(gen).min() >= 0.5
        assert general(2, 3).sample(gen).dtype == T
    d = symmetric(3, tangent="symmetric").direction(gen)
    assert torch.equal(d, d.T) and abs(torch.linalg.norm(d).item() - 1) < 1e-14


def test_points_are_seeded_and_repeatable():
    args = (torch.logdet, lambda X: inv(X), spd(3))
    r1, r2 = check_gradient(*args, seed=7), check_gradient(*args, seed=7)
    assert r1.comparisons == r2.comparisons
    assert check_gradient(*args, points=5).n_points == 5


def test_domain_str():
    assert str(spd(3, tangent="symmetric")) == "spd 3×3, symmetric tangents"
    assert str(general(2, 5)) == "general 2×5"
