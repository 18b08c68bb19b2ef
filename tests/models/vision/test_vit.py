"""ViT (Dosovitskiy et al. 2020): exact parameter counts against timm/torchvision and a closed form from
Table 1, a forward pass rebuilt from plain tensor operations with the model's weights, the heads and
pooling options, and position-embedding resampling for fine-tuning at another resolution (§3.2)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import paperzoo
from paperzoo.models.vision.vit import VisionTransformer, adapt_state_dict
from paperzoo.nn import DropPath, resample_abs_pos_embed
from paperzoo.registry import count_params, get_model_entry

# name: (patch, D, depth, heads, reference parameter count: timm vit_*_224, = torchvision vit_{b,l}_{16,32})
VARIANTS = {
    "vit_ti16": (16, 192, 12, 3, 5_717_416),
    "vit_s16": (16, 384, 12, 6, 22_050_664),
    "vit_b16": (16, 768, 12, 12, 86_567_656),
    "vit_l16": (16, 1024, 24, 16, 304_326_632),
    "vit_s32": (32, 384, 12, 6, 22_878_952),
    "vit_b32": (32, 768, 12, 12, 88_224_232),
    "vit_l32": (32, 1024, 24, 16, 306_535_400),
}


def closed_form_params(patch: int, dim: int, depth: int, img: int = 224, classes: int = 1000) -> int:
    """Patch embedding (3P²D + D), class token, (N + 1)·D position embeddings, L blocks of 12D² + 13D,
    the final LayerNorm and a D × K head."""
    n = (img // patch) ** 2
    return (
        (3 * patch**2 * dim + dim)
        + dim
        + (n + 1) * dim
        + depth * (12 * dim**2 + 13 * dim)
        + 2 * dim
        + (dim * classes + classes)
    )


@pytest.mark.parametrize("name", list(VARIANTS))
def test_parameter_count_matches_reference_and_closed_form(name: str) -> None:
    patch, dim, depth, heads, ref = VARIANTS[name]
    entry = get_model_entry(name)
    assert entry.reference_params == ref and entry.input_size == (3, 224, 224)
    assert count_params(name) == ref == closed_form_params(patch, dim, depth)
    with torch.device("meta"):
        m = paperzoo.create_model(name)
    assert (m.embed_dim, len(m.blocks), m.blocks[0].attn.num_heads) == (dim, depth, heads)
    assert m.blocks[0].mlp.fc1.out_features == 4 * dim  # MLP size, Table 1


def test_registered_variants() -> None:
    assert paperzoo.list_models("vit_*") == sorted([*VARIANTS, "vit_tiny"])
    assert get_model_entry("vit_tiny").tiny


def naive_vit_forward(m: VisionTransformer, x: torch.Tensor) -> torch.Tensor:
    """Eq. 1-4 of the paper with plain tensor ops and the model's weights (eval mode, token pooling)."""
    p = m.patch_embed.patch_size[0]
    w = m.patch_embed.proj
    patches = F.unfold(x, kernel_size=p, stride=p).transpose(1, 2)  # (B, N, C·P²), raster order
    z = patches @ w.weight.reshape(w.out_channels, -1).T + w.bias  # x_p E
    z = torch.cat([m.cls_token.expand(x.shape[0], -1, -1), z], dim=1) + m.pos_embed  # Eq. 1
    for blk in m.blocks:
        a = blk.attn
        h, d = a.num_heads, a.head_dim
        y = F.layer_norm(z, (z.shape[-1],), blk.norm1.weight, blk.norm1.bias, eps=1e-6)
        q, k, v = (y @ a.qkv.weight.T + a.qkv.bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(*t.shape[:2], h, d).transpose(1, 2) for t in (q, k, v))  # (B, H, N, d)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1) @ v
        att = att.transpose(1, 2).reshape(z.shape)
        z = z + att @ a.proj.weight.T + a.proj.bias  # Eq. 2
        y = F.layer_norm(z, (z.shape[-1],), blk.norm2.weight, blk.norm2.bias, eps=1e-6)
        hid = F.gelu(y @ blk.mlp.fc1.weight.T + blk.mlp.fc1.bias)
        z = z + hid @ blk.mlp.fc2.weight.T + blk.mlp.fc2.bias  # Eq. 3
    cls = F.layer_norm(z[:, 0], (z.shape[-1],), m.norm.weight, m.norm.bias, eps=1e-6)  # Eq. 4
    return cls @ m.head.weight.T + m.head.bias


def _tiny(**kw) -> VisionTransformer:
    torch.manual_seed(0)
    m = paperzoo.create_model("vit_tiny", **kw).double().eval()
    with torch.no_grad():  # the head starts at zero; randomise it (and the norms) so the comparison bites
        for name, p in m.named_parameters():
            if name.startswith(("head", "norm")) or ".norm" in name:
                p.normal_(0.5, 0.3)
    return m


def test_forward_matches_naive_equations() -> None:
    m = _tiny(num_classes=7)
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    out = m(x)
    assert out.shape == (2, 7)
    torch.testing.assert_close(out, naive_vit_forward(m, x))


def test_training_mode_without_dropout_is_deterministic() -> None:
    m = _tiny()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    ref = m(x)
    torch.testing.assert_close(m.train()(x), ref)


