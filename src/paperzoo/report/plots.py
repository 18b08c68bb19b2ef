"""Training-curve plots drawn from a run's long-format ``metrics.csv``.

The trainer appends rows ``step,split,name,value``; this module turns them into a handful of PNGs:

* ``loss.png``: train loss (raw, faint) with a light moving average, plus validation loss points when logged;
* ``lr.png``: the learning-rate schedule, when an ``lr`` series exists;
* ``val_<group>.png``: one figure per validation metric, where names sharing a prefix (``acc``, ``acc/L1HingeLoss``,
  ``acc/MSE``…) share a figure with a legend.

Matplotlib runs on the non-interactive ``Agg`` backend and figures are built with :class:`matplotlib.figure.Figure`
directly, so nothing touches pyplot's global state (safe in threads, notebooks and headless servers).
"""

from __future__ import annotations

import csv
import logging
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["metric_series", "moving_average", "plot_training_curves", "read_metrics", "safe_name"]

log = logging.getLogger(__name__)

Series = tuple[np.ndarray, np.ndarray]

_VAL_SPLITS = ("val", "valid", "validation")
_MARKER_MAX_POINTS = 60


def read_metrics(metrics_csv: Path) -> dict[tuple[str, str], Series]:
    """Read a long-format metrics file into one ``(steps, values)`` series per ``(split, name)``.

    Rows whose step or value does not parse as a number are skipped; a missing, empty or header-only file gives
    an empty mapping. Each series is sorted by step (stable, so repeated steps keep their logging order).

    Args:
        metrics_csv: Path to ``metrics.csv`` with header ``step,split,name,value``.

    Returns:
        ``{(split, name): (steps, values)}`` in first-appearance order, as float64 arrays.
    """
    path = Path(metrics_csv)
    if not path.is_file():
        return {}
    raw: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = set(reader.fieldnames or ())
        missing = {"step", "split", "name", "value"} - fields
        if missing:
            if fields:
                log.warning("%s lacks columns %s; no training curves", path, sorted(missing))
            return {}
        for row in reader:
            try:
                step = float(row["step"])
                value = float(row["value"])
            except (TypeError, ValueError):
                continue
            key = ((row["split"] or "").strip(), (row["name"] or "").strip())
            steps, values = raw.setdefault(key, ([], []))
            steps.append(step)
            values.append(value)
    out: dict[tuple[str, str], Series] = {}
    for key, (steps, values) in raw.items():
        s, v = np.asarray(steps, dtype=np.float64), np.asarray(values, dtype=np.float64)
        order = np.argsort(s, kind="stable")
        out[key] = (s[order], v[order])
    return out


def metric_series(run_dir: Path | None, split: str, name: str) -> Series:
    """One metric's ``(steps, values)`` from a run folder's ``metrics.csv`` (empty arrays when absent)."""
    empty = (np.zeros(0), np.zeros(0))
    return empty if run_dir is None else read_metrics(Path(run_dir) / "metrics.csv").get((split, name), empty)


def _figure_cls() -> Any:
    """Select the Agg backend (unless pyplot is already in use) and return matplotlib's ``Figure`` class."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        try:
            matplotlib.use("Agg")
        except Exception:  # a backend that cannot be switched is not our problem; Figure still works
            log.debug("could not select the Agg backend", exc_info=True)
    from matplotlib.figure import Figure

    return Figure


def _finite(series: Series) -> Series:
    steps, values = series
    keep = np.isfinite(steps) & np.isfinite(values)
    return steps[keep], values[keep]


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (``len(values) - window + 1`` points).

    Args:
        values: 1-D array.
        window: Window length (>= 1).

    Returns:
        The averaged values; empty when there are fewer than ``window`` values.
    """
    if window < 1 or len(values) < window:
        return np.empty(0)
    csum = np.cumsum(np.insert(np.asarray(values, dtype=np.float64), 0, 0.0))
    return (csum[window:] - csum[:-window]) / window


