"""Margin losses against LossFunctions.jl (src/losses/margin.jl, src/traits.jl).

The reference below is a scalar, branch-by-branch transcription of LossFunctions.jl's definitions
of φ, φ' (``deriv``) and φ'' (``deriv2``) with Python floats: an independent implementation of the
vectorised torch code, compared on a grid of agreements that contains every kink.
"""

from __future__ import annotations

import math

import pytest
import torch

from paperzoo.losses.margin import MARGIN_LOSSES, MarginLoss, margin_loss


def ref(name: str, p: float | None = None):
    """(value, deriv, deriv2) of LossFunctions.jl's loss ``name`` as scalar Python functions."""
    if name == "ZeroOneLoss":
        return (lambda a: 1.0 if math.copysign(1, a) < 0 and a != 0 else 0.0), (lambda a: 0.0), (lambda a: 0.0)
    if name == "PerceptronLoss":
        return (lambda a: max(0.0, -a)), (lambda a: 0.0 if a >= 0 else -1.0), (lambda a: 0.0)
    if name == "L1HingeLoss":
        return (lambda a: max(0.0, 1 - a)), (lambda a: 0.0 if a >= 1 else -1.0), (lambda a: 0.0)
    if name == "L2HingeLoss":
        return (
            (lambda a: 0.0 if a >= 1 else (1 - a) ** 2),
            (lambda a: 0.0 if a >= 1 else 2 * (a - 1)),
            (lambda a: 0.0 if a >= 1 else 2.0),
        )
    if name == "SmoothedL1HingeLoss":
        g = p

        def value(a):
            return 0.5 / g * max(0.0, 1 - a) ** 2 if a >= 1 - g else 1 - g / 2 - a

        def deriv(a):
            if a >= 1 - g:
                return 0.0 if a >= 1 else (a - 1) / g
            return -1.0

        return value, deriv, (lambda a: 0.0 if a < 1 - g or a > 1 else 1 / g)
    if name == "ModifiedHuberLoss":

        def deriv(a):
            if a >= -1:
                return 0.0 if a > 1 else 2 * a - 2
            return -4.0

        return (
            (lambda a: max(0.0, 1 - a) ** 2 if a >= -1 else -4 * a),
            deriv,
            (lambda a: 0.0 if a < -1 or a > 1 else 2.0),
        )
    if name == "L2MarginLoss":
        return (lambda a: (1 - a) ** 2), (lambda a: 2 * (a - 1)), (lambda a: 2.0)
    if name == "ExpLoss":
        return (lambda a: math.exp(-a)), (lambda a: -math.exp(-a)), (lambda a: math.exp(-a))
    if name == "SigmoidLoss":
        return (
            (lambda a: 1 - math.tanh(a)),
            (lambda a: -((1 / math.cosh(a)) ** 2)),
            (lambda a: 2 * math.tanh(a) * (1 / math.cosh(a)) ** 2),
        )
    if name == "LogitMarginLoss":
        return (
            (lambda a: math.log1p(math.exp(-a))),
            (lambda a: -1 / (1 + math.exp(a))),
            (lambda a: math.exp(a) / (1 + math.exp(a)) ** 2),
        )
    if name == "DWDMarginLoss":
        q = p
        t = q / (q + 1)
        return (
            (lambda a: 1 - a if a <= t else (q**q / (q + 1) ** (q + 1)) / a**q),
            (lambda a: -1.0 if a <= t else -((q / (q + 1)) ** (q + 1)) / a ** (q + 1)),
            (lambda a: 0.0 if a <= t else (q ** (q + 1) / (q + 1) ** q) / a ** (q + 2)),
        )
    raise KeyError(name)


CASES = [(n, None) for n in MARGIN_LOSSES if n not in ("SmoothedL1HingeLoss", "DWDMarginLoss")]
CASES += [("SmoothedL1HingeLoss", g) for g in (0.5, 1.0, 2.0)]
CASES += [("DWDMarginLoss", q) for q in (0.5, 1.0, 2.0)]


