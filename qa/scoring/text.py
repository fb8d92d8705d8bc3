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
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING

import opencc

# Only pypinyin's table of single characters is read here; its phrase table (0.4 s to load) and
# its copies of both are skipped through pypinyin's own switches, so `qa score` starts fast.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
from pypinyin.pinyin_dict import pinyin_dict

from qa.speech.types import Turn

if TYPE_CHECKING:
    from qa.scoring.patterns import Searcher

_DIGITS = dict(zip("0123456789", "零一二三四五六七八九"))
_DROP = re.compile(r"[\W_]", re.UNICODE)
# Fuzzy pinyin (the product's own choice, common in Chinese input methods): retroflex and flat
# initials, and front and back nasal finals, are confused by speakers and by Whisper alike.
_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))
_SOUND_BASE = 0xE000  # private use area: one code point per folded syllable
SEPARATOR = "|"  # ends each turn in a search text; no phrase holds it (normalise drops it)


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
    syllables: dict[str, str] = {}  # folded syllable -> its character
    of_reading: dict[str, str] = {}  # a first reading -> its syllable's character (41,000 characters, 1,500 readings)
    table: dict[int, str] = {}
    for code, readings in pinyin_dict.items():
        reading = readings.split(",", 1)[0]
        char = of_reading.get(reading)
        if char is None:
            syllable = _fold(reading)
            char = of_reading[reading] = syllables.setdefault(syllable, chr(_SOUND_BASE + len(syllables)))
        table[code] = char
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


_WORDS: dict[str, str] = {}  # normalise() of words seen, read without lru_cache's bookkeeping
_WORDS_KEPT = 65536


