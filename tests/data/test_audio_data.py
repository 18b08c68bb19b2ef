"""Vocoder datasets: synth_audio's signals (seeded, band-limited, enveloped where they should be), the (mel, audio)
pairs against the features recomputed, crops and padding against slices, the LJSpeech reader on fixture files in
the published layout (and its errors), WAV round trips, and the mel filterbank against librosa's (stored
fixtures from tests/fixtures/librosa_mel/make.py, and librosa itself where it is installed)."""

from __future__ import annotations

import io
import os
import re
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from paperzoo.data.audio import (
    MelSpectrogram,
    WaveformSegments,
    _pcm_wav_bytes,
    conditioning_mel,
    espeak_available,
    espeak_speech,
    ljspeech,
    mel_filterbank,
    read_ljspeech_metadata,
    read_wav,
    synth_audio,
    synth_waveforms,
    write_wav,
)
from paperzoo.data.errors import DataFormatError

FIXTURES = Path(__file__).parents[1] / "fixtures"
LJ = FIXTURES / "ljspeech"


# --------------------------------------------------------------------------------------------------- synth_audio


def test_synth_waveforms_are_seeded_and_scaled() -> None:
    a, ka = synth_waveforms(64, 1024, seed=3)
    b, kb = synth_waveforms(64, 1024, seed=3)
    c, _ = synth_waveforms(64, 1024, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ka, kb)
    assert not np.allclose(a, c)
    assert a.shape == (64, 1024) and a.dtype == np.float32
    peaks = np.abs(synth_waveforms(64, 1024, seed=3, noise_floor_db=None)[0]).max(1)
    assert peaks.min() >= 0.2 - 1e-6 and peaks.max() <= 0.5 + 1e-6
    assert set(ka.tolist()) == {0, 1, 2, 3}


def test_synth_waveforms_stay_below_the_harmonic_limit() -> None:
    # Harmonics at or above 0.45 × the sample rate are dropped: almost no energy lies above 0.47 × sr.
    audio, _ = synth_waveforms(128, 2048, sample_rate=8000, seed=0, noise_floor_db=None)
    power = np.abs(np.fft.rfft(audio * np.hanning(2048), axis=1)) ** 2
    freqs = np.fft.rfftfreq(2048, 1 / 8000)
    assert (power[:, freqs > 0.47 * 8000].sum(1) / power.sum(1)).max() < 1e-3


def test_tones_are_steady_and_envelopes_are_not() -> None:
    audio, kind = synth_waveforms(200, 4096, seed=1, kinds=("tone", "envelope"), noise_floor_db=None)
    frame_rms = np.sqrt((audio.reshape(200, 16, 256) ** 2).mean(2))  # 32 ms frames
    spread = frame_rms.max(1) / np.maximum(frame_rms.min(1), 1e-9)
    assert spread[kind == 0].max() < 1.5  # a steady tone (harmonics beat a little within a frame)
    assert np.median(spread[kind == 1]) > 3.0  # percussive decays and deep tremolos


def test_synth_waveforms_noise_floor_has_its_level() -> None:
    clean, _ = synth_waveforms(8, 4096, seed=2, noise_floor_db=None)
    noisy, _ = synth_waveforms(8, 4096, seed=2, noise_floor_db=-40.0)
    assert np.std(noisy - clean) == pytest.approx(0.01, rel=0.05)


def test_synth_audio_pairs_hold_the_features_of_their_audio() -> None:
    splits = synth_audio(num_train=8, num_val=4, num_test=4, segment_length=512, seed=5)
    mel, audio = splits.train.tensors
    assert mel.shape == (8, 16, 32) and audio.shape == (8, 512) and splits.hop_length == 16
    torch.testing.assert_close(mel, splits.mel(audio)[..., :32])
    assert not torch.allclose(splits.val.tensors[1], splits.test.tensors[1][: len(splits.val.tensors[1])])
    again = synth_audio(num_train=8, num_val=4, num_test=4, segment_length=512, seed=5)
    torch.testing.assert_close(again.test.tensors[1], splits.test.tensors[1])
    with pytest.raises(ValueError, match="multiple of hop_length"):
        synth_audio(segment_length=500)


def test_conditioning_mel_is_the_first_frames() -> None:
    mel = MelSpectrogram(8000, 256, hop_length=16, win_length=256, n_mels=16, f_max=None)
    audio = torch.randn(2, 480)
    full = mel(audio)
    assert full.shape[-1] == 31
    torch.testing.assert_close(conditioning_mel(mel, audio), full[..., :30])
    with pytest.raises(ValueError, match="multiple of hop_length"):
        conditioning_mel(mel, torch.randn(2, 481))


