"""Margin-based losses on a binary digits task: every LossFunctions.jl margin loss trains a linear classifier.

System: the margin-based loss family (:mod:`paperzoo.losses.margin`). Claim checked on built-in data:
every surrogate loss with a non-zero derivative trains a linear classifier on scikit-learn's digits
(even vs odd) that beats the majority-class baseline on the held-out test split. ZeroOneLoss is
trained alongside for reference: its derivative is zero almost everywhere, so gradient descent leaves
it at its random initialisation, which is the reason surrogates exist.

The eleven classifiers are the eleven columns of one linear layer trained on the sum of their
losses; because the sum decouples and Adam's update is per parameter, each column follows exactly
the trajectory it would follow alone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..data.tabular import BinarySplits, digits_binary, svmlight_binary
from ..engine.config import merge_config
from ..engine.tasks import StepOutput, Task
from ..losses.margin import MARGIN_LOSSES, MarginLoss, ZeroOneLoss, check_margin_targets
from ..metrics.classification import binary_accuracy, majority_class_accuracy
from ..registry import Paper, create_model, register_recipe
from .base import BASE_CONFIG, Experiment, Finish, Recipe

__all__ = ["MarginBankTask", "MarginDigits", "build_losses"]

LOSSFUNCTIONS_JL = Paper(
    title="LossFunctions.jl: margin-based losses (with the theory of Convexity, Classification, and Risk Bounds)",
    authors="JuliaML contributors; Bartlett, Jordan & McAuliffe (2006)",
    year=2006,
    url="https://github.com/JuliaML/LossFunctions.jl",
)

#: the parameterised losses' settings, as in LossFunctions.jl's documentation plots
PARAMS = {"SmoothedL1HingeLoss": "gamma", "DWDMarginLoss": "q"}


def build_losses(names: Iterable[str], *, gamma: float, q: float) -> list[MarginLoss]:
    losses = []
    for name in names:
        if name not in MARGIN_LOSSES:
            raise ValueError(f"task.losses: unknown margin loss {name!r}; choose from {', '.join(MARGIN_LOSSES)}")
        kwargs = {"gamma": gamma} if name == "SmoothedL1HingeLoss" else {"q": q} if name == "DWDMarginLoss" else {}
        losses.append(MARGIN_LOSSES[name](**kwargs))
    return losses


class MarginBankTask(Task):
    """K margin losses, one per output column of the model; metrics per loss.

    training loss = Σ_k mean_i φ_k(y_i · f_k(x_i)); the columns share no parameters, so each one is an
    independent classifier trained with its own loss.
    """

    def __init__(self, losses: list[MarginLoss]) -> None:
        if not losses:
            raise ValueError("MarginBankTask needs at least one loss")
        self.losses = losses
        self.names = [type(loss).__name__ for loss in losses]
        # The losses whose derivative is not identically zero: the ones gradient descent can train.
        self.trainable = [i for i, loss in enumerate(losses) if not isinstance(loss, ZeroOneLoss)]

    def _scores(self, model: nn.Module, x: Tensor) -> Tensor:
        scores = model(x)
        scores = scores[:, None] if scores.dim() == 1 else scores
        if scores.shape[1] != len(self.losses):
            raise ValueError(
                f"the model gives {scores.shape[1]} scores per input; the task has {len(self.losses)} "
                "losses (set model.kwargs.num_outputs)"
            )
        return scores  # (B, K)

    def per_loss(self, scores: Tensor, y: Tensor) -> Tensor:
        """Mean loss of each column: (K,)."""
        check_margin_targets(y)
        agreement = y[:, None].to(scores.dtype) * scores  # (B, K)
        return torch.stack([loss.agreement_loss(agreement[:, k]).mean() for k, loss in enumerate(self.losses)])

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        x, y = batch
        scores = self._scores(model, x)
        per_loss = self.per_loss(scores, y)
        acc = binary_accuracy(scores.detach(), y)
        return StepOutput(per_loss.sum(), {"acc_mean": acc.mean().item()})

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        scores, ys = [], []
        for x, y in batches:
            scores.append(self._scores(model, x))
            ys.append(y)
        s, y = torch.cat(scores), torch.cat(ys)
        acc = binary_accuracy(s, y)
        per_loss = self.per_loss(s, y)
        out = {f"acc/{n}": acc[k].item() for k, n in enumerate(self.names)}
        out.update({f"loss/{n}": per_loss[k].item() for k, n in enumerate(self.names)})
        out["acc_mean"] = acc[self.trainable].mean().item() if self.trainable else float("nan")
        out["acc_worst_surrogate"] = acc[self.trainable].min().item() if self.trainable else float("nan")
        return out


QUICK = merge_config(BASE_CONFIG, {})
QUICK.update(
    model={"name": "linear", "kwargs": {}},
    data={
        "name": "digits_binary",
        "path": None,
        "positive_digits": [0, 2, 4, 6, 8],
        "val_fraction": 0.15,
        "test_fraction": 0.25,
        "standardize": True,
    },
    optim={**BASE_CONFIG["optim"], "name": "adam", "lr": 0.01},
    train={
        **BASE_CONFIG["train"],
        "steps": 600,
        "batch_size": 64,
        "eval_every": 100,
        "ckpt_every": 100,
        "log_every": 10,
    },
    task={"losses": list(MARGIN_LOSSES), "gamma": 2.0, "q": 1.0},
)
FULL = copy.deepcopy(QUICK)
FULL["train"].update(steps=5000, eval_every=250, ckpt_every=250)
FULL["schedule"].update(name="cosine", warmup_steps=100)


class MarginDigits(Recipe):
    def _data(self, config: dict[str, Any]) -> BinarySplits:
        d = config["data"]
        common = dict(
            seed=config["seed"],
            val_fraction=d["val_fraction"],
            test_fraction=d["test_fraction"],
            standardize=d["standardize"],
        )
        if d.get("path"):
            return svmlight_binary(path=d["path"], **common)
        return digits_binary(positive_digits=tuple(d["positive_digits"]), **common)

    def setup(self, config: dict[str, Any]) -> Experiment:
        splits = self._data(config)
        t = config["task"]
        losses = build_losses(t["losses"], gamma=t["gamma"], q=t["q"])
        model = create_model(
            config["model"]["name"],
            in_features=splits.num_features,
            num_outputs=len(losses),
            **config["model"]["kwargs"],
        )
        return Experiment(
            model=model,
            task=MarginBankTask(losses),
            train_set=splits.train,
            val_set=splits.val,
            test_set=splits.test,
            info={"data": splits.source},
        )

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        return majority_class_accuracy(exp.train_set.tensors[1], exp.test_set.tensors[1])

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        task: MarginBankTask = exp.task  # type: ignore[assignment]
        rows = []
        for loss, name in zip(task.losses, task.names):
            p = loss.properties()
            rows.append(
                [
                    name,
                    round(test_metrics[f"acc/{name}"], 4),
                    p["convex"],
                    p["differentiable"],
                    p["lipschitz_continuous"],
                    p["classification_calibrated"],
                ]
            )
        if run_dir is not None:
            plot_losses(task.losses, run_dir / "plots" / "losses.png")
            plot_accuracy(
                task.names,
                [r[1] for r in rows],
                self.baseline_value(exp, config),
                run_dir / "plots" / "test_accuracy.png",
            )
        table = {
            "columns": ["loss", "test acc", "convex", "differentiable", "Lipschitz", "class-calibrated"],
            "rows": rows,
        }
        return Finish(tables={"test accuracy per margin loss": table})


def plot_losses(losses: list[MarginLoss], path: Path) -> Path:
    """φ(a) and φ'(a) of every loss on a ∈ [−2, 2], one panel each, like LossFunctions.jl's docs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = torch.linspace(-2, 2, 801, dtype=torch.float64)
    cols = 4
    rows = -(-len(losses) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, loss in zip(axes.flat, losses):
        ax.plot(a, loss.value(a), label="φ(a)", color="tab:blue")
        ax.plot(a, loss.deriv(a), label="φ'(a)", color="tab:orange", linestyle="--")
        ax.axhline(0, color="0.7", linewidth=0.6)
        ax.axvline(0, color="0.7", linewidth=0.6)
        ax.set_title(type(loss).__name__, fontsize=9)
        ax.set_ylim(-4.5, 5)
        ax.set_xlabel("agreement a = y·ŷ", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(losses) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_accuracy(names: list[str], accs: list[float], baseline: float, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.barh(names, accs, color="tab:blue")
    ax.axvline(baseline, color="tab:red", linestyle="--", label=f"majority class ({baseline:.3f})")
    ax.set_xlim(0, 1)
    ax.set_xlabel("test accuracy")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


margin_digits = register_recipe(
    MarginDigits(
        name="margin_digits",
        system="margin-based losses",
        paper=LOSSFUNCTIONS_JL,
        model="linear",
        metric="acc_worst_surrogate",
        higher_is_better=True,
        baseline="majority class",
        claim="every margin loss with a non-zero derivative trains a linear classifier that beats the majority class",
        configs={"quick": QUICK, "full": FULL},
        paper_number=None,
    )
)
