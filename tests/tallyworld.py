"""A call centre's months for the tally tests: agents, inspectors and confirmed calls whose
failed items are chosen by hand, so that every figure of a tally can be worked out on paper.

Calls are confirmed through qa.review.actions (the inspectors' own path), so their scores come from the
real scoring template: 100 minus the failed items' points, 0 with a fatal item.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from webworld import PASSWORD_HASH

from qa.db.models import Agent, Call, ItemVerdict, Scoring, Team, User
from qa.db.session import Database
from qa.review.actions import confirm_call, review_version, set_verdict
from qa.scoring.loader import RuleSet

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    """A centre-local time ("2026-11-30 23:58") as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


class Centre:
    """Builds agents, users (password webworld.PASSWORD) and confirmed calls in `db`."""

    def __init__(self, db: Database, rules: RuleSet) -> None:
        self.db = db
        self.rules = rules
        self.items = {item.id: (checklist.checklist.area, item) for checklist, item in rules.items()}
        self.agents: dict[str, int] = {}
        self.users: dict[str, int] = {}
        self._calls = 0

    def agent(self, code: str, name: str, team: str) -> int:
        with self.db.session() as session:
            found = session.scalars(select(Team).where(Team.name == team)).first() or Team(name=team)
            agent = Agent(code=code, name=name, team=found)
            session.add(agent)
            session.flush()
            self.agents[code] = agent.id
        return agent.id

    def user(self, username: str, role: str, agent: str | None = None) -> int:
        with self.db.session() as session:
            user = User(username=username, password_hash=PASSWORD_HASH, role=role, display_name=username,
                        agent_id=self.agents[agent] if agent else None)
            session.add(user)
            session.flush()
            self.users[username] = user.id
        return user.id

    def call(self, agent: str, at: str, failed: tuple[str, ...] = (), satisfaction: str | None = None,
             inspector: str = "insp1", duration: float = 240.0, passed: tuple[str, ...] = (),
             overrides: dict[str, str] | None = None) -> int:
        """A call of `agent` started at local time `at`, lasting `duration` seconds, failing
        `failed` and passing `passed` automatically, confirmed by `inspector` after changing
        the items of `overrides` to the verdicts given there."""
        self._calls += 1
        with self.db.session() as session:
            call = Call(sha256=f"{self._calls:064d}", audio_path=f"audio/{self._calls}.wav",
                        original_name=f"call{self._calls}.wav", agent_id=self.agents[agent], started_at=local(at),
                        duration=duration, state="scored", satisfaction=satisfaction)
            session.add(call)
            session.flush()
            scoring = Scoring(call_id=call.id, scorecard={}, score=0, grade="", checklists=[])
            session.add(scoring)
            session.flush()
            automatic = [(item_id, "fail") for item_id in failed] + [(item_id, "pass") for item_id in passed]
            for position, (item_id, verdict) in enumerate(automatic):
                area, item = self.items[item_id]
                session.add(ItemVerdict(call_id=call.id, scoring_id=scoring.id, position=position, item=item_id,
                                        area=area, name=item.name, auto_verdict=verdict, confidence=0.9,
                                        deduct=item.deduct, fatal=item.fatal, evidence=[]))
            session.flush()
            session.refresh(call)
            inspector_user = session.get_one(User, self.users[inspector])
            for item_id, final in (overrides or {}).items():
                changed = next(v for v in call.verdicts if v.item == item_id)
                set_verdict(session, inspector_user, changed, final, "质检员改判", review_version(call))
            confirm_call(session, inspector_user, call, review_version(call), self.rules.template)
            return call.id
