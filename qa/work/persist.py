"""Storing what the scorer made: a call's scoring and item verdicts (keeping inspectors' decisions),
and scoring stored transcripts again after the checklists change (`qa rescore`)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from qa.access import CallState
from qa.db.models import AuditEntry, Call, ItemVerdict, Scoring, Transcript, utcnow
from qa.db.session import Database
from qa.learning.predict import predict_new_scoring
from qa.review.queue import DEFAULT_SAMPLE_RATE, is_sampled, risk_of
from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet
from qa.scoring.scorecard import Scorecard
from qa.speech.transcript import Transcript as TranscriptData


def store_scorecard(session: Session, call: Call, card: Scorecard, rules: RuleSet, sample_rate: float) -> Scoring:
    """Record a scoring of `call`: a Scoring row, the call's item verdicts replaced by the new ones
    (keeping an inspector's decision on an item that is still there), and the call's score, grade,
    queue order (risk) and sampling."""
    data = card.to_dict()
    scoring = Scoring(call_id=call.id, scorecard=data, score=card.score, grade=card.grade, fatal=card.fatal,
                      checklists=data["checklists"])
    session.add(scoring)
    session.flush()
    decided = {v.item: (v.final_verdict, v.comment, v.reviewed_by) for v in session.scalars(
        select(ItemVerdict).where(ItemVerdict.call_id == call.id, ItemVerdict.final_verdict.is_not(None)))}
    session.execute(delete(ItemVerdict).where(ItemVerdict.call_id == call.id))
    for position, verdict in enumerate(data["verdicts"]):
        final, comment, reviewer = decided.get(verdict["item"], (None, "", None))
        session.add(ItemVerdict(
            call_id=call.id, scoring_id=scoring.id, position=position, item=verdict["item"], area=verdict["area"],
            name=verdict["name"], auto_verdict=verdict["verdict"], confidence=verdict["confidence"],
            deduct=verdict["deduct"], fatal=verdict["fatal"], evidence=verdict["evidence"], reason=verdict["reason"],
            final_verdict=final, comment=comment, reviewed_by=reviewer,
        ))
    session.expire(call, ["verdicts"])
    call.score, call.grade, call.fatal = card.score, card.grade, card.fatal
    call.risk = risk_of(card, rules.template.review_below_confidence)
    call.sampled = is_sampled(card, call.sha256, sample_rate)
    return scoring


def rescore(db: Database, rules: RuleSet, call_ids: list[int] | None = None,
            sample_rate: float = DEFAULT_SAMPLE_RATE) -> list[int]:
    """Score stored transcripts again (after a checklist change), without transcribing again.

    Every call with a transcript that is not confirmed (or those of `call_ids`) gets a new Scoring
    and new item verdicts; confirmed calls keep theirs. An inspector's decisions on items that are
    still there are kept, the change is written to the audit log, and an open review's version is
    raised so an inspector working on the old verdicts reloads. Returns the ids re-scored.
    """
    query = select(Call.id).join(Transcript).where(Call.state != CallState.CONFIRMED).order_by(Call.id)
    if call_ids is not None:
        query = query.where(Call.id.in_(call_ids))
    with db.session() as session:
        ids = list(session.scalars(query))
    for call_id in ids:
        with db.session() as session:
            call = session.get_one(Call, call_id)
            assert call.transcript is not None  # the query joined Transcript
            before = {"score": call.score, "grade": call.grade, "fatal": call.fatal}
            transcript = TranscriptData.from_dict(call.transcript.data)
            scoring = store_scorecard(session, call, score_transcript(transcript, rules, call.direction),
                                     rules, sample_rate)
            predict_new_scoring(session, call, transcript, rules)
            if call.review is not None:
                call.review.updated_at = utcnow()
            session.add(AuditEntry(action="rescore", entity="call", entity_id=call.id, call_id=call.id, before=before,
                                   after={"score": call.score, "grade": call.grade, "fatal": call.fatal,
                                          "scoring_id": scoring.id, "checklists": scoring.checklists}))
    return ids
