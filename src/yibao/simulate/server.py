"""`yibao serve` as a subprocess for the simulation, and the business date it reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from yibao import served
from yibao.store.db import Store
from yibao.store.models import (
    Setting,
)

# -- the server ---------------------------------------------------------------------------------------------------

@contextmanager
def serving(url: str, folder: Path) -> Iterator[str]:
    """`yibao serve` on a free port against the database (its log in `folder`); its business date comes from the
    database, never YIBAO_TODAY."""
    env = {k: v for k, v in os.environ.items() if k != "YIBAO_TODAY"}
    env["YIBAO_DATABASE_URL"] = url
    env["YIBAO_DEMO"] = "1"  # the demo world, with its shipped secrets
    with served.serving(env, folder) as base:
        yield base


def set_today(store: Store, day: date) -> None:
    with store.unit_of_work() as s:
        row = s.get(Setting, "today")
        if row is None:
            s.add(Setting(key="today", value=day.isoformat()))
        else:
            row.value = day.isoformat()


