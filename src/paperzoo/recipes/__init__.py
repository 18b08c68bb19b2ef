"""Recipes: one file per paper, each registering its experiment. Importing this registers all of them."""

from . import (  # noqa: F401
    alexnet,
    bert4rec,
    causalgan,
    ddpm,
    ddpm_images,
    googlenet,
    hidden_two_stream,
    inception_v3,
    inception_v4,
    margin_digits,
    resnet,
    tsn,
    two_stream,
    vgg,
    vit,
    vqvae,
    vqvae_audio,
    vqvae_prior,
    wavegrad,
    x3d_expansion,
    zfnet,
)
from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe

__all__ = ["BASE_CONFIG", "Experiment", "Finish", "PaperNumber", "Recipe"]
