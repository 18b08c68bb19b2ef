"""Learning tests of the image-classification recipes: each quick config beats a linear classifier on
pixels, and each recipe's own claim holds (parameter ratios, receptive fields, ViT vs ResNet, Inception-ResNet)."""

from __future__ import annotations

import pytest

from paperzoo.engine.run import run_recipe
from paperzoo.recipes._image import linear_probe_accuracy
from paperzoo.registry import count_params, create_dataset

RECIPES = [
    "alexnet_shapes",
    "zfnet_shapes",
    "vgg_shapes",
    "googlenet_shapes",
    "inception_v3_shapes",
    "inception_v4_shapes",
    "vit_shapes",
]


def _run(name: str, tmp_path) -> dict:
    return run_recipe(name, out=tmp_path / name, quiet=True, overrides=["train.tensorboard=false"], report=False)


@pytest.mark.parametrize("name", RECIPES)
def test_quick_recipe_beats_a_linear_classifier_on_pixels(name: str, tmp_path) -> None:
    summary = _run(name, tmp_path)
    assert summary["beats_baseline"], summary
    # ViT from scratch on 6k images barely leaves chance within the quick budget: the paper's point.
    margin = 0.02 if name == "vit_shapes" else 0.05
    assert summary["value"] > summary["baseline"]["value"] + margin
    m = summary["metrics"]
    if name == "vgg_shapes":  # §2.3: two 3×3 layers see 5×5 with 18C² instead of 25C² weights
        assert m["weights_saved_2x3x3"] == pytest.approx(1 - 18 / 25)
        assert m["weights_saved_3x3x3"] == pytest.approx(1 - 27 / 49)
    if name == "googlenet_shapes":
        assert m["alexnet_over_googlenet"] == pytest.approx(61_100_840 / 6_624_904)
        assert m["vgg16_over_googlenet"] > 20
    if name == "vit_shapes":  # small data: ViT trails a ResNet of similar size
        assert m["vit_minus_cnn"] < -0.3
        rows = summary["tables"]["ViT vs a ResNet of similar size, same data and steps"]["rows"]
        assert 0.5 < rows[0][1] / rows[1][1] < 2.0  # similar parameter counts
    if name == "inception_v4_shapes":
        assert "test_acc/inception_resnet_v2_tiny" in m


def test_linear_baseline_is_near_chance_on_shapes_and_high_on_digits() -> None:
    shapes = linear_probe_accuracy(create_dataset("shapes", seed=0, train_size=2000), max_train=2000)
    digits = linear_probe_accuracy(create_dataset("digits_images", seed=0), max_train=2000)
    assert shapes["acc"] < 0.2 < 0.9 < digits["acc"]  # shapes need convolutions; digits do not
    assert shapes["acc@5"] >= shapes["acc"]


def test_registry_parameter_ratios_are_what_the_recipes_report() -> None:
    assert count_params("googlenet_noaux") == 6_624_904
    assert round(count_params("alexnet") / count_params("googlenet_noaux"), 1) == 9.2
