"""VTN (Neimark et al. 2021): the parameter count layer by layer against the reference's modules, the
spatial backbone against the ViT run frame by frame, the temporal layer against PyTorch's post-norm
``nn.TransformerEncoderLayer`` with copied weights, and the sliding-window (Longformer) attention
against a naive per-query loop over the allowed keys."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import paperzoo
from paperzoo.models.video.vtn import VTN, PostNormLayer, sliding_window_mask
from paperzoo.registry import count_params, get_model_entry

D = 768


def test_parameter_count_layer_by_layer() -> None:
    block = 12 * D**2 + 13 * D  # qkv, proj, FFN 768-3072-768, two LayerNorms
    vit_b16_no_head = (3 * 16 * 16 * D + D) + D + 197 * D + 12 * block + 2 * D  # timm vit_base_patch16_224, 0 classes
    assert vit_b16_no_head == 85_798_656
    expected = (
        vit_b16_no_head
        + D  # cls_token
        + 288 * D  # position_embeddings (MAX_POSITION_EMBEDDINGS 288)
        + 2 * D  # embeddings LayerNorm
        + 3 * block  # 3 Longformer layers without the *_global projections
        + 2 * D  # mlp_head LayerNorm
        + (D * D + D)  # Linear(HIDDEN_DIM, MLP_DIM = 768)
        + (D * 400 + 400)  # Linear(MLP_DIM, 400)
    )
    assert get_model_entry("vtn_vit_b").input_size == (3, 16, 224, 224)
    assert count_params("vtn_vit_b") == expected == 108_185_488


def test_frame_embeddings_are_the_vit_on_each_frame() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("vtn_tiny").eval()
    clip = torch.randn(2, 3, 5, 32, 32)
    with torch.no_grad():
        f = model.frame_embeddings(clip)
        vit = model.backbone
        for t in range(5):
            expected = vit(clip[:, :, t])  # num_classes=0: the normalised class token
            torch.testing.assert_close(f[:, t], expected, rtol=1e-5, atol=1e-5)


def _torch_layer(layer: PostNormLayer, dim: int, heads: int, hidden: int) -> nn.TransformerEncoderLayer:
    ref = nn.TransformerEncoderLayer(
        dim, heads, hidden, dropout=0.0, activation="gelu", layer_norm_eps=1e-12, batch_first=True, norm_first=False
    ).eval()
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(layer.attn.qkv.weight)
        ref.self_attn.in_proj_bias.copy_(layer.attn.qkv.bias)
        ref.self_attn.out_proj.load_state_dict(layer.attn.proj.state_dict())
        ref.linear1.load_state_dict(layer.mlp.fc1.state_dict())
        ref.linear2.load_state_dict(layer.mlp.fc2.state_dict())
        ref.norm1.load_state_dict(layer.norm1.state_dict())
        ref.norm2.load_state_dict(layer.norm2.state_dict())
    return ref


def test_temporal_layer_matches_torch_post_norm_encoder_layer() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("vtn_tiny", attention_window=4).eval()
    layer = model.temporal_blocks[0]
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ref = _torch_layer(layer, 64, 2, 128)
    z = torch.randn(2, 9, 64)
    mask = sliding_window_mask(9, 4)
    with torch.no_grad():
        torch.testing.assert_close(layer(z), ref(z), rtol=1e-5, atol=1e-5)  # full attention
        # nn.TransformerEncoderLayer's boolean mask marks the pairs that may NOT attend.
        torch.testing.assert_close(layer(z, attn_mask=mask), ref(z, src_mask=~mask), rtol=1e-5, atol=1e-5)


def test_sliding_window_attention_matches_naive_loop() -> None:
    torch.manual_seed(0)
    seq, window, dim, heads = 10, 4, 16, 2
    layer = PostNormLayer(dim, heads, mlp_hidden=32).eval()
    x = torch.randn(seq, dim)
    d = dim // heads
    q, k, v = (x @ layer.attn.qkv.weight.T + layer.attn.qkv.bias).split(dim, dim=-1)
    out = torch.zeros(seq, dim)
    for i in range(seq):
        # Longformer: window w covers w/2 tokens each side; token 0 (CLS) is global in both directions.
        keys = [j for j in range(seq) if abs(i - j) <= window // 2 or i == 0 or j == 0]
        for h in range(heads):
            s = slice(h * d, (h + 1) * d)
            w = torch.softmax(q[i, s] @ k[keys, s].T / math.sqrt(d), dim=-1)
            out[i, s] = w @ v[keys, s]
    attn = out @ layer.attn.proj.weight.T + layer.attn.proj.bias
    y = layer.norm1(x + attn)
    expected = layer.norm2(y + layer.mlp(y))
    with torch.no_grad():
        got = layer(x[None], attn_mask=sliding_window_mask(seq, window))[0]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    expected_mask = torch.tensor(  # window 2: one neighbour each side; row and column 0 (CLS) full
        [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 0, 1, 1, 1], [1, 0, 0, 1, 1]], dtype=torch.bool
    )
    assert torch.equal(sliding_window_mask(5, 2), expected_mask)


def test_wide_window_is_full_attention_and_narrow_window_is_not() -> None:
    torch.manual_seed(0)
    full = paperzoo.create_model("vtn_tiny").eval()
    clip = torch.randn(1, 3, 6, 32, 32)
    with torch.no_grad():
        y_full = full.forward_features(clip)
        full.attention_window = 2 * 7
        torch.testing.assert_close(full.forward_features(clip), y_full)
        full.attention_window = 2
        assert not torch.allclose(full.forward_features(clip), y_full, atol=1e-4)


def test_variable_clip_length_and_validation() -> None:
    model = paperzoo.create_model("vtn_tiny").eval()
    for t in (1, 3, 14):  # any length up to max_position_embeddings - 2
        assert model(torch.randn(1, 3, t, 32, 32)).shape == (1, 400)
    with pytest.raises(ValueError, match="expected 1 to 14 frames"):
        model(torch.randn(1, 3, 15, 32, 32))
    with pytest.raises(ValueError, match="attention_window"):
        VTN(32, 8, embed_dim=64, depth=1, num_heads=2, attention_window=0)
