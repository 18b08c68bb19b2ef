"""TimeSformer: divided space-time attention.

Paper: Bertasius, Wang & Torresani, "Is Space-Time Attention All You Need for Video Understanding?",
ICML 2021, arXiv:2102.05095. Reference implementation: facebookresearch/TimeSformer,
``timesformer/models/vit.py`` (``VisionTransformer`` built by ``TimeSformer(img_size, num_frames,
attention_type)``: ViT-B/16, ``qkv_bias=True``, LayerNorm eps 1e-6, drop path 0.1, 400 classes).

Implemented (§3): each frame is cut into 16×16 patches by ViT's 2D patch embedding; a class token is
prepended and ViT's spatial position embeddings are added to every frame, then a learned time
embedding (one per frame) is added to the patch tokens (the reference's ``time_embed``; the paper's
space-time position embedding ``e^pos_(p,t)`` factorised as space + time). Three attention schemes
(§3, Fig. 1-2, Table 1):

- ``"divided_space_time"`` (default, §3 "Divided Space-Time Attention"): in each block, *temporal*
  attention first — each patch attends to the patches at the same location in the other frames, with
  its own LayerNorm, qkv and output projection, then the reference's extra ``temporal_fc`` Linear on
  the residual branch — and then *spatial* attention among the patches of each frame, with the class
  token: the reference copies the class token into every frame's sequence and averages its T updates;
  finally the MLP. The class token takes part in spatial attention only.
- ``"joint_space_time"`` (self-attention over all N·T patches and the class token, ViT's block unchanged).
- ``"space_only"``: ViT on every frame with its own copy of the class token, no time embedding; the
  tokens are averaged over frames before the final LayerNorm (the reference's "space-only baseline").

Initialisation follows the reference: truncated-normal (0.02) Linear weights, position embeddings and
class token; zero biases; zero time embeddings; every ``temporal_fc`` starts at zero (the reference
zeroes it in every block), so a divided block starts as a ViT block. :meth:`TimeSformer.load_vit_state_dict`
initialises from a paperzoo ViT as the reference's ``load_pretrained`` does: everything copied, each
block's temporal attention and LayerNorm copied from its spatial ones; then, with zero time embeddings
and zero ``temporal_fc``, a clip of identical frames gives exactly the ViT's output.

Deviations: the input size is fixed by the position/time embeddings (the reference interpolates them
at inference when the clip size differs); position embeddings from a ViT trained at another resolution
are resampled on the 2D grid (:func:`~paperzoo.nn.resample_abs_pos_embed`) where the reference's loader
interpolates the flattened sequence with "nearest". Internally tokens are time-major (the reference
orders them patch-major); no parameter depends on this order. The sparse local-global and axial
attentions of Table 1 are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from einops import rearrange, reduce, repeat
from torch import Tensor, nn

from ...nn import (
    Attention,
    DropPath,
    Mlp,
    PatchEmbed,
    TransformerBlock,
    drop_path_rates,
    resample_abs_pos_embed,
    vit_layer_norm,
)
from ...registry import Paper, register_model
from ._base import VideoClassifier, linear_head

__all__ = ["TimeSformer", "DividedSpaceTimeBlock"]

TIMESFORMER_2021 = Paper(
    title="Is Space-Time Attention All You Need for Video Understanding?",
    authors="Gedas Bertasius, Heng Wang, Lorenzo Torresani",
    year=2021,
    arxiv="2102.05095",
)

_ATTENTION_TYPES = ("divided_space_time", "joint_space_time", "space_only")


class DividedSpaceTimeBlock(nn.Module):
    r"""TimeSformer's divided space-time block (Bertasius et al. 2021, §3; the reference's ``Block``).

    .. math::
        z'^{time}_{(p,t)} = z_{(p,t)} + W_{tfc}\,\mathrm{MSA}_{time}(\mathrm{LN}(z_{(p,\cdot)}))_t, \qquad
        z'^{space} = z'^{time} + \mathrm{MSA}_{space}(\mathrm{LN}([z_{cls}; z'^{time}_{(\cdot,t)}])), \qquad
        z'' = z'^{space} + \mathrm{MLP}(\mathrm{LN}(z'^{space}))

    The class token is copied into each frame's spatial sequence and its T updates are averaged.
    Names (``temporal_norm1``, ``temporal_attn``, ``temporal_fc``, ``norm1``, ``attn``, ``norm2``, ``mlp``)
    follow the reference, so its state dicts line up.

    Args:
        dim: token width D.
        num_heads: heads of both attentions.
        num_frames: T.
        mlp_ratio, qkv_bias, proj_drop, attn_drop, drop_path, act_layer, norm_layer: as
            :class:`~paperzoo.nn.TransformerBlock`.

    Shapes:
        x: (B, 1 + T·N, D), class token first, patches time-major → (B, 1 + T·N, D).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        num_frames: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        proj_drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        act_layer: type[nn.Module] = nn.GELU,
        norm_layer: Callable[[int], nn.Module] = vit_layer_norm,
    ) -> None:
        super().__init__()
        if num_frames <= 0:
            raise ValueError(f"num_frames must be > 0 (got {num_frames})")
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0 (got {mlp_ratio})")
        self.num_frames = num_frames
        attn_kw = dict(qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        self.temporal_norm1 = norm_layer(dim)
        self.temporal_attn = Attention(dim, num_heads, **attn_kw)
        self.temporal_fc = nn.Linear(dim, dim)
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads, **attn_kw)
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=proj_drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        t = self.num_frames
        cls, xp = x[:, :1], x[:, 1:]  # (B, 1, D), (B, T·N, D)
        # Temporal attention: one sequence of T tokens per patch location; the class token stays out.
        xt = rearrange(xp, "b (t n) d -> (b n) t d", t=t)
        res = self.drop_path(self.temporal_attn(self.temporal_norm1(xt)))  # drop path per (clip, location) as ref.
        res = rearrange(res, "(b n) t d -> b (t n) d", b=x.shape[0])
        xp = xp + self.temporal_fc(res)

        # Spatial attention: one sequence per frame, each with a copy of the class token.
        xs = rearrange(xp, "b (t n) d -> (b t) n d", t=t)
        xs = torch.cat([repeat(cls, "b 1 d -> (b t) 1 d", t=t), xs], dim=1)  # (B·T, 1 + N, D)
        res = self.drop_path(self.attn(self.norm1(xs)))
        res_cls = reduce(res[:, :1], "(b t) 1 d -> b 1 d", "mean", t=t)  # average the class token's T updates
        res_p = rearrange(res[:, 1:], "(b t) n d -> b (t n) d", t=t)
        x = torch.cat([cls, xp], dim=1) + torch.cat([res_cls, res_p], dim=1)
        return x + self.drop_path(self.mlp(self.norm2(x)))  # MLP sub-layer


