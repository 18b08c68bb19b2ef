"""The video recipes' full configs run end to end on real video fixtures (tests/fixtures/video, 8 frames of 32×32
encoded with PyAV) for two steps each, including multi-view testing, with the paper's clip sizes, sampling and
test protocol. The networks are swapped for their tiny variants (``model.name=..._tiny``): the full-size ones take
minutes per step on one CPU core; their sizes are checked on the meta device in tests/models/video."""

from __future__ import annotations

import pytest
import torch

from paperzoo.engine.run import resolve_config, run_recipe
from paperzoo.recipes import c3d, r2plus1d, slowfast  # noqa: F401
from paperzoo.recipes._video import build_video_data
from paperzoo.registry import get_recipe
from tests.conftest import ROOT

pytest.importorskip("av")

FIXTURES = ROOT / "tests" / "fixtures" / "video"
TINY_BUDGET = [
    "train.batch_size=2",
    "train.eval_batch_size=2",
    "train.num_workers=0",
    "train.eval_every=2",
    "train.ckpt_every=2",
    "train.tensorboard=false",
    "train.amp=false",
    "data.test_clips=2",
    "baseline.model=resnet_cifar_tiny",
]


def test_c3d_full_config_reads_ucf101_and_tests_on_ten_clips(tmp_path) -> None:
    torch.set_num_threads(1)
    overrides = [*TINY_BUDGET, "model.name=c3d_tiny", "data.test_clips=10"]
    config = resolve_config(get_recipe("c3d_shapes"), config_name="full", overrides=overrides,
                            data=FIXTURES / "ucf101")  # fmt: skip
    splits = build_video_data(config)
    x, _ = splits.test[0]
    assert x.shape == (10, 3, 16, 112, 112)  # §3.3: 10 clips of 16×112² (centre crops of 128×171 frames)
    summary = run_recipe("c3d_shapes", config_name="full", data=FIXTURES / "ucf101", steps=2,
                         overrides=overrides, out=tmp_path / "run", quiet=True, report=False)  # fmt: skip
    m = summary["metrics"]
    assert summary["steps"] == 2 and 0.0 <= summary["value"] <= 1.0 and summary["data"]
    assert m["views"] == 10.0 and m["video_acc"] == pytest.approx(m["acc"], abs=1e-6)


def test_r2plus1d_full_config_trains_the_comparison_nets_on_kinetics(tmp_path) -> None:
    torch.set_num_threads(1)
    overrides = [*TINY_BUDGET, "model.name=r2plus1d_tiny", "compare.models=[mc3_tiny]", "data.image_size=64"]
    summary = run_recipe("r2plus1d_shapes", config_name="full", data=FIXTURES / "kinetics", steps=2,
                         overrides=overrides, out=tmp_path / "run", quiet=True, report=False)  # fmt: skip
    m = summary["metrics"]
    assert m["views"] == 2.0 and m["video_acc"] == pytest.approx(m["acc"], abs=1e-6)
    rows = summary["tables"]["R3D vs MC3 vs R(2+1)D, same clips and budget (Table 2)"]["rows"]
    assert [r[0] for r in rows] == ["r2plus1d_tiny", "mc3_tiny"]


def test_slowfast_full_config_reads_kinetics_and_tests_on_thirty_views(tmp_path) -> None:
    torch.set_num_threads(1)
    overrides = [*TINY_BUDGET, "model.name=slowfast_tiny", "data.test_clips=10"]
    config = resolve_config(get_recipe("slowfast_shapes"), config_name="full", overrides=overrides,
                            data=FIXTURES / "kinetics")  # fmt: skip
    assert config["data"]["clip_frames"] == 32 and config["data"]["frame_stride"] == 2
    assert config["data"]["eval_transform"] == "three_crop" and config["data"]["test_size"] == 256
    summary = run_recipe("slowfast_shapes", config_name="full", data=FIXTURES / "kinetics", steps=2,
                         overrides=[*overrides, "data.image_size=32", "data.test_size=32"], out=tmp_path / "run",
                         quiet=True, report=False)  # fmt: skip
    m = summary["metrics"]
    assert m["views"] == 30.0  # 10 clips × 3 crops (§4's test protocol)
    assert m["video_acc"] == pytest.approx(m["acc"], abs=1e-6) and 0.0 <= m["clip_acc"] <= 1.0
