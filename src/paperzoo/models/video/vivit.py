"""ViViT: A Video Vision Transformer.

Paper: Arnab, Dehghani, Heigold, Sun, Lučić & Schmid, "ViViT: A Video Vision Transformer", ICCV 2021,
arXiv:2103.15691. Reference implementation: google-research/scenic, ``scenic/projects/vivit/model.py``
(``ViViT`` for models 1, 3 and 4, ``SpaceTimeViViT`` for model 2) with the Kinetics-400 configs
``configs/kinetics400/vivit_base_k400.py`` and ``vivit_base_factorised_encoder.py`` (ViViT-B, 16×16×2
tubelets, 32 frames at 224², 400 classes, no dropout).

Implemented:

- Tokenisation (§3.2): *uniform frame sampling* (``embedding="frame"``: every frame is cut into P×P
  patches by ViT's 2D patch embedding; the data pipeline samples the ``num_frames`` frames) and
  *tubelet embedding* (``embedding="tubelet"``, default: non-overlapping t×P×P tubes, a Conv3d). The
  tubelet kernel's initialisation (§3.4, "Embedding weights") is ``tubelet_init``: "central_frame"
  (default, as the reference configs: only the kernel's central time slice is non-zero, so at
  initialisation a tubelet sees only its central frame), "inflate" (the 2D filter replicated over time,
  divided by t when it comes from a 2D ViT, I3D's "filter inflation") or "random".
- Model 1, spatio-temporal attention (§3.3): all n_t·n_h·n_w tokens and a class token through one
  ViT encoder.
- Model 2, factorised encoder: a *spatial* ViT encoder with its own class token runs on the n_h·n_w
  tokens of each temporal index; its per-index class-token outputs (after its final LayerNorm) go,
  with a second class token, through a *temporal* encoder (L_t = 4 blocks for ViViT-B, as the reference
  config) and its own LayerNorm.
- Model 3, factorised self-attention (Eq. 4-6): each block runs self-attention among the tokens of one
  temporal index, then among the tokens of one spatial location, then the MLP; each attention has its
  own LayerNorm. No class token: global average pooling (the reference allows nothing else).
  ``attention_order="time_space"`` gives the reverse order, which the reference also offers.
- Model 4, factorised dot-product attention (Eq. 7-8): one multi-head attention whose heads are split
  in two halves, one attending over the tokens of the same temporal index (spatial heads), the other
  over the tokens at the same spatial location (temporal heads); the head outputs are concatenated
  and projected by the block's single W_O, so the block has exactly ViT's parameters. The paper writes
  ``Concat(Y_s, Y_t)`` (spatial heads first, ``head_split="space_time"``, default); scenic's
  ``factorized_dot_product_attention`` puts the temporal half first (``head_split="time_space"``).
  Global average pooling, as the reference.
- Initialisation from a 2D ViT (§3.4, :meth:`ViViT.load_vit_state_dict`, from a paperzoo ``vit_*``
  state dict): patch embedding copied (frame embedding) or inflated/central-framed (tubelets);
  position embeddings resampled to the frame grid if needed and *repeated over time* (scenic's
  "tile"); transformer blocks and final LayerNorm copied; model 3's temporal attention set to zero
  so Eq. 5 starts as an identity (residual only) and its temporal LayerNorm left at (1, 0) (the
  paper; the reference's default copies the spatial attention instead, ``temporal_attn_init="copy"``);
  model 2's temporal encoder, class token and position embeddings keep their random initialisation.
  The classifier is not loaded (it starts at zero, as in the reference's ``output_projection``).

Random initialisation follows paperzoo's ViT (timm's scheme: truncated-normal 0.02 Linear weights and
position embeddings, zero biases; class tokens zero as in scenic; a zero classifier as scenic's
``output_projection``). Scenic uses Xavier-uniform attention and MLP kernels; the paper always
initialises from a pre-trained ViT, so this only matters for training from scratch.

Left out: the "factorised transformer block" and "spatial-only baseline" options of the reference,
ViViT-L/H variants (same class, larger sizes), and the training regularisers of §4 (Mixup, label
smoothing, stochastic depth is available as ``drop_path_rate``). Parameter counts: scenic publishes
none (it is JAX); the registered variants give ``reference_params=None`` and the tests check the exact
count layer by layer against the reference configs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import Tensor, nn

from ...nn import (
    Attention,
    DropPath,
    Mlp,
    PatchEmbed,
    TransformerBlock,
    TubeletEmbed,
    drop_path_rates,
    resample_abs_pos_embed,
    vit_layer_norm,
)
from ...registry import Paper, register_model
from ._base import VideoClassifier, linear_head

__all__ = [
    "ViViT",
    "FactorisedSelfAttentionBlock",
    "FactorisedDotProductAttention",
    "vivit_state_dict_from_vit",
]

VIVIT_2021 = Paper(
    title="ViViT: A Video Vision Transformer",
    authors="Anurag Arnab, Mostafa Dehghani, Georg Heigold, Chen Sun, Mario Lučić, Cordelia Schmid",
    year=2021,
    arxiv="2103.15691",
)

#: Accepted spellings of the four models of §3.3.
_MODELS = {
    1: 1,
    "spatio_temporal": 1,
    2: 2,
    "factorised_encoder": 2,
    3: 3,
    "factorised_self_attention": 3,
    4: 4,
    "factorised_dot_product": 4,
}


class FactorisedSelfAttentionBlock(nn.Module):
    r"""ViViT model 3's block (Arnab et al. 2021, Eq. 4-6): spatial attention, temporal attention, MLP.

    .. math::
        y_s = \mathrm{MSA}(\mathrm{LN}(z^\ell_s)) + z^\ell_s, \quad
        y_t = \mathrm{MSA}(\mathrm{LN}(y_s)) + y_s, \quad
        z^{\ell+1} = \mathrm{MLP}(\mathrm{LN}(y_t)) + y_t

    where the first MSA runs over the n_h·n_w tokens of each temporal index and the second over the n_t
    tokens of each spatial location. The spatial sub-layer reuses ViT's names (``norm1``, ``attn``,
    ``norm2``, ``mlp``) so a ViT block loads into it; the temporal one is ``temporal_norm`` /
    ``temporal_attn``.

    Args:
        dim: token width D.
        num_heads: heads of both attentions.
        grid: (n_t, n) temporal indices and tokens per temporal index.
        attention_order: "space_time" (Eq. 4-6, default) or "time_space".
        mlp_ratio, qkv_bias, proj_drop, attn_drop, drop_path, act_layer, norm_layer: as
            :class:`~paperzoo.nn.TransformerBlock`.

    Shapes:
        x: (B, n_t·n, D), time-major → (B, n_t·n, D).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        grid: tuple[int, int],
        attention_order: str = "space_time",
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        proj_drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        act_layer: type[nn.Module] = nn.GELU,
        norm_layer: Callable[[int], nn.Module] = vit_layer_norm,
    ) -> None:
        super().__init__()
        if attention_order not in ("space_time", "time_space"):
            raise ValueError(f"attention_order must be 'space_time' or 'time_space' (got {attention_order!r})")
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0 (got {mlp_ratio})")
        self.grid, self.attention_order = tuple(grid), attention_order
        attn_kw = dict(qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads, **attn_kw)  # spatial MSA
        self.temporal_norm = norm_layer(dim)
        self.temporal_attn = Attention(dim, num_heads, **attn_kw)  # temporal MSA
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=proj_drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _spatial(self, x: Tensor) -> Tensor:
        nt = self.grid[0]
        xs = rearrange(x, "b (t n) d -> (b t) n d", t=nt)  # one sequence per temporal index
        xs = xs + self.drop_path(self.attn(self.norm1(xs)))  # Eq. 4
        return rearrange(xs, "(b t) n d -> b (t n) d", t=nt)

    def _temporal(self, x: Tensor) -> Tensor:
        nt, n = self.grid
        xt = rearrange(x, "b (t n) d -> (b n) t d", t=nt)  # one sequence per spatial location
        xt = xt + self.drop_path(self.temporal_attn(self.temporal_norm(xt)))  # Eq. 5
        return rearrange(xt, "(b n) t d -> b (t n) d", n=n)

    def forward(self, x: Tensor) -> Tensor:
        if self.attention_order == "space_time":
            x = self._temporal(self._spatial(x))
        else:
            x = self._spatial(self._temporal(x))
        return x + self.drop_path(self.mlp(self.norm2(x)))  # Eq. 6


