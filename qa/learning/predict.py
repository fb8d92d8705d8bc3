"""The active learned model's view of calls awaiting review: each item's P(fail), the call's
P(some automatic verdict is wrong), and whether rules and model disagree. Written beside the
verdicts, never over them: a model orders the queue and raises flags, inspectors decide.
"""

from __future__ import annotations

import threading

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qa.db.models import Call, ItemVerdict, LearnedModel
from qa.db.session import Database
from qa.learning.features import RuleVerdict, item_cases
from qa.learning.model import LearnedModels, call_p_wrong, disputes, p_wrong
from qa.review import REVIEWABLE
from qa.scoring.loader import RuleSet
from qa.transcript import Transcript


class _ActiveModel:
    """The active version, loaded once per process and again only when another is activated."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: tuple[int, LearnedModels] | None = None

    def get(self, session: Session) -> tuple[int, LearnedModels] | None:
        version = session.scalar(select(LearnedModel.version).where(LearnedModel.active))
        if version is None:
            return None
        with self._lock:
            if self._loaded is None or self._loaded[0] != version:
                blob = session.scalar(select(LearnedModel.blob).where(LearnedModel.version == version))
                self._loaded = (version, LearnedModels.from_bytes(blob))
            return self._loaded


ACTIVE = _ActiveModel()


def predict_call(session: Session, call: Call, transcript: Transcript, rules: RuleSet,
                 loaded: tuple[int, LearnedModels] | None) -> None:
    """Write the model's view of `call` onto it and its verdicts (or clear it when no model is active)."""
    rows = session.scalars(select(ItemVerdict).where(ItemVerdict.call_id == call.id)).all()
    for row in rows:
        row.model_p_fail = None
    call.p_wrong, call.model_version, call.disputed = None, None, False
    if loaded is None:
        return
    version, models = loaded
    by_item = {row.item: row for row in rows}
    cases = item_cases(transcript, [RuleVerdict.of_row(r) for r in rows],
                       rules, call.direction)
    wrong = []
    for case, p in zip(cases, models.p_fail(cases)):
        if p is None:
            continue
        by_item[case.item].model_p_fail = round(p, 4)
        wrong.append(p_wrong(case.auto_fail, p))
        call.disputed = call.disputed or disputes(case.auto_fail, p, models.flag_above)
    call.p_wrong = round(call_p_wrong(wrong), 4) if wrong else None
    call.model_version = version


def predict_new_scoring(session: Session, call: Call, transcript: Transcript, rules: RuleSet) -> None:
    """After a call is scored (worker, re-scoring): the active model's view of it, if one is active."""
    predict_call(session, call, transcript, rules, ACTIVE.get(session))


def refresh_predictions(db: Database, rules: RuleSet, batch: int = 200) -> int:
    """Predict every call awaiting review with the active model (or clear them all when none is
    active), BATCH calls per transaction; returns how many calls were predicted."""
    with db.session() as session:
        loaded = ACTIVE.get(session)
        ids = list(session.scalars(select(Call.id).where(Call.state.in_(REVIEWABLE)).order_by(Call.id)))
        if loaded is None:
            session.execute(update(Call).where(Call.model_version.is_not(None))
                            .values(p_wrong=None, model_version=None, disputed=False))
            session.execute(update(ItemVerdict).where(ItemVerdict.model_p_fail.is_not(None))
                            .values(model_p_fail=None))
            return 0
    for start in range(0, len(ids), batch):
        with db.session() as session:
            for call in session.scalars(select(Call).where(Call.id.in_(ids[start: start + batch]))):
                if call.transcript is not None:
                    predict_call(session, call, Transcript.from_dict(call.transcript.data), rules, loaded)
    return len(ids)
