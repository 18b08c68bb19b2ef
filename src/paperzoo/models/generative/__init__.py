"""Generative models: diffusion (DDPM), ..."""

from . import ddpm, wavegrad  # noqa: F401
