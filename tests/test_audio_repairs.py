"""Recordings that decode only with repairs (issue 14, items 7 and 8): telephone AMR with DTX
silences, packets a decoder cannot read, and NaN or infinite samples. Each is decoded whole, in
time, and the repair is said in the call's warnings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from audio_factory import encode
from conftest import SAMPLES, unavailable

from qa.config import Config
from qa.speech import audio as audio_module
from qa.speech.audio import load_audio
from qa.speech.pipeline import SpeechPipeline

SILENCE_S = 60.0  # c03 (speech, 19.5 s), then a pause this long, then c03 again


@pytest.fixture(scope="module")
def speech_8k() -> np.ndarray:
    """c03's speech at 8 kHz, telephone band: (1, n) float32."""
    return load_audio(SAMPLES / "calls" / "c03_bare_wei.wav").mono()[None, ::2].copy()


def speech_silence_speech(speech: np.ndarray, rate: int) -> np.ndarray:
    return np.concatenate([speech, np.zeros((1, int(SILENCE_S * rate)), np.float32), speech], axis=1)


def dtx_amr_with_pyav(speech: np.ndarray, folder: Path) -> Path:
    """AMR-NB with discontinuous transmission: the pause becomes SID (comfort noise) frames."""
    return encode(speech_silence_speech(speech, 8000), 8000, folder / "call.amr", "libopencore_amrnb", "amr",
                  options={"dtx": "1"})


def amr_with_sox(speech: np.ndarray, folder: Path, kind: str, rate: int) -> Path:
    """What a telephone system's `sox in.wav -r <rate> -c 1 call.<kind>` writes (DTX on by default)."""
    if shutil.which("sox") is None:
        unavailable("sox is not installed (apt-get install sox libsox-fmt-all)")
    wav = encode(speech_silence_speech(speech, 8000), 8000, folder / "in.wav", "pcm_s16le")
    made = subprocess.run(["sox", str(wav), "-r", str(rate), "-c", "1", str(folder / f"call.{kind}")],
                          capture_output=True, text=True)
    if made.returncode != 0:
        # Debian's sox reads AMR-WB but cannot write it, and no AMR-WB encoder ships with PyAV
        pytest.skip(f"this sox cannot write {kind}: {made.stderr.strip()}")
    return folder / f"call.{kind}"


def assert_whole_and_in_time(audio: audio_module.DecodedAudio, speech: np.ndarray) -> None:
    """Both speech parts are there, the pause between them keeps its length."""
    rate, speech_s = audio.sample_rate, speech.shape[1] / 8000
    assert audio.duration == pytest.approx(2 * speech_s + SILENCE_S, abs=0.25)  # codec delay and padding
    level = [float(np.sqrt(np.mean(audio.mono(int(a * rate), int(b * rate)) ** 2)))
             for a, b in ((1, speech_s - 1), (speech_s + 5, speech_s + SILENCE_S - 5),
                          (speech_s + SILENCE_S + 1, 2 * speech_s + SILENCE_S - 1))]
    assert level[0] > 0.01 and level[2] > 0.01 and level[1] < level[0] / 30
    assert level[2] == pytest.approx(level[0], rel=0.2)


@pytest.mark.parametrize("make", ["pyav", "sox-amr-nb", "sox-amr-wb"])
def test_amr_with_dtx_silences_decodes_whole(speech_8k: np.ndarray, tmp_path: Path, make: str) -> None:
    path = {"pyav": lambda: dtx_amr_with_pyav(speech_8k, tmp_path),
            "sox-amr-nb": lambda: amr_with_sox(speech_8k, tmp_path, "amr-nb", 8000),
            "sox-amr-wb": lambda: amr_with_sox(speech_8k, tmp_path, "amr-wb", 16000)}[make]()
    audio = load_audio(path)
    assert audio.codec in ("amrnb", "amrwb")
    assert_whole_and_in_time(audio, speech_8k)
    assert audio.warnings == []


def test_packets_a_decoder_cannot_read_are_skipped_in_time(speech_8k: np.ndarray, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """FFmpeg's own AMR decoder cannot read SID frames: every packet of the pause fails. The
    packets are skipped, their time kept as silence, and the call says how many."""
    path = dtx_amr_with_pyav(speech_8k, tmp_path)
    monkeypatch.setattr(audio_module, "PREFERRED_DECODERS", {})
    audio = load_audio(path)
    assert_whole_and_in_time(audio, speech_8k)
    assert len(audio.warnings) == 1 and "audio packets could not be decoded and count as silence" in audio.warnings[0]
    bad, total = (int(n) for n in audio.warnings[0].split()[:3:2])
    assert 0.3 < bad / total < 0.9


@pytest.mark.parametrize("rate", [16000, 8000])  # as stored, and through the resampler
def test_non_finite_samples_are_zeroed_and_counted(speech_8k: np.ndarray, tmp_path: Path, rate: int) -> None:
    samples = np.repeat(speech_8k, rate // 8000, axis=1)
    samples[0, [100, 5000, 90000]] = [np.nan, np.inf, -np.inf]
    path = encode(samples, rate, tmp_path / "float.wav", "pcm_f32le", "wav")
    audio = load_audio(path)
    assert audio.warnings == ["3 non-finite samples (NaN or infinite) set to 0"]
    assert np.isfinite(audio.window()).all()
    assert float(np.abs(audio.window()).max()) == pytest.approx(float(np.abs(speech_8k).max()), rel=0.2)


def test_the_transcript_carries_the_warnings(speech_8k: np.ndarray, tmp_path: Path, models_dir: Path) -> None:
    samples = np.repeat(speech_8k, 2, axis=1)
    samples[0, 1000:1010] = np.nan
    path = encode(samples, 16000, tmp_path / "nan.wav", "pcm_f32le", "wav")
    transcript = SpeechPipeline(Config(models_dir=models_dir)).process(path)
    assert transcript.audio.warnings == ["10 non-finite samples (NaN or infinite) set to 0"]
    assert transcript.turns
