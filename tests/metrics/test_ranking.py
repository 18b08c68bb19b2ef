"""HR/NDCG/MRR and the three BERT4Rec protocols: hand-computed cases, a naive loop, the sampling law."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from paperzoo.metrics.ranking import evaluate_ranking, ranking_metrics, ranks_from_scores, sample_negatives

# ---------------------------------------------------------------- hand-computed fixture
# 3 users, 6 items. Columns of SCORES are item ids 0..6 (column 0 = padding, ignored).
SCORES = torch.tensor(
    [
        [9.0, 0.9, 0.1, 0.5, 0.7, 0.3, 0.5],  # user 0: history {1, 2}, target 3 (item 6 ties it)
        [9.0, 0.2, 0.8, 0.1, 0.95, 0.6, 0.3],  # user 1: history {4, 3}, target 5
        [9.0, 0.4, 0.9, 0.3, 0.1, 0.2, 0.95],  # user 2: history {6, 2, 1}, target 2 (a repeat: stays rankable)
    ]
)
HISTORIES = [np.array([1, 2]), np.array([4, 3]), np.array([6, 2, 1])]
TARGETS = torch.tensor([3, 5, 2])
COUNTS = torch.tensor([0, 0, 5, 1, 0, 2, 3])  # items 1 and 4 are never drawn by popularity


def _score_fn(users, histories):
    assert histories.shape == (len(users), 200)
    return SCORES[users]


def _metrics_for(ranks: list[int]) -> dict[str, float]:
    """HR/NDCG/MRR written out from the definitions."""
    n = len(ranks)
    out = {f"HR@{k}": sum(r < k for r in ranks) / n for k in (1, 5, 10)}
    for k in (5, 10):
        out[f"NDCG@{k}"] = sum(1 / math.log2(r + 2) for r in ranks if r < k) / n
    out["MRR"] = sum(1 / (r + 1) for r in ranks) / n
    return out


def _check(result: dict, ranks: list[int], protocol: str) -> None:
    assert result["protocol"] == protocol and result["num_users"] == 3
    for key, value in _metrics_for(ranks).items():
        assert result[key] == pytest.approx(value, abs=1e-12), key


def test_full_protocol_hand_computed():
    # user 0: 1 and 2 masked; 4 (0.7) above, 6 (0.5) ties -> rank 2
    # user 1: 4 and 3 masked; only 2 (0.8) above 0.6 -> rank 1
    # user 2: 6 and 1 masked, target 2 kept although it is in the history -> rank 0
    result = evaluate_ranking(_score_fn, HISTORIES, TARGETS, num_items=6, protocol="full")
    _check(result, [2, 1, 0], "full")
    assert result["HR@1"] == pytest.approx(1 / 3)
    assert result["NDCG@5"] == pytest.approx((0.5 + 1 / math.log2(3) + 1) / 3)
    assert result["MRR"] == pytest.approx((1 / 3 + 1 / 2 + 1) / 3)
    assert result["num_candidates"] == 6


def test_uniform_protocol_hand_computed():
    # Each user has exactly 3 non-history items, so 3 uniform negatives are all of them.
    result = evaluate_ranking(_score_fn, HISTORIES, TARGETS, num_items=6, protocol="uniform", num_negatives=3)
    _check(result, [2, 1, 0], "uniform")
    assert result["num_candidates"] == 4


def test_popularity_protocol_hand_computed():
    # Counts 0 for items 1 and 4 leave exactly 2 drawable negatives per user:
    # user 0: {5, 6} -> 6 ties 0.5 -> rank 1; user 1: {2, 6} -> 2 above -> rank 1; user 2: {3, 5} -> rank 0
    result = evaluate_ranking(
        _score_fn, HISTORIES, TARGETS, num_items=6, protocol="popularity", item_counts=COUNTS, num_negatives=2
    )
    _check(result, [1, 1, 0], "popularity")
    assert result["NDCG@5"] == pytest.approx((2 / math.log2(3) + 1) / 3)


def test_ties_are_pessimistic():
    scores = torch.tensor([[1.0, 1.0, 1.0], [2.0, 1.0, 2.0], [3.0, 1.0, 2.0]])
    assert ranks_from_scores(scores).tolist() == [2, 1, 0]
    assert ranks_from_scores(scores, torch.tensor([1, 1, 2])).tolist() == [2, 2, 1]
    # a constant scorer is ranked last under full ranking, not first
    const = evaluate_ranking(
        lambda u, h: torch.zeros(len(u), 7), HISTORIES, TARGETS, num_items=6, protocol="full", max_len=4
    )
    # every user has 4 candidates left after masking: all tie, so every target is ranked last (3)
    assert const["HR@1"] == 0.0 and const["MRR"] == pytest.approx(1 / 4)


def test_ranking_metrics_keys_and_values():
    m = ranking_metrics(torch.tensor([0, 4, 5, 9, 10]))
    assert set(m) == {"HR@1", "HR@5", "HR@10", "NDCG@5", "NDCG@10", "MRR"}
    assert m == pytest.approx(_metrics_for([0, 4, 5, 9, 10]))


# ---------------------------------------------------------------- against a naive per-user loop


def _naive_rank(row: list[float], target_col: int, allowed: list[int]) -> int:
    t = row[target_col]
    return sum(1 for j in allowed if j != target_col and row[j] >= t)


def _random_case(seed: int, users: int = 40, items: int = 30):
    rng = np.random.default_rng(seed)
    # Integer scores in a small range: many ties.
    scores = torch.from_numpy(rng.integers(0, 6, size=(users, items + 1)).astype(np.float32))
    histories = [rng.choice(np.arange(1, items + 1), size=rng.integers(0, 12), replace=False) for _ in range(users)]
    targets = torch.from_numpy(rng.integers(1, items + 1, size=users))
    return scores, histories, targets


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_matches_naive_loop(seed):
    scores, histories, targets = _random_case(seed)
    items = scores.shape[1] - 1
    got = evaluate_ranking(
        lambda u, h: scores[u], histories, targets, num_items=items, protocol="full", batch_size=7, max_len=5
    )
    naive = []
    for u in range(len(targets)):
        t = int(targets[u])
        allowed = [j for j in range(1, items + 1) if j == t or j not in set(histories[u].tolist())]
        naive.append(_naive_rank(scores[u].tolist(), t, allowed))
    for key, value in _metrics_for(naive).items():
        assert got[key] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("protocol", ["popularity", "uniform"])
def test_sampled_matches_naive_loop_and_negatives_are_valid(protocol):
    scores, histories, targets = _random_case(3, users=60)
    items = scores.shape[1] - 1
    counts = torch.from_numpy(np.random.default_rng(9).integers(1, 50, size=items + 1))
    kw = dict(num_items=items, protocol=protocol, item_counts=counts, num_negatives=10, seed=5)
    negatives = sample_negatives(histories, targets, **kw)
    assert negatives.shape == (60, 10)
    for u in range(60):
        neg = negatives[u].tolist()
        assert len(set(neg)) == 10  # distinct
        assert int(targets[u]) not in neg
        assert not set(neg) & set(histories[u].tolist())
        assert all(1 <= n <= items for n in neg)
    got = evaluate_ranking(lambda u, h: scores[u], histories, targets, batch_size=11, **kw)
    naive = []
    for u in range(60):
        t = int(targets[u])
        row = scores[u].tolist()
        naive.append(sum(1 for n in negatives[u].tolist() if row[n] >= row[t]))
    for key, value in _metrics_for(naive).items():
        assert got[key] == pytest.approx(value, abs=1e-12)
    # the same negatives whatever the batch size
    again = evaluate_ranking(lambda u, h: scores[u], histories, targets, batch_size=60, **kw)
    assert again == got


# ---------------------------------------------------------------- the sampling law


def _exact_inclusion(weights: dict[int, float], k: int) -> dict[int, float]:
    """P(item among k successive draws without replacement, each ∝ weight among the remaining)."""
    incl = dict.fromkeys(weights, 0.0)
    for order in itertools.permutations(weights, k):
        p, left = 1.0, sum(weights.values())
        for item in order:
            p *= weights[item] / left
            left -= weights[item]
        for item in order:
            incl[item] += p
    return incl


def _official_draw(rng, counts: np.ndarray, rated: set[int], k: int) -> list[int]:
    """BERT4Rec's EvalHooks loop: choice(ids, 101, replace=False, p) minus rated, until k remain."""
    ids = np.flatnonzero(counts)
    p = counts[ids] / counts[ids].sum()
    picked: list[int] = []
    while len(picked) < k:
        sampled = rng.choice(ids, min(len(ids), k + 1), replace=False, p=p)
        picked.extend(int(x) for x in sampled if x not in rated and x not in picked)
    return picked[:k]


