"""Image classifiers: the ImageNet-challenge CNNs, ResNet and its relatives, and ViT."""

from . import densenet, resnet, vit  # noqa: F401
