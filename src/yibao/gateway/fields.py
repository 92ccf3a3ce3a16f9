"""Field types of interface inputs: amounts as JSON numbers or strings (never floats), times as text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from yibao.codes import DICTIONARIES
from yibao.money import NotDecimal, to_decimal

#: the years a date or time of a message may fall in: a HIS's business is in them, and a day outside cannot be
#: reckoned with (0001-01-01 minus a day, a window reaching back from year 1) nor stored and read back everywhere
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
_YEARS = f"from {FIRST_DAY} to {LAST_DAY}"
#: no bill, price or quantity of a medical visit comes near it; far larger values only overflow the arithmetic
LIMIT = Decimal("1E12")
PLACES = 6


def _decimal(value: Any) -> Decimal:
    try:
        number = to_decimal(value)
    except NotDecimal:
        raise ValueError("must be a decimal number (a JSON number or a numeric string)") from None
    if abs(number) >= LIMIT:
        raise ValueError(f"must be below {LIMIT:,.0f} in magnitude")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PLACES and number != number.quantize(Decimal(1).scaleb(-PLACES)):
        raise ValueError(f"must have at most {PLACES} decimal places")
    return number


def _amount(value: Any) -> Decimal:
    number = _decimal(value)
    if number != number.quantize(Decimal("0.01")):
        raise ValueError("must be an amount with at most 2 decimal places")
    return number.quantize(Decimal("0.01"))


def _in_years(moment: datetime, what: str) -> datetime:
    if not FIRST_DAY <= moment.date() <= LAST_DAY:
        raise ValueError(f"must be a {what} {_YEARS}")
    return moment


def _datetime(value: Any) -> datetime:
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                moment = datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
            return _in_years(moment, "time")
    raise ValueError("must be a time as yyyy-MM-dd HH:mm:ss")


def _day(value: Any) -> date:
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S"):
            try:
                moment = datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
            return _in_years(moment, "date").date()
    raise ValueError("must be a date as yyyy-MM-dd")


def _day_or_none(value: Any) -> date | None:
    return None if value in ("", None) else _day(value)


def _bound(end: bool) -> Callable[[Any], datetime]:
    """A time bound; a bare date means the start of that day, or for an end bound its last second."""
    def parse(value: Any) -> datetime:
        if isinstance(value, str):
            text = value.strip()
            for fmt, last in (("%Y-%m-%d %H:%M:%S", False), ("%Y-%m-%d", end)):
                try:
                    moment = datetime.strptime(text, fmt)
                except ValueError:
                    continue
                moment = _in_years(moment, "time")
                return moment.replace(hour=23, minute=59, second=59) if last else moment
        raise ValueError("must be a time as yyyy-MM-dd HH:mm:ss (or a date yyyy-MM-dd)")
    return parse


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise ValueError("must be a whole number")


def _flag(value: Any) -> str:
    if value in ("", None):
        return "0"
    if value in ("0", "1"):
        return str(value)
    raise ValueError("must be \"0\" or \"1\"")


Number = Annotated[Decimal, BeforeValidator(_decimal)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
Time = Annotated[datetime, BeforeValidator(_datetime)]
Flag = Annotated[str, BeforeValidator(_flag)]
#: free text of a message: at most 500 characters (the longest text column; identifiers have their own bound)
Text = Annotated[str, Field(strict=True, max_length=500)]
#: an identifier the platform keeps (psn_no, mdtrt_id, setl_id, ipt_otp_no, ...): at most 30 characters, as its columns
Id = Annotated[str, Field(strict=True, max_length=30)]
Day = Annotated[date, BeforeValidator(_day)]
#: a date that may be left out ("" or null)
MaybeDay = Annotated[date | None, BeforeValidator(_day_or_none)]
Begin = Annotated[datetime, BeforeValidator(_bound(end=False))]
End = Annotated[datetime, BeforeValidator(_bound(end=True))]
Whole = Annotated[int, BeforeValidator(_whole)]
#: the last page a paged query serves: its offset (page_num - 1) * page_size must fit a database's integer
MAX_PAGE_NUM = 1_000_000
#: a paged query's page number, 1 to MAX_PAGE_NUM
PageNum = Annotated[int, BeforeValidator(_whole), Field(ge=1, le=MAX_PAGE_NUM)]


def code(dictionary: str, *, empty: bool = False) -> Any:
    """A coded field checked against its dictionary (codes.DICTIONARIES); `empty` lets "" mean "not given"."""
    known = DICTIONARIES[dictionary]
    listed = ", ".join(f"{k} {v}" for k, v in known.items()) if len(known) <= 8 else ", ".join(known)

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a code of {dictionary} as a string, one of: {listed}")
        if value == "" and empty:
            return value
        if value not in known:
            raise ValueError(f"{value[:20]!r} is not a code of {dictionary}; one of: {listed}")
        return value

    return Annotated[str, BeforeValidator(check)]


def regional_code(name: str, max_length: int, *, empty: bool = True) -> Any:
    """A coded field whose dictionary the public sources do not give, or whose codes differ by region: held to the
    shape of a code (letters and digits, within the spec's length) so that free text or a stray value is refused
    naming the field, while every region's own codes pass."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a code of {name} as a string")
        if value == "" and empty:
            return value
        if not (value.isascii() and value.isalnum() and len(value) <= max_length):
            raise ValueError(f"{value[:20]!r} is not a code of {name}: letters and digits, at most {max_length}")
        return value

    return Annotated[str, BeforeValidator(check)]


CertType = code("mdtrt_cert_type")
InsuType = code("insutype")
MedType = code("med_type")
SetlWay = code("psn_setlway")


#: a time that may be left out ("" or null): HIS send every field of the spec's table, empty when unknown
MaybeTime = Annotated[datetime | None, BeforeValidator(lambda value: None if value in ("", None) else _datetime(value))]