@pytest.mark.parametrize(
    "counts, history",
    [
        # ~80% of rows fill up from the shared CDF, the rest finish with the race: both paths in one law
        ([0, 10, 8, 1, 2, 3, 4, 6, 9], []),
        # the two heavy items are in the history: nearly every row finishes with the race
        ([0, 1000, 800, 1, 2, 3, 4, 6, 9], [1, 2]),
    ],
    ids=["mixed-paths", "race-path"],
)
def test_popularity_sampling_follows_successive_sampling_law(counts, history):
    counts, history = np.array(counts), np.array(history, dtype=np.int64)
    users, k, target = 20000, 3, 8
    negatives = sample_negatives(
        [history] * users,
        torch.full((users,), target),
        num_items=8,
        protocol="popularity",
        item_counts=torch.from_numpy(counts),
        num_negatives=k,
        seed=1,
    )
    allowed = {i: float(counts[i]) for i in range(1, 9) if i != target and i not in set(history.tolist())}
    exact = _exact_inclusion(allowed, k)
    freq = np.bincount(negatives.flatten().numpy(), minlength=9) / users
    for item, p in exact.items():
        assert freq[item] == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / users) + 1e-3), item
    # The official loop has the same law (checked on fewer draws: it is a Python loop).
    rng = np.random.default_rng(0)
    n_off = 3000
    official = np.zeros(9)
    for _ in range(n_off):
        official[_official_draw(rng, counts, set(history.tolist()) | {target}, k)] += 1
    for item, p in exact.items():
        assert official[item] / n_off == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n_off) + 1e-3), item