class FactorisedDotProductAttention(Attention):
    r"""ViViT model 4's attention (Arnab et al. 2021, Eq. 7-8): half the heads spatial, half temporal.

    .. math::
        Y_s = \mathrm{Attention}(Q, K_s, V_s), \quad Y_t = \mathrm{Attention}(Q, K_t, V_t), \quad
        Y = \mathrm{Concat}(Y_s, Y_t) W_O

    Spatial heads let a token attend to the tokens of its temporal index, temporal heads to the tokens
    at its spatial location. Parameters (``qkv``, ``proj``) are exactly :class:`~paperzoo.nn.Attention`'s.

    Args:
        dim: token width D.
        num_heads: total heads H (even, and dividing D).
        grid: (n_t, n) temporal indices and tokens per temporal index.
        head_split: "space_time" (the paper's Concat(Y_s, Y_t), default) or "time_space" (scenic's
            order: the first H/2 heads are temporal).
        qkv_bias, attn_drop, proj_drop: as :class:`~paperzoo.nn.Attention`.

    Shapes:
        x: (B, n_t·n, D), time-major → (B, n_t·n, D).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        grid: tuple[int, int],
        head_split: str = "space_time",
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ) -> None:
        super().__init__(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        if num_heads % 2:
            raise ValueError(f"num_heads must be even to split heads between space and time (got {num_heads})")
        if head_split not in ("space_time", "time_space"):
            raise ValueError(f"head_split must be 'space_time' or 'time_space' (got {head_split!r})")
        self.grid, self.head_split = tuple(grid), head_split

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        if attn_mask is not None or is_causal:
            raise ValueError("factorised dot-product attention takes no attention mask")
        nt, n = self.grid
        if x.dim() != 3 or x.shape[1:] != (nt * n, self.dim):
            raise ValueError(f"expected tokens of shape (B, {nt * n}, {self.dim}), got {tuple(x.shape)}")
        p = self.attn_drop if self.training else 0.0
        # (B, n_t·n, 3D) → three (B, H, n_t, n, d).
        q, k, v = rearrange(self.qkv(x), "b (t n) (three h d) -> three b h t n d", three=3, h=self.num_heads, t=nt)
        h2 = self.num_heads // 2
        sp, tp = (slice(0, h2), slice(h2, None)) if self.head_split == "space_time" else (slice(h2, None), slice(0, h2))
        # Spatial heads: attention along n within each temporal index (Eq. 7, K_s, V_s ∈ R^{n_h·n_w × d}).
        ys = F.scaled_dot_product_attention(q[:, sp], k[:, sp], v[:, sp], dropout_p=p)  # (B, H/2, n_t, n, d)
        # Temporal heads: attention along n_t at each spatial location (K_t, V_t ∈ R^{n_t × d}).
        qt, kt, vt = (rearrange(z[:, tp], "b h t n d -> b h n t d") for z in (q, k, v))
        yt = rearrange(F.scaled_dot_product_attention(qt, kt, vt, dropout_p=p), "b h n t d -> b h t n d")
        y = torch.cat([ys, yt] if self.head_split == "space_time" else [yt, ys], dim=1)  # Concat, Eq. 8
        y = rearrange(y, "b h t n d -> b (t n) (h d)")
        return self.proj_drop(self.proj(y))  # W_O

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, grid={self.grid}, head_split={self.head_split!r}"


class ViViT(VideoClassifier):
    """ViViT (Arnab et al. 2021): tubelet/frame tokens and one of four spatio-temporal encoders.

    ::

        model 1: clip ─▶ embed ─▶ [cls; n_t·n tokens] + pos ─▶ L × block ─▶ LN ─▶ cls ─▶ head
        model 2: clip ─▶ embed ─▶ per t: [cls_s; n tokens] + pos_s ─▶ L × block ─▶ LN ─▶ cls_s(t)
                 ─▶ [cls_t; cls_s(1..n_t)] + pos_t ─▶ L_t × block ─▶ LN ─▶ cls_t ─▶ head
        model 3: clip ─▶ embed ─▶ n_t·n tokens + pos ─▶ L × (space MSA, time MSA, MLP) ─▶ LN ─▶ mean ─▶ head
        model 4: clip ─▶ embed ─▶ n_t·n tokens + pos ─▶ L × (space|time-head MSA, MLP) ─▶ LN ─▶ mean ─▶ head

    Args:
        img_size: frame resolution (int or (H, W)).
        patch_size: spatial patch side P.
        num_frames: input frames T (the clip length the position embeddings are sized for).
        tubelet_size: temporal extent t of a tubelet (``embedding="tubelet"``); 1 for frame embedding.
        model: 1/"spatio_temporal", 2/"factorised_encoder", 3/"factorised_self_attention" or
            4/"factorised_dot_product".
        embedding: "tubelet" (Conv3d over t×P×P, default) or "frame" (uniform frame sampling: ViT's
            2D patch embedding on every frame).
        tubelet_init: "central_frame" (default), "inflate" or "random" (see the module doc).
        in_chans: input channels.
        num_classes: classes K (400, Kinetics-400; 0: features only).
        embed_dim, depth, num_heads, mlp_ratio, qkv_bias: the (spatial) encoder, as ViT.
        temporal_depth: L_t, blocks of model 2's temporal encoder (4 for ViViT-B in the reference).
        temporal_num_heads: heads of model 2's temporal encoder (default ``num_heads``).
        attention_order: model 3's order, "space_time" (Eq. 4-6) or "time_space".
        head_split: model 4's head order, "space_time" (paper) or "time_space" (scenic).
        drop_rate: dropout before the classifier.
        pos_drop_rate: dropout after adding position embeddings (scenic's ``dropout_rate`` there).
        proj_drop_rate: dropout after attention projections and MLP Linears.
        attn_drop_rate: dropout on attention probabilities.
        drop_path_rate: stochastic depth of the last block (linear from 0, per encoder).
        norm_layer: normalisation class (LayerNorm, eps 1e-6).
        act_layer: MLP activation (GELU).

    Shapes:
        x: (B, in_chans, num_frames, H, W) → logits (B, K). ``forward_features``: model 1 (B, 1 + n_t·n, D)
        tokens, class token first; model 2 (B, 1 + n_t, D) temporal-encoder tokens; models 3-4 (B, n_t·n, D).
    """

    classifier_attr = "head"

    def __init__(
        self,
        img_size: int | tuple[int, int] = 224,
        patch_size: int = 16,
        *,
        num_frames: int = 32,
        tubelet_size: int = 2,
        model: int | str = 1,
        embedding: str = "tubelet",
        tubelet_init: str = "central_frame",
        in_chans: int = 3,
        num_classes: int = 400,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        temporal_depth: int = 4,
        temporal_num_heads: int | None = None,
        attention_order: str = "space_time",
        head_split: str = "space_time",
        drop_rate: float = 0.0,
        pos_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        norm_layer: Callable[[int], nn.Module] = vit_layer_norm,
        act_layer: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        if model not in _MODELS:
            raise ValueError(
                f"model must be 1-4 or one of {[k for k in _MODELS if isinstance(k, str)]} (got {model!r})"
            )
        if embedding not in ("tubelet", "frame"):
            raise ValueError(f"embedding must be 'tubelet' or 'frame' (got {embedding!r})")
        if tubelet_init not in ("central_frame", "inflate", "random"):
            raise ValueError(f"tubelet_init must be 'central_frame', 'inflate' or 'random' (got {tubelet_init!r})")
        if embedding == "frame":
            tubelet_size = 1
        if tubelet_size <= 0 or num_frames <= 0 or num_frames % tubelet_size:
            raise ValueError(
                f"num_frames must be a positive multiple of tubelet_size={tubelet_size} (got {num_frames})"
            )
        for name, n in (("depth", depth), ("temporal_depth", temporal_depth), ("embed_dim", embed_dim)):
            if n <= 0:
                raise ValueError(f"{name} must be > 0 (got {n})")
        for name, p in (("drop_rate", drop_rate), ("pos_drop_rate", pos_drop_rate)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {p})")
        self.model = _MODELS[model]
        self.embedding, self.tubelet_init = embedding, tubelet_init
        self.in_chans, self.num_classes, self.embed_dim = in_chans, num_classes, embed_dim
        self.num_frames, self.tubelet_size = num_frames, tubelet_size

        if embedding == "frame":
            self.patch_embed: nn.Module = PatchEmbed(img_size, patch_size, in_chans=in_chans, embed_dim=embed_dim)
        else:
            self.patch_embed = TubeletEmbed(
                img_size, patch_size, num_frames=num_frames, tubelet_size=tubelet_size, in_chans=in_chans,
                embed_dim=embed_dim,
            )  # fmt: skip
        self.img_size: tuple[int, int] = self.patch_embed.img_size
        gh, gw = self.img_size[0] // self.patch_embed.patch_size[0], self.img_size[1] // self.patch_embed.patch_size[1]
        self.grid = (num_frames // tubelet_size, gh * gw)  # (n_t, n_h·n_w)
        nt, n = self.grid

        block_kw = dict(
            mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, proj_drop=proj_drop_rate, attn_drop=attn_drop_rate,
            act_layer=act_layer, norm_layer=norm_layer,
        )  # fmt: skip
        dpr = drop_path_rates(drop_path_rate, depth)
        # Class token and position embeddings: one per token of the (spatial) encoder's sequence.
        if self.model in (1, 2):
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.num_prefix_tokens = 1
        else:
            self.cls_token = None  # models 3 and 4 classify the mean token (§3.3, reference: "gap" only)
            self.num_prefix_tokens = 0
        seq = {1: nt * n, 2: n, 3: nt * n, 4: nt * n}[self.model]
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_prefix_tokens + seq, embed_dim))
        self.pos_drop = nn.Dropout(pos_drop_rate)

        if self.model in (1, 2):
            blocks = [TransformerBlock(embed_dim, num_heads, drop_path=dpr[i], **block_kw) for i in range(depth)]
        elif self.model == 3:
            blocks = [
                FactorisedSelfAttentionBlock(
                    embed_dim, num_heads, grid=self.grid, attention_order=attention_order, drop_path=dpr[i], **block_kw
                )
                for i in range(depth)
            ]
        else:
            blocks = []
            for i in range(depth):
                blk = TransformerBlock(embed_dim, num_heads, drop_path=dpr[i], **block_kw)
                # Same parameters as ViT's attention, only the dot-product is factorised (Eq. 7-8).
                blk.attn = FactorisedDotProductAttention(
                    embed_dim, num_heads, grid=self.grid, head_split=head_split, qkv_bias=qkv_bias,
                    attn_drop=attn_drop_rate, proj_drop=proj_drop_rate,
                )  # fmt: skip
                blocks.append(blk)
        self.blocks = nn.Sequential(*blocks)
        self.norm = norm_layer(embed_dim)

        if self.model == 2:  # the temporal encoder of the factorised-encoder model
            t_heads = temporal_num_heads or num_heads
            t_dpr = drop_path_rates(drop_path_rate, temporal_depth)
            self.temporal_cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.temporal_pos_embed = nn.Parameter(torch.zeros(1, 1 + nt, embed_dim))
            self.temporal_blocks = nn.Sequential(
                *[TransformerBlock(embed_dim, t_heads, drop_path=t_dpr[i], **block_kw) for i in range(temporal_depth)]
            )
            self.temporal_norm = norm_layer(embed_dim)

        self.num_features = embed_dim
        self.head_drop = nn.Dropout(drop_rate)
        self.head = linear_head(embed_dim, num_classes)
        self.init_weights()

    # ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def init_weights(self) -> None:
        """Random initialisation (module doc): ViT's scheme, zero class tokens and classifier."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if self.model == 2:
            nn.init.trunc_normal_(self.temporal_pos_embed, std=0.02)
        if isinstance(self.patch_embed, TubeletEmbed) and self.tubelet_init != "random":
            w = self.patch_embed.proj.weight  # (D, C, t, P, P)
            if self.tubelet_init == "central_frame":  # scenic's central_frame_initializer
                keep = w[:, :, self.tubelet_size // 2].clone()
                w.zero_()
                w[:, :, self.tubelet_size // 2] = keep
            else:  # scenic's average_frame_initializer: one random 2D filter tiled over time
                w.copy_(w[:, :, :1].expand_as(w))
        self._zero_head()

    def _zero_head(self) -> None:
        if isinstance(self.head, nn.Linear):
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def reset_classifier(self, num_classes: int) -> None:
        """A new zero-initialised classifier (the reference's ``output_projection`` starts at zero)."""
        super().reset_classifier(num_classes)
        with torch.no_grad():
            self._zero_head()

    def no_weight_decay(self) -> set[str]:
        names = {"pos_embed", "cls_token", "temporal_pos_embed", "temporal_cls_token"}
        return {n for n, _ in self.named_parameters() if n in names}

    def load_vit_state_dict(self, state_dict: Mapping[str, Tensor], **kwargs: Any) -> list[str]:
        """Initialise from a 2D ViT (§3.4); see :func:`vivit_state_dict_from_vit` for the keyword arguments.

        Returns:
            The names of the parameters that keep their own initialisation (classifier, model 2's
            temporal encoder, model 3's temporal attention and LayerNorm).
        """
        converted = vivit_state_dict_from_vit(state_dict, self, **kwargs)
        result = self.load_state_dict(converted, strict=False)
        if result.unexpected_keys:
            raise ValueError(f"unexpected keys after ViT conversion: {result.unexpected_keys}")
        return list(result.missing_keys)

    # ----------------------------------------------------------------------------------------------
    def _tokens(self, x: Tensor) -> Tensor:
        """Clip (B, C, T, H, W) → tokens (B, n_t, n, D)."""
        self.check_input(x)
        t, h, w = x.shape[-3:]
        if (t, h, w) != (self.num_frames, *self.img_size):
            raise ValueError(
                f"expected clips of shape (B, {self.in_chans}, {self.num_frames}, {self.img_size[0]}, "
                f"{self.img_size[1]}), got {tuple(x.shape)}"
            )
        if self.embedding == "frame":  # uniform frame sampling: ViT's embedding on every frame (§3.2)
            z = self.patch_embed(rearrange(x, "b c t h w -> (b t) c h w"))  # (B·T, n, D)
            return rearrange(z, "(b t) n d -> b t n d", t=self.num_frames)
        z = self.patch_embed(x)  # (B, n_t·n, D), time-major
        return rearrange(z, "b (t n) d -> b t n d", t=self.grid[0])

    def forward_features(self, x: Tensor) -> Tensor:
        """Clips (B, C, T, H, W) → normalised encoder tokens (see the class doc for each model's shape)."""
        z = self._tokens(x)  # (B, n_t, n, D)
        b, nt, n, d = z.shape
        if self.model == 2:
            # Spatial encoder on each temporal index: a ViT on (B·n_t) sequences of [cls_s; n tokens].
            zs = rearrange(z, "b t n d -> (b t) n d")
            zs = torch.cat([self.cls_token.expand(zs.shape[0], -1, -1), zs], dim=1) + self.pos_embed
            zs = self.norm(self.blocks(self.pos_drop(zs)))
            h = rearrange(zs[:, 0], "(b t) d -> b t d", b=b)  # per-index class token h_i
            # Temporal encoder over [cls_t; h_1 … h_{n_t}].
            h = torch.cat([self.temporal_cls_token.expand(b, -1, -1), h], dim=1) + self.temporal_pos_embed
            return self.temporal_norm(self.temporal_blocks(self.pos_drop(h)))
        z = rearrange(z, "b t n d -> b (t n) d")
        if self.cls_token is not None:  # model 1
            z = torch.cat([self.cls_token.expand(b, -1, -1), z], dim=1)
        z = self.pos_drop(z + self.pos_embed)
        return self.norm(self.blocks(z))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Tokens → logits (B, K): class token (models 1-2) or mean token (models 3-4)."""
        x = x[:, 0] if self.model in (1, 2) else x.mean(dim=1)
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)


@torch.no_grad()
def vivit_state_dict_from_vit(
    state_dict: Mapping[str, Tensor],
    model: ViViT,
    *,
    tubelet_init: str | None = None,
    temporal_attn_init: str = "zero",
) -> dict[str, Tensor]:
    """Convert a paperzoo ViT state dict into (part of) a ViViT state dict, as §3.4 initialises ViViT.

    Args:
        state_dict: a :class:`~paperzoo.models.vision.vit.VisionTransformer` state dict with the same width,
            heads and depth as ``model`` and the same spatial patch size.
        model: the ViViT to initialise (its configuration decides the conversion).
        tubelet_init: "central_frame" (2D filter at the central time index, zeros elsewhere) or "inflate"
            (the 2D filter repeated over t and divided by t); default: the model's ``tubelet_init``
            ("random" falls back to "central_frame").
        temporal_attn_init: model 3 only, "zero" (the paper: temporal MSA weights zero, so Eq. 5 starts as
            a residual connection) or "copy" (the reference's default: a copy of the spatial MSA).

    Returns:
        A dict to load with ``strict=False``: patch embedding, position embeddings (spatial grid
        resampled to the model's if needed, then repeated over the n_t temporal indices), class token
        (models 1-2), blocks and final LayerNorm; model 3's temporal attention per ``temporal_attn_init``.
    """
    tubelet_init = tubelet_init or model.tubelet_init
    if tubelet_init == "random":
        tubelet_init = "central_frame"
    if tubelet_init not in ("central_frame", "inflate"):
        raise ValueError(f"tubelet_init must be 'central_frame' or 'inflate' (got {tubelet_init!r})")
    if temporal_attn_init not in ("zero", "copy"):
        raise ValueError(f"temporal_attn_init must be 'zero' or 'copy' (got {temporal_attn_init!r})")
    out: dict[str, Tensor] = {}
    nt, n = model.grid

    # Embedding weights E (§3.4): copy the 2D filter, or inflate / central-frame it into a tubelet kernel.
    w2d, bias = state_dict["patch_embed.proj.weight"], state_dict["patch_embed.proj.bias"]
    target = model.patch_embed.proj.weight
    if w2d.shape[-2:] != target.shape[-2:] or w2d.shape[:2] != target.shape[:2]:
        raise ValueError(
            f"expected a ViT patch embedding of shape {tuple(target.shape[:2])}+(P, P), got {tuple(w2d.shape)}"
        )
    if target.dim() == 4:
        out["patch_embed.proj.weight"] = w2d.clone()
    else:
        t = target.shape[2]
        if tubelet_init == "inflate":  # E = (1/t)[E_image, …, E_image] (I3D's filter inflation)
            w = repeat(w2d, "o i h w -> o i t h w", t=t) / t
        else:  # E = [0, …, E_image, …, 0], at the central index ⌊t/2⌋
            w = w2d.new_zeros(target.shape)
            w[:, :, t // 2] = w2d
        out["patch_embed.proj.weight"] = w
    out["patch_embed.proj.bias"] = bias.clone()

    # Positional embeddings (§3.4): the ViT's [cls; grid] resampled to n_h × n_w, then repeated over time.
    gh = model.img_size[0] // model.patch_embed.patch_size[0]
    gw = model.img_size[1] // model.patch_embed.patch_size[1]
    pos = resample_abs_pos_embed(state_dict["pos_embed"], (gh, gw), num_prefix_tokens=1)
    cls_pos, grid_pos = pos[:, :1], pos[:, 1:]
    if model.model == 2:
        out["pos_embed"] = pos.clone()  # the spatial encoder is a ViT on each temporal index
    elif model.model == 1:
        out["pos_embed"] = torch.cat([cls_pos, grid_pos.repeat(1, nt, 1)], dim=1)  # time-major tiling
    else:
        out["pos_embed"] = grid_pos.repeat(1, nt, 1)  # no class token in models 3 and 4
    if model.model in (1, 2):
        out["cls_token"] = state_dict["cls_token"].clone()

    # Transformer weights: same names for models 1, 2 (spatial encoder) and 4; model 3's spatial MSA.
    for key, value in state_dict.items():
        if key.startswith("blocks.") or key.startswith("norm."):
            out[key] = value.clone()
    if model.model == 3:
        for i in range(len(model.blocks)):
            for name in ("qkv.weight", "qkv.bias", "proj.weight", "proj.bias"):
                src = state_dict.get(f"blocks.{i}.attn.{name}")
                if src is None:
                    continue
                out[f"blocks.{i}.temporal_attn.{name}"] = (
                    torch.zeros_like(src) if temporal_attn_init == "zero" else src.clone()
                )
    return out


def _create(defaults: dict[str, Any], overrides: dict[str, Any]) -> ViViT:
    return ViViT(**{**defaults, **overrides})


# ViViT-B/16x2 on Kinetics-400 (the reference configs): 32 frames at 224², 16×16×2 tubelets, ViT-B encoder.
_B16X2 = dict(img_size=224, patch_size=16, num_frames=32, tubelet_size=2, embed_dim=768, depth=12, num_heads=12)
_REF = "scenic.projects.vivit (configs/kinetics400/{})"


@register_model(paper=VIVIT_2021, reference=_REF.format("vivit_base_k400.py"), input_size=(3, 32, 224, 224))
def vivit_b16x2(**kwargs: Any) -> ViViT:
    """ViViT-B/16x2, model 1 (spatio-temporal attention): 3,136 tubelet tokens + class token, 12 blocks."""
    return _create(dict(model=1, **_B16X2), kwargs)


@register_model(
    paper=VIVIT_2021, reference=_REF.format("vivit_base_factorised_encoder.py"), input_size=(3, 32, 224, 224)
)
def vivit_b16x2_fe(**kwargs: Any) -> ViViT:
    """ViViT-B/16x2, model 2 (factorised encoder): 12 spatial blocks per temporal index, 4 temporal blocks."""
    return _create(dict(model=2, temporal_depth=4, **_B16X2), kwargs)


@register_model(
    paper=VIVIT_2021,
    reference=_REF.format("vivit_base_k400.py, attention_config.type='factorized_self_attention_block'"),
    input_size=(3, 32, 224, 224),
)
def vivit_b16x2_fsa(**kwargs: Any) -> ViViT:
    """ViViT-B/16x2, model 3 (factorised self-attention): spatial then temporal MSA in each of 12 blocks."""
    return _create(dict(model=3, **_B16X2), kwargs)


@register_model(
    paper=VIVIT_2021,
    reference=_REF.format("vivit_base_k400.py, attention_config.type='factorized_dot_product_attention'"),
    input_size=(3, 32, 224, 224),
)
def vivit_b16x2_fdp(**kwargs: Any) -> ViViT:
    """ViViT-B/16x2, model 4 (factorised dot-product attention): 6 spatial + 6 temporal heads per block."""
    return _create(dict(model=4, **_B16X2), kwargs)


_TINY = dict(img_size=32, patch_size=8, num_frames=4, tubelet_size=2, embed_dim=64, depth=2, num_heads=2)


@register_model(paper=VIVIT_2021, reference="scenic.projects.vivit (reduced)", input_size=(3, 4, 32, 32))
def vivit_fe_tiny(**kwargs: Any) -> ViViT:
    """Model 2 on 4×32×32 clips: 2×8×8 tubelets (2 × 16 tokens), D 64, 2 spatial + 1 temporal blocks."""
    return _create(dict(model=2, temporal_depth=1, **_TINY), kwargs)


@register_model(paper=VIVIT_2021, reference="scenic.projects.vivit (reduced)", input_size=(3, 4, 32, 32))
def vivit_fsa_tiny(**kwargs: Any) -> ViViT:
    """Model 3 on 4×32×32 clips, D 64, 2 blocks of spatial + temporal attention."""
    return _create(dict(model=3, **_TINY), kwargs)


@register_model(paper=VIVIT_2021, reference="scenic.projects.vivit (reduced)", input_size=(3, 4, 32, 32))
def vivit_fdp_tiny(**kwargs: Any) -> ViViT:
    """Model 4 on 4×32×32 clips, D 64, 2 blocks with one spatial and one temporal head."""
    return _create(dict(model=4, **_TINY), kwargs)


@register_model(paper=VIVIT_2021, reference="scenic.projects.vivit (reduced)", input_size=(3, 4, 32, 32))
def vivit_tiny(**kwargs: Any) -> ViViT:
    """Model 1 on 4×32×32 clips: 2×8×8 tubelets (32 tokens + class token), D 64, 2 blocks, 2 heads."""
    return _create(dict(model=1, **_TINY), kwargs)
