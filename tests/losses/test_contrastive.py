"""Tests for paperzoo.losses.contrastive against naive references written from the papers' equations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from paperzoo.losses.contrastive import (
    ContrastivePairLoss,
    NTXentLoss,
    contrastive_pair_loss,
    info_nce_loss,
    nt_xent_loss,
)

SEEDS = [0, 1, 2, 3]


# ----------------------------------------------------------------------------------------------------------------------
# Naive pure-Python references (float64 via Python floats), one loop per sum in the papers' equations
# ----------------------------------------------------------------------------------------------------------------------
def _rows(t: torch.Tensor) -> list[list[float]]:
    return t.detach().double().tolist()


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def _cos(a: list[float], b: list[float]) -> float:
    return _dot(a, b) / (math.sqrt(_dot(a, a)) * math.sqrt(_dot(b, b)))


def naive_pair_loss(x1: torch.Tensor, x2: torch.Tensor, same: torch.Tensor, margin: float) -> list[float]:
    """Hadsell et al. 2006 eq. (4), with the paper's Y (0 = similar, 1 = dissimilar)."""
    out = []
    for a, b, s in zip(_rows(x1), _rows(x2), same.tolist()):
        y = 0 if s else 1
        d = math.sqrt(sum((p - q) ** 2 for p, q in zip(a, b)))
        out.append((1 - y) * 0.5 * d**2 + y * 0.5 * max(0.0, margin - d) ** 2)
    return out


