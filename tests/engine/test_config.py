"""Config schema merge, --set parsing and YAML I/O."""

from __future__ import annotations

import pytest

from paperzoo.engine.config import ConfigError, dump_yaml, get_path, load_yaml, merge_config, parse_overrides

BASE = {
    "seed": 0,
    "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": False, "betas": [0.9, 0.999]},
    "train": {"steps": 100, "batch_size": 32},
    "model": {"name": "tiny", "kwargs": {}},
    "task": {},
    "note": None,
}


# ---------------------------------------------------------------- merge_config


def test_nested_merge_changes_only_given_keys_and_leaves_base_untouched():
    out = merge_config(BASE, {"optim": {"lr": 0.5}, "train": {"steps": 7}})
    assert out["optim"] == {"name": "sgd", "lr": 0.5, "momentum": 0.9, "nesterov": False, "betas": [0.9, 0.999]}
    assert out["train"] == {"steps": 7, "batch_size": 32}
    assert out["seed"] == 0
    assert BASE["optim"]["lr"] == 0.1 and BASE["train"]["steps"] == 100
    out["optim"]["betas"].append(1.0)
    assert BASE["optim"]["betas"] == [0.9, 0.999]  # a deep copy


def test_unknown_nested_key_names_dotted_path_and_lists_allowed_keys():
    with pytest.raises(ConfigError) as info:
        merge_config(BASE, {"optim": {"lrr": 0.5}})
    msg = str(info.value)
    assert "'optim.lrr'" in msg
    assert "betas, lr, momentum, name, nesterov" in msg


def test_unknown_top_level_key():
    with pytest.raises(ConfigError) as info:
        merge_config(BASE, {"sed": 1})
    msg = str(info.value)
    assert "'sed'" in msg
    assert "model, note, optim, seed, task, train" in msg


def test_wrong_type_message_names_key_expected_and_got():
    with pytest.raises(ConfigError) as info:
        merge_config(BASE, {"train": {"steps": "many"}})
    msg = str(info.value)
    assert "'train.steps'" in msg
    assert "expects int" in msg
    assert "got str 'many'" in msg


def test_float_where_int_expected_is_rejected():
    with pytest.raises(ConfigError, match=r"'train\.batch_size' expects int \(got float 3\.5\)"):
        merge_config(BASE, {"train": {"batch_size": 3.5}})


def test_int_is_widened_to_float():
    out = merge_config(BASE, {"optim": {"lr": 1}})
    assert out["optim"]["lr"] == 1.0
    assert type(out["optim"]["lr"]) is float


@pytest.mark.parametrize(("section", "key"), [("train", "steps"), ("optim", "lr")])
def test_bool_not_accepted_for_int_or_float(section, key):
    with pytest.raises(ConfigError, match=r"got bool True"):
        merge_config(BASE, {section: {key: True}})


def test_int_not_accepted_for_bool():
    with pytest.raises(ConfigError, match=r"'optim\.nesterov' expects bool \(got int 1\)"):
        merge_config(BASE, {"optim": {"nesterov": 1}})


def test_tuple_accepted_for_list_and_stored_as_list():
    out = merge_config(BASE, {"optim": {"betas": (0.5, 0.6)}})
    assert out["optim"]["betas"] == [0.5, 0.6]
    assert isinstance(out["optim"]["betas"], list)


def test_open_mapping_accepts_any_keys():
    out = merge_config(BASE, {"model": {"kwargs": {"width": 3, "anything": {"deep": [1]}}}})
    assert out["model"]["kwargs"] == {"width": 3, "anything": {"deep": [1]}}
    assert out["model"]["name"] == "tiny"


def test_open_mapping_given_scalar_is_rejected():
    with pytest.raises(ConfigError, match=r"'task' expects mapping"):
        merge_config(BASE, {"task": 3})


def test_section_given_scalar_is_rejected():
    with pytest.raises(ConfigError) as info:
        merge_config(BASE, {"optim": 0.1})
    assert "'optim' is a section" in str(info.value)
    assert "optim.KEY=VALUE" in str(info.value)


def test_none_default_accepts_any_value():
    assert merge_config(BASE, {"note": "hello"})["note"] == "hello"
    assert merge_config(BASE, {"note": 3})["note"] == 3


# ---------------------------------------------------------------- parse_overrides


def test_parse_overrides_builds_nested_dict_with_yaml_scalars():
    out = parse_overrides(
        [
            "optim.lr=0.25",
            "train.steps=12",
            "optim.nesterov=true",
            "optim.betas=[0.5, 0.75]",
            "note=null",
            "model.name=resnet",
            "seed=-3",
            "a.b.c=x=y",
        ]
    )
    assert out == {
        "optim": {"lr": 0.25, "nesterov": True, "betas": [0.5, 0.75]},
        "train": {"steps": 12},
        "note": None,
        "model": {"name": "resnet"},
        "seed": -3,
        "a": {"b": {"c": "x=y"}},
    }
    assert type(out["train"]["steps"]) is int
    assert type(out["optim"]["lr"]) is float


