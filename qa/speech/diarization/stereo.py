"""Stereo call recordings carry one party per channel: speech activity per channel is the diarization."""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from qa.speech.types import SpeakerSegment, Word

_VAD = VadOptions(min_silence_duration_ms=300, speech_pad_ms=100)


def diarize_stereo(samples: np.ndarray, sample_rate: int) -> list[SpeakerSegment]:
    """Silero VAD on each channel; channel i becomes speaker "S{i}"."""
    segments = []
    for channel, signal in enumerate(samples):
        for span in get_speech_timestamps(signal, _VAD, sampling_rate=sample_rate):
            segments.append(
                SpeakerSegment(f"S{channel}", span["start"] / sample_rate, span["end"] / sample_rate)
            )
    return sorted(segments, key=lambda s: (s.start, s.speaker))


def assign_words_by_channel(words: list[Word], samples: np.ndarray, sample_rate: int, start: int = 0) -> None:
    """Give each word to the channel with the most energy over the word's span; `samples` begin
    at sample `start` of the call (a piece of a long call).

    The energy comparison needs no segment boundaries, so it stays right where Whisper's word
    times are slightly off or where both parties talk at once.
    """
    n = samples.shape[1]
    for word in words:
        lo = min(max(int(word.start * sample_rate) - start, 0), n - 1)
        hi = min(max(int(word.end * sample_rate) - start, lo + 1), n)
        energy = np.square(samples[:, lo:hi]).sum(axis=1)
        word.speaker = f"S{int(np.argmax(energy))}"
