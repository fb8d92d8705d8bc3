"""The audit log: who changed what, when, from what to what. Review, appeals, tallies, calibration
and learning all write through `record`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from qa.db.models import AuditEntry, User, utcnow


def record(session: Session, user: User | None, action: str, entity: str, entity_id: int | None,
           call_id: int | None, before: dict[str, Any] | None, after: dict[str, Any] | None) -> AuditEntry:
    """Append one audit entry (who, when, what, before, after)."""
    entry = AuditEntry(user_id=user.id if user else None, action=action, entity=entity, entity_id=entity_id,
                       call_id=call_id, before=before, after=after, at=utcnow())
    session.add(entry)
    return entry
