"""PixelSNAIL over discrete code maps: the top and bottom priors of VQ-VAE-2 (stage 2).

Papers: Chen, Mishra, Rohaninejad & Abbeel, "PixelSNAIL: An Improved Autoregressive Generative Model", ICML 2018,
arXiv:1712.09763; Razavi, van den Oord & Vinyals, "Generating Diverse High-Fidelity Images with VQ-VAE-2",
NeurIPS 2019, arXiv:1906.00446 (§3.2 and the appendix table of prior hyperparameters). Reference
implementation: ``rosinality/vq-vae-2-pytorch`` ``pixelsnail.py`` (a port of ``neocxi/pixelsnail-public``) with
the sizes of its ``train_pixelsnail.py``; ``pixelsnail_top`` (84,873,280 parameters) and ``pixelsnail_bottom``
(89,762,816) match it exactly, layer for layer.

Implemented:

- :class:`WNConv2d`: weight-normalised convolution (Salimans & Kingma 2016), w = g · v / ‖v‖ per output channel,
  with an optional fixed kernel mask on v (the norm is taken over the kept weights) and explicit zero padding.
- :class:`GatedResBlock`: x + GLU(conv₂(dropout(ELU(conv₁(ELU(x)) + aux(ELU(a))))) + V s + V h), with causal 5×5
  kernels in the PixelCNN stack (rows above and the positions strictly left in the current row), 1×1 kernels
  around the attention and in the output stack, 3×3 'same' kernels in the conditioning stack; s is the
  conditioning stack's map (bottom prior) and h a learned class embedding (Gated PixelCNN Eq. 4).
- :class:`CausalAttention`: multi-head (8) attention through ``scaled_dot_product_attention`` in raster order,
  position i attending to the keys at positions j < i (strictly: the reference's mask); position 0, which has
  no past, outputs zeros. Queries come from the block's features and the background (positional) planes, keys
  and values from the block's input (or the one-hot codes, ``raw_keys``), its features and the background
  (PixelSNAIL §3, Figure 3).
- :class:`PixelBlock`: n causal gated residual blocks, then attention (top prior) or a 1×1 convolution over
  [features, background] (bottom prior, which has no attention: VQ-VAE-2 §3.2).
- :class:`PixelSNAIL`: shifted input convolutions (a k//2 × k kernel over the rows above and a (k+1)//2 × k//2
  kernel over the positions to the left), the background planes ((r - H/2)/H, (c - W/2)/W), the PixelBlocks,
  the "deep residual net of 1×1 convolutions" output stack (VQ-VAE-2 §3.2), ELU, a 1×1 convolution to K
  logits. The bottom prior's conditioning stack (a 3×3 convolution and residual blocks over the one-hot top
  codes) is upsampled by nearest neighbour to the bottom map and added to every causal block's gates.
  ``nll`` in bits/dim and ``sample`` in raster order like :class:`.pixelcnn.GatedPixelCNN`.

Caching during sampling: the conditioning stack runs once per ``sample`` call (the reference caches it too), and
the step at row r runs the network on rows ≤ r only (every layer is causal in rows, so the rows below cannot
change those logits), halving the work on average. The attention keys of earlier positions are not cached:
they change as later layers see new codes.

Deviations: the q, k, v projections are 1×1 weight-normalised convolutions instead of weight-normalised
Linear layers on the flattened map (the same function and parameter count); masked-out entries of the causal
kernels are multiplied by a fixed mask instead of being zeroed in place before every call (the same function
and gradient on the kept weights); the attention mask is -inf rather than -1e4; the conditioning stack uses
the model's dropout (the reference's is fixed at 0.1, equal by default); the class embedding (``num_classes``,
absent from the reference and zero in its variants) is ours.

A quirk of the reference, kept by default: its keys see each block's input, i.e. features of the codes
strictly before each position, where the original PixelSNAIL code (``neocxi/pixelsnail-public``,
``raw_content = [x, ul, background]``) gives them the raw input itself. With the strict mask j < i, the last
code of a row then reaches none of the first W - k//2 - 1 positions of the next row (a blind spot the tests
pin). ``raw_keys=True`` restores the original's keys (the one-hot codes: K more input channels per key block).

The ``*_paper`` variants take the sizes of the VQ-VAE-2 appendix table (ImageNet 256×256 priors: top 32×32
with 512 hidden units, 2048 residual units, 20 layers with attention every 5, 8 heads, 5×5, dropout 0.1, an
output stack of 20 1×1 residual blocks; bottom 64×64 with 512 hidden units, 1024 residual units, 20 layers,
no attention, a conditioning stack of 20 residual blocks), mapped onto the reference's structure (4 blocks of
5 residual blocks; the conditioning stack as wide as the residual units, as in the reference), class-conditional
on the 1000 ImageNet classes, with ``raw_keys=True`` in the top prior. No implementation exists at those
sizes, so they have no reference count (a test checks them against a hand count).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...registry import Paper, register_model
from .pixelcnn import (
    CodePrior,
    _eval,
    _sample_shape,
    _shape_of,
    check_codes,
    check_labels,
    check_temperature,
    code_input,
    draw,
    shift_down,
    split_input,
)

__all__ = ["WNConv2d", "causal_kernel_mask", "GatedResBlock", "CausalAttention", "PixelBlock", "PixelSNAIL"]

CHEN_2018 = Paper(
    title="PixelSNAIL: An Improved Autoregressive Generative Model",
    authors="Xi Chen, Nikhil Mishra, Mostafa Rohaninejad, Pieter Abbeel",
    year=2018,
    arxiv="1712.09763",
)

# ---------------------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------------------


def causal_kernel_mask(kernel_size: int) -> Tensor:
    """The (k, k) mask of a kernel padded k-1 rows on top: the last row is the current one, and its centre
    column (the current position) and everything right of it are dropped."""
    mask = torch.ones(kernel_size, kernel_size)
    mask[-1, kernel_size // 2 :] = 0
    return mask


class WNConv2d(nn.Module):
    """Weight-normalised 2-D convolution: w = g · (v ⊙ m) / ‖v ⊙ m‖ per output channel (Salimans & Kingma 2016).

    Args:
        in_channels, out_channels: widths.
        kernel_size: k or (kh, kw).
        padding: (left, right, top, bottom) zero padding, as ``F.pad`` takes it.
        mask: (kh, kw) fixed mask m on the kernel (None: all ones).
        bias: add a bias.

    Parameters ``weight_v`` (out, in, kh, kw), ``weight_g`` (out, 1, 1, 1) and ``bias`` (out,), the layout of
    ``torch.nn.utils.weight_norm``; g starts at ‖v ⊙ m‖, so that w = v ⊙ m at initialisation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        padding: tuple[int, int, int, int] = (0, 0, 0, 0),
        mask: Tensor | None = None,
        bias: bool = True,
    ) -> None:
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if min(in_channels, out_channels, kh, kw) < 1:
            raise ValueError(f"channels and kernel size must be >= 1 (got {in_channels}, {out_channels}, {kh}×{kw})")
        if len(padding) != 4 or min(padding) < 0:
            raise ValueError(f"padding must be four non-negative ints (left, right, top, bottom) (got {padding})")
        self.pad = tuple(padding)
        self.weight_v = nn.Parameter(torch.empty(out_channels, in_channels, kh, kw))
        self.weight_g = nn.Parameter(torch.empty(out_channels, 1, 1, 1))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        if mask is not None and tuple(mask.shape) != (kh, kw):
            raise ValueError(f"mask must have the kernel's shape {(kh, kw)} (got {tuple(mask.shape)})")
        self.register_buffer("mask", None if mask is None else mask.to(torch.get_default_dtype()), persistent=False)
        self.frozen_weight: Tensor | None = None  # set by frozen_weights() while sampling
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # nn.Conv2d's initialisation for v and the bias, then g = ‖v ⊙ m‖ (torch's weight_norm starts at w = v)
        nn.init.kaiming_uniform_(self.weight_v, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight_v[0].numel()
            nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        with torch.no_grad():
            self.weight_g.copy_(self._direction_norm())

    def _masked_v(self) -> Tensor:
        return self.weight_v if self.mask is None else self.weight_v * self.mask

    def _direction_norm(self) -> Tensor:
        return torch.linalg.vector_norm(self._masked_v(), dim=(1, 2, 3), keepdim=True)

    def weight(self) -> Tensor:
        """The effective kernel g · (v ⊙ m) / ‖v ⊙ m‖, (out, in, kh, kw)."""
        return self.weight_g * self._masked_v() / self._direction_norm()

    def forward(self, x: Tensor) -> Tensor:
        weight = self.frozen_weight if self.frozen_weight is not None else self.weight()
        return F.conv2d(F.pad(x, self.pad), weight, self.bias)


@contextmanager
def frozen_weights(model: nn.Module) -> Iterator[None]:
    """Compute every :class:`WNConv2d` kernel g·v/‖v‖ once and reuse it inside the block (no gradients).

    Sampling calls the network H·W times with the same weights; without this, about half of each call at
    8×8 is spent renormalising the kernels.
    """
    layers = [m for m in model.modules() if isinstance(m, WNConv2d)]
    with torch.no_grad():
        for layer in layers:
            layer.frozen_weight = layer.weight()
    try:
        yield
    finally:
        for layer in layers:
            layer.frozen_weight = None


def _causal_conv(in_channels: int, out_channels: int, kernel_size: int) -> WNConv2d:
    """A k×k kernel over rows r-k+1..r, columns c-k//2..c+k//2, minus (r, c) and the positions right of it."""
    half = kernel_size // 2
    return WNConv2d(
        in_channels,
        out_channels,
        kernel_size,
        padding=(half, half, kernel_size - 1, 0),
        mask=causal_kernel_mask(kernel_size),
    )


def _shift_right(x: Tensor) -> Tensor:
    """Move a (B, C, H, W) map right by one column (zeros in column 0)."""
    return F.pad(x, (1, 0, 0, 0))[:, :, :, : x.shape[3]]


class GatedResBlock(nn.Module):
    """The gated residual block of PixelSNAIL (Figure 3) as in the reference.

    ``x + GLU(conv₂(dropout(ELU(conv₁(ELU(x)) + aux(ELU(a))))) + cond(s) + E[y])``, GLU(u) = u₁ ⊙ σ(u₂) over
    the channel halves, every convolution weight-normalised.

    Args:
        in_channels: width of x and of the output.
        channels: width inside the block.
        kernel_size: k of both convolutions.
        causal: causal k×k kernels (:func:`causal_kernel_mask`) instead of 'same' padding.
        aux_channels: width of the auxiliary input a (0: none).
        cond_channels: width of the spatial conditioning map s (0: none), added by a bias-free 1×1 convolution.
        num_classes: size of the class embedding E added to the gates (0: none; not in the reference).
        dropout: dropout before conv₂.

    Shapes:
        x (B, in_channels, H, W), a (B, aux_channels, H, W), s (B, cond_channels, H, W), y (B,) → x's shape.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        *,
        causal: bool = False,
        aux_channels: int = 0,
        cond_channels: int = 0,
        num_classes: int = 0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if causal:
            self.conv1 = _causal_conv(in_channels, channels, kernel_size)
            self.conv2 = _causal_conv(channels, 2 * in_channels, kernel_size)
        else:
            pad = (kernel_size // 2,) * 4
            self.conv1 = WNConv2d(in_channels, channels, kernel_size, padding=pad)
            self.conv2 = WNConv2d(channels, 2 * in_channels, kernel_size, padding=pad)
        self.aux = WNConv2d(aux_channels, channels, 1) if aux_channels else None
        self.cond = WNConv2d(cond_channels, 2 * in_channels, 1, bias=False) if cond_channels else None
        self.class_embed = nn.Embedding(num_classes, 2 * in_channels) if num_classes else None
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: Tensor, aux: Tensor | None = None, cond: Tensor | None = None, labels: Tensor | None = None
    ) -> Tensor:
        out = self.conv1(F.elu(x))
        if self.aux is not None and aux is not None:
            out = out + self.aux(F.elu(aux))
        out = self.conv2(self.dropout(F.elu(out)))  # (B, 2·in, H, W)
        if self.cond is not None and cond is not None:
            out = out + self.cond(cond)
        if self.class_embed is not None and labels is not None:
            out = out + self.class_embed(labels)[:, :, None, None]
        return x + F.glu(out, dim=1)


class CausalAttention(nn.Module):
    """Multi-head causal attention over a (B, C, H, W) map in raster order (PixelSNAIL §3).

    Position i attends to the keys at positions j < i; position 0 outputs zeros. Dropout acts on the
    attention probabilities, as in the reference.

    Args:
        query_channels: width of the query map.
        key_channels: width of the key/value map.
        channels: width of q, k, v and of the output (split into ``heads`` heads).
        heads: attention heads (the reference: 8).
        dropout: attention dropout.

    Shapes:
        query (B, query_channels, H, W), key (B, key_channels, H, W) → (B, channels, H, W).
    """

    def __init__(
        self, query_channels: int, key_channels: int, channels: int, *, heads: int = 8, dropout: float = 0.1
    ) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels must be divisible by heads (got {channels}, {heads})")
        self.heads, self.dropout = heads, dropout
        self.query = WNConv2d(query_channels, channels, 1)
        self.key = WNConv2d(key_channels, channels, 1)
        self.value = WNConv2d(key_channels, channels, 1)

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        height = key.shape[2]
        q, k, v = (
            rearrange(t, "b (h d) y x -> b h (y x) d", h=self.heads)  # (B, heads, L, d), L = H·W in raster order
            for t in (self.query(query), self.key(key), self.value(key))
        )
        length = q.shape[2]
        allowed = torch.ones(length, length, dtype=torch.bool, device=q.device).tril(-1)  # j < i
        allowed[0, 0] = True  # position 0 has no past: let it see itself, then zero its output below
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=allowed, dropout_p=self.dropout if self.training else 0.0
        )
        out = out * (torch.arange(length, device=q.device) > 0).to(out.dtype)[:, None]
        return rearrange(out, "b h (y x) d -> b (h d) y x", y=height)


class PixelBlock(nn.Module):
    """One PixelSNAIL block: causal gated residual blocks, then causal attention or a 1×1 convolution.

    With attention (PixelSNAIL Figure 3; the VQ-VAE-2 top prior)::

        x ─ n × GatedResBlock(causal k×k) ─ f
        key   = GatedResBlock₁ₓ₁([x or raw, f, background])
        query = GatedResBlock₁ₓ₁([f, background])         (C + 2 channels)
        out   = GatedResBlock₁ₓ₁(f, aux = CausalAttention(query, key))

    Without attention (the bottom prior): ``out = WNConv1×1([f, background])``.

    Args:
        channels: C.
        res_channels: width inside the causal residual blocks.
        kernel_size: k of the causal residual blocks.
        res_blocks: n.
        attention: use attention.
        heads: attention heads.
        dropout: dropout of every residual block and of the attention.
        cond_channels: width of the conditioning map fed to every causal residual block (0: none).
        num_classes: class embedding of every causal residual block (0: none).
        raw_channels: width of the raw input the keys see in place of the block input x (0: x, the reference's).
    """

    def __init__(
        self,
        channels: int,
        res_channels: int,
        kernel_size: int,
        res_blocks: int,
        *,
        attention: bool = True,
        heads: int = 8,
        dropout: float = 0.1,
        cond_channels: int = 0,
        num_classes: int = 0,
        raw_channels: int = 0,
    ) -> None:
        super().__init__()
        c = channels
        key_channels = (raw_channels or c) + c + 2
        self.res = nn.ModuleList(
            GatedResBlock(
                c,
                res_channels,
                kernel_size,
                causal=True,
                cond_channels=cond_channels,
                num_classes=num_classes,
                dropout=dropout,
            )
            for _ in range(res_blocks)
        )
        self.attention = attention
        if attention:
            self.key_block = GatedResBlock(key_channels, c, 1, dropout=dropout)
            self.query_block = GatedResBlock(c + 2, c, 1, dropout=dropout)
            self.attn = CausalAttention(c + 2, key_channels, c // 2, heads=heads, dropout=dropout)
            self.out_block = GatedResBlock(c, c, 1, aux_channels=c // 2, dropout=dropout)
        else:
            self.out = WNConv2d(c + 2, c, 1)

    def forward(
        self,
        x: Tensor,
        background: Tensor,
        cond: Tensor | None = None,
        labels: Tensor | None = None,
        raw: Tensor | None = None,
    ) -> Tensor:
        f = x
        for block in self.res:
            f = block(f, cond=cond, labels=labels)
        if not self.attention:
            return self.out(torch.cat([f, background], 1))
        key = self.key_block(torch.cat([x if raw is None else raw, f, background], 1))
        query = self.query_block(torch.cat([f, background], 1))
        return self.out_block(f, aux=self.attn(query, key))


# ---------------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------------


class PixelSNAIL(CodePrior):
    """PixelSNAIL (Chen et al. 2018) as the VQ-VAE-2 prior over (B, H, W) maps of codes in [0, K).

    ::

        one-hot(z) ─┬─ Conv(k//2 × k) over the rows above ─── shift down ──(+)── x
                    └─ Conv((k+1)//2 × k//2) to the left ──── shift right ──┘
        x ─ num_blocks × PixelBlock(x, background, cond, labels) ─ out-stack (1×1 GatedResBlocks) ─ ELU ─ 1×1 ─ logits
        top codes ─ one-hot ─ Conv3×3 ─ cond_res_blocks × GatedResBlock(3×3) ─ nearest ×(H/h) ─ cond   (bottom prior)

    Args:
        num_codes: K.
        shape: (H, W) of the code map.
        channels: C, the width of the stack (the reference: 256).
        kernel_size: odd k of the causal convolutions (the reference: 5).
        num_blocks: PixelBlocks (the reference: 4).
        res_blocks: causal residual blocks per PixelBlock (the reference: 4).
        res_channels: width inside the residual blocks (the reference: 256).
        attention: causal attention in every block (top prior) or not (bottom prior).
        heads: attention heads.
        dropout: dropout of the residual blocks and the attention (the reference: 0.1).
        out_res_blocks: 1×1 gated residual blocks of the output stack (the reference's default: 0).
        cond_res_blocks: residual blocks of the conditioning stack (0: no code-map conditioning; bottom: 3).
        cond_channels: width of the conditioning stack (the reference: ``res_channels``).
        cond_kernel_size: kernel of the conditioning stack (the reference: 3).
        cond_shape: (h, w) of the conditioning code map, dividing (H, W) by the same integer (default (H/2, W/2)).
        num_classes: classes of the label conditioning (0: none, as in the reference).
        raw_keys: the attention keys see the one-hot codes themselves, as in the original PixelSNAIL code
            (``raw_content = [x, ul, background]``), instead of each block's input (the reference port's, default).

    Shapes:
        codes (B, H, W), labels (B,), condition (B, h, w) codes in [0, K) → logits (B, K, H, W); the argument
        order is :class:`.pixelcnn.GatedPixelCNN`'s (the reference's ``forward(input, condition)`` puts the top
        codes second: pass them as ``condition=``). ``model((codes, top))`` and ``model((codes, top, labels))``
        work too (in a tuple, a 1-D tensor is the labels).
    """

    def __init__(
        self,
        num_codes: int = 512,
        *,
        shape: tuple[int, int] = (32, 32),
        channels: int = 256,
        kernel_size: int = 5,
        num_blocks: int = 4,
        res_blocks: int = 4,
        res_channels: int = 256,
        attention: bool = True,
        heads: int = 8,
        dropout: float = 0.1,
        out_res_blocks: int = 0,
        cond_res_blocks: int = 0,
        cond_channels: int = 0,
        cond_kernel_size: int = 3,
        cond_shape: tuple[int, int] | None = None,
        num_classes: int = 0,
        raw_keys: bool = False,
    ) -> None:
        super().__init__()
        if num_codes < 2:
            raise ValueError(f"num_codes must be >= 2 (got {num_codes})")
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"shape must be (H, W) with H, W >= 1 (got {shape})")
        for name, v in (("channels", channels), ("num_blocks", num_blocks), ("res_channels", res_channels)):
            if v < 1:
                raise ValueError(f"{name} must be >= 1 (got {v})")
        for name, v in (("res_blocks", res_blocks), ("out_res_blocks", out_res_blocks), ("num_classes", num_classes)):
            if v < 0:
                raise ValueError(f"{name} must be >= 0 (got {v})")
        for name, v in (("kernel_size", kernel_size), ("cond_kernel_size", cond_kernel_size)):
            if v < 3 or v % 2 == 0:
                raise ValueError(f"{name} must be odd and >= 3 (got {v})")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1) (got {dropout})")
        if attention and (channels % 2 or (channels // 2) % heads):
            raise ValueError(f"channels / 2 must be divisible by heads (got channels={channels}, heads={heads})")
        if (cond_res_blocks > 0) != (cond_channels > 0):
            raise ValueError(
                f"cond_res_blocks and cond_channels must both be > 0 or both 0 (got {cond_res_blocks}, {cond_channels})"
            )
        height, width = int(shape[0]), int(shape[1])
        self.num_codes, self.shape, self.num_classes = num_codes, (height, width), num_classes
        self.raw_keys = raw_keys and attention
        self.cond_shape: tuple[int, int] | None = None
        if cond_res_blocks:
            h, w = cond_shape if cond_shape is not None else (height // 2, width // 2)
            if min(h, w) < 1 or height % h or width % w or height // h != width // w:
                raise ValueError(f"cond_shape must divide shape {shape} by one integer factor (got {(h, w)})")
            self.cond_shape, self.cond_scale = (int(h), int(w)), height // h
        elif cond_shape is not None:
            raise ValueError("cond_shape needs a conditioning stack (cond_res_blocks > 0)")

        # Input: two shifted convolutions of the one-hot codes whose sum at (r, c) sees only codes before (r, c):
        # rows r-k//2..r-1 (all k columns around c), and row r-(k-1)//2..r at columns c-k//2..c-1.
        k, half = kernel_size, kernel_size // 2
        self.above = WNConv2d(num_codes, channels, (half, k), padding=(half, half, half - 1, 0))
        self.left = WNConv2d(num_codes, channels, ((k + 1) // 2, half), padding=(half - 1, 0, (k + 1) // 2 - 1, 0))
        rows = (torch.arange(height, dtype=torch.float32) - height / 2) / height
        cols = (torch.arange(width, dtype=torch.float32) - width / 2) / width
        background = torch.stack([rows[:, None].expand(height, width), cols[None, :].expand(height, width)])
        self.register_buffer("background", background[None], persistent=False)  # (1, 2, H, W)

        self.blocks = nn.ModuleList(
            PixelBlock(
                channels,
                res_channels,
                kernel_size,
                res_blocks,
                attention=attention,
                heads=heads,
                dropout=dropout,
                cond_channels=cond_channels,
                num_classes=num_classes,
                raw_channels=num_codes if self.raw_keys else 0,
            )
            for _ in range(num_blocks)
        )
        self.cond_stack: nn.Sequential | None = None
        if cond_res_blocks:
            pad = (cond_kernel_size // 2,) * 4
            self.cond_stack = nn.Sequential(
                WNConv2d(num_codes, cond_channels, cond_kernel_size, padding=pad),
                *(
                    GatedResBlock(cond_channels, cond_channels, cond_kernel_size, dropout=dropout)
                    for _ in range(cond_res_blocks)
                ),
            )
        self.out_stack = nn.Sequential(
            *(GatedResBlock(channels, res_channels, 1, dropout=dropout) for _ in range(out_res_blocks)),
            nn.ELU(),
            WNConv2d(channels, num_codes, 1),
        )

    # -- inputs and conditioning -----------------------------------------------------------------------------

    def _one_hot(self, codes: Tensor) -> Tensor:
        """(B, H, W) codes → (B, K, H, W) one-hot in the parameters' dtype (works on the meta device)."""
        classes = torch.arange(self.num_codes, device=codes.device)
        return (codes[:, None] == classes[None, :, None, None]).to(self.background.dtype)

    def _check(self, batch: int, labels: Any, condition: Any) -> tuple[Tensor | None, Tensor | None]:
        labels = check_labels(labels, self.num_classes, batch)
        if self.cond_shape is None:
            if condition is not None:
                raise ValueError("expected no condition: this prior has no conditioning stack (cond_res_blocks=0)")
            return labels, None
        if condition is None:
            raise ValueError(f"expected condition codes of shape (B, {self.cond_shape[0]}, {self.cond_shape[1]})")
        check_codes(condition, self.num_codes, self.cond_shape, "condition codes")
        if condition.shape[0] != batch:
            raise ValueError(f"expected condition codes for {batch} examples, got {_shape_of(condition)}")
        return labels, condition

    def condition_map(self, condition: Tensor | None) -> Tensor | None:
        """The conditioning stack over the top codes, upsampled to (B, cond_channels, H, W) (computed once)."""
        if condition is None or self.cond_stack is None:
            return None
        return F.interpolate(self.cond_stack(self._one_hot(condition)), scale_factor=self.cond_scale, mode="nearest")

    def _logits(self, codes: Tensor, cond: Tensor | None, labels: Tensor | None) -> Tensor:
        """Logits (B, K, R, W) of codes (B, R, W) for the first R ≤ H rows; ``cond`` is the full-height map."""
        batch, rows, _ = codes.shape
        one_hot = self._one_hot(codes)
        x = shift_down(self.above(one_hot)) + _shift_right(self.left(one_hot))  # (B, C, R, W)
        raw = one_hot if self.raw_keys else None
        background = self.background[:, :, :rows].expand(batch, -1, -1, -1)
        cond = cond[:, :, :rows] if cond is not None else None
        for block in self.blocks:
            x = block(x, background, cond, labels, raw)
        return self.out_stack(x)

    # -- API -------------------------------------------------------------------------------------------------

    def forward(
        self,
        codes: Tensor | Sequence[Tensor],
        labels: Tensor | None = None,
        condition: Tensor | None = None,
    ) -> Tensor:
        """Logits of every code given the codes before it (and the top codes and label, if conditioned).

        Args:
            codes: (B, H, W) integer codes in [0, K), or a tuple (codes, [labels], [condition]).
            labels: (B,) class labels, required iff ``num_classes > 0``.
            condition: (B, h, w) top-level codes in [0, K), required iff the prior has a conditioning stack.

        Returns:
            (B, K, H, W) logits; position (r, c) depends only on codes before (r, c) in raster order.
        """
        codes, labels, condition = split_input(codes, labels, condition)
        check_codes(codes, self.num_codes, self.shape)
        labels, condition = self._check(codes.shape[0], labels, condition)
        return self._logits(codes, self.condition_map(condition), labels)

    @torch.no_grad()
    def sample(
        self,
        shape: tuple[int, int, int],
        labels: Tensor | None = None,
        condition: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
    ) -> Tensor:
        """Draw code maps in raster order, all batch items at once; dropout is off while sampling.

        Args:
            shape: (B, H, W) with (H, W) the model's ``shape``.
            labels: (B,) class labels (class-conditional priors).
            condition: (B, h, w) top-level codes (bottom prior).
            generator: the random generator of ``torch.multinomial``.
            temperature: softmax temperature; 0 takes the most likely code (greedy decoding).

        Returns:
            (B, H, W) long codes.

        Cached: the weight-normalised kernels and the conditioning stack's map (once per call); the step at
        row r runs on rows ≤ r only.
        """
        batch, height, width = _sample_shape(shape, self.shape)
        check_temperature(temperature)
        labels, condition = self._check(batch, labels, condition)
        codes = torch.zeros(batch, height, width, dtype=torch.long, device=self.background.device)
        with _eval(self), frozen_weights(self):
            cond = self.condition_map(condition)
            for r in range(height):
                for c in range(width):
                    logits = self._logits(codes[:, : r + 1], cond, labels)  # (B, K, r + 1, W)
                    codes[:, r, c] = draw(logits[:, :, r, c], temperature, generator)
        return codes


# ---------------------------------------------------------------------------------------------------------------
# Registered variants
# ---------------------------------------------------------------------------------------------------------------

RAZAVI_2019 = Paper(
    title="Generating Diverse High-Fidelity Images with VQ-VAE-2",
    authors="Ali Razavi, Aaron van den Oord, Oriol Vinyals",
    year=2019,
    arxiv="1906.00446",
)
_REF = "rosinality/vq-vae-2-pytorch pixelsnail.py (train_pixelsnail.py --hier {})"
_PAPER_REF = "none (VQ-VAE-2 appendix table sizes on the rosinality structure; no implementation at this size)"


def _bottom_input(num_codes: int, shape: tuple[int, int], cond_shape: tuple[int, int], num_classes: int = 0):
    def fn(b: int, device: Any) -> tuple[Tensor, ...]:
        codes = torch.randint(0, num_codes, (b, *shape), device=device)
        top = torch.randint(0, num_codes, (b, *cond_shape), device=device)
        if num_classes == 0:
            return codes, top
        return codes, top, torch.randint(0, num_classes, (b,), device=device)

    return fn


_TOP = dict(num_codes=512, shape=(32, 32), channels=256, kernel_size=5, num_blocks=4, res_blocks=4, res_channels=256)
_BOTTOM = dict(_TOP, shape=(64, 64), attention=False, cond_res_blocks=3, cond_channels=256)


@register_model(
    paper=CHEN_2018,
    reference=_REF.format("top"),
    reference_params=84_873_280,
    input_size=(32, 32),
    example_input=code_input(512, (32, 32)),
)
def pixelsnail_top(**kwargs: Any) -> PixelSNAIL:
    """VQ-VAE-2 top prior as the reference: 32×32, K = 512, C 256, 4 blocks × 4 causal 5×5 res blocks, attention."""
    return PixelSNAIL(**{**_TOP, "dropout": 0.1, **kwargs})


@register_model(
    paper=CHEN_2018,
    reference=_REF.format("bottom"),
    reference_params=89_762_816,
    input_size=(64, 64),
    example_input=_bottom_input(512, (64, 64), (32, 32)),
)
def pixelsnail_bottom(**kwargs: Any) -> PixelSNAIL:
    """VQ-VAE-2 bottom prior as the reference: 64×64 conditioned on the 32×32 top codes (3 res blocks), no attention."""
    return PixelSNAIL(**{**_BOTTOM, "dropout": 0.1, **kwargs})


@register_model(
    paper=RAZAVI_2019, reference=_PAPER_REF, input_size=(32, 32), example_input=code_input(512, (32, 32), 1000)
)
def pixelsnail_top_paper(**kwargs: Any) -> PixelSNAIL:
    """The appendix's ImageNet top prior: 512 hidden, 2048 residual units, 20 layers, 4 attention, 20 output blocks."""
    defaults = dict(
        _TOP, channels=512, res_blocks=5, res_channels=2048, out_res_blocks=20, num_classes=1000, raw_keys=True
    )
    return PixelSNAIL(**{**defaults, "dropout": 0.1, **kwargs})


@register_model(
    paper=RAZAVI_2019,
    reference=_PAPER_REF,
    input_size=(64, 64),
    example_input=_bottom_input(512, (64, 64), (32, 32), 1000),
)
def pixelsnail_bottom_paper(**kwargs: Any) -> PixelSNAIL:
    """The appendix's ImageNet bottom prior: 512 hidden, 1024 residual units, 20 layers, 20-block conditioning stack."""
    defaults = dict(
        _BOTTOM, channels=512, res_blocks=5, res_channels=1024, cond_res_blocks=20, cond_channels=1024, num_classes=1000
    )
    return PixelSNAIL(**{**defaults, "dropout": 0.1, **kwargs})


_TINY = dict(num_codes=16, channels=16, kernel_size=3, num_blocks=2, res_blocks=1, res_channels=16, heads=2)


@register_model(
    paper=CHEN_2018, reference=_REF.format("top"), input_size=(8, 8), example_input=code_input(16, (8, 8), 10)
)
def pixelsnail_top_tiny(**kwargs: Any) -> PixelSNAIL:
    """A small top prior for tests: 8×8 codes, K = 16, 10 classes, C 16, 2 blocks with attention (2 heads), 3×3."""
    return PixelSNAIL(**{**_TINY, "shape": (8, 8), "num_classes": 10, "out_res_blocks": 1, **kwargs})


@register_model(
    paper=CHEN_2018,
    reference=_REF.format("bottom"),
    input_size=(8, 8),
    example_input=_bottom_input(16, (8, 8), (4, 4), 10),
)
def pixelsnail_bottom_tiny(**kwargs: Any) -> PixelSNAIL:
    """A small bottom prior for tests: 8×8 codes given 4×4 top codes (1 res block), 10 classes, no attention."""
    defaults = dict(_TINY, shape=(8, 8), attention=False, cond_res_blocks=1, cond_channels=16, num_classes=10)
    return PixelSNAIL(**{**defaults, **kwargs})
