"""Data passed between pipeline stages (decode -> ASR -> diarize -> align -> roles).

Plain dataclasses so each stage's output can be stored as JSON and read back by the next.
Times are seconds from the start of the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Word:
    """One recognised word (for Mandarin usually one to three characters)."""

    text: str
    start: float
    end: float
    prob: float
    speaker: str | None = None


@dataclass(slots=True)
class SpeakerSegment:
    """A stretch of time in which one speaker is talking (segments of two speakers may overlap)."""

    speaker: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Diarization:
    """Who spoke when, and how sure the split into parties is.

    `certainty` (0-1) is how sure each speaker is one party; `separation` the cosine distance
    between the two closest voices of a mono call (None: stereo, or one voice); `doubt` the
    reason a reviewer should check the split ("one_voice", "one_voice_two_parties",
    "close_voices"), or None.
    """

    segments: list[SpeakerSegment]
    separation: float | None = None
    certainty: float = 1.0
    doubt: str | None = None


@dataclass(slots=True)
class Turn:
    """Consecutive words of one speaker."""

    speaker: str
    role: str
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
