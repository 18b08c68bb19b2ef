"""The report of a ``paperzoo reproduce`` sweep: one row per run, totals, and every run's plots as thumbnails.

:func:`write_reproduce_report` reads each run's ``summary.json`` and writes ``report.md``, ``report.html`` and
``summary.json`` (the list of per-run summaries) into the output folder. A run whose folder or summary is missing,
unreadable, or whose status is ``diverged``/``failed`` is shown as a failed row with the reason; it never stops the
report.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperzoo.report.html import (
    CROSS,
    MISSING,
    Document,
    Gallery,
    Heading,
    Image,
    Inline,
    Link,
    Paragraph,
    Table,
    fmt_check,
    fmt_metric,
    fmt_params,
    fmt_seconds,
    href,
    images_in,
    write_document,
)
from paperzoo.report.run import beats_baseline, load_summary, write_run_report

__all__ = ["RunRow", "collect_run", "write_reproduce_report"]

log = logging.getLogger(__name__)

COLUMNS = [
    "system",
    "model",
    "metric",
    "ours",
    "baseline",
    "beats baseline",
    "paper",
    "paper protocol",
    "seconds",
    "params",
    "status",
    "report",
]


@dataclass
class RunRow:
    """What the sweep report knows about one run.

    Attributes:
        run_dir: The run folder.
        summary: Its summary (empty when unreadable).
        reason: Why the run counts as failed; ``None`` for a good run.
        images: Its plots, linked relative to the sweep report folder.
    """

    run_dir: Path
    summary: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    images: list[Image] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Whether the run failed (missing/unreadable summary, or a failed status)."""
        return self.reason is not None

    @property
    def name(self) -> str:
        """The recipe name, falling back to the folder name."""
        return str(self.summary.get("recipe") or self.run_dir.name)


def collect_run(run_dir: Path, out_dir: Path, *, make_report: bool = True) -> RunRow:
    """Read one run for the sweep report, never raising.

    Args:
        run_dir: The run folder.
        out_dir: The sweep report folder (image links are relative to it).
        make_report: Write the run's own report first when the folder has none.

    Returns:
        The row; ``reason`` is set when the run failed.
    """
    run_dir = Path(run_dir)
    row = RunRow(run_dir=run_dir)
    if not run_dir.is_dir():
        row.reason = "run folder missing"
        return row
    try:
        row.summary = load_summary(run_dir)
    except FileNotFoundError:
        row.reason = "summary.json missing"
    except (OSError, ValueError) as exc:
        row.reason = f"summary.json unreadable: {exc}"
    else:
        status = str(row.summary.get("status") or "finished")
        if status.lower() != "finished":  # diverged, failed, crashed, still running...
            detail = row.summary.get("reason") or row.summary.get("error")
            row.reason = status + (f": {detail}" if detail else "")
    if make_report and not (run_dir / "report.md").exists():
        try:
            write_run_report(run_dir)
        except Exception:  # a broken run must not stop the sweep report
            log.warning("could not write the report of %s", run_dir, exc_info=True)
    row.images = images_in(run_dir / "plots", out_dir)
    return row


def _num(value: Any) -> float | None:
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value)):
        return float(value)
    return None


def _report_link(row: RunRow, out_dir: Path) -> Inline:
    md, page = row.run_dir / "report.md", row.run_dir / "report.html"
    if not md.exists() and not page.exists():
        return MISSING
    return Link("report", href(md if md.exists() else page, out_dir), href(page if page.exists() else md, out_dir))


def _table_row(row: RunRow, out_dir: Path) -> list[Inline]:
    s = row.summary
    baseline = s.get("baseline") if isinstance(s.get("baseline"), dict) else {}
    paper = s.get("paper") if isinstance(s.get("paper"), dict) else {}
    base_text = MISSING
    if baseline:
        base_text = f"{baseline.get('name') or 'baseline'} {fmt_metric(baseline.get('value'))}"
    beat = beats_baseline(s) if s else None
    paper_value = fmt_metric(paper.get("value")) if paper else MISSING
    if paper and paper.get("value") is None:
        paper_value = f"{MISSING} (not reported)"
    status = f"{CROSS} failed: {row.reason}" if row.failed else "ok"
    return [
        row.name,
        str(s.get("model") or MISSING),
        str(s.get("metric") or MISSING),
        fmt_metric(s.get("value")),
        base_text,
        CROSS if row.failed else fmt_check(beat),
        paper_value,
        str(paper.get("protocol") or MISSING) if paper else MISSING,
        fmt_seconds(s.get("seconds"), unit=False),
        fmt_params(s.get("params")),
        status,
        _report_link(row, out_dir),
    ]


def _totals(rows: list[RunRow]) -> str:
    total = len(rows)
    beat = sum(1 for r in rows if not r.failed and beats_baseline(r.summary))
    failed = sum(1 for r in rows if r.failed)
    seconds = sum(v for r in rows if (v := _num(r.summary.get("seconds"))) is not None)
    return f"{beat} of {total} runs beat their baseline; {failed} failed; total time {fmt_seconds(seconds)}."


def _json_entry(row: RunRow) -> dict[str, Any]:
    entry = dict(row.summary)
    entry["run_dir"] = str(row.run_dir)
    if row.failed:
        entry["status"] = str(row.summary.get("status") or "failed")
        entry["reason"] = row.reason
    return entry


def write_reproduce_report(
    out_dir: Path, run_dirs: list[Path], *, title: str = "paperzoo reproduce"
) -> tuple[Path, Path]:
    """Write the sweep report of several runs.

    Writes ``out_dir/report.md``, ``out_dir/report.html`` (self-contained, thumbnails inlined) and
    ``out_dir/summary.json`` (a list with each run's summary plus ``run_dir``, and ``status``/``reason`` for
    failed runs). Runs without their own report get one written first.

    Args:
        out_dir: Destination folder (created).
        run_dirs: The run folders, in the order of the table.
        title: Page title.

    Returns:
        ``(report.md, report.html)`` paths.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [collect_run(Path(d), out_dir) for d in run_dirs]

    doc = Document(title=title)
    doc.add(Heading(1, title))
    doc.add(Paragraph([_totals(rows)]))
    doc.add(Heading(2, "Runs"))
    doc.add(Table(COLUMNS, [_table_row(r, out_dir) for r in rows]))

    failed = [r for r in rows if r.failed]
    if failed:
        doc.add(Heading(2, "Failures"))
        doc.add(Table(["system", "folder", "reason"], [[r.name, str(r.run_dir), str(r.reason)] for r in failed]))

    papers = [r for r in rows if isinstance(r.summary.get("paper"), dict)]
    if papers:
        doc.add(Heading(2, "Paper numbers"))
        table_rows: list[list[Inline]] = []
        for r in papers:
            p = r.summary["paper"]
            table_rows.append(
                [r.name, fmt_metric(p.get("value")), str(p.get("protocol") or MISSING), str(p.get("source") or MISSING)]
            )
        doc.add(Table(["system", "paper", "protocol", "source"], table_rows))

    if any(r.images for r in rows):
        doc.add(Heading(2, "Plots"))
        for r in rows:
            if r.images:
                doc.add(Heading(3, r.name), Gallery(r.images, thumbnails=True))

    entries = [_json_entry(r) for r in rows]
    (out_dir / "summary.json").write_text(json.dumps(entries, indent=2, default=str) + "\n", encoding="utf-8")
    return write_document(doc, out_dir / "report.md", out_dir / "report.html")
