"""A scored call: item verdicts with evidence, the score, the grade; the stored contract between
scoring and review (schema qa.scorecard/1)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from qa.records import StoredForm
from qa.scoring.schema import ScoringTemplate

SCHEMA = "qa.scorecard/1"


class VerdictValue(StrEnum):
    """What a verdict says of an item: passed, failed, or not applicable to this call."""

    PASS = "pass"
    FAIL = "fail"
    NA = "na"


VERDICT_LABELS = {VerdictValue.PASS: "通过", VerdictValue.FAIL: "不通过", VerdictValue.NA: "不适用"}


@dataclass
class Evidence:
    """What a verdict rests on: a matched stretch of a turn, or the window that was searched."""

    start: float
    end: float
    turn: int | None = None
    role: str | None = None
    text: str = ""
    matched: str = ""
    how: str = ""
    confidence: float | None = None


@dataclass
class Verdict:
    item: str
    checklist: str
    area: str
    name: str
    explain: str
    verdict: VerdictValue
    confidence: float
    deduct: float
    fatal: bool
    reason: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def deducted(self) -> float:
        return self.deduct if self.verdict == VerdictValue.FAIL else 0.0


@dataclass
class RulesVersion:
    """A file of rules that made a card (a checklist or the scoring template): id, version and the
    SHA-256 of its text, so that a stored card always says which rules made it."""

    id: str
    version: int | str
    sha256: str


@dataclass
class CardFacts:
    """What the scorer established about the call besides the items: the direction and how it was
    known, the holds it found, the agent's pace (characters per minute), how sure the roles are."""

    direction: str = ""
    direction_source: str = ""
    holds: list[list[float]] = field(default_factory=list)
    agent_cpm: float | None = None
    role_confidence: float = 1.0


@dataclass
class Scorecard:
    call_id: str
    audio_sha256: str
    checklists: list[RulesVersion]
    template: RulesVersion
    facts: CardFacts
    verdicts: list[Verdict]
    score: float = 0.0
    grade: str = ""
    fatal: bool = False
    needs_review: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _STORED.dump(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorecard:
        return _STORED.load(data)

    @classmethod
    def load(cls, path: str | Path) -> Scorecard:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)


_STORED = StoredForm(Scorecard, SCHEMA, "scorecard")


class Weighed(Protocol):
    """What the score needs of an item's verdict: a scorecard's Verdict, or a stored item verdict
    as an inspector left it."""

    @property
    def verdict(self) -> str: ...
    @property
    def deduct(self) -> float: ...
    @property
    def fatal(self) -> bool: ...


def score_verdicts(verdicts: Iterable[Weighed], template: ScoringTemplate) -> tuple[float, str, bool]:
    """(score, grade, fatal): score = base minus the deductions of failed items (not below
    min_score); a failed fatal item (一票否决 / 高压线) sets it to fatal_score. Grade: the first band
    the score reaches."""
    failed = [v for v in verdicts if v.verdict == VerdictValue.FAIL]
    fatal = any(v.fatal for v in failed)
    score = round(template.fatal_score if fatal else max(template.min_score, template.base - sum(v.deduct for v in failed)), 2)
    return score, next(g.name for g in template.grades if score >= g.min_score), fatal


def apply_template(card: Scorecard, template: ScoringTemplate) -> Scorecard:
    """The card's score, grade and fatal flag (score_verdicts), and the items an inspector should
    look at because their verdict is unsure: every unsure fail (it costs the agent points), and the
    unsure passes of the areas where a pass may hide a red line (review_passes_in)."""
    card.score, card.grade, card.fatal = score_verdicts(card.verdicts, template)
    card.needs_review = [v.item for v in card.verdicts
                         if v.confidence < template.review_below_confidence
                         and (v.verdict == VerdictValue.FAIL
                              or v.verdict == VerdictValue.PASS and v.area in template.review_passes_in)]
    return card
