"""Tests for the shared transformer blocks in paperzoo.nn, each against an independent reference: a naive
softmax(QKᵀ/√d)V, torch.nn.MultiheadAttention and a block rebuilt from plain nn layers with copied
weights, an explicit patchify-and-matmul, and closed-form properties of bicubic resampling."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from paperzoo.nn import (
    Attention,
    DropPath,
    Mlp,
    PatchEmbed,
    TransformerBlock,
    TubeletEmbed,
    drop_path,
    drop_path_rates,
    resample_abs_pos_embed,
)

DTYPE = torch.float64


def naive_attention(attn: Attention, x: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
    """Vaswani et al. 2017, Eq. 1 per head, written out with explicit loops over heads.

    ``allowed`` is a (B or 1, N, N) boolean matrix, True where query i may attend to key j.
    """
    b, n, d_model = x.shape
    h = attn.num_heads
    d = d_model // h
    w, bias = attn.qkv.weight, attn.qkv.bias
    qkv = x @ w.T + (bias if bias is not None else 0)
    q_all, k_all, v_all = qkv[..., :d_model], qkv[..., d_model : 2 * d_model], qkv[..., 2 * d_model :]
    heads = []
    for i in range(h):
        q, k, v = (t[..., i * d : (i + 1) * d] for t in (q_all, k_all, v_all))
        logits = q @ k.transpose(-1, -2) / math.sqrt(d)  # (B, N, N)
        if allowed is not None:
            logits = logits.masked_fill(~allowed, float("-inf"))
        heads.append(torch.softmax(logits, dim=-1) @ v)
    out = torch.cat(heads, dim=-1)
    return out @ attn.proj.weight.T + attn.proj.bias


def _attention(dim: int = 24, heads: int = 4, **kw) -> Attention:
    torch.manual_seed(0)
    m = Attention(dim, heads, **kw).to(DTYPE).eval()
    with torch.no_grad():
        for p in m.parameters():  # non-zero biases so that a dropped bias would show
            p.normal_(0, 0.3)
    return m


@pytest.mark.parametrize("qkv_bias", [True, False])
def test_attention_matches_naive_softmax(qkv_bias: bool) -> None:
    attn = _attention(qkv_bias=qkv_bias)
    x = torch.randn(3, 7, 24, dtype=DTYPE)
    torch.testing.assert_close(attn(x), naive_attention(attn, x))


def test_attention_causal_matches_naive_lower_triangular_mask() -> None:
    attn = _attention()
    x = torch.randn(2, 6, 24, dtype=DTYPE)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()[None]
    ref = naive_attention(attn, x, causal)
    torch.testing.assert_close(attn(x, is_causal=True), ref)
    # The same mask given explicitly (True = attend, SDPA's convention).
    torch.testing.assert_close(attn(x, attn_mask=causal[:, None]), ref)
    # Causality itself: the first token's output ignores every later token.
    x2 = x.clone()
    x2[:, 1:] += 5.0
    torch.testing.assert_close(attn(x2, is_causal=True)[:, 0], attn(x, is_causal=True)[:, 0])


def test_attention_boolean_and_additive_masks() -> None:
    attn = _attention()
    torch.manual_seed(1)
    b, n = 3, 5
    allowed = torch.rand(b, n, n) > 0.4
    allowed[:, torch.arange(n), torch.arange(n)] = True  # every query keeps at least itself
    x = torch.randn(b, n, 24, dtype=DTYPE)
    ref = naive_attention(attn, x, allowed)
    torch.testing.assert_close(attn(x, attn_mask=allowed[:, None]), ref)  # (B, 1, N, N) broadcast over heads
    additive = torch.zeros(b, 1, n, n, dtype=DTYPE).masked_fill(~allowed[:, None], float("-inf"))
    torch.testing.assert_close(attn(x, attn_mask=additive), ref)


def test_attention_matches_torch_multihead_attention() -> None:
    attn = _attention(dim=32, heads=8)
    mha = nn.MultiheadAttention(32, 8, batch_first=True).to(DTYPE).eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.qkv.weight)
        mha.in_proj_bias.copy_(attn.qkv.bias)
        mha.out_proj.weight.copy_(attn.proj.weight)
        mha.out_proj.bias.copy_(attn.proj.bias)
    x = torch.randn(2, 9, 32, dtype=DTYPE)
    torch.testing.assert_close(attn(x), mha(x, x, x, need_weights=False)[0])
    causal = torch.ones(9, 9, dtype=torch.bool).tril()
    # nn.MultiheadAttention's boolean mask marks the pairs to *exclude*.
    torch.testing.assert_close(attn(x, is_causal=True), mha(x, x, x, attn_mask=~causal, need_weights=False)[0])


def test_attention_dropout_only_in_training() -> None:
    attn = _attention(attn_drop=0.5, proj_drop=0.5)
    x = torch.randn(2, 5, 24, dtype=DTYPE)
    torch.testing.assert_close(attn(x), naive_attention(attn, x))  # eval: no dropout
    attn.train()
    torch.manual_seed(0)
    assert not torch.allclose(attn(x), naive_attention(attn, x))


def test_attention_validates() -> None:
    with pytest.raises(ValueError, match="divide dim"):
        Attention(10, 3)
    with pytest.raises(ValueError, match="attn_drop"):
        Attention(8, 2, attn_drop=1.0)
    attn = Attention(8, 2)
    with pytest.raises(ValueError, match="expected"):
        attn(torch.randn(2, 3, 9))
    with pytest.raises(ValueError, match="expected"):
        attn(torch.randn(3, 8))
    with pytest.raises(ValueError, match="not both"):
        attn(torch.randn(1, 3, 8), attn_mask=torch.ones(3, 3, dtype=torch.bool), is_causal=True)


def test_mlp_matches_plain_layers() -> None:
    torch.manual_seed(0)
    mlp = Mlp(6, 20, 5, act_layer=nn.Tanh).to(DTYPE)
    x = torch.randn(4, 3, 6, dtype=DTYPE)
    ref = torch.tanh(x @ mlp.fc1.weight.T + mlp.fc1.bias) @ mlp.fc2.weight.T + mlp.fc2.bias
    torch.testing.assert_close(mlp(x), ref)
    assert Mlp(6).fc1.out_features == 6 and Mlp(6).fc2.out_features == 6
    assert isinstance(Mlp(6).act, nn.GELU)
    with pytest.raises(ValueError, match="drop"):
        Mlp(6, drop=-0.1)


class PlainPreNormBlock(nn.Module):
    """A ViT encoder block (Eq. 2-3) from stock torch layers only."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=1e-6)
        self.mha = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln1(x)
        x = x + self.mha(y, y, y, need_weights=False)[0]
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