def test_speech_kind_needs_espeak() -> None:
    if not espeak_available():
        with pytest.raises(ValueError, match="espeak-ng"):
            synth_waveforms(4, 1024, kinds=("speech",))
        pytest.skip("espeak-ng is not installed here: the speech kind was checked to fail with a clear message")
    audio = espeak_speech("Glue the sheet to the dark blue background.", sample_rate=8000)
    assert len(audio) > 8000 and np.abs(audio).max() > 0.05  # more than a second of audible speech
    clips, _ = synth_waveforms(4, 1024, kinds=("speech",), seed=0)
    assert clips.shape == (4, 1024) and np.isfinite(clips).all()


_FAKE_ESPEAK = """#!{python}
# A stand-in for espeak-ng: a 0.5 s, 440 Hz tone at 22,050 Hz as a WAV stream on stdout (data size 0xFFFFFFFF).
import struct, sys, math
rate, n = 22050, 11025
pcm = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n))
fmt = struct.pack("<HHIIHH", 1, 1, rate, 2 * rate, 2, 16)
sys.stdout.buffer.write(b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<I", 16) + fmt)
sys.stdout.buffer.write(b"data" + struct.pack("<I", 0xFFFFFFFF) + pcm)
"""


def test_espeak_path_with_a_stand_in_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    exe = tmp_path / "espeak-ng"
    exe.write_text(_FAKE_ESPEAK.format(python=sys.executable))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ.get('PATH', '')}")
    assert espeak_available()
    audio = espeak_speech("anything", sample_rate=8000)
    assert len(audio) == 4000  # 0.5 s resampled from 22,050 to 8,000 Hz
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(4000, 1 / 8000)[spectrum.argmax()] == pytest.approx(440, abs=2)
    clips, kind = synth_waveforms(6, 512, kinds=("tone", "speech"), seed=0, noise_floor_db=None)
    speech = clips[kind == 1]
    assert len(speech) and np.abs(speech).max(1).min() >= 0.2 - 1e-6  # scaled like every other clip


def test_streamed_wav_bytes_ignore_a_bogus_data_size() -> None:
    # espeak-ng --stdout writes a stream whose data chunk size cannot be trusted
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(np.arange(-50, 50, dtype="<i2").tobytes())
    data = bytearray(buf.getvalue())
    at = data.index(b"data")
    data[at + 4 : at + 8] = b"\xff\xff\xff\x7f"
    audio, rate = _pcm_wav_bytes(bytes(data))
    assert rate == 22050
    np.testing.assert_array_equal(audio * 32768, np.arange(-50, 50))


# ------------------------------------------------------------------------------------------- crops and WAV files


def test_waveform_segments_crop_centre_random_and_pad() -> None:
    mel = MelSpectrogram(8000, 64, hop_length=16, win_length=64, n_mels=8, f_max=None)
    clips = [np.arange(200, dtype=np.float32) / 200, np.ones(40, dtype=np.float32)]
    fixed = WaveformSegments(clips, mel, segment_length=64, random_crop=False)
    m, a = fixed.get_batch([0, 1])
    np.testing.assert_array_equal(a[0].numpy(), clips[0][68:132])  # (200 - 64) // 2 = 68
    np.testing.assert_array_equal(a[1].numpy(), np.r_[np.ones(40), np.zeros(24)])  # zero-padded at the end
    torch.testing.assert_close(m, conditioning_mel(mel, a))
    rand = WaveformSegments(clips, mel, segment_length=64, random_crop=True)
    torch.manual_seed(0)
    starts = {int(round(float(rand[0][1][0]) * 200)) for _ in range(30)}
    assert len(starts) > 5 and min(starts) >= 0 and max(starts) <= 136
    with pytest.raises(ValueError, match="segment_length"):
        WaveformSegments(clips, mel, segment_length=60, random_crop=False)


def test_wav_round_trip(tmp_path: Path) -> None:
    x = np.sin(np.linspace(0, 20, 1000)) * 0.5
    path = write_wav(tmp_path / "a.wav", torch.from_numpy(x), 16000)
    y, rate = read_wav(path)
    assert rate == 16000 and y.shape == (1000,)
    np.testing.assert_allclose(y, x, atol=1 / 32767)
    with pytest.raises(ValueError, match="mono"):
        write_wav(tmp_path / "b.wav", np.zeros((2, 10)), 16000)


# ------------------------------------------------------------------------------------------------------ LJSpeech


def test_ljspeech_metadata_rows() -> None:
    rows = read_ljspeech_metadata(LJ / "metadata.csv")
    assert [r[0] for r in rows] == ["LJ001-0001", "LJ001-0002", "LJ001-0003"]
    assert rows[2][1].endswith('by "the" printer;') and "fourteen fifty-five" in rows[2][2]  # no CSV quoting
    assert rows[1][3] == 2


