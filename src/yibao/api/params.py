"""The bounds of what the JSON API takes, so that bad input is refused as invalid (422 naming the field) before it
reaches the database, which would otherwise fail on it (HTTP 500): PostgreSQL's `integer` ends at 2**31 - 1 and
its text cannot hold NUL; no database can store half of a UTF-16 surrogate pair, which JSON can escape; money is
kept in integer fen (a bigint); a date past 9999-12-31 cannot be computed, nor a time before year 1 read back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from yibao.money import CENT, NotDecimal, to_decimal

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1

#: a row id (path parameters such as filing_id, grant_id; ids in bodies)
Id = Annotated[int, Field(ge=1, le=INT4_MAX)]
#: any other whole number stored in an integer column
Int4 = Annotated[int, Field(ge=INT4_MIN, le=INT4_MAX)]

#: far beyond any amount of the business, and a million of them still add up within a bigint of fen
MAX_AMOUNT = Decimal("9999999999.99")


def _amount(value: Any) -> Decimal:
    """The gateway's Amount (gateway/fields.py) within ±MAX_AMOUNT, checked before rounding: 1e30 cannot even be
    rounded to the cent in the decimal context."""
    try:
        number = to_decimal(value)
    except NotDecimal:
        raise ValueError("must be a decimal number (a JSON number or a numeric string)") from None
    if not -MAX_AMOUNT <= number <= MAX_AMOUNT:  # comparing is exact; abs() would round in the context
        raise ValueError(f"must be between -{MAX_AMOUNT} and {MAX_AMOUNT}")
    if number != number.quantize(CENT):
        raise ValueError("must be an amount with at most 2 decimal places")
    return number.quantize(CENT)


#: a yuan amount: a decimal string (or a whole JSON number), two places at most, never a float
Money = Annotated[Decimal, BeforeValidator(_amount),
                  WithJsonSchema({"type": "string", "pattern": r"^-?\d{1,10}(\.\d{1,2})?$"})]

#: the days the platform's business happens on: refuses what cannot be computed with (9999-12-31 + 9 days) or
#: stored and read back (a time at +14:00 on 0001-01-01 is in year 0 for PostgreSQL)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2099, 12, 31)


def _day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return value


def _moment(value: datetime) -> datetime:
    _day(value.date())
    return value


Day = Annotated[date, AfterValidator(_day)]
Moment = Annotated[datetime, AfterValidator(_moment)]


def _flaw(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain the NUL character (U+0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (it holds half of a surrogate pair)"
    return None


def _strings(value: Any, loc: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str, bool]]:
    """Every string of a JSON document: (its location, or its object's for a key; the string; whether a key)."""
    if isinstance(value, str):
        yield loc, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            yield loc, key, True
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*loc, i))


async def storable_text(request: Request) -> None:
    """Refuse a request with a string the database cannot store, wherever it is: a path parameter, a query
    parameter (name or value), a JSON body (key or value). Each API router depends on it (yibao/app.py).

    It runs before the route's own checks, authentication included: such a request is malformed whoever sends it,
    and it is refused before anything reads the database."""
    found: list[tuple[tuple[Any, ...], str]] = []
    for name, value in request.path_params.items():
        if isinstance(value, str) and (rule := _flaw(value)):
            found.append((("path", name), rule))
    for name, value in request.query_params.multi_items():
        if rule := _flaw(name):
            found.append((("query", "query"), f"a parameter name {rule}"))
        elif rule := _flaw(value):
            found.append((("query", name), rule))
    try:
        document = await request.json() if await request.body() else None
    except ValueError:  # not JSON: the route's own validation refuses it
        document = None
    for loc, text, is_key in _strings(document, ("body",)):
        if rule := _flaw(text):
            # a bad key is named by the object holding it: the answer could not carry the key itself
            found.append((loc, f"a key {rule}" if is_key else rule))
    if found:
        raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": rule, "input": None,
                                       "ctx": {"error": rule}} for loc, rule in found])
