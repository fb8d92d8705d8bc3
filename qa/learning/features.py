"""What a learned model sees of one checklist item on one call: the words the item is about (the
turns its rule searches), how they sound, and the rule engine's own signals.

The text is the normalised text of the item's window, so the model reads what the rule read; its
sound (folded pinyin, qa.scoring.text) lets a model learn from 为/位-style recognition errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from qa.db.models import ItemVerdict
from qa.scoring.engine import CallContext
from qa.scoring.loader import RuleSet
from qa.scoring.schema import Item, PhraseItem
from qa.scoring.scorecard import Verdict, VerdictValue
from qa.scoring.text import SearchText, sound
from qa.speech.transcript import Transcript

FIELD = "\x1f"  # between the item id and the text in a document (no normalised text contains it)
TURN = SearchText.SEPARATOR


@dataclass(frozen=True)
class RuleVerdict:
    """The automatic verdict of one item, as stored (ItemVerdict) or just scored (Verdict)."""

    item: str
    verdict: str
    confidence: float
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of_row(cls, row: ItemVerdict) -> RuleVerdict:
        return cls(row.item, row.auto_verdict, row.confidence, row.evidence)

    @classmethod
    def of_scored(cls, verdict: Verdict) -> RuleVerdict:
        return cls(verdict.item, verdict.verdict, verdict.confidence, [asdict(e) for e in verdict.evidence])


@dataclass(frozen=True)
class ItemCase:
    """One item of one call, ready for a model."""

    item: str
    area: str
    text: str  # normalised text of the item's window, turns joined by TURN
    signals: dict[str, Any]
    auto_fail: bool

    @property
    def document(self) -> str:
        return f"{self.item}{FIELD}{self.text}"

    @property
    def sound_document(self) -> str:
        return f"{self.item}{FIELD}{sound(self.text)}"


def _window(ctx: CallContext, item: Item) -> list[int]:
    """The turns the item's rule searches; timing items have no scope and read the agent's turns."""
    if isinstance(item, PhraseItem):
        return ctx.turn_indices(item.speaker, item.scope)
    return ctx.turn_indices("agent", None)


def _signals(item: Item, verdict: RuleVerdict, ctx: CallContext, window: list[int]) -> dict[str, Any]:
    probs = [w.prob for i in window for w in ctx.turns[i].words]
    signals: dict[str, Any] = {
        "auto": verdict.verdict,
        f"{item.id}:auto": verdict.verdict,
        "confidence": verdict.confidence,
        f"{item.id}:confidence": verdict.confidence,
        "role_confidence": ctx.role_confidence,
        "recognised": sum(probs) / len(probs) if probs else 0.0,
        "window_empty": float(not window),
        "direction": ctx.facts.direction,
        "evidence": min(len(verdict.evidence), 5) / 5,
    }
    for evidence in verdict.evidence:
        how = evidence.get("how", "")
        signals[f"how={how}"] = signals.get(f"how={how}", 0.0) + 1.0
    return signals


def item_cases(transcript: Transcript, verdicts: Iterable[RuleVerdict], rules: RuleSet,
               direction: str | None) -> list[ItemCase]:
    """One case per automatic verdict whose item is still in `rules` (a removed item is skipped)."""
    items = {item.id: (checklist.checklist.area, item) for checklist, item in rules.items()}
    ctx = CallContext(transcript, rules, direction)
    cases = []
    for verdict in verdicts:
        if verdict.item not in items or not ctx.turns:
            continue
        area, item = items[verdict.item]
        window = _window(ctx, item)
        text = ctx.text(window).chars  # what the rule searched, built once per window (items share them)
        cases.append(ItemCase(verdict.item, area, text, _signals(item, verdict, ctx, window),
                              verdict.verdict == VerdictValue.FAIL))
    return cases


def _grams(document: str, sizes: range) -> list[str]:
    """Character n-grams of the text, each tied to the item id: what makes one item's verdict
    wrong says nothing about another's (这边是 in an opening rescues 自报家门, not 开场问候), and
    tied grams keep one model per area apart by item. Not also untied: that doubled the features
    of long windows (a forbidden item reads all the agent's turns) for no gain on the bench."""
    item, _, text = document.partition(FIELD)
    return [f"{item}:{turn[i: i + n]}" for turn in text.split(TURN) for n in sizes for i in range(len(turn) - n + 1)]


def char_grams(document: str) -> list[str]:
    """Analyzer for TfidfVectorizer: 1- to 3-character n-grams of the text (module level: pickled)."""
    return _grams(document, range(1, 4))


def sound_grams(document: str) -> list[str]:
    """Analyzer for TfidfVectorizer: 2- and 3-syllable n-grams of the text's sound."""
    return _grams(document, range(2, 4))
