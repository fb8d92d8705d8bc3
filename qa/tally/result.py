"""A month's tally as figures: per agent, per team, for the centre. Every amount is a Line that
names the policy rule or award and the calls, items or recorded entry behind it.

Plain dataclasses, so that a published tally is stored as JSON and read back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

LINE_KINDS = ("rule", "event", "award", "adjustment", "bottom")


@dataclass
class Line:
    """One reward, penalty, warning or flag, and what it came from."""

    kind: str  # one of LINE_KINDS
    rule: str  # the policy's rule or award id; "adjustment" for a manager's adjustment
    name: str
    occurrence: int = 1  # the first occurrence this line covers, counted in the rule's window
    count: int = 1  # occurrences covered
    points: float = 0.0
    yuan: float = 0.0
    discipline: str | None = None
    flag: str | None = None
    title: str | None = None
    calls: list[int] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    entry: int | None = None
    note: str = ""
    source: str = ""  # the policy's citation of the centre documents


@dataclass
class ItemDeduction:
    item: str
    name: str
    area: str
    count: int = 0
    points: float = 0.0
    fatal: int = 0
    calls: list[int] = field(default_factory=list)


@dataclass
class AgentTally:
    agent_id: int
    code: str
    name: str
    team: str
    calls: int = 0
    call_ids: list[int] = field(default_factory=list)
    mean: float | None = None
    median: float | None = None
    rated: int = 0  # calls with a survey answer
    satisfied: int = 0
    satisfaction: float | None = None
    fatal: int = 0  # failed fatal items
    failed_items: int = 0
    deductions: list[ItemDeduction] = field(default_factory=list)
    points: float = 0.0  # performance points from the policy (negative: deducted)
    score: float | None = None  # the month's performance score
    tier: str | None = None
    ranked: bool = False
    rank: int | None = None
    bottom: bool = False
    reward_yuan: float = 0.0
    penalty_yuan: float = 0.0  # negative
    net_yuan: float = 0.0
    discipline: str | None = None  # the warning-ladder rung reached, in its window
    flags: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    open_appeals: int = 0
    previous_calls: int = 0
    previous_mean: float | None = None

    def area_points(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for d in self.deductions:
            out[d.area] = out.get(d.area, 0.0) + d.points
        return out


@dataclass
class Totals:
    """A team's or the centre's month."""

    name: str
    agents: int = 0
    ranked: int = 0
    calls: int = 0
    mean: float | None = None  # over calls
    fatal: int = 0
    points: float = 0.0
    reward_yuan: float = 0.0
    penalty_yuan: float = 0.0
    net_yuan: float = 0.0
    previous_calls: int = 0
    previous_mean: float | None = None
    area_points: dict[str, float] = field(default_factory=dict)


@dataclass
class Tally:
    month: str
    start: str  # ISO 8601, UTC
    end: str
    timezone: str
    policy: str  # "id v<version> sha256:<first 12>"
    agents: list[AgentTally]
    teams: list[Totals]
    centre: Totals

    def to_json(self) -> dict[str, Any]:
        return _ADAPTER.dump_python(self)

    def to_json_bytes(self) -> bytes:
        """Compact JSON in field order (the same figures give the same bytes)."""
        return _ADAPTER.dump_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        return _ADAPTER.validate_python(data)

    def agent(self, agent_id: int) -> AgentTally | None:
        return next((a for a in self.agents if a.agent_id == agent_id), None)


def agent_in(data: dict[str, Any], agent_id: int) -> tuple[AgentTally | None, int]:
    """One agent's figures from a stored tally, and how many agents were ranked, without reading
    every agent's figures (a scorecard shows one agent of hundreds)."""
    found = next((a for a in data["agents"] if a["agent_id"] == agent_id), None)
    ranked = sum(1 for a in data["agents"] if a["ranked"])
    return (_AGENT_ADAPTER.validate_python(found) if found is not None else None), ranked


_ADAPTER = TypeAdapter(Tally)
_AGENT_ADAPTER = TypeAdapter(AgentTally)
