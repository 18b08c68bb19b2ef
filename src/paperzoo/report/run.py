"""The report of one finished run: ``report.md`` and ``report.html`` written into the run folder.

A run folder, as written by the trainer, holds ``config.yaml``, ``command.txt``, ``metrics.csv``, ``summary.json``
and optionally ``plots/*.png``. :func:`write_run_report` draws the training curves into ``plots/`` and writes a
report with the headline number against the baseline and the paper, every summary metric and table, all plots, the
resolved config and the command line. Missing pieces are reported as missing rather than raising, so a crashed or
diverged run still gets a readable page.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paperzoo.report.html import (
    CHECK,
    CROSS,
    MISSING,
    Code,
    Document,
    Gallery,
    Heading,
    Paragraph,
    Table,
    fmt_cell,
    fmt_metric,
    fmt_params,
    fmt_seconds,
    images_in,
    write_document,
)
from paperzoo.report.plots import plot_training_curves

__all__ = ["beats_baseline", "load_summary", "run_document", "write_run_report"]

log = logging.getLogger(__name__)


def load_summary(run_dir: Path) -> dict[str, Any]:
    """Read ``summary.json`` of a run.

    Args:
        run_dir: The run folder.

    Returns:
        The summary mapping.

    Raises:
        FileNotFoundError: When there is no ``summary.json``.
        ValueError: When it is not valid JSON or not a JSON object.
    """
    path = Path(run_dir) / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a {type(data).__name__}, not an object")
    return data


def beats_baseline(summary: Mapping[str, Any]) -> bool | None:
    """Whether the run beat its baseline: ``summary["beats_baseline"]``, else computed from the values.

    Args:
        summary: A run summary.

    Returns:
        ``True``/``False``, or ``None`` when it cannot be told.
    """
    if isinstance(summary.get("beats_baseline"), bool):
        return summary["beats_baseline"]
    ours = summary.get("value")
    baseline = summary.get("baseline") or {}
    ref = baseline.get("value") if isinstance(baseline, Mapping) else None
    if not all(isinstance(v, numbers.Real) and math.isfinite(float(v)) for v in (ours, ref)):
        return None
    higher = summary.get("higher_is_better", True)
    return bool(ours > ref) if higher else bool(ours < ref)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _delta(ours: Any, other: Any, what: str) -> str:
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (ours, other)):
        return ""
    diff = float(ours) - float(other)
    sign = "+" if diff >= 0 else ""
    return f"ours - {what} = {sign}{fmt_metric(diff)}"


def headline_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """Rows ``[who, value, details]`` comparing our number with the baseline and the paper.

    Args:
        summary: A run summary.

    Returns:
        Three rows: ours, baseline, paper.
    """
    ours = summary.get("value")
    direction = "higher is better" if summary.get("higher_is_better", True) else "lower is better"
    model = summary.get("model")
    rows = [[f"ours ({model})" if model else "ours", fmt_metric(ours), direction]]

    baseline = summary.get("baseline")
    if isinstance(baseline, Mapping):
        name = baseline.get("name") or "baseline"
        rows.append(
            [f"baseline: {name}", fmt_metric(baseline.get("value")), _delta(ours, baseline.get("value"), "baseline")]
        )
    else:
        rows.append(["baseline", MISSING, "no baseline recorded"])

    paper = summary.get("paper")
    if isinstance(paper, Mapping):
        details = [str(paper[k]) for k in ("protocol", "source") if paper.get(k)]
        if paper.get("value") is None:
            details.insert(0, "not reported")
        else:
            delta = _delta(ours, paper.get("value"), "paper")
            if delta:
                details.append(delta)
        rows.append(["paper", fmt_metric(paper.get("value")), "; ".join(details)])
    else:
        rows.append(["paper", MISSING, "no comparable number in the paper"])
    return rows


def _verdict(summary: Mapping[str, Any]) -> str:
    beat = beats_baseline(summary)
    if beat is None:
        return f"Beats baseline: {MISSING} (cannot tell)"
    return f"Beats baseline: {CHECK} yes" if beat else f"Beats baseline: {CROSS} no"


def run_document(run_dir: Path, summary: Mapping[str, Any]) -> Document:
    """Build the report document of a run (without writing anything).

    Args:
        run_dir: The run folder (links and images are relative to it).
        summary: Its summary (may be empty when ``summary.json`` is missing).

    Returns:
        The document.
    """
    run_dir = Path(run_dir)
    recipe = str(summary.get("recipe") or run_dir.name)
    status = str(summary.get("status") or "unknown")
    metric = str(summary.get("metric") or "metric")
    doc = Document(title=f"{recipe} ({status}) - paperzoo run report")
    doc.add(Heading(1, f"{recipe} ({status})"))

    if not summary:
        doc.add(
            Paragraph(["⚠ summary.json is missing or unreadable; only the files found in the run folder are shown."])
        )
    elif status != "finished":
        reason = summary.get("reason") or summary.get("error")
        doc.add(Paragraph([f"⚠ Run status: {status}" + (f" ({reason})" if reason else "") + "."]))

    if summary:
        doc.add(Heading(2, "Headline"))
        doc.add(Table(["", metric, "details"], headline_rows(summary)))
        doc.add(Paragraph([_verdict(summary)]))

    doc.add(Heading(2, "Run"))
    info = [
        ["recipe", recipe],
        ["model", str(summary.get("model") or MISSING)],
        ["parameters", fmt_params(summary.get("params"))],
        ["time", fmt_seconds(summary.get("seconds"))],
        ["device", str(summary.get("device") or MISSING)],
        ["steps", fmt_params(summary.get("steps"))],
        ["config", str(summary.get("config_name") or MISSING)],
        ["status", status],
        ["folder", str(run_dir)],
    ]
    doc.add(Table(["field", "value"], info))

    metrics = summary.get("metrics")
    if isinstance(metrics, Mapping) and metrics:
        doc.add(Heading(2, "Metrics"))
        doc.add(Table(["metric", "value"], [[str(k), fmt_metric(v)] for k, v in metrics.items()]))

    tables = summary.get("tables")
    if isinstance(tables, Mapping) and tables:
        doc.add(Heading(2, "Results tables"))
        for title, table in tables.items():
            doc.add(Heading(3, str(title)))
            if not isinstance(table, Mapping):
                doc.add(Paragraph([f"(malformed table: {type(table).__name__})"]))
                continue
            columns = [str(c) for c in table.get("columns") or []]
            rows = [[fmt_cell(c) for c in row] for row in table.get("rows") or [] if isinstance(row, list | tuple)]
            width = max([len(columns), *(len(r) for r in rows)]) if rows or columns else 0
            columns += [""] * (width - len(columns))
            doc.add(Table(columns, rows))

    images = images_in(run_dir / "plots", run_dir)
    if images:
        doc.add(Heading(2, "Plots"), Gallery(images))

    doc.add(Heading(2, "Config"))
    config = _read_text(run_dir / "config.yaml")
    doc.add(Code(config, "yaml") if config is not None else Paragraph(["(config.yaml not found)"]))

    doc.add(Heading(2, "Command"))
    command = _read_text(run_dir / "command.txt")
    doc.add(Code(command.strip(), "sh") if command is not None else Paragraph(["(command.txt not found)"]))
    return doc


def write_run_report(run_dir: Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` for a run folder.

    Training curves are (re)drawn from ``metrics.csv`` into ``plots/`` first; any other PNG already in ``plots/``
    (a recipe's own figures) is embedded too. The Markdown links images relatively; the HTML inlines them as base64
    so it is a single self-contained file.

    Args:
        run_dir: The run folder.

    Returns:
        ``(report.md, report.html)`` paths.

    Raises:
        FileNotFoundError: When ``run_dir`` is not a folder.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    try:
        summary: dict[str, Any] = load_summary(run_dir)
    except FileNotFoundError:
        log.info("%s has no summary.json", run_dir)
        summary = {}
    except (OSError, ValueError) as exc:
        log.warning("%s", exc)
        summary = {}
    try:
        plot_training_curves(run_dir / "metrics.csv", run_dir / "plots")
    except Exception:  # a plotting failure must not cost the whole report
        log.warning("could not draw training curves for %s", run_dir, exc_info=True)
    doc = run_document(run_dir, summary)
    return write_document(doc, run_dir / "report.md", run_dir / "report.html")
