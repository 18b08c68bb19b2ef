"""Blocks that several papers use identically (attention, transformer block, conv-norm-act, embeddings).

The transformer blocks here (multi-head self-attention through ``F.scaled_dot_product_attention``, the
pre-norm block, its MLP, stochastic depth, patch/tubelet embeddings and position-embedding resampling)
are ViT's (Dosovitskiy et al. 2020) and are reused by the video transformers (ViViT, TimeSformer, VTN,
MViT). A block used by one paper stays in that paper's file.
"""

from .attention import Attention
from .drop import DropPath, drop_path, drop_path_rates
from .mlp import Mlp
from .patch_embed import PatchEmbed, TubeletEmbed
from .pos_embed import resample_abs_pos_embed
from .transformer import TransformerBlock, vit_layer_norm

__all__ = [
    "Attention",
    "DropPath",
    "Mlp",
    "PatchEmbed",
    "TransformerBlock",
    "TubeletEmbed",
    "drop_path",
    "drop_path_rates",
    "resample_abs_pos_embed",
    "vit_layer_norm",
]
