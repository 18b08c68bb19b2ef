"""Clip and video accuracy against naive loops over clips and videos."""

from __future__ import annotations

import math

import pytest
import torch

from paperzoo.metrics.video import aggregate_views, clip_accuracy, video_accuracy


def _naive_topk(scores: list[list[float]], target: list[int], k: int) -> float:
    hits = 0
    for row, t in zip(scores, target):
        better = sum(1 for j, s in enumerate(row) if s > row[t] or (s == row[t] and j < t))
        hits += better < k
    return hits / len(target)


def _softmax(row: list[float]) -> list[float]:
    m = max(row)
    e = [math.exp(v - m) for v in row]
    return [v / sum(e) for v in e]


def test_clip_accuracy_matches_a_naive_loop() -> None:
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(200, 12, generator=g), torch.randint(0, 12, (200,), generator=g)
    got = clip_accuracy(logits, target, topk=(1, 5))
    for k in (1, 5):
        assert got[f"top{k}"] == pytest.approx(_naive_topk(logits.tolist(), target.tolist(), k))
    assert clip_accuracy(logits, target, topk=(12,))["top12"] == 1.0
    with pytest.raises(ValueError, match="expected logits"):
        clip_accuracy(logits, target[:5])


def test_video_accuracy_averages_softmax_over_views() -> None:
    g = torch.Generator().manual_seed(1)
    videos, views, classes = 40, 30, 7  # e.g. 10 clips x 3 crops
    logits = 2 * torch.randn(videos, views, classes, generator=g)
    target = torch.randint(0, classes, (videos,), generator=g)
    got = video_accuracy(logits, target)
    averaged = []
    for v in range(videos):
        probs = [_softmax(logits[v, i].tolist()) for i in range(views)]
        averaged.append([sum(p[c] for p in probs) / views for c in range(classes)])
    for k in (1, 5):
        assert got[f"top{k}"] == pytest.approx(_naive_topk(averaged, target.tolist(), k))
    # Averaging softmax differs from averaging logits on purpose: check the scores, not only the accuracy.
    scores, counts = aggregate_views(logits)
    torch.testing.assert_close(scores, torch.tensor(averaged))
    assert counts.tolist() == [views] * videos


def test_video_accuracy_from_shuffled_clips_with_varying_views() -> None:
    g = torch.Generator().manual_seed(2)
    views = torch.randint(1, 6, (15,), generator=g)
    views[0] = 3
    video_index = torch.repeat_interleave(torch.arange(15), views)
    order = torch.randperm(len(video_index), generator=g)
    video_index = video_index[order]
    logits = torch.randn(len(video_index), 9, generator=g)
    per_video = torch.randint(0, 9, (15,), generator=g)
    got = video_accuracy(logits, per_video[video_index], video_index, topk=(1, 3))
    averaged = []
    for v in range(15):
        rows = [_softmax(logits[i].tolist()) for i in range(len(video_index)) if video_index[i] == v]
        averaged.append([sum(r[c] for r in rows) / len(rows) for c in range(9)])
    for k in (1, 3):
        assert got[f"top{k}"] == pytest.approx(_naive_topk(averaged, per_video.tolist(), k))
    assert video_accuracy(logits, per_video, video_index, topk=(1,))["top1"] == got["top1"]
    bad = per_video[video_index].clone()
    bad[(video_index == 0).nonzero()[0]] = (per_video[0] + 1) % 9
    with pytest.raises(ValueError, match="different targets"):
        video_accuracy(logits, bad, video_index)
    with pytest.raises(ValueError, match="has no views"):
        aggregate_views(logits, video_index, num_videos=16)
