"""Losses: the margin-based family, contrastive losses and ranking losses."""

from .contrastive import ContrastivePairLoss, NTXentLoss, contrastive_pair_loss, info_nce_loss, nt_xent_loss
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
from .ranking import BPRLoss, MaxMarginRankingLoss, bpr_loss, max_margin_ranking_loss

__all__ = [
    "BPRLoss",
    "ContrastivePairLoss",
    "MaxMarginRankingLoss",
    "NTXentLoss",
    "bpr_loss",
    "contrastive_pair_loss",
    "info_nce_loss",
    "max_margin_ranking_loss",
    "nt_xent_loss",
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
