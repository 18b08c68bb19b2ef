"""Training objectives of the sequential recommenders, and the datasets that feed them.

Each task turns a batch into a loss (:meth:`training_step`); evaluation is the recipe's. Every model is
called through its ``forward`` (with the cheap scoring path selected by a second argument), so the tasks
also train under DistributedDataParallel. Randomness (masks, negatives) is drawn from torch's global
RNG, which the trainer's checkpoints capture, so a resumed run draws the same masks and negatives.

Batches (LongTensors; item ids 1..num_items, 0 = padding, histories left-padded):

==============================  ====================================================================
``SequenceWindows``             ``seq`` (B, N): windows of a user's items, for :class:`ClozeTask`
``NextItemSequences``           ``(inputs, targets, negatives)``, each (B, N) (negatives (B, N, K) for
                                K > 1, or absent with K = 0): ``targets[:, t]`` is the item after
                                ``inputs[:, t]``; for :class:`SASRecTask` and :class:`GRU4RecTask`
``InteractionTriples``          ``(users, positives, negatives)``, each (B,), for :class:`BPRTask`
==============================  ====================================================================

Tasks:

* :class:`ClozeTask` -- BERT4Rec (Sun et al. 2019, §3.6), as the official data generator
  ``gen_data_fin.py`` builds its instances: in each window, ``min(max_predictions, max(1, round(ρ n)))``
  of the n items are chosen uniformly without replacement and replaced by [MASK] (``mode="bert"``:
  BERT's 80 % [MASK] / 10 % random item / 10 % unchanged); besides the ``dupe_factor = 10`` randomly
  masked copies, the official code adds one instance per window whose only mask is the last item, the
  inference situation, so here a window is masked that way with probability ``last_item_prob = 1/11``.
  The loss is the cross-entropy of the masked items over the whole vocabulary, averaged over all masked
  positions of the batch (``run.py: get_masked_lm_output``; the paper's loss averages per sequence).
  Masks are drawn afresh at every step instead of 10 fixed copies.
* :class:`SASRecTask` -- SASRec (Kang & McAuley 2018, §III-E): at every non-padding position, binary
  cross-entropy of the next item against one negative drawn uniformly from the items the user never
  interacted with (``util.sample_function`` of the official code, exactly: the exclusion uses the user's
  whole training sequence).
* :class:`GRU4RecTask` -- GRU4Rec (Hidasi et al. 2015, §3.1.2): TOP1 or BPR with mini-batch negatives.
  The paper trains on session-parallel mini-batches, where the B sessions' next items at one step are
  each other's negatives. Here the B histories are left-padded to a common length and every time step t
  is such a mini-batch: the negatives of sequence b at step t are the targets of the other sequences at
  step t (the histories are aligned at their most recent item instead of at their first, and a
  history's hidden state starts at zero with its first item as when a session starts in the paper).
* :class:`BPRTask` -- BPR-Opt (Rendle et al. 2009, §4.1-4.2) for MF: ``-ln σ(x̂_ui - x̂_uj)`` plus
  ``λ_W ||w_u||² + λ_H+ ||h_i||² + λ_H- ||h_j||²`` for the parameters each triple touches (the objective
  whose stochastic gradient is LearnBPR's update), averaged over the batch; triples (u, i, j) with i
  observed and j drawn uniformly from the user's unobserved items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from ..data.recsys import pad_left
from ..engine.tasks import StepOutput, Task
from ..losses.ranking import bpr_loss

__all__ = [
    "ClozeTask",
    "SASRecTask",
    "GRU4RecTask",
    "BPRTask",
    "SequenceWindows",
    "NextItemSequences",
    "InteractionTriples",
    "ItemSets",
    "top1_loss",
    "gru4rec_bpr_loss",
]


# ======================================================================================================================
# Datasets
# ======================================================================================================================
def _check_sequences(sequences: Sequence[np.ndarray], num_items: int | None = None) -> None:
    for u, seq in enumerate(sequences):
        seq = np.asarray(seq)
        if seq.ndim != 1:
            raise ValueError(f"sequence {u}: expected a 1-D array of item ids, got shape {seq.shape}")
        if len(seq) and (seq.min() < 1 or (num_items is not None and seq.max() > num_items)):
            bad = seq.min() if seq.min() < 1 else seq.max()
            raise ValueError(f"sequence {u}: item id {bad} is out of range [1, {num_items or 'num_items'}]")


class ItemSets:
    """The set of items each user interacted with, for vectorised membership tests and negative sampling.

    Stored as one sorted LongTensor of keys ``user * (num_items + 1) + item``; membership is a
    ``searchsorted`` look-up.

    Args:
        sequences: one array of item ids per user (row r = user r).
        num_items: items are 1..num_items.
    """

    def __init__(self, sequences: Sequence[np.ndarray], num_items: int) -> None:
        if num_items <= 0:
            raise ValueError(f"num_items must be > 0 (got {num_items})")
        _check_sequences(sequences, num_items)
        self.num_items, self.base = num_items, num_items + 1
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        rows = np.repeat(np.arange(len(sequences), dtype=np.int64), lengths)
        items = np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences]) if len(sequences) else rows
        keys = np.unique(rows * self.base + items)
        distinct = np.bincount(keys // self.base, minlength=len(sequences))
        full = np.flatnonzero(distinct >= num_items)
        if len(full):
            raise ValueError(f"user {full[0]} has interacted with all {num_items} items: no negative item exists")
        self.keys = torch.from_numpy(keys)

    def contains(self, rows: Tensor, items: Tensor) -> Tensor:
        """Whether ``items[...]`` is in the set of user ``rows[...]`` (broadcast): bool of the broadcast shape."""
        key = (rows * self.base + items).reshape(-1)
        if len(self.keys) == 0:
            return torch.zeros_like(key, dtype=torch.bool).view(torch.broadcast_shapes(rows.shape, items.shape))
        idx = torch.searchsorted(self.keys, key).clamp_max(len(self.keys) - 1)
        return (self.keys[idx] == key).view(torch.broadcast_shapes(rows.shape, items.shape))

    def sample_negatives(self, rows: Tensor, shape: tuple[int, ...]) -> Tensor:
        """Items drawn uniformly from 1..num_items outside each user's set: (len(rows), *shape).

        Rejection sampling: only the draws that hit the user's set are redrawn, until none does.
        """
        rows = rows.reshape(-1, *([1] * len(shape)))
        neg = torch.randint(1, self.num_items + 1, (rows.shape[0], *shape))
        bad = self.contains(rows, neg)
        while bad.any():
            redo = bad.nonzero(as_tuple=True)
            neg[redo] = torch.randint(1, self.num_items + 1, (len(redo[0]),))
            bad[redo] = self.contains(rows.expand_as(neg)[redo], neg[redo])
        return neg


class SequenceWindows(Dataset):
    """Training windows of at most ``max_len`` items per user, left-padded, for the Cloze task.

    Args:
        sequences: each user's time-ordered training items (ids 1..num_items); empty ones are skipped.
        max_len: window length N.
        sliding_step: None keeps the last N items of each user (the paper, §3.4); an int reproduces the
            official ``gen_data_fin.py``, which covers a longer history with windows starting at
            ``n - N, n - N - step, ...`` and 0 (its step is ``int(prop_sliding_window * N)``).

    ``get_batch(indices)`` → (B, N) LongTensor.
    """

    def __init__(self, sequences: Sequence[np.ndarray], max_len: int, *, sliding_step: int | None = None) -> None:
        if max_len <= 0:
            raise ValueError(f"max_len must be > 0 (got {max_len})")
        if sliding_step is not None and sliding_step <= 0:
            raise ValueError(f"sliding_step must be > 0 or None (got {sliding_step})")
        _check_sequences(sequences)
        windows: list[np.ndarray] = []
        users: list[int] = []
        for u, seq in enumerate(sequences):
            seq = np.asarray(seq, dtype=np.int64)
            n = len(seq)
            if n == 0:
                continue
            if sliding_step is None or n <= max_len:
                starts = [max(0, n - max_len)]
            else:
                starts = sorted([*range(n - max_len, 0, -sliding_step), 0])
            windows += [seq[s : s + max_len] for s in starts]
            users += [u] * len(starts)
        if not windows:
            raise ValueError("no training windows: every sequence is empty")
        self.max_len = max_len
        self.data = pad_left(windows, max_len)  # (W, N)
        self.users = torch.tensor(users, dtype=torch.long)  # the user of each window

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, i: int) -> Tensor:
        return self.data[i]

    def get_batch(self, indices: Sequence[int]) -> Tensor:
        return self.data[torch.as_tensor(indices, dtype=torch.long)]


class NextItemSequences(Dataset):
    """Next-item training examples, one per user: the last ``max_len + 1`` items split into input and target.

    As the official SASRec sampler: ``inputs`` = the user's items but the last (left-padded, last N),
    ``targets`` = the items one step later, ``negatives`` = for every non-padding target, items drawn
    uniformly from those the user never interacted with (0 at padding). Users with fewer than 2 items
    are skipped.

    Args:
        sequences: each user's time-ordered training items.
        max_len: N.
        num_items: items are 1..num_items.
        num_negatives: K negatives per position (1 in SASRec; 0 returns no negatives, e.g. for GRU4Rec).

    ``get_batch(indices)`` → ``(inputs, targets, negatives)``: (B, N), (B, N), (B, N) for K = 1 or (B, N, K).
    """

    def __init__(
        self, sequences: Sequence[np.ndarray], max_len: int, *, num_items: int, num_negatives: int = 1
    ) -> None:
        if max_len <= 0:
            raise ValueError(f"max_len must be > 0 (got {max_len})")
        if num_negatives < 0:
            raise ValueError(f"num_negatives must be >= 0 (got {num_negatives})")
        _check_sequences(sequences, num_items)
        self.users = torch.tensor([u for u, s in enumerate(sequences) if len(s) >= 2], dtype=torch.long)
        if len(self.users) == 0:
            raise ValueError("no user has at least 2 items")
        kept = [np.asarray(sequences[u]) for u in self.users.tolist()]
        self.max_len, self.num_items, self.num_negatives = max_len, num_items, num_negatives
        self.data = pad_left(kept, max_len + 1)  # (U, N + 1)
        self.item_sets = ItemSets(kept, num_items) if num_negatives else None

    def __len__(self) -> int:
        return self.data.shape[0]

    def get_batch(self, indices: Sequence[int]) -> tuple[Tensor, ...]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        rows = self.data[idx]
        inputs, targets = rows[:, :-1], rows[:, 1:]
        if self.item_sets is None:
            return inputs, targets
        k = self.num_negatives
        neg = self.item_sets.sample_negatives(idx, (self.max_len,) if k == 1 else (self.max_len, k))
        pad = targets == 0
        neg = neg.masked_fill(pad if k == 1 else pad.unsqueeze(-1), 0)
        return inputs, targets, neg


class InteractionTriples(Dataset):
    """BPR training triples (u, i, j): one example per observed (user, item) pair, j sampled per batch.

    The paper's LearnBPR draws (u, i) uniformly with replacement (bootstrap); here the observed pairs are
    visited in a shuffled order each epoch and j is drawn uniformly from the user's unobserved items.

    Args:
        sequences: each user's items (row r = user id r); repeats count once.
        num_items: items are 1..num_items.

    ``get_batch(indices)`` → ``(users, positives, negatives)``, each (B,).
    """

    def __init__(self, sequences: Sequence[np.ndarray], num_items: int) -> None:
        self.item_sets = ItemSets(sequences, num_items)
        keys = self.item_sets.keys
        if len(keys) == 0:
            raise ValueError("no interactions")
        self.users, self.items = keys // (num_items + 1), keys % (num_items + 1)

    def __len__(self) -> int:
        return len(self.users)

    def get_batch(self, indices: Sequence[int]) -> tuple[Tensor, Tensor, Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        users = self.users[idx]
        return users, self.items[idx], self.item_sets.sample_negatives(users, ()).reshape(-1)


# ======================================================================================================================
# Tasks
# ======================================================================================================================
class ClozeTask(Task):
    """BERT4Rec's Cloze objective (Sun et al. 2019, §3.6) with the official code's masking.

    Args:
        mask_prob: ρ, the proportion of a window's items to predict (0.2 ML-1m/ML-20m, 0.6 Beauty, 0.4 Steam).
        mask_token: the [MASK] id (``num_items + 1``); random replacements are drawn from 1..mask_token-1.
        mode: ``"mask"`` replaces every chosen item by [MASK] (the official ``mask_prob=1.0``);
            ``"bert"`` uses BERT's 80 % [MASK] / 10 % random item / 10 % unchanged.
        max_predictions: cap on the masked items per window (``max_predictions_per_seq``); None = no cap.
        last_item_prob: probability that a window instead masks only its last item (1 / (dupe_factor + 1)).

    Batch: (B, N) left-padded item ids (:class:`SequenceWindows`).
    """

    def __init__(
        self,
        mask_prob: float,
        mask_token: int,
        *,
        mode: Literal["mask", "bert"] = "mask",
        max_predictions: int | None = None,
        last_item_prob: float = 1.0 / 11.0,
    ) -> None:
        if not 0.0 < mask_prob <= 1.0:
            raise ValueError(f"mask_prob must be in (0, 1] (got {mask_prob})")
        if mask_token < 2:
            raise ValueError(f"mask_token must be num_items + 1 >= 2 (got {mask_token})")
        if mode not in ("mask", "bert"):
            raise ValueError(f"mode must be 'mask' or 'bert' (got {mode!r})")
        if max_predictions is not None and max_predictions < 1:
            raise ValueError(f"max_predictions must be >= 1 or None (got {max_predictions})")
        if not 0.0 <= last_item_prob <= 1.0:
            raise ValueError(f"last_item_prob must be in [0, 1] (got {last_item_prob})")
        self.mask_prob, self.mask_token, self.mode = mask_prob, mask_token, mode
        self.max_predictions, self.last_item_prob = max_predictions, last_item_prob

    def mask(self, seq: Tensor) -> tuple[Tensor, Tensor]:
        """Choose and replace the items to predict.

        Args:
            seq: (B, N) left-padded item ids.

        Returns:
            ``inputs`` (B, N) with the chosen items replaced, and ``masked`` (B, N) bool marking them
            (never padding; at least one per non-empty window). The labels are ``seq[masked]``.
        """
        b, n = seq.shape
        valid = seq != 0
        count = valid.sum(1)
        # num_to_predict = min(max_predictions, max(1, round(n * rho))) with round half away from zero (Python 2).
        k = torch.floor(count.to(torch.float64) * self.mask_prob + 0.5).long().clamp_min(1)
        if self.max_predictions is not None:
            k = k.clamp_max(self.max_predictions)
        k = torch.minimum(k, count)
        # k positions uniformly without replacement: the k smallest of i.i.d. uniform keys over the items.
        keys = torch.rand(b, n, device=seq.device).masked_fill(~valid, 2.0)
        ranks = keys.argsort(dim=1).argsort(dim=1)
        masked = ranks < k.unsqueeze(1)
        # Some windows predict only their last item (left padding: the last column), as at inference.
        last_only = torch.rand(b, device=seq.device) < self.last_item_prob
        last_col = torch.zeros_like(masked)
        last_col[:, -1] = valid[:, -1]
        masked = torch.where(last_only.unsqueeze(1), last_col, masked)

        inputs = seq.clone()
        if self.mode == "mask":
            return inputs.masked_fill(masked, self.mask_token), masked
        u = torch.rand(b, n, device=seq.device)
        to_mask = masked & (u < 0.8)
        to_random = masked & (u >= 0.8) & (u < 0.9)  # the remaining 10 % keep their item
        random_items = torch.randint(1, self.mask_token, (b, n), device=seq.device)
        inputs = inputs.masked_fill(to_mask, self.mask_token)
        return torch.where(to_random, random_items, inputs), masked

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        seq = batch
        inputs, masked = self.mask(seq)
        labels = seq[masked]  # (M,)
        logits = model(inputs, masked)  # (M, V): hidden states gathered at the masked positions first
        if labels.numel() == 0:
            return StepOutput(logits.sum() * 0.0, {"masked": 0.0})
        loss = F.cross_entropy(logits, labels)  # averaged over every masked item of the batch
        return StepOutput(loss, {"masked": labels.numel() / seq.shape[0]})


class SASRecTask(Task):
    """SASRec's objective (Kang & McAuley 2018, §III-E): binary cross-entropy of next item vs sampled negatives.

    ``loss = Σ_t [ -log σ(r_{o_t, t}) - Σ_k log(1 - σ(r_{j_k, t})) ] / #{t : o_t ≠ 0}`` over the non-padding
    targets o_t of the batch (computed with ``logsigmoid``; the official code adds 1e-24 inside the logs).

    Batch: ``(inputs, targets, negatives)`` from :class:`NextItemSequences`.
    """

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        inputs, targets, negatives = batch
        if negatives.dim() == 2:
            negatives = negatives.unsqueeze(-1)
        items = torch.cat([targets.unsqueeze(-1), negatives], dim=-1)  # (B, N, 1 + K)
        scores = model(inputs, items)
        valid = (targets != 0).to(scores.dtype)
        per_pos = -F.logsigmoid(scores[..., 0]) - F.logsigmoid(-scores[..., 1:]).sum(-1)
        loss = (per_pos * valid).sum() / valid.sum().clamp_min(1.0)
        auc = (
            ((scores[..., 0:1] > scores[..., 1:]).float().mean(-1) * valid).sum() / valid.sum().clamp_min(1.0)
        ).item()
        return StepOutput(loss, {"auc": auc})


def top1_loss(pos: Tensor, neg: Tensor, valid: Tensor) -> Tensor:
    """GRU4Rec's TOP1 loss (Hidasi et al. 2015, §3.1.2) per event.

    ``L_s = 1/N_S Σ_j σ(r̂_j - r̂_i) + σ(r̂_j²)`` over the event's N_S valid negatives.

    Args:
        pos: (...,) scores r̂_i of the target items.
        neg: (..., K) scores r̂_j of the candidate negatives; valid: (..., K) bool, which of them count.

    Returns:
        (...,) losses; NaN-free 0 where an event has no valid negative (callers skip those).
    """
    terms = torch.sigmoid(neg - pos.unsqueeze(-1)) + torch.sigmoid(neg**2)
    return (terms * valid).sum(-1) / valid.sum(-1).clamp_min(1)


def gru4rec_bpr_loss(pos: Tensor, neg: Tensor, valid: Tensor) -> Tensor:
    """GRU4Rec's BPR loss (§3.1.2) per event: ``L_s = -1/N_S Σ_j log σ(r̂_i - r̂_j)`` over valid negatives."""
    terms = bpr_loss(pos.reshape(-1), neg.reshape(pos.numel(), -1), reduction="none").view_as(neg)
    return (terms * valid).sum(-1) / valid.sum(-1).clamp_min(1)


