"""`qa demo`'s lived-in history: two months of text-level calls for the demo agents, reviewed,
appealed, tallied and learned from by the product's own code, so that every page a manager or an
agent opens shows figures the product computed.

The calls are the variants of samples/variants.py (the samples' truth transcripts reworded and
misheard, each with the verdicts an inspector reaches). They have no recording: their transcript
says so (`audio.text_only`) and the call page shows the transcript without a player. Everything is
seeded, and each step skips what an earlier run already did, so running the demo again changes
nothing. Every review, appeal and publication goes through qa.review.actions and qa.tally.actions as a demo
user, so the audit log holds it; comments and notes say 演示数据.
"""

from __future__ import annotations

import hashlib
import importlib.util
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa.access import REVIEWABLE, CallState, ModelState
from qa.audit import record
from qa.bundled import bundled
from qa.config import Config
from qa.db.models import Agent, Appeal, Call, ItemVerdict, LearnedModel, Transcript, User
from qa.db.session import Database
from qa.evaluation import transcript_from_truth
from qa.learning.predict import refresh_predictions
from qa.learning.versions import LearningError, train_version
from qa.review.actions import confirm_call, decide_appeal, file_appeal, review_version, set_verdict
from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet
from qa.scoring.scorecard import VerdictValue
from qa.tally.actions import publish, published
from qa.tally.period import Month
from qa.tally.policy import LoadedPolicy
from qa.work.persist import store_scorecard

MARK = "演示数据"
PER_SAMPLE = 25  # 12 samples × 25 = 300 calls
SEED = 19
FIRST_DAY = datetime(2026, 10, 1)  # the history's two months: 2026-10 (published) and 2026-11 (the samples')
DAYS = 60  # the last day is a Sunday, so the latest week is a whole one
REVIEWED_SHARE = 0.5
INSPECTORS = ("inspector", "inspector2")
APPEALING = ("a1006", "a1002")
# The demo's version learns from the latest 100 confirmed calls rather than all 150: half the
# training time (9 s instead of 19 s of CPU here) for held-out figures that barely move (AUC 0.993 against 0.996).
TRAINING_CALLS = 100
APPEAL_REASONS = ("客户当时情绪激动，我已经按流程解释并道歉了。", "这句话是在复述客户的问题，不是对客户说的。",
                  "系统没有识别出我的开场白，录音里说了工号。", "通话后面已经按规范结束，请复核。")


@dataclass(frozen=True)
class DemoCall:
    """One call of the history: the variant it is made of, when it happened, whether it is reviewed."""

    variant: dict[str, Any]
    started_at: datetime
    reviewed: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(f"qa-demo:{self.variant['call_id']}".encode()).hexdigest()


def _variants_module() -> ModuleType:
    """samples/variants.py, a script beside the samples rather than a package module."""
    spec = importlib.util.spec_from_file_location("qa_demo_variants", bundled("samples") / "variants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo_calls(zone: ZoneInfo) -> list[DemoCall]:
    """The history's calls in time order, spread over working hours of the two months."""
    rng = random.Random(SEED)
    made = sorted(_variants_module().variants(PER_SAMPLE, seed=SEED),
                  key=lambda d: (int(d["call_id"].split("~")[1]), d["call_id"]))
    calls = []
    for number, data in enumerate(made):
        day = FIRST_DAY + timedelta(days=number * DAYS // len(made))
        local = datetime.combine(day.date(), time(9 + rng.randrange(9), rng.randrange(60)), zone)
        calls.append(DemoCall(data, local.astimezone(UTC), rng.random() < REVIEWED_SHARE))  # SQLite keeps no zone
    return calls


def months() -> tuple[Month, Month]:
    """(the month published, the month left as a draft)."""
    first = Month(FIRST_DAY.year, FIRST_DAY.month)
    return first, first.shift(1)


def _agent(session: Session, code: str) -> Agent:
    agent = session.scalar(select(Agent).where(Agent.code == code))
    if agent is None:
        agent = Agent(code=code, name=code)
        session.add(agent)
        session.flush()
    return agent


def _users(session: Session, names: tuple[str, ...]) -> list[User]:
    found = {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))}
    return [found[name] for name in names]


def store_calls(session: Session, rules: RuleSet, calls: list[DemoCall]) -> int:
    """Score each call not stored yet with the real engine and store it as the worker would;
    returns how many were new."""
    known = set(session.scalars(select(Call.sha256).where(Call.sha256.in_([c.sha256 for c in calls]))))
    new = [c for c in calls if c.sha256 not in known]
    for demo in new:
        data = demo.variant
        transcript = transcript_from_truth(data)
        transcript.audio.text_only = True  # no recording: the call page shows no player
        card = score_transcript(transcript, rules, data["direction"])
        call = Call(sha256=demo.sha256, audio_path="", original_name=f"{data['call_id']} ({MARK})",
                    agent=_agent(session, data["agent_id"]), direction=data["direction"], started_at=demo.started_at,
                    duration=data["duration"], state=CallState.SCORED)
        session.add(call)
        session.flush()
        session.add(Transcript(call_id=call.id, data=transcript.to_dict()))
        store_scorecard(session, call, card, rules, 0.0)
        record(session, None, "demo_call", "call", call.id, call.id, None,
               {"note": f"{MARK}: qa demo, samples/variants.py {data['call_id']}", "changes": data["changes"]})
    session.flush()
    return len(new)


