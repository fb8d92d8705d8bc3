"""What the call page shows, built from the stored call: turns and evidence with the matched
words marked. Text stays plain strings here; the template escapes every piece."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext

from qa.db.models import AuditEntry, ItemVerdict
from qa.scoring.scorecard import VerdictValue
from web.i18n import VALUE_LABELS, number

Parts = list[tuple[str, str]]  # (text, mark class or "")


def marked(text: str, needles: list[tuple[str, str]]) -> Parts:
    """Split `text` into pieces, marking every occurrence of each (needle, css class)."""
    marks: list[str] = [""] * len(text)
    for needle, css in needles:
        if not needle:
            continue
        at = text.find(needle)
        while at >= 0:
            for i in range(at, at + len(needle)):
                marks[i] = marks[i] or css
            at = text.find(needle, at + len(needle))
    parts: Parts = []
    for char, css in zip(text, marks, strict=True):
        if parts and parts[-1][1] == css:
            parts[-1] = (parts[-1][0] + char, css)
        else:
            parts.append((char, css))
    return parts


def _mark_class(verdict: ItemVerdict) -> str:
    return "hit-fail" if verdict.verdict == VerdictValue.FAIL else "hit-pass"


def _is_hit(evidence: dict[str, Any]) -> bool:
    return evidence.get("turn") is not None and bool(evidence.get("matched"))


@dataclass
class TurnView:
    index: int
    role: str
    start: float
    end: float
    parts: Parts


@dataclass
class EvidenceView:
    start: float
    end: float
    turn: int | None
    role: str | None
    how: str
    parts: Parts


@dataclass
class ItemView:
    verdict: ItemVerdict
    evidence: list[EvidenceView] = field(default_factory=list)


def turn_views(transcript: dict[str, Any] | None, verdicts: list[ItemVerdict]) -> list[TurnView]:
    needles: dict[int, list[tuple[str, str]]] = {}
    for v in verdicts:
        for e in v.evidence:
            if _is_hit(e):
                needles.setdefault(e["turn"], []).append((e["matched"], _mark_class(v)))
    turns = transcript["turns"] if transcript else []
    return [TurnView(i, t["role"], t["start"], t["end"], marked(t["text"], needles.get(i, [])))
            for i, t in enumerate(turns)]


# Why the speech pipeline asks for the roles to be checked (the transcript's roles.review codes).
ROLE_REVIEW_LABELS = {
    "one_voice": lazy_gettext("One voice throughout: agent and customer could not be told apart"),
    "one_voice_two_parties": lazy_gettext("One voice heard, but the words show two parties: split by force"),
    "close_voices": lazy_gettext("The two voices sound alike: the split may mix them"),
    "evidence_split": lazy_gettext("The evidence for who is the agent is split"),
    "no_agent_evidence": lazy_gettext("No agent phrases: whose words these are is unknown"),
    "no_speakers": lazy_gettext("No speakers found"),
}


def role_review(transcript: dict[str, Any] | None) -> list[str]:
    """The reasons, in the reader's language, to check who is the agent on this call."""
    codes = (transcript or {}).get("roles", {}).get("review", [])
    return [str(ROLE_REVIEW_LABELS.get(code, code)) for code in codes]


def item_views(verdicts: list[ItemVerdict]) -> list[ItemView]:
    return [ItemView(v, [EvidenceView(e["start"], e["end"], e.get("turn"), e.get("role"), e.get("how", ""),
                                      marked(e.get("text", ""), [(e["matched"], _mark_class(v))] if _is_hit(e) else []))
                         for e in v.evidence])
            for v in verdicts]


@dataclass
class Change:
    field: str
    before: str | None  # None: the field was only recorded, not changed
    after: str


def _shown(field: str, value: Any, names: dict[str, str]) -> str:
    """A recorded value as people read it: labels for verdicts and states, names for item ids."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return "、".join(_shown(field, v, names) for v in value)
    if isinstance(value, float):
        return number(value)
    if isinstance(value, str) and value in names:
        return names[value]
    return str(VALUE_LABELS.get(field, {}).get(value, value))


def audit_changes(entry: AuditEntry, names: dict[str, str]) -> list[Change]:
    """What an audit entry changed (before → after) and recorded (only after), in readable form."""
    before, after = entry.before or {}, entry.after or {}
    fields = dict.fromkeys([*before, *after])
    return [Change(f, _shown(f, before[f], names) if f in before else None, _shown(f, after.get(f), names))
            for f in fields if f not in before or before[f] != after.get(f)]
