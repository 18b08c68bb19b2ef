"""SlowFast (Feichtenhofer et al. 2019): parameter counts against pytorchvideo and a count by hand from Table 1,
multiply-adds against the published figures, the lateral connection's temporal alignment, the reference's
PackPathway subsampling, and the bottleneck against a rebuild from plain convolutions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import paperzoo
from paperzoo.models.video.slowfast import Bottleneck3d, LateralConnection, SlowFast, pack_pathways
from paperzoo.registry import count_params, get_model_entry


def _table1_params(layers, *, lateral_kernel, c=64, beta_inv=8, ratio=2, classes=400, slow_kt=(1, 1, 3, 3)):
    """SlowFast parameters counted by hand from Table 1: convs without bias, BN (γ, β), the classifier."""

    def conv_bn(cin, cout, k):
        return cin * cout * k + 2 * cout

    def block(cin, inner, out, kt, stride):
        shortcut = conv_bn(cin, out, 1) if cin != out or stride != 1 else 0
        return shortcut + conv_bn(cin, inner, kt) + conv_bn(inner, inner, 9) + conv_bn(inner, out, 1)

    cf = c // beta_inv
    total = conv_bn(3, c, 1 * 7 * 7) + conv_bn(3, cf, 5 * 7 * 7)  # conv1: 1×7², C and 5×7², βC
    total += conv_bn(cf, ratio * cf, lateral_kernel)  # lateral after pool1
    slow_in, fast_in = c + ratio * cf, cf
    for i, depth in enumerate(layers):
        inner, stride = c * 2**i, 1 if i == 0 else 2
        out = 4 * inner
        for j in range(depth):
            total += block(slow_in if j == 0 else out, inner, out, slow_kt[i], stride if j == 0 else 1)
            fast_cin = fast_in if j == 0 else out // beta_inv
            total += block(fast_cin, inner // beta_inv, out // beta_inv, 3, stride if j == 0 else 1)
        if i < 3:
            total += conv_bn(out // beta_inv, ratio * out // beta_inv, lateral_kernel)
        slow_in, fast_in = out + (ratio * out // beta_inv if i < 3 else 0), out // beta_inv
    return total + (slow_in + fast_in) * classes + classes


@pytest.mark.parametrize(
    "name, layers, lateral_kernel, expected",
    [
        # Exact counts of pytorchvideo 0.1.5's builders (model zoo: 34.57M, 34.48M, 62.83M).
        ("slowfast_r50", (3, 4, 6, 3), 7, 34_566_488),
        ("slowfast_r50_8x8", (3, 4, 6, 3), 7, 34_566_488),
        ("slowfast_r50_4x16", (3, 4, 6, 3), 5, 34_480_216),
        ("slowfast_r101", (3, 4, 23, 3), 5, 62_826_968),
    ],
)
def test_parameter_count_matches_pytorchvideo_and_table1(name, layers, lateral_kernel, expected) -> None:
    assert get_model_entry(name).reference_params == expected
    assert count_params(name) == expected
    assert _table1_params(layers, lateral_kernel=lateral_kernel) == expected


def _macs(name: str, frames: int, size: int, alpha: int) -> float:
    """Multiply-adds as `paperzoo info` counts them: FlopCounterMode on meta, eval, no_grad, FLOPs / 2."""
    with torch.device("meta"):
        model = paperzoo.create_model(name).eval()
        x = pack_pathways(torch.empty(1, 3, frames, size, size), alpha)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
    return counter.get_total_flops() / 2 / 1e9


@pytest.mark.parametrize(
    "name, alpha, published",
    [
        # pytorchvideo docs/source/model_zoo.md (Kinetics-400, "Flops (G) x views", per 256² test view of
        # 32 fast frames; PySlowFast counts one multiply-add as one FLOP): SlowFast R50 8x8 65.71; paper
        # Table 2: 65.7.
        ("slowfast_r50", 4, 65.71),
        # Paper Table 2, SlowFast 4×16 R50: 36.1 GFLOPs (pytorchvideo's model zoo lists 36.69).
        ("slowfast_r50_4x16", 8, 36.1),
        # pytorchvideo model zoo, SlowFast R101 8x8: 127.20.
        ("slowfast_r101", 4, 127.20),
    ],
)
def test_multiply_adds_match_published_figures(name, alpha, published) -> None:
    assert _macs(name, 32, 256, alpha) == pytest.approx(published, rel=0.02)


def test_pack_pathways_uses_the_reference_linspace_indices() -> None:
    clip = torch.arange(32.0).view(1, 1, 32, 1, 1).expand(2, 3, 32, 4, 4)
    slow, fast = pack_pathways(clip, 4)
    # PackPathway: torch.linspace(0, T - 1, T // alpha).long(): 31·k/7 truncated.
    assert slow[0, 0, :, 0, 0].tolist() == [0, 4, 8, 13, 17, 22, 26, 31]
    assert fast is clip
    slow8, _ = pack_pathways(clip, 8)
    assert slow8[0, 0, :, 0, 0].tolist() == [0, 10, 20, 31]  # 31·k/3 truncated
    single, _ = pack_pathways(clip[0], 4)  # one (C, T, H, W) clip
    assert torch.equal(single, slow[0])
    with pytest.raises(ValueError, match="expected"):
        pack_pathways(torch.zeros(1, 3, 2, 4, 4), 4)


def test_lateral_connection_output_shape_and_temporal_alignment() -> None:
    """With a centre-tap identity kernel, slow frame t receives fast frame α·t (stride α, padding k // 2)."""
    torch.manual_seed(0)
    alpha, cf, cs, t_slow = 4, 3, 5, 6
    lateral = LateralConnection(cf, alpha=alpha, kernel=7, ratio=2).eval()
    conv, bn = lateral.conv[0], lateral.conv[1]
    assert conv.kernel_size == (7, 1, 1) and conv.stride == (alpha, 1, 1) and conv.out_channels == 2 * cf
    with torch.no_grad():
        conv.weight.zero_()
        for o in range(2 * cf):
            conv.weight[o, o % cf, 3] = 1.0  # output channel o copies fast channel o mod βC at the centre tap
    slow = torch.randn(2, cs, t_slow, 5, 5)
    fast = torch.rand(2, cf, alpha * t_slow, 5, 5) + 0.1  # positive: the ReLU keeps it
    out = lateral(slow, fast)
    assert out.shape == (2, cs + 2 * cf, t_slow, 5, 5)
    assert torch.equal(out[:, :cs], slow)
    scale = 1 / torch.sqrt(torch.tensor(1.0 + bn.eps))  # fresh BN in eval: x / sqrt(1 + eps)
    expected = fast[:, [o % cf for o in range(2 * cf)]][:, :, ::alpha] * scale
    torch.testing.assert_close(out[:, cs:], expected)


def test_table1_kernels_and_fusion_widths() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("slowfast_r50_4x16")
    stem = model.stages[0]
    assert stem.slow[0][0].kernel_size == (1, 7, 7) and stem.fast[0][0].kernel_size == (5, 7, 7)
    assert stem.fast[0][0].out_channels == 8  # β = 1/8 of 64
    slow_kt = [stage.slow[0].conv_a[0].kernel_size[0] for stage in model.stages[1:]]
    fast_kt = [stage.fast[0].conv_a[0].kernel_size[0] for stage in model.stages[1:]]
    assert slow_kt == [1, 1, 3, 3] and fast_kt == [3, 3, 3, 3]  # Table 1: non-degenerate only in res4, res5
    laterals = [stage.lateral for stage in model.stages]
    assert laterals[-1] is None  # no fusion after res5
    convs = [lat.conv[0] for lat in laterals[:-1]]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(8, 16), (32, 64), (64, 128), (128, 256)]
    assert all(c.kernel_size == (5, 1, 1) and c.stride == (8, 1, 1) for c in convs)
    # The Slow stage after each lateral reads C + 2βC channels (80, 320, 640, 1280).
    assert [s.slow[0].conv_a[0].in_channels for s in model.stages[1:]] == [80, 320, 640, 1280]
    assert model.num_features == 2048 + 256


