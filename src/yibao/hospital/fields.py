"""The bounded input types of the hospital's API: whatever a request carries is refused with a 422 naming the
field before it reaches the database, where PostgreSQL would fail on it (an id beyond its 32-bit integer, a NUL
byte in text, a string longer than its column, an amount beyond its bigint of fen) and SQLite would silently
keep it. Each string bound is the column it ends in (db.py) or, for what only goes to the platform, the
interface's field."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Header, Path, Query
from pydantic import AfterValidator, BeforeValidator, Field

from yibao.money import NotDecimal, to_decimal

MAX_ID = 2**31 - 1  # PostgreSQL's integer, the type of every id column
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # the business dates this service can mean
MAX_DAYS = 60  # the timetable's window
MAX_AMOUNT = Decimal("99999999.99")  # yuan: far below the bigint of fen, far above any bill
MAX_NUMBER = Decimal("99999999")  # a price or a count
NUMBER_PLACES = 6  # decimal places of a price or a count (kept as text of at most 32 characters)
#: beyond any bill, price or count, and below where arithmetic on it would overflow (the wire's own bound)
MAGNITUDE = Decimal("1E12")


def decimal_number(value: Any) -> Decimal:
    """A JSON number or a numeric string as an exact Decimal (never a float), of at most NUMBER_PLACES places;
    the same rules and words as the platform's interface fields."""
    try:
        number = to_decimal(value)
    except NotDecimal:
        raise ValueError("must be a decimal number (a JSON number or a numeric string)") from None
    if abs(number) >= MAGNITUDE:
        raise ValueError(f"must be below {MAGNITUDE:,.0f} in magnitude")
    exponent = number.as_tuple().exponent
    places = Decimal(1).scaleb(-NUMBER_PLACES)
    if isinstance(exponent, int) and exponent < -NUMBER_PLACES and number != number.quantize(places):
        raise ValueError(f"must have at most {NUMBER_PLACES} decimal places")
    return number


def yuan_amount(value: Any) -> Decimal:
    """An amount in yuan: a decimal number of at most 2 places, kept with exactly 2."""
    number = decimal_number(value)
    if number != number.quantize(Decimal("0.01")):
        raise ValueError("must be an amount with at most 2 decimal places")
    return number.quantize(Decimal("0.01"))


def no_nul(value: Any) -> Any:
    """Text without NUL: PostgreSQL cannot store it, and no code or name of this service holds one."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def in_range(value: Any) -> Any:
    """A date (or a time's date) between EARLIEST and LATEST: beyond, day arithmetic overflows."""
    if value is None:
        return value
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


def Text(max_length: int, min_length: int = 0) -> Any:  # noqa: N802 - used as a type
    """A string of a body model: at most `max_length` characters, no NUL."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(no_nul)]


def PathText(max_length: int) -> Any:  # noqa: N802 - used as a type
    return Annotated[str, Path(max_length=max_length), AfterValidator(no_nul)]


def QueryText(max_length: int) -> Any:  # noqa: N802 - used as a type
    return Annotated[str | None, Query(max_length=max_length), AfterValidator(no_nul)]


#: an id in a body, and in a path
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: a business date or time
Day = Annotated[date, AfterValidator(in_range)]
When = Annotated[datetime, AfterValidator(in_range)]
QueryDay = Annotated[date | None, Query(), AfterValidator(in_range)]
#: the timetable's window (days from `start`)
Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description=f"1 .. {MAX_DAYS}")]
#: money: a yuan amount with at most 2 places, not negative
Money = Annotated[Decimal, BeforeValidator(yuan_amount), Field(ge=0, le=MAX_AMOUNT)]
#: a price or a count (a negative count returns a line)
Number = Annotated[Decimal, BeforeValidator(decimal_number),
                   Field(ge=-MAX_NUMBER, le=MAX_NUMBER, decimal_places=NUMBER_PLACES)]
#: the Idempotency-Key header (a payment keeps "key:" + it in a column of 200)
IdempotencyHeader = Annotated[str | None, Header(max_length=150, description="the same key again: the same "
                                                                              "answer"), AfterValidator(no_nul)]
