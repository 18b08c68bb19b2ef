"""MViT (Fan et al. 2021): Multi-Head Pooling Attention against an explicit loop (window-sum depthwise pooling,
explicit LayerNorm, explicit softmax per head), the block's pooled / projected residuals against hand-built
ones, the per-stage token and key/value schedule at 16×224², exact parameter counts layer by layer (pytorchvideo
``mvit_base_16x4`` / ``mvit_base_32x3``), the published GFLOPs, and the pytorchvideo state-dict key mapping."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import paperzoo
from paperzoo.models.video.mvit import (
    MultiHeadPoolingAttention,
    MultiScaleBlock,
    MViT,
    convert_pytorchvideo_state_dict,
)
from paperzoo.registry import count_params, get_model_entry


def randomize(module: nn.Module, std: float = 0.3) -> None:
    """Non-trivial values everywhere, LayerNorm gains and biases included."""
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, std)


def naive_depthwise_pool(grid: torch.Tensor, weight: torch.Tensor, stride: tuple[int, int, int]) -> torch.Tensor:
    """Depthwise 3-D "convolution" as explicit window sums: grid (T, H, W, C), weight (C, 1, kt, kh, kw),
    zero padding k // 2 → (T', H', W', C)."""
    kt, kh, kw = weight.shape[2:]
    pt, ph, pw = kt // 2, kh // 2, kw // 2
    t, h, w, c = grid.shape
    padded = torch.zeros(t + 2 * pt, h + 2 * ph, w + 2 * pw, c)
    padded[pt : pt + t, ph : ph + h, pw : pw + w] = grid
    sizes = [(n + 2 * (k // 2) - k) // s + 1 for n, k, s in zip((t, h, w), (kt, kh, kw), stride)]
    out = torch.zeros(*sizes, c)
    for i in range(sizes[0]):
        for j in range(sizes[1]):
            for m in range(sizes[2]):
                a, b, e = i * stride[0], j * stride[1], m * stride[2]
                window = padded[a : a + kt, b : b + kh, e : e + kw]  # (kt, kh, kw, C)
                out[i, j, m] = (window * weight[:, 0].permute(1, 2, 3, 0)).sum(dim=(0, 1, 2))
    return out


def naive_layer_norm(x: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias


def naive_pool(tokens: torch.Tensor, conv: nn.Conv3d | None, norm, thw) -> tuple[torch.Tensor, tuple]:
    """P(·; Θ) (§3.1) for one head of one clip: tokens (1 + THW, d), class token left out of the pooling."""
    if conv is None:
        return tokens, thw
    grid = naive_depthwise_pool(tokens[1:].reshape(*thw, -1), conv.weight, conv.stride)
    pooled = torch.cat([tokens[:1], grid.reshape(-1, grid.shape[-1])])
    return naive_layer_norm(pooled, norm), tuple(grid.shape[:3])


def naive_pooling_attention(attn: MultiHeadPoolingAttention, x: torch.Tensor, thw) -> torch.Tensor:
    """MHPA (§3.1) clip by clip and head by head, with an explicit softmax."""
    outs = []
    d = attn.head_dim
    for xb in x:  # (N, D)
        q_all, k_all, v_all = (xb @ lin.weight.T + lin.bias for lin in (attn.q, attn.k, attn.v))
        heads = []
        for h in range(attn.num_heads):
            sl = slice(h * d, (h + 1) * d)
            q, _ = naive_pool(q_all[:, sl], attn.pool_q, attn.norm_q, thw)
            k, _ = naive_pool(k_all[:, sl], attn.pool_k, attn.norm_k, thw)
            v, _ = naive_pool(v_all[:, sl], attn.pool_v, attn.norm_v, thw)
            logits = q @ k.T / math.sqrt(d)
            weights = torch.exp(logits - logits.max(-1, keepdim=True).values)
            weights = weights / weights.sum(-1, keepdim=True)
            heads.append(weights @ v)
        outs.append(torch.cat(heads, dim=-1) @ attn.proj.weight.T + attn.proj.bias)
    return torch.stack(outs)


@pytest.mark.parametrize(
    "kw, q_grid",
    [
        (dict(kernel_q=3, stride_q=(1, 2, 2), kernel_kv=3, stride_kv=(1, 4, 4)), (2, 3, 3)),  # a stage transition
        (dict(kernel_kv=3, stride_kv=(1, 2, 2)), (2, 5, 6)),  # queries not pooled (kernel 1, stride 1)
        (dict(kernel_q=3, stride_q=(2, 2, 2), kernel_kv=3, stride_kv=1), (1, 3, 3)),  # stride-1 K/V conv (last stage)
    ],
)
def test_pooling_attention_matches_naive(kw: dict, q_grid: tuple) -> None:
    torch.manual_seed(0)
    thw = (2, 5, 6)
    attn = MultiHeadPoolingAttention(12, 3, **kw).eval()
    randomize(attn)
    x = torch.randn(2, 1 + math.prod(thw), 12)
    out, out_thw = attn(x, thw)
    assert out_thw == q_grid and out.shape == (2, 1 + math.prod(q_grid), 12)
    torch.testing.assert_close(out, naive_pooling_attention(attn, x, thw), rtol=1e-4, atol=1e-5)
    # The pooling conv is depthwise and shared by the heads: head_dim channels, one filter each.
    assert attn.pool_k.weight.shape == (4, 1, 3, 3, 3) and attn.pool_k.bias is None
    if "kernel_q" not in kw:
        assert attn.pool_q is None and attn.norm_q is None


def naive_max_pool_skip(x: torch.Tensor, thw) -> torch.Tensor:
    """Max over 1×3×3 windows with stride 1×2×2 and padding 0×1×1 of the grid tokens; class token unchanged."""
    t, h, w = thw
    grid = x[:, 1:].reshape(x.shape[0], t, h, w, -1)
    padded = torch.full((x.shape[0], t, h + 2, w + 2, x.shape[-1]), -torch.inf)
    padded[:, :, 1:-1, 1:-1] = grid
    ho, wo = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    rows = []
    for i in range(ho):
        row = [padded[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].amax(dim=(2, 3)) for j in range(wo)]
        rows.append(torch.stack(row, 2))  # (B, T, W', C)
    out = torch.stack(rows, 2)  # (B, T, H', W', C)
    return torch.cat([x[:, :1], out.reshape(x.shape[0], -1, x.shape[-1])], dim=1)


def test_transition_block_max_pools_its_residual() -> None:
    torch.manual_seed(0)
    thw = (2, 5, 6)
    blk = MultiScaleBlock(8, 8, 2, kernel_q=3, stride_q=(1, 2, 2), kernel_kv=3, stride_kv=(1, 2, 2)).eval()
    randomize(blk)
    x = torch.randn(2, 1 + math.prod(thw), 8)
    with torch.no_grad():
        out, out_thw = blk(x, thw)
        assert out_thw == (2, 3, 3)
        # Full block = pooled residual + attention, then + MLP(LN(.)) (no width change: identity residual).
        mid = naive_max_pool_skip(x, thw) + naive_pooling_attention(blk.attn, blk.norm1(x), thw)
        torch.testing.assert_close(out, mid + blk.mlp(blk.norm2(mid)), rtol=1e-4, atol=1e-5)


def test_expansion_block_projects_the_normalised_tokens() -> None:
    # The block before a transition (§3.2, the reference's dim_mul): MLP D → 4D → 2D, residual Linear(D, 2D)
    # applied to norm2's output, not to the raw tokens.
    torch.manual_seed(0)
    thw = (2, 4, 4)
    blk = MultiScaleBlock(8, 16, 1, kernel_kv=3, stride_kv=(1, 2, 2)).eval()
    randomize(blk)
    assert blk.mlp.fc1.weight.shape == (32, 8) and blk.mlp.fc2.weight.shape == (16, 32) and blk.pool_skip is None
    x = torch.randn(2, 1 + math.prod(thw), 8)
    with torch.no_grad():
        out, out_thw = blk(x, thw)
        mid = x + naive_pooling_attention(blk.attn, blk.norm1(x), thw)
        y = naive_layer_norm(mid, blk.norm2)
        expected = y @ blk.proj.weight.T + blk.proj.bias + blk.mlp(y)
    assert out_thw == thw
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_stage_schedule_at_16x224() -> None:
    """Tokens, widths and heads per block at 16×224² (the paper's MViT-B table) and the adaptive K/V grid per block."""
    with torch.device("meta"):
        model = paperzoo.create_model("mvit_base_16x4").eval()
        x = torch.randn(1, 3, 16, 224, 224)
    seen: dict[int, tuple] = {}
    kv: dict[int, tuple] = {}
    for i, blk in enumerate(model.blocks):
        blk.register_forward_hook(lambda m, a, o, i=i: seen.__setitem__(i, (a[0].shape, o[0].shape, o[1])))
        blk.attn.pool_k.register_forward_hook(lambda m, a, o, i=i: kv.__setitem__(i, tuple(o.shape[2:])))
    with torch.no_grad():
        model(x)
    stages = [(0, 96, 1, (8, 56, 56))] + [(i, 192, 2, (8, 28, 28)) for i in (1, 2)]
    stages += [(i, 384, 4, (8, 14, 14)) for i in range(3, 14)] + [(i, 768, 8, (8, 7, 7)) for i in (14, 15)]
    for i, dim, heads, grid in stages:
        x_in, x_out, thw = seen[i]
        assert x_in[-1] == dim and model.blocks[i].attn.num_heads == heads and model.blocks[i].attn.head_dim == 96
        assert thw == grid and x_out[1] == 1 + math.prod(grid), i
    # The channel expansion happens in the block before each transition (0, 2, 13); the pools in 1, 3, 14.
    assert [seen[i][1][-1] for i in (0, 2, 13, 15)] == [192, 384, 768, 768]
    assert [i for i, b in enumerate(model.blocks) if b.attn.pool_q is not None] == [1, 3, 14]
    assert model.block_grids == [seen[i][2] for i in range(16)]
    # K/V stride 1×8×8 → 1×4×4 → 1×2×2 → 1×1×1 (kernel 3, padding 1), so attention sees ~7×7 per frame.
    expected_kv = [(1, 8, 8)] + [(1, 4, 4)] * 2 + [(1, 2, 2)] * 11 + [(1, 1, 1)] * 2
    assert [b.attn.stride_kv for b in model.blocks] == expected_kv
    assert kv[0] == (8, 7, 7) and kv[1] == (8, 14, 14) and kv[2] == (8, 7, 7) and kv[3] == (8, 14, 14)
    assert all(kv[i] == (8, 7, 7) for i in range(4, 14)) and kv[14] == (8, 14, 14) and kv[15] == (8, 7, 7)
    assert [round(b.drop_path.drop_prob, 6) for b in model.blocks[1:]] == [round(0.2 * i / 15, 6) for i in range(1, 16)]


def block_params(dim: int, dim_out: int, pools_q: bool, head_dim: int = 96) -> int:
    """One reference MultiScaleBlock: norm1, q/k/v/proj, K and V pooling (depthwise 27·d + LayerNorm 2d; Q too
    where it pools), norm2, MLP D → 4D → D', and the Linear(D, D') residual where the width changes."""
    pool = 27 * head_dim + 2 * head_dim
    total = 2 * dim + 4 * (dim * dim + dim) + 2 * pool + (pool if pools_q else 0) + 2 * dim
    total += (dim * 4 * dim + 4 * dim) + (4 * dim * dim_out + dim_out)
    return total + (dim * dim_out + dim_out if dim != dim_out else 0)


def reference_count(frames: int, classes: int = 400) -> int:
    """pytorchvideo's ``create_multiscale_vision_transformers`` with the hub's mvit_base config, layer by layer."""
    blocks = [(96, 192, False), (192, 192, True), (192, 384, False), (384, 384, True)]
    blocks += [(384, 384, False)] * 9 + [(384, 768, False), (768, 768, True), (768, 768, False)]
    stem = 3 * 96 * 3 * 7 * 7 + 96  # Conv3d 3×7×7 with bias
    pos = 96 + 56 * 56 * 96 + (frames // 2) * 96 + 96  # cls token, spatial, temporal, class position embeddings
    return stem + pos + sum(block_params(*b) for b in blocks) + 2 * 768 + 768 * classes + classes


@pytest.mark.parametrize("name, frames", [("mvit_base_16x4", 16), ("mvit_base_32x3", 32)])
def test_parameter_count_matches_reference(name: str, frames: int) -> None:
    entry = get_model_entry(name)
    assert entry.input_size == (3, frames, 224, 224)
    assert count_params(name) == entry.reference_params == reference_count(frames)
    # torchvision's mvit_v1_b (weights ported from the paper) states the same 36,610,672; the paper rounds to 36.6M.
    assert reference_count(16) == 36_610_672 and round(reference_count(32) / 1e6, 1) == 36.6


def test_block_parameter_counts() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("mvit_base_16x4")
    counts = [sum(p.numel() for p in b.parameters()) for b in model.blocks]
    assert counts[0] == block_params(96, 192, False) and counts[1] == block_params(192, 192, True)
    assert counts[13] == block_params(384, 768, False) and counts[14] == block_params(768, 768, True)


def gmacs(name: str) -> float:
    """Multiply-adds per clip as `paperzoo info` counts them: FlopCounterMode on meta, eval, no_grad, FLOPs / 2."""
    entry = get_model_entry(name)
    with torch.device("meta"):
        model = paperzoo.create_model(name).eval()
        x = torch.randn(1, *entry.input_size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / 2e9


@pytest.mark.parametrize("name, published", [("mvit_base_16x4", 70.5), ("mvit_base_32x3", 170.0)])
def test_macs_match_the_paper(name: str, published: float) -> None:
    # The paper's Kinetics-400 table: MViT-B 16×4 "70.5 GFLOPs × 1 × 5", MViT-B 32×3 "170 × 1 × 5" — per view,
    # multiply-adds. pytorchvideo's zoo (fvcore, which also counts LayerNorms) lists 70.80 / 170.37; torchvision's
    # mvit_v1_b lists 70.599. FlopCounterMode counts the convolutions (stem + pooling), the Linears and the
    # attention matmuls; the max-pools, norms, softmax and GELUs it leaves out are well under 1% here.
    assert gmacs(name) == pytest.approx(published, rel=0.02)


def test_pytorchvideo_state_dict_keys_map_onto_ours() -> None:
    model = paperzoo.create_model("mvit_tiny")
    # Keys of pytorchvideo's create_multiscale_vision_transformers (models/vision_transformers.py), outside blocks.
    reference_top = [
        "patch_embed.patch_model.weight", "patch_embed.patch_model.bias", "cls_positional_encoding.cls_token",
        "cls_positional_encoding.pos_embed_spatial", "cls_positional_encoding.pos_embed_temporal",
        "cls_positional_encoding.pos_embed_class", "norm_embed.weight", "norm_embed.bias", "head.proj.weight",
        "head.proj.bias",
    ]  # fmt: skip
    ours = model.state_dict()
    reference = {k: v for k, v in ours.items() if k.startswith("blocks.")}
    converted_top = convert_pytorchvideo_state_dict(dict.fromkeys(reference_top, torch.zeros(())))
    assert set(converted_top) | set(reference) == set(ours)
    # The block layout is the reference's (separate q/k/v, pool_*/norm_*, proj only where the width changes).
    assert {"blocks.0.proj.weight", "blocks.1.attn.pool_q.weight", "blocks.1.attn.norm_q.bias"} <= set(ours)
    assert "blocks.0.attn.pool_q.weight" not in ours and "blocks.1.proj.weight" not in ours
    assert convert_pytorchvideo_state_dict({"blocks.3.attn.q.weight": 1}) == {"blocks.3.attn.q.weight": 1}


def test_tiny_shapes_validation_and_separable_position_embeddings() -> None:
    model = paperzoo.create_model("mvit_tiny")
    assert model.block_grids == [(2, 8, 8), (2, 4, 4), (2, 4, 4), (2, 2, 2)]
    assert model(torch.randn(2, 3, 4, 32, 32)).shape == (2, 10)
    assert model.forward_features(torch.randn(1, 3, 4, 32, 32)).shape == (1, 1 + 8, 64)
    with pytest.raises(ValueError, match="expected clips of shape"):
        model(torch.randn(1, 3, 5, 32, 32))
    with pytest.raises(ValueError, match="pool_q_blocks"):
        MViT(32, 4, depth=4, pool_q_blocks=(0, 2))
    with pytest.raises(ValueError, match="num_heads"):
        MViT(32, 4, embed_dim=10, num_heads=3)
    # The position embeddings are separable: E[t, s] = E_space[s] + E_time[t] (the reference's SEP_POS_EMBED).
    x = torch.zeros(1, 3, 4, 32, 32)
    model.eval()
    with torch.no_grad():
        model.blocks = nn.ModuleList()  # stop after the embedding: tokens + position embeddings, then the LayerNorm
        model.norm = nn.Identity()
        tokens = model.forward_features(x)
        stem_bias = model.patch_embed.bias
        e = model.pos_embed_spatial[0][None] + model.pos_embed_temporal[0][:, None]  # (T, S, D)
        torch.testing.assert_close(tokens[0, 1:], (e + stem_bias).reshape(-1, 16))
        torch.testing.assert_close(tokens[0, 0], model.cls_token[0, 0] + model.pos_embed_class[0, 0])
