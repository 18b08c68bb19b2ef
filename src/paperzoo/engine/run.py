"""Run a recipe end to end: resolve the config, make the run folder, train, test, summarise, report.

The run folder (DESIGN.md) holds ``config.yaml``, ``command.txt``, ``metrics.csv``, ``summary.json``,
``last.ckpt``, ``best.ckpt``, ``model.safetensors``, ``plots/*.png``, ``report.md`` and ``report.html``.
"""

from __future__ import annotations

import copy
import json
import random
import shlex
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..registry import get_recipe
from .checkpoint import atomic_write_text, load_checkpoint, save_safetensors
from .config import ConfigError, dump_yaml, load_yaml, merge_config, parse_overrides
from .distributed import barrier, broadcast_object, cleanup_distributed, init_distributed
from .trainer import Trainer, TrainingDiverged

__all__ = ["resolve_config", "resolve_device", "run_recipe", "load_run", "evaluate_run", "seed_everything"]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but CUDA is not available here; use --device cpu")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise ConfigError(f"--device must be cpu or cuda (got {name!r})")
    return torch.device(name)


def resolve_config(
    recipe: Any,
    *,
    config_name: str = "quick",
    config_file: str | Path | None = None,
    overrides: list[str] | None = None,
    steps: int | None = None,
    data: str | Path | None = None,
) -> dict[str, Any]:
    """The recipe's ``config_name`` config with the YAML file, ``--set`` items, ``--steps`` and ``--data`` on top."""
    if config_name not in recipe.configs:
        raise ConfigError(f"recipe {recipe.name!r} has no {config_name!r} config; it has {', '.join(recipe.configs)}")
    # Every config is complete in itself; the quick config is the schema that the others are checked against.
    merge_config(recipe.configs["quick"], recipe.configs[config_name])
    config = copy.deepcopy(recipe.configs[config_name])
    if config_file is not None:
        config = merge_config(config, load_yaml(config_file))
    config = merge_config(config, parse_overrides(overrides))
    if steps is not None:
        if steps <= 0:
            raise ConfigError(f"--steps must be > 0 (got {steps})")
        config["train"]["steps"] = steps
    if data is not None:
        if not Path(data).exists():
            raise ConfigError(f"--data path does not exist: {data}")
        config["data"]["path"] = str(data)
    elif config["data"].get("path") and not Path(config["data"]["path"]).exists():
        raise ConfigError(f"data.path does not exist: {config['data']['path']}")
    config["recipe"] = recipe.name
    return config


def _find_resume(recipe_name: str, resume: str, out: Path | None, runs_root: Path) -> Path | None:
    """The checkpoint to resume from: ``auto`` finds the run folder's (or the newest unfinished run's) last.ckpt."""
    if resume != "auto":
        path = Path(resume)
        path = path / "last.ckpt" if path.is_dir() else path
        if not path.is_file():
            raise ConfigError(f"--resume: no checkpoint at {path}")
        return path
    if out is not None:
        return out / "last.ckpt" if (out / "last.ckpt").is_file() else None
    candidates = sorted(runs_root.glob(f"{recipe_name}-*/last.ckpt"), key=lambda p: p.stat().st_mtime)
    unfinished = [p for p in candidates if not (p.parent / "summary.json").is_file()]
    return unfinished[-1] if unfinished else None


def run_recipe(
    name: str,
    *,
    config_name: str = "quick",
    config_file: str | Path | None = None,
    overrides: list[str] | None = None,
    steps: int | None = None,
    data: str | Path | None = None,
    out: str | Path | None = None,
    resume: str | None = None,
    device: str = "cpu",
    quiet: bool = False,
    runs_root: str | Path = "runs",
    command: str | None = None,
    report: bool = True,
) -> dict[str, Any]:
    """Train recipe ``name`` and write its run folder; returns the summary (also ``summary.json``)."""
    recipe = get_recipe(name)
    dev = resolve_device(device)
    runs_root = Path(runs_root)
    out_dir = Path(out) if out is not None else None
    dist = init_distributed(dev)
    if dist.enabled and dev.type == "cuda":
        dev = torch.device("cuda", dist.local_rank)
    try:
        ckpt = _find_resume(name, resume, out_dir, runs_root) if resume else None
        if ckpt is not None:
            out_dir = ckpt.parent
            saved = load_yaml(out_dir / "config.yaml")
            config = merge_config(saved, parse_overrides(overrides))
            if steps is not None:
                config["train"]["steps"] = steps
        else:
            config = resolve_config(
                recipe, config_name=config_name, config_file=config_file, overrides=overrides, steps=steps, data=data
            )
        if out_dir is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            out_dir = broadcast_object(runs_root / f"{name}-{stamp}")  # every rank writes to the same folder
        run_dir = out_dir
        if dist.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "plots").mkdir(exist_ok=True)
            if ckpt is None:  # a fresh run into an existing folder starts its own metrics
                (run_dir / "metrics.csv").unlink(missing_ok=True)
            atomic_write_text(run_dir / "config.yaml", dump_yaml(config))
            cmd = command or " ".join(shlex.quote(a) for a in sys.argv)
            atomic_write_text(run_dir / "command.txt", cmd + "\n")
        seed_everything(int(config["seed"]))
        exp = recipe.setup(config)
        trainer = Trainer(
            model=exp.model,
            task=exp.task,
            train_set=exp.train_set,
            val_set=exp.val_set,
            config=config,
            run_dir=run_dir,
            device=dev,
            metric=recipe.metric,
            higher_is_better=recipe.higher_is_better,
            dist=dist,
            quiet=quiet,
            collate_fn=exp.collate_fn,
        )
        if ckpt is not None:
            trainer.resume(ckpt)
        try:
            result = trainer.fit()
        except TrainingDiverged as err:
            if dist.is_main:
                _write_summary(run_dir, {"recipe": name, "status": "diverged", "reason": str(err)})
            raise
        summary: dict[str, Any] = {}
        if dist.is_main:
            summary = _finish(
                recipe,
                exp,
                trainer,
                config,
                config_name,
                run_dir,
                dev,
                result.seconds,
                result.steps,
                report=report,
            )
        barrier()
        return summary
    finally:
        cleanup_distributed()


