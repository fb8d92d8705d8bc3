"""SQLAlchemy 2 models. Every schema change goes through an Alembic migration (qa/db/migrations).

Transcripts and scorecards are stored whole as JSON (the pipeline's and the engine's contracts,
qa.transcript/1 and qa.scorecard/1); what pages filter and sort on is copied into columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from qa.access import AppealState, CallState, JobState, ModelState, Role

ROLES = tuple(role.value for role in Role)  # as click's choices, which take an enum's names
SATISFACTION = ("satisfied", "neutral", "unsatisfied")  # the customer's post-call survey answer


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON}


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)

    agents: Mapped[list[Agent]] = relationship(back_populates="team")


class Agent(Base):
    """An agent (坐席) as the calls know them: `code` is the agent id in the call metadata."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))

    team: Mapped[Team | None] = relationship(back_populates="agents")
    calls: Mapped[list[Call]] = relationship(back_populates="agent")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # for role agent
    locale: Mapped[str] = mapped_column(String(10), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Every signed-in session carries the version it began under; raising it (sign-out, password
    # change, deactivation) ends them all, including cookies copied elsewhere.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    agent: Mapped[Agent | None] = relationship()

    def end_sessions(self) -> None:
        """End every session this user has signed in with, wherever its cookie is."""
        self.session_version = (self.session_version or 0) + 1


class Call(Base):
    """One recorded call. The same audio (by SHA-256) is one call, however often it is uploaded."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    audio_path: Mapped[str] = mapped_column(String(500))  # relative to the data directory
    original_name: Mapped[str] = mapped_column(String(255))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    direction: Mapped[str | None] = mapped_column(String(10))  # inbound | outbound | None: infer
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    customer_number: Mapped[str] = mapped_column(String(40), default="")  # masked
    duration: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(20), default=CallState.QUEUED)
    error: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float)  # current: confirmed if reviewed, else automatic
    grade: Mapped[str] = mapped_column(String(20), default="")
    fatal: Mapped[bool] = mapped_column(Boolean, default=False)
    risk: Mapped[float] = mapped_column(Float, default=0.0)  # queue order, highest first
    sampled: Mapped[bool] = mapped_column(Boolean, default=False)  # passing call drawn for review
    # What the active learned model says (qa.learning): the chance that some automatic verdict of
    # the call is wrong, the model's version, and whether rules and model disagree on an item.
    p_wrong: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    satisfaction: Mapped[str | None] = mapped_column(String(12))  # survey answer, None: not surveyed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    agent: Mapped[Agent | None] = relationship(back_populates="calls")
    transcript: Mapped[Transcript | None] = relationship(back_populates="call", uselist=False)
    verdicts: Mapped[list[ItemVerdict]] = relationship(back_populates="call", order_by="ItemVerdict.position")
    review: Mapped[Review | None] = relationship(back_populates="call", uselist=False)

    __table_args__ = (
        Index("ix_calls_queue", "state", "risk"),
        Index("ix_calls_queue_model", "state", "p_wrong"),
        Index("ix_calls_agent_started", "agent_id", "started_at"),
        Index("ix_calls_state_time", "state", text("coalesce(started_at, created_at)")),  # a month's calls
    )


def call_time() -> Any:
    """When a call happened, as SQL: its start time, else when it was stored."""
    return func.coalesce(Call.started_at, Call.created_at)


class Transcript(Base):
    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    call: Mapped[Call] = relationship(back_populates="transcript")


class Scoring(Base):
    """One automatic scoring of a call (a call is re-scored when checklists change)."""

    __tablename__ = "scorings"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    scorecard: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(20))
    fatal: Mapped[bool] = mapped_column(Boolean, default=False)
    checklists: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ItemVerdict(Base):
    """One checklist item of a call: the automatic verdict and what people decided."""

    __tablename__ = "item_verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    scoring_id: Mapped[int] = mapped_column(ForeignKey("scorings.id"))
    position: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(100))
    area: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    auto_verdict: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float] = mapped_column(Float)
    deduct: Mapped[float] = mapped_column(Float)
    fatal: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    final_verdict: Mapped[str | None] = mapped_column(String(10))  # set by the inspector
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    model_p_fail: Mapped[float | None] = mapped_column(Float)  # the learned model's P(final verdict is fail)
    model_disputes: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    call: Mapped[Call] = relationship(back_populates="verdicts")
    appeal: Mapped[Appeal | None] = relationship(back_populates="verdict", uselist=False)

    @property
    def verdict(self) -> str:
        return self.final_verdict or self.auto_verdict

    __table_args__ = (
        UniqueConstraint("call_id", "item", name="uq_item_verdicts_call_item"),
        # A month's failed items for the tally, read from the index alone (a few % of all items).
        Index("ix_item_verdicts_failed", "call_id", "position", "item", "area", "name", "deduct", "fatal",
              sqlite_where=text("final_verdict = 'fail'"), postgresql_where=text("final_verdict = 'fail'")),
    )


class Review(Base):
    """An inspector's review of a call. `version` guards against two inspectors saving at once."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), unique=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    call: Mapped[Call] = relationship(back_populates="review")
    inspector: Mapped[User] = relationship()

    __mapper_args__: Mapping[str, Any] = {"version_id_col": version}


class Appeal(Base):
    """An agent's appeal against one confirmed item, decided by another inspector; once per item."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    verdict_id: Mapped[int] = mapped_column(ForeignKey("item_verdicts.id"), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    agent_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default=AppealState.OPEN)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    verdict: Mapped[ItemVerdict] = relationship(back_populates="appeal")


class AuditEntry(Base):
    """Who changed what, when, from what to what. Never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    user: Mapped[User | None] = relationship()


class Job(Base):
    """A unit of background work (process one call). Claimed by one worker at a time."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="process")
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=JobState.QUEUED)
    stage: Mapped[str] = mapped_column(String(20), default="")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the worker's last sign of life
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_jobs_state_created", "state", "created_at"),)


class TallyEntry(Base):
    """Something recorded by hand for an agent's month: an event the policy rewards or fines
    (a customer's named praise, a complaint) or a manager's adjustment, which needs a reason."""

    __tablename__ = "tally_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, as the policy's period counts months
    kind: Mapped[str] = mapped_column(String(40))  # an event of the policy, or "adjustment"
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    points: Mapped[float] = mapped_column(Float, default=0.0)  # adjustments only
    yuan: Mapped[float] = mapped_column(Float, default=0.0)  # adjustments only
    note: Mapped[str] = mapped_column(Text, default="")
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    agent: Mapped[Agent] = relationship()
    recorder: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_tally_entries_month_agent", "month", "agent_id"),)


class PublishedTally(Base):
    """A month's tally and ranking as published: frozen. A later change makes a new version."""

    __tablename__ = "published_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    publisher: Mapped[str] = mapped_column(String(100))  # who, as shown (also for the command line)
    note: Mapped[str] = mapped_column(Text, default="")  # why this version
    policy: Mapped[str] = mapped_column(String(200))  # id, version and SHA-256 of the policy used
    digest: Mapped[str] = mapped_column(String(64))  # of the figures, to tell when they have changed
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("month", "version", name="uq_published_tallies_month_version"),)


class CalibrationSession(Base):
    """Calls a manager picked for several inspectors to review blind to one another, to see
    where they disagree and agree on a verdict (which also becomes training data)."""

    __tablename__ = "calibration_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    calls: Mapped[list[CalibrationCall]] = relationship(order_by="CalibrationCall.position",
                                                        cascade="all, delete-orphan")


class CalibrationCall(Base):
    __tablename__ = "calibration_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    position: Mapped[int] = mapped_column(Integer)

    call: Mapped[Call] = relationship()

    __table_args__ = (UniqueConstraint("session_id", "call_id", name="uq_calibration_calls_session_call"),)


class CalibrationRating(Base):
    """One inspector's verdict on one item of a calibration call."""

    __tablename__ = "calibration_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    item: Mapped[str] = mapped_column(String(100))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("session_id", "call_id", "item", "inspector_id",
                                       name="uq_calibration_ratings_one_each"),)


