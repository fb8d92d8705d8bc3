"""Review of scored calls: inspectors confirm or override item verdicts and confirm the call;
agents appeal a confirmed item once and another inspector decides.

Kept apart from the web layer so the rules (who may do what, when, and what the score becomes)
are tested on their own. Every change is written to the audit log. Each save carries the
Review.version the inspector loaded, so two inspectors on one call cannot overwrite each other.
Errors carry a `code` and parameters for the UI to translate; str() is plain English. After any
ReviewError the caller rolls its session back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from qa.access import REVIEWABLE, REVIEWERS, AppealState, CallState, Role
from qa.audit import record
from qa.db.models import Appeal, AuditEntry, Call, ItemVerdict, Review, User, utcnow
from qa.db.session import rows_matched
from qa.errors import QAError
from qa.scoring.schema import ScoringTemplate
from qa.scoring.scorecard import VerdictValue, score_verdicts

VERDICTS = tuple(VerdictValue)
FLIPPED = {VerdictValue.FAIL: VerdictValue.PASS, VerdictValue.PASS: VerdictValue.FAIL}


class ReviewError(QAError):
    """A refused review action; `code` names the reason, `params` fill its message."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message, code=code, **params)


class PermissionDenied(ReviewError):
    """The user's role or identity does not allow this action (HTTP 403)."""


class Conflict(ReviewError):
    """Someone else saved the review since this user loaded it (HTTP 409)."""

    def __init__(self, by: str, at: datetime) -> None:
        super().__init__("stale", f"changed by {by} at {at:%H:%M} UTC; reload and try again", by=by, at=at)


class AppealDecided(Conflict):
    """Someone decided the appeal first (HTTP 409): says who, when and what they decided."""

    def __init__(self, by: str, at: datetime, state: str) -> None:
        ReviewError.__init__(self, "appeal_decided", f"{by} already decided this appeal ({state}) at {at:%H:%M} UTC",
                             by=by, at=at, state=state)


class InvalidAction(ReviewError):
    """The action does not fit the call's or the item's state (HTTP 400)."""


def review_version(call: Call) -> int:
    """The version an inspector must send back with a save; 0 before anyone has saved."""
    return call.review.version if call.review else 0


def _require_reviewer(user: User) -> None:
    if user.role not in REVIEWERS:
        raise PermissionDenied("not_reviewer", "only inspectors and managers review calls")


def _check_version(session: Session, call: Call, version: int) -> None:
    if review_version(call) == version:
        return
    last = session.scalars(select(AuditEntry).where(AuditEntry.call_id == call.id)
                           .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(1)).first()
    who = last.user if last and last.user else call.review.inspector if call.review else None
    raise Conflict(by=(who.display_name or who.username) if who else "?",
                   at=last.at if last else call.review.updated_at if call.review else utcnow())


def _bump(call: Call, user: User) -> Review:
    """Create the review or raise its version (the ORM adds `WHERE version = loaded` to the UPDATE);
    return the review."""
    if call.review is None:
        call.review = Review(inspector_id=user.id)
    else:
        call.review.updated_at = utcnow()
    return call.review


def _flush(session: Session) -> None:
    """Flush; a concurrent save that slipped past the version check surfaces here as a Conflict
    (the caller rolls the session back, as after any ReviewError)."""
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict(by="?", at=utcnow()) from exc


def _score_state(call: Call) -> dict[str, Any]:
    return {"state": call.state, "score": call.score, "grade": call.grade, "fatal": call.fatal}


def set_verdict(session: Session, user: User, verdict: ItemVerdict, final: str, comment: str,
                version: int) -> ItemVerdict:
    """Confirm (final = automatic) or override one item; an override needs a comment."""
    _require_reviewer(user)
    call = verdict.call
    if call.state not in REVIEWABLE:
        raise InvalidAction("not_reviewable", f"call {call.id} is {call.state}, not awaiting review",
                            state=call.state)
    if final not in VERDICTS:
        raise InvalidAction("bad_verdict", f"verdict must be one of {', '.join(VERDICTS)}", verdict=final)
    comment = comment.strip()
    if final != verdict.auto_verdict and not comment:
        raise InvalidAction("override_needs_comment", "overriding the automatic verdict needs a comment")
    _check_version(session, call, version)
    before = {"final_verdict": verdict.final_verdict, "comment": verdict.comment}
    verdict.final_verdict, verdict.comment, verdict.reviewed_by = final, comment, user.id
    call.state = CallState.IN_REVIEW
    _bump(call, user)
    record(session, user, "set_verdict", "item_verdict", verdict.id, call.id, before,
           {"final_verdict": final, "comment": comment, "item": verdict.item})
    _flush(session)
    return verdict


