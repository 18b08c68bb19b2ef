"""Binary classification data: scikit-learn's digits (built in) and LIBSVM/svmlight files.

``digits_binary`` turns the 1,797 8×8 digits that scikit-learn ships into a ±1 task (by default
even vs odd digits), standardised with the training split's statistics. ``read_svmlight`` reads the
LIBSVM text format (``label index:value index:value ...``, 1-based indices, ``#`` comments) used by
the LIBSVM binary-classification benchmark files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ..registry import register_dataset
from .errors import DataFormatError, require_file

__all__ = ["BinarySplits", "digits_binary", "read_svmlight", "svmlight_binary", "split_binary"]


@dataclass
class BinarySplits:
    """Train/validation/test ``TensorDataset`` s of ``(x float32 (N, D), y float32 (N,) in {-1, +1})``."""

    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    num_features: int
    source: str


def split_binary(
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    standardize: bool,
    source: str,
) -> BinarySplits:
    """Shuffle with ``seed``, cut into train/val/test and standardise with the training statistics."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction and test_fraction must be in (0, 1) and sum below 1 (got {val_fraction}, {test_fraction})"
        )
    order = np.random.default_rng(seed).permutation(len(x))
    n_test, n_val = int(round(len(x) * test_fraction)), int(round(len(x) * val_fraction))
    parts = np.split(order, [n_test, n_test + n_val])
    test_idx, val_idx, train_idx = parts
    x = x.astype(np.float32)
    if standardize:
        mean = x[train_idx].mean(0)
        std = x[train_idx].std(0)
        x = (x - mean) / np.where(std > 0, std, 1.0)

    def make(idx: np.ndarray) -> TensorDataset:
        return TensorDataset(torch.from_numpy(x[idx]).float(), torch.from_numpy(y[idx]).float())

    return BinarySplits(make(train_idx), make(val_idx), make(test_idx), x.shape[1], source)


@register_dataset(description="scikit-learn's 8x8 digits as a ±1 task (positive_digits vs the rest)", builtin=True)
def digits_binary(
    *,
    positive_digits: tuple[int, ...] = (0, 2, 4, 6, 8),
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    standardize: bool = True,
) -> BinarySplits:
    from sklearn.datasets import load_digits

    bad = [d for d in positive_digits if d not in range(10)]
    if bad or not positive_digits:
        raise ValueError(f"positive_digits must be a non-empty list of digits 0-9 (got {list(positive_digits)})")
    digits = load_digits()
    y = np.where(np.isin(digits.target, list(positive_digits)), 1.0, -1.0)
    return split_binary(
        digits.data,
        y,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        standardize=standardize,
        source=f"sklearn digits, positive={list(positive_digits)}",
    )


def read_svmlight(path: str | Path, *, num_features: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a LIBSVM/svmlight file of a binary task into dense ``(x, y)`` with y in {-1, +1}.

    Labels may be written ``+1``/``-1``/``1`` or ``0``/``1`` (0 is read as -1). Any other label, a
    non-increasing or non-positive index, a malformed ``index:value`` pair or a non-finite value
    raises :class:`DataFormatError` with the file and line.
    """
    path = require_file(path, "svmlight file")
    labels: list[float] = []
    rows: list[tuple[list[int], list[float]]] = []
    max_index = 0
    with open(path, "rb") as fh:
        for lineno, raw_bytes in enumerate(fh, start=1):
            try:
                raw = raw_bytes.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataFormatError(path, f"not UTF-8 text ({err.reason} at byte {err.start})", lineno) from None
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            try:
                label = float(fields[0])
            except ValueError:
                raise DataFormatError(path, f"label {fields[0]!r} is not a number", lineno) from None
            if label not in (-1.0, 0.0, 1.0):
                raise DataFormatError(path, f"label {fields[0]!r} is not a binary label (+1/-1 or 1/0)", lineno)
            idx, val, last = [], [], 0
            for pair in fields[1:]:
                if pair.startswith("qid:"):
                    continue
                key, sep, value = pair.partition(":")
                try:
                    j, v = int(key), float(value)
                except ValueError:
                    j, v = -1, float("nan")
                if not sep or j <= 0 or not np.isfinite(v):
                    raise DataFormatError(
                        path, f"malformed feature {pair!r} (expected index:value, index >= 1)", lineno
                    )
                if j <= last:
                    raise DataFormatError(path, f"feature indices must increase (got {j} after {last})", lineno)
                last = j
                idx.append(j - 1)
                val.append(v)
            max_index = max(max_index, last)
            labels.append(1.0 if label == 1.0 else -1.0)
            rows.append((idx, val))
    if not rows:
        raise DataFormatError(path, "no examples found")
    width = num_features if num_features is not None else max_index
    if max_index > width:
        raise DataFormatError(path, f"feature index {max_index} exceeds num_features={width}")
    x = np.zeros((len(rows), width), dtype=np.float32)
    for i, (idx, val) in enumerate(rows):
        x[i, idx] = val
    y = np.asarray(labels, dtype=np.float32)
    if len(np.unique(y)) < 2:
        raise DataFormatError(path, "all examples have the same label; a binary task needs both classes")
    return x, y


@register_dataset(
    description="a binary LIBSVM/svmlight file, split into train/val/test",
    builtin=False,
    file_format="LIBSVM/svmlight text (label index:value ...)",
)
def svmlight_binary(
    *, path: str, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.25, standardize: bool = True
) -> BinarySplits:
    x, y = read_svmlight(path)
    return split_binary(
        x,
        y,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        standardize=standardize,
        source=str(path),
    )
