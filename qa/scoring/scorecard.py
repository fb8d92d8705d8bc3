"""A scored call: item verdicts with evidence, the score, the grade; the stored contract between
scoring and review (schema qa.scorecard/1)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.scoring.schema import ScoringTemplate

SCHEMA = "qa.scorecard/1"
VERDICT_LABELS = {"pass": "通过", "fail": "不通过", "na": "不适用"}


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
    verdict: str  # pass | fail | na
    confidence: float
    deduct: float
    fatal: bool
    reason: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def deducted(self) -> float:
        return self.deduct if self.verdict == "fail" else 0.0


@dataclass
class Scorecard:
    call_id: str
    audio_sha256: str
    checklists: list[dict[str, Any]]
    template: dict[str, Any]
    facts: dict[str, Any]
    verdicts: list[Verdict]
    score: float = 0.0
    grade: str = ""
    fatal: bool = False
    needs_review: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorecard:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} scorecard (schema: {data.get('schema')!r})")
        verdicts = [Verdict(**{**v, "evidence": [Evidence(**e) for e in v["evidence"]]}) for v in data["verdicts"]]
        fields = {k: v for k, v in data.items() if k not in ("schema", "verdicts")}
        return cls(**fields, verdicts=verdicts)

    @classmethod
    def load(cls, path: str | Path) -> Scorecard:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)


def apply_template(card: Scorecard, template: ScoringTemplate) -> Scorecard:
    """Score = base minus the deductions of failed items (not below min_score); a failed fatal
    item (一票否决 / 高压线) sets it to fatal_score. Grade: the first band the score reaches."""
    card.fatal = any(v.fatal and v.verdict == "fail" for v in card.verdicts)
    if card.fatal:
        score = template.fatal_score
    else:
        score = max(template.min_score, template.base - sum(v.deducted for v in card.verdicts))
    card.score = round(score, 2)
    card.grade = next(g.name for g in template.grades if card.score >= g.min_score)
    card.needs_review = [v.item for v in card.verdicts
                         if v.verdict != "na" and v.confidence < template.review_below_confidence]
    return card
