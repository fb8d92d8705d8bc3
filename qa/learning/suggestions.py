"""Phrases a checklist could add, found in what inspectors decided but no rule caught.

For an item that requires a phrase, the calls it failed and inspectors passed hold wording that
should count (这边是 for 这里是); for an item that forbids phrases, the calls it passed and
inspectors failed hold wording that should not be said. A candidate is a run of characters of the
item's window (one to three words, as jieba segments them, so that a suggestion is a phrase and
not a fragment across words) that recurs in those calls, is much rarer in the item's other calls
(a company name in every opening explains nothing), and seldom appears in the calls whose final
verdict says the opposite (where adding it would make a wrong verdict). Suggestions are shown to managers, who
accept one into the checklist YAML or reject it; nothing is applied by itself.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import jieba

from qa.learning.features import TURN
from qa.learning.training import LabelledCase
from qa.scoring.loader import RuleSet

SHORTEST, LONGEST = 2, 8  # characters; the product's defaults
MOST_WORDS = 3
MIN_CALLS = 2  # a phrase seen in one call only is an anecdote
MIN_PRECISION = 0.8  # of the calls holding it, the share it would have judged right
MIN_LIFT = 3.0  # how much more often it is in the missed calls than in the item's other calls
PER_ITEM = 5


@dataclass(frozen=True)
class Suggestion:
    item: str
    name: str
    kind: str  # require: a phrase that should count as said; forbid: a phrase that should be caught
    phrase: str
    calls: int  # missed calls that hold it
    missed: int  # calls the rule missed for this item
    against: int  # calls whose final verdict says the opposite and that hold it
    example_calls: list[Hashable]

    @property
    def precision(self) -> float:
        return self.calls / (self.calls + self.against)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "example_calls": [str(c) for c in self.example_calls]}


@lru_cache(maxsize=1)
def _segmenter() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)  # not its "Building prefix dict" chatter
    return jieba.Tokenizer()


def _phrases(text: str) -> set[str]:
    """Runs of one to MOST_WORDS words of each turn, SHORTEST to LONGEST characters long."""
    found = set()
    for turn in text.split(TURN):
        words = _segmenter().lcut(turn)
        for i in range(len(words)):
            for j in range(i + 1, min(i + MOST_WORDS, len(words)) + 1):
                phrase = "".join(words[i:j])
                if SHORTEST <= len(phrase) <= LONGEST:
                    found.add(phrase)
    return found


def _calls_holding(examples: Iterable[LabelledCase]) -> dict[str, set[Hashable]]:
    holding: dict[str, set[Hashable]] = defaultdict(set)
    for example in examples:
        for phrase in _phrases(example.case.text):
            holding[phrase].add(example.call)
    return holding


def _loose_words(phrase: str) -> int:
    """Single-character words in the phrase: the fewer, the more it reads as a phrase (没法 rather
    than 您办)."""
    return sum(len(word) == 1 for word in _segmenter().lcut(phrase))


def _best(candidates: list[Suggestion]) -> list[Suggestion]:
    """Most calls first, then fewest loose words, fewest contradictions, shortest; a candidate
    inside or around one already chosen that covers no other call is the same finding."""
    chosen: list[Suggestion] = []
    ranked = sorted(candidates, key=lambda s: (-s.calls, _loose_words(s.phrase), s.against, len(s.phrase), s.phrase))
    for s in ranked:
        if any((s.phrase in c.phrase or c.phrase in s.phrase) and set(s.example_calls) <= set(c.example_calls)
               for c in chosen):
            continue
        chosen.append(s)
        if len(chosen) == PER_ITEM:
            break
    return chosen


def suggest_phrases(examples: Sequence[LabelledCase], rules: RuleSet,
                    decided: AbstractSet[tuple[str, str]] = frozenset()) -> list[Suggestion]:
    """Suggestions for every phrase item, best first per item; (item, phrase) pairs in `decided`
    (accepted or rejected before) are not suggested again."""
    by_item: dict[str, list[LabelledCase]] = defaultdict(list)
    for example in examples:
        by_item[example.case.item].append(example)
    suggestions = []
    for _, item in rules.items():
        if item.type not in ("require", "forbid") or item.id not in by_item:
            continue
        said_means = item.type == "forbid"  # the final verdict "fail" means the phrase was said
        missed = [e for e in by_item[item.id] if e.wrong and e.fail == said_means]
        if len(missed) < MIN_CALLS:
            continue
        opposite = [e for e in by_item[item.id] if e.fail != said_means]
        rest = [e for e in by_item[item.id] if not (e.wrong and e.fail == said_means)]
        in_missed, in_opposite, in_rest = _calls_holding(missed), _calls_holding(opposite), _calls_holding(rest)
        candidates = []
        for phrase, calls in in_missed.items():
            against = len(in_opposite.get(phrase, ()))
            if len(calls) < MIN_CALLS or (item.id, phrase) in decided:
                continue
            if len(calls) / (len(calls) + against) < MIN_PRECISION:
                continue
            if len(in_rest.get(phrase, ())) * MIN_LIFT * len(missed) > len(calls) * max(len(rest), 1):
                continue
            candidates.append(Suggestion(item.id, item.name, item.type, phrase, len(calls), len(missed), against,
                                         sorted(calls, key=str)[:5]))
        suggestions.extend(_best(candidates))
    return suggestions
