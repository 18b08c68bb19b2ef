"""Temporal Segment Networks (Wang et al. 2016) and BN-Inception (Ioffe & Szegedy 2015).

References: BN-Inception's layer table (tsn-pytorch's bn_inception.yaml, counted by hand), naive loops
over segments and frames, the reference's cross-modality rule and partial-BN rule checked on running
statistics, and tsn-pytorch's parameter counts derived from its architecture.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import paperzoo
from paperzoo.models.video.tsn import TSN, BNInception, SegmentalConsensus, rgb_difference
from paperzoo.registry import count_params


def conv_bn(c_in: int, c_out: int, k: int) -> int:
    return c_out * c_in * k * k + c_out + 2 * c_out  # conv weight + bias (Caffe) + BN γ, β


# bn_inception.yaml, module by module: (in, #1x1, #3x3 reduce, #3x3, #double reduce, #double, pool proj).
YAML_MODULES = [
    (192, 64, 64, 64, 64, 96, 32),
    (256, 64, 64, 96, 64, 96, 64),
    (320, 0, 128, 160, 64, 96, 0),
    (576, 224, 64, 96, 96, 128, 128),
    (576, 192, 96, 128, 96, 128, 128),
    (576, 160, 128, 160, 128, 160, 128),
    (608, 96, 128, 192, 160, 192, 128),
    (608, 0, 128, 192, 192, 256, 0),
    (1056, 352, 192, 320, 160, 224, 128),
    (1024, 352, 192, 320, 192, 224, 128),
]


def bn_inception_count(in_chans: int, num_classes: int) -> int:
    total = conv_bn(in_chans, 64, 7) + conv_bn(64, 64, 1) + conv_bn(64, 192, 3)
    for c, n1, r3, n3, rd, nd, proj in YAML_MODULES:
        total += conv_bn(c, n1, 1) if n1 else 0
        total += conv_bn(c, r3, 1) + conv_bn(r3, n3, 3)
        total += conv_bn(c, rd, 1) + conv_bn(rd, nd, 3) + conv_bn(nd, nd, 3)
        total += conv_bn(c, proj, 1) if proj else 0
    return total + (1024 * num_classes + num_classes if num_classes else 0)


def test_bn_inception_matches_the_reference_layer_table() -> None:
    # 11,295,240 is also the count pretrainedmodels' test table and osmr/imgclsmob list for bninception.
    assert bn_inception_count(3, 1000) == 11_295_240
    with torch.device("meta"):
        model = BNInception()
        feats = model.forward_features(torch.empty(1, 3, 224, 224))
    assert sum(p.numel() for p in model.parameters()) == bn_inception_count(3, 1000)
    assert feats.shape == (1, 1024, 7, 7)
    # Module outputs of Fig. 5: 256, 320, 576 (3c passes its 320 input through), 576, 576, 608, 608, 1056, 1024, 1024.
    assert [b.out_chans for b in model.blocks] == [256, 320, 576, 576, 576, 608, 608, 1056, 1024, 1024]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 3 + sum(
        (n1 > 0) + 5 + (proj > 0) for _, n1, _, _, _, _, proj in YAML_MODULES
    )


def test_bn_inception_multiply_adds_match_the_model_zoo() -> None:
    # osmr/imgclsmob README: BN-Inception 2,048.06M MACs at 224×224 (FlopCounterMode counts convs and linears).
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = paperzoo.create_model("tsn_bninception_rgb").eval()
        x = torch.empty(1, 3, 3, 224, 224)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    macs_per_snippet = (counter.get_total_flops() / 2 - 1024 * 101) / 3 + 1024 * 1000  # the 1000-way classifier
    assert abs(macs_per_snippet / 2_048.06e6 - 1) < 0.02


def test_tsn_counts_match_tsn_pytorch() -> None:
    bni_rgb = bn_inception_count(3, 0) + 1024 * 101 + 101  # ImageNet fc replaced by dropout + new_fc (101)
    assert count_params("tsn_bninception_rgb") == bni_rgb
    assert count_params("tsn_bninception_flow") == bni_rgb + 64 * 49 * (10 - 3)  # conv1 over 2·5 channels
    assert count_params("tsn_bninception_warped_flow") == bni_rgb + 64 * 49 * (10 - 3)
    assert count_params("tsn_bninception_rgbdiff") == bni_rgb + 64 * 49 * (15 - 3)  # 3·5 difference channels
    resnet50 = 25_557_032  # torchvision.models.resnet50
    assert count_params("tsn_resnet50_rgb") == resnet50 - (2048 * 1000 + 1000) + 2048 * 101 + 101


def test_consensus_matches_a_loop_over_segments() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 3, 7)
    avg, mx, weighted = (SegmentalConsensus(k, 3) for k in ("avg", "max", "weighted"))
    nn.init.normal_(weighted.weight)
    exp_avg, exp_max, exp_w = torch.zeros(4, 7), torch.full((4, 7), -torch.inf), torch.zeros(4, 7)
    for k in range(3):
        exp_avg += x[:, k] / 3
        exp_max = torch.maximum(exp_max, x[:, k])
        exp_w += weighted.weight[k] * x[:, k]
    torch.testing.assert_close(avg(x), exp_avg)
    torch.testing.assert_close(mx(x), exp_max)
    torch.testing.assert_close(weighted(x), exp_w)
    torch.testing.assert_close(SegmentalConsensus("weighted", 3)(x), exp_avg)  # starts as the average
    with pytest.raises(ValueError, match="expected 3 segments"):
        avg(torch.randn(4, 2, 7))


def test_tsn_forward_equals_a_loop_over_snippets() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("tsn_tiny").eval()
    x = torch.randn(2, 3, 3, 32, 32)
    with torch.no_grad():
        scores = [model.fc(model.backbone(x[:, k])) for k in range(3)]  # shared F on each snippet
        torch.testing.assert_close(model(x), torch.stack(scores).mean(0))
        assert model.forward_head(model.forward_features(x), pre_logits=True).shape == (2, 64)


def test_rgb_difference_matches_tsn_pytorch_get_diff() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 18, 8, 8)  # K = 3 snippets of 6 RGB frames
    frames = x.view(2, 3, 6, 3, 8, 8)
    expected = torch.cat([frames[:, :, i] - frames[:, :, i - 1] for i in range(1, 6)], dim=2)  # (2, 3, 15, 8, 8)
    torch.testing.assert_close(rgb_difference(x, 6), expected)
    model = paperzoo.create_model("tsn_rgbdiff_tiny").eval()
    clip = torch.randn(2, 3, 9, 32, 32)
    diffs = rgb_difference(clip, 3)  # (2, 3, 6, 32, 32)
    with torch.no_grad():
        scores = [model.fc(model.backbone(diffs[:, k])) for k in range(3)]
        torch.testing.assert_close(model(clip), torch.stack(scores).mean(0))


def test_cross_modality_init_reproduces_the_rgb_response_to_grey_inputs() -> None:
    torch.manual_seed(0)
    rgb_backbone = BNInception(num_classes=0, in_chans=3, channel_divisor=16).eval()
    old = rgb_backbone.stem[0][0].weight.detach().clone()
    flow = TSN(copy.deepcopy(rgb_backbone), modality="flow", new_length=5, num_classes=10).eval()
    new = flow.backbone.stem[0][0].weight
    assert new.shape[1] == 10 and flow.backbone.in_chans == 10
    torch.testing.assert_close(new, old.mean(1, keepdim=True).expand(-1, 10, -1, -1))  # channel mean, replicated
    # The first conv is linear: a grey image g replicated over 10 channels, scaled by 3/10, gives the RGB
    # net's response to g on its 3 channels (the mean kernel sums 10 times what each RGB kernel averages).
    grey = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            flow.backbone(grey.expand(-1, 10, -1, -1) * 3 / 10), rgb_backbone(grey.expand(-1, 3, -1, -1))
        )
    diff = TSN(copy.deepcopy(rgb_backbone), modality="rgbdiff", new_length=5)
    torch.testing.assert_close(diff.backbone.stem[0][0].weight, old.mean(1, keepdim=True).expand(-1, 15, -1, -1))


def test_partial_bn_freezes_every_batch_norm_after_the_first() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("tsn_tiny").train()
    norms = [m for m in model.backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    before = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    model(torch.randn(2, 3, 3, 32, 32) * 3 + 1).sum().backward()
    changed = [
        not torch.equal(m.running_mean, b[0]) or not torch.equal(m.running_var, b[1]) for m, b in zip(norms, before)
    ]
    assert changed == [True] + [False] * (len(norms) - 1)
    assert norms[0].training and not any(m.training for m in norms[1:])
    assert norms[0].weight.grad is not None
    assert all(not m.weight.requires_grad and not m.bias.requires_grad and m.weight.grad is None for m in norms[1:])
    # Without partial BN every norm updates its statistics.
    model = paperzoo.create_model("tsn_tiny", partial_bn=False).train()
    before = [m.running_mean.clone() for m in model.backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    model(torch.randn(2, 3, 3, 32, 32))
    after = [m.running_mean for m in model.backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(not torch.equal(a, b) for a, b in zip(after, before))


def test_tsn_classifier_and_dropout_follow_the_reference() -> None:
    torch.manual_seed(0)
    with torch.device("meta"):
        rgb, flow = paperzoo.create_model("tsn_bninception_rgb"), paperzoo.create_model("tsn_bninception_flow")
    assert (rgb.drop.p, flow.drop.p) == (0.8, 0.7) and rgb.num_segments == 3 and flow.in_chans == 10
    model = paperzoo.create_model("tsn_tiny", num_classes=500)
    w = model.fc.weight  # (500, 64): _prepare_tsn's N(0, 0.001)
    assert abs(w.std().item() - 0.001) < 1e-4 and torch.count_nonzero(model.fc.bias) == 0


def test_tsn_rejects_bad_inputs_and_arguments() -> None:
    model = paperzoo.create_model("tsn_tiny")
    with pytest.raises(ValueError, match=r"expected snippets of shape \(B, 3, 3, H, W\)"):
        model(torch.randn(2, 4, 3, 32, 32))
    with pytest.raises(ValueError, match="modality"):
        TSN(modality="depth")
    with pytest.raises(ValueError, match="drop_rate"):
        TSN(drop_rate=1.0)