def _by_sha(session: Session, calls: list[DemoCall]) -> Iterator[tuple[DemoCall, Call]]:
    stored = {c.sha256: c for c in session.scalars(select(Call).where(Call.sha256.in_([d.sha256 for d in calls])))}
    for demo in calls:
        if demo.sha256 in stored:
            yield demo, stored[demo.sha256]


def review_calls(session: Session, rules: RuleSet, calls: list[DemoCall]) -> int:
    """The demo inspectors confirm the reviewed share, overriding every automatic verdict that
    differs from the variant's recorded one, as an inspector who listened would."""
    inspectors = _users(session, INSPECTORS)
    done = 0
    for number, (demo, call) in enumerate(_by_sha(session, [c for c in calls if c.reviewed])):
        if call.state not in REVIEWABLE:
            continue
        inspector = inspectors[number % len(inspectors)]
        expected = demo.variant["expected_verdicts"]
        for verdict in call.verdicts:
            wanted = expected.get(verdict.item, verdict.auto_verdict)
            if verdict.final_verdict is None and wanted != verdict.auto_verdict:
                set_verdict(session, inspector, verdict, wanted, f"{MARK}：听录音后按质检标准改判", review_version(call))
        confirm_call(session, inspector, call, review_version(call), rules.template)
        done += 1
    return done


def _appealable(session: Session, agent: User) -> list[ItemVerdict]:
    return list(session.scalars(
        select(ItemVerdict).join(Call).where(Call.agent_id == agent.agent_id, Call.state == CallState.CONFIRMED,
                                            ItemVerdict.final_verdict == VerdictValue.FAIL, ItemVerdict.fatal.is_(False))
        .order_by(Call.started_at, ItemVerdict.position)))


def appeal_calls(session: Session, rules: RuleSet, calls: list[DemoCall]) -> int:
    """Each demo agent appeals two failed items of the history: the first decided by the inspector
    who did not confirm the call (one upheld, one rejected), the second left open."""
    ours = {c.sha256 for c in calls}
    inspectors = _users(session, INSPECTORS)
    filed = 0
    for number, agent in enumerate(_users(session, APPEALING)):
        items = [v for v in _appealable(session, agent) if v.call.sha256 in ours]
        if not items or session.scalar(select(Appeal.id).where(Appeal.agent_user_id == agent.id).limit(1)):
            continue
        first, last = items[0], items[-1]
        for verdict, reason in ((first, APPEAL_REASONS[2 * number]), (last, APPEAL_REASONS[2 * number + 1])):
            file_appeal(session, agent, verdict, reason)
            filed += 1
        review, appeal = first.call.review, first.appeal
        assert review is not None and appeal is not None  # a confirmed call, an appeal just filed
        decider = next(i for i in inspectors if i.id != review.inspector_id)
        decide_appeal(session, decider, appeal, upheld=number == 0,
                      comment=f"{MARK}：复听录音，{'申诉成立，改判' if number == 0 else '维持原判'}", template=rules.template)
    return filed


def publish_first_month(session: Session, loaded: LoadedPolicy) -> bool:
    """The manager publishes the first month once; the second stays a draft."""
    month = months()[0]
    if published(session, month) is not None:
        return False
    manager = _users(session, ("manager",))[0]
    publish(session, loaded, month, manager, f"{MARK}：{month} 月度考核")
    return True


def train_model(db: Database, config: Config, rules: RuleSet) -> int | None:
    """A learning version trained on the confirmed calls, once; the calls awaiting review are then
    predicted with it, as `qa learn activate` does. Returns the version trained now, if any."""
    with db.session() as session:
        if session.scalar(select(LearnedModel.id).where(LearnedModel.state == ModelState.READY).limit(1)) is not None:
            return None
    learning = config.learning.model_copy(update={"max_calls": min(config.learning.max_calls, TRAINING_CALLS)})
    try:
        version = train_version(db, config.model_copy(update={"learning": learning}), rules, trigger="command").version
    except LearningError:
        return None
    refresh_predictions(db, rules)
    return version


def build_history(db: Database, config: Config, rules: RuleSet, loaded: LoadedPolicy,
                  say: Callable[[str], None]) -> None:
    """Every step of the history, each skipping what is already there."""
    calls = demo_calls(ZoneInfo(config.timezone))
    with db.session() as session:
        stored = store_calls(session, rules, calls)
    with db.session() as session:
        reviewed = review_calls(session, rules, calls)
    with db.session() as session:
        appeals = appeal_calls(session, rules, calls)
    with db.session() as session:
        published_now = publish_first_month(session, loaded)
    version = train_model(db, config, rules)
    first, second = months()
    say(f"{MARK}: {len(calls)} text-level calls in {first} and {second} ({stored} new), {reviewed} confirmed now, "
        f"{appeals} appeals filed now, {first} {'published now' if published_now else 'published'}"
        f"{f', learning version {version} trained' if version else ''}")
