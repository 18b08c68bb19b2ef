"""MViT: Multiscale Vision Transformers (v1), with Multi-Head Pooling Attention.

Paper: Fan, Xiong, Mangalam, Li, Yan, Malik & Feichtenhofer, "Multiscale Vision Transformers", ICCV 2021,
arXiv:2104.11227. Reference implementations: pytorchvideo ``create_multiscale_vision_transformers`` with the
hub configs ``mvit_base_16x4`` / ``mvit_base_32x3`` (pytorchvideo 0.1.5, ``models/hub/vision_transformers.py``),
which reproduce facebookresearch/SlowFast's ``MViT`` with ``configs/Kinetics/MVIT_B_16x4_CONV.yaml``.

Implemented (§3-4 and the paper's MViT-B architecture table):

- cube patch embedding: a Conv3d 3×7×7, stride 2×4×4, padding 1×3×3 to 96 channels (§4, "cube1"), so a
  16×224² clip becomes an 8×56×56 grid of tokens; a class token is prepended;
- separable absolute position embeddings as the reference (``SEP_POS_EMBED``): one learned vector per spatial
  location (56², shared over time) plus one per temporal index (shared over space), plus one for the class
  token;
- 16 multiscale blocks in four scale stages (1 + 2 + 11 + 2 blocks; channels 96 → 192 → 384 → 768; heads
  1 → 2 → 4 → 8, so every head is 96 wide). Each block is pre-norm Multi-Head Pooling Attention (§3.1) and
  an MLP (ratio 4). In MHPA the projected queries, keys and values are pooled per head by a strided
  *depthwise* Conv3d (kernel 3×3×3, padding 1, shared by the heads, no bias) followed by a LayerNorm over
  the head width; the class token is not pooled and is concatenated back before the LayerNorm (§3.1).
  Queries are pooled with stride 1×2×2 in the first block of each stage (blocks 1, 3, 14), which shrinks
  the sequence to 8×28², 8×14², 8×7²; keys/values are pooled in every block with the reference's
  *adaptive* stride: 1×8×8 in stage 1, divided by the query stride at every transition (1×4×4, 1×2×2,
  1×1×1 — the last still a 3×3×3 depthwise conv, as in the reference);
- the channel expansion happens in the block *before* each transition (blocks 0, 2, 13; §3.2 and the
  reference's ``dim_mul``): its MLP maps D → 4D → 2D and its residual is projected by a Linear applied to
  the *normalised* input of the MLP; the block that pools Q max-pools its attention residual (kernel 1×3×3,
  stride 1×2×2, padding 0×1×1, class token excluded);
- final LayerNorm (eps 1e-6 everywhere: pytorchvideo's current ``attn_norm_layer``, SlowFast's current code and
  torchvision's ``mvit_v1_b``; the pytorchvideo 0.1.5 release and the SlowFast code of the MViT v1 release use
  PyTorch's default eps 1e-5 in the pooling LayerNorms only — pass ``pool_norm_layer=nn.LayerNorm`` for that),
  class token → dropout 0.5 → Linear(768, 400);
- stochastic depth rising linearly to 0.2 over the 16 blocks (``MVIT_B_16x4_CONV.yaml``; pytorchvideo's
  builder default is 0); the reference's ViT-style initialisation (truncated normal 0.02 for Linear weights
  and the position/class embeddings, zero biases, unit LayerNorms; Conv3d left at PyTorch's default).

``mvit_base_16x4`` and ``mvit_base_32x3`` differ only in the clip length (16 or 32 frames: 8 or 16 temporal
positions, hence 768 more parameters). :func:`convert_pytorchvideo_state_dict` renames a pytorchvideo
checkpoint's keys to this module's. Deviations: the clip size is fixed by the position embeddings (no
interpolation); the attention is computed by ``F.scaled_dot_product_attention``; the BatchNorm variant,
pooling-first mode and max/avg pooling modes of the reference builder, and MViT-B-24 (SlowFast's current
``MVIT_B_32x3_CONV.yaml`` sets ``DEPTH: 24``, which is MViT-B-24, not the 36.6M-parameter model of the
paper's Table and pytorchvideo's zoo) are left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...nn import DropPath, Mlp, drop_path_rates
from ...registry import Paper, register_model
from ._base import VideoClassifier, linear_head

__all__ = [
    "MViT",
    "MultiScaleBlock",
    "MultiHeadPoolingAttention",
    "attention_pool",
    "convert_pytorchvideo_state_dict",
    "mvit_layer_norm",
]

MVIT_2021 = Paper(
    title="Multiscale Vision Transformers",
    authors="Haoqi Fan, Bo Xiong, Karttikeya Mangalam, Yanghao Li, Zhicheng Yan, Jitendra Malik, "
    "Christoph Feichtenhofer",
    year=2021,
    arxiv="2104.11227",
)

#: The reference's LayerNorm (``partial(nn.LayerNorm, eps=1e-6)``), used in blocks, pooling and at the end.
mvit_layer_norm: Callable[[int], nn.Module] = partial(nn.LayerNorm, eps=1e-6)

Triple = tuple[int, int, int]


def _triple(x: int | Sequence[int], name: str, *, minimum: int = 1) -> Triple:
    out = (x, x, x) if isinstance(x, int) else tuple(x)
    if len(out) != 3 or any(int(v) != v or v < minimum for v in out):
        raise ValueError(f"{name} must be an int >= {minimum} or a triple of them (got {x})")
    return int(out[0]), int(out[1]), int(out[2])


def _pooled_size(thw: Sequence[int], kernel: Triple, stride: Triple) -> Triple:
    """Output grid of a pooling with padding ``kernel // 2`` (the reference's rule) on a ``thw`` grid."""
    t, h, w = ((n + 2 * (k // 2) - k) // s + 1 for n, k, s in zip(thw, kernel, stride))
    return t, h, w


def attention_pool(
    x: Tensor, pool: nn.Module | None, thw: Triple, norm: nn.Module | None = None
) -> tuple[Tensor, Triple]:
    """Pool a token sequence on its space-time grid, leaving the class token out (MViT §3.1, ``P(·; Θ)``).

    Args:
        x: tokens ``(B, N, C)`` or per-head tokens ``(B, heads, N, C)``, class token first, the
            ``N - 1 = T·H·W`` grid tokens in (t, h, w) raster order.
        pool: a module on ``(B', C, T, H, W)`` (strided depthwise Conv3d or MaxPool3d); ``None``: identity.
        thw: the grid (T, H, W) of the input tokens.
        norm: optional normalisation over C, applied after the class token is put back (the reference's order).

    Returns:
        Pooled tokens of the same rank, class token first, and the pooled grid (T', H', W').
    """
    if pool is None:
        return x, thw
    squeeze = x.dim() == 3
    if squeeze:
        x = x.unsqueeze(1)  # (B, 1, N, C): one "head"
    cls, grid = x[:, :, :1], x[:, :, 1:]
    b = x.shape[0]
    # Each (clip, head) pair is one sample of the pooling op; channels are the head's C features.
    grid = rearrange(grid, "b h (t y x) c -> (b h) c t y x", t=thw[0], y=thw[1], x=thw[2])
    grid = pool(grid)
    out_thw: Triple = (grid.shape[2], grid.shape[3], grid.shape[4])
    grid = rearrange(grid, "(b h) c t y x -> b h (t y x) c", b=b)
    x = torch.cat([cls, grid], dim=2)
    if norm is not None:
        x = norm(x)
    return (x.squeeze(1) if squeeze else x), out_thw


class MultiHeadPoolingAttention(nn.Module):
    r"""Multi-Head Pooling Attention (MViT §3.1; the reference's ``MultiScaleAttention``).

    .. math::
        Q = P(X W_Q; \Theta_Q),\; K = P(X W_K; \Theta_K),\; V = P(X W_V; \Theta_V), \qquad
        \mathrm{PA}(\cdot) = \mathrm{Softmax}(Q K^\top / \sqrt{d})\, V

    per head, then the heads are concatenated and projected. ``P`` is a depthwise Conv3d (kernel ``kernel_*``,
    stride ``stride_*``, padding ``kernel // 2``, no bias) shared by all heads, followed by a LayerNorm over
    the head width; it is left out (identity, no parameters) where kernel and stride are all 1. Separate
    ``q``/``k``/``v`` Linears as pytorchvideo (``separate_qkv=True``), so its state dicts line up.

    Args:
        dim: token width D.
        num_heads: heads (must divide D).
        kernel_q, stride_q: query pooling; stride > 1 shrinks the output sequence.
        kernel_kv, stride_kv: key/value pooling; sets the number of tokens attended to.
        qkv_bias: bias in the q/k/v projections (the reference has it).
        proj_drop: dropout after the output projection.
        norm_layer: normalisation after each pooling (LayerNorm, eps 1e-6).

    Shapes:
        x: (B, 1 + T·H·W, D) with ``thw = (T, H, W)`` → (B, 1 + T'·H'·W', D) and the query grid (T', H', W').
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        kernel_q: int | Sequence[int] = 1,
        stride_q: int | Sequence[int] = 1,
        kernel_kv: int | Sequence[int] = 1,
        stride_kv: int | Sequence[int] = 1,
        qkv_bias: bool = True,
        proj_drop: float = 0.0,
        norm_layer: Callable[[int], nn.Module] = mvit_layer_norm,
    ) -> None:
        super().__init__()
        if dim <= 0:
            raise ValueError(f"dim must be > 0 (got {dim})")
        if num_heads <= 0 or dim % num_heads:
            raise ValueError(f"num_heads must be > 0 and divide dim={dim} (got {num_heads})")
        if not 0.0 <= proj_drop < 1.0:
            raise ValueError(f"proj_drop must be in [0, 1) (got {proj_drop})")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.kernel_q, self.stride_q = _triple(kernel_q, "kernel_q"), _triple(stride_q, "stride_q")
        self.kernel_kv, self.stride_kv = _triple(kernel_kv, "kernel_kv"), _triple(stride_kv, "stride_kv")
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.k = nn.Linear(dim, dim, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

        def pooling(kernel: Triple, stride: Triple) -> tuple[nn.Module | None, nn.Module | None]:
            if math.prod(kernel) == 1 and math.prod(stride) == 1:
                return None, None  # the reference skips a 1×1×1 pooling entirely
            d = self.head_dim
            conv = nn.Conv3d(d, d, kernel, stride=stride, padding=[k // 2 for k in kernel], groups=d, bias=False)
            return conv, norm_layer(d)

        self.pool_q, self.norm_q = pooling(self.kernel_q, self.stride_q)
        self.pool_k, self.norm_k = pooling(self.kernel_kv, self.stride_kv)
        self.pool_v, self.norm_v = pooling(self.kernel_kv, self.stride_kv)

    def forward(self, x: Tensor, thw: Triple) -> tuple[Tensor, Triple]:
        """Pooling attention over the tokens of one clip.

        Args:
            x: (B, 1 + T·H·W, D), class token first.
            thw: the token grid (T, H, W).

        Returns:
            (B, 1 + T'·H'·W', D) and the query grid (T', H', W').
        """
        if x.dim() != 3 or x.shape[-1] != self.dim or x.shape[1] != 1 + math.prod(thw):
            raise ValueError(f"expected tokens of shape (B, 1 + {math.prod(thw)}, {self.dim}), got {tuple(x.shape)}")
        heads = self.num_heads
        q = rearrange(self.q(x), "b n (h d) -> b h n d", h=heads)  # (B, heads, N, d)
        k = rearrange(self.k(x), "b n (h d) -> b h n d", h=heads)
        v = rearrange(self.v(x), "b n (h d) -> b h n d", h=heads)
        q, q_thw = attention_pool(q, self.pool_q, thw, self.norm_q)  # (B, heads, 1 + T'H'W', d)
        k, _ = attention_pool(k, self.pool_k, thw, self.norm_k)  # (B, heads, 1 + T_kH_kW_k, d)
        v, _ = attention_pool(v, self.pool_v, thw, self.norm_v)
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(QKᵀ/√d) V per head (§3.1)
        out = rearrange(out, "b h n d -> b n (h d)")  # concatenate the heads
        return self.proj_drop(self.proj(out)), q_thw

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, num_heads={self.num_heads}, stride_q={self.stride_q}, stride_kv={self.stride_kv}, "
            f"kernel_q={self.kernel_q}, kernel_kv={self.kernel_kv}"
        )


class MultiScaleBlock(nn.Module):
    r"""A multiscale transformer block (MViT §3.2; the reference's ``MultiScaleBlock``).

    ::

        x ─┬─ norm1 ─ MHPA (pools Q by stride_q) ─ drop_path ─(+)─┬─ norm2 ─┬─ mlp (D → 4D → D') ─ drop_path ─(+)─▶
           └─ max-pool by stride_q (identity if 1) ───────────┘         └─ proj (D → D', if D' ≠ D) ────────┘

    Where the width changes (D' ≠ D) the residual of the MLP sub-layer is ``proj(norm2(x))`` (the normalised
    input), as in the reference; otherwise it is ``x``.

    Args:
        dim: input width D.
        dim_out: output width D' (2·D in the block before a stage transition).
        num_heads: attention heads.
        mlp_ratio: MLP hidden width as a multiple of D.
        kernel_q, stride_q, kernel_kv, stride_kv: pooling of the attention (see :class:`MultiHeadPoolingAttention`).
        qkv_bias: bias in the q/k/v projections.
        proj_drop: dropout after the attention projection and in the MLP (the reference's ``dropout_rate``).
        drop_path: stochastic-depth probability of both residual branches.
        act_layer: MLP activation (GELU).
        norm_layer: normalisation (LayerNorm, eps 1e-6).
        pool_norm_layer: normalisation after the attention pooling (default: ``norm_layer``).

    Shapes:
        x: (B, 1 + T·H·W, D), ``thw`` → (B, 1 + T'·H'·W', D'), (T', H', W').
    """

    def __init__(
        self,
        dim: int,
        dim_out: int,
        num_heads: int,
        *,
        mlp_ratio: float = 4.0,
        kernel_q: int | Sequence[int] = 1,
        stride_q: int | Sequence[int] = 1,
        kernel_kv: int | Sequence[int] = 1,
        stride_kv: int | Sequence[int] = 1,
        qkv_bias: bool = True,
        proj_drop: float = 0.0,
        drop_path: float = 0.0,
        act_layer: type[nn.Module] = nn.GELU,
        norm_layer: Callable[[int], nn.Module] = mvit_layer_norm,
        pool_norm_layer: Callable[[int], nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if dim_out <= 0:
            raise ValueError(f"dim_out must be > 0 (got {dim_out})")
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0 (got {mlp_ratio})")
        self.dim, self.dim_out = dim, dim_out
        self.norm1 = norm_layer(dim)
        self.attn = MultiHeadPoolingAttention(
            dim, num_heads, kernel_q=kernel_q, stride_q=stride_q, kernel_kv=kernel_kv, stride_kv=stride_kv,
            qkv_bias=qkv_bias, proj_drop=proj_drop, norm_layer=pool_norm_layer or norm_layer,
        )  # fmt: skip
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dim_out, act_layer=act_layer, drop=proj_drop)
        self.proj = nn.Linear(dim, dim_out) if dim != dim_out else None
        # The residual follows the queries' resolution: max-pool with kernel s + 1 where the stride s > 1.
        stride = self.attn.stride_q
        if math.prod(stride) > 1:
            kernel = tuple(s + 1 if s > 1 else s for s in stride)
            self.pool_skip = nn.MaxPool3d(kernel, stride, [k // 2 for k in kernel])
        else:
            self.pool_skip = None

    def forward(self, x: Tensor, thw: Triple) -> tuple[Tensor, Triple]:
        out, thw_out = self.attn(self.norm1(x), thw)
        x, _ = attention_pool(x, self.pool_skip, thw)  # the residual, pooled like the queries
        x = x + self.drop_path(out)
        x_norm = self.norm2(x)
        if self.proj is not None:
            x = self.proj(x_norm)  # width change: project the normalised tokens (the reference's choice)
        return x + self.drop_path(self.mlp(x_norm)), thw_out


class MViT(VideoClassifier):
    """Multiscale Vision Transformer (Fan et al. 2021) for clip classification.

    ::

        clip (B, 3, T, H, W) ─▶ Conv3d 3×7×7 /2×4×4 ─▶ [cls; tokens] + E_space + E_time ─▶ 16 × MultiScaleBlock
             (stages at blocks 0 | 1-2 | 3-13 | 14-15: 8×56² → 8×28² → 8×14² → 8×7² tokens, 96 → 192 → 384 → 768
             channels) ─▶ LayerNorm ─▶ cls ─▶ dropout ─▶ Linear

    A stage transition at block ``i`` (``pool_q_blocks``) doubles the width (in block ``i - 1``'s MLP), doubles
    the heads, pools the queries by ``pool_q_stride`` and divides the key/value stride by it.

    Args:
        img_size: frame side (int or (H, W)); fixed by the spatial position embeddings.
        num_frames: frames per clip T; fixed by the temporal position embeddings.
        in_chans: input channels.
        num_classes: classes (400, Kinetics-400; 0: features only).
        embed_dim: width of the first stage (96).
        num_heads: heads of the first stage (1).
        depth: number of blocks (16).
        pool_q_blocks: blocks that start a new stage (1, 3, 14).
        pool_q_stride: query stride at a transition (1, 2, 2).
        pool_kv_stride: key/value stride of the first stage (1, 8, 8), divided by ``pool_q_stride`` at each
            transition (floored, at least 1), the reference's ``POOL_KV_STRIDE_ADAPTIVE``.
        pool_kernel: Q/K/V pooling kernel (3, 3, 3), the reference's ``POOL_KVQ_KERNEL``.
        patch_kernel, patch_stride, patch_padding: the cube embedding Conv3d ((3, 7, 7), (2, 4, 4), (1, 3, 3)).
        mlp_ratio: MLP hidden width / block width (4).
        qkv_bias: bias in the q/k/v projections.
        drop_rate: dropout before the classifier (0.5).
        proj_drop_rate: dropout after the embeddings, attention projections and MLP Linears (0).
        drop_path_rate: stochastic depth of the last block, linear in depth (0.2).
        norm_layer: normalisation class (LayerNorm, eps 1e-6).
        pool_norm_layer: normalisation after the Q/K/V pooling (default ``norm_layer``; see the module doc).
        act_layer: MLP activation (GELU).

    Shapes:
        x: (B, in_chans, num_frames, H, W) → logits (B, K); ``forward_features`` → (B, 1 + T'·H'·W', D_last)
        normalised tokens of the last stage, class token first.
    """

    classifier_attr = "head"

    def __init__(
        self,
        img_size: int | tuple[int, int] = 224,
        num_frames: int = 16,
        *,
        in_chans: int = 3,
        num_classes: int = 400,
        embed_dim: int = 96,
        num_heads: int = 1,
        depth: int = 16,
        pool_q_blocks: Sequence[int] = (1, 3, 14),
        pool_q_stride: int | Sequence[int] = (1, 2, 2),
        pool_kv_stride: int | Sequence[int] = (1, 8, 8),
        pool_kernel: int | Sequence[int] = (3, 3, 3),
        patch_kernel: int | Sequence[int] = (3, 7, 7),
        patch_stride: int | Sequence[int] = (2, 4, 4),
        patch_padding: int | Sequence[int] = (1, 3, 3),
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop_rate: float = 0.5,
        proj_drop_rate: float = 0.0,
        drop_path_rate: float = 0.2,
        norm_layer: Callable[[int], nn.Module] = mvit_layer_norm,
        pool_norm_layer: Callable[[int], nn.Module] | None = None,
        act_layer: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        img = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        if len(img) != 2 or min(img) <= 0:
            raise ValueError(f"img_size must be a positive int or pair (got {img_size})")
        if num_frames <= 0:
            raise ValueError(f"num_frames must be > 0 (got {num_frames})")
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"num_heads must be > 0 and divide embed_dim={embed_dim} (got {num_heads})")
        if depth <= 0:
            raise ValueError(f"depth must be > 0 (got {depth})")
        transitions = sorted(set(int(i) for i in pool_q_blocks))
        if len(transitions) != len(tuple(pool_q_blocks)) or any(not 0 < i < depth for i in transitions):
            raise ValueError(f"pool_q_blocks must be distinct block indices in [1, {depth - 1}] (got {pool_q_blocks})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        if not 0.0 <= proj_drop_rate < 1.0:
            raise ValueError(f"proj_drop_rate must be in [0, 1) (got {proj_drop_rate})")
        q_stride = _triple(pool_q_stride, "pool_q_stride")
        kv_stride = _triple(pool_kv_stride, "pool_kv_stride")
        kernel = _triple(pool_kernel, "pool_kernel")
        p_kernel, p_stride = _triple(patch_kernel, "patch_kernel"), _triple(patch_stride, "patch_stride")
        p_pad = _triple(patch_padding, "patch_padding", minimum=0)

        self.img_size: tuple[int, int] = (int(img[0]), int(img[1]))
        self.num_frames, self.in_chans, self.num_classes = num_frames, in_chans, num_classes
        # Token grid after the cube embedding (Conv3d arithmetic): 16×224² → 8×56×56.
        grid = tuple(
            (n + 2 * p - k) // s + 1 for n, k, s, p in zip((num_frames, *self.img_size), p_kernel, p_stride, p_pad)
        )
        if min(grid) <= 0:
            raise ValueError(f"clip {num_frames}x{img[0]}x{img[1]} is smaller than the patch kernel {p_kernel}")
        self.patch_grid: Triple = (grid[0], grid[1], grid[2])

        self.patch_embed = nn.Conv3d(in_chans, embed_dim, p_kernel, stride=p_stride, padding=p_pad)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        # Separable position embeddings (the reference's SEP_POS_EMBED): space + time, and one for cls.
        self.pos_embed_spatial = nn.Parameter(torch.zeros(1, grid[1] * grid[2], embed_dim))
        self.pos_embed_temporal = nn.Parameter(torch.zeros(1, grid[0], embed_dim))
        self.pos_embed_class = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_drop = nn.Dropout(proj_drop_rate)

        # The per-block schedule (§3.2, the MViT-B table): stage s has width embed_dim·2^s and num_heads·2^s heads.
        dpr = drop_path_rates(drop_path_rate, depth)
        stage = [sum(1 for t in transitions if t <= i) for i in range(depth)]
        stage.append(stage[-1])  # the last block keeps its width
        blocks, thw, kv = [], self.patch_grid, kv_stride
        self.block_grids: list[Triple] = []  # token grid after each block
        for i in range(depth):
            pools_q = i in transitions
            if pools_q:
                kv = tuple(max(s // q, 1) for s, q in zip(kv, q_stride))
            dim, dim_out = embed_dim * 2 ** stage[i], embed_dim * 2 ** stage[i + 1]
            blocks.append(
                MultiScaleBlock(
                    dim, dim_out, num_heads * 2 ** stage[i], mlp_ratio=mlp_ratio,
                    kernel_q=kernel if pools_q else 1, stride_q=q_stride if pools_q else 1,
                    kernel_kv=kernel, stride_kv=kv, qkv_bias=qkv_bias, proj_drop=proj_drop_rate,
                    drop_path=dpr[i], act_layer=act_layer, norm_layer=norm_layer, pool_norm_layer=pool_norm_layer,
                )
            )  # fmt: skip
            if pools_q:
                thw = _pooled_size(thw, kernel, q_stride)
            self.block_grids.append(thw)
        self.blocks = nn.ModuleList(blocks)
        self.num_features = embed_dim * 2 ** stage[-1]
        self.norm = norm_layer(self.num_features)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = linear_head(self.num_features, num_classes)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """The reference's ViT-style initialisation (pytorchvideo ``init_net_weights(style="vit")``)."""
        for p in (self.cls_token, self.pos_embed_spatial, self.pos_embed_temporal, self.pos_embed_class):
            nn.init.trunc_normal_(p, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """Clips (B, C, T, H, W) → normalised last-stage tokens (B, 1 + T'·H'·W', D), class token first."""
        self.check_input(x)
        if tuple(x.shape[2:]) != (self.num_frames, *self.img_size):
            raise ValueError(
                f"expected clips of shape (B, {self.in_chans}, {self.num_frames}, {self.img_size[0]}, "
                f"{self.img_size[1]}), got {tuple(x.shape)}"
            )
        z = rearrange(self.patch_embed(x), "b d t h w -> b (t h w) d")  # (B, T·H·W, D), time-major raster order
        # E_space repeats over time, E_time over space: E[(t, s)] = E_space[s] + E_time[t].
        pos = rearrange(self.pos_embed_spatial[:, None] + self.pos_embed_temporal[:, :, None], "1 t s d -> 1 (t s) d")
        z = torch.cat([self.cls_token.expand(z.shape[0], -1, -1) + self.pos_embed_class, z + pos], dim=1)
        z = self.pos_drop(z)
        thw = self.patch_grid
        for blk in self.blocks:
            z, thw = blk(z, thw)
        return self.norm(z)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Tokens → logits (B, K) from the class token (the reference's ``seq_pool_type="cls"``)."""
        x = self.head_drop(x[:, 0])
        return x if pre_logits else self.head(x)


def convert_pytorchvideo_state_dict(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename a pytorchvideo ``MultiscaleVisionTransformers`` state dict to :class:`MViT`'s keys.

    Blocks keep their names (``blocks.i.norm1``, ``.attn.q`` / ``k`` / ``v`` / ``proj``, ``.attn.pool_q`` /
    ``norm_q`` ..., ``.norm2``, ``.mlp.fc1`` / ``fc2``, ``.proj``); the stem, position encoding, final norm
    and head are renamed. SlowFast checkpoints wrap the same names in ``model_state``; pass that dict.
    """
    renames = (
        ("patch_embed.patch_model.", "patch_embed."),
        ("cls_positional_encoding.", ""),
        ("norm_embed.", "norm."),
        ("head.proj.", "head."),
    )
    out: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        for old, new in renames:
            if key.startswith(old):
                key = new + key[len(old) :]
                break
        out[key] = value
    return out


def _create(defaults: dict[str, Any], overrides: dict[str, Any]) -> MViT:
    return MViT(**{**defaults, **overrides})


_REF = "pytorchvideo.models.hub.{} (create_multiscale_vision_transformers, SlowFast MVIT_B_16x4_CONV layout)"


@register_model(
    paper=MVIT_2021, reference=_REF.format("mvit_base_16x4"), reference_params=36_610_672, input_size=(3, 16, 224, 224)
)
def mvit_base_16x4(**kwargs: Any) -> MViT:
    """MViT-B, 16×4 (16 frames, stride 4, 224²): 36.6M parameters, 70.5 GFLOPs per view (paper, Kinetics-400 table)."""
    return _create(dict(img_size=224, num_frames=16), kwargs)


@register_model(
    paper=MVIT_2021, reference=_REF.format("mvit_base_32x3"), reference_params=36_611_440, input_size=(3, 32, 224, 224)
)
def mvit_base_32x3(**kwargs: Any) -> MViT:
    """MViT-B, 32×3 (32 frames, stride 3, 224²): the same network on 16 temporal positions, 170 GFLOPs per view."""
    return _create(dict(img_size=224, num_frames=32), kwargs)


@register_model(
    paper=MVIT_2021, reference="pytorchvideo create_multiscale_vision_transformers (reduced)", input_size=(3, 4, 32, 32)
)
def mvit_tiny(**kwargs: Any) -> MViT:
    """4×32² clips → 2×8×8 tokens; 4 blocks in three stages (16 → 32 → 64 channels, 1 → 2 → 4 heads)."""
    defaults = dict(
        img_size=32, num_frames=4, num_classes=10, embed_dim=16, num_heads=1, depth=4, pool_q_blocks=(1, 3),
        pool_kv_stride=(1, 4, 4), drop_rate=0.0, drop_path_rate=0.1,
    )  # fmt: skip
    return _create(defaults, kwargs)
