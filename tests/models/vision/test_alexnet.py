"""AlexNet against the paper (Krizhevsky et al. 2012) and torchvision's layer table.

References used: the paper's LRN equation (§3.3) as a naive loop over kernel maps; the paper's kernel
sizes (§3.5) for a hand parameter count; an explicit two-GPU computation (§3.2: conv2/4/5 see only
their own GPU's maps, conv3 and the FC layers see both) built from the grouped model's weights;
torchvision's AlexNet layer sequence rebuilt from plain ``nn`` layers with copied weights.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paperzoo
from paperzoo.models.vision.alexnet import AlexNet, KrizhevskyLRN
from paperzoo.registry import count_params


def naive_lrn(a: torch.Tensor, n: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75) -> torch.Tensor:
    """§3.3: b^i = a^i / (k + α Σ_{j=max(0, i−n/2)}^{min(N−1, i+n/2)} (a^j)²)^β, one kernel map i at a time."""
    N = a.shape[1]
    out = torch.empty_like(a)
    for i in range(N):
        lo, hi = max(0, i - n // 2), min(N - 1, i + n // 2)
        s = sum(a[:, j] ** 2 for j in range(lo, hi + 1))
        out[:, i] = a[:, i] / (k + alpha * s) ** beta
    return out


def conv_params(c_in: int, c_out: int, k: int, groups: int = 1) -> int:
    return c_out * (c_in // groups) * k * k + c_out


def fc_params(d_in: int, d_out: int) -> int:
    return d_in * d_out + d_out


@pytest.mark.parametrize("n", [3, 5])
def test_lrn_is_the_papers_formula(n: int) -> None:
    torch.manual_seed(0)
    a = 40 * torch.randn(2, 11, 3, 4, dtype=torch.float64)  # large activations: the denominator matters
    got = KrizhevskyLRN(n, alpha=1e-4, beta=0.75, k=2.0).double()(a)
    torch.testing.assert_close(got, naive_lrn(a, n=n))
    # torch's own module with the paper's α is off by the 1/n it applies (Caffe's convention).
    plain = nn.LocalResponseNorm(n, alpha=1e-4, beta=0.75, k=2.0)(a)
    assert not torch.allclose(plain, got, rtol=1e-3)


def test_alexnet_param_count_is_torchvisions_layer_table() -> None:
    by_hand = (
        conv_params(3, 64, 11)
        + conv_params(64, 192, 5)
        + conv_params(192, 384, 3)
        + conv_params(384, 256, 3)
        + conv_params(256, 256, 3)
        + fc_params(256 * 6 * 6, 4096)
        + fc_params(4096, 4096)
        + fc_params(4096, 1000)
    )
    assert by_hand == count_params("alexnet") == 61_100_840


def test_alexnet_paper_param_count_from_the_papers_kernel_table() -> None:
    # §3.5: conv1 96 kernels 11×11×3; conv2 256 of 5×5×48; conv3 384 of 3×3×256; conv4 384 of 3×3×192;
    # conv5 256 of 3×3×192; two FC layers of 4096; 1000-way softmax.
    kernels = [(96, 11 * 11 * 3), (256, 5 * 5 * 48), (384, 3 * 3 * 256), (384, 3 * 3 * 192), (256, 3 * 3 * 192)]
    convs = sum(n * (size + 1) for n, size in kernels)
    fcs = fc_params(256 * 6 * 6, 4096) + fc_params(4096, 4096) + fc_params(4096, 1000)
    assert convs + fcs == count_params("alexnet_paper") == 60_965_224  # "60 million parameters" (§1)
    assert count_params("alexnet_paper") == pytest.approx(60e6, rel=0.02)


def test_alexnet_paper_map_sizes_are_fig2s() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("alexnet_paper")
        x = torch.empty(1, 3, 224, 224)
        sizes = []
        for layer in model.features:
            x = layer(x)
            if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
                sizes.append((x.shape[1], x.shape[2]))
        assert model.avgpool(x).shape == x.shape  # the adaptive pool is the identity at 224
        # The 224/227 discrepancy: without padding only a 227 input gives 55×55.
        conv1 = nn.Conv2d(3, 96, 11, stride=4)
        assert conv1(torch.empty(1, 3, 224, 224)).shape[-1] == 54
        assert conv1(torch.empty(1, 3, 227, 227)).shape[-1] == 55
    assert sizes == [(96, 55), (96, 27), (256, 27), (256, 13), (384, 13), (384, 13), (256, 13), (256, 6)]


def two_tower_forward(model: AlexNet, x: torch.Tensor) -> torch.Tensor:
    """The paper's two-GPU network written out: each GPU holds half the kernels of every layer."""
    c1, c2, c3, c4, c5 = (m for m in model.features if isinstance(m, nn.Conv2d))

    def tower(conv: nn.Conv2d, maps: tuple[torch.Tensor, torch.Tensor], **kw) -> tuple[torch.Tensor, torch.Tensor]:
        (wa, wb), (ba, bb) = conv.weight.chunk(2), conv.bias.chunk(2)  # GPU a's kernels, GPU b's kernels
        return F.relu(F.conv2d(maps[0], wa, ba, **kw)), F.relu(F.conv2d(maps[1], wb, bb, **kw))

    def both(conv: nn.Conv2d, maps: tuple[torch.Tensor, torch.Tensor], **kw) -> tuple[torch.Tensor, torch.Tensor]:
        return F.relu(F.conv2d(torch.cat(maps, 1), conv.weight, conv.bias, **kw)).chunk(2, 1)

    def norm_pool(maps: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        # The formula normalises over the layer's N kernel maps, so the sum crosses the GPU boundary.
        return F.max_pool2d(naive_lrn(torch.cat(maps, 1)), 3, 2).chunk(2, 1)

    maps = F.relu(F.conv2d(x, c1.weight, c1.bias, stride=4, padding=2)).chunk(2, 1)  # conv1 sees the image
    maps = norm_pool(maps)
    maps = norm_pool(tower(c2, maps, padding=2))  # conv2: own GPU only
    maps = both(c3, maps, padding=1)  # conv3: "connected to all kernel maps in the second layer"
    maps = tower(c4, maps, padding=1)
    maps = tower(c5, maps, padding=1)
    h = F.max_pool2d(torch.cat(maps, 1), 3, 2).flatten(1)
    h = F.relu(F.linear(h, model.fc6.weight, model.fc6.bias))
    h = F.relu(F.linear(h, model.fc7.weight, model.fc7.bias))
    return F.linear(h, model.fc.weight, model.fc.bias)


def test_grouped_model_equals_explicit_two_gpu_network() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("alexnet_tiny", num_classes=7).double().eval()
    for p in model.parameters():  # larger weights than N(0, 0.01) so every layer's contribution is visible
        p.data.normal_(0, 0.2)
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    torch.testing.assert_close(model(x), two_tower_forward(model, x))


def torchvision_layout(widths: tuple[int, ...], hidden: int, num_classes: int) -> nn.Sequential:
    """torchvision.models.alexnet's layer sequence (features, avgpool, classifier) from plain nn layers."""
    c1, c2, c3, c4, c5 = widths
    return nn.Sequential(
        nn.Conv2d(3, c1, 11, stride=4, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(c1, c2, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(c2, c3, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(c5 * 36, hidden),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def test_alexnet_equals_torchvision_layout_with_copied_weights() -> None:
    torch.manual_seed(0)
    widths, hidden = (16, 24, 32, 24, 16), 32
    model = paperzoo.create_model("alexnet", widths=widths, hidden_dim=hidden, num_classes=5)
    ref = torchvision_layout(widths, hidden, 5)
    ours = list(model.features.parameters()) + [
        *model.fc6.parameters(),
        *model.fc7.parameters(),
        *model.fc.parameters(),
    ]
    with torch.no_grad():
        for dst, src in zip(ref.parameters(), ours, strict=True):
            dst.copy_(src)
    x = torch.randn(2, 3, 300, 300)  # 8×8 conv5 map: the adaptive pool does real work
    model.eval(), ref.eval()
    torch.testing.assert_close(model(x), ref(x))
    # Training mode: same dropout masks in the same order means dropout sits where torchvision puts it.
    model.train(), ref.train()
    torch.manual_seed(1)
    ours_train = model(x)
    torch.manual_seed(1)
    torch.testing.assert_close(ours_train, ref(x))
    assert set(model.features.state_dict()) == {f"{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")}


def test_paper_variant_drops_the_outputs_of_fc6_and_fc7() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("alexnet_tiny").train()
    feats = torch.randn(4, 32, 1, 1)
    torch.manual_seed(3)
    got = model.forward_head(feats)
    torch.manual_seed(3)
    h = F.dropout(F.relu(model.fc6(feats.flatten(1))), 0.5)
    h = F.dropout(F.relu(model.fc7(h)), 0.5)
    torch.testing.assert_close(got, model.fc(h))


def test_paper_initialisation() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("alexnet_paper")
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    layers = dict(zip(["conv1", "conv2", "conv3", "conv4", "conv5"], convs)) | {
        "fc6": model.fc6,
        "fc7": model.fc7,
        "fc8": model.fc,
    }
    for name, layer in layers.items():
        expected_bias = 1.0 if name in ("conv2", "conv4", "conv5", "fc6", "fc7") else 0.0
        assert torch.equal(layer.bias, torch.full_like(layer.bias, expected_bias)), name
        assert layer.weight.std().item() == pytest.approx(0.01, rel=0.05), name
        assert abs(layer.weight.mean().item()) < 1e-3, name


def test_features_only_and_reset_classifier() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("alexnet_tiny").eval()
    x = torch.randn(2, 3, 64, 64)
    feats = model.forward_head(model.forward_features(x), pre_logits=True)
    assert feats.shape == (2, model.num_features) == (2, 64)
    torch.testing.assert_close(model(x), model.fc(feats))
    model.reset_classifier(10)
    assert model(x).shape == (2, 10) and model.num_classes == 10
    model.reset_classifier(0)
    torch.testing.assert_close(model(x), feats)
    headless = paperzoo.create_model("alexnet_tiny", num_classes=0)
    assert isinstance(headless.fc, nn.Identity) and headless.eval()(x).shape == (2, 64)


def test_argument_and_input_validation() -> None:
    with pytest.raises(ValueError, match="groups"):
        AlexNet(widths=(96, 256, 384, 384, 255))
    with pytest.raises(ValueError, match="init"):
        AlexNet(init="xavier")
    with pytest.raises(ValueError, match="drop_rate"):
        AlexNet(drop_rate=1.0)
    model = paperzoo.create_model("alexnet_tiny")
    with pytest.raises(ValueError, match="expected"):
        model(torch.randn(2, 1, 64, 64))
    with pytest.raises(ValueError, match="expected"):
        model(torch.randn(3, 64, 64))
