"""Field types of interface inputs: amounts as JSON numbers or strings (never floats), times as text."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictStr

from yibao.money import NotDecimal, to_decimal


def _decimal(value: Any) -> Decimal:
    try:
        return to_decimal(value)
    except NotDecimal:
        raise ValueError("must be a decimal number (a JSON number or a numeric string)") from None


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
