"""The pre-norm transformer encoder block of ViT (Dosovitskiy et al. 2020, Eq. 2-3).

Paper: Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
ICLR 2021, arXiv:2010.11929; the block is Vaswani et al. 2017's encoder layer with the LayerNorm moved
in front of each sub-layer (Wang et al. 2019, "Learning Deep Transformer Models for Machine
Translation"), which trains without learning-rate warm-up tricks at depth. Stochastic depth on both
residual branches follows DeiT (Touvron et al. 2021). Layout and names (``norm1``, ``attn``, ``norm2``,
``mlp``) follow timm's ``Block``, so ViViT, TimeSformer and VTN reuse it unchanged.

::

    x ──┬── norm1 ── attn ── drop_path ──(+)──┬── norm2 ── mlp ── drop_path ──(+)──▶
        └──────────────────────────────────┘   └────────────────────────────────┘
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import Tensor, nn

from .attention import Attention
from .drop import DropPath
from .mlp import Mlp

__all__ = ["TransformerBlock", "vit_layer_norm"]

#: ViT's LayerNorm: eps = 1e-6 as in the reference JAX code (PyTorch's default is 1e-5).
vit_layer_norm: Callable[[int], nn.Module] = partial(nn.LayerNorm, eps=1e-6)


class TransformerBlock(nn.Module):
    r"""Pre-norm transformer block (ViT, Dosovitskiy et al. 2020, Eq. 2-3).

    .. math::
        z' = z + \mathrm{DropPath}(\mathrm{MSA}(\mathrm{LN}(z))), \qquad
        z'' = z' + \mathrm{DropPath}(\mathrm{MLP}(\mathrm{LN}(z')))

    Args:
        dim: token width D.
        num_heads: attention heads (must divide ``dim``).
        mlp_ratio: MLP hidden width as a multiple of D (4 in ViT, Table 1).
        qkv_bias: bias in the fused query/key/value projection.
        proj_drop: dropout after the attention projection and after each MLP Linear.
        attn_drop: dropout on the attention probabilities.
        drop_path: stochastic-depth probability of each residual branch.
        act_layer: MLP activation class.
        norm_layer: normalisation class called with ``dim`` (LayerNorm with eps 1e-6, as ViT).

    Shapes:
        x: (B, N, D) → (B, N, D); ``attn_mask`` / ``is_causal`` are passed to :class:`Attention`.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        proj_drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        act_layer: type[nn.Module] = nn.GELU,
        norm_layer: Callable[[int], nn.Module] = vit_layer_norm,
    ) -> None:
        super().__init__()
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0 (got {mlp_ratio})")
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        self.drop_path1 = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=proj_drop)
        self.drop_path2 = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        x = x + self.drop_path1(self.attn(self.norm1(x), attn_mask=attn_mask, is_causal=is_causal))  # Eq. 2
        return x + self.drop_path2(self.mlp(self.norm2(x)))  # Eq. 3
