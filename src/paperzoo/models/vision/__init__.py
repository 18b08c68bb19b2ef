"""Image classifiers: the ImageNet-challenge CNNs, ResNet and its relatives, and ViT."""

from . import alexnet, densenet, googlenet, inception_v3, inception_v4, resnet, vgg, vit, zfnet  # noqa: F401
