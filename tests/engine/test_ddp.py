"""Two CPU processes under torchrun (DDP, gloo) take the same steps as one process on the same global batch."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import run_cli

ARGS = [
    "train",
    "margin_digits",
    "--quiet",
    "--steps",
    "60",
    "--set",
    "train.batch_size=64",
    "--set",
    "train.tensorboard=false",
    "--set",
    "train.eval_every=30",
    "--set",
    "train.ckpt_every=30",
]


@pytest.mark.distributed
def test_two_process_ddp_equals_single_process(tmp_path) -> None:
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists() and shutil.which("torchrun") is None:
        pytest.skip("torchrun not installed")
    launcher = [
        str(torchrun if torchrun.exists() else shutil.which("torchrun")),
        "--nproc-per-node",
        "2",
        "--master-port",
        "29531",
    ]
    ddp = run_cli(*ARGS, "--out", str(tmp_path / "ddp"), launcher=launcher)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = run_cli(*ARGS, "--out", str(tmp_path / "single"))
    assert single.returncode == 0, single.stderr[-3000:]
    a = torch.load(tmp_path / "ddp" / "last.ckpt", weights_only=True)["model"]
    b = torch.load(tmp_path / "single" / "last.ckpt", weights_only=True)["model"]
    for key in b:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)
    # The weights moved (the comparison is not between two untouched initialisations).
    assert (a["linear.weight"].abs().mean() > 0.05).item()
    # Only rank 0 wrote the run folder: one header, no duplicated rows.
    lines = (tmp_path / "ddp" / "metrics.csv").read_text().splitlines()
    assert lines.count("step,split,name,value") == 1
    assert len(lines) == len((tmp_path / "single" / "metrics.csv").read_text().splitlines())
