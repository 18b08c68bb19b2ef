"""The two-stream family's recipes: input assembly against data.flow's reference stacking, the quick learning
runs (sharing one flow cache) and the full configs' UCF-101 path on the fixture videos (two steps)."""

from __future__ import annotations

import math

import pytest
import torch

from paperzoo.data.flow import stack_flow
from paperzoo.engine.run import run_recipe
from paperzoo.recipes import hidden_two_stream, tsn, two_stream  # noqa: F401  (registers the recipes)
from paperzoo.recipes.two_stream import TwoStreamInputs, add_context_patch, crop_flip, stack_starts
from tests.conftest import ROOT

UCF = ROOT / "tests" / "fixtures" / "video" / "ucf101"
QUIET = ["train.tensorboard=false"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("flow_cache"))


def _quick(name: str, cache: str, tmp_path, *extra: str) -> dict:
    torch.set_num_threads(1)
    overrides = [*QUIET, f"data.flow_cache={cache}", *extra]
    return run_recipe(name, out=tmp_path / name, quiet=True, overrides=overrides, report=False)


def test_two_stream_inputs_stack_flow_as_eq1_and_flip_negates_x() -> None:
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (2, 3, 8, 12, 12), dtype=torch.uint8, generator=g)
    flow = torch.randn(2, 7, 2, 12, 12, generator=g)
    rgb, stacks = TwoStreamInputs(3, 12, train=False, positions=3)(frames, flow, None)
    starts = stack_starts(7, 3, 3)
    assert starts.tolist() == [0, 2, 4]
    for b in range(2):  # against data.flow.stack_flow (S&Z eq. 1) and the middle frame of each stack
        assert torch.equal(stacks[b].permute(1, 0, 2, 3), stack_flow(flow[b], starts, 3))
        expect = (frames[b, :, starts + 1].float() / 255 - 0.45) / 0.225
        assert torch.allclose(rgb[b], expect)
    x = torch.randn(64, 4, 1, 5, 5, generator=g)
    out = crop_flip(x, [1, 3], size=5, train=True, crops=1, generator=torch.Generator().manual_seed(1))
    flipped = ~torch.isclose(out[:, 0], x[:, 0]).all(-1).all(-1).all(-1)
    assert 10 < int(flipped.sum()) < 54  # about half the clips mirrored
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0])
    for i in range(64):  # a mirrored clip: every channel flipped, the x displacements negated
        want = x[i].flip(-1) * sign[:, None, None, None] if flipped[i] else x[i]
        assert torch.allclose(out[i], want)
    ten = crop_flip(x[:2], [1, 3], size=3, train=False, crops=10, generator=None)
    assert ten.shape == (2, 10, 4, 1, 3, 3)
    assert torch.allclose(ten[:, 5], ten[:, 0].flip(-1) * sign[:, None, None, None])


def test_context_patch_names_the_class_in_the_given_fraction() -> None:
    videos = torch.zeros(2000, 3, 2, 20, 20, dtype=torch.uint8)
    labels = torch.arange(2000) % 10
    out = add_context_patch(videos, labels, 0.5, num_classes=10, generator=torch.Generator().manual_seed(0))
    colours = out[:, :, 0, 0, 0]  # (N, 3)
    palette = torch.unique(colours, dim=0)
    assert len(palette) == 10 and torch.equal(out[:, :, :, 5:], videos[:, :, :, 5:])  # only the 4×4 corner
    shown = (colours[:, None] == palette[None]).all(-1).float().argmax(1)
    class_colour = torch.stack([colours[labels == k].mode(0).values for k in range(10)])
    right = (colours == class_colour[labels]).all(-1).float().mean()
    assert abs(float(right) - 0.55) < 0.04 and len(torch.unique(shown)) == 10


# The learning tests share one flow cache (the three quick configs use the same clips, so Horn–Schunck runs once)
# and cut the quick budgets (one validation at the end, no intermediate checkpoints). Margins measured at these
# budgets are in the comments.
ONCE = ["train.ckpt_every=1000"]