class GRU4RecTask(Task):
    """GRU4Rec's ranking losses with mini-batch negatives, on next-item prediction at every position.

    Args:
        loss: ``"top1"`` (the paper's best) or ``"bpr"``.

    At step t the targets of the batch's B sequences are the candidates; sequence b's positive is its own
    target and its negatives the other sequences' non-padding targets at t (the paper's session-parallel
    sampling; repeated items are not removed, as in the paper). Events without any negative are skipped.

    Batch: ``(inputs, targets)`` or ``(inputs, targets, negatives)`` from :class:`NextItemSequences`
    (sampled negatives, if present, are ignored).
    """

    def __init__(self, loss: Literal["top1", "bpr"] = "top1") -> None:
        if loss not in ("top1", "bpr"):
            raise ValueError(f"loss must be 'top1' or 'bpr' (got {loss!r})")
        self.loss = loss

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        inputs, targets = batch[0], batch[1]
        b = targets.shape[0]
        scores = model(inputs, targets.T)  # (B, N, B): [b, t, c] = score of sequence c's target for b at t
        pos = scores.diagonal(dim1=0, dim2=2).T  # (B, N): [b, t] = scores[b, t, b]
        tv = targets != 0
        others = ~torch.eye(b, dtype=torch.bool, device=targets.device)  # (B, B)
        valid = tv.unsqueeze(-1) & tv.T.unsqueeze(0) & others.unsqueeze(1)  # (B, N, B)
        fn = top1_loss if self.loss == "top1" else gru4rec_bpr_loss
        per_event = fn(pos, scores, valid)
        events = valid.any(-1)
        loss = per_event[events].mean() if events.any() else scores.sum() * 0.0
        return StepOutput(loss, {"events": float(events.sum())})


