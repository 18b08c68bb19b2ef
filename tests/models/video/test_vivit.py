"""ViViT (Arnab et al. 2021): exact parameter counts of the four ViViT-B/16x2 models from the scenic
configs, layer by layer; model 4's factorised dot-product attention and model 3's block against naive
loops with explicit softmax; initialisation from a ViT (§3.4) against the ViT itself (model 2's spatial
encoder, model 3 with its zero temporal attention, central-frame and inflated tubelets, repeated
position embeddings); the FLOP ordering of the models at the paper's clip size."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import paperzoo
from paperzoo.models.video.vivit import FactorisedDotProductAttention, FactorisedSelfAttentionBlock, ViViT
from paperzoo.models.vision.vit import VisionTransformer
from paperzoo.registry import count_params, get_model_entry

D, NT, N = 768, 16, 196  # ViViT-B, 32 frames / tubelet 2, (224/16)² patches


def block(d: int = D) -> int:
    """A ViT encoder block: qkv 3d² + 3d, out d² + d, MLP 8d² + 5d, two LayerNorms 4d."""
    return 12 * d**2 + 13 * d


ATTN, LN = 4 * D**2 + 4 * D, 2 * D
TUBELET = 3 * 2 * 16 * 16 * D + D  # Conv3d 2×16×16 ("embedding" in scenic)
HEAD = D * 400 + 400  # "output_projection"
# The parameters of scenic's ViViT/SpaceTimeViViT for the Kinetics-400 ViViT-B/16x2 configs.
EXPECTED = {
    "vivit_b16x2": TUBELET + D + (1 + NT * N) * D + 12 * block() + LN + HEAD,  # cls, posembed, encoder_norm
    "vivit_b16x2_fe": TUBELET
    + (D + (1 + N) * D + 12 * block() + LN)  # SpatialTransformer: cls, posembed, 12 blocks, encoder_norm
    + (D + (1 + NT) * D + 4 * block() + LN)  # TemporalTransformer: 4 blocks
    + HEAD,
    "vivit_b16x2_fsa": TUBELET + NT * N * D + 12 * (block() + LN + ATTN) + LN + HEAD,  # + time LN and MSA
    "vivit_b16x2_fdp": TUBELET + NT * N * D + 12 * block() + LN + HEAD,  # ViT's blocks, no class token
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_parameter_counts_layer_by_layer(name: str) -> None:
    assert get_model_entry(name).input_size == (3, 32, 224, 224)
    assert count_params(name) == EXPECTED[name]


def test_parameter_counts_in_millions() -> None:
    # Model 4 has exactly model 1's weights minus the class token and its position embedding; model 3
    # adds one MSA + LayerNorm per block; model 2 adds a 4-block temporal encoder.
    m = {k: round(v / 1e6, 1) for k, v in EXPECTED.items()}
    assert m == {"vivit_b16x2": 89.0, "vivit_b16x2_fe": 115.1, "vivit_b16x2_fsa": 117.3, "vivit_b16x2_fdp": 89.0}


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ/√d) v for one head and one sequence: q, k, v (L, d)."""
    return torch.softmax(q @ k.T / math.sqrt(q.shape[-1]), dim=-1) @ v


def naive_mha(x: torch.Tensor, attn) -> torch.Tensor:
    """Multi-head self-attention of one sequence x (L, D) with explicit matrices."""
    dim, h = x.shape[-1], attn.num_heads
    d = dim // h
    q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).split(dim, dim=-1)
    heads = [
        naive_attention(q[:, i * d : (i + 1) * d], k[:, i * d : (i + 1) * d], v[:, i * d : (i + 1) * d])
        for i in range(h)
    ]
    return torch.cat(heads, dim=-1) @ attn.proj.weight.T + attn.proj.bias


