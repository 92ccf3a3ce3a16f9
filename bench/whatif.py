"""Benchmark: `yibao whatif` over a month of N settlements of one region (SQLite), against a plain read of them.

    .venv/bin/python bench/whatif.py [--n 1000000] [--persons 200000] [--db var/bench-whatif.db] [--fresh]

Setup (timed on its own, not part of any figure): a SQLite database migrated by yibao.store.db.upgrade with
examples/demo.yaml loaded, then N settlements of Shenzhen (440300) in March 2026 inserted in bulk (sqlite3
executemany): --persons insured persons, 70 % employees, among the region's outpatient, chronic and pharmacy
policy rows, at its institutions, 80 % of them paying from an account. Each settlement's amounts are made by
rules/amounts.settle_amounts from the person's accumulator and balance as the generator keeps them, as live
settlement would; the accumulators at the month's end are written too. The database is kept (--db) and reused
when it holds N settlements (--fresh: made again).

Measured in this process, in this order, each run twice and the better taken:
  anchor   the same rows read by the replay's own query (whatif/source.settlements, the same columns, order
           and batches), every row fetched, nothing computed;
  replay   yibao.whatif.whatif unchanged (checked: not one settlement changes), and under a lowered
           deductible (checked: the fund pays more).
Printed: the seconds of each, settlements per second, and replay / anchor. Figures: docs/performance.md,
"What-if replay".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from yibao.dataset.loader import load_file
from yibao.money import ZERO, to_fen
from yibao.platform.work import working
from yibao.rules.amounts import settle_amounts
from yibao.rules.cost_sharing import PolicyTerms, Usage
from yibao.rules.splitting import Sums
from yibao.sqlkit import ExactDecimal, Money
from yibao.store.db import Store, upgrade
from yibao.store.models import Institution, Policy, Settlement
from yibao.whatif import load, source, whatif

ROOT = Path(__file__).resolve().parents[1]
REGION, MONTH = "440300", "2026-03"
START = datetime(2026, 3, 1)
LOWER = 'policies:\n  - {insutype: "310", med_type: "11", deductible: "0.00"}\n'
KIND = {"11": ("outpatient", "11"), "14": ("outpatient", "11"), "41": ("pharmacy", "41")}


def generate(url: str, path: Path, n: int, persons: int, seed: int) -> None:
    upgrade(url)
    store = Store(url)
    load_file(store, ROOT / "examples" / "demo.yaml")
    with working(store) as w:
        rows = [p for p in w.session.scalars(select(Policy).where(Policy.admdvs == REGION))
                if p.med_types[0] in ("11", "14", "41")]
        places = [(i.code, i.level) for i in w.session.scalars(select(Institution).where(
            Institution.admdvs == REGION, Institution.kind == "hospital"))]
        policies = [(p.id, p.insutype, p.med_types[0], tuple(p.hosp_lv or ()), p.bucket,
                     PolicyTerms(p.deductible, p.ratio, p.annual_cap, p.acct_scope)) for p in rows]
    store.dispose()
    rnd = random.Random(seed)
    people = [(f"44030099{i:012d}", "310" if rnd.random() < 0.7 else "390") for i in range(persons)]  # float-ok
    balance = {p: Decimal(rnd.randrange(0, 300000)) / 100 for p, t in people if t == "310"}
    usage: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    columns = [c for c in Settlement.__table__.columns]
    names = [c.name for c in columns]
    money = {c.name for c in columns if isinstance(c.type, Money)}
    exact = {c.name for c in columns if isinstance(c.type, ExactDecimal)}
    stmt = f"INSERT INTO settlements ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    db = sqlite3.connect(path)
    step = timedelta(seconds=31 * 86400 / n)  # float-ok: spacing of generated times
    batch: list[tuple[Any, ...]] = []
    for i in range(n):
        psn, insutype = people[rnd.randrange(persons)]
        code, level = places[rnd.randrange(len(places))]
        fitting = [p for p in policies if p[1] == insutype and (not p[3] or level in p[3])]
        pid, _, med_type, _, bucket, terms = fitting[rnd.randrange(len(fitting))]
        inscp = Decimal(rnd.randrange(500, 80000)) / 100
        fulamt = Decimal(rnd.randrange(0, 2000)) / 100
        sums = Sums(inscp + fulamt, fulamt, ZERO, ZERO, inscp)
        used, paid = usage.get((psn, bucket), (ZERO, ZERO))
        own = balance.get(psn)
        use = own is not None and rnd.random() < 0.8  # float-ok: the generator's dice
        a = settle_amounts(sums, terms, Usage(used, paid), use_accounts=use, own_balance=own, sources=[])
        s = a.shares
        usage[(psn, bucket)] = (used + s.act_pay_dedc, paid + s.hifp_pay)
        if own is not None:
            balance[psn] = own - a.payment.own
        kind, clr = KIND[med_type]
        row = {"setl_id": f"B{i:029d}", "mdtrt_id": f"M{i:029d}", "psn_no": psn, "fixmedins_code": code,
               "insutype": insutype, "med_type": med_type, "kind": kind, "clr_type": clr,
               "setl_time": START + step * i, "year": 2026, "bucket": bucket, "refd_setl_flag": "0",
               "status": "settled", "mid_setl_flag": "0", "suppl_flag": "0",
               "medfee_sumamt": sums.medfee_sumamt, "fulamt_ownpay_amt": fulamt, "overlmt_selfpay": ZERO,
               "preselfpay_amt": ZERO, "inscp_scp_amt": inscp, "act_pay_dedc": s.act_pay_dedc,
               "hifp_pay": s.hifp_pay, "pool_prop_selfpay": s.pool_prop_selfpay, "fund_pay_sumamt": s.fund_pay_sumamt,
               "psn_part_amt": s.psn_part_amt, "acct_pay": a.payment.total, "acct_mulaid_pay": ZERO,
               "psn_cash_pay": a.psn_cash_pay, "balc": balance.get(psn, ZERO), "catalog_admdvs": REGION,
               "policy_admdvs": REGION, "policy_id": pid, "insu_admdvs": REGION, "pay_loc": "2",
               "clr_optins": REGION, "clr_way": "01", "explanation": []}
        batch.append(tuple(_cell(name, row.get(name), money, exact) for name in names))
        if len(batch) >= 20000:
            db.executemany(stmt, batch)
            batch.clear()
    db.executemany(stmt, batch)
    db.executemany("INSERT INTO accumulators (psn_no, year, bucket, deductible_used, fund_paid) VALUES (?, ?, ?, ?, ?)",
                   [(p, 2026, b, to_fen(d), to_fen(f)) for (p, b), (d, f) in usage.items()])
    db.commit()
    db.execute("ANALYZE")
    db.close()


def _cell(name: str, value: Any, money: set[str], exact: set[str]) -> Any:
    if value is None:
        return 0 if name in money else None
    if name in money:
        return to_fen(value)
    if name in exact:
        return str(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S.%f}"
    if isinstance(value, list):
        return json.dumps(value)
    return value


def held(path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM settlements").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def anchor(store: Store) -> tuple[float, int]:
    with working(store) as w:
        t0 = time.perf_counter()
        rows = sum(1 for _ in source.settlements(w.session, REGION, source.Period(MONTH)))
        return time.perf_counter() - t0, rows


def replay(store: Store, changes: str) -> tuple[float, dict[str, Any]]:
    with working(store) as w:
        t0 = time.perf_counter()
        out = whatif(w.session, REGION, MONTH, load(changes))
        return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-whatif.db")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    url = f"sqlite:///{args.db}"
    if args.fresh or held(args.db) != args.n:
        args.db.parent.mkdir(parents=True, exist_ok=True)
        args.db.unlink(missing_ok=True)
        t0 = time.perf_counter()
        generate(url, args.db, args.n, args.persons, args.seed)
        print(f"setup: {args.n:,} settlements generated and inserted in {time.perf_counter() - t0:.1f} s", flush=True)
    else:
        print(f"setup: reusing {args.db} ({args.n:,} settlements)", flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores shared with other work)", flush=True)
    store = Store(url)
    a_s, rows = min(anchor(store) for _ in range(2))
    same_s, same = min((replay(store, "") for _ in range(2)), key=lambda x: x[0])
    low_s, low = min((replay(store, LOWER) for _ in range(2)), key=lambda x: x[0])
    store.dispose()
    total = same["total"]
    if total["settlements"] != rows or total["changed"] != 0:
        sys.exit(f"FAILED: unchanged replay of {rows:,} rows: {total['settlements']:,} replayed, "
                 f"{total['changed']:,} changed")
    if low["total"]["fund_pay"]["change"] <= 0:
        sys.exit("FAILED: a lowered deductible did not raise the fund pay")
    print(f"anchor  plain read of the same rows  {a_s:8.2f} s  {rows / a_s:12,.0f} rows/s")  # float-ok: figures
    for name, secs, out in (("replay unchanged", same_s, same), ("replay deductible 0", low_s, low)):
        t = out["total"]
        fund = t["fund_pay"]
        print(f"{name:22} {secs:8.2f} s  {rows / secs:12,.0f} settlements/s  ratio to anchor "  # float-ok: figures
              f"{secs / a_s:5.1f}  changed {t['changed']:,}  fund {fund['before']} -> {fund['after']}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # float-ok: a figure in MB
    print(f"peak RSS of this process: {peak:.0f} MB; load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
