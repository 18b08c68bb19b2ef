"""The recipe contract: one paper's experiment as model + data + task + metric + configs + claim.

A :class:`Recipe` names the metric it is judged by, the baseline the paper's claim is measured
against, and the paper's own number (with its protocol). Its ``quick`` config runs on built-in data
in about a minute on two CPU cores; its ``full`` config holds the paper's data and hyperparameters.
The ``quick`` config is also the schema: every key a user may set appears there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import Dataset

from ..engine.tasks import Task
from ..registry import Paper

__all__ = ["Recipe", "Experiment", "PaperNumber", "Finish", "BASE_CONFIG"]

#: Sections every recipe config has; recipes extend them with their own keys.
BASE_CONFIG: dict[str, Any] = {
    "recipe": "",  # filled in with the recipe's name when a run starts
    "seed": 0,
    "model": {"name": "", "kwargs": {}},
    "data": {"name": "", "path": None},
    "optim": {
        "name": "sgd",
        "lr": 0.1,
        "momentum": 0.9,
        "nesterov": False,
        "weight_decay": 0.0,
        "betas": [0.9, 0.999],
        "eps": 1e-8,
    },
    "schedule": {
        "name": "constant",
        "warmup_steps": 0,
        "step_size": 0,
        "milestones": [],
        "gamma": 0.1,
        "min_lr_ratio": 0.0,
    },
    "train": {
        "steps": 100,
        "batch_size": 64,
        "eval_batch_size": 512,
        "accumulate": 1,
        "grad_clip": 0.0,
        "ema_decay": 0.0,
        "amp": False,
        "eval_every": 50,
        "ckpt_every": 50,
        "log_every": 10,
        "num_workers": 0,
        "tensorboard": True,
    },
    "task": {},
}


@dataclass(frozen=True)
class PaperNumber:
    """The paper's reported value of the recipe's metric, and the protocol it was measured under."""

    value: float | None
    protocol: str
    source: str


@dataclass
class Experiment:
    """What a recipe's ``setup`` builds for the trainer."""

    model: nn.Module
    task: Task
    train_set: Dataset
    val_set: Dataset | None
    test_set: Dataset | None
    collate_fn: Any = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finish:
    """What a recipe adds to the run summary once training ends."""

    metrics: dict[str, float] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Recipe:
    """One paper's experiment. Subclasses implement :meth:`setup`, :meth:`baseline` and may extend :meth:`finish`.

    Attributes:
        name: registered name (``paperzoo train NAME``).
        system: the README row it reproduces (e.g. "margin-based losses").
        paper: the paper.
        model: registered model name the recipe trains (for the summary and ``info``).
        metric: the test metric the recipe is judged by (also selects ``best.ckpt`` on validation).
        higher_is_better: the metric's direction.
        baseline: name of the baseline the claim is measured against.
        paper_number: the paper's number for ``metric`` and its protocol (None if the paper has none).
        claim: one sentence: what the quick run must show.
        configs: ``{"quick": {...}, "full": {...}}`` nested config dicts.
    """

    name: str
    system: str
    paper: Paper
    model: str
    metric: str
    higher_is_better: bool
    baseline: str
    claim: str
    configs: dict[str, dict[str, Any]]
    paper_number: PaperNumber | None = None

    def setup(self, config: dict[str, Any]) -> Experiment:
        raise NotImplementedError

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        """The baseline's value of ``metric`` on the test split."""
        raise NotImplementedError

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        """Extra metrics, tables and plots (written to ``run_dir / "plots"``) after training."""
        return Finish()

    def example_input(self, exp: Experiment) -> Any:
        """A small input batch for export and benchmarks (the first two test items by default)."""
        from ..engine.trainer import eval_batches

        dataset = exp.test_set if exp.test_set is not None else exp.train_set
        batch = next(iter(eval_batches(dataset, 2, collate_fn=exp.collate_fn)))
        return batch[0] if isinstance(batch, (list, tuple)) else batch
