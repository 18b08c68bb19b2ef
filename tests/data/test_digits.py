"""scikit-learn digits as a ±1 task."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paperzoo.data.tabular import digits_binary

# np.bincount(sklearn.datasets.load_digits().target)
DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def _labels(splits) -> torch.Tensor:
    return torch.cat([splits.train.tensors[1], splits.val.tensors[1], splits.test.tensors[1]])


@pytest.fixture(scope="module")
def default_splits():
    return digits_binary()


def test_counts_match_sklearn():
    from sklearn.datasets import load_digits

    assert np.bincount(load_digits().target).tolist() == DIGIT_COUNTS


def test_default_sizes_and_features(default_splits):
    s = default_splits
    assert len(s.train) + len(s.val) + len(s.test) == 1797
    assert (len(s.test), len(s.val), len(s.train)) == (449, 270, 1078)  # round(0.25 N), round(0.15 N), rest
    assert s.num_features == 64
    assert s.train.tensors[0].shape == (1078, 64)
    assert s.train.tensors[0].dtype == torch.float32
    assert "positive=[0, 2, 4, 6, 8]" in s.source


def test_default_labels_even_digits_positive(default_splits):
    y = _labels(default_splits)
    assert set(y.unique().tolist()) == {-1.0, 1.0}
    positives = sum(DIGIT_COUNTS[d] for d in (0, 2, 4, 6, 8))
    assert positives == 891
    assert int((y == 1).sum()) == positives
    assert int((y == -1).sum()) == 1797 - positives


def test_labels_follow_the_digit(default_splits):
    """Unstandardised rows map back to their sklearn digit; even digits are +1."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    lookup = {tuple(row): int(t) for row, t in zip(digits.data.astype(np.float32).tolist(), digits.target)}
    raw = digits_binary(standardize=False)
    x, y = raw.test.tensors
    for row, label in zip(x.tolist()[:100], y.tolist()[:100]):
        digit = lookup[tuple(row)]
        assert label == (1.0 if digit % 2 == 0 else -1.0)


def test_train_split_is_standardised(default_splits):
    x = default_splits.train.tensors[0].double()
    std = x.std(0, unbiased=False)
    varying = std > 0
    assert int(varying.sum()) > 50  # a few pixels are always blank
    torch.testing.assert_close(x.mean(0), torch.zeros(64, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(std[varying], torch.ones(int(varying.sum()), dtype=torch.float64), atol=1e-4, rtol=0)


def test_custom_positive_digits_and_seed():
    s = digits_binary(positive_digits=(3,), seed=5)
    y = _labels(s)
    assert int((y == 1).sum()) == DIGIT_COUNTS[3]
    other = digits_binary(positive_digits=(3,), seed=6)
    assert not torch.equal(s.train.tensors[1], other.train.tensors[1])
    again = digits_binary(positive_digits=(3,), seed=5)
    assert torch.equal(s.train.tensors[0], again.train.tensors[0])


@pytest.mark.parametrize("bad", [(10,), (-1,), (), (2, 11)])
def test_invalid_positive_digits(bad):
    with pytest.raises(ValueError, match=r"positive_digits must be a non-empty list of digits 0-9") as info:
        digits_binary(positive_digits=bad)
    assert str(list(bad)) in str(info.value)
