"""Leave-one-out ranking metrics (HR@k, NDCG@k, MRR) under BERT4Rec's three evaluation protocols.

Paper: Sun et al., "BERT4Rec: Sequential Recommendation with Bidirectional Encoder Representations
from Transformer", CIKM 2019, arXiv:1904.06690, §4.1 (reference: github.com/FeiSun/BERT4Rec,
``run.py``'s ``EvalHooks``). Protocol differences are what Petrov & Macdonald (2022, arXiv:2207.07483)
found to change BERT4Rec's numbers 2-4x, so the protocol is always part of the result.

With one relevant item per user at 0-based rank r among the candidates:
HR@k = [r < k], NDCG@k = [r < k] / log2(r + 2), MRR = 1 / (r + 1), each averaged over users.
(NDCG@1 equals HR@1 and is not reported separately.)

Protocols (``evaluate_ranking``):

* ``"popularity"`` (the paper's): the target against 100 negatives drawn by popularity. The official
  code draws ``np.random.choice(ids, 101, replace=False, p=count/sum)``, drops the user's items, the
  target and repeats, and keeps going until 100 remain: successive sampling without replacement,
  ∝ count, over the allowed items. :func:`sample_negatives` draws exactly that distribution,
  vectorised over users.
* ``"uniform"``: 100 negatives uniform over the items the user has not interacted with, without
  replacement. (SASRec's and BERT4Rec's ``randint`` loops can repeat a negative; we do not.)
* ``"full"``: the target against every item; the user's other history items are masked out.

Ties are broken pessimistically: a candidate scoring exactly as high as the target counts as ranked
above it, so a constant scorer gets the worst rank, not the best. (The official
``argsort().argsort()`` leaves ties to the sort order.) The excluded history is the user's whole
history, not only the last ``max_len`` items fed to the model; the target is never excluded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ..data.recsys import pad_left

__all__ = ["PROTOCOLS", "ranks_from_scores", "ranking_metrics", "sample_negatives", "evaluate_ranking"]

PROTOCOLS = ("popularity", "uniform", "full")
_SAMPLE_BLOCK = 1024  # rows per negative-sampling draw; fixed so negatives do not depend on batch_size


def ranks_from_scores(scores: Tensor, target_index: int | Tensor = 0) -> Tensor:
    """0-based rank of each row's target among its candidates, ties counted against the target.

    Args:
        scores: (B, C) candidate scores; ``-inf`` marks excluded candidates.
        target_index: column of the target, one int for all rows or a LongTensor (B,).

    Returns:
        LongTensor (B,): number of other candidates scoring >= the target.
    """
    if scores.dim() != 2:
        raise ValueError(f"expected scores of shape (B, C), got {tuple(scores.shape)}")
    if torch.isnan(scores).any():
        raise ValueError("scores contain NaN; a rank would be meaningless")
    rows = torch.arange(scores.shape[0], device=scores.device)
    if isinstance(target_index, Tensor):
        if target_index.shape != (scores.shape[0],):
            raise ValueError(f"expected target_index of shape ({scores.shape[0]},), got {tuple(target_index.shape)}")
        idx = target_index.to(scores.device).long()
    else:
        idx = torch.full((scores.shape[0],), int(target_index), device=scores.device)
    if scores.shape[0] and (idx.min() < 0 or idx.max() >= scores.shape[1]):
        raise ValueError(f"target_index out of range for {scores.shape[1]} candidates")
    target = scores[rows, idx].unsqueeze(1)
    return (scores >= target).sum(dim=1) - 1  # the target itself is >= itself


def ranking_metrics(ranks: Tensor, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """HR@k for every k, NDCG@k for every k > 1, and MRR, averaged over users.

    Args:
        ranks: (N,) 0-based ranks of the relevant item.
    """
    if ranks.dim() != 1:
        raise ValueError(f"expected ranks of shape (N,), got {tuple(ranks.shape)}")
    if len(ranks) == 0:
        raise ValueError("no ranks to average")
    if any(k < 1 for k in ks):
        raise ValueError(f"every k must be >= 1 (got {list(ks)})")
    r = ranks.double()
    gain = 1.0 / torch.log2(r + 2.0)
    out: dict[str, float] = {}
    for k in ks:
        out[f"HR@{k}"] = (r < k).double().mean().item()
    for k in ks:
        if k > 1:
            out[f"NDCG@{k}"] = torch.where(r < k, gain, torch.zeros_like(gain)).mean().item()
    out["MRR"] = (1.0 / (r + 1.0)).mean().item()
    return out


def _history_mask(histories: Sequence[np.ndarray], width: int) -> Tensor:
    """Bool (B, width) with True at every item a row's history contains."""
    lengths = np.fromiter((len(h) for h in histories), dtype=np.int64, count=len(histories))
    mask = torch.zeros(len(histories), width, dtype=torch.bool)
    if lengths.sum():
        items = torch.from_numpy(np.concatenate([np.asarray(h, dtype=np.int64) for h in histories]))
        rows = torch.from_numpy(np.repeat(np.arange(len(histories)), lengths))
        mask[rows, items] = True
    return mask


