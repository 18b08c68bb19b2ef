"""Losses: the margin-based family, contrastive losses and ranking losses."""

from .margin import (
    MARGIN_LOSSES,
    DWDMarginLoss,
    ExpLoss,
    L1HingeLoss,
    L2HingeLoss,
    L2MarginLoss,
    LogitMarginLoss,
    MarginLoss,
    ModifiedHuberLoss,
    PerceptronLoss,
    SigmoidLoss,
    SmoothedL1HingeLoss,
    ZeroOneLoss,
    margin_loss,
)

__all__ = [
    "MARGIN_LOSSES",
    "DWDMarginLoss",
    "ExpLoss",
    "L1HingeLoss",
    "L2HingeLoss",
    "L2MarginLoss",
    "LogitMarginLoss",
    "MarginLoss",
    "ModifiedHuberLoss",
    "PerceptronLoss",
    "SigmoidLoss",
    "SmoothedL1HingeLoss",
    "ZeroOneLoss",
    "margin_loss",
]