def test_initialisation() -> None:
    torch.manual_seed(0)
    m = paperzoo.create_model("vit_ti16")
    assert torch.equal(m.head.weight, torch.zeros_like(m.head.weight))  # zero-init classifier, §3.2
    assert torch.equal(m.head.bias, torch.zeros_like(m.head.bias))
    assert abs(m.pos_embed.std().item() - 0.02) < 0.001 and m.pos_embed.abs().max() <= 2.0
    assert m.cls_token.abs().max() < 1e-4
    qkv = m.blocks[3].attn.qkv
    assert abs(qkv.weight.std().item() - 0.02) < 0.001 and torch.equal(qkv.bias, torch.zeros_like(qkv.bias))
    assert torch.equal(m.blocks[0].norm1.weight, torch.ones(192))
    assert m.no_weight_decay() == {"pos_embed", "cls_token"}


def test_reset_classifier_and_features_only() -> None:
    m = _tiny()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    tokens = m.forward_features(x)
    assert tokens.shape == (2, 1 + 16, 64)
    feats = m.forward_head(tokens, pre_logits=True)
    torch.testing.assert_close(feats, tokens[:, 0])
    m.reset_classifier(10)
    assert m.num_classes == 10 and m.get_classifier().weight.shape == (10, 64)
    assert torch.count_nonzero(m.head.weight) == 0  # new heads are zero-initialised too
    m.reset_classifier(0)
    torch.testing.assert_close(m.double()(x), feats)
    torch.manual_seed(0)
    none = paperzoo.create_model("vit_tiny", num_classes=0)
    assert isinstance(none.head, torch.nn.Identity) and none(torch.randn(2, 3, 32, 32)).shape == (2, 64)


def test_global_average_pooling_option() -> None:
    m = _tiny(global_pool="avg")
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    tokens = m.forward_features(x)
    torch.testing.assert_close(m.forward_head(tokens, pre_logits=True), tokens[:, 1:].mean(1))
    with pytest.raises(ValueError, match="global_pool"):
        VisionTransformer(32, 8, embed_dim=64, depth=1, num_heads=2, global_pool="max")


def test_representation_size_adds_tanh_pre_logits() -> None:
    dim, rep, k = 64, 48, 10
    torch.manual_seed(0)
    base = paperzoo.create_model("vit_tiny", num_classes=k)
    m = paperzoo.create_model("vit_tiny", num_classes=k, representation_size=rep).double().eval()
    added = sum(p.numel() for p in m.parameters()) - sum(p.numel() for p in base.parameters())
    assert added == dim * rep + rep + (rep - dim) * k  # the hidden layer, and a narrower head input
    assert m.num_features == rep and m.head.in_features == rep
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    tokens = m.forward_features(x)
    lin = m.pre_logits[0]
    torch.testing.assert_close(
        m.forward_head(tokens, pre_logits=True), torch.tanh(tokens[:, 0] @ lin.weight.T + lin.bias)
    )


def test_stochastic_depth_rates_increase_linearly() -> None:
    m = paperzoo.create_model("vit_tiny", drop_path_rate=0.2, depth=3)
    assert isinstance(m.blocks[0].drop_path1, torch.nn.Identity)  # rate 0 for the first block
    rates = [b.drop_path1.drop_prob for b in m.blocks[1:]]
    assert rates == pytest.approx([0.1, 0.2]) and isinstance(m.blocks[2].drop_path2, DropPath)


def test_input_validation() -> None:
    m = paperzoo.create_model("vit_tiny")
    with pytest.raises(ValueError, match="expected images of shape"):
        m(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="expected images of size 32x32"):
        m(torch.randn(2, 3, 40, 40))
    with pytest.raises(ValueError, match="divide dim"):
        VisionTransformer(32, 8, embed_dim=64, depth=1, num_heads=3)
    with pytest.raises(ValueError, match="representation_size"):
        VisionTransformer(32, 8, embed_dim=64, depth=1, num_heads=2, representation_size=0)


def test_set_input_size_224_to_384_keeps_class_embedding() -> None:
    torch.manual_seed(0)
    m = paperzoo.create_model("vit_ti16")
    before = m.pos_embed.detach().clone()
    same = m.pos_embed
    m.set_input_size(224)  # same grid: the parameter itself is kept
    assert m.pos_embed is same and torch.equal(m.pos_embed, before)
    m.set_input_size(384)
    assert m.img_size == (384, 384) and m.patch_embed.grid_size == (24, 24)
    assert m.pos_embed.shape == (1, 1 + 24 * 24, 192) and m.pos_embed.requires_grad
    assert torch.equal(m.pos_embed[:, :1], before[:, :1])  # the class-token embedding is not interpolated
    torch.testing.assert_close(m.pos_embed.detach(), resample_abs_pos_embed(before, 24))


def test_set_input_size_then_forward_at_new_resolution() -> None:
    m = _tiny()
    m.set_input_size(48)
    x = torch.randn(1, 3, 48, 48, dtype=torch.float64)
    torch.testing.assert_close(m(x), naive_vit_forward(m, x))
    with pytest.raises(ValueError, match="expected images of size 48x48"):
        m(torch.randn(1, 3, 32, 32, dtype=torch.float64))


def test_adapt_state_dict_loads_checkpoint_at_higher_resolution() -> None:
    torch.manual_seed(0)
    src = paperzoo.create_model("vit_tiny")
    dst = paperzoo.create_model("vit_tiny", img_size=48)
    sd = src.state_dict()
    with pytest.raises(RuntimeError, match="pos_embed"):
        dst.load_state_dict(sd)
    dst.load_state_dict(adapt_state_dict(sd, dst))
    assert torch.equal(dst.pos_embed[:, 0], src.pos_embed[:, 0])
    torch.testing.assert_close(dst.pos_embed, resample_abs_pos_embed(src.pos_embed.detach(), 6))
    assert torch.equal(dst.blocks[1].attn.qkv.weight, src.blocks[1].attn.qkv.weight)
    assert adapt_state_dict(sd, src)["pos_embed"] is sd["pos_embed"]
