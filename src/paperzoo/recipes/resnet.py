"""ResNet's degradation experiment (He et al. 2015, §4.2, Fig. 6): deeper plain nets train worse; residual nets do not.

System: ResNet (:mod:`paperzoo.models.vision.resnet`). Claim checked on built-in data: with the same
data, optimiser and number of steps, a deep plain network (plain-56) ends with a *higher training
loss* than a shallower plain one (plain-20): optimisation, not over-fitting, gets harder with depth.
The residual net of the same depth (resnet-56) does not degrade: it trains at least as well as the
plain-56 and reaches a better test accuracy, which is the baseline it is judged against.

The recipe trains four networks that differ only in depth and shortcuts: resnet-56 (the run's
model), plain-56 (the baseline), and plain-20 and resnet-20 (in :meth:`finish`). The quick config
narrows every network to 8/16/32 channels and trains on scikit-learn's digits at 16×16 so that all
four train in about a minute; the full config is the paper's CIFAR-10 protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..engine.config import extend_config
from ..engine.trainer import evaluate_dataset
from ..models.vision.resnet import HE_2015
from ..registry import register_recipe
from ..report.plots import metric_series
from ._image import IMAGE_CONFIG, ImageRecipe, params_of, plot_curves
from .base import Experiment, Finish, PaperNumber

__all__ = ["ResNetDegradation"]

QUICK = extend_config(
    IMAGE_CONFIG,
    {
        "model": {"name": "resnet56", "kwargs": {"widths": [8, 16, 32], "stem_width": 8}},
        "data": {
            "name": "digits_images",
            "kwargs": {"image_size": 16},
            "image_size": 16,
            "train_transform": "none",
            "eval_transform": "none",
        },
        "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4},
        "schedule": {"name": "constant", "warmup_steps": 0},
        "train": {"steps": 150, "batch_size": 64, "eval_every": 75, "ckpt_every": 75, "log_every": 1},
        "compare": {"baseline": "plain56", "shallow_plain": "plain20", "shallow_residual": "resnet20"},
    },
)

# The paper's CIFAR-10 protocol (§4.2): 45k/5k train/val split, batch 128, SGD momentum 0.9, weight decay
# 1e-4, lr 0.1 divided by 10 at 32k and 48k iterations, stop at 64k; 4-pixel padding, 32×32 crops, flips.
FULL = extend_config(
    QUICK,
    {
        "model": {"name": "resnet56", "kwargs": {}},
        "data": {
            "name": "cifar10",
            "kwargs": {"val_fraction": 0.1},
            "image_size": 32,
            "train_transform": "cifar",
            "eval_transform": "cifar",
        },
        "optim": {"lr": 0.1, "weight_decay": 1e-4},
        "schedule": {"name": "multistep", "milestones": [32000, 48000], "gamma": 0.1},
        "train": {"steps": 64000, "batch_size": 128, "eval_every": 2000, "ckpt_every": 2000, "log_every": 50},
    },
)


class ResNetDegradation(ImageRecipe):
    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        if "baseline_acc" not in exp.info:
            kwargs = dict(config["model"]["kwargs"])
            model, metrics, losses = self.train_other(exp, config, config["compare"]["baseline"], kwargs)
            exp.info["baseline_acc"] = metrics["acc"]
            exp.info["others"] = {config["compare"]["baseline"]: (model, losses)}
        return exp.info["baseline_acc"]

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        self.baseline_value(exp, config)
        kwargs = dict(config["model"]["kwargs"])
        others = dict(exp.info["others"])
        for key in ("shallow_plain", "shallow_residual"):
            name = config["compare"][key]
            model, _, losses = self.train_other(exp, config, name, kwargs)
            others[name] = (model, losses)
        main = config["model"]["name"]
        curves = {main: metric_series(run_dir, "train", "loss")[1].tolist()} if run_dir is not None else {}
        rows, metrics = [], {}
        splits = exp.info["splits"]
        train_eval = splits.train.with_transform(splits.test.transform)
        nets = {main: exp.model, **{name: model for name, (model, _) in others.items()}}
        for name, model in nets.items():
            train_err = 1.0 - _accuracy(exp.task, model, train_eval)
            test_acc = _accuracy(exp.task, model, splits.test)
            metrics[f"train_error/{name}"] = train_err
            metrics[f"test_acc/{name}"] = test_acc
            rows.append([name, params_of(model), round(train_err, 4), round(test_acc, 4)])
            if name in others:
                curves[name] = others[name][1]
        deep_plain, shallow_plain = config["compare"]["baseline"], config["compare"]["shallow_plain"]
        metrics["degradation"] = metrics[f"train_error/{deep_plain}"] - metrics[f"train_error/{shallow_plain}"]
        if run_dir is not None and curves:
            plot_curves(curves, run_dir / "plots" / "degradation.png", title="training loss (He et al. 2015, Fig. 6)")
        table = {"columns": ["network", "params", "train error", "test acc"], "rows": rows}
        return Finish(metrics=metrics, tables={"plain vs residual (degradation)": table})


def _accuracy(task: Any, model: torch.nn.Module, dataset: Any, batch_size: int = 512) -> float:
    model.eval()
    device = next(model.parameters()).device
    return evaluate_dataset(task, model, dataset, batch_size=batch_size, device=device)["acc"]


register_recipe(
    ResNetDegradation(
        name="resnet_degradation",
        system="ResNet",
        paper=HE_2015,
        model="resnet56",
        metric="acc",
        higher_is_better=True,
        baseline="plain-56 (same layers, no shortcuts)",
        claim=(
            "plain-56 ends with a higher training error than plain-20 (degradation) while resnet-56 "
            "trains better than plain-56 and beats it on test accuracy"
        ),
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            value=0.9303,
            protocol="CIFAR-10 test accuracy of ResNet-56 (error 6.97%), 64k iterations, 45k/5k split",
            source="He et al. 2015, Table 6",
        ),
    )
)
