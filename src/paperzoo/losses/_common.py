"""Argument checks and reductions shared by the loss modules."""

from __future__ import annotations

import math
from typing import Literal

from torch import Tensor

__all__ = ["Reduction", "REDUCTIONS", "check_reduction", "check_margin", "reduce"]

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS} (got {reduction!r})")


def check_margin(margin: float) -> None:
    # ``margin >= 0`` is False for NaN, so NaN is rejected too.
    if not (isinstance(margin, (int, float)) and margin >= 0 and math.isfinite(margin)):
        raise ValueError(f"margin must be >= 0 (got {margin})")


def reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
