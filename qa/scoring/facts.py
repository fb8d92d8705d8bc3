"""What the timing of a call shows: who spoke when, silences, holds, overlaps, speech rate.

Speech time per role is the union of the diarization segments (channel VAD on stereo calls, the
segmentation model on mono ones) and the recognised turns, so that a word the recogniser dropped
does not look like silence and a VAD gap inside a turn does not either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from qa.scoring.text import normalise
from qa.speech.transcript import Transcript

Interval = tuple[float, float]
MIN_CUT_IN_S = 0.3  # the agent starting this soon after the customer is a simultaneous start


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


@dataclass
class CallFacts:
    direction: str
    direction_source: str
    speech: dict[str, list[Interval]]  # role -> merged intervals
    silences: list[Interval] = field(default_factory=list)  # nobody speaking, inside the call
    # Silences the agent had a part in: the agent spoke before or after it. A silence between two
    # of the customer's own turns is the customer's time (fetching a parcel, asking a colleague).
    waits: list[Interval] = field(default_factory=list)
    agent_chars: int = 0
    agent_seconds: float = 0.0

    @property
    def agent_cpm(self) -> float | None:
        """Agent characters per minute of agent speech."""
        return self.agent_chars / self.agent_seconds * 60 if self.agent_seconds >= 3 else None

    def holds(self, min_silence_s: float) -> list[Interval]:
        """Silences this long that the customer spent waiting on the agent."""
        return [s for s in self.waits if s[1] - s[0] >= min_silence_s]

    def long_silences(self, min_silence_s: float) -> list[Interval]:
        """Silences this long whoever ends them: dead air is dead air."""
        return [s for s in self.silences if s[1] - s[0] >= min_silence_s]

    def cut_ins(self, min_overlap_s: float) -> list[tuple[float, float, float]]:
        """(agent start, customer end, overlap seconds) where the agent started talking while
        the customer was mid-sentence and both went on for at least min_overlap_s."""
        events = []
        for a_start, a_end in self.speech.get("agent", []):
            for c_start, c_end in self.speech.get("customer", []):
                if c_start <= a_start - MIN_CUT_IN_S and a_start < c_end:
                    overlap = min(a_end, c_end) - a_start
                    if overlap >= min_overlap_s:
                        events.append((a_start, c_end, overlap))
        return events


def call_facts(transcript: Transcript, direction: str, direction_source: str) -> CallFacts:
    roles = transcript.roles.speakers
    by_role: dict[str, list[Interval]] = {"agent": [], "customer": []}
    for seg in transcript.segments:
        role = roles.get(seg.speaker)
        if role in by_role:
            by_role[role].append((seg.start, seg.end))
    agent_chars, agent_seconds = 0, 0.0
    for turn in transcript.turns:
        if turn.role in by_role:
            by_role[turn.role].append((turn.start, turn.end))
        if turn.role == "agent":
            agent_chars += len(normalise(turn.text))
            agent_seconds += turn.end - turn.start
    speech = {role: _merge(iv) for role, iv in by_role.items()}
    everyone = _merge([iv for ivs in speech.values() for iv in ivs])
    silences = [(a[1], b[0]) for a, b in pairwise(everyone)]
    agent_ends = {end for _, end in speech["agent"]}
    agent_starts = {start for start, _ in speech["agent"]}
    waits = [s for s in silences if s[0] in agent_ends or s[1] in agent_starts]
    return CallFacts(direction, direction_source, speech, silences, waits, agent_chars, agent_seconds)