@pytest.mark.parametrize("head_split", ["space_time", "time_space"])
def test_factorised_dot_product_attention_matches_naive_loop(head_split: str) -> None:
    torch.manual_seed(0)
    nt, n, dim, h = 3, 5, 16, 4
    attn = FactorisedDotProductAttention(dim, h, grid=(nt, n), head_split=head_split).eval()
    x = torch.randn(2, nt * n, dim)
    d = dim // h
    expected = torch.zeros(2, nt, n, dim)
    for b in range(2):
        q, k, v = (x[b] @ attn.qkv.weight.T + attn.qkv.bias).split(dim, dim=-1)
        q, k, v = (z.reshape(nt, n, dim) for z in (q, k, v))
        for head in range(h):
            s = slice(head * d, (head + 1) * d)
            spatial = (head < h // 2) == (head_split == "space_time")
            if spatial:  # Eq. 7: the tokens of the same temporal index
                for t in range(nt):
                    expected[b, t, :, s] = naive_attention(q[t, :, s], k[t, :, s], v[t, :, s])
            else:  # the tokens at the same spatial location
                for p in range(n):
                    expected[b, :, p, s] = naive_attention(q[:, p, s], k[:, p, s], v[:, p, s])
    expected = expected.reshape(2, nt * n, dim) @ attn.proj.weight.T + attn.proj.bias  # Concat · W_O, Eq. 8
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-5)


def _naive_space(blk, x, nt, n):
    xs = x.reshape(nt, n, -1)
    return torch.stack([xs[t] + naive_mha(blk.norm1(xs[t]), blk.attn) for t in range(nt)]).reshape(nt * n, -1)


def _naive_time(blk, x, nt, n):
    xt = x.reshape(nt, n, -1)
    out = torch.stack([xt[:, p] + naive_mha(blk.temporal_norm(xt[:, p]), blk.temporal_attn) for p in range(n)], 1)
    return out.reshape(nt * n, -1)


