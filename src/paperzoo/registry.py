"""Registries of models, datasets and recipes.

Every model family registers its variants with :func:`register_model`; each entry records the paper
it implements, the reference implementation it is checked against and that reference's parameter
count, so that ``paperzoo info``, ``docs/models.md`` and the README table are generated from one
place. Datasets and recipes have their own registries with the same look-up rules.

Names are lower case; :func:`list_models` and friends accept fnmatch patterns (``"resnet*"``).
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "Paper",
    "ModelEntry",
    "DatasetEntry",
    "RegistryError",
    "register_model",
    "register_dataset",
    "register_recipe",
    "create_model",
    "count_params",
    "create_dataset",
    "get_model_entry",
    "get_dataset_entry",
    "get_recipe",
    "list_models",
    "list_datasets",
    "list_recipes",
]

F = TypeVar("F", bound=Callable[..., Any])


class RegistryError(KeyError):
    """An unknown name was looked up; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Paper:
    """Bibliographic record of the paper a model, dataset or recipe implements."""

    title: str
    authors: str
    year: int
    arxiv: str | None = None
    url: str | None = None

    def cite(self) -> str:
        ref = f"arXiv:{self.arxiv}" if self.arxiv else (self.url or "")
        return f"{self.authors} ({self.year}). {self.title}. {ref}".strip()


@dataclass(frozen=True)
class ModelEntry:
    """One registered model variant.

    Attributes:
        name: registered name, e.g. ``resnet50``.
        fn: factory; called with keyword overrides.
        family: the paper family (file) it belongs to, e.g. ``resnet``.
        domain: ``vision``, ``video``, ``graph``, ... (the models/ sub-package).
        paper: the paper implemented.
        reference: the reference implementation, e.g. ``torchvision.models.resnet50``.
        reference_params: the reference's parameter count for this variant, or None for tiny variants
            and variants with no reference.
        input_size: one example's input shape at the paper's resolution (no batch dimension),
            used for GFLOPs and benchmarks; None where the input is not a single tensor.
        tiny: a reduced variant for tests and quick runs.
        default_kwargs: the keyword arguments the variant passes to its class.
        example_input_fn: ``fn(batch_size, device)`` building a valid input batch, for models whose
            input is not a float tensor of ``input_size`` (item-id sequences, lists of video clips).
    """

    name: str
    fn: Callable[..., Any]
    family: str
    domain: str
    paper: Paper
    reference: str
    reference_params: int | None = None
    input_size: tuple[int, ...] | None = None
    tiny: bool = False
    default_kwargs: dict[str, Any] = field(default_factory=dict)
    example_input_fn: Callable[[int, Any], Any] | None = None

    def example_input(self, batch_size: int = 1, device: Any = "cpu") -> Any:
        """A random valid input batch: ``example_input_fn`` if given, else Gaussian noise of ``input_size``."""
        if self.example_input_fn is not None:
            return self.example_input_fn(batch_size, device)
        if self.input_size is None:
            raise ValueError(f"model {self.name!r} declares no input_size or example_input")
        import torch

        return torch.randn(batch_size, *self.input_size, device=device)


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    fn: Callable[..., Any]
    description: str
    builtin: bool
    file_format: str | None = None


_MODELS: dict[str, ModelEntry] = {}
_DATASETS: dict[str, DatasetEntry] = {}
_RECIPES: dict[str, Any] = {}


def _check_new(table: dict[str, Any], kind: str, name: str) -> None:
    if name != name.lower():
        raise ValueError(f"{kind} names are lower case (got {name!r})")
    if name in table:
        raise ValueError(f"{kind} {name!r} is registered twice")


