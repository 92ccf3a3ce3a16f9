"""Money and ratio values: decimal only, two places, half-up. Floats are refused at the door."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class NotDecimal(ValueError):
    """A value that cannot be read as an exact decimal."""


def to_decimal(value: object) -> Decimal:
    """Read a decimal from a string, int or Decimal; never from a float (it is already inexact)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise NotDecimal(f"{value!r} is not an exact decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise NotDecimal(f"{value!r} is not a decimal number") from exc
    else:
        raise NotDecimal(f"{value!r} is not a decimal number")
    if not result.is_finite():
        raise NotDecimal(f"{value!r} is not a finite decimal")
    return result


def round2(value: Decimal) -> Decimal:
    """Round to 0.01 yuan, half up (rules.md section 3)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: object) -> Decimal:
    """A money amount: exact decimal rounded to two places."""
    return round2(to_decimal(value))


def to_fen(amount: Decimal) -> int:
    """Integer fen (1/100 yuan) of an amount already rounded to two places."""
    quantized = round2(amount)
    if quantized != amount:
        raise NotDecimal(f"{amount} has more than two decimal places")
    return int(quantized * 100)


def from_fen(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)  # exact, two places: what (fen / 100).quantize(CENT) gives, at half the cost
