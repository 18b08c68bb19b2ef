"""Shared test helpers: run the CLI in a subprocess with the package's interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

# Two pytest-xdist workers share two cores: one intra-op thread each avoids oversubscription, which
# slows small convolutions by two orders of magnitude.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 300,
    module: str = "paperzoo",
    launcher: list[str] | None = None,
) -> subprocess.CompletedProcess:
    """``python -m paperzoo ARGS`` (or ``LAUNCHER -m paperzoo ARGS``) with one thread per process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = (launcher or [sys.executable]) + ["-m", module, *args]
    return subprocess.run(cmd, cwd=cwd or ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
