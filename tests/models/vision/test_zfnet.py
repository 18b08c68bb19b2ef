"""ZFNet against the paper (Zeiler & Fergus 2013): Fig. 3's map sizes and layer table counted by hand, a
functional rebuild of the network with copied weights, and filter renormalisation against a loop over filters."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paperzoo
from paperzoo.models.vision.alexnet import KrizhevskyLRN
from paperzoo.models.vision.zfnet import ZFNet
from paperzoo.registry import count_params


def naive_lrn(a: torch.Tensor, n: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75) -> torch.Tensor:
    """Krizhevsky et al. (2012) §3.3 response normalisation, one feature map at a time."""
    N = a.shape[1]
    out = torch.empty_like(a)
    for i in range(N):
        s = sum(a[:, j] ** 2 for j in range(max(0, i - n // 2), min(N - 1, i + n // 2) + 1))
        out[:, i] = a[:, i] / (k + alpha * s) ** beta
    return out


def test_map_sizes_are_fig3s() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("zfnet")
        x = torch.empty(1, 3, 224, 224)
        sizes = []
        for layer in model.features:
            x = layer(x)
            if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
                sizes.append((x.shape[1], x.shape[2], x.shape[3]))
        assert model.avgpool(x).shape == x.shape
    # Fig. 3: 110 (layer 1) → 55 (pool) → 26 (layer 2) → 13 (pool) → 13 → 13 → 13 → 6 (pool).
    assert sizes == [
        (96, 110, 110),
        (96, 55, 55),
        (256, 26, 26),
        (256, 13, 13),
        (384, 13, 13),
        (384, 13, 13),
        (256, 13, 13),
        (256, 6, 6),
    ]


def test_param_count_from_fig3() -> None:
    layers = [(3, 96, 7), (96, 256, 5), (256, 384, 3), (384, 384, 3), (384, 256, 3)]  # dense: no groups
    convs = sum(c_out * (c_in * k * k + 1) for c_in, c_out, k in layers)
    fcs = (6 * 6 * 256 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000
    assert convs + fcs == count_params("zfnet") == 62_357_608


def test_layer_types_and_dense_connections() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("zfnet")
    kinds = [type(m).__name__ for m in model.features]
    assert kinds[:8] == ["Conv2d", "ReLU", "KrizhevskyLRN", "MaxPool2d", "Conv2d", "ReLU", "KrizhevskyLRN", "MaxPool2d"]
    convs = model.conv_layers()
    assert [c.groups for c in convs] == [1] * 5
    assert [(c.kernel_size[0], c.stride[0]) for c in convs] == [(7, 2), (5, 2), (3, 1), (3, 1), (3, 1)]


def test_equals_functional_rebuild_with_copied_weights() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("zfnet_tiny", num_classes=6).double().eval()
    for p in model.parameters():
        p.data.normal_(0, 0.2)
    c1, c2, c3, c4, c5 = model.conv_layers()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    h = F.max_pool2d(naive_lrn(F.relu(F.conv2d(x, c1.weight, c1.bias, stride=2, padding=1))), 3, 2, ceil_mode=True)
    h = F.max_pool2d(naive_lrn(F.relu(F.conv2d(h, c2.weight, c2.bias, stride=2))), 3, 2, ceil_mode=True)
    for c in (c3, c4, c5):
        h = F.relu(F.conv2d(h, c.weight, c.bias, padding=1))
    h = F.max_pool2d(h, 3, 2, ceil_mode=True).flatten(1)
    h = F.relu(F.linear(h, model.fc6.weight, model.fc6.bias))
    h = F.relu(F.linear(h, model.fc7.weight, model.fc7.bias))
    torch.testing.assert_close(model(x), F.linear(h, model.fc.weight, model.fc.bias))


def test_renormalize_filters_matches_a_loop_over_filters() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("zfnet_tiny")
    with torch.no_grad():
        for conv in model.conv_layers():  # RMS spread over [0.02, 0.5]: some filters exceed 0.1, some do not
            conv.weight.mul_(torch.empty(conv.out_channels, 1, 1, 1).uniform_(2, 50))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    expected, n_expected = {}, 0
    for name, conv in zip(
        ["features.0", "features.4", "features.8", "features.10", "features.12"], model.conv_layers()
    ):
        w = conv.weight.detach().clone()
        for f in range(w.shape[0]):
            rms = w[f].pow(2).mean().sqrt().item()
            if rms > 0.1:
                w[f] *= 0.1 / rms
                n_expected += 1
        expected[f"{name}.weight"] = w
    assert 0 < n_expected < sum(c.out_channels for c in model.conv_layers())
    assert model.renormalize_filters_() == n_expected
    after = model.state_dict()
    for key, value in after.items():
        torch.testing.assert_close(value, expected.get(key, before[key]), rtol=1e-6, atol=0), key
    rms = [c.weight.pow(2).mean(dim=(1, 2, 3)).sqrt() for c in model.conv_layers()]
    assert max(r.max().item() for r in rms) == pytest.approx(0.1, rel=1e-6)


def test_initialisation() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("zfnet_tiny")
    for layer in [*model.conv_layers()[2:], model.fc6]:  # the layers with the most weights in the tiny net
        assert layer.weight.std().item() == pytest.approx(0.01, rel=0.05)
    for layer in [*model.conv_layers(), model.fc6, model.fc7, model.fc]:
        assert torch.equal(layer.bias, torch.zeros_like(layer.bias))


def test_features_only_and_reset_classifier() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("zfnet_tiny").eval()
    x = torch.randn(2, 3, 64, 64)
    feats = model.forward_head(model.forward_features(x), pre_logits=True)
    assert feats.shape == (2, 64)
    torch.testing.assert_close(model(x), model.fc(feats))
    model.reset_classifier(3)
    assert model(x).shape == (2, 3)
    assert paperzoo.create_model("zfnet_tiny", num_classes=0).eval()(x).shape == (2, 64)


def test_argument_and_input_validation() -> None:
    with pytest.raises(ValueError, match="filter_rms_limit"):
        ZFNet(filter_rms_limit=0.0)
    with pytest.raises(ValueError, match="widths"):
        ZFNet(widths=(96, 256))
    assert isinstance(ZFNet(widths=(4, 4, 4, 4, 4), hidden_dim=4, pool_size=1).features[2], KrizhevskyLRN)
    with pytest.raises(ValueError, match="expected"):
        paperzoo.create_model("zfnet_tiny")(torch.randn(2, 4, 64, 64))
