"""Column builders and lookups the monthly tables share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.reports.table import Column
from yibao.store.models import Region


def money_column(key: str, title: str) -> Column:
    return Column(key, title, "money")


def count_column(key: str, title: str) -> Column:
    return Column(key, title, "count")


def region_names(session: Session) -> dict[str, str]:
    return {r.admdvs: r.name for r in session.scalars(select(Region))}
