"""Field types of the dataset document. Each refusal states the rule, so the loader can name path + rule."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator

from yibao.money import NotDecimal, to_decimal


def _decimal_text(value: Any, what: str, example: str = "100.00") -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f"must be {what} written as a quoted decimal string (e.g. \"{example}\"), "
                         f"not {type(value).__name__}")
    try:
        return to_decimal(value)
    except NotDecimal as exc:
        raise ValueError(f"must be {what} written as a decimal string; {exc}") from None


def _money(value: Any) -> Decimal:
    amount = _decimal_text(value, "an amount of money")
    if amount < 0:
        raise ValueError("must be an amount of money not below 0")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("must be an amount of money with at most 2 decimal places")
    return amount.quantize(Decimal("0.01"))


def _price(value: Any) -> Decimal:
    amount = _decimal_text(value, "a price")
    if amount < 0:
        raise ValueError("must be a price not below 0")
    return amount


def _ratio(value: Any) -> Decimal:
    ratio = _decimal_text(value, "a decimal between 0 and 1", "0.60")
    if not Decimal(0) <= ratio <= Decimal(1):
        raise ValueError("must be a decimal between 0 and 1")
    return ratio


def _selfpay_prop(value: Any) -> dict[str, Decimal]:
    """One ratio for every insurance type, or a map by insutype; stored as a map ("*" = every type)."""
    if not isinstance(value, dict):
        return {"*": _ratio(value)}
    if not value:
        raise ValueError("must be a ratio or a non-empty map of insutype to ratio")
    out: dict[str, Decimal] = {}
    for insutype, ratio in value.items():
        if insutype not in ("310", "390", "510"):
            raise ValueError(f"key {insutype!r} must be an insutype: 310, 390 or 510")
        try:
            out[insutype] = _ratio(ratio)
        except ValueError as exc:
            raise ValueError(f"for insutype {insutype}: {exc}") from None
    return out


def _iso_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("must be an ISO date (yyyy-mm-dd)")


def _pattern(regex: str, rule: str):  # type: ignore[no-untyped-def]
    compiled = re.compile(regex)

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a quoted string ({rule}), not {type(value).__name__}")
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {rule}")
        return value

    return check


def _choice(options: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a quoted string, one of {', '.join(options)}")
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return check


Money = Annotated[Decimal, BeforeValidator(_money)]
Price = Annotated[Decimal, BeforeValidator(_price)]
Ratio = Annotated[Decimal, BeforeValidator(_ratio)]
SelfpayProp = Annotated[dict[str, Decimal], BeforeValidator(_selfpay_prop)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Admdvs = Annotated[str, BeforeValidator(_pattern(r"\d{6}", "a 6-digit region code"))]
Code = Annotated[str, BeforeValidator(_pattern(r"[0-9A-Za-z._\-]{1,50}", "a code of letters and digits"))]


def choice(*options: str) -> Any:
    return Annotated[str, BeforeValidator(_choice(options))]
