"""Linear classifiers f(x) = Wx + b, trained with a margin loss.

Paper: Bartlett, Jordan & McAuliffe, "Convexity, Classification, and Risk Bounds", JASA 2006 (the
theory of the surrogate margin losses in :mod:`paperzoo.losses.margin`); the reference for the
losses is JuliaML's LossFunctions.jl, and for the classifier scikit-learn's ``SGDClassifier``
(``coef_`` plus ``intercept_``, 65 parameters on the 8×8 digits).

``num_outputs`` independent linear scorers share one weight matrix: with a loss that is a sum over
outputs, each column trains exactly as if it were alone, which is how the margin recipe trains one
classifier per loss in a single vectorised run.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ...registry import Paper, register_model

__all__ = ["LinearClassifier"]

BARTLETT_2006 = Paper(
    title="Convexity, Classification, and Risk Bounds",
    authors="Peter L. Bartlett, Michael I. Jordan, Jon D. McAuliffe",
    year=2006,
    url="https://doi.org/10.1198/016214505000000907",
)


class LinearClassifier(nn.Module):
    """Linear scores ŷ = xWᵀ + b (Bartlett et al. 2006's function class for margin losses).

    Args:
        in_features: input dimension D.
        num_outputs: number of independent scores K (1 for a binary classifier).
        bias: learn the intercept b.
        init_std: standard deviation of the Gaussian initial weights (0 gives zeros; note that
            a zero start is a stationary point of the perceptron loss, whose φ'(0) = 0).

    Shapes:
        x: (B, D) → (B, K), or (B,) when ``num_outputs == 1``.
    """

    def __init__(
        self, in_features: int = 64, num_outputs: int = 1, *, bias: bool = True, init_std: float = 0.01
    ) -> None:
        super().__init__()
        if in_features <= 0:
            raise ValueError(f"in_features must be > 0 (got {in_features})")
        if num_outputs <= 0:
            raise ValueError(f"num_outputs must be > 0 (got {num_outputs})")
        if init_std < 0:
            raise ValueError(f"init_std must be >= 0 (got {init_std})")
        self.in_features, self.num_outputs = in_features, num_outputs
        self.linear = nn.Linear(in_features, num_outputs, bias=bias)
        nn.init.normal_(self.linear.weight, std=init_std) if init_std > 0 else nn.init.zeros_(self.linear.weight)
        if bias:
            nn.init.zeros_(self.linear.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"expected input of shape (B, {self.in_features}), got {tuple(x.shape)}")
        return x

    def forward_head(self, x: Tensor) -> Tensor:
        out = self.linear(x)
        return out.squeeze(-1) if self.num_outputs == 1 else out

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> LinearClassifier:
    return LinearClassifier(**{**defaults, **overrides})


@register_model(
    paper=BARTLETT_2006,
    reference="sklearn.linear_model.SGDClassifier (coef_ + intercept_)",
    reference_params=65,
    input_size=(64,),
)
def linear(**kwargs: Any) -> LinearClassifier:
    """Binary linear classifier on the 64 pixels of scikit-learn's 8×8 digits."""
    return _build(dict(in_features=64, num_outputs=1), kwargs)


@register_model(
    paper=BARTLETT_2006, reference="sklearn.linear_model.SGDClassifier (coef_ + intercept_)", input_size=(8,)
)
def linear_tiny(**kwargs: Any) -> LinearClassifier:
    return _build(dict(in_features=8, num_outputs=1), kwargs)
