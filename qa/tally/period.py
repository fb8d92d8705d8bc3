"""The periods the centre counts in, one module for both kinds. Months (the tally's): local time in
the policy's time zone, calendar months or months that close on a given day; a call belongs to the
month in which it started. Weeks (the weekly report's): ISO weeks, Monday to Monday local time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from qa.errors import QAError
from qa.tally.policy import Period

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
WINDOW_MONTHS = {"month": 1, "quarter": 3, "year": 12}
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class MonthError(QAError, ValueError):
    """A month that is not written YYYY-MM."""

    code = "month"


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


class WeekError(QAError, ValueError):
    """Not a week written as YYYY-Www."""

    code = "week"


@dataclass(frozen=True, order=True)
class Week:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> Week:
        match = WEEK.match(text.strip())
        if not match:
            raise WeekError(f"{text!r}: write the week as YYYY-Www, e.g. 2026-W47")
        try:
            date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError as exc:
            raise WeekError(f"{text!r}: no such week") from exc
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Week:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def shift(self, weeks: int) -> Week:
        return Week.of(self.monday + timedelta(weeks=weeks))

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[Monday 00:00, next Monday 00:00) local time, in UTC."""
        start = datetime.combine(self.monday, time.min, zone)
        return start.astimezone(UTC), (start + timedelta(weeks=1)).astimezone(UTC)


def current_week(zone: ZoneInfo, now: datetime | None = None) -> Week:
    return Week.of((now or datetime.now(UTC)).astimezone(zone).date())
