"""The checklist and scoring-template file formats, validated with pydantic.

A checklist (schema qa.checklist/1) is a list of items a quality manager writes in YAML; the
scoring template (qa.scoring/1) turns item verdicts into a score and a grade. Every figure in
them is editable; the defaults that ship are in qa/checklists/.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Area = Literal["greeting", "closing", "courtesy", "forbidden", "acoustic"]
Speaker = Literal["agent", "customer", "anyone"]
PHRASE_TYPES = ("require", "forbid")
ACOUSTIC_TYPES = ("dead_air", "interruption", "speech_rate", "hold")
ItemType = Literal["require", "forbid", "dead_air", "interruption", "speech_rate", "hold"]

# Which settings each item type takes (beyond the common ones), and which it needs.
TYPE_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "require": ({"match", "speaker", "scope"}, {"match"}),
    "forbid": ({"match", "speaker", "scope", "min_count", "context", "doubt_when"}, {"match"}),
    "dead_air": ({"min_silence_s", "unless_before"}, {"min_silence_s"}),
    "interruption": ({"min_overlap_s", "max_count"}, {"min_overlap_s"}),
    "speech_rate": ({"min_cpm", "max_cpm"}, set()),
    "hold": ({"before", "after"}, {"before", "after"}),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    """Where to listen: the first or last turns or seconds of the speaker, else everywhere."""

    first_turns: int | None = Field(None, ge=1)
    first_seconds: float | None = Field(None, gt=0)
    last_turns: int | None = Field(None, ge=1)
    last_seconds: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_at_most(self) -> Scope:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) > 1:
            raise ValueError(f"give one of first_turns, first_seconds, last_turns, last_seconds, not {given}")
        return self


class When(_Strict):
    """Conditions for an item to apply; otherwise its verdict is 'not applicable'."""

    direction: Literal["inbound", "outbound"] | None = None
    hold: bool | None = None
    customer_said: Any = None  # a pattern: the item applies only if the customer said it


class Doubt(_Strict):
    """When a forbid item's pass is not to be trusted: the customer's reply to an agent turn shows
    what no phrase list holds (你这什么态度, 你好好说话). The verdict stays a pass, with this
    confidence and reason, so the call goes to an inspector with that reply as evidence."""

    customer_said: Any  # a pattern of the customer's turns that follow an agent turn
    confidence: float = Field(0.5, gt=0, le=1)
    reason: str = Field(min_length=1)


Severity = Literal["fatal", "review", "deduct", "pass"]
# Severity of an outcome, most severe first: where hits of one item differ, the worst decides.
SEVERITY_ORDER: tuple[str, ...] = ("fatal", "review", "deduct", "pass")


class Context(_Strict):
    """Where a forbidden phrase was said; every condition given must hold (see qa/scoring/context.py)."""

    turn: Any = None  # a pattern the same turn also says, outside the hit (softening or dismissing words)
    hit: Any = None  # a pattern the matched words themselves match (呵呵 among the insults)
    question: bool | None = None  # the sentence holding the hit is a question (？ or a final 吗)
    repeats_customer: bool | None = None  # the customer's turn just before said the same words
    alone: bool | None = None  # the turn says nothing but the phrase (a particle at most)
    customer_before: Any = None  # a pattern the customer said earlier in the call
    customer_after: Any = None  # a pattern the customer's next turn says (taking offence: 你这话什么意思)
    how: Literal["exact", "sound", "fuzzy", "regex"] | None = None  # how the phrase matched

    @model_validator(mode="before")
    @classmethod
    def _known_conditions(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                raise ValueError(f"unknown condition {', '.join(unknown)} "
                                 f"(conditions: {', '.join(cls.model_fields)})")
            if not data:
                raise ValueError("if: needs at least one condition; leave if out for a rule that takes every hit")
        return data


class ContextRule(_Strict):
    """What a hit in this context weighs: fatal, an ordinary deduction, needs review, or nothing."""

    if_: Context | None = Field(None, alias="if")
    then: Severity
    deduct: float | None = Field(None, ge=0, le=100)
    confidence: float | None = Field(None, gt=0, le=1)
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _fits_its_outcome(self) -> ContextRule:
        if self.then == "deduct" and not self.deduct:
            raise ValueError("then: deduct needs deduct: <points> above 0")
        if self.then in ("fatal", "pass") and self.deduct is not None:
            raise ValueError(f"deduct does not apply to then: {self.then}")
        if self.confidence is not None and self.then != "review":
            raise ValueError("confidence applies only to then: review (how far to trust the verdict)")
        return self


class Item(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
    name: str = Field(min_length=1)
    explain: str = ""
    source: str = ""
    type: ItemType
    speaker: Speaker = "agent"
    scope: Scope | None = None
    when: When | None = None
    match: Any = None
    min_count: int = Field(1, ge=1)
    context: list[ContextRule] | None = None
    doubt_when: Doubt | None = None
    deduct: float = Field(0, ge=0, le=100)
    fatal: bool = False
    min_silence_s: float | None = Field(None, gt=0)
    unless_before: Any = None
    min_overlap_s: float | None = Field(None, gt=0)
    max_count: int = Field(0, ge=0)
    min_cpm: float | None = Field(None, gt=0)
    max_cpm: float | None = Field(None, gt=0)
    before: Any = None
    after: Any = None

    @model_validator(mode="after")
    def _fits_its_type(self) -> Item:
        allowed, needed = TYPE_FIELDS[self.type]
        common = {"id", "name", "explain", "source", "type", "when", "deduct", "fatal"}
        given = {k for k in self.model_fields_set if k not in common}
        if stray := sorted(given - allowed):
            raise ValueError(f"{', '.join(stray)} does not apply to a {self.type} item "
                             f"(it takes {', '.join(sorted(allowed)) or 'no settings'})")
        if missing := sorted(needed - given):
            raise ValueError(f"a {self.type} item needs {', '.join(missing)}")
        if self.type == "speech_rate" and self.min_cpm is None and self.max_cpm is None:
            raise ValueError("a speech_rate item needs min_cpm, max_cpm or both")
        if self.min_cpm and self.max_cpm and self.min_cpm >= self.max_cpm:
            raise ValueError("min_cpm must be below max_cpm")
        if not self.deduct and not self.fatal:
            raise ValueError("an item needs deduct (points) or fatal: true")
        catch_all = [i for i, rule in enumerate(self.context or []) if rule.if_ is None]
        if catch_all and catch_all[0] != len(self.context or []) - 1:
            raise ValueError(f"context[{catch_all[0]}] has no if: it takes every hit, so it must come last")
        return self


class Checklist(_Strict):
    schema_: Literal["qa.checklist/1"] = Field(alias="schema")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int | str
    name: str
    area: Area
    description: str = ""
    items: list[Item] = Field(min_length=1)


def check_bands(bounds: list[float], what: str) -> None:
    """Score bands (grades, tiers) listed from the highest min_score down to 0, each different."""
    if bounds != sorted(bounds, reverse=True) or len(set(bounds)) != len(bounds):
        raise ValueError(f"{what}s must be listed from the highest min_score down, each different")
    if bounds[-1] != 0:
        raise ValueError(f"the last {what} needs min_score: 0 so that every score has a {what}")


class Grade(_Strict):
    name: str
    min_score: float = Field(ge=0)


class HoldDetection(_Strict):
    min_silence_s: float = Field(4.0, gt=0)


class DirectionDetection(_Strict):
    """Cues in the agent's first turn when the call's direction is not given."""

    outbound: Any = None
    inbound: Any = None


class ScoringTemplate(_Strict):
    schema_: Literal["qa.scoring/1"] = Field(alias="schema")
    id: str
    version: int | str
    base: float = Field(100, gt=0)
    fatal_score: float = Field(0, ge=0)
    min_score: float = Field(0, ge=0)
    review_below_confidence: float = Field(0.7, ge=0, le=1)
    grades: list[Grade] = Field(min_length=1)
    hold: HoldDetection = HoldDetection()
    direction: DirectionDetection = DirectionDetection()

    @field_validator("grades")
    @classmethod
    def _grades_descend(cls, grades: list[Grade]) -> list[Grade]:
        check_bands([g.min_score for g in grades], "grade")
        return grades
