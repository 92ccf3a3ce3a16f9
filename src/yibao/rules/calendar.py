"""Chinese working days (工作日) for the deadlines of reimbursement coordination (seed 004 art. 17): weekends
and public holidays are skipped, adjusted working weekends (调休上班) count. Pure: the State Council's
calendar as the `chinesecalendar` package knows it (through 2026 in version 1.11.0), dates in, dates out.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar


class CalendarUnknown(ValueError):
    """A date outside the years the installed calendar knows: a deadline cannot be guessed."""


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarUnknown(f"the Chinese working-day calendar (chinesecalendar) does not know {day.year} yet: "
                              f"the holidays of {day.isoformat()} cannot be told; upgrade the package") from None


def working_days_after(start: date, n: int) -> date:
    """The day that is the n-th working day after `start` (start itself never counts; n = 0 is start)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if is_workday(day):
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
