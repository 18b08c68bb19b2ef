"""Classification metrics: top-k accuracy, ±1 accuracy and the majority-class baseline."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["accuracy", "binary_accuracy", "majority_class_accuracy"]


def accuracy(logits: Tensor, target: Tensor, *, k: int = 1) -> float:
    """Fraction of rows whose target is among the ``k`` highest logits. logits (N, C), target (N,)."""
    if logits.dim() != 2 or target.shape != logits.shape[:1]:
        raise ValueError(f"expected logits (N, C) and target (N,), got {tuple(logits.shape)} and {tuple(target.shape)}")
    top = logits.topk(k, dim=-1).indices
    return (top == target[:, None]).any(-1).float().mean().item()


def binary_accuracy(scores: Tensor, target: Tensor) -> Tensor:
    """Accuracy of sign(score) against ±1 targets, per column. scores (N,) or (N, K), target (N,)."""
    if scores.shape[0] != target.shape[0]:
        raise ValueError(f"scores and target disagree on N: {tuple(scores.shape)} vs {tuple(target.shape)}")
    t = target if scores.dim() == 1 else target[:, None]
    # A score of exactly 0 is predicted +1 (sign with ties to the positive class, as LIBSVM does).
    pred = torch.where(scores >= 0, 1.0, -1.0)
    return (pred == t).float().mean(0)


def majority_class_accuracy(train_target: Tensor, test_target: Tensor) -> float:
    """Accuracy on ``test_target`` of always predicting the most frequent class of ``train_target``."""
    values, counts = torch.unique(train_target, return_counts=True)
    majority = values[counts.argmax()]
    return (test_target == majority).float().mean().item()
