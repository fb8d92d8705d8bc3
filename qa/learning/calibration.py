"""Calibration sessions: a manager picks calls, several inspectors give every checklist item of
each a verdict blind to one another (and to the automatic verdict, so nobody anchors on it), the
manager sees where they disagree and records the agreed verdict, which is kept as training data.

Agreement per item is the share of calls on which every rater gave the same verdict, and Cohen's
kappa (scikit-learn) averaged over every pair of raters (Light's kappa): agreement beyond what the
raters' own habits would give by chance. Kappa is undefined (None) when the raters all gave one
and the same verdict throughout: nothing to tell apart.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import combinations

from sklearn.metrics import cohen_kappa_score
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from qa.access import MANAGERS, REVIEWERS
from qa.audit import record
from qa.db.models import (
    CalibrationCall,
    CalibrationDecision,
    CalibrationRating,
    CalibrationSession,
    Call,
    ItemVerdict,
    User,
    utcnow,
)
from qa.review.actions import VERDICTS, InvalidAction, PermissionDenied


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    area: str


def items_of(session: Session, call_id: int) -> list[Item]:
    """The checklist items of a call, in its scorecard's order."""
    return [Item(*row) for row in session.execute(
        select(ItemVerdict.item, ItemVerdict.name, ItemVerdict.area)
        .where(ItemVerdict.call_id == call_id).order_by(ItemVerdict.position))]


def _require(user: User, roles: tuple[str, ...], what: str) -> None:
    if user.role not in roles:
        raise PermissionDenied("not_allowed", f"a {user.role} may not {what}")


def _open(cal: CalibrationSession) -> None:
    if cal.closed_at is not None:
        raise InvalidAction("calibration_closed", f"calibration session {cal.id} is closed")


def create_session(session: Session, user: User, title: str, call_ids: list[int]) -> CalibrationSession:
    """A new session over `call_ids` (in that order; repeats dropped); each must be a processed call."""
    _require(user, MANAGERS, "create a calibration session")
    title, wanted = title.strip(), list(dict.fromkeys(call_ids))
    if not title or not wanted:
        raise InvalidAction("calibration_incomplete", "a calibration session needs a title and calls")
    scored = set(session.scalars(select(ItemVerdict.call_id).where(ItemVerdict.call_id.in_(wanted)).distinct()))
    missing = [call_id for call_id in wanted if call_id not in scored]
    if missing:
        raise InvalidAction("calibration_calls_unknown", f"calls not processed or unknown: {missing}",
                            calls=", ".join(map(str, missing)))
    cal = CalibrationSession(title=title, created_by=user.id,
                             calls=[CalibrationCall(call_id=call_id, position=i) for i, call_id in enumerate(wanted)])
    session.add(cal)
    session.flush()
    record(session, user, "calibration_create", "calibration", cal.id, None, None, {"title": title, "calls": wanted})
    return cal


def _call_in(session: Session, cal: CalibrationSession, call_id: int) -> Call:
    if call_id not in {c.call_id for c in cal.calls}:
        raise InvalidAction("not_in_calibration", f"call {call_id} is not in calibration session {cal.id}")
    return session.get_one(Call, call_id)


def rate(session: Session, user: User, cal: CalibrationSession, call_id: int, verdicts: dict[str, str]) -> None:
    """An inspector's verdicts on every item of one call (replacing their earlier ones)."""
    _require(user, REVIEWERS, "rate calibration calls")
    _open(cal)
    _call_in(session, cal, call_id)
    items = [item.id for item in items_of(session, call_id)]
    missing = [item for item in items if verdicts.get(item) not in VERDICTS]
    if missing:
        raise InvalidAction("calibration_items_missing", f"no verdict for {', '.join(missing)}",
                            items=", ".join(missing))
    session.execute(delete(CalibrationRating).where(
        CalibrationRating.session_id == cal.id, CalibrationRating.call_id == call_id,
        CalibrationRating.inspector_id == user.id))
    session.add_all(CalibrationRating(session_id=cal.id, call_id=call_id, item=item, inspector_id=user.id,
                                      verdict=verdicts[item]) for item in items)
    session.flush()


