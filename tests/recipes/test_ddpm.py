"""The ddpm_toy2d recipe: mode-coverage metric on hand-made point sets, and the learning test (every mode covered)."""

from __future__ import annotations

import pytest
import torch

from paperzoo.data.toy2d import mixture_centers, mode_coverage, toy2d
from paperzoo.engine.config import ConfigError
from paperzoo.engine.run import run_recipe
from paperzoo.recipes.ddpm import gaussian_baseline_samples
from paperzoo.registry import get_recipe

CENTERS = mixture_centers("ring", num_modes=8, radius=2.0)
STD = 0.05


def test_ring_and_grid_centres_match_their_closed_form() -> None:
    angles = torch.arange(8) * torch.pi / 4
    torch.testing.assert_close(CENTERS, 2.0 * torch.stack([angles.cos(), angles.sin()], 1))
    grid = mixture_centers("grid", grid_size=5, spacing=1.0)
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == {-2.0, -1.0, 0.0, 1.0, 2.0}


def test_all_points_on_the_modes_give_precision_and_recall_one() -> None:
    samples = CENTERS.repeat(50, 1) + 0.5 * STD * torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
    assert mode_coverage(samples, CENTERS, STD) == (1.0, 1.0, 1.0)


def test_all_points_at_the_origin_give_zero() -> None:
    assert mode_coverage(torch.zeros(400, 2), CENTERS, STD) == (0.0, 0.0, 0.0)


def test_half_the_modes_give_recall_one_half() -> None:
    recall, precision, quality = mode_coverage(CENTERS[:4].repeat(100, 1), CENTERS, STD)
    assert (recall, precision) == (0.5, 1.0)
    assert quality == pytest.approx(2 * 0.5 / 1.5)


def test_a_mode_needs_a_quarter_of_its_share_and_points_beyond_3_sigma_miss() -> None:
    # 8 modes, 800 points: expected 100 per mode, so 25 points cover a mode and 24 do not.
    off = torch.tensor([[10.0, 10.0]])
    counts = [25, 24, 100, 100, 100, 100, 100, 100]
    parts = [CENTERS[k].expand(n, 2) for k, n in enumerate(counts)]
    beyond = CENTERS[:1] + torch.tensor([[3.05 * STD, 0.0]])  # just outside 3σ of mode 0
    samples = torch.cat([*parts, beyond.expand(10, 2), off.expand(800 - sum(counts) - 10, 2)])
    recall, precision, _ = mode_coverage(samples, CENTERS, STD)
    assert recall == 7 / 8
    assert precision == pytest.approx(sum(counts) / 800)


def test_toy2d_is_seeded_and_near_its_modes() -> None:
    a, b = toy2d(seed=3, num_train=500), toy2d(seed=3, num_train=500)
    torch.testing.assert_close(a.train.tensors[0], b.train.tensors[0])
    recall, precision, _ = mode_coverage(a.test.tensors[0], a.centers, a.std)
    assert recall == 1.0 and precision > 0.97  # a 2-D Gaussian has 98.9% of its mass within 3σ


def test_gaussian_baseline_matches_the_data_moments() -> None:
    data = toy2d(seed=0).train.tensors[0]
    samples = gaussian_baseline_samples(data, 20000, seed=0)
    torch.testing.assert_close(samples.mean(0), data.mean(0), atol=0.05, rtol=0)
    torch.testing.assert_close(torch.cov(samples.T), torch.cov(data.T), atol=0.08, rtol=0)


def test_the_full_toy_config_is_the_grid_and_images_are_refused() -> None:
    recipe = get_recipe("ddpm_toy2d")
    full = recipe.configs["full"]
    assert (
        full["data"]["kwargs"]["kind"] == "grid" and full["train"]["steps"] > recipe.configs["quick"]["train"]["steps"]
    )
    with pytest.raises(ConfigError, match="ddpm_images"):
        recipe.setup({**full, "data": {"name": "cifar10", "path": None, "kwargs": {}}})


def test_quick_recipe_covers_every_mode_and_beats_a_single_gaussian(tmp_path) -> None:
    # The quick config with the tiny denoiser (about 10 s on one CPU thread); one evaluation at the end.
    overrides = [
        "train.tensorboard=false",
        "model.name=ddpm_mlp_2d_tiny",
        "optim.lr=3e-3",
        "train.eval_every=4000",
        "train.ckpt_every=4000",
    ]
    summary = run_recipe("ddpm_toy2d", out=tmp_path / "run", quiet=True, report=False, overrides=overrides)
    m = summary["metrics"]
    assert summary["metric"] == "quality" and summary["value"] == m["quality"]
    assert m["mode_recall"] == 1.0
    assert m["precision"] > 0.7
    assert summary["beats_baseline"] and m["quality"] > summary["baseline"]["value"] + 0.5
    assert m["baseline/precision"] < 0.1  # one Gaussian puts its mass between the modes
    rows = summary["tables"]["mode coverage (DDPM vs single Gaussian)"]["rows"]
    assert rows[0][1] == 1.0 and rows[1][3] == summary["baseline"]["value"]
    assert (tmp_path / "run" / "plots" / "samples.png").is_file()
