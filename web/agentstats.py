"""An agent's record from confirmed calls: the monthly trend and the deductions that cost most.

Only confirmed calls count, as in the monthly tally: automatic verdicts may still change."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from qa.access import CallState
from qa.db.models import Call, ItemVerdict, as_utc, call_time
from qa.scoring.scorecard import VerdictValue

TOP_DEDUCTIONS = 5
EXAMPLES_PER_ITEM = 5


@dataclass
class Month:
    label: str  # yyyy-mm in the users' time zone
    calls: int
    average: float


@dataclass
class Deduction:
    item: str
    name: str
    times: int
    points: float
    fatal: int
    examples: list[ItemVerdict] = field(default_factory=list)  # most recent first


def _local_month(moment: datetime, zone: ZoneInfo) -> str:
    return as_utc(moment).astimezone(zone).strftime("%Y-%m")


def monthly_scores(session: Session, agent_id: int, zone: ZoneInfo) -> list[Month]:
    rows = session.execute(select(call_time(), Call.score)
                           .where(Call.agent_id == agent_id, Call.state == CallState.CONFIRMED, Call.score.is_not(None)))
    by_month: dict[str, list[float]] = defaultdict(list)
    for moment, score in rows:
        by_month[_local_month(moment, zone)].append(score)
    return [Month(label, len(scores), round(sum(scores) / len(scores), 1))
            for label, scores in sorted(by_month.items())]


def top_deductions(session: Session, agent_id: int) -> list[Deduction]:
    """Items failed on confirmed calls, by points lost (fatal failures first)."""
    failed = (select(ItemVerdict).join(Call).options(contains_eager(ItemVerdict.call))  # examples show the call
              .where(Call.agent_id == agent_id, Call.state == CallState.CONFIRMED, ItemVerdict.final_verdict == VerdictValue.FAIL)
              .order_by(call_time().desc(), ItemVerdict.id.desc()))
    grouped: dict[str, Deduction] = {}
    for v in session.scalars(failed):
        entry = grouped.setdefault(v.item, Deduction(v.item, v.name, 0, 0.0, 0))
        entry.times += 1
        entry.points += v.deduct
        entry.fatal += v.fatal
        if len(entry.examples) < EXAMPLES_PER_ITEM:
            entry.examples.append(v)
    return sorted(grouped.values(), key=lambda d: (-d.fatal, -d.points, d.item))[:TOP_DEDUCTIONS]
