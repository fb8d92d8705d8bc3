"""No invented words: the real Whisper model on short clips padded with silence and line noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES, sample_truth
from faster_whisper.transcribe import Segment

from qa.config import AudioConfig, load_config
from qa.speech.asr import Transcriber, _speech_spans, _unlikely_speech
from qa.speech.audio import load_audio

RATE = 16000
CALL = "c04_no_closing"
TURN = 2  # the agent's 请您提供一下订单号的后六位。 (2.3 s)
LEAD_S, TAIL_S = 3.0, 6.0


@pytest.fixture(scope="module")
def padded() -> tuple[np.ndarray, float, float]:
    """The turn with 3 s of silence before it and 6 s of line noise after it: (audio, start, end)."""
    turn = sample_truth(CALL)["turns"][TURN]
    call = load_audio(SAMPLES / "calls" / f"{CALL}.wav", AudioConfig()).mono()
    clip = call[int((turn["start"] - 0.2) * RATE): int((turn["end"] + 0.2) * RATE)]
    noise = 0.01 * np.random.default_rng(1).standard_normal(int(TAIL_S * RATE))
    audio = np.concatenate([np.zeros(int(LEAD_S * RATE)), clip, noise]).astype(np.float32)
    return audio, LEAD_S, LEAD_S + len(clip) / RATE


@pytest.mark.slow
@pytest.mark.parametrize("vad_filter", [True, False])
def test_words_come_only_from_the_speech(padded, models_dir: Path, vad_filter: bool) -> None:
    # Without the recogniser's own VAD, whisper-base fills the silence and noise with words.
    audio, start, end = padded
    config = load_config(None)
    asr = Transcriber(config.asr.model_copy(update={"vad_filter": vad_filter}), config.asr_model_path())
    recognition = asr.transcribe(audio)
    assert recognition.words
    assert all(start - 0.3 <= w.start and w.end <= end + 0.3 for w in recognition.words)
    assert all(d.reason for d in recognition.dropped)
    assert "".join(w.text for w in recognition.words).startswith("请您提供")


@pytest.mark.slow
def test_line_noise_alone_gives_no_words(models_dir: Path) -> None:
    config = load_config(None)
    asr = Transcriber(config.asr.model_copy(update={"vad_filter": False}), config.asr_model_path())
    noise = (0.01 * np.random.default_rng(2).standard_normal(4 * RATE)).astype(np.float32)
    assert asr.transcribe(noise).words == []


def test_detected_speech_is_where_the_turn_is(padded) -> None:
    audio, start, end = padded
    spans = _speech_spans(audio)
    assert len(spans) >= 1
    assert spans[0, 0] >= start - 0.3 and spans[-1, 1] <= end + 0.3


def _segment(**scores: float) -> Segment:
    values = {"no_speech_prob": 0.1, "avg_logprob": -0.3, "compression_ratio": 1.2, **scores}
    return Segment(id=0, seek=0, start=0.0, end=1.0, text="换一首歌", tokens=[], temperature=0.0,
                   words=None, **values)


@pytest.mark.parametrize(("scores", "reason"), [
    ({}, None),
    ({"no_speech_prob": 0.8, "avg_logprob": -1.2}, "no-speech probability"),
    ({"no_speech_prob": 0.8}, None),  # Whisper's rule needs both signs
    ({"compression_ratio": 3.1}, "repetition"),
    ({"avg_logprob": -1.8}, "average log-probability"),
])
def test_segments_whisper_scores_as_unlikely_speech(scores: dict, reason: str | None) -> None:
    found = _unlikely_speech(_segment(**scores))
    assert (found is None) if reason is None else found.startswith(reason)
