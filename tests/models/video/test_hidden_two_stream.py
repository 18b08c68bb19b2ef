"""Hidden Two-Stream (Zhu et al. 2018): warping against an exact integer translation, the Charbonnier, smoothness
and SSIM losses against hand computations and naive loops, the zero-flow floor of the photometric loss, MotionNet's
scales and its parameter count recounted from the reference prototxt's layer table, MotionNet against a functional
rebuild with the same weights, the temporal-stream input encoding, end-to-end vs detached gradients, and a short
optimisation on a translating pattern that lowers the photometric loss."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import paperzoo
from paperzoo.models.video.hidden_two_stream import (
    MOTIONNET_PARAMS,
    HiddenTwoStream,
    MotionNet,
    UnsupervisedFlowLoss,
    charbonnier,
    flow_to_temporal_input,
    gaussian_window,
    in_frame_mask,
    smoothness_loss,
    ssim,
    ssim_loss,
    warp,
)
from paperzoo.registry import count_params, get_model_entry


def conv_params(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


def motionnet_prototxt_params(in_chans: int = 33, flow: int = 20) -> int:
    """Parameters of multiframe_MotionNet/train.prototxt, layer by layer (every conv/deconv has a bias)."""
    enc = [64, 128, 256, 512, 512, 1024]
    n, c = 0, in_chans
    for width in enc:  # conv{l} and conv{l}_1, 3×3
        n += conv_params(c, width, 3) + conv_params(width, width, 3)
        c = width
    n += conv_params(c, flow, 3)  # conv_pr6
    for level, width in zip((5, 4, 3, 2), (512, 256, 128, 64)):
        n += conv_params(c, width, 4)  # deconv{level} 4×4/2
        n += conv_params(flow, flow, 4)  # upsample_flow{level+1}to{level}
        n += conv_params(enc[level - 1] + width + flow, width, 3)  # smooth_conv{level} on concat
        n += conv_params(width, flow, 3)  # conv_pr{level}
        c = width
    return n


# ---------------------------------------------------------------------------------------------- warping


def test_warp_reproduces_integer_translation_in_the_interior() -> None:
    torch.manual_seed(0)
    target = torch.rand(2, 3, 12, 15)
    source = torch.roll(target, shifts=(2, 3), dims=(2, 3))  # content moved down 2, right 3: S(y, x) = T(y-2, x-3)
    flow = torch.zeros(2, 2, 12, 15)
    flow[:, 0], flow[:, 1] = 3.0, 2.0  # u (x) = 3, v (y) = 2
    warped = warp(source, flow)
    torch.testing.assert_close(warped[..., : 12 - 2, : 15 - 3], target[..., : 12 - 2, : 15 - 3], rtol=0, atol=1e-6)
    assert warped[..., 12 - 2 :, :].abs().max() == 0 and warped[..., :, 15 - 3 :].abs().max() == 0  # outside: 0


def test_warp_is_bilinear_between_pixels() -> None:
    image = torch.arange(20.0).view(1, 1, 4, 5)
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0], flow[:, 1] = 0.25, 0.5
    out = warp(image, flow)
    y, x = 1, 2  # samples at (1.5, 2.25)
    expected = 0.5 * (0.75 * image[0, 0, 1, 2] + 0.25 * image[0, 0, 1, 3]) + 0.5 * (
        0.75 * image[0, 0, 2, 2] + 0.25 * image[0, 0, 2, 3]
    )
    torch.testing.assert_close(out[0, 0, y, x], expected)
    with pytest.raises(ValueError, match="expected"):
        warp(image, torch.zeros(1, 3, 4, 5))


# ---------------------------------------------------------------------------------------------- losses


def test_charbonnier_matches_hand_computation() -> None:
    x = torch.tensor([[0.1, -0.2], [0.3, 0.0]], dtype=torch.float64)
    vals = [((255 * v) ** 2 + 1e-3**2) ** 0.4 for v in (0.1, -0.2, 0.3, 0.0)]
    torch.testing.assert_close(charbonnier(x, alpha=0.4, beta=255.0, eps=1e-3), torch.tensor(sum(vals) / 4).double())
    mask = torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    masked = charbonnier(x, alpha=0.4, beta=255.0, eps=1e-3, mask=mask)
    torch.testing.assert_close(masked, torch.tensor((vals[0] + vals[1] + vals[3]) / 3).double())


def test_smoothness_matches_loop_over_neighbours() -> None:
    torch.manual_seed(1)
    flow = torch.randn(2, 4, 3, 5, dtype=torch.float64)  # two (u, v) pairs
    rho = lambda d: (d**2 + 1e-3**2) ** 0.3  # noqa: E731
    horiz, vert = [], []
    for b in range(2):
        for c in range(4):
            for i in range(3):
                for j in range(5):
                    if j + 1 < 5:
                        horiz.append(rho(flow[b, c, i, j] - flow[b, c, i, j + 1]))
                    if i + 1 < 3:
                        vert.append(rho(flow[b, c, i, j] - flow[b, c, i + 1, j]))
    expected = torch.stack(horiz).mean() + torch.stack(vert).mean()
    torch.testing.assert_close(smoothness_loss(flow, alpha=0.3), expected)
    assert smoothness_loss(torch.full((1, 2, 4, 4), 3.0), eps=0.0) == 0  # constant flow is smooth


def naive_ssim(x: torch.Tensor, y: torch.Tensor, window: int, stride: int, c1: float, c2: float) -> torch.Tensor:
    """SSIM of every (truncated) window by explicit loops, with the reference's Gaussian written out."""
    sigma = 2 * window / 12
    g = [[math.exp(-((h - window / 2) ** 2 + (w - window / 2) ** 2) / (2 * sigma**2)) for w in range(window)]
         for h in range(window)]  # fmt: skip
    total = sum(map(sum, g))
    g = [[v / total for v in row] for row in g]
    b, c, height, width = x.shape
    n_h = math.ceil(max(height - window, 0) / stride) + 1
    n_w = math.ceil(max(width - window, 0) / stride) + 1
    out = torch.zeros(b, c, n_h, n_w, dtype=x.dtype)
    for bi in range(b):
        for ci in range(c):
            for ph in range(n_h):
                for pw in range(n_w):
                    mx = my = sxx = syy = sxy = 0.0
                    for h in range(ph * stride, min(ph * stride + window, height)):
                        for w in range(pw * stride, min(pw * stride + window, width)):
                            wt = g[h - ph * stride][w - pw * stride]
                            a, bb = float(x[bi, ci, h, w]), float(y[bi, ci, h, w])
                            mx, my = mx + wt * a, my + wt * bb
                            sxx, syy, sxy = sxx + wt * a * a, syy + wt * bb * bb, sxy + wt * a * bb
                    vx, vy, cov = sxx - mx * mx, syy - my * my, sxy - mx * my
                    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
                    out[bi, ci, ph, pw] = lum * (2 * cov + c2) / (vx + vy + c2)
    return out


