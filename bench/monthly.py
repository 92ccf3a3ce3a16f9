"""Benchmark: the monthly cycle (declaration, review, allocation, reports, 3260 extract) over N settlements.

    .venv/bin/python bench/monthly.py [--n 10000000] [--institutions 200] [--workers 1] [--jobs 2] [--keep]

Setup (timed on its own, not part of the cycle figure): the schema --schema dropped if it exists, created and
migrated by Alembic (as tests/conftest.py makes a worker's schema: `search_path` in the URL); regions,
institutions, persons and their accounts; then N settlements bulk-loaded with COPY from streaming generators
in --jobs processes (the settlements' and the journal's indexes dropped for the load and rebuilt from their
migration definitions), then VACUUM ANALYZE (--no-vacuum: ANALYZE only) and a CHECKPOINT.

The cycle, with the business dates passed explicitly: every institution declares month M on day 5 of M+1
(one transaction each), every declaration's review is finished on day 15 (no rejections), on day 22 each
treatment region's agency and each province's centre pay the plan, then the mutual-aid clearing and the
month's advance clearing per province; every aggregate table of yibao.reports.monthly.month_reports rendered
as JSON and XLSX (not the per-settlement level 3); the 3260 extract of every institution streamed and counted.
--workers N runs the per-institution work (declare, review, the reports per agency, the extract) in N
processes, as the server's workers would; the allocation runs in this process. Then the tie-out: declared
payable = SUM(fund_pay_sumamt + acct_pay) of the settlements = the generator's total, paid = approved, every
declaration allocated, mutual aid and extract rows = the generator's, the centre's ledger balanced.

Memory: the settlements never pass through one process as a whole (COPY from generators in child processes;
the extract streamed in chunks); the peak RSS of this process (and of each worker) is printed. The data are
deterministic (--seed). --load-only loads and keeps the schema; --reuse reruns the cycle on a kept load of
the same --n after clearing the cycle's tables. Figures: docs/performance.md, "Monthly cycle".
"""

from __future__ import annotations

