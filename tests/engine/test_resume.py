"""A run killed mid-way (SIGKILL of a real process) and resumed with --resume auto matches an uninterrupted run."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import torch

from tests.conftest import ROOT

ARGS = [
    "train",
    "margin_digits",
    "--quiet",
    "--steps",
    "1500",
    "--set",
    "train.ckpt_every=20",
    "--set",
    "train.eval_every=100",
    "--set",
    "train.tensorboard=false",
    "--set",
    "schedule.name=cosine",
]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _rows(path):
    with open(path, newline="") as fh:
        return [(r["step"], r["split"], r["name"], r["value"]) for r in csv.DictReader(fh)]


def test_killed_and_resumed_run_matches_uninterrupted(tmp_path) -> None:
    a, b = tmp_path / "interrupted", tmp_path / "uninterrupted"
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperzoo", *ARGS, "--out", str(a)],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while not (a / "last.ckpt").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(a / "last.ckpt", weights_only=True)["step"]
    assert 0 < killed_at < 1500, "the process must be killed before it finished"
    assert not (a / "summary.json").exists()

    resumed = subprocess.run(
        [sys.executable, "-m", "paperzoo", *ARGS, "--out", str(a), "--resume", "auto"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    clean = subprocess.run(
        [sys.executable, "-m", "paperzoo", *ARGS, "--out", str(b)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert clean.returncode == 0, clean.stderr

    sa = torch.load(a / "last.ckpt", weights_only=True)
    sb = torch.load(b / "last.ckpt", weights_only=True)
    assert sa["step"] == sb["step"] == 1500
    for key in sb["model"]:
        assert torch.equal(sa["model"][key], sb["model"][key]), key
    for key, value in sb["optimizer"]["state"].items():
        assert torch.equal(sa["optimizer"]["state"][key]["exp_avg"], value["exp_avg"])
    # The metrics file of the resumed run equals the uninterrupted one row for row.
    assert _rows(a / "metrics.csv") == _rows(b / "metrics.csv")
