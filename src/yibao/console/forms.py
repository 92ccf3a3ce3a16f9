"""Reading the values of a form: a refusal names the field and the rule (shown in plain words, wording.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from yibao.errors import refuse
from yibao.money import CENT, NotDecimal, to_decimal

FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2099, 12, 31)
MAX_AMOUNT = Decimal("9999999999.99")


def day(field: str, text: str, *, required: bool = True) -> date | None:
    text = text.strip()
    if not text:
        if required:
            raise refuse(field, "is required (a date, yyyy-mm-dd)")
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise refuse(field, f"{text[:20]!r} is not a date (yyyy-mm-dd)") from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise refuse(field, f"must be between {FIRST_DAY} and {LAST_DAY}")
    return value


def amount(field: str, text: str) -> Decimal | None:
    """A yuan amount with at most 2 places; empty: none."""
    text = text.strip()
    if not text:
        return None
    try:
        value = to_decimal(text)
    except NotDecimal:
        raise refuse(field, f"{text[:20]!r} is not an amount in yuan") from None
    if not -MAX_AMOUNT <= value <= MAX_AMOUNT or value != value.quantize(CENT):
        raise refuse(field, "must be an amount with at most 2 decimal places")
    return value.quantize(CENT)
