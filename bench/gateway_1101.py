"""Benchmark: 1101 person lookups through the whole gateway pipeline (signature, replay check, sign-in,
handler, audit), in process, on a fresh SQLite (or YIBAO_BENCH_DB) database loaded with the demo dataset.

Prints messages per second, latency percentiles and SQL statements per message.
    .venv/bin/python bench/gateway_1101.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import event

from yibao.app import create_app
from yibao.client import PlatformClient
from yibao.dataset.loader import load_file
from yibao.store.db import Store, upgrade

ROOT = Path(__file__).resolve().parent.parent


def main(n: int) -> None:
    url = os.environ.get("YIBAO_BENCH_DB") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    store = Store(url)
    load_file(store, ROOT / "examples" / "demo.yaml")
    statements = 0

    @event.listens_for(store.engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    client = PlatformClient("http://testserver", "H44030000001", "demo-secret-sz-1", "440300",
                            http=TestClient(create_app(store)))
    client.sign_no()
    query = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440304198504121034"}}
    client.ok("1101", query)  # warm-up
    statements = 0
    latencies = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        client.ok("1101", query)
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    backend = url.split(":", 1)[0]
    print(f"1101 x {n} on {backend}: {n / elapsed:.0f} msg/s, "
          f"p50 {statistics.median(latencies):.2f} ms, p95 {latencies[int(n * 0.95) - 1]:.2f} ms, "
          f"max {latencies[-1]:.2f} ms, {statements / n:.1f} SQL statements per message")
    store.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
