"""Database questions the pages ask: the inspector queue with its filters, and pagination."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from math import ceil
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import MultiDict

from qa.access import REVIEWABLE, CallState
from qa.db.models import Agent, Call, ItemVerdict, User, call_time
from qa.scoring.scorecard import VerdictValue
from web.ids import storable

SAMPLED_EVERY = 4  # product default: one sampled passing call after every four risky ones
PER_PAGE = 25


@dataclass(frozen=True)
class QueueFilters:
    agent: int | None = None
    team: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    grade: str = ""
    item: str = ""
    disputed: bool = False  # only calls where rules and the learned model disagree
    order: str = "risk"  # risk: the product's tiers; wrong: the learned model's P(a verdict is wrong)

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> QueueFilters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(args.get(name, ""))
            except ValueError:
                return None
        return cls(agent=storable(args.get("agent", type=int)), team=storable(args.get("team", type=int)),
                   date_from=day("from"), date_to=day("to"), grade=args.get("grade", ""), item=args.get("item", ""),
                   disputed=args.get("disputed") == "1", order="wrong" if args.get("order") == "wrong" else "risk")


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of `day` where the users are, as UTC (the database keeps UTC)."""
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def queue_conditions(filters: QueueFilters, zone: ZoneInfo) -> list[Any]:
    """Which calls the queue holds: awaiting review and risky, sampled, disputed by the learned model
    (a passing call it believes the rules got wrong) or being reviewed, then the filters."""
    conditions: list[Any] = [Call.state.in_(REVIEWABLE),
                             or_(Call.risk > 0, Call.sampled, Call.disputed, Call.state == CallState.IN_REVIEW)]
    if filters.agent:
        conditions.append(Call.agent_id == filters.agent)
    if filters.team:
        conditions.append(Call.agent.has(Agent.team_id == filters.team))
    if filters.date_from:
        conditions.append(call_time() >= _day_start(filters.date_from, zone))
    if filters.date_to:
        conditions.append(call_time() < _day_start(filters.date_to + timedelta(days=1), zone))
    if filters.grade:
        conditions.append(Call.grade == filters.grade)
    if filters.disputed:
        conditions.append(Call.disputed)
    if filters.item:
        failed = func.coalesce(ItemVerdict.final_verdict, ItemVerdict.auto_verdict) == VerdictValue.FAIL
        conditions.append(exists().where(ItemVerdict.call_id == Call.id, ItemVerdict.item == filters.item, failed))
    return conditions


def queue_statement(filters: QueueFilters, zone: ZoneInfo) -> Select[Call]:
    """Calls awaiting review, riskiest first, with one sampled passing call after every
    SAMPLED_EVERY risky ones so that sampling is not left at the bottom of the queue; or, with
    order "wrong", the calls whose automatic verdicts the learned model most doubts first (calls it
    has not seen after them, riskiest first)."""
    if filters.order == "wrong":
        return (select(Call).where(*queue_conditions(filters, zone))
                .order_by(Call.p_wrong.is_(None), Call.p_wrong.desc(), Call.risk.desc(), call_time(), Call.id)
                .options(selectinload(Call.agent).selectinload(Agent.team)))
    rank = func.row_number().over(partition_by=Call.sampled, order_by=(Call.risk.desc(), call_time(), Call.id))
    ranked = select(Call.id, rank.label("rank"), Call.sampled).where(*queue_conditions(filters, zone)).subquery()
    position = case((ranked.c.sampled, ranked.c.rank * SAMPLED_EVERY + 0.5), else_=ranked.c.rank)
    return (select(Call).join(ranked, ranked.c.id == Call.id).order_by(position, Call.id)
            .options(selectinload(Call.agent).selectinload(Agent.team)))


def queue_count(filters: QueueFilters, zone: ZoneInfo) -> Select[int]:
    """How many calls queue_statement holds, counted without ordering them."""
    return select(func.count(Call.id)).where(*queue_conditions(filters, zone))


@dataclass(frozen=True)
class VerdictSummary:
    """What the queue shows of a call's verdicts: the failed items and the least certain verdict."""

    failed: list[str]
    lowest_confidence: float | None


def verdict_summaries(session: Session, call_ids: list[int]) -> dict[int, VerdictSummary]:
    """Summaries of the calls' verdicts read as plain rows: a page of the queue would otherwise
    build hundreds of verdict objects (with their evidence) to show two figures per call."""
    failed: dict[int, list[str]] = {call_id: [] for call_id in call_ids}
    confidences: dict[int, list[float]] = {call_id: [] for call_id in call_ids}
    verdict = func.coalesce(ItemVerdict.final_verdict, ItemVerdict.auto_verdict)
    rows = session.execute(select(ItemVerdict.call_id, ItemVerdict.name, verdict, ItemVerdict.confidence)
                           .where(ItemVerdict.call_id.in_(call_ids)).order_by(ItemVerdict.call_id, ItemVerdict.position))
    for call_id, name, value, confidence in rows:
        if value == VerdictValue.FAIL:
            failed[call_id].append(name)
        if value != VerdictValue.NA:
            confidences[call_id].append(confidence)
    return {call_id: VerdictSummary(failed[call_id], min(confidences[call_id], default=None)) for call_id in call_ids}


@dataclass
class Page:
    items: list[Any]
    number: int
    pages: int
    total: int


def paginate(session: Session, statement: Select[Any], number: int, per_page: int = PER_PAGE,
             count: Select[int] | None = None) -> Page:
    """One page of `statement`'s rows (the number clamped to the pages there are); `count`, when
    given, is a cheaper statement giving the same total."""
    count = count if count is not None else select(func.count()).select_from(statement.order_by(None).subquery())
    total = session.scalar(count) or 0
    pages = max(1, ceil(total / per_page))
    number = min(max(1, number), pages)
    items = list(session.scalars(statement.limit(per_page).offset((number - 1) * per_page)))
    return Page(items, number, pages, total)


def users_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))} if wanted else {}
