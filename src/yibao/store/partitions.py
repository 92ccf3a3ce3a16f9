"""The audit log by month on PostgreSQL (message_log is range-partitioned on received_at, migration 0015), with
a retention, and the answers kept for msgid replay pruned past their window (docs/performance.md).

`maintain()` makes the partitions of this month and the next three and drops the months past the retention; it
runs when `yibao serve` starts, with `yibao db maintain`, and each day from the outbox worker. A row whose month
has no partition yet lands in the default partition, so an insert never fails for want of one.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, text

log = logging.getLogger("yibao.partitions")

AUDIT_MONTHS_DEFAULT = 24
REPLAY_DAYS_DEFAULT = 30
AHEAD = 3
_NAME = re.compile(r"^message_log_(\d{4})(\d{2})$")


@dataclass(frozen=True)
class Maintained:
    created: list[str]
    dropped: list[str]
    replay_pruned: int


def _month(day: date, shift: int) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _setting(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


def maintain(engine: Engine, today: date | None = None) -> Maintained:
    today = today or date.today()
    created: list[str] = []
    dropped: list[str] = []
    with engine.begin() as conn:
        cutoff = datetime.combine(today - timedelta(days=_setting("YIBAO_REPLAY_DAYS", REPLAY_DAYS_DEFAULT)),
                                  datetime.min.time())
        pruned = conn.execute(text("DELETE FROM message_replay WHERE created_at < :cutoff"),
                              {"cutoff": cutoff}).rowcount or 0
    if engine.dialect.name != "postgresql":
        return Maintained(created, dropped, pruned)
    with engine.begin() as conn:
        existing = {r[0] for r in conn.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'message_log' "
            "AND p.relnamespace = c.relnamespace AND pg_table_is_visible(p.oid)"))}
        for shift in range(0, AHEAD + 1):
            start = _month(today, shift)
            name = f"message_log_{start:%Y%m}"
            if name in existing:
                continue
            try:
                with conn.begin_nested():
                    conn.execute(text(f"CREATE TABLE {name} PARTITION OF message_log FOR VALUES FROM "
                                      f"('{start}') TO ('{_month(start, 1)}')"))
                created.append(name)
            except Exception as exc:  # rows of that month already in the default partition: they stay there
                log.warning("partition %s not made: %s", name, str(exc).splitlines()[0])
        oldest = _month(today, -_setting("YIBAO_AUDIT_MONTHS", AUDIT_MONTHS_DEFAULT))
        for name in sorted(existing):
            m = _NAME.match(name)
            if m and date(int(m.group(1)), int(m.group(2)), 1) < oldest:
                conn.execute(text(f"DROP TABLE {name}"))
                dropped.append(name)
    return Maintained(created, dropped, pruned)
