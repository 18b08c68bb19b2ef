"""PixelSNAIL (Chen et al. 2018) as the VQ-VAE-2 priors: the weight-normalised masked convolution against torch's
weight_norm on a plain convolution, the causal attention against a naive loop, causality of the top and bottom
priors by perturbing every position, greedy and seeded sampling against a naive loop, the conditioning cache,
and the parameter counts of rosinality/vq-vae-2-pytorch's top and bottom priors, counted by hand from its
layers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from paperzoo.models.generative.pixelsnail import (
    CausalAttention,
    GatedResBlock,
    PixelSNAIL,
    WNConv2d,
    causal_kernel_mask,
    pixelsnail_bottom,
    pixelsnail_bottom_paper,
    pixelsnail_bottom_tiny,
    pixelsnail_top,
    pixelsnail_top_paper,
    pixelsnail_top_tiny,
)
from paperzoo.registry import get_model_entry

from .test_pixelcnn import assert_causal, naive_sample, perturbation_effects, sharpen

# ---------------------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------------------


def test_causal_kernel_mask() -> None:
    m = causal_kernel_mask(5)
    assert m[:4].eq(1).all()  # the rows above
    assert m[4].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]  # the current row: strictly left of the centre


def test_masked_wnconv_equals_torch_weight_norm_on_a_plain_conv() -> None:
    torch.manual_seed(0)
    mask = causal_kernel_mask(5)
    conv = WNConv2d(3, 4, 5, padding=(2, 2, 4, 0), mask=mask)
    with torch.no_grad():
        conv.weight_g.normal_()
    plain = weight_norm(nn.Conv2d(3, 4, 5))  # w = g v / ‖v‖ per output channel
    with torch.no_grad():
        plain.parametrizations.weight.original0.copy_(conv.weight_g)
        plain.parametrizations.weight.original1.copy_(conv.weight_v * mask)  # the reference zeroes masked v
        plain.bias.copy_(conv.bias)
    x = torch.randn(2, 3, 6, 7)
    torch.testing.assert_close(conv(x), plain(F.pad(x, (2, 2, 4, 0))))
    # at initialisation g = ‖v ⊙ m‖, so the effective kernel is v ⊙ m
    fresh = WNConv2d(3, 4, 5, mask=mask)
    torch.testing.assert_close(fresh.weight(), fresh.weight_v * mask)


def test_causal_attention_equals_naive_loop() -> None:
    torch.manual_seed(0)
    attn = CausalAttention(5, 7, 8, heads=2).eval()
    query, key = torch.randn(2, 5, 3, 4), torch.randn(2, 7, 3, 4)
    out = attn(query, key)  # (B, 8, 3, 4)
    q = attn.query(query).flatten(2)  # (B, 8, L), channel = head·4 + d
    k, v = attn.key(key).flatten(2), attn.value(key).flatten(2)
    expected = torch.zeros(2, 8, 12)
    for i in range(1, 12):  # position 0 has no past and stays zero
        for h in range(2):
            ch = slice(4 * h, 4 * h + 4)
            scores = torch.einsum("bd,bdj->bj", q[:, ch, i], k[:, ch, :i]) / math.sqrt(4)  # keys j < i only
            expected[:, ch, i] = torch.einsum("bj,bdj->bd", scores.softmax(-1), v[:, ch, :i])
    torch.testing.assert_close(out.flatten(2), expected, atol=1e-5, rtol=1e-5)


def test_gated_res_block_equals_its_formula() -> None:
    torch.manual_seed(0)
    block = GatedResBlock(4, 6, 3, aux_channels=2, cond_channels=3, num_classes=5, dropout=0.0)
    x, a, s, y = torch.randn(2, 4, 5, 5), torch.randn(2, 2, 5, 5), torch.randn(2, 3, 5, 5), torch.tensor([1, 4])
    pad = (1, 1, 1, 1)
    h = F.conv2d(F.pad(F.elu(x), pad), block.conv1.weight(), block.conv1.bias)
    h = h + F.conv2d(F.elu(a), block.aux.weight(), block.aux.bias)
    h = F.conv2d(F.pad(F.elu(h), pad), block.conv2.weight(), block.conv2.bias)
    h = h + F.conv2d(s, block.cond.weight()) + block.class_embed.weight[y][:, :, None, None]
    expected = x + h[:, :4] * torch.sigmoid(h[:, 4:])
    torch.testing.assert_close(block(x, aux=a, cond=s, labels=y), expected)


# ---------------------------------------------------------------------------------------------------------------
# Causality and conditioning
# ---------------------------------------------------------------------------------------------------------------


def _top_effects(**kwargs) -> torch.Tensor:
    torch.manual_seed(0)
    model = pixelsnail_top_tiny(**kwargs).eval()
    labels = torch.tensor([2])
    with torch.no_grad():
        return perturbation_effects(lambda z: model(z, labels.expand(z.shape[0])), torch.randint(0, 16, (8, 8)), 16)


def test_top_prior_with_raw_keys_is_causal_and_has_no_blind_spot() -> None:
    assert_causal(_top_effects(raw_keys=True), dense=True)  # the keys carry each code: attention sees the whole past


def test_top_prior_as_the_reference_is_causal_with_a_row_wrap_blind_spot() -> None:
    effects = _top_effects()
    assert_causal(effects)
    # the reference's keys hold only the past of their own position, so the last code of row r is invisible to
    # the positions (r + 1, c) with c <= W - 1 - k//2 - 1 = 5 (3×3 kernels, W = 8), and nothing else is
    blind = {(p, q) for p in range(64) for q in range(p + 1, 64) if effects[p, q] <= 1e-7}
    assert blind == {(8 * r + 7, 8 * (r + 1) + c) for r in range(7) for c in range(6)}


def test_bottom_prior_is_causal_given_the_top_codes() -> None:
    torch.manual_seed(0)
    model = pixelsnail_bottom_tiny().eval()
    top, labels = torch.randint(0, 16, (1, 4, 4)), torch.tensor([5])
    with torch.no_grad():
        effects = perturbation_effects(
            lambda z: model(z, labels.expand(z.shape[0]), top.expand(z.shape[0], -1, -1)),
            torch.randint(0, 16, (8, 8)),
            16,
        )
    assert_causal(effects)


def test_top_codes_and_labels_condition_the_bottom_prior() -> None:
    torch.manual_seed(0)
    model = pixelsnail_bottom_tiny().eval()
    codes, top, labels = torch.randint(0, 16, (2, 8, 8)), torch.randint(0, 16, (2, 4, 4)), torch.tensor([0, 1])
    with torch.no_grad():
        base = model(codes, labels, top)
        other_label = model(codes, torch.tensor([2, 3]), top)
        top2 = top.clone()
        top2[:, 0, 0] = (top2[:, 0, 0] + 1) % 16
        other_top = model(codes, labels, top2)
    # position (0, 0) sees no bottom code: only the label and the top codes move it
    assert (base - other_label)[:, :, 0, 0].abs().min() > 1e-5
    assert (base - other_top)[:, :, 0, 0].abs().max() > 1e-5


def test_class_conditioning_changes_the_top_prior() -> None:
    torch.manual_seed(0)
    model = pixelsnail_top_tiny().eval()
    codes = torch.randint(0, 16, (2, 8, 8))
    with torch.no_grad():
        diff = model(codes, torch.tensor([0, 1])) - model(codes, torch.tensor([5, 9]))
    assert diff[:, :, 0, 0].abs().min() > 1e-5


# ---------------------------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------------------------


def test_greedy_sampling_equals_naive_position_loop_top() -> None:
    model = sharpen(pixelsnail_top_tiny(), 0.5)
    labels = torch.tensor([1, 8])
    with torch.no_grad():
        expected = naive_sample(lambda z: model(z, labels), (2, 8, 8), temperature=0)
    assert expected.unique().numel() > 3  # a context-dependent map, not a constant one
    assert torch.equal(model.sample((2, 8, 8), labels, temperature=0), expected)


def test_seeded_sampling_equals_naive_loop_bottom_and_caches_the_condition() -> None:
    model = sharpen(pixelsnail_bottom_tiny(), 0.5)
    torch.manual_seed(0)
    top, labels = torch.randint(0, 16, (2, 4, 4)), torch.tensor([3, 3])
    with torch.no_grad():
        greedy = naive_sample(lambda z: model(z, labels, top), (2, 8, 8), temperature=0)
        seeded = naive_sample(
            lambda z: model(z, labels, top), (2, 8, 8), temperature=1.0, generator=torch.Generator().manual_seed(3)
        )
    assert greedy.unique().numel() > 3
    with torch.no_grad():  # the top codes matter: other top codes decode to another map
        other = naive_sample(lambda z: model(z, labels, (top + 1) % 16), (2, 8, 8), temperature=0)
    assert not torch.equal(other, greedy)
    calls = []
    model.cond_stack.register_forward_hook(lambda *_: calls.append(1))
    assert torch.equal(model.sample((2, 8, 8), labels, top, temperature=0), greedy)
    assert len(calls) == 1  # the conditioning stack ran once for all 64 positions
    got = model.sample((2, 8, 8), labels, top, generator=torch.Generator().manual_seed(3))
    assert torch.equal(got, seeded)


# ---------------------------------------------------------------------------------------------------------------
# NLL, inputs
# ---------------------------------------------------------------------------------------------------------------


def test_bits_per_dim_is_cross_entropy_over_ln2() -> None:
    torch.manual_seed(0)
    model = pixelsnail_bottom_tiny()
    codes, top, labels = torch.randint(0, 16, (2, 8, 8)), torch.randint(0, 16, (2, 4, 4)), torch.tensor([0, 9])
    torch.manual_seed(1)
    logits = model(codes, labels, top)
    torch.manual_seed(1)  # the same dropout masks
    torch.testing.assert_close(model.nll(codes, labels, top), F.cross_entropy(logits, codes) / math.log(2))


def test_background_planes() -> None:
    model = PixelSNAIL(4, shape=(2, 4), channels=8, kernel_size=3, num_blocks=1, res_blocks=1, res_channels=8, heads=2)
    rows, cols = model.background[0]
    assert rows.tolist() == [[-0.5] * 4, [0.0] * 4]  # (r - H/2) / H
    assert cols.tolist() == [[-0.5, -0.25, 0.0, 0.25]] * 2  # (c - W/2) / W


def test_wrong_inputs_raise_expected() -> None:
    model = pixelsnail_bottom_tiny()
    codes, top, labels = torch.randint(0, 16, (2, 8, 8)), torch.randint(0, 16, (2, 4, 4)), torch.tensor([0, 9])
    cases = [
        ((torch.randint(0, 16, (2, 9, 8)), labels, top), "expected codes of shape"),
        ((codes, labels, torch.randint(0, 16, (2, 4, 5))), "expected condition codes of shape"),
        ((codes, labels, torch.full((2, 4, 4), 16)), r"expected condition codes in \[0, 16\)"),
        ((codes, labels, top[:1]), "expected condition codes for 2 examples"),
        ((codes, labels, None), "expected condition codes"),
        ((codes.clamp(max=15) + 1, labels, top), r"expected codes in \[0, 16\)"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            model(*args)
    assert model((codes, top, labels)).shape == (2, 16, 8, 8)  # the tuple form the registry sweep uses
    with pytest.raises(ValueError, match="expected no condition"):
        pixelsnail_top_tiny()(codes, labels, top)
    with pytest.raises(ValueError, match="cond_shape"):
        PixelSNAIL(16, shape=(8, 8), cond_res_blocks=1, cond_channels=8, cond_shape=(3, 3))


# ---------------------------------------------------------------------------------------------------------------
# Parameter counts: rosinality/vq-vae-2-pytorch's layers, counted by hand
# ---------------------------------------------------------------------------------------------------------------


def _wn(cin: int, cout: int, kh: int, kw: int, bias: bool = True) -> int:
    return cin * cout * kh * kw + cout + (cout if bias else 0)  # weight_v, weight_g, bias


def _res(cin: int, ch: int, k: int, aux: int = 0, cond: int = 0) -> int:
    n = _wn(cin, ch, k, k) + _wn(ch, 2 * cin, k, k)
    return n + (_wn(aux, ch, 1, 1) if aux else 0) + (_wn(cond, 2 * cin, 1, 1, bias=False) if cond else 0)


def _reference_count(
    k: int, c: int, n_block: int, n_res: int, r: int, attention: bool, n_cond: int, cond: int, n_out: int, raw: int = 0
) -> int:
    """rosinality's PixelSNAIL(shape, n_class=k, channel=c, kernel_size=5, n_block, n_res_block, res_channel=r, ...);
    ``raw``: the width of the raw input in place of the block input in the keys (the original PixelSNAIL's)."""
    n = _wn(k, c, 2, 5) + _wn(k, c, 3, 2)  # horizontal [k//2, k], vertical [(k+1)//2, k//2]
    block = n_res * _res(c, r, 5, cond=cond)
    key = (raw or c) + c + 2
    if attention:  # key, query, attention (wn_linear ×3), out resblocks
        block += _res(key, c, 1) + _res(c + 2, c, 1) + _res(c, c, 1, aux=c // 2)
        block += (c + 2) * (c // 2) + c + 2 * (key * (c // 2) + c)
    else:
        block += _wn(c + 2, c, 1, 1)
    n += n_block * block
    if n_cond:
        n += _wn(k, cond, 3, 3) + n_cond * _res(cond, cond, 3)
    return n + n_out * _res(c, r, 1) + _wn(c, k, 1, 1)


def _meta_count(fn) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in fn().parameters())


def test_parameter_counts_match_the_reference_exactly() -> None:
    top = _reference_count(512, 256, 4, 4, 256, True, 0, 0, 0)
    bottom = _reference_count(512, 256, 4, 4, 256, False, 3, 256, 0)
    assert (top, bottom) == (84_873_280, 89_762_816)
    assert _meta_count(pixelsnail_top) == top == get_model_entry("pixelsnail_top").reference_params
    assert _meta_count(pixelsnail_bottom) == bottom == get_model_entry("pixelsnail_bottom").reference_params
    # sub-blocks, by hand
    assert sum(p.numel() for p in GatedResBlock(256, 256, 5, causal=True, cond_channels=256).parameters()) == _res(
        256, 256, 5, cond=256
    )


def test_paper_variants_count_the_appendix_sizes() -> None:
    classes = 1000 * 2 * 512 * 20  # class embedding of each of the 20 causal residual blocks (ours)
    top = _reference_count(512, 512, 4, 5, 2048, True, 0, 0, 20, raw=512)
    assert _meta_count(pixelsnail_top_paper) == top + classes
    assert _meta_count(pixelsnail_bottom_paper) == (
        _reference_count(512, 512, 4, 5, 1024, False, 20, 1024, 0) + classes
    )


def test_frozen_weights_give_the_same_convolution_and_are_released() -> None:
    from paperzoo.models.generative.pixelsnail import WNConv2d, frozen_weights

    torch.manual_seed(0)
    conv = WNConv2d(3, 4, 3, padding=(1, 1, 2, 0))
    x = torch.randn(2, 3, 5, 5)
    expected = conv(x)
    with frozen_weights(conv):
        assert conv.frozen_weight is not None and not conv.frozen_weight.requires_grad
        torch.testing.assert_close(conv(x), expected)
    assert conv.frozen_weight is None
    conv(x).sum().backward()  # training after sampling still reaches v and g
    assert conv.weight_v.grad is not None and conv.weight_g.grad is not None
