"""Recipes: one file per paper, each registering its experiment. Importing this registers all of them."""

from . import (  # noqa: F401
    alexnet,
    bert4rec,
    c3d,
    causalgan,
    ddpm,
    ddpm_images,
    googlenet,
    hidden_two_stream,
    i3d,
    inception_v3,
    inception_v4,
    margin_digits,
    mvit,
    r2plus1d,
    resnet,
    s3d,
    slowfast,
    t3d,
    timesformer,
    tsn,
    two_stream,
    vgg,
    vit,
    vivit,
    vqvae,
    vqvae_audio,
    vqvae_prior,
    vtn,
    wavegrad,
    x3d,
    x3d_expansion,
    zfnet,
)
from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe

__all__ = ["BASE_CONFIG", "Experiment", "Finish", "PaperNumber", "Recipe"]
