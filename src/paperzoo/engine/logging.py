"""Metric logging (metrics.csv, optional TensorBoard) and progress bars.

``metrics.csv`` is long format, one row per scalar: ``step,split,name,value``. It is appended as
the run goes; on resume the rows after the checkpoint's step are dropped first, so a resumed run's
file equals an uninterrupted run's.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

__all__ = ["MetricLogger", "progress", "truncate_metrics"]

HEADER = ["step", "split", "name", "value"]


def progress(iterable: Any = None, *, total: int | None = None, desc: str = "", quiet: bool = False, **kw: Any):
    """A tqdm bar, silent under ``--quiet`` or when stderr is not a terminal."""
    disable = quiet or not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, dynamic_ncols=True, leave=False, **kw)


def truncate_metrics(path: Path, max_step: int) -> None:
    """Drop rows logged after ``max_step`` (work lost by an interrupted run, redone on resume)."""
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= max_step]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)


class MetricLogger:
    """Writes scalars to ``metrics.csv`` and, when the package is installed, to TensorBoard.

    A logger with ``run_dir=None`` (non-zero ranks, dry runs) records nothing.
    """

    def __init__(self, run_dir: Path | None, *, tensorboard: bool = True) -> None:
        self.path = run_dir / "metrics.csv" if run_dir else None
        self._tb = None
        if self.path is None:
            return
        if not self.path.exists():
            with open(self.path, "w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerow(HEADER)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is an optional extra
                SummaryWriter = None  # noqa: N806
            if SummaryWriter is not None:
                self._tb = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log(self, step: int, split: str, values: Mapping[str, float]) -> None:
        if self.path is None or not values:
            return
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            for name, value in values.items():
                writer.writerow([step, split, name, f"{float(value):.8g}"])
        if self._tb is not None:
            for name, value in values.items():
                self._tb.add_scalar(f"{split}/{name}", float(value), step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