def _smoothing_window(n: int) -> int:
    """A light smoothing window: ~5% of the points, between 1 (off) and 200."""
    return 1 if n < 20 else int(min(200, max(2, n // 20)))


def safe_name(text: str) -> str:
    """ASCII file-name stem for a metric name (``"acc/L1 Hinge"`` -> ``"acc_L1_Hinge"``).

    Args:
        text: Any string.

    Returns:
        Letters, digits, ``.``, ``_`` and ``-`` only; ``"metric"`` if nothing is left.
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return stem or "metric"


def _wide_range(values: np.ndarray) -> bool:
    """Whether a positive series spans more than two decades (then a log axis reads better)."""
    if len(values) < 2 or np.any(values <= 0):
        return False
    return bool(values.max() / values.min() > 100.0)


def _style(n: int) -> dict[str, Any]:
    return {"marker": "o", "markersize": 3} if n <= _MARKER_MAX_POINTS else {}


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    return path


def _plot_loss(figure_cls: Any, train: Series, val: Series | None, path: Path) -> Path | None:
    steps, values = _finite(train)
    if not len(steps):
        return None
    fig = figure_cls(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    window = _smoothing_window(len(values))
    if window > 1:
        ax.plot(steps, values, color="tab:blue", alpha=0.3, linewidth=0.8, label="train")
        smooth = moving_average(values, window)
        ax.plot(steps[window - 1 :], smooth, color="tab:blue", linewidth=1.6, label=f"train (moving avg, {window})")
    else:
        ax.plot(steps, values, color="tab:blue", linewidth=1.4, label="train", **_style(len(values)))
    if val is not None:
        vs, vv = _finite(val)
        if len(vs):
            ax.plot(vs, vv, color="tab:orange", linewidth=1.4, label="val", **_style(len(vv)))
    all_values = values if val is None else np.concatenate([values, _finite(val)[1]])
    if _wide_range(all_values):
        ax.set_yscale("log")
    ax.set_title("loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return _save(fig, path)


def _plot_single(figure_cls: Any, series: Series, title: str, ylabel: str, path: Path) -> Path | None:
    steps, values = _finite(series)
    if not len(steps):
        return None
    fig = figure_cls(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    ax.plot(steps, values, linewidth=1.4, **_style(len(values)))
    if _wide_range(values):
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return _save(fig, path)


def _plot_group(figure_cls: Any, group: str, members: list[tuple[str, Series]], path: Path) -> Path | None:
    members = [(name, _finite(s)) for name, s in members]
    members = [(name, s) for name, s in members if len(s[0])]
    if not members:
        return None
    fig = figure_cls(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    for name, (steps, values) in members:
        ax.plot(steps, values, linewidth=1.4, label=name, **_style(len(values)))
    ax.set_title(f"val {group}")
    ax.set_xlabel("step")
    ax.set_ylabel(group)
    ax.grid(True, alpha=0.3)
    if len(members) > 1:
        ax.legend(loc="best", fontsize="small", ncol=1 if len(members) <= 8 else 2)
    return _save(fig, path)


def plot_training_curves(metrics_csv: Path, out_dir: Path) -> list[Path]:
    """Draw the standard training curves of a run as PNG files.

    Args:
        metrics_csv: The run's ``metrics.csv`` (``step,split,name,value``). Missing, empty or header-only files
            produce no plots and no error.
        out_dir: Folder for the PNGs (created when something is drawn). Existing files with the same names are
            overwritten; other files are left alone.

    Returns:
        The written files, in the order ``loss.png``, ``lr.png``, ``val_<group>.png``…
    """
    series = read_metrics(Path(metrics_csv))
    if not series:
        return []
    out_dir = Path(out_dir)
    figure_cls = _figure_cls()
    jobs: list[tuple[str, Any]] = []

    train_loss = series.get(("train", "loss"))
    val_loss = next((series[(s, "loss")] for s in _VAL_SPLITS if (s, "loss") in series), None)
    if train_loss is not None:
        jobs.append(("loss", lambda p: _plot_loss(figure_cls, train_loss, val_loss, p)))

    lr = series.get(("train", "lr"))
    if lr is None:
        lr = next((s for (_, name), s in series.items() if name == "lr"), None)
    if lr is not None:
        jobs.append(("lr", lambda p: _plot_single(figure_cls, lr, "learning rate", "lr", p)))

    groups: dict[str, list[tuple[str, Series]]] = {}
    for (split, name), s in series.items():
        if split.lower() in _VAL_SPLITS and name and name != "lr":
            groups.setdefault(name.split("/", 1)[0] or name, []).append((name, s))
    for group, members in groups.items():
        jobs.append((f"val_{safe_name(group)}", lambda p, g=group, m=members: _plot_group(figure_cls, g, m, p)))

    written: list[Path] = []
    used: set[str] = set()
    for stem, draw in jobs:
        unique, k = stem, 2
        while unique in used:
            unique, k = f"{stem}_{k}", k + 1
        used.add(unique)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = draw(out_dir / f"{unique}.png")
        if path is not None:
            written.append(path)
    return written
