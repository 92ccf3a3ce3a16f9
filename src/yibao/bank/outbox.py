"""Delivery of the bank outbox: every pending bank_outbox row whose time has come is sent to the bank, and
marked delivered only once the bank acknowledged it. Nothing is lost: a row stays pending until then.

One instruction at a time, in short transactions, never holding a transaction open while the bank is
being called:

1. claim: the next due row (PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`; SQLite: transactions are
   serialized) gets `next_attempt_at = now + lease`, so no other worker takes it meanwhile;
2. call the bank (no transaction open);
3. record: acknowledged → `delivered`, `delivered_at`, `attempts + 1`; refused or unanswered →
   `attempts + 1`, `last_error`, `next_attempt_at = now + backoff(attempts)` (1 s, 2 s, 4 s … 300 s).

A worker that dies between 1 and 3 leaves the row pending: when the lease runs out it is sent again, and
the bank, which acknowledges each id once, answers "duplicate". So is an instruction whose ack was lost.
When the bank is unavailable the pass stops at the first failure (the rest stay due for the next pass)
instead of knocking on a closed door `batch` times.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from yibao.bank import adapter as bank_adapter
from yibao.bank.adapter import BankAdapter, BankError, BankUnavailable, Instruction
from yibao.store.db import Store
from yibao.store.models import BankInstruction

log = logging.getLogger("yibao.bank")

BACKOFF_FIRST = timedelta(seconds=1)
BACKOFF_MAX = timedelta(seconds=300)
#: how long a claimed instruction is left to the worker that claimed it (well above the bank's timeout)
LEASE = timedelta(seconds=60)


def backoff(failures: int) -> timedelta:
    """The wait after the n-th failed attempt: 1 s, 2 s, 4 s, … doubling, at most 300 s."""
    return min(BACKOFF_FIRST * 2 ** min(max(failures, 1) - 1, 16), BACKOFF_MAX)


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # booked by the bank on this delivery
    duplicates: list[str] = field(default_factory=list)  # acknowledged as already booked (an ack had been lost)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (instruction_id, error), still pending
    stopped: bool = False  # the bank was unavailable: the pass stopped there

    @property
    def attempted(self) -> int:
        return len(self.delivered) + len(self.duplicates) + len(self.failed)

    def summary(self) -> str:
        text = f"delivered {len(self.delivered)}, duplicates {len(self.duplicates)}, failed {len(self.failed)}"
        return text + (" (bank unavailable: stopped)" if self.stopped else "")


def deliver_due(store: Store, adapter: BankAdapter, now: datetime | None = None, batch: int = 100,
                lease: timedelta = LEASE) -> DeliveryReport:
    """Deliver up to `batch` pending instructions due at `now` (default: the real time, naive local like
    the outbox's own stamps). Safe with any number of workers running at once."""
    report = DeliveryReport()
    for _ in range(batch):
        moment = now or datetime.now()
        instruction = _claim(store, moment, lease)
        if instruction is None:
            break
        try:
            ack = adapter.deliver(instruction)
        except BankError as exc:
            _failed(store, instruction.instruction_id, moment, f"{type(exc).__name__}: {exc}")
            report.failed.append((instruction.instruction_id, str(exc)))
            if isinstance(exc, BankUnavailable):
                report.stopped = True
                break
            continue
        except Exception as exc:  # an adapter bug: keep the row pending and visible, then let it surface
            _failed(store, instruction.instruction_id, moment, f"{type(exc).__name__}: {exc}")
            raise
        first = _delivered(store, instruction.instruction_id, moment)
        (report.duplicates if ack.duplicate or not first else report.delivered).append(instruction.instruction_id)
    return report


def backlog(store: Store) -> tuple[int, datetime | None]:
    """The instructions not yet delivered and when the oldest of them was made (for /metrics)."""
    with store.unit_of_work(durable=False) as s:
        count, oldest = s.execute(select(func.count(), func.min(BankInstruction.created_at))
                                  .where(BankInstruction.status == "pending")).one()
    return int(count), oldest


def _claim(store: Store, moment: datetime, lease: timedelta) -> Instruction | None:
    with store.unit_of_work() as s:
        row = s.scalars(select(BankInstruction)
                        .where(BankInstruction.status == "pending", BankInstruction.next_attempt_at <= moment)
                        .order_by(BankInstruction.next_attempt_at, BankInstruction.instruction_id)
                        .limit(1).with_for_update(skip_locked=True)).first()
        if row is None:
            return None
        row.next_attempt_at = moment + lease
        return Instruction.of(row)


def _delivered(store: Store, instruction_id: str, moment: datetime) -> bool:
    """Mark it delivered; False if another worker (whose lease ran out on us) already had."""
    with store.unit_of_work() as s:
        result = s.execute(update(BankInstruction)
                           .where(BankInstruction.instruction_id == instruction_id,
                                  BankInstruction.status == "pending")
                           .values(status="delivered", delivered_at=moment, attempts=BankInstruction.attempts + 1)
                           .execution_options(synchronize_session=False))
        return bool(cast(CursorResult[Any], result).rowcount)


def _failed(store: Store, instruction_id: str, moment: datetime, error: str) -> None:
    with store.unit_of_work() as s:
        row = s.get(BankInstruction, instruction_id, with_for_update=True)
        if row is None or row.status != "pending":
            return
        row.attempts += 1
        row.last_error = error[:500]
        row.next_attempt_at = moment + backoff(row.attempts)
    log.warning("bank instruction %s not delivered (attempt %d, next at %s): %s", instruction_id,
                row.attempts, row.next_attempt_at, error)


def run_worker(store: Store, adapter: BankAdapter, stop_event: threading.Event,
               interval: float = 1.0,  # float-ok: seconds
               batch: int = 100, on_pass: Callable[[DeliveryReport | None], None] | None = None) -> None:
    """Deliver what is due every `interval` seconds (at once again when a full batch went out) until
    `stop_event` is set. For a background thread; errors are logged, never end the loop. `on_pass` is told
    each pass's report (None: the pass failed)."""
    while not stop_event.is_set():
        try:
            report = deliver_due(store, adapter, batch=batch)
        except Exception:  # noqa: BLE001 - the worker must outlive a bad pass; the rows stay pending
            log.exception("bank delivery pass failed")
            report = None
        if on_pass is not None:
            on_pass(report)
        if report is not None and report.attempted:
            log.info("bank delivery: %s", report.summary())
        if report is not None and report.attempted >= batch and not report.stopped:
            continue
        stop_event.wait(interval)


class DeliveryWorker:
    """`run_worker` in a daemon thread: start(), stop()."""

    def __init__(self, store: Store, adapter: BankAdapter,
                 interval: float = 1.0,  # float-ok: seconds
                 batch: int = 100):
        self.store, self.adapter, self.interval, self.batch = store, adapter, interval, batch
        self.stop_event = threading.Event()
        self.delivered = 0  # instructions this worker has delivered (booked, or acknowledged as booked)
        self._passed = threading.Condition()
        self.thread = threading.Thread(target=run_worker, name="yibao-bank-delivery", daemon=True,
                                       args=(store, adapter, self.stop_event, interval, batch, self._count))

    def _count(self, report: DeliveryReport | None) -> None:
        with self._passed:
            if report is not None:
                self.delivered += len(report.delivered) + len(report.duplicates)
            self._passed.notify_all()

    def wait_delivered(self, count: int, timeout: float) -> bool:  # float-ok: seconds
        """True once this worker has delivered `count` instructions in all; False if `timeout` passed first.
        Woken by each pass as it ends: whoever waits for the outbox (a test, a shutdown) need not poll it."""
        with self._passed:
            return self._passed.wait_for(lambda: self.delivered >= count, timeout=timeout)

    def start(self) -> DeliveryWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:  # float-ok: seconds
        self.stop_event.set()
        self.thread.join(timeout)
        self.adapter.close()


def worker_from_env(store: Store) -> DeliveryWorker | None:
    """A started DeliveryWorker when YIBAO_BANK_URL names a bank, else None."""
    url = os.environ.get("YIBAO_BANK_URL", "").strip()
    if not url:
        return None
    log.info("delivering the bank outbox to %s", url)
    return DeliveryWorker(store, bank_adapter.make_adapter(url)).start()