class CalibrationDecision(Base):
    """The verdict a manager recorded as agreed for one item of a calibration call."""

    __tablename__ = "calibration_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    item: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("session_id", "call_id", "item", name="uq_calibration_decisions_one"),)


class LearnedModel(Base):
    """One version of the models learned from inspectors' final verdicts (qa.learning).

    A row is made when training starts (state "training", or "requested" from the web page for a
    worker to take up), so two workers never train at once; `blob` is the fitted models, `scores`
    what they scored on calls held out of training, `suggestions` the phrases proposed to managers.
    At most one version is active: its predictions order the queue. It never changes a verdict.
    """

    __tablename__ = "learned_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(10), default=ModelState.TRAINING)
    trigger: Mapped[str] = mapped_column(String(20), default="command")  # command|schedule|page
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    data_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # confirmations trained on
    data_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    examples: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    suggestions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    checklists: Mapped[list[Any]] = mapped_column(JSON, default=list)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str] = mapped_column(Text, default="")


class PhraseDecision(Base):
    """A manager's answer to a suggested phrase: accepted into the checklist, or rejected (then
    it is not suggested again)."""

    __tablename__ = "phrase_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item: Mapped[str] = mapped_column(String(100))
    phrase: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(10))  # accepted | rejected
    model_version: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("item", "phrase", name="uq_phrase_decisions_item_phrase"),)


class SignInAttempt(Base):
    """One attempt to sign in (outcome ok, wrong, or refused while backing off); the back-off
    on password guessing counts these, and they are the log of attempts."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(10))  # ok | wrong | throttled
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_sign_in_attempts_username_at", "username", "at"),
                      Index("ix_sign_in_attempts_address_at", "address", "at"))
