"""C3D (Tran et al. 2015): parameter count against DavideA/c3d-pytorch and a hand count from Fig. 3, pool5 and
fc6 shapes at 16×112×112, the whole network against a functional rebuild with the same weights (pool5's
padding written as an explicit -inf pad), and the video descriptor against a per-clip loop."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import paperzoo
from paperzoo.models.video.c3d import C3D, c3d_pool5_size
from paperzoo.registry import count_params, get_model_entry

DAVIDEA_C3D_PARAMS = 79_991_015


def test_parameter_count_matches_reference_and_hand_count() -> None:
    widths = [3, 64, 128, 256, 256, 512, 512, 512, 512]
    convs = sum(27 * a * b + b for a, b in zip(widths[:-1], widths[1:]))
    fcs = (8192 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 487 + 487)  # fc6 (512·1·4·4 → 4096), fc7, fc8
    assert convs + fcs == DAVIDEA_C3D_PARAMS
    assert get_model_entry("c3d").reference_params == DAVIDEA_C3D_PARAMS
    assert count_params("c3d") == DAVIDEA_C3D_PARAMS


def test_pool5_and_fc6_shapes_at_16x112x112() -> None:
    assert c3d_pool5_size((16, 112, 112)) == (1, 4, 4)
    with torch.device("meta"):
        model = paperzoo.create_model("c3d")
    x = torch.empty(2, 3, 16, 112, 112, device="meta")
    pool5 = model.forward_features(x)
    assert pool5.shape == (2, 512, 1, 4, 4) and model.pool5_shape == (512, 1, 4, 4)
    assert model.fc6.in_features == 8192
    assert model.extract_fc6(x).shape == (2, 4096)
    assert model.forward_head(pool5, pre_logits=True).shape == (2, 4096)
    assert model(x).shape == (2, 487)


def test_intermediate_shapes_follow_fig3() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("c3d")
    x = torch.empty(1, 3, 16, 112, 112, device="meta")
    shapes = []
    for name in ("conv1", "pool1", "conv2", "pool2", "conv3a", "conv3b", "pool3", "conv4a", "conv4b", "pool4"):
        x = getattr(model, name)(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes[1] == (64, 16, 56, 56)  # pool1 is 1×2×2: time is kept
    assert shapes[3] == (128, 8, 28, 28)
    assert shapes[6] == (256, 4, 14, 14)
    assert shapes[9] == (512, 2, 7, 7)


def _reference_forward(model: C3D, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Functional C3D with the model's weights; pool5's padding as an explicit -inf pad. Returns (fc6, logits)."""

    def conv(h, name):
        layer = getattr(model, name)
        return F.relu(F.conv3d(h, layer.weight, layer.bias, padding=1))

    h = F.max_pool3d(conv(x, "conv1"), (1, 2, 2))
    h = F.max_pool3d(conv(h, "conv2"), 2)
    h = F.max_pool3d(conv(conv(h, "conv3a"), "conv3b"), 2)
    h = F.max_pool3d(conv(conv(h, "conv4a"), "conv4b"), 2)
    h = conv(conv(h, "conv5a"), "conv5b")
    h = F.max_pool3d(F.pad(h, (1, 1, 1, 1), value=float("-inf")), 2)  # (W, H) padded by one, T not
    fc6 = F.relu(F.linear(h.flatten(1), model.fc6.weight, model.fc6.bias))
    fc7 = F.relu(F.linear(fc6, model.fc7.weight, model.fc7.bias))
    return fc6, F.linear(fc7, model.fc8.weight, model.fc8.bias)


def test_matches_functional_rebuild() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("c3d_tiny").eval()
    x = torch.randn(2, 3, 16, 32, 32)
    fc6, logits = _reference_forward(model, x)
    torch.testing.assert_close(model.extract_fc6(x), fc6)
    torch.testing.assert_close(model(x), logits)
    assert model.forward_features(x).shape == (2, 64, 1, 2, 2)


def test_dropout_after_fc6_and_fc7_in_training_only() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("c3d_tiny")
    x = torch.randn(2, 3, 16, 32, 32)
    feats = model.forward_features(x)
    model.train()
    a, b = model.forward_head(feats, pre_logits=True), model.forward_head(feats, pre_logits=True)
    assert not torch.equal(a, b)
    model.eval()
    torch.testing.assert_close(model.forward_head(feats, pre_logits=True), model.forward_head(feats, pre_logits=True))
    assert model.drop_rate == 0.5


def test_video_descriptor_averages_fc6_over_clips_and_l2_normalises() -> None:
    torch.manual_seed(0)
    model = paperzoo.create_model("c3d_tiny").eval()
    clips = torch.randn(2, 3, 3, 16, 32, 32)  # 2 videos × 3 clips
    desc = model.video_descriptor(clips)
    for b in range(2):
        mean = torch.stack([model.extract_fc6(clips[b, n : n + 1])[0] for n in range(3)]).mean(0)
        torch.testing.assert_close(desc[b], mean / mean.norm())
    torch.testing.assert_close(desc.norm(dim=-1), torch.ones(2))


def test_input_and_constructor_validation() -> None:
    model = paperzoo.create_model("c3d_tiny")
    with pytest.raises(ValueError, match=r"expected clips of shape \(B, 3, 16, 32, 32\)"):
        model(torch.randn(1, 3, 8, 32, 32))
    with pytest.raises(ValueError, match="expected"):
        model(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match="too small"):
        C3D(clip_size=(8, 112, 112))
    with pytest.raises(ValueError, match="widths"):
        C3D(widths=(64, 128))
    model.reset_classifier(0)
    assert model(torch.randn(1, 3, 16, 32, 32)).shape == (1, 128)  # fc7 features
