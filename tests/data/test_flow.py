"""Optical flow: Horn–Schunck against analytic ground-truth flow, OpenCV where installed, uint8 storage and its
cache, flow/trajectory stacking against naive per-pixel loops, and camera-motion compensation on exact homography
flow fields."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from paperzoo.data import flow as fl
from paperzoo.data.flow import (
    FlowCache,
    compensate_camera_motion,
    compute_flow,
    dequantize_flow,
    estimate_homography,
    homography_flow,
    horn_schunck_flow,
    pixel_grid,
    quantize_flow,
    stack_flow,
    stack_trajectories,
    subtract_mean_flow,
    video_flow,
    warp,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "video"


def _texture(x: torch.Tensor, y: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A smooth analytic texture (sum of 12 plane waves of wavelength 6-20 px) in [0.1, 0.9]."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros_like(x)
    for _ in range(12):
        theta, lam, phase = (
            torch.rand(3, generator=g, dtype=torch.float64) * torch.tensor([2 * math.pi, 14, 6.3])
        ).tolist()
        out = out + torch.sin(2 * math.pi * (x * math.cos(theta) + y * math.sin(theta)) / (6 + lam) + phase)
    return (0.5 + 0.4 * out / 12).float()


def _pair(size: int, inverse, forward) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """frame1 = texture, frame2(q) = frame1(inverse(q)); the true flow at p is forward(p) - p."""
    x, y = pixel_grid(size, size, dtype=torch.float64)
    f1 = _texture(x, y)
    xi, yi = inverse(x, y)
    f2 = _texture(xi, yi)
    xf, yf = forward(x, y)
    return f1[None], f2[None], torch.stack([xf - x, yf - y]).float()


def _epe(flow: torch.Tensor, truth: torch.Tensor, border: int = 8) -> float:
    return float((flow - truth).norm(dim=0)[border:-border, border:-border].mean())


def test_horn_schunck_recovers_a_translation() -> None:
    d = (2.3, -1.7)
    f1, f2, truth = _pair(48, lambda x, y: (x - d[0], y - d[1]), lambda x, y: (x + d[0], y + d[1]))
    flow = horn_schunck_flow(f1, f2)
    assert flow.shape == (2, 48, 48)
    assert _epe(flow, truth) < 0.1
    # Zero flow for identical frames, and a batch gives the same as single pairs.
    assert horn_schunck_flow(f1, f1).abs().max() < 1e-5
    both = horn_schunck_flow(torch.stack([f1, f2]), torch.stack([f2, f1]))
    torch.testing.assert_close(both[0], flow, atol=1e-5, rtol=0)
    assert _epe(both[1], -truth) < 0.15


def test_horn_schunck_recovers_a_rotation() -> None:
    a, c = math.radians(5.0), 23.5  # 5 degrees about the centre of a 48x48 frame: up to 2.9 px at the corners

    def rot(angle):
        return lambda x, y: (
            c + math.cos(angle) * (x - c) - math.sin(angle) * (y - c),
            c + math.sin(angle) * (x - c) + math.cos(angle) * (y - c),
        )

    f1, f2, truth = _pair(48, rot(-a), rot(a))
    flow = horn_schunck_flow(f1, f2)
    assert _epe(flow, truth) < 0.1
    assert _epe(torch.zeros_like(truth), truth) > 1.0  # the bound is meaningful


def test_warp_by_an_integer_flow_is_a_shift() -> None:
    img = torch.rand(1, 3, 10, 12)
    flow = torch.zeros(1, 2, 10, 12)
    flow[:, 0], flow[:, 1] = 2.0, -1.0
    out = warp(img, flow)
    torch.testing.assert_close(out[..., 1:, :-2], img[..., :-1, 2:])


@pytest.mark.skipif(not fl.cv2_available(), reason="OpenCV (the 'flow' extra) is not installed")
def test_farneback_agrees_with_the_true_translation() -> None:
    d = (1.5, 1.0)
    f1, f2, truth = _pair(64, lambda x, y: (x - d[0], y - d[1]), lambda x, y: (x + d[0], y + d[1]))
    frames = (torch.stack([f1, f2]) * 255).round().to(torch.uint8)
    flow = compute_flow(frames, method="farneback")
    assert flow.shape == (1, 2, 64, 64)
    assert _epe(flow[0], truth, border=12) < 0.3


def test_auto_falls_back_to_horn_schunck_without_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fl, "cv2_available", lambda: False)
    monkeypatch.setattr(fl, "tvl1_available", lambda: False)
    frames = torch.rand(3, 1, 16, 16)
    torch.testing.assert_close(compute_flow(frames), horn_schunck_flow(frames[:-1], frames[1:]))
    with pytest.raises(ValueError, match="method"):
        compute_flow(frames, method="brox")


def test_quantize_flow_matches_the_dense_flow_storage() -> None:
    flow = torch.tensor([-25.0, -20.0, -10.0, 0.0, 0.07, 10.0, 20.0, 30.0])
    q = quantize_flow(flow, 20.0)
    expected = [round((min(max(v, -20), 20) + 20) * 255 / 40) for v in flow.tolist()]
    assert q.tolist() == expected and q.dtype == torch.uint8
    assert q[3] == 128  # zero motion is mid-grey
    x = torch.empty(1000).uniform_(-20, 20)
    assert (dequantize_flow(quantize_flow(x)) - x).abs().max() <= 20 / 255 + 1e-6


def test_flow_cache_computes_once_and_keys_on_parameters(tmp_path: Path) -> None:
    video = tmp_path / "v.avi"
    video.write_bytes(b"not read: the compute function is given")
    cache, calls = FlowCache(tmp_path / "cache"), []

    def compute() -> torch.Tensor:
        calls.append(1)
        return torch.full((2, 2, 4, 4), 3.0)

    a = cache.get_or_compute(video, {"method": "x"}, compute, 20.0)
    b = cache.get_or_compute(video, {"method": "x"}, compute, 20.0)
    assert len(calls) == 1 and torch.equal(a, b) and a.dtype == torch.uint8
    torch.testing.assert_close(dequantize_flow(a), torch.full((2, 2, 4, 4), 3.0), atol=20 / 255, rtol=0)
    cache.get_or_compute(video, {"method": "y"}, compute, 20.0)
    assert len(calls) == 2
    files = sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert len(files) == 2 and all(f.endswith(".npz") and not f.startswith(".") for f in files)


def test_video_flow_on_a_fixture_video_uses_the_cache(tmp_path: Path) -> None:
    video = FIXTURES / "kinetics" / "kinetics400" / "train" / "abseiling" / "0347ZoDXyP0_000102_000112.mp4"
    q = video_flow(video, method="horn_schunck", cache_dir=tmp_path, iterations=10, warps=1)
    assert q.shape == (7, 2, 32, 32) and q.dtype == torch.uint8
    again = video_flow(video, method="horn_schunck", cache_dir=tmp_path, iterations=10, warps=1)
    assert torch.equal(q, again)
    assert len(list(tmp_path.rglob("*.npz"))) == 1


def _bilinear(field: torch.Tensor, x: float, y: float) -> torch.Tensor:
    """Naive bilinear sample of field (2, H, W) at (x, y), coordinates clamped to the frame."""
    h, w = field.shape[-2:]
    x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
    x0, y0 = min(int(math.floor(x)), w - 2), min(int(math.floor(y)), h - 2)
    ax, ay = x - x0, y - y0
    return (
        field[:, y0, x0] * (1 - ax) * (1 - ay)
        + field[:, y0, x0 + 1] * ax * (1 - ay)
        + field[:, y0 + 1, x0] * (1 - ax) * ay
        + field[:, y0 + 1, x0 + 1] * ax * ay
    )


def test_stacking_matches_naive_loops() -> None:
    g = torch.Generator().manual_seed(0)
    flow = torch.randn(6, 2, 7, 9, generator=g, dtype=torch.float64) * 1.5
    length, starts = 3, torch.tensor([0, 2, 3])
    stacked, traj = stack_flow(flow, starts, length), stack_trajectories(flow, starts, length)
    assert stacked.shape == traj.shape == (3, 6, 7, 9)
    for s_i, tau in enumerate(starts.tolist()):
        for v in range(7):
            for u in range(9):
                p = (float(u), float(v))
                for k in range(length):
                    # eq. (1): the flow at the same pixel; eq. (2): along the trajectory p_k.
                    assert stacked[s_i, 2 * k, v, u] == flow[tau + k, 0, v, u]
                    assert stacked[s_i, 2 * k + 1, v, u] == flow[tau + k, 1, v, u]
                    d = _bilinear(flow[tau + k], *p)
                    torch.testing.assert_close(traj[s_i, 2 * k : 2 * k + 2, v, u], d)
                    p = (p[0] + float(d[0]), p[1] + float(d[1]))
    torch.testing.assert_close(stack_flow(flow, 2, length), stacked[1])
    with pytest.raises(ValueError, match="needs more than"):
        stack_flow(flow, 4, length)


def test_trajectory_of_a_constant_integer_flow_follows_the_pixel() -> None:
    flow = torch.zeros(4, 2, 12, 12)
    flow[:, 0] = 1.0  # everything moves one pixel right per frame
    flow[1, 1, :, 6] = 5.0  # column 6 of field 1 moves down (reached from column 5 by trajectories)
    traj, same = stack_trajectories(flow, 0, 3), stack_flow(flow, 0, 3)
    assert traj[3, 5, 5] == 5.0 and same[3, 5, 5] == 0.0  # field 1's y at the pixel the trajectory reached
    torch.testing.assert_close(subtract_mean_flow(flow).mean(dim=(-2, -1)), torch.zeros(4, 2))


def _homography(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    h = torch.eye(3, dtype=torch.float64)
    h[:2, :2] += 0.03 * torch.randn(2, 2, generator=g, dtype=torch.float64)  # zoom / rotation / shear
    h[:2, 2] = 2.0 * torch.randn(2, generator=g, dtype=torch.float64)  # pan, pixels
    h[2, :2] = 2e-4 * torch.randn(2, generator=g, dtype=torch.float64)  # perspective
    return h


def test_homography_flow_matches_a_naive_loop() -> None:
    h = _homography(0)
    f = homography_flow(h[None], 5, 6)[0]
    for y in range(5):
        for x in range(6):
            q = h @ torch.tensor([x, y, 1.0], dtype=torch.float64)
            torch.testing.assert_close(f[:, y, x], q[:2] / q[2] - torch.tensor([x, y], dtype=torch.float64))


def test_camera_motion_compensation_removes_a_pure_homography() -> None:
    hs = torch.stack([_homography(1), _homography(2)])
    flow = homography_flow(hs, 40, 56)
    est = estimate_homography(flow, step=4)
    torch.testing.assert_close(est, hs / hs[:, 2:, 2:], atol=1e-8, rtol=1e-6)
    residual = compensate_camera_motion(flow.float())
    assert flow.abs().max() > 1.0 and residual.abs().max() < 1e-3


def test_camera_motion_compensation_keeps_the_foreground_motion() -> None:
    flow = homography_flow(_homography(3)[None], 40, 40)[0].float()
    obj = torch.zeros(40, 40, dtype=torch.bool)
    obj[10:20, 12:22] = True  # 6% of the frame moves 4 px right on top of the camera motion
    moved = flow.clone()
    moved[0][obj] += 4.0
    residual = compensate_camera_motion(moved, step=2, trim=0.2, rounds=3)
    assert residual[:, ~obj].abs().max() < 1e-3
    torch.testing.assert_close(residual[0][obj], torch.full((100,), 4.0), atol=1e-3, rtol=0)
    # Without trimming the object biases the plain least-squares fit.
    biased = compensate_camera_motion(moved, step=2, trim=0.0)
    assert biased[:, ~obj].abs().max() > 0.05
