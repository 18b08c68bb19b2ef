"""Ranking losses: the bidirectional max-margin ranking loss (HowTo100M) and BPR.

Papers and equations implemented here:

* **Max-margin ranking loss** -- A. Miech, D. Zhukov, J.-B. Alayrac, M. Tapaswi, I. Laptev, J. Sivic, "HowTo100M:
  Learning a Text-Video Embedding by Watching Hundred Million Narrated Video Clips", ICCV 2019, arXiv:1906.03327,
  eq. (2)::

      L = sum_{i in P} sum_{j in N(i)} max(0, delta + s_ij - s_ii) + max(0, delta + s_ji - s_ii)

  where ``s_ij`` is the similarity of video clip ``i`` and caption ``j``, ``P`` the positive pairs and ``N(i)`` the
  negatives of pair ``i``. Here ``N(i)`` is every other pair of the batch, i.e. the off-diagonal of a (B, B)
  similarity matrix.

* **BPR** -- S. Rendle, C. Freudenthaler, Z. Gantner, L. Schmidt-Thieme, "BPR: Bayesian Personalized Ranking from
  Implicit Feedback", UAI 2009, arXiv:1205.2618, BPR-Opt (section 4.1)::

      BPR-Opt = sum_{(u, i, j) in D_S} ln sigma(x_uij) - lambda_Theta ||Theta||^2,   x_uij = x_ui - x_uj

  The loss here is ``-ln sigma(x_ui - x_uj)`` per triple; the L2 term is left to the optimiser (weight decay).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import Reduction, check_margin, check_reduction

__all__ = [
    "BPRLoss",
    "MaxMarginRankingLoss",
    "bpr_loss",
    "max_margin_ranking_loss",
]


# ----------------------------------------------------------------------------------------------------------------------
# HowTo100M max-margin ranking loss
# ----------------------------------------------------------------------------------------------------------------------
def max_margin_ranking_loss(sim: Tensor, *, margin: float = 0.1, reduction: Reduction = "mean") -> Tensor:
    """Bidirectional max-margin ranking loss of HowTo100M (Miech et al. 2019, eq. (2)).

    ``sim[i, j]`` is the similarity of item ``i`` of one modality (e.g. video) and item ``j`` of the other (e.g.
    text); the diagonal holds the B positive pairs and every off-diagonal entry is a negative. The loss is::

        sum_i sum_{j != i} [ max(0, delta + s_ij - s_ii) + max(0, delta + s_ji - s_ii) ]

    i.e. positive ``i`` must beat, by ``delta``, both the wrong captions of its video (row ``i``) and the wrong videos
    of its caption (column ``i``).

    **Normalisation.** Eq. (2) is written as a plain sum. ``reduction="mean"`` divides that sum by the number of
    (ordered) negative pairs ``B * (B - 1)``, i.e. it is the mean over ``(i, j), j != i`` of the bracketed term, which
    itself holds the two directions. Note that the authors' reference code (``MaxMarginRankingLoss`` in the HowTo100M
    repository) instead takes ``.mean()`` of the full (B, B) matrix of bracketed terms, *diagonal included*, where each
    diagonal entry is the constant ``2 * delta``; its value is ``(B - 1) / B * ours + 2 * delta / B``, so the two
    differ by a constant offset and a scale of ``(B - 1) / B`` (the same gradients up to that scale). The reference code
    also supports re-weighting intra-video negatives (``negative_weighting``), which is not implemented here.

    Args:
        sim: Square similarity matrix, shape ``(B, B)`` with ``B >= 2``; positives on the diagonal.
        margin: ``delta >= 0``; HowTo100M uses 0.1.
        reduction: ``"mean"`` (over the ``B (B - 1)`` off-diagonal pairs), ``"sum"`` (eq. (2) as written) or
            ``"none"`` (shape ``(B, B)``: entry ``(i, j)`` holds the bracketed term, the diagonal is 0).

    Returns:
        A scalar tensor, or shape ``(B, B)`` with ``reduction="none"``.

    Raises:
        ValueError: If ``sim`` is not a square 2-D matrix with ``B >= 2``, ``margin < 0`` or the reduction is unknown.
    """
    if sim.dim() != 2 or sim.shape[0] != sim.shape[1] or sim.shape[0] < 2:
        raise ValueError(f"expected a square similarity matrix of shape (B, B) with B >= 2, got {tuple(sim.shape)}")
    check_margin(margin)
    check_reduction(reduction)
    b = sim.shape[0]

    pos = sim.diagonal()
    # Entry (i, j): row direction  max(0, delta + s_ij - s_ii)  (video i vs. wrong caption j)
    #             + column direction max(0, delta + s_ji - s_ii) (caption i vs. wrong video j); sim.T[i, j] = s_ji.
    terms = (margin + sim - pos[:, None]).clamp_min(0.0) + (margin + sim.T - pos[:, None]).clamp_min(0.0)
    off_diag = ~torch.eye(b, dtype=torch.bool, device=sim.device)
    terms = terms * off_diag  # drop j == i (a pair is not its own negative)
    if reduction == "none":
        return terms
    total = terms.sum()
    if reduction == "sum":
        return total
    return total / (b * (b - 1))


class MaxMarginRankingLoss(nn.Module):
    """Module wrapper of :func:`max_margin_ranking_loss` (HowTo100M, Miech et al. 2019, eq. (2)).

    Args:
        margin: ``delta >= 0``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shapes:
        ``sim``: ``(B, B)``, positives on the diagonal; output: scalar or ``(B, B)``.
    """

    def __init__(self, *, margin: float = 0.1, reduction: Reduction = "mean") -> None:
        super().__init__()
        check_margin(margin)
        check_reduction(reduction)
        self.margin = margin
        self.reduction = reduction

    def forward(self, sim: Tensor) -> Tensor:
        return max_margin_ranking_loss(sim, margin=self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}"


# ----------------------------------------------------------------------------------------------------------------------
# BPR
# ----------------------------------------------------------------------------------------------------------------------
def bpr_loss(pos_scores: Tensor, neg_scores: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Bayesian Personalized Ranking loss (Rendle et al. 2009), the negative of BPR-Opt without its L2 term.

    For each triple ``(u, i, j)`` with observed item ``i`` and unobserved item ``j``::

        loss = -ln sigma(x_ui - x_uj)

    computed as ``-F.logsigmoid(x_ui - x_uj)``, which stays finite and accurate for large negative differences
    (where ``log(sigmoid(.))`` would underflow to ``-inf``). The paper's ``lambda ||Theta||^2`` regulariser is not
    included: use weight decay or add it yourself. BPR-Opt is a sum over triples; ``"mean"`` averages instead.

    Args:
        pos_scores: Scores ``x_ui`` of the positive items, shape ``(B,)``.
        neg_scores: Scores ``x_uj`` of the negative items, shape ``(B,)`` (one negative per positive) or ``(B, K)``
            (K negatives per positive; ``pos_scores`` is broadcast as ``(B, 1)``).
        reduction: ``"mean"`` (over all ``B`` or ``B * K`` triples), ``"sum"`` or ``"none"`` (shape of
            ``neg_scores``).

    Returns:
        A scalar tensor, or the shape of ``neg_scores`` with ``reduction="none"``.

    Raises:
        ValueError: On a non-1-D or empty ``pos_scores``, a ``neg_scores`` that is not ``(B,)`` or ``(B, K)`` with
            ``K >= 1``, or an unknown reduction.
    """
    if pos_scores.dim() != 1 or pos_scores.shape[0] == 0:
        raise ValueError(f"expected pos_scores of shape (B,) with B >= 1, got {tuple(pos_scores.shape)}")
    b = pos_scores.shape[0]
    if neg_scores.dim() not in (1, 2) or neg_scores.shape[0] != b or neg_scores.numel() == 0:
        raise ValueError(
            f"expected neg_scores of shape (B,) or (B, K) with B = {b} and K >= 1, got {tuple(neg_scores.shape)}"
        )
    check_reduction(reduction)

    pos = pos_scores if neg_scores.dim() == 1 else pos_scores[:, None]
    loss = -F.logsigmoid(pos - neg_scores)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


class BPRLoss(nn.Module):
    """Module wrapper of :func:`bpr_loss` (Rendle et al. 2009).

    Args:
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shapes:
        ``pos_scores``: ``(B,)``; ``neg_scores``: ``(B,)`` or ``(B, K)``; output: scalar or the shape of
        ``neg_scores``.
    """

    def __init__(self, *, reduction: Reduction = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    def forward(self, pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
        return bpr_loss(pos_scores, neg_scores, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
