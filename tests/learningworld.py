"""A centre whose calls are the samples' variants (samples/variants.py): each stored and scored
as the worker stores them, and the first ones confirmed by an inspector who, through qa.review.actions,
changes every automatic verdict that differs from the variant's expected one. Their automatic
verdicts are wrong where the variants' wording fools the rules, so there is something to learn."""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from webworld import PASSWORD_HASH

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.db.models import Agent, Call, Team, Transcript, User
from qa.db.session import Database
from qa.evaluation import transcript_from_truth
from qa.learning.predict import predict_new_scoring
from qa.review.actions import confirm_call, review_version, set_verdict
from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet
from qa.work.persist import store_scorecard

sys.path.insert(0, str(REPO_ROOT / "samples"))
from variants import variants  # samples/ is a folder of scripts

# The checklists as they stood when the variants were written (2026-12-01), kept here: the
# learning tests need rules the variants fool in known ways, and tuning the bundled checklists
# on other calls (they now name the line from 客服 / 中心 alone) takes some of those mistakes away.
LEARNING_CHECKLISTS = Path(__file__).resolve().parent / "data" / "learning-checklists"

START = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


class LearningCentre:
    """Calls of `variants(per_sample)`, one hour apart (every sample's first variant, then every
    sample's second, …), the first `confirmed` of them confirmed."""

    def __init__(self, db: Database, rules: RuleSet, per_sample: int, confirmed: int) -> None:
        self.db, self.rules = db, rules
        self.truths: dict[int, dict[str, Any]] = {}
        with db.session() as session:
            team = Team(name="一组")
            session.add_all([User(username="insp1", password_hash=PASSWORD_HASH, role="inspector"),
                             User(username="boss", password_hash=PASSWORD_HASH, role="manager"), team])
            session.flush()
            self.inspector = session.query(User).filter_by(username="insp1").one().id
        calls = sorted(variants(per_sample), key=lambda d: (int(d["call_id"].split("~")[1]), d["call_id"]))
        for number, data in enumerate(calls):
            self.truths[self.add(data, START + timedelta(hours=number))] = data
        for call_id in list(self.truths)[:confirmed]:
            self.confirm(call_id)

    def add(self, data: dict[str, Any], at: datetime) -> int:
        transcript = transcript_from_truth(data)
        card = score_transcript(transcript, self.rules, data["direction"])
        with self.db.session() as session:
            agent = session.query(Agent).filter_by(code=data["agent_id"]).first()
            if agent is None:
                agent = Agent(code=data["agent_id"], name=data["agent_id"], team=session.query(Team).one())
            call = Call(sha256=hashlib.sha256(data["call_id"].encode()).hexdigest(), audio_path="audio/none.wav",
                        original_name=f"{data['call_id']}.wav", agent=agent, direction=data["direction"],
                        started_at=at, duration=data["duration"], state="scored")
            session.add(call)
            session.flush()
            session.add(Transcript(call_id=call.id, data=transcript.to_dict()))
            store_scorecard(session, call, card, self.rules, 0.0)
            predict_new_scoring(session, call, transcript, self.rules)
            return call.id

    def confirm(self, call_id: int) -> None:
        expected = self.truths[call_id]["expected_verdicts"]
        with self.db.session() as session:
            call = session.get_one(Call, call_id)
            inspector = session.get_one(User, self.inspector)
            for verdict in call.verdicts:
                if verdict.auto_verdict != expected[verdict.item]:
                    set_verdict(session, inspector, verdict, expected[verdict.item], "听录音改判", review_version(call))
            confirm_call(session, inspector, call, review_version(call), self.rules.template)

    def wrong(self, call_id: int) -> int:
        """How many of the call's automatic verdicts differ from the expected ones (fail against not fail)."""
        expected = self.truths[call_id]["expected_verdicts"]
        with self.db.session() as session:
            return sum((v.auto_verdict == "fail") != (expected[v.item] == "fail")
                       for v in session.get_one(Call, call_id).verdicts)