def test_two_stream_quick_temporal_beats_spatial_and_fusion_beats_both(cache, tmp_path) -> None:
    steps = ["train.steps=150", "train.eval_every=150", "fusion.steps=60"]
    summary = _quick("two_stream", cache, tmp_path, *ONCE, *steps)
    m = summary["metrics"]  # measured: spatial 0.49, temporal 0.625, late 0.71, conv 0.73
    assert summary["beats_baseline"]
    assert m["temporal_acc"] > m["spatial_acc"] + 0.08  # flow beats single frames on motion classes
    assert m["late_fusion_acc"] > max(m["spatial_acc"], m["temporal_acc"]) + 0.04  # S&Z §4: streams complement
    assert m["conv_fusion_acc"] > m["spatial_acc"] + 0.1
    assert summary["tables"]["optical flow"]["rows"][0][0] == "horn_schunck"


def test_tsn_quick_segments_beat_single_snippet_training(cache, tmp_path) -> None:
    summary = _quick("tsn", cache, tmp_path, *ONCE, "train.steps=120", "train.eval_every=120")
    m = summary["metrics"]  # measured: RGB + flow K=3 0.62 vs K=1 0.55; RGB 0.425, flow 0.555
    assert summary["beats_baseline"] and m["segments_minus_single"] > 0.03
    assert m["rgb_flow_acc"] > max(m["rgb_acc"], m["flow_acc"]) + 0.02


def test_hidden_two_stream_short_run_minimises_the_unsupervised_loss(cache, tmp_path) -> None:
    steps = ["pretrain.steps=150", "train.steps=60", "train.eval_every=60"]
    summary = _quick("hidden_two_stream", cache, tmp_path, *ONCE, *steps)
    m = summary["metrics"]
    # The unsupervised loss is minimised: MotionNet's warp explains frame t+1 better than zero flow.
    assert m["photometric_motionnet_pretrained"] < m["photometric_zero_pretrained"]
    assert m["photometric_horn_schunck_pretrained"] < m["photometric_zero_pretrained"] - 0.5
    assert m["spatial_acc"] < 0.2  # no context patch: one frame cannot tell the motion


@pytest.mark.slow
def test_hidden_two_stream_quick_learns_motion_and_beats_the_spatial_stream(cache, tmp_path) -> None:
    summary = _quick("hidden_two_stream", cache, tmp_path, *ONCE)
    m = summary["metrics"]  # measured: hidden 0.235, spatial 0.09, Horn–Schunck temporal 0.38; correlation 0.32
    assert m["correlation_motionnet_vs_horn_schunck_pretrained"] > 0.15  # MotionNet's flow follows the motion
    assert m["photometric_motionnet_pretrained"] < m["photometric_zero_pretrained"] - 0.3
    assert summary["beats_baseline"] and m["hidden_temporal_acc"] > m["spatial_acc"] + 0.07
    assert m["temporal_horn_schunck_acc"] > m["spatial_acc"]


def _full(name: str, tmp_path, *extra: str) -> dict:
    """Two steps of ``name``'s full config on the UCF-101 fixture (tiny nets: the full-size ones take minutes
    per step on one core; their sizes are checked on the meta device in tests/models/video)."""
    torch.set_num_threads(1)
    tiny = [
        *QUIET,
        f"data.flow_cache={tmp_path / 'cache'}",
        "eval.positions=2",
        "train.batch_size=2",
        "train.eval_batch_size=2",
        "train.num_workers=0",
        "train.amp=false",
        *extra,
    ]
    return run_recipe(
        name, config_name="full", data=UCF, steps=2, overrides=tiny, out=tmp_path / "run", quiet=True, report=False
    )


def test_two_stream_full_config_runs_on_ucf101_fixture(tmp_path) -> None:
    summary = _full(
        "two_stream",
        tmp_path,
        "data.resize=32",
        "data.image_size=28",
        "model.name=two_stream_tiny",
        "model.kwargs.backbone=resnet_tiny",
        "model.kwargs.backbone_kwargs={}",
        "fusion.steps=1",
    )
    assert summary["steps"] == 2 and 0.0 <= summary["value"] <= 1.0
    assert summary["tables"]["optical flow"]["rows"][0][4] == 2  # two_stream_tiny: L = 2
    assert "UCF-101 split 1" in summary["data"]


