"""S3D / S3D-G (Xie et al. 2018) against torchvision's S3D and the S3D-G of antoine77340/S3D_HowTo100M.

References used: both references' parameter counts recomputed by hand from their layer tables
(conv without bias + BN γ/β; gates W ∈ R^{C×C} and b); torchvision's state-dict layout; torchvision's
published 17.98 GFLOPS (multiply-adds) for s3d; the separable conv rebuilt from plain ``nn.Conv3d`` /
``nn.BatchNorm3d`` / ``nn.ReLU`` with copied weights; the gate computed by hand in float64 numpy;
torchvision's head (2×7×7 average pool, 1×1×1 conv, mean over positions) rebuilt with ``F`` calls.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import paperzoo
from paperzoo.models.video.s3d import (
    S3D,
    SelfGating,
    SepConv3d,
    SepInceptionBlock3d,
    convert_torchvision_state_dict,
)
from paperzoo.models.vision.googlenet import INCEPTION_TABLE
from paperzoo.registry import count_params, get_model_entry

BLOCK_IN = [192, 256, 480, 512, 512, 512, 528, 832, 832]


def _cba(c_in: int, c_out: int, volume: int) -> int:
    return volume * c_in * c_out + 2 * c_out  # bias-free conv + BN (γ, β)


def _sep(c_in: int, c_out: int, k: int) -> int:
    return _cba(c_in, c_out, k * k) + _cba(c_out, c_out, k)  # 1×k×k then k×1×1, each with BN


def _gate(c: int) -> int:
    return c * c + c


def _s3d_params(stem: int, gating: bool, num_classes: int = 400) -> int:
    n = stem + _cba(64, 64, 1) + _sep(64, 192, 3) + (_gate(192) if gating else 0)
    for c_in, (a, b, c, d, e, f) in zip(BLOCK_IN, INCEPTION_TABLE.values()):
        n += _cba(c_in, a, 1) + _cba(c_in, b, 1) + _sep(b, c, 3) + _cba(c_in, d, 1) + _sep(d, e, 3) + _cba(c_in, f, 1)
        n += _gate(a) + _gate(c) + _gate(e) + _gate(f) if gating else 0
    return n + 1024 * num_classes + num_classes


def test_parameter_counts_match_the_references() -> None:
    tv = _s3d_params(stem=_sep(3, 64, 7), gating=False)  # torchvision: separable 7×7×7 stem
    assert tv == 8_320_048 == get_model_entry("s3d").reference_params == count_params("s3d")
    s3dg = _s3d_params(stem=_cba(3, 64, 3 * 7 * 7), gating=True)  # the port: full 3×7×7 stem, 37 gates
    assert s3dg == get_model_entry("s3dg").reference_params == count_params("s3dg")
    with torch.device("meta"):
        model = paperzoo.create_model("s3dg")
    assert sum(isinstance(m, SelfGating) for m in model.modules()) == 1 + 4 * 9


def test_multiply_adds_match_torchvision_published_gflops() -> None:
    """torchvision's docs: s3d "GFLOPS 17.98" (multiply-adds), measured at its test input 1×3×16×224×224."""
    with torch.device("meta"):
        model = paperzoo.create_model("s3d").eval()
        x = torch.empty(1, 3, 16, 224, 224)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    macs = counter.get_total_flops() / 2
    assert abs(macs / 17.979e9 - 1) < 0.02


def test_torchvision_state_dict_layout() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("s3d")
    state = model.state_dict()
    assert state["features.0.0.0.weight"].shape == (64, 3, 1, 7, 7)  # stem, spatial half
    assert state["features.0.1.0.weight"].shape == (64, 64, 7, 1, 1)  # stem, temporal half
    assert state["features.3.0.0.weight"].shape == (192, 64, 1, 3, 3)
    assert state["features.5.branch1.1.0.0.weight"].shape == (128, 96, 1, 3, 3)
    assert state["features.15.branch3.1.0.weight"].shape == (128, 832, 1, 1, 1)
    assert model.features[5].branch0[1].eps == 1e-3 and model.features[5].branch0[1].momentum == 1e-3
    theirs = {k: v for k, v in state.items() if not k.startswith("fc.")}
    theirs["classifier.1.weight"] = torch.zeros(400, 1024, 1, 1, 1)
    theirs["classifier.1.bias"] = torch.zeros(400)
    converted = convert_torchvision_state_dict(theirs)
    assert set(converted) == set(state) and converted["fc.weight"].shape == (400, 1024)


def test_feature_shapes_at_16x224x224() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("s3d")
        x = torch.empty(1, 3, 16, 224, 224)
        shapes = []
        for layer in model.features:
            x = layer(x)
            shapes.append(tuple(x.shape[1:]))
    assert shapes[0] == (64, 8, 112, 112)
    assert shapes[4] == (192, 8, 28, 28)
    assert shapes[7] == (480, 4, 14, 14)
    assert shapes[13] == (832, 2, 7, 7)
    assert shapes[15] == (1024, 2, 7, 7)


