"""Evaluation metrics shared by the recipes."""

from .classification import accuracy, binary_accuracy, majority_class_accuracy

__all__ = ["accuracy", "binary_accuracy", "majority_class_accuracy"]
