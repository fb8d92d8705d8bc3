"""What people do with a month: record events and adjustments, and publish the tally.

A published tally is frozen: its figures are stored whole and never change. When later appeals
or entries change a month's figures, publishing again makes a new version with a reason; every
version stays readable. Adjustments by hand need a reason; every action goes to the audit log.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from qa.access import MANAGERS
from qa.audit import record
from qa.db.models import Agent, Call, PublishedTally, TallyEntry, User
from qa.review.actions import InvalidAction, PermissionDenied
from qa.tally.compute import ADJUSTMENT, compute_tally
from qa.tally.inputs import load_inputs
from qa.tally.period import Month
from qa.tally.policy import LoadedPolicy
from qa.tally.result import AgentTally, Tally

COMPARED = ("score", "rank", "tier", "points", "net_yuan", "discipline", "bottom", "titles", "flags")
COMMAND_LINE = "命令行"


@contextmanager
def gc_paused() -> Iterator[None]:
    """A month of a large centre is a few hundred thousand objects without reference cycles;
    Python's cycle collector would walk them over and over (a quarter of the time at 200,000
    calls). Reference counting still frees everything; the collector resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def live_tally(session: Session, loaded: LoadedPolicy, month: Month) -> Tally:
    """The month as the database has it now (a draft until published)."""
    with gc_paused():
        return compute_tally(load_inputs(session, loaded.policy, month), loaded)


def digest(tally: Tally) -> str:
    """A fingerprint of the figures: equal digests, equal tallies."""
    return hashlib.sha256(tally.to_json_bytes()).hexdigest()


def versions(session: Session, month: Month) -> list[PublishedTally]:
    """The month's published versions, newest first, without their figures."""
    return list(session.scalars(select(PublishedTally).options(defer(PublishedTally.data))
                                .where(PublishedTally.month == str(month)).order_by(PublishedTally.version.desc())))


def published(session: Session, month: Month, version: int | None = None) -> PublishedTally | None:
    """A version of the month (default: the latest), or None."""
    statement = select(PublishedTally).where(PublishedTally.month == str(month))
    statement = statement.where(PublishedTally.version == version) if version else statement
    return session.scalars(statement.order_by(PublishedTally.version.desc()).limit(1)).first()


def published_months(session: Session) -> list[str]:
    return list(session.scalars(select(PublishedTally.month).distinct().order_by(PublishedTally.month.desc())))


@dataclass(frozen=True)
class Change:
    code: str
    name: str
    field: str
    before: Any
    after: Any


def changes(before: Tally, after: Tally) -> list[Change]:
    """What differs, agent by agent, between two tallies of a month (e.g. two versions)."""
    old = {a.agent_id: a for a in before.agents}
    out = []
    for agent in after.agents:
        previous = old.pop(agent.agent_id, None) or AgentTally(agent.agent_id, agent.code, agent.name, agent.team)
        out += [Change(agent.code, agent.name, name, getattr(previous, name), getattr(agent, name))
                for name in COMPARED if getattr(previous, name) != getattr(agent, name)]
    return out


def _require_manager(user: User | None) -> None:
    if user is not None and user.role not in MANAGERS:
        raise PermissionDenied("not_manager", "only managers publish tallies and record entries")


def publish(session: Session, loaded: LoadedPolicy, month: Month, user: User | None, note: str) -> PublishedTally:
    """Freeze the month's figures as its next version; `user` None is the command line.

    A version after the first needs a note saying why; publishing figures equal to the latest
    version is refused (there is nothing new to publish)."""
    _require_manager(user)
    tally = live_tally(session, loaded, month)
    fingerprint = digest(tally)
    last = published(session, month)
    if last is not None and last.digest == fingerprint:
        raise InvalidAction("unchanged", f"{month} v{last.version} already has these figures", version=last.version)
    if last is not None and not note.strip():
        raise InvalidAction("note_required", "a new version needs a note saying why the figures changed")
    row = PublishedTally(month=str(month), version=last.version + 1 if last else 1, published_by=user.id if user else None,
                         publisher=(user.display_name or user.username) if user else COMMAND_LINE, note=note.strip(),
                         policy=tally.policy, digest=fingerprint, data=tally.to_json())
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise InvalidAction("published_meanwhile", "someone else published this month just now; reload") from exc
    record(session, user, "publish_tally", "published_tally", row.id, None, None,
           {"month": row.month, "version": row.version, "note": row.note, "digest": fingerprint})
    return row


def add_entry(session: Session, loaded: LoadedPolicy, user: User | None, agent: Agent, month: Month, kind: str,
              note: str, quantity: int = 1, points: float = 0.0, yuan: float = 0.0,
              call_id: int | None = None) -> TallyEntry:
    """Record an event of the policy (praise, complaint ...) or an adjustment, for an agent's month.

    An adjustment moves points or yuan by hand and needs a reason; an event's amounts come from
    the policy, so it gives none. A call named must be the agent's."""
    _require_manager(user)
    note = note.strip()
    if kind == ADJUSTMENT:
        if not note:
            raise InvalidAction("adjustment_needs_reason", "an adjustment needs a reason")
        if not (points or yuan):
            raise InvalidAction("empty_adjustment", "an adjustment needs points or yuan")
        quantity = 1
    elif kind not in loaded.policy.events:
        raise InvalidAction("unknown_event", f"{kind!r} is not an event of the policy "
                            f"({', '.join(loaded.policy.events)} or {ADJUSTMENT})", kind=kind)
    elif points or yuan:
        raise InvalidAction("event_amounts", "an event's amounts come from the policy; record an adjustment instead")
    if quantity < 1:
        raise InvalidAction("bad_quantity", "the quantity must be at least 1")
    if call_id is not None:
        call = session.get(Call, call_id)
        if call is None or call.agent_id != agent.id:
            raise InvalidAction("not_agents_call", f"call {call_id} is not {agent.code}'s", call=call_id)
    entry = TallyEntry(agent_id=agent.id, month=str(month), kind=kind, quantity=quantity, points=points, yuan=yuan,
                       note=note, call_id=call_id, recorded_by=user.id if user else None)
    session.add(entry)
    session.flush()
    record(session, user, "add_tally_entry", "tally_entry", entry.id, call_id, None,
           {"agent": agent.code, "month": str(month), "kind": kind, "quantity": quantity, "points": points,
            "yuan": yuan, "note": note})
    return entry