class TimeSformer(VideoClassifier):
    """TimeSformer (Bertasius et al. 2021): ViT on frame patches with divided/joint/space-only attention.

    ::

        clip ─▶ per-frame PatchEmbed ─▶ [cls; patches] + E_pos (per frame) ─▶ patches + E_time
             ─▶ L × block (divided: time MSA → space MSA → MLP) ─▶ LN ─▶ cls ─▶ head

    Args:
        img_size: frame resolution (int or (H, W)).
        patch_size: patch side P (16).
        num_frames: frames T per clip (8 for the base model).
        attention_type: "divided_space_time" (default), "joint_space_time" or "space_only".
        in_chans: input channels.
        num_classes: classes K (400, Kinetics-400; 0: features only).
        embed_dim, depth, num_heads, mlp_ratio, qkv_bias: ViT-B's 768, 12, 12, 4, True.
        drop_rate: dropout before the classifier (the reference has none: default 0).
        pos_drop_rate: dropout after the position and time embeddings (the reference's ``drop_rate``).
        proj_drop_rate: dropout after attention projections and MLP Linears (also the reference's ``drop_rate``).
        attn_drop_rate: dropout on attention probabilities.
        drop_path_rate: stochastic depth of the last block (0.1 in the reference's ``TimeSformer``).
        norm_layer: normalisation class (LayerNorm, eps 1e-6).
        act_layer: MLP activation (GELU).
        zero_temporal_fc: start every ``temporal_fc`` at zero (the reference, which starts from a ViT: the divided
            block begins as the ViT block). False gives it the random init of every other Linear, for training
            from scratch: with zeros the net starts blind to time and the quick run sat at chance for ~1,200
            steps (non-zero: the loss falls from step ~300).

    Shapes:
        x: (B, in_chans, num_frames, H, W) → logits (B, K); ``forward_features`` → (B, 1 + T·N, D)
        normalised tokens, class token first (space-only: (B, 1 + N, D), averaged over frames).
    """

    classifier_attr = "head"

    def __init__(
        self,
        img_size: int | tuple[int, int] = 224,
        patch_size: int = 16,
        *,
        num_frames: int = 8,
        attention_type: str = "divided_space_time",
        in_chans: int = 3,
        num_classes: int = 400,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        pos_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        norm_layer: Callable[[int], nn.Module] = vit_layer_norm,
        act_layer: type[nn.Module] = nn.GELU,
        zero_temporal_fc: bool = True,
    ) -> None:
        super().__init__()
        if attention_type not in _ATTENTION_TYPES:
            raise ValueError(f"attention_type must be one of {_ATTENTION_TYPES} (got {attention_type!r})")
        if num_frames <= 0:
            raise ValueError(f"num_frames must be > 0 (got {num_frames})")
        if depth <= 0:
            raise ValueError(f"depth must be > 0 (got {depth})")
        for name, p in (("drop_rate", drop_rate), ("pos_drop_rate", pos_drop_rate)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {p})")
        self.attention_type, self.num_frames = attention_type, num_frames
        self.zero_temporal_fc = zero_temporal_fc
        self.in_chans, self.num_classes, self.embed_dim = in_chans, num_classes, embed_dim

        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans=in_chans, embed_dim=embed_dim)
        self.img_size: tuple[int, int] = self.patch_embed.img_size
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + num_patches, embed_dim))  # ViT's, shared by all frames
        self.pos_drop = nn.Dropout(pos_drop_rate)
        if attention_type != "space_only":
            self.time_embed = nn.Parameter(torch.zeros(1, num_frames, embed_dim))  # one per frame
            self.time_drop = nn.Dropout(pos_drop_rate)

        dpr = drop_path_rates(drop_path_rate, depth)
        block_kw = dict(
            mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, proj_drop=proj_drop_rate, attn_drop=attn_drop_rate,
            act_layer=act_layer, norm_layer=norm_layer,
        )  # fmt: skip
        if attention_type == "divided_space_time":
            blocks = [
                DividedSpaceTimeBlock(embed_dim, num_heads, num_frames=num_frames, drop_path=dpr[i], **block_kw)
                for i in range(depth)
            ]
        else:
            blocks = [TransformerBlock(embed_dim, num_heads, drop_path=dpr[i], **block_kw) for i in range(depth)]
        self.blocks = nn.Sequential(*blocks)
        self.norm = norm_layer(embed_dim)
        self.num_features = embed_dim
        self.head_drop = nn.Dropout(drop_rate)
        self.head = linear_head(embed_dim, num_classes)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """The reference's initialisation (module doc), including the zero ``temporal_fc`` of every block
        (kept random, like every other Linear, when ``zero_temporal_fc`` is False)."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for blk in self.blocks:
            if isinstance(blk, DividedSpaceTimeBlock) and self.zero_temporal_fc:
                nn.init.zeros_(blk.temporal_fc.weight)
                nn.init.zeros_(blk.temporal_fc.bias)

    def no_weight_decay(self) -> set[str]:
        return {n for n, _ in self.named_parameters() if n in ("pos_embed", "cls_token", "time_embed")}

    @torch.no_grad()
    def load_vit_state_dict(self, state_dict: Mapping[str, Tensor]) -> list[str]:
        """Initialise from a paperzoo ViT with the same width/depth/heads, as the reference's ``load_pretrained``.

        Copies patch embedding, class token, position embeddings (2D-resampled to this frame grid if
        needed), blocks and final LayerNorm; each divided block's ``temporal_attn`` / ``temporal_norm1``
        start as copies of its ``attn`` / ``norm1``. The classifier, ``time_embed`` and ``temporal_fc`` keep
        their own values.

        Returns:
            Names of the parameters not loaded.
        """
        out: dict[str, Tensor] = {}
        for key, value in state_dict.items():
            if key.startswith("head.") or key.startswith("pre_logits."):
                continue
            out[key] = value
        grid = self.patch_embed.grid_size
        out["pos_embed"] = resample_abs_pos_embed(state_dict["pos_embed"], grid, num_prefix_tokens=1)
        if self.attention_type == "divided_space_time":
            for key, value in state_dict.items():
                if key.startswith("blocks.") and ".attn." in key:
                    out[key.replace(".attn.", ".temporal_attn.")] = value
                if key.startswith("blocks.") and ".norm1." in key:
                    out[key.replace(".norm1.", ".temporal_norm1.")] = value
        result = self.load_state_dict(out, strict=False)
        if result.unexpected_keys:
            raise ValueError(f"unexpected keys in the ViT state dict: {result.unexpected_keys}")
        return list(result.missing_keys)

    def forward_features(self, x: Tensor) -> Tensor:
        """Clips (B, C, T, H, W) → normalised tokens, class token first (see the class doc)."""
        self.check_input(x)
        b, _, t, h, w = x.shape
        if (t, h, w) != (self.num_frames, *self.img_size):
            raise ValueError(
                f"expected clips of shape (B, {self.in_chans}, {self.num_frames}, {self.img_size[0]}, "
                f"{self.img_size[1]}), got {tuple(x.shape)}"
            )
        z = self.patch_embed(rearrange(x, "b c t h w -> (b t) c h w"))  # (B·T, N, D)
        z = torch.cat([self.cls_token.expand(z.shape[0], -1, -1), z], dim=1) + self.pos_embed  # per frame
        z = self.pos_drop(z)
        if self.attention_type == "space_only":  # ViT on each frame, every frame with its class token
            z = self.blocks(z)
            z = reduce(z, "(b t) n d -> b n d", "mean", t=t)  # average over frames (the reference's order)
            return self.norm(z)
        cls = z[::t, :1]  # (B, 1, D): every frame's class token is cls_token + E_pos[0]; keep one
        patches = rearrange(z[:, 1:], "(b t) n d -> b t n d", t=t) + self.time_embed[:, :, None]  # + E_time
        patches = self.time_drop(rearrange(patches, "b t n d -> b (t n) d"))
        z = self.blocks(torch.cat([cls, patches], dim=1))  # (B, 1 + T·N, D)
        return self.norm(z)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Tokens → logits (B, K) from the class token."""
        x = self.head_drop(x[:, 0])
        return x if pre_logits else self.head(x)


