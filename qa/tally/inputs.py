"""What a month's tally reads from the database: confirmed calls, their failed items, the
events and adjustments recorded by hand, open appeals, and last month's averages for the trend.

A month of a large centre is 200,000 calls: the month's calls and failed items stay the rows
SQLAlchemy Core returns (no ORM objects, no copies), read through an index on call time and a
partial index of failed items (bench/tally.py).
Failed items and entries are read from the start of the longest counting window (a rule may
escalate over a quarter or a year), calls only for the month itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import ColumnElement, Row, func, or_, select
from sqlalchemy.orm import Session

from qa.access import AppealState, CallState
from qa.db.models import Agent, Appeal, Call, ItemVerdict, TallyEntry, Team, User, call_time
from qa.scoring.scorecard import VerdictValue
from qa.tally.period import Month, month_bounds, month_of, month_start
from qa.tally.policy import Policy

# A confirmed call of the month: (id, agent_id, score, satisfaction).
CallRow = Row[int, int, float, str | None]
# A failed item of one of the month's calls: (call_id, position, item, area, name, deduct, fatal).
ItemRow = Row[int, int, str, str, str, float, bool]


class EarlierItem(NamedTuple):
    """A failed item in an earlier month of a counting window, that a rule of the policy counts."""

    call_id: int
    agent_id: int
    month: Month
    item: str
    area: str
    fatal: bool


class EntryFact(NamedTuple):
    id: int
    agent_id: int
    month: str
    kind: str
    quantity: int
    points: float
    yuan: float
    note: str
    call_id: int | None
    recorder: str | None


class AgentInfo(NamedTuple):
    id: int
    code: str
    name: str
    team: str


@dataclass(frozen=True)
class TallyInputs:
    month: Month
    start: datetime
    end: datetime
    agents: list[AgentInfo]
    calls: list[CallRow]  # confirmed calls of the month, in the order they started
    agent_of: dict[int, int]  # call id -> agent id, for the month's calls
    failed: list[ItemRow]  # their failed items, in the same order
    earlier: list[EarlierItem]  # from the earliest window start to the month, in the order the calls started
    entries: list[EntryFact]  # from the earliest window's first month to this month
    open_appeals: dict[int, int]  # agent id -> appeals still open on the month's calls
    previous: dict[int, tuple[int, float]]  # agent id -> (calls, mean score) last month


def earliest_window(month: Month, policy: Policy) -> Month:
    windows = [rule.window for rule in [*policy.rules, *policy.event_rules]] + [policy.discipline.window]
    return min(month.window_start(w) for w in windows)


def _taken_by_rules(policy: Policy) -> ColumnElement[bool] | None:
    """SQL for "some rule of the policy counts this failed item"; None when no rule counts any."""
    conditions: list[ColumnElement[bool]] = []
    for rule in policy.rules:
        trigger = rule.failed
        if trigger.items:
            conditions.append(ItemVerdict.item.in_(trigger.items))
        if trigger.areas:
            conditions.append(ItemVerdict.area.in_(trigger.areas))
        if trigger.fatal:
            conditions.append(ItemVerdict.fatal.is_(True))
    return or_(*conditions) if conditions else None


def _month_failed_items(session: Session, calls: list[CallRow]) -> list[ItemRow]:
    """The failed items of the month's calls, in call order. Read by the calls' id span from the
    partial index of failed items, without a join (calls arrive about in time order, so the span
    is about one month of calls); items of calls outside the month are dropped here."""
    if not calls:
        return []
    order = {call[0]: index for index, call in enumerate(calls)}
    rows = session.connection().execute(
        select(ItemVerdict.call_id, ItemVerdict.position, ItemVerdict.item, ItemVerdict.area, ItemVerdict.name,
               ItemVerdict.deduct, ItemVerdict.fatal)
        .where(ItemVerdict.final_verdict == VerdictValue.FAIL, ItemVerdict.call_id.between(min(order), max(order)))
        .order_by(ItemVerdict.call_id, ItemVerdict.position)).all()
    kept = [row for row in rows if row[0] in order]
    kept.sort(key=lambda row: order[row[0]])  # stable: items stay in position order within a call
    return kept


def load_inputs(session: Session, policy: Policy, month: Month) -> TallyInputs:
    start, end = month_bounds(month, policy.period)
    first = earliest_window(month, policy)
    since = month_start(first, policy.period)
    at = call_time()
    confirmed = (Call.state == CallState.CONFIRMED, Call.agent_id.is_not(None))
    agents = [AgentInfo(*row) for row in session.execute(
        select(Agent.id, Agent.code, Agent.name, func.coalesce(Team.name, "")).outerjoin(Team).order_by(Agent.code))]
    # The columns are nullable, these rows not: the query asks for an agent, and confirmed calls are scored.
    calls = cast(list[CallRow], list(session.connection().execute(
        select(Call.id, Call.agent_id, Call.score, Call.satisfaction)
        .where(*confirmed, at >= start, at < end).order_by(at, Call.id)).all()))
    agent_of = {call[0]: call[1] for call in calls}
    earlier: list[EarlierItem] = []
    taken = _taken_by_rules(policy)
    if since < start and taken is not None:  # earlier months of a window: only what a rule counts
        earlier = [EarlierItem(call, agent, month_of(moment, policy.period), item, area, fatal)
                   for call, agent, moment, item, area, fatal in session.execute(
                       select(ItemVerdict.call_id, Call.agent_id, at, ItemVerdict.item, ItemVerdict.area,
                              ItemVerdict.fatal).join(Call, Call.id == ItemVerdict.call_id)
                       .where(*confirmed, ItemVerdict.final_verdict == VerdictValue.FAIL, at >= since, at < start, taken)
                       .order_by(at, Call.id, ItemVerdict.position))]
    months = [str(first.shift(i)) for i in range((month.year - first.year) * 12 + month.month - first.month + 1)]
    entries = [EntryFact(*row) for row in session.execute(
        select(TallyEntry.id, TallyEntry.agent_id, TallyEntry.month, TallyEntry.kind, TallyEntry.quantity,
               TallyEntry.points, TallyEntry.yuan, TallyEntry.note, TallyEntry.call_id,
               func.coalesce(func.nullif(User.display_name, ""), User.username))
        .outerjoin(User, User.id == TallyEntry.recorded_by)
        .where(TallyEntry.month.in_(months)).order_by(TallyEntry.month, TallyEntry.created_at, TallyEntry.id))]
    open_appeals: Counter[int] = Counter()
    for call_id in session.scalars(select(Appeal.call_id).where(Appeal.state == AppealState.OPEN)):  # few at any time
        if call_id in agent_of:
            open_appeals[agent_of[call_id]] += 1
    before_start, before_end = month_bounds(month.shift(-1), policy.period)
    previous = {agent: (count, mean) for agent, count, mean in session.execute(
        select(Call.agent_id, func.count(Call.id), func.avg(Call.score))
        .where(*confirmed, at >= before_start, at < before_end).group_by(Call.agent_id))}
    return TallyInputs(month, start, end, agents, calls, agent_of, _month_failed_items(session, calls), earlier,
                       entries, open_appeals, previous)