def _finish(
    recipe: Any,
    exp: Any,
    trainer: Trainer,
    config: dict[str, Any],
    config_name: str,
    run_dir: Path,
    device: torch.device,
    seconds: float,
    steps: int,
    *,
    report: bool,
) -> dict[str, Any]:
    """Test the best checkpoint, compute the baseline, write summary.json, safetensors and the report."""
    best = run_dir / "best.ckpt"
    if best.is_file():
        state = load_checkpoint(best, map_location=device)
        trainer.module.load_state_dict(state["model"])
        if trainer.ema is not None:
            trainer.ema.load_state_dict(state.get("ema", state["model"]))
    if trainer.ema is not None:
        # A run with an EMA is judged, exported and sampled (recipe.finish) with its EMA weights; the trained
        # weights stay in the checkpoints.
        trainer.module.load_state_dict(trainer.ema.state_dict())
    save_safetensors(run_dir / "model.safetensors", trainer.module)
    test_set = exp.test_set if exp.test_set is not None else exp.val_set
    test = trainer.evaluate(test_set)
    baseline = float(recipe.baseline_value(exp, config))
    extra = recipe.finish(exp, test, run_dir, config)
    value = float(test[recipe.metric])
    beats = value > baseline if recipe.higher_is_better else value < baseline
    paper = recipe.paper_number
    summary = {
        "recipe": recipe.name,
        "system": recipe.system,
        "model": recipe.model,
        "params": sum(p.numel() for p in trainer.module.parameters()),
        "seconds": round(seconds, 2),
        "metric": recipe.metric,
        "value": value,
        "higher_is_better": recipe.higher_is_better,
        "baseline": {"name": recipe.baseline, "value": baseline},
        "beats_baseline": bool(beats),
        "paper": None if paper is None else {"value": paper.value, "protocol": paper.protocol, "source": paper.source},
        "claim": recipe.claim,
        "metrics": {**{k: float(v) for k, v in test.items()}, **extra.metrics},
        "tables": extra.tables,
        "config_name": config_name,
        "device": str(device),
        "steps": steps,
        "best_step": trainer.best_step,
        "status": "finished",
        "data": exp.info.get("data"),
    }
    _write_summary(run_dir, summary)
    if report:
        from ..report import write_run_report

        write_run_report(run_dir)
    return summary


def _write_summary(run_dir: Path, summary: Mapping[str, Any]) -> None:
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")


def load_run(run_dir: str | Path) -> tuple[Any, dict[str, Any], Any]:
    """Rebuild a finished or interrupted run: ``(recipe, config, experiment)`` with its best (or last) weights."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{run_dir} is not a run folder (no config.yaml)")
    config = load_yaml(run_dir / "config.yaml")
    if not config.get("recipe"):
        raise ConfigError(f"{run_dir / 'config.yaml'}: no 'recipe' key; cannot tell which recipe made this run")
    recipe = get_recipe(config["recipe"])
    merge_config(recipe.configs["quick"], config)  # checks the saved keys against the recipe's schema
    seed_everything(int(config["seed"]))
    exp = recipe.setup(config)
    for name in ("best.ckpt", "last.ckpt"):
        if (run_dir / name).is_file():
            state = load_checkpoint(run_dir / name)
            exp.model.load_state_dict(state.get("ema", state["model"]))  # a run with EMA is judged by its EMA weights
            break
    else:
        raise ConfigError(f"{run_dir} has no best.ckpt or last.ckpt")
    return recipe, config, exp


def evaluate_run(run_dir: str | Path, *, device: str = "cpu") -> dict[str, float]:
    """Re-evaluate a run's best checkpoint on its test split."""
    from .trainer import evaluate_dataset

    _recipe, config, exp = load_run(run_dir)
    dev = resolve_device(device)
    dataset = exp.test_set if exp.test_set is not None else exp.val_set
    return evaluate_dataset(
        exp.task,
        exp.model.to(dev).eval(),
        dataset,
        batch_size=int(config["train"]["eval_batch_size"]),
        device=dev,
        collate_fn=exp.collate_fn,
    )
