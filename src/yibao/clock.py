"""The simulation clock (dataset.md): a fixed business date, with the time of day still running."""

from __future__ import annotations

import os
from datetime import date, datetime, time


def business_date(stored_today: date | None) -> date:
    """YIBAO_TODAY wins over the dataset's `today`; without either, the real date."""
    env = os.environ.get("YIBAO_TODAY", "").strip()
    if env:
        return date.fromisoformat(env)
    if stored_today is not None:
        return stored_today
    return date.today()


def business_now(stored_today: date | None) -> datetime:
    """The business date combined with the real time of day."""
    real = datetime.now()
    return datetime.combine(business_date(stored_today), time(real.hour, real.minute, real.second))
