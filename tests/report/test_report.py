"""Tests of ``paperzoo.report``: training curves, the per-run report and the sweep (reproduce) report."""

from __future__ import annotations

import base64
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml

from paperzoo.report import plot_training_curves, write_reproduce_report, write_run_report
from paperzoo.report.html import fmt_metric, fmt_params, fmt_seconds

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
EVIL = "<script>alert('x')</script>"


# --------------------------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------------------------


def write_metrics(path: Path, steps: int = 100) -> int:
    """Write a long-format metrics.csv; returns the number of data rows."""
    lines = ["step,split,name,value"]
    for step in range(1, steps + 1):
        lines.append(f"{step},train,loss,{2.0 * math.exp(-step / 30) + 0.05 * math.sin(step):.6f}")
        lines.append(f"{step},train,lr,{1e-3 * min(1.0, step / 10):.6g}")
        if step % 10 == 0:
            lines.append(f"{step},val,loss,{1.8 * math.exp(-step / 35):.6f}")
            lines.append(f"{step},val,acc,{1 - math.exp(-step / 25):.6f}")
            lines.append(f"{step},val,acc/L1HingeLoss,{0.9 - math.exp(-step / 20):.6f}")
            lines.append(f"{step},val,acc/MSE,{0.85 - math.exp(-step / 20):.6f}")
    lines.append(f"{steps},test,acc,0.981235")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def make_summary(recipe: str = "svm-losses", **overrides: Any) -> dict[str, Any]:
    """A summary.json payload as the trainer writes it."""
    summary: dict[str, Any] = {
        "recipe": recipe,
        "model": "mlp-2x256",
        "params": 1234567,
        "seconds": 12.345,
        "metric": "acc",
        "value": 0.98123456,
        "higher_is_better": True,
        "baseline": {"name": "logistic regression", "value": 0.95},
        "beats_baseline": True,
        "paper": None,
        "metrics": {"test/acc": 0.98123456, "test/loss": 0.0612345, "val/acc": 0.97},
        "config_name": "quick",
        "device": "cpu",
        "steps": 100,
        "status": "finished",
        "tables": {
            "Test accuracy per loss": {
                "columns": ["loss", "test acc", "converged"],
                "rows": [["L1HingeLoss", 0.9712345, True], ["SquaredHingeLoss", 0.9654321, False]],
            }
        },
    }
    summary.update(overrides)
    return summary


def make_run(root: Path, name: str = "run", *, metrics: bool = True, **overrides: Any) -> Path:
    """A complete fake run folder."""
    run = root / name
    (run / "plots").mkdir(parents=True)
    config = {
        "recipe": {"name": "svm-losses", "note": EVIL},
        "model": {"name": "mlp", "hidden": [256, 256]},
        "optim": {"name": "sgd", "lr": 0.001},
        "train": {"steps": 100, "seed": 0},
    }
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (run / "command.txt").write_text("paperzoo train svm-losses --quick\n", encoding="utf-8")
    if metrics:
        write_metrics(run / "metrics.csv")
    else:
        (run / "metrics.csv").write_text("step,split,name,value\n", encoding="utf-8")
    (run / "summary.json").write_text(json.dumps(make_summary(**overrides)), encoding="utf-8")
    (run / "plots" / "losses.png").write_bytes(TINY_PNG)  # a recipe-specific figure already present
    return run


