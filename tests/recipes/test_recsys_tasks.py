"""Recommendation training objectives against naive per-position computations, masking statistics, the
datasets' sampling rules, and a learning test per task (each drives its tiny model to overfit tiny data)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from paperzoo.models.recsys.bert4rec import bert4rec_tiny
from paperzoo.models.recsys.gru4rec import gru4rec_tiny
from paperzoo.models.recsys.mf_bpr import mf_bpr_tiny
from paperzoo.models.recsys.sasrec import sasrec_tiny
from paperzoo.recipes.recsys_tasks import (
    BPRTask,
    ClozeTask,
    GRU4RecTask,
    InteractionTriples,
    ItemSets,
    NextItemSequences,
    SASRecTask,
    SequenceWindows,
    gru4rec_bpr_loss,
    top1_loss,
)

MASK = 1001  # num_items = 1000


@pytest.fixture(autouse=True)
def _one_thread():
    # The learning tests take many tiny steps; one intra-op thread is much faster on a shared 2-core machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_windows(b: int, n: int, num_items: int = 1000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, n + 1, (b,), generator=g)
    seq = torch.randint(1, num_items + 1, (b, n), generator=g)
    return seq.masked_fill(torch.arange(n) < (n - lengths)[:, None], 0)


# ----------------------------------------------------------------------------------------------------------------------
# Cloze masking
# ----------------------------------------------------------------------------------------------------------------------
def test_cloze_masks_the_official_number_of_items_uniformly_and_never_padding() -> None:
    torch.manual_seed(0)
    seq = _random_windows(4000, 20)
    task = ClozeTask(0.2, MASK, last_item_prob=0.0, max_predictions=3)
    inputs, masked = task.mask(seq)
    n = (seq != 0).sum(1)
    expected = torch.clamp(torch.floor(n * 0.2 + 0.5), min=1).clamp_max(3).long()  # min(cap, max(1, round(n rho)))
    assert torch.equal(masked.sum(1), expected)
    assert not masked[seq == 0].any()
    assert torch.equal(inputs[masked], torch.full_like(seq[masked], MASK))
    assert torch.equal(inputs[~masked], seq[~masked])
    # Uniform over positions: in full windows (n = 20, k = 3) every column is masked with probability 3/20.
    full = masked[n == 20].float()
    assert full.shape[0] > 100
    assert (full.mean(0) - 3 / 20).abs().max() < 0.1
    # Proportion rho without a cap.
    _, masked = ClozeTask(0.4, MASK, last_item_prob=0.0).mask(seq)
    long = n >= 10
    ratio = masked[long].sum() / n[long].sum()
    assert abs(ratio.item() - 0.4) < 0.03


def test_cloze_masks_only_the_last_item_in_a_fraction_of_windows() -> None:
    torch.manual_seed(0)
    seq = torch.randint(1, 1001, (5000, 20))  # full windows: regular masking picks 4 items
    _, masked = ClozeTask(0.2, MASK, last_item_prob=0.25).mask(seq)
    last_only = (masked.sum(1) == 1) & masked[:, -1]
    assert abs(last_only.float().mean().item() - 0.25) < 0.02
    assert torch.equal(masked[~last_only].sum(1), torch.full(((~last_only).sum(),), 4))


def test_cloze_bert_mode_80_10_10() -> None:
    torch.manual_seed(0)
    seq = torch.randint(1, 1001, (4000, 20))
    inputs, masked = ClozeTask(0.5, MASK, mode="bert", last_item_prob=0.0).mask(seq)
    assert torch.equal(inputs[~masked], seq[~masked])
    got, orig = inputs[masked], seq[masked]
    total = got.numel()
    as_mask = (got == MASK).sum().item() / total
    kept = (got == orig).sum().item() / total
    randomised = ((got != MASK) & (got != orig)).sum().item() / total
    assert abs(as_mask - 0.8) < 0.01 and abs(kept - 0.1) < 0.01 and abs(randomised - 0.1) < 0.01
    assert got[got != MASK].max() <= 1000 and got.min() >= 1


def test_cloze_loss_is_cross_entropy_at_masked_positions_only() -> None:
    torch.manual_seed(0)
    model = bert4rec_tiny().eval()
    seq = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 0, 9, 10, 11]])
    task = ClozeTask(0.4, model.mask_token, last_item_prob=0.0)
    torch.manual_seed(1)
    loss = task.training_step(model, seq).loss
    torch.manual_seed(1)
    inputs, masked = task.mask(seq)
    logits = model.head(model.encode(inputs))  # (B, L, V), the expensive way
    terms = []
    for b in range(seq.shape[0]):
        for i in range(seq.shape[1]):
            if masked[b, i]:
                terms.append(-torch.log_softmax(logits[b, i], -1)[seq[b, i]])
    assert len(terms) == masked.sum() == 2 + 3 + 1
    torch.testing.assert_close(loss, torch.stack(terms).mean())


def test_cloze_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="mask_prob"):
        ClozeTask(0.0, MASK)
    with pytest.raises(ValueError, match="mode"):
        ClozeTask(0.2, MASK, mode="other")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------------------
# SASRec, GRU4Rec and BPR losses
# ----------------------------------------------------------------------------------------------------------------------
def test_sasrec_bce_equals_hand_computation() -> None:
    torch.manual_seed(0)
    model = sasrec_tiny().eval()
    inputs = torch.tensor([[0, 0, 0, 4, 9, 1, 17, 3], [5, 6, 7, 8, 9, 10, 11, 12]])
    targets = torch.tensor([[0, 0, 4, 9, 1, 17, 3, 2], [6, 7, 8, 9, 10, 11, 12, 13]])
    negatives = torch.tensor([[0, 0, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1, 1]])
    loss = SASRecTask().training_step(model, (inputs, targets, negatives)).loss
    scores = model(inputs)
    total, count = 0.0, 0
    for b in range(2):
        for t in range(8):
            if targets[b, t] != 0:
                p, q = torch.sigmoid(scores[b, t, targets[b, t]]), torch.sigmoid(scores[b, t, negatives[b, t]])
                total = total - torch.log(p) - torch.log(1 - q)
                count += 1
    torch.testing.assert_close(loss, total / count)


def test_top1_and_bpr_equal_their_formulas() -> None:
    torch.manual_seed(0)
    pos, neg = torch.randn(4), torch.randn(4, 5)
    valid = torch.rand(4, 5) > 0.3
    valid[0] = True
    for b in range(4):
        js = [j for j in range(5) if valid[b, j]]
        if not js:
            continue
        top1 = sum(torch.sigmoid(neg[b, j] - pos[b]) + torch.sigmoid(neg[b, j] ** 2) for j in js) / len(js)
        bpr = -sum(math.log(torch.sigmoid(pos[b] - neg[b, j]).item()) for j in js) / len(js)
        torch.testing.assert_close(top1_loss(pos, neg, valid)[b], top1)
        torch.testing.assert_close(gru4rec_bpr_loss(pos, neg, valid)[b].item(), bpr, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("loss_name", ["top1", "bpr"])
def test_gru4rec_task_uses_the_other_sequences_targets_as_negatives(loss_name: str) -> None:
    torch.manual_seed(0)
    model = gru4rec_tiny().eval()
    inputs = torch.tensor([[0, 0, 0, 4, 9], [5, 6, 7, 8, 9], [0, 0, 1, 2, 3]])
    targets = torch.tensor([[0, 0, 4, 9, 1], [6, 7, 8, 9, 10], [0, 0, 2, 3, 4]])
    loss = GRU4RecTask(loss_name).training_step(model, (inputs, targets)).loss
    scores = model(inputs)
    events = []
    for b in range(3):
        for t in range(5):
            negs = [c for c in range(3) if c != b and targets[c, t] != 0]
            if targets[b, t] == 0 or not negs:
                continue
            r_i = scores[b, t, targets[b, t]]
            r_j = torch.stack([scores[b, t, targets[c, t]] for c in negs])
            if loss_name == "top1":
                events.append((torch.sigmoid(r_j - r_i) + torch.sigmoid(r_j**2)).mean())
            else:
                events.append(-torch.log(torch.sigmoid(r_i - r_j)).mean())
    assert len(events) == 3 * 3  # t = 0, 1: only sequence 1 has a target, so it has no negative
    torch.testing.assert_close(loss, torch.stack(events).mean())


def test_bpr_task_is_neg_log_sigmoid_plus_l2() -> None:
    torch.manual_seed(0)
    model = mf_bpr_tiny()
    users, pos, neg = torch.tensor([0, 3, 3]), torch.tensor([1, 2, 20]), torch.tensor([5, 6, 7])
    W, H = model.user_factors.weight, model.item_factors.weight
    x_ui = (W[users] * H[pos - 1]).sum(-1)
    x_uj = (W[users] * H[neg - 1]).sum(-1)
    plain = BPRTask().training_step(model, (users, pos, neg)).loss
    torch.testing.assert_close(plain, (-torch.log(torch.sigmoid(x_ui - x_uj))).mean())
    reg = BPRTask(reg_user=0.1, reg_pos=0.01, reg_neg=0.001).training_step(model, (users, pos, neg)).loss
    l2 = 0.1 * W[users].pow(2).sum(-1) + 0.01 * H[pos - 1].pow(2).sum(-1) + 0.001 * H[neg - 1].pow(2).sum(-1)
    torch.testing.assert_close(reg, (-torch.log(torch.sigmoid(x_ui - x_uj)) + l2).mean())


# ----------------------------------------------------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------------------------------------------------
def test_sequence_windows_follow_the_official_sliding_window() -> None:
    seqs = [np.arange(1, 13), np.array([7, 8]), np.array([], dtype=np.int64)]
    ds = SequenceWindows(seqs, 5, sliding_step=2)
    # n = 12, N = 5: starts range(7, 0, -2) + [0] = 0, 1, 3, 5, 7 (gen_data_fin.py), then the short user
    starts = [0, 1, 3, 5, 7]
    expected = [list(range(s + 1, s + 6)) for s in starts] + [[0, 0, 0, 7, 8]]
    assert ds.get_batch(list(range(len(ds)))).tolist() == expected
    assert ds.users.tolist() == [0] * 5 + [1]
    last = SequenceWindows(seqs, 5)  # the paper: the last N items
    assert last.get_batch([0, 1]).tolist() == [[8, 9, 10, 11, 12], [0, 0, 0, 7, 8]]


def test_next_item_sequences_and_negatives_outside_the_users_items() -> None:
    torch.manual_seed(0)
    seqs = [np.array([1, 2, 3, 4, 5, 6]), np.array([9]), np.array([7, 8, 7, 3])]
    ds = NextItemSequences(seqs, 4, num_items=10)
    assert len(ds) == 2 and ds.users.tolist() == [0, 2]  # the one-item user is skipped
    inputs, targets, negs = ds.get_batch([0, 1])
    assert inputs.tolist() == [[2, 3, 4, 5], [0, 7, 8, 7]]
    assert targets.tolist() == [[3, 4, 5, 6], [7, 8, 7, 3]]
    assert negs[1, 0] != 0
    for _ in range(50):
        _, targets, negs = ds.get_batch([0, 1])
        assert not np.isin(negs[0].numpy(), seqs[0]).any()
        assert not np.isin(negs[1].numpy(), seqs[2]).any() and (negs[1] > 0).all()
    _, _, many = NextItemSequences(seqs, 4, num_items=10, num_negatives=3).get_batch([0])
    assert many.shape == (1, 4, 3)


def test_interaction_triples_and_item_sets() -> None:
    torch.manual_seed(0)
    seqs = [np.array([1, 2, 2, 3]), np.array([4])]
    ds = InteractionTriples(seqs, 5)
    assert len(ds) == 4  # repeats count once
    users, pos, neg = ds.get_batch([0, 1, 2, 3])
    assert users.tolist() == [0, 0, 0, 1] and pos.tolist() == [1, 2, 3, 4]
    for _ in range(50):
        _, _, neg = ds.get_batch([0, 1, 2, 3])
        assert set(neg[:3].tolist()) <= {4, 5} and neg[3].item() != 4
    sets = ItemSets(seqs, 5)
    assert sets.contains(torch.tensor([[0], [1]]), torch.tensor([[1, 4], [1, 4]])).tolist() == [
        [True, False],
        [False, True],
    ]
    with pytest.raises(ValueError, match="user 0 has interacted with all 3 items"):
        ItemSets([np.array([1, 2, 3])], 3)
    with pytest.raises(ValueError, match="item id 0"):
        ItemSets([np.array([0, 2])], 3)


# ----------------------------------------------------------------------------------------------------------------------
# Learning: each task fits a tiny data set
# ----------------------------------------------------------------------------------------------------------------------
def _toy_sequences(num_users: int = 16, num_items: int = 20, length: int = 10) -> list[np.ndarray]:
    # Item i is always followed by i + 1 (mod 20): learnable from the left, the right or the user.
    return [np.array([(3 * u + t) % num_items + 1 for t in range(length)]) for u in range(num_users)]


def _fit(model, task, batch_fn, steps: int = 60, lr: float = 1e-2) -> tuple[float, float]:
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = task.training_step(model, batch_fn()).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return float(np.mean(losses[:3])), float(np.mean(losses[-5:]))


def test_cloze_task_overfits_and_predicts_the_next_item() -> None:
    torch.manual_seed(0)
    model = bert4rec_tiny(dropout=0.0)
    ds = SequenceWindows(_toy_sequences(), 8)
    batch = ds.get_batch(list(range(len(ds)))).repeat(8, 1)  # 8 differently masked copies (the dupe factor)
    first, last = _fit(model, ClozeTask(0.3, model.mask_token), lambda: batch, steps=100, lr=1e-2)
    assert last < 0.3 * first, (first, last)
    # Inference appends [MASK]: the item after 3, 4, ..., 8 is 9 (the chain i -> i + 1 of the data).
    model.eval()
    hist = torch.tensor([[(s + t) % 20 + 1 for t in range(6)] for s in range(20)])
    pred = model.full_sort_predict(torch.zeros(20, dtype=torch.long), hist).argmax(-1)
    assert (pred == (hist[:, -1] % 20) + 1).float().mean() >= 0.8


def test_sasrec_task_overfits() -> None:
    torch.manual_seed(0)
    model = sasrec_tiny(dropout=0.0)
    ds = NextItemSequences(_toy_sequences(), 8, num_items=20)
    idx = list(range(len(ds)))
    first, last = _fit(model, SASRecTask(), lambda: ds.get_batch(idx))
    assert last < 0.3 * first, (first, last)


@pytest.mark.parametrize("loss_name", ["top1", "bpr"])
def test_gru4rec_task_overfits(loss_name: str) -> None:
    torch.manual_seed(0)
    model = gru4rec_tiny()
    ds = NextItemSequences(_toy_sequences(), 8, num_items=20, num_negatives=0)
    batch = ds.get_batch(list(range(len(ds))))
    first, last = _fit(model, GRU4RecTask(loss_name), lambda: batch, lr=2e-2)
    floor = 0.5 if loss_name == "top1" else 0.0  # TOP1's regulariser sigma(r_j^2) is at least 1/2
    assert last - floor < 0.3 * (first - floor), (first, last)


def test_bpr_task_overfits() -> None:
    torch.manual_seed(0)
    model = mf_bpr_tiny(num_users=16)
    ds = InteractionTriples(_toy_sequences(length=5), 20)
    idx = list(range(len(ds)))
    first, last = _fit(model, BPRTask(reg_user=1e-4, reg_pos=1e-4, reg_neg=1e-4), lambda: ds.get_batch(idx), lr=5e-2)
    assert last < 0.3 * first, (first, last)