def test_single_popularity_draw_is_proportional_to_counts():
    from scipy.stats import chisquare

    counts = torch.tensor([0, 1, 2, 4, 8, 16, 32, 64, 0, 128])  # item 8 has count 0: never drawn
    users = 20000
    neg = sample_negatives(
        [np.array([], dtype=np.int64)] * users,
        torch.full((users,), 1),
        num_items=9,
        protocol="popularity",
        item_counts=counts,
        num_negatives=1,
        seed=0,
    )
    freq = np.bincount(neg.flatten().numpy(), minlength=10)
    assert freq[0] == 0 and freq[1] == 0 and freq[8] == 0
    expected = counts[2:].double().numpy()
    expected = np.delete(expected, 6)  # drop item 8
    observed = np.delete(freq[2:], 6)
    assert chisquare(observed, expected / expected.sum() * users).pvalue > 1e-3


def test_uniform_sampling_is_uniform_over_unseen_items():
    users = 12000
    neg = sample_negatives(
        [np.array([2, 5])] * users, torch.full((users,), 7), num_items=10, protocol="uniform", num_negatives=4, seed=3
    )
    freq = np.bincount(neg.flatten().numpy(), minlength=11) / users
    assert freq[[0, 2, 5, 7]].sum() == 0
    np.testing.assert_allclose(freq[[1, 3, 4, 6, 8, 9, 10]], 4 / 7, atol=0.02)


def test_sampling_is_seeded():
    _, histories, targets = _random_case(4)
    kw = dict(num_items=30, protocol="uniform", num_negatives=8)
    a = sample_negatives(histories, targets, seed=1, **kw)
    assert torch.equal(a, sample_negatives(histories, targets, seed=1, **kw))
    assert not torch.equal(a, sample_negatives(histories, targets, seed=2, **kw))


# ---------------------------------------------------------------- argument checks


def test_argument_errors():
    kw = dict(num_items=6)
    with pytest.raises(ValueError, match="protocol must be one of"):
        evaluate_ranking(_score_fn, HISTORIES, TARGETS, protocol="sampled", **kw)
    with pytest.raises(ValueError, match="needs item_counts"):
        evaluate_ranking(_score_fn, HISTORIES, TARGETS, protocol="popularity", **kw)
    with pytest.raises(ValueError, match="user 0 has only 3 items left"):
        evaluate_ranking(_score_fn, HISTORIES, TARGETS, protocol="uniform", num_negatives=4, **kw)
    with pytest.raises(ValueError, match="shape"):
        evaluate_ranking(lambda u, h: torch.zeros(len(u), 6), HISTORIES, TARGETS, protocol="full", **kw)
    with pytest.raises(ValueError, match="1..6"):
        evaluate_ranking(_score_fn, HISTORIES, torch.tensor([3, 5, 7]), protocol="full", **kw)
    with pytest.raises(ValueError, match="NaN"):
        ranks_from_scores(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="expected scores"):
        ranks_from_scores(torch.zeros(3))
