"""The periods the centre counts in, one module for both kinds. Months (the tally's): local time in
the policy's time zone, calendar months or months that close on a given day; a call belongs to the
month in which it started. Weeks (the weekly report's): ISO weeks, Monday to Monday local time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar, Self
from zoneinfo import ZoneInfo

from qa.errors import QAError
from qa.tally.policy import Period

WINDOW_MONTHS = {"month": 1, "quarter": 3, "year": 12}


class PeriodError(QAError, ValueError):
    """A period that is not written as its kind is written."""

    code = "period"


class MonthError(PeriodError):
    """A month that is not written YYYY-MM."""

    code = "month"


class WeekError(PeriodError):
    """Not a week written as YYYY-Www."""

    code = "week"


@dataclass(frozen=True, order=True)
class CalendarPeriod:
    """A month or a week: a year and a number, written as text (2026-11, 2026-W47), parsed back
    from it, and stepped forwards or backwards (the reports' previous and next links)."""

    NAME: ClassVar[str]
    WRITTEN: ClassVar[str]  # the form, with an example
    PATTERN: ClassVar[re.Pattern[str]]
    ERROR: ClassVar[type[PeriodError]]

    year: int

    @classmethod
    def parse(cls, text: str) -> Self:
        match = cls.PATTERN.match(text.strip())
        if match is None:
            raise cls.ERROR(f"{text!r} is not a {cls.NAME}: write it as {cls.WRITTEN}")
        return cls._of_numbers(int(match[1]), int(match[2]), text)

    @classmethod
    def _of_numbers(cls, year: int, number: int, text: str) -> Self:
        return cls(year, number)  # type: ignore[call-arg]  # each kind names its number

    def shift(self, steps: int) -> Self:
        raise NotImplementedError


@dataclass(frozen=True, order=True)
class Month(CalendarPeriod):
    NAME = "month"
    WRITTEN = "YYYY-MM, e.g. 2026-11"
    PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
    ERROR = MonthError

    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, steps: int) -> Month:
        index = self.year * 12 + self.month - 1 + steps
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


@dataclass(frozen=True, order=True)
class Week(CalendarPeriod):
    NAME = "week"
    WRITTEN = "YYYY-Www, e.g. 2026-W47"
    PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
    ERROR = WeekError

    week: int

    @classmethod
    def _of_numbers(cls, year: int, number: int, text: str) -> Week:
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError as exc:
            raise WeekError(f"{text!r}: no such week") from exc
        return cls(year, number)

    @classmethod
    def of(cls, day: date) -> Week:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def shift(self, steps: int) -> Week:
        return Week.of(self.monday + timedelta(weeks=steps))

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[Monday 00:00, next Monday 00:00) local time, in UTC."""
        start = datetime.combine(self.monday, time.min, zone)
        return start.astimezone(UTC), (start + timedelta(weeks=1)).astimezone(UTC)


def current_week(zone: ZoneInfo, now: datetime | None = None) -> Week:
    return Week.of((now or datetime.now(UTC)).astimezone(zone).date())
