"""Inception-v2/v3 (Szegedy et al. 2016): parameter counts computed by hand from the module widths, grid
sizes at 299×299, a factorised module rebuilt from plain layers, the auxiliary head, label smoothing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from paperzoo import create_model
from paperzoo.models.vision._base import ClassifierOutput
from paperzoo.models.vision.inception_v3 import (
    BasicConv2d,
    GridReduction17,
    GridReduction35,
    Inception8,
    Inception17,
    Inception35,
    InceptionAux,
    InceptionV3,
    label_smoothing_loss,
)
from paperzoo.registry import count_params


def cbn(cin: int, cout: int, kh: int, kw: int | None = None) -> int:
    """Parameters of a bias-free kh×kw convolution followed by batch norm (γ, β)."""
    return cin * cout * kh * (kw if kw is not None else kh) + 2 * cout


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# Hand counts of each module from its branch widths (Figs. 5, 6, 7, 10 with the reference's filter banks).
def inception35(cin: int, pool: int, k: int = 5) -> int:
    return (
        cbn(cin, 64, 1)
        + cbn(cin, 48, 1)
        + cbn(48, 64, k)
        + cbn(cin, 64, 1)
        + cbn(64, 96, 3)
        + cbn(96, 96, 3)
        + cbn(cin, pool, 1)
    )


def reduction35(cin: int) -> int:
    return cbn(cin, 384, 3) + cbn(cin, 64, 1) + cbn(64, 96, 3) + cbn(96, 96, 3)


def inception17(cin: int, c: int) -> int:
    single = cbn(cin, c, 1) + cbn(c, c, 1, 7) + cbn(c, 192, 7, 1)
    double = cbn(cin, c, 1) + cbn(c, c, 7, 1) + cbn(c, c, 1, 7) + cbn(c, c, 7, 1) + cbn(c, 192, 1, 7)
    return cbn(cin, 192, 1) + single + double + cbn(cin, 192, 1)


def reduction17(cin: int) -> int:
    return (
        cbn(cin, 192, 1)
        + cbn(192, 320, 3)
        + cbn(cin, 192, 1)
        + cbn(192, 192, 1, 7)
        + cbn(192, 192, 7, 1)
        + cbn(192, 192, 3)
    )


def inception8(cin: int) -> int:
    split = 2 * cbn(384, 384, 1, 3)
    return cbn(cin, 320, 1) + cbn(cin, 384, 1) + split + cbn(cin, 448, 1) + cbn(448, 384, 3) + split + cbn(cin, 192, 1)


STEM_3X3 = cbn(3, 32, 3) + cbn(32, 32, 3) + cbn(32, 64, 3)  # the factorised 7×7 (Table 3, "Factorized 7x7")
STEM_REST = cbn(64, 80, 1) + cbn(80, 192, 3)
AUX = cbn(768, 128, 1) + cbn(128, 768, 5) + 768 * 1000 + 1000


def test_module_parameter_counts_match_hand_counts() -> None:
    with torch.device("meta"):
        assert n_params(Inception35(192, 32)) == inception35(192, 32)
        assert n_params(Inception35(192, 32, mid_kernel=3)) == inception35(192, 32, k=3)  # Fig. 5 as drawn
        assert n_params(GridReduction35(288)) == reduction35(288)
        assert n_params(Inception17(768, 160)) == inception17(768, 160)
        assert n_params(GridReduction17(768)) == reduction17(768)
        assert n_params(Inception8(1280)) == inception8(1280)
        assert n_params(InceptionAux(768, 1000)) == AUX == 3_326_696
        assert Inception35(288, 64).out_chans == 288 and GridReduction35(288).out_chans == 768
        assert Inception17(768, 128).out_chans == 768 and GridReduction17(768).out_chans == 1280
        assert Inception8(1280).out_chans == 2048


def test_whole_network_hand_count_equals_torchvision() -> None:
    body = (
        STEM_3X3
        + STEM_REST
        + inception35(192, 32)
        + inception35(256, 64)
        + inception35(288, 64)
        + reduction35(288)
        + inception17(768, 128)
        + 2 * inception17(768, 160)
        + inception17(768, 192)
        + reduction17(768)
        + inception8(1280)
        + inception8(2048)
        + 2048 * 1000
        + 1000
    )
    assert body == 23_834_568 and body + AUX == 27_161_264  # torchvision, without / with the aux head
    assert count_params("inception_v3") == 27_161_264
    assert count_params("inception_v3_noaux") == 23_834_568
    # Inception-v2: one 7×7/2 conv with 64 filters instead of three 3×3; no BN (a bias) in the aux 768 layer.
    assert count_params("inception_v2") == 27_161_264 - STEM_3X3 + 3 * 64 * 49 + 2 * 64 - 2 * 768 + 768


@pytest.mark.parametrize("name", ["inception_v3", "inception_v2"])
def test_grid_sizes_at_299(name: str) -> None:
    shapes: dict[str, tuple[int, ...]] = {}
    with torch.device("meta"):
        model = create_model(name)
        for stage in ("stem", "mixed_5", "mixed_6", "mixed_7"):
            getattr(model, stage).register_forward_hook(lambda m, i, o, s=stage: shapes.__setitem__(s, tuple(o.shape)))
        model.stem[0].register_forward_hook(lambda m, i, o: shapes.__setitem__("first", tuple(o.shape)))
        out = model(torch.empty(2, 3, 299, 299))
    assert shapes["stem"] == (2, 192, 35, 35)
    assert shapes["mixed_5"] == (2, 288, 35, 35)
    assert shapes["mixed_6"] == (2, 768, 17, 17)
    assert shapes["mixed_7"] == (2, 2048, 8, 8)
    assert model.grid_sizes(299) == (35, 17, 8)
    # 3×3/2 conv → 149×149×32 (v3); 7×7/2 conv → 147×147×64, Table 1's input to the first pooling (v2)
    assert shapes["first"] == ((2, 32, 149, 149) if name == "inception_v3" else (2, 64, 147, 147))
    assert isinstance(out, ClassifierOutput) and out.logits.shape == out.aux_logits[0].shape == (2, 1000)
    assert (model.min_input_size, model.min_aux_input_size) == (75, 299)


def _plain(cin: int, cout: int, kernel: tuple[int, int], padding: tuple[int, int]) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, kernel, padding=padding, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU()).eval()


def _copy(ours: list[BasicConv2d], plain: list[nn.Sequential]) -> None:
    assert len(ours) == len(plain)
    for a, b in zip(ours, plain, strict=True):
        b[0].weight.data.copy_(a.conv.weight)
        b[1].load_state_dict(a.bn.state_dict())


def _randomise_bn(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def test_inception17_equals_plain_layers_with_copied_weights() -> None:
    """Fig. 6 with n = 7, written out from nn.Conv2d/BatchNorm2d/ReLU layers, gives the same output."""
    torch.manual_seed(0)
    cin, c, c192 = 24, 8, 12
    block = Inception17(cin, 128, width_mult=1 / 16).eval()  # mid 128 → 8, 192 → 12
    _randomise_bn(block)
    r, q, one = (1, 7), (7, 1), (1, 1)
    plain = [
        _plain(cin, c192, one, (0, 0)),
        _plain(cin, c, one, (0, 0)),
        _plain(c, c, r, (0, 3)),
        _plain(c, c192, q, (3, 0)),
        _plain(cin, c, one, (0, 0)),
        _plain(c, c, q, (3, 0)),
        _plain(c, c, r, (0, 3)),
        _plain(c, c, q, (3, 0)),
        _plain(c, c192, r, (0, 3)),
        _plain(cin, c192, one, (0, 0)),
    ]
    _copy([m for m in block.modules() if isinstance(m, BasicConv2d)], plain)
    x = torch.randn(2, cin, 9, 9)
    pool = F.avg_pool2d(x, 3, stride=1, padding=1)  # zero padding counted, as the reference
    expected = torch.cat(
        [
            plain[0](x),
            plain[3](plain[2](plain[1](x))),
            plain[8](plain[7](plain[6](plain[5](plain[4](x))))),
            plain[9](pool),
        ],
        dim=1,
    )
    torch.testing.assert_close(block(x), expected)
    assert block.out_chans == 4 * c192


def test_aux_head_train_vs_eval() -> None:
    torch.manual_seed(0)
    model = create_model("inception_v3_tiny")
    x = torch.randn(2, 3, 299, 299)
    out = model.train()(x)
    assert isinstance(out, ClassifierOutput)
    assert out.logits.shape == (2, 10) and len(out.aux_logits) == 1 and out.aux_logits[0].shape == (2, 10)
    assert out.aux_weights == [0.4]
    # the aux logits are the aux head applied to the last 17×17 layer
    x17 = model.mixed_6(model.mixed_5(model.stem(x)))
    torch.testing.assert_close(out.aux_logits[0], model.aux(x17))
    model.eval()
    assert isinstance(model(x), torch.Tensor) and model(x).shape == (2, 10)
    assert model(torch.randn(1, 3, 75, 75)).shape == (1, 10)  # without the aux head, 75×75 suffices
    with pytest.raises(ValueError, match="expected images of at least 75"):
        model(torch.randn(1, 3, 74, 74))
    with pytest.raises(ValueError, match="expected images of at least 299"):
        model.train()(torch.randn(1, 3, 298, 298))
    noaux = InceptionV3(10, aux_logits=False, width_mult=1 / 16).train()
    assert isinstance(noaux(torch.randn(2, 3, 75, 75)), torch.Tensor)
    with pytest.raises(ValueError, match="expected"):
        model(torch.randn(2, 4, 299, 299))


def test_v2_and_v3_differ_as_table_3_says() -> None:
    with torch.device("meta"):
        v2, v3 = create_model("inception_v2"), create_model("inception_v3")
    assert v2.stem[0].conv.kernel_size == (7, 7) and v2.stem[0].conv.stride == (2, 2)
    assert [m.conv.kernel_size for m in v3.stem[:3]] == [(3, 3)] * 3
    assert isinstance(v3.aux.conv1.bn, nn.BatchNorm2d) and v3.aux.conv1.conv.bias is None  # BN-auxiliary
    assert isinstance(v2.aux.conv1.bn, nn.Identity) and v2.aux.conv1.conv.bias is not None
    assert isinstance(v2.aux.conv0.bn, nn.BatchNorm2d)  # v2's aux convolutions were already normalised
    assert v3.mixed_5[0].branches[1][1].conv.kernel_size == (5, 5)  # reference
    with torch.device("meta"):
        fig5 = create_model("inception_v3", inception35_kernel=3)
    assert fig5.mixed_5[0].branches[1][1].conv.kernel_size == (3, 3)


def test_reset_classifier_resets_both_heads() -> None:
    model = create_model("inception_v3_tiny")
    model.reset_classifier(5)
    out = model.train()(torch.randn(2, 3, 299, 299))
    assert out.logits.shape == (2, 5) and out.aux_logits[0].shape == (2, 5)
    model.reset_classifier(0)
    assert model.aux is None and model.num_classes == 0
    feats = model(torch.randn(2, 3, 299, 299))
    assert isinstance(feats, torch.Tensor) and feats.shape == (2, model.num_features)
    assert model.eval().forward_head(model.forward_features(torch.randn(1, 3, 75, 75)), pre_logits=True).shape == (
        1,
        model.num_features,
    )


def test_initialisation_follows_reference() -> None:
    torch.manual_seed(0)
    model = InceptionV3(1000, width_mult=1 / 4)
    w = model.mixed_6[1].branches[0].conv.weight  # (48, 192, 1, 1)
    assert abs(w.std().item() - 0.1) < 0.02 and w.abs().max() <= 0.2  # truncated normal, std 0.1, ±2σ
    assert model.aux.fc.weight.abs().max() <= 0.002 and model.aux.conv1.conv.weight.abs().max() <= 0.02  # 0.001, 0.01
    assert torch.all(model.fc.bias == 0)


def test_label_smoothing_loss_matches_paper_formula_and_torch() -> None:
    torch.manual_seed(0)
    k, eps = 7, 0.1
    logits, target = torch.randn(16, k), torch.randint(0, k, (16,))
    ours = label_smoothing_loss(logits, target, eps)
    torch.testing.assert_close(ours, F.cross_entropy(logits, target, label_smoothing=eps))
    # H(q', p) with q'(k) = (1 − ε) δ_{k,y} + ε / K, summed over k by hand
    q = (1 - eps) * F.one_hot(target, k).double() + eps / k
    log_p = logits.double() - logits.double().exp().sum(1, keepdim=True).log()
    torch.testing.assert_close(ours.double(), -(q * log_p).sum(1).mean())
    torch.testing.assert_close(label_smoothing_loss(logits, target, 0.0), F.cross_entropy(logits, target))
    with pytest.raises(ValueError, match="epsilon"):
        label_smoothing_loss(logits, target, 1.0)


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="stem"):
        InceptionV3(stem="5x5")
    with pytest.raises(ValueError, match="drop_rate"):
        InceptionV3(drop_rate=1.0)
    with pytest.raises(ValueError, match="mid_kernel"):
        Inception35(192, 32, mid_kernel=7)
    with pytest.raises(ValueError, match="width_mult"):
        InceptionV3(width_mult=0)
