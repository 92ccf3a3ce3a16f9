"""Rows as JSON and back, for what one node sends another (reference snapshots, a visitor's person row): every
column by its name, dates and times as ISO text, money and ratios as decimal text, so no amount passes a float."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime

from yibao.sqlkit import ExactDecimal, Money
from yibao.store.models import Base


def to_json(row: Base, leave: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in row.__table__.columns:
        if col.key in leave:
            continue
        value = getattr(row, col.key)
        out[col.key] = (value.isoformat() if isinstance(value, date)
                        else str(value) if isinstance(value, Decimal) else value)
    return out


def from_json(model: type[Base], data: dict[str, Any]) -> Base:
    values: dict[str, Any] = {}
    for col in model.__table__.columns:
        if col.key not in data:
            continue
        value = data[col.key]
        if value is not None:
            if isinstance(col.type, DateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(col.type, Date):
                value = date.fromisoformat(value)
            elif isinstance(col.type, (Money, ExactDecimal)):
                value = Decimal(value)
        values[col.key] = value
    return model(**values)
