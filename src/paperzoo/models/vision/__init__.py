"""Image classifiers: the ImageNet-challenge CNNs, ResNet and its relatives, and ViT."""

from . import vit  # noqa: F401
