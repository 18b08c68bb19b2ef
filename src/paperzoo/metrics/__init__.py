"""Evaluation metrics shared by the recipes."""

from .audio import log_mel_mse, multi_resolution_stft, real_time_factor
from .classification import accuracy, binary_accuracy, majority_class_accuracy
from .ranking import evaluate_ranking, ranking_metrics, ranks_from_scores, sample_negatives

__all__ = [
    "log_mel_mse",
    "multi_resolution_stft",
    "real_time_factor",
    "accuracy",
    "binary_accuracy",
    "majority_class_accuracy",
    "evaluate_ranking",
    "ranking_metrics",
    "ranks_from_scores",
    "sample_negatives",
]
