"""ResNet / ResNeXt (He et al. 2015; Xie et al. 2016): parameter counts against torchvision and akamaster and
against sub-block counts worked out by hand, blocks against a functional rebuild with the same weights,
option-A shortcuts against a naive loop, the plain twins against the ResNets with their shortcuts cut."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paperzoo
from paperzoo.models.vision.resnet import BasicBlock, Bottleneck, PadShortcut, ResNet
from paperzoo.registry import count_params, get_model_entry

REFERENCE = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnet50_v1": 25_557_032,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272,
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
}


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def meta_model(name: str, **kw) -> ResNet:
    with torch.device("meta"):
        return paperzoo.create_model(name, **kw)


def blocks(model: ResNet) -> list[nn.Module]:
    return [b for stage in model.stages() for b in stage]


def randomise_bn(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN affine parameters and running statistics, so that eval-mode BN is not the identity."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = torch.rand(c, generator=g) + 0.5
            m.bias.data = torch.randn(c, generator=g) * 0.1
            m.running_mean = torch.randn(c, generator=g) * 0.1
            m.running_var = torch.rand(c, generator=g) + 0.5


# --- parameter counts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_parameter_count_matches_reference(name: str) -> None:
    assert get_model_entry(name).reference_params == REFERENCE[name]
    assert count_params(name) == REFERENCE[name]


def test_cifar_counts_closed_form_and_plain_twins_equal() -> None:
    # §4.2: 3×3 stem (3·16·9 + BN), then n blocks of two 3×3 convs + 2 BN at 16, 32, 64 filters, fc 64 → 10.
    # Option A adds no parameters, so the plain twin has exactly the same count.
    for n, name in [(3, "resnet20"), (5, "resnet32"), (7, "resnet44"), (9, "resnet56")]:
        expected = 3 * 16 * 9 + 2 * 16 + 64 * 10 + 10
        for i, c in enumerate((16, 32, 64)):
            c_in = 16 if i == 0 else c // 2
            expected += (c_in * c * 9 + 2 * c) + (c * c * 9 + 2 * c)  # first block may widen
            expected += (n - 1) * 2 * (c * c * 9 + 2 * c)
        assert count_params(name) == expected
        assert count_params(name.replace("resnet", "plain")) == expected


def test_plain_imagenet_count_is_resnet_minus_projections() -> None:
    # Option B projections of ResNet-18/34: 1×1 convs 64→128, 128→256, 256→512 plus their BNs.
    proj = sum(c * 2 * c + 2 * 2 * c for c in (64, 128, 256))
    assert count_params("plain18") == REFERENCE["resnet18"] - proj
    assert count_params("plain34") == REFERENCE["resnet34"] - proj


def test_depth_counts_weighted_layers() -> None:
    # The depth in a ResNet's name counts convs and the fc, not the shortcut projections.
    def depth(m: ResNet) -> int:
        proj = {id(mod) for b in blocks(m) if b.downsample is not None for mod in b.downsample.modules()}
        return sum(isinstance(mod, (nn.Conv2d, nn.Linear)) and id(mod) not in proj for mod in m.modules())

    for name, d in [("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("resnet101", 101), ("resnet152", 152)]:
        assert depth(meta_model(name)) == d
    for name, d in [("resnet20", 20), ("resnet56", 56), ("resnet110", 110), ("plain32", 32)]:
        assert depth(meta_model(name)) == d


def test_block_parameter_counts_by_hand() -> None:
    # Bottleneck 256 → 64 → 256 (conv2_x, identity shortcut): 256·64 + 64·64·9 + 64·256 = 69,632 conv weights,
    # BN γ, β on 64 + 64 + 256 channels.
    b = Bottleneck(256, 64)
    assert sum(p.numel() for n, p in b.named_parameters() if "conv" in n) == 69_632
    assert n_params(b) == 69_632 + 2 * (64 + 64 + 256)
    # First bottleneck of conv2_x: 64 in, so a 64 → 256 projection (option B) is added.
    assert n_params(Bottleneck(64, 64)) == 64 * 64 + 64 * 64 * 9 + 64 * 256 + 64 * 256 + 2 * (64 + 64 + 256 + 256)
    assert n_params(Bottleneck(64, 64, shortcut="A")) == 64 * 64 + 64 * 64 * 9 + 64 * 256 + 2 * (64 + 64 + 256)
    # Basic block 64 → 64: two 3×3 convs, two BNs.
    assert n_params(BasicBlock(64, 64)) == 2 * 64 * 64 * 9 + 4 * 64
    # Option C projects even when shapes match.
    assert n_params(BasicBlock(64, 64, shortcut="C")) == 2 * 64 * 64 * 9 + 4 * 64 + 64 * 64 + 2 * 64


def test_resnext_grouped_widths() -> None:
    # Xie et al. Table 1: ResNeXt-50 (32×4d) conv2 has a 128-wide grouped 3×3 (C = 32), doubling per stage to 1024.
    m = meta_model("resnext50_32x4d")
    for stage, width in zip(m.stages(), (128, 256, 512, 1024)):
        conv = stage[0].conv2
        assert (conv.in_channels, conv.out_channels, conv.groups) == (width, width, 32)
        assert tuple(conv.weight.shape) == (width, width // 32, 3, 3)
        assert stage[0].conv3.out_channels == {128: 256, 256: 512, 512: 1024, 1024: 2048}[width]
    assert meta_model("resnext101_32x8d").layer1[0].conv2.out_channels == 256
    assert meta_model("resnext101_64x4d").layer1[0].conv2.groups == 64
    # A grouped 3×3 of width 128 in 32 groups has 128·4·9 weights (32× fewer than a dense one).
    assert Bottleneck(256, 64, groups=32, width_per_group=4).conv2.weight.numel() == 128 * 4 * 9


# --- blocks against a functional rebuild -----------------------------------------------------------------------


def _bn(x: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    return (x - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None] + bn.eps) * bn.weight[
        :, None, None
    ] + bn.bias[:, None, None]


@pytest.mark.parametrize("stride_in_1x1", [False, True])
@pytest.mark.parametrize("groups", [1, 4])
def test_bottleneck_matches_functional_reference(stride_in_1x1: bool, groups: int) -> None:
    torch.manual_seed(0)
    b = Bottleneck(16, 8, stride=2, groups=groups, width_per_group=16, stride_in_1x1=stride_in_1x1)
    randomise_bn(b)
    b.eval()
    x = torch.randn(2, 16, 9, 9)
    # Reference: a stride-2 1×1 conv is a 1×1 conv on the even pixels; the 3×3 then runs at the low resolution.
    # The v1.5 placement instead runs the 1×1 at full resolution and subsamples in the 3×3.
    if stride_in_1x1:
        h = F.relu(_bn(F.conv2d(x[:, :, ::2, ::2], b.conv1.weight), b.bn1))
        h = F.relu(_bn(F.conv2d(h, b.conv2.weight, padding=1, groups=groups), b.bn2))
    else:
        h = F.relu(_bn(F.conv2d(x, b.conv1.weight), b.bn1))
        h = F.relu(_bn(F.conv2d(h, b.conv2.weight, stride=2, padding=1, groups=groups), b.bn2))
    h = _bn(F.conv2d(h, b.conv3.weight), b.bn3)
    short = _bn(F.conv2d(x[:, :, ::2, ::2], b.downsample[0].weight), b.downsample[1])
    expected = F.relu(h + short)
    torch.testing.assert_close(b(x), expected, rtol=1e-5, atol=1e-5)
    assert b.conv2.weight.shape[1] == int(8 * 16 / 64) * groups // groups


def test_stride_placement_v1_vs_v15() -> None:
    v15, v1 = meta_model("resnet50"), meta_model("resnet50_v1")
    for i, (s15, s1) in enumerate(zip(v15.stages(), v1.stages())):
        stride = (1, 1) if i == 0 else (2, 2)
        assert (s15[0].conv1.stride, s15[0].conv2.stride) == ((1, 1), stride)
        assert (s1[0].conv1.stride, s1[0].conv2.stride) == (stride, (1, 1))
        assert s1[0].downsample[0].stride == s15[0].downsample[0].stride == stride
        for b in list(s15[1:]) + list(s1[1:]):  # only the first block of a stage subsamples
            assert b.conv1.stride == b.conv2.stride == (1, 1)
    # Same code path at toy width: both placements end in 7×7 maps at 224×224.
    for flag in (False, True):
        m = paperzoo.create_model("resnet_tiny", stride_in_1x1=flag).eval()
        with torch.no_grad():
            assert m.forward_features(torch.randn(1, 3, 224, 224)).shape == (1, 256, 7, 7)
    # The full network with the paper's placement too, on the meta device (shapes only).
    feats = v1.forward_features(torch.empty(1, 3, 224, 224, device="meta"))
    assert feats.shape == (1, 2048, 7, 7)


# --- option A and the plain twins -------------------------------------------------------------------------------


def test_option_a_equals_naive_zero_pad_and_subsample() -> None:
    torch.manual_seed(0)
    for c_in, c_out, stride, hw in [(16, 32, 2, 8), (32, 64, 2, 7), (16, 16, 1, 5), (8, 14, 2, 5)]:
        x = torch.randn(2, c_in, hw, hw)
        h = w = math.ceil(hw / stride)
        front = (c_out - c_in) // 2
        expected = torch.zeros(2, c_out, h, w)
        for i in range(h):
            for j in range(w):
                expected[:, front : front + c_in, i, j] = x[:, :, i * stride, j * stride]
        assert torch.equal(PadShortcut(c_in, c_out, stride)(x), expected)
    assert n_params(PadShortcut(16, 32, 2)) == 0
    m = meta_model("resnet20")
    assert isinstance(m.layer1[0].downsample, nn.Identity)
    assert isinstance(m.layer2[0].downsample, PadShortcut) and isinstance(m.layer3[0].downsample, PadShortcut)
    with pytest.raises(ValueError, match="option A can only add channels"):
        PadShortcut(32, 16)


def test_plain_twin_is_resnet_with_shortcuts_cut() -> None:
    torch.manual_seed(0)
    res, plain = paperzoo.create_model("resnet20"), paperzoo.create_model("plain20")
    randomise_bn(res)
    plain.load_state_dict(res.state_dict())  # strict: identical keys, option A has no parameters
    res.eval(), plain.eval()
    assert all(b.downsample is None for b in blocks(plain))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        with_shortcuts = res(x)
        handles = [b.downsample.register_forward_hook(lambda mod, inp, out: torch.zeros_like(out)) for b in blocks(res)]
        cut = res(x)
        for h in handles:
            h.remove()
        out = plain(x)
    torch.testing.assert_close(out, cut, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(out, with_shortcuts, atol=1e-3)


def block_io(model: ResNet, x: torch.Tensor) -> list[tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """(block, block input, block output) for every residual block in one forward pass."""
    seen: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []
    handles = [b.register_forward_hook(lambda mod, inp, out: seen.append((mod, inp[0], out))) for b in blocks(model)]
    model(x)
    for h in handles:
        h.remove()
    return seen


def test_zero_init_residual_makes_every_block_its_shortcut() -> None:
    torch.manual_seed(0)
    for name in ("resnet_tiny", "resnet_cifar_tiny"):
        x = torch.randn(2, *get_model_entry(name).input_size)
        for zero in (True, False):
            m = paperzoo.create_model(name, zero_init_residual=zero)  # training mode: batch statistics
            with torch.no_grad():
                io = block_io(m, x)
                identical = [torch.allclose(out, F.relu(b.downsample(inp)), atol=1e-6) for b, inp, out in io]
            assert all(identical) if zero else not any(identical)
            assert any(isinstance(b.downsample, nn.Sequential | PadShortcut) for b, _, _ in io)  # non-identity too


# --- the rest of the interface ---------------------------------------------------------------------------------


def test_he_initialisation() -> None:
    torch.manual_seed(0)
    m = paperzoo.create_model("resnet18")
    conv = m.layer4[0].conv2  # 512 → 512, 3×3: fan-out = 512 · 9
    assert abs(conv.weight.std().item() / math.sqrt(2 / (512 * 9)) - 1) < 0.02
    bn = m.layer4[0].bn2
    assert torch.equal(bn.weight, torch.ones(512)) and torch.equal(bn.bias, torch.zeros(512))


def test_drop_path_rates_and_eval_identity() -> None:
    torch.manual_seed(0)
    m = paperzoo.create_model("resnet_cifar_tiny", drop_path_rate=0.2)
    rates = [getattr(b.drop_path, "drop_prob", 0.0) for b in blocks(m)]
    assert rates == pytest.approx([0.0, 0.1, 0.2])
    ref = paperzoo.create_model("resnet_cifar_tiny")
    ref.load_state_dict(m.state_dict())
    x = torch.randn(4, 3, 32, 32)
    m.eval(), ref.eval()
    torch.testing.assert_close(m(x), ref(x))  # stochastic depth is the identity at test time
    m.train(), ref.train()
    torch.manual_seed(1)
    assert not torch.allclose(m(x), ref(x))


def test_reset_classifier_and_pre_logits() -> None:
    torch.manual_seed(0)
    m = paperzoo.create_model("resnet_tiny").eval()
    x = torch.randn(2, 3, 64, 64)
    feats = m.forward_features(x)
    pooled = m.forward_head(feats, pre_logits=True)
    torch.testing.assert_close(pooled, feats.mean(dim=(2, 3)))
    torch.testing.assert_close(m(x), m.fc(pooled))
    m.reset_classifier(5)
    assert m(x).shape == (2, 5) and m.get_classifier().in_features == m.num_features == 256
    m.reset_classifier(0)
    torch.testing.assert_close(m(x), pooled)
    assert paperzoo.create_model("resnet_tiny", num_classes=0)(x).shape == (2, 256)


def test_norm_and_act_layers_are_used() -> None:
    m = paperzoo.create_model(
        "resnet_cifar_tiny", norm_layer=lambda c: nn.GroupNorm(4, c), act_layer=nn.SiLU, in_chans=1
    )
    assert not any(isinstance(mod, (nn.BatchNorm2d, nn.ReLU)) for mod in m.modules())
    assert sum(isinstance(mod, nn.SiLU) for mod in m.modules()) == 1 + 3  # stem + one per block
    assert m(torch.randn(2, 1, 32, 32)).shape == (2, 10)


def test_validation() -> None:
    m = paperzoo.create_model("resnet_cifar_tiny")
    with pytest.raises(ValueError, match="expected"):
        m(torch.randn(2, 4, 32, 32))
    with pytest.raises(ValueError, match="expected"):
        m(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="block must be"):
        ResNet("wide")
    with pytest.raises(ValueError, match="shortcut must be"):
        ResNet(shortcut="D")
    with pytest.raises(ValueError, match="BasicBlock supports only"):
        ResNet("basic", (2, 2, 2, 2), groups=32)
    with pytest.raises(ValueError, match="plain net"):
        paperzoo.create_model("plain20", drop_path_rate=0.1)
    with pytest.raises(ValueError, match="equally long"):
        ResNet(layers=(1, 1), widths=(8, 16, 32))
    with pytest.raises(ValueError, match="drop_rate"):
        ResNet(drop_rate=1.0)
