"""Video classification metrics: clip accuracy and video accuracy over multi-view testing.

Action-recognition papers report two numbers. Clip accuracy scores every clip on its own (C3D §3.3's
"clip hit@1"). Video accuracy scores a video by averaging the softmax scores of all its views
(spatial crops × temporal clips: Two-stream and TSN use 25 frames × 10 crops, C3D 10 clips,
SlowFast and X3D 10 clips × 3 crops = 30 views) and taking the top-k of the average (C3D's
"video hit@k"; PySlowFast averages softmax scores across views, as here).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["clip_accuracy", "aggregate_views", "video_accuracy"]


def clip_accuracy(logits: Tensor, target: Tensor, *, topk: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """Top-k accuracy of every clip scored alone. logits (N, C), target (N,) -> ``{"top1": ..., "top5": ...}``
    (a k larger than C counts every clip as correct, as k = C would)."""
    if logits.ndim != 2 or target.shape != logits.shape[:1]:
        raise ValueError(
            f"expected logits (N, C) and target (N,) (got {tuple(logits.shape)} and {tuple(target.shape)})"
        )
    if any(k < 1 for k in topk):
        raise ValueError(f"topk values must be >= 1 (got {topk})")
    order = logits.argsort(dim=1, descending=True)
    rank = (order == target[:, None]).float().argmax(dim=1)  # 0-based rank of the true class
    return {f"top{k}": (rank < k).float().mean().item() for k in topk}


def aggregate_views(
    logits: Tensor, video_index: Tensor | None = None, *, num_videos: int | None = None
) -> tuple[Tensor, Tensor]:
    """Average the softmax scores of every video's views.

    Args:
        logits: (V, views, C) with the views of each video in a row, or (N, C) clips with
            ``video_index`` (N,) naming the video (0 .. num_videos - 1) of each.
        video_index: see ``logits``; videos may have different numbers of views.
        num_videos: the number of videos (default: ``video_index.max() + 1``); every video needs a view.

    Returns:
        ``(scores (V, C), views (V,))``: the mean softmax per video and its number of views.
    """
    if video_index is None:
        if logits.ndim != 3:
            raise ValueError(f"expected logits (V, views, C) or (N, C) with video_index (got {tuple(logits.shape)})")
        counts = torch.full((logits.shape[0],), logits.shape[1], device=logits.device)
        return logits.float().softmax(dim=-1).mean(dim=1), counts
    if logits.ndim != 2 or video_index.shape != logits.shape[:1]:
        raise ValueError(
            f"expected logits (N, C) and video_index (N,) (got {tuple(logits.shape)} and {tuple(video_index.shape)})"
        )
    idx = video_index.long()
    if len(idx) and int(idx.min()) < 0:
        raise ValueError(f"video_index must be >= 0 (got {int(idx.min())})")
    v = num_videos if num_videos is not None else (int(idx.max()) + 1 if len(idx) else 0)
    if len(idx) and int(idx.max()) >= v:
        raise ValueError(f"video_index {int(idx.max())} is out of range for num_videos={v}")
    probs = logits.float().softmax(dim=-1)
    sums = torch.zeros(v, logits.shape[1], device=probs.device).index_add_(0, idx, probs)
    counts = torch.zeros(v, device=probs.device).index_add_(0, idx, torch.ones(len(idx), device=probs.device))
    if (counts == 0).any():
        missing = (counts == 0).nonzero()[0].item()
        raise ValueError(f"video {missing} has no views")
    return sums / counts[:, None], counts.long()


def video_accuracy(
    logits: Tensor,
    target: Tensor,
    video_index: Tensor | None = None,
    *,
    num_videos: int | None = None,
    topk: tuple[int, ...] = (1, 5),
) -> dict[str, float]:
    """Top-k accuracy of the view-averaged softmax (:func:`aggregate_views`).

    Args:
        logits: (V, views, C), or (N, C) with ``video_index``.
        target: (V,) per video, or (N,) per clip (then all clips of a video must agree).

    Returns:
        ``{"top1": ..., "top5": ...}`` over videos.
    """
    scores, _ = aggregate_views(logits, video_index, num_videos=num_videos)
    if video_index is not None and target.shape == video_index.shape:
        per_video = torch.full((scores.shape[0],), -1, dtype=torch.long, device=target.device)
        per_video.scatter_(0, video_index.long(), target.long())
        if (per_video[video_index.long()] != target.long()).any():
            raise ValueError("clips of one video have different targets")
        target = per_video
    if target.shape != scores.shape[:1]:
        raise ValueError(f"expected one target per video ({scores.shape[0]}) (got {tuple(target.shape)})")
    return clip_accuracy(scores, target, topk=topk)
