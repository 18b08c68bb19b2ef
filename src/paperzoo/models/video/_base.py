"""What every video classifier in :mod:`paperzoo.models.video` shares.

Video clips are ``(B, C, T, H, W)``; models with several pathways (SlowFast, two-stream) take a list
of such tensors. The interface is the image family's (:class:`~paperzoo.models.vision._base.ImageClassifier`):
``forward_features`` returns the last feature map (or tokens), ``forward_head`` pools, applies
dropout and the classifier (``pre_logits=True`` stops before it), ``reset_classifier`` swaps the
classifier (0 classes: features only).
"""

from __future__ import annotations

from torch import Tensor

from ..vision._base import ClassifierOutput, ImageClassifier, linear_head

__all__ = ["VideoClassifier", "ClassifierOutput", "linear_head", "check_clip"]


def check_clip(x: Tensor, in_chans: int, what: str = "clips") -> None:
    """Raise ``ValueError`` unless ``x`` is ``(B, in_chans, T, H, W)``."""
    if not isinstance(x, Tensor) or x.dim() != 5 or x.shape[1] != in_chans:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"expected {what} of shape (B, {in_chans}, T, H, W), got {shape}")


class VideoClassifier(ImageClassifier):
    """Base class for clip classifiers: as :class:`ImageClassifier`, with 5-D input validation.

    Subclasses with fixed clip sizes (e.g. C3D's fc6 needs 16×112×112) check the rest of the shape
    themselves after calling :meth:`check_input`, and name the expected size in the error.
    """

    def check_input(self, x: Tensor) -> None:
        check_clip(x, self.in_chans)
