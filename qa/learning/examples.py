"""Training examples from the database: every item of every confirmed call, labelled with the
inspectors' final verdict (appeals decided so far included), and every item a calibration session
agreed on, labelled with that agreed verdict, which outranks a single inspector's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from qa.access import CallState
from qa.db.models import CalibrationDecision, Call, ItemVerdict, Review, Transcript
from qa.learning.features import RuleVerdict, item_cases
from qa.learning.training import LabelledCase
from qa.scoring.loader import RuleSet
from qa.scoring.scorecard import VerdictValue
from qa.speech.transcript import Transcript as TranscriptData

BATCH = 200  # calls read per query


def _decisions(session: Session, call_ids: list[int]) -> dict[tuple[int, str], tuple[str, datetime]]:
    """The latest agreed calibration verdict per (call, item)."""
    rows = session.execute(select(CalibrationDecision.call_id, CalibrationDecision.item, CalibrationDecision.verdict,
                                  CalibrationDecision.decided_at)
                           .where(CalibrationDecision.call_id.in_(call_ids))
                           .order_by(CalibrationDecision.decided_at, CalibrationDecision.id))
    return {(call_id, item): (verdict, at) for call_id, item, verdict, at in rows}


def labelled_calls(session: Session, until: datetime | None = None) -> list[tuple[int, datetime]]:
    """(call id, when it was labelled) of every call with labels, oldest first: confirmed calls by
    their confirmation, calls only calibrated by their first agreed verdict."""
    decided = (select(CalibrationDecision.call_id, func.min(CalibrationDecision.decided_at).label("at"))
               .group_by(CalibrationDecision.call_id).subquery())
    at = func.coalesce(Review.confirmed_at, decided.c.at)
    query = (select(Call.id, at).join(Transcript, Transcript.call_id == Call.id)
             .outerjoin(Review, Review.call_id == Call.id).outerjoin(decided, decided.c.call_id == Call.id)
             .where(or_(Call.state == CallState.CONFIRMED, decided.c.call_id.is_not(None))))
    if until is not None:
        query = query.where(at < until)
    return sorted(((call_id, when) for call_id, when in session.execute(query)), key=lambda r: (r[1], r[0]))


def labelled_cases(session: Session, rules: RuleSet, calls: list[tuple[int, datetime]]) -> Iterator[LabelledCase]:
    """The labelled item cases of `calls` (from labelled_calls), read BATCH calls at a time."""
    for start in range(0, len(calls), BATCH):
        batch = dict(calls[start: start + BATCH])
        ids = list(batch)
        decisions = _decisions(session, ids)
        verdicts: dict[int, list[ItemVerdict]] = {}
        for row in session.scalars(select(ItemVerdict).where(ItemVerdict.call_id.in_(ids))
                                   .order_by(ItemVerdict.call_id, ItemVerdict.position)):
            verdicts.setdefault(row.call_id, []).append(row)
        for call_id, state, direction, data in session.execute(
                select(Call.id, Call.state, Call.direction, Transcript.data)
                .join(Transcript, Transcript.call_id == Call.id).where(Call.id.in_(ids))):
            labels = {v.item: v.final_verdict for v in verdicts.get(call_id, []) if state == CallState.CONFIRMED}
            labels.update({item: verdict for (c, item), (verdict, _) in decisions.items() if c == call_id})
            rows = [v for v in verdicts.get(call_id, []) if labels.get(v.item)]
            cases = item_cases(TranscriptData.from_dict(data),
                               [RuleVerdict.of_row(v) for v in rows],
                               rules, direction)
            for case in cases:
                yield LabelledCase(call_id, batch[call_id], case, labels[case.item] == VerdictValue.FAIL)
        session.expunge_all()  # keep memory flat over a long history
