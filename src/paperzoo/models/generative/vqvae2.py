"""VQ-VAE-2: a hierarchy of vector-quantised latent maps (top = global structure, bottom = local detail).

Paper: Razavi, van den Oord & Vinyals, "Generating Diverse High-Fidelity Images with VQ-VAE-2", NeurIPS 2019,
arXiv:1906.00446.
Reference implementation: ``rosinality/vq-vae-2-pytorch`` ``vqvae.py`` (``VQVAE(in_channel=3, channel=128,
n_res_block=2, n_res_channel=32, embed_dim=64, n_embed=512)``), linked from the reading notes; ``vqvae2``
has exactly its 1,388,867 parameters (the EMA codebooks are buffers, not parameters, in both).

Implemented (§3.1-3.2, Fig. 2a, Appendix A):

- :class:`VQVAE2`, any number of levels. Level 0 (bottom) encodes the image with a stride-``strides[0]``
  :class:`~paperzoo.models.generative.vqvae.Encoder`; level i encodes level i-1's features with stride
  ``strides[i]``. Quantisation runs top-down: the top level quantises its own features; every lower level
  quantises the concatenation of its encoder output and a decoding of the level above's quantised map
  (rosinality's ``dec_t``: the bottom code only has to carry what the top one lacks). The decoder takes
  every level's quantised map, brought to the bottom resolution by stride-2 4×4 transposed convolutions,
  concatenated. Each level has its own EMA codebook (Appendix A.1 of the VQ-VAE paper), K = 512, D = 64,
  β = 0.25 (the hyperparameter table of Appendix A).
- ``vqvae2``: 256×256 → bottom 64×64, top 32×32 (strides (4, 2)), rosinality's widths (128 hidden, 32
  residual). ``vqvae2_paper`` is the same network with the paper's Appendix A width of 64 residual units.
- ``vqvae2_ffhq``: the three-level FFHQ model, 1024×1024 → 128×128, 64×64, 32×32 (strides (8, 2, 2)), 128
  hidden and 64 residual units (Appendix A).

Choices and deviations: rosinality's quantiser is an EMA without debiasing starting from N = 1, m = e, with
N(0, 1) initial codes; ``vqvae2`` uses that (``debias=False, init="normal"``). For more than two levels the
paper does not say how middle levels are conditioned; here each level is conditioned on a decoding of the
level directly above it only (which itself was conditioned on everything above), and the final decoder sees
all levels. rosinality's ``quantize_conv_b`` concatenates [decoded top, bottom features] in that order, kept
here. Public code lists are ordered top first (the order a prior samples them); module lists are indexed by
level (0 = bottom). Left out: the priors (:mod:`.pixelsnail`, :mod:`.pixelcnn`) and rejection sampling
(classifier-based, a recipe's job).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from .vqvae import Decoder, Encoder, QuantizerOutput, VectorQuantizerEMA, _check_image, _log2

__all__ = ["VQVAE2Output", "VQVAE2"]

RAZAVI_2019 = Paper(
    title="Generating Diverse High-Fidelity Images with VQ-VAE-2",
    authors="Ali Razavi, Aaron van den Oord, Oriol Vinyals",
    year=2019,
    arxiv="1906.00446",
)


@dataclass
class VQVAE2Output:
    """reconstruction (B, C, H, W); vq_loss (sum over levels, scalar); indices: one (B, h_i, w_i) map per
    level, top first; perplexity: (L,), top first."""

    reconstruction: Tensor
    vq_loss: Tensor
    indices: list[Tensor]
    perplexity: Tensor


def _upsampler(channels: int, stride: int) -> nn.Module:
    """Stride-2 4×4 transposed convolutions (ReLU between) bringing a quantised map up by ``stride``."""
    n = _log2(stride)
    layers: list[nn.Module] = []
    for i in range(n):
        layers.append(nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1))
        if i < n - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VQVAE2(nn.Module):
    """The hierarchical VQ-VAE of Razavi et al. 2019 (Fig. 2a), with ``len(strides)`` levels.

    Two levels (``vqvae2``, 256×256)::

        x ─ Enc_b (÷4) ─ h_b (64×64) ─ Enc_t (÷2) ─ h_t ─ Conv1×1 ─ VQ_t ─ q_t (32×32) ─ Dec_t (×2) ─ c_b
                          │                                              │                         │
                          └──────────────── cat [c_b, h_b] ─ Conv1×1 ─ VQ_b ─ q_b (64×64)          │
        x̂ = Dec (×4) ( cat [ ConvT×2 (q_t), q_b ] )

    Args:
        in_channels: image channels (3).
        channels: hidden width of every encoder/decoder (128).
        residual_channels: the residual blocks' 3×3 width (rosinality 32; the paper's Appendix A table: 64).
        num_residual_layers: residual blocks per encoder/decoder (2).
        embedding_dim: D of every codebook (64). num_embeddings: K (512).
        strides: per level, bottom first: level 0's downsampling of the image, level i's of level i-1
            (each a power of two; (4, 2) for 256 → 64 → 32).
        commitment_cost: β (0.25). decay, epsilon: the EMA's γ and ε.
        debias, init: the EMA variant (see :class:`~paperzoo.models.generative.vqvae.VectorQuantizerEMA`);
            the defaults are rosinality's.

    Shapes:
        x: (B, C, H, W) with H, W divisible by ∏ strides → :class:`VQVAE2Output`.
    """

    def __init__(
        self,
        in_channels: int = 3,
        *,
        channels: int = 128,
        residual_channels: int = 32,
        num_residual_layers: int = 2,
        embedding_dim: int = 64,
        num_embeddings: int = 512,
        strides: Sequence[int] = (4, 2),
        commitment_cost: float = 0.25,
        decay: float = 0.99,
        epsilon: float = 1e-5,
        debias: bool = False,
        init: str = "normal",
    ) -> None:
        super().__init__()
        if len(strides) < 1:
            raise ValueError(f"need at least one level (got strides={strides})")
        for s in strides:
            _log2(s)
        self.in_channels, self.strides, self.num_levels = in_channels, tuple(strides), len(strides)
        self.stride = math.prod(self.strides)
        self.embedding_dim = embedding_dim
        blocks = dict(residual_channels=residual_channels, num_residual_layers=num_residual_layers)
        d, n = embedding_dim, self.num_levels
        self.encoders = nn.ModuleList(
            Encoder(in_channels if i == 0 else channels, channels, stride=s, **blocks) for i, s in enumerate(strides)
        )
        # Level i < top quantises [decoded level i+1, its own features]; the top only its features.
        self.quantize_convs = nn.ModuleList(nn.Conv2d(channels + (d if i < n - 1 else 0), d, 1) for i in range(n))
        self.quantizers = nn.ModuleList(
            VectorQuantizerEMA(
                num_embeddings,
                d,
                commitment_cost=commitment_cost,
                decay=decay,
                epsilon=epsilon,
                debias=debias,
                init=init,
            )
            for _ in range(n)
        )
        # cond_decoders[i] decodes q_{i+1} to level i's resolution (rosinality's dec_t for i = 0).
        self.cond_decoders = nn.ModuleList(
            Decoder(d, d, channels, stride=strides[i + 1], **blocks) for i in range(n - 1)
        )
        # upsamplers[i - 1] brings q_i to the bottom resolution (rosinality's upsample_t for i = 1).
        self.upsamplers = nn.ModuleList(_upsampler(d, math.prod(strides[1 : i + 1])) for i in range(1, n))
        self.decoder = Decoder(n * d, in_channels, channels, stride=strides[0], **blocks)

    def latent_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """The code maps' (h, w) for an image size, top first."""
        sizes, h, w = [], height, width
        for s in self.strides:
            h, w = h // s, w // s
            sizes.append((h, w))
        return sizes[::-1]

    def quantize(self, x: Tensor) -> list[QuantizerOutput]:
        """Encode bottom-up, quantise top-down: one quantiser output per level (channel-first), top first."""
        _check_image(x, self.in_channels, self.stride, type(self).__name__)
        feats = []
        h = x
        for enc in self.encoders:
            h = enc(h)  # (B, C, H / ∏ strides[:i+1], ...)
            feats.append(h)
        outs: list[QuantizerOutput] = []
        above: Tensor | None = None
        for i in reversed(range(self.num_levels)):
            z = feats[i] if above is None else torch.cat([self.cond_decoders[i](above), feats[i]], 1)
            out = self.quantizers[i].forward_channels_first(self.quantize_convs[i](z))  # (B, D, h_i, w_i)
            outs.append(out)
            above = out.quantized
        return outs

    def decode(self, quantized: Sequence[Tensor]) -> Tensor:
        """Decode quantised maps (top first, each (B, D, h_i, w_i)) to an image (B, C, H, W)."""
        if len(quantized) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} quantised maps (top first), got {len(quantized)}")
        bottom_first = list(quantized)[::-1]
        ups = [bottom_first[0]] + [up(q) for up, q in zip(self.upsamplers, bottom_first[1:])]
        # rosinality's order for two levels: [upsampled top, bottom].
        return self.decoder(torch.cat(ups[::-1], 1))

    def forward(self, x: Tensor) -> VQVAE2Output:
        outs = self.quantize(x)
        recon = self.decode([o.quantized for o in outs])
        vq_loss = torch.stack([o.loss for o in outs]).sum()
        return VQVAE2Output(recon, vq_loss, [o.indices for o in outs], torch.stack([o.perplexity for o in outs]))

    def loss(self, x: Tensor, *, data_variance: float = 1.0) -> Tensor:
        """MSE reconstruction (÷ data_variance) + the sum of every level's β-weighted commitment loss."""
        out = self(x)
        return F.mse_loss(out.reconstruction, x) / data_variance + out.vq_loss

    @torch.no_grad()
    def encode(self, x: Tensor) -> list[Tensor]:
        """The code maps, top first: [(B, h_top, w_top), ..., (B, h_bottom, w_bottom)], long."""
        return [o.indices for o in self.quantize(x)]

    def decode_codes(self, codes: Sequence[Tensor]) -> Tensor:
        """Decode code maps (top first, e.g. samples of the priors) to images (B, C, H, W)."""
        if len(codes) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} code maps (top first), got {len(codes)}")
        quantizers = list(self.quantizers)[::-1]
        return self.decode([q.codes_to_vectors(c, channels_first=True) for q, c in zip(quantizers, codes)])


