"""The weekly QA report the centre's documents ask inspectors for (a weekly summary with a
training plan and a QA analysis): the week's most frequent deductions with example calls, the
agents most affected, and the trend against the previous week.

A week is an ISO week (Monday to Sunday) in the centre's time zone. Every processed call of the
week counts, with the inspectors' verdict where they gave one and the automatic one otherwise:
inspectors hear a few percent of calls, and the report is about all of them (how many were
confirmed is shown beside).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from qa.access import PROCESSED, CallState
from qa.db.models import Agent, Call, ItemVerdict, Team, call_time
from qa.scoring.scorecard import VerdictValue
from qa.spreadsheet import append_table
from qa.tally.period import Week

TOP_ITEMS = 10  # product defaults: how much of the week the report lists
TOP_AGENTS = 10
EXAMPLES = 3
@dataclass
class Deduction:
    """One checklist item failed in the week."""

    item: str
    name: str
    area: str
    fatal: bool
    calls: int = 0
    points: float = 0.0
    previous_calls: int = 0
    examples: list[int] = field(default_factory=list)  # confirmed calls first
    agents: Counter[str] = field(default_factory=Counter)  # agent code -> calls failing the item


@dataclass
class AgentWeek:
    code: str
    name: str
    team: str
    calls: int = 0
    failed_items: int = 0
    points: float = 0.0
    fatal: int = 0
    scores: list[float] = field(default_factory=list)
    items: Counter[str] = field(default_factory=Counter)  # item name -> times failed

    @property
    def mean(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def top_item(self) -> str:
        return self.items.most_common(1)[0][0] if self.items else ""


@dataclass(frozen=True)
class WeekFigures:
    calls: int
    confirmed: int
    mean: float | None
    fatal_calls: int


@dataclass
class WeeklyReport:
    week: Week
    figures: WeekFigures
    previous: WeekFigures
    deductions: list[Deduction]  # most frequent first, at most TOP_ITEMS
    agents: list[AgentWeek]  # most points lost first, at most TOP_AGENTS

    @property
    def training(self) -> list[tuple[Deduction, list[str]]]:
        """The training focus: the three most frequent deductions and the agents who failed them most."""
        return [(d, [code for code, _ in d.agents.most_common(5)]) for d in self.deductions[:3]]


def _figures(session: Session, start: datetime, end: datetime) -> WeekFigures:
    calls, confirmed, mean, fatal = session.execute(
        select(func.count(Call.id), func.count(Call.id).filter(Call.state == CallState.CONFIRMED), func.avg(Call.score),
               func.count(Call.id).filter(Call.fatal.is_(True)))
        .where(Call.state.in_(PROCESSED), call_time() >= start, call_time() < end)).one()
    return WeekFigures(calls, confirmed, float(mean) if mean is not None else None, fatal)


def _failed(start: datetime, end: datetime) -> Select[*tuple[Any, ...]]:
    verdict = func.coalesce(ItemVerdict.final_verdict, ItemVerdict.auto_verdict)
    return (select(ItemVerdict.call_id, ItemVerdict.item, ItemVerdict.name, ItemVerdict.area, ItemVerdict.deduct,
                   ItemVerdict.fatal, Call.state, Agent.code)
            .join(Call, Call.id == ItemVerdict.call_id).outerjoin(Agent, Agent.id == Call.agent_id)
            .where(Call.state.in_(PROCESSED), call_time() >= start, call_time() < end, verdict == VerdictValue.FAIL)
            .order_by(ItemVerdict.call_id))


def weekly_report(session: Session, week: Week, zone: ZoneInfo) -> WeeklyReport:
    start, end = week.bounds(zone)
    before = week.shift(-1).bounds(zone)
    agents: dict[str, AgentWeek] = {}
    for code, name, team, score, fatal in session.execute(
            select(Agent.code, Agent.name, Team.name, Call.score, Call.fatal)
            .join(Call, Call.agent_id == Agent.id).outerjoin(Team, Team.id == Agent.team_id)
            .where(Call.state.in_(PROCESSED), call_time() >= start, call_time() < end)):
        agent = agents.setdefault(code, AgentWeek(code, name, team or ""))
        agent.calls += 1
        agent.fatal += bool(fatal)
        if score is not None:
            agent.scores.append(score)
    deductions: dict[str, Deduction] = {}
    confirmed_examples: dict[str, list[int]] = defaultdict(list)
    for call_id, item, name, area, deduct, fatal, state, code in session.execute(_failed(start, end)):
        found = deductions.setdefault(item, Deduction(item, name, area, fatal))
        found.calls += 1
        found.points += deduct
        (confirmed_examples[item] if state == CallState.CONFIRMED else found.examples).append(call_id)
        if code is not None:
            found.agents[code] += 1
            agents[code].failed_items += 1
            agents[code].points += deduct
            agents[code].items[name] += 1
    for item, previous in Counter(row.item for row in session.execute(_failed(*before))).items():
        if item in deductions:
            deductions[item].previous_calls = previous
    for found in deductions.values():
        found.examples = (confirmed_examples[found.item] + found.examples)[:EXAMPLES]
    ranked_items = sorted(deductions.values(), key=lambda d: (-d.calls, -d.points, d.item))[:TOP_ITEMS]
    ranked_agents = sorted((a for a in agents.values() if a.failed_items),
                           key=lambda a: (-a.fatal, -a.points, a.code))[:TOP_AGENTS]
    return WeeklyReport(week, _figures(session, start, end), _figures(session, *before), ranked_items, ranked_agents)


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def write_weekly_xlsx(report: WeeklyReport, out: IO[bytes]) -> None:
    """The report as a workbook: 概况, 扣分项目, 坐席, 培训建议."""
    book = Workbook(write_only=True)
    now, before = report.figures, report.previous
    append_table(book, "概况", ["指标", str(report.week), str(report.week.shift(-1)), "变化"], [
        ["通话数", now.calls, before.calls, now.calls - before.calls],
        ["已确认", now.confirmed, before.confirmed, now.confirmed - before.confirmed],
        ["平均分", now.mean, before.mean, _change(now.mean, before.mean)],
        ["高压线通话", now.fatal_calls, before.fatal_calls, now.fatal_calls - before.fatal_calls],
    ])
    append_table(book, "扣分项目", ["检查项", "名称", "类别", "高压线", "通话数", "扣分", "上周通话数", "变化", "示例通话"],
                 [[d.item, d.name, d.area, "是" if d.fatal else "", d.calls, d.points, d.previous_calls,
                   d.calls - d.previous_calls, "、".join(map(str, d.examples))] for d in report.deductions])
    append_table(book, "坐席", ["坐席工号", "姓名", "班组", "通话数", "平均分", "未通过项次", "扣分", "高压线", "最常见问题"],
                 [[a.code, a.name, a.team, a.calls, a.mean, a.failed_items, a.points, a.fatal, a.top_item]
                  for a in report.agents])
    append_table(book, "培训建议", ["重点问题", "通话数", "最需培训的坐席"],
                 [[d.name, d.calls, "、".join(codes)] for d, codes in report.training])
    book.save(out)
