"""GoogLeNet against the paper's Table 1 (Szegedy et al. 2014) and torchvision's structure.

References used: Table 1 (output sizes, filter columns, the "params" and "ops" columns) counted by
hand; torchvision's state-dict keys and layer table counted by hand; an Inception module recomputed
with ``F.conv2d`` from its weights; the auxiliary heads recomputed on the captured outputs of 4a/4d.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paperzoo
from paperzoo.models.vision._base import ClassifierOutput
from paperzoo.models.vision.googlenet import INCEPTION_TABLE, GoogLeNet, Inception, InceptionAux
from paperzoo.registry import count_params

MODULES = list(INCEPTION_TABLE)  # 3a ... 5b

# Table 1: output side, "params" (K, K = 1024 weights, biases not counted) and "ops" (M multiply-adds).
TABLE1 = {
    "conv1": (112, 2.7, 34),
    "conv2": (56, 112, 360),  # the 1×1 reduce and the 3×3 convolution ("depth 2")
    "3a": (28, 159, 128),
    "3b": (28, 380, 304),
    "4a": (14, 364, 73),
    "4b": (14, 437, 88),
    "4c": (14, 463, 100),
    "4d": (14, 580, 119),
    "4e": (14, 840, 170),
    "5a": (7, 1072, 54),
    "5b": (7, 1388, 71),
    "linear": (1, 1000, 1),
}
# Rows whose printed numbers disagree with the table's own filter columns (see the module docstring).
OPS_ERRATA = {"conv1", "5a"}
PARAMS_ERRATA = {"conv1"}


def inception_weights(c_in: int, row: tuple[int, ...], k5: int) -> int:
    """Weights of one Inception module from Table 1's columns: 1×1, 1×1→3×3, 1×1→k5×k5, pool→1×1."""
    c1, r3, c3, r5, c5, pp = row
    return c_in * c1 + c_in * r3 + 9 * r3 * c3 + c_in * r5 + k5 * k5 * r5 * c5 + c_in * pp


def module_inputs() -> dict[str, int]:
    c_in, out = 192, {}
    for name in MODULES:
        out[name] = c_in
        c1, _, c3, _, c5, pp = INCEPTION_TABLE[name]
        c_in = c1 + c3 + c5 + pp
    return out


