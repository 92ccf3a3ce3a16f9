"""Chinese working days (工作日) for the deadlines of reimbursement coordination (揭阳 揭医保〔2021〕82号 art. 17):
weekends and public holidays are skipped, adjusted working weekends (调休上班) count. Pure: dates in, dates out.

The State Council publishes each year's holidays late in the year before. A year the deployment loaded (the
dataset's `calendar:` section, docs/dataset.md) wins; otherwise the `chinesecalendar` package answers (it knows
2004-2026 in version 1.11.0); a year neither knows is refused, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar


class CalendarUnknown(ValueError):
    """A date in a year no calendar knows: a deadline cannot be guessed."""


@dataclass(frozen=True)
class YearDays:
    """One year as published: its public holidays and its adjusted working days (weekend days worked)."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


Years = Mapping[int, YearDays]


def is_workday(day: date, years: Years | None = None) -> bool:
    loaded = (years or {}).get(day.year)
    if loaded is not None:
        if day in loaded.workdays:
            return True
        return day not in loaded.holidays and day.weekday() < 5
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarUnknown(
            f"no working-day calendar for the year {day.year} (needed for {day.isoformat()}): load that year's "
            f"holidays and adjusted working days in the dataset's calendar section "
            f"(calendar: {{{day.year}: {{holidays: [...], workdays: [...]}}}}, docs/dataset.md)") from None


def working_days_after(start: date, n: int, years: Years | None = None) -> date:
    """The day that is the n-th working day after `start` (start itself never counts; n = 0 is start)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if is_workday(day, years):
            counted += 1
    return day


def overdue(deadline: date, done_at: date | datetime | None, today: date) -> int | None:
    """Days past `deadline` (calendar days, by the end of the deadline day) of a step done at `done_at`, or
    still open on `today`; None when the step is, or was, in time."""
    if isinstance(done_at, datetime):
        done_at = done_at.date()
    on = done_at if done_at is not None else today
    late = (on - deadline).days
    return late if late > 0 else None
