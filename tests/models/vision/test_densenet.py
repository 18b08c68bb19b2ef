"""DenseNet (Huang et al. 2017): parameter counts against torchvision and against hand counts of a dense layer and
a transition, channel growth against the paper's closed form, dense layers against a functional rebuild with the
same weights, checkpointed layers against plain ones, and the 3D block that T3D builds on."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paperzoo
from paperzoo.models.vision.densenet import DenseBlock, DenseLayer, DenseNet, Transition
from paperzoo.registry import count_params, get_model_entry

REFERENCE = {"densenet121": 7_978_856, "densenet169": 14_149_480, "densenet201": 20_013_928, "densenet161": 28_681_000}
CONFIG = {  # Table 1 (DenseNet-161 is the k = 48 model torchvision ships)
    "densenet121": (32, (6, 12, 24, 16)),
    "densenet169": (32, (6, 12, 32, 32)),
    "densenet201": (32, (6, 12, 48, 32)),
    "densenet161": (48, (6, 12, 36, 24)),
}


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def randomise_bn(model: nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = torch.rand(c, generator=g) + 0.5
            m.bias.data = torch.randn(c, generator=g) * 0.1
            m.running_mean = torch.randn(c, generator=g) * 0.1
            m.running_var = torch.rand(c, generator=g) + 0.5


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_parameter_count_matches_torchvision(name: str) -> None:
    assert get_model_entry(name).reference_params == REFERENCE[name]
    assert count_params(name) == REFERENCE[name]


def test_sub_block_parameter_counts_by_hand() -> None:
    # H_ℓ with 64 input maps, k = 32, bn_size 4: BN(64) + 1×1 64→128 + BN(128) + 3×3 128→32.
    assert n_params(DenseLayer(64, 32)) == 2 * 64 + 64 * 128 + 2 * 128 + 128 * 32 * 9
    # Transition 256 → 128: BN(256) + 1×1 conv; pooling has no parameters.
    assert n_params(Transition(256, 128)) == 2 * 256 + 256 * 128
    # A block's layers see k_0 + k(ℓ - 1) inputs.
    block = DenseBlock(6, 64, 32)
    assert [layer.conv1.in_channels for layer in block.children()] == [64 + 32 * i for i in range(6)]
    assert n_params(block) == sum(n_params(DenseLayer(64 + 32 * i, 32)) for i in range(6))
    # The whole DenseNet-121 from these pieces: stem conv 3·64·49 + BN, blocks, transitions, norm5, fc.
    k, cfg = CONFIG["densenet121"]
    total, c = 3 * 64 * 49 + 2 * 64, 64
    for i, n in enumerate(cfg):
        total += sum(2 * (c + k * j) + (c + k * j) * 4 * k + 2 * 4 * k + 4 * k * k * 9 for j in range(n))
        c += n * k
        if i < len(cfg) - 1:
            total += 2 * c + c * (c // 2)
            c //= 2
    total += 2 * c + c * 1000 + 1000
    assert total == REFERENCE["densenet121"]


@pytest.mark.parametrize("name", ["densenet121", "densenet161"])
def test_channel_growth_per_block_matches_formula(name: str) -> None:
    # Block i outputs k_0 + Σ n_j k channels; a transition keeps ⌊θ m⌋ of m and halves the resolution.
    k, cfg = CONFIG[name]
    with torch.device("meta"):
        m = paperzoo.create_model(name)
    shapes: dict[str, tuple[int, ...]] = {}
    for child_name, child in m.features.named_children():
        child.register_forward_hook(lambda mod, inp, out, n=child_name: shapes.__setitem__(n, tuple(out.shape)))
    feats = m.forward_features(torch.empty(1, 3, 224, 224, device="meta"))
    c, size = 2 * k, 56
    for i, n in enumerate(cfg):
        c += n * k
        assert shapes[f"denseblock{i + 1}"] == (1, c, size, size)
        if i < len(cfg) - 1:
            c, size = math.floor(0.5 * c), size // 2
            assert shapes[f"transition{i + 1}"] == (1, c, size, size)
    assert feats.shape == (1, c, 7, 7) and m.num_features == c
    assert m.classifier.in_features == {"densenet121": 1024, "densenet161": 2208}[name]


def test_final_width_of_every_variant() -> None:
    # k_0 = 2k, then c ← ⌊(c + n_i k) / 2⌋ after every block but the last (Table 1 widths: 1024, 1664, 1920, 2208).
    for name, width in [("densenet121", 1024), ("densenet169", 1664), ("densenet201", 1920), ("densenet161", 2208)]:
        k, cfg = CONFIG[name]
        c = 2 * k
        for n in cfg[:-1]:
            c = (c + n * k) // 2
        assert c + cfg[-1] * k == width
        with torch.device("meta"):
            assert paperzoo.create_model(name).num_features == width


def test_compression_floor() -> None:
    m = DenseNet(8, (3, 3, 2), num_init_features=10, compression=0.3, num_classes=0)
    # 10 + 24 = 34 → ⌊10.2⌋ = 10; 10 + 24 = 34 → 10; 10 + 16 = 26.
    assert m.features.transition1.conv.out_channels == 10
    assert m.features.transition2.conv.out_channels == 10
    assert m.num_features == 26


def _layer_ref(layer: DenseLayer, feats: list[torch.Tensor]) -> torch.Tensor:
    def bn(x: torch.Tensor, b: nn.BatchNorm2d) -> torch.Tensor:
        return F.batch_norm(x, b.running_mean, b.running_var, b.weight, b.bias, False, 0.0, b.eps)

    x = torch.cat(feats, dim=1)
    x = F.conv2d(F.relu(bn(x, layer.norm1)), layer.conv1.weight)
    return F.conv2d(F.relu(bn(x, layer.norm2)), layer.conv2.weight, padding=1)


def test_dense_block_concatenates_every_earlier_output() -> None:
    torch.manual_seed(0)
    block = DenseBlock(4, 6, 5, bn_size=2)
    randomise_bn(block)
    block.eval()
    x = torch.randn(2, 6, 7, 7)
    # eq. 2 written out with the same weights: x_ℓ = H_ℓ([x_0, …, x_{ℓ-1}]).
    feats = [x]
    for layer in block.children():
        feats.append(_layer_ref(layer, feats))
    out = block(x)
    assert out.shape == (2, 6 + 4 * 5, 7, 7)
    torch.testing.assert_close(out, torch.cat(feats, dim=1), rtol=1e-5, atol=1e-5)
    assert torch.equal(out[:, :6], x)  # the input is passed on untouched (concatenated, not summed)


def test_transition_matches_functional_reference() -> None:
    torch.manual_seed(0)
    t = Transition(12, 6)
    randomise_bn(t)
    t.eval()
    x = torch.randn(2, 12, 8, 8)
    b = t.norm
    h = F.relu(F.batch_norm(x, b.running_mean, b.running_var, b.weight, b.bias, False, 0.0, b.eps))
    expected = F.avg_pool2d(F.conv2d(h, t.conv.weight), 2)
    torch.testing.assert_close(t(x), expected, rtol=1e-5, atol=1e-5)


def test_memory_efficient_gives_same_outputs_and_gradients() -> None:
    torch.manual_seed(0)
    a = paperzoo.create_model("densenet_tiny")
    b = paperzoo.create_model("densenet_tiny", memory_efficient=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 32, 32)
    ya, yb = a(x), b(x)  # training mode: batch statistics
    torch.testing.assert_close(ya, yb)
    ya.square().sum().backward()
    yb.square().sum().backward()
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, msg=n)


def test_dense_block_3d_for_t3d() -> None:
    # The same block with 3D layers (T3D's 3D DenseNet): concatenation over channels of (B, C, T, H, W).
    block = DenseBlock(3, 8, 4, conv_layer=nn.Conv3d, norm_layer=nn.BatchNorm3d)
    assert block.out_chs == 20 and tuple(block.denselayer1.conv2.weight.shape) == (4, 16, 3, 3, 3)
    x = torch.randn(2, 8, 4, 6, 6)
    out = block(x)
    assert out.shape == (2, 20, 4, 6, 6) and torch.equal(out[:, :8], x)
    t = Transition(20, 10, conv_layer=nn.Conv3d, norm_layer=nn.BatchNorm3d, pool_layer=nn.AvgPool3d)
    assert t(out).shape == (2, 10, 2, 3, 3)


def test_conv_dropout_only_in_training() -> None:
    torch.manual_seed(0)
    a = paperzoo.create_model("densenet_tiny", conv_drop_rate=0.2)
    b = paperzoo.create_model("densenet_tiny")
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(a(x), b(x))
    assert sum(isinstance(m, nn.Dropout) for m in a.modules()) == 3  # one per transition
    a.train(), b.train()
    assert not torch.allclose(a(x), b(x))


def test_init_and_head() -> None:
    torch.manual_seed(0)
    m = paperzoo.create_model("densenet_tiny").eval()
    assert torch.equal(m.classifier.bias, torch.zeros(10))
    x = torch.randn(2, 3, 32, 32)
    feats = m.forward_features(x)
    assert (feats >= 0).all()  # final BN-ReLU
    pooled = m.forward_head(feats, pre_logits=True)
    torch.testing.assert_close(pooled, feats.mean(dim=(2, 3)))
    torch.testing.assert_close(m(x), m.classifier(pooled))
    m.reset_classifier(3)
    assert m(x).shape == (2, 3) and m.get_classifier() is m.classifier
    m.reset_classifier(0)
    torch.testing.assert_close(m(x), pooled)


def test_validation() -> None:
    m = paperzoo.create_model("densenet_tiny")
    with pytest.raises(ValueError, match="expected"):
        m(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="compression"):
        DenseNet(compression=0.0)
    with pytest.raises(ValueError, match="block_config"):
        DenseNet(block_config=())
    with pytest.raises(ValueError, match="growth_rate"):
        DenseNet(growth_rate=0)
    with pytest.raises(ValueError, match="conv_drop_rate"):
        DenseNet(conv_drop_rate=1.5)