def test_tsn_full_config_runs_on_ucf101_fixture(tmp_path) -> None:
    # The full config's partial BN, K = 3, 5 flow fields / RGB differences per snippet and ten-crop testing,
    # on the 1/16-width BN-Inception (tsn_tiny, which needs 32×32 inputs) at crops of 32-side frames.
    summary = _full("tsn", tmp_path, "data.resize=32", "data.image_size=32", "model.name=tsn_tiny")
    m = summary["metrics"]
    assert summary["steps"] == 2 and 0.0 <= summary["value"] <= 1.0 and "UCF-101 split 1" in summary["data"]
    assert {"rgb_flow_acc", "rgb_flow_acc_k1", "segments_minus_single"} <= set(m)
    rows = summary["tables"]["TSN vs single-snippet training (test: the same snippets, scores averaged)"]["rows"]
    assert [r[0] for r in rows] == ["rgb", "flow", "rgbdiff", "rgb + flow", "rgb + flow + rgbdiff"]


def test_hidden_two_stream_full_config_runs_on_ucf101_fixture(tmp_path) -> None:
    # MotionNet needs sides that are multiples of 32: 32×32 frames; 6 frames → 5 flow fields.
    summary = _full(
        "hidden_two_stream",
        tmp_path,
        "data.resize=32",
        "data.image_size=32",
        "model.name=hidden_two_stream_tiny",
        "model.kwargs.num_frames=6",
        "model.kwargs.temporal=resnet_tiny",
        "pretrain.steps=2",
        "streams.model=two_stream_tiny",
        "streams.kwargs.backbone=resnet_tiny",
        "streams.kwargs.backbone_kwargs={}",
    )
    m = summary["metrics"]
    assert summary["steps"] == 2 and 0.0 <= summary["value"] <= 1.0 and "UCF-101 split 1" in summary["data"]
    assert 0.0 <= m["spatial_acc"] <= 1.0 and 0.0 <= m["temporal_horn_schunck_acc"] <= 1.0


