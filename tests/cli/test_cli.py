"""The command line as a user meets it: listing, info, training, errors, eval, export, reproduce."""

from __future__ import annotations

import json

import pytest
import torch

from paperzoo.cli import main

QUICK = ["--steps", "40", "--quiet", "--set", "train.tensorboard=false", "--set", "train.eval_every=20"]


def test_list_and_info(capsys) -> None:
    assert main(["list", "linear*"]) == 0
    out = capsys.readouterr().out
    assert "linear_tiny" in out and "margin_digits" not in out
    assert main(["info", "linear", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == info["reference_params"] == 65 and info["params_match"] is True
    assert info["gmacs"] == pytest.approx(64 / 1e9)  # 64 multiply-adds for one example
    assert info["gflops"] == pytest.approx(128 / 1e9)  # two floating-point operations per multiply-add
    assert main(["info", "margin_digits"]) == 0
    assert "majority class" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "no_such_recipe"], "unknown recipe 'no_such_recipe'"),
        (["train", "margin_digit"], "did you mean margin_digits"),
        (["train", "margin_digits", "--data", "/nonexistent/file.svm"], "--data path does not exist: /nonexistent"),
        (["train", "margin_digits", "--set", "optim.lrr=0.1"], "unknown config key 'optim.lrr'; allowed here: "),
        (["train", "margin_digits", "--set", "train.steps=abc"], "'train.steps' expects int (got str 'abc')"),
        (["train", "margin_digits", "--set", "optim.lr"], "--set expects KEY=VALUE"),
        (["train", "margin_digits", "--set", "task.losses=[Hinge]", "--steps", "1"], "unknown margin loss 'Hinge'"),
        (["train", "margin_digits", "--config", "/nonexistent.yaml"], "config file not found"),
        (["train", "margin_digits", "--device", "tpu"], "--device must be cpu or cuda"),
        (["info", "resnet9000"], "unknown model or recipe 'resnet9000'"),
        (["eval", "/nonexistent-run"], "is not a run folder"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(argv, message, capsys, tmp_path) -> None:
    assert main([*argv, "--out", str(tmp_path / "r")] if argv[0] == "train" else argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("paperzoo: error: ") and message in err


def test_cli_subprocess_exit_code_and_no_traceback(cli) -> None:
    proc = cli("train", "margin_digits", "--set", "optim.nope=1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "paperzoo: error: unknown config key 'optim.nope'; allowed here: betas, eps, lr, momentum, name, nesterov, "
        "weight_decay"
    ]


def test_bad_data_file_names_file_and_line(tmp_path, capsys) -> None:
    bad = tmp_path / "train.svm"
    bad.write_text("+1 1:0.5 2:1\n-1 2:oops\n")
    assert main(["train", "margin_digits", "--data", str(bad), "--out", str(tmp_path / "r"), *QUICK]) == 2
    assert f"{bad}:2: malformed feature '2:oops'" in capsys.readouterr().err


def test_print_config_and_yaml_config(tmp_path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("optim:\n  lr: 0.05\ntrain:\n  steps: 7\n")
    assert main(["train", "margin_digits", "--config", str(cfg), "--set", "seed=3", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "lr: 0.05" in out and "steps: 7" in out and "seed: 3" in out and "recipe: margin_digits" in out


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, capsys) -> None:
    # ExpLoss with a huge learning rate overflows to inf within a few steps.
    argv = [
        "train",
        "margin_digits",
        "--out",
        str(tmp_path / "r"),
        "--quiet",
        "--steps",
        "200",
        "--set",
        "task.losses=[ExpLoss]",
        "--set",
        "optim.name=sgd",
        "--set",
        "optim.lr=1000.0",
        "--set",
        "train.ckpt_every=1",
        "--set",
        "train.tensorboard=false",
    ]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.startswith("paperzoo: training diverged: loss is") and "last.ckpt" in err
    state = torch.load(tmp_path / "r" / "last.ckpt", weights_only=True)
    assert 0 < state["step"] < 200
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "diverged"


def test_train_eval_export(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "margin_digits", "--out", str(run), *QUICK]) == 0
    assert "beats majority class" in capsys.readouterr().out
    summary = json.loads((run / "summary.json").read_text())
    for key in (
        "recipe",
        "model",
        "params",
        "seconds",
        "metric",
        "value",
        "higher_is_better",
        "baseline",
        "beats_baseline",
        "paper",
        "metrics",
    ):
        assert key in summary
    assert main(["eval", str(run)]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["acc_worst_surrogate"] == pytest.approx(summary["value"])

    assert main(["export", str(run), "--format", "pt2"]) == 0
    program = torch.export.load(str(run / "model.pt2"))
    x = torch.randn(5, 64)
    from paperzoo.engine.run import load_run

    _, _, exp = load_run(run)
    torch.testing.assert_close(program.module()(x), exp.model.eval()(x))

    pytest.importorskip("onnx")
    assert main(["export", str(run), "--format", "onnx"]) == 0
    import onnx

    graph = onnx.load(str(run / "model.onnx")).graph
    dim = graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param and not dim.dim_value  # symbolic (dynamic) batch dimension


def test_bench(capsys) -> None:
    assert main(["bench", "linear_tiny", "--steps", "2", "--batch-size", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["params"] == 9 and result["forward_ms"] > 0


def test_reproduce_quick_writes_combined_report(tmp_path, capsys, monkeypatch) -> None:
    # Shorten the quick config for the test; the row and links are what is checked here.
    from paperzoo.registry import get_recipe

    recipe = get_recipe("margin_digits")
    quick = {
        **recipe.configs["quick"],
        "train": {**recipe.configs["quick"]["train"], "steps": 60, "tensorboard": False},
    }
    monkeypatch.setitem(recipe.configs, "quick", quick)
    out = tmp_path / "repro"
    assert main(["reproduce", "margin*", "--quick", "--quiet", "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "margin_digits" in md and "majority class" in md and "1 of 1" in md
    assert (out / "report.html").is_file() and (out / "margin_digits" / "report.md").is_file()
    assert json.loads((out / "summary.json").read_text())[0]["recipe"] == "margin_digits"
    assert main(["reproduce", "nothing*"]) == 2