def _first_occurrences(draws: Tensor) -> Tensor:
    """Bool (B, M): True where a row's value appears for the first time (in column order)."""
    values, order = draws.sort(dim=1, stable=True)
    repeat = torch.zeros_like(draws, dtype=torch.bool)
    repeat[:, 1:] = values[:, 1:] == values[:, :-1]
    return ~torch.zeros_like(repeat).scatter_(1, order, repeat)


def _successive_sample(
    base: Tensor, excluded: Tensor, num_negatives: int, gen: torch.Generator, oversample: int = 2
) -> Tensor:
    """Per row, ``num_negatives`` distinct items drawn one after another ∝ ``base`` among the allowed ones.

    This is the official procedure's distribution: i.i.d. draws from ``base`` over all items, skipping
    excluded items and repeats, keep the first ``num_negatives`` accepted. Step 1 does exactly that with
    ``oversample * num_negatives`` draws per row from one shared CDF (cheap: no (B, V) work). Rows that
    did not fill up continue with an exponential race (keys Exp(1)/w, smallest first) over their
    remaining allowed items, which draws the next items in the same successive order, so the result is
    exact for every row.

    Args:
        base: (V + 1,) float64 non-negative weights (0 = never drawn).
        excluded: (B, V + 1) bool, items a row may not draw.

    Returns:
        LongTensor (B, num_negatives).
    """
    rows, width = excluded.shape
    cdf = base.cumsum(0)
    u = torch.rand(rows, oversample * num_negatives, generator=gen, dtype=torch.float64)
    draws = torch.searchsorted(cdf, u * cdf[-1], right=True).clamp_(max=width - 1)  # (B, M)
    accept = ~excluded.gather(1, draws) & (base[draws] > 0) & _first_occurrences(draws)
    accept &= accept.cumsum(1) <= num_negatives
    got = accept.sum(1)
    out = torch.empty(rows, num_negatives, dtype=torch.long)
    full = got == num_negatives
    out[full] = draws[full][accept[full]].view(-1, num_negatives)
    short = torch.nonzero(~full).flatten()
    if len(short):
        d, a, c = draws[short], accept[short], got[short]
        # Accepted so far, left-aligned in draw order.
        acc = torch.zeros(len(short), num_negatives, dtype=torch.long)
        slot = (a.cumsum(1) - 1).clamp_(min=0)
        acc.scatter_(1, torch.where(a, slot, num_negatives - 1), torch.where(a, d, 0))
        acc[torch.arange(num_negatives) >= c[:, None]] = 0  # clear the dump slot where it was not a real item
        w = base.expand(len(short), -1).clone()
        w[excluded[short]] = 0.0
        w.scatter_(1, torch.where(a, d, 0), 0.0)  # column 0 has weight 0 already
        keys = torch.empty_like(w).exponential_(generator=gen) / w  # inf where w = 0
        race = keys.topk(num_negatives, dim=1, largest=False).indices  # successive order
        j = torch.arange(num_negatives)[None, :]
        out[short] = torch.where(j < c[:, None], acc, race.gather(1, (j - c[:, None]).clamp(min=0)))
    return out


def sample_negatives(
    histories: Sequence[np.ndarray],
    targets: Tensor,
    *,
    num_items: int,
    protocol: str,
    item_counts: Tensor | None = None,
    num_negatives: int = 100,
    seed: int = 0,
) -> Tensor:
    """Distinct negatives per user, never in the user's history and never the target.

    ``"popularity"`` draws ∝ ``item_counts`` (items with count 0 are never drawn, as in the official
    code whose vocabulary holds only seen items), ``"uniform"`` uniformly; both without replacement,
    in successive order (see :func:`_successive_sample`). Drawn in fixed blocks of rows with one
    seeded generator, so the result depends only on the inputs and ``seed``: every model evaluated
    with the same arguments meets the same negatives, whatever its batch size.

    Returns:
        LongTensor (U, num_negatives) of item ids in ``1..num_items``.
    """
    if protocol not in ("popularity", "uniform"):
        raise ValueError(f"negatives are sampled for 'popularity' or 'uniform' (got {protocol!r})")
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be >= 1 (got {num_negatives})")
    if protocol == "popularity":
        if item_counts is None or item_counts.shape != (num_items + 1,):
            shape = None if item_counts is None else tuple(item_counts.shape)
            raise ValueError(f"protocol 'popularity' needs item_counts of shape ({num_items + 1},) (got {shape})")
        if (item_counts < 0).any():
            raise ValueError("item_counts must be >= 0")
        base = item_counts.double().clone()
    else:
        base = torch.ones(num_items + 1, dtype=torch.float64)
    base[0] = 0.0  # padding is never a candidate
    gen = torch.Generator().manual_seed(seed)
    out = torch.empty(len(histories), num_negatives, dtype=torch.long)
    for start in range(0, len(histories), _SAMPLE_BLOCK):
        stop = min(start + _SAMPLE_BLOCK, len(histories))
        excluded = _history_mask(histories[start:stop], num_items + 1)
        excluded[torch.arange(stop - start), targets[start:stop]] = True
        available = (~excluded & (base > 0)).sum(1)
        if (available < num_negatives).any():
            row = int(torch.nonzero(available < num_negatives)[0, 0])
            raise ValueError(
                f"user {start + row} has only {int(available[row])} items left to sample from "
                f"(num_negatives={num_negatives}, protocol={protocol!r})"
            )
        out[start:stop] = _successive_sample(base, excluded, num_negatives, gen)
    return out


