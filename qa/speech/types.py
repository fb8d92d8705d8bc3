"""Data passed between pipeline stages (decode -> ASR -> diarize -> align -> roles).

Plain dataclasses so each stage's output can be stored as JSON and read back by the next.
Times are seconds from the start of the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True, slots=True)
class DroppedWord:
    """A recognised word that is not kept, with the reason: kept in the transcript for review."""

    text: str
    start: float
    end: float
    reason: str


@dataclass(slots=True)
class AudioInfo:
    """What the recording was and what decoding it found (a transcript's `audio`)."""

    path: str = ""
    sha256: str = ""
    duration: float = 0.0
    source_rate: int | None = None
    source_channels: int | None = None
    channels: int = 1
    codec: str = ""
    container: str = ""
    note: str | None = None  # what decoding had to repair or assume, if anything
    warnings: list[str] = field(default_factory=list)
    text_only: bool = False  # no recording behind it (a text-level call): the call page shows no player


@dataclass(slots=True)
class AsrInfo:
    """Which recogniser made the words, where it ran, and the words it dropped (a transcript's `asr`)."""

    model: str = ""
    device: str = ""
    compute_type: str = ""
    language: str = ""
    dropped_words: list[DroppedWord] = field(default_factory=list)


@dataclass(slots=True)
class DiarizationInfo:
    """How the parties were told apart (a transcript's `diarization`); `separation` as in Diarization."""

    method: str = ""
    num_speakers: int = 0
    stereo_roles: list[str] | None = None
    separation: float | None = None


@dataclass(slots=True)
class RoleDecision:
    """Which speaker is the agent (a transcript's `roles`): every speaker's role, how sure, the
    evidence each cue gave (speaker, cue, weight and what it saw), and reasons to check (codes)."""

    agent: str | None = None
    speakers: dict[str, str] = field(default_factory=dict)
    confidence: float = 1.0
    evidence: list[dict[str, Any]] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
