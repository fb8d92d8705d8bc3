"""How often the automatic verdicts were right, per checklist item and month, measured against
the inspectors' final verdicts on confirmed calls (appeals decided so far included).

"Fail" is the verdict that costs an agent points, so the figures are those of automatic "fail"
as a detector of final "fail": precision (of the calls it failed, the share inspectors kept
failed) and recall (of the calls inspectors failed, the share it had failed). Agreement is the
share of verdicts inspectors left as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa.access import CallState
from qa.db.models import Call, ItemVerdict, call_time
from qa.scoring.scorecard import VerdictValue
from qa.tally.period import Month, month_bounds
from qa.tally.policy import Period


@dataclass
class ItemAgreement:
    """One checklist item over one month's confirmed calls."""

    item: str
    name: str
    area: str
    reviewed: int = 0  # confirmed calls with this item
    true_fail: int = 0  # failed automatically, kept failed
    false_fail: int = 0  # failed automatically, passed (or not applicable) in the end
    missed_fail: int = 0  # not failed automatically, failed in the end
    overridden_calls: list[int] = field(default_factory=list)  # final verdict differs from the automatic one

    @property
    def overridden(self) -> int:
        return len(self.overridden_calls)

    @property
    def agreement(self) -> float | None:
        return 1 - self.overridden / self.reviewed if self.reviewed else None

    @property
    def precision(self) -> float | None:
        flagged = self.true_fail + self.false_fail
        return self.true_fail / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        failed = self.true_fail + self.missed_fail
        return self.true_fail / failed if failed else None


def month_agreement(session: Session, month: Month, period: Period) -> list[ItemAgreement]:
    """Every item seen on the month's confirmed calls, most overridden first (then by item id)."""
    start, end = month_bounds(month, period)
    rows = session.execute(
        select(ItemVerdict.item, ItemVerdict.name, ItemVerdict.area, ItemVerdict.auto_verdict,
               ItemVerdict.final_verdict, ItemVerdict.call_id)
        .join(Call, Call.id == ItemVerdict.call_id)
        .where(Call.state == CallState.CONFIRMED, call_time() >= start, call_time() < end)
        .order_by(ItemVerdict.call_id, ItemVerdict.position))
    items: dict[str, ItemAgreement] = {}
    for item, name, area, automatic, final, call_id in rows:
        counted = items.setdefault(item, ItemAgreement(item, name, area))
        final = final or automatic
        counted.reviewed += 1
        if final != automatic:
            counted.overridden_calls.append(call_id)
        if automatic == VerdictValue.FAIL:
            counted.true_fail += final == VerdictValue.FAIL
            counted.false_fail += final != VerdictValue.FAIL
        elif final == VerdictValue.FAIL:
            counted.missed_fail += 1
    return sorted(items.values(), key=lambda a: (-a.overridden, a.item))
