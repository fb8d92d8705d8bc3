"""The month's ranking: performance score first, then the policy's tie-breaks; agents still
equal share a rank (1, 2, 2, 4). Agents with fewer confirmed calls than `min_calls` are listed
but not ranked. The last `bottom.count` places are flagged (末位) unless exempt by score; agents
tied on the last place are all flagged, and nobody is when no more agents are ranked than that."""

from __future__ import annotations

from collections.abc import Callable

from qa.tally.policy import Ranking
from qa.tally.result import AgentTally

TIE_BREAKS: dict[str, Callable[[AgentTally], float]] = {
    "fewer_fatal": lambda a: a.fatal,
    "more_calls": lambda a: -a.calls,
    "higher_median": lambda a: -(a.median or 0.0),
    "fewer_failed_items": lambda a: a.failed_items,
}


def rank_agents(agents: list[AgentTally], ranking: Ranking) -> list[AgentTally]:
    """Set rank and bottom on the eligible agents; return them best first."""
    def key(a: AgentTally) -> tuple[float, ...]:
        return (-(a.score or 0.0), *(TIE_BREAKS[name](a) for name in ranking.tie_breaks))

    eligible = sorted((a for a in agents if a.calls >= ranking.min_calls and a.score is not None),
                      key=lambda a: (key(a), a.code))
    previous: tuple[float, ...] | None = None
    for position, agent in enumerate(eligible, start=1):
        agent.ranked = True
        current = key(agent)
        agent.rank = position if current != previous else eligible[position - 2].rank
        previous = current
    count = ranking.bottom.count
    if count and len(eligible) > count:
        last_rank = eligible[len(eligible) - count].rank or 0
        exempt = ranking.bottom.exempt_score_at_least
        for agent in eligible:
            if (agent.rank or 0) >= last_rank and (exempt is None or (agent.score or 0.0) < exempt):
                agent.bottom = True
    return eligible
