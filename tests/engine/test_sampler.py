"""ResumableBatchSampler order, resumption and sharding; iterate_batches."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

from paperzoo.engine.trainer import ResumableBatchSampler, iterate_batches


def _epoch(sampler: ResumableBatchSampler, epoch: int) -> list[list[int]]:
    sampler.set_position(epoch * sampler.batches_per_epoch)
    return list(sampler)


def _stream(num_items, batch_size, seed, epochs, **kw) -> list[list[int]]:
    """The uninterrupted stream of batches, epoch after epoch, as the trainer draws it."""
    sampler = ResumableBatchSampler(num_items, batch_size, seed=seed, **kw)
    out: list[list[int]] = []
    for e in range(epochs):
        out += _epoch(sampler, e)
    return out


def test_each_epoch_is_a_permutation_prefix():
    n, bs = 23, 5
    sampler = ResumableBatchSampler(n, bs, seed=7)
    assert sampler.batches_per_epoch == 4 and len(sampler) == 4
    for e in range(3):
        batches = _epoch(sampler, e)
        assert len(batches) == 4
        assert all(len(b) == bs for b in batches)
        flat = [i for b in batches for i in b]
        assert len(set(flat)) == len(flat) == 20
        assert set(flat) <= set(range(n))
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(7 * 100_003 + e)).tolist()
        assert flat == perm[:20]


def test_same_seed_and_epoch_same_order_different_epoch_or_seed_differs():
    a = ResumableBatchSampler(50, 10, seed=3)
    b = ResumableBatchSampler(50, 10, seed=3)
    c = ResumableBatchSampler(50, 10, seed=4)
    assert _epoch(a, 0) == _epoch(b, 0)
    assert _epoch(a, 2) == _epoch(b, 2)
    assert _epoch(a, 0) != _epoch(a, 1)
    assert _epoch(a, 0) != _epoch(c, 0)
    assert list(a) == list(a)  # iterating twice at the same position repeats


def test_unshuffled_is_in_order():
    sampler = ResumableBatchSampler(7, 3, seed=0, shuffle=False)
    assert list(sampler) == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("k", [0, 1, 3, 4, 5, 9, 11])
def test_set_position_resumes_the_uninterrupted_stream(k):
    n, bs, epochs = 17, 4, 3  # 4 batches per epoch
    stream = _stream(n, bs, 5, epochs)
    assert len(stream) == 12
    resumed = ResumableBatchSampler(n, bs, seed=5)
    got: list[list[int]] = []
    consumed = k
    while consumed < len(stream):  # the trainer's loop: set the position, drain the epoch, repeat
        resumed.set_position(consumed)
        assert len(resumed) == resumed.batches_per_epoch - consumed % resumed.batches_per_epoch
        batches = list(resumed)
        assert len(batches) == len(resumed)
        got += batches
        consumed += len(batches)
    assert got == stream[k:]


def test_set_position_position_fields():
    sampler = ResumableBatchSampler(17, 4, seed=0)
    sampler.set_position(9)
    assert (sampler.epoch, sampler.start) == (2, 1)
    assert len(sampler) == 3


def test_two_ranks_concatenate_to_single_process_batch():
    n, bs = 30, 6
    single = _stream(n, bs, 2, 2)
    r0 = _stream(n, bs, 2, 2, rank=0, world_size=2)
    r1 = _stream(n, bs, 2, 2, rank=1, world_size=2)
    assert len(single) == len(r0) == len(r1) == 10
    for whole, a, b in zip(single, r0, r1):
        assert len(a) == len(b) == 3
        assert a + b == whole
        assert not set(a) & set(b)


def test_two_ranks_resume_in_step():
    single = _stream(30, 6, 2, 2)
    for rank in (0, 1):
        s = ResumableBatchSampler(30, 6, seed=2, rank=rank, world_size=2)
        s.set_position(7)
        assert list(s) == [b[rank * 3 : rank * 3 + 3] for b in single[7:10]]


@pytest.mark.parametrize(("bs", "ws"), [(5, 2), (7, 3), (0, 1)])
def test_batch_size_must_be_positive_multiple_of_world_size(bs, ws):
    with pytest.raises(ValueError, match=rf"multiple of the {ws} processes \(got {bs}\)"):
        ResumableBatchSampler(100, bs, seed=0, world_size=ws)


def test_dataset_smaller_than_a_batch():
    with pytest.raises(ValueError, match=r"has 3 items, fewer than train\.batch_size=4"):
        ResumableBatchSampler(3, 4, seed=0)
    assert ResumableBatchSampler(4, 4, seed=0).batches_per_epoch == 1


# ---------------------------------------------------------------- iterate_batches


class _Squares(Dataset):
    """A plain map-style dataset with no ``get_batch``: items are (tensor [i, i*i], label i % 3)."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return torch.tensor([float(i), float(i * i)]), i % 3


class _WithGetBatch(_Squares):
    def __init__(self):
        self.calls = []

    def get_batch(self, idx):
        self.calls.append(list(idx))
        return ("batch", list(idx))


def test_iterate_batches_tensor_dataset_slices_rows():
    x = torch.arange(20.0).reshape(10, 2)
    y = torch.arange(10) * 10
    ds = TensorDataset(x, y)
    out = list(iterate_batches(ds, [[3, 0, 7], [9]]))
    assert len(out) == 2
    xb, yb = out[0]
    assert torch.equal(xb, torch.tensor([[6.0, 7.0], [0.0, 1.0], [14.0, 15.0]]))
    assert torch.equal(yb, torch.tensor([30, 0, 70]))
    assert torch.equal(out[1][0], torch.tensor([[18.0, 19.0]]))
    assert torch.equal(out[1][1], torch.tensor([90]))


def test_iterate_batches_plain_dataset_via_dataloader_matches_tensor_dataset():
    ds = _Squares()
    as_tensors = TensorDataset(torch.stack([ds[i][0] for i in range(10)]), torch.tensor([ds[i][1] for i in range(10)]))
    sampler = ResumableBatchSampler(10, 4, seed=1)
    plain = list(iterate_batches(ds, sampler))
    fast = list(iterate_batches(as_tensors, sampler))
    assert len(plain) == len(fast) == 2
    for (xa, ya), (xb, yb), idx in zip(plain, fast, list(sampler)):
        assert torch.equal(xa, xb)
        assert torch.equal(ya, yb)
        assert torch.equal(xa[:, 0], torch.tensor(idx, dtype=torch.float32))
        assert torch.equal(xa[:, 1], torch.tensor(idx, dtype=torch.float32) ** 2)
        assert ya.tolist() == [i % 3 for i in idx]


def test_iterate_batches_uses_get_batch_when_present():
    ds = _WithGetBatch()
    out = list(iterate_batches(ds, [[1, 2], [5]]))
    assert out == [("batch", [1, 2]), ("batch", [5])]
    assert ds.calls == [[1, 2], [5]]


def test_iterate_batches_collate_fn_goes_through_dataloader():
    ds = TensorDataset(torch.arange(6.0), torch.arange(6))

    def collate(items):
        return sum(float(x) for x, _ in items)

    assert list(iterate_batches(ds, [[0, 1, 2], [5]], collate_fn=collate)) == [3.0, 5.0]
