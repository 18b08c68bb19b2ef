"""Two-stream ConvNets (Simonyan & Zisserman 2014) and convolutional two-stream fusion (Feichtenhofer et al. 2016).

References: CNN-M-2048's layer table (Fig. 1 / §5, counted by hand), the late-fusion average of the two
streams' softmax computed stream by stream, the fusion equations 1-5 of Feichtenhofer et al. evaluated
with naive loops, and the fused network rebuilt from its towers, fusion layer and head.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paperzoo
from paperzoo.models.video.two_stream import (
    CNNM2048,
    SpatialFusion,
    TwoStream,
    TwoStreamFusion,
    bilinear_fusion,
    concat_fusion,
    first_conv_cross_modality,
)
from paperzoo.models.vision._base import ClassifierOutput
from paperzoo.registry import count_params


def conv(c_in: int, c_out: int, k: int) -> int:
    return c_out * c_in * k * k + c_out


def fc(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# Fig. 1 / §5: conv1 7×7 96, conv2 5×5 256, conv3-5 3×3 512, full6 4096 (on 6×6×512), full7 2048, softmax.
def cnn_m_2048_count(in_chans: int, num_classes: int) -> int:
    convs = conv(in_chans, 96, 7) + conv(96, 256, 5) + conv(256, 512, 3) + 2 * conv(512, 512, 3)
    return convs + fc(6 * 6 * 512, 4096) + fc(4096, 2048) + fc(2048, num_classes)


# VGG-16 (configuration D) conv layers, conv1_1 … conv5_3.
def vgg16_conv_count(in_chans: int) -> int:
    widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    return sum(conv(c_in, c_out, 3) for c_in, c_out in zip([in_chans, *widths[:-1]], widths))


def vgg16_fc_count(in_chans: int, num_classes: int) -> int:
    return fc(in_chans * 7 * 7, 4096) + fc(4096, 4096) + fc(4096, num_classes)


def test_cnn_m_2048_counts_match_the_paper_table() -> None:
    assert cnn_m_2048_count(3, 101) == 90_627_813
    with torch.device("meta"):
        spatial = CNNM2048(num_classes=101, in_chans=3)
        temporal = CNNM2048(num_classes=101, in_chans=20, norm2_layer=None)
        feats = spatial.forward_features(torch.empty(1, 3, 224, 224))
    assert sum(p.numel() for p in spatial.parameters()) == cnn_m_2048_count(3, 101)
    assert sum(p.numel() for p in temporal.parameters()) == cnn_m_2048_count(20, 101)
    assert feats.shape == (1, 512, 6, 6)  # 224 → 109 → 54 → 26 → 13 → 6 (full6 needs no adaptive pooling)
    assert count_params("two_stream_cnn_m") == cnn_m_2048_count(3, 101) + cnn_m_2048_count(20, 101)


def test_temporal_net_drops_the_second_normalisation() -> None:
    model = paperzoo.create_model("two_stream_tiny")
    lrn = [type(m).__name__ for m in model.spatial.features if "LRN" in type(m).__name__]
    assert lrn == ["KrizhevskyLRN", "KrizhevskyLRN"]
    assert [type(m).__name__ for m in model.temporal.features].count("KrizhevskyLRN") == 1
    assert isinstance(model.temporal.features[6], nn.Identity) and isinstance(
        model.temporal.features[2], nn.LocalResponseNorm
    )


def test_late_fusion_is_the_average_of_the_stream_softmaxes() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("two_stream_tiny").eval()
    rgb, flow = torch.randn(2, 3, 64, 64), torch.randn(2, 4, 64, 64)
    with torch.no_grad():
        out = model([rgb, flow])
        expected = (model.spatial(rgb).softmax(-1) + model.temporal(flow).softmax(-1)) / 2
        torch.testing.assert_close(out.exp(), expected)
        # T frames / flow stacks per video: every prediction of both streams is averaged (§6, testing).
        clip, stacks = torch.randn(2, 3, 3, 64, 64), torch.randn(2, 4, 2, 64, 64)
        scores = [model.spatial(clip[:, :, t]).softmax(-1) for t in range(3)]
        scores += [model.temporal(stacks[:, :, t]).softmax(-1) for t in range(2)]
        torch.testing.assert_close(model([clip, stacks]).exp(), torch.stack(scores).mean(0))
        spatial_score, _ = model.stream_scores([clip, stacks])
        torch.testing.assert_close(spatial_score, torch.stack(scores[:3]).mean(0))


def test_training_returns_each_stream_for_separate_losses() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("two_stream_tiny", drop_rate=0.0, temporal_drop_rate=0.0).train()
    rgb, flow = torch.randn(2, 3, 64, 64), torch.randn(2, 4, 64, 64)
    out = model([rgb, flow])
    assert isinstance(out, ClassifierOutput) and out.aux_weights == [1.0]
    torch.testing.assert_close(out.logits, model.spatial(rgb))
    torch.testing.assert_close(out.aux_logits[0], model.temporal(flow))
    # The summed loss trains each stream on its own loss only (disjoint parameters).
    F.cross_entropy(out.aux_logits[0], torch.tensor([1, 2])).backward()
    assert all(p.grad is None for p in model.spatial.parameters())
    fused = paperzoo.create_model("two_stream_tiny", train_streams="fused").train()([rgb, flow])
    assert isinstance(fused, torch.Tensor) and fused.shape == (2, 10)


def test_vgg16_late_fusion_counts_and_cross_modality_init() -> None:
    # Two torchvision vgg16 with 101-way classifiers, the temporal one's conv1_1 widened to 20 channels.
    vgg16 = 138_357_544 - fc(4096, 1000) + fc(4096, 101)
    assert count_params("two_stream_vgg16") == 2 * vgg16 + (20 - 3) * 64 * 9
    torch.manual_seed(0)
    rgb_net = paperzoo.create_model("vgg_tiny")
    old = rgb_net.features[0].weight.detach().clone()
    new = first_conv_cross_modality(rgb_net, 20)
    assert rgb_net.in_chans == 20 and rgb_net.features[0] is new and new.weight.shape[1] == 20
    torch.testing.assert_close(new.weight, old.mean(1, keepdim=True).expand(-1, 20, -1, -1))


def test_invalid_inputs_name_the_expected_shape() -> None:
    model = paperzoo.create_model("two_stream_tiny")
    with pytest.raises(ValueError, match="expected a list"):
        model(torch.randn(2, 3, 64, 64))
    with pytest.raises(ValueError, match=r"expected flow of shape \(B, 4, H, W\)"):
        model([torch.randn(2, 3, 64, 64), torch.randn(2, 20, 64, 64)])
    with pytest.raises(ValueError, match="flow_length must be > 0"):
        TwoStream(flow_length=0)
    with pytest.raises(ValueError, match="bilinear fusion pools"):
        TwoStreamFusion(fusion="bilinear", pool="3d")


# --------------------------------------------------------------------------------------------------
# Fusion layers (Feichtenhofer et al. §3.1-3.3) against the equations


def test_sum_max_concat_fusion_match_equations_1_to_3() -> None:
    torch.manual_seed(0)
    xa, xb = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(SpatialFusion("sum", 4)(xa, xb), xa + xb)
    expected_max = torch.empty_like(xa)
    for idx in torch.cartesian_prod(*(torch.arange(s) for s in xa.shape)).tolist():
        expected_max[tuple(idx)] = max(xa[tuple(idx)], xb[tuple(idx)])
    torch.testing.assert_close(SpatialFusion("max", 4)(xa, xb), expected_max)
    y = concat_fusion(xa, xb)
    for d in range(1, 5):  # eq. 3 with 1-based d: y_{2d} = x^a_d, y_{2d−1} = x^b_d
        torch.testing.assert_close(y[:, 2 * d - 1], xa[:, d - 1])
        torch.testing.assert_close(y[:, 2 * d - 2], xb[:, d - 1])
    torch.testing.assert_close(SpatialFusion("concat", 4)(xa, xb), y)


def test_conv_fusion_starts_as_sum_fusion_and_is_a_1x1_conv_on_the_concatenation() -> None:
    torch.manual_seed(0)
    xa, xb = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    fusion = SpatialFusion("conv", 4)
    assert sum(p.numel() for p in fusion.parameters()) == 2 * 4 * 4 + 4  # 1×1×2D×D filter + D biases (eq. 4)
    torch.testing.assert_close(fusion(xa, xb), xa + xb)
    nn.init.normal_(fusion.conv.weight)
    nn.init.normal_(fusion.conv.bias)
    w, b = fusion.conv.weight[:, :, 0, 0], fusion.conv.bias  # (D, 2D)
    expected = torch.einsum("oc,bchw->bohw", w, concat_fusion(xa, xb)) + b[:, None, None]
    torch.testing.assert_close(fusion(xa, xb), expected)
    # 3-D conv fusion (§3.2): identity at the centre tap, i.e. sum fusion of every frame.
    xa3, xb3 = torch.randn(2, 4, 3, 5, 5), torch.randn(2, 4, 3, 5, 5)
    fusion3 = SpatialFusion("conv3d", 4)
    assert sum(p.numel() for p in fusion3.parameters()) == 3 * 3 * 3 * 2 * 4 * 4 + 4
    torch.testing.assert_close(fusion3(xa3, xb3), xa3 + xb3)


def test_bilinear_fusion_is_the_sum_of_outer_products() -> None:
    torch.manual_seed(0)
    xa, xb = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    expected = torch.zeros(2, 3, 3)
    for i in range(4):
        for j in range(5):
            expected += torch.einsum("bd,be->bde", xa[:, :, i, j], xb[:, :, i, j])  # x^a_{ij} ⊗ x^b_{ij}
    expected = expected.flatten(1)
    torch.testing.assert_close(bilinear_fusion(xa, xb, normalize=False), expected)
    signed_sqrt = expected.sign() * expected.abs().sqrt()
    torch.testing.assert_close(bilinear_fusion(xa, xb), signed_sqrt / signed_sqrt.norm(dim=1, keepdim=True))


def test_fused_net_equals_its_parts_rebuilt_by_hand() -> None:
    torch.manual_seed(0)
    kw = dict(depths=(1, 1, 1, 1, 1), widths=(4, 4, 8, 8, 8), hidden_dim=8, pool_size=1, num_classes=5, flow_length=2)
    rgb, flow = torch.randn(2, 3, 32, 32), torch.randn(2, 4, 32, 32)
    model = TwoStreamFusion(fusion="sum", **kw).eval()
    with torch.no_grad():
        y = F.max_pool2d(model.spatial_tower(rgb) + model.temporal_tower(flow), 2)  # pool5 after eq. 1
        head = model.head
        h = F.relu(head.fc7(F.relu(head.fc6(y.mean((2, 3))))))
        torch.testing.assert_close(model([rgb, flow]), head.fc(h))
        # 3-D pooling (§3.3): max over all T frames and 2×2 windows, then one prediction per clip.
        model3 = TwoStreamFusion(fusion="max", pool="3d", **kw).eval()
        clip, stacks = torch.randn(2, 3, 3, 32, 32), torch.randn(2, 4, 3, 32, 32)
        fused = [
            torch.maximum(model3.spatial_tower(clip[:, :, t]), model3.temporal_tower(stacks[:, :, t])) for t in range(3)
        ]
        pooled = F.max_pool2d(torch.stack(fused).amax(0), 2)
        head = model3.head
        h = F.relu(head.fc7(F.relu(head.fc6(pooled.mean((2, 3))))))
        torch.testing.assert_close(model3([clip, stacks]), head.fc(h))


def test_vgg16_fusion_counts_by_hand() -> None:
    towers = vgg16_conv_count(3) + vgg16_conv_count(20)
    conv_fusion = 2 * 512 * 512 + 512  # 1×1×1024×512 filter + biases
    assert count_params("two_stream_vgg16_fusion") == towers + conv_fusion + vgg16_fc_count(512, 101)
    # Fig. 4: 3×3×3×1024×512 fusion, the fused head and the whole temporal net's head.
    conv3d = 27 * 1024 * 512 + 512
    assert count_params("two_stream_vgg16_fusion3d") == towers + conv3d + 2 * vgg16_fc_count(512, 101)
    with torch.device("meta"):
        counts = {
            kind: sum(p.numel() for p in TwoStreamFusion(fusion=kind).parameters())
            for kind in ("sum", "max", "concat", "bilinear")
        }
    assert counts["sum"] == counts["max"] == towers + vgg16_fc_count(512, 101)
    assert counts["concat"] == towers + vgg16_fc_count(1024, 101)  # fc6 sees 2D channels
    assert counts["bilinear"] == towers + fc(512 * 512, 101)  # no fc6/fc7: the classifier on D² features


def test_fused_net_with_temporal_tower_averages_both_predictions() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("two_stream_fusion_tiny").eval()
    clip, stacks = torch.randn(2, 3, 2, 32, 32), torch.randn(2, 4, 2, 32, 32)
    with torch.no_grad():
        y, yt = model.forward_features([clip, stacks])
        expected = (model.head(y).softmax(-1) + model.temporal_head(yt).softmax(-1)) / 2
        torch.testing.assert_close(model([clip, stacks]).exp(), expected)
    out = model.train()([clip, stacks])
    assert isinstance(out, ClassifierOutput) and len(out.aux_logits) == 1
