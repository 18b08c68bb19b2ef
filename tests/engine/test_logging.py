"""metrics.csv logging and truncation on resume."""

from __future__ import annotations

import csv

from paperzoo.engine.logging import MetricLogger, truncate_metrics


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_logger_writes_header_and_long_rows(tmp_path):
    log = MetricLogger(tmp_path, tensorboard=False)
    log.log(1, "train", {"loss": 0.5, "acc": 0.25})
    log.log(2, "val", {"acc": 1 / 3})
    log.log(3, "train", {})  # nothing to write
    log.close()
    assert _rows(tmp_path / "metrics.csv") == [
        ["step", "split", "name", "value"],
        ["1", "train", "loss", "0.5"],
        ["1", "train", "acc", "0.25"],
        ["2", "val", "acc", "0.33333333"],
    ]


def test_logger_appends_to_existing_file_without_second_header(tmp_path):
    log = MetricLogger(tmp_path, tensorboard=False)
    log.log(1, "train", {"loss": 2})
    second = MetricLogger(tmp_path, tensorboard=False)
    second.log(2, "train", {"loss": 1})
    assert _rows(tmp_path / "metrics.csv") == [
        ["step", "split", "name", "value"],
        ["1", "train", "loss", "2"],
        ["2", "train", "loss", "1"],
    ]


def test_truncate_drops_rows_after_step_and_keeps_header(tmp_path):
    log = MetricLogger(tmp_path, tensorboard=False)
    for step in range(1, 6):
        log.log(step, "train", {"loss": step / 10})
        if step % 2 == 0:
            log.log(step, "val", {"acc": step / 100})
    path = tmp_path / "metrics.csv"
    truncate_metrics(path, 3)
    assert _rows(path) == [
        ["step", "split", "name", "value"],
        ["1", "train", "loss", "0.1"],
        ["2", "train", "loss", "0.2"],
        ["2", "val", "acc", "0.02"],
        ["3", "train", "loss", "0.3"],
    ]
    truncate_metrics(path, 0)
    assert _rows(path) == [["step", "split", "name", "value"]]
    # logging after truncation continues the same file
    MetricLogger(tmp_path, tensorboard=False).log(1, "train", {"loss": 9})
    assert _rows(path) == [["step", "split", "name", "value"], ["1", "train", "loss", "9"]]


def test_truncate_missing_file_is_a_no_op(tmp_path):
    truncate_metrics(tmp_path / "metrics.csv", 3)
    assert list(tmp_path.iterdir()) == []


def test_logger_without_run_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    log = MetricLogger(None)
    assert log.path is None
    log.log(1, "train", {"loss": 1.0})
    log.close()
    assert list(tmp_path.iterdir()) == []
