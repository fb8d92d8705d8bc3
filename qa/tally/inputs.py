"""What a month's tally reads from the database: confirmed calls, their failed items, the
events and adjustments recorded by hand, open appeals, and last month's averages for the trend.

Queries return plain tuples (no ORM objects): a month of a large centre is 200,000 calls.
Failed items and entries are read from the start of the longest counting window (a rule may
escalate over a quarter or a year), calls only for the month itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from qa.db.models import Agent, Appeal, Call, ItemVerdict, TallyEntry, Team, User, call_time
from qa.tally.period import Month, month_bounds, month_of, month_start
from qa.tally.policy import Policy


class CallFact(NamedTuple):
    id: int
    agent_id: int
    score: float
    satisfaction: str | None


class FailedItem(NamedTuple):
    """A failed item of a confirmed call, in call order; `month` None: the month tallied, else an
    earlier month of a counting window."""

    call_id: int
    agent_id: int
    month: Month | None
    position: int
    item: str
    area: str
    name: str
    deduct: float
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
    calls: list[CallFact]  # confirmed calls of the month, by id
    failed: list[FailedItem]  # failed items of confirmed calls, from the earliest window start to the month's end
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


def load_inputs(session: Session, policy: Policy, month: Month) -> TallyInputs:
    start, end = month_bounds(month, policy.period)
    first = earliest_window(month, policy)
    since = month_start(first, policy.period)
    at = call_time()
    confirmed = (Call.state == "confirmed", Call.agent_id.is_not(None))
    agents = [AgentInfo(*row) for row in session.execute(
        select(Agent.id, Agent.code, Agent.name, func.coalesce(Team.name, "")).outerjoin(Team).order_by(Agent.code))]
    calls = [CallFact(*row) for row in session.execute(
        select(Call.id, Call.agent_id, Call.score, Call.satisfaction)
        .where(*confirmed, at >= start, at < end).order_by(Call.id))]
    details = (ItemVerdict.position, ItemVerdict.item, ItemVerdict.area, ItemVerdict.name, ItemVerdict.deduct,
               ItemVerdict.fatal)
    failed_items = (select(ItemVerdict.call_id, Call.agent_id, at, *details).join(Call, Call.id == ItemVerdict.call_id)
                    .where(*confirmed, ItemVerdict.final_verdict == "fail").order_by(at, Call.id, ItemVerdict.position))
    failed: list[FailedItem] = []
    taken = _taken_by_rules(policy)
    if since < start and taken is not None:  # earlier months of a window: only what a rule counts
        failed += [FailedItem(call, agent, month_of(moment, policy.period), *rest) for call, agent, moment, *rest
                   in session.execute(failed_items.where(at >= since, at < start, taken))]
    if calls:  # calls arrive about in time order: the month's id span bounds the index range read
        month_items = (failed_items.with_only_columns(ItemVerdict.call_id, Call.agent_id, *details)
                       .where(ItemVerdict.call_id.between(calls[0].id, calls[-1].id), at >= start, at < end))
        failed += [FailedItem(call, agent, None, *rest) for call, agent, *rest in session.execute(month_items)]
    months = [str(first.shift(i)) for i in range((month.year - first.year) * 12 + month.month - first.month + 1)]
    entries = [EntryFact(*row) for row in session.execute(
        select(TallyEntry.id, TallyEntry.agent_id, TallyEntry.month, TallyEntry.kind, TallyEntry.quantity,
               TallyEntry.points, TallyEntry.yuan, TallyEntry.note, TallyEntry.call_id,
               func.coalesce(func.nullif(User.display_name, ""), User.username))
        .outerjoin(User, User.id == TallyEntry.recorded_by)
        .where(TallyEntry.month.in_(months)).order_by(TallyEntry.month, TallyEntry.created_at, TallyEntry.id))]
    agent_of = {call.id: call.agent_id for call in calls}
    open_appeals: dict[int, int] = {}
    for call_id in session.scalars(select(Appeal.call_id).where(Appeal.state == "open")):  # few at any time
        if call_id in agent_of:
            open_appeals[agent_of[call_id]] = open_appeals.get(agent_of[call_id], 0) + 1
    before_start, before_end = month_bounds(month.shift(-1), policy.period)
    previous = {agent: (count, mean) for agent, count, mean in session.execute(
        select(Call.agent_id, func.count(Call.id), func.avg(Call.score))
        .where(*confirmed, at >= before_start, at < before_end).group_by(Call.agent_id))}
    return TallyInputs(month, start, end, agents, calls, failed, entries, open_appeals, previous)