def _random_bn(module: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm3d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    return module.eval()


def test_separable_conv_equals_an_explicit_conv3d_stack() -> None:
    torch.manual_seed(0)
    sep = _random_bn(SepConv3d(4, 6, 5, stride=2, padding=2))
    spatial = nn.Conv3d(4, 6, (1, 5, 5), (1, 2, 2), (0, 2, 2), bias=False)
    temporal = nn.Conv3d(6, 6, (5, 1, 1), (2, 1, 1), (2, 0, 0), bias=False)
    bn1, bn2 = nn.BatchNorm3d(6, eps=1e-3), nn.BatchNorm3d(6, eps=1e-3)
    spatial.weight.data.copy_(sep[0][0].weight)
    temporal.weight.data.copy_(sep[1][0].weight)
    bn1.load_state_dict(sep[0][1].state_dict())
    bn2.load_state_dict(sep[1][1].state_dict())
    reference = nn.Sequential(spatial, bn1, nn.ReLU(), temporal, bn2, nn.ReLU()).eval()
    x = torch.randn(2, 4, 9, 11, 11)
    with torch.no_grad():
        torch.testing.assert_close(sep(x), reference(x))
        assert sep(x).shape == (2, 6, 5, 6, 6)
    # Factorisation: with BN and ReLU removed, the pair is the full 5×5×5 conv with the outer-product kernel.
    w_s, w_t = sep[0][0].weight, sep[1][0].weight  # (6, 4, 1, 5, 5), (6, 6, 5, 1, 1)
    w_full = torch.einsum("omt,mihw->oithw", w_t[..., 0, 0], w_s[:, :, 0])  # (6, 4, 5, 5, 5)
    with torch.no_grad():
        mid = F.conv3d(x, w_s, stride=(1, 2, 2), padding=(0, 2, 2))
        two_step = F.conv3d(mid, w_t, stride=(2, 1, 1), padding=(2, 0, 0))
        full = F.conv3d(x, w_full, stride=2, padding=2)
    torch.testing.assert_close(two_step, full, rtol=1e-4, atol=1e-4)


def test_self_gating_equals_hand_computation() -> None:
    torch.manual_seed(0)
    gate = SelfGating(5)
    x = torch.randn(2, 5, 3, 4, 4)
    with torch.no_grad():
        y = gate(x).double().numpy()
    xn, w, b = x.double().numpy(), gate.fc.weight.double().detach().numpy(), gate.fc.bias.double().detach().numpy()
    expected = np.empty_like(xn)
    for i in range(2):
        pooled = xn[i].reshape(5, -1).sum(1) / (3 * 4 * 4)  # average over time and space
        g = 1.0 / (1.0 + np.exp(-(w @ pooled + b)))  # σ(W·pool(x) + b)
        expected[i] = xn[i] * g[:, None, None, None]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_gated_block_gates_each_branch() -> None:
    torch.manual_seed(0)
    block = _random_bn(SepInceptionBlock3d(8, [4, 4, 6, 2, 3, 5], gating=True))
    plain = _random_bn(SepInceptionBlock3d(8, [4, 4, 6, 2, 3, 5], gating=False))
    plain.load_state_dict({k: v for k, v in block.state_dict().items() if not k.startswith("gate")})
    x = torch.randn(2, 8, 4, 6, 6)
    with torch.no_grad():
        ungated = plain(x)
        parts = ungated.split([4, 6, 3, 5], dim=1)
        gates = [block.gate0, block.gate1, block.gate2, block.gate3]
        gated = [torch.sigmoid(g.fc(p.mean((2, 3, 4))))[..., None, None, None] * p for g, p in zip(gates, parts)]
        expected = torch.cat(gated, dim=1)
        torch.testing.assert_close(block(x), expected)


def test_head_equals_torchvision_head() -> None:
    torch.manual_seed(0)
    model = S3D(num_classes=5, channel_divisor=8).eval()
    feats = torch.randn(2, model.num_features, 3, 9, 8)  # larger than 2×7×7: several pooled positions
    pooled = F.avg_pool3d(feats, (2, 7, 7), stride=1)
    expected = F.conv3d(pooled, model.fc.weight[:, :, None, None, None], model.fc.bias).mean((2, 3, 4))
    torch.testing.assert_close(model.forward_head(feats), expected)


def test_s3dg_stem_and_constructor_checks() -> None:
    model = paperzoo.create_model("s3dg_tiny")
    assert model.features[0][0].kernel_size == (3, 7, 7) and model.features[0][0].stride == (2, 2, 2)
    assert isinstance(model.features[3][1], SelfGating)
    with pytest.raises(ValueError, match="stem must be"):
        S3D(stem="deep")
    with pytest.raises(ValueError, match="expected clips"):
        model(torch.randn(1, 3, 8, 32))


def test_tiny_variants_use_a_batchnorm_momentum_that_short_runs_can_track() -> None:
    full, tiny = paperzoo.create_model("s3d", num_classes=2), paperzoo.create_model("s3dg_tiny")
    momenta = {m.momentum for m in full.modules() if isinstance(m, torch.nn.BatchNorm3d)}
    assert momenta == {1e-3}  # torchvision / TF-slim decay 0.999
    assert {m.momentum for m in tiny.modules() if isinstance(m, torch.nn.BatchNorm3d)} == {0.1}
