"""Join recognised words and speaker segments: a speaker per word, then turns.

Whisper segments often span both parties, so speakers are assigned word by word, never per
Whisper segment.
"""

from __future__ import annotations

from collections.abc import Mapping

from qa.speech.types import SpeakerSegment, Turn, Word


def assign_words_by_segments(words: list[Word], segments: list[SpeakerSegment]) -> None:
    """Each word goes to the speaker whose segments cover most of it, else to the nearest segment."""
    if not segments:
        return
    for word in words:
        coverage: dict[str, float] = {}
        for seg in segments:
            overlap = min(word.end, seg.end) - max(word.start, seg.start)
            if overlap > 0:
                coverage[seg.speaker] = coverage.get(seg.speaker, 0.0) + overlap
        if coverage:
            word.speaker = max(coverage, key=coverage.__getitem__)
        else:
            middle = (word.start + word.end) / 2
            nearest = min(segments, key=lambda s: max(s.start - middle, middle - s.end))
            word.speaker = nearest.speaker


def join_text(left: str, right: str) -> str:
    """Chinese words join without spaces; two Latin words or numbers keep one between them."""
    if left and right and left[-1].isascii() and left[-1].isalnum() and right[0].isascii() and right[0].isalnum():
        return f"{left} {right}"
    return left + right


def build_turns(words: list[Word], roles: Mapping[str, str], max_gap_s: float) -> list[Turn]:
    """Consecutive words of one speaker form a turn; a pause longer than `max_gap_s` ends it."""
    turns: list[Turn] = []
    for word in words:
        speaker = word.speaker or "S0"
        last = turns[-1] if turns else None
        if last is not None and last.speaker == speaker and word.start - last.end <= max_gap_s:
            last.words.append(word)
            last.end = max(last.end, word.end)
            last.text = join_text(last.text, word.text)
        else:
            turns.append(
                Turn(speaker, roles.get(speaker, "unknown"), word.start, word.end, word.text, [word])
            )
    return turns
