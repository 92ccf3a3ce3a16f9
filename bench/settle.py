"""Benchmark: settlements over HTTP against PostgreSQL, with N concurrent clients, beside pgbench's TPC-B.

    .venv/bin/python bench/settle.py [--clients 4] [--visits 400] [--workers 2] [--seconds 10]

(a) settlements per second: 2207 on visits whose 10 fee lines were uploaded beforehand;
(b) whole visits per second: 2201, 2204 with 10 lines, 2207.
Each with p50 / p99 latency, and pgbench's built-in TPC-B throughput measured in the same run on the same
server, and the ratio. Needs PostgreSQL at YIBAO_BENCH_PG (default postgres@127.0.0.1:5432) and pgbench.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text

from yibao.client import PlatformClient, SignInCache
from yibao.dataset.loader import load_document
from yibao.rules.identity import id_card_problem
from yibao.store.db import Store, upgrade
from yibao.store.vault import new_key

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("YIBAO_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
DB, TPCB_DB = "yibao_bench", "yibao_bench_tpcb"
HOSPITAL, SECRET, AREA = "H44030000001", "bench-secret-1", "440300"
CATALOG = [(f"BENCH-{i:02d}", "01" if i % 3 else "02") for i in range(10)]


def dataset(persons: int) -> dict:
    return {
        "today": "2026-03-16",
        "regions": [{"admdvs": AREA, "name": "深圳市", "acct_bookkeeping": True,
                     "policies": [{"insutype": "310", "med_types": ["11"], "bucket": "outpatient",
                                   "deductible": "0.00", "ratio": "0.60", "annual_cap": "1000000.00",
                                   "acct_scope": "all"}],
                     "catalog": [{"code": code, "name": code, "chrgitm_lv": lv, "selfpay_prop": "0.10",
                                  "pric_uplmt_amt": None, "med_chrgitm_type": "09"} for code, lv in CATALOG]}],
        "institutions": [{"code": HOSPITAL, "name": "bench hospital", "admdvs": AREA, "kind": "hospital",
                          "level": "3", "xregion": "national", "secret": SECRET}],
        "persons": [{"psn_no": f"4403{n:016d}", "name": f"P{n}",
                     "certno": None,
                     "gend": "1", "brdy": f"{1950 + n // 1000:04d}-01-01", "insutype": "310", "admdvs": AREA,
                     "psn_type": "1101", "account": {"balance": "1000000.00", "admdvs": AREA}}
                    for n in range(persons)],
    }


def _fill_certnos(doc: dict) -> None:
    for n, person in enumerate(doc["persons"]):
        year = 1950 + n // 1000
        first = f"440301{year:04d}0101{n % 1000:03d}"
        person["certno"] = next(first + c for c in "0123456789X" if id_card_problem(first + c) is None)


def lines(mdtrt_id: str, psn_no: str, batch: str) -> list[dict]:
    return [{"feedetl_sn": f"{batch}-{i}", "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": batch,
             "rx_circ_flag": "0", "fee_ocur_time": "2026-03-16 09:30:00", "med_list_codg": code,
             "medins_list_codg": code, "det_item_fee_sumamt": "12.50", "cnt": "1", "pric": "12.50",
             "bilg_dept_codg": "D1", "bilg_dept_name": "内科", "bilg_dr_codg": "DR1", "bilg_dr_name": "医生",
             "hosp_appr_flag": "0"} for i, (code, _lv) in enumerate(CATALOG)]


def settle_input(psn_no: str, mdtrt_id: str, batch: str) -> dict:
    # 10 lines of 12.50: 甲 in scope in full, 乙 with 10 % pre-self-pay
    pre = sum(Decimal("1.25") for _c, lv in CATALOG if lv == "02")
    return {"data": {"psn_no": psn_no, "mdtrt_cert_type": "02", "med_type": "11", "medfee_sumamt": "125.00",
                     "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": batch, "acct_used_flag": "1",
                     "insutype": "310", "invono": "", "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00",
                     "preselfpay_amt": str(pre), "inscp_scp_amt": str(Decimal("125.00") - pre)}}


def register(c: PlatformClient, psn_no: str, tag: str) -> str:
    out = c.ok("2201", {"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-16 09:00:00",
                                 "mdtrt_cert_type": "02", "mdtrt_cert_no": "", "ipt_otp_no": tag,
                                 "atddr_no": "DR1", "dr_name": "医生", "dept_code": "D1", "dept_name": "内科",
                                 "caty": "A03"}})
    return out["data"]["mdtrt_id"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_clients(n: int, make, work_items: list, seconds: float) -> tuple[int, list[float], float]:
    """Each client takes items from the shared list until it is empty or the time is up."""
    latencies: list[float] = []
    lock = threading.Lock()
    items = list(work_items)
    deadline = time.perf_counter() + seconds

    def worker(k: int) -> None:
        client = make(k)
        while time.perf_counter() < deadline:
            with lock:
                if not items:
                    return
                item = items.pop()
            t0 = time.perf_counter()
            item(client)
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(dt)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), latencies, time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def tpcb(clients: int, seconds: int) -> float:
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TPCB_DB}"))
        conn.execute(text(f"CREATE DATABASE {TPCB_DB}"))
    admin.dispose()
    host = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["pgbench", *host, "-i", "-q", "-s", "10", TPCB_DB], check=True, capture_output=True)
    out = subprocess.run(["pgbench", *host, "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T",
                          str(seconds), TPCB_DB], check=True, capture_output=True, text=True).stdout
    match = re.search(r"tps = ([0-9.]+)", out)
    if not match:
        raise RuntimeError("pgbench printed no tps:\n" + out)
    return float(match.group(1))  # float-ok: a rate printed by pgbench, not money


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--visits", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10.0)  # float-ok: a duration
    args = ap.parse_args()

    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB}"))
        conn.execute(text(f"CREATE DATABASE {DB}"))
    admin.dispose()
    url = f"{SERVER}/{DB}"
    upgrade(url)
    doc = dataset(args.visits)
    _fill_certnos(doc)
    store = Store(url)
    load_document(store, doc)
    store.dispose()

    port = free_port()
    env = dict(os.environ, YIBAO_DATABASE_URL=url)
    env.setdefault("YIBAO_DATA_KEY", new_key())  # a throwaway key: the bench's replay rows are read by it alone
    exe = Path(sys.executable).parent / "yibao"
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
           "--no-access-log"]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"

        def make(k: int) -> PlatformClient:
            c = PlatformClient(base, HOSPITAL, SECRET, AREA, opter=f"bench{k}", sign_in_cache=SignInCache(),
                               timeout=30)
            c.sign_no()
            return c

        persons = [p["psn_no"] for p in doc["persons"]]
        # (a) prepare visits with their 10 lines, then time 2207 alone
        prepared: list = []
        prep = make(99)
        for i, psn in enumerate(persons):
            mdtrt_id = register(prep, psn, f"A{i}")
            prep.ok("2204", {"feedetail": lines(mdtrt_id, psn, f"A{i}")})
            prepared.append((psn, mdtrt_id, f"A{i}"))
        settle_items = [lambda c, v=v: c.ok("2207", settle_input(*v)) for v in prepared]
        done_a, lat_a, secs_a = run_clients(args.clients, make, settle_items, args.seconds)
        rate_a = done_a / secs_a

        def whole(c: PlatformClient, psn: str, tag: str) -> None:
            mdtrt_id = register(c, psn, tag)
            c.ok("2204", {"feedetail": lines(mdtrt_id, psn, tag)})
            c.ok("2207", settle_input(psn, mdtrt_id, tag))

        visit_items = [lambda c, p=p, i=i: whole(c, p, f"B{i}") for i, p in enumerate(persons)]
        done_b, lat_b, secs_b = run_clients(args.clients, make, visit_items, args.seconds)
        rate_b = done_b / secs_b
    finally:
        server.terminate()
        server.wait(10)
    tps = tpcb(args.clients, int(args.seconds))
    print(f"clients {args.clients}, server workers {args.workers}, PostgreSQL {SERVER.split('@')[-1]}")
    print(f"(a) settlements (2207, 10 lines uploaded before): {rate_a:.0f}/s over {done_a}, "
          f"p50 {statistics.median(lat_a):.1f} ms, p99 {pct(lat_a, 0.99):.1f} ms, {rate_a / tps:.2f} x TPC-B")
    print(f"(b) whole visits (2201 + 2204 x10 + 2207): {rate_b:.0f}/s over {done_b}, "
          f"p50 {statistics.median(lat_b):.1f} ms, p99 {pct(lat_b, 0.99):.1f} ms, {rate_b / tps:.2f} x TPC-B")
    print(f"pgbench TPC-B (scale 10, {args.clients} clients, {int(args.seconds)} s): {tps:.0f} tps")


if __name__ == "__main__":
    main()
