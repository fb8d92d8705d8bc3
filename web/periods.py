"""Which period a report opens on: the latest one with calls, so that a centre whose calls stop
before today (or the demo, whose calls are in the past) does not open on an empty month or week."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa.access import PROCESSED, CallState
from qa.db.models import Call, as_utc, call_time
from qa.tally.period import Month, Week, current_month, current_week, month_of
from qa.tally.policy import Period


def latest_call(session: Session, confirmed: bool) -> datetime | None:
    """When the latest confirmed (or processed) call happened, not counting calls dated after now."""
    states = (CallState.CONFIRMED,) if confirmed else PROCESSED
    moment = session.scalar(select(func.max(call_time())).where(Call.state.in_(states),
                                                                call_time() <= datetime.now(UTC)))
    return None if moment is None else as_utc(moment)


def latest_month(session: Session, period: Period) -> Month:
    """The month of the latest confirmed call (the tally and agreement count confirmed calls only);
    the current month when nothing is confirmed yet."""
    moment = latest_call(session, confirmed=True)
    return current_month(period) if moment is None else month_of(moment, period)


def latest_week(session: Session, zone: ZoneInfo) -> Week:
    """The week of the latest processed call (the weekly report counts them all); else this week."""
    moment = latest_call(session, confirmed=False)
    return current_week(zone) if moment is None else Week.of(moment.astimezone(zone).date())
