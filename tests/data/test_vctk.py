"""VCTK reader on the fixture in the published layout: metadata, per-speaker split, crops equal to the files'
samples (resampled with scipy's polyphase filter as a reference), and a DataFormatError for each malformed file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly

from paperzoo.data.errors import DataFormatError
from paperzoo.data.vctk import read_speaker_info, vctk

FIXTURE = Path(__file__).parents[1] / "fixtures" / "vctk"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "VCTK-Corpus"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("make.py"))
    return root


def test_reads_speakers_metadata_transcripts_and_a_per_speaker_split() -> None:
    splits = vctk(path=str(FIXTURE), segment_length=512, val_fraction=0.3, test_fraction=0.3)
    assert splits.speakers == ["p225", "p226", "p227"] and splits.sample_rate == 16000
    info = splits.speaker_info["p225"]
    assert (info.age, info.gender, info.accent, info.region) == (23, "F", "English", "Southern  England")
    assert splits.transcripts["p225_001"] == "Ask her to bring these things with her from the store."
    assert splits.transcripts["p227_003"] is None  # a WAV whose text the release lacks
    assert len(splits.train) == len(splits.val) == len(splits.test) == 3  # one utterance per speaker in each
    for part in (splits.train, splits.val, splits.test):
        audio, speaker, units = part.get_batch(range(len(part)))
        assert audio.shape == units.shape == (3, 512) and audio.dtype == torch.float32
        assert sorted(speaker.tolist()) == [0, 1, 2] and (units == -1).all()
    names = {p.name for part in (splits.train, splits.val, splits.test) for p, *_ in part.clips}
    assert len(names) == 9  # every utterance in exactly one split


def test_evaluation_items_are_the_resampled_file_zero_padded() -> None:
    splits = vctk(path=str(FIXTURE), segment_length=1024, val_fraction=0.3, test_fraction=0.3)
    path = splits.test.clips[0][0]
    data, rate = sf.read(str(path), dtype="float32")
    assert rate == 48000 and len(data) == 2400
    expected = resample_poly(data, 1, 3)  # 48 kHz → 16 kHz, 800 samples
    audio, _, _ = splits.test[0]
    np.testing.assert_allclose(audio[:800].numpy(), expected, atol=1e-6)
    assert (audio[800:] == 0).all()


def test_training_crops_are_windows_of_the_file() -> None:
    splits = vctk(path=str(FIXTURE), sample_rate=48000, segment_length=600, val_fraction=0.3, test_fraction=0.3)
    data, _ = sf.read(str(splits.train.clips[0][0]), dtype="float32")
    torch.manual_seed(0)
    starts = set()
    for _ in range(4):
        crop = splits.train[0][0].numpy()
        hits = [s for s in range(len(data) - 600 + 1) if np.array_equal(data[s : s + 600], crop)]
        assert hits, "a training crop is not a window of its file"
        starts.add(hits[0])
    assert len(starts) > 1  # random starts


def test_speaker_info_accepts_both_release_spellings(tmp_path: Path) -> None:
    path = tmp_path / "speaker-info.txt"
    path.write_text("ID  AGE  GENDER  ACCENTS  REGION COMMENTS\np225  23  F    English    Southern  England\n")
    assert read_speaker_info(path)["p225"].region == "Southern  England"


@pytest.mark.parametrize(
    "break_it, match",
    [
        (lambda r: (r / "speaker-info.txt").write_text("ID AGE\n225 23 X English\n"), r"speaker-info.txt:2: expected"),
        (
            lambda r: (r / "speaker-info.txt").write_text("225 23 F English\n"),
            r"speaker-info.txt:1: expected the header",
        ),
        (lambda r: (r / "txt" / "p225" / "p225_001.txt").write_text("  \n"), "empty transcript"),
        (lambda r: (r / "txt" / "p225" / "p225_002.txt").write_bytes(b"\xff\xfe\xfa"), "not UTF-8"),
        (lambda r: (r / "wav48" / "p226" / "p226_002.wav").write_bytes(b"RIFF0000WAVE"), "unreadable audio"),
        (lambda r: (r / "wav48" / "p226" / "notes.txt").write_text("x"), r"expected only p226_<utt>\.wav"),
        (lambda r: (r / "wav48" / "p226" / "p225_009.wav").write_bytes(b""), r"expected only p226_<utt>\.wav"),
        (lambda r: sf.write(str(r / "wav48" / "p227" / "p227_002.wav"), np.zeros((10, 2)), 48000), "2 channels"),
        (lambda r: shutil.rmtree(r / "wav48"), "no wav48/ folder"),
    ],
)
def test_malformed_files_raise_with_the_file(tmp_path: Path, break_it, match: str) -> None:
    root = _copy(tmp_path)
    break_it(root)
    with pytest.raises(DataFormatError, match=match):
        vctk(path=str(root))