def weights_of(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def test_paper_variant_against_table1() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("googlenet_paper")
    ins = module_inputs()
    ours = {
        "conv1": weights_of(model.conv1),
        "conv2": weights_of(model.conv2) + weights_of(model.conv3),
        **{name: weights_of(getattr(model, f"inception{name}")) for name in MODULES},
        "linear": weights_of(model.fc),
    }
    by_hand = {
        "conv1": 7 * 7 * 3 * 64,
        "conv2": 64 * 64 + 9 * 64 * 192,
        **{name: inception_weights(ins[name], INCEPTION_TABLE[name], 5) for name in MODULES},
        "linear": 1024 * 1000,
    }
    assert ours == by_hand
    for name, (side, params_k, ops_m) in TABLE1.items():
        ops = ours[name] * side * side / 1e6  # one multiply-add per weight per output position
        if name in OPS_ERRATA:
            assert abs(ops - ops_m) > 2, name  # the table's number is off (conv1 118M vs 34M, 5a 51M vs 54M)
        else:
            assert abs(ops - ops_m) < 1, (name, ops, ops_m)  # the table rounds to whole millions
        if name not in PARAMS_ERRATA:  # the params column is loose (4c +7%, 5a −5%), ops are exact
            assert ours[name] / 1024 == pytest.approx(params_k, rel=0.08), name
    total_k = sum(v for _, v, _ in TABLE1.values())  # 6797.7K ≈ "6.8M"
    assert sum(ours.values()) / 1024 == pytest.approx(total_k, rel=0.01)
    assert ours["conv2"] / 1024 == 112 and ours["3a"] // 1024 == 159 and ours["linear"] / 1024 == 1000


def torchvision_keys(aux: bool) -> set[str]:
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    convs = ["conv1", "conv2", "conv3"]
    for name in MODULES:
        convs += [f"inception{name}.{b}" for b in ("branch1", "branch2.0", "branch2.1", "branch3.0", "branch3.1")]
        convs.append(f"inception{name}.branch4.1")
    keys = {f"{c}.conv.weight" for c in convs} | {f"{c}.bn.{p}" for c in convs for p in bn} | {"fc.weight", "fc.bias"}
    if aux:
        for a in ("aux1", "aux2"):
            keys |= {f"{a}.conv.conv.weight", *(f"{a}.conv.bn.{p}" for p in bn)}
            keys |= {f"{a}.{fc}.{p}" for fc in ("fc1", "fc2") for p in ("weight", "bias")}
    return keys


@pytest.mark.parametrize(
    "name, aux, expected", [("googlenet", True, 13_004_888), ("googlenet_noaux", False, 6_624_904)]
)
def test_torchvision_structure_counted_by_hand(name: str, aux: bool, expected: int) -> None:
    def basic(c_in: int, c_out: int, k: int) -> int:  # conv without bias + BN γ, β
        return k * k * c_in * c_out + 2 * c_out

    ins = module_inputs()
    total = basic(3, 64, 7) + basic(64, 64, 1) + basic(64, 192, 3) + 1024 * 1000 + 1000
    for m in MODULES:
        c1, r3, c3, r5, c5, pp = INCEPTION_TABLE[m]
        c = ins[m]
        total += (
            basic(c, c1, 1) + basic(c, r3, 1) + basic(r3, c3, 3) + basic(c, r5, 1) + basic(r5, c5, 3) + basic(c, pp, 1)
        )
    if aux:
        for c in (512, 528):  # on 4a and 4d
            total += basic(c, 128, 1) + (128 * 16 + 1) * 1024 + (1024 + 1) * 1000
    assert total == count_params(name) == expected
    with torch.device("meta"):
        model = paperzoo.create_model(name)
    assert set(model.state_dict()) == torchvision_keys(aux)
    assert model.inception3a.branch3[1].conv.kernel_size == (3, 3)  # torchvision's "5×5" branch


def test_map_sizes_follow_table1() -> None:
    expected = [
        ("conv1", 64, 112),
        ("maxpool1", 64, 56),
        ("conv3", 192, 56),
        ("maxpool2", 192, 28),
        ("inception3a", 256, 28),
        ("inception3b", 480, 28),
        ("maxpool3", 480, 14),
        ("inception4a", 512, 14),
        ("inception4d", 528, 14),
        ("inception4e", 832, 14),
        ("maxpool4", 832, 7),
        ("inception5a", 832, 7),
        ("inception5b", 1024, 7),
    ]
    for variant in ("googlenet", "googlenet_paper"):
        with torch.device("meta"):
            model = paperzoo.create_model(variant).eval()
            seen: dict[str, torch.Size] = {}
            for name, _, _ in expected:
                getattr(model, name).register_forward_hook(lambda m, i, o, k=name, d=seen: d.__setitem__(k, o.shape))
            model(torch.empty(1, 3, 224, 224))
        assert [(n, seen[n][1], seen[n][2]) for n, _, _ in expected] == expected, variant


def test_paper_variant_layers() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("googlenet_paper")
    assert model.inception3a.branch3[1].conv.kernel_size == (5, 5)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))
    for norm in (model.norm1, model.norm2):  # Fig. 3's LocalRespNorm, bvlc_googlenet's constants
        assert isinstance(norm, nn.LocalResponseNorm) and (norm.size, norm.alpha, norm.beta, norm.k) == (
            5,
            1e-4,
            0.75,
            1,
        )
    assert model.maxpool4.kernel_size == 3 and isinstance(model.aux1.pool, nn.AvgPool2d)


def test_inception_module_equals_functional_rebuild() -> None:
    torch.manual_seed(0)
    block = Inception(12, 4, 6, 8, 2, 3, 5, kernel5=5).double()
    for p in block.parameters():
        p.data.normal_(0, 0.3)
    x = torch.randn(2, 12, 9, 9, dtype=torch.float64)

    def conv(x: torch.Tensor, m: nn.Module, padding: int = 0) -> torch.Tensor:
        return F.relu(F.conv2d(x, m.conv.weight, m.conv.bias, padding=padding))

    b1 = conv(x, block.branch1)
    b2 = conv(conv(x, block.branch2[0]), block.branch2[1], padding=1)
    b3 = conv(conv(x, block.branch3[0]), block.branch3[1], padding=2)
    b4 = conv(F.max_pool2d(x, 3, 1, padding=1), block.branch4[1])
    torch.testing.assert_close(block(x), torch.cat([b1, b2, b3, b4], 1))
    assert block(x).shape[1] == block.out_chans == 4 + 8 + 3 + 5


def test_aux_pooling_paper_vs_torchvision() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 16, 14, 14)
    fixed = InceptionAux(16, 5, width=4, hidden_dim=8, adaptive_pool=False)
    adaptive = InceptionAux(16, 5, width=4, hidden_dim=8, adaptive_pool=True)
    torch.testing.assert_close(fixed.pool(x), F.avg_pool2d(x, 5, stride=3))  # §5: 5×5, stride 3 → 4×4
    assert fixed.pool(x).shape[-2:] == adaptive.pool(x).shape[-2:] == (4, 4)
    assert not torch.allclose(fixed.pool(x), adaptive.pool(x))  # same grid, different windows


