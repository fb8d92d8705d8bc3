"""A month's tally from its inputs and the policy: pure computation, no database.

Order of work: each agent's call figures (count, mean, median, survey, deductions by item);
the policy's rules over failed items and recorded events, counted in each rule's window so that
repetition escalates (first a warning, then points, then a fine ...); adjustments; the
performance score and tier; the ranking; awards by rank and condition; the bottom flag; money.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from qa.tally.inputs import EntryFact, TallyInputs
from qa.tally.period import Month
from qa.tally.policy import NEXT_RUNG, Award, EventRule, ItemRule, LoadedPolicy, Policy, Step
from qa.tally.ranking import rank_agents
from qa.tally.result import AgentTally, ItemDeduction, Line, Tally, Totals

ADJUSTMENT = "adjustment"
MONEY_DIGITS = SCORE_DIGITS = 2


@dataclass
class _Occurrence:
    """One violation (a call breaking a rule) or one recorded event. Sorted by month; within a
    month, violations in call order, then events in the order they were recorded."""

    key: tuple[str, int, int]
    month: Month
    rule: ItemRule | EventRule
    call_id: int | None = None
    items: list[str] = field(default_factory=list)
    entry: EntryFact | None = None


def _first_rule(policy: Policy, item: str, area: str, fatal: bool) -> ItemRule | None:
    return next((rule for rule in policy.rules if rule.failed.takes(item, area, fatal)), None)


def _call_figures(agents: dict[int, AgentTally], inputs: TallyInputs) -> dict[int, float]:
    """Counts, mean, median, survey and deductions by item; returns each agent's score sum.
    (Plain tuples and local dicts: this loop sees every call of the month.)"""
    ids: dict[int, list[int]] = defaultdict(list)
    scores: dict[int, list[float]] = defaultdict(list)
    rated: Counter[int] = Counter()
    satisfied: Counter[int] = Counter()
    for call_id, agent_id, score, satisfaction in inputs.calls:
        ids[agent_id].append(call_id)
        scores[agent_id].append(score)
        if satisfaction is not None:
            rated[agent_id] += 1
            satisfied[agent_id] += satisfaction == "satisfied"
    for agent_id, values in scores.items():
        agent = agents[agent_id]
        agent.call_ids, agent.calls = ids[agent_id], len(values)
        agent.mean = round(sum(values) / len(values), SCORE_DIGITS)
        agent.median = round(statistics.median(values), SCORE_DIGITS)
        agent.rated, agent.satisfied = rated[agent_id], satisfied[agent_id]
        if agent.rated:
            agent.satisfaction = round(agent.satisfied / agent.rated, 4)
    by_item: dict[tuple[int, str], ItemDeduction] = {}
    agent_of = inputs.agent_of
    for call_id, _position, item, area, name, deduct, fatal in inputs.failed:
        agent_id = agent_of[call_id]
        entry = by_item.get((agent_id, item))
        if entry is None:
            entry = by_item[(agent_id, item)] = ItemDeduction(item, name, area)
            agents[agent_id].deductions.append(entry)
        entry.count += 1
        entry.points += deduct
        entry.fatal += fatal
        entry.calls.append(call_id)
    for agent in agents.values():
        agent.deductions.sort(key=lambda d: (-d.fatal, -d.points, d.item))
        agent.failed_items = sum(d.count for d in agent.deductions)
        agent.fatal = sum(d.fatal for d in agent.deductions)
    return {agent_id: sum(values) for agent_id, values in scores.items()}


def _occurrences(inputs: TallyInputs, policy: Policy) -> dict[int, list[_Occurrence]]:
    """Every agent's violations and events in the counting windows, oldest first."""
    rules: dict[tuple[str, str, bool], ItemRule | None] = {}
    by_call: dict[tuple[int, str], _Occurrence] = {}
    out: dict[int, list[_Occurrence]] = defaultdict(list)

    def take(order: int, call_id: int, agent_id: int, month: Month, item: str, area: str, fatal: bool) -> None:
        key = (item, area, fatal)
        if key not in rules:
            rules[key] = _first_rule(policy, item, area, fatal)
        rule = rules[key]
        if rule is None:
            return
        occurrence = by_call.get((call_id, rule.id))
        if occurrence is None:
            occurrence = by_call[(call_id, rule.id)] = _Occurrence((str(month), 0, order), month, rule, call_id)
            out[agent_id].append(occurrence)
        occurrence.items.append(item)

    for order, e in enumerate(inputs.earlier):
        take(order, e.call_id, e.agent_id, e.month, e.item, e.area, e.fatal)
    agent_of = inputs.agent_of
    for order, (call_id, _position, item, area, _name, _deduct, fatal) in enumerate(inputs.failed, len(inputs.earlier)):
        take(order, call_id, agent_of[call_id], inputs.month, item, area, fatal)
    event_rules: dict[str, EventRule] = {}
    for event_rule in policy.event_rules:
        event_rules.setdefault(event_rule.event, event_rule)
    for order, entry in enumerate(inputs.entries):  # read in the order they were recorded
        rule_of_kind = event_rules.get(entry.kind)
        if rule_of_kind is not None:
            out[entry.agent_id].extend(
                _Occurrence((entry.month, 1, order), Month.parse(entry.month), rule_of_kind, entry=entry)
                for _ in range(entry.quantity))
    for occurrences in out.values():
        occurrences.sort(key=lambda o: o.key)
    return out