def decide(session: Session, user: User, cal: CalibrationSession, call_id: int, item: str, verdict: str,
           note: str = "") -> CalibrationDecision:
    """Record (or change) the agreed verdict of one item of one call."""
    _require(user, MANAGERS, "record agreed verdicts")
    _call_in(session, cal, call_id)
    if verdict not in VERDICTS or item not in {i.id for i in items_of(session, call_id)}:
        raise InvalidAction("bad_verdict", f"{item}: {verdict} is not a verdict of this call's items")
    decision = session.scalars(select(CalibrationDecision).where(
        CalibrationDecision.session_id == cal.id, CalibrationDecision.call_id == call_id,
        CalibrationDecision.item == item)).first()
    before = {"verdict": decision.verdict} if decision else None
    if decision is None:
        decision = CalibrationDecision(session_id=cal.id, call_id=call_id, item=item)
        session.add(decision)
    decision.verdict, decision.note, decision.decided_by, decision.decided_at = verdict, note.strip(), user.id, utcnow()
    session.flush()
    record(session, user, "calibration_decide", "calibration", cal.id, call_id, before,
           {"item": item, "verdict": verdict, "note": decision.note})
    return decision


def close(session: Session, user: User, cal: CalibrationSession) -> None:
    _require(user, MANAGERS, "close a calibration session")
    _open(cal)
    cal.closed_at = utcnow()
    record(session, user, "calibration_close", "calibration", cal.id, None, None, None)


@dataclass
class CallItem:
    """One item of one call: every rater's verdict and the agreed one."""

    call_id: int
    item: Item
    ratings: dict[int, str]  # inspector id -> verdict
    decision: str | None = None

    @property
    def unanimous(self) -> bool:
        return len(set(self.ratings.values())) <= 1


@dataclass
class ItemCalibration:
    item: Item
    calls: list[CallItem] = field(default_factory=list)
    kappa: float | None = None

    @property
    def agreement(self) -> float | None:
        rated = [c for c in self.calls if len(c.ratings) >= 2]
        return sum(c.unanimous for c in rated) / len(rated) if rated else None


@dataclass
class CalibrationResults:
    raters: list[User]
    items: list[ItemCalibration]
    rated_calls: dict[int, set[int]]  # inspector id -> the calls they have rated
    kappa: float | None  # over every item of every call

    @property
    def disagreements(self) -> list[CallItem]:
        return [c for item in self.items for c in item.calls if not c.unanimous]


def light_kappa(calls: list[CallItem], raters: list[int]) -> float | None:
    """Cohen's kappa averaged over every pair of raters, each pair over the calls both rated."""
    kappas = []
    for first, second in combinations(raters, 2):
        both = [c for c in calls if first in c.ratings and second in c.ratings]
        if not both:
            continue
        with warnings.catch_warnings():  # one verdict throughout: kappa is 0/0, reported as undefined
            warnings.simplefilter("ignore")
            kappa = cohen_kappa_score([c.ratings[first] for c in both], [c.ratings[second] for c in both],
                                      labels=list(VERDICTS))
        if kappa == kappa:  # not NaN
            kappas.append(float(kappa))
    return sum(kappas) / len(kappas) if kappas else None


def results(session: Session, cal: CalibrationSession) -> CalibrationResults:
    ratings: dict[tuple[int, str], dict[int, str]] = {}
    for rating in session.scalars(select(CalibrationRating).where(CalibrationRating.session_id == cal.id)):
        ratings.setdefault((rating.call_id, rating.item), {})[rating.inspector_id] = rating.verdict
    decisions = {(d.call_id, d.item): d.verdict for d in session.scalars(
        select(CalibrationDecision).where(CalibrationDecision.session_id == cal.id))}
    rater_ids = sorted({inspector for given in ratings.values() for inspector in given})
    by_item: dict[str, ItemCalibration] = {}
    every: list[CallItem] = []
    for cal_call in cal.calls:
        for item in items_of(session, cal_call.call_id):
            key = (cal_call.call_id, item.id)
            call_item = CallItem(cal_call.call_id, item, ratings.get(key, {}), decisions.get(key))
            by_item.setdefault(item.id, ItemCalibration(item)).calls.append(call_item)
            every.append(call_item)
    for calibration in by_item.values():
        calibration.kappa = light_kappa(calibration.calls, rater_ids)
    rated: dict[int, set[int]] = {}
    for (call_id, _item), given in ratings.items():
        for inspector in given:
            rated.setdefault(inspector, set()).add(call_id)
    raters = list(session.scalars(select(User).where(User.id.in_(rater_ids)).order_by(User.username))) if rater_ids else []
    return CalibrationResults(raters, list(by_item.values()), rated, light_kappa(every, rater_ids))
