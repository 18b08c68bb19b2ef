"""TimeSformer (Bertasius et al. 2021): exact parameter counts derived from the reference's layers, the
divided space-time block against a naive per-frame / per-location loop with explicit softmax attention,
initialisation from a ViT reproducing the ViT on a clip of identical frames, the space-only baseline
against the ViT run frame by frame, and the FLOP comparison of divided vs joint attention."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import paperzoo
from paperzoo.models.video.timesformer import DividedSpaceTimeBlock, TimeSformer
from paperzoo.models.vision.vit import VisionTransformer
from paperzoo.registry import count_params, get_model_entry

D = 768


def block(d: int = D) -> int:
    """A ViT block: qkv 3d² + 3d, proj d² + d, MLP 8d² + 5d, two LayerNorms 4d."""
    return 12 * d**2 + 13 * d


def reference_count(img: int, frames: int, attention: str = "divided_space_time", classes: int = 400) -> int:
    """The parameters of facebookresearch/TimeSformer's ``VisionTransformer`` (timesformer/models/vit.py),
    layer by layer: patch embedding, cls, pos_embed (N + 1), time_embed (T), 12 blocks (+ temporal_norm1,
    temporal_attn, temporal_fc in divided blocks), final LayerNorm, head."""
    n = (img // 16) ** 2
    total = (3 * 16 * 16 * D + D) + D + (n + 1) * D + 12 * block() + 2 * D + (D * classes + classes)
    if attention != "space_only":
        total += frames * D
    if attention == "divided_space_time":
        total += 12 * (2 * D + (4 * D**2 + 4 * D) + (D**2 + D))
    return total


@pytest.mark.parametrize(
    "name, img, frames", [("timesformer_base", 224, 8), ("timesformer_hr", 448, 16), ("timesformer_l", 224, 96)]
)
def test_parameter_count_matches_reference(name: str, img: int, frames: int) -> None:
    entry = get_model_entry(name)
    assert entry.input_size == (3, frames, img, img)
    assert count_params(name) == entry.reference_params == reference_count(img, frames)
    assert reference_count(224, 8) == 121_566_352  # the paper's Table 1 rounds it to 121.4M


def test_joint_and_space_only_counts() -> None:
    with torch.device("meta"):
        joint = paperzoo.create_model("timesformer_base", attention_type="joint_space_time")
        space = paperzoo.create_model("timesformer_base", attention_type="space_only")
    assert sum(p.numel() for p in joint.parameters()) == reference_count(224, 8, "joint_space_time")
    assert sum(p.numel() for p in space.parameters()) == reference_count(224, 8, "space_only")
    # Table 1: space-only and joint have ViT-B's 85.9M parameters (with a 400-way head: 86.1M).
    assert round(reference_count(224, 8, "space_only") / 1e6, 1) == 86.1


def naive_attention(x: torch.Tensor, attn) -> torch.Tensor:
    """softmax(QKᵀ/√d)V per head with explicit matrices, for one sequence x (L, D)."""
    dim, h = x.shape[-1], attn.num_heads
    d = dim // h
    q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).split(dim, dim=-1)
    heads = []
    for i in range(h):
        s = slice(i * d, (i + 1) * d)
        w = torch.softmax(q[:, s] @ k[:, s].T / math.sqrt(d), dim=-1)
        heads.append(w @ v[:, s])
    return torch.cat(heads, dim=-1) @ attn.proj.weight.T + attn.proj.bias


def naive_divided_block(blk: DividedSpaceTimeBlock, x: torch.Tensor, t: int) -> torch.Tensor:
    """The reference's divided block as loops: over patch locations (time attention), then over frames."""
    out = []
    for xb in x:  # one clip (1 + T·N, D)
        cls, patches = xb[0], xb[1:].reshape(t, -1, xb.shape[-1])  # (T, N, D), time-major
        res_t = torch.stack(
            [naive_attention(blk.temporal_norm1(patches[:, n]), blk.temporal_attn) for n in range(patches.shape[1])],
            dim=1,
        )
        xt = patches + blk.temporal_fc(res_t)
        cls_updates, new_patches = [], []
        for f in range(t):
            res = naive_attention(blk.norm1(torch.cat([cls[None], xt[f]])), blk.attn)
            cls_updates.append(res[0])
            new_patches.append(xt[f] + res[1:])
        y = torch.cat([(cls + torch.stack(cls_updates).mean(0))[None], torch.cat(new_patches)])
        out.append(y + blk.mlp(blk.norm2(y)))
    return torch.stack(out)


def test_divided_block_matches_naive_loops() -> None:
    torch.manual_seed(0)
    t, n, d = 3, 4, 16
    blk = DividedSpaceTimeBlock(d, 2, num_frames=t).eval()
    with torch.no_grad():
        for p in blk.parameters():  # every weight non-trivial, temporal_fc included
            p.normal_(0, 0.3)
    x = torch.randn(2, 1 + t * n, d)
    torch.testing.assert_close(blk(x), naive_divided_block(blk, x, t), rtol=1e-5, atol=1e-5)
    # Each location attends over time only: changing one patch of frame 0 leaves the other locations of
    # frame 0 untouched by the temporal step but reaches them through spatial attention.
    y = x.clone()
    y[:, 1 + 0] += 1.0
    assert not torch.allclose(blk(x)[:, 1 + n :], blk(y)[:, 1 + n :])


