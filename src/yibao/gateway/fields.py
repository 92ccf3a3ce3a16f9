"""Field types of interface inputs: amounts as JSON numbers or strings (never floats), times as text."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictStr

from yibao.codes import DICTIONARIES
from yibao.money import NotDecimal, to_decimal

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


def _datetime(value: Any) -> datetime:
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
    raise ValueError("must be a time as yyyy-MM-dd HH:mm:ss")


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
Text = StrictStr


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


CertType = code("mdtrt_cert_type")
InsuType = code("insutype")
MedType = code("med_type")
SetlWay = code("psn_setlway")
