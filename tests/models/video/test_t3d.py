"""T3D (Diba et al. 2017): the Temporal Transition Layer against its branches rebuilt from plain conv3d, dense-block
growth, feature-map sizes and the full parameter count against a hand count from the layer table, the whole network
against a functional rebuild, 2D→3D supervision transfer (the 2D net is left untouched by an optimiser step, the 3D
net moves) and balanced pair building with correct labels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import paperzoo
from paperzoo.models.video.t3d import T3D, SupervisionTransfer, TemporalTransitionLayer, make_pairs
from paperzoo.registry import count_params


def randomise_bn(module: torch.nn.Module) -> None:
    """Non-trivial batch-norm statistics and affine parameters, so eval-mode BN is not the identity."""
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -0.2, 0.2)


def reference_ttl(ttl: TemporalTransitionLayer, x: torch.Tensor, depths: tuple[int, ...]) -> torch.Tensor:
    """Each branch as BN → ReLU → explicit zero padding → F.conv3d, concatenated, then 2×2×2 average pooling."""
    outs = []
    for d, branch in zip(depths, ttl.branches):
        bn = branch.norm
        h = F.relu(F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps))
        k = 1 if d == 1 else 3
        before, after = (d - 1) // 2, d - 1 - (d - 1) // 2  # 'same' in time, extra frame after (6: 2 + 3)
        h = F.pad(h, (k // 2, k // 2, k // 2, k // 2, before, after))
        assert branch.conv.weight.shape[2:] == (d, k, k)
        outs.append(F.conv3d(h, branch.conv.weight))
    return F.avg_pool3d(torch.cat(outs, dim=1), 2)


@pytest.mark.parametrize("depths", [(1, 3, 6), (1, 3, 4)])
def test_ttl_equals_branches_computed_separately(depths: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    ttl = TemporalTransitionLayer(5, 4, depths)
    randomise_bn(ttl)
    ttl.eval()
    x = torch.randn(2, 5, 8, 6, 6)
    out = ttl(x)
    assert out.shape == (2, 12, 4, 3, 3) and ttl.out_chs == 12
    torch.testing.assert_close(out, reference_ttl(ttl, x, depths))


def dense_layer_params(c: int, k: int = 32, bn_size: int = 4) -> int:
    """BN(c) + Conv1×1×1(c → 4k) + BN(4k) + Conv3×3×3(4k → k), no conv biases."""
    return 2 * c + c * bn_size * k + 2 * bn_size * k + bn_size * k * k * 27


def ttl_params(c: int, depths: tuple[int, ...], width: int = 128) -> int:
    """One BN(c) + Conv(c → width, d×k×k) per branch (1×1×1 for d = 1)."""
    return sum(2 * c + c * width * d * (1 if d == 1 else 9) for d in depths)


def t3d_hand_count(blocks: tuple[int, ...], k: int = 32, classes: int = 400) -> tuple[int, list[int]]:
    ttl_depths = ((1, 3, 6), (1, 3, 4), (1, 3, 4))
    n = 3 * 64 * 3 * 7 * 7 + 2 * 64  # conv0 3×7×7, norm0
    c, outs = 64, []
    for i, layers in enumerate(blocks):
        n += sum(dense_layer_params(c + j * k, k) for j in range(layers))
        c += layers * k
        outs.append(c)
        if i < len(blocks) - 1:
            n += ttl_params(c, ttl_depths[i])
            c = 3 * 128
    n += 2 * c + c * classes + classes  # norm5, classifier
    return n, outs


def test_dense_growth_and_parameter_counts_match_table() -> None:
    n121, outs121 = t3d_hand_count((6, 12, 24, 16))
    n169, outs169 = t3d_hand_count((6, 12, 32, 32))
    assert outs121 == [64 + 6 * 32, 384 + 12 * 32, 384 + 24 * 32, 384 + 16 * 32] == [256, 768, 1152, 896]
    assert outs169 == [256, 768, 1408, 1408]
    assert count_params("t3d_densenet121") == n121 == 29_876_880
    assert count_params("t3d_densenet169") == n169 == 38_519_184
    with torch.device("meta"):
        model = paperzoo.create_model("t3d_densenet121")
    assert model.block_out_chs == outs121 and model.num_features == 896
    layer = model.features.denseblock3.denselayer5  # input 384 + 4·32 channels
    assert sum(p.numel() for p in layer.parameters()) == dense_layer_params(384 + 4 * 32)
    assert layer.conv2.weight.shape == (32, 128, 3, 3, 3) and layer.conv1.weight.shape == (128, 512, 1, 1, 1)


def test_feature_map_sizes_at_32x224x224() -> None:
    with torch.device("meta"):
        model = paperzoo.create_model("t3d_densenet121")
        x = torch.empty(1, 3, 32, 224, 224)
        sizes = {}
        for name, module in model.features.named_children():
            x = module(x)
            sizes[name] = tuple(x.shape[1:])
        logits = model(torch.empty(2, 3, 32, 224, 224))
    assert sizes["pool0"] == (64, 8, 56, 56)
    assert sizes["ttl1"] == (384, 4, 28, 28)
    assert sizes["ttl2"] == (384, 2, 14, 14)
    assert sizes["ttl3"] == (384, 1, 7, 7)
    assert sizes["norm5"] == (896, 1, 7, 7)
    assert logits.shape == (2, 400)


def test_t3d_matches_functional_rebuild() -> None:
    torch.manual_seed(1)
    model = paperzoo.create_model("t3d_tiny")
    randomise_bn(model)
    model.eval()
    x = torch.randn(2, 3, 32, 32, 32)

    def bn_relu(h, bn):
        return F.relu(F.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps))

    f = model.features
    h = F.max_pool3d(bn_relu(F.conv3d(x, f.conv0.weight, stride=2, padding=(1, 3, 3)), f.norm0), 3, 2, 1)
    for i in range(1, 5):
        for layer in getattr(f, f"denseblock{i}").children():
            new = F.conv3d(bn_relu(h, layer.norm1), layer.conv1.weight)
            new = F.conv3d(bn_relu(new, layer.norm2), layer.conv2.weight, padding=1)
            h = torch.cat([h, new], dim=1)
        if i < 4:
            ttl = getattr(f, f"ttl{i}")
            h = reference_ttl(ttl, h, ttl.depths)
    h = bn_relu(h, f.norm5).mean(dim=(2, 3, 4))
    torch.testing.assert_close(model(x), F.linear(h, model.classifier.weight, model.classifier.bias))
    with pytest.raises(ValueError, match=">= 32"):
        model(torch.randn(1, 3, 16, 32, 32))
    with pytest.raises(ValueError, match="ttl_depths"):
        T3D(block_config=(2, 2), ttl_depths=((1, 3), (1, 3)))


# ---------------------------------------------------------------------------------------------- supervision transfer


def test_make_pairs_is_balanced_with_correct_labels() -> None:
    b, t = 5, 6
    # Every frame is constant and encodes its clip and time: value = 100·clip + time.
    codes = (100 * torch.arange(b).view(b, 1, 1, 1, 1) + torch.arange(t).view(1, 1, t, 1, 1)).float()
    clips = codes.expand(b, 3, t, 4, 4).clone()
    g = torch.Generator().manual_seed(0)
    frames, pair_clips, labels = make_pairs(clips, generator=g)
    assert frames.shape == (2 * b, 3, 4, 4) and pair_clips.shape == (2 * b, 3, t, 4, 4) and labels.shape == (2 * b,)
    assert int(labels.sum()) == b and int((labels == 0).sum()) == b  # balanced
    src_clip = (frames[:, 0, 0, 0] // 100).long()
    src_time = (frames[:, 0, 0, 0] % 100).long()
    paired = (pair_clips[:, 0, 0, 0, 0] // 100).long()
    assert torch.equal(labels, (src_clip == paired).float())  # label 1 exactly when the frame is from the same video
    assert torch.all((src_time >= 0) & (src_time < t))
    for i in range(2 * b):  # each frame is a real frame of its source clip
        torch.testing.assert_close(frames[i], clips[src_clip[i], :, src_time[i]])
    with pytest.raises(ValueError, match="at least 2"):
        make_pairs(clips[:1])


def test_supervision_transfer_updates_only_the_3d_net_and_head() -> None:
    torch.manual_seed(2)
    net2d = paperzoo.create_model("densenet_tiny", num_classes=0)
    net3d = paperzoo.create_model("t3d_tiny", num_classes=0)
    model = SupervisionTransfer(net2d, net3d, hidden=(32, 16), drop_rate=0.0)
    model.train()
    assert not net2d.training and net3d.training  # the teacher's BN statistics stay frozen
    before_2d = {k: v.clone() for k, v in net2d.state_dict().items()}
    before_3d = {k: v.clone() for k, v in net3d.named_parameters()}
    # An optimiser handed *all* parameters, with weight decay and momentum, must still leave the 2D net alone.
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    clips = torch.randn(3, 3, 32, 32, 32)
    frames, pair_clips, same = make_pairs(clips, generator=torch.Generator().manual_seed(1))
    out = model.pair_loss(frames, pair_clips, same)
    assert out.logits.shape == (6,)
    torch.testing.assert_close(out.loss, F.binary_cross_entropy_with_logits(out.logits, same))
    opt.zero_grad()
    out.loss.backward()
    opt.step()
    for k, v in net2d.state_dict().items():
        assert torch.equal(v, before_2d[k]), f"2D net changed: {k}"
    assert all(p.grad is None for p in net2d.parameters())
    changed = [k for k, p in net3d.named_parameters() if not torch.equal(p, before_3d[k])]
    assert len(changed) == len(before_3d)  # every 3D parameter moved
    assert {id(p) for p in model.trainable_parameters()} == {
        id(p) for p in [*net3d.parameters(), *model.head.parameters()]
    }


def test_supervision_transfer_learns_frame_clip_correspondence() -> None:
    """§3.2's pretext task on the built-in clips: after a short training the 3D net (with the head) tells whether a
    frame comes from the clip's own video far above chance, with the 2D teacher frozen at its random init."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = paperzoo.create_dataset("moving_shapes", seed=3, train_size=160, val_size=2, test_size=64, num_frames=32)

    def prep(x: torch.Tensor) -> torch.Tensor:
        return (x.float() / 255.0 - 0.45) / 0.225

    net2d = paperzoo.create_model("densenet_tiny", num_classes=0)
    net3d = paperzoo.create_model("t3d_tiny", num_classes=0)
    model = SupervisionTransfer(net2d, net3d, hidden=(64, 32), drop_rate=0.0)
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    train = data.train.videos
    model.train()
    for _ in range(150):
        clips = prep(train[torch.randperm(len(train), generator=g)[:8]])
        out = model.pair_loss(*make_pairs(clips, generator=g))
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        frames, clips, same = make_pairs(prep(data.test.videos), generator=torch.Generator().manual_seed(1))
        acc = float(((model(frames, clips) > 0).float() == same).float().mean())
    assert acc > 0.65, acc  # chance: 0.5 (balanced pairs, 128 of them: 0.65 is 3.4 standard deviations); measured 0.73