def naive_nt_xent(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    """SimCLR eq. (1) + Algorithm 1 with the paper's interleaved indexing: views 2k and 2k+1 (0-based) are a pair."""
    views: list[list[float]] = []
    for a, b in zip(_rows(z1), _rows(z2)):
        views += [a, b]
    two_n = len(views)

    def ell(i: int, j: int) -> float:
        num = math.exp(_cos(views[i], views[j]) / tau)
        den = 0.0
        for k in range(two_n):
            if k != i:  # 1[k != i]: only the anchor itself is excluded, the positive stays in
                den += math.exp(_cos(views[i], views[k]) / tau)
        return -math.log(num / den)

    total = 0.0
    for k in range(two_n // 2):
        total += ell(2 * k, 2 * k + 1) + ell(2 * k + 1, 2 * k)
    return total / two_n


def naive_info_nce(
    query: torch.Tensor, keys_pos: torch.Tensor, keys_neg: list[list[list[float]]] | None, tau: float, cosine: bool
) -> float:
    """CPC eq. (4): -log f(pos) / sum_{x in {pos} + negatives} f(x), f = exp(score / tau); mean over queries."""
    score = _cos if cosine else _dot
    q_rows, p_rows = _rows(query), _rows(keys_pos)
    total = 0.0
    for i, (q, p) in enumerate(zip(q_rows, p_rows)):
        negs = [p_rows[j] for j in range(len(p_rows)) if j != i] if keys_neg is None else keys_neg[i]
        num = math.exp(score(q, p) / tau)
        den = num
        for k in negs:
            den += math.exp(score(q, k) / tau)
        total += -math.log(num / den)
    return total / len(q_rows)


# ----------------------------------------------------------------------------------------------------------------------
# Contrastive pair loss
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("margin", [0.5, 1.0, 3.0])
def test_pair_loss_matches_naive(seed: int, margin: float) -> None:
    g = torch.Generator().manual_seed(seed)
    x1 = torch.randn(12, 5, generator=g, dtype=torch.float64)
    x2 = x1 + 0.6 * torch.randn(12, 5, generator=g, dtype=torch.float64)  # mix of distances below/above the margin
    same = torch.rand(12, generator=g) < 0.5
    ref = naive_pair_loss(x1, x2, same, margin)
    per_pair = contrastive_pair_loss(x1, x2, same, margin=margin, reduction="none")
    torch.testing.assert_close(per_pair, torch.tensor(ref, dtype=torch.float64), rtol=1e-12, atol=1e-12)
    mean = contrastive_pair_loss(x1, x2, same.long(), margin=margin)
    assert mean.item() == pytest.approx(sum(ref) / len(ref), rel=1e-12)
    total = ContrastivePairLoss(margin=margin, reduction="sum")(x1, x2, same.float())
    assert total.item() == pytest.approx(sum(ref), rel=1e-12)


def test_pair_loss_hand_cases() -> None:
    x = torch.tensor([[1.0, 2.0]])
    # identical embeddings, similar -> 0
    assert contrastive_pair_loss(x, x.clone(), torch.tensor([True])).item() == 0.0
    # dissimilar at distance >= margin -> 0
    far = torch.tensor([[1.0, 3.0]])  # distance exactly 1
    assert contrastive_pair_loss(x, far, torch.tensor([False]), margin=1.0).item() == 0.0
    assert contrastive_pair_loss(x, x + 5.0, torch.tensor([0]), margin=1.0).item() == 0.0
    # dissimilar at distance 0.5, margin 1 -> 1/2 * 0.5^2 = 0.125
    half = torch.tensor([[1.3, 2.4]])  # (0.3, 0.4) -> distance 0.5
    assert contrastive_pair_loss(x, half, torch.tensor([0]), margin=1.0).item() == pytest.approx(0.125, rel=1e-6)
    # similar at distance 0.5 -> 1/2 * 0.25 = 0.125 as well; similar at distance 2 -> 2
    assert contrastive_pair_loss(x, half, torch.tensor([1])).item() == pytest.approx(0.125, rel=1e-6)
    assert contrastive_pair_loss(x, x + torch.tensor([[2.0, 0.0]]), torch.tensor([1])).item() == pytest.approx(2.0)
    # identical embeddings, dissimilar -> 1/2 m^2
    assert contrastive_pair_loss(x, x.clone(), torch.tensor([0]), margin=2.0).item() == pytest.approx(2.0)


def test_pair_loss_label_convention_is_not_papers_y() -> None:
    # same=1 must pull together: a similar pair at distance 0.5 with margin 1 is 0.125, and it does NOT give the
    # dissimilar value (which would be the result if `same` were used as the paper's Y).
    x1 = torch.zeros(1, 2)
    x2 = torch.tensor([[3.0, 0.0]])
    assert contrastive_pair_loss(x1, x2, torch.tensor([1]), margin=1.0).item() == pytest.approx(4.5)
    assert contrastive_pair_loss(x1, x2, torch.tensor([0]), margin=1.0).item() == 0.0


def test_pair_loss_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    x1 = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    x2 = (x1.detach() + 0.4 * torch.randn(6, 3, generator=g, dtype=torch.float64)).requires_grad_(True)
    same = torch.tensor([1, 0, 1, 0, 0, 1])
    assert torch.autograd.gradcheck(lambda a, b: contrastive_pair_loss(a, b, same, margin=1.0), (x1, x2))


def test_pair_loss_gradient_finite_at_zero_distance() -> None:
    x1 = torch.tensor([[0.5, -1.0], [2.0, 2.0]], requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)  # D = 0 for both pairs
    loss = contrastive_pair_loss(x1, x2, torch.tensor([0, 1]), margin=1.0)
    loss.backward()
    assert torch.isfinite(x1.grad).all() and torch.isfinite(x2.grad).all()
    assert loss.item() == pytest.approx(0.25)  # (1/2 * 1^2 + 0) / 2
    # Sanity: a naive sqrt of the squared distance really does produce NaN here, so the test above can fail.
    y1 = x1.detach().clone().requires_grad_(True)
    (1.0 - (y1 - x2.detach()).pow(2).sum(dim=1).sqrt()).clamp_min(0).pow(2).sum().backward()
    assert torch.isnan(y1.grad).any()


def test_pair_loss_decreases_for_closer_similar_pairs() -> None:
    g = torch.Generator().manual_seed(0)
    x1 = torch.randn(8, 4, generator=g)
    noise = torch.randn(8, 4, generator=g)
    same = torch.ones(8)
    losses = [contrastive_pair_loss(x1, x1 + s * noise, same).item() for s in (1.0, 0.5, 0.1)]
    assert losses[0] > losses[1] > losses[2]


# ----------------------------------------------------------------------------------------------------------------------
# NT-Xent
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_nt_xent_matches_naive(seed: int, tau: float) -> None:
    g = torch.Generator().manual_seed(seed)
    n = 2 + seed  # includes small batches
    z1 = torch.randn(n, 6, generator=g, dtype=torch.float64)
    z2 = torch.randn(n, 6, generator=g, dtype=torch.float64) * 3.0  # unnormalised on purpose
    ref = naive_nt_xent(z1, z2, tau)
    assert nt_xent_loss(z1, z2, temperature=tau).item() == pytest.approx(ref, rel=1e-10)
    assert NTXentLoss(temperature=tau, reduction="sum")(z1, z2).item() == pytest.approx(ref * 2 * n, rel=1e-10)
    assert nt_xent_loss(z1, z2, temperature=tau, reduction="none").shape == (2 * n,)


def test_nt_xent_hand_case() -> None:
    # N = 1: the only other view is the positive, so the softmax has one term and the loss is exactly 0.
    assert nt_xent_loss(torch.randn(1, 3), torch.randn(1, 3)).item() == pytest.approx(0.0, abs=1e-7)
    # N = 2, z1 = z2 = orthonormal pair, tau = 1: anchor 0 has sims {pos: 1, neg: 0, neg: 0}
    # -> -log(e / (e + 2)) for every anchor.
    e = torch.eye(2)
    expected = -math.log(math.e / (math.e + 2))
    assert nt_xent_loss(e, e, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_denominator_includes_positive() -> None:
    # If the positive were wrongly dropped from the denominator (the misprint), identical views with orthogonal
    # negatives would give -log(e^{1/tau} / (2 e^0)) < 0; the correct loss is positive and tends to 0 as tau -> 0.
    e = torch.eye(3, dtype=torch.float64)
    loss = nt_xent_loss(e, e, temperature=0.1).item()
    assert loss > 0
    assert loss == pytest.approx(-math.log(math.exp(10) / (math.exp(10) + 4)), rel=1e-5)


def test_nt_xent_pair_order_invariance_and_symmetry() -> None:
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(7, 5, generator=g, dtype=torch.float64)
    z2 = torch.randn(7, 5, generator=g, dtype=torch.float64)
    base = nt_xent_loss(z1, z2)
    perm = torch.randperm(7, generator=g)
    torch.testing.assert_close(nt_xent_loss(z1[perm], z2[perm]), base)
    torch.testing.assert_close(nt_xent_loss(z2, z1), base)
    # per-anchor losses follow the permutation / swap
    per = nt_xent_loss(z1, z2, reduction="none")
    torch.testing.assert_close(
        nt_xent_loss(z1[perm], z2[perm], reduction="none"), torch.cat([per[:7][perm], per[7:][perm]])
    )
    torch.testing.assert_close(nt_xent_loss(z2, z1, reduction="none"), torch.cat([per[7:], per[:7]]))
    # scale invariance (cosine similarity)
    torch.testing.assert_close(nt_xent_loss(4.0 * z1, 0.3 * z2), base)
    # permuting only one side breaks the pairing and must change the loss
    assert not torch.allclose(nt_xent_loss(z1, z2[perm]), base)


def test_nt_xent_decreases_when_positives_more_similar() -> None:
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(16, 32, generator=g)
    noise = torch.randn(16, 32, generator=g)
    losses = [nt_xent_loss(z1, z1 + s * noise, temperature=0.5).item() for s in (2.0, 1.0, 0.5, 0.1, 0.0)]
    assert all(a > b for a, b in zip(losses, losses[1:])), losses


def test_nt_xent_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: nt_xent_loss(a, b, temperature=0.5), (z1, z2))


def test_nt_xent_is_symmetric_info_nce_over_2n_views() -> None:
    # NT-Xent = mean of InfoNCE with cosine similarity where each z1[i] has positive z2[i] and negatives
    # {z1[k], z2[k] : k != i}, and vice versa.
    g = torch.Generator().manual_seed(3)
    n = 5
    z1 = torch.randn(n, 4, generator=g, dtype=torch.float64)
    z2 = torch.randn(n, 4, generator=g, dtype=torch.float64)

    def negs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.cat([a[torch.arange(n) != i], b[torch.arange(n) != i]]) for i in range(n)])

    a = info_nce_loss(z1, z2, negs(z1, z2), temperature=0.3)
    b = info_nce_loss(z2, z1, negs(z2, z1), temperature=0.3)
    assert nt_xent_loss(z1, z2, temperature=0.3).item() == pytest.approx(((a + b) / 2).item(), rel=1e-10)


