"""Evaluation metrics shared by the recipes."""

from .classification import accuracy, binary_accuracy, majority_class_accuracy
from .ranking import evaluate_ranking, ranking_metrics, ranks_from_scores, sample_negatives

__all__ = [
    "accuracy",
    "binary_accuracy",
    "majority_class_accuracy",
    "evaluate_ranking",
    "ranking_metrics",
    "ranks_from_scores",
    "sample_negatives",
]
