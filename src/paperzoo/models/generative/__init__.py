"""Generative models: diffusion (DDPM), ..."""

from . import ddpm  # noqa: F401