def test_transformer_block_matches_plain_pre_norm_block() -> None:
    torch.manual_seed(0)
    block = TransformerBlock(32, 4, mlp_ratio=3.0).to(DTYPE).eval()
    with torch.no_grad():
        for p in block.parameters():  # LayerNorm scales/shifts too, so that swapping norm1/norm2 would show
            p.normal_(0, 0.3)
    ref = PlainPreNormBlock(32, 4, 96).to(DTYPE).eval()
    with torch.no_grad():
        ref.ln1.load_state_dict(block.norm1.state_dict())
        ref.ln2.load_state_dict(block.norm2.state_dict())
        ref.mha.in_proj_weight.copy_(block.attn.qkv.weight)
        ref.mha.in_proj_bias.copy_(block.attn.qkv.bias)
        ref.mha.out_proj.load_state_dict(block.attn.proj.state_dict())
        ref.fc1.load_state_dict(block.mlp.fc1.state_dict())
        ref.fc2.load_state_dict(block.mlp.fc2.state_dict())
    x = torch.randn(2, 11, 32, dtype=DTYPE)
    torch.testing.assert_close(block(x), ref(x))
    assert block.norm1.eps == 1e-6  # ViT's LayerNorm


def test_transformer_block_parameter_count_by_hand() -> None:
    # Per block: two LayerNorms (4D), qkv (3D² + 3D), proj (D² + D), fc1 (4D² + 4D), fc2 (4D² + D) = 12D² + 13D.
    for dim, heads in [(192, 3), (768, 12), (1024, 16)]:
        with torch.device("meta"):
            block = TransformerBlock(dim, heads)
        assert sum(p.numel() for p in block.parameters()) == 12 * dim**2 + 13 * dim
    with torch.device("meta"):
        no_bias = TransformerBlock(64, 4, qkv_bias=False)
    assert sum(p.numel() for p in no_bias.parameters()) == 12 * 64**2 + 13 * 64 - 3 * 64


def test_transformer_block_drop_path_and_masks() -> None:
    block = TransformerBlock(16, 2, drop_path=0.2)
    assert isinstance(block.drop_path1, DropPath) and block.drop_path1.drop_prob == 0.2
    assert isinstance(TransformerBlock(16, 2).drop_path1, nn.Identity)
    block.eval()
    x = torch.randn(2, 4, 16)
    x2 = x.clone()
    x2[:, -1] += 3.0  # only the last token changes: causal outputs of earlier tokens must not
    torch.testing.assert_close(block(x2, is_causal=True)[:, :-1], block(x, is_causal=True)[:, :-1])