class ImgCollector(HTMLParser):
    """Collects <img> attributes and checks the document nests properly."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.stack: list[str] = []
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>; open: {self.stack}"
        self.stack.pop()


def parse_html(text: str) -> ImgCollector:
    parser = ImgCollector()
    parser.feed(text)
    parser.close()
    assert parser.stack == [], parser.stack
    return parser


def assert_png_data_uri(src: str | None) -> None:
    assert src is not None and src.startswith("data:image/png;base64,"), (src or "")[:60]
    assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_MAGIC)


def md_images(md: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)


def table_after(md: str, heading: str) -> list[str]:
    """The data rows (no header/separator) of the first table after a Markdown heading."""
    section = md.split(heading, 1)[1].strip().splitlines()
    rows = []
    for line in section:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows[2:]


# --------------------------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------------------------


def test_number_formatting() -> None:
    assert fmt_metric(0.98123456) == "0.9812"
    assert fmt_metric(0.95) == "0.9500"
    assert fmt_metric(1234.0) == "1234"
    assert fmt_metric(12) == "12.00"
    assert fmt_metric(float("nan")) == "nan"
    assert fmt_metric(None) == "—"
    assert "%" not in fmt_metric(0.5)
    assert fmt_params(1234567) == "1,234,567"
    assert fmt_seconds(12.345) == "12.3 s"
    assert fmt_seconds(12.345, unit=False) == "12.3"


# --------------------------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------------------------


def test_plot_training_curves(tmp_path: Path) -> None:
    rows = write_metrics(tmp_path / "metrics.csv")
    assert rows >= 200
    paths = plot_training_curves(tmp_path / "metrics.csv", tmp_path / "plots")
    names = [p.name for p in paths]
    assert names == ["loss.png", "lr.png", "val_loss.png", "val_acc.png"]  # acc, acc/L1HingeLoss, acc/MSE share one
    for p in paths:
        assert p.parent == tmp_path / "plots"
        assert p.read_bytes().startswith(PNG_MAGIC)
        assert p.stat().st_size > 1000


@pytest.mark.parametrize("content", ["", "step,split,name,value\n", "step,split,name,value\nx,train,loss,nan?\n"])
def test_plots_empty_metrics(tmp_path: Path, content: str) -> None:
    (tmp_path / "metrics.csv").write_text(content, encoding="utf-8")
    assert plot_training_curves(tmp_path / "metrics.csv", tmp_path / "plots") == []
    assert plot_training_curves(tmp_path / "missing.csv", tmp_path / "plots") == []
    assert not (tmp_path / "plots").exists()


def test_plots_skip_non_finite(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text(
        "step,split,name,value\n1,train,loss,1.0\n2,train,loss,nan\n3,train,loss,inf\n4,train,loss,0.5\n",
        encoding="utf-8",
    )
    assert [p.name for p in plot_training_curves(tmp_path / "metrics.csv", tmp_path)] == ["loss.png"]


# --------------------------------------------------------------------------------------------------------------------
# Run report
# --------------------------------------------------------------------------------------------------------------------


def test_run_report_markdown(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    md_path, html_path = write_run_report(run)
    assert (md_path, html_path) == (run / "report.md", run / "report.html")
    md = md_path.read_text(encoding="utf-8")

    assert md.startswith("# svm-losses (finished)")
    headline = table_after(md, "## Headline")
    assert "0.9812" in headline[0]  # ours, 4 significant digits
    assert "logistic regression" in headline[1] and "0.9500" in headline[1]
    assert "not reported" not in md and "no comparable number in the paper" in headline[2]  # paper is null
    assert "Beats baseline: ✓" in md and "✗ no" not in md
    assert "1,234,567" in md and "12.3 s" in md and "cpu" in md
    for name, value in [("test/acc", "0.9812"), ("test/loss", "0.06123"), ("val/acc", "0.9700")]:
        assert f"| {name} | {value} |" in md
    table = table_after(md, "### Test accuracy per loss")
    assert table == ["| L1HingeLoss | 0.9712 | ✓ |", "| SquaredHingeLoss | 0.9654 | ✗ |"]
    assert "```yaml\n" in md and "hidden:" in md and EVIL in md.split("```yaml", 1)[1]  # verbatim in the code block
    assert "paperzoo train svm-losses --quick" in md

    links = md_images(md)
    assert set(links) == {
        "plots/losses.png",
        "plots/loss.png",
        "plots/lr.png",
        "plots/val_loss.png",
        "plots/val_acc.png",
    }
    for link in links:
        assert (run / unquote(link)).read_bytes().startswith(PNG_MAGIC)
    assert links[0] == "plots/losses.png"  # the recipe's own figure first, then the curves


def test_run_report_html(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    _, html_path = write_run_report(run)
    text = html_path.read_text(encoding="utf-8")
    parsed = parse_html(text)

    assert len(parsed.images) == len(list((run / "plots").glob("*.png"))) == 5
    for img in parsed.images:
        assert_png_data_uri(img.get("src"))
    assert "script" not in parsed.tags
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "0.9812" in text and "1,234,567" in text and "L1HingeLoss" in text
    assert "http://" not in text and "https://" not in text  # nothing external


def test_run_report_diverged_with_paper(tmp_path: Path) -> None:
    paper = {"value": 0.99, "protocol": "10-fold CV", "source": "Table 2"}
    run = make_run(tmp_path, status="diverged", beats_baseline=False, paper=paper, tables=None, value=0.5)
    md = write_run_report(run)[0].read_text(encoding="utf-8")
    assert md.startswith("# svm-losses (diverged)")
    assert "⚠ Run status: diverged" in md
    assert "Beats baseline: ✗ no" in md
    paper_row = table_after(md, "## Headline")[2]
    assert (
        "0.9900" in paper_row
        and "10-fold CV" in paper_row
        and "Table 2" in paper_row
        and "ours - paper = -0.4900" in paper_row
    )


def test_run_report_header_only_metrics(tmp_path: Path) -> None:
    run = make_run(tmp_path, metrics=False)
    (run / "plots" / "losses.png").unlink()
    md_path, html_path = write_run_report(run)
    assert list((run / "plots").glob("*.png")) == []
    assert md_images(md_path.read_text(encoding="utf-8")) == []
    assert parse_html(html_path.read_text(encoding="utf-8")).images == []


def test_run_report_without_summary(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / "summary.json").unlink()
    md = write_run_report(run)[0].read_text(encoding="utf-8")
    assert "summary.json is missing" in md
    assert "plots/loss.png" in md


# --------------------------------------------------------------------------------------------------------------------
# Reproduce report
# --------------------------------------------------------------------------------------------------------------------


def test_reproduce_report(tmp_path: Path) -> None:
    good = make_run(tmp_path / "runs", "a", recipe="svm-losses")
    worse = make_run(
        tmp_path / "runs",
        "b",
        recipe="resnet-cifar",
        value=0.9,
        beats_baseline=False,
        seconds=7.6,
        paper={"value": 0.93, "protocol": "test set, 1 crop", "source": "Table 6"},
    )
    broken = tmp_path / "runs" / "c"
    broken.mkdir()
    (broken / "command.txt").write_text("paperzoo train broken\n", encoding="utf-8")
    out = tmp_path / "reproduce"

    md_path, html_path = write_reproduce_report(out, [good, worse, broken], title="paperzoo reproduce --quick")
    assert (md_path, html_path) == (out / "report.md", out / "report.html")
    md = md_path.read_text(encoding="utf-8")
    assert md.startswith("# paperzoo reproduce --quick")
    assert "1 of 3 runs beat their baseline; 1 failed; total time 19.9 s." in md

    rows = table_after(md, "## Runs")
    assert len(rows) == 3
    assert rows[0].startswith("| svm-losses | mlp-2x256 | acc | 0.9812 | logistic regression 0.9500 | ✓ |")
    assert "| 12.3 | 1,234,567 | ok | [report](../runs/a/report.md) |" in rows[0]
    assert "| 0.9000 |" in rows[1] and "| ✗ |" in rows[1] and "0.9300" in rows[1] and "test set, 1 crop" in rows[1]
    assert rows[2].startswith("| c |") and "failed: summary.json missing" in rows[2]

    for run in (good, worse):  # the run reports were written on the way, and the links resolve
        assert (run / "report.md").is_file() and (run / "report.html").is_file()
    links = md_images(md)
    assert len(links) == 10 and all((out / unquote(link)).is_file() for link in links)

    parsed = parse_html(html_path.read_text(encoding="utf-8"))
    assert len(parsed.images) == 10
    for img in parsed.images:
        assert_png_data_uri(img.get("src"))
    assert "../runs/a/report.html" in parsed.links and "../runs/b/report.html" in parsed.links

    entries = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [e["run_dir"] for e in entries] == [str(good), str(worse), str(broken)]
    assert entries[0]["value"] == pytest.approx(0.98123456) and entries[2]["reason"] == "summary.json missing"


def test_reproduce_report_failed_statuses(tmp_path: Path) -> None:
    diverged = make_run(tmp_path, "d", status="diverged", beats_baseline=False)
    garbled = make_run(tmp_path, "g")
    (garbled / "summary.json").write_text("{not json", encoding="utf-8")
    missing = tmp_path / "nowhere"
    md = write_reproduce_report(tmp_path / "out", [diverged, garbled, missing])[0].read_text(encoding="utf-8")
    rows = table_after(md, "## Runs")
    assert len(rows) == 3
    assert "failed: diverged" in rows[0]
    assert "failed: summary.json unreadable" in rows[1]
    assert "failed: run folder missing" in rows[2]
    assert "0 of 3 runs beat their baseline; 3 failed" in md
    entries = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert [e["status"] for e in entries] == ["diverged", "failed", "failed"]
