"""Recipes: one file per paper, each registering its experiment. Importing this registers all of them."""

from . import margin_digits, resnet  # noqa: F401
from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe

__all__ = ["BASE_CONFIG", "Experiment", "Finish", "PaperNumber", "Recipe"]
