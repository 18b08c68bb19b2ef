"""Margin-based classification losses, exactly as JuliaML's LossFunctions.jl defines them.

Reference: LossFunctions.jl (JuliaML), ``src/losses/margin.jl`` and ``src/traits.jl``; the theory of
classification calibration is Bartlett, Jordan & McAuliffe, "Convexity, Classification, and Risk
Bounds", JASA 2006. A margin loss with targets y ∈ {-1, +1} and output ŷ = f(x) depends only on the
agreement ``a = y·ŷ``: L(y, ŷ) = φ(y·ŷ).

For every loss this module gives φ (:meth:`MarginLoss.value`), φ' (:meth:`MarginLoss.deriv`) and φ''
(:meth:`MarginLoss.deriv2`), each with LossFunctions.jl's choice at the kinks (for example the hinge's
φ'(1) = 0, the perceptron's φ'(0) = 0), and autograd returns exactly those: the loss and its
derivative are custom autograd functions whose backward passes call ``deriv`` and ``deriv2``, so
first and second derivatives through ``torch.autograd`` agree with LossFunctions.jl at every point.
The properties each loss has (convex, Lipschitz, classification-calibrated, ...) are class
attributes with LossFunctions.jl's values; two of them are mathematically questionable and are
recorded in docs/errata.md (ZeroOneLoss is marked Lipschitz; DWDMarginLoss twice differentiable).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ._common import check_reduction, reduce

__all__ = [
    "MarginLoss",
    "ZeroOneLoss",
    "PerceptronLoss",
    "L1HingeLoss",
    "SmoothedL1HingeLoss",
    "ModifiedHuberLoss",
    "DWDMarginLoss",
    "L2MarginLoss",
    "L2HingeLoss",
    "SigmoidLoss",
    "LogitMarginLoss",
    "ExpLoss",
    "MARGIN_LOSSES",
    "margin_loss",
    "check_margin_targets",
]


def check_margin_targets(target: Tensor) -> None:
    """Raise ``ValueError`` unless every target is -1 or +1."""
    bad = (target != 1) & (target != -1)
    if bool(bad.any()):
        values = torch.unique(target[bad])[:5].tolist()
        raise ValueError(f"margin losses expect targets in {{-1, +1}} (got {values})")


class _Deriv(torch.autograd.Function):
    """φ'(a) whose own derivative is the loss's φ''(a), so double backward is exact too."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, loss: MarginLoss) -> Tensor:
        ctx.save_for_backward(a)
        ctx.loss = loss
        return loss.deriv(a)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (a,) = ctx.saved_tensors
        return grad * ctx.loss.deriv2(a), None