# ----------------------------------------------------------------------------------------------------------------------
# InfoNCE
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("normalize", [True, False])
def test_info_nce_in_batch_matches_naive(seed: int, normalize: bool) -> None:
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(6, 4, generator=g, dtype=torch.float64)
    k = torch.randn(6, 4, generator=g, dtype=torch.float64)
    tau = 0.07 if normalize else 2.0
    ref = naive_info_nce(q, k, None, tau, cosine=normalize)
    got = info_nce_loss(q, k, temperature=tau, normalize=normalize)
    assert got.item() == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("normalize", [True, False])
def test_info_nce_explicit_negatives_matches_naive(seed: int, normalize: bool) -> None:
    g = torch.Generator().manual_seed(seed)
    b, kk, d = 5, 7, 4
    q = torch.randn(b, d, generator=g, dtype=torch.float64)
    kp = torch.randn(b, d, generator=g, dtype=torch.float64)
    kn = torch.randn(b, kk, d, generator=g, dtype=torch.float64)
    tau = 0.2 if normalize else 1.5
    ref = naive_info_nce(q, kp, kn.tolist(), tau, cosine=normalize)
    assert info_nce_loss(q, kp, kn, temperature=tau, normalize=normalize).item() == pytest.approx(ref, rel=1e-10)
    # shared (K, D) negatives = the same negatives repeated per query
    shared = kn[0]
    ref_shared = naive_info_nce(q, kp, [shared.tolist()] * b, tau, cosine=normalize)
    got_shared = info_nce_loss(q, kp, shared, temperature=tau, normalize=normalize)
    assert got_shared.item() == pytest.approx(ref_shared, rel=1e-10)
    per = info_nce_loss(q, kp, kn, temperature=tau, normalize=normalize, reduction="none")
    assert per.shape == (b,)
    assert per.sum().item() == pytest.approx(ref * b, rel=1e-10)


