"""Tests for paperzoo.losses.ranking against naive references written from the papers' equations."""

from __future__ import annotations

import math

import pytest
import torch

from paperzoo.losses.ranking import BPRLoss, MaxMarginRankingLoss, bpr_loss, max_margin_ranking_loss

SEEDS = [0, 1, 2, 3]


# ----------------------------------------------------------------------------------------------------------------------
# Naive pure-Python references (float64 via Python floats)
# ----------------------------------------------------------------------------------------------------------------------
def naive_max_margin_sum(sim: torch.Tensor, delta: float) -> float:
    """HowTo100M eq. (2): sum_i sum_{j != i} max(0, d + s_ij - s_ii) + max(0, d + s_ji - s_ii)."""
    s = sim.detach().double().tolist()
    b = len(s)
    total = 0.0
    for i in range(b):
        for j in range(b):
            if j == i:
                continue
            total += max(0.0, delta + s[i][j] - s[i][i]) + max(0.0, delta + s[j][i] - s[i][i])
    return total


def naive_bpr(pos: torch.Tensor, neg: torch.Tensor) -> list[float]:
    """-ln sigma(x_ui - x_uj) for every (positive, negative) triple, as a flat list."""
    p = pos.detach().double().tolist()
    n = neg.detach().double().tolist()
    out = []
    for u, x_ui in enumerate(p):
        negs = n[u] if isinstance(n[u], list) else [n[u]]
        for x_uj in negs:
            out.append(-math.log(1.0 / (1.0 + math.exp(-(x_ui - x_uj)))))
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Max-margin ranking loss
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("margin", [0.0, 0.1, 0.5])
def test_max_margin_matches_naive(seed: int, margin: float) -> None:
    g = torch.Generator().manual_seed(seed)
    b = 3 + seed
    sim = torch.randn(b, b, generator=g, dtype=torch.float64) * 0.3
    sim = sim + 0.3 * torch.eye(b, dtype=torch.float64)  # positives somewhat higher: mix of active/inactive hinges
    ref = naive_max_margin_sum(sim, margin)
    assert max_margin_ranking_loss(sim, margin=margin, reduction="sum").item() == pytest.approx(ref, rel=1e-12)
    assert max_margin_ranking_loss(sim, margin=margin).item() == pytest.approx(ref / (b * (b - 1)), rel=1e-12)
    terms = MaxMarginRankingLoss(margin=margin, reduction="none")(sim)
    assert terms.shape == (b, b)
    assert torch.all(terms.diagonal() == 0)
    assert terms.sum().item() == pytest.approx(ref, rel=1e-12)


def test_max_margin_hand_case() -> None:
    sim = torch.tensor([[1.0, 0.95], [0.5, 1.0]])
    # (i=0, j=1): max(0, .1 + .95 - 1) + max(0, .1 + .5 - 1) = 0.05
    # (i=1, j=0): max(0, .1 + .5 - 1) + max(0, .1 + .95 - 1) = 0.05
    assert max_margin_ranking_loss(sim, margin=0.1, reduction="sum").item() == pytest.approx(0.1, rel=1e-5)
    assert max_margin_ranking_loss(sim, margin=0.1).item() == pytest.approx(0.05, rel=1e-5)
    # well-separated positives -> 0
    assert max_margin_ranking_loss(torch.eye(4), margin=0.5).item() == 0.0
    # all similarities equal -> every hinge is exactly delta, so the mean of the 2-direction term is 2 * delta
    assert max_margin_ranking_loss(torch.zeros(3, 3), margin=0.2).item() == pytest.approx(0.4)


def test_max_margin_relation_to_reference_code_normalisation() -> None:
    # The HowTo100M code averages the (B, B) matrix of two-direction terms including the diagonal (2 * delta each).
    g = torch.Generator().manual_seed(7)
    b, delta = 6, 0.1
    sim = torch.randn(b, b, generator=g, dtype=torch.float64)
    s = sim.tolist()
    full = 0.0
    for i in range(b):
        for j in range(b):
            full += max(0.0, delta + s[i][j] - s[i][i]) + max(0.0, delta + s[i][j] - s[j][j])
    reference_mean = full / (b * b)
    ours = max_margin_ranking_loss(sim, margin=delta).item()
    assert reference_mean == pytest.approx((b - 1) / b * ours + 2 * delta / b, rel=1e-12)


def test_max_margin_is_not_one_directional() -> None:
    # Only the column direction is violated: a bad video j for caption i (s_ji high) must be penalised.
    sim = torch.tensor([[1.0, 0.0], [0.99, 1.0]])
    # (i=0, j=1): max(0, .1 + 0 - 1) + max(0, .1 + .99 - 1) = 0.09 ; (i=1, j=0): max(0, .1+.99-1) + 0 = 0.09
    assert max_margin_ranking_loss(sim, margin=0.1, reduction="sum").item() == pytest.approx(0.18, rel=1e-5)


def test_max_margin_decreases_when_positives_more_similar() -> None:
    g = torch.Generator().manual_seed(0)
    sim = torch.randn(8, 8, generator=g)
    losses = [max_margin_ranking_loss(sim + a * torch.eye(8), margin=0.1).item() for a in (0.0, 0.5, 1.0, 10.0)]
    assert losses[0] > losses[1] > losses[2] > losses[3] == 0.0


