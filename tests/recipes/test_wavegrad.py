"""The wavegrad recipe: schedules against their closed forms, the batched sampler against Algorithm 2 run one
schedule at a time, the grid search against scoring every candidate separately, the full LJSpeech config for two
steps on the fixture at full network size, and the quick learning test (searched 6-step schedule close to the
50-step one, far below the noise baseline)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from paperzoo import create_model
from paperzoo.data.audio import MelSpectrogram
from paperzoo.engine.run import run_recipe
from paperzoo.metrics.audio import log_mel_mse
from paperzoo.models.generative.wavegrad import sample
from paperzoo.recipes.wavegrad import (
    PAPER_SCHEDULES,
    fibonacci_betas,
    grid_candidates,
    grid_search_schedule,
    make_schedule,
    noise_baseline,
    sample_schedules,
)
from paperzoo.registry import get_recipe

LJ = Path(__file__).parents[1] / "fixtures" / "ljspeech"


def test_schedules_match_their_closed_forms() -> None:
    torch.testing.assert_close(
        make_schedule("linear 50 1e-4 0.05"), torch.linspace(1e-4, 0.05, 50, dtype=torch.float64)
    )
    fib = [1, 2, 3, 5, 8, 13, 21, 34]
    torch.testing.assert_close(fibonacci_betas(8, 1e-6), torch.tensor(fib, dtype=torch.float64) * 1e-6)
    assert len(make_schedule(PAPER_SCHEDULES["wg25"])) == 25
    assert float(make_schedule(PAPER_SCHEDULES["wg25"])[-1]) == pytest.approx(121393e-6)  # F(26) · 1e-6
    assert make_schedule([0.1, 0.2]).tolist() == [0.1, 0.2]
    for bad in ("linear 10 0.1 1.5", "cosine 10", [0.5, 1.0], "fibonacci 40 1e-3"):
        with pytest.raises(ValueError):
            make_schedule(bad)


def test_grid_candidates_are_mantissas_times_decades() -> None:
    grid = grid_candidates(6, (1.0, 3.0, 7.0), (-6.0, -1.0))
    assert grid.shape == (729, 6) and (grid < 1).all()
    expected = [[m * 10.0**e for m, e in zip(ms, range(-6, 0))] for ms in itertools.product((1.0, 3.0, 7.0), repeat=6)]
    torch.testing.assert_close(grid, torch.tensor(expected, dtype=torch.float64))
    assert len(grid_candidates(2, (1.0, 20.0), (-2.0, -1.0))) == 2  # 20 · 0.1 >= 1 is dropped


def _tiny() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = create_model("wavegrad_tiny").eval()
    mel = torch.randn(2, 16, 8)
    audio = 0.1 * torch.randn(2, 128)
    return model, mel, audio


def test_batched_sampler_equals_algorithm_2_one_schedule_at_a_time() -> None:
    model, mel, _ = _tiny()
    betas = torch.tensor(
        [[1e-4, 1e-3, 1e-2, 0.3], [3e-4, 3e-3, 3e-2, 0.5], [1e-3, 1e-2, 0.1, 0.7]], dtype=torch.float64
    )
    batched = sample_schedules(model, mel, betas, torch.Generator().manual_seed(7), max_rows=4)  # chunks of 4 rows
    assert batched.shape == (3, 2, 128)
    for k in range(3):
        ref = sample(model, mel, betas[k], torch.Generator().manual_seed(7))
        torch.testing.assert_close(batched[k], ref, atol=1e-5, rtol=1e-5)


def test_grid_search_returns_the_best_of_separately_scored_candidates() -> None:
    model, mel, audio = _tiny()
    metric = MelSpectrogram(8000, 64, hop_length=16, win_length=64, n_mels=8, f_max=None)
    found = grid_search_schedule(
        model, mel, audio, metric, iterations=2, mantissas=(1.0, 5.0), exponents=(-2.0, -1.0), seed=3, max_rows=2
    )
    assert found.candidates.shape == (4, 2)
    for k, betas in enumerate(found.candidates):
        y = sample(model, mel, betas, torch.Generator().manual_seed(3))
        assert float(found.scores[k]) == pytest.approx(float(log_mel_mse(y, audio, metric).mean()), rel=1e-4)
    assert torch.equal(found.betas, found.candidates[found.scores.argmin()])
    assert found.score == float(found.scores.min())


def test_noise_baseline_has_each_clips_rms() -> None:
    audio = torch.randn(3, 20000) * torch.tensor([[0.01], [0.1], [0.5]])
    noise = noise_baseline(audio, seed=0)
    torch.testing.assert_close(noise.pow(2).mean(1).sqrt(), audio.pow(2).mean(1).sqrt(), rtol=0.03, atol=0)
    assert torch.equal(noise, noise_baseline(audio, seed=0))


def test_full_config_is_the_papers_setup() -> None:
    full = get_recipe("wavegrad").configs["full"]
    assert full["model"] == {"name": "wavegrad_base", "kwargs": {}} and full["data"]["name"] == "ljspeech"
    assert (full["train"]["batch_size"], full["train"]["steps"], full["optim"]["lr"]) == (256, 1_000_000, 2e-4)
    kw = full["data"]["kwargs"]
    assert (kw["segment_length"], kw["hop_length"], kw["n_mels"], kw["sample_rate"]) == (7200, 300, 80, 22050)
    assert full["task"]["train_schedule"] == "linear 1000 1e-6 0.01"


def test_full_config_runs_two_steps_on_the_ljspeech_fixture(tmp_path: Path) -> None:
    # Full network (15.8M parameters), 7,200-sample training crops; held-out items shortened to 1,200 samples and
    # only the paper's 6-step schedule plus a one-candidate search, to keep the test fast.
    overrides = [
        "train.tensorboard=false",
        "train.batch_size=1",
        "train.eval_batch_size=1",
        "train.num_workers=0",
        "data.kwargs.num_val=1",
        "data.kwargs.num_test=1",
        "data.kwargs.eval_segment_length=1200",
        "task.schedules.wg1000=null",
        "task.schedules.wg50=null",
        "task.schedules.wg25=null",
        "task.compare_to=wg6_paper",
        "task.search.mantissas=[7.0]",
        "task.search.clips=1",
        "task.eval_clips=1",
        "task.wav_files=1",
    ]
    summary = run_recipe(
        "wavegrad",
        config_name="full",
        data=LJ,
        steps=2,
        out=tmp_path / "run",
        quiet=True,
        report=False,
        overrides=overrides,
    )
    assert summary["status"] == "finished" and summary["steps"] == 2
    assert summary["params"] == 15_810_401
    m = summary["metrics"]
    assert m["search/candidates"] == 1.0
    # an untrained network's audio may diverge (its FiLM products grow fast), so only these must be finite
    for key in ("loss", "baseline/ls_mse", "baseline/mr_stft", "rtf/wg6_paper", "rtf/wg6_searched"):
        assert torch.isfinite(torch.tensor(m[key])), key
    assert (tmp_path / "run" / "audio" / "clip0_wg6_searched.wav").is_file()


def test_quick_recipe_searched_six_steps_match_fifty_and_beat_noise(tmp_path: Path) -> None:
    # The quick config as it is: 300 steps of wavegrad_tiny on synth_audio, 729-schedule search, every schedule.
    summary = run_recipe(
        "wavegrad", out=tmp_path / "run", quiet=True, report=False, overrides=["train.tensorboard=false"]
    )
    m = summary["metrics"]
    assert summary["metric"] == "ls_mse" and summary["value"] == m["ls_mse"] == pytest.approx(m["ls_mse/wg6_searched"])
    assert m["ls_mse/wg6_searched"] <= 1.2 * m["ls_mse/wg50"]  # the claim, tolerance 20%
    assert m["claim/wg6_close_to_compare"] == 1.0
    assert summary["beats_baseline"] and m["ls_mse"] < 0.75 * summary["baseline"]["value"]
    assert m["mr_stft/wg6_searched"] < m["baseline/mr_stft"]
    assert m["search/candidates"] == 729.0
    assert m["rtf/wg6_searched"] < m["rtf/wg50"] < m["rtf/wg1000"]
    table = next(v for k, v in summary["tables"].items() if k.startswith("inference schedules"))
    assert [r[0] for r in table["rows"]] == ["wg1000", "wg50", "wg25", "wg6_paper", "wg6_searched", "noise (clip RMS)"]
    run = tmp_path / "run"
    assert (run / "plots" / "spectrograms.png").is_file() and (run / "plots" / "noise_schedules.png").is_file()
    assert len(list((run / "audio").glob("clip*_*.wav"))) == 2 * 7
