"""Searchable text of a transcript: normalised characters, their sound, and where each came from.

Whisper's punctuation, spacing, digits and homophones vary from call to call, so matching runs on
a normalised form: NFKC, Simplified, lower case, no punctuation or spaces, digits read out as
Chinese digits. Beside it runs a *sound string* of the same length in which every Chinese
character is replaced by one private-use character per (folded, toneless) pinyin syllable, so that
为/位, 在此/再次 or 播打/拨打 match by plain substring search and positions stay comparable. Both
are built with str.translate over precomputed tables: scoring must handle thousands of
transcripts per second.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache

import opencc

# Only pypinyin's table of single characters is read here; its phrase table (0.4 s to load) and
# its copies of both are skipped through pypinyin's own switches, so `qa score` starts fast.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
from pypinyin.pinyin_dict import pinyin_dict  # noqa: E402

from qa.types import Turn

_DIGITS = dict(zip("0123456789", "零一二三四五六七八九"))
_DROP = re.compile(r"[\W_]", re.UNICODE)
# Fuzzy pinyin (the product's own choice, common in Chinese input methods): retroflex and flat
# initials, and front and back nasal finals, are confused by speakers and by Whisper alike.
_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))
_SOUND_BASE = 0xE000  # private use area: one code point per folded syllable


def _fold(reading: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
    for long, short in _INITIALS:
        if bare.startswith(long):
            bare = short + bare[len(long):]
            break
    for long, short in _FINALS:
        if bare.endswith(long):
            bare = bare[: -len(long)] + short
            break
    return bare


@lru_cache(maxsize=1)
def _sound_table() -> dict[int, str]:
    """Code point of every Chinese character -> its syllable's private-use character."""
    syllables: dict[str, str] = {}
    table: dict[int, str] = {}
    for code, readings in pinyin_dict.items():
        syllable = _fold(readings.split(",")[0])
        if syllable not in syllables:
            syllables[syllable] = chr(_SOUND_BASE + len(syllables))
        table[code] = syllables[syllable]
    return table


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Characters that matter for matching, in a canonical form (cached: words repeat a lot)."""
    text = _converter().convert(unicodedata.normalize("NFKC", text)).lower()
    return "".join(_DIGITS.get(c, c) for c in _DROP.sub("", text))


def sound(text: str) -> str:
    """Sound string of normalised text: same length, Chinese characters replaced by syllables."""
    return text.translate(_sound_table())


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of searchable text, mapped back to its turn and words."""

    turn: int
    first_word: int
    last_word: int


class TurnPieces:
    """Each turn's normalised characters and sound (ending in the separator), and which word
    each character came from, made on first use and kept: a transcript's search texts are joins
    of these, so every turn is normalised and read out once per transcript, however many windows
    hold it."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = turns
        self._texts: dict[int, tuple[str, str]] = {}
        self._owners: dict[int, list[tuple[int, int]]] = {}

    def text(self, index: int) -> tuple[str, str]:
        """The turn's characters and their sound string."""
        piece = self._texts.get(index)
        if piece is None:
            chars = "".join([normalise(word.text) for word in self.turns[index].words]) + SearchText.SEPARATOR
            piece = self._texts[index] = (chars, sound(chars))
        return piece

    def owner(self, index: int) -> list[tuple[int, int]]:
        """(turn, word) of each of the turn's characters; (turn, -1) for the separator."""
        owner = self._owners.get(index)
        if owner is None:
            owner = [(index, w) for w, word in enumerate(self.turns[index].words) for _ in normalise(word.text)]
            owner.append((index, -1))
            self._owners[index] = owner
        return owner


class SearchText:
    """The normalised text of some turns, joined with a separator that no phrase contains.

    `owner[i]` says which (turn, word) produced character i of `chars`, so a match can be
    reported with its turn, times, words and their recognition probabilities. `pieces` shares
    the per-turn work between the search texts of one transcript.
    """

    SEPARATOR = "|"

    def __init__(self, turns: list[Turn], indices: list[int], pieces: TurnPieces | None = None) -> None:
        self._pieces = pieces or TurnPieces(turns)
        texts = [self._pieces.text(i) for i in indices]
        self.turns = turns
        self.indices = indices
        self.chars = "".join(chars for chars, _ in texts)
        self.sound = "".join(heard for _, heard in texts)

    @cached_property
    def owner(self) -> list[tuple[int, int]]:
        """Joined only when a match is reported: most windows are searched and never matched."""
        return [o for i in self.indices for o in self._pieces.owner(i)]

    @cached_property
    def mean_probability(self) -> float | None:
        """Mean recognition probability of the words of the turns (None: no words)."""
        probs = [w.prob for i in self.indices for w in self.turns[i].words]
        return sum(probs) / len(probs) if probs else None

    def span(self, start: int, end: int) -> Span:
        """The turn and words behind chars[start:end] (a match never crosses a separator)."""
        turn = self.owner[start][0]
        words = [w for t, w in self.owner[start:end] if t == turn and w >= 0]
        return Span(turn, min(words, default=0), max(words, default=0))

    def min_probability(self, start: int, end: int) -> float:
        """The least sure recognised word under chars[start:end]."""
        probs = [self.turns[t].words[w].prob for t, w in self.owner[start:end] if w >= 0]
        return min(probs, default=1.0)