def test_max_margin_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    sim = torch.randn(4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: max_margin_ranking_loss(s, margin=0.1), (sim,))


# ----------------------------------------------------------------------------------------------------------------------
# BPR
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [None, 1, 4])
def test_bpr_matches_naive(seed: int, k: int | None) -> None:
    g = torch.Generator().manual_seed(seed)
    b = 5 + seed
    pos = torch.randn(b, generator=g, dtype=torch.float64) * 3
    neg = torch.randn(b if k is None else (b, k), generator=g, dtype=torch.float64) * 3
    ref = naive_bpr(pos, neg)
    assert bpr_loss(pos, neg).item() == pytest.approx(sum(ref) / len(ref), rel=1e-12)
    assert BPRLoss(reduction="sum")(pos, neg).item() == pytest.approx(sum(ref), rel=1e-12)
    per = bpr_loss(pos, neg, reduction="none")
    assert per.shape == neg.shape
    torch.testing.assert_close(per.reshape(-1), torch.tensor(ref, dtype=torch.float64), rtol=1e-12, atol=1e-12)


def test_bpr_hand_cases_and_stability() -> None:
    assert bpr_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(math.log(2.0))
    assert bpr_loss(torch.tensor([1.0]), torch.tensor([0.0])).item() == pytest.approx(math.log(1 + math.exp(-1)))
    # large negative difference: -ln sigma(-1000) = 1000 (a naive log(sigmoid) gives inf in float32)
    big = bpr_loss(torch.tensor([-500.0]), torch.tensor([500.0]))
    assert torch.isfinite(big) and big.item() == pytest.approx(1000.0)
    # large positive difference -> ~0, not negative
    small = bpr_loss(torch.tensor([500.0]), torch.tensor([-500.0]))
    assert 0.0 <= small.item() < 1e-30
    # (B, K) broadcasts pos as (B, 1): row u compares pos[u] to every neg[u, k]
    pos = torch.tensor([0.0, 2.0])
    neg = torch.tensor([[0.0, 1.0], [2.0, 2.0]])
    expected = torch.tensor([[math.log(2), math.log(1 + math.e)], [math.log(2), math.log(2)]])
    torch.testing.assert_close(bpr_loss(pos, neg, reduction="none"), expected)


def test_bpr_decreases_when_positive_scores_rise() -> None:
    g = torch.Generator().manual_seed(0)
    pos, neg = torch.randn(10, generator=g), torch.randn(10, 3, generator=g)
    losses = [bpr_loss(pos + a, neg).item() for a in (-1.0, 0.0, 1.0, 3.0)]
    assert all(x > y for x, y in zip(losses, losses[1:]))


def test_bpr_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    pos = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    neg = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p, n: bpr_loss(p, n), (pos, neg))
    neg1 = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p, n: bpr_loss(p, n, reduction="sum"), (pos, neg1))


# ----------------------------------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------------------------------
def test_max_margin_validation() -> None:
    with pytest.raises(ValueError, match=r"square similarity matrix .* got \(3, 4\)"):
        max_margin_ranking_loss(torch.randn(3, 4))
    with pytest.raises(ValueError, match=r"square similarity matrix .* got \(3,\)"):
        max_margin_ranking_loss(torch.randn(3))
    with pytest.raises(ValueError, match=r"B >= 2, got \(1, 1\)"):
        max_margin_ranking_loss(torch.randn(1, 1))
    with pytest.raises(ValueError, match=r"margin must be >= 0 \(got -0.1\)"):
        max_margin_ranking_loss(torch.randn(3, 3), margin=-0.1)
    with pytest.raises(ValueError, match=r"margin must be >= 0 \(got -2\)"):
        MaxMarginRankingLoss(margin=-2)
    with pytest.raises(ValueError, match=r"reduction must be one of .*'avg'"):
        max_margin_ranking_loss(torch.randn(3, 3), reduction="avg")  # type: ignore[arg-type]


def test_bpr_validation() -> None:
    with pytest.raises(ValueError, match=r"pos_scores of shape \(B,\) with B >= 1, got \(3, 1\)"):
        bpr_loss(torch.randn(3, 1), torch.randn(3))
    with pytest.raises(ValueError, match=r"pos_scores .* got \(0,\)"):
        bpr_loss(torch.randn(0), torch.randn(0))
    with pytest.raises(ValueError, match=r"neg_scores of shape \(B,\) or \(B, K\) with B = 3 .* got \(4,\)"):
        bpr_loss(torch.randn(3), torch.randn(4))
    with pytest.raises(ValueError, match=r"neg_scores .* got \(3, 2, 1\)"):
        bpr_loss(torch.randn(3), torch.randn(3, 2, 1))
    with pytest.raises(ValueError, match=r"neg_scores .* got \(3, 0\)"):
        bpr_loss(torch.randn(3), torch.randn(3, 0))
    with pytest.raises(ValueError, match="reduction must be one of"):
        BPRLoss(reduction="avg")  # type: ignore[arg-type]