import argparse
import bisect
import importlib.util
import json
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from yibao.platform import allocation, clearing, declaration, review
from yibao.platform.settlement import MONEY_FIELDS
from yibao.rules.monthly import month_end, month_start, shift
from yibao.store.db import Store, upgrade
from yibao.store.models import (
    AllocationItem,
    Declaration,
    DeclarationLine,
    DeclarationMutualAid,
    FundPosting,
    Institution,
    Region,
    Setting,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# The regions: the three treatment regions of province 44 hold the institutions; 440400 is insured-only;
# 140100 and 430100 are insured regions of other provinces (treated here cross-province).
TREATMENT = {"440300": "深圳市", "440100": "广州市", "440600": "佛山市"}
INSURED_ONLY = {"440400": "珠海市", "140100": "太原市", "430100": "长沙市"}
REGIONS = {**TREATMENT, **INSURED_ONLY}
PREPAYMENT_INITIAL = "50000000.00"
KINDS = (("outpatient", "11", "11", 0.80), ("pharmacy", "41", "41", 0.95), ("inpatient", "21", "21", 1.0))  # float-ok
CANCEL_SHARE = 0.02  # float-ok: a share of rows
MULAID_SHARE = 0.011  # float-ok: of settlements of insured in the institution's province
OWN_ACCOUNT_SHARE = 0.6  # float-ok: employees paying part with their own account
CYCLE_TABLES = ("declarations", "declaration_lines", "declaration_mutual_aid", "review_rejections",
                "review_deductions", "allocation_items", "fund_postings", "mutual_aid_clearing", "bank_outbox",
                "clearing_confirmations", "clearing_confirm_items")

SETTLEMENT_COLUMNS = (
    "setl_id", "mdtrt_id", "psn_no", "fixmedins_code", "insutype", "med_type", "kind", "clr_type", "setl_time",
    "year", "bucket", "refd_setl_flag", "init_setl_id", "status", "mid_setl_flag", "suppl_flag", "chrg_bchno",
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay",
    "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "hosp_part_amt", "balc",
    "catalog_admdvs", "policy_admdvs", "policy_id", "insu_admdvs", "acct_admdvs", "acct_mulaid_admdvs", "pay_loc",
    "clr_optins", "clr_way", "msgid", "invono", "dise_codg", "dise_name", "opter", "opter_name", "explanation")
JOURNAL_COLUMNS = ("psn_no", "entry_time", "kind", "amount", "balance_after", "setl_id", "beneficiary_psn_no",
                   "authorization_id", "memo")
PERSON_COLUMNS = ("psn_no", "name", "certno", "psn_cert_type", "gend", "naty", "brdy", "insutype", "admdvs",
                  "psn_type", "arrears", "suspended")
ACCOUNT_COLUMNS = ("psn_no", "admdvs", "balance", "loaded_balance", "status", "from_suspended_employment")
COL = {name: k for k, name in enumerate(SETTLEMENT_COLUMNS)}
NEGATED = tuple(COL[name] for name in MONEY_FIELDS)


def rss_mb() -> float:  # float-ok: a memory figure
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # float-ok


def schema_url(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect(url: str, schema: str, **kw: Any) -> psycopg.Connection:
    return psycopg.connect(conninfo(url), options=f"-csearch_path={schema}", **kw)


def psn_no(admdvs: str, k: int) -> str:
    return f"{admdvs}{k:014d}"


def is_employee(k: int) -> bool:
    return k % 5 < 3  # persons k%5 in 0..2 are employees (310, with an account), 3..4 residents (390)


# -- the data ----------------------------------------------------------------------------------------------


def institutions(count: int) -> list[tuple[str, str]]:
    """(code, admdvs): spread over the treatment regions, bigger ones first."""
    regions = list(TREATMENT)
    return [(f"H{regions[k % 3]}{k:05d}", regions[k % 3]) for k in range(count)]


def plan(args: argparse.Namespace) -> dict[str, Any]:
    """What the loader processes need to generate their slices the same way."""
    insts = institutions(args.institutions)
    weights = [1 / (k + 1) ** 0.7 for k in range(len(insts))]  # float-ok: Zipf-like sizes of institutions
    cum, acc = [], 0.0  # float-ok
    for w in weights:
        acc += w
        cum.append(acc)
    start = month_start(args.month)
    span_us = int((month_end(args.month) - start).total_seconds()) * 1_000_000
    return {"n": args.n, "seed": args.seed, "institutions": insts, "cum_weights": cum, "month_start": start,
            "span_us": span_us, "persons": persons_per_region(args.n)}


def persons_per_region(n: int) -> int:
    return max(1000, min(50_000, n // 100)) // 5 * 5


def generate(p: dict[str, Any], start: int, stop: int, settle_row: Any, journal_row: Any) -> dict[str, int]:
    """Slots start..stop-1 of the month, in time order: each a settlement, or with its next slot a settlement
    and the negative record of its cancellation. Rows go to the two callbacks; the totals come back."""
    rng = random.Random(f"{p['seed']}:{start}")
    rand, randrange = rng.random, rng.randrange
    insts, cum = p["institutions"], p["cum_weights"]
    total_weight = cum[-1]
    n, span, base, persons = p["n"], p["span_us"], p["month_start"], p["persons"]
    employees = persons // 5
    year = base.year
    in_province = {adm: [r for r in REGIONS if r[:2] == adm[:2] and r != adm] for adm in TREATMENT}
    other_province = [r for r in REGIONS if r[:2] != "44"]
    aid_regions = {adm: [r for r in REGIONS if r[:2] == adm[:2] and r != adm] for adm in REGIONS}
    t = {"rows": 0, "payable": 0, "medfee": 0, "mulaid": 0, "cancelled": 0, "journal": 0, "extract": 0}
    i = start
    while i < stop:
        code, adm = insts[bisect.bisect_left(cum, rand() * total_weight)]
        r = rand()
        if r < 0.70:  # float-ok
            insu, pay_loc = adm, "2"
        elif r < 0.95:  # float-ok
            pool = in_province[adm]
            insu, pay_loc = pool[randrange(len(pool))], "3"
        else:
            insu, pay_loc = other_province[randrange(len(other_province))], "4"
        k = randrange(persons)
        psn = psn_no(insu, k)
        employee = is_employee(k)
        r = rand()
        kind, clr_type, med_type = next((kd, ct, mt) for kd, ct, mt, up in KINDS if r < up)
        if kind == "inpatient":
            medfee = randrange(300_000, 3_000_000)
        elif kind == "pharmacy":
            medfee = randrange(1_000, 30_000)
        else:
            medfee = randrange(2_000, 60_000)
        fulamt = medfee * 2 // 100
        presel = medfee * 5 // 100
        inscp = medfee - fulamt - presel
        dedc = min(inscp, 80_000) if kind == "inpatient" else 0
        ratio = 70 if employee else 55
        hifp = (inscp - dedc) * ratio // 100
        psn_part = medfee - hifp
        own = psn_part * randrange(20, 101) // 100 if employee and rand() < OWN_ACCOUNT_SHARE else 0
        mulaid, aid_psn, aid_adm, auth = 0, None, None, None
        if insu[:2] == adm[:2] and psn_part > own and rand() < MULAID_SHARE:
            pool = aid_regions[insu]
            aid_adm = pool[randrange(len(pool))]
            aid_psn = psn_no(aid_adm, 5 * randrange(employees))
            mulaid = max(1, (psn_part - own) * randrange(30, 101) // 100)
            auth = 1 + randrange(1_000_000)
        acct = own + mulaid
        when = base + timedelta(microseconds=span * i // n)
        stamp = when.strftime("%Y%m%d%H%M%S")
        setl_id = f"{adm}{stamp}{i:010d}"
        row = [setl_id, setl_id, psn, code, "310" if employee else "390", med_type, kind, clr_type, when, year,
               "inpatient" if kind == "inpatient" else "outpatient", "0", None, "settled", "0", "0", f"B{i}",
               medfee, fulamt, 0, presel, inscp, dedc, hifp, "0.30" if employee else "0.45", 0, 0, 0, 0, 0, 0,
               hifp, psn_part, acct, mulaid, psn_part - acct, 0, randrange(0, 800_000), adm, insu, None, insu,
               insu if own else None, aid_adm, pay_loc, insu, "01", f"{code}{stamp}{i % 10_000:04d}", None,
               "J18.900" if kind == "inpatient" else None, "肺炎" if kind == "inpatient" else None, "op01", "操作员",
               '["按参保地政策结算"]']
        entries = []
        if own:
            entries.append((psn, when, "settlement", -own, randrange(0, 800_000), setl_id, None, None, None))
        if mulaid:
            entries.append((aid_psn, when, "mutual_aid", -mulaid, randrange(0, 800_000), setl_id, psn, auth, None))
        cancel = i + 1 < stop and rand() < CANCEL_SHARE
        counted = insu != adm and insu[:2] == adm[:2]
        if cancel:
            row[COL["status"]] = "cancelled"
        settle_row(row)
        for e in entries:
            journal_row(e)
        t["rows"] += 1
        t["journal"] += len(entries)
        t["extract"] += counted
        if cancel:
            later = base + timedelta(microseconds=span * (i + 1) // n)
            rev = list(row)
            rev_id = f"{adm}{later.strftime('%Y%m%d%H%M%S')}{i + 1:010d}"
            for c in NEGATED:
                rev[c] = -rev[c]
            rev[COL["setl_id"]], rev[COL["setl_time"]], rev[COL["refd_setl_flag"]] = rev_id, later, "1"
            rev[COL["init_setl_id"]], rev[COL["status"]], rev[COL["balc"]] = setl_id, "reversal", randrange(800_000)
            rev[COL["msgid"]] = f"{code}{later.strftime('%Y%m%d%H%M%S')}{(i + 1) % 10_000:04d}"
            rev[COL["explanation"]] = json.dumps([f"cancellation of {setl_id}"])
            settle_row(rev)
            for e in entries:
                journal_row((e[0], later, "refund", -e[3], e[4], rev_id, e[6], e[7], None))
            t["rows"] += 1
            t["journal"] += len(entries)
            t["extract"] += counted
            t["cancelled"] += 1
            i += 2
        else:
            t["payable"] += hifp + acct
            t["medfee"] += medfee
            t["mulaid"] += mulaid
            i += 1
    return t


def load_part(url: str, schema: str, p: dict[str, Any], start: int, stop: int) -> dict[str, int]:
    """One loader process: COPY settlements and journal entries of slots start..stop-1 on two connections."""
    cols, jcols = ", ".join(SETTLEMENT_COLUMNS), ", ".join(JOURNAL_COLUMNS)
    with connect(url, schema) as c1, connect(url, schema) as c2:
        c1.execute("SET synchronous_commit TO OFF")
        c2.execute("SET synchronous_commit TO OFF")
        with c1.cursor().copy(f"COPY settlements ({cols}) FROM STDIN") as cs, \
                c2.cursor().copy(f"COPY account_journal ({jcols}) FROM STDIN") as cj:
            return generate(p, start, stop, cs.write_row, cj.write_row)


def _load_part_star(a: tuple) -> dict[str, int]:
    return load_part(*a)


# -- setup -------------------------------------------------------------------------------------------------


LOADED = (("settlements", SETTLEMENT_COLUMNS), ("account_journal", JOURNAL_COLUMNS), ("persons", PERSON_COLUMNS),
          ("accounts", ACCOUNT_COLUMNS))


def check_columns(url: str, schema: str, tables: tuple[tuple[str, tuple[str, ...]], ...] = LOADED,
                  bench: str = "bench/monthly.py") -> None:
    """The generator fills every NOT NULL column without a default of the migrated tables it loads."""
    with connect(url, schema) as c:
        for table, mine in tables:
            rows = c.execute("SELECT column_name, is_nullable, column_default FROM information_schema.columns "
                             "WHERE table_schema = %s AND table_name = %s", (schema, table)).fetchall()
            have = {r[0] for r in rows}
            missing = [r[0] for r in rows if r[1] == "NO" and r[2] is None and r[0] not in mine]
            unknown = [m for m in mine if m not in have]
            if missing or unknown:
                raise SystemExit(f"{table}: the generator misses NOT NULL columns {missing}, "
                                 f"or fills unknown ones {unknown}: update {bench}")


def drop_indexes(c: psycopg.Connection, schema: str, table: str) -> list[str]:
    """Drop the table's indexes, primary key and unique constraints; the statements that make them again."""
    again = []
    for name, definition in c.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE "
                                      "conrelid = %s::regclass AND contype IN ('p', 'u')",
                                      (f'"{schema}".{table}',)).fetchall():
        c.execute(f'ALTER TABLE "{schema}".{table} DROP CONSTRAINT {name}')
        again.append(f'ALTER TABLE "{schema}".{table} ADD CONSTRAINT {name} {definition}')
    for name, definition in c.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s "
                                      "AND tablename = %s", (schema, table)).fetchall():
        c.execute(f'DROP INDEX "{schema}".{name}')
        again.append(definition)
    return again


def build_indexes(url: str, schema: str, statements: list[str], threads: int) -> None:
    todo = list(statements)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with connect(url, schema, autocommit=True) as c:
                c.execute("SET maintenance_work_mem TO '1GB'")
                c.execute("SET max_parallel_maintenance_workers TO 0")
                while True:
                    with lock:
                        if not todo:
                            return
                        sql = todo.pop(0)
                    c.execute(sql)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]


def load_people(url: str, schema: str, per_region: int) -> int:
    with connect(url, schema) as c:
        cur = c.cursor()
        with cur.copy(f"COPY persons ({', '.join(PERSON_COLUMNS)}) FROM STDIN") as cp:
            for admdvs in REGIONS:
                for k in range(per_region):
                    cp.write_row((psn_no(admdvs, k), f"参保人{k}", f"{admdvs}{1950 + k % 50}0101{k:08d}", "01",
                                  "1" if k % 2 else "2", "01", date(1950 + k % 50, 1 + k % 12, 1 + k % 28),
                                  "310" if is_employee(k) else "390", admdvs, "11" if is_employee(k) else "14",
                                  False, False))
        with cur.copy(f"COPY accounts ({', '.join(ACCOUNT_COLUMNS)}) FROM STDIN") as cp:
            for admdvs in REGIONS:
                for k in range(per_region):
                    if is_employee(k):
                        cp.write_row((psn_no(admdvs, k), admdvs, 100_000_000, 100_000_000, "open", False))
    return per_region * len(REGIONS)


def setup(args: argparse.Namespace, url: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{args.schema}"'))
    admin.dispose()
    upgrade(url)
    check_columns(args.url, args.schema)
    print(f"schema {args.schema} migrated: {time.perf_counter() - t0:.1f} s", flush=True)

    store = Store(url)
    p = plan(args)
    with store.unit_of_work() as s:
        for admdvs, name in REGIONS.items():
            s.add(Region(admdvs=admdvs, name=name, acct_bookkeeping=True, inprov_outpatient_filing_required=False,
                         mutual_aid_enabled=True, relation_limits={}, local_only_diseases=[],
                         settings={"prepayment_initial": PREPAYMENT_INITIAL}))
        for code, admdvs in p["institutions"]:
            s.add(Institution(code=code, name=f"{REGIONS[admdvs]}定点医院{code[-5:]}", admdvs=admdvs,
                              kind="hospital", level="3", xregion="national", internet=False, secret="bench"))
    t1 = time.perf_counter()
    people = load_people(args.url, args.schema, p["persons"])
    print(f"{len(REGIONS)} regions, {args.institutions} institutions, {people} persons "
          f"({people * 3 // 5} accounts): {time.perf_counter() - t1:.1f} s", flush=True)

    t2 = time.perf_counter()
    with connect(args.url, args.schema, autocommit=True) as c:
        rebuild = drop_indexes(c, args.schema, "settlements") + drop_indexes(c, args.schema, "account_journal")
    bounds = [args.n * k // args.jobs for k in range(args.jobs + 1)]
    parts = [(args.url, args.schema, p, a, b) for a, b in zip(bounds, bounds[1:], strict=False)]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        results = pool.map(_load_part_star, parts)
    totals = {key: sum(r[key] for r in results) for key in results[0]}
    t3 = time.perf_counter()
    print(f"COPY {totals['rows']:,} settlements + {totals['journal']:,} journal entries in {args.jobs} processes: "
          f"{t3 - t2:.1f} s ({totals['rows'] / (t3 - t2):,.0f} rows/s)", flush=True)
    build_indexes(args.url, args.schema, rebuild, threads=2)
    t4 = time.perf_counter()
    print(f"{len(rebuild)} indexes rebuilt: {t4 - t3:.1f} s", flush=True)
    with connect(args.url, args.schema, autocommit=True) as c:
        c.execute("SET maintenance_work_mem TO '1GB'")
        for table in ("settlements", "account_journal", "persons", "accounts"):
            c.execute(f"ANALYZE {table}" if args.no_vacuum else f"VACUUM (ANALYZE) {table}")
        c.execute("CHECKPOINT")
    t5 = time.perf_counter()
    print(f"{'ANALYZE (no VACUUM: visibility map unset)' if args.no_vacuum else 'VACUUM ANALYZE'} + CHECKPOINT: "
          f"{t5 - t4:.1f} s", flush=True)
    with store.unit_of_work() as s:
        s.merge(Setting(key="bench_monthly", value=json.dumps({"n": args.n, "month": args.month, **totals})))
    store.dispose()
    print(f"setup total: {time.perf_counter() - t0:.1f} s (load {t5 - t2:.1f} s: COPY {t3 - t2:.1f}, "
          f"indexes {t4 - t3:.1f}, vacuum {t5 - t4:.1f})", flush=True)
    return totals


def prepare_reuse(args: argparse.Namespace, url: str) -> dict[str, Any]:
    store = Store(url)
    with store.unit_of_work() as s:
        stored = s.scalar(select(Setting.value).where(Setting.key == "bench_monthly"))
        if stored is None or json.loads(stored)["n"] != args.n or json.loads(stored)["month"] != args.month:
            raise SystemExit(f"schema {args.schema} holds no load of --n {args.n} --month {args.month}")
        s.execute(text(f"TRUNCATE {', '.join(CYCLE_TABLES)}"))
    store.dispose()
    print(f"reusing the load in schema {args.schema}; cycle tables cleared", flush=True)
    return json.loads(stored)


# -- the cycle ---------------------------------------------------------------------------------------------


def initial_prepayment(store: Store, provinces: list[str], ym: str) -> None:
    """The regions' advances held by the centre before month ym (untimed: part of the state of the world)."""
    now = datetime.combine(month_start(ym).date(), datetime.min.time())
    with store.unit_of_work() as s:
        for province in provinces:
            allocation.settle_advances(s, province, shift(ym, -1), now)


def reports_fallback(store: Store, ym: str, provinces: list[str], folder: Path) -> int:
    """The aggregate monthly tables through yibao.reports.render (JSON + XLSX), from the set-based SQL they
    need: declarations (level 1), their lines (level 2), the review payment table, the allocation plan, the
    centre's account. Rows written."""
    from yibao.reports.render import Column, Report, write_all

    def money(key: str, title: str) -> Column:
        return Column(key, title, "money")

    D, L, A = Declaration, DeclarationLine, AllocationItem
    written = 0
    with store.unit_of_work() as s:
        l1 = [dict(r._mapping) for r in s.execute(
            select(D.fixmedins_code, Institution.name, D.admdvs, D.setl_cnt, D.medfee_sumamt, D.fund_pay_sumamt,
                   D.acct_pay, D.acct_mulaid_pay, D.psn_cash_pay, D.payable)
            .join(Institution, Institution.code == D.fixmedins_code).where(D.setl_ym == ym)
            .order_by(D.admdvs, D.fixmedins_code))]
        l2 = [dict(r._mapping) for r in s.execute(
            select(L.decl_id, L.insu_admdvs, L.insutype, L.clr_type, L.setl_cnt, L.refd_cnt, L.medfee_sumamt,
                   L.hifp_pay, L.fund_pay_sumamt, L.acct_pay, L.acct_mulaid_pay, L.psn_cash_pay, L.payable)
            .join(D, D.decl_id == L.decl_id).where(D.setl_ym == ym)
            .order_by(L.decl_id, L.insu_admdvs, L.insutype, L.clr_type))]
        paid = [dict(r._mapping) for r in s.execute(
            select(D.fixmedins_code, D.admdvs, D.payable, D.rejected, D.deducted, D.redeclared, D.approved)
            .where(D.setl_ym == ym).order_by(D.admdvs, D.fixmedins_code))]
        plan_rows = [dict(r._mapping) for r in s.execute(
            select(A.fixmedins_code, A.payer, A.charged_admdvs, A.insu_admdvs, A.insutype, A.part,
                   func.sum(A.amount).label("amount"))
            .where(A.setl_ym == ym)
            .group_by(A.fixmedins_code, A.payer, A.charged_admdvs, A.insu_admdvs, A.insutype, A.part)
            .order_by(A.fixmedins_code, A.payer, A.charged_admdvs, A.insu_admdvs, A.insutype, A.part))]
        centre = []
        for province in provinces:
            view = allocation.centre_view(s, province)
            centre.append({"account": f"{province} bank", "amount": view["bank"]})
            centre += [{"account": f"{province} advance:{a}", "amount": v} for a, v in view["advances"].items()]
    meta = [("结算年月", ym), ("单位", "元")]
    amounts = [money("medfee_sumamt", "医疗费总额"), money("fund_pay_sumamt", "基金支付"),
               money("acct_pay", "个人账户支付"), money("acct_mulaid_pay", "共济支付"),
               money("psn_cash_pay", "现金支付")]
    reports = [
        Report("decl_level1", "申报一级表", [Column("fixmedins_code", "机构编码"), Column("name", "机构名称"),
                                           Column("admdvs", "就医地"), Column("setl_cnt", "结算人次", "count"),
                                           *amounts, money("payable", "应付")], l1, meta),
        Report("decl_level2", "申报二级表", [Column("decl_id", "申报号"), Column("insu_admdvs", "参保地"),
                                           Column("insutype", "险种"), Column("clr_type", "清算类别"),
                                           Column("setl_cnt", "结算人次", "count"), Column("refd_cnt", "退费", "count"),
                                           money("hifp_pay", "统筹支付"), *amounts, money("payable", "应付")],
               l2, meta),
        Report("review_payment", "审核支付表", [Column("fixmedins_code", "机构编码"), Column("admdvs", "就医地"),
                                             money("payable", "申报"), money("rejected", "拒付"),
                                             money("deducted", "扣款"), money("redeclared", "再申报"),
                                             money("approved", "审核通过")], paid, meta),
        Report("allocation_plan", "拨付计划", [Column("fixmedins_code", "机构编码"), Column("payer", "拨付方"),
                                           Column("charged_admdvs", "列支地"), Column("insu_admdvs", "参保地"),
                                           Column("insutype", "险种"), Column("part", "部分"),
                                           money("amount", "金额")], plan_rows, meta),
        Report("centre_account", "省级中心异地账户", [Column("account", "科目"), money("amount", "余额")], centre,
               meta),
    ]
    for report in reports:
        write_all(report, folder, ("json", "xlsx"))
        written += len(report.rows)  # type: ignore[arg-type]
    return written


# Work of one institution, one declaration or one agency: run in this process, or in --workers processes as
# the platform's server workers would (each with its own Store). Each returns its result and its peak RSS.
_STORE: Store | None = None


def _worker_init(url: str) -> None:
    global _STORE
    _STORE = Store(url)


def _declare_one(a: tuple[str, str, date, datetime]) -> tuple[tuple[str, str], float]:  # float-ok: MiB
    code, ym, today, now = a
    assert _STORE is not None
    with _STORE.unit_of_work() as s:
        d = declaration.declare(s, s.get(Institution, code), ym, today, now)
        return (d.decl_id, d.admdvs), rss_mb()


def _review_one(a: tuple[str, str, date, datetime]) -> tuple[str, float]:  # float-ok: MiB
    decl_id, agency, today, now = a
    assert _STORE is not None
    with _STORE.unit_of_work() as s:
        review.finish(s, agency, decl_id, today, now)
    return decl_id, rss_mb()


def _extract_one(a: tuple[str, str]) -> tuple[int, float]:  # float-ok: MiB
    """The 3260 extract of one institution, streamed and counted (never held)."""
    code, ym = a
    assert _STORE is not None
    count = 0
    with _STORE.unit_of_work() as s:
        for _row in clearing.extract_all(s, s.get(Institution, code), ym):
            count += 1
    return count, rss_mb()


def _reports_one(a: tuple[str, str, str]) -> tuple[tuple[int, int, int], float]:  # float-ok: MiB
    """Every aggregate table of one treatment region's month from yibao.reports.monthly.month_reports (levels
    1-2, review notes and payment tables, plan, the province's voucher, breakdown and clearing tables; not the
    per-settlement level 3), rendered as JSON and XLSX into a scratch folder: (tables, rows, bytes)."""
    from yibao.reports import monthly as rm
    from yibao.reports.render import write_all

    agency, ym, parent = a
    assert _STORE is not None
    folder = Path(tempfile.mkdtemp(prefix=f"{agency}_", dir=parent))
    reports = rows = size = 0
    with _STORE.unit_of_work() as s:
        for report in rm.month_reports(s, ym, agency):
            for path in write_all(report, folder, ("json", "xlsx")):
                size += path.stat().st_size
                path.unlink()
            reports += 1
            rows += sum(1 for _ in report.iter_rows())
    return (reports, rows, size), rss_mb()


class Runner:
    """Maps the work over the items in this process (--workers 1) or in a pool of processes started, and
    warmed up, before the cycle's clock starts."""

    def __init__(self, url: str, workers: int):
        self.workers, self.peak = workers, 0.0  # float-ok: MiB
        if workers == 1:
            _worker_init(url)
            self.pool = None
        else:
            self.pool = multiprocessing.get_context("spawn").Pool(workers, _worker_init, (url,))
            self.pool.map(rss_mb_of, range(workers * 2))

    def map(self, fn: Any, items: list[Any]) -> list[Any]:
        out = [fn(i) for i in items] if self.pool is None else self.pool.map(fn, items, chunksize=1)
        self.peak = max([self.peak, *(r for _v, r in out)])
        return [v for v, _r in out]

    def close(self) -> None:
        global _STORE
        if self.pool is not None:
            self.pool.close()
            self.pool.join()
        elif _STORE is not None:
            _STORE.dispose()
            _STORE = None


def rss_mb_of(_: Any) -> tuple[None, float]:  # float-ok: MiB
    return None, rss_mb()


def run_cycle(args: argparse.Namespace, url: str) -> dict[str, Any]:
    store = Store(url)
    ym = args.month
    nxt = month_start(shift(ym, 1)).date()
    day = {k: nxt.replace(day=d) for k, d in (("declare", 5), ("review", 15), ("allocate", 22))}
    at = {k: datetime.combine(v, datetime.min.time()).replace(hour=10) for k, v in day.items()}
    with store.unit_of_work() as s:
        insts = [(i.code, i.admdvs) for i in s.scalars(select(Institution))]
    insts.sort(key=lambda ca: ca[0][-5:])  # the biggest institutions first: the pool ends evenly
    regions = sorted({a for _c, a in insts})
    provinces = sorted({allocation.province_of(a) for a in regions})
    initial_prepayment(store, provinces, ym)
    runner = Runner(url, args.workers)

    steps: list[tuple[str, float, int]] = []  # float-ok: seconds
    print(f"cycle starts ({args.workers} worker process{'es' if args.workers > 1 else ''}); load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    total0 = time.perf_counter()

    t = time.perf_counter()
    decl_ids = runner.map(_declare_one, [(code, ym, day["declare"], at["declare"]) for code, _a in insts])
    steps.append(("declare", time.perf_counter() - t, len(decl_ids)))

    t = time.perf_counter()
    runner.map(_review_one, [(decl_id, agency, day["review"], at["review"]) for decl_id, agency in decl_ids])
    steps.append(("review", time.perf_counter() - t, len(decl_ids)))

    t = time.perf_counter()
    paid = 0
    for admdvs in regions:
        with store.unit_of_work() as s:
            paid += len(allocation.allocate(s, "agency", admdvs, ym, day["allocate"], at["allocate"])["paid"])
    for province in provinces:
        with store.unit_of_work() as s:
            paid += len(allocation.allocate(s, "centre", province, ym, day["allocate"], at["allocate"])["paid"])
        with store.unit_of_work() as s:
            allocation.clear_mutual_aid(s, province, ym, at["allocate"])
        with store.unit_of_work() as s:
            allocation.settle_advances(s, province, ym, at["allocate"])
    steps.append(("allocate", time.perf_counter() - t, paid))

    t = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="bench_monthly_"))
    try:
        if importlib.util.find_spec("yibao.reports.monthly") is not None and not args.sql_reports:
            parts = runner.map(_reports_one, [(agency, ym, str(folder)) for agency in regions])
            count, written, size = (sum(p[k] for p in parts) for k in range(3))
            label = "reports (month_reports, JSON+XLSX)"
        else:
            written = reports_fallback(store, ym, provinces, folder)
            count, size = 5, sum(f.stat().st_size for f in folder.iterdir())
            label = "reports (set-based SQL, JSON+XLSX)"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    steps.append((label, time.perf_counter() - t, written))

    t = time.perf_counter()
    extracted = sum(runner.map(_extract_one, [(code, ym) for code, _a in insts]))
    steps.append(("3260 extract", time.perf_counter() - t, extracted))
    total = time.perf_counter() - total0
    print(f"cycle ends; load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"  reports: {count} tables, {written} rows, {size / 1024:.0f} KiB of JSON + XLSX", flush=True)
    runner.close()
    store.dispose()
    return {"steps": steps, "total": total, "extracted": extracted, "provinces": provinces,
            "worker_rss": runner.peak if args.workers > 1 else None}


def tie_out(url: str, expected: dict[str, Any], cycle: dict[str, Any]) -> None:
    store = Store(url)
    problems = []
    D, A = Declaration, AllocationItem
    with store.unit_of_work() as s:
        declared = s.scalar(select(func.coalesce(func.sum(D.payable), 0)))
        cnt = s.scalar(select(func.coalesce(func.sum(D.setl_cnt), 0)))
        approved = s.scalar(select(func.coalesce(func.sum(D.approved), 0)))
        not_allocated = s.scalar(select(func.count()).where(D.status != "allocated"))
        paid = s.scalar(select(func.coalesce(func.sum(A.amount), 0)).where(A.status == "paid"))
        planned = s.scalar(select(func.count()).select_from(A).where(A.status != "paid"))
        mulaid = s.scalar(select(func.coalesce(func.sum(DeclarationMutualAid.amount), 0)))
        sql_payable = s.execute(text("SELECT COALESCE(SUM(fund_pay_sumamt + acct_pay), 0), count(*) "
                                     "FROM settlements")).one()
        views = [allocation.centre_view(s, p) for p in cycle["provinces"]]
        postings = s.scalar(select(func.coalesce(func.sum(FundPosting.amount), 0)))
    store.dispose()
    def fen(v: Any) -> int:  # a SUM over a Money column comes back in yuan (Decimal), a raw SQL one in fen
        return int(v) if isinstance(v, int) else int(Decimal(v) * 100)

    checks = [
        ("declared payable = SUM(fund_pay_sumamt + acct_pay) of the settlements",
         fen(declared), int(sql_payable[0])),
        ("... = the generator's total", int(sql_payable[0]), expected["payable"]),
        ("declared settlements = rows loaded", int(cnt), int(sql_payable[1])),
        ("... = the generator's rows", int(sql_payable[1]), expected["rows"]),
        ("approved = declared (no rejections)", fen(approved), fen(declared)),
        ("allocation paid = approved", fen(paid), fen(approved)),
        ("items still planned", int(planned), 0),
        ("declarations not marked allocated", int(not_allocated), 0),
        ("declared mutual aid = generator's", fen(mulaid), expected["mulaid"]),
        ("3260 extract rows = generator's cross-region rows", cycle["extracted"], expected["extract"]),
        ("centre postings sum to zero", fen(postings), 0),
    ]
    for what, got, want in checks:
        if got != want:
            problems.append(f"{what}: {got} != {want}")
    for view in views:
        if not view["balanced"]:
            problems.append(f"centre {view['province']} not balanced: {view}")
    if problems:
        print("TIE-OUT FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"tie-out ok: declared {Decimal(fen(declared)) / 100:,.2f} yuan over {int(cnt):,} settlements "
          f"= paid {Decimal(fen(paid)) / 100:,.2f}; mutual aid {Decimal(fen(mulaid)) / 100:,.2f}; "
          f"extract {cycle['extracted']:,} rows; centre balanced")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="settlements (rows, reversals included)")
    ap.add_argument("--institutions", type=int, default=200)
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--schema", default="bench_monthly", help="dropped and made afresh unless --reuse")
    ap.add_argument("--month", default="2026-03")
    ap.add_argument("--jobs", type=int, default=2, help="parallel COPY processes")
    ap.add_argument("--workers", type=int, default=1, help="processes for the per-institution work of the cycle "
                                                            "(declare, review, reports per agency, extract)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    ap.add_argument("--reuse", action="store_true", help="reuse a kept schema's load: rerun the cycle only")
    ap.add_argument("--no-vacuum", action="store_true", help="ANALYZE only after the load: the cycle meets pages "
                                                             "autovacuum has not visited yet (index-only scans "
                                                             "fetch from the heap)")
    ap.add_argument("--load-only", action="store_true", help="set up and load, keep the schema, run no cycle")
    ap.add_argument("--sql-reports", action="store_true", help="time the set-based report SQL even if "
                                                               "yibao.reports.monthly exists")
    args = ap.parse_args()
    url = schema_url(args.url, args.schema)
    print(f"monthly cycle bench: N={args.n:,}, {args.institutions} institutions, month {args.month}, "
          f"schema {args.schema} at {make_url(args.url).render_as_string(hide_password=True)}", flush=True)
    expected = prepare_reuse(args, url) if args.reuse else setup(args, url)
    rss_setup = rss_mb()
    if args.load_only:
        print(f"loaded; schema {args.schema} kept for --reuse")
        return
    cycle = run_cycle(args, url)
    n = expected["rows"]
    print(f"\ncycle over {n:,} settlements ({expected['cancelled']:,} cancelled pairs, "
          f"{expected['journal']:,} journal entries):")
    print(f"  {'step':36} {'seconds':>8} {'items':>11} {'settlements/s':>14}")
    for name, secs, items in cycle["steps"]:
        print(f"  {name:36} {secs:8.2f} {items:11,} {n / secs:14,.0f}")
    print(f"  {'total':36} {cycle['total']:8.2f} {'':11} {n / cycle['total']:14,.0f}")
    verdict = "met" if cycle["total"] < 60 else "NOT met"
    print(f"target (10M settlements through the cycle < 60 s): {verdict} at this N")
    print(f"peak RSS of this process: {rss_mb():.0f} MiB (after setup {rss_setup:.0f} MiB)"
          + (f"; of each worker process: {cycle['worker_rss']:.0f} MiB" if cycle["worker_rss"] else ""))
    tie_out(url, expected, cycle)
    if not args.keep:
        admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{args.schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