def test_info_nce_hand_case() -> None:
    q = torch.tensor([[1.0, 0.0]])
    kp = torch.tensor([[2.0, 0.0]])  # cosine 1
    kn = torch.tensor([[[0.0, 5.0]]])  # cosine 0
    expected = math.log(1 + math.exp(-1.0))  # -log(e / (e + 1)) with tau = 1
    assert info_nce_loss(q, kp, kn, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)
    # one query, in-batch: no negatives -> 0
    assert info_nce_loss(q, kp).item() == pytest.approx(0.0, abs=1e-7)


def test_info_nce_decreases_when_positives_more_similar() -> None:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(16, 32, generator=g)
    noise = torch.randn(16, 32, generator=g)
    losses = [info_nce_loss(q, q + s * noise, temperature=0.1).item() for s in (2.0, 1.0, 0.5, 0.0)]
    assert all(a > b for a, b in zip(losses, losses[1:])), losses


def test_info_nce_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    kp = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    kn = torch.randn(3, 2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: info_nce_loss(a, b, c, temperature=0.5), (q, kp, kn))
    assert torch.autograd.gradcheck(lambda a, b: info_nce_loss(a, b, temperature=0.5, normalize=False), (q, kp))


def test_info_nce_in_batch_equals_cross_entropy_on_logits() -> None:
    g = torch.Generator().manual_seed(5)
    q = torch.randn(8, 3, generator=g, dtype=torch.float64)
    k = torch.randn(8, 3, generator=g, dtype=torch.float64)
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / 0.07
    expected = F.cross_entropy(logits, torch.arange(8))
    torch.testing.assert_close(info_nce_loss(q, k), expected)


