"""Generative models: diffusion (DDPM, WaveGrad), vector-quantised autoencoders and their priors, CausalGAN."""

from . import causalgan, ddpm, pixelcnn, pixelsnail, vqvae, vqvae2, wavegrad  # noqa: F401
