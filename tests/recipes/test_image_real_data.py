"""The full configs' real-data paths run end to end on fixture files in the published formats (two steps each)."""

from __future__ import annotations

from paperzoo.engine.run import run_recipe
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "images"
TINY_BUDGET = [
    "train.batch_size=2",
    "train.eval_batch_size=2",
    "train.num_workers=0",
    "train.eval_every=2",
    "train.ckpt_every=2",
    "train.tensorboard=false",
]


def test_alexnet_full_config_reads_an_imagenet_folder_and_tests_on_ten_crops(tmp_path) -> None:
    summary = run_recipe(
        "alexnet_shapes",
        config_name="full",
        data=FIXTURES / "imagenet",
        steps=2,
        overrides=TINY_BUDGET,
        out=tmp_path / "run",
        quiet=True,
        report=False,
    )
    # The paper's full-size network (60,965,224 parameters at 1,000 classes), with a 2-class head for the fixture.
    assert summary["model"] == "alexnet_paper" and summary["params"] == 60_965_224 - 4097 * (1000 - 2)
    assert 0.0 <= summary["value"] <= 1.0 and summary["data"]


def test_resnet_full_config_reads_cifar10_binary_files(tmp_path) -> None:
    summary = run_recipe(
        "resnet_degradation",
        config_name="full",
        data=FIXTURES / "cifar10" / "cifar-10-batches-bin",
        steps=2,
        overrides=TINY_BUDGET,
        out=tmp_path / "run",
        quiet=True,
        report=False,
    )
    rows = {row[0]: row[1] for row in summary["tables"]["plain vs residual (degradation)"]["rows"]}
    assert rows["resnet56"] == rows["plain56"] == 853_018  # the paper's full-width net (not the quick 8/16/32 one)
