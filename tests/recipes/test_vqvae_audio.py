"""The speech VQ-VAE recipe: incremental WaveNet sampling against the decoder's own teacher-forced forward, the
probes against naive loops, the learning test (codes recognise units far above the majority unit, and decoding
with another speaker's embedding is heard as that speaker well above chance and own-speaker decoding) and the full
config's VCTK path on the fixture."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import paperzoo.recipes.vqvae_audio  # noqa: F401  (registers the recipe)
from paperzoo.engine.run import run_recipe
from paperzoo.models.generative.vqvae import WaveNetDecoder, mu_law_decode, mu_law_encode
from paperzoo.recipes.vqvae_audio import (
    code_context_features,
    conversion_targets,
    fit_linear_classifier,
    latent_labels,
    majority_code_mapping,
    wavenet_generate,
)

VCTK = Path(__file__).parents[1] / "fixtures" / "vctk"


@pytest.mark.parametrize("kernel_size, dilations", [(2, (1, 2, 4, 8)), (3, (1, 3, 2))])
def test_incremental_sampling_matches_the_teacher_forced_decoder(kernel_size: int, dilations: tuple) -> None:
    torch.manual_seed(0)
    dec = WaveNetDecoder(
        5, upsample=8, num_speakers=3, speaker_dim=4, residual_channels=6, skip_channels=7,
        dilations=dilations, kernel_size=kernel_size,
    ).double().eval()  # fmt: skip
    for p in dec.parameters():  # larger weights than the default init, so every term matters
        torch.nn.init.normal_(p, std=0.5)
    latents, speaker = torch.randn(2, 5, 6, dtype=torch.float64), torch.tensor([0, 2])
    g = torch.Generator().manual_seed(1)
    audio, logits = wavenet_generate(dec, latents, speaker, generator=g, return_logits=True)
    assert audio.shape == (2, 48)
    # Every sample is a μ-law level, and the logits used to draw it are the decoder's on the finished audio.
    torch.testing.assert_close(mu_law_decode(mu_law_encode(audio)).double(), audio)
    with torch.no_grad():
        torch.testing.assert_close(dec(audio, latents, speaker), logits, rtol=1e-9, atol=1e-9)
    again = wavenet_generate(dec, latents, speaker, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(again, audio)


def test_latent_labels_and_majority_mapping_match_naive_loops() -> None:
    g = torch.Generator().manual_seed(0)
    units = torch.randint(0, 4, (3, 32), generator=g)
    units[0, :8] = 2
    labels = latent_labels(units, 8)
    for b in range(3):
        for i in range(4):
            window = units[b, 8 * i : 8 * i + 8].tolist()
            counts = [window.count(u) for u in range(4)]
            assert int(labels[b, i]) == counts.index(max(counts))  # most frequent, ties to the smallest
    codes = torch.randint(0, 5, (200,), generator=g)
    truth = torch.randint(0, 3, (200,), generator=g)
    mapping = majority_code_mapping(codes, truth, 6, 3)
    overall = max(range(3), key=lambda u: (truth == u).sum().item())
    for k in range(6):
        seen = truth[codes == k].tolist()
        expected = max(range(3), key=lambda u: (seen.count(u), -u)) if seen else overall
        assert int(mapping[k]) == expected


def test_code_context_features_and_conversion_targets() -> None:
    codes = torch.tensor([[1, 0, 2]])
    feats = code_context_features(codes, 3, 1)  # [previous, current, next] one-hots, zeros past the ends
    assert feats[0, 0].tolist() == [0, 0, 0, 0, 1, 0, 1, 0, 0]
    assert feats[0, 2].tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0]
    speakers = torch.arange(40) % 5
    targets = conversion_targets(speakers, 5)
    assert (targets != speakers).all() and set(((targets - speakers) % 5).tolist()) == {1, 2, 3, 4}


def test_linear_classifier_separates_separable_classes() -> None:
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 6, generator=g) * 4
    y = torch.arange(400) % 4
    x = centres[y] + torch.randn(400, 6, generator=g) * 0.3
    clf = fit_linear_classifier(x, y, 4)
    assert (clf.predict(x) == y).all()


def test_quick_codes_recognise_units_and_conversion_takes_the_target_voice(tmp_path) -> None:
    torch.set_num_threads(1)
    overrides = ["train.tensorboard=false"]  # the quick config's 48 conversion clips: 8 speakers × 6 pairs
    summary = run_recipe("vqvae_speech", out=tmp_path / "run", quiet=True, report=False, overrides=overrides)
    m = summary["metrics"]
    assert summary["beats_baseline"] and m["phoneme_accuracy"] > 3 * summary["baseline"]["value"]
    assert m["linear_probe_accuracy"] > 3 * summary["baseline"]["value"] and m["usage"] > 0.5
    assert m["real_unit_accuracy"] > 0.75  # the frame classifier that judges content works on real audio
    assert m["real_speaker_accuracy"] > 0.8  # and so does the speaker classifier
    # Speaker conversion: decoding A's codes with B's embedding is heard as B well above chance (1/8) and well
    # above the same codes decoded with A's own embedding (which is heard as B only by mistake).
    chance = m["chance_speaker_accuracy"]
    assert chance == pytest.approx(1 / 8)
    assert m["target_speaker_accuracy"] > chance + 0.08, m
    assert m["target_speaker_accuracy"] > m["own_speaker_as_target"] + 0.08, m
    assert m["own_speaker_accuracy"] > chance + 0.08, m  # own-speaker decoding keeps the voice
    assert 0.0 <= m["conversion/unit_accuracy"] <= 1.0
    assert len(list((tmp_path / "run" / "audio").glob("*.wav"))) == 6  # 2 clips: source, converted, own


def test_full_config_runs_on_the_vctk_fixture(tmp_path) -> None:
    overrides = [
        "train.tensorboard=false",
        "train.batch_size=2",
        "train.eval_batch_size=2",
        "train.eval_every=1",
        "train.ckpt_every=1",
        "task.crop=1088",
        "task.conversion_clips=1",
        "task.wav_files=1",
        "data.kwargs.segment_length=1088",  # > n_fft / 2 = 512 for the classifiers
        "data.kwargs.val_fraction=0.3",
        "data.kwargs.test_fraction=0.3",
    ]
    summary = run_recipe(
        "vqvae_speech", config_name="full", data=VCTK, steps=1, out=tmp_path / "run", quiet=True, report=False,
        overrides=overrides,
    )  # fmt: skip
    m = summary["metrics"]
    assert summary["steps"] == 1 and math.isfinite(m["nll_bits_per_sample"])
    assert math.isnan(summary["value"])  # VCTK has no alignments: the probe is not measured
    assert 0.0 <= m["target_speaker_accuracy"] <= 1.0 and m["chance_speaker_accuracy"] == pytest.approx(1 / 3)
