"""Coverage at a glance (managers): beside the tally's confirmed figures, the automatic view over
every processed call of the month, which is the point of checking 100 % of calls: per agent, team
and centre the automatic average, the share an inspector confirmed, and which automatic verdicts
inspectors change most often."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa.access import PROCESSED, CallState
from qa.db.models import Agent, Call, ItemVerdict, Scoring, Team, call_time
from qa.tally.period import Month, month_bounds
from qa.tally.policy import Period

TOP_OVERRIDES = 3


@dataclass
class CoverageRow:
    """One agent, team or the centre over the month's processed calls."""

    name: str
    calls: int = 0
    confirmed: int = 0
    auto_total: float = 0.0
    confirmed_total: float = 0.0
    overrides: Counter[str] = field(default_factory=Counter)  # item name: verdicts changed by inspectors

    @property
    def share_confirmed(self) -> float | None:
        return self.confirmed / self.calls if self.calls else None

    @property
    def auto_mean(self) -> float | None:
        return self.auto_total / self.calls if self.calls else None

    @property
    def confirmed_mean(self) -> float | None:
        return self.confirmed_total / self.confirmed if self.confirmed else None

    @property
    def top_overrides(self) -> list[tuple[str, int]]:
        return self.overrides.most_common(TOP_OVERRIDES)

    def add(self, other: CoverageRow) -> None:
        self.calls += other.calls
        self.confirmed += other.confirmed
        self.auto_total += other.auto_total
        self.confirmed_total += other.confirmed_total
        self.overrides.update(other.overrides)


@dataclass
class Coverage:
    agents: list[CoverageRow]  # name: "code name"
    teams: list[CoverageRow]
    centre: CoverageRow


def month_coverage(session: Session, month: Month, period: Period, centre_name: str) -> Coverage:
    start, end = month_bounds(month, period)
    in_month = (Call.state.in_(PROCESSED), call_time() >= start, call_time() < end)
    latest = select(Scoring.call_id, func.max(Scoring.id).label("scoring")).group_by(Scoring.call_id).subquery()
    calls = session.execute(select(Call.agent_id, Call.state, Call.score, Scoring.score)
                            .join(latest, latest.c.call_id == Call.id).join(Scoring, Scoring.id == latest.c.scoring)
                            .where(*in_month))
    rows: dict[int | None, CoverageRow] = defaultdict(lambda: CoverageRow(""))
    for agent_id, state, score, automatic in calls:
        row = rows[agent_id]
        row.calls += 1
        row.auto_total += automatic
        if state == CallState.CONFIRMED and score is not None:
            row.confirmed += 1
            row.confirmed_total += score
    changed = session.execute(select(Call.agent_id, ItemVerdict.name, func.count())
                              .join(ItemVerdict, ItemVerdict.call_id == Call.id)
                              .where(*in_month, ItemVerdict.final_verdict.is_not(None),
                                     ItemVerdict.final_verdict != ItemVerdict.auto_verdict)
                              .group_by(Call.agent_id, ItemVerdict.name))
    for agent_id, name, count in changed:
        rows[agent_id].overrides[name] += count
    people: dict[int | None, tuple[Agent, str]] = {a.id: (a, t.name if t else "") for a, t in session.execute(
        select(Agent, Team).outerjoin(Team, Team.id == Agent.team_id).where(Agent.id.in_([i for i in rows if i])))}
    teams: dict[str, CoverageRow] = {}
    centre = CoverageRow(centre_name)
    agents = []
    nobody: tuple[Agent | None, str] = (None, "")
    for agent_id, row in sorted(rows.items(), key=lambda kv: people[kv[0]][0].code if kv[0] in people else ""):
        agent, team = people.get(agent_id, nobody)
        row.name = f"{agent.code} {agent.name}" if agent else "—"
        agents.append(row)
        teams.setdefault(team or "—", CoverageRow(team or "—")).add(row)
        centre.add(row)
    return Coverage(agents, [teams[name] for name in sorted(teams)], centre)
