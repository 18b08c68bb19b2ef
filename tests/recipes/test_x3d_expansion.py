"""The x3d_expansion recipe: the selection rule on a hand-made table, the expansion bookkeeping, GMACs against a
closed form, the clip sampler against a loop, a learning run (the expanded network beats the X2D start), the
replay of a finished run's path, and the full config on the Kinetics fixture."""

from __future__ import annotations

import json

import pytest
import torch

import paperzoo.recipes.x3d_expansion  # noqa: F401  (registers the recipe)
from paperzoo.engine.run import evaluate_run, run_recipe
from paperzoo.models.video.x3d import X3D, X3DBlock, X3DConfig
from paperzoo.recipes.x3d_expansion import ExpansionClips, count_gmacs, expansion_path, select_expansion
from paperzoo.registry import get_recipe
from tests.conftest import ROOT

KINETICS = ROOT / "tests" / "fixtures" / "video" / "kinetics"


# ---------------------------------------------------------------------------------------------- selection rule
def test_selection_keeps_the_best_gain_per_added_gmac() -> None:
    current = (0.40, 1.0)  # (accuracy, GMACs) of the network being expanded
    table = [
        (0.60, 3.0),  # fast:       +0.20 / 2.0 = 0.100
        (0.55, 2.0),  # temporal:   +0.15 / 1.0 = 0.150  <- best trade-off
        (0.70, 5.0),  # spatial:    +0.30 / 4.0 = 0.075  (the best accuracy, not the best trade-off)
        (0.45, 1.5),  # depth:      +0.05 / 0.5 = 0.100
        (0.90, 1.0),  # width:      adds no computation: not an expansion, skipped
        (0.30, 1.2),  # bottleneck: -0.10 / 0.2 = -0.5
    ]
    assert select_expansion(current, table) == 1
    ratios = [(a - current[0]) / (c - current[1]) if c > current[1] else -float("inf") for a, c in table]
    assert select_expansion(current, table) == max(range(len(table)), key=ratios.__getitem__)


def test_selection_ties_go_to_the_first_and_losses_still_pick_the_smallest_loss_per_gmac() -> None:
    assert select_expansion((0.5, 1.0), [(0.6, 2.0), (0.7, 3.0)]) == 0  # both +0.1 per GMAC
    assert select_expansion((0.5, 1.0), [(0.4, 2.0), (0.4, 5.0)]) == 1  # -0.1 vs -0.025 per GMAC
    with pytest.raises(ValueError, match="adds computation"):
        select_expansion((0.5, 1.0), [(0.9, 1.0), (0.9, 0.5)])
    with pytest.raises(ValueError):
        select_expansion((0.5, 1.0), [])


# ---------------------------------------------------------------------------------------------- bookkeeping
def test_expansion_path_applies_each_axis_in_turn() -> None:
    base = X3DConfig(frames=1, stride=8, resolution=32, width=0.5, bottleneck=1.0, depth=0.5)
    path = expansion_path(base, ["temporal", "fast", "spatial", "depth", "width", "bottleneck"])
    expected = [
        (1, 8, 32, 0.5, 1.0, 0.5),
        (2, 8, 32, 0.5, 1.0, 0.5),  # X-Temporal: twice the frames, same stride (a longer clip)
        (4, 4, 32, 0.5, 1.0, 0.5),  # X-Fast: twice the frames at half the stride (same duration)
        (4, 4, 48, 0.5, 1.0, 0.5),  # X-Spatial: 32·√2 = 45.3, rounded to a multiple of 16
        (4, 4, 48, 0.5, 1.0, 1.1),  # X-Depth: γd × 2.2
        (4, 4, 48, 1.0, 1.0, 1.1),  # X-Width: γw × 2
        (4, 4, 48, 1.0, 2.25, 1.1),  # X-Bottleneck: γb × 2.25
    ]
    got = [(c.frames, c.stride, c.resolution, c.width, c.bottleneck, round(c.depth, 6)) for c in path]
    assert got == expected
    assert path[0] is base and expansion_path(base, []) == [base]
    assert expansion_path(base, ["width"], {"width": 3.0})[-1].width == 1.5  # per-axis factor override
    with pytest.raises(ValueError, match="unknown expansion axis"):
        expansion_path(base, ["height"])


def test_gmacs_grow_linearly_with_frames_except_for_the_per_clip_layers() -> None:
    # X3D never strides in time, so every convolution before the global pool costs T times its one-frame cost,
    # while the linear layers run once per clip on pooled features: fc1 (C5 → head), the classifier (head →
    # classes) and the squeeze-excitation MLPs. So MACs(T) - linear = T · (MACs(1) - linear), exactly.
    net = X3DConfig(frames=1, stride=4, resolution=32, width=1.0, bottleneck=2.25, depth=0.5)
    kwargs = {"head_width": 64}
    model = X3D.from_config(net, num_classes=10, **kwargs)
    linear = sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)) / 1e9
    one = count_gmacs(net, num_classes=10, model_kwargs=kwargs)
    four = count_gmacs(expansion_path(net, ["temporal", "temporal"])[-1], num_classes=10, model_kwargs=kwargs)
    assert four - linear == pytest.approx(4 * (one - linear), rel=1e-9)
    assert one > 10 * linear  # the convolutions dominate, so the identity is not vacuous


