"""I3D (Carreira & Zisserman 2017) against pytorch-i3d's structure and the boring-video fixed point.

References used: pytorch-i3d's ``InceptionI3d`` parameter count recomputed by hand from its layer table
(Unit3D = k³·C_in·C_out conv + 2·C_out BN, widths of GoogLeNet's Table 1); TensorFlow's 'SAME' padding
rule; the 2D network itself (a small CNN, a ResNet bottleneck, paperzoo's GoogLeNet) on the frames of a
clip of identical frames; Sonnet's head (2×7×7 average pool, 1×1×1 conv, mean over time) rebuilt
with ``F.avg_pool3d``/``F.conv3d``.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paperzoo
from paperzoo.models.video.i3d import (
    I3D,
    I3DTwoStream,
    convert_pytorch_i3d_state_dict,
    googlenet_to_i3d_key,
    inflate_conv2d,
    inflate_model,
    inflate_state_dict,
    same_padding,
)
from paperzoo.models.vision.googlenet import INCEPTION_TABLE
from paperzoo.registry import count_params, get_model_entry

# Input widths of the nine Inception modules (Fig. 3 / pytorch-i3d's InceptionModule calls).
BLOCK_IN = [192, 256, 480, 512, 512, 512, 528, 832, 832]


def _pytorch_i3d_params(in_channels: int, num_classes: int = 400) -> int:
    """pytorch-i3d ``InceptionI3d`` counted by hand: every Unit3D is a bias-free conv plus BN (γ, β)."""

    def unit(c_in: int, c_out: int, k: int) -> int:
        return k**3 * c_in * c_out + 2 * c_out

    n = unit(in_channels, 64, 7) + unit(64, 64, 1) + unit(64, 192, 3)
    for c_in, (a, b, c, d, e, f) in zip(BLOCK_IN, INCEPTION_TABLE.values()):
        n += unit(c_in, a, 1) + unit(c_in, b, 1) + unit(b, c, 3) + unit(c_in, d, 1) + unit(d, e, 3) + unit(c_in, f, 1)
    return n + 1024 * num_classes + num_classes  # the 1×1×1 logits conv with bias


def test_parameter_counts_match_pytorch_i3d() -> None:
    rgb, flow = _pytorch_i3d_params(3), _pytorch_i3d_params(2)
    assert (rgb, flow) == (12_697_264, 12_675_312)
    assert count_params("i3d_rgb") == rgb == get_model_entry("i3d_rgb").reference_params
    assert count_params("i3d_flow") == flow == get_model_entry("i3d_flow").reference_params
    assert count_params("i3d_two_stream") == rgb + flow == get_model_entry("i3d_two_stream").reference_params


def test_pytorch_i3d_state_dict_names() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("i3d_rgb")
    state = model.state_dict()
    assert state["Conv3d_1a_7x7.conv3d.weight"].shape == (64, 3, 7, 7, 7)
    assert state["Conv3d_2c_3x3.conv3d.weight"].shape == (192, 64, 3, 3, 3)
    assert state["Mixed_3b.b2b.conv3d.weight"].shape == (32, 16, 3, 3, 3)  # the "5×5" branch is 3×3×3
    assert state["Mixed_5c.b3b.bn.running_var"].shape == (128,)
    assert model.Mixed_4b.b0.bn.eps == 1e-3 and model.Mixed_4b.b0.bn.momentum == 0.01
    # A pytorch-i3d checkpoint differs only in the logits conv; convert and load it strictly.
    theirs = {k: v for k, v in state.items() if not k.startswith("logits.")}
    theirs["logits.conv3d.weight"] = torch.zeros(400, 1024, 1, 1, 1)
    theirs["logits.conv3d.bias"] = torch.zeros(400)
    converted = convert_pytorch_i3d_state_dict(theirs)
    assert set(converted) == set(state) and converted["logits.weight"].shape == (400, 1024)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pad"),
    [
        (224, 7, 2, (2, 3)),
        (225, 7, 2, (3, 3)),
        (64, 7, 2, (2, 3)),
        (112, 3, 2, (0, 1)),
        (56, 3, 1, (1, 1)),
        (8, 2, 2, (0, 0)),
        (7, 2, 2, (0, 1)),
    ],
)
def test_same_padding_is_tensorflows(size: int, kernel: int, stride: int, pad: tuple[int, int]) -> None:
    assert same_padding(size, kernel, stride) == pad
    assert (size + sum(pad) - kernel) // stride + 1 == math.ceil(size / stride)  # 'SAME': ceil(size / stride)


def test_endpoint_shapes_at_64x224x224() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("i3d_rgb")
        x = torch.empty(1, 3, 64, 224, 224)
        shapes = {}
        for name in model.ENDPOINTS:
            x = getattr(model, name)(x)
            shapes[name] = tuple(x.shape[1:])
    # The shapes in Sonnet's comments (channels first here).
    assert shapes["Conv3d_1a_7x7"] == (64, 32, 112, 112)
    assert shapes["MaxPool3d_2a_3x3"] == (64, 32, 56, 56)
    assert shapes["MaxPool3d_3a_3x3"] == (192, 32, 28, 28)
    assert shapes["Mixed_3c"] == (480, 32, 28, 28)
    assert shapes["MaxPool3d_4a_3x3"] == (480, 16, 14, 14)
    assert shapes["Mixed_4f"] == (832, 16, 14, 14)
    assert shapes["MaxPool3d_5a_2x2"] == (832, 8, 7, 7)
    assert shapes["Mixed_5c"] == (1024, 8, 7, 7)


def test_head_equals_sonnet_head() -> None:
    torch.manual_seed(0)
    model = I3D(num_classes=5, channel_divisor=8).eval()
    feats = torch.randn(2, model.num_features, 8, 7, 7)
    # Sonnet: 2×7×7 VALID average pool with stride 1, 1×1×1 conv, squeeze space, mean over time.
    pooled = F.avg_pool3d(feats, (2, 7, 7), stride=1)  # (B, C, 7, 1, 1)
    w = model.logits.weight[:, :, None, None, None]
    expected = F.conv3d(pooled, w, model.logits.bias).flatten(2).mean(2)
    torch.testing.assert_close(model.forward_head(feats), expected)


def _random_bn_stats(model: nn.Module) -> nn.Module:
    """Non-trivial batch-norm statistics and affine parameters, so that copying them is tested."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    return model.eval()


