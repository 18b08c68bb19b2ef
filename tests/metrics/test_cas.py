"""CAS and rejection-sampling helpers against naive implementations: a sorting loop for the kept fraction, a
per-item loop for the intended-class score, and the CAS pipeline on toys whose answer is known."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from paperzoo.metrics.cas import (
    TensorPairs,
    accuracy_on,
    classification_accuracy_score,
    intended_class_scores,
    top_fraction,
)


def _naive_top_fraction(scores: list[float], fraction: float, groups: list[int]) -> list[int]:
    """Per group: sort its items by (score descending, index ascending) and keep ceil(fraction · size)."""
    kept = []
    for g in sorted(set(groups)):
        members = [i for i in range(len(scores)) if groups[i] == g]
        members.sort(key=lambda i: (-scores[i], i))
        kept += members[: max(1, math.ceil(fraction * len(members) - 1e-9))]
    return sorted(kept)


@pytest.mark.parametrize("fraction", [1.0, 0.5, 0.3, 0.1, 0.01])
def test_top_fraction_equals_a_sorting_loop_per_group(fraction: float) -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 20, (300,), generator=g).float() / 20  # many ties: the index breaks them
    groups = torch.randint(0, 7, (300,), generator=g)
    got = top_fraction(scores, fraction, groups).tolist()
    assert got == _naive_top_fraction(scores.tolist(), fraction, groups.tolist())
    overall = top_fraction(scores, fraction).tolist()
    assert overall == _naive_top_fraction(scores.tolist(), fraction, [0] * 300)


def test_top_fraction_keeps_the_best_and_the_class_balance() -> None:
    scores = torch.tensor([0.9, 0.1, 0.8, 0.2, 0.7, 0.3])
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    assert top_fraction(scores, 0.3, groups).tolist() == [0, 4]  # the best of each class, not the two best overall
    assert top_fraction(scores, 0.3).tolist() == [0, 2]  # ceil(0.3 · 6) = 2 overall
    assert top_fraction(scores, 1.0, groups).tolist() == list(range(6))
    with pytest.raises(ValueError, match="fraction"):
        top_fraction(scores, 0.0)


def test_intended_class_scores_equal_a_loop() -> None:
    probs = torch.softmax(torch.randn(50, 6, generator=torch.Generator().manual_seed(1)), -1)
    labels = torch.arange(50) % 6
    expected = torch.tensor([float(probs[i, labels[i]]) for i in range(50)])
    torch.testing.assert_close(intended_class_scores(probs, labels), expected)
    with pytest.raises(ValueError, match="labels"):
        intended_class_scores(probs, labels + 6)


class _NearestMean(nn.Module):
    """A deterministic classifier: logits = -squared distance to each class mean of its training data."""

    def __init__(self, data: TensorPairs, num_classes: int) -> None:
        super().__init__()
        x = data.images.flatten(1)
        self.means = nn.Parameter(torch.stack([x[data.labels == k].mean(0) for k in range(num_classes)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -torch.cdist(x.flatten(1), self.means).pow(2)


def _blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    centres = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]])
    return (centres[y] + 1.2 * torch.randn(n, 2, generator=g)).view(n, 1, 1, 2), y


def test_cas_with_real_data_as_samples_is_the_real_accuracy() -> None:
    train_x, train_y = _blobs(400, 0)
    test_x, test_y = _blobs(400, 1)
    fit = lambda data: _NearestMean(data, 4)  # noqa: E731
    cas, clf = classification_accuracy_score(fit, train_x, train_y, test_x, test_y)
    real = fit(TensorPairs(train_x, train_y))
    naive = sum(int(real(test_x[i : i + 1]).argmax()) == int(test_y[i]) for i in range(400)) / 400
    assert cas == pytest.approx(naive) and 0.6 < cas < 1.0  # overlapping blobs: below 1, far above chance
    assert accuracy_on(clf, test_x, test_y) == cas


def test_cas_of_samples_with_shuffled_labels_is_near_chance() -> None:
    train_x, train_y = _blobs(4000, 0)
    test_x, test_y = _blobs(4000, 1)
    shuffled = train_y[torch.randperm(4000, generator=torch.Generator().manual_seed(2))]
    cas, _ = classification_accuracy_score(lambda d: _NearestMean(d, 4), train_x, shuffled, test_x, test_y)
    assert abs(cas - 0.25) < 0.1
