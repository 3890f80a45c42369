"""Business-hours arithmetic for handoff SLAs.

A calendar is a time zone, the working weekdays, one daily window and a list of
holidays. Arithmetic runs in UTC between window edges built in local time, so
the hours stay right across daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handoff.models import Rep, Territory

# A year of calendar days: a calendar with no working day at all would otherwise loop forever.
MAX_DAYS_SCANNED = 366


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "UTC"
    work_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(17, 0)
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() in self.work_days and day not in self.holidays

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Return the day's business window as UTC datetimes."""
        start = dt.datetime.combine(day, self.day_start, tzinfo=self.zone)
        end = dt.datetime.combine(day, self.day_end, tzinfo=self.zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


DEFAULT_CALENDAR = BusinessCalendar()


def calendar_for_territory(territory: Territory | None) -> BusinessCalendar:
    if territory is None:
        return DEFAULT_CALENDAR
    holidays = set()
    for value in territory.holidays or []:
        try:
            holidays.add(dt.date.fromisoformat(str(value)))
        except ValueError:
            continue
    return BusinessCalendar(
        timezone=territory.timezone,
        work_days=frozenset(int(day) for day in (territory.work_days or [])),
        day_start=territory.day_start,
        day_end=territory.day_end,
        holidays=frozenset(holidays),
    )


def calendar_for_rep(rep: Rep | None) -> BusinessCalendar:
    """Return the calendar of the rep's home territory, else their first territory by name."""
    if rep is None:
        return DEFAULT_CALENDAR
    # Sorting in Python uses territories a caller prefetched, instead of one query per rep.
    territory = rep.home_territory or min(
        rep.territories.all(), key=lambda territory: territory.name, default=None
    )
    return calendar_for_territory(territory)


def add_business_hours(
    start: dt.datetime, hours: float | Decimal, calendar: BusinessCalendar
) -> dt.datetime:
    """Return the moment `hours` business hours after `start`.

    Time before the day's window, after it, on non-working days and holidays
    does not count. Zero hours from outside business hours gives the start of
    the next window.
    """
    remaining = dt.timedelta(hours=float(hours))
    current = start.astimezone(dt.UTC)
    day = current.astimezone(calendar.zone).date()

    for _ in range(MAX_DAYS_SCANNED):
        if calendar.is_working_day(day):
            window_start, window_end = calendar.window(day)
            if current < window_end:
                current = max(current, window_start)
                available = window_end - current
                if remaining <= available:
                    return current + remaining
                remaining -= available
                current = window_end
        day += dt.timedelta(days=1)

    raise ValueError(
        f"The calendar in {calendar.timezone} has no business hours within a year; "
        "give the territory at least one working day."
    )


def business_hours_between(
    start: dt.datetime, end: dt.datetime, calendar: BusinessCalendar
) -> float:
    """Count the business hours from `start` to `end` (0 when end is not after start)."""
    if end <= start:
        return 0.0
    total = dt.timedelta()
    day = start.astimezone(calendar.zone).date()
    last_day = end.astimezone(calendar.zone).date()
    while day <= last_day:
        if calendar.is_working_day(day):
            window_start, window_end = calendar.window(day)
            overlap_start = max(window_start, start)
            overlap_end = min(window_end, end)
            if overlap_end > overlap_start:
                total += overlap_end - overlap_start
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600
