"""The resnet_degradation recipe reproduces He et al.'s Fig. 6 on built-in data."""

from __future__ import annotations

from paperzoo.engine.run import run_recipe


def test_quick_recipe_shows_degradation_of_plain_nets_and_not_of_residual_nets(tmp_path) -> None:
    summary = run_recipe("resnet_degradation", out=tmp_path / "run", quiet=True, overrides=["train.tensorboard=false"])
    m = summary["metrics"]
    # Deeper plain net trains worse than the shallower one: the degradation problem.
    assert m["train_error/plain56"] > m["train_error/plain20"] + 0.1
    # The residual net of the same depth does not degrade.
    assert m["train_error/resnet56"] < m["train_error/plain56"] - 0.1
    assert m["train_error/resnet56"] <= m["train_error/plain20"] + 0.02
    assert summary["beats_baseline"] and summary["value"] > 0.8
    assert summary["baseline"]["value"] == m["test_acc/plain56"]
    table = summary["tables"]["plain vs residual (degradation)"]
    assert [row[0] for row in table["rows"]] == ["resnet56", "plain56", "plain20", "resnet20"]
    assert (tmp_path / "run" / "plots" / "degradation.png").is_file()
    assert "degradation" in (tmp_path / "run" / "report.md").read_text()
