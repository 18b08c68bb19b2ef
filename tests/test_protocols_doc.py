"""docs/protocols.md and the recipe registry cannot drift apart.

Every recipe that ``import paperzoo.recipes`` registers (what ``paperzoo train`` offers) has a
``## <name> (<system>)`` section; every section names a recipe that some module of ``paperzoo.recipes``
registers (a section may come before its module is listed in ``recipes/__init__.py``); each section has
the five items (Data, Model, Metric, Baseline, Paper's number) and names the recipe's metric (in
backticks), its baseline (verbatim) and the paper's value. No training: the recipes are only imported.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
from pathlib import Path

import pytest

import paperzoo.recipes
from paperzoo.registry import get_recipe, list_recipes

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocols.md"
HEADING = re.compile(r"^## (\S+) \((.+)\)\s*$")
ITEMS = ("- Data:", "- Model:", "- Metric:", "- Baseline:", "- Paper's number:")


def _import_every_recipe_module() -> None:
    """Import every recipe module, also those not yet listed in ``paperzoo/recipes/__init__.py``."""
    for module in pkgutil.iter_modules(paperzoo.recipes.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"paperzoo.recipes.{module.name}")


def parse_sections(text: str) -> dict[str, tuple[str, str]]:
    """``{recipe name: (system, section body)}`` of every ``## `` section; a malformed heading fails."""
    sections: dict[str, tuple[str, str]] = {}
    name, system, body = None, "", []
    for line in text.splitlines():
        if line.startswith("## "):
            if name is not None:
                sections[name] = (system, "\n".join(body))
            match = HEADING.match(line)
            assert match, f"section heading {line!r} is not '## <recipe name> (<system>)'"
            name, system, body = match.group(1), match.group(2), []
            assert name not in sections, f"two sections for {name!r}"
        elif name is not None:
            body.append(line)
    if name is not None:
        sections[name] = (system, "\n".join(body))
    return sections


def _flat(text: str) -> str:
    return " ".join(text.split())


def _item(body: str, label: str) -> str:
    """The text of one top-level item (``- Label: ...`` up to the next top-level item)."""
    match = re.search(rf"^{re.escape(label)}(.*?)(?=^- |\Z)", body, flags=re.M | re.S)
    return _flat(match.group(1)) if match else ""


REGISTERED = list_recipes()  # what `import paperzoo.recipes` registers
_import_every_recipe_module()
RECIPES = list_recipes()  # also the recipe modules not yet imported by recipes/__init__.py
SECTIONS = parse_sections(DOC.read_text(encoding="utf-8"))


def test_parse_sections_reads_headings_and_bodies():
    text = "# T\n\nintro\n\n## a_b (System A)\n\n- Data: x\n- Model: y\n## c (C)\nbody\n"
    assert parse_sections(text) == {"a_b": ("System A", "\n- Data: x\n- Model: y"), "c": ("C", "body")}
    with pytest.raises(AssertionError, match="not '## <recipe name>"):
        parse_sections("## no_system_here\n")


def test_every_recipe_has_a_section():
    missing = [name for name in REGISTERED if name not in SECTIONS]
    assert not missing, f"docs/protocols.md has no section for {missing}"


def test_every_section_names_a_registered_recipe():
    unknown = [name for name in SECTIONS if name not in RECIPES]
    assert not unknown, f"docs/protocols.md has sections for recipes that no module registers: {unknown}"


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_section_states_the_recipes_protocol(name):
    if name not in RECIPES:
        pytest.skip("no such recipe (reported by test_every_section_names_a_registered_recipe)")
    recipe = get_recipe(name)
    system, body = SECTIONS[name]
    assert system == recipe.system, f"{name}: heading says {system!r}, the recipe's system is {recipe.system!r}"
    for label in ITEMS:
        assert re.search(rf"^{re.escape(label)}", body, flags=re.M), f"{name}: no '{label}' item"
    assert f"`{recipe.metric}`" in _item(body, "- Metric:"), f"{name}: the Metric item does not name `{recipe.metric}`"
    assert _flat(recipe.baseline) in _item(body, "- Baseline:"), f"{name}: the Baseline item lacks {recipe.baseline!r}"
    paper = _item(body, "- Paper's number:")
    number = recipe.paper_number
    if number is None or number.value is None:
        assert paper.lower().startswith("none"), f"{name}: the recipe has no paper number; the item says {paper!r}"
    else:
        values = [float(v) for v in re.findall(r"\d+(?:\.\d+)?", paper)]
        assert any(math.isclose(v, number.value, rel_tol=1e-9) for v in values), (
            f"{name}: the Paper's number item does not give {number.value}"
        )
