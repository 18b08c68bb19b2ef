"""X3D (Feichtenhofer 2020): parameter counts against pytorchvideo and a count by hand from Table 1,
multiply-adds against PySlowFast's model zoo at the reference clip sizes, squeeze-excitation and the
channel-wise convolution against hand computations, the block against plain functional ops, and the
expansion API."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import paperzoo
from paperzoo.models.video.x3d import (
    X2D,
    X3D,
    X3D_S,
    X3D_XS,
    SqueezeExcite3d,
    X3DBlock,
    X3DConfig,
    expand,
    round_width,
)
from paperzoo.registry import count_params, get_model_entry


def _table1_params(depths, *, widths=(24, 48, 96, 192), stem=24, gamma_b=2.25, se=(8, 8, 16, 32), classes=400):
    """X3D parameters by hand from Table 1: stem 1×3² + channel-wise 5×1, blocks 1×1² / channel-wise 3×3² / 1×1²
    with SE (reduced widths ``se``: round_width(inner / 16)) in every other block, conv5, fc1 2048, fc2."""
    total = 3 * stem * 9 + stem * 5 + 2 * stem
    cin = stem
    for width, depth, reduced in zip(widths, depths, se):
        inner = int(gamma_b * width)
        for j in range(depth):
            c = cin if j == 0 else width
            if j == 0:
                total += c * width + (2 * width if c != width else 0)  # strided projection (+ BN if widened)
            total += c * inner + 2 * inner + inner * 27 + 2 * inner + inner * width + 2 * width
            if j % 2 == 0:
                total += inner * reduced + reduced + reduced * inner + inner
        cin = width
    inner5 = int(gamma_b * widths[-1])
    return total + cin * inner5 + 2 * inner5 + inner5 * 2048 + 2048 * classes + classes


@pytest.mark.parametrize(
    "name, depths, expected",
    [
        # pytorchvideo 0.1.5: x3d_xs / x3d_s / x3d_m, and create_x3d(depth_factor=5.0) for L (model zoo: 3.79M, 6.15M).
        ("x3d_xs", (3, 5, 11, 7), 3_794_274),
        ("x3d_s", (3, 5, 11, 7), 3_794_274),
        ("x3d_m", (3, 5, 11, 7), 3_794_274),
        ("x3d_l", (5, 10, 25, 15), 6_153_384),
    ],
)
def test_parameter_count_matches_pytorchvideo_and_table1(name, depths, expected) -> None:
    assert get_model_entry(name).reference_params == expected
    assert count_params(name) == expected
    assert _table1_params(depths) == expected
    with torch.device("meta"):
        model = paperzoo.create_model(name)
    assert [len(stage) for stage in model.stages] == list(depths)


@pytest.mark.parametrize(
    "name, clip, published",
    [
        # PySlowFast MODEL_ZOO.md, "X3D models", FLOPs (G) = multiply-adds per view at the training clip size
        # (configs/Kinetics/X3D_*.yaml; the paper's Table 3 lists the same 0.60 / 1.96 / 4.73 / 18.37).
        # pytorchvideo's model zoo instead lists 0.91 / 2.96 / 6.72 for XS / S / M, measured with fvcore (which
        # also counts normalisation and element-wise ops) at the 182² / 182² / 256² test crops; conv and matmul
        # multiply-adds alone at those crops are 0.84 / 2.72 / 6.18.
        ("x3d_xs", (4, 160), 0.60),
        ("x3d_s", (13, 160), 1.96),
        ("x3d_m", (16, 224), 4.73),
        ("x3d_l", (16, 312), 18.37),
    ],
)
def test_multiply_adds_match_pyslowfast_model_zoo(name, clip, published) -> None:
    frames, size = clip
    assert get_model_entry(name).input_size == (3, frames, size, size)
    with torch.device("meta"):
        model = paperzoo.create_model(name).eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.empty(1, 3, frames, size, size))
    assert counter.get_total_flops() / 2 / 1e9 == pytest.approx(published, rel=0.02)


def test_squeeze_excitation_matches_hand_computation() -> None:
    torch.manual_seed(0)
    se = SqueezeExcite3d(6, 3)
    x = torch.randn(2, 6, 3, 4, 5)
    with torch.no_grad():
        for b in range(2):
            squeezed = [x[b, c].sum().item() / x[b, c].numel() for c in range(6)]  # mean over T, H, W
            hidden = [
                max(0.0, sum(se.fc1.weight[r, c].item() * squeezed[c] for c in range(6)) + se.fc1.bias[r].item())
                for r in range(3)
            ]
            logits = [
                sum(se.fc2.weight[c, r].item() * hidden[r] for r in range(3)) + se.fc2.bias[c].item() for c in range(6)
            ]
            gates = [1 / (1 + math.exp(-z)) for z in logits]  # sigmoid
            torch.testing.assert_close(se(x)[b], x[b] * torch.tensor(gates).view(6, 1, 1, 1))


def test_channel_wise_conv_is_one_filter_per_channel() -> None:
    """conv_b (groups = C) equals C independent single-channel 3×3×3 convolutions."""
    torch.manual_seed(0)
    block = X3DBlock(8, 10, 8, stride=2)
    conv = block.conv_b
    assert conv.groups == 10 and conv.weight.shape == (10, 1, 3, 3, 3)
    y = torch.randn(2, 10, 4, 7, 7)
    per_channel = torch.cat(
        [F.conv3d(y[:, c : c + 1], conv.weight[c : c + 1], stride=(1, 2, 2), padding=1) for c in range(10)], dim=1
    )
    with torch.no_grad():
        torch.testing.assert_close(conv(y), per_channel)


def test_block_matches_plain_functional_ops() -> None:
    torch.manual_seed(0)
    block = X3DBlock(8, 18, 16, stride=2, se_ratio=1 / 16).eval()
    for m in block.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.normal_(m.bias, std=0.1)
            m.running_mean.normal_(std=0.1)
            m.running_var.uniform_(0.5, 1.5)
    assert block.se.fc1.out_features == round_width(18, 1 / 16) == 8

    def bn(b, y):
        return F.batch_norm(y, b.running_mean, b.running_var, b.weight, b.bias, False, 0.0, b.eps)

    x = torch.randn(2, 8, 3, 9, 9)
    a = F.relu(bn(block.norm_a, F.conv3d(x, block.conv_a.weight)))
    b = bn(block.norm_b, F.conv3d(a, block.conv_b.weight, stride=(1, 2, 2), padding=1, groups=18))
    gate = torch.sigmoid(block.se.fc2(F.relu(block.se.fc1(b.mean((2, 3, 4))))))
    b = b * gate[:, :, None, None, None]
    c = bn(block.norm_c, F.conv3d(b * torch.sigmoid(b), block.conv_c.weight))  # swish
    short = bn(block.shortcut_norm, F.conv3d(x, block.shortcut.weight, stride=(1, 2, 2)))
    with torch.no_grad():
        torch.testing.assert_close(block(x), F.relu(c + short))


def test_reference_structure_se_every_other_block_and_stride_only_shortcut() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("x3d_m")
    assert model.stem[0].kernel_size == (1, 3, 3) and model.stem[1].kernel_size == (5, 1, 1)
    assert model.stem[1].groups == 24
    res4 = model.stages[2]
    assert [isinstance(b.se, SqueezeExcite3d) for b in res4] == [j % 2 == 0 for j in range(11)]
    assert [stage[0].conv_b.in_channels for stage in model.stages] == [54, 108, 216, 432]
    first = model.stages[0][0]  # 24 → 24 channels with stride 2: pytorchvideo projects without BN
    assert first.shortcut is not None and first.shortcut_norm is None
    assert model.stages[1][0].shortcut_norm is not None
    assert model.conv5[0].out_channels == 432 and model.fc1.out_features == 2048 == model.num_features


def test_expand_follows_the_axes() -> None:
    assert X3DConfig(frames=1, stride=1, resolution=112, width=1.0, bottleneck=1.0, depth=1.0) == X2D
    wide = expand(X2D, "width")
    assert wide.width == 2.0 and wide.stage_widths == (24, 48, 96, 192) and X2D.width == 1.0  # input unchanged
    assert expand(X2D, "bottleneck").bottleneck == 2.25
    deep = expand(X2D, "depth")
    assert deep.depth == 2.2 and deep.stage_depths == (3, 5, 11, 7)
    assert expand(X2D, "spatial").resolution == 160  # 112·√2 = 158.4 → 160 (X3D-XS/S)
    assert expand(expand(X2D, "spatial"), "spatial").resolution == 224  # X3D-M
    assert expand(X3D_S, "fast") == dataclasses.replace(X3D_S, frames=26, stride=3)  # same 78-frame duration
    assert expand(X3D_XS, "temporal") == dataclasses.replace(X3D_XS, frames=8)  # twice the duration
    assert expand(X2D, "depth", 5.0).stage_depths == (5, 10, 25, 15)  # X3D-L
    # Width, bottleneck and depth steps from X2D give exactly the X3D-XS/S/M network.
    xs = expand(expand(expand(X2D, "width"), "bottleneck"), "depth")
    with torch.device("meta"):
        model = X3D.from_config(xs)
    assert model.config == xs
    assert sum(p.numel() for p in model.parameters()) == count_params("x3d_xs")
    with pytest.raises(ValueError, match="axis"):
        expand(X2D, "height")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="factor"):
        expand(X2D, "width", 0.0)
    with pytest.raises(ValueError, match="frames"):
        X3DConfig(frames=0)


def test_x2d_base_and_tiny_forward() -> None:
    torch.manual_seed(0)
    entry = get_model_entry("x3d_x2d")
    assert entry.input_size == (3, 1, 112, 112)
    with torch.device("meta"):
        x2d = paperzoo.create_model("x3d_x2d")
    assert [len(s) for s in x2d.stages] == [1, 2, 5, 3]
    assert [s[0].conv_c.out_channels for s in x2d.stages] == [16, 24, 48, 96]  # reference rounding of 12 → 16
    model = paperzoo.create_model("x3d_tiny").eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape == (2, 48, 4, 1, 1)  # no temporal downsampling, 32× spatial
        torch.testing.assert_close(model(x), model.fc(model.forward_head(feats, pre_logits=True)))
    with pytest.raises(ValueError, match="expected"):
        model(torch.randn(2, 4, 4, 32, 32))
