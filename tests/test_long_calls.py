"""Long recordings (issue 14, item 12): memory follows what a stage must hold, not a multiple of
the call. Measured with tracemalloc, which counts numpy's arrays; bench/memory.py measures the
whole worker."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from audio_factory import encode, tone
from conftest import SAMPLES

from qa.config import Config
from qa.speech import pipeline as pipeline_module
from qa.speech.audio import load_audio
from qa.speech.diarization.fbank import kaldi_fbank
from qa.speech.diarization.mono import diarize_mono
from qa.speech.peaks import compute_peaks

MINUTES = 20


def traced_peak(run: Callable[[], Any]) -> tuple[Any, int]:
    """What `run` returns, and the most memory its allocations held at once, in bytes."""
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def long_call(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 minutes of 8 kHz stereo FLAC: a tone burst on alternate channels every 30 s."""
    burst = tone(5.0, 8000, 2)
    samples = np.zeros((2, MINUTES * 60 * 8000), dtype=np.float32)
    for index in range(MINUTES * 2):
        samples[index % 2, index * 30 * 8000:index * 30 * 8000 + burst.shape[1]] = burst[index % 2]
    path = encode(samples, 8000, tmp_path_factory.mktemp("long") / "long.flac", "flac")
    return path


def test_a_long_call_is_decoded_to_disk_and_read_a_stretch_at_a_time(long_call: Path) -> None:
    audio, peak = traced_peak(lambda: load_audio(long_call))
    with audio:
        assert audio.duration == pytest.approx(MINUTES * 60, abs=0.1) and audio.channels == 2
        decoded = audio.length * audio.channels * 4  # bytes of float32 samples
        assert peak < 0.05 * decoded  # decoding holds a chunk, not the call
        whole = audio.window()
        assert whole.shape == (2, audio.length) and whole.dtype == np.float32
        cut = audio.length // 3
        assert np.array_equal(np.concatenate([audio.window(0, cut), audio.window(cut)], axis=1), whole)
        assert np.array_equal(audio.mono(cut, cut + 8000), whole[:, cut:cut + 8000].mean(axis=0))
        assert np.abs(whole[0, :29 * 16000]).max() > 0.1 and np.abs(whole[1, :29 * 16000]).max() == 0  # channels kept apart


def test_the_waveform_of_a_long_call_is_read_bucket_by_bucket(long_call: Path) -> None:
    with load_audio(long_call) as audio:
        decoded = audio.length * audio.channels * 4
    peaks, peak = traced_peak(lambda: compute_peaks(long_call, Config()))
    assert len(peaks["peaks"]) == 1200 and max(peaks["peaks"]) == 1.0
    assert peak < 0.05 * decoded


def test_mono_diarization_reads_a_long_call_window_by_window(models_dir: Path) -> None:
    """The same speakers from the call read window by window (features per window, on the one
    frame grid) as from the whole call in memory."""
    with load_audio(SAMPLES / "calls" / "c04_no_closing.wav") as audio:
        assert audio.channels == 1
        assert diarize_mono(audio, models_dir) == diarize_mono(audio.mono(), models_dir)


def test_filterbank_features_of_a_long_call_are_computed_in_blocks(long_call: Path) -> None:
    mono = load_audio(long_call).mono()
    features, peak = traced_peak(lambda: kaldi_fbank(mono))
    assert features.shape == (1 + (len(mono) - 400) // 160, 80)
    assert peak < features.nbytes + 50e6  # one block's spectra; all at once: over 15 times the features
    assert np.array_equal(features[:30_000], kaldi_fbank(mono[:160 * 29_999 + 400]))


def test_pieces_cover_the_call_and_are_cut_in_quiet(long_call: Path) -> None:
    audio = load_audio(long_call)
    pieces = audio.pieces(100.0)
    assert pieces[0][0] == 0 and pieces[-1][1] == audio.length
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
    assert all(0 < end - start <= 100 * 16000 for start, end in pieces)
    assert all(np.abs(audio.window(cut - 800, cut + 800)).max() == 0 for _, cut in pieces[:-1])
    assert audio.pieces(MINUTES * 60.0) == [(0, audio.length)]


def test_a_call_recognised_in_pieces_reads_as_when_whole(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """c09 (86 s, stereo) in pieces of at most 30 s: the same words, timed within the call."""
    speech = pipeline_module.SpeechPipeline(Config(models_dir=models_dir))
    call = SAMPLES / "calls" / "c09_long_hold.wav"
    whole = speech.process(call)
    monkeypatch.setattr(pipeline_module, "PIECE_S", 30.0)
    pieced = speech.process(call)
    assert len(load_audio(call).pieces(30.0)) == 3
    starts = [w.start for w in pieced.words]
    assert starts == sorted(starts) and starts[0] >= 0 and pieced.words[-1].end <= whole.audio.duration
    assert max(s.end for s in pieced.segments) > 60  # segments of the last piece are timed within the call
    text_whole, text_pieced = ("".join(w.text for w in t.words) for t in (whole, pieced))
    common = sum(min(text_whole.count(ch), text_pieced.count(ch)) for ch in set(text_whole))
    assert common >= 0.85 * len(text_whole)  # whisper-base reads a few words differently at a cut
