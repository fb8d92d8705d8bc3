"""The reward-and-penalty policy (schema qa.policy/1): a YAML file a manager edits by hand.

It says how confirmed calls and recorded events become performance points (绩效分), money (元),
rungs of the warning ladder and flags; which awards the month's ranking brings; and how agents
are ranked. The default (qa/policies/default.yaml) follows the centre documents and cites them;
what they leave open is marked there as the product's own default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qa.errors import QAError
from qa.scoring.schema import Area, check_bands
from qa.yamlfile import parse_model_file, problem_at

DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "policies" / "default.yaml"
NEXT_RUNG = "next"

Window = Literal["month", "quarter", "year"]
TieBreak = Literal["fewer_fatal", "more_calls", "higher_median", "fewer_failed_items"]
ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class PolicyError(QAError, ValueError):
    """One or more problems in a policy file; str() lists them one per line."""

    code = "policy"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Strict):
    """Which moments belong to month "YYYY-MM": local time in `timezone`; `last_day` 0 for
    calendar months, else the day a month closes on (the next starts the day after)."""

    timezone: str = "Asia/Shanghai"
    last_day: int = Field(default=0, ge=0, le=28)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)") from exc
        return name


class Tier(_Strict):
    name: str = Field(min_length=1)
    min_score: float = Field(ge=0)


class Performance(_Strict):
    """The month's performance score: the mean or median confirmed call score plus rule points."""

    basis: Literal["mean", "median"] = "mean"
    tiers: list[Tier] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _tiers_descend(cls, tiers: list[Tier]) -> list[Tier]:
        check_bands([t.min_score for t in tiers], "tier")
        return tiers


class Discipline(_Strict):
    ladder: list[str] = Field(min_length=1)
    window: Window = "year"


class EventKind(_Strict):
    name: str = Field(min_length=1)
    source: str = ""


class Step(_Strict):
    """What one occurrence brings: points (绩效分), yuan (元; negative: a fine), a rung of the
    warning ladder (or "next"), and a flag for the manager."""

    points: float = 0
    yuan: float = 0
    discipline: str | None = None
    flag: str | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Step:
        if not (self.points or self.yuan or self.discipline or self.flag):
            raise ValueError("a step needs points, yuan, discipline or flag")
        return self


class Trigger(_Strict):
    """Which failed items of confirmed calls a rule takes: by id, by area, or every fatal item."""

    items: list[str] | None = Field(default=None, min_length=1)
    areas: list[Area] | None = Field(default=None, min_length=1)
    fatal: Literal[True] | None = None

    def takes(self, item: str, area: str, fatal: bool) -> bool:
        """Whether this trigger names a failed item (qa.tally.inputs asks the same in SQL)."""
        return bool((self.items and item in self.items) or (self.areas and area in self.areas)
                    or (self.fatal and fatal))

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        given = [k for k in ("items", "areas", "fatal") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of items, areas, fatal (got {', '.join(given) or 'none'})")
        return self


class _Rule(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    source: str = ""
    window: Window = "month"
    steps: list[Step] = Field(min_length=1)


class ItemRule(_Rule):
    failed: Trigger


class EventRule(_Rule):
    event: str  # an event kind


class AwardCondition(_Strict):
    rank_at_most: int | None = Field(default=None, ge=1)
    score_at_least: float | None = None
    max_fatal: int | None = Field(default=None, ge=0)
    satisfaction_at_least: float | None = Field(default=None, ge=0, le=1)
    min_rated: int = Field(default=1, ge=1)  # surveys needed before satisfaction counts
    max_events: dict[str, int] = Field(default_factory=dict)


class Award(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    source: str = ""
    when: AwardCondition
    yuan: float = 0  # awards bring money and titles, not points: they follow from the ranking
    title: str | None = None

    @model_validator(mode="after")
    def _gives_something(self) -> Award:
        if not (self.yuan or self.title):
            raise ValueError("an award needs yuan or title")
        return self


class Bottom(_Strict):
    count: int = Field(default=1, ge=0)
    exempt_score_at_least: float | None = None
    flag: str = "末位"


def _default_tie_breaks() -> list[TieBreak]:
    return ["fewer_fatal", "more_calls"]


class Ranking(_Strict):
    min_calls: int = Field(default=1, ge=1)
    tie_breaks: list[TieBreak] = Field(default_factory=_default_tie_breaks)
    bottom: Bottom = Bottom()


class Policy(_Strict):
    schema_: Literal["qa.policy/1"] = Field(alias="schema")
    id: str
    version: int | str
    name: str
    period: Period = Period()
    performance: Performance
    discipline: Discipline
    events: dict[str, EventKind] = Field(default_factory=dict)
    rules: list[ItemRule] = Field(default_factory=list)
    awards: list[Award] = Field(default_factory=list)
    event_rules: list[EventRule] = Field(default_factory=list)
    ranking: Ranking = Ranking()


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    path: Path
    sha256: str


def _cross_checks(policy: Policy, known_items: set[str] | None) -> list[tuple[tuple[str | int, ...], str]]:
    """What pydantic cannot see alone: ids unique, names that refer to the ladder, events, items."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    seen: dict[str, str] = {}
    rungs = set(policy.discipline.ladder) | {NEXT_RUNG}
    for section in ("rules", "awards", "event_rules"):
        for i, entry in enumerate(getattr(policy, section)):
            if entry.id in seen:
                found.append(((section, i, "id"), f"{entry.id!r} is already used in {seen[entry.id]}"))
            seen[entry.id] = f"{section}[{i}]"
    for section in ("rules", "event_rules"):
        for i, rule in enumerate(getattr(policy, section)):
            for j, step in enumerate(rule.steps):
                if step.discipline is not None and step.discipline not in rungs:
                    found.append(((section, i, "steps", j, "discipline"),
                                  f"{step.discipline!r} is not on discipline.ladder (or 'next')"))
    for i, rule in enumerate(policy.event_rules):
        if rule.event not in policy.events:
            found.append((("event_rules", i, "event"), f"event {rule.event!r} is not listed under events"))
    for i, award in enumerate(policy.awards):
        for kind in award.when.max_events:
            if kind not in policy.events:
                found.append((("awards", i, "when", "max_events"), f"event {kind!r} is not listed under events"))
    if known_items is not None:
        for i, rule in enumerate(policy.rules):
            for item in rule.failed.items or []:
                if item not in known_items:
                    found.append((("rules", i, "failed", "items"), f"no checklist has an item {item!r}"))
    return found


def load_policy(path: Path | None = None, known_items: set[str] | None = None) -> LoadedPolicy:
    """The policy at `path` (default: the bundled one), fully valid, or PolicyError listing every
    problem by line. With `known_items`, rules must name items that the checklists have."""
    path = path or DEFAULT_POLICY
    policy, tree, problems, digest = parse_model_file(path, Policy)
    if policy is not None:
        problems += [problem_at(path, tree, loc, message) for loc, message in _cross_checks(policy, known_items)]
    if problems:
        raise PolicyError(problems)
    return LoadedPolicy(policy, path, digest)
