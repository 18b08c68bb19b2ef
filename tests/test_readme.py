"""The README's examples run: the Python block executes, and the console commands are real commands."""

from __future__ import annotations

import re
import shlex

from paperzoo.cli import build_parser
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_console_examples_parse() -> None:
    parser = build_parser()
    commands = [line[2:].split("#")[0].strip() for line in README.splitlines() if line.startswith("$ paperzoo ")]
    assert len(commands) >= 8
    for cmd in commands:
        parser.parse_args(shlex.split(cmd)[1:])  # raises SystemExit on an unknown command or flag


def test_readme_example_run_sequence(tmp_path) -> None:
    """The train → resume → eval → export sequence of the README, in a scratch folder."""
    from paperzoo.cli import main

    out = str(tmp_path / "margins")
    quiet = ["--quiet", "--set", "train.tensorboard=false"]
    assert main(["train", "margin_digits", "--steps", "100", "--set", "optim.lr=0.02", "--out", out, *quiet]) == 0
    assert main(["train", "margin_digits", "--steps", "150", "--out", out, "--resume", "auto", *quiet]) == 0
    import torch

    assert torch.load(tmp_path / "margins" / "last.ckpt", weights_only=True)["step"] == 150
    assert main(["eval", out]) == 0