def confirm_call(session: Session, user: User, call: Call, version: int, template: ScoringTemplate) -> Call:
    """Accept the automatic verdict of every item not yet decided, then fix the confirmed score."""
    _require_reviewer(user)
    if call.state not in REVIEWABLE:
        raise InvalidAction("not_reviewable", f"call {call.id} is {call.state}, not awaiting review",
                            state=call.state)
    _check_version(session, call, version)
    before = _score_state(call)
    accepted = [v.item for v in call.verdicts if v.final_verdict is None]
    for v in call.verdicts:
        if v.final_verdict is None:
            v.final_verdict, v.reviewed_by = v.auto_verdict, user.id
    call.score, call.grade, call.fatal = score_verdicts(call.verdicts, template)
    call.state = CallState.CONFIRMED
    review = _bump(call, user)
    review.inspector_id = user.id
    review.confirmed, review.confirmed_at = True, utcnow()
    record(session, user, "confirm_call", "call", call.id, call.id, before,
           {**_score_state(call), "accepted_automatic": accepted})
    _flush(session)
    return call


def file_appeal(session: Session, user: User, verdict: ItemVerdict, reason: str) -> Appeal:
    """An agent appeals a failed item of their own confirmed call; once per item."""
    call = verdict.call
    if user.role != Role.AGENT or user.agent_id is None or call.agent_id != user.agent_id:
        raise PermissionDenied("not_own_call", "agents may appeal only their own calls")
    if call.state != CallState.CONFIRMED:
        raise InvalidAction("not_confirmed", "only items of confirmed calls can be appealed")
    if verdict.verdict != VerdictValue.FAIL:
        raise InvalidAction("not_failed", "only failed items can be appealed")
    if verdict.appeal is not None:
        raise InvalidAction("already_appealed", "this item has already been appealed")
    if not reason.strip():
        raise InvalidAction("reason_required", "an appeal needs a reason")
    appeal = Appeal(verdict=verdict, call_id=call.id, agent_user_id=user.id, reason=reason.strip(), state=AppealState.OPEN)
    session.add(appeal)
    try:
        session.flush()
    except IntegrityError as exc:
        raise InvalidAction("already_appealed", "this item has already been appealed") from exc
    record(session, user, "file_appeal", "appeal", appeal.id, call.id, None,
           {"item": verdict.item, "reason": appeal.reason})
    session.flush()
    return appeal


def _appeal_decided(session: Session, appeal: Appeal) -> AppealDecided:
    """The refusal for an appeal that is no longer open, read fresh from the database."""
    session.refresh(appeal)
    decider = session.get(User, appeal.decided_by) if appeal.decided_by else None
    return AppealDecided(by=(decider.display_name or decider.username) if decider else "?",
                         at=appeal.decided_at or utcnow(), state=appeal.state)


def decide_appeal(session: Session, user: User, appeal: Appeal, upheld: bool, comment: str,
                  template: ScoringTemplate) -> Appeal:
    """Another inspector upholds (the item's verdict flips, the score is recomputed) or rejects.

    The decision is a compare-and-set on the appeal still being open, so of two people deciding at
    once exactly one succeeds and the other is told who decided and when (on SQLite the second
    writer waits for the first; on PostgreSQL its UPDATE re-reads the committed row)."""
    _require_reviewer(user)
    verdict = appeal.verdict
    call = verdict.call
    if appeal.state != AppealState.OPEN:
        raise _appeal_decided(session, appeal)
    if call.review is not None and call.review.inspector_id == user.id:
        raise PermissionDenied("own_confirmation", "the inspector who confirmed the call cannot decide its appeal")
    if not comment.strip():
        raise InvalidAction("decision_needs_comment", "a decision needs a comment")
    before = {"appeal": appeal.state, "final_verdict": verdict.final_verdict, **_score_state(call)}
    decided = session.execute(
        update(Appeal).where(Appeal.id == appeal.id, Appeal.state == AppealState.OPEN)
        .values(state=AppealState.UPHELD if upheld else AppealState.REJECTED, decided_by=user.id,
                decision_comment=comment.strip(), decided_at=utcnow())
        .execution_options(synchronize_session=False))
    if rows_matched(decided) != 1:
        raise _appeal_decided(session, appeal)
    session.refresh(appeal)
    if upheld:
        verdict.final_verdict, verdict.reviewed_by = FLIPPED[VerdictValue(verdict.verdict)], user.id
        call.score, call.grade, call.fatal = score_verdicts(call.verdicts, template)
        _bump(call, user)
    record(session, user, "decide_appeal", "appeal", appeal.id, call.id, before,
           {"appeal": appeal.state, "final_verdict": verdict.final_verdict, "comment": appeal.decision_comment,
            **_score_state(call)})
    _flush(session)
    return appeal