def test_drop_path_identity_in_eval_and_when_zero() -> None:
    x = torch.randn(8, 3, 4)
    m = DropPath(0.5).eval()
    assert torch.equal(m(x), x)
    assert torch.equal(drop_path(x, 0.0, training=True), x)
    assert torch.equal(drop_path(x, 0.7, training=False), x)


def test_drop_path_per_sample_and_unbiased_in_training() -> None:
    torch.manual_seed(0)
    p, n = 0.3, 20_000
    x = torch.ones(n, 2, 3)
    out = DropPath(p).train()(x)
    per_sample = out.reshape(n, -1)
    # Each sample's branch is either wholly dropped or wholly kept and scaled by 1/keep_prob.
    assert torch.equal(per_sample.min(1).values, per_sample.max(1).values)
    values = per_sample[:, 0].unique()
    torch.testing.assert_close(values, torch.tensor([0.0, 1 / (1 - p)]))
    dropped = (per_sample[:, 0] == 0).double().mean().item()
    sd = math.sqrt(p * (1 - p) / n)  # binomial standard error, ~0.0032
    assert abs(dropped - p) < 5 * sd
    assert abs(out.mean().item() - 1.0) < 5 * sd / (1 - p)  # E[drop_path(x)] = x
    unscaled = drop_path(x, p, training=True, scale_by_keep=False)
    assert set(unscaled.unique().tolist()) == {0.0, 1.0}


def test_drop_path_gradient_and_validation() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 5, requires_grad=True)
    out = drop_path(x, 0.5, training=True)
    out.sum().backward()
    kept = out.detach().abs().sum(1) > 0
    torch.testing.assert_close(x.grad[kept], torch.full_like(x.grad[kept], 2.0))
    assert torch.equal(x.grad[~kept], torch.zeros_like(x.grad[~kept]))
    with pytest.raises(ValueError, match="drop_prob"):
        DropPath(1.0)
    with pytest.raises(ValueError, match="drop_prob"):
        drop_path(x, -0.1, training=True)


def test_drop_path_rates_linear_rule() -> None:
    assert drop_path_rates(0.1, 5) == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1])
    assert drop_path_rates(0.3, 1) == [0.0]
    with pytest.raises(ValueError, match="depth"):
        drop_path_rates(0.1, 0)


