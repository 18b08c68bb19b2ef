"""Multi-head self-attention (Vaswani et al. 2017, §3.2) on token sequences, through PyTorch's fused SDPA.

Paper: Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser & Polosukhin, "Attention Is All You
Need", NeurIPS 2017, arXiv:1706.03762. The layout (one fused ``qkv`` Linear, one output ``proj``) is the
one of the ViT reference code and timm (``timm.layers.Attention``), so ViT, ViViT, TimeSformer and VTN
state dicts line up with it; ``torch.nn.MultiheadAttention`` computes the same function with
``in_proj_weight`` = ``qkv.weight`` and ``out_proj`` = ``proj``.
"""

from __future__ import annotations

import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

__all__ = ["Attention"]


class Attention(nn.Module):
    r"""Multi-head scaled dot-product self-attention (Vaswani et al. 2017, Eq. 1 and §3.2.2).

    .. math::
        \mathrm{head}_h = \mathrm{softmax}\big(Q_h K_h^\top / \sqrt{d}\big) V_h, \qquad
        \mathrm{out} = [\mathrm{head}_1, \dots, \mathrm{head}_H] W^O

    with ``[Q, K, V] = x W^{qkv}`` split into ``H`` heads of width ``d = dim / H``.

    Args:
        dim: token width D.
        num_heads: number of heads H (must divide ``dim``).
        qkv_bias: learn a bias for the query/key/value projection (ViT and BERT do; timm's default is no).
        attn_drop: dropout on the attention probabilities (training only).
        proj_drop: dropout after the output projection.

    Shapes:
        x: (B, N, D) → (B, N, D).
        attn_mask: broadcastable to (B, H, N, N). Boolean: **True marks pairs that take part** (the
            convention of ``F.scaled_dot_product_attention``, the opposite of
            ``nn.MultiheadAttention``'s ``attn_mask``); float: added to the logits.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        *,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ) -> None:
        super().__init__()
        if dim <= 0:
            raise ValueError(f"dim must be > 0 (got {dim})")
        if num_heads <= 0 or dim % num_heads != 0:
            raise ValueError(f"num_heads must be > 0 and divide dim={dim} (got {num_heads})")
        for name, p in (("attn_drop", attn_drop), ("proj_drop", proj_drop)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {p})")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.attn_drop = attn_drop  # a probability: SDPA applies it to the softmax output
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        """Self-attention over the N tokens of each sequence.

        Args:
            x: tokens (B, N, D).
            attn_mask: optional mask or additive bias, broadcastable to (B, H, N, N) (see the class doc).
            is_causal: token i attends only to tokens j <= i (cannot be combined with ``attn_mask``).

        Returns:
            (B, N, D).
        """
        if x.dim() != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens of shape (B, N, {self.dim}), got {tuple(x.shape)}")
        if attn_mask is not None and is_causal:
            raise ValueError("give attn_mask or is_causal, not both (fold the causal mask into attn_mask)")
        # (B, N, 3D) → three (B, H, N, d): the fused projection holds W^Q, W^K, W^V stacked in that order.
        q, k, v = rearrange(self.qkv(x), "b n (three h d) -> three b h n d", three=3, h=self.num_heads)
        out = F.scaled_dot_product_attention(  # softmax(QKᵀ/√d + mask) V, Eq. 1, per head
            q, k, v, attn_mask=attn_mask, dropout_p=self.attn_drop if self.training else 0.0, is_causal=is_causal
        )
        out = rearrange(out, "b h n d -> b n (h d)")  # concatenate the heads: (B, N, D)
        return self.proj_drop(self.proj(out))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, attn_drop={self.attn_drop}"
