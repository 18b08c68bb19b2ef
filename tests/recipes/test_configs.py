"""Every recipe's configs: valid against the quick schema, and no non-quick config silently inherits the quick
config's model or dataset keyword arguments (reduced widths, small image sizes)."""

from __future__ import annotations

import pytest

import paperzoo
from paperzoo.engine.config import merge_config
from paperzoo.registry import get_recipe

RECIPES = paperzoo.list_recipes()


# Model arguments that the full config sets to the quick config's value on purpose (both train from scratch).
SAME_ON_PURPOSE = {("timesformer_shapes", "zero_temporal_fc"), ("vivit_shapes", "tubelet_init")}


@pytest.mark.parametrize("name", RECIPES)
def test_configs_fit_the_schema_and_do_not_inherit_quick_kwargs(name: str) -> None:
    recipe = get_recipe(name)
    quick = recipe.configs["quick"]
    for config_name, config in recipe.configs.items():
        merge_config(quick, config)  # raises on keys the quick schema lacks
        if config_name == "quick" or config["data"]["name"] == quick["data"]["name"]:
            continue
        for section in ("model", "data"):
            q, f = quick[section].get("kwargs", {}), config[section].get("kwargs", {})
            inherited = {k for k in q if k in f and f[k] == q[k] and (name, k) not in SAME_ON_PURPOSE}
            assert not inherited, f"{name}.{config_name}: {section}.kwargs {sorted(inherited)} copied from quick"


def test_the_full_resnet_config_builds_the_paper_network() -> None:
    full = get_recipe("resnet_degradation").configs["full"]
    assert full["model"] == {"name": "resnet56", "kwargs": {}}
    assert full["data"]["kwargs"] == {"val_fraction": 0.1}
