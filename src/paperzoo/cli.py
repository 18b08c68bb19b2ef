"""The ``paperzoo`` command line: list, info, train, eval, bench, reproduce, export.

Errors a user can cause (an unknown name, a missing file, a bad config key or value) print one
line, ``paperzoo: error: ...``, and exit with status 2; a diverged run exits with status 3. ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]

EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperzoo",
        description="Faithful implementations of the papers in the "
        "reading notes: build, train, evaluate and reproduce them by name.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list models, recipes and datasets (fnmatch PATTERN)")
    p.add_argument("pattern", nargs="?", default=None)
    p.add_argument("--kind", choices=["models", "recipes", "datasets", "all"], default="all")
    p.add_argument("--full-only", action="store_true", help="models: hide the *_tiny variants")

    p = sub.add_parser("info", help="paper, reference, parameters and GFLOPs of a model (or a recipe)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("train", help="run a recipe and write a run folder")
    p.add_argument("recipe")
    _add_run_options(p)
    p.add_argument("--config", dest="config_file", metavar="YAML", help="YAML file merged over the recipe's config")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key (repeatable), e.g. --set optim.lr=0.01",
    )
    p.add_argument("--steps", type=int, help="number of optimizer steps (train.steps)")
    p.add_argument("--data", metavar="PATH", help="the paper's dataset in its published format")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/RECIPE-TIME)")
    p.add_argument("--resume", metavar="auto|PATH", help="continue an interrupted run")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")

    p = sub.add_parser("eval", help="re-evaluate a run folder's best checkpoint on its test split")
    p.add_argument("run_dir")
    p.add_argument("--device", default="cpu")

    p = sub.add_parser("bench", help="forward/backward throughput of a model on random input")
    p.add_argument("model")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--device", default="cpu")

    p = sub.add_parser("reproduce", help="run every matching recipe and write one combined report")
    p.add_argument("pattern", nargs="?", default=None)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="config_name", action="store_const", const="quick")
    mode.add_argument("--full", dest="config_name", action="store_const", const="full")
    p.set_defaults(config_name="quick")
    p.add_argument("--out", metavar="DIR", help="report folder (default runs/reproduce-TIME)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("export", help="export a run's model to ONNX (dynamic batch) or a torch.export program")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=["onnx", "pt2"], required=True)
    p.add_argument("--out", metavar="FILE")
    return parser


def _add_run_options(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        dest="config_name",
        action="store_const",
        const="quick",
        help="the quick config: built-in data, about a minute on a laptop (default)",
    )
    mode.add_argument(
        "--full", dest="config_name", action="store_const", const="full", help="the paper's data and hyperparameters"
    )
    p.set_defaults(config_name="quick")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# ---------------------------------------------------------------------------------------------- commands
def cmd_list(args: argparse.Namespace) -> int:
    from . import registry

    kinds = ["models", "recipes", "datasets"] if args.kind == "all" else [args.kind]
    for kind in kinds:
        if kind == "models":
            names = registry.list_models(args.pattern, tiny=False if args.full_only else None)
        elif kind == "recipes":
            names = registry.list_recipes(args.pattern)
        else:
            names = registry.list_datasets(args.pattern)
        if len(kinds) > 1:
            print(f"{kind} ({len(names)}):")
        for name in names:
            print(f"  {name}" if len(kinds) > 1 else name)
    return 0


def model_info(name: str) -> dict[str, Any]:
    """Paper, reference, parameter counts (ours and the reference's), GMACs and GFLOPs at the paper's input size."""
    import torch

    from .registry import create_model, get_model_entry

    entry = get_model_entry(name)
    with torch.device("meta"):
        model = create_model(name)
    params = sum(p.numel() for p in model.parameters())
    info: dict[str, Any] = {
        "name": name,
        "family": entry.family,
        "domain": entry.domain,
        "paper": entry.paper.cite(),
        "reference": entry.reference,
        "params": params,
        "reference_params": entry.reference_params,
        "params_match": None if entry.reference_params is None else params == entry.reference_params,
        "input_size": list(entry.input_size) if entry.input_size else None,
        "gmacs": None,
        "gflops": None,
    }
    if entry.input_size is not None or entry.example_input_fn is not None:
        from torch.utils.flop_counter import FlopCounterMode

        x = entry.example_input(1, "meta")
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model.eval()(x)
        # FlopCounterMode counts a multiply-add as 2 FLOPs. Most papers' and model zoos' "FLOPs" (torchvision,
        # pytorchvideo, fvcore) are multiply-adds, so both conventions are reported under their own names.
        info["gmacs"] = counter.get_total_flops() / 2e9
        info["gflops"] = counter.get_total_flops() / 1e9
    return info


def cmd_info(args: argparse.Namespace) -> int:
    from .registry import RegistryError, get_recipe, list_models

    if args.name in list_models():
        info = model_info(args.name)
    else:
        try:
            recipe = get_recipe(args.name)
        except RegistryError:
            raise RegistryError(f"unknown model or recipe {args.name!r}; `paperzoo list` shows them") from None
        info = {
            "recipe": recipe.name,
            "system": recipe.system,
            "paper": recipe.paper.cite(),
            "model": recipe.model,
            "metric": recipe.metric,
            "higher_is_better": recipe.higher_is_better,
            "baseline": recipe.baseline,
            "claim": recipe.claim,
            "configs": list(recipe.configs),
            "paper_number": None if recipe.paper_number is None else vars(recipe.paper_number),
        }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(len(k) for k in info)
        for key, value in info.items():
            if key == "gmacs" and value is not None:
                value = f"{value:.4g} (multiply-adds, batch 1; what model zoos call GFLOPs)"
            elif key == "gflops" and value is not None:
                value = f"{value:.4g} (floating-point operations, 2 per multiply-add, batch 1)"
            elif key in ("params", "reference_params") and isinstance(value, int):
                value = f"{value:,}"
            print(f"{key:<{width}}  {value}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .engine.config import dump_yaml
    from .engine.run import resolve_config, run_recipe
    from .registry import get_recipe

    if args.print_config:
        config = resolve_config(
            get_recipe(args.recipe),
            config_name=args.config_name,
            config_file=args.config_file,
            overrides=args.overrides,
            steps=args.steps,
            data=args.data,
        )
        print(dump_yaml(config), end="")
        return 0
    summary = run_recipe(
        args.recipe,
        config_name=args.config_name,
        config_file=args.config_file,
        overrides=args.overrides,
        steps=args.steps,
        data=args.data,
        out=args.out,
        resume=args.resume,
        device=args.device,
        quiet=args.quiet,
    )
    if summary:
        _print_summary(summary)
    return 0


def _print_summary(s: dict[str, Any]) -> None:
    mark = "beats" if s["beats_baseline"] else "does NOT beat"
    paper = s.get("paper") or {}
    paper_txt = f"; paper: {paper['value']} ({paper['protocol']})" if paper.get("value") is not None else ""
    print(
        f"{s['recipe']}: {s['metric']} = {s['value']:.4g} {mark} {s['baseline']['name']} "
        f"({s['baseline']['value']:.4g}){paper_txt}; {s['seconds']:.1f}s"
    )


def cmd_eval(args: argparse.Namespace) -> int:
    from .engine.run import evaluate_run

    metrics = evaluate_run(args.run_dir, device=args.device)
    print(json.dumps(metrics, indent=2))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import benchmark_model

    result = benchmark_model(args.model, batch_size=args.batch_size, steps=args.steps, device=args.device)
    print(json.dumps(result, indent=2))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .engine.run import run_recipe
    from .engine.trainer import TrainingDiverged
    from .registry import list_recipes
    from .report import write_reproduce_report

    names = list_recipes(args.pattern)
    if not names:
        raise ValueError(f"no recipe matches {args.pattern!r}; `paperzoo list --kind recipes` shows them")
    out = Path(args.out) if args.out else Path("runs") / f"reproduce-{datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    run_dirs = []
    for name in names:
        run_dir = out / name
        print(f"[{len(run_dirs) + 1}/{len(names)}] {name} ({args.config_name})", flush=True)
        try:
            summary = run_recipe(
                name,
                config_name=args.config_name,
                out=run_dir,
                device=args.device,
                quiet=args.quiet,
                command=f"paperzoo train {name} --{args.config_name}",
            )
            _print_summary(summary)
        except TrainingDiverged as err:
            print(f"  diverged: {err}", file=sys.stderr)
        run_dirs.append(run_dir)
    md, html = write_reproduce_report(out, run_dirs, title=f"paperzoo reproduce --{args.config_name}")
    print(f"report: {md}\n        {html}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_run

    path = export_run(args.run_dir, fmt=args.format, out=args.out)
    print(path)
    return 0


COMMANDS = {
    "list": cmd_list,
    "info": cmd_info,
    "train": cmd_train,
    "eval": cmd_eval,
    "bench": cmd_bench,
    "reproduce": cmd_reproduce,
    "export": cmd_export,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .data.errors import DataFormatError
    from .engine.config import ConfigError
    from .engine.trainer import TrainingDiverged
    from .registry import RegistryError

    try:
        return COMMANDS[args.command](args)
    except TrainingDiverged as err:
        if args.debug:
            raise
        print(f"paperzoo: training diverged: {err}", file=sys.stderr)
        return EXIT_DIVERGED
    except (ConfigError, DataFormatError, RegistryError, FileNotFoundError, ValueError) as err:
        if args.debug:
            raise
        print(f"paperzoo: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("paperzoo: interrupted; resume with --resume auto", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
