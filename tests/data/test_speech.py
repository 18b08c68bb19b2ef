"""synth_speech: seeded, balanced, labelled per sample; pitch and spectra match the synthesis parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paperzoo.data.speech import SPEAKERS, UNITS, random_unit_sequence, render_speech, synth_speech

SR = 8000
NAMES = [u[0] for u in UNITS]


def _steady(unit: str, speaker: int, length: int = 4096) -> np.ndarray:
    labels = np.full(length, NAMES.index(unit))
    return render_speech(labels, SPEAKERS[speaker], sample_rate=SR, rng=np.random.default_rng(0))


def _pitch(x: np.ndarray, lo: float = 70.0, hi: float = 400.0) -> float:
    """f0 from the autocorrelation peak (the naive definition: a direct sum for every lag)."""
    x = x - x.mean()
    lags = np.arange(int(SR / hi), int(SR / lo) + 1)
    ac = np.array([np.dot(x[:-lag], x[lag:]) for lag in lags])
    return SR / lags[int(ac.argmax())]


def test_is_seeded_balanced_and_labelled_per_sample() -> None:
    a = synth_speech(seed=3, num_train=16, num_val=4, num_test=8, length=1024)
    b = synth_speech(seed=3, num_train=16, num_val=4, num_test=8, length=1024)
    for x, y in zip(a.train.tensors, b.train.tensors):
        torch.testing.assert_close(x, y)
    audio, speaker, units = a.train.tensors
    assert audio.shape == units.shape == (16, 1024) and audio.dtype == torch.float32
    assert audio.abs().max() <= 1.0 and audio.std() > 0.02
    assert torch.bincount(speaker, minlength=4).tolist() == [4, 4, 4, 4]
    assert int(units.max()) < len(UNITS) and a.unit_names == NAMES


def test_unit_sequences_have_the_stated_durations_and_no_repeats() -> None:
    labels = random_unit_sequence(np.random.default_rng(0), 40_000, sample_rate=SR)
    change = np.flatnonzero(np.diff(labels)) + 1
    durations = np.diff(change)  # inner segments (the first and last may be cut)
    assert durations.min() >= 0.05 * SR and durations.max() <= 0.13 * SR
    segments = labels[np.r_[0, change]]
    assert (segments[1:] != segments[:-1]).all()


@pytest.mark.parametrize("speaker", [0, 1, 2])
def test_a_vowel_has_the_speakers_pitch(speaker: int) -> None:
    f0 = _pitch(_steady("a", speaker)[:2048])
    assert f0 == pytest.approx(SPEAKERS[speaker].f0, rel=0.1)  # ±8% declination and 2% vibrato


def test_spectral_shapes_follow_the_units_and_the_formant_scaling() -> None:
    def centroid(x: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / SR)
        return float((power * freqs).sum() / power.sum())

    assert centroid(_steady("s", 2)) > 2500 > 1000 > centroid(_steady("u", 2))
    # Formant scaling: speaker 1 (scale 1.18) has a brighter /i/ than speaker 0 (0.86).
    assert centroid(_steady("i", 1)) > centroid(_steady("i", 0))
    assert np.abs(_steady("sil", 0)).max() == 0.0


def test_the_same_content_renders_for_another_speaker() -> None:
    splits = synth_speech(seed=0, num_train=4, num_val=2, num_test=2, length=2048)
    units = torch.full((2, 2048), NAMES.index("o"))
    speakers = torch.tensor([0, 1])
    audio = splits.render(units, speakers)
    assert audio.shape == units.shape
    for x, s in zip(audio.numpy(), speakers.tolist()):
        assert _pitch(x) == pytest.approx(SPEAKERS[s].f0, rel=0.1)  # same content, the target speaker's voice
    torch.testing.assert_close(splits.render(units, speakers, seed=4), splits.render(units, speakers, seed=4))
