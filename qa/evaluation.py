"""Accuracy measures against a sample's truth, shared by the benchmarks and the tests.

Truth files (samples/truth/*.json) hold turns with role, start, end and text.
"""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

# CER compares text as the checklists match it: Simplified, no punctuation or spaces, Latin
# lower-cased, digits read out one by one (工号1024 = 工号一零二四), since Whisper writes numbers
# in digits and the scripts in characters.
from qa.scoring.text import normalise
from qa.speech.transcript import Transcript
from qa.speech.types import AsrInfo, AudioInfo, DiarizationInfo, RoleDecision, SpeakerSegment, Turn, Word


def char_edits(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance, reference length) after normalising both; CER is their ratio."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    return Levenshtein.distance(ref, hyp), len(ref)


def true_role_of_word(word_text: str, start: float, end: float, turns: list[dict]) -> str:
    """The truth turn a recognised word belongs to: by time, and by text where turns overlap."""
    text = normalise(word_text)
    covering = [t for t in turns if t["start"] - 0.25 <= end and start <= t["end"] + 0.25]
    if len(covering) > 1 and text:
        by_text = [t for t in covering if text in normalise(t["text"])]
        covering = by_text or covering
    if covering:
        return max(covering, key=lambda t: min(end, t["end"]) - max(start, t["start"]))["role"]
    middle = (start + end) / 2
    return min(turns, key=lambda t: max(t["start"] - middle, middle - t["end"]))["role"]


def transcript_from_truth(truth: dict) -> Transcript:
    """The transcript a perfect recogniser and diarizer would give for a sample's truth file.

    Each character becomes a word with evenly spread times, so scoring can be checked against
    what was really said, apart from recognition errors.
    """
    speakers = {"agent": "A", "customer": "C"}
    turns, segments = [], []
    for t in truth["turns"]:
        chars = list(t["text"])
        step = (t["end"] - t["start"]) / max(len(chars), 1)
        words = [Word(c, round(t["start"] + i * step, 3), round(t["start"] + (i + 1) * step, 3), 1.0,
                      speakers[t["role"]]) for i, c in enumerate(chars)]
        turns.append(Turn(speakers[t["role"]], t["role"], t["start"], t["end"], t["text"], words))
        segments.append(SpeakerSegment(speakers[t["role"]], t["start"], t["end"]))
    return Transcript(
        call_id=truth["call_id"],
        audio=AudioInfo(duration=truth["duration"], channels=truth["channels"]),
        asr=AsrInfo(model="truth"),
        diarization=DiarizationInfo(method="truth", num_speakers=2),
        roles=RoleDecision(agent="A", speakers={"A": "agent", "C": "customer"}, confidence=1.0),
        segments=segments,
        turns=turns,
    )