def _boring(images: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, C, H, W) → (B, C, frames, H, W): the "boring video" of §2.4."""
    return images.unsqueeze(2).expand(-1, -1, frames, -1, -1).contiguous()


def test_inflated_small_cnn_on_boring_video_gives_the_2d_logits() -> None:
    """Valid (unpadded) convs stay valid in time, so every frame is exact and so are the logits."""
    torch.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(3, 8, 3),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, stride=2),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 5),
    )
    cnn = _random_bn_stats(cnn)
    cnn3d = inflate_model(cnn).eval()
    assert isinstance(cnn3d[0], nn.Conv3d) and cnn3d[0].kernel_size == (3, 3, 3)
    assert isinstance(cnn3d[3], nn.MaxPool3d) and cnn3d[3].kernel_size == (1, 2, 2)  # no temporal pooling
    images = torch.randn(2, 3, 20, 20)
    with torch.no_grad():
        torch.testing.assert_close(cnn3d(_boring(images, 9)), cnn(images), rtol=1e-5, atol=1e-5)
        # A moving clip is not a fixed point: the 3D net does see time.
        moving = _boring(images, 9) * torch.linspace(0.2, 1.8, 9).view(1, 1, 9, 1, 1)
        assert not torch.allclose(cnn3d(moving), cnn(images), atol=1e-3)


def test_inflated_padded_conv_is_exact_where_its_window_is_inside_the_clip() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, padding=1)
    conv3d = inflate_conv2d(conv, time_kernel=3)
    assert conv3d.padding == (1, 1, 1)
    torch.testing.assert_close(conv3d.weight.sum(2), conv.weight)  # repeated and divided by t
    images = torch.randn(2, 4, 10, 10)
    with torch.no_grad():
        out3d, out2d = conv3d(_boring(images, 5)), conv(images)
    for t in (1, 2, 3):
        torch.testing.assert_close(out3d[:, :, t], out2d, rtol=1e-5, atol=1e-5)
    # The first and last frames see the zero padding (as in I3D), so they differ.
    assert not torch.allclose(out3d[:, :, 0], out2d, atol=1e-3)


def test_inflated_resnet_bottleneck_and_state_dict() -> None:
    resnet = _random_bn_stats(paperzoo.create_model("resnet_tiny"))
    block = resnet.layer2[0]  # a bottleneck with a strided 1×1 projection shortcut
    block3d = inflate_model(block).eval()
    x = torch.relu(torch.randn(2, block.conv1.in_channels, 16, 16))
    with torch.no_grad():
        out3d, out2d = block3d(_boring(x, 5)), block(x)
    torch.testing.assert_close(out3d[:, :, 2], out2d, rtol=1e-5, atol=1e-5)  # window of the 3×3×3 conv inside

    # The generic mapping reproduces the inflated weights from the 2D state dict (names are shared).
    resnet3d = inflate_model(resnet)
    state = inflate_state_dict(resnet.state_dict(), resnet3d)
    assert set(state) == set(resnet3d.state_dict())
    for key, value in resnet3d.state_dict().items():
        torch.testing.assert_close(state[key], value)
    with pytest.raises(ValueError, match="cannot inflate"):
        inflate_state_dict({"conv1.weight": torch.zeros(1, 1, 5, 5)}, resnet3d)


def _googlenet_and_i3d(in_chans: int = 3) -> tuple[nn.Module, I3D]:
    torch.manual_seed(0)
    googlenet = _random_bn_stats(paperzoo.create_model("googlenet_tiny", aux_logits=False))
    return googlenet, I3D.from_2d(googlenet, channel_divisor=8, num_classes=7, in_chans=in_chans).eval()


def test_from_2d_inflates_every_googlenet_layer() -> None:
    googlenet, i3d = _googlenet_and_i3d()
    assert googlenet_to_i3d_key("inception4b.branch2.1.conv.weight") == "Mixed_4c.b1b.conv3d.weight"
    assert googlenet_to_i3d_key("inception5b.branch4.1.bn.running_mean") == "Mixed_5c.b3b.bn.running_mean"
    assert googlenet_to_i3d_key("fc.weight") is None
    w2d = googlenet.inception4b.branch2[1].conv.weight
    torch.testing.assert_close(i3d.Mixed_4c.b1b.conv3d.weight, w2d.unsqueeze(2).expand(-1, -1, 3, -1, -1) / 3)
    torch.testing.assert_close(i3d.Conv3d_1a_7x7.bn.running_var, googlenet.conv1.bn.running_var)
    # Flow stream: the stem kernel is the RGB kernel averaged over colours, on each of the 2 channels.
    _, flow = _googlenet_and_i3d(in_chans=2)
    rgb_mean = googlenet.conv1.conv.weight.mean(1, keepdim=True)
    torch.testing.assert_close(flow.Conv3d_1a_7x7.conv3d.weight.sum(2), rgb_mean.expand(-1, 2, -1, -1))
    # The paper's GoogLeNet (real 5×5 kernels, conv biases, no BN) has no inflatable counterpart.
    with pytest.raises(ValueError, match="cannot inflate"):
        I3D.from_2d(paperzoo.create_model("googlenet_paper", channel_divisor=8, aux_logits=False), channel_divisor=8)


def test_inflated_googlenet_stem_equals_googlenet_on_odd_sizes() -> None:
    """The 7×7/2 stem: 'SAME' pads 3 on both sides of an odd size, as torchvision does."""
    googlenet, i3d = _googlenet_and_i3d()
    images = torch.randn(2, 3, 33, 33)
    with torch.no_grad():
        out3d = i3d.Conv3d_1a_7x7(_boring(images, 15))  # (B, 8, 8, 17, 17)
        out2d = googlenet.conv1(images)
    assert out3d.shape[2:] == (8, *out2d.shape[2:])
    for t in (2, 3, 4, 5):  # output frames whose 7-frame window (stride 2, padding 3) is inside the clip
        torch.testing.assert_close(out3d[:, :, t], out2d, rtol=1e-4, atol=1e-5)


def test_inflated_googlenet_trunk_equals_googlenet_on_a_boring_video() -> None:
    """MaxPool3d_2a_3x3 ... Mixed_5c on the stem's output repeated over time = GoogLeNet's trunk per frame.

    Even sizes make 'SAME' max pooling pad (0, 1), which is torchvision's ceil-mode pooling; the middle
    frames of a long clip never see the temporal zero padding.
    """
    googlenet, i3d = _googlenet_and_i3d()
    stem = torch.relu(torch.randn(1, 8, 32, 32))  # what GoogLeNet's conv1 hands to maxpool1
    g = googlenet
    with torch.no_grad():
        x = g.maxpool2(g.conv3(g.conv2(g.maxpool1(stem))))
        x = g.maxpool3(g.inception3b(g.inception3a(x)))
        x = g.maxpool4(g.inception4e(g.inception4d(g.inception4c(g.inception4b(g.inception4a(x))))))
        out2d = g.inception5b(g.inception5a(x))  # (1, 128, 2, 2)
        out3d = i3d.forward_endpoints(_boring(stem, 48), start="MaxPool3d_2a_3x3")  # (1, 128, 12, 2, 2)
    assert out3d.shape[2] == 12
    for t in (5, 6):
        torch.testing.assert_close(out3d[:, :, t], out2d, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(out3d[:, :, 0], out2d, atol=1e-4)  # the clip's ends see the padding


def test_two_stream_averages_the_streams_logits() -> None:
    torch.manual_seed(0)
    model = I3DTwoStream(num_classes=6, channel_divisor=8).eval()
    rgb, flow = torch.randn(2, 3, 8, 32, 32), torch.randn(2, 2, 8, 32, 32)
    with torch.no_grad():
        expected = 0.5 * (model.rgb(rgb) + model.flow(flow))
        torch.testing.assert_close(model([rgb, flow]), expected)
        assert model.forward_head(model.forward_features([rgb, flow]), pre_logits=True).shape == (2, 256)
    with pytest.raises(ValueError, match="expected a list"):
        model(rgb)
    with pytest.raises(ValueError, match="expected flow clips"):
        model([rgb, rgb])
    model.reset_classifier(3)
    assert model.rgb.logits.out_features == model.flow.logits.out_features == 3
