"""Column types that keep money exact on every database."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, String
from sqlalchemy.types import TypeDecorator

from yibao.money import from_fen, to_decimal, to_fen


class Money(TypeDecorator[Decimal]):
    """Two-place yuan amounts stored as integer fen: exact sums in SQL on SQLite and PostgreSQL alike."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> int | None:
        return None if value is None else to_fen(to_decimal(value))

    def process_result_value(self, value: int | None, dialect: object) -> Decimal | None:
        return None if value is None else from_fen(int(value))


class ExactDecimal(TypeDecorator[Decimal]):
    """Ratios and unit prices (more than two places), stored as their decimal text."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> str | None:
        return None if value is None else str(to_decimal(value))

    def process_result_value(self, value: str | None, dialect: object) -> Decimal | None:
        return None if value is None else Decimal(value)
