"""VGG against the paper (Simonyan & Zisserman 2014) and torchvision.

References used: Table 1's configurations counted by hand (and Table 2's rounded parameter counts);
torchvision's ``make_layers`` layout rebuilt from plain ``nn`` layers, loaded with our ``features``
state dict (same keys) and compared output for output; the §2.3 receptive-field claim checked with
the gradient of one output pixel with respect to the input.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import paperzoo
from paperzoo.models.vision.vgg import VGG, VGG_DEPTHS, conv_stack_params, stacked_conv_receptive_field
from paperzoo.registry import count_params, get_model_entry

WIDTHS = (64, 128, 256, 512, 512)


def count_by_hand(depths: tuple[int, ...], bn: bool) -> int:
    """Table 1: 3×3 convs (weights + bias, + γ, β with batch norm), then FC-4096, FC-4096, FC-1000 on 7×7×512."""
    total, c_in = 0, 3
    for depth, width in zip(depths, WIDTHS):
        for _ in range(depth):
            total += 9 * c_in * width + width + (2 * width if bn else 0)
            c_in = width
    return total + (512 * 7 * 7 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000


@pytest.mark.parametrize(
    "name, config, bn",
    [(f"vgg{d}{s}", c, s == "_bn") for d, c in [(11, "A"), (13, "B"), (16, "D"), (19, "E")] for s in ("", "_bn")],
)
def test_param_counts_by_hand_equal_torchvision(name: str, config: str, bn: bool) -> None:
    count = count_params(name)
    assert count == count_by_hand(VGG_DEPTHS[config], bn) == get_model_entry(name).reference_params
    assert sum(VGG_DEPTHS[config]) + 3 == int(name[3:5])  # weight layers: convs + three FC


def test_param_counts_round_to_table2() -> None:
    # Table 2, "Number of parameters (in millions)": A 133, B 133, D 138, E 144.
    for name, millions in [("vgg11", 133), ("vgg13", 133), ("vgg16", 138), ("vgg19", 144)]:
        assert round(count_params(name) / 1e6) == millions


def make_torchvision_layers(cfg: list, bn: bool) -> nn.Sequential:
    """torchvision's VGG ``features``: conv 3×3 (+ BN) + ReLU per number, 2×2 max pool per 'M'."""
    layers, c_in = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers += [nn.Conv2d(c_in, v, 3, padding=1), *([nn.BatchNorm2d(v)] if bn else []), nn.ReLU()]
        c_in = v
    return nn.Sequential(*layers)


@pytest.mark.parametrize("bn", [False, True])
def test_equals_torchvision_layout_with_copied_weights(bn: bool) -> None:
    torch.manual_seed(0)
    widths = (4, 8, 8, 16, 16)
    model = VGG(VGG_DEPTHS["D"], widths=widths, norm_layer=nn.BatchNorm2d if bn else None, hidden_dim=24, num_classes=5)
    cfg = [4, 4, "M", 8, 8, "M", 8, 8, 8, "M", 16, 16, 16, "M", 16, 16, 16, "M"]
    features = make_torchvision_layers(cfg, bn)
    features.load_state_dict(model.features.state_dict())  # strict: torchvision's keys
    classifier = nn.Sequential(
        nn.Linear(16 * 49, 24), nn.ReLU(), nn.Dropout(), nn.Linear(24, 24), nn.ReLU(), nn.Dropout(), nn.Linear(24, 5)
    )
    classifier.load_state_dict(
        {f"{i}.{p}": t for i, fc in [(0, model.fc6), (3, model.fc7), (6, model.fc)] for p, t in fc.state_dict().items()}
    )
    ref = nn.Sequential(features, nn.AdaptiveAvgPool2d(7), nn.Flatten(), classifier)
    x = torch.randn(2, 3, 64, 64)  # 2×2 final map: the adaptive pool upsamples, as torchvision's does
    model.eval(), ref.eval()
    torch.testing.assert_close(model(x), ref(x))
    model.train(), ref.train()
    torch.manual_seed(1)
    ours = model(x)
    torch.manual_seed(1)
    torch.testing.assert_close(ours, ref(x))


def test_final_map_is_7x7_at_224() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("vgg16")
        feats = model.forward_features(torch.empty(1, 3, 224, 224))
        assert feats.shape == (1, 512, 7, 7) and model.avgpool(feats).shape == feats.shape
        assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 5


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_stacked_3x3_receptive_field_by_gradient(layers: int) -> None:
    torch.manual_seed(0)
    stack = nn.Sequential(*[nn.Conv2d(2, 2, 3) for _ in range(layers)]).double()  # linear: no ReLU zeros
    x = torch.randn(1, 2, 15, 15, dtype=torch.float64, requires_grad=True)
    y = stack(x)
    c = y.shape[-1] // 2
    y[0, 0, c, c].backward()
    support = x.grad.abs().sum(dim=(0, 1)) > 0  # (15, 15)
    rows, cols = support.any(1).nonzero().flatten(), support.any(0).nonzero().flatten()
    side = stacked_conv_receptive_field(layers, 3)
    assert side == {1: 3, 2: 5, 3: 7}[layers]
    assert len(rows) == len(cols) == side and support.sum() == side * side  # a full side×side square
    assert rows.max() - rows.min() + 1 == side


def test_stacked_3x3_weights_against_one_large_kernel() -> None:
    C = 16

    def weights(*convs: nn.Conv2d) -> int:
        return sum(m.weight.numel() for m in convs)

    two_3x3 = weights(nn.Conv2d(C, C, 3), nn.Conv2d(C, C, 3))
    three_3x3 = weights(*[nn.Conv2d(C, C, 3) for _ in range(3)])
    assert two_3x3 == conv_stack_params(2, 3, C) == 18 * C * C < conv_stack_params(1, 5, C) == 25 * C * C
    assert three_3x3 == conv_stack_params(3, 3, C) == 27 * C * C < conv_stack_params(1, 7, C) == 49 * C * C
    assert conv_stack_params(2, 3, C, bias=True) == sum(
        p.numel() for _ in range(2) for p in nn.Conv2d(C, C, 3).parameters()
    )
    with pytest.raises(ValueError, match="must be > 0"):
        stacked_conv_receptive_field(0, 3)


def test_initialisation_is_torchvisions() -> None:
    torch.manual_seed(0)
    model = VGG(VGG_DEPTHS["A"], widths=(16, 32, 64, 64, 64), hidden_dim=256, num_classes=10)
    conv = model.features[-3]  # last conv: 64 → 64, 3×3; Kaiming normal, fan_out = 64·9
    assert conv.weight.std().item() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)
    assert model.fc7.weight.std().item() == pytest.approx(0.01, rel=0.05)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            assert torch.equal(m.bias, torch.zeros_like(m.bias))


def test_features_only_and_reset_classifier() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("vgg_tiny").eval()
    x = torch.randn(2, 3, 32, 32)
    feats = model.forward_head(model.forward_features(x), pre_logits=True)
    assert feats.shape == (2, 64)
    torch.testing.assert_close(model(x), model.fc(feats))
    model.reset_classifier(4)
    assert model(x).shape == (2, 4)
    assert paperzoo.create_model("vgg_tiny", num_classes=0).eval()(x).shape == (2, 64)


def test_argument_and_input_validation() -> None:
    with pytest.raises(ValueError, match="widths"):
        VGG((1, 1), widths=(8, 8, 8))
    with pytest.raises(ValueError, match="depths"):
        VGG((1, 0, 1, 1, 1))
    with pytest.raises(ValueError, match="expected"):
        paperzoo.create_model("vgg_tiny")(torch.randn(2, 1, 32, 32))
