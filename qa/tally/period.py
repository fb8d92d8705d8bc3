"""Months as the centre counts them: local time in the policy's time zone, calendar months or
months that close on a given day. A call belongs to the month in which it started."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from qa.tally.policy import Period

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
WINDOW_MONTHS = {"month": 1, "quarter": 3, "year": 12}


class MonthError(ValueError):
    """A month that is not written YYYY-MM."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = MONTH_RE.match(text.strip())
        if match is None:
            raise MonthError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-11")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def window_start(self, window: str) -> Month:
        """The first month of the month, quarter or year that this month is in."""
        size = WINDOW_MONTHS[window]
        return self.shift(-((self.month - 1) % size))


def month_start(month: Month, period: Period) -> datetime:
    """The moment `month` begins, in UTC."""
    zone = ZoneInfo(period.timezone)
    if period.last_day == 0:
        first = date(month.year, month.month, 1)
    else:
        before = month.shift(-1)
        first = date(before.year, before.month, period.last_day + 1)
    return datetime.combine(first, time.min, zone).astimezone(UTC)


def month_bounds(month: Month, period: Period) -> tuple[datetime, datetime]:
    """[start, end) of `month` in UTC."""
    return month_start(month, period), month_start(month.shift(1), period)


def month_of(moment: datetime, period: Period) -> Month:
    """The month a moment belongs to (a naive moment is UTC, as SQLite returns it)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    local = aware.astimezone(ZoneInfo(period.timezone))
    month = Month(local.year, local.month)
    return month.shift(1) if period.last_day and local.day > period.last_day else month


def current_month(period: Period, now: datetime | None = None) -> Month:
    return month_of(now or datetime.now(UTC), period)