# ----------------------------------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------------------------------
def test_pair_loss_validation() -> None:
    a, b = torch.randn(3, 2), torch.randn(3, 2)
    same = torch.tensor([1, 0, 1])
    with pytest.raises(ValueError, match=r"x1 and x2 of shape \(N, D\), got \(3, 2\) and \(4, 2\)"):
        contrastive_pair_loss(a, torch.randn(4, 2), same)
    with pytest.raises(ValueError, match=r"got \(3,\) and \(3,\)"):
        contrastive_pair_loss(a[:, 0], b[:, 0], same)
    with pytest.raises(ValueError, match="non-empty batch"):
        contrastive_pair_loss(torch.randn(0, 2), torch.randn(0, 2), torch.tensor([]))
    with pytest.raises(ValueError, match=r"margin must be >= 0 \(got -0.5\)"):
        contrastive_pair_loss(a, b, same, margin=-0.5)
    with pytest.raises(ValueError, match=r"margin must be >= 0 \(got -1.0\)"):
        ContrastivePairLoss(margin=-1.0)
    with pytest.raises(ValueError, match=r"same of shape \(3,\), got \(2,\)"):
        contrastive_pair_loss(a, b, torch.tensor([1, 0]))
    with pytest.raises(ValueError, match=r"only 0/1.*2"):
        contrastive_pair_loss(a, b, torch.tensor([1, 0, 2]))
    with pytest.raises(ValueError, match=r"reduction must be one of .*'avg'"):
        contrastive_pair_loss(a, b, same, reduction="avg")  # type: ignore[arg-type]


def test_nt_xent_validation() -> None:
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"z1 and z2 of shape \(N, D\), got \(4, 3\) and \(4, 2\)"):
        nt_xent_loss(z, torch.randn(4, 2))
    with pytest.raises(ValueError, match=r"got \(2, 2, 3\) and \(2, 2, 3\)"):
        nt_xent_loss(torch.randn(2, 2, 3), torch.randn(2, 2, 3))
    with pytest.raises(ValueError, match=r"temperature must be > 0 \(got 0.0\)"):
        nt_xent_loss(z, z, temperature=0.0)
    with pytest.raises(ValueError, match=r"temperature must be > 0 \(got -0.1\)"):
        NTXentLoss(temperature=-0.1)
    with pytest.raises(ValueError, match=r"temperature must be > 0 \(got nan\)"):
        nt_xent_loss(z, z, temperature=float("nan"))
    with pytest.raises(ValueError, match="non-empty batch"):
        nt_xent_loss(torch.randn(0, 3), torch.randn(0, 3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        NTXentLoss(reduction="max")  # type: ignore[arg-type]


def test_info_nce_validation() -> None:
    q = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"query and keys_pos of shape \(N, D\), got \(4, 3\) and \(5, 3\)"):
        info_nce_loss(q, torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"got \(3,\) and \(3,\)"):
        info_nce_loss(q[0], q[0])
    with pytest.raises(ValueError, match=r"keys_neg of shape .* got \(3, 2, 3\)"):
        info_nce_loss(q, q, torch.randn(3, 2, 3))  # wrong B
    with pytest.raises(ValueError, match=r"keys_neg of shape .* got \(4, 2, 5\)"):
        info_nce_loss(q, q, torch.randn(4, 2, 5))  # wrong D
    with pytest.raises(ValueError, match=r"keys_neg of shape .* got \(6, 2\)"):
        info_nce_loss(q, q, torch.randn(6, 2))  # shared, wrong D
    with pytest.raises(ValueError, match=r"keys_neg of shape .* got \(4, 0, 3\)"):
        info_nce_loss(q, q, torch.randn(4, 0, 3))  # K = 0
    with pytest.raises(ValueError, match=r"keys_neg of shape .* got \(4,\)"):
        info_nce_loss(q, q, torch.randn(4))
    with pytest.raises(ValueError, match=r"temperature must be > 0 \(got -1\)"):
        info_nce_loss(q, q, temperature=-1)
    with pytest.raises(ValueError, match="reduction must be one of"):
        info_nce_loss(q, q, reduction="avg")  # type: ignore[arg-type]
