"""Signing in safely: back-off on password guessing, the same work for unknown and known user
names, every attempt logged.

The attempts live in the product's database (table sign_in_attempts), so the back-off holds across
web processes and machines that share it, with no extra server to run. Counted per user name
(failures since that name's last success) and per address (all names), within a window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from qa.config import SignInConfig
from qa.db.models import SignInAttempt, User, as_utc, utcnow
from qa.db.session import Database

log = logging.getLogger(__name__)

OK, WRONG, THROTTLED = "ok", "wrong", "throttled"


@cache
def _dummy_hash() -> str:
    """A hash made the way real ones are, checked for unknown names so they take as long to refuse."""
    return generate_password_hash("no such user")


@dataclass(frozen=True)
class Attempt:
    id: int
    username: str
    address: str
    at: datetime


def _wait_after(failures: int, free: int, rules: SignInConfig) -> float:
    """Seconds the next attempt must wait after `failures` failures, `free` of them without wait."""
    if failures < free:
        return 0.0
    return min(rules.max_wait_s, rules.first_wait_s * 2 ** (failures - free))


def _failures(session: Session, attempt: Attempt, where: ColumnElement[bool], since: datetime) -> tuple[int, datetime | None]:
    """(count, latest) of the failed attempts before `attempt` matching `where`, since `since`."""
    count, latest = session.execute(select(func.count(), func.max(SignInAttempt.at)).where(
        where, SignInAttempt.outcome == WRONG, SignInAttempt.at > since, SignInAttempt.id < attempt.id)).one()
    return count, latest


def seconds_to_wait(session: Session, attempt: Attempt, rules: SignInConfig) -> float:
    """How long `attempt` must still wait; 0 when its password may be checked now."""
    window_start = attempt.at - timedelta(minutes=rules.window_minutes)
    last_ok = session.scalar(select(func.max(SignInAttempt.at)).where(
        SignInAttempt.username == attempt.username, SignInAttempt.outcome == OK, SignInAttempt.at > window_start))
    by_name = _failures(session, attempt, SignInAttempt.username == attempt.username, last_ok or window_start)
    by_address = _failures(session, attempt, SignInAttempt.address == attempt.address, window_start)
    remaining = [0.0]
    for (count, latest), free in ((by_name, rules.free_failures), (by_address, rules.address_free_failures)):
        wait = _wait_after(count, free, rules)
        if wait and latest is not None:
            remaining.append((as_utc(latest) + timedelta(seconds=wait) - attempt.at).total_seconds())
    return max(remaining)


def check_sign_in(database: Database, username: str, password: str, address: str,
                  rules: SignInConfig) -> tuple[int | None, float]:
    """(the user's id, 0) when the password is right; (None, 0) when not; (None, seconds) while the
    name or the address must wait.

    The attempt is written (as a failure) and committed before anything is checked, so attempts
    made at the same moment count each other; a right password then turns it into a success."""
    name, where_from = username[:80], (address or "?")[:64]
    with database.session() as session:
        row = SignInAttempt(username=name, address=where_from, outcome=WRONG, at=utcnow())
        session.add(row)
        session.flush()
        attempt = Attempt(row.id, name, where_from, row.at)
    with database.session() as session:
        row = session.get_one(SignInAttempt, attempt.id)
        wait = seconds_to_wait(session, attempt, rules)
        if wait > 0:
            row.outcome = THROTTLED
            log.warning("sign-in as %r from %s refused: backing off for %.0f s", name, where_from, wait)
            return None, wait
        user = session.scalars(select(User).where(User.username == username)).first()
        right = check_password_hash(user.password_hash if user is not None else _dummy_hash(), password)
        if user is None or not user.active or not right:
            log.warning("sign-in as %r from %s failed", name, where_from)
            return None, 0.0
        row.outcome = OK
        return user.id, 0.0
