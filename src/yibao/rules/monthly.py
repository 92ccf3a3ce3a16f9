"""The calendar of the monthly cycle (rules.md section 7; seed 004 art. 25, seed 001 四, seed 003) and the
prepayment rule (seed 004 art. 5): pure functions of dates, region settings and amounts.

Month M is declared on days 1-10 of M+1, reviewed on days 11-20 and paid on days 21 to the month's end
(Guangdong); Taiyuan pays on days 21-25. Cross-region clearing details are confirmed by day 8 (5 to 8 by
region). Each step's days are region settings (`cycle_days`, `clearing_confirm_last_day`)."""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from yibao.money import ZERO, round2

STEPS = ("declare", "review", "allocate")
STEP_NAMES = {"declare": "declaration", "review": "review", "allocate": "allocation"}
DEFAULT_DAYS: dict[str, tuple[int, int]] = {"declare": (1, 10), "review": (11, 20), "allocate": (21, 31)}
DEFAULT_CONFIRM_LAST_DAY = 8
RESIDENT_INSUTYPES = frozenset({"390", "391", "392"})


@dataclass(frozen=True)
class Cycle:
    """A region's monthly calendar: for each step, the first and last day of month M+1 it may happen on."""

    days: Mapping[str, tuple[int, int]]
    confirm_last_day: int = DEFAULT_CONFIRM_LAST_DAY

    @classmethod
    def of(cls, settings: Mapping[str, Any] | None) -> Cycle:
        settings = settings or {}
        days = dict(DEFAULT_DAYS)
        for step, span in (settings.get("cycle_days") or {}).items():
            days[step] = (int(span[0]), int(span[1]))
        return cls(days, int(settings.get("clearing_confirm_last_day", DEFAULT_CONFIRM_LAST_DAY)))


def parse_ym(ym: str) -> tuple[int, int]:
    """"2026-03" or "202603" -> (2026, 3); anything else raises ValueError."""
    text = ym.replace("-", "")
    if len(text) != 6 or not text.isdigit() or not 1 <= int(text[4:]) <= 12:
        raise ValueError(f"{ym!r} is not a month (YYYY-MM)")
    return int(text[:4]), int(text[4:])


def ym_text(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def shift(ym: str, months: int) -> str:
    year, month = parse_ym(ym)
    index = year * 12 + month - 1 + months
    return ym_text(index // 12, index % 12 + 1)


def month_of(day: date) -> str:
    return ym_text(day.year, day.month)


def month_start(ym: str) -> datetime:
    year, month = parse_ym(ym)
    return datetime(year, month, 1)


def month_end(ym: str) -> datetime:
    """The first instant after the month."""
    return month_start(shift(ym, 1))


def window(ym: str, step: str, cycle: Cycle) -> tuple[date, date]:
    """The days of month ym+1 on which `step` of month ym may be done (a last day past the month's end is the
    month's last day)."""
    year, month = parse_ym(shift(ym, 1))
    first, last = cycle.days[step]
    month_days = calendar.monthrange(year, month)[1]
    return date(year, month, min(first, month_days)), date(year, month, min(last, month_days))


def window_problem(ym: str, step: str, cycle: Cycle, today: date) -> str | None:
    """Why `step` of month ym cannot be done today, or None."""
    first, last = window(ym, step, cycle)
    if today < first:
        return f"the {STEP_NAMES[step]} of {ym} opens on {first.isoformat()} (today is {today.isoformat()})"
    if today > last:
        return f"the {STEP_NAMES[step]} of {ym} closed on {last.isoformat()} (today is {today.isoformat()})"
    return None


def confirm_problem(ym: str, cycle: Cycle, today: date) -> str | None:
    """3261/3262 of month ym are done from the 1st of ym+1 to the region's last confirmation day."""
    year, month = parse_ym(shift(ym, 1))
    last_day = min(cycle.confirm_last_day, calendar.monthrange(year, month)[1])
    first, last = date(year, month, 1), date(year, month, last_day)
    if today < first:
        return f"the clearing details of {ym} can be confirmed from {first.isoformat()}"
    if today > last:
        return f"the clearing details of {ym} had to be confirmed by {last.isoformat()}"
    return None


def insutype_class(insutype: str) -> str:
    """The declaration tables are separate for employees (职工医保) and residents (居民医保)."""
    return "resident" if insutype in RESIDENT_INSUTYPES else "employee"


def prepayment_target(monthly_spending: Sequence[Decimal], months: Decimal, minimum: Decimal = ZERO) -> Decimal:
    """The advance a region keeps with the provincial centre: `months` times its average monthly cross-region
    spending over the months given (rounded up to the yuan), and never below `minimum`."""
    if not monthly_spending:
        return round2(minimum)
    average = sum(monthly_spending, ZERO) / len(monthly_spending)
    target = (average * months).quantize(Decimal(1), rounding=ROUND_CEILING)
    return round2(max(target, minimum, ZERO))