def _normalised(words: list[str]) -> list[str]:
    """normalise() of each word."""
    try:
        return list(map(_WORDS.__getitem__, words))
    except KeyError:
        if len(_WORDS) > _WORDS_KEPT:
            _WORDS.clear()
        for word in words:
            if word not in _WORDS:
                _WORDS[word] = normalise(word)
        return [_WORDS[word] for word in words]


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of searchable text, mapped back to its turn and words."""

    turn: int
    first_word: int
    last_word: int


class TurnPieces:
    """Each turn's normalised characters and sound (ending in the separator), which word each
    character came from, and which of a rule set's phrase keys it holds, made on first use and
    kept: a transcript's search texts are joins of these, so every turn is normalised, read out
    and scanned for phrases once per transcript, however many windows hold it.

    `searcher` (a rule set's qa.scoring.patterns.Searcher, or None) finds the keys."""

    def __init__(self, turns: list[Turn], searcher: Searcher | None = None) -> None:
        self.turns = turns
        self.searcher = searcher
        self._texts: dict[int, tuple[str, str]] = {}
        self._words: dict[int, list[str]] = {}  # each word's normalised characters
        self._owners: dict[int, list[tuple[int, int]]] = {}
        self._word_of: dict[int, list[int]] = {}
        self._present: dict[int, set[str]] = {}
        self._probs: dict[int, list[float]] = {}

    def text(self, index: int) -> tuple[str, str]:
        """The turn's characters and their sound string."""
        piece = self._texts.get(index)
        if piece is None:
            words = _normalised([word.text for word in self.turns[index].words])
            self._words[index] = words
            chars = "".join(words) + SEPARATOR
            piece = self._texts[index] = (chars, chars.translate(_sound_table()))
        return piece

    def word_of(self, index: int) -> list[int]:
        """The word each of the turn's characters came from (the separator has none)."""
        word_of = self._word_of.get(index)
        if word_of is None:
            self.text(index)
            word_of = self._word_of[index] = [w for w, chars in enumerate(self._words[index]) for _ in chars]
        return word_of

    def owner(self, index: int) -> list[tuple[int, int]]:
        """(turn, word) of each of the turn's characters; (turn, -1) for the separator."""
        owner = self._owners.get(index)
        if owner is None:
            owner = [(index, w) for w in self.word_of(index)]
            owner.append((index, -1))
            self._owners[index] = owner
        return owner

    def probs(self, index: int) -> list[float]:
        """Recognition probability of each of the turn's words."""
        probs = self._probs.get(index)
        if probs is None:
            probs = self._probs[index] = [w.prob for w in self.turns[index].words]
        return probs

    def present(self, index: int) -> set[str]:
        """The searcher's keys that the turn's characters or its sound hold."""
        found = self._present.get(index)
        if found is None:
            assert self.searcher is not None
            found = self._present[index] = self.searcher.present(*self.text(index))
        return found


class SearchText:
    """The normalised text of some turns, joined with a separator that no phrase contains.

    `owner[i]` says which (turn, word) produced character i of `chars`, so a match can be
    reported with its turn, times, words and their recognition probabilities. `pieces` shares
    the per-turn work between the search texts of one transcript; `found` keeps what each
    pattern found here (patterns are searched once per text however many rules ask).
    """

    SEPARATOR = "|"

    def __init__(self, turns: list[Turn], indices: list[int], pieces: TurnPieces | None = None) -> None:
        self._pieces = pieces = pieces or TurnPieces(turns)
        self.turns = turns
        self.indices = indices
        self.searcher = pieces.searcher
        self.found: dict = {}
        self._owner: list[tuple[int, int]] | None = None
        self._starts: list[int] | None = None
        self._present: set[str] | None = None
        self._mean: tuple[float | None] | None = None
        self._backwards: tuple[str, str] | None = None
        if len(indices) == 1:
            self.chars, self.sound = pieces.text(indices[0])
        else:
            texts = [pieces.text(i) for i in indices]
            self.chars = "".join([chars for chars, _ in texts])
            self.sound = "".join([heard for _, heard in texts])

    @property
    def owner(self) -> list[tuple[int, int]]:
        """Joined only when asked: most windows are searched and never matched."""
        if self._owner is None:
            self._owner = [o for i in self.indices for o in self._pieces.owner(i)]
        return self._owner

    def present(self) -> set[str]:
        """The searcher's keys in the characters or the sound (see Searcher.present)."""
        if self._present is None:
            pieces = self._pieces
            if len(self.indices) == 1:
                self._present = pieces.present(self.indices[0])
            else:
                self._present = set().union(*[pieces.present(i) for i in self.indices])
        return self._present

    def reversed(self, by_sound: bool) -> str:
        """The sound string or the characters, back to front."""
        if self._backwards is None:
            self._backwards = (self.chars[::-1], self.sound[::-1])
        return self._backwards[by_sound]

    @property
    def mean_probability(self) -> float | None:
        """Mean recognition probability of the words of the turns (None: no words)."""
        if self._mean is None:
            probs = [self._pieces.probs(i) for i in self.indices]
            count = sum(map(len, probs))
            self._mean = (sum(chain.from_iterable(probs)) / count if count else None,)
        return self._mean[0]

    def _piece(self, start: int, end: int) -> tuple[int, int] | None:
        """(position in indices, offset of its piece) when chars[start:end] lies inside one
        turn's characters, separator excluded; None otherwise."""
        starts = self._starts
        if starts is None:
            starts, at = [], 0
            for i in self.indices:
                starts.append(at)
                at += len(self._pieces.text(i)[0])
            self._starts = starts
        k = bisect_right(starts, start) - 1
        if k < 0 or start >= end:
            return None
        offset = starts[k]
        if end > offset + len(self._pieces.text(self.indices[k])[0]) - 1:
            return None
        return k, offset

    def span(self, start: int, end: int) -> Span:
        """The turn and words behind chars[start:end] (a match never crosses a separator)."""
        inside = self._piece(start, end)
        if inside is not None:
            turn = self.indices[inside[0]]
            word_of = self._pieces.word_of(turn)
            return Span(turn, word_of[start - inside[1]], word_of[end - 1 - inside[1]])
        turn = self.owner[start][0]
        words = [w for t, w in self.owner[start:end] if t == turn and w >= 0]
        return Span(turn, min(words, default=0), max(words, default=0))

    def locate(self, start: int, end: int) -> tuple[Span, float]:
        """span() and min_probability() of chars[start:end] at once (evidence asks both)."""
        inside = self._piece(start, end)
        if inside is None:
            return self.span(start, end), self.min_probability(start, end)
        turn = self.indices[inside[0]]
        pieces = self._pieces
        word_of = pieces.word_of(turn)[start - inside[1]: end - inside[1]]
        probs = pieces.probs(turn)
        return Span(turn, word_of[0], word_of[-1]), min([probs[w] for w in word_of])

    def min_probability(self, start: int, end: int) -> float:
        """The least sure recognised word under chars[start:end]."""
        inside = self._piece(start, end)
        if inside is not None:
            turn = self.indices[inside[0]]
            probs = self._pieces.probs(turn)
            word_of = self._pieces.word_of(turn)
            return min([probs[w] for w in word_of[start - inside[1]: end - inside[1]]])
        probs = [self.turns[t].words[w].prob for t, w in self.owner[start:end] if w >= 0]
        return min(probs, default=1.0)