def build(name: str, p: float | None) -> MarginLoss:
    kwargs = {"gamma": p} if name == "SmoothedL1HingeLoss" else {"q": p} if name == "DWDMarginLoss" else {}
    return margin_loss(name, **kwargs)


def grid() -> torch.Tensor:
    kinks = [-1.0, 0.0, 1.0, 0.5, -0.5, 1 / 3, 2 / 3, 1e-12, -1e-12, 1 - 1e-12]
    return torch.cat([torch.linspace(-3, 3, 241, dtype=torch.float64), torch.tensor(kinks, dtype=torch.float64)])


@pytest.mark.parametrize(("name", "p"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_value_and_derivatives_match_lossfunctions_jl(name: str, p: float | None) -> None:
    loss = build(name, p)
    value, deriv, deriv2 = ref(name, p)
    a = grid()
    expected = torch.tensor([[value(x), deriv(x), deriv2(x)] for x in a.tolist()], dtype=torch.float64)
    # the plain functions
    torch.testing.assert_close(loss.value(a), expected[:, 0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(loss.deriv(a), expected[:, 1], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(loss.deriv2(a), expected[:, 2], rtol=1e-12, atol=1e-12)
    # what autograd returns, including at the kinks, and through double backward
    x = a.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss.agreement_loss(x).sum(), x, create_graph=True)
    (g2,) = torch.autograd.grad(g.sum(), x)
    torch.testing.assert_close(g.detach(), expected[:, 1], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g2, expected[:, 2], rtol=1e-12, atol=1e-12)


def test_kinks_take_lossfunctions_jl_values_not_torch_subgradients() -> None:
    hinge = margin_loss("L1HingeLoss")
    a = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    # torch's own clamp passes the gradient through at the boundary ...
    (torch_grad,) = torch.autograd.grad(torch.clamp(1 - a, min=0).sum(), a)
    assert torch_grad.item() == -1.0
    # ... LossFunctions.jl's deriv(L1HingeLoss(), 1) is 0, and so is ours.
    (ours,) = torch.autograd.grad(hinge.agreement_loss(a).sum(), a)
    assert ours.item() == 0.0
    perceptron = margin_loss("PerceptronLoss")
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(perceptron.agreement_loss(b).sum(), b)
    assert g.item() == 0.0


@pytest.mark.parametrize(
    ("name", "p", "a", "value", "deriv"),
    [
        ("ModifiedHuberLoss", None, -2.0, 8.0, -4.0),
        ("ModifiedHuberLoss", None, -1.0, 4.0, -4.0),
        ("SmoothedL1HingeLoss", 2.0, 0.0, 0.25, -0.5),
        ("SmoothedL1HingeLoss", 2.0, -2.0, 2.0, -1.0),
        ("DWDMarginLoss", 1.0, 1.0, 0.25, -0.25),
        ("DWDMarginLoss", 1.0, 0.5, 0.5, -1.0),
        ("L2HingeLoss", None, 0.0, 1.0, -2.0),
        ("LogitMarginLoss", None, 0.0, math.log(2), -0.5),
        ("SigmoidLoss", None, 0.0, 1.0, -1.0),
        ("ZeroOneLoss", None, 0.0, 0.0, 0.0),
        ("ZeroOneLoss", None, -0.1, 1.0, 0.0),
    ],
)
def test_hand_computed_points(name: str, p: float | None, a: float, value: float, deriv: float) -> None:
    loss = build(name, p)
    t = torch.tensor([a], dtype=torch.float64)
    assert loss.value(t).item() == pytest.approx(value, abs=1e-12)
    assert loss.deriv(t).item() == pytest.approx(deriv, abs=1e-12)


def test_forward_uses_agreement_and_chain_rule() -> None:
    torch.manual_seed(0)
    out = torch.randn(50, dtype=torch.float64, requires_grad=True)
    y = torch.where(torch.rand(50) < 0.5, -1.0, 1.0).double()
    for name, p in CASES:
        loss = build(name, p)
        (g,) = torch.autograd.grad(loss(out, y), out)
        # d/dŷ mean φ(y·ŷ) = y φ'(y·ŷ) / N
        torch.testing.assert_close(g, y * loss.deriv(y * out.detach()) / 50)
    s = build("L1HingeLoss", None)
    s.reduction = "sum"
    assert s(out, y).item() == pytest.approx(torch.clamp(1 - y * out, min=0).sum().item())


# LossFunctions.jl's traits, read off margin.jl (explicit) and traits.jl (defaults and derived ones).
PROPS = {  # convex, strictly, strongly, differentiable, twice, lipschitz, clipable, class-calibrated
    "ZeroOneLoss": (0, 0, 0, 0, 0, 1, 1, 1),
    "PerceptronLoss": (1, 0, 0, 0, 0, 1, 1, 0),
    "L1HingeLoss": (1, 0, 0, 0, 0, 1, 1, 1),
    "SmoothedL1HingeLoss": (1, 0, 0, 1, 0, 1, 1, 1),
    "ModifiedHuberLoss": (1, 0, 0, 1, 0, 1, 1, 1),
    "DWDMarginLoss": (1, 0, 0, 1, 1, 1, 0, 1),
    "L2MarginLoss": (1, 1, 1, 1, 1, 0, 1, 1),
    "L2HingeLoss": (1, 0, 0, 1, 0, 0, 1, 1),
    "SigmoidLoss": (0, 0, 0, 1, 1, 1, 0, 1),
    "LogitMarginLoss": (1, 1, 0, 1, 1, 1, 0, 1),
    "ExpLoss": (1, 1, 0, 1, 1, 0, 0, 1),
}


@pytest.mark.parametrize("name", list(MARGIN_LOSSES))
def test_properties_match_lossfunctions_jl(name: str) -> None:
    loss = build(name, 1.0 if name in ("SmoothedL1HingeLoss", "DWDMarginLoss") else None)
    p = loss.properties()
    got = tuple(
        int(p[k])
        for k in (
            "convex",
            "strictly_convex",
            "strongly_convex",
            "differentiable",
            "twice_differentiable",
            "lipschitz_continuous",
            "clipable",
            "classification_calibrated",
        )
    )
    assert got == PROPS[name]
    assert p["locally_lipschitz_continuous"] == (p["convex"] or p["lipschitz_continuous"])


def test_pointwise_differentiability() -> None:
    assert not margin_loss("L1HingeLoss").is_differentiable_at(1.0)
    assert margin_loss("L1HingeLoss").is_differentiable_at(0.0)
    assert not margin_loss("L2HingeLoss").is_twice_differentiable_at(1.0)
    smooth = margin_loss("SmoothedL1HingeLoss", gamma=0.5)
    assert not smooth.is_twice_differentiable_at(0.5) and smooth.is_twice_differentiable_at(0.0)
    assert not margin_loss("ModifiedHuberLoss").is_twice_differentiable_at(-1.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_invalid_parameters_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="gamma > 0"):
        margin_loss("SmoothedL1HingeLoss", gamma=bad)
    with pytest.raises(ValueError, match="q > 0"):
        margin_loss("DWDMarginLoss", q=bad)


def test_invalid_targets_and_shapes_are_rejected() -> None:
    loss = margin_loss("L1HingeLoss")
    with pytest.raises(ValueError, match=r"targets in \{-1, \+1\}.*\[0\.0"):
        loss(torch.zeros(3), torch.tensor([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="same shape"):
        loss(torch.zeros(3), torch.ones(4))
    with pytest.raises(ValueError, match="unknown margin loss 'Hinge'"):
        margin_loss("Hinge")
    with pytest.raises(ValueError, match="reduction"):
        margin_loss("ExpLoss", reduction="avg")