def test_ssim_matches_naive_windowed_loop() -> None:
    torch.manual_seed(2)
    x = torch.rand(1, 2, 19, 21, dtype=torch.float64)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    got = ssim(x, y, window=8, stride=8, c1=1e-4, c2=1e-3)
    assert got.shape == (1, 2, 3, 3)  # ⌈(19 - 8) / 8⌉ + 1 = 3 windows, the last truncated
    torch.testing.assert_close(got, naive_ssim(x, y, 8, 8, 1e-4, 1e-3).to(got.dtype), rtol=1e-5, atol=1e-6)
    small = torch.rand(1, 1, 7, 7, dtype=torch.float64)  # flow6 at 224: one truncated window
    torch.testing.assert_close(ssim(small, small.flip(-1)), naive_ssim(small, small.flip(-1), 8, 8, 1e-4, 1e-3))
    torch.testing.assert_close(ssim_loss(x, x), torch.tensor(0.0, dtype=torch.float64), atol=1e-12, rtol=0)
    assert abs(float(gaussian_window(8).sum()) - 1) < 1e-6


def test_zero_flow_on_identical_frames_gives_zero_photometric_loss() -> None:
    torch.manual_seed(3)
    frame = torch.rand(2, 3, 1, 64, 64)
    frames = frame.expand(2, 3, 3, 64, 64)
    flows = [torch.zeros(2, 4, 64 // 2**s, 64 // 2**s) for s in (5, 4, 3, 2, 1)]
    out = UnsupervisedFlowLoss(eps=0.0)(frames, flows)
    for pixel, smooth in zip(out.photometric, out.smoothness):
        # grid_sample's coordinate normalisation leaves float32 rounding (~1e-8) that ρ_0.4 (x 255) lifts to ~1e-5.
        assert float(pixel) < 1e-4 and float(smooth) == 0.0
    for s in out.ssim:
        assert abs(float(s)) < 1e-5
    # With the reference's ε the Charbonnier penalty bottoms out at (ε²)^α, never below.
    floor = UnsupervisedFlowLoss(eps=1e-3)(frames, flows)
    for pixel in floor.photometric:
        torch.testing.assert_close(pixel, torch.tensor((1e-3**2) ** 0.4))
    # A wrong flow on moving frames costs more than the floor.
    moving = torch.stack([torch.roll(frame[:, :, 0], t, dims=-1) for t in range(3)], dim=2)
    assert float(UnsupervisedFlowLoss(eps=1e-3)(moving, flows).photometric[-1]) > 10 * (1e-3**2) ** 0.4


def test_loss_scales_flow_to_each_level_in_pixels() -> None:
    """A raw flow of 1/20 (one input pixel) at full resolution undoes a one-pixel shift; at half resolution
    the same raw value is half a pixel there, which is also one input pixel."""
    torch.manual_seed(4)
    base = F.avg_pool2d(torch.rand(1, 3, 36, 36), 3, stride=1)[..., :32, :32]  # smooth pattern
    frames = torch.stack([base, torch.roll(base, shifts=-1, dims=-1)], dim=2)  # content moves left 1 px
    loss = UnsupervisedFlowLoss((0.0,), border_ratio=0.25, eps=0.0)
    right = loss.scale_terms(frames, torch.cat([torch.full((1, 1, 32, 32), -1 / 20), torch.zeros(1, 1, 32, 32)], 1))
    wrong = loss.scale_terms(frames, torch.zeros(1, 2, 32, 32))
    assert float(right[0]) < 1e-3 * float(wrong[0])


# ---------------------------------------------------------------------------------------------- MotionNet


def test_motionnet_parameter_count_matches_prototxt_and_scales() -> None:
    assert motionnet_prototxt_params() == MOTIONNET_PARAMS == 42_319_860
    assert count_params("motionnet") == get_model_entry("motionnet").reference_params == MOTIONNET_PARAMS
    with torch.device("meta"):
        model = paperzoo.create_model("motionnet")
        out = model(torch.empty(2, 3, 11, 224, 224))
    assert [tuple(f.shape) for f in out.flows] == [(2, 20, s, s) for s in (7, 14, 28, 56, 112)]
    assert out.flow.shape == (2, 20, 112, 112)
    vgg16_flow = 138_357_544 + 64 * (20 - 3) * 9 - (1000 - 101) * (4096 + 1)  # torchvision vgg16: 20 inputs, 101 out
    assert count_params("hidden_two_stream") == get_model_entry("hidden_two_stream").reference_params
    assert get_model_entry("hidden_two_stream").reference_params == MOTIONNET_PARAMS + vgg16_flow


def functional_motionnet(model: MotionNet, clip: torch.Tensor) -> list[torch.Tensor]:
    """MotionNet rebuilt from F.conv2d / F.conv_transpose2d with the model's weights."""

    def conv(x, name, stride=1, act=True):
        m = getattr(model, name)
        y = F.conv2d(x, m.weight, m.bias, stride=stride, padding=1)
        return F.leaky_relu(y, 0.1) if act else y

    def deconv(x, name):
        m = getattr(model, name)
        return F.conv_transpose2d(x, m.weight, m.bias, stride=2, padding=1)

    x = torch.cat([clip[:, :, t] for t in range(clip.shape[2])], dim=1)  # img0, img1, … on channels
    skips = {}
    for level in range(1, 7):
        x = conv(conv(x, f"conv{level}", stride=1 if level == 1 else 2), f"conv{level}_1")
        skips[level] = x
    flow = conv(x, "conv_pr6", act=False)
    flows = [flow]
    for level in (5, 4, 3, 2):
        cat = [
            skips[level],
            F.leaky_relu(deconv(x, f"deconv{level}"), 0.1),
            deconv(flow, f"upsample_flow{level + 1}to{level}"),
        ]
        x = conv(torch.cat(cat, 1), f"smooth_conv{level}", act=False)
        flow = conv(x, f"conv_pr{level}", act=False)
        flows.append(flow)
    return flows


def test_motionnet_matches_functional_rebuild() -> None:
    torch.manual_seed(5)
    model = paperzoo.create_model("motionnet_tiny")
    clip = torch.rand(2, 3, 3, 64, 64)
    for got, want in zip(model(clip).flows, functional_motionnet(model, clip)):
        torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.rand(1, 3, 3, 48, 48))
    with pytest.raises(ValueError, match="expected"):
        model(torch.rand(1, 3, 4, 64, 64))


def test_short_optimisation_on_translating_pattern_lowers_photometric_loss() -> None:
    torch.manual_seed(6)
    base = F.avg_pool2d(torch.rand(1, 3, 72, 72), 5, stride=1)  # smooth 68×68 texture
    frames = torch.stack([base[..., 2 - t : 66 - t, 2:66] for t in range(3)], dim=2)  # (1, 3, 3, 64, 64), 1 px/frame
    model = paperzoo.create_model("motionnet_tiny")
    loss_fn = UnsupervisedFlowLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = None
    for _ in range(25):
        out = loss_fn(frames, model(frames).flows)
        opt.zero_grad()
        out.total.backward()
        opt.step()
        first = first if first is not None else float(sum(out.photometric).detach())
    with torch.no_grad():
        flows = model(frames).flows
        last = float(sum(loss_fn(frames, flows).photometric))
        still = float(sum(loss_fn(frames, [torch.zeros_like(f) for f in flows]).photometric))
    assert last < 0.8 * first and last < 0.9 * still  # better than "nothing moves"
    v = float(flows[-1][:, 1::2].mean()) * 20  # vertical flow in input pixels: the pattern moves down 1 px/frame
    assert 0.5 < v < 1.5


def test_in_frame_mask_matches_a_loop_over_pixels() -> None:
    torch.manual_seed(0)
    flow = 3 * torch.randn(2, 2, 5, 7)
    mask = in_frame_mask(flow)
    for b in range(2):
        for y in range(5):
            for x in range(7):
                sx, sy = x + float(flow[b, 0, y, x]), y + float(flow[b, 1, y, x])
                assert mask[b, 0, y, x] == float(0 <= sx <= 6 and 0 <= sy <= 4)


def test_out_of_frame_mask_makes_the_true_flow_win_at_every_scale() -> None:
    """A smooth texture translated by a known velocity: with zero padding, the coarse scales of a 32×32 clip score
    zero flow better than the true flow; without the out-of-frame pixels the true flow wins everywhere."""
    g = torch.Generator().manual_seed(0)
    tex = F.interpolate(torch.rand(8, 3, 16, 16, generator=g), size=(64, 64), mode="bicubic", align_corners=False)
    v = 4 * torch.rand(8, 2, generator=g) - 2  # the texture moves by -v px per frame
    ys, xs = torch.meshgrid(torch.arange(32) + 16.0, torch.arange(32) + 16.0, indexing="ij")
    frames = []
    for t in range(3):
        grid = torch.stack([(xs + v[:, :1, None] * t) / 63 * 2 - 1, (ys + v[:, 1:, None] * t) / 63 * 2 - 1], -1)
        frames.append(F.grid_sample(tex, grid, align_corners=True))
    frames = torch.stack(frames, 2)  # (8, 3, 3, 32, 32)
    sizes = [1, 2, 4, 8, 16]

    def terms(loss_fn: UnsupervisedFlowLoss, velocity: torch.Tensor) -> list[float]:
        raw = (-velocity / loss_fn.flow_scale)[:, :, None, None]  # flow from t to t+1 is -v
        return [float(loss_fn.scale_terms(frames, raw.repeat(1, 2, s, s))[0]) for s in sizes]

    masked = UnsupervisedFlowLoss(mask_out_of_frame=True)
    true, zero = terms(masked, v), terms(masked, torch.zeros_like(v))
    assert all(t <= z + 1e-6 for t, z in zip(true, zero)) and true[-1] < 0.5 * zero[-1]
    padded = UnsupervisedFlowLoss()  # the reference: zero padding
    true, zero = terms(padded, v), terms(padded, torch.zeros_like(v))
    assert true[1] > zero[1] and true[-1] < zero[-1]  # coarse scales penalise the motion, the finest rewards it


# ---------------------------------------------------------------------------------------------- stacked network


def test_temporal_input_encoding_matches_reference_normalisation() -> None:
    raw = torch.tensor([0.0, 0.5, -0.5, 2.0, -2.0]).view(1, 5, 1, 1)  # ×20: 0, 10, -10, 40 (clipped), -40
    out = flow_to_temporal_input(raw)
    assert out.shape == (1, 5, 2, 2)
    expected = torch.tensor([(0 + 20) * 6.375, (10 + 20) * 6.375, (-10 + 20) * 6.375, 255.0, 0.0]) - 128
    torch.testing.assert_close(out[0, :, 0, 0], expected)


def test_end_to_end_gradient_reaches_motionnet_unless_detached() -> None:
    torch.manual_seed(7)
    clip, labels = torch.rand(2, 3, 3, 64, 64) * 0.1 + 0.45, torch.tensor([1, 2])
    for detach in (False, True):
        model = paperzoo.create_model("hidden_two_stream_tiny", detach_flow=detach)
        model.zero_grad()
        F.cross_entropy(model(clip), labels).backward()
        grad = model.motionnet.conv1.weight.grad
        assert (grad is None or grad.abs().sum() == 0) == detach
        assert model.temporal.fc.weight.grad.abs().sum() > 0


def test_multitask_loss_is_cross_entropy_plus_weighted_unsupervised_loss() -> None:
    torch.manual_seed(8)
    model = paperzoo.create_model("hidden_two_stream_tiny", unsup_weight=0.5).eval()
    clip, labels = torch.rand(2, 3, 3, 64, 64), torch.tensor([0, 3])
    loss = model.multitask_loss(clip, labels)
    out = model.forward_with_flows(clip)
    torch.testing.assert_close(out.logits, model(clip))
    torch.testing.assert_close(loss.classification, F.cross_entropy(out.logits, labels))
    torch.testing.assert_close(loss.unsupervised.total, model.flow_loss(clip, out.flows).total)
    torch.testing.assert_close(loss.total, loss.classification + 0.5 * loss.unsupervised.total)
    assert len(loss.unsupervised.photometric) == 5
    assert isinstance(model, HiddenTwoStream) and model.temporal.in_chans == 4
    model.reset_classifier(0)
    assert model(clip).shape == (2, model.num_features)