def test_ljspeech_reads_the_fixture_in_file_order() -> None:
    splits = ljspeech(path=str(LJ), num_val=1, num_test=1, eval_segment_length=1200)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (1, 1, 1)
    assert splits.sample_rate == 22050 and splits.hop_length == 300 and splits.mel.n_mels == 80
    mel, audio = splits.test.get_batch([0])
    assert mel.shape == (1, 80, 4) and audio.shape == (1, 1200)
    clip, rate = read_wav(LJ / "wavs" / "LJ001-0003.wav")
    start = (len(clip) - 1200) // 2
    np.testing.assert_array_equal(audio[0].numpy(), clip[start : start + 1200])  # the centre crop of the last clip
    mel_t, audio_t = splits.train.get_batch([0])  # 2646 samples, zero-padded to 7200
    assert audio_t.shape == (1, 7200) and mel_t.shape == (1, 80, 24)
    assert float(audio_t[0, 2646:].abs().max()) == 0.0
    np.testing.assert_array_equal(audio_t[0, :2646].numpy(), read_wav(LJ / "wavs" / "LJ001-0001.wav")[0])


def _copy_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "LJSpeech-1.1"
    shutil.copytree(LJ, root, ignore=shutil.ignore_patterns("make.py"))
    return root


def test_ljspeech_malformed_row_names_file_and_line(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    meta = root / "metadata.csv"
    lines = meta.read_text().splitlines()
    meta.write_text("\n".join([lines[0], "LJ001-0002|only two fields", lines[2]]) + "\n")
    with pytest.raises(DataFormatError, match=re.escape(f"{meta}:2: expected 3")):
        ljspeech(path=str(root), num_val=1, num_test=1)
    meta.write_text("\n".join([lines[0], lines[0], lines[2]]) + "\n")
    with pytest.raises(DataFormatError, match="repeats line 1"):
        read_ljspeech_metadata(meta)


def test_ljspeech_missing_wav_names_the_row(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    (root / "wavs" / "LJ001-0002.wav").unlink()
    with pytest.raises(DataFormatError, match=re.escape(f"{root / 'metadata.csv'}:2: wavs/LJ001-0002.wav not found")):
        ljspeech(path=str(root / "metadata.csv"), num_val=1, num_test=1)


def test_ljspeech_wrong_sample_rate_or_channels(tmp_path: Path) -> None:
    import soundfile as sf

    root = _copy_fixture(tmp_path)
    wav = root / "wavs" / "LJ001-0003.wav"
    sf.write(str(wav), np.zeros(1600, dtype=np.float32), 16000, subtype="PCM_16")
    with pytest.raises(DataFormatError, match=r"LJ001-0003\.wav: sample rate 16000 Hz, expected 22050 Hz.*line 3"):
        ljspeech(path=str(root), num_val=1, num_test=1)
    sf.write(str(wav), np.zeros((1600, 2), dtype=np.float32), 22050, subtype="PCM_16")
    with pytest.raises(DataFormatError, match="2 channels, expected mono"):
        ljspeech(path=str(root), num_val=1, num_test=1)
    with pytest.raises(ValueError, match="more than num_val"):
        ljspeech(path=str(LJ), num_val=2, num_test=1)


# ------------------------------------------------------------------------------------ librosa's mel filterbank


def _cases() -> list[tuple[str, dict]]:
    with np.load(FIXTURES / "librosa_mel" / "filterbanks.npz") as z:
        names = [k for k in z.files if k != "librosa_version"]
    out = []
    for name in names:
        m = re.fullmatch(r"sr(\d+)_fft(\d+)_mels(\d+)_fmin([\d.]+)_fmax([\d.]+)_(htk|slaney)_(slaney|None)", name)
        assert m, name
        kw = dict(
            sample_rate=int(m[1]),
            n_fft=int(m[2]),
            n_mels=int(m[3]),
            f_min=float(m[4]),
            f_max=float(m[5]),
            htk=m[6] == "htk",
            norm=None if m[7] == "None" else "slaney",
        )
        out.append((name, kw))
    return out


def test_filterbank_matches_stored_librosa_filterbanks() -> None:
    cases = _cases()
    assert len(cases) == 7
    with np.load(FIXTURES / "librosa_mel" / "filterbanks.npz") as z:
        for name, kw in cases:
            ours = mel_filterbank(**kw).double().numpy()
            assert ours.shape == z[name].shape, name
            np.testing.assert_allclose(ours, z[name], rtol=0, atol=1e-6, err_msg=name)


def test_filterbank_matches_librosa_when_installed() -> None:
    librosa = pytest.importorskip("librosa")
    for htk in (False, True):
        for norm in ("slaney", None):
            ref = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, fmin=50.0, fmax=7000.0, htk=htk, norm=norm)
            ours = mel_filterbank(16000, 512, 40, 50.0, 7000.0, htk=htk, norm=norm).numpy()
            np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_datasets_are_registered_as_builtin_and_reader() -> None:
    from paperzoo.registry import create_dataset, get_dataset_entry

    assert get_dataset_entry("synth_audio").builtin
    entry = get_dataset_entry("ljspeech")
    assert not entry.builtin and "metadata.csv" in entry.file_format and "22,050 Hz" in entry.file_format
    assert len(create_dataset("ljspeech", path=str(LJ), num_val=1, num_test=1).train) == 1
