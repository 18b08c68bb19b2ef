"""Input checks and history handling shared by the recommendation models.

Id conventions (``docs/protocols.md``): items are 1..num_items, 0 is padding, ``num_items + 1`` is
BERT4Rec's [MASK]; users are 0..num_users-1. Histories are left-padded ``(B, L)`` LongTensors with the
most recent item last.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["check_sequences", "check_ids", "fit_history", "check_probability"]


def check_sequences(seq: Tensor, *, max_len: int, max_id: int) -> None:
    """Raise ``ValueError`` unless ``seq`` is a (B, L) integer tensor with 1 <= L <= max_len and ids in [0, max_id]."""
    if not isinstance(seq, Tensor) or seq.dim() != 2:
        shape = tuple(seq.shape) if isinstance(seq, Tensor) else type(seq).__name__
        raise ValueError(f"expected item-id sequences of shape (B, L) with L <= {max_len}, got {shape}")
    if seq.dtype.is_floating_point or seq.dtype.is_complex or seq.dtype == torch.bool:
        raise ValueError(f"expected integer item ids, got dtype {seq.dtype}")
    if not 1 <= seq.shape[1] <= max_len:
        raise ValueError(f"expected sequences of length 1..{max_len} (max_len), got length {seq.shape[1]}")
    check_ids(seq, max_id, "item id")


def check_ids(ids: Tensor, max_id: int, what: str) -> None:
    """Raise ``ValueError`` naming the first id outside [0, max_id] (skipped on the meta device)."""
    if ids.numel() == 0 or ids.device.type == "meta":
        return
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi > max_id:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{what} {bad} is out of range [0, {max_id}]")


def fit_history(histories: Tensor, length: int) -> Tensor:
    """The last ``length`` columns of left-padded histories, left-padded with 0 when shorter: (B, length)."""
    if histories.dim() != 2:
        raise ValueError(f"expected histories of shape (B, L), got {tuple(histories.shape)}")
    n = histories.shape[1]
    if n >= length:
        return histories[:, n - length :]
    return F.pad(histories, (length - n, 0), value=0)


def check_probability(name: str, p: float, *, upper_inclusive: bool = False) -> None:
    ok = 0.0 <= p <= 1.0 if upper_inclusive else 0.0 <= p < 1.0
    if not ok:
        raise ValueError(f"{name} must be in [0, 1{']' if upper_inclusive else ')'} (got {p})")
