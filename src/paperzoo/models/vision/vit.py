"""Vision Transformer (ViT).

Paper: Dosovitskiy, Beyer, Kolesnikov, Weissenborn, Zhai, Unterthiner, Dehghani, Minderer, Heigold,
Gelly, Uszkoreit & Houlsby, "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", ICLR 2021, arXiv:2010.11929. Reference implementation: timm's ``VisionTransformer``
(``vit_{tiny,small,base,large}_patch{16,32}_224``, ``num_classes=1000``, class token, ``qkv_bias=True``,
no pre-logits layer); torchvision's ``vit_b_16`` / ``vit_b_32`` / ``vit_l_16`` / ``vit_l_32`` have the same
parameter counts. The Ti and S sizes are not in the ViT paper: they come from DeiT (Touvron et al. 2021,
arXiv:2012.12877, Table 1) and timm.

Implemented (§3.1, Eq. 1-4): the image is cut into P×P patches, each linearly embedded
(:class:`~paperzoo.nn.PatchEmbed`); a learned class token ``x_class`` is prepended and learned 1D
position embeddings ``E_pos`` added (Eq. 1); L pre-norm blocks of multi-head self-attention and a GELU
MLP of width 4·D (Eq. 2-3, :class:`~paperzoo.nn.TransformerBlock`); a final LayerNorm (Eq. 4) and a
linear head on the class token. Options:

- ``representation_size``: the pre-training head of §3.1 ("an MLP with one hidden layer at pre-training
  time and a single linear layer at fine-tuning"), a Linear + tanh before the classifier. ``None``
  (default) is the fine-tuning head, which is what timm and torchvision build by default.
- ``global_pool="avg"``: classify the mean of the patch tokens instead of the class token (Appendix
  D.3, Fig. 9). As in the paper's code the final LayerNorm is applied to every token before averaging
  (timm instead normalises after pooling with a separate ``fc_norm``; the parameter count is the same).
- ``img_size`` sizes the position embeddings; :meth:`VisionTransformer.set_input_size` and
  :func:`adapt_state_dict` resample them for fine-tuning at another resolution (§3.2), leaving the
  class-token embedding untouched (:func:`~paperzoo.nn.resample_abs_pos_embed`).
- Dropout as in Appendix B.1: after every dense layer except the qkv projection (``proj_drop_rate``) and
  after adding the position embeddings (``pos_drop_rate``); Table 3 uses 0.1 for training from scratch
  on ImageNet-1k and 0 otherwise, so both default to 0. ``drop_rate`` is dropout before the classifier
  (not in the paper, default 0) and ``drop_path_rate`` stochastic depth (DeiT; default 0).

Initialisation follows timm's default: position embeddings ~ truncated normal (std 0.02), class token
~ N(0, 1e-6²), every Linear weight ~ truncated normal (std 0.02) with zero bias, LayerNorm (1, 0), the
patch-embedding convolution PyTorch's default; except the classifier, which starts at zero as the
paper's fine-tuning head (§3.2: "a zero-initialized D × K feedforward layer"; timm's "jax" mode).

Left out: the hybrid ResNet-stem models (§3.1 "Hybrid Architecture") and ViT-H/14.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ...nn import PatchEmbed, TransformerBlock, drop_path_rates, resample_abs_pos_embed, vit_layer_norm
from ...registry import Paper, register_model
from ._base import ImageClassifier, linear_head

__all__ = ["VisionTransformer", "adapt_state_dict"]

VIT_2020 = Paper(
    title="An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
    authors=(
        "Alexey Dosovitskiy, Lucas Beyer, Alexander Kolesnikov, Dirk Weissenborn, Xiaohua Zhai, Thomas Unterthiner, "
        "Mostafa Dehghani, Matthias Minderer, Georg Heigold, Sylvain Gelly, Jakob Uszkoreit, Neil Houlsby"
    ),
    year=2020,
    arxiv="2010.11929",
)


class VisionTransformer(ImageClassifier):
    """ViT (Dosovitskiy et al. 2020): patch embedding, class token, pre-norm transformer, linear head.

    ::

        image ─▶ PatchEmbed ─▶ [cls; x_p¹E; …; x_pᴺE] + E_pos ─▶ L × TransformerBlock ─▶ LayerNorm
              ─▶ pool (class token | mean of patches) ─▶ [Linear + tanh] ─▶ dropout ─▶ head

    Args:
        img_size: input resolution the position embeddings are sized for (int or (H, W)).
        patch_size: patch side P.
        in_chans: image channels.
        num_classes: classes K (0: ``forward`` returns the pooled features).
        embed_dim: token width D ("Hidden size", Table 1).
        depth: number of blocks L.
        num_heads: attention heads.
        mlp_ratio: MLP width / D (4 in every ViT size).
        qkv_bias: bias in the query/key/value projection (the reference has it).
        representation_size: width of the pre-training "pre-logits" Linear + tanh, or ``None``.
        global_pool: "token" (class token, the paper's default) or "avg" (mean of the patch tokens).
        drop_rate: dropout before the classifier.
        pos_drop_rate: dropout after adding the position embeddings.
        proj_drop_rate: dropout after the attention projection and the MLP Linears.
        attn_drop_rate: dropout on the attention probabilities.
        drop_path_rate: stochastic depth of the last block (linearly increasing from 0 over the blocks).
        norm_layer: normalisation class called with D (LayerNorm, eps 1e-6).
        act_layer: MLP activation class (GELU).

    Shapes:
        x: (B, in_chans, H, W) with (H, W) = ``img_size`` → logits (B, num_classes);
        ``forward_features``: (B, 1 + N, D) normalised tokens, class token first, N = HW/P².
    """

    classifier_attr = "head"

    def __init__(
        self,
        img_size: int | tuple[int, int] = 224,
        patch_size: int = 16,
        *,
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        representation_size: int | None = None,
        global_pool: str = "token",
        drop_rate: float = 0.0,
        pos_drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        norm_layer: Callable[[int], nn.Module] = vit_layer_norm,
        act_layer: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        if global_pool not in ("token", "avg"):
            raise ValueError(f"global_pool must be 'token' or 'avg' (got {global_pool!r})")
        if depth <= 0:
            raise ValueError(f"depth must be > 0 (got {depth})")
        if representation_size is not None and representation_size <= 0:
            raise ValueError(f"representation_size must be > 0 or None (got {representation_size})")
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0 (got {num_classes})")
        for name, p in (("drop_rate", drop_rate), ("pos_drop_rate", pos_drop_rate)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {p})")
        self.in_chans, self.num_classes, self.embed_dim = in_chans, num_classes, embed_dim
        self.global_pool = global_pool
        self.num_prefix_tokens = 1  # the class token

        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans=in_chans, embed_dim=embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))  # x_class, Eq. 1
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_prefix_tokens + num_patches, embed_dim))  # E_pos
        self.pos_drop = nn.Dropout(pos_drop_rate)

        dpr = drop_path_rates(drop_path_rate, depth)
        self.blocks = nn.Sequential(
            *[
                TransformerBlock(
                    embed_dim,
                    num_heads,
                    mlp_ratio=mlp_ratio,
                    qkv_bias=qkv_bias,
                    proj_drop=proj_drop_rate,
                    attn_drop=attn_drop_rate,
                    drop_path=dpr[i],
                    act_layer=act_layer,
                    norm_layer=norm_layer,
                )
                for i in range(depth)
            ]
        )
        self.norm = norm_layer(embed_dim)  # LN of Eq. 4

        if representation_size is None:
            self.pre_logits = nn.Identity()
            self.num_features = embed_dim
        else:  # §3.1: the pre-training head has one hidden layer with tanh
            self.pre_logits = nn.Sequential(nn.Linear(embed_dim, representation_size), nn.Tanh())
            self.num_features = representation_size
        self.head_drop = nn.Dropout(drop_rate)
        self.head = linear_head(self.num_features, num_classes)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """timm's default ViT initialisation, with the zero classifier of the paper (see the module doc)."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self._zero_head()

    def _zero_head(self) -> None:
        if isinstance(self.head, nn.Linear):
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def reset_classifier(self, num_classes: int) -> None:
        """A new zero-initialised classifier for ``num_classes`` (0 removes it), as for fine-tuning (§3.2)."""
        super().reset_classifier(num_classes)
        with torch.no_grad():
            self._zero_head()

    def no_weight_decay(self) -> set[str]:
        """Parameters that are usually excluded from weight decay (timm's convention)."""
        return {"pos_embed", "cls_token"}

    @property
    def img_size(self) -> tuple[int, int]:
        return self.patch_embed.img_size

    def set_input_size(self, img_size: int | tuple[int, int]) -> None:
        """Accept a new resolution, bicubically resampling the patch-grid position embeddings (§3.2).

        The class-token embedding is kept; build the optimiser after calling this (``pos_embed`` is a
        new parameter when the grid changes).
        """
        old_grid = self.patch_embed.grid_size
        self.patch_embed.set_input_size(img_size)
        new_grid = self.patch_embed.grid_size
        if new_grid != old_grid:
            with torch.no_grad():
                pos = resample_abs_pos_embed(
                    self.pos_embed, new_grid, old_grid, num_prefix_tokens=self.num_prefix_tokens
                )
            self.pos_embed = nn.Parameter(pos)

    def forward_features(self, x: Tensor) -> Tensor:
        """Images (B, C, H, W) → normalised tokens (B, 1 + N, D), class token first."""
        self.check_input(x)
        x = self.patch_embed(x)  # (B, N, D), raises if (H, W) is not img_size
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # (B, 1, D)
        x = torch.cat([cls, x], dim=1) + self.pos_embed  # z_0 = [x_class; x_p E] + E_pos, Eq. 1
        x = self.blocks(self.pos_drop(x))  # Eq. 2-3, L times
        return self.norm(x)  # Eq. 4 normalises z_L (all tokens, so "avg" pooling sees them normalised too)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Tokens (B, 1 + N, D) → logits (B, K), or the classifier's input (B, num_features)."""
        # "token": y = LN(z_L^0), Eq. 4; "avg": global average pooling of the patch tokens (Appendix D.3).
        x = x[:, 0] if self.global_pool == "token" else x[:, self.num_prefix_tokens :].mean(dim=1)
        x = self.head_drop(self.pre_logits(x))
        return x if pre_logits else self.head(x)


def adapt_state_dict(state_dict: Mapping[str, Tensor], model: VisionTransformer) -> dict[str, Tensor]:
    """Make a ViT checkpoint trained at another resolution loadable into ``model`` (ViT §3.2).

    ``pos_embed`` is bicubically resampled from the checkpoint's (square) patch grid to the model's; the
    class-token embedding is copied unchanged. Everything else is returned as is.
    """
    out = dict(state_dict)
    pos = out.get("pos_embed")
    if pos is not None and pos.shape != model.pos_embed.shape:
        out["pos_embed"] = resample_abs_pos_embed(
            pos, model.patch_embed.grid_size, num_prefix_tokens=model.num_prefix_tokens
        )
    return out


def _create(defaults: dict[str, Any], overrides: dict[str, Any]) -> VisionTransformer:
    return VisionTransformer(**{**defaults, **overrides})


_TI = dict(embed_dim=192, depth=12, num_heads=3)  # DeiT-Ti
_S = dict(embed_dim=384, depth=12, num_heads=6)  # DeiT-S
_B = dict(embed_dim=768, depth=12, num_heads=12)  # ViT-Base, Table 1
_L = dict(embed_dim=1024, depth=24, num_heads=16)  # ViT-Large, Table 1


@register_model(
    paper=VIT_2020,
    reference="timm.models.vit_tiny_patch16_224",
    reference_params=5_717_416,
    input_size=(3, 224, 224),
)
def vit_ti16(**kwargs: Any) -> VisionTransformer:
    """ViT-Ti/16 (DeiT-Ti): D 192, 12 blocks, 3 heads."""
    return _create(dict(img_size=224, patch_size=16, **_TI), kwargs)


@register_model(
    paper=VIT_2020,
    reference="timm.models.vit_small_patch16_224",
    reference_params=22_050_664,
    input_size=(3, 224, 224),
)
def vit_s16(**kwargs: Any) -> VisionTransformer:
    """ViT-S/16 (DeiT-S): D 384, 12 blocks, 6 heads."""
    return _create(dict(img_size=224, patch_size=16, **_S), kwargs)


@register_model(
    paper=VIT_2020,
    reference="timm.models.vit_base_patch16_224 (= torchvision.models.vit_b_16)",
    reference_params=86_567_656,
    input_size=(3, 224, 224),
)
def vit_b16(**kwargs: Any) -> VisionTransformer:
    """ViT-B/16: D 768, 12 blocks, 12 heads, MLP 3072 (Table 1)."""
    return _create(dict(img_size=224, patch_size=16, **_B), kwargs)


@register_model(
    paper=VIT_2020,
    reference="timm.models.vit_large_patch16_224 (= torchvision.models.vit_l_16)",
    reference_params=304_326_632,
    input_size=(3, 224, 224),
)
def vit_l16(**kwargs: Any) -> VisionTransformer:
    """ViT-L/16: D 1024, 24 blocks, 16 heads, MLP 4096 (Table 1)."""
    return _create(dict(img_size=224, patch_size=16, **_L), kwargs)


@register_model(
    paper=VIT_2020,
    reference="timm.models.vit_small_patch32_224",
    reference_params=22_878_952,
    input_size=(3, 224, 224),
)
def vit_s32(**kwargs: Any) -> VisionTransformer:
    """ViT-S/32: D 384, 12 blocks, 6 heads, 32×32 patches."""
    return _create(dict(img_size=224, patch_size=32, **_S), kwargs)


@register_model(
    paper=VIT_2020,
    reference="timm.models.vit_base_patch32_224 (= torchvision.models.vit_b_32)",
    reference_params=88_224_232,
    input_size=(3, 224, 224),
)
def vit_b32(**kwargs: Any) -> VisionTransformer:
    """ViT-B/32: D 768, 12 blocks, 12 heads, 32×32 patches (Table 1)."""
    return _create(dict(img_size=224, patch_size=32, **_B), kwargs)


@register_model(
    paper=VIT_2020,
    reference="timm.models.vit_large_patch32_224 (= torchvision.models.vit_l_32)",
    reference_params=306_535_400,
    input_size=(3, 224, 224),
)
def vit_l32(**kwargs: Any) -> VisionTransformer:
    """ViT-L/32: D 1024, 24 blocks, 16 heads, 32×32 patches (Table 1)."""
    return _create(dict(img_size=224, patch_size=32, **_L), kwargs)


@register_model(paper=VIT_2020, reference="timm.models.vit_tiny_patch16_224 (reduced)", input_size=(3, 32, 32))
def vit_tiny(**kwargs: Any) -> VisionTransformer:
    """A 2-block ViT on 32×32 images with 8×8 patches (16 tokens + class token), D 64, 2 heads."""
    return _create(dict(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=2), kwargs)