def naive_patchify(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """ViT Eq. 1: flatten each P×P patch (channel-major, as the conv kernel is laid out) and multiply by E."""
    ph, pw = conv.kernel_size
    patches = F.unfold(x, kernel_size=(ph, pw), stride=(ph, pw))  # (B, C·Ph·Pw, N), raster order of patches
    return patches.transpose(1, 2) @ conv.weight.reshape(conv.out_channels, -1).T + conv.bias


@pytest.mark.parametrize("patch", [4, (2, 4)])
def test_patch_embed_equals_unfold_and_matmul(patch: int | tuple[int, int]) -> None:
    torch.manual_seed(0)
    pe = PatchEmbed((8, 12), patch, in_chans=3, embed_dim=10).to(DTYPE)
    x = torch.randn(2, 3, 8, 12, dtype=DTYPE)
    out = pe(x)
    ph, pw = (patch, patch) if isinstance(patch, int) else patch
    assert pe.grid_size == (8 // ph, 12 // pw) and pe.num_patches == out.shape[1]
    torch.testing.assert_close(out, naive_patchify(x, pe.proj))
    # Token k is the patch at row k // (W/P), column k % (W/P): perturb one patch, only its token moves.
    x2 = x.clone()
    x2[:, :, ph : 2 * ph, 2 * pw : 3 * pw] += 1.0
    changed = (pe(x2) - out).abs().sum((0, 2)) > 0
    assert changed.nonzero().flatten().tolist() == [1 * (12 // pw) + 2]


def test_patch_embed_validates_input() -> None:
    pe = PatchEmbed(16, 4, in_chans=3, embed_dim=8)
    with pytest.raises(ValueError, match="expected images of size 16x16"):
        pe(torch.randn(1, 3, 20, 20))
    with pytest.raises(ValueError, match="expected images of shape"):
        pe(torch.randn(1, 4, 16, 16))
    with pytest.raises(ValueError, match="expected images of shape"):
        pe(torch.randn(3, 16, 16))
    free = PatchEmbed(None, 4, in_chans=3, embed_dim=8, flatten=False)
    assert free(torch.randn(1, 3, 8, 20)).shape == (1, 8, 2, 5)
    with pytest.raises(ValueError, match="expected H and W divisible"):
        free(torch.randn(1, 3, 8, 18))
    with pytest.raises(ValueError, match="img_size must be divisible"):
        PatchEmbed(30, 4)
    pe.set_input_size(24)
    assert pe(torch.randn(1, 3, 24, 24)).shape == (1, 36, 8) and pe.grid_size == (6, 6)


def test_tubelet_embed_equals_explicit_tubelet_matmul() -> None:
    torch.manual_seed(0)
    te = TubeletEmbed(8, 4, num_frames=6, tubelet_size=2, in_chans=3, embed_dim=10).to(DTYPE)
    x = torch.randn(2, 3, 6, 8, 8, dtype=DTYPE)
    tubes = rearrange(x, "b c (t pt) (h ph) (w pw) -> b (t h w) (c pt ph pw)", pt=2, ph=4, pw=4)
    ref = tubes @ te.proj.weight.reshape(10, -1).T + te.proj.bias
    torch.testing.assert_close(te(x), ref)
    assert te.grid_size == (3, 2, 2) and te.num_patches == 12
    with pytest.raises(ValueError, match="expected 6 frames"):
        te(torch.randn(1, 3, 4, 8, 8))
    with pytest.raises(ValueError, match="expected video of shape"):
        te(torch.randn(1, 3, 8, 8))
    free = TubeletEmbed(None, 4, tubelet_size=2, in_chans=3, embed_dim=10, flatten=False)
    assert free(torch.randn(1, 3, 4, 8, 12)).shape == (1, 10, 2, 2, 3)
    with pytest.raises(ValueError, match="expected T, H, W divisible"):
        free(torch.randn(1, 3, 5, 8, 12))
    with pytest.raises(ValueError, match="num_frames"):
        TubeletEmbed(8, 4, num_frames=5, tubelet_size=2)


def _grid_pos_embed(h: int, w: int, prefix: int = 1, extra: int = 2) -> torch.Tensor:
    """Channel 0 = row index, channel 1 = column index, then random channels; prefix rows random."""
    torch.manual_seed(0)
    rows, cols = torch.meshgrid(torch.arange(h, dtype=DTYPE), torch.arange(w, dtype=DTYPE), indexing="ij")
    grid = torch.stack([rows, cols, *torch.randn(extra, h, w, dtype=DTYPE)], dim=-1).reshape(1, h * w, 2 + extra)
    return torch.cat([torch.randn(1, prefix, 2 + extra, dtype=DTYPE), grid], dim=1)


def test_resample_same_size_is_identity_and_keeps_prefix() -> None:
    pos = _grid_pos_embed(4, 4, prefix=2)
    assert resample_abs_pos_embed(pos, 4, num_prefix_tokens=2) is pos
    out = resample_abs_pos_embed(pos, (6, 10), num_prefix_tokens=2)
    assert out.shape == (1, 2 + 60, 4) and out.dtype == pos.dtype
    assert torch.equal(out[:, :2], pos[:, :2])  # class-token embeddings are not interpolated


def test_resample_reproduces_linear_grid_in_interior_and_constants_everywhere() -> None:
    # Cubic convolution reproduces linear functions wherever all 4 taps are inside the grid, and constants
    # everywhere. With align_corners=False, 8 → 16 samples the old grid at (o + 0.5) / 2 - 0.5.
    pos = _grid_pos_embed(8, 8)
    out = resample_abs_pos_embed(pos, 16)[0, 1:].reshape(16, 16, -1)
    coord = (torch.arange(16, dtype=DTYPE) + 0.5) / 2 - 0.5
    inner = slice(3, 13)
    torch.testing.assert_close(out[inner, inner, 0], coord[inner, None].expand(10, 10))  # rows vary along h
    torch.testing.assert_close(out[inner, inner, 1], coord[None, inner].expand(10, 10))  # columns along w
    const = torch.full((1, 1 + 6 * 9, 3), 0.7, dtype=DTYPE)
    torch.testing.assert_close(resample_abs_pos_embed(const, (11, 5), (6, 9)), torch.full((1, 56, 3), 0.7, dtype=DTYPE))


def test_resample_non_square_layout_and_errors() -> None:
    pos = _grid_pos_embed(2, 3, extra=0)
    out = resample_abs_pos_embed(pos, (4, 6), (2, 3), interpolation="nearest")[0, 1:].reshape(4, 6, 2)
    # Nearest-neighbour upsampling by 2 repeats each embedding in a 2×2 block, row-major.
    torch.testing.assert_close(out[..., 0], torch.arange(2, dtype=DTYPE).repeat_interleave(2)[:, None].expand(4, 6))
    torch.testing.assert_close(out[..., 1], torch.arange(3, dtype=DTYPE).repeat_interleave(2)[None].expand(4, 6))
    with pytest.raises(ValueError, match="square grid"):
        resample_abs_pos_embed(pos, 4)
    with pytest.raises(ValueError, match="expected 3x3"):
        resample_abs_pos_embed(pos, 4, 3)
    half = resample_abs_pos_embed(_grid_pos_embed(4, 4).half(), 8)
    assert half.dtype == torch.float16