@torch.no_grad()
def evaluate_ranking(
    score_fn: Callable[[Tensor, Tensor], Tensor],
    histories: Sequence[np.ndarray],
    targets: Tensor,
    *,
    num_items: int,
    protocol: str,
    item_counts: Tensor | None = None,
    num_negatives: int = 100,
    seed: int = 0,
    batch_size: int = 256,
    max_len: int = 200,
    users: Tensor | None = None,
) -> dict[str, float | int | str]:
    """Rank each user's target under ``protocol`` and average HR@1/5/10, NDCG@5/10 and MRR.

    Args:
        score_fn: ``score_fn(users (B,), histories (B, max_len) left-padded) -> (B, num_items + 1)``
            scores over all item ids (column 0, padding, is ignored).
        histories: per user, the items before the target (oldest first).
        targets: LongTensor (U,) held-out items in ``1..num_items``.
        num_items: V.
        protocol: ``"popularity"``, ``"uniform"`` or ``"full"`` (module docstring).
        item_counts: (V + 1,) popularity counts, needed by ``"popularity"``.
        num_negatives: negatives per user for the sampled protocols (100 in the paper).
        seed: seed of the negative sampling.
        batch_size: users per ``score_fn`` call.
        max_len: history length fed to the model (the last ``max_len`` items).
        users: LongTensor (U,) user indices passed to ``score_fn``; default ``0..U-1``.

    Returns:
        the metrics, plus ``"protocol"``, ``"num_users"`` and ``"num_candidates"`` (per user; for
        ``"full"`` the item count, before the history is masked).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS} (got {protocol!r})")
    if targets.dim() != 1 or len(targets) != len(histories):
        raise ValueError(f"expected targets of shape ({len(histories)},), got {tuple(targets.shape)}")
    if len(targets) == 0:
        raise ValueError("no users to evaluate")
    targets = targets.long()
    if targets.min() < 1 or targets.max() > num_items:
        raise ValueError(f"targets must be item ids in 1..{num_items} (got {int(targets.min())}..{int(targets.max())})")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
    if users is None:
        users = torch.arange(len(targets))
    elif users.shape != targets.shape:
        raise ValueError(f"expected users of shape {tuple(targets.shape)}, got {tuple(users.shape)}")

    negatives = None
    if protocol != "full":
        negatives = sample_negatives(
            histories,
            targets,
            num_items=num_items,
            protocol=protocol,
            item_counts=item_counts,
            num_negatives=num_negatives,
            seed=seed,
        )
    ranks = []
    for start in range(0, len(targets), batch_size):
        stop = min(start + batch_size, len(targets))
        hist = histories[start:stop]
        tgt = targets[start:stop]
        scores = score_fn(users[start:stop], pad_left(list(hist), max_len))
        if scores.shape != (stop - start, num_items + 1):
            want = (stop - start, num_items + 1)
            raise ValueError(f"score_fn must return scores of shape {want}, got {tuple(scores.shape)}")
        scores = scores.detach().float().cpu()
        if protocol == "full":
            # Mask padding and the history, but never the target (a repeat purchase stays rankable).
            excluded = _history_mask(hist, num_items + 1)
            excluded[:, 0] = True
            excluded[torch.arange(stop - start), tgt] = False
            ranks.append(ranks_from_scores(scores.masked_fill(excluded, float("-inf")), tgt))
        else:
            candidates = torch.cat([tgt[:, None], negatives[start:stop]], dim=1)  # (B, 1 + N), target first
            ranks.append(ranks_from_scores(scores.gather(1, candidates), 0))
    result: dict[str, float | int | str] = dict(ranking_metrics(torch.cat(ranks)))
    result["protocol"] = protocol
    result["num_users"] = len(targets)
    result["num_candidates"] = num_items if protocol == "full" else num_negatives + 1
    return result
