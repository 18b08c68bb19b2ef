"""The ddpm_images recipe: the Gaussian baseline, sample caching, the learning test on digits, CIFAR-10 end to end."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paperzoo.engine.run import run_recipe
from paperzoo.models.generative.ddpm import NoiseSchedule
from paperzoo.recipes.ddpm_images import ImageDiffusionTask, gaussian_image_samples
from paperzoo.registry import get_recipe
from tests.conftest import ROOT


def test_gaussian_baseline_matches_the_image_moments_and_range() -> None:
    gen = torch.Generator().manual_seed(0)
    mix = torch.rand(2000, 1, generator=gen)
    train = (torch.stack([mix, 1 - mix, 0.5 * mix], -1).reshape(2000, 1, 1, 3) - 0.5) * 0.8  # correlated pixels
    samples = gaussian_image_samples(train, 20000, seed=1)
    assert samples.shape == (20000, 1, 1, 3) and samples.abs().max() <= 1
    flat, ref = samples.flatten(1), train.flatten(1)
    torch.testing.assert_close(flat.mean(0), ref.mean(0), atol=0.01, rtol=0)
    torch.testing.assert_close(torch.cov(flat.T), torch.cov(ref.T), atol=0.01, rtol=0)


class _Eps(nn.Module):
    """ε_θ that predicts zero noise, counting its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.calls = 0

    def forward(self, x, t):
        self.calls += 1
        return x * self.w


def test_samples_are_cached_per_set_of_weights() -> None:
    task = ImageDiffusionTask(NoiseSchedule(5, "linear"), nn.Identity(), eval_samples=6, sample_batch=4)
    model = _Eps()
    a = task.samples_for(model, (1, 2, 2))
    assert model.calls == 2 * 5  # two batches (4 + 2) × T steps
    assert task.samples_for(model, (1, 2, 2)) is a and model.calls == 10
    with torch.no_grad():
        model.w.add_(0.1)
    b = task.samples_for(model, (1, 2, 2))
    assert model.calls == 20 and not torch.equal(a, b)
    assert a.shape == (6, 1, 2, 2) and a.abs().max() <= 1


def test_full_config_is_the_papers_cifar10_run() -> None:
    full = get_recipe("ddpm_images").configs["full"]
    assert full["model"] == {"name": "ddpm_cifar10", "kwargs": {}} and full["data"]["name"] == "cifar10"
    assert (full["optim"]["lr"], full["train"]["batch_size"], full["train"]["steps"]) == (2e-4, 128, 800_000)
    assert (full["schedule"]["warmup_steps"], full["train"]["grad_clip"], full["train"]["ema_decay"]) == (
        5000,
        1.0,
        0.9999,
    )
    assert full["task"]["hflip"] and full["task"]["eval_samples"] == 50_000 and full["task"]["num_timesteps"] == 1000


def test_quick_recipe_beats_the_gaussian_on_digits(tmp_path) -> None:
    # The quick config, shortened: 800 steps, 128 samples, a briefly trained feature classifier (about two
    # minutes of one CPU thread; the full quick run, 1,200 steps and 256 samples, reaches FID 2.7 against 16.2).
    overrides = [
        "train.tensorboard=false",
        "train.eval_every=800",
        "train.ckpt_every=800",
        "task.eval_samples=128",
        "task.feature_steps=150",
    ]
    summary = run_recipe("ddpm_images", out=tmp_path / "run", steps=800, quiet=True, overrides=overrides)
    m = summary["metrics"]
    assert summary["metric"] == "fid" and not summary["higher_is_better"]
    assert summary["beats_baseline"] and m["fid"] < 0.6 * m["baseline/fid"]  # measured: 7.4 against 15.5
    assert m["real/fid"] < m["fid"]  # held-out real digits are the floor
    assert m["is"] > m["baseline/is"]
    rows = summary["tables"][next(iter(summary["tables"]))]["rows"]
    assert [r[0] for r in rows][0].startswith("DDPM") and rows[1][1] == round(summary["baseline"]["value"], 4)
    assert (tmp_path / "run" / "plots" / "samples.png").is_file()
    assert (tmp_path / "run" / "report.md").is_file()


CIFAR_FIXTURE = ROOT / "tests" / "fixtures" / "images" / "cifar10" / "cifar-10-batches-bin"
FIXTURE_BUDGET = [
    "train.batch_size=2",
    "train.eval_batch_size=4",
    "train.num_workers=0",
    "train.eval_every=2",
    "train.ckpt_every=2",
    "train.tensorboard=false",
    "task.eval_samples=4",
    "task.num_timesteps=3",  # the sampling loop, not its length, is under test here
    "task.feature_steps=2",
    "task.feature_batch=2",
    "data.kwargs.val_fraction=0.5",  # the fixture holds a handful of images per file
]


def test_full_config_reads_cifar10_files_end_to_end(tmp_path) -> None:
    # The full config's data path and pipeline with the small U-Net (the full-size one is the slow test below).
    small_unet = ["model.name=ddpm_tiny", "model.kwargs.image_size=32", "task.feature_net=resnet_cifar_tiny"]
    summary = run_recipe(
        "ddpm_images",
        config_name="full",
        data=CIFAR_FIXTURE,
        steps=2,
        overrides=FIXTURE_BUDGET + small_unet,
        out=tmp_path / "run",
        quiet=True,
        report=False,
    )
    assert summary["steps"] == 2 and torch.isfinite(torch.tensor(summary["value"]))
    assert summary["data"].endswith("cifar-10-batches-bin") or "cifar" in summary["data"]
    assert "ema" in torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)


@pytest.mark.slow
def test_full_config_trains_the_paper_network_on_cifar10_files(tmp_path) -> None:
    data = CIFAR_FIXTURE
    overrides = [
        "train.batch_size=2",
        "train.eval_batch_size=4",
        "train.num_workers=0",
        "train.eval_every=2",
        "train.ckpt_every=2",
        "train.tensorboard=false",
        "task.eval_samples=4",
        "task.num_timesteps=3",  # the sampling loop, not its length, is under test here
        "task.feature_steps=2",
        "data.kwargs.val_fraction=0.5",  # the fixture holds a handful of images per file
    ]
    summary = run_recipe(
        "ddpm_images",
        config_name="full",
        data=data,
        steps=2,
        overrides=overrides,
        out=tmp_path / "run",
        quiet=True,
        report=False,
    )
    assert summary["params"] == 35_746_307  # the paper's CIFAR-10 U-Net, not the quick one
    assert summary["steps"] == 2 and torch.isfinite(torch.tensor(summary["value"]))
    state = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)
    assert "ema" in state  # the paper's EMA (decay 0.9999) is kept