class BPRTask(Task):
    """BPR-Opt for matrix factorisation (Rendle et al. 2009, §4.1-4.2, LearnBPR).

    ``loss = mean_(u,i,j) [ -ln σ(x̂_ui - x̂_uj) + λ_W ||w_u||² + λ_H+ ||h_i||² + λ_H- ||h_j||² ]``.

    Args:
        reg_user, reg_pos, reg_neg: λ_W, λ_H+, λ_H- (the paper tunes them; LearnBPR's update applies the
            regulariser only to the parameters of the sampled triple, which this objective's gradient does).

    Batch: ``(users, positives, negatives)``, each (B,) (:class:`InteractionTriples`).
    """

    def __init__(self, *, reg_user: float = 0.0, reg_pos: float = 0.0, reg_neg: float = 0.0) -> None:
        for name, v in (("reg_user", reg_user), ("reg_pos", reg_pos), ("reg_neg", reg_neg)):
            if v < 0:
                raise ValueError(f"{name} must be >= 0 (got {v})")
        self.reg_user, self.reg_pos, self.reg_neg = reg_user, reg_pos, reg_neg

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        users, pos, neg = batch
        x = model(users, torch.stack([pos, neg], dim=1))  # (B, 2): x̂_ui, x̂_uj
        loss = bpr_loss(x[:, 0], x[:, 1])
        if self.reg_user or self.reg_pos or self.reg_neg:
            net = getattr(model, "module", model)  # the factors themselves, also under DDP
            reg = (
                self.reg_user * net.user_vectors(users).pow(2).sum(-1)
                + self.reg_pos * net.item_vectors(pos).pow(2).sum(-1)
                + self.reg_neg * net.item_vectors(neg).pow(2).sum(-1)
            )
            loss = loss + reg.mean()
        auc = (x[:, 0] > x[:, 1]).float().mean().item()
        return StepOutput(loss, {"auc": auc})
