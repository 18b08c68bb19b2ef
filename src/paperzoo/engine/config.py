"""Run configuration: nested mappings with a fixed schema, checked overrides, YAML round trip.

A recipe declares its configs (``quick`` and ``full``) as nested dicts. The schema is the recipe's
``quick`` config: every key a user can set must appear there, and every value's type is checked
against the default's type. ``--config file.yaml`` and ``--set a.b=value`` are merged on top, so an
unknown key or a wrong type is caught before anything runs, with a message that names the key and
what is allowed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ConfigError", "merge_config", "extend_config", "parse_overrides", "load_yaml", "dump_yaml", "get_path"]


class ConfigError(ValueError):
    """A config key or value that the recipe does not accept."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as ``1e-3`` (YAML 1.1 wants ``1.0e-3``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)$"),
    list("-+0123456789."),
)


def _type_name(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "mapping"}.get(
        type(value), type(value).__name__
    )


def _coerce(key: str, default: Any, value: Any) -> Any:
    """Return ``value`` checked (and widened int→float) against the type of ``default``."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
    elif isinstance(default, (list, tuple)):
        if isinstance(value, (list, tuple)):
            return list(value)
    elif isinstance(default, Mapping):
        if isinstance(value, Mapping):
            return value
    else:
        return value
    raise ConfigError(f"config key {key!r} expects {_type_name(default)} (got {_type_name(value)} {value!r})")


def merge_config(base: Mapping[str, Any], override: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``; unknown keys and wrong types raise ConfigError.

    A mapping whose default is empty (``{}``) is open: any keys may be added under it. A section named
    ``kwargs`` (a model's or dataset's keyword arguments) is always open, whatever its defaults.
    """
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        path = f"{prefix}{key}"
        if key not in out:
            allowed = ", ".join(sorted(out)) or "(none)"
            raise ConfigError(f"unknown config key {path!r}; allowed here: {allowed}")
        default = out[key]
        if key == "kwargs" and isinstance(default, Mapping):  # free-form keyword arguments: no schema
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key {path!r} holds keyword arguments; set them as {path}.NAME=VALUE")
            out[key] = {**default, **copy.deepcopy(dict(value))}
        elif isinstance(default, Mapping) and default:
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key {path!r} is a section; set its keys as {path}.KEY=VALUE")
            out[key] = merge_config(default, value, prefix=f"{path}.")
        else:
            out[key] = copy.deepcopy(_coerce(path, default, value))
    return out


def extend_config(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``extra`` into a copy of ``base``, adding new keys: how a recipe defines its schema.

    A ``kwargs`` section in ``extra`` replaces the base's whole: a full config's model must not inherit the
    quick config's reduced widths.
    """
    out = copy.deepcopy(dict(base))
    for key, value in extra.items():
        if key == "kwargs" and isinstance(value, Mapping):
            out[key] = copy.deepcopy(dict(value))
        elif isinstance(value, Mapping) and value and isinstance(out.get(key), Mapping):
            out[key] = extend_config(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """Turn ``["optim.lr=0.1", "train.steps=5"]`` into a nested dict; values are parsed as YAML scalars."""
    result: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--set expects KEY=VALUE (got {item!r})")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set has an empty key in {item!r}")
        try:
            value = yaml.load(raw, Loader=_Loader) if raw.strip() else ""
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {key}: cannot parse value {raw!r} ({err.__class__.__name__})") from None
        node = result
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} was already given a value")
        node[parts[-1]] = value
    return result


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file or a syntax error names the file (and line)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML ({getattr(err, 'problem', err)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level (got {_type_name(data)})")
    return data


def dump_yaml(config: Mapping[str, Any]) -> str:
    return yaml.safe_dump(_plain(config), sort_keys=False, default_flow_style=False)


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def get_path(config: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node
