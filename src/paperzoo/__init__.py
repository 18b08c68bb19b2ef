"""paperzoo: faithful, full-size, tested implementations of the papers in a set of ML reading notes.

>>> import paperzoo
>>> model = paperzoo.create_model("linear")          # build any registered model by name
>>> paperzoo.list_recipes("margin*")
['margin_digits']
"""

from .registry import (
    Paper,
    create_dataset,
    create_model,
    get_model_entry,
    get_recipe,
    list_datasets,
    list_models,
    list_recipes,
    register_dataset,
    register_model,
    register_recipe,
)

__version__ = "0.1.0"

__all__ = [
    "Paper",
    "create_dataset",
    "create_model",
    "get_model_entry",
    "get_recipe",
    "list_datasets",
    "list_models",
    "list_recipes",
    "register_dataset",
    "register_model",
    "register_recipe",
    "__version__",
]
