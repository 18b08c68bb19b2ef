"""Video ResNets (Tran et al. 2018): parameter counts against torchvision / VMZ and against a closed-form count
from Table 1 and §3.5, the (2+1)D conv against a plain nn.Conv3d stack with the same weights and against the
full 3D conv whose kernel is the rank-M sum of temporal ⊗ spatial kernels, blocks against a functional
rebuild, M_i against hand-computed values, and multiply-accumulates against torchvision's published figures."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import paperzoo
from paperzoo.models.video.resnet3d import (
    Conv2Plus1D,
    VideoBasicBlock,
    VideoResNet,
    midplanes_2plus1d,
    mixed_conv_types,
)
from paperzoo.registry import count_params, get_model_entry

# torchvision weight tables ("num_params"); VMZ counts worked out by ``closed_form_count`` below.
REFERENCE = {
    "r3d_18": 33_371_472,
    "mc3_18": 11_695_440,
    "r2plus1d_18": 31_505_325,
    "r3d_34": 63_681_104,
    "r2plus1d_18_paper": 33_370_839,
    "r2plus1d_34": 63_697_175,
}

# torchvision weight tables, "GFLOPS" (its "_ops" meta: multiply-accumulates per 16×112×112 clip).
TORCHVISION_GMACS = {"r3d_18": 40.697, "mc3_18": 43.343, "r2plus1d_18": 40.519}


def closed_form_count(layers, kinds, stem, midplanes, num_classes=400) -> int:
    """Parameters of Table 1's network from the layer shapes alone (no modules built).

    3D conv t×d×d: t·d²·N_in·N_out; (2+1)D: d²·N_in·M + 2M (BN) + t·M·N_out; BN: 2N; shortcut: N_in·N_out + 2N.
    """

    def m_i(n_in, n_out):
        return (27 * n_in * n_out) // (9 * n_in + 3 * n_out)

    def conv(kind, n_in, n_out, mid):
        return {"3d": 27 * n_in * n_out, "2d": 9 * n_in * n_out, "2+1d": 9 * n_in * mid + 2 * mid + 3 * mid * n_out}[
            kind
        ]

    total = {"3d": 3 * 147 * 64, "2d": 3 * 49 * 64, "2+1d": 3 * 49 * 45 + 2 * 45 + 3 * 45 * 64}[stem] + 2 * 64
    n_in = 64
    for stage, (n, width, kind) in enumerate(zip(layers, (64, 128, 256, 512), kinds)):
        for j in range(n):
            mid1 = m_i(n_in, width)
            mid2 = mid1 if midplanes == "torchvision" else m_i(width, width)
            total += conv(kind, n_in, width, mid1) + conv(kind, width, width, mid2) + 4 * width
            if n_in != width or (stage > 0 and j == 0):
                total += n_in * width + 2 * width
            n_in = width
    return total + 512 * num_classes + num_classes


def meta_model(name: str, **kw) -> VideoResNet:
    with torch.device("meta"):
        return paperzoo.create_model(name, **kw)


def randomise_bn(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN affine parameters and running statistics, so that eval-mode BN is not the identity."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm3d):
            c = m.num_features
            m.weight.data = torch.rand(c, generator=g) + 0.5
            m.bias.data = torch.randn(c, generator=g) * 0.1
            m.running_mean = torch.randn(c, generator=g) * 0.1
            m.running_var = torch.rand(c, generator=g) + 0.5


def bn(x: torch.Tensor, m: nn.BatchNorm3d) -> torch.Tensor:
    return F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_parameter_counts_match_references_and_closed_form(name: str) -> None:
    assert get_model_entry(name).reference_params == REFERENCE[name]
    assert count_params(name) == REFERENCE[name]
    m = meta_model(name)
    layers = tuple(len(s) for s in m.stages())
    assert closed_form_count(layers, m.conv_types, m.stem_type, m.midplanes) == REFERENCE[name]


def test_mid_channels_match_hand_computed_values() -> None:
    # M_i = floor(3·9·N_{i-1}·N_i / (9·N_{i-1} + 3·N_i)) for every (N_{i-1}, N_i) of the 18/34-layer nets.
    hand = {(64, 64): 144, (64, 128): 230, (128, 128): 288, (128, 256): 460, (256, 256): 576, (256, 512): 921}
    hand[(512, 512)] = 1152
    for (n_in, n_out), m in hand.items():
        assert midplanes_2plus1d(n_in, n_out) == m
    # Equal-width convs: M = 27N² / 12N = 2.25 N exactly, so the (2+1)D conv has the 3D conv's 27N² weights.
    assert 9 * 64 * 144 + 3 * 144 * 64 == 27 * 64 * 64
    # The stem's 45 is not the formula (3×7×7 conv from 3 to 64 channels would give 83).
    assert midplanes_2plus1d(3, 64, t=3, d=7) == 83


def test_midplanes_modes_differ_only_in_the_second_conv_of_widening_blocks() -> None:
    paper, tv = meta_model("r2plus1d_18_paper"), meta_model("r2plus1d_18")
    for name in ("layer2", "layer3", "layer4"):
        p, t = getattr(paper, name)[0], getattr(tv, name)[0]
        assert p.conv1[0].mid_chs == t.conv1[0].mid_chs == t.conv2[0].mid_chs
        assert p.conv2[0].mid_chs == midplanes_2plus1d(p.conv2[0][0].in_channels, p.conv2[0][3].out_channels)
    assert [paper.layer2[0].conv1[0].mid_chs, paper.layer2[0].conv2[0].mid_chs] == [230, 288]
    assert tv.layer2[0].conv2[0][0].weight.shape == (230, 128, 1, 3, 3)  # torchvision's layer2.0.conv2.0.0
    assert paper.layer1[0].conv1[0].mid_chs == paper.layer1[0].conv2[0].mid_chs == 144


def test_state_dict_keys_follow_torchvision() -> None:
    keys = set(meta_model("r2plus1d_18").state_dict())
    for k in ("stem.0.weight", "stem.1.running_var", "stem.3.weight", "stem.4.weight", "layer1.0.conv1.0.0.weight"):
        assert k in keys
    for k in ("layer1.0.conv1.0.1.weight", "layer1.0.conv1.0.3.weight", "layer1.0.conv1.1.weight"):
        assert k in keys
    assert {"layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight", "fc.weight", "fc.bias"} <= keys
    assert "layer1.0.downsample.0.weight" not in keys
    r3d = meta_model("r3d_18").state_dict()
    assert r3d["stem.0.weight"].shape == (64, 3, 3, 7, 7) and r3d["layer1.0.conv1.0.weight"].shape == (64, 64, 3, 3, 3)


def test_conv2plus1d_equals_an_explicit_conv3d_stack() -> None:
    torch.manual_seed(0)
    conv = Conv2Plus1D(6, 10, stride=2)
    randomise_bn(conv)
    spatial = nn.Conv3d(6, conv.mid_chs, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False)
    norm = nn.BatchNorm3d(conv.mid_chs)
    temporal = nn.Conv3d(conv.mid_chs, 10, (3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0), bias=False)
    spatial.weight.data.copy_(conv[0].weight)
    temporal.weight.data.copy_(conv[3].weight)
    norm.load_state_dict(conv[1].state_dict())
    reference = nn.Sequential(spatial, norm, nn.ReLU(), temporal)
    assert conv.mid_chs == (27 * 6 * 10) // (9 * 6 + 3 * 10)
    x = torch.randn(2, 6, 5, 9, 9)
    for mode in (True, False):  # batch statistics, then running statistics
        conv.train(mode), reference.train(mode)
        y = conv(x)
        assert y.shape == (2, 10, 3, 5, 5)
        torch.testing.assert_close(y, reference(x))


@pytest.mark.parametrize("mid, stride", [(1, 1), (4, 2)])
def test_linear_conv2plus1d_is_a_3d_conv_with_a_rank_m_kernel(mid: int, stride: int) -> None:
    """Without the BN and ReLU between them, the two convs compose to one t×d×d conv whose kernel is
    Σ_m temporal[o, m, t] · spatial[m, i, h, w] (rank 1 for M = 1)."""
    torch.manual_seed(0)
    conv = Conv2Plus1D(3, 5, mid_chs=mid, stride=stride, norm_layer=lambda c: nn.Identity(), act_layer=nn.Identity)
    spatial = conv[0].weight[:, :, 0]  # (M, in, 3, 3)
    temporal = conv[3].weight[:, :, :, 0, 0]  # (out, M, 3)
    kernel = torch.einsum("omt,mihw->oithw", temporal, spatial)  # (out, in, 3, 3, 3)
    x = torch.randn(2, 3, 6, 8, 8)
    torch.testing.assert_close(conv(x), F.conv3d(x, kernel, stride=stride, padding=1), rtol=1e-4, atol=1e-5)


def _conv_ref(x, conv: nn.Module) -> torch.Tensor:
    """Functional version of one make_conv module (3D, 2D or (2+1)D)."""
    if isinstance(conv, Conv2Plus1D):
        x = F.conv3d(x, conv[0].weight, stride=conv[0].stride, padding=conv[0].padding)
        x = F.relu(bn(x, conv[1]))
        return F.conv3d(x, conv[3].weight, stride=conv[3].stride, padding=conv[3].padding)
    return F.conv3d(x, conv.weight, stride=conv.stride, padding=conv.padding)


@pytest.mark.parametrize("kind", ["3d", "2d", "2+1d"])
@pytest.mark.parametrize("stride, in_chs", [(1, 8), (2, 4)])
def test_basic_block_matches_functional_rebuild(kind: str, stride: int, in_chs: int) -> None:
    torch.manual_seed(0)
    block = VideoBasicBlock(in_chs, 8, conv_type=kind, stride=stride).eval()
    randomise_bn(block)
    x = torch.randn(2, in_chs, 4, 8, 8)
    h = F.relu(bn(_conv_ref(x, block.conv1[0]), block.conv1[1]))
    h = bn(_conv_ref(h, block.conv2[0]), block.conv2[1])
    if stride == 1 and in_chs == 8:
        assert block.downsample is None
        shortcut = x
    else:
        ds = block.downsample[0]
        # 2D blocks keep T in the shortcut too; 3D and (2+1)D blocks halve it.
        assert ds.stride == ((1, 2, 2) if kind == "2d" else (2, 2, 2))
        shortcut = bn(F.conv3d(x, ds.weight, stride=ds.stride), block.downsample[1])
    torch.testing.assert_close(block(x), F.relu(h + shortcut))


def test_mixed_convolution_layouts() -> None:
    assert mixed_conv_types(3) == ("3d", ("3d", "2d", "2d", "2d"))  # MC3: 3D conv1, conv2_x
    assert mixed_conv_types(5) == ("3d", ("3d", "3d", "3d", "2d"))
    assert mixed_conv_types(3, reverse=True) == ("2d", ("2d", "3d", "3d", "3d"))  # rMC3
    with pytest.raises(ValueError, match="level"):
        mixed_conv_types(6)
    mc3 = meta_model("mc3_18")
    assert mc3.layer1[0].conv1[0].kernel_size == (3, 3, 3)
    assert all(getattr(mc3, f"layer{i}")[0].conv1[0].kernel_size == (1, 3, 3) for i in (2, 3, 4))


@pytest.mark.parametrize("name, t_out", [("r3d_18", 2), ("mc3_18", 16), ("r2plus1d_18", 2)])
def test_feature_map_shapes_at_16x112x112(name: str, t_out: int) -> None:
    model = meta_model(name)
    x = torch.empty(1, 3, 16, 112, 112, device="meta")
    feats = model.forward_features(x)
    assert feats.shape == (1, 512, t_out, 7, 7)  # MC3's 2D stages never stride in time
    assert model.forward_head(feats).shape == (1, 400)
    assert model.forward_head(feats, pre_logits=True).shape == (1, 512)


@pytest.mark.parametrize("name", sorted(TORCHVISION_GMACS))
def test_macs_match_torchvision(name: str) -> None:
    model = meta_model(name).eval()
    x = torch.empty(1, 3, 16, 112, 112, device="meta")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    gmacs = counter.get_total_flops() / 2e9
    assert gmacs == pytest.approx(TORCHVISION_GMACS[name], rel=0.02)


def test_tiny_variant_learns_a_step_and_rejects_bad_input() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("r2plus1d_tiny", num_classes=3)
    x, y = torch.randn(4, 3, 4, 32, 32), torch.tensor([0, 1, 2, 0])
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="expected"):
        model(torch.randn(2, 3, 32, 32))
    model.reset_classifier(0)
    assert model(x).shape == (4, 64)


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="conv_types"):
        VideoResNet(conv_types=("3d", "4d", "3d", "3d"))
    with pytest.raises(ValueError, match="midplanes"):
        VideoResNet(midplanes="timm")
    with pytest.raises(ValueError, match="stem"):
        VideoResNet(stem="1d")
    with pytest.raises(ValueError, match="odd"):
        Conv2Plus1D(3, 4, kernel_size=(2, 3, 3))
    with pytest.raises(ValueError, match="drop_rate"):
        VideoResNet(drop_rate=1.0)
