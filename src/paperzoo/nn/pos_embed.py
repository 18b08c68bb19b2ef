"""Resampling learned absolute position embeddings to a new patch grid.

ViT (Dosovitskiy et al. 2020, arXiv:2010.11929, §3.2 "Fine-tuning and higher resolution"): when a model
is fine-tuned at a higher resolution with the same patch size, the sequence gets longer and the
pre-trained position embeddings no longer fit; the paper performs "2D interpolation of the pre-trained
position embeddings, according to their location in the original image". The embeddings of the prefix
tokens (the class token, and any distillation/register tokens) have no location and are kept as they
are. Interpolation is bicubic with ``align_corners=False`` (pixel centres), as in timm's
``resample_abs_pos_embed``; the original JAX code uses ``scipy.ndimage.zoom`` with order 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

__all__ = ["resample_abs_pos_embed"]


def resample_abs_pos_embed(
    pos_embed: Tensor,
    new_size: int | tuple[int, int],
    old_size: int | tuple[int, int] | None = None,
    *,
    num_prefix_tokens: int = 1,
    interpolation: str = "bicubic",
    antialias: bool = True,
) -> Tensor:
    """Interpolate a grid of learned position embeddings to ``new_size`` (ViT §3.2).

    Args:
        pos_embed: (1, P + h·w, D) position embeddings; the first P belong to prefix tokens, the rest
            to the h × w patch grid in raster order.
        new_size: target grid (h', w') (an int means square).
        old_size: source grid (h, w); inferred as a square grid when ``None``.
        num_prefix_tokens: P, embeddings copied through unchanged (1 for ViT's class token).
        interpolation: ``F.interpolate`` mode for the grid ("bicubic", "bilinear", "nearest", ...).
        antialias: low-pass before downsampling (bilinear/bicubic only; no effect when upsampling).

    Returns:
        (1, P + h'·w', D), same dtype as ``pos_embed``; the input itself when the grid is unchanged.
    """
    if pos_embed.dim() != 3:
        raise ValueError(f"expected pos_embed of shape (1, P + h*w, D), got {tuple(pos_embed.shape)}")
    if num_prefix_tokens < 0 or num_prefix_tokens > pos_embed.shape[1]:
        raise ValueError(f"num_prefix_tokens must be in [0, {pos_embed.shape[1]}] (got {num_prefix_tokens})")
    new_hw = (new_size, new_size) if isinstance(new_size, int) else tuple(new_size)
    if len(new_hw) != 2 or min(new_hw) <= 0:
        raise ValueError(f"new_size must be a positive int or pair (got {new_size})")
    num_grid = pos_embed.shape[1] - num_prefix_tokens
    if old_size is None:
        side = math.isqrt(num_grid)
        if side * side != num_grid:
            raise ValueError(f"cannot infer a square grid from {num_grid} position embeddings; pass old_size")
        old_hw = (side, side)
    else:
        old_hw = (old_size, old_size) if isinstance(old_size, int) else tuple(old_size)
    if old_hw[0] * old_hw[1] != num_grid:
        raise ValueError(f"expected {old_hw[0]}x{old_hw[1]}={old_hw[0] * old_hw[1]} grid embeddings, got {num_grid}")
    if tuple(new_hw) == tuple(old_hw):
        return pos_embed

    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    # (B, h·w, D) → (B, D, h, w): the token order is the raster order of PatchEmbed.
    grid = rearrange(grid, "b (h w) d -> b d h w", h=old_hw[0], w=old_hw[1])
    # Interpolate in float32: bicubic on half precision is not supported everywhere and loses digits.
    aa = antialias and interpolation in ("bilinear", "bicubic")
    align = False if interpolation in ("linear", "bilinear", "bicubic", "trilinear") else None
    grid = F.interpolate(grid.float(), size=new_hw, mode=interpolation, align_corners=align, antialias=aa)
    grid = rearrange(grid, "b d h w -> b (h w) d").to(pos_embed.dtype)
    return torch.cat([prefix, grid], dim=1)
