"""Stochastic depth ("drop path"): drop a whole residual branch per example.

Paper: Huang, Sun, Liu, Sedra & Weinberger, "Deep Networks with Stochastic Depth", ECCV 2016,
arXiv:1603.09382. The per-sample form used here (each example of a batch keeps or drops the branch
independently, and kept branches are scaled by ``1 / keep_prob`` so that the expectation matches
evaluation) is the one DeiT, timm and the video transformers (ViViT, TimeSformer, MViT) use; the
original paper drops a block for the whole mini-batch and rescales at test time instead.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["drop_path", "DropPath", "drop_path_rates"]


def drop_path(x: Tensor, drop_prob: float = 0.0, training: bool = False, scale_by_keep: bool = True) -> Tensor:
    """Zero the residual branch ``x`` for a random subset of the batch.

    Args:
        x: branch output ``(B, ...)``; the first dimension is the sample dimension.
        drop_prob: probability p that a sample's branch is dropped.
        training: identity unless True (stochastic depth is a training-time regulariser).
        scale_by_keep: divide kept branches by ``1 - p`` so that ``E[drop_path(x)] = x``.

    Returns:
        Tensor of the shape of ``x``: ``x * m_b / (1 - p)`` with ``m_b ~ Bernoulli(1 - p)`` per sample.
    """
    if not 0.0 <= drop_prob < 1.0:
        raise ValueError(f"drop_prob must be in [0, 1) (got {drop_prob})")
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1.0 - drop_prob
    # One Bernoulli draw per sample, broadcast over every other dimension: (B, 1, ..., 1).
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep_prob)
    if scale_by_keep:
        mask.div_(keep_prob)
    return x * mask


class DropPath(nn.Module):
    """Stochastic depth on a residual branch (Huang et al. 2016), per sample, as a module.

    Args:
        drop_prob: probability that a sample's branch is dropped in training.
        scale_by_keep: rescale kept branches by ``1 / (1 - drop_prob)``.

    Shapes:
        x: (B, ...) → (B, ...).
    """

    def __init__(self, drop_prob: float = 0.0, *, scale_by_keep: bool = True) -> None:
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1) (got {drop_prob})")
        self.drop_prob = drop_prob
        self.scale_by_keep = scale_by_keep

    def forward(self, x: Tensor) -> Tensor:
        return drop_path(x, self.drop_prob, self.training, self.scale_by_keep)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


def drop_path_rates(drop_path_rate: float, depth: int) -> list[float]:
    """The linear decay rule of Huang et al. 2016 (§3): block ``l`` of ``L`` drops with ``rate * l / (L - 1)``.

    The first block is never dropped and the last one drops with ``drop_path_rate`` (the convention of
    DeiT and timm; Huang et al. use ``l / L`` with 1-based ``l``).
    """
    if depth <= 0:
        raise ValueError(f"depth must be > 0 (got {depth})")
    if not 0.0 <= drop_path_rate < 1.0:
        raise ValueError(f"drop_path_rate must be in [0, 1) (got {drop_path_rate})")
    # Plain Python, not torch.linspace: models are also built under `torch.device("meta")`.
    return [drop_path_rate * i / (depth - 1) if depth > 1 else 0.0 for i in range(depth)]
