"""Registry sweep: every tiny model trains (forward, backward, gradient on every parameter); every full
variant's parameter count equals its reference implementation's, counted on the meta device."""

from __future__ import annotations

import pytest
import torch

import paperzoo
from paperzoo.engine.tasks import tensors_in
from paperzoo.registry import RegistryError, count_params, get_model_entry

TINY = paperzoo.list_models(tiny=True)
FULL = [n for n in paperzoo.list_models(tiny=False) if get_model_entry(n).reference_params is not None]


def test_every_family_has_a_tiny_variant() -> None:
    families = {get_model_entry(n).family for n in paperzoo.list_models()}
    tiny_families = {get_model_entry(n).family for n in TINY}
    assert families == tiny_families


@pytest.mark.parametrize("name", TINY)
def test_tiny_forward_backward(name: str) -> None:
    torch.manual_seed(0)
    entry = get_model_entry(name)
    model = paperzoo.create_model(name)
    x = entry.example_input(2)
    outputs = tensors_in(model(x))  # training mode: auxiliary heads' logits are included
    assert outputs and all(torch.isfinite(t).all() for t in outputs)
    sum(t.float().pow(2).sum() for t in outputs).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient for {missing}"
    with pytest.raises(ValueError, match="expected"):
        model(_grown(x))


def _grown(x):
    """The same input with every dimension one larger (a wrong shape for every model)."""
    if isinstance(x, torch.Tensor):
        return torch.zeros([s + 1 for s in x.shape], dtype=x.dtype)
    return type(x)(_grown(v) for v in x)


@pytest.mark.parametrize("name", FULL)
def test_full_variant_parameter_count_matches_reference(name: str) -> None:
    assert count_params(name) == get_model_entry(name).reference_params


def test_create_model_overrides_and_errors() -> None:
    assert paperzoo.create_model("linear", in_features=None).in_features == 64  # None keeps the default
    assert paperzoo.create_model("linear", num_outputs=3).num_outputs == 3
    with pytest.raises(RegistryError, match="did you mean linear"):
        paperzoo.create_model("linaer")
    with pytest.raises(ValueError, match="in_features must be > 0"):
        paperzoo.create_model("linear", in_features=0)
    assert paperzoo.list_models("lin*") == ["linear", "linear_tiny"]
    assert paperzoo.list_models("lin*", tiny=False) == ["linear"]


def test_generated_docs_are_up_to_date() -> None:
    from paperzoo.docs import main

    assert main(["--check"]) == 0, "run `make docs`"