def _unknown(kind: str, name: str, table: dict[str, Any]) -> RegistryError:
    import difflib

    close = difflib.get_close_matches(name, list(table), n=5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; `paperzoo list` shows all {len(table)}"
    return RegistryError(f"unknown {kind} {name!r}{hint}")


def register_model(
    *,
    paper: Paper,
    reference: str,
    reference_params: int | None = None,
    input_size: tuple[int, ...] | None = None,
    family: str | None = None,
    name: str | None = None,
    default_kwargs: dict[str, Any] | None = None,
    example_input: Callable[[int, Any], Any] | None = None,
) -> Callable[[F], F]:
    """Register a model variant factory under its function name (or ``name``).

    The domain and family are taken from the defining module (``paperzoo.models.<domain>.<family>``)
    unless given. Variants whose name ends in ``_tiny`` are marked tiny.
    """

    def decorator(fn: F) -> F:
        key = name or fn.__name__
        _check_new(_MODELS, "model", key)
        parts = fn.__module__.split(".")
        domain = parts[2] if len(parts) > 3 and parts[1] == "models" else "misc"
        _MODELS[key] = ModelEntry(
            name=key,
            fn=fn,
            family=family or parts[-1],
            domain=domain,
            paper=paper,
            reference=reference,
            reference_params=reference_params,
            input_size=input_size,
            tiny=key.endswith("_tiny"),
            default_kwargs=dict(default_kwargs or {}),
            example_input_fn=example_input,
        )
        return fn

    return decorator


def register_dataset(*, description: str, builtin: bool, file_format: str | None = None, name: str | None = None):
    """Register a dataset factory. Built-in datasets need no files; others read ``path``."""

    def decorator(fn: F) -> F:
        key = name or fn.__name__
        _check_new(_DATASETS, "dataset", key)
        _DATASETS[key] = DatasetEntry(key, fn, description, builtin, file_format)
        return fn

    return decorator


def register_recipe(recipe: Any) -> Any:
    """Register a :class:`paperzoo.recipes.Recipe` instance (returns it, so it can be assigned)."""
    _check_new(_RECIPES, "recipe", recipe.name)
    _RECIPES[recipe.name] = recipe
    return recipe


def _ensure_loaded() -> None:
    # Importing the sub-packages runs the decorators; done lazily so `import paperzoo` stays cheap.
    import paperzoo.data  # noqa: F401
    import paperzoo.models  # noqa: F401
    import paperzoo.recipes  # noqa: F401


def get_model_entry(name: str) -> ModelEntry:
    _ensure_loaded()
    if name not in _MODELS:
        raise _unknown("model", name, _MODELS)
    return _MODELS[name]


def get_dataset_entry(name: str) -> DatasetEntry:
    _ensure_loaded()
    if name not in _DATASETS:
        raise _unknown("dataset", name, _DATASETS)
    return _DATASETS[name]


def get_recipe(name: str) -> Any:
    _ensure_loaded()
    if name not in _RECIPES:
        raise _unknown("recipe", name, _RECIPES)
    return _RECIPES[name]


def _filter(names: list[str], pattern: str | None) -> list[str]:
    if not pattern:
        return sorted(names)
    return sorted(n for n in names if fnmatch.fnmatch(n, pattern.lower()))


def list_models(pattern: str | None = None, *, tiny: bool | None = None) -> list[str]:
    """Registered model names matching an fnmatch ``pattern``; ``tiny`` filters tiny/full variants."""
    _ensure_loaded()
    names = [n for n, e in _MODELS.items() if tiny is None or e.tiny == tiny]
    return _filter(names, pattern)


def list_datasets(pattern: str | None = None) -> list[str]:
    _ensure_loaded()
    return _filter(list(_DATASETS), pattern)


def list_recipes(pattern: str | None = None) -> list[str]:
    _ensure_loaded()
    return _filter(list(_RECIPES), pattern)


def create_model(name: str, **overrides: Any) -> Any:
    """Build a registered model. ``None`` overrides are dropped so CLI flags can default to None.

    Raises:
        RegistryError: unknown name.
        ValueError: an override the model does not accept (the message lists the accepted ones).
    """
    entry = get_model_entry(name)
    kwargs = {k: v for k, v in overrides.items() if v is not None}
    sig = inspect.signature(entry.fn)
    if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        bad = sorted(set(kwargs) - set(sig.parameters))
        if bad:
            raise ValueError(f"model {name!r} does not accept {bad}; allowed: {sorted(sig.parameters)}")
    return entry.fn(**kwargs)


def count_params(name: str) -> int:
    """Parameter count of a registered model's default variant, built on the ``meta`` device (no memory used)."""
    import torch

    with torch.device("meta"):
        model = create_model(name)
    return sum(p.numel() for p in model.parameters())


def create_dataset(name: str, **kwargs: Any) -> Any:
    """Build a registered dataset (``None`` keyword arguments keep the defaults)."""
    entry = get_dataset_entry(name)
    return entry.fn(**{k: v for k, v in kwargs.items() if v is not None})
