"""Recipes: one file per paper, each registering its experiment. Importing this registers all of them."""

from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe
from . import margin_digits  # noqa: F401

__all__ = ["BASE_CONFIG", "Experiment", "Finish", "PaperNumber", "Recipe"]
