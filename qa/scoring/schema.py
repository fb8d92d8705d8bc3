"""The checklist and scoring-template file formats, validated with pydantic.

A checklist (schema qa.checklist/1) is a list of items a quality manager writes in YAML; the
scoring template (qa.scoring/1) turns item verdicts into a score and a grade. Every figure in
them is editable; the defaults that ship are in qa/checklists/.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

Area = Literal["greeting", "closing", "courtesy", "forbidden", "acoustic"]
Speaker = Literal["agent", "customer", "anyone"]


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


class Outnumbered(_Strict):
    """A pattern said at least `times` times as often as the item's own phrase, in the turns it searches."""

    pattern: Any
    times: float = Field(gt=0)


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
    # the agent says this far more often than the phrase (您 three times as often as 你: the 你 were misheard)
    outnumbered_by: Outnumbered | None = None

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


class _ItemBase(_Strict):
    """What every item has; each kind below adds its own settings (and says which it needs)."""

    COMMON: ClassVar[frozenset[str]] = frozenset({"id", "name", "explain", "source", "type", "when", "deduct", "fatal"})
    NEEDS: ClassVar[frozenset[str]] = frozenset()

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
    name: str = Field(min_length=1)
    explain: str = ""
    source: str = ""
    when: When | None = None
    deduct: float = Field(0, ge=0, le=100)
    fatal: bool = False

    @classmethod
    def settings(cls) -> list[str]:
        """The settings this kind takes beyond the common ones."""
        return sorted(set(cls.model_fields) - cls.COMMON)

    @model_validator(mode="before")
    @classmethod
    def _fits_its_kind(cls, data: Any) -> Any:
        """A setting of another kind, or a setting the kind needs left out, is named as such; a
        setting of no kind is left to the usual "Extra inputs are not permitted"."""
        if not isinstance(data, dict):
            return data
        kind = data.get("type")
        given = set(data) - cls.COMMON
        if stray := sorted(k for k in given if k not in cls.model_fields and k in ALL_SETTINGS):
            raise ValueError(f"{', '.join(stray)} does not apply to a {kind} item "
                             f"(it takes {', '.join(cls.settings()) or 'no settings'})")
        if missing := sorted(cls.NEEDS - given):
            raise ValueError(f"a {kind} item needs {', '.join(missing)}")
        return data

    @model_validator(mode="after")
    def _costs_something(self) -> _ItemBase:
        if not self.deduct and not self.fatal:
            raise ValueError("an item needs deduct (points) or fatal: true")
        return self


class PhraseItem(_ItemBase):
    """An item about what is said: by whom, where in the call, which phrases."""

    speaker: Speaker = "agent"
    scope: Scope | None = None
    match: Any = None


class RequireItem(PhraseItem):
    """A phrase that must be said (a greeting, a closing)."""

    NEEDS = frozenset({"match"})
    type: Literal["require"]


class ForbidItem(PhraseItem):
    """A phrase that must not be said, weighed by where it was said (`context`), and a pass that
    the customer's reply can put in doubt (`doubt_when`)."""

    NEEDS = frozenset({"match"})
    type: Literal["forbid"]
    min_count: int = Field(1, ge=1)
    context: list[ContextRule] | None = None
    doubt_when: Doubt | None = None

    @model_validator(mode="after")
    def _catch_all_last(self) -> ForbidItem:
        catch_all = [i for i, rule in enumerate(self.context or []) if rule.if_ is None]
        if catch_all and catch_all[0] != len(self.context or []) - 1:
            raise ValueError(f"context[{catch_all[0]}] has no if: it takes every hit, so it must come last")
        return self


class DeadAirItem(_ItemBase):
    """Silence longer than `min_silence_s` that the agent did not announce (`unless_before`)."""

    NEEDS = frozenset({"min_silence_s"})
    type: Literal["dead_air"]
    min_silence_s: float = Field(gt=0)
    unless_before: Any = None


class InterruptionItem(_ItemBase):
    """The agent starting to speak over the customer by at least `min_overlap_s`."""

    NEEDS = frozenset({"min_overlap_s"})
    type: Literal["interruption"]
    min_overlap_s: float = Field(gt=0)
    max_count: int = Field(0, ge=0)


class SpeechRateItem(_ItemBase):
    """The agent's pace in characters per minute, between `min_cpm` and `max_cpm`."""

    type: Literal["speech_rate"]
    min_cpm: float | None = Field(None, gt=0)
    max_cpm: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _a_range(self) -> SpeechRateItem:
        if self.min_cpm is None and self.max_cpm is None:
            raise ValueError("a speech_rate item needs min_cpm, max_cpm or both")
        if self.min_cpm and self.max_cpm and self.min_cpm >= self.max_cpm:
            raise ValueError("min_cpm must be below max_cpm")
        return self


class HoldItem(_ItemBase):
    """A hold announced `before` and thanked for `after`. A silence with neither fails the item
    (`unannounced: fail`: the customer was made to wait unasked), or is left to the dead-air item
    (`skip`), for a centre that counts one silence once."""

    NEEDS = frozenset({"before", "after"})
    type: Literal["hold"]
    before: Any = None
    after: Any = None
    unannounced: Literal["fail", "skip"] = "fail"


# Every kind of checklist item, by the `type` a checklist writes: the one list to extend (see
# docs/developers.md, "Adding a checklist item kind"); the engine registers a rule for each.
ITEM_KINDS: dict[str, type[_ItemBase]] = {
    "require": RequireItem, "forbid": ForbidItem, "dead_air": DeadAirItem,
    "interruption": InterruptionItem, "speech_rate": SpeechRateItem, "hold": HoldItem,
}
PHRASE_TYPES = tuple(kind for kind, cls in ITEM_KINDS.items() if issubclass(cls, PhraseItem))
ALL_SETTINGS = frozenset(name for cls in ITEM_KINDS.values() for name in cls.settings())


def _kind_of(item: Any) -> str | None:
    """The kind an item says it is (None where it says none a checklist may use)."""
    kind = item.get("type") if isinstance(item, dict) else getattr(item, "type", None)
    return kind if kind in ITEM_KINDS else None


Item = Annotated[
    Annotated[RequireItem, Tag("require")] | Annotated[ForbidItem, Tag("forbid")]
    | Annotated[DeadAirItem, Tag("dead_air")] | Annotated[InterruptionItem, Tag("interruption")]
    | Annotated[SpeechRateItem, Tag("speech_rate")] | Annotated[HoldItem, Tag("hold")],
    Discriminator(_kind_of, custom_error_type="item_type",
                  custom_error_message=f"type: give one of {', '.join(ITEM_KINDS)}"),
]


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
    fatal_min_confidence: float = Field(0.9, ge=0, le=1)
    fatal_min_role_confidence: float = Field(0.8, ge=0, le=1)
    review_passes_in: list[str] = ["forbidden"]
    grades: list[Grade] = Field(min_length=1)
    hold: HoldDetection = HoldDetection()
    direction: DirectionDetection = DirectionDetection()

    @field_validator("grades")
    @classmethod
    def _grades_descend(cls, grades: list[Grade]) -> list[Grade]:
        check_bands([g.min_score for g in grades], "grade")
        return grades
