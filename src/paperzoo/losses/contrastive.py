"""Contrastive losses: the margin pair loss, NT-Xent (SimCLR) and InfoNCE.

Papers and equations implemented here:

* **Contrastive pair loss** -- R. Hadsell, S. Chopra, Y. LeCun, "Dimensionality Reduction by Learning an
  Invariant Mapping", CVPR 2006 (no arXiv id), eq. (4)::

      L(W, Y, X1, X2) = (1 - Y) * 1/2 * D_W^2 + Y * 1/2 * max(0, m - D_W)^2

  with ``D_W = ||G_W(X1) - G_W(X2)||_2`` and, *in the paper*, ``Y = 0`` for a similar pair and ``Y = 1`` for a
  dissimilar pair. The functions below take ``same`` (1 = similar) instead, i.e. ``Y = 1 - same``.

* **NT-Xent** -- T. Chen, S. Kornblith, M. Norouzi, G. Hinton, "A Simple Framework for Contrastive Learning of
  Visual Representations" (SimCLR), 2020, arXiv:2002.05709, eq. (1)::

      l(i, j) = -log( exp(sim(z_i, z_j) / tau) / sum_{k=1}^{2N} 1[k != i] exp(sim(z_i, z_k) / tau) )

  with ``sim`` the cosine similarity, averaged over all 2N positive pairs, both ``(i, j)`` and ``(j, i)``.

* **InfoNCE** -- A. van den Oord, Y. Li, O. Vinyals, "Representation Learning with Contrastive Predictive Coding",
  2018, arXiv:1807.03748, eq. (4)::

      L_N = -E[ log( f(x_pos, c) / sum_{x_j in X} f(x_j, c) ) ],   f(x, c) = exp(score(x, c))

  where ``X`` holds one positive and N - 1 negatives; it is a cross-entropy over ``[positive, negatives]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import Reduction, check_margin, check_reduction, reduce

__all__ = [
    "ContrastivePairLoss",
    "NTXentLoss",
    "contrastive_pair_loss",
    "info_nce_loss",
    "nt_xent_loss",
]


# ----------------------------------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------------------------------


def _check_temperature(temperature: float) -> None:
    # ``not (t > 0)`` also rejects NaN.
    if not (isinstance(temperature, (int, float)) and temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be > 0 (got {temperature})")


def _check_pair(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.dim() != 2 or b.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"expected {name_a} and {name_b} of shape (N, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] == 0:
        raise ValueError(f"expected a non-empty batch, got {name_a} of shape {tuple(a.shape)}")


def _safe_distance(sq_dist: Tensor) -> Tensor:
    """Euclidean distance ``sqrt(sq_dist)`` whose gradient is finite at 0.

    ``d sqrt(s) / ds = 1 / (2 sqrt(s))`` is infinite at ``s = 0``; multiplied by ``d s / dx = 2 (x1 - x2) = 0`` it
    becomes ``inf * 0 = NaN``. The "double where" below takes the square root of 1 instead of 0 on those entries and
    then discards it, so the value is exact everywhere, the gradient is exact wherever ``D > 0``, and at ``D = 0`` the
    gradient of ``D`` is 0 (a valid choice: the norm has no unique derivative at the origin).
    """
    positive = sq_dist > 0
    safe = torch.where(positive, sq_dist, torch.ones_like(sq_dist))
    return torch.where(positive, safe.sqrt(), torch.zeros_like(sq_dist))


# ----------------------------------------------------------------------------------------------------------------------
# Hadsell, Chopra, LeCun 2006
# ----------------------------------------------------------------------------------------------------------------------
def contrastive_pair_loss(
    x1: Tensor,
    x2: Tensor,
    same: Tensor,
    *,
    margin: float = 1.0,
    reduction: Reduction = "mean",
) -> Tensor:
    """Margin-based contrastive loss on pairs of embeddings (Hadsell, Chopra, LeCun 2006, eq. (4)).

    For each pair, with ``D = ||x1 - x2||_2``::

        loss = same * 1/2 * D^2 + (1 - same) * 1/2 * max(0, margin - D)^2

    **Label convention.** ``same = 1`` (``True``) marks a *similar* pair, ``same = 0`` a *dissimilar* one. The paper
    uses the opposite label ``Y`` (``Y = 0`` similar, ``Y = 1`` dissimilar), so ``Y = 1 - same``.

    **Gradient at D = 0.** The similar-pair term is computed from the squared distance directly (no square root), and
    ``D`` for the dissimilar term uses a "double where" safe square root: the value is exact, and for identical
    embeddings (``D = 0``) the gradient is 0 instead of NaN.

    The paper sums the per-pair losses over the training set; ``reduction="mean"`` averages over the N pairs instead.

    Args:
        x1: Embeddings of the first element of each pair, shape ``(N, D)``.
        x2: Embeddings of the second element of each pair, shape ``(N, D)``.
        same: Pair labels, shape ``(N,)``, bool or numeric with values in {0, 1}; 1 = similar pair.
        margin: The margin ``m >= 0``: dissimilar pairs farther apart than ``m`` contribute nothing.
        reduction: ``"mean"`` (over the N pairs), ``"sum"`` or ``"none"`` (per-pair losses, shape ``(N,)``).

    Returns:
        A scalar tensor, or shape ``(N,)`` with ``reduction="none"``.

    Raises:
        ValueError: On mismatched or non-2D embeddings, an empty batch, a ``same`` of the wrong shape or with values
            other than 0/1, a negative margin, or an unknown reduction.
    """
    _check_pair(x1, x2, "x1", "x2")
    check_margin(margin)
    check_reduction(reduction)
    same = torch.as_tensor(same, device=x1.device)
    if same.shape != (x1.shape[0],):
        raise ValueError(f"expected same of shape ({x1.shape[0]},), got {tuple(same.shape)}")
    if not bool(((same == 0) | (same == 1)).all()):
        raise ValueError(f"same must contain only 0/1 (or bool) values, got {same.unique().tolist()}")
    s = same.to(x1.dtype)

    sq_dist = (x1 - x2).pow(2).sum(dim=1)
    dist = _safe_distance(sq_dist)
    loss = s * 0.5 * sq_dist + (1.0 - s) * 0.5 * (margin - dist).clamp_min(0.0).pow(2)
    return reduce(loss, reduction)


class ContrastivePairLoss(nn.Module):
    """Module wrapper of :func:`contrastive_pair_loss` (Hadsell, Chopra, LeCun 2006, eq. (4)).

    Args:
        margin: The margin ``m >= 0``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shapes:
        ``x1``, ``x2``: ``(N, D)``; ``same``: ``(N,)`` with 1 = similar pair; output: scalar or ``(N,)``.
    """

    def __init__(self, *, margin: float = 1.0, reduction: Reduction = "mean") -> None:
        super().__init__()
        check_margin(margin)
        check_reduction(reduction)
        self.margin = margin
        self.reduction = reduction

    def forward(self, x1: Tensor, x2: Tensor, same: Tensor) -> Tensor:
        return contrastive_pair_loss(x1, x2, same, margin=self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}"


# ----------------------------------------------------------------------------------------------------------------------
# SimCLR NT-Xent
# ----------------------------------------------------------------------------------------------------------------------
def nt_xent_loss(
    z1: Tensor,
    z2: Tensor,
    *,
    temperature: float = 0.5,
    reduction: Reduction = "mean",
) -> Tensor:
    """NT-Xent, the normalised temperature-scaled cross-entropy loss of SimCLR (Chen et al. 2020, eq. (1)).

    ``z1[i]`` and ``z2[i]`` are the projections of two augmented views of example ``i``; together they form the
    2N views of the paper. For every view ``i`` with positive partner ``j``::

        l(i, j) = -log( exp(sim(z_i, z_j) / tau) / sum_{k != i} exp(sim(z_i, z_k) / tau) )

    where ``sim`` is cosine similarity and the sum runs over all 2N views except ``i`` itself, so it includes the
    positive ``j`` and the 2N - 2 negatives. The loss is averaged over all 2N anchors, i.e. over both ``(i, j)`` and
    ``(j, i)`` of every positive pair, as in the paper.

    The paper interleaves the views (``2k - 1``, ``2k``); here they are stacked as ``[z1; z2]``. Since every anchor
    contributes one term and the sum over ``k`` covers all views, the order does not change the result.

    Args:
        z1: First views, shape ``(N, D)``.
        z2: Second views, shape ``(N, D)``; ``z2[i]`` is the positive of ``z1[i]``.
        temperature: ``tau > 0``.
        reduction: ``"mean"`` (over the 2N anchors), ``"sum"`` or ``"none"`` (shape ``(2N,)``: first the N anchors
            of ``z1``, then the N anchors of ``z2``).

    Returns:
        A scalar tensor, or shape ``(2N,)`` with ``reduction="none"``.

    Raises:
        ValueError: On mismatched or non-2D inputs, an empty batch, ``temperature <= 0`` or an unknown reduction.
    """
    _check_pair(z1, z2, "z1", "z2")
    _check_temperature(temperature)
    check_reduction(reduction)
    n = z1.shape[0]

    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)  # (2N, D), unit rows -> dot product = cosine similarity
    logits = (z @ z.T) / temperature  # (2N, 2N)
    # NOTE: the denominator of eq. (1) excludes ONLY k = i (the 1[k != i] indicator) and INCLUDES the positive k = j.
    # (Some reading notes, e.g. Korean summaries of SimCLR, misprint it as excluding the positive as well; that would
    # be a different loss.) So we mask the diagonal alone and let cross-entropy's log-sum-exp run over everything else.
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    # The positive of anchor i < N (a view in z1) is at column i + N, and that of anchor i >= N is at column i - N.
    idx = torch.arange(n, device=z.device)
    targets = torch.cat([idx + n, idx])
    return F.cross_entropy(logits, targets, reduction=reduction)


class NTXentLoss(nn.Module):
    """Module wrapper of :func:`nt_xent_loss` (SimCLR, Chen et al. 2020, eq. (1)).

    Args:
        temperature: ``tau > 0``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shapes:
        ``z1``, ``z2``: ``(N, D)``; output: scalar or ``(2N,)``.
    """

    def __init__(self, *, temperature: float = 0.5, reduction: Reduction = "mean") -> None:
        super().__init__()
        _check_temperature(temperature)
        check_reduction(reduction)
        self.temperature = temperature
        self.reduction = reduction

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return nt_xent_loss(z1, z2, temperature=self.temperature, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, reduction={self.reduction!r}"


# ----------------------------------------------------------------------------------------------------------------------
# CPC InfoNCE
# ----------------------------------------------------------------------------------------------------------------------
def info_nce_loss(
    query: Tensor,
    keys_pos: Tensor,
    keys_neg: Tensor | None = None,
    *,
    temperature: float = 0.07,
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    """InfoNCE loss (van den Oord, Li, Vinyals 2018, eq. (4)): cross-entropy of the positive among its negatives.

    For each query ``q_b`` with positive key ``k_b^+`` and negatives ``k_{b,1..K}^-``::

        loss_b = -log( exp(s(q_b, k_b^+) / tau) / (exp(s(q_b, k_b^+) / tau) + sum_k exp(s(q_b, k_{b,k}^-) / tau)) )

    Negatives:

    * ``keys_neg is None``: in-batch negatives, i.e. the positives of the *other* queries (logits ``q @ keys_pos.T``,
      shape ``(B, B)``, target on the diagonal).
    * ``keys_neg`` of shape ``(B, K, D)``: explicit negatives per query.
    * ``keys_neg`` of shape ``(K, D)``: one set of negatives shared by all queries (e.g. a MoCo-style queue).

    The score ``s`` is cosine similarity when ``normalize=True`` (the default, as in MoCo with ``tau = 0.07``), or the
    plain dot product when ``normalize=False``. The CPC paper uses a learned log-bilinear score ``z^T W c``; pass
    ``query = W c`` with ``normalize=False`` and ``temperature=1`` to get exactly that form.

    NT-Xent (:func:`nt_xent_loss`, SimCLR) is InfoNCE with cosine similarity, made symmetric over 2N views: every
    view is a query, its partner view is the positive, and all the other 2N - 2 views (of both sides) are negatives.

    Args:
        query: Queries, shape ``(B, D)``.
        keys_pos: Positive key of each query, shape ``(B, D)``.
        keys_neg: ``None``, ``(B, K, D)`` or ``(K, D)`` negatives (see above).
        temperature: ``tau > 0``.
        normalize: L2-normalise queries and keys first (cosine similarity).
        reduction: ``"mean"`` (over the B queries), ``"sum"`` or ``"none"`` (shape ``(B,)``).

    Returns:
        A scalar tensor, or shape ``(B,)`` with ``reduction="none"``.

    Raises:
        ValueError: On mismatched or non-2D query/keys, an empty batch, negatives of the wrong shape,
            ``temperature <= 0`` or an unknown reduction.
    """
    _check_pair(query, keys_pos, "query", "keys_pos")
    _check_temperature(temperature)
    check_reduction(reduction)
    b, d = query.shape
    if keys_neg is not None:
        ok = (keys_neg.dim() == 3 and keys_neg.shape[0] == b and keys_neg.shape[2] == d) or (
            keys_neg.dim() == 2 and keys_neg.shape[1] == d
        )
        if not ok or keys_neg.shape[-2] == 0:
            raise ValueError(
                f"expected keys_neg of shape (B, K, D) = ({b}, K, {d}) or (K, D) = (K, {d}) with K >= 1, "
                f"got {tuple(keys_neg.shape)}"
            )

    if normalize:
        query = F.normalize(query, dim=-1)
        keys_pos = F.normalize(keys_pos, dim=-1)
        if keys_neg is not None:
            keys_neg = F.normalize(keys_neg, dim=-1)

    if keys_neg is None:
        logits = query @ keys_pos.T  # (B, B): column j holds key j; the positive of query i is column i
        targets = torch.arange(b, device=query.device)
    else:
        pos = (query * keys_pos).sum(dim=-1, keepdim=True)  # (B, 1)
        # (B, K): per-query negatives (B, K, D), or one shared set (K, D)
        neg = torch.einsum("bd,bkd->bk", query, keys_neg) if keys_neg.dim() == 3 else query @ keys_neg.T
        logits = torch.cat([pos, neg], dim=1)  # positive first -> target 0
        targets = torch.zeros(b, dtype=torch.long, device=query.device)
    return F.cross_entropy(logits / temperature, targets, reduction=reduction)