def test_factorised_self_attention_block_order() -> None:
    torch.manual_seed(0)
    nt, n, dim = 3, 4, 16
    x = torch.randn(2, nt * n, dim)
    blocks = {
        o: FactorisedSelfAttentionBlock(dim, 2, grid=(nt, n), attention_order=o).eval()
        for o in ("space_time", "time_space")
    }
    blocks["time_space"].load_state_dict(blocks["space_time"].state_dict())
    with torch.no_grad():
        for p in blocks["space_time"].parameters():
            p.add_(torch.randn_like(p) * 0.2)  # LayerNorms away from (1, 0) too
        blocks["time_space"].load_state_dict(blocks["space_time"].state_dict())
    for order, blk in blocks.items():
        expected = []
        for xb in x:
            y = (
                _naive_time(blk, _naive_space(blk, xb, nt, n), nt, n)
                if order == "space_time"
                else _naive_space(blk, _naive_time(blk, xb, nt, n), nt, n)
            )
            expected.append(y + blk.mlp(blk.norm2(y)))  # Eq. 6
        torch.testing.assert_close(blk(x), torch.stack(expected), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(blocks["space_time"](x), blocks["time_space"](x), atol=1e-3)  # order matters


def _vit() -> VisionTransformer:
    torch.manual_seed(0)
    vit = VisionTransformer(16, 8, embed_dim=32, depth=2, num_heads=2, num_classes=5).eval()
    with torch.no_grad():
        vit.head.weight.normal_()
    return vit


def _vivit(**kw) -> ViViT:
    return ViViT(16, 8, num_frames=4, embed_dim=32, depth=2, num_heads=2, temporal_depth=1, num_classes=5, **kw).eval()


def _vit_features(vit: VisionTransformer, img: torch.Tensor) -> torch.Tensor:
    return vit.forward_head(vit.forward_features(img), pre_logits=True)


@pytest.mark.parametrize(
    "embedding, tubelet_init", [("frame", "central_frame"), ("tubelet", "central_frame"), ("tubelet", "inflate")]
)
def test_model2_spatial_encoder_from_vit_is_the_vit(embedding: str, tubelet_init: str) -> None:
    vit = _vit()
    model = _vivit(model=2, embedding=embedding, tubelet_init=tubelet_init)
    missing = model.load_vit_state_dict(vit.state_dict())
    assert {k.split(".")[0] for k in missing} == {
        "temporal_cls_token",
        "temporal_pos_embed",
        "temporal_blocks",
        "temporal_norm",
        "head",
    }
    captured = []
    model.norm.register_forward_hook(lambda mod, inp, out: captured.append(out[:, 0]))
    img = torch.randn(2, 3, 16, 16)
    clip = img[:, :, None].expand(-1, -1, 4, -1, -1).contiguous()  # identical frames
    with torch.no_grad():
        model(clip)
        expected = _vit_features(vit, img)
    nt = model.grid[0]
    assert captured[0].shape == (2 * nt, 32)
    torch.testing.assert_close(captured[0], expected.repeat_interleave(nt, dim=0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("tubelet_init", ["central_frame", "inflate"])
def test_model3_from_vit_is_the_vit_per_frame(tubelet_init: str) -> None:
    # Zero temporal MSA (§3.4): Eq. 5 is the identity, so model 3 is the ViT's blocks on each temporal
    # index's tokens (no class token), mean-pooled; central frame / inflation pick which frames it sees.
    vit = _vit()
    model = _vivit(model=3, tubelet_init=tubelet_init)
    model.load_vit_state_dict(vit.state_dict())
    assert all(int(torch.count_nonzero(b.temporal_attn.proj.weight)) == 0 for b in model.blocks)
    clip = torch.randn(2, 3, 4, 16, 16)
    # Tubelets of 2 frames: the central frame is the second of each pair; inflation averages the pair.
    frames = clip[:, :, 1::2] if tubelet_init == "central_frame" else (clip[:, :, 0::2] + clip[:, :, 1::2]) / 2
    with torch.no_grad():
        tokens = [vit.norm(vit.blocks(vit.patch_embed(frames[:, :, t]) + vit.pos_embed[:, 1:])) for t in range(2)]
        expected = torch.cat(tokens, dim=1).mean(dim=1)
        torch.testing.assert_close(
            model.forward_head(model.forward_features(clip), pre_logits=True), expected, rtol=1e-5, atol=1e-5
        )
    model = _vivit(model=3, tubelet_init=tubelet_init)
    model.load_vit_state_dict(vit.state_dict(), temporal_attn_init="copy")  # the reference's default
    with torch.no_grad():
        assert not torch.allclose(
            model.forward_head(model.forward_features(clip), pre_logits=True), expected, atol=1e-4
        )


def test_model1_positional_embeddings_repeated_over_time() -> None:
    vit = _vit()
    model = _vivit(model=1)
    model.load_vit_state_dict(vit.state_dict())
    pos = model.pos_embed.detach()
    nt, n = model.grid
    torch.testing.assert_close(pos[:, :1], vit.pos_embed[:, :1].detach())
    torch.testing.assert_close(pos[0, 1:].reshape(nt, n, -1), vit.pos_embed[0, 1:].detach().expand(nt, n, -1))
    w = model.patch_embed.proj.weight.detach()  # (D, C, 2, P, P): central-frame kernel
    assert int(torch.count_nonzero(w[:, :, 0])) == 0
    torch.testing.assert_close(w[:, :, 1], vit.patch_embed.proj.weight.detach())


def test_random_tubelet_initialisers() -> None:
    torch.manual_seed(0)
    central = _vivit(model=1).patch_embed.proj.weight.detach()
    inflated = _vivit(model=1, tubelet_init="inflate").patch_embed.proj.weight.detach()
    assert int(torch.count_nonzero(central[:, :, 0])) == 0 and int(torch.count_nonzero(central[:, :, 1])) > 0
    torch.testing.assert_close(inflated[:, :, 0], inflated[:, :, 1])


def gmacs(name: str) -> float:
    """Multiply-adds per clip the way `paperzoo info` counts them (FlopCounterMode on meta, batch 1)."""
    with torch.device("meta"):
        model = paperzoo.create_model(name).eval()
        x = torch.randn(1, *get_model_entry(name).input_size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / 2e9


def test_factorised_models_cost_fewer_flops_than_model1() -> None:
    m1, m2, m3, m4 = (gmacs(n) for n in ("vivit_b16x2", "vivit_b16x2_fe", "vivit_b16x2_fsa", "vivit_b16x2_fdp"))
    assert m2 < 0.7 * m1  # §3.3: model 2 attends over n_h·n_w and n_t tokens instead of n_t·n_h·n_w
    assert m3 < m1 and m4 < m1
    assert m4 < m3  # same attention pattern as model 3 without the second MSA's projections


def test_input_validation() -> None:
    m = paperzoo.create_model("vivit_tiny")
    with pytest.raises(ValueError, match="expected clips of shape"):
        m(torch.randn(1, 3, 6, 32, 32))
    with pytest.raises(ValueError, match="model must be"):
        ViViT(32, 8, model=5)
    with pytest.raises(ValueError, match="num_heads must be even"):
        ViViT(32, 8, num_frames=4, model=4, embed_dim=48, num_heads=3)
