"""A processed call's transcript: the stored contract between the speech pipeline and scoring.

JSON (schema "qa.transcript/1") keeps everything; srt, txt and rttm are views for people and
for diarization tools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.records import StoredForm
from qa.speech.types import AsrInfo, AudioInfo, DiarizationInfo, RoleDecision, SpeakerSegment, Turn, Word

SCHEMA = "qa.transcript/1"
ROLE_LABELS = {"agent": "坐席", "customer": "客户", "unknown": "未知"}
FORMATS = ("json", "srt", "txt", "rttm")


@dataclass
class Transcript:
    call_id: str
    audio: AudioInfo = field(default_factory=AudioInfo)
    asr: AsrInfo = field(default_factory=AsrInfo)
    diarization: DiarizationInfo = field(default_factory=DiarizationInfo)
    roles: RoleDecision = field(default_factory=RoleDecision)
    segments: list[SpeakerSegment] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def words(self) -> list[Word]:
        return [w for t in self.turns for w in t.words]

    def to_dict(self) -> dict[str, Any]:
        return _STORED.dump(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return _STORED.load(data)

    @classmethod
    def load(cls, path: str | Path) -> Transcript:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


_STORED = StoredForm(Transcript, SCHEMA, "transcript")


def _clock(seconds: float, sep: str = ".") -> str:
    millis = round(seconds * 1000)
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_json(t: Transcript) -> str:
    return json.dumps(t.to_dict(), ensure_ascii=False, indent=1)


def to_txt(t: Transcript) -> str:
    lines = [f"# {t.call_id}  agent={t.roles.agent} (confidence {t.roles.confidence})"]
    for turn in t.turns:
        label = ROLE_LABELS.get(turn.role, turn.role)
        lines.append(f"[{_clock(turn.start)[3:]} - {_clock(turn.end)[3:]}] {label}: {turn.text}")
    return "\n".join(lines) + "\n"


def to_srt(t: Transcript) -> str:
    blocks = []
    for i, turn in enumerate(t.turns, 1):
        label = ROLE_LABELS.get(turn.role, turn.role)
        blocks.append(f"{i}\n{_clock(turn.start, ',')} --> {_clock(turn.end, ',')}\n{label}: {turn.text}\n")
    return "\n".join(blocks)


def to_rttm(t: Transcript) -> str:
    """NIST RTTM of the turns, speakers named by role so a reference can be compared directly."""
    file_id = t.call_id.replace(" ", "_")
    return "".join(
        f"SPEAKER {file_id} 1 {turn.start:.3f} {turn.end - turn.start:.3f} <NA> <NA> {turn.role} <NA> <NA>\n"
        for turn in t.turns
    )


WRITERS = {"json": to_json, "srt": to_srt, "txt": to_txt, "rttm": to_rttm}


def render(t: Transcript, fmt: str) -> str:
    return WRITERS[fmt](t)
