"""Settlements counted when their transaction commits (yibao_settlements_total, yibao_settlement_amount_yuan_total):
the records a flush inserted wait in the session until the commit, and a rollback forgets them, so a settlement
that was refused, conflicted or failed after its insert counts nothing."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from yibao.observe.metrics import AMOUNT_PARTS, count_settlement
from yibao.store.models import Settlement

_PENDING = "yibao.metered.settlements"
log = logging.getLogger("yibao.store.metered")


def _flushed(session: Session, _context: Any) -> None:
    new = [row for row in session.new if isinstance(row, Settlement)]
    if new:
        session.info.setdefault(_PENDING, []).extend(new)


def _committed(session: Session) -> None:
    for row in session.info.pop(_PENDING, ()):
        try:
            count_settlement(row.kind, row.med_type, row.insu_admdvs, row.status,
                             {part: getattr(row, part) for part in AMOUNT_PARTS})
        except Exception:  # noqa: BLE001 - the settlement is committed: a metric must not turn it into an error
            log.exception("settlement %s not counted", row.setl_id)


def _rolled_back(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)


def meter(sessions: sessionmaker[Session]) -> None:
    """Count the settlements the sessions of `sessions` commit."""
    event.listen(sessions, "after_flush", _flushed)
    event.listen(sessions, "after_commit", _committed)
    event.listen(sessions, "after_rollback", _rolled_back)
    event.listen(sessions, "after_soft_rollback", _rolled_back)