def test_bottleneck_matches_plain_convolutions() -> None:
    torch.manual_seed(0)
    block = Bottleneck3d(6, 4, 12, temporal_kernel=3, stride=2).eval()
    for m in block.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.normal_(m.bias, std=0.1)
            m.running_mean.normal_(std=0.1)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, 6, 4, 9, 9)

    def bn(seq, y):
        b = seq[1]
        return F.batch_norm(y, b.running_mean, b.running_var, b.weight, b.bias, False, 0.0, b.eps)

    a = F.relu(bn(block.conv_a, F.conv3d(x, block.conv_a[0].weight, padding=(1, 0, 0))))
    b = F.relu(bn(block.conv_b, F.conv3d(a, block.conv_b[0].weight, stride=(1, 2, 2), padding=(0, 1, 1))))
    c = bn(block.conv_c, F.conv3d(b, block.conv_c[0].weight))
    short = bn(block.shortcut, F.conv3d(x, block.shortcut[0].weight, stride=(1, 2, 2)))
    with torch.no_grad():
        torch.testing.assert_close(block(x), F.relu(c + short))


def test_forward_shapes_head_and_input_checks() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("slowfast_tiny").eval()
    x = pack_pathways(torch.randn(2, 3, 8, 32, 32), 4)
    with torch.no_grad():
        slow, fast = model.forward_features(x)
        assert slow.shape == (2, 512, 2, 1, 1) and fast.shape == (2, 128, 8, 1, 1)  # 32C, 32βC at H/32
        pooled = model.forward_head([slow, fast], pre_logits=True)
        torch.testing.assert_close(pooled, torch.cat([slow.mean((2, 3, 4)), fast.mean((2, 3, 4))], 1))
        torch.testing.assert_close(model(x), model.fc(pooled))
    with pytest.raises(ValueError, match="expected the fast clip"):
        model([x[0], x[1][:, :, :6]])  # fast must have α·T frames
    with pytest.raises(ValueError, match="expected a list"):
        model(x[1])
    assert paperzoo.create_model("slowfast_tiny", num_classes=0)(x).shape == (2, 640)
    with pytest.raises(ValueError, match="beta_inv"):
        SlowFast(stem_width=64, beta_inv=7)
