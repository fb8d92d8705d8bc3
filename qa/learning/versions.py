"""Versions of the learned models: training one (from the command line, on a schedule, or on a
manager's request from the web page), activating one, and deciding when retraining is due.

A version row is written when training starts, so that workers on several machines never train
at once (the version number is unique) and a training that died is recognised by its age.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qa.access import ModelState
from qa.audit import record
from qa.config import Config
from qa.db.models import LearnedModel, PhraseDecision, User, as_utc, utcnow
from qa.db.session import Database, rows_matched
from qa.learning.examples import labelled_calls, labelled_cases
from qa.learning.predict import active_version
from qa.learning.suggestions import suggest_phrases
from qa.learning.training import train
from qa.review.actions import InvalidAction
from qa.scoring.loader import RuleSet

TRAINING_STALE_S = 3600  # product default: a training this long without finishing has died


class LearningError(InvalidAction):
    """Training or activating was refused; `code` and the message say why."""


def _busy(session: Session) -> LearnedModel | None:
    """A version being trained now (not one that died) or waiting for a worker."""
    fresh = utcnow() - timedelta(seconds=TRAINING_STALE_S)
    training = (LearnedModel.state == ModelState.TRAINING) & (LearnedModel.heartbeat_at > fresh)
    return session.scalars(select(LearnedModel).where((LearnedModel.state == ModelState.REQUESTED) | training)).first()


def _next_version(session: Session) -> int:
    return (session.scalar(select(func.max(LearnedModel.version))) or 0) + 1


def request_training(session: Session, user: User) -> LearnedModel:
    """A manager asks for a new version; the next idle worker trains it."""
    if (busy := _busy(session)) is not None:
        raise LearningError("training_busy", f"version {busy.version} is already {busy.state}", version=busy.version)
    row = LearnedModel(version=_next_version(session), state=ModelState.REQUESTED, trigger="page", requested_by=user.id)
    session.add(row)
    session.flush()
    record(session, user, "request_training", "learned_model", row.id, None, None, {"version": row.version})
    return row


def _claim(db: Database, trigger: str) -> int:
    """Start training: take the requested version if there is one, else open a new version.
    Returns its version number; LearningError when another training is under way."""
    with db.session() as session:
        session.execute(update(LearnedModel).where(
            LearnedModel.state == ModelState.TRAINING, LearnedModel.heartbeat_at <= utcnow() - timedelta(seconds=TRAINING_STALE_S)
        ).values(state=ModelState.FAILED, error="training stopped without finishing", finished_at=utcnow()))
        requested = session.scalars(select(LearnedModel).where(LearnedModel.state == ModelState.REQUESTED)).first()
        if requested is None and (busy := _busy(session)) is not None:
            raise LearningError("training_busy", f"version {busy.version} is being trained", version=busy.version)
        if requested is not None:
            taken = rows_matched(session.execute(
                update(LearnedModel).where(LearnedModel.id == requested.id, LearnedModel.state == ModelState.REQUESTED)
                .values(state=ModelState.TRAINING, heartbeat_at=utcnow())))
            if not taken:
                raise LearningError("training_busy", f"version {requested.version} was taken by another worker",
                                    version=requested.version)
            return requested.version
        row = LearnedModel(version=_next_version(session), state=ModelState.TRAINING, trigger=trigger, heartbeat_at=utcnow())
        session.add(row)
        try:
            session.flush()
        except IntegrityError as exc:
            raise LearningError("training_busy", "another worker opened a version at the same moment",
                                version=row.version) from exc
        return row.version


def _decided(session: Session) -> set[tuple[str, str]]:
    return {(item, phrase) for item, phrase in session.execute(select(PhraseDecision.item, PhraseDecision.phrase))}


def train_version(db: Database, config: Config, rules: RuleSet, trigger: str = "command",
                  until: datetime | None = None) -> LearnedModel:
    """Train, score and store a new version from the latest learning.max_calls calls labelled
    before `until` (default: now), and activate it when learning.auto_activate is set. The version
    is recorded as failed, with the reason, when there is too little to learn from or training breaks."""
    settings = config.learning
    version = _claim(db, trigger)
    try:
        with db.session() as session:
            calls = labelled_calls(session, until)[-settings.max_calls:]
            if len(calls) < settings.min_calls:
                raise LearningError("not_enough_data", f"{len(calls)} labelled calls; learning.min_calls asks for "
                                    f"{settings.min_calls}", calls=len(calls), needed=settings.min_calls)
            examples = list(labelled_cases(session, rules, calls))
            decided = _decided(session)
        models, scores = train(examples, settings.flag_above, settings.held_out_share)
        suggestions = [s.to_dict() for s in suggest_phrases(examples, rules, decided)]
    except Exception as exc:
        with db.session() as session:
            session.execute(update(LearnedModel).where(LearnedModel.version == version)
                            .values(state=ModelState.FAILED, error=str(exc)[:2000], finished_at=utcnow()))
        raise
    with db.session() as session:
        row = session.scalars(select(LearnedModel).where(LearnedModel.version == version)).one()
        row.state, row.finished_at, row.blob = ModelState.READY, utcnow(), models.to_bytes()
        row.data_from, row.data_to = calls[0][1], calls[-1][1]
        row.calls, row.examples = len(calls), len(examples)
        row.scores, row.suggestions = scores, suggestions
        row.checklists = [{"id": c.checklist.id, "version": c.checklist.version} for c in rules.checklists]
        if settings.auto_activate:
            activate(session, version)
    return get_version(db, version)


def get_version(db: Database, version: int) -> LearnedModel:
    with db.session() as session:
        row = session.scalars(select(LearnedModel).where(LearnedModel.version == version)).first()
        if row is None:
            raise LearningError("no_version", f"there is no version {version}", version=version)
        session.expunge(row)
        return row


def activate(session: Session, version: int | None, user: User | None = None) -> None:
    """Make `version` the one that orders the queue (None: none does). The calls awaiting review
    are predicted with it by refresh_predictions: at once by `qa learn activate`, a batch at a
    time by idle workers otherwise."""
    if version is not None:
        row = session.scalars(select(LearnedModel).where(LearnedModel.version == version)).first()
        if row is None or row.state != ModelState.READY:
            raise LearningError("not_trained", f"version {version} is not a trained version", version=version)
    before = active_version(session)
    session.execute(update(LearnedModel).values(active=LearnedModel.version == version))
    record(session, user, "activate_model", "learned_model", None, None, {"version": before}, {"version": version})


def due(session: Session, config: Config, now: datetime | None = None) -> bool:
    """Whether scheduled retraining should run: the last version (of any outcome) is
    learning.retrain_every_hours old and calls were labelled after the newest trained one's data."""
    now = now or utcnow()
    last = session.scalar(select(func.max(LearnedModel.created_at)))
    if last is not None and now - as_utc(last) < timedelta(hours=config.learning.retrain_every_hours):
        return False
    newest = session.scalar(select(func.max(LearnedModel.data_to)).where(LearnedModel.state == ModelState.READY))
    labelled = labelled_calls(session)
    fresh = [at for _, at in labelled if newest is None or as_utc(at) > as_utc(newest)]
    return len(labelled) >= config.learning.min_calls and bool(fresh)


def train_if_wanted(db: Database, config: Config, rules: RuleSet, check_schedule: bool) -> LearnedModel | None:
    """For an idle worker: train a version a manager requested, or (with `check_schedule`) one that
    is due. Returns the version trained, None when there was nothing to do or another worker is on it."""
    with db.session() as session:
        requested = session.scalar(select(func.count()).select_from(LearnedModel)
                                   .where(LearnedModel.state == ModelState.REQUESTED))
        trigger = "page" if requested else "schedule" if check_schedule and due(session, config) else None
    if trigger is None:
        return None
    try:
        return train_version(db, config, rules, trigger)
    except LearningError:
        return None


def summary(row: LearnedModel) -> dict[str, Any]:
    """The figures a list of versions shows."""
    overall = row.scores.get("overall", {})
    return {"version": row.version, "state": row.state, "active": row.active, "trigger": row.trigger,
            "created_at": row.created_at, "data_from": row.data_from, "data_to": row.data_to, "calls": row.calls,
            "examples": row.examples, "auc": overall.get("auc"), "rule_agreement": overall.get("rule_agreement"),
            "model_agreement": overall.get("model_agreement"), "lift": row.scores.get("queue", {}).get("lift"),
            "error": row.error}