def test_clips_sample_each_window_as_a_loop_would() -> None:
    g = torch.Generator().manual_seed(0)
    videos = torch.randint(0, 256, (5, 3, 20, 16, 16), dtype=torch.uint8, generator=g)
    labels = torch.arange(5)
    train = ExpansionClips(videos, labels, frames=4, stride=3, resolution=16, train=True)
    t = train.frame_indices(5, torch.Generator().manual_seed(1))
    assert t.shape == (5, 4) and (t[:, 0] >= 0).all() and (t[:, -1] <= 19).all()
    assert (t.diff(dim=1) == 3).all()  # one window of stride 3 per clip
    x, y = train.get_batch([4, 1], generator=torch.Generator().manual_seed(1))
    t = train.frame_indices(2, torch.Generator().manual_seed(1))
    for b, i in enumerate([4, 1]):
        for k in range(4):
            expected = (videos[i, :, t[b, k]].float() / 255 - 0.45) / 0.225
            torch.testing.assert_close(x[b, :, k], expected)
    assert y.tolist() == [4, 1] and x.is_contiguous(memory_format=torch.channels_last_3d)
    # Evaluation reads the centre window; a window longer than the video repeats its last frame.
    centre = ExpansionClips(videos, labels, frames=4, stride=3, resolution=8, train=False)
    assert centre.frame_indices(1).tolist() == [[5, 8, 11, 14]]  # span 10 of 20 frames: starts at (20 - 10) // 2
    long = ExpansionClips(videos, labels, frames=8, stride=4, resolution=16, train=False)
    assert long.frame_indices(1).tolist() == [[0, 4, 8, 12, 16, 19, 19, 19]]
    assert centre.get_batch([0])[0].shape == (1, 3, 4, 8, 8)


# ---------------------------------------------------------------------------------------------- learning
LEARNING = [
    "train.tensorboard=false",
    "search.steps=1",
    "search.axes=[temporal, width]",
    "search.candidate_steps=250",
    "train.steps=250",
    "train.eval_every=250",
    "train.ckpt_every=250",
    "data.kwargs.train_size=600",
    "data.kwargs.val_size=200",
    "data.kwargs.test_size=200",
    "data.kwargs.num_frames=16",  # a 4 × 4 window spans 13 frames
]


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("x3d_expansion") / "run"
    summary = run_recipe("x3d_expansion", overrides=LEARNING, out=out, quiet=True, report=False)
    return summary, out


def test_expansion_discovers_time_and_beats_the_x2d_start(learned) -> None:
    summary, out = learned
    rows = summary["tables"]["expansion (validation accuracy of every candidate; kept: the best Δacc/ΔGMAC)"]["rows"]
    by_axis = {row[1]: row for row in rows}
    x2d, temporal, width = by_axis["X2D"], by_axis["temporal"], by_axis["width"]
    print("x2d", x2d, "\ntemporal", temporal, "\nwidth", width, "\ntest", summary["value"], summary["baseline"])
    # One frame cannot tell a motion: X2D and its wider twin stay near chance (10 classes); four frames do not.
    assert x2d[9] < 0.2 and width[9] < 0.2
    assert temporal[12] == "yes" and temporal[11] == max(r[11] for r in rows[1:])
    assert summary["metrics"]["final/frames"] == 4.0 and temporal[9] > x2d[9] + 0.1
    # Measured (seed 0, one thread): val 0.305 vs 0.115 for X2D; test 0.245 vs 0.135.
    assert summary["beats_baseline"] and summary["value"] > summary["baseline"]["value"] + 0.05
    record = json.loads((out / "expansion.json").read_text())
    assert record["path"] == ["temporal"] and len(record["candidates"]) == 3


def test_a_finished_run_rebuilds_the_chosen_network_without_searching(learned) -> None:
    summary, out = learned
    metrics = evaluate_run(out)  # config.yaml now pins search.path, so no candidate is trained here
    assert metrics["acc"] == pytest.approx(summary["value"])


# ---------------------------------------------------------------------------------------------- full config
def test_full_config_is_the_papers_recipe_and_runs_two_steps_on_the_kinetics_fixture(tmp_path) -> None:
    full = get_recipe("x3d_expansion").configs["full"]
    assert full["optim"]["name"] == "sgd" and full["optim"]["lr"] == 1.6 and full["train"]["batch_size"] == 1024
    assert full["model"]["kwargs"] == {} and full["search"]["base"]["resolution"] == 112
    overrides = [
        "train.batch_size=1",
        "train.eval_batch_size=2",
        "train.num_workers=0",
        "train.eval_every=2",
        "train.ckpt_every=2",
        "train.tensorboard=false",
        "train.amp=false",
        "schedule.warmup_steps=0",
        "search.steps=2",
        "search.axes=[fast, width]",
        "search.candidate_steps=1",
        "search.base.resolution=64",
        "search.base.stride=2",
        "search.device=cpu",
        "data.kwargs.num_test_clips=1",
        "data.kwargs.val_fraction=0.5",
    ]
    summary = run_recipe(
        "x3d_expansion",
        config_name="full",
        data=KINETICS,
        steps=2,
        overrides=overrides,
        out=tmp_path / "run",
        quiet=True,
        report=False,
    )
    rows = summary["tables"]["expansion path"]["rows"]
    assert [r[1] for r in rows][0] == "X2D" and len(rows) == 3  # two expansion steps
    assert summary["metrics"]["candidates_trained"] == 5.0 and 0.0 <= summary["value"] <= 1.0
    blocks = [m for m in X3D.from_config(X3DConfig(), num_classes=2).modules() if isinstance(m, X3DBlock)]
    assert len(blocks) == 11  # the paper's X2D: stage depths 1, 2, 5, 3