class _Value(torch.autograd.Function):
    """φ(a) with backward φ'(a) (LossFunctions.jl's ``deriv``, not torch's subgradient choice)."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, loss: MarginLoss) -> Tensor:
        ctx.save_for_backward(a)
        ctx.loss = loss
        return loss.value(a)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (a,) = ctx.saved_tensors
        return grad * _Deriv.apply(a, ctx.loss), None


class MarginLoss(nn.Module):
    """Base class: φ, φ', φ'' of the agreement, the properties, and ``forward(output, target)``.

    ``forward`` takes raw scores ŷ and targets in {-1, +1} of the same shape and returns the loss
    reduced by ``reduction`` (``"mean"``, ``"sum"`` or ``"none"``). :meth:`agreement_loss` takes the
    agreement directly.
    """

    # Properties, with LossFunctions.jl's values (its defaults: not convex, not Lipschitz, not clipable).
    convex: ClassVar[bool] = False
    strictly_convex: ClassVar[bool] = False
    strongly_convex: ClassVar[bool] = False
    differentiable: ClassVar[bool] = False
    twice_differentiable: ClassVar[bool] = False
    lipschitz_continuous: ClassVar[bool] = False
    clipable: ClassVar[bool] = False
    fisher_consistent: ClassVar[bool] = False
    #: kink locations (points where φ is not differentiable / not twice differentiable)
    kinks: ClassVar[tuple[float, ...]] = ()
    kinks2: ClassVar[tuple[float, ...]] = ()

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    # --- the three functions of the agreement ------------------------------------------------
    def value(self, a: Tensor) -> Tensor:
        raise NotImplementedError

    def deriv(self, a: Tensor) -> Tensor:
        raise NotImplementedError

    def deriv2(self, a: Tensor) -> Tensor:
        raise NotImplementedError

    # --- derived properties (traits.jl) ------------------------------------------------------
    @property
    def locally_lipschitz_continuous(self) -> bool:
        return self.convex or self.lipschitz_continuous

    @property
    def nemitski(self) -> bool:
        return True  # every margin loss is a Nemitski loss in LossFunctions.jl

    @property
    def minimizable(self) -> bool:
        return self.convex

    def is_differentiable_at(self, a: float) -> bool:
        return a not in self.kinks

    def is_twice_differentiable_at(self, a: float) -> bool:
        return a not in self.kinks and a not in self.kinks2

    @property
    def classification_calibrated(self) -> bool:
        # traits.jl: convex, differentiable at 0 and φ'(0) < 0.
        return (
            self.convex
            and self.is_differentiable_at(0.0)
            and float(self.deriv(torch.zeros((), dtype=torch.float64))) < 0
        )

    def properties(self) -> dict[str, bool]:
        names = (
            "convex",
            "strictly_convex",
            "strongly_convex",
            "differentiable",
            "twice_differentiable",
            "lipschitz_continuous",
            "locally_lipschitz_continuous",
            "clipable",
            "classification_calibrated",
            "fisher_consistent",
            "minimizable",
        )
        return {n: bool(getattr(self, n)) for n in names}

    # --- autograd-aware evaluation ----------------------------------------------------------
    def agreement_loss(self, a: Tensor) -> Tensor:
        """φ(a) elementwise, differentiable with LossFunctions.jl's φ' and φ''."""
        return _Value.apply(a, self)

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        if output.shape != target.shape:
            raise ValueError(
                f"output and target must have the same shape (got {tuple(output.shape)} and {tuple(target.shape)})"
            )
        check_margin_targets(target)
        return reduce(self.agreement_loss(target.to(output.dtype) * output), self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class ZeroOneLoss(MarginLoss):
    """φ(a) = 1 if a < 0 else 0. Not convex, not continuous; φ' = φ'' = 0 everywhere."""

    lipschitz_continuous = True  # as LossFunctions.jl says (see docs/errata.md)
    clipable = True
    kinks = (0.0,)

    @property
    def classification_calibrated(self) -> bool:
        return True

    @property
    def minimizable(self) -> bool:
        return True

    def value(self, a: Tensor) -> Tensor:
        return (a < 0).to(a.dtype)

    def deriv(self, a: Tensor) -> Tensor:
        return torch.zeros_like(a)

    def deriv2(self, a: Tensor) -> Tensor:
        return torch.zeros_like(a)


class PerceptronLoss(MarginLoss):
    """φ(a) = max(0, −a); φ'(a) = 0 for a ≥ 0 else −1."""

    convex = lipschitz_continuous = clipable = True
    kinks = (0.0,)

    def value(self, a: Tensor) -> Tensor:
        return torch.clamp(-a, min=0)

    def deriv(self, a: Tensor) -> Tensor:
        return torch.where(a >= 0, 0.0, -1.0).to(a.dtype)

    def deriv2(self, a: Tensor) -> Tensor:
        return torch.zeros_like(a)


class L1HingeLoss(MarginLoss):
    """The SVM hinge φ(a) = max(0, 1 − a); φ'(a) = 0 for a ≥ 1 else −1."""

    convex = lipschitz_continuous = clipable = fisher_consistent = True
    kinks = (1.0,)

    def value(self, a: Tensor) -> Tensor:
        return torch.clamp(1 - a, min=0)

    def deriv(self, a: Tensor) -> Tensor:
        return torch.where(a >= 1, 0.0, -1.0).to(a.dtype)

    def deriv2(self, a: Tensor) -> Tensor:
        return torch.zeros_like(a)


