"""Top-k accuracy, ±1 accuracy and the majority-class baseline, checked by hand."""

from __future__ import annotations

import pytest
import torch

from paperzoo.metrics.classification import accuracy, binary_accuracy, majority_class_accuracy

LOGITS = torch.tensor(
    [
        [0.1, 0.7, 0.2, 0.0],  # order 1, 2, 0, 3
        [0.9, 0.05, 0.03, 0.02],  # order 0, 1, 2, 3
        [0.3, 0.1, 0.2, 0.4],  # order 3, 0, 2, 1
        [0.0, 0.2, 0.5, 0.3],  # order 2, 3, 1, 0
        [0.25, 0.35, 0.3, 0.1],  # order 1, 2, 0, 3
    ]
)
TARGET = torch.tensor([1, 2, 2, 0, 3])


def test_top1_accuracy():
    assert accuracy(LOGITS, TARGET) == pytest.approx(1 / 5)  # only row 0


@pytest.mark.parametrize(("k", "want"), [(1, 1 / 5), (2, 1 / 5), (3, 3 / 5), (4, 1.0)])
def test_topk_accuracy(k, want):
    # ranks of the targets: row0 1st, row1 3rd, row2 3rd, row3 4th, row4 4th
    assert accuracy(LOGITS, TARGET, k=k) == pytest.approx(want)


def test_accuracy_shape_errors():
    with pytest.raises(ValueError, match=r"expected logits \(N, C\) and target \(N,\)"):
        accuracy(LOGITS[0], TARGET)
    with pytest.raises(ValueError, match=r"got \(5, 4\) and \(4,\)"):
        accuracy(LOGITS, TARGET[:4])


def test_binary_accuracy_one_column():
    scores = torch.tensor([0.5, -0.2, 0.0, 3.0, -1.0, 0.0])
    target = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    # predictions: +1, -1, +1 (score 0), +1, -1, +1 (score 0) -> right: rows 0, 1, 2
    out = binary_accuracy(scores, target)
    assert out.shape == ()
    assert out.item() == pytest.approx(3 / 6)


def test_binary_accuracy_per_column():
    scores = torch.tensor(
        [
            [1.0, -1.0, 0.0],
            [-2.0, -0.5, 0.0],
            [0.3, 0.2, 0.0],
            [0.0, 4.0, -0.1],
        ]
    )
    target = torch.tensor([1.0, -1.0, -1.0, 1.0])
    # column 0 predicts +1, -1, +1, +1 -> 3 right; column 1 -1, -1, +1, +1 -> 2 right;
    # column 2 +1, +1, +1, -1 -> 1 right
    out = binary_accuracy(scores, target)
    assert out.shape == (3,)
    torch.testing.assert_close(out, torch.tensor([0.75, 0.5, 0.25]))


def test_binary_accuracy_mismatched_n():
    with pytest.raises(ValueError, match="disagree on N"):
        binary_accuracy(torch.zeros(4, 2), torch.ones(3))


def test_majority_class_accuracy():
    train = torch.tensor([1.0, -1.0, -1.0, 1.0, -1.0])  # majority -1
    test = torch.tensor([1.0, 1.0, -1.0, 1.0])
    assert majority_class_accuracy(train, test) == pytest.approx(1 / 4)
    assert majority_class_accuracy(-train, test) == pytest.approx(3 / 4)


def test_majority_class_accuracy_multiclass():
    train = torch.tensor([2, 0, 2, 1, 2, 0])
    test = torch.tensor([2, 2, 0, 1, 2])
    assert majority_class_accuracy(train, test) == pytest.approx(3 / 5)
