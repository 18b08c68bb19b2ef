"""Recipes: one file per paper, each registering its experiment. Importing this registers all of them."""

from . import alexnet, bert4rec, ddpm, googlenet, inception_v3, inception_v4, margin_digits, resnet, vgg, vit, zfnet  # noqa: F401
from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe

__all__ = ["BASE_CONFIG", "Experiment", "Finish", "PaperNumber", "Recipe"]