class L2HingeLoss(MarginLoss):
    """Truncated least squares φ(a) = max(0, 1 − a)²."""

    convex = differentiable = clipable = fisher_consistent = True
    kinks2 = (1.0,)

    def value(self, a: Tensor) -> Tensor:
        return torch.where(a >= 1, 0.0, (1 - a) ** 2).to(a.dtype)

    def deriv(self, a: Tensor) -> Tensor:
        return torch.where(a >= 1, 0.0, 2 * (a - 1)).to(a.dtype)

    def deriv2(self, a: Tensor) -> Tensor:
        return torch.where(a >= 1, 0.0, 2.0).to(a.dtype)


class SmoothedL1HingeLoss(MarginLoss):
    """φ(a) = ½/γ · max(0, 1 − a)² for a ≥ 1 − γ, else 1 − γ/2 − a.

    Args:
        gamma: width γ > 0 of the quadratic part.
    """

    convex = differentiable = lipschitz_continuous = clipable = True

    def __init__(self, gamma: float, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        if not gamma > 0:
            raise ValueError(f"SmoothedL1HingeLoss needs gamma > 0 (got {gamma})")
        self.gamma = float(gamma)

    @property
    def kinks2(self) -> tuple[float, ...]:  # type: ignore[override]
        return (1.0, 1.0 - self.gamma)

    def value(self, a: Tensor) -> Tensor:
        g = self.gamma
        quad = 0.5 / g * torch.clamp(1 - a, min=0) ** 2
        return torch.where(a >= 1 - g, quad, 1 - g / 2 - a)

    def deriv(self, a: Tensor) -> Tensor:
        g = self.gamma
        inner = torch.where(a >= 1, torch.zeros_like(a), (a - 1) / g)
        return torch.where(a >= 1 - g, inner, torch.full_like(a, -1.0))

    def deriv2(self, a: Tensor) -> Tensor:
        g = self.gamma
        return torch.where((a < 1 - g) | (a > 1), 0.0, 1.0 / g).to(a.dtype)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, " + super().extra_repr()


class ModifiedHuberLoss(MarginLoss):
    """φ(a) = max(0, 1 − a)² for a ≥ −1, else −4a (4× SmoothedL1Hinge with γ = 2)."""

    convex = differentiable = lipschitz_continuous = clipable = True
    kinks2 = (1.0, -1.0)

    def value(self, a: Tensor) -> Tensor:
        return torch.where(a >= -1, torch.clamp(1 - a, min=0) ** 2, -4 * a)

    def deriv(self, a: Tensor) -> Tensor:
        inner = torch.where(a > 1, torch.zeros_like(a), 2 * a - 2)
        return torch.where(a >= -1, inner, torch.full_like(a, -4.0))

    def deriv2(self, a: Tensor) -> Tensor:
        return torch.where((a < -1) | (a > 1), 0.0, 2.0).to(a.dtype)


class L2MarginLoss(MarginLoss):
    """Least squares on the margin φ(a) = (1 − a)²; the only strongly convex member."""

    convex = strictly_convex = strongly_convex = differentiable = twice_differentiable = True
    clipable = fisher_consistent = True

    def value(self, a: Tensor) -> Tensor:
        return (1 - a) ** 2

    def deriv(self, a: Tensor) -> Tensor:
        return 2 * (a - 1)

    def deriv2(self, a: Tensor) -> Tensor:
        return torch.full_like(a, 2.0)


class ExpLoss(MarginLoss):
    """AdaBoost's exponential loss φ(a) = exp(−a)."""

    convex = strictly_convex = differentiable = twice_differentiable = fisher_consistent = True

    def value(self, a: Tensor) -> Tensor:
        return torch.exp(-a)

    def deriv(self, a: Tensor) -> Tensor:
        return -torch.exp(-a)

    def deriv2(self, a: Tensor) -> Tensor:
        return torch.exp(-a)


class SigmoidLoss(MarginLoss):
    """φ(a) = 1 − tanh(a): bounded in (0, 2), smooth, Lipschitz, not convex."""

    differentiable = twice_differentiable = lipschitz_continuous = fisher_consistent = True

    @property
    def classification_calibrated(self) -> bool:
        return True  # set explicitly in LossFunctions.jl although the loss is not convex

    def value(self, a: Tensor) -> Tensor:
        return 1 - torch.tanh(a)

    def deriv(self, a: Tensor) -> Tensor:
        return -((1 / torch.cosh(a)) ** 2)

    def deriv2(self, a: Tensor) -> Tensor:
        return 2 * torch.tanh(a) * (1 / torch.cosh(a)) ** 2


class LogitMarginLoss(MarginLoss):
    """Logistic loss φ(a) = ln(1 + e^{−a}), computed stably as softplus(−a)."""

    convex = strictly_convex = differentiable = twice_differentiable = lipschitz_continuous = True
    fisher_consistent = True

    def value(self, a: Tensor) -> Tensor:
        return nn.functional.softplus(-a)

    def deriv(self, a: Tensor) -> Tensor:
        return -torch.sigmoid(-a)  # = −1 / (1 + e^{a})

    def deriv2(self, a: Tensor) -> Tensor:
        return torch.sigmoid(a) * torch.sigmoid(-a)  # = e^{a} / (1 + e^{a})²


class DWDMarginLoss(MarginLoss):
    """Distance-weighted discrimination: φ(a) = 1 − a for a ≤ q/(q+1), else q^q / (q+1)^{q+1} / a^q.

    Args:
        q: exponent q > 0.
    """

    convex = differentiable = twice_differentiable = lipschitz_continuous = fisher_consistent = True

    def __init__(self, q: float, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        if not q > 0:
            raise ValueError(f"DWDMarginLoss needs q > 0 (got {q})")
        self.q = float(q)

    def _split(self, a: Tensor) -> tuple[Tensor, Tensor]:
        threshold = self.q / (self.q + 1)
        # Evaluate the power branch only where it is used (a^q of a negative a is NaN for fractional q).
        return a <= threshold, torch.clamp(a, min=threshold)

    def value(self, a: Tensor) -> Tensor:
        q = self.q
        linear, safe = self._split(a)
        return torch.where(linear, 1 - a, (q**q / (q + 1) ** (q + 1)) / safe**q)

    def deriv(self, a: Tensor) -> Tensor:
        q = self.q
        linear, safe = self._split(a)
        return torch.where(linear, torch.full_like(a, -1.0), -((q / (q + 1)) ** (q + 1)) / safe ** (q + 1))

    def deriv2(self, a: Tensor) -> Tensor:
        q = self.q
        linear, safe = self._split(a)
        return torch.where(linear, torch.zeros_like(a), (q ** (q + 1) / (q + 1) ** q) / safe ** (q + 2))

    def extra_repr(self) -> str:
        return f"q={self.q}, " + super().extra_repr()


#: name → class, in LossFunctions.jl's documentation order.
MARGIN_LOSSES: dict[str, type[MarginLoss]] = {
    cls.__name__: cls
    for cls in (
        ZeroOneLoss,
        PerceptronLoss,
        L1HingeLoss,
        SmoothedL1HingeLoss,
        ModifiedHuberLoss,
        DWDMarginLoss,
        L2MarginLoss,
        L2HingeLoss,
        SigmoidLoss,
        LogitMarginLoss,
        ExpLoss,
    )
}


def margin_loss(name: str, **kwargs: float) -> MarginLoss:
    """Build a margin loss by its LossFunctions.jl name, e.g. ``margin_loss("SmoothedL1HingeLoss", gamma=2)``."""
    if name not in MARGIN_LOSSES:
        raise ValueError(f"unknown margin loss {name!r}; choose from {', '.join(MARGIN_LOSSES)}")
    return MARGIN_LOSSES[name](**kwargs)
