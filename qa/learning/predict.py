"""The active learned model's view of calls awaiting review: each item's P(fail), the call's
P(some automatic verdict is wrong), and whether rules and model disagree. Written beside the
verdicts, never over them: a model orders the queue and raises flags, inspectors decide.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qa.access import REVIEWABLE
from qa.db.models import Call, ItemVerdict, LearnedModel, Transcript
from qa.db.session import Database
from qa.learning.features import RuleVerdict, item_cases
from qa.learning.model import LearnedModels, call_p_wrong, disputes, p_wrong
from qa.scoring.loader import RuleSet
from qa.speech.transcript import Transcript as TranscriptData


def active_version(session: Session) -> int | None:
    return session.scalar(select(LearnedModel.version).where(LearnedModel.active))


class _ActiveModel:
    """The active version, loaded once per process and again only when another is activated.

    Known by its number and the moment its training finished: a number alone names another model
    once the database is replaced (restored, reset, another database in the same process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, datetime | None] | None = None
        self._loaded: tuple[int, LearnedModels] | None = None

    def get(self, session: Session) -> tuple[int, LearnedModels] | None:
        active = session.execute(select(LearnedModel.version, LearnedModel.finished_at)
                                 .where(LearnedModel.active)).first()
        if active is None:
            return None
        key = (active.version, active.finished_at)
        with self._lock:
            if self._loaded is None or self._key != key:
                blob = session.scalar(select(LearnedModel.blob).where(LearnedModel.version == active.version))
                assert blob is not None  # the active version is a trained one
                self._key, self._loaded = key, (active.version, LearnedModels.from_bytes(blob))
            return self._loaded


ACTIVE = _ActiveModel()


def predict_call(session: Session, call: Call, transcript: TranscriptData, rules: RuleSet,
                 loaded: tuple[int, LearnedModels] | None) -> None:
    """Write the model's view of `call` onto it and its verdicts (or clear it when no model is active)."""
    rows = session.scalars(select(ItemVerdict).where(ItemVerdict.call_id == call.id)).all()
    for row in rows:
        row.model_p_fail, row.model_disputes = None, False
    call.p_wrong, call.model_version, call.disputed = None, None, False
    if loaded is None:
        return
    version, models = loaded
    by_item = {row.item: row for row in rows}
    cases = item_cases(transcript, [RuleVerdict.of_row(r) for r in rows], rules, call.direction)
    wrong = []
    for case, p in zip(cases, models.p_fail(cases)):
        if p is None:
            continue
        row = by_item[case.item]
        row.model_p_fail, row.model_disputes = round(p, 4), disputes(case.auto_fail, p, models.flag_above)
        wrong.append(p_wrong(case.auto_fail, p))
        call.disputed = call.disputed or row.model_disputes
    call.p_wrong = round(call_p_wrong(wrong), 4) if wrong else None
    call.model_version = version


def predict_new_scoring(session: Session, call: Call, transcript: TranscriptData, rules: RuleSet) -> None:
    """After a call is scored (worker, re-scoring): the active model's view of it, if one is active."""
    predict_call(session, call, transcript, rules, ACTIVE.get(session))


def refresh_predictions(db: Database, rules: RuleSet, limit: int | None = None, batch: int = 200) -> int:
    """Bring the predictions of calls awaiting review up to the active version: predict up to
    `limit` calls (all when None) that another version or none predicted, `batch` per transaction,
    or clear them all when no version is active. Returns how many calls were predicted. Idle
    workers call this a batch at a time, so activating a version from the web page is instant."""
    with db.session() as session:
        loaded = ACTIVE.get(session)
        if loaded is None:
            session.execute(update(Call).where(Call.model_version.is_not(None))
                            .values(p_wrong=None, model_version=None, disputed=False))
            session.execute(update(ItemVerdict).where(ItemVerdict.model_p_fail.is_not(None))
                            .values(model_p_fail=None, model_disputes=False))
            return 0
        stale = (select(Call.id).join(Transcript, Transcript.call_id == Call.id)
                 .where(Call.state.in_(REVIEWABLE), Call.model_version.is_distinct_from(loaded[0])).order_by(Call.id))
        ids = list(session.scalars(stale.limit(limit) if limit else stale))
    for start in range(0, len(ids), batch):
        with db.session() as session:
            for call, data in session.execute(select(Call, Transcript.data).join(Transcript, Transcript.call_id == Call.id)
                                              .where(Call.id.in_(ids[start: start + batch]))):
                predict_call(session, call, TranscriptData.from_dict(data), rules, loaded)
    return len(ids)
