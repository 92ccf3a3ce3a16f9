"""What the hospital does with what a channel tells it: take each callback once and in order (CallbackInbox),
and find out the outcome of an order whose answer never came (resolve).

Providers send callbacks at least once and in no promised order: the same event again (a retry after a lost
answer), and sometimes an older event after a newer one. The inbox remembers, per order, the events applied;
an event is
- DUPLICATE when its event_id was applied, or its status with the same amount was (a provider re-notifying
  under a new id); two partial refunds differ in amount (the total refunded so far), so both are new;
- STALE when its sequence is not above the highest applied (older news: PAID arriving after PARTIALLY_REFUNDED);
- NEW otherwise: apply it. Answer the provider with success in all three cases, so that it stops sending.

Callbacks may also never come: the hospital queries. resolve() polls query() until the status is final and
otherwise returns the last status the provider gave, never a guessed PAID.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from yibao.hospital.channels.base import CallbackEvent, Channel, ChannelResult, ChannelTimeout, Status


class Verdict(StrEnum):
    NEW = "NEW"
    DUPLICATE = "DUPLICATE"
    STALE = "STALE"


@dataclass(frozen=True)
class InboxRecord:
    """What the inbox remembers of one order's applied events."""

    out_trade_no: str
    sequence: int  # the highest sequence applied
    status: Status  # the status of that event: the order's latest known state
    applied: frozenset[str]  # "STATUS amount" of every event applied
    event_ids: frozenset[str]  # the ids of the events applied
    version: int = 1  # 1 when first stored, + 1 on each change: for put's compare-and-set


class InboxStore(Protocol):
    """Where the inbox keeps its records: the hospital's own database (one row per out_trade_no, written in the
    transaction that applies the event), or MemoryInboxStore."""

    def get(self, out_trade_no: str) -> InboxRecord | None: ...

    def put(self, record: InboxRecord, previous: InboxRecord | None) -> bool:
        """Store `record` if the stored one is still `previous` (same version; None: none stored), and say so.
        False when another writer came first: the inbox reads again and decides again."""
        ...


class MemoryInboxStore:
    """An InboxStore in a dict, for the tests and a single process."""

    def __init__(self) -> None:
        self.records: dict[str, InboxRecord] = {}
        self._lock = threading.Lock()

    def get(self, out_trade_no: str) -> InboxRecord | None:
        return self.records.get(out_trade_no)

    def put(self, record: InboxRecord, previous: InboxRecord | None) -> bool:
        with self._lock:
            current = self.records.get(record.out_trade_no)
            if (current.version if current else 0) != (previous.version if previous else 0):
                return False
            self.records[record.out_trade_no] = record
            return True


def _applied_key(event: CallbackEvent) -> str:
    return f"{event.status} {event.amount}"


def judge(record: InboxRecord | None, event: CallbackEvent) -> Verdict:
    """The verdict on an event, given what was applied before (a pure function)."""
    if record is None:
        return Verdict.NEW
    if event.event_id in record.event_ids or _applied_key(event) in record.applied:
        return Verdict.DUPLICATE
    if event.sequence <= record.sequence:
        return Verdict.STALE
    return Verdict.NEW


def applied(record: InboxRecord | None, event: CallbackEvent) -> InboxRecord:
    """The record once `event` is applied."""
    if record is None:
        return InboxRecord(event.out_trade_no, event.sequence, event.status, frozenset({_applied_key(event)}),
                           frozenset({event.event_id}))
    return replace(record, sequence=event.sequence, status=event.status,
                   applied=record.applied | {_applied_key(event)}, event_ids=record.event_ids | {event.event_id},
                   version=record.version + 1)


class CallbackInbox:
    """Decides, once per event, whether the hospital applies it. See the module's docstring."""

    def __init__(self, store: InboxStore | None = None, tries: int = 10):
        self.store: InboxStore = store if store is not None else MemoryInboxStore()
        self.tries = tries

    def accept(self, event: CallbackEvent) -> Verdict:
        """NEW (recorded now: apply it), DUPLICATE or STALE (apply nothing)."""
        for _ in range(self.tries):
            record = self.store.get(event.out_trade_no)
            verdict = judge(record, event)
            if verdict is not Verdict.NEW or self.store.put(applied(record, event), record):
                return verdict
        raise RuntimeError(f"{event.out_trade_no}: the inbox record kept changing under {event.event_id}")

    def last(self, out_trade_no: str) -> InboxRecord | None:
        return self.store.get(out_trade_no)


def resolve(channel: Channel, out_trade_no: str, attempts: int = 10,
            wait: float = 1.0,  # float-ok: seconds between queries
            *, sleep: Callable[[float], None] = time.sleep) -> ChannelResult:  # float-ok
    """Query until the status is final (PAID, FAILED, CLOSED, REFUNDED, PARTIALLY_REFUNDED), at most `attempts`
    times `wait` seconds apart; then the last status the provider gave (PENDING, NOT_FOUND: close() the order to
    make it final). A query without an answer counts as an attempt; when none was answered: ChannelTimeout.
    ChannelRejected is not retried."""
    last: ChannelResult | None = None
    for attempt in range(max(attempts, 1)):
        if attempt:
            sleep(wait)
        try:
            last = channel.query(out_trade_no)
        except ChannelTimeout:
            continue
        if last.status.final:
            return last
    if last is None:
        raise ChannelTimeout(f"{channel.name}: no answer to {attempts} queries of {out_trade_no}")
    return last