def test_aux_heads_in_train_and_eval() -> None:
    torch.manual_seed(0)
    # No batch norm and no dropout: training and evaluation compute the same function. (Built directly:
    # create_model drops None overrides, so norm_layer=None cannot pass through it.)
    model = GoogLeNet(norm_layer=None, channel_divisor=8, drop_rate=0.0, aux_drop_rate=0.0, num_classes=6)
    captured = {}
    model.inception4a.register_forward_hook(lambda m, i, o: captured.__setitem__("4a", o))
    model.inception4d.register_forward_hook(lambda m, i, o: captured.__setitem__("4d", o))
    x = torch.randn(2, 3, 32, 32)  # 4a/4d maps are 2×2; the adaptive aux pool still gives 4×4
    out = model.train()(x)
    assert isinstance(out, ClassifierOutput) and out.aux_weights == [0.3, 0.3]
    assert [a.shape for a in out.aux_logits] == [(2, 6), (2, 6)]
    torch.testing.assert_close(out.aux_logits[0], model.aux1(captured["4a"]))  # aux1 sits on 4a
    torch.testing.assert_close(out.aux_logits[1], model.aux2(captured["4d"]))  # aux2 sits on 4d
    logits = model.eval()(x)
    assert isinstance(logits, torch.Tensor)
    torch.testing.assert_close(logits, out.logits)
    calls = []
    model.aux1.register_forward_hook(lambda m, i, o: calls.append(1))
    model.eval()(x), model.train().forward_features(x)
    assert not calls  # discarded at inference, and forward_features never runs them
    noaux = paperzoo.create_model("googlenet_tiny", aux_logits=False).train()
    assert isinstance(noaux(x), torch.Tensor) and noaux.aux1 is None


def test_aux_loss_weights_reach_the_trunk() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("googlenet_tiny").train()
    out = model(torch.randn(2, 3, 32, 32))
    loss = F.cross_entropy(out.logits, torch.tensor([0, 1]))
    loss = loss + sum(w * F.cross_entropy(a, torch.tensor([0, 1])) for w, a in zip(out.aux_weights, out.aux_logits))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_features_only_and_reset_classifier() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("googlenet_tiny").eval()
    x = torch.randn(2, 3, 32, 32)  # 4a/4d maps are 2×2; the adaptive aux pool still gives 4×4
    feats = model.forward_head(model.forward_features(x), pre_logits=True)
    assert feats.shape == (2, model.num_features) == (2, 128)
    torch.testing.assert_close(model(x), model.fc(feats))
    model.reset_classifier(7)
    out = model.train()(x)
    assert out.logits.shape == (2, 7) and all(a.shape == (2, 7) for a in out.aux_logits)
    headless = paperzoo.create_model("googlenet_tiny", num_classes=0)
    assert headless.eval()(x).shape == (2, 128)
    assert [a.shape for a in headless.train()(x).aux_logits] == [(2, 128), (2, 128)]


def test_initialisations() -> None:
    torch.manual_seed(0)
    tv = paperzoo.create_model("googlenet_tiny")
    w = torch.cat([m.weight.flatten() for m in tv.modules() if isinstance(m, (nn.Conv2d, nn.Linear))])
    assert w.abs().max() <= 0.02 and w.std().item() == pytest.approx(0.0088, rel=0.05)  # N(0, 0.01) cut at ±2σ
    paper = GoogLeNet(norm_layer=None, init="xavier", channel_divisor=8, num_classes=10)
    assert torch.equal(paper.fc.bias, torch.zeros(10)) and torch.equal(paper.aux1.fc2.bias, torch.zeros(10))
    assert torch.equal(paper.inception4a.branch1.conv.bias, torch.full((24,), 0.2))
    fan_in = paper.inception4a.branch2[1].conv.weight[0].numel()
    assert paper.inception4a.branch2[1].conv.weight.abs().max() <= (3 / fan_in) ** 0.5


def test_argument_and_input_validation() -> None:
    with pytest.raises(ValueError, match="channel_divisor"):
        GoogLeNet(channel_divisor=5)
    with pytest.raises(ValueError, match="kernel5"):
        GoogLeNet(kernel5=4)
    with pytest.raises(ValueError, match="aux_weight"):
        GoogLeNet(aux_weight=-1.0)
    with pytest.raises(ValueError, match="expected"):
        paperzoo.create_model("googlenet_tiny")(torch.randn(2, 1, 64, 64))
