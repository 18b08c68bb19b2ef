"""Inception-v4 and Inception-ResNet-v2 (Szegedy et al. 2017): parameter counts computed by hand from the
paper's figures, grid sizes at 299×299, a module rebuilt from plain layers, residual scaling, drop path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from paperzoo import create_model
from paperzoo.models.vision.inception_v3 import BasicConv2d
from paperzoo.models.vision.inception_v4 import (
    InceptionA,
    InceptionB,
    InceptionC,
    InceptionResNetA,
    InceptionResNetB,
    InceptionResNetC,
    InceptionResNetV2,
    InceptionV4,
    ReductionA,
    ReductionB,
    ReductionResNetB,
    StemV3,
    StemV4,
)
from paperzoo.nn import DropPath
from paperzoo.registry import count_params


def cbn(cin: int, cout: int, kh: int, kw: int | None = None) -> int:
    """Parameters of a bias-free kh×kw convolution followed by batch norm (γ, β)."""
    return cin * cout * kh * (kw if kw is not None else kh) + 2 * cout


def linear_1x1(cin: int, cout: int) -> int:
    """The residual up-projection, "1×1 Conv (... Linear)": weight and bias, no batch norm."""
    return cin * cout + cout


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# Hand counts read off the paper's figures (filter counts in parentheses there).
STEM_V4 = (  # Fig. 3
    cbn(3, 32, 3)
    + cbn(32, 32, 3)
    + cbn(32, 64, 3)
    + cbn(64, 96, 3)
    + cbn(160, 64, 1)
    + cbn(64, 96, 3)
    + cbn(160, 64, 1)
    + cbn(64, 64, 7, 1)
    + cbn(64, 64, 1, 7)
    + cbn(64, 96, 3)
    + cbn(192, 192, 3)
)
INCEPTION_A = 2 * cbn(384, 96, 1) + cbn(384, 64, 1) + cbn(64, 96, 3) + cbn(384, 64, 1) + cbn(64, 96, 3) + cbn(96, 96, 3)
REDUCTION_A_V4 = cbn(384, 384, 3) + cbn(384, 192, 1) + cbn(192, 224, 3) + cbn(224, 256, 3)  # k, l, m, n of Table 1
INCEPTION_B = (  # Fig. 5
    cbn(1024, 128, 1)
    + cbn(1024, 384, 1)
    + cbn(1024, 192, 1)
    + cbn(192, 224, 1, 7)
    + cbn(224, 256, 7, 1)
    + cbn(1024, 192, 1)
    + cbn(192, 192, 1, 7)
    + cbn(192, 224, 7, 1)
    + cbn(224, 224, 1, 7)
    + cbn(224, 256, 7, 1)
)
REDUCTION_B_V4 = (  # Fig. 8
    cbn(1024, 192, 1)
    + cbn(192, 192, 3)
    + cbn(1024, 256, 1)
    + cbn(256, 256, 1, 7)
    + cbn(256, 320, 7, 1)
    + cbn(320, 320, 3)
)
INCEPTION_C = (  # Fig. 6
    2 * cbn(1536, 256, 1)
    + cbn(1536, 384, 1)
    + 2 * cbn(384, 256, 1, 3)
    + cbn(1536, 384, 1)
    + cbn(384, 448, 1, 3)
    + cbn(448, 512, 1, 3)
    + 2 * cbn(512, 256, 1, 3)
)


def ir_a(c: int) -> int:  # Fig. 16
    branches = cbn(c, 32, 1) + cbn(c, 32, 1) + cbn(32, 32, 3) + cbn(c, 32, 1) + cbn(32, 48, 3) + cbn(48, 64, 3)
    return branches + linear_1x1(128, c)


def ir_b(c: int) -> int:  # Fig. 17
    return cbn(c, 192, 1) + cbn(c, 128, 1) + cbn(128, 160, 1, 7) + cbn(160, 192, 7, 1) + linear_1x1(384, c)


def ir_c(c: int) -> int:  # Fig. 19
    return cbn(c, 192, 1) + cbn(c, 192, 1) + cbn(192, 224, 1, 3) + cbn(224, 256, 3, 1) + linear_1x1(448, c)


def reduction_a_irv2(c: int) -> int:  # Fig. 7 with k, l, m, n = 256, 256, 384, 384
    return cbn(c, 384, 3) + cbn(c, 256, 1) + cbn(256, 256, 3) + cbn(256, 384, 3)


def reduction_b_irv2(c: int) -> int:  # Fig. 18
    return 3 * cbn(c, 256, 1) + cbn(256, 384, 3) + cbn(256, 288, 3) + cbn(256, 288, 3) + cbn(288, 320, 3)


STEM_V3 = (  # the reference's stem: Inception-v3's, then a 35×35 Inception module (Mixed_5b)
    cbn(3, 32, 3)
    + cbn(32, 32, 3)
    + cbn(32, 64, 3)
    + cbn(64, 80, 1)
    + cbn(80, 192, 3)
    + cbn(192, 96, 1)
    + cbn(192, 48, 1)
    + cbn(48, 64, 5)
    + cbn(192, 64, 1)
    + cbn(64, 96, 3)
    + cbn(96, 96, 3)
    + cbn(192, 64, 1)
)


def test_module_parameter_counts_match_the_figures() -> None:
    with torch.device("meta"):
        assert n_params(StemV4(3)) == STEM_V4 and StemV4(3).out_chans == 384
        assert n_params(StemV3(3)) == STEM_V3 and StemV3(3).out_chans == 320
        assert n_params(InceptionA(384)) == INCEPTION_A
        assert n_params(ReductionA(384, 192, 224, 256, 384)) == REDUCTION_A_V4
        assert n_params(InceptionB(1024)) == INCEPTION_B
        assert n_params(ReductionB(1024)) == REDUCTION_B_V4
        assert n_params(InceptionC(1536)) == INCEPTION_C
        assert n_params(InceptionResNetA(320)) == ir_a(320)
        assert n_params(InceptionResNetB(1088)) == ir_b(1088)
        assert n_params(InceptionResNetC(2080)) == ir_c(2080)
        assert n_params(ReductionA(320, 256, 256, 384, 384)) == reduction_a_irv2(320)
        assert n_params(ReductionResNetB(1088)) == reduction_b_irv2(1088)


def test_whole_network_hand_counts_equal_timm() -> None:
    fc = 1536 * 1000 + 1000
    v4 = STEM_V4 + 4 * INCEPTION_A + REDUCTION_A_V4 + 7 * INCEPTION_B + REDUCTION_B_V4 + 3 * INCEPTION_C + fc
    assert v4 == 42_679_816 == count_params("inception_v4")
    irv2 = (
        STEM_V3
        + 10 * ir_a(320)
        + reduction_a_irv2(320)
        + 20 * ir_b(1088)
        + reduction_b_irv2(1088)
        + 10 * ir_c(2080)
        + cbn(2080, 1536, 1)  # the reference's final 1×1 convolution
        + fc
    )
    assert irv2 == 55_843_464 == count_params("inception_resnet_v2")
    # the paper's Fig. 15: Fig. 3 stem (384), 5/10/5 blocks, widths 384 → 1152 → 2144, no final conv
    paper = (
        STEM_V4
        + 5 * ir_a(384)
        + reduction_a_irv2(384)
        + 10 * ir_b(1152)
        + reduction_b_irv2(1152)
        + 5 * ir_c(2144)
        + 2144 * 1000
        + 1000
    )
    assert count_params("inception_resnet_v2_paper") == paper


@pytest.mark.parametrize(
    ("name", "widths"),
    [
        ("inception_v4", (384, 1024, 1536, 1536)),
        ("inception_resnet_v2", (320, 1088, 2080, 1536)),
        ("inception_resnet_v2_paper", (384, 1152, 2144, 2144)),
    ],
)
def test_grid_sizes_at_299(name: str, widths: tuple[int, int, int, int]) -> None:
    shapes: dict[str, tuple[int, ...]] = {}
    with torch.device("meta"):
        model = create_model(name).eval()
        for stage in ("stem", "blocks_a", "reduction_a", "reduction_b"):
            getattr(model, stage).register_forward_hook(lambda m, i, o, s=stage: shapes.__setitem__(s, tuple(o.shape)))
        feats = model.forward_features(torch.empty(2, 3, 299, 299))
    assert shapes["stem"] == shapes["blocks_a"] == (2, widths[0], 35, 35)
    assert shapes["reduction_a"] == (2, widths[1], 17, 17)
    assert shapes["reduction_b"] == (2, widths[2], 8, 8)
    assert tuple(feats.shape) == (2, widths[3], 8, 8) and model.num_features == widths[3]
    assert model.min_input_size == 75


def _plain(cin: int, cout: int, kernel: tuple[int, int], padding: tuple[int, int]) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, kernel, padding=padding, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU()).eval()


def test_inception_c_equals_plain_layers_with_copied_weights() -> None:
    """Fig. 6 written out from nn.Conv2d/BatchNorm2d/ReLU layers with the same weights and statistics."""
    torch.manual_seed(0)
    cin = 20
    block = InceptionC(cin, width_mult=1 / 32).eval()  # 256 → 8, 384 → 12, 448 → 14, 512 → 16
    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    one, r3, c3 = ((1, 1), (0, 0)), ((1, 3), (0, 1)), ((3, 1), (1, 0))
    plain = [
        _plain(cin, 8, *one),  # 1×1 (256)
        _plain(cin, 12, *one),  # 1×1 (384) → [1×3 (256) ‖ 3×1 (256)]
        _plain(12, 8, *r3),
        _plain(12, 8, *c3),
        _plain(cin, 12, *one),  # 1×1 (384) → 3×1 (448) → 1×3 (512) → [1×3 (256) ‖ 3×1 (256)]
        _plain(12, 14, *c3),
        _plain(14, 16, *r3),
        _plain(16, 8, *r3),
        _plain(16, 8, *c3),
        _plain(cin, 8, *one),  # avg pool → 1×1 (256)
    ]
    ours = [m for m in block.modules() if isinstance(m, BasicConv2d)]
    for a, b in zip(ours, plain, strict=True):
        b[0].weight.data.copy_(a.conv.weight)
        b[1].load_state_dict(a.bn.state_dict())
    x = torch.randn(2, cin, 6, 6)
    mid1, mid2 = plain[1](x), plain[6](plain[5](plain[4](x)))
    expected = torch.cat(
        [
            plain[0](x),
            plain[2](mid1),
            plain[3](mid1),
            plain[7](mid2),
            plain[8](mid2),
            plain[9](F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)),
        ],
        dim=1,
    )
    torch.testing.assert_close(block(x), expected)


@pytest.mark.parametrize("block_cls", [InceptionResNetA, InceptionResNetB, InceptionResNetC])
def test_residual_scaling(block_cls: type) -> None:
    torch.manual_seed(0)
    block = block_cls(16, scale=0.17, width_mult=1 / 16).eval()
    x = torch.randn(2, 16, 5, 5)
    residual = block.up(torch.cat([b(x) for b in block.branches.branches], dim=1))  # W·concat(branches)
    torch.testing.assert_close(block(x), F.relu(x + 0.17 * residual))
    nn.init.zeros_(block.up.weight)
    nn.init.zeros_(block.up.bias)
    torch.testing.assert_close(block(x), F.relu(x))  # a zero branch leaves identity + ReLU
    linear = block_cls(16, scale=1.0, final_act=False, width_mult=1 / 16).eval()  # the reference's last block
    nn.init.zeros_(linear.up.weight)
    nn.init.zeros_(linear.up.bias)
    torch.testing.assert_close(linear(x), x)


def test_drop_path_drops_whole_residual_branches() -> None:
    torch.manual_seed(0)
    block = InceptionResNetB(16, scale=0.1, drop_path=0.5, width_mult=1 / 16).eval()
    x = torch.randn(64, 16, 3, 3)
    kept = block(x)  # eval: no dropping
    block.train()
    for m in block.modules():  # freeze batch statistics so only DropPath is random
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    out = block(x)
    relu_x = F.relu(x)
    residual = 0.1 * block.up(torch.cat([b(x) for b in block.branches.branches], dim=1))
    dropped = torch.isclose(out, relu_x).flatten(1).all(1)
    scaled = torch.isclose(out, F.relu(x + residual / 0.5), atol=1e-6).flatten(1).all(1)
    assert torch.all(dropped ^ scaled) and 10 < dropped.sum() < 54  # each example: dropped or rescaled
    torch.testing.assert_close(kept, F.relu(x + residual))
    assert torch.equal(DropPath(0.3).eval()(x), x)
    with pytest.raises(ValueError, match="drop_prob"):
        DropPath(1.0)


def test_drop_path_rate_grows_linearly_with_depth() -> None:
    with torch.device("meta"):
        model = InceptionResNetV2(stem="v4", depths=(2, 3, 2), drop_path_rate=0.3, width_mult=1 / 16)
    rates = [b.drop_path.drop_prob for s in (model.blocks_a, model.blocks_b, model.blocks_c) for b in s]
    assert rates == pytest.approx([0.3 * i / 6 for i in range(7)])
    assert [b.scale for b in model.blocks_c] == [0.20, 1.0]  # the reference's last block is unscaled and linear
    assert isinstance(model.blocks_c[-1].act, nn.Identity) and isinstance(model.blocks_c[0].act, nn.ReLU)


def test_dropout_default_is_keep_probability_point_eight() -> None:
    with torch.device("meta"):
        assert create_model("inception_v4").head_drop.p == 0.2
        assert create_model("inception_resnet_v2").head_drop.p == 0.2


@pytest.mark.parametrize("name", ["inception_v4_tiny", "inception_resnet_v2_tiny"])
def test_tiny_forward_backward_reset_and_validation(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name)
    x = torch.randn(2, 3, 139, 139)
    model(x).square().sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.reset_classifier(4)
    assert model(x).shape == (2, 4)
    model.reset_classifier(0)
    assert model(x).shape == (2, model.num_features)
    with pytest.raises(ValueError, match="expected images of at least 75"):
        model(torch.randn(1, 3, 74, 74))
    with pytest.raises(ValueError, match="expected"):
        model(torch.randn(1, 4, 139, 139))


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="stem"):
        InceptionResNetV2(stem="v5")
    with pytest.raises(ValueError, match="drop_path_rate"):
        InceptionResNetV2(drop_path_rate=1.0)
    with pytest.raises(ValueError, match="depths"):
        InceptionV4(depths=(4, 0, 3))
    with pytest.raises(ValueError, match="residual scale"):
        InceptionResNetA(32, scale=0.0)