# ---------------------------------------------------------------------------------------------------------------
# Registered variants
# ---------------------------------------------------------------------------------------------------------------

_REF = "rosinality/vq-vae-2-pytorch vqvae.py VQVAE(channel=128, n_res_block=2, n_res_channel=32, n_embed=512)"


@register_model(paper=RAZAVI_2019, reference=_REF, reference_params=1_388_867, input_size=(3, 256, 256))
def vqvae2(**kwargs: Any) -> VQVAE2:
    """The two-level 256×256 model (bottom 64×64, top 32×32) with rosinality's widths (1,388,867 parameters)."""
    return VQVAE2(**kwargs)


@register_model(paper=RAZAVI_2019, reference="none (paper Appendix A, ImageNet 256×256)", input_size=(3, 256, 256))
def vqvae2_paper(**kwargs: Any) -> VQVAE2:
    """``vqvae2`` with the paper's Appendix A residual width (64 residual units instead of rosinality's 32)."""
    return VQVAE2(**{"residual_channels": 64, **kwargs})


@register_model(paper=RAZAVI_2019, reference="none (paper Appendix A, FFHQ 1024×1024)", input_size=(3, 1024, 1024))
def vqvae2_ffhq(**kwargs: Any) -> VQVAE2:
    """The three-level FFHQ model: 1024×1024 → 128×128, 64×64, 32×32; 128 hidden, 64 residual units."""
    return VQVAE2(**{"residual_channels": 64, "strides": (8, 2, 2), **kwargs})


@register_model(paper=RAZAVI_2019, reference=_REF, input_size=(3, 32, 32))
def vqvae2_tiny(**kwargs: Any) -> VQVAE2:
    """A small two-level model for tests: 32×32 → bottom 8×8, top 4×4; width 16, K = 32, D = 8."""
    defaults = dict(channels=16, residual_channels=8, embedding_dim=8, num_embeddings=32)
    return VQVAE2(**{**defaults, **kwargs})