@lru_cache(maxsize=256)
def _window_start(month: Month, window: str) -> Month:
    return month.window_start(window)


class _Ladder:
    """An agent's rung on the warning ladder, within the discipline window."""

    def __init__(self, policy: Policy) -> None:
        self.ladder = policy.discipline.ladder
        self.window = policy.discipline.window
        self.rung = -1
        self.started: Month | None = None

    def climb(self, month: Month, step: Step) -> str | None:
        start = _window_start(month, self.window)
        if start != self.started:
            self.rung, self.started = -1, start
        if step.discipline is None:
            return None
        target = self.rung + 1 if step.discipline == NEXT_RUNG else self.ladder.index(step.discipline)
        self.rung = min(len(self.ladder) - 1, max(self.rung, target))
        return self.ladder[self.rung]

    def state(self, month: Month) -> str | None:
        current = self.started == month.window_start(self.window) and self.rung >= 0
        return self.ladder[self.rung] if current else None


def _apply_rules(agent: AgentTally, occurrences: Iterable[_Occurrence], policy: Policy, month: Month) -> None:
    """Count each rule's occurrences in its window; the month's occurrences become lines.
    The occurrences of one recorded entry that reach the same step share one line."""
    counts: Counter[tuple[str, Month]] = Counter()
    ladder = _Ladder(policy)
    last: tuple[int, int] | None = None
    for occurrence in occurrences:
        rule = occurrence.rule
        window = (rule.id, _window_start(occurrence.month, rule.window))
        counts[window] += 1
        nth = counts[window]
        index = min(nth, len(rule.steps)) - 1
        step = rule.steps[index]
        rung = ladder.climb(occurrence.month, step)
        if occurrence.month != month:
            continue
        entry = occurrence.entry
        if entry is not None and last == (entry.id, index):
            line = agent.lines[-1]
            line.count += 1
            line.points += step.points
            line.yuan += step.yuan
            continue
        agent.lines.append(Line(
            kind="event" if entry else "rule", rule=rule.id, name=rule.name, occurrence=nth, points=step.points,
            yuan=step.yuan, discipline=rung, flag=step.flag, source=rule.source,
            calls=[occurrence.call_id] if occurrence.call_id else ([entry.call_id] if entry and entry.call_id else []),
            items=occurrence.items, entry=entry.id if entry else None,
            note=f"{entry.recorder or ''}：{entry.note}" if entry and entry.note else ""))
        last = (entry.id, index) if entry else None
    agent.discipline = ladder.state(month)


def _adjustments(agents: dict[int, AgentTally], entries: Iterable[EntryFact], policy: Policy, month: Month) -> None:
    """Adjustments by hand, and recorded events the policy no longer knows (shown, worth nothing)."""
    for entry in entries:
        if entry.month != str(month):
            continue
        who = f"{entry.recorder or ''}：{entry.note}"
        if entry.kind == ADJUSTMENT:
            agents[entry.agent_id].lines.append(Line(
                kind="adjustment", rule=ADJUSTMENT, name="人工调整", points=entry.points, yuan=entry.yuan,
                entry=entry.id, note=who, calls=[entry.call_id] if entry.call_id else []))
        elif entry.kind not in policy.events:
            agents[entry.agent_id].lines.append(Line(
                kind="event", rule=entry.kind, name=entry.kind, count=entry.quantity, entry=entry.id,
                note=f"奖惩制度中没有此事件，不计金额。{who}"))


def _award_applies(award: Award, agent: AgentTally, events: Counter[str]) -> bool:
    when = award.when
    if when.rank_at_most is not None and (agent.rank is None or agent.rank > when.rank_at_most):
        return False
    if when.score_at_least is not None and (agent.score is None or agent.score < when.score_at_least):
        return False
    if when.max_fatal is not None and agent.fatal > when.max_fatal:
        return False
    if when.satisfaction_at_least is not None and (
            agent.rated < when.min_rated or (agent.satisfaction or 0.0) < when.satisfaction_at_least):
        return False
    return all(events[kind] <= most for kind, most in when.max_events.items())


