"""What every image classifier in :mod:`paperzoo.models.vision` shares (the timm backbone interface).

``forward_features`` maps images ``(B, in_chans, H, W)`` to the last feature map (or tokens);
``forward_head`` pools, applies dropout and the classifier (``pre_logits=True`` stops before it);
``reset_classifier`` swaps the classifier for a new number of classes (0 removes it, as in timm).
Networks with auxiliary classifiers (GoogLeNet, Inception v3) return a :class:`ClassifierOutput` in
training mode, which carries each auxiliary head's loss weight so the task needs no knowledge of the
architecture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

__all__ = ["ImageClassifier", "ClassifierOutput", "linear_head"]


@dataclass
class ClassifierOutput:
    """Main logits plus auxiliary logits and the weight each auxiliary loss gets in training.

    GoogLeNet (Szegedy et al. 2014, §5) adds its two auxiliary losses with weight 0.3; Inception v3
    (Szegedy et al. 2016, §4) uses one auxiliary head as a regulariser.
    """

    logits: Tensor
    aux_logits: list[Tensor] = field(default_factory=list)
    aux_weights: list[float] = field(default_factory=list)


def linear_head(in_features: int, num_classes: int) -> nn.Module:
    """A linear classifier, or ``nn.Identity`` when ``num_classes == 0`` (features only)."""
    if num_classes < 0:
        raise ValueError(f"num_classes must be >= 0 (got {num_classes})")
    return nn.Linear(in_features, num_classes) if num_classes > 0 else nn.Identity()


class ImageClassifier(nn.Module):
    """Base class: input validation, ``forward`` = head(features), classifier reset.

    Subclasses set ``self.in_chans``, ``self.num_classes``, ``self.num_features`` (width of the pooled
    features the classifier sees) and keep their final classifier in the attribute named by
    ``classifier_attr`` (``"fc"`` unless overridden), built with :func:`linear_head`.
    """

    classifier_attr: str = "fc"
    in_chans: int
    num_classes: int
    num_features: int

    def check_input(self, x: Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is ``(B, in_chans, H, W)``."""
        if x.dim() != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected images of shape (B, {self.in_chans}, H, W), got {tuple(x.shape)}")

    def forward_features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return getattr(self, self.classifier_attr)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one for ``num_classes`` (0: identity)."""
        setattr(self, self.classifier_attr, linear_head(self.num_features, num_classes))
        self.num_classes = num_classes
