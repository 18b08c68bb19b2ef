"""Classification Accuracy Score and classifier-based rejection sampling for class-conditional generative models.

* Classification Accuracy Score (Ravuri & Vinyals, "Classification Accuracy Score for Conditional Generative
  Models", NeurIPS 2019, arXiv:1905.10887), as used by VQ-VAE-2 (Razavi, van den Oord & Vinyals 2019,
  arXiv:1906.00446, §5.2 and Table 2): train a classifier *only* on generated images, labelled with the class
  each was conditioned on, and report its accuracy on the *real* test set. A model whose class-conditional
  samples are recognisable and diverse scores close to a classifier trained on real data; one that ignores the
  label scores chance, 1/K. :func:`classification_accuracy_score` runs that pipeline with any ``fit`` function.
* Classifier-based rejection sampling (VQ-VAE-2 §3.3): a classifier trained on real data scores each sample by
  the probability it gives the class the sample was conditioned on (:func:`intended_class_scores`), and only the
  top fraction is kept (:func:`top_fraction`, optionally within each class so the kept set stays balanced).
  Keeping fewer samples trades diversity (recall) for quality (precision), the trade-off of the paper's Figure 5.

The reference CAS implementation trains a ResNet-50 on 1.28M samples (as many as ImageNet's training set); the
recipes here train a paperzoo classifier on however many samples their config asks for and say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

__all__ = [
    "intended_class_scores",
    "top_fraction",
    "predict",
    "accuracy_on",
    "classification_accuracy_score",
    "TensorPairs",
]


def intended_class_scores(probs: Tensor, labels: Tensor) -> Tensor:
    """p(y = intended class | x) per sample: probs (N, K) rows of class probabilities, labels (N,) → (N,)."""
    if probs.dim() != 2 or labels.dim() != 1 or len(labels) != len(probs):
        raise ValueError(f"expected probs (N, K) and labels (N,), got {tuple(probs.shape)} and {tuple(labels.shape)}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= probs.shape[1]):
        raise ValueError(f"expected labels in [0, {probs.shape[1]}), got [{int(labels.min())}, {int(labels.max())}]")
    return probs.gather(1, labels.long()[:, None]).squeeze(1)


def _kept(count: int, fraction: float) -> int:
    """Items a kept ``fraction`` of ``count`` keeps: ceil(fraction · count), at least one of a non-empty set."""
    return min(count, max(1 if count else 0, math.ceil(fraction * count - 1e-9)))


def top_fraction(scores: Tensor, fraction: float, groups: Tensor | None = None) -> Tensor:
    """Indices of the highest-scoring ``fraction`` of items, overall or within each group; sorted ascending.

    Each group (class) keeps ceil(fraction · its size) items, so the kept set keeps the class balance of the
    samples. Ties are broken by index (the earlier item is kept), so the selection is deterministic.

    Args:
        scores: (N,) e.g. :func:`intended_class_scores`.
        fraction: in (0, 1]; 1 keeps everything.
        groups: (N,) integer group ids (the intended classes), or None for one group.

    Returns:
        (M,) long indices into ``scores``, in increasing order.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1] (got {fraction})")
    if scores.dim() != 1:
        raise ValueError(f"expected scores of shape (N,), got {tuple(scores.shape)}")
    n = len(scores)
    if groups is None:
        groups = torch.zeros(n, dtype=torch.long, device=scores.device)
    if groups.shape != scores.shape:
        raise ValueError(f"expected groups of shape ({n},), got {tuple(groups.shape)}")
    # Order by (group, score descending, index): a stable sort on the score, then a stable sort on the group.
    order = torch.sort(scores.double(), descending=True, stable=True).indices
    order = order[torch.sort(groups[order], stable=True).indices]
    sorted_groups = groups[order]
    _, counts = torch.unique_consecutive(sorted_groups, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts  # first position of each group in ``order``
    rank = torch.arange(n, device=scores.device) - torch.repeat_interleave(starts, counts)  # rank within group
    keep = torch.tensor([_kept(int(c), fraction) for c in counts], device=scores.device)  # one entry per group
    selected = order[rank < torch.repeat_interleave(keep, counts)]
    return selected.sort().values


@torch.no_grad()
def predict(model: nn.Module, images: Tensor, *, batch_size: int = 512) -> Tensor:
    """Class probabilities (N, K) of a classifier for images (N, C, H, W), in eval mode, on the model's device."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probs = [model(x.to(device)).float().softmax(-1).cpu() for x in images.split(batch_size)]
    model.train(was_training)
    return torch.cat(probs)


def accuracy_on(model: nn.Module, images: Tensor, labels: Tensor, *, batch_size: int = 512) -> float:
    """Top-1 accuracy of a classifier on (images, labels)."""
    if len(images) != len(labels) or len(labels) == 0:
        raise ValueError(f"expected as many labels as images (> 0), got {len(labels)} and {len(images)}")
    return float((predict(model, images, batch_size=batch_size).argmax(1) == labels.cpu()).double().mean())


class TensorPairs:
    """Generated (or real) images and labels in memory, read by index: ``get_batch(idx) → (x[idx], y[idx])``.

    The interface of the in-memory image datasets, so a classifier-training function written for them (e.g.
    :func:`paperzoo.recipes.ddpm_images.train_feature_classifier`) trains on samples unchanged.
    """

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        if len(images) != len(labels):
            raise ValueError(f"expected as many labels as images, got {len(labels)} and {len(images)}")
        self.images, self.labels = images, labels.long()

    def __len__(self) -> int:
        return len(self.labels)

    def get_batch(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.images[idx], self.labels[idx]


def classification_accuracy_score(
    fit: Callable[[TensorPairs], nn.Module],
    samples: Tensor,
    sample_labels: Tensor,
    test_images: Tensor,
    test_labels: Tensor,
    *,
    batch_size: int = 512,
) -> tuple[float, nn.Module]:
    """CAS (Ravuri & Vinyals 2019): the real-test accuracy of a classifier trained only on labelled samples.

    Args:
        fit: trains a classifier on a :class:`TensorPairs` of (samples, their conditioning labels) and returns it.
        samples: generated images (N, C, H, W); sample_labels: (N,) the class each was generated for.
        test_images, test_labels: the real held-out set.

    Returns:
        (accuracy on the real test set, the classifier).
    """
    classifier = fit(TensorPairs(samples, sample_labels))
    return accuracy_on(classifier, test_images, test_labels, batch_size=batch_size), classifier