def _create(defaults: dict[str, Any], overrides: dict[str, Any]) -> TimeSformer:
    return TimeSformer(**{**defaults, **overrides})


_REF = "facebookresearch/TimeSformer timesformer.models.vit.TimeSformer(img_size={}, num_frames={})"


@register_model(
    paper=TIMESFORMER_2021,
    reference=_REF.format(224, 8),
    reference_params=121_566_352,
    input_size=(3, 8, 224, 224),
)
def timesformer_base(**kwargs: Any) -> TimeSformer:
    """TimeSformer (8 frames × 224², divided space-time attention, ViT-B/16), the paper's default model."""
    return _create(dict(img_size=224, num_frames=8), kwargs)


@register_model(
    paper=TIMESFORMER_2021,
    reference=_REF.format(448, 16),
    reference_params=122_024_080,
    input_size=(3, 16, 448, 448),
)
def timesformer_hr(**kwargs: Any) -> TimeSformer:
    """TimeSformer-HR (16 frames × 448², §4.3): 784 patches per frame."""
    return _create(dict(img_size=448, num_frames=16), kwargs)


@register_model(
    paper=TIMESFORMER_2021,
    reference=_REF.format(224, 96),
    reference_params=121_633_936,
    input_size=(3, 96, 224, 224),
)
def timesformer_l(**kwargs: Any) -> TimeSformer:
    """TimeSformer-L (96 frames × 224², §4.3): the long-range model."""
    return _create(dict(img_size=224, num_frames=96), kwargs)


@register_model(paper=TIMESFORMER_2021, reference="facebookresearch/TimeSformer (reduced)", input_size=(3, 4, 32, 32))
def timesformer_tiny(**kwargs: Any) -> TimeSformer:
    """Divided attention on 4×32×32 clips: 8×8 patches (16 per frame), D 64, 2 blocks, 2 heads."""
    return _create(dict(img_size=32, patch_size=8, num_frames=4, embed_dim=64, depth=2, num_heads=2), kwargs)
