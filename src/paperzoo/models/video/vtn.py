"""VTN: Video Transformer Network.

Paper: Neimark, Bar, Zohar & Asselmann, "Video Transformer Network", ICCV Workshops 2021,
arXiv:2102.00719. Reference implementation: bomri/SlowFast, ``slowfast/models/video_model_builder.py``
(class ``VTN``) with ``vtn_helper.VTNLongformerModel`` and the ``VIT_B_VTN`` config (ViT-B/16 backbone,
3 temporal layers, 12 heads, FFN 3072, attention window 18, 288 position embeddings, MLP head width
768, dropouts 0.1 in the temporal encoder and 0.5 in the head).

Implemented (§3, Fig. 2): a 2D spatial backbone — paperzoo's ViT-B/16 without its classifier — embeds
each frame independently into its (normalised) class-token feature; the temporal attention-based
encoder takes ``[CLS; f_1 … f_T]``, adds learned position embeddings indexed by the frame's position
(the class token has its own reserved index, ``max_position_embeddings - 2``, as in the reference),
normalises (LayerNorm + dropout, BERT/Longformer embeddings), and runs post-norm transformer layers
(Longformer/BERT layers: ``x = LN(x + Attn(x))``, ``x = LN(x + FFN(x))``); the classification MLP head
(LayerNorm, Linear 768→768, GELU, dropout, Linear to the classes) reads the class token.

Deviation (documented, as the issue asks): the paper's temporal encoder is a Longformer, whose sliding-
window attention is there to process long videos in linear memory. Here the default is standard full
attention (``attention_window=None``), and ``attention_window=w`` gives Longformer's local pattern
exactly as a mask: every frame token attends to the tokens within w/2 positions of it and the class
token attends to / is attended by everything (Longformer's global attention, the reference marks the
class token global). It is computed with a dense masked SDPA, i.e. without Longformer's memory saving.
Longformer's separate query/key/value projections for global attention (``*_global``) and the unused
token-type embeddings and word-embedding table of HuggingFace's ``LongformerModel`` are left out, so
``reference_params`` is None; the tests check the count layer by layer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from einops import rearrange
from torch import Tensor, nn

from ...nn import Attention, Mlp
from ...registry import Paper, register_model
from ..vision.vit import VisionTransformer
from ._base import VideoClassifier, linear_head

__all__ = ["VTN", "PostNormLayer", "sliding_window_mask"]

#: Longformer's (BERT's) LayerNorm, eps 1e-12 (HuggingFace ``LongformerConfig.layer_norm_eps``).
longformer_layer_norm: Callable[[int], nn.Module] = partial(nn.LayerNorm, eps=1e-12)

VTN_2021 = Paper(
    title="Video Transformer Network",
    authors="Daniel Neimark, Omri Bar, Maya Zohar, Dotan Asselmann",
    year=2021,
    arxiv="2102.00719",
)


def sliding_window_mask(seq_len: int, window: int, *, num_global: int = 1, device: Any = None) -> Tensor:
    """Longformer's attention pattern as a boolean mask (True = attends), global prefix tokens included.

    Token i attends to token j when ``|i - j| <= window // 2`` (Longformer's window ``w`` covers w/2 tokens
    on each side), or when either is one of the first ``num_global`` tokens (global attention, symmetric).

    Returns:
        (seq_len, seq_len) bool.
    """
    if window <= 0:
        raise ValueError(f"window must be > 0 (got {window})")
    idx = torch.arange(seq_len, device=device)
    mask = (idx[:, None] - idx[None, :]).abs() <= window // 2
    mask[:num_global, :] = True
    mask[:, :num_global] = True
    return mask


class PostNormLayer(nn.Module):
    """A Longformer/BERT encoder layer: post-norm self-attention and feed-forward sub-layers.

    ``x = LN(x + Dropout(Attn(x)))``, ``x = LN(x + Dropout(FFN(x)))`` (Vaswani et al. 2017's original
    placement, which BERT and Longformer keep).

    Args:
        dim: width D.
        num_heads: attention heads.
        mlp_hidden: FFN width (Longformer's ``intermediate_size``).
        hidden_drop: dropout after the attention output and the FFN (``hidden_dropout_prob``).
        attn_drop: dropout on attention probabilities (``attention_probs_dropout_prob``).
        norm_layer: normalisation class.
        act_layer: FFN activation (GELU).

    Shapes:
        x: (B, N, D) → (B, N, D); ``attn_mask`` (N, N) bool, True = attends.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        mlp_hidden: int,
        hidden_drop: float = 0.0,
        attn_drop: float = 0.0,
        norm_layer: Callable[[int], nn.Module] = nn.LayerNorm,
        act_layer: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        self.attn = Attention(dim, num_heads, qkv_bias=True, attn_drop=attn_drop, proj_drop=hidden_drop)
        self.norm1 = norm_layer(dim)
        # Longformer's FFN has no dropout between its two Linears, only after the second.
        self.mlp = Mlp(dim, mlp_hidden, act_layer=act_layer, drop=0.0)
        self.mlp_drop = nn.Dropout(hidden_drop)
        self.norm2 = norm_layer(dim)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        x = self.norm1(x + self.attn(x, attn_mask=attn_mask))
        return self.norm2(x + self.mlp_drop(self.mlp(x)))


class VTN(VideoClassifier):
    """VTN (Neimark et al. 2021): per-frame ViT embeddings → temporal attention encoder → MLP head.

    ::

        clip ─▶ per frame: ViT-B/16 ─▶ f_t (class-token feature, D)
             ─▶ [CLS; f_1 … f_T] + E_pos ─▶ LN, dropout ─▶ L × post-norm layer (full | sliding window)
             ─▶ CLS ─▶ LN ─▶ Linear ─▶ GELU ─▶ dropout ─▶ head

    Args:
        img_size: frame resolution of the backbone.
        patch_size: backbone patch side.
        in_chans: input channels.
        num_classes: classes K (400; 0: features only).
        embed_dim, depth, num_heads: the ViT backbone (ViT-B: 768, 12, 12).
        backbone_drop_path_rate: the backbone's stochastic depth (reference ``DROP_PATH_RATE`` 0).
        temporal_depth: temporal encoder layers (3).
        temporal_num_heads: temporal attention heads (12).
        temporal_mlp_hidden: temporal FFN width (3072).
        max_position_embeddings: size of the position table (288); clips have at most this minus 2 frames.
        attention_window: None for full attention (default) or Longformer's window w (18 in the reference).
        hidden_drop_rate, attn_drop_rate: temporal encoder dropouts (0.1, 0.1).
        mlp_dim: hidden width of the classification MLP head (768).
        drop_rate: dropout in the head (0.5, the reference's ``MODEL.DROPOUT_RATE``).

    Shapes:
        x: (B, in_chans, T, H, W), any 1 <= T <= ``max_position_embeddings - 2`` → logits (B, K);
        ``forward_features`` → (B, 1 + T, D) temporal-encoder tokens, class token first.
    """

    classifier_attr = "head"

    def __init__(
        self,
        img_size: int | tuple[int, int] = 224,
        patch_size: int = 16,
        *,
        in_chans: int = 3,
        num_classes: int = 400,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        backbone_drop_path_rate: float = 0.0,
        temporal_depth: int = 3,
        temporal_num_heads: int = 12,
        temporal_mlp_hidden: int = 3072,
        max_position_embeddings: int = 288,
        attention_window: int | None = None,
        hidden_drop_rate: float = 0.1,
        attn_drop_rate: float = 0.1,
        mlp_dim: int = 768,
        drop_rate: float = 0.5,
        act_layer: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        if temporal_depth <= 0:
            raise ValueError(f"temporal_depth must be > 0 (got {temporal_depth})")
        if max_position_embeddings < 3:
            raise ValueError(f"max_position_embeddings must be >= 3 (got {max_position_embeddings})")
        if attention_window is not None and attention_window <= 0:
            raise ValueError(f"attention_window must be > 0 or None (got {attention_window})")
        if mlp_dim <= 0:
            raise ValueError(f"mlp_dim must be > 0 (got {mlp_dim})")
        for name, p in (("drop_rate", drop_rate), ("hidden_drop_rate", hidden_drop_rate)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {p})")
        self.in_chans, self.num_classes, self.embed_dim = in_chans, num_classes, embed_dim
        self.max_position_embeddings, self.attention_window = max_position_embeddings, attention_window

        # Spatial backbone: a ViT without its classifier, returning the normalised class token per frame.
        self.backbone = VisionTransformer(
            img_size, patch_size, in_chans=in_chans, num_classes=0, embed_dim=embed_dim, depth=depth,
            num_heads=num_heads, drop_path_rate=backbone_drop_path_rate, act_layer=act_layer,
        )  # fmt: skip

        self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dim))  # the reference draws it from N(0, 1)
        self.pos_embed = nn.Embedding(max_position_embeddings, embed_dim)  # Longformer position_embeddings
        self.embed_norm = longformer_layer_norm(embed_dim)
        self.embed_drop = nn.Dropout(hidden_drop_rate)
        self.temporal_blocks = nn.ModuleList(
            [
                PostNormLayer(
                    embed_dim,
                    temporal_num_heads,
                    mlp_hidden=temporal_mlp_hidden,
                    hidden_drop=hidden_drop_rate,
                    attn_drop=attn_drop_rate,
                    norm_layer=longformer_layer_norm,
                    act_layer=act_layer,
                )  # fmt: skip
                for _ in range(temporal_depth)
            ]
        )

        # Classification MLP head (reference ``mlp_head``): LN → Linear → GELU → Dropout → Linear.
        self.head_norm = nn.LayerNorm(embed_dim)  # PyTorch's eps 1e-5, as the reference's mlp_head
        self.pre_logits = nn.Sequential(nn.Linear(embed_dim, mlp_dim), act_layer())
        self.head_drop = nn.Dropout(drop_rate)
        self.num_features = mlp_dim
        self.head = linear_head(mlp_dim, num_classes)
        self._init_temporal()

    @torch.no_grad()
    def _init_temporal(self) -> None:
        """BERT's initialisation for the temporal encoder and head: N(0, 0.02) weights, zero biases."""
        for m in [*self.temporal_blocks.modules(), self.pos_embed, *self.pre_logits.modules(), self.head]:
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    def no_weight_decay(self) -> set[str]:
        return {"cls_token", "pos_embed.weight", "backbone.pos_embed", "backbone.cls_token"}

    def frame_embeddings(self, x: Tensor) -> Tensor:
        """The spatial backbone on every frame: clips (B, C, T, H, W) → (B, T, D)."""
        self.check_input(x)
        t = x.shape[2]
        if not 1 <= t <= self.max_position_embeddings - 2:
            raise ValueError(
                f"expected 1 to {self.max_position_embeddings - 2} frames (max_position_embeddings - 2), got {t}"
            )
        frames = rearrange(x, "b c t h w -> (b t) c h w")
        f = self.backbone.forward_head(self.backbone.forward_features(frames), pre_logits=True)  # (B·T, D)
        return rearrange(f, "(b t) d -> b t d", t=t)

    def forward_features(self, x: Tensor) -> Tensor:
        """Clips (B, C, T, H, W) → temporal-encoder tokens (B, 1 + T, D), class token first."""
        f = self.frame_embeddings(x)
        b, t, _ = f.shape
        z = torch.cat([self.cls_token.expand(b, -1, -1), f], dim=1)  # (B, 1 + T, D)
        # Position ids: frames 0 … T-1; the class token the reserved index max_position_embeddings - 2.
        ids = torch.cat(
            [torch.full((1,), self.max_position_embeddings - 2), torch.arange(t)]
        ).to(device=x.device)  # fmt: skip
        z = self.embed_drop(self.embed_norm(z + self.pos_embed(ids)))
        mask = None
        if self.attention_window is not None:  # Longformer's local pattern, class token global
            mask = sliding_window_mask(1 + t, self.attention_window, num_global=1, device=x.device)
        for blk in self.temporal_blocks:
            z = blk(z, attn_mask=mask)
        return z

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Tokens (B, 1 + T, D) → logits (B, K) through the MLP head on the class token."""
        x = self.head_drop(self.pre_logits(self.head_norm(x[:, 0])))
        return x if pre_logits else self.head(x)


def _create(defaults: dict[str, Any], overrides: dict[str, Any]) -> VTN:
    return VTN(**{**defaults, **overrides})


@register_model(
    paper=VTN_2021,
    reference="bomri/SlowFast slowfast.models.video_model_builder.VTN (configs/Kinetics/VIT_B_VTN.yaml)",
    input_size=(3, 16, 224, 224),
)
def vtn_vit_b(**kwargs: Any) -> VTN:
    """ViT-B-VTN: ViT-B/16 frame encoder, 3 temporal layers (12 heads, FFN 3072), MLP head 768, 16 frames."""
    return _create({}, kwargs)


@register_model(paper=VTN_2021, reference="bomri/SlowFast VTN (reduced)", input_size=(3, 4, 32, 32))
def vtn_tiny(**kwargs: Any) -> VTN:
    """A 2-block ViT (8×8 patches, D 64) on 32×32 frames, 1 temporal layer (2 heads, FFN 128), head 64."""
    return _create(
        dict(
            img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=2, temporal_depth=1, temporal_num_heads=2,
            temporal_mlp_hidden=128, max_position_embeddings=16, mlp_dim=64,
        ),
        kwargs,
    )  # fmt: skip
