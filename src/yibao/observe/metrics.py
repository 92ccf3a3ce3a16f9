"""The Prometheus metrics of both services (docs/operations.md lists them with their labels).

Counters and histograms live here, process-wide. Under `yibao serve --workers N` the serve command points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers start: each worker then writes its values to
files there and a scrape of any worker sums them all (prometheus-client's multiprocess mode). What is read at
scrape time (outbox backlog, connection pool) is a `Readings` collector of the app that answers the scrape.
Every label takes values from a short closed list (interface numbers, kinds, regions), never an id."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger("yibao.observe")

# -- the platform's gateway -------------------------------------------------------------------------------------
MESSAGES = Counter("yibao_messages", "Messages of the national interface answered, by infno, infcode and outcome "
                   "(ok, refused, replayed, error)", ["infno", "infcode", "outcome"])
MESSAGE_SECONDS = Histogram("yibao_message_duration_seconds", "Time to answer a message of the national interface",
                            ["infno"])
REFUSALS = Counter("yibao_refusals", "Messages refused (infcode -1), by the check that refused them", ["reason"])
SETTLEMENTS = Counter("yibao_settlements", "Settlement records committed, by kind, med_type, insured region and "
                      "status (settled, reversal)", ["kind", "med_type", "insu_admdvs", "status"])
SETTLED_YUAN = Counter("yibao_settlement_amount_yuan", "Amounts of the settlement records committed, in yuan, by "
                       "part (medfee_sumamt, fund_pay_sumamt, acct_pay, psn_cash_pay); a reversal's as positive "
                       "amounts under status reversal", ["kind", "med_type", "insu_admdvs", "status", "part"])
MONTHLY_STEP_SECONDS = Histogram("yibao_monthly_step_duration_seconds", "Duration of a step of the monthly cycle "
                                 "(declare, finish_review, allocate, clear_mutual_aid, settle_advances)", ["step"],
                                 buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600))

# -- every HTTP face ---------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter("yibao_http_requests", "HTTP requests answered, by service, route template, method and "
                        "status", ["service", "route", "method", "status"])
HTTP_SECONDS = Histogram("yibao_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["service", "route", "method"])

# -- the hospital ------------------------------------------------------------------------------------------------
CHANNEL_CALLS = Counter("yibao_hospital_channel_calls", "Calls of the hospital to its payment channels, by channel, "
                        "call (pay, query, refund, close) and result (the order's status, rejected, timeout, "
                        "error)", ["channel", "call", "result"])
CHANNEL_SECONDS = Histogram("yibao_hospital_channel_call_duration_seconds", "Time a payment channel took to answer",
                            ["channel", "call"])
PLATFORM_MESSAGES = Counter("yibao_hospital_platform_messages", "Messages the hospital sent to the platform, by "
                            "infno and the infcode answered (none: no answer)", ["infno", "infcode"])
PLATFORM_SECONDS = Histogram("yibao_hospital_platform_message_duration_seconds", "Time the platform took to answer "
                             "the hospital", ["infno"])

#: the parts of a settlement whose amounts are counted
AMOUNT_PARTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


def count_settlement(kind: str, med_type: str, insu_admdvs: str, status: str, amounts: dict[str, Decimal]) -> None:
    """One committed settlement record (never one whose transaction rolled back: see store/metered.py)."""
    SETTLEMENTS.labels(kind, med_type, insu_admdvs, status).inc()
    # a counter only grows: a reversal's negative amounts count as positive ones under its own status. Prometheus
    # keeps floats: the yuan here are for watching, the books are the database's exact decimals
    for part in AMOUNT_PARTS:
        yuan = abs(float(amounts.get(part) or 0))  # float-ok: a Prometheus value
        SETTLED_YUAN.labels(kind, med_type, insu_admdvs, status, part).inc(yuan)


@contextmanager
def monthly_step(step: str) -> Iterator[None]:
    """Time one step of the monthly cycle, whether it ends well or refuses."""
    start = time.perf_counter()
    try:
        yield
    finally:
        MONTHLY_STEP_SECONDS.labels(step).observe(time.perf_counter() - start)


#: (metric name, help, read): a value read when scraped; None or an exception leaves the metric out
Reading = tuple[str, str, Callable[[], float | None]]


class Readings(Collector):
    """Gauges read at scrape time from the process that answers the scrape (docs/operations.md)."""

    def __init__(self, readings: Iterable[Reading]):
        self.readings = list(readings)

    def collect(self) -> Iterator[Metric]:
        for name, doc, read in self.readings:
            try:
                value = read()
            except Exception as exc:  # noqa: BLE001 - a scrape answers what it can; the database may be down
                log.warning("metric %s not read: %s", name, exc)
                continue
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value)


def pool_readings(engine: object, prefix: str = "yibao_db_pool") -> list[Reading]:
    """The connection pool of a SQLAlchemy engine: its size, connections in use, overflow (QueuePool only)."""
    def of(method: str) -> Callable[[], float | None]:
        def read() -> float | None:  # float-ok: a gauge sample (pool counts)
            fn = getattr(getattr(engine, "pool", None), method, None)
            # QueuePool.overflow() counts down from -size while the pool is not full: only the excess is overflow
            return max(0.0, float(fn())) if callable(fn) else None  # float-ok: a gauge
        return read
    return [(f"{prefix}_size", "Connections the pool keeps", of("size")),
            (f"{prefix}_checked_out", "Connections in use now", of("checkedout")),
            (f"{prefix}_overflow", "Connections opened over the pool's size", of("overflow"))]


def exposition(readings: Readings | None = None) -> tuple[bytes, str]:
    """The text a scrape answers: every process's counters (multiprocess mode) or this one's, then `readings`."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if readings is not None:
        own = CollectorRegistry()
        own.register(readings)
        text += generate_latest(own)
    return text, CONTENT_TYPE_LATEST
