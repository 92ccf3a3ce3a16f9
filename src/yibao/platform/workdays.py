"""Working-day deadlines over the deployment's calendar: the years the dataset loaded (table calendar_years),
else the chinesecalendar package; a year neither knows is refused, naming the year and how to load it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import Refusal
from yibao.rules.calendar import CalendarUnknown, YearDays, working_days_after
from yibao.store.models import CalendarYear


def loaded_years(session: Session) -> dict[int, YearDays]:
    return {row.year: YearDays(holidays=frozenset(map(date.fromisoformat, row.holidays)),
                               workdays=frozenset(map(date.fromisoformat, row.workdays)))
            for row in session.scalars(select(CalendarYear))}


def deadline(session: Session, start: date, n: int) -> date:
    """The n-th working day after `start`."""
    try:
        return working_days_after(start, n, loaded_years(session))
    except CalendarUnknown as exc:
        raise Refusal(str(exc)) from None