def _vit_and_timesformer(attention_type: str) -> tuple[VisionTransformer, TimeSformer]:
    torch.manual_seed(0)
    kw = dict(embed_dim=32, depth=2, num_heads=2, num_classes=5)
    vit = VisionTransformer(16, 8, **kw).eval()
    with torch.no_grad():
        vit.head.weight.normal_()
        vit.head.bias.normal_()
    tsf = TimeSformer(16, 8, num_frames=3, attention_type=attention_type, drop_path_rate=0.0, **kw).eval()
    missing = tsf.load_vit_state_dict(vit.state_dict())
    assert "time_embed" in missing or attention_type == "space_only"
    tsf.head.load_state_dict(vit.head.state_dict())
    return vit, tsf


def test_init_from_vit_reproduces_vit_on_identical_frames() -> None:
    vit, tsf = _vit_and_timesformer("divided_space_time")
    assert all(int(torch.count_nonzero(b.temporal_fc.weight)) == 0 for b in tsf.blocks)  # zero temporal_fc, as ref.
    torch.testing.assert_close(tsf.blocks[1].temporal_attn.qkv.weight, vit.blocks[1].attn.qkv.weight)
    img = torch.randn(2, 3, 16, 16)
    clip = img[:, :, None].expand(-1, -1, 3, -1, -1).contiguous()
    with torch.no_grad():
        torch.testing.assert_close(tsf(clip), vit(img), rtol=1e-5, atol=1e-5)
        # Once the temporal branch is non-zero the clip model is no longer the image model.
        for b in tsf.blocks:
            b.temporal_fc.weight.normal_(0, 0.5)
        assert not torch.allclose(tsf(clip), vit(img), atol=1e-3)


def test_space_only_is_vit_per_frame_averaged() -> None:
    vit, tsf = _vit_and_timesformer("space_only")
    clip = torch.randn(2, 3, 3, 16, 16)
    with torch.no_grad():
        tokens = []
        for f in range(3):  # the ViT's blocks on each frame, then the mean over frames before the LayerNorm
            z = vit.patch_embed(clip[:, :, f])
            z = torch.cat([vit.cls_token.expand(2, -1, -1), z], dim=1) + vit.pos_embed
            tokens.append(vit.blocks(z))
        expected = vit.head(vit.norm(torch.stack(tokens).mean(0))[:, 0])
        torch.testing.assert_close(tsf(clip), expected, rtol=1e-5, atol=1e-5)


def test_joint_attention_uses_all_tokens_and_time_embedding() -> None:
    _, tsf = _vit_and_timesformer("joint_space_time")
    clip = torch.randn(1, 3, 3, 16, 16)
    with torch.no_grad():
        a = tsf(clip)
        tsf.time_embed.normal_()
        b = tsf(clip)
    assert not torch.allclose(a, b, atol=1e-4)  # the time embedding reaches the output


def gmacs(name: str, **kw) -> float:
    """Multiply-adds per clip the way `paperzoo info` counts them (FlopCounterMode on meta, batch 1)."""
    entry = get_model_entry(name)
    with torch.device("meta"):
        model = paperzoo.create_model(name, **kw).eval()
        x = torch.randn(1, *entry.input_size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / 2e9


def test_divided_attention_costs_less_than_joint() -> None:
    # At 16 × 448² (TimeSformer-HR's clip, 12,544 patches) joint attention is quadratic in T·N, divided
    # attention in N and T separately (§3, Fig. 3).
    divided, joint = gmacs("timesformer_hr"), gmacs("timesformer_hr", attention_type="joint_space_time")
    space = gmacs("timesformer_hr", attention_type="space_only")
    assert space < divided < 0.6 * joint
    # At 8 × 224² the two cost about the same: the extra temporal projections of the divided block make
    # up for its cheaper dot products.
    base_div, base_joint = gmacs("timesformer_base"), gmacs("timesformer_base", attention_type="joint_space_time")
    assert 0.9 < base_div / base_joint < 1.2


@pytest.mark.parametrize(
    "name, tflops", [("timesformer_base", 0.59), ("timesformer_hr", 5.11), ("timesformer_l", 7.14)]
)
def test_macs_match_the_paper(name: str, tflops: float) -> None:
    # Table 5 of the paper reports inference "TFLOPs" of 1 clip × 3 spatial crops; they are multiply-adds.
    assert 3 * gmacs(name) / 1e3 == pytest.approx(tflops, rel=0.02)


def test_input_validation() -> None:
    m = paperzoo.create_model("timesformer_tiny")
    with pytest.raises(ValueError, match="expected clips of shape"):
        m(torch.randn(1, 3, 5, 32, 32))
    with pytest.raises(ValueError, match="attention_type"):
        TimeSformer(32, 8, attention_type="axial")


def test_temporal_fc_starts_at_zero_unless_asked_otherwise() -> None:
    ref = paperzoo.create_model("timesformer_tiny")
    scratch = paperzoo.create_model("timesformer_tiny", zero_temporal_fc=False)
    for a, b in zip(ref.blocks, scratch.blocks):
        assert not a.temporal_fc.weight.any() and not a.temporal_fc.bias.any()
        assert (
            0.01 < float(b.temporal_fc.weight.detach().std()) < 0.03
        )  # truncated normal (0.02), as every other Linear
    x = torch.randn(1, 3, 4, 32, 32)
    grads = torch.autograd.grad(scratch(x).sum(), scratch.blocks[0].temporal_attn.qkv.weight)
    assert grads[0].abs().sum() > 0  # temporal attention learns from the first step