def _tier(policy: Policy, score: float | None) -> str | None:
    if score is None:
        return None
    return next((t.name for t in policy.performance.tiers if score >= t.min_score), policy.performance.tiers[-1].name)


def _settle(agent: AgentTally) -> None:
    """Money, points, flags and titles from the lines."""
    agent.reward_yuan = round(sum(line.yuan for line in agent.lines if line.yuan > 0), MONEY_DIGITS)
    agent.penalty_yuan = round(sum(line.yuan for line in agent.lines if line.yuan < 0), MONEY_DIGITS)
    agent.net_yuan = round(agent.reward_yuan + agent.penalty_yuan, MONEY_DIGITS)
    agent.flags = list(dict.fromkeys(line.flag for line in agent.lines if line.flag))
    agent.titles = list(dict.fromkeys(line.title for line in agent.lines if line.title))


def _totals(name: str, members: list[AgentTally], sums: dict[int, float],
            previous: dict[int, tuple[int, float]]) -> Totals:
    totals = Totals(name=name, agents=len(members))
    score_sum = previous_sum = 0.0
    for a in members:
        totals.ranked += a.ranked
        totals.calls += a.calls
        totals.fatal += a.fatal
        totals.points += sum(line.points for line in a.lines)
        totals.reward_yuan += a.reward_yuan
        totals.penalty_yuan += a.penalty_yuan
        score_sum += sums.get(a.agent_id, 0.0)
        count, mean = previous.get(a.agent_id, (0, 0.0))
        totals.previous_calls += count
        previous_sum += count * (mean or 0.0)
        for area, points in a.area_points().items():
            totals.area_points[area] = totals.area_points.get(area, 0.0) + points
    totals.points = round(totals.points, SCORE_DIGITS)
    totals.reward_yuan = round(totals.reward_yuan, MONEY_DIGITS)
    totals.penalty_yuan = round(totals.penalty_yuan, MONEY_DIGITS)
    totals.net_yuan = round(totals.reward_yuan + totals.penalty_yuan, MONEY_DIGITS)
    totals.mean = round(score_sum / totals.calls, SCORE_DIGITS) if totals.calls else None
    totals.previous_mean = round(previous_sum / totals.previous_calls, SCORE_DIGITS) if totals.previous_calls else None
    return totals


def compute_tally(inputs: TallyInputs, loaded: LoadedPolicy) -> Tally:
    policy = loaded.policy
    agents = {a.id: AgentTally(a.id, a.code, a.name, a.team) for a in inputs.agents}
    sums = _call_figures(agents, inputs)
    occurrences = _occurrences(inputs, policy)
    for agent_id, agent in agents.items():
        _apply_rules(agent, occurrences.get(agent_id, []), policy, inputs.month)
    _adjustments(agents, inputs.entries, policy, inputs.month)
    events: dict[int, Counter[str]] = defaultdict(Counter)
    for entry in inputs.entries:
        if entry.month == str(inputs.month):
            events[entry.agent_id][entry.kind] += entry.quantity
    for agent in agents.values():
        agent.points = round(sum(line.points for line in agent.lines), SCORE_DIGITS)
        basis = agent.mean if policy.performance.basis == "mean" else agent.median
        agent.score = round(max(0.0, basis + agent.points), SCORE_DIGITS) if basis is not None else None
        agent.tier = _tier(policy, agent.score)
        agent.open_appeals = inputs.open_appeals.get(agent.agent_id, 0)
        agent.previous_calls, previous_mean = inputs.previous.get(agent.agent_id, (0, None))
        agent.previous_mean = round(previous_mean, SCORE_DIGITS) if previous_mean is not None else None
    ranked = rank_agents(list(agents.values()), policy.ranking)
    for agent in agents.values():
        for award in policy.awards:
            if _award_applies(award, agent, events[agent.agent_id]):
                agent.lines.append(Line(kind="award", rule=award.id, name=award.name, yuan=award.yuan,
                                        title=award.title, source=award.source))
        if agent.bottom:
            agent.lines.append(Line(kind="bottom", rule="bottom", name=policy.ranking.bottom.flag,
                                    flag=policy.ranking.bottom.flag, source="ranking.bottom"))
        _settle(agent)
    unranked = sorted((a for a in agents.values() if not a.ranked), key=lambda a: a.code)
    ordered = ranked + unranked
    teams = sorted({a.team for a in ordered})
    return Tally(
        month=str(inputs.month), start=inputs.start.isoformat(), end=inputs.end.isoformat(),
        timezone=policy.period.timezone, policy=f"{policy.id} v{policy.version} sha256:{loaded.sha256[:12]}",
        agents=ordered,
        teams=[_totals(team or "—", [a for a in ordered if a.team == team], sums, inputs.previous) for team in teams],
        centre=_totals("全中心", ordered, sums, inputs.previous))