def test_parse_overrides_empty_value_is_empty_string_and_none_input_is_empty():
    assert parse_overrides(["model.name="]) == {"model": {"name": ""}}
    assert parse_overrides(None) == {}
    assert parse_overrides([]) == {}


def test_parse_overrides_key_whitespace_stripped():
    assert parse_overrides([" train.steps =5"]) == {"train": {"steps": 5}}


def test_parse_overrides_then_merge():
    out = merge_config(BASE, parse_overrides(["optim.lr=2", "train.batch_size=8"]))
    assert out["optim"]["lr"] == 2.0 and type(out["optim"]["lr"]) is float
    assert out["train"]["batch_size"] == 8


def test_parse_overrides_missing_equals():
    with pytest.raises(ConfigError, match=r"KEY=VALUE \(got 'optim\.lr'\)"):
        parse_overrides(["optim.lr"])


@pytest.mark.parametrize("item", ["=3", "optim..lr=3", ".lr=3", "optim.=3"])
def test_parse_overrides_empty_key_part(item):
    with pytest.raises(ConfigError, match="empty key"):
        parse_overrides([item])


def test_parse_overrides_key_under_a_scalar_is_rejected():
    with pytest.raises(ConfigError, match="already given a value"):
        parse_overrides(["optim=1", "optim.lr=2"])


def test_parse_overrides_unparseable_value():
    with pytest.raises(ConfigError, match=r"--set optim\.betas: cannot parse value"):
        parse_overrides(["optim.betas=[1, 2"])


def test_parse_overrides_exponent_without_dot_is_a_float():
    assert parse_overrides(["optim.lr=1e-3"]) == {"optim": {"lr": 0.001}}


# ---------------------------------------------------------------- load_yaml / dump_yaml


def test_load_yaml_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="config file not found") as info:
        load_yaml(path)
    assert str(path) in str(info.value)


def test_load_yaml_invalid_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("optim:\n  lr: 0.1\n  name: [sgd\ntrain:\n  steps: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    msg = str(info.value)
    assert f"{path}:" in msg
    assert "invalid YAML" in msg
    line = int(msg[len(str(path)) + 1 :].split(":", 1)[0])
    assert 3 <= line <= 5  # the unclosed bracket opens on line 3; PyYAML reports where it gave up


def test_load_yaml_tab_indentation_reports_line(tmp_path):
    path = tmp_path / "tabs.yaml"
    path.write_text("a: 1\nb: 2\n\tc: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value).startswith(f"{path}:3: invalid YAML")


def test_load_yaml_non_mapping_top_level(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"expected a mapping at the top level \(got list\)"):
        load_yaml(path)


def test_load_yaml_empty_file_is_empty_mapping(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n", encoding="utf-8")
    assert load_yaml(path) == {}


def test_dump_yaml_round_trip(tmp_path):
    config = merge_config(BASE, {"optim": {"lr": 1e-5, "betas": (0.5, 0.6)}, "model": {"kwargs": {"w": [1, 2]}}})
    text = dump_yaml(config)
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    back = load_yaml(path)
    assert back == config
    assert back["optim"]["lr"] == 1e-5
    assert list(back) == list(config)  # key order kept (sort_keys=False)
    assert merge_config(BASE, back) == config


def test_get_path():
    assert get_path(BASE, "optim.lr") == 0.1
    assert get_path(BASE, "optim.missing", "d") == "d"
    assert get_path(BASE, "seed.x", 5) == 5


def test_kwargs_sections_are_free_form_and_merge_key_by_key() -> None:
    base = {"model": {"name": "m", "kwargs": {"width": 8}}}
    out = merge_config(base, {"model": {"kwargs": {"depth": 3}}})
    assert out["model"]["kwargs"] == {"width": 8, "depth": 3}
    with pytest.raises(ConfigError, match="keyword arguments"):
        merge_config(base, {"model": {"kwargs": 3}})


def test_a_full_config_is_used_as_written_not_merged_onto_quick() -> None:
    from types import SimpleNamespace

    from paperzoo.engine.run import resolve_config
    from paperzoo.recipes import BASE_CONFIG

    quick = merge_config(BASE_CONFIG, {"model": {"name": "linear", "kwargs": {"in_features": 8}}})
    full = merge_config(BASE_CONFIG, {"model": {"name": "linear", "kwargs": {}}})
    recipe = SimpleNamespace(name="r", configs={"quick": quick, "full": full})
    assert resolve_config(recipe, config_name="full")["model"]["kwargs"] == {}
    assert resolve_config(recipe, config_name="quick")["model"]["kwargs"] == {"in_features": 8}


def test_extend_config_replaces_kwargs_sections_whole() -> None:
    from paperzoo.engine.config import extend_config

    quick = {"model": {"name": "resnet56", "kwargs": {"widths": [8, 16, 32]}}, "optim": {"lr": 0.1, "wd": 0.0}}
    full = extend_config(quick, {"model": {"kwargs": {}}, "optim": {"lr": 0.2}})
    assert full["model"] == {"name": "resnet56", "kwargs": {}}  # no inherited narrowing
    assert full["optim"] == {"lr": 0.2, "wd": 0.0}  # other sections still merge key by key
