"""Benchmark: cross-province 2207s across two nodes of a federation on loopback, beside the same 2207s on one node
in the same run (docs/federation.md).

Each node is `yibao serve` (one worker) on a PostgreSQL database of its own; the nodes talk through NATS JetStream
(YIBAO_TEST_NATS, default nats://127.0.0.1:4222). A Taiyuan child (example B: family mutual aid from a parent's
account) is settled at a Shenzhen hospital: on one node the platform does it all; across nodes node 44 prices the
lines and node 14 applies the accumulator, the account debit and the bank instruction. One HIS sends the visits one
after the other; only the 2207 is timed. Prints settlements/s, p50 and p99 of each, and the ratio two nodes : one.
    .venv/bin/python bench/federation.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("YIBAO_DATA_KEY", "y0lBnRjAtpdB1S2Y2hCFOjVSKazgdNGLKt1lGAPwRkE=")

from federation_served import Databases, ServedNode, nats_problem  # noqa: E402
from federation_world import federation_doc  # noqa: E402
from outpatient_world import CHILD, EXAMPLE_B, SZ_HOSP, His, person_in  # noqa: E402

from yibao.client import PlatformClient  # noqa: E402


def run(label: str, base: str, n: int) -> tuple[float, float, float]:  # float-ok: figures of the run
    doc = federation_doc()
    his = His(PlatformClient(base, SZ_HOSP, "conf-secret-sz", "440300", opter="op01"), None)  # type: ignore[arg-type]
    child = person_in(doc, CHILD)
    his.visit(child, EXAMPLE_B).settle()  # warm-up
    latencies = []
    for _ in range(n):
        visit = his.visit(child, EXAMPLE_B)
        t0 = time.perf_counter()
        visit.settle()
        latencies.append((time.perf_counter() - t0) * 1000)
    total = sum(latencies) / 1000
    latencies.sort()
    rate, p50, p99 = n / total, statistics.median(latencies), latencies[max(0, int(n * 0.99) - 1)]
    print(f"{label:>34}: 2207 x {n}: {rate:.0f} settlements/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    return rate, p50, p99


def main(n: int) -> None:
    problem = nats_problem()
    if problem:
        sys.exit(problem)
    databases = Databases()
    logs = Path(tempfile.mkdtemp())
    space = f"bench{uuid.uuid4().hex[:8]}"
    single = ServedNode("00", (), databases.new(federation_doc()), space, logs)
    single.env = {k: v for k, v in single.env.items() if k not in ("YIBAO_PROVINCES", "YIBAO_FEDERATION_PEERS")}
    sz = ServedNode("44", ("14",), databases.new(federation_doc()), space, logs)
    ty = ServedNode("14", ("44",), databases.new(federation_doc()), space, logs)
    try:
        single.start()
        one = run("one node (anchor)", single.base, n)
        single.stop()
        ty.start()
        sz.start()
        two = run("two nodes over NATS JetStream", sz.base, n)
        print(f"two nodes : one node = {two[0] / one[0]:.2f} in settlements/s, {two[2] / one[2]:.2f} in p99")
    finally:
        for node in (single, sz, ty):
            node.stop()
        databases.drop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