# ---------------------------------------------------------------------------------------------- trajectory stacking
def _clips(seed: int, n: int = 3, frames: int = 9, side: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Random frames (n, 3, T, s, s) uint8 and smooth-ish flow (n, T - 1, 2, s, s) of a few px."""
    g = torch.Generator().manual_seed(seed)
    video = torch.randint(0, 256, (n, 3, frames, side, side), dtype=torch.uint8, generator=g)
    flow = 2.0 * torch.randn(n, frames - 1, 2, side, side, generator=g)
    return video, flow


def test_trajectory_stacking_matches_stack_trajectories_per_clip_and_flow_stacking_is_unchanged() -> None:
    from paperzoo.data.flow import stack_trajectories

    video, flow = _clips(0)
    length, positions = 3, 4
    starts = stack_starts(8, length, positions)
    rgb_t, traj = TwoStreamInputs(length, 16, train=False, positions=positions, stacking="trajectory")(
        video, flow, None
    )
    rgb_f, stacks = TwoStreamInputs(length, 16, train=False, positions=positions)(video, flow, None)
    assert traj.shape == stacks.shape == (3, 2 * length, positions, 16, 16)
    assert torch.equal(rgb_t, rgb_f)  # the spatial input does not depend on the stacking
    for b in range(3):  # test mode: every clip's P stacks, against data.flow's single-video functions
        assert torch.allclose(traj[b].permute(1, 0, 2, 3), stack_trajectories(flow[b], starts, length), atol=1e-6)
        assert torch.equal(stacks[b].permute(1, 0, 2, 3), stack_flow(flow[b], starts, length))
    assert not torch.allclose(traj, stacks)  # eq. 2 differs from eq. 1 once the flow moves the points

    # Training: one random start per clip, then a random flip per clip (no crop at size = side); the same seeded
    # draws reproduce both, so the expected stack is stack_trajectories at that start, mirrored with x negated.
    video, flow = _clips(1, n=8)
    _, traj = TwoStreamInputs(length, 16, train=True, stacking="trajectory")(
        video, flow, torch.Generator().manual_seed(5)
    )
    g = torch.Generator().manual_seed(5)
    train_starts = torch.randint(0, 9 - length, (8, 1), generator=g)[:, 0]
    flipped = torch.rand(8, generator=g) < 0.5
    assert 0 < int(flipped.sum()) < 8 and len(torch.unique(train_starts)) > 1
    sign = torch.tensor([-1.0, 1.0] * length)[:, None, None]
    for b in range(8):
        want = stack_trajectories(flow[b], int(train_starts[b]), length)  # (2L, H, W)
        if flipped[b]:
            want = want.flip(-1) * sign
        assert torch.allclose(traj[b], want, atol=1e-6)


def test_bad_stacking_is_a_config_error(tmp_path) -> None:
    from paperzoo.engine.config import ConfigError

    with pytest.raises(ConfigError, match=r"data\.stacking.*'bad'"):
        _quick("two_stream", str(tmp_path / "cache"), tmp_path, "data.stacking=bad")
    with pytest.raises(ConfigError, match=r"data\.stacking.*'bad'"):
        TwoStreamInputs(3, 16, train=True, stacking="bad")
    with pytest.raises(ConfigError, match=r"data\.stacking='trajectory'"):  # TSN stacks flow only
        _quick("tsn", str(tmp_path / "cache"), tmp_path, "data.stacking=trajectory")


# Tiny budgets for the smoke runs: 40 / 10 / 20 clips, three steps, their own flow cache.
TINY = [
    "data.kwargs.train_size=40",
    "data.kwargs.val_size=10",
    "data.kwargs.test_size=20",
    "train.steps=3",
    "train.eval_every=3",
    "train.ckpt_every=1000",
    "train.batch_size=8",
    "train.eval_batch_size=20",
    "schedule.warmup_steps=0",
]


def test_two_stream_trajectory_stacking_smoke_run(tmp_path) -> None:
    summary = _quick(
        "two_stream", str(tmp_path / "cache"), tmp_path, *TINY, "fusion.steps=2", "data.stacking=trajectory"
    )
    m = summary["metrics"]
    assert summary["steps"] == 3
    assert all(math.isfinite(v) for v in m.values())
    assert 0.0 <= m["temporal_acc"] <= 1.0 and 0.0 <= m["late_fusion_acc"] <= 1.0


# ---------------------------------------------------------------------------------------------- warped flow
def test_warped_flow_removes_the_camera_pan_and_keeps_the_moving_square() -> None:
    from paperzoo.data.flow import compensate_camera_motion
    from paperzoo.recipes.tsn import SegmentInputs

    n, fields, side, length = 2, 6, 32, 2
    pan = torch.tensor([2.5, -1.5])
    flow = pan.view(1, 1, 2, 1, 1).expand(n, fields, 2, side, side).clone()  # the camera: a global pan
    own = torch.tensor([3.0, 2.0])
    flow[:, :, :, 10:18, 12:20] += own.view(2, 1, 1)  # an 8×8 square moving on its own
    square = torch.zeros(side, side, dtype=torch.bool)
    square[10:18, 12:20] = True
    video = torch.randint(0, 256, (n, 3, fields + 1, side, side), dtype=torch.uint8)
    make = SegmentInputs(3, length, side, train=False, positions=3, modalities=("rgb", "flow", "warped_flow"))
    rgb, stacks, warped = make(video, flow, None)
    assert warped.shape == stacks.shape == (n, 3, 2 * length, side, side)
    raw = stacks[..., ~square]  # (n, N, 2L, pixels off the square): the flow modality keeps the pan
    assert torch.equal(raw, pan.repeat(length).view(1, 1, -1, 1).expand_as(raw))
    background = warped[..., ~square].abs().mean()
    assert background < 0.02 * pan.abs().mean()  # the pan is gone from the background
    relative = warped.unflatten(2, (length, 2))[..., square].mean(-1)  # (n, N, L, 2) mean over the square
    assert torch.allclose(relative, own.expand_as(relative), atol=0.1)  # the square's own motion remains
    starts = stack_starts(fields, length, 3)
    for b in range(n):  # the recipe's input is compensate_camera_motion on the clip's fields, then stacked
        direct = stack_flow(compensate_camera_motion(flow[b]), starts, length)  # (N, 2L, H, W)
        assert torch.allclose(warped[b], direct, atol=1e-5)


def test_tsn_with_warped_flow_smoke_run(tmp_path) -> None:
    extra = ["model.modalities=[rgb, flow, rgbdiff, warped_flow]"]
    summary = _quick("tsn", str(tmp_path / "cache"), tmp_path, *TINY, *extra)
    m = summary["metrics"]
    assert summary["steps"] == 3 and all(math.isfinite(v) for v in m.values())
    assert {"warped_flow_acc", "rgb_flow_warped_flow_acc", "rgb_flow_acc"} <= set(m)
    rows = summary["tables"]["TSN vs single-snippet training (test: the same snippets, scores averaged)"]["rows"]
    names = [r[0] for r in rows]
    assert names == ["rgb", "flow", "rgbdiff", "warped_flow", "rgb + flow", "rgb + flow + rgbdiff",
                     "rgb + flow + warped_flow"]  # fmt: skip
