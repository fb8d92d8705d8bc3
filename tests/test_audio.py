"""Decoding: every common format and layout reads, and every bad file gets a clear one-line reason."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest
from audio_factory import encode, tone

from qa.errors import CallError
from qa.speech.audio import load_audio

FORMATS = [
    ("call.wav", "pcm_s16le", None, 8000),
    ("call.mulaw.wav", "pcm_mulaw", "wav", 8000),
    ("call.mp3", "libmp3lame", None, 16000),
    ("call.m4a", "aac", "mp4", 16000),
    ("call.flac", "flac", None, 44100),
    ("call.ogg", "libopus", "ogg", 48000),
]
MONO_ONLY = [("call.amr", "libopencore_amrnb", "amr", 8000)]  # AMR-NB has no stereo
CASES = [(*f, channels) for f in FORMATS for channels in (1, 2)] + [(*f, 1) for f in MONO_ONLY]


@pytest.mark.parametrize("name,codec,container,rate,channels", CASES)
def test_decodes_common_formats_to_16k(tmp_path: Path, name: str, codec: str, container: str | None,
                                       rate: int, channels: int) -> None:
    path = encode(tone(2.0, rate, channels), rate, tmp_path / name, codec, container)
    audio = load_audio(path)
    assert audio.sample_rate == 16000
    assert audio.source_rate == rate
    assert audio.channels == channels
    assert audio.duration == pytest.approx(2.0, abs=0.15)  # lossy codecs pad the last frame
    assert len(audio.sha256) == 64


def test_six_channels_are_mixed_to_mono(tmp_path: Path) -> None:
    path = encode(tone(1.0, 48000, 6), 48000, tmp_path / "surround.wav", "pcm_s16le")
    audio = load_audio(path)
    assert audio.channels == 1 and "6 channels" in audio.note


def test_identical_stereo_channels_count_as_mono(tmp_path: Path) -> None:
    mono = tone(1.0, 8000, 1)
    path = encode(np.vstack([mono, mono]), 8000, tmp_path / "fake-stereo.wav", "pcm_s16le")
    audio = load_audio(path)
    assert audio.channels == 1 and "same signal" in audio.note


def _write_wav(path: Path, samples: np.ndarray, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


@pytest.mark.parametrize(
    "make,reason",
    [
        (lambda d: d / "missing.wav", "no such file"),
        (lambda d: (d / "empty.wav").write_bytes(b"") and d / "empty.wav" or d / "empty.wav", "empty file"),
        (lambda d: (d / "notes.mp3").write_text("这不是音频 not audio at all " * 50) and d / "notes.mp3",
         "not a readable audio file"),
        (lambda d: _write_wav(d / "zero.wav", np.zeros(0)), "zero-length"),
        (lambda d: _write_wav(d / "silent.wav", np.zeros(8000 * 5)), "silent recording"),
        (lambda d: d, "not a regular file"),
    ],
    ids=["missing", "empty", "not-audio", "zero-length", "silent", "directory"],
)
def test_bad_input_gets_a_reason_naming_the_file(tmp_path: Path, make, reason: str) -> None:
    path = make(tmp_path)
    with pytest.raises(CallError) as info:
        load_audio(path)
    assert reason in info.value.reason
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    full = _write_wav(tmp_path / "full.wav", tone(10.0, 8000)[0])
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(CallError, match="truncated"):
        load_audio(cut)


def test_truncated_mp3_is_refused_or_decodes_what_is_there(tmp_path: Path) -> None:
    """An MP3 has no declared length to compare with; a cut one must never crash the batch."""
    full = encode(tone(6.0, 16000), 16000, tmp_path / "full.mp3", "libmp3lame")
    data = full.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 2])
    try:
        audio = load_audio(cut)
    except CallError as exc:
        assert "cut.mp3" in str(exc)
    else:
        assert audio.duration < 6.0


def test_tags_that_are_not_utf8_do_not_refuse_the_call(tmp_path: Path) -> None:
    # A PBX that titles its recordings in GBK: PyAV up to 18 raises UnicodeDecodeError on such a
    # tag unless told to ignore it, PyAV 19 (Python 3.12 and later) decodes it with surrogates.
    rate = 8000
    pcm = (tone(2.0, rate, 1)[0] * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    title = "客服通话录音".encode("gbk") + b"\0\0"  # NUL-terminated, padded to an even size
    info = b"INFO" + b"INAM" + struct.pack("<I", len(title)) + title
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + struct.pack("<I", len(info)) + info
            + b"data" + struct.pack("<I", len(pcm)) + pcm)
    path = tmp_path / "gbk-title.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    audio = load_audio(path)
    assert audio.duration == pytest.approx(2.0, abs=0.01)
    assert audio.warnings == []
