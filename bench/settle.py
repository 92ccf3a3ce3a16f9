"""Benchmark: settlements over HTTP on a grown PostgreSQL database, in rounds interleaved with two anchors.

    .venv/bin/python bench/settle.py [--reuse] [--keep] [--with-fresh | --fresh] [--clients 4] [--workers 2]
                                     [--rounds 3] [--seconds 10] [--min-samples 500] [--n 1000000]

The database (setup, timed on its own, not part of any figure): migrated by yibao.store.db.upgrade; the world
loaded by the dataset loader (6 regions with policies and a catalog, 200 institutions) and COPY (persons, 60 %
of them employees with an account and its opening journal entry); then, unless --fresh, a history of --n
settlements of one month made by bench/monthly.py's generator (institutions sized Zipf-like, 30 % insured
elsewhere, 2 % cancelled, mutual aid, account payments) and, for each, what the platform would have written
with it: the visit, two fee lines, the fund row, the bank instruction of each journal entry, four messages
(1101, 2201, 2204, 2207; 2208 for a cancellation) in message_log and message_replay, each of their realistic
length (the stored answers sealed: random text); a backlog of open visits with four unsettled fee lines each
(--backlog-share); accumulators per person, year and bucket summed from the settlements, account balances
from the journal, a sign-in per institution and day. All COPY from streaming generators in --jobs processes
with the tables' indexes dropped and rebuilt from their migration definitions, then VACUUM ANALYZE and a
CHECKPOINT. --keep keeps it (database <prefix>_grown), --reuse uses a kept one of the same size.

What is measured, on `yibao serve --workers W --no-access-log` with --clients threads of yibao.client:
(a) 2207 settlements of visits whose 10 fee lines were uploaded beforehand (2201 + 2204, untimed, just
before the phase); (b) whole visits: 2201, 2204 with 10 lines, 2207. The bench's persons are the grown
database's own employees of 440300 (accounts with balances, accumulators from their history).

Anchors, in the same run, in alternating rounds with yibao (ABBA order): pgbench's built-in TPC-B (`pgbench
-c N -j N -T s` on its own scratch database, initialised once at scale --scale), and bench/tpcb_app.py, the
same five TPC-B statements in one durable transaction behind FastAPI + psycopg, served like yibao (same
uvicorn, same workers, yibao.serving's socket) and driven by the same HTTP client. yibao's rate over each
anchor's is printed per round and overall. --with-fresh also measures, in the same rounds, yibao on a fresh
database (same world, no history): the grown database's cost over the fresh one's. --fresh measures on the
fresh one only.

Each phase runs at least --seconds and until its p99 rests on --min-samples samples. With every phase: the
load average, the CPU of the server's process tree (/proc, before and after) and of the PostgreSQL backends
serving the phase's database (sampled every 0.2 s) per item, the load generator's own CPU (this process;
pgbench's for pgbench), and how busy the whole box was. Everything goes to a table and to var/bench-settle.json.
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import itertools
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import monthly
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from yibao.client import PlatformClient, SignInCache
from yibao.dataset.loader import load_document
from yibao.store.db import Store, upgrade
from yibao.store.vault import new_key

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("YIBAO_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
SECRET, AREA, TODAY, HISTORY_MONTH = "bench-secret-1", "440300", "2026-03-16", "2026-02"
INSTITUTIONS = monthly.institutions(200)
HOSPITAL = INSTITUTIONS[0][0]  # the biggest institution of 440300: the largest history
CATALOG = [(f"BENCH-{i:02d}", "01" if i % 3 else "02") for i in range(10)]
CLK = os.sysconf("SC_CLK_TCK")
FORMAT = 1  # of the kept database: bumped when what the preload writes changes


# -- the world: regions, institutions, persons --------------------------------------------------------------


def dataset() -> dict[str, Any]:
    def policies(insutype: str, ratio: str) -> list[dict[str, Any]]:
        return [{"insutype": insutype, "med_types": med, "bucket": bucket, "deductible": "0.00", "ratio": ratio,
                 "annual_cap": "1000000.00", "acct_scope": "all"}
                for med, bucket in ((["11", "41"], "outpatient"), (["21"], "inpatient"))]

    return {
        "today": TODAY,
        "regions": [{"admdvs": admdvs, "name": name, "acct_bookkeeping": True, "mutual_aid": {"enabled": True},
                     "policies": policies("310", "0.60") + policies("390", "0.50"),
                     "catalog": [{"code": code, "name": code, "chrgitm_lv": lv, "selfpay_prop": "0.10",
                                  "pric_uplmt_amt": None, "med_chrgitm_type": "09"} for code, lv in CATALOG]}
                    for admdvs, name in monthly.REGIONS.items()],
        "institutions": [{"code": code, "name": f"{monthly.REGIONS[admdvs]}定点医院{code[-5:]}", "admdvs": admdvs,
                          "kind": "hospital", "level": "3", "xregion": "national", "secret": SECRET}
                         for code, admdvs in INSTITUTIONS],
    }


def make_world(url: str, per_region: int) -> None:
    """Schema by the migrations, regions and institutions by the dataset loader, persons and accounts by COPY
    (bench/monthly.py's), each account with its opening journal entry as the loader would write it."""
    upgrade(url)
    store = Store(url)
    load_document(store, dataset())
    store.dispose()
    monthly.load_people(url, "public", per_region)
    with monthly.connect(url, "public", autocommit=True) as c:
        c.execute("INSERT INTO account_journal (psn_no, entry_time, kind, amount, balance_after, memo) "
                  "SELECT psn_no, TIMESTAMP '2026-01-01', 'opening', loaded_balance, loaded_balance, "
                  "'opening balance from the dataset' FROM accounts")


# -- the history: what a month of traffic leaves behind -------------------------------------------------------


class Text:
    """A JSON text with @name@ holes, filled per row without json.dumps."""

    def __init__(self, doc: Any) -> None:
        self.parts = re.split(r"@(\w+)@", json.dumps(doc, ensure_ascii=False))

    def __call__(self, v: dict[str, Any]) -> str:
        parts = self.parts
        return "".join(parts[k] if k % 2 == 0 else str(v[parts[k]]) for k in range(len(parts)))


def _envelope(infno: str, data: Any) -> Text:
    return Text({"infno": infno, "msgid": "@msgid@", "mdtrtarea_admvs": "@adm@", "insuplc_admdvs": "@insu@",
                 "recer_sys_code": "YIBAO", "dev_no": "", "dev_safe_info": "", "cainfo": "", "signtype": "",
                 "infver": "V1.0", "opter_type": "1", "opter": "op01", "opter_name": "操作员", "inf_time": "@at@",
                 "fixmedins_code": "@code@", "fixmedins_name": "", "sign_no": "@sign@", "input": data})


def _answer(output: Any) -> Text:
    return Text({"infcode": 0, "inf_refmsgid": "@answer_id@", "refmsg_time": "@at@", "respond_time": "@at@",
                 "err_msg": "", "warn_msg": "", "cainfo": "", "signtype": "", "enctype": "", "output": output})


_LINE_IN = {"feedetl_sn": "@batch@-@j@", "mdtrt_id": "@mdtrt@", "psn_no": "@psn@", "chrg_bchno": "@batch@",
            "dise_codg": "", "rxno": "", "rx_circ_flag": "0", "fee_ocur_time": "@at@", "med_list_codg": "BENCH-0@j@",
            "medins_list_codg": "BENCH-0@j@", "det_item_fee_sumamt": "@amount@", "cnt": "1", "pric": "@amount@",
            "sin_dos_dscr": "", "used_frqu_dscr": "", "prd_days": "0", "medc_way_dscr": "", "bilg_dept_codg": "D1",
            "bilg_dept_name": "内科", "bilg_dr_codg": "DR1", "bilg_dr_name": "医生", "acord_dept_codg": "",
            "acord_dept_name": "", "orders_dr_code": "", "orders_dr_name": "", "hosp_appr_flag": "0",
            "tcmdrug_used_way": "", "etip_flag": "", "etip_hosp_code": "", "dscg_tkdrug_flag": "", "matn_fee_flag": ""}
_LINE_OUT = {"feedetl_sn": "@batch@-@j@", "det_item_fee_sumamt": "@amount@", "cnt": "1", "pric": "@amount@",
             "pric_uplmt_amt": "0.00", "selfpay_prop": "0.10", "fulamt_ownpay_amt": "0.00", "overlmt_amt": "0.00",
             "preselfpay_amt": "0.00", "inscp_scp_amt": "@amount@", "chrgitm_lv": "01", "med_chrgitm_type": "09",
             "bas_medn_flag": "0", "hi_nego_drug_flag": "0", "chld_medc_flag": "0", "list_sp_item_flag": "0",
             "lmt_used_flag": "0", "drt_reim_flag": "0", "memo": ""}
_SETLINFO = {k: f"@{k}@" for k in (
    "mdtrt_id", "setl_id", "psn_no", "psn_name", "psn_cert_type", "certno", "gend", "naty", "brdy", "age",
    "insutype", "psn_type", "cvlserv_flag", "setl_time", "mdtrt_cert_type", "med_type", "medfee_sumamt",
    "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay",
    "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt",
    "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "hosp_part_amt", "pool_prop_selfpay", "hifdm_pay", "balc",
    "medins_setl_id", "clr_optins", "clr_way", "clr_type")}
_PROC_INFO = ("deductible 0.00 with @dedc@ used this year: 0.00 left, act_pay_dedc = min(inscp @inscp_scp_amt@, 0.00) "
              "= @act_pay_dedc@; pooled = round2((@inscp_scp_amt@ - @act_pay_dedc@) x 0.60) = @hifp_pay@; annual cap "
              "1000000.00 with @hifp_pay@ paid: 999000.00 left; hifp_pay = @hifp_pay@; fund_pay_sumamt "
              "@fund_pay_sumamt@; psn_part_amt = @medfee_sumamt@ - @fund_pay_sumamt@ = @psn_part_amt@")
_SETTLED = _answer({"setlinfo": {**_SETLINFO, "exp_content": {}}, "setldetail": [
    {"fund_pay_type": "@fund_type@", "fund_pay_type_name": "基本医疗保险统筹基金", "inscp_scp_amt": "@inscp_scp_amt@",
     "crt_payb_lmt_amt": "999000.00", "fund_payamt": "@hifp_pay@", "setl_proc_info": _PROC_INFO}]})
_BASE = {"psn_no": "@psn@", "mdtrt_cert_type": "02", "mdtrt_cert_no": "", "insutype": "@insutype@"}
MESSAGES = {
    "1101": (_envelope("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "@masked@", "card_sn": "",
                                         "begntime": "", "psn_cert_type": "01", "certno": "@masked@",
                                         "psn_name": ""}}),
             _answer({"baseinfo": {"psn_no": "@psn@", "psn_cert_type": "01", "certno": "@masked@",
                                   "psn_name": "参**", "gend": "1", "naty": "01", "brdy": "1980-01-01", "age": "46.0"},
                      "insuinfo": [{"balc": "@balc@", "insutype": "@insutype@", "psn_type": "11",
                                    "psn_insu_stas": "1", "psn_insu_date": "", "paus_insu_date": "",
                                    "cvlserv_flag": "0", "insuplc_admdvs": "@insu@", "emp_name": ""}],
                      "idetinfo": []})),
    "2201": (_envelope("2201", {"data": {**_BASE, "begntime": "@at@", "ipt_otp_no": "@batch@", "atddr_no": "DR1",
                                         "dr_name": "医生", "dept_code": "D1", "dept_name": "内科", "caty": "A03"}}),
             _answer({"data": {"mdtrt_id": "@mdtrt@", "psn_no": "@psn@", "ipt_otp_no": "@batch@"}})),
    "2204": (_envelope("2204", {"feedetail": [{**_LINE_IN, "feedetl_sn": f"@batch@-{j}"} for j in range(2)]}),
             _answer({"result": [{**_LINE_OUT, "feedetl_sn": f"@batch@-{j}"} for j in range(2)]})),
    "2207": (_envelope("2207", {"data": {**_BASE, "mdtrt_id": "@mdtrt@", "chrg_bchno": "@batch@", "med_type": "11",
                                         "medfee_sumamt": "@medfee_sumamt@", "psn_setlway": "01",
                                         "acct_used_flag": "1", "invono": "", "fulamt_ownpay_amt": "0.00",
                                         "overlmt_selfpay": "0.00", "preselfpay_amt": "@preselfpay_amt@",
                                         "inscp_scp_amt": "@inscp_scp_amt@"}}), _SETTLED),
    "2208": (_envelope("2208", {"data": {"setl_id": "@init@", "mdtrt_id": "@mdtrt@", "psn_no": "@psn@"}}), _SETTLED),
}
_FEE_RAW = Text({k: v for k, v in _LINE_IN.items() if k not in ("sin_dos_dscr", "used_frqu_dscr")}
                | {"catalog_flags": {}})
_VISIT_INFO = json.dumps({"atddr_no": "DR1", "dr_name": "医生", "dept_code": "D1", "dept_name": "内科", "caty": "A03"})
_PROC = Text(_PROC_INFO)
COPIES = {
    "visits": ("mdtrt_id", "fixmedins_code", "psn_no", "insutype", "kind", "med_type", "insuplc_admdvs",
               "mdtrtarea_admvs", "ipt_otp_no", "begntime", "mdtrt_cert_type", "status", "info", "created_at",
               "sale_key"),
    "fee_details": ("mdtrt_id", "feedetl_sn", "chrg_bchno", "med_list_codg", "medins_list_codg", "list_name",
                    "fee_ocur_time", "pric", "cnt", "det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt",
                    "preselfpay_amt", "inscp_scp_amt", "selfpay_prop", "chrgitm_lv", "med_chrgitm_type",
                    "catalog_admdvs", "setl_id", "raw"),
    "settlement_funds": ("setl_id", "fund_pay_type", "fund_pay_type_name", "inscp_scp_amt", "crt_payb_lmt_amt",
                         "fund_payamt", "setl_proc_info"),
    "bank_outbox": ("instruction_id", "code", "psn_no", "acct_admdvs", "amount", "setl_id", "beneficiary_psn_no",
                    "created_at", "status", "attempts", "next_attempt_at", "delivered_at"),
    "message_log": ("received_at", "responded_at", "duration_ms", "fixmedins_code", "infno", "msgid",
                    "body_sha256", "infcode", "outcome", "request", "response"),
    "message_replay": ("fixmedins_code", "msgid", "infno", "body_sha256", "response", "created_at", "effect_id"),
    "settlements": monthly.SETTLEMENT_COLUMNS,
    "account_journal": monthly.JOURNAL_COLUMNS,
}
C = monthly.COL


def _yuan(fen: int) -> str:
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


class History:
    """Takes the generator's settlements and journal entries, and writes them with what the platform would have
    written beside them, to one COPY per table."""

    def __init__(self, copies: dict[str, Any], backlog_every: int, seed: int) -> None:
        self.copies, self.backlog_every = copies, backlog_every
        self.sealed = base64.urlsafe_b64encode(random.Random(seed).randbytes(3 << 20)).decode()  # random: sealed
        self.count = dict.fromkeys(("visits", "fee_details", "messages", "backlog_visits", "outbox"), 0)
        self.outbox_seq = 0

    def message(self, infno: str, when: datetime, v: dict[str, Any], effect: str | None, seq: int) -> None:
        msgid = f"{v['code']}{when:%Y%m%d%H%M%S}{seq % 10_000:04d}"
        v["msgid"], v["at"], v["answer_id"] = msgid, f"{when:%Y-%m-%d %H:%M:%S}", f"{msgid[:-4]}{seq % 9973:04d}"
        request, answer = MESSAGES[infno]
        response = answer(v)
        digest = hashlib.sha256(msgid.encode()).hexdigest()
        self.copies["message_log"].write_row((when, when + timedelta(milliseconds=15), 15, v["code"], infno, msgid,
                                              digest, 0, "ok", request(v), response))
        size = 4 * (len(response.encode()) + 60) // 3
        start = (seq * 7919) % (len(self.sealed) - size)
        self.copies["message_replay"].write_row((v["code"], msgid, infno, digest,
                                                 "f1:" + self.sealed[start:start + size], when, effect))
        self.count["messages"] += 1

    def visit(self, row: list[Any], mdtrt: str, batch: str, begin: datetime, lines: int, setl_id: str | None) -> None:
        code, psn, kind = row[C["fixmedins_code"]], row[C["psn_no"]], row[C["kind"]]
        self.copies["visits"].write_row((
            mdtrt, code, psn, row[C["insutype"]], kind, row[C["med_type"]], row[C["insu_admdvs"]],
            row[C["catalog_admdvs"]], None if kind == "pharmacy" else batch, begin, "02",
            "discharged" if kind == "inpatient" else "open", _VISIT_INFO, begin,
            batch if kind == "pharmacy" else None))
        medfee = row[C["medfee_sumamt"]]
        for j in range(lines):
            share = medfee // lines + (medfee % lines if j == 0 else 0)
            presel = row[C["preselfpay_amt"]] // lines if j else row[C["preselfpay_amt"]] - (lines - 1) * (
                row[C["preselfpay_amt"]] // lines)
            fulamt = row[C["fulamt_ownpay_amt"]] if j == 0 else 0
            amount = _yuan(share)
            raw = _FEE_RAW({"batch": batch, "j": j, "mdtrt": mdtrt, "psn": psn, "at": f"{begin:%Y-%m-%d %H:%M:%S}",
                            "amount": amount})
            self.copies["fee_details"].write_row((
                mdtrt, f"{batch}-{j}", batch, f"BENCH-0{j}", f"BENCH-0{j}", f"BENCH-0{j}", begin, amount, "1", share,
                fulamt, 0, presel, share - presel - fulamt, "0.10", CATALOG[j][1], "09", row[C["catalog_admdvs"]],
                setl_id, raw))
        self.count["visits"] += 1
        self.count["fee_details"] += lines

    def settlement(self, row: list[Any]) -> None:
        self.copies["settlements"].write_row(row)
        when, code, setl_id = row[C["setl_time"]], row[C["fixmedins_code"]], row[C["setl_id"]]
        i = int(row[C["chrg_bchno"]][1:])
        v = {name: _yuan(row[C[name]]) if isinstance(row[C[name]], int) else row[C[name]]
             for name in _SETLINFO if name in C}
        v.update(code=code, adm=row[C["catalog_admdvs"]], insu=row[C["insu_admdvs"]], psn=row[C["psn_no"]],
                 mdtrt=row[C["mdtrt_id"]], batch=row[C["chrg_bchno"]], sign=f"{when:%Y%m%d}{code}{i % 10_000:04d}",
                 masked="4403***********1034", balc=_yuan(row[C["balc"]]), psn_name="参**", psn_cert_type="01",
                 certno="4403***********1034", gend="1", naty="01", brdy="1980-01-01", age="46.0", psn_type="11",
                 cvlserv_flag="0", setl_time=f"{when:%Y-%m-%d %H:%M:%S}", mdtrt_cert_type="02", hifdm_pay="0.00",
                 medins_setl_id=row[C["msgid"]], dedc="0.00", init=row[C["init_setl_id"]] or "",
                 fund_type="310100" if row[C["insutype"]] == "310" else "390100", j=0, amount="0.00")
        fund_type = v["fund_type"]
        self.copies["settlement_funds"].write_row((
            setl_id, fund_type, "基本医疗保险统筹基金", row[C["inscp_scp_amt"]], 100_000_000, row[C["hifp_pay"]],
            _PROC(v)))
        if row[C["refd_setl_flag"]] == "1":  # the negative record of a cancellation: its 2208
            self.message("2208", when, v, setl_id, i)
            return
        begin = when - timedelta(minutes=31)
        self.visit(row, row[C["mdtrt_id"]], row[C["chrg_bchno"]], begin, 2, setl_id)
        self.message("1101", begin, v, None, i)
        self.message("2201", begin + timedelta(minutes=1), v, row[C["mdtrt_id"]], i)
        self.message("2204", when - timedelta(minutes=10), v, None, i)
        self.message("2207", when, v, setl_id, i)
        if i % self.backlog_every == 7:  # an open visit of the same person whose four lines wait to be settled
            mdtrt, batch = f"{row[C['catalog_admdvs']]}{when:%Y%m%d%H%M%S}9{i:09d}", f"K{i}"
            start = when - timedelta(minutes=5)
            self.visit(row, mdtrt, batch, start, 4, None)
            v.update(mdtrt=mdtrt, batch=batch)
            self.message("2201", start, v, mdtrt, i)
            self.message("2204", start + timedelta(minutes=1), v, None, i)
            self.count["backlog_visits"] += 1

    def journal(self, entry: tuple[Any, ...]) -> None:
        self.copies["account_journal"].write_row(entry)
        psn, when, kind, amount, _after, setl_id, beneficiary = entry[:7]
        self.outbox_seq += 1
        self.copies["bank_outbox"].write_row((
            f"I{setl_id}{self.outbox_seq % 10:01d}"[:40], "acct_023" if amount > 0 else "acct_021", psn, psn[:6],
            abs(amount), setl_id, beneficiary if kind == "mutual_aid" else None, when, "delivered", 1, when,
            when + timedelta(seconds=2)))
        self.count["outbox"] += 1


def _history_part(a: tuple[str, dict[str, Any], int, int, int]) -> dict[str, int]:
    """One loader process: slots start..stop-1 of the month, each table on its own connection."""
    url, p, start, stop, backlog_every = a
    with contextlib.ExitStack() as stack:
        copies = {}
        for table, columns in COPIES.items():
            conn = stack.enter_context(monthly.connect(url, "public"))
            conn.execute("SET synchronous_commit TO OFF")
            copies[table] = stack.enter_context(
                conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN"))
        history = History(copies, backlog_every, p["seed"] + start)
        totals = monthly.generate(p, start, stop, history.settlement, history.journal)
    return {**totals, **history.count}


def make_history(url: str, args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    p = monthly.plan(argparse.Namespace(n=args.n, seed=args.seed, institutions=len(INSTITUTIONS),
                                        month=HISTORY_MONTH))
    p["persons"] = args.per_region
    with monthly.connect(url, "public", autocommit=True) as c:
        rebuild = [sql for table in COPIES for sql in monthly.drop_indexes(c, "public", table)]
    bounds = [args.n * k // args.jobs for k in range(args.jobs + 1)]
    every = max(1, round(1 / args.backlog_share))
    parts = [(url, p, a, b, every) for a, b in zip(bounds, bounds[1:], strict=False)]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        results = pool.map(_history_part, parts)
    totals = {key: sum(r[key] for r in results) for key in results[0]}
    t1 = time.perf_counter()
    print(f"  COPY {totals['rows']:,} settlements, {totals['visits']:,} visits ({totals['backlog_visits']:,} open "
          f"with unsettled lines), {totals['fee_details']:,} fee lines, {totals['messages']:,} messages x 2 tables, "
          f"{totals['journal']:,} journal entries: {t1 - t0:.1f} s", flush=True)
    monthly.build_indexes(url, "public", rebuild, threads=2)
    t2 = time.perf_counter()
    print(f"  {len(rebuild)} indexes and constraints rebuilt: {t2 - t1:.1f} s", flush=True)
    with monthly.connect(url, "public", autocommit=True) as c:
        c.execute("INSERT INTO accumulators (psn_no, year, bucket, deductible_used, fund_paid) "
                  "SELECT psn_no, year, bucket, SUM(act_pay_dedc), SUM(hifp_pay) FROM settlements "
                  "GROUP BY psn_no, year, bucket")
        c.execute("UPDATE accounts a SET balance = a.loaded_balance + j.moved FROM (SELECT psn_no, SUM(amount) "
                  "AS moved FROM account_journal WHERE kind <> 'opening' GROUP BY psn_no) j WHERE j.psn_no = a.psn_no")
        first = monthly.month_start(HISTORY_MONTH)
        c.execute("INSERT INTO sign_ins (sign_no, fixmedins_code, opter_no, biz_date, signed_in_at) "
                  "SELECT to_char(d, 'YYYYMMDD') || code, code, 'op01', d::date, d + interval '7 hours' "
                  "FROM institutions, generate_series(%s::timestamp, %s::timestamp - interval '1 day', "
                  "interval '1 day') d", (first, monthly.month_end(HISTORY_MONTH)))
        t3 = time.perf_counter()
        print(f"  accumulators, balances, sign-ins: {t3 - t2:.1f} s", flush=True)
        c.execute("SET maintenance_work_mem TO '512MB'")
        c.execute("VACUUM (ANALYZE)")
        c.execute("CHECKPOINT")
    t4 = time.perf_counter()
    print(f"  VACUUM ANALYZE + CHECKPOINT: {t4 - t3:.1f} s", flush=True)
    return {**totals, "seconds": {"copy": t1 - t0, "indexes": t2 - t1, "derived": t3 - t2, "vacuum": t4 - t3}}


# -- databases ----------------------------------------------------------------------------------------------


def admin(sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    engine = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.execute(text(sql), params or {})
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def exists(db: str) -> bool:
    return bool(admin("SELECT 1 FROM pg_database WHERE datname = :db", {"db": db}))


def recreate(db: str) -> None:
    admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{db}"')


def marker(args: argparse.Namespace) -> dict[str, Any]:
    return {"format": FORMAT, "n": args.n, "per_region": args.per_region, "backlog_share": args.backlog_share,
            "seed": args.seed, "month": HISTORY_MONTH}


def kept_marker(url: str) -> dict[str, Any] | None:
    try:
        with monthly.connect(url, "public") as c:
            row = c.execute("SELECT value FROM settings WHERE key = 'bench_settle'").fetchone()
    except Exception:  # noqa: BLE001 - no such database or table: nothing kept
        return None
    return json.loads(row[0]) if row else None


def grown_database(args: argparse.Namespace, db: str) -> dict[str, Any]:
    url = f"{SERVER}/{db}"
    kept = kept_marker(url) if args.reuse and exists(db) else None
    if kept is not None and {k: v for k, v in kept.items() if k != "load"} == marker(args):
        upgrade(url)  # a newer migration since the load: the schema stays the product's
        print(f"grown database {db}: reusing the kept preload ({kept['n']:,} settlements)", flush=True)
        return {"reused": True, **kept}
    if args.reuse:
        print(f"grown database {db}: no kept preload of this size, making it", flush=True)
    t0 = time.perf_counter()
    recreate(db)
    make_world(url, args.per_region)
    monthly.check_columns(url, "public", tuple((t, cols) for t, cols in COPIES.items()), "bench/settle.py")
    print(f"grown database {db}: world in {time.perf_counter() - t0:.1f} s; history of {args.n:,} settlements:",
          flush=True)
    load = make_history(url, args)
    load["seconds"]["total"] = time.perf_counter() - t0
    with monthly.connect(url, "public", autocommit=True) as c:
        c.execute("INSERT INTO settings (key, value) VALUES ('bench_settle', %s)",
                  (json.dumps({**marker(args), "load": load}),))
    print(f"  preload total {load['seconds']['total']:.1f} s", flush=True)
    return {"reused": False, **marker(args), "load": load}


def fresh_database(args: argparse.Namespace, db: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    recreate(db)
    make_world(f"{SERVER}/{db}", args.per_region)
    with monthly.connect(f"{SERVER}/{db}", "public", autocommit=True) as c:
        c.execute("VACUUM (ANALYZE)")
    print(f"fresh database {db}: world only, {time.perf_counter() - t0:.1f} s", flush=True)
    return {"reused": False, "per_region": args.per_region}


def describe(db: str) -> dict[str, Any]:
    rows = admin(f"SELECT pg_database_size('{db}')")
    size = int(rows[0][0])
    with monthly.connect(f"{SERVER}/{db}", "public") as c:
        counts = dict(c.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r' AND relnamespace = "
            "'public'::regnamespace AND relname = ANY(%s)",
            (["settlements", "fee_details", "visits", "message_log", "message_replay", "account_journal",
              "accumulators", "accounts", "persons", "bank_outbox", "settlement_funds"],)).fetchall())
        counts["fee_details unsettled"] = c.execute(
            "SELECT count(*) FROM fee_details WHERE setl_id IS NULL").fetchone()[0]
    return {"bytes": size, "rows": counts}


def tpcb_database(args: argparse.Namespace, db: str) -> None:
    if args.reuse and exists(db):
        with contextlib.suppress(Exception), monthly.connect(f"{SERVER}/{db}", "public") as c:
            if c.execute("SELECT count(*) FROM pgbench_branches").fetchone()[0] == args.scale:
                print(f"pgbench database {db}: reusing scale {args.scale}", flush=True)
                return
    t0 = time.perf_counter()
    recreate(db)
    subprocess.run(["pgbench", *pg_target(), "-i", "-q", "-s", str(args.scale), db], check=True,
                   capture_output=True)
    print(f"pgbench database {db}: initialised at scale {args.scale} in {time.perf_counter() - t0:.1f} s",
          flush=True)


def pg_target() -> list[str]:
    u = make_url(SERVER)
    return ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]


# -- processes and their CPU --------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].decode().split()
    except OSError:
        return None


def tree_cpu(root: int) -> float:  # float-ok: CPU seconds
    """User + system seconds of a process and its descendants (and of those it has reaped)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            stats[int(entry)] = st
            children.setdefault(int(st[1]), []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += int(stats[pid][11]) + int(stats[pid][12])
            todo += children.get(pid, [])
    if root in stats:
        total += int(stats[root][13]) + int(stats[root][14])
    return total / CLK


def backends(db: str) -> dict[int, int]:
    """CPU ticks of each PostgreSQL backend serving database db (found by its process title)."""
    out = {}
    needle = f" {db} ".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                title = f.read(200)
        except OSError:
            continue
        if title.startswith(b"postgres: ") and needle in title and (st := _stat(int(entry))) is not None:
            out[int(entry)] = int(st[11]) + int(st[12])
    return out


def box_ticks() -> tuple[int, int]:
    """(busy, all) jiffies of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, sum(values[:8])


class Meter:
    """What a phase took from the box: the server tree's CPU, its database's backends' CPU (sampled every 0.2 s,
    so a backend that ends between samples loses at most that), this process's CPU, pgbench's, the box."""

    def __init__(self, server: int | None, db: str) -> None:
        self.server, self.db = server, db
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.stop = threading.Event()

    def __enter__(self) -> Meter:
        self.load0 = os.getloadavg()
        self.first = backends(self.db)
        self.last = dict(self.first)
        self.server0 = tree_cpu(self.server) if self.server else 0.0
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)
        self.kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.box0 = box_ticks()
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()
        return self

    def _sample(self) -> None:
        while not self.stop.wait(0.2):
            self.last.update(backends(self.db))

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sampler.join()
        self.last.update(backends(self.db))
        box = box_ticks()
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        self.server_cpu = (tree_cpu(self.server) - self.server0) if self.server else 0.0
        self.db_cpu = sum(t - self.first.get(pid, 0) for pid, t in self.last.items()) / CLK
        self.self_cpu = me.ru_utime + me.ru_stime - self.self0.ru_utime - self.self0.ru_stime
        self.child_cpu = kids.ru_utime + kids.ru_stime - self.kids0.ru_utime - self.kids0.ru_stime
        self.box_busy = (box[0] - self.box0[0]) / max(1, box[1] - self.box0[1]) * os.cpu_count()  # cores busy
        self.load1 = os.getloadavg()


# -- servers ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start:\n{log.read_text()[-3000:]}")


@dataclass
class Server:
    name: str
    db: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start(name: str, db: str, cmd: list[str], env: dict[str, str], folder: Path) -> Server:
    port = free_port()
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*cmd, "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    wait_port(port, proc, log)
    return Server(name, db, port, proc, log)


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(20)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)


# -- the load -----------------------------------------------------------------------------------------------


def http_client() -> httpx.Client:
    """The load's HTTP client, for yibao and the TPC-B app alike: yibao.client's settings (TCP_NODELAY)."""
    return httpx.Client(timeout=30, transport=httpx.HTTPTransport(
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]))


def lines(mdtrt_id: str, psn_no: str, batch: str) -> list[dict[str, str]]:
    return [{"feedetl_sn": f"{batch}-{i}", "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": batch,
             "rx_circ_flag": "0", "fee_ocur_time": f"{TODAY} 09:30:00", "med_list_codg": code,
             "medins_list_codg": code, "det_item_fee_sumamt": "12.50", "cnt": "1", "pric": "12.50",
             "bilg_dept_codg": "D1", "bilg_dept_name": "内科", "bilg_dr_codg": "DR1", "bilg_dr_name": "医生",
             "hosp_appr_flag": "0"} for i, (code, _lv) in enumerate(CATALOG)]


def settle_input(psn_no: str, mdtrt_id: str, batch: str) -> dict[str, Any]:
    # 10 lines of 12.50: 甲 in scope in full, 乙 with 10 % pre-self-pay
    pre = sum(Decimal("1.25") for _c, lv in CATALOG if lv == "02")
    return {"data": {"psn_no": psn_no, "mdtrt_cert_type": "02", "med_type": "11", "medfee_sumamt": "125.00",
                     "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": batch, "acct_used_flag": "1",
                     "insutype": "310", "invono": "", "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00",
                     "preselfpay_amt": str(pre), "inscp_scp_amt": str(Decimal("125.00") - pre)}}


def register(c: PlatformClient, psn_no: str, tag: str) -> str:
    out = c.ok("2201", {"data": {"psn_no": psn_no, "insutype": "310", "begntime": f"{TODAY} 09:00:00",
                                 "mdtrt_cert_type": "02", "mdtrt_cert_no": "", "ipt_otp_no": tag,
                                 "atddr_no": "DR1", "dr_name": "医生", "dept_code": "D1", "dept_name": "内科",
                                 "caty": "A03"}})
    return out["data"]["mdtrt_id"]


class BenchClient(PlatformClient):
    """yibao.client with one msgid sequence shared by all the bench's clients of a server. PlatformClient numbers
    each client's messages from its own random start, so two clients of one institution sending in the same
    second meet on a msgid once their counters drift together, and the platform refuses the second message as a
    reused msgid: seen in a run of this bench (hundreds of refusals in one phase)."""

    def __init__(self, *a: Any, sequence: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.sequence = sequence

    def next_msgid(self) -> str:
        return f"{self.code}{datetime.now():%Y%m%d%H%M%S}{next(self.sequence) % 10_000:04d}"


def platform_clients(server: Server, count: int, run: str) -> list[PlatformClient]:
    clients = []
    sequence = itertools.count(random.randrange(10_000))  # next() of a count is atomic under the GIL
    for k in range(count):
        c = BenchClient(server.base, HOSPITAL, SECRET, AREA, opter=f"b{run}{k}", sign_in_cache=SignInCache(),
                        http=http_client(), sequence=sequence)
        c.sign_no()
        clients.append(c)
    return clients


@dataclass
class Driven:
    done: int = 0
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0  # float-ok: seconds
    latencies: list[float] = field(default_factory=list)  # float-ok: milliseconds


def drive(clients: list[Any], next_item: Callable[[], Callable[[Any], None] | None], seconds: float,  # float-ok
          min_samples: int, limit: float) -> Driven:  # float-ok: seconds
    """One thread per client, each taking items until the phase has lasted `seconds` and `min_samples` items
    have started (or the items run out, or `limit` seconds have passed)."""
    lock = threading.Lock()
    out = Driven()
    started = 0
    t0 = time.perf_counter()

    def worker(client: Any) -> None:
        nonlocal started
        while True:
            with lock:
                elapsed = time.perf_counter() - t0
                if (elapsed >= seconds and started >= min_samples) or elapsed >= limit:
                    return
                item = next_item()
                if item is None:
                    return
                started += 1
            t = time.perf_counter()
            try:
                item(client)
            except Exception as exc:  # noqa: BLE001 - counted and shown, never hidden
                with lock:
                    out.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            dt = (time.perf_counter() - t) * 1000
            with lock:
                out.latencies.append(dt)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.wall = time.perf_counter() - t0
    out.done = len(out.latencies)
    return out


def pct(values: list[float], q: float) -> float | None:  # float-ok: milliseconds
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class Phase:
    round: int
    target: str  # yibao-grown, yibao-fresh, pgbench, tpcb-app
    scenario: str  # a, b, tpcb
    unit: str
    done: int
    errors: int
    wall: float  # float-ok: seconds
    rate: float  # float-ok: per second
    p50: float | None  # float-ok: ms
    p95: float | None  # float-ok: ms
    p99: float | None  # float-ok: ms
    samples: int
    server_cpu_ms: float | None  # float-ok: per item
    db_cpu_ms: float | None  # float-ok: per item
    loadgen_cpu_ms: float | None  # float-ok: per item
    box_busy_cores: float  # float-ok
    load_before: list[float]  # float-ok
    load_after: list[float]  # float-ok
    first_errors: list[str] = field(default_factory=list)
    note: str = ""

    def line(self) -> str:
        def ms(v: float | None) -> str:  # float-ok
            return "   -  " if v is None else f"{v:6.1f}"

        return (f"  r{self.round} {self.target:12} {self.scenario:4} {self.rate:8.1f}/s {self.done:7} {self.unit:5} "
                f"p50 {ms(self.p50)} p99 {ms(self.p99)} ms (n={self.samples})  CPU ms/{self.unit}: server "
                f"{ms(self.server_cpu_ms)} db {ms(self.db_cpu_ms)} loadgen {ms(self.loadgen_cpu_ms)}  box "
                f"{self.box_busy_cores:.2f} cores, load {self.load_before[0]:.2f}->{self.load_after[0]:.2f}"
                + (f"  ERRORS {self.errors}" if self.errors else ""))


def phase(rnd: int, target: str, scenario: str, unit: str, meter: Meter, d: Driven,
          pgbench: dict[str, Any] | None = None) -> Phase:
    done = d.done
    per = (lambda cpu: cpu * 1000 / done if done else None)  # noqa: E731
    loadgen = meter.child_cpu if pgbench else meter.self_cpu
    return Phase(round=rnd, target=target, scenario=scenario, unit=unit, done=done, errors=len(d.errors),
                 wall=d.wall, rate=done / d.wall if d.wall else 0.0, p50=pct(d.latencies, 0.50),
                 p95=pct(d.latencies, 0.95), p99=pct(d.latencies, 0.99), samples=len(d.latencies),
                 server_cpu_ms=per(meter.server_cpu) if meter.server else None, db_cpu_ms=per(meter.db_cpu),
                 loadgen_cpu_ms=per(loadgen), box_busy_cores=meter.box_busy, load_before=list(meter.load0),
                 load_after=list(meter.load1), first_errors=d.errors[:3])


class Yibao:
    """One yibao server on one database and the bench's traffic against it."""

    def __init__(self, server: Server, persons: list[str], args: argparse.Namespace, run: str) -> None:
        self.server, self.args, self.run = server, args, run
        self.persons = persons
        self.next_person = 0
        self.visits = 0
        self.clients = platform_clients(server, args.clients, run)
        self.rate_a = 0.0  # float-ok: settlements per second, last seen
        self.prepared: list[tuple[str, str, str]] = []

    def person(self) -> str:
        psn = self.persons[self.next_person % len(self.persons)]
        self.next_person += 1
        return psn

    def tag(self, kind: str) -> str:
        self.visits += 1
        return f"{self.run}{kind}{self.visits}"

    def whole_visit_items(self) -> Callable[[], Callable[[Any], None]]:
        def next_item() -> Callable[[Any], None]:
            psn, tag = self.person(), self.tag("B")

            def item(c: PlatformClient) -> None:
                mdtrt_id = register(c, psn, tag)
                c.ok("2204", {"feedetail": lines(mdtrt_id, psn, tag)})
                c.ok("2207", settle_input(psn, mdtrt_id, tag))
            return item
        return next_item

    def prepare(self, count: int) -> tuple[list[tuple[str, str, str]], float]:  # float-ok: seconds
        """count visits with their 10 lines uploaded (2201 + 2204), untimed, for phase (a)."""
        prepared: list[tuple[str, str, str]] = []
        left = [count]

        def next_item() -> Callable[[Any], None] | None:
            if left[0] == 0:
                return None
            left[0] -= 1
            psn, tag = self.person(), self.tag("A")

            def item(c: PlatformClient) -> None:
                mdtrt_id = register(c, psn, tag)
                c.ok("2204", {"feedetail": lines(mdtrt_id, psn, tag)})
                prepared.append((psn, mdtrt_id, tag))
            return item

        d = drive(self.clients, next_item, 0, count, 3600)
        if d.errors:
            print(f"    preparing: {len(d.errors)} errors, first: {d.errors[0]}", flush=True)
        return prepared, d.wall

    def measure(self, rnd: int) -> list[Phase]:
        a = self.args
        # enough prepared visits for the whole phase (a) at the rate seen last (or guessed from the warm-up's
        # whole visits): a phase that runs out of them ends early, and says so
        want = max(a.min_samples, int(self.rate_a * a.seconds * 1.5)) + a.clients
        if len(self.prepared) < want:
            made, prep_wall = self.prepare(want - len(self.prepared))
            self.prepared += made
            print(f"    {self.server.name}: {len(made)} visits prepared for (a) in {prep_wall:.1f} s (untimed), "
                  f"{len(self.prepared)} ready", flush=True)
        prepared = self.prepared

        def settle_next() -> Callable[[Any], None] | None:
            if not prepared:
                return None
            v = prepared.pop()
            return lambda c: c.ok("2207", settle_input(*v))

        out = []
        with Meter(self.server.proc.pid, self.server.db) as m:
            d = drive(self.clients, settle_next, a.seconds, a.min_samples, a.seconds * 6)
        out.append(phase(rnd, self.server.name, "a", "settl", m, d))
        self.rate_a = out[-1].rate
        print(out[-1].line(), flush=True)
        if not prepared and d.wall < a.seconds:
            out[-1].note = f"ran out of prepared visits after {d.wall:.1f} s: a short phase"
            print(f"    (a) {out[-1].note}", flush=True)
        with Meter(self.server.proc.pid, self.server.db) as m:
            d = drive(self.clients, self.whole_visit_items(), a.seconds, a.min_samples, a.seconds * 6)
        out.append(phase(rnd, self.server.name, "b", "visit", m, d))
        print(out[-1].line(), flush=True)
        return out

    def warm_up(self) -> None:
        d = drive(self.clients, self.whole_visit_items(), self.args.warmup, 0, self.args.warmup * 4)
        self.rate_a = 4 * d.done / d.wall  # a first guess: a settlement alone costs a third of a visit or less


class TpcbApp:
    def __init__(self, server: Server, args: argparse.Namespace) -> None:
        self.server, self.args = server, args
        self.clients = [http_client() for _ in range(args.clients)]
        self.rng = random.Random(args.seed)
        self.url = f"{server.base}/tpcb"

    def items(self) -> Callable[[], Callable[[Any], None]]:
        scale, rng = self.args.scale, self.rng

        def next_item() -> Callable[[Any], None]:
            body = json.dumps({"aid": rng.randint(1, 100_000 * scale), "tid": rng.randint(1, 10 * scale),
                               "bid": rng.randint(1, scale), "delta": rng.randint(-5000, 5000)})

            def item(c: httpx.Client) -> None:
                reply = c.post(self.url, content=body, headers={"Content-Type": "application/json"})
                if reply.status_code != 200:
                    raise RuntimeError(f"HTTP {reply.status_code}: {reply.text[:200]}")
            return item
        return next_item

    def measure(self, rnd: int) -> Phase:
        a = self.args
        with Meter(self.server.proc.pid, self.server.db) as m:
            d = drive(self.clients, self.items(), a.seconds, a.min_samples, a.seconds * 6)
        p = phase(rnd, "tpcb-app", "tpcb", "tx", m, d)
        print(p.line(), flush=True)
        return p

    def warm_up(self) -> None:
        drive(self.clients, self.items(), self.args.warmup, 0, self.args.warmup * 4)


def pgbench(rnd: int, db: str, args: argparse.Namespace, folder: Path) -> Phase:
    seconds = max(1, round(args.seconds))
    logs = folder / f"pgbench-{rnd}"
    logs.mkdir()
    with Meter(None, db) as m:
        out = subprocess.run(["pgbench", *pg_target(), "-n", "-c", str(args.clients), "-j", str(args.clients),
                              "-T", str(seconds), "-l", "--log-prefix", str(logs / "tx"), db],
                             check=True, capture_output=True, text=True).stdout
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out) or re.search(r"tps = ([0-9.]+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if not processed or not tps:
        raise RuntimeError("pgbench printed no tps:\n" + out)
    latencies = [int(line.split()[2]) / 1000 for f in logs.iterdir() for line in f.read_text().splitlines()]
    d = Driven(done=int(processed.group(1)), wall=int(processed.group(1)) / float(tps.group(1)),  # float-ok
               latencies=latencies, errors=["failed"] * int(failed.group(1)) if failed else [])
    p = phase(rnd, "pgbench", "tpcb", "tx", m, d, pgbench={"tps": float(tps.group(1))})  # float-ok
    p.rate = float(tps.group(1))  # float-ok: pgbench's own figure
    print(p.line(), flush=True)
    return p


# -- the run ------------------------------------------------------------------------------------------------


def pooled(phases: list[Phase], target: str, scenario: str) -> dict[str, Any]:
    mine = [p for p in phases if p.target == target and p.scenario == scenario]
    done = sum(p.done for p in mine)
    wall = sum(p.wall for p in mine)

    def weighted(attr: str) -> float | None:  # float-ok
        values = [(getattr(p, attr), p.done) for p in mine if getattr(p, attr) is not None]
        return sum(v * n for v, n in values) / sum(n for _v, n in values) if values and done else None

    return {"target": target, "scenario": scenario, "done": done, "wall": wall, "rate": done / wall if wall else 0.0,
            "p99_of_rounds": [p.p99 for p in mine], "samples_of_rounds": [p.samples for p in mine],
            "server_cpu_ms": weighted("server_cpu_ms"), "db_cpu_ms": weighted("db_cpu_ms"),
            "loadgen_cpu_ms": weighted("loadgen_cpu_ms"), "errors": sum(p.errors for p in mine)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2, help="yibao's and the TPC-B app's server processes")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0, help="at least, per phase")  # float-ok: a duration
    ap.add_argument("--min-samples", type=int, default=500, help="at least, per phase: what its p99 rests on")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of untimed traffic per server")  # float-ok
    ap.add_argument("--n", type=int, default=1_000_000, help="settlements of the grown database's history")
    ap.add_argument("--per-region", type=int, default=50_000, help="persons per region (60 %% employees)")
    ap.add_argument("--backlog-share", type=float, default=0.05,  # float-ok: a share of visits
                    help="of the history's visits, one more open visit with 4 unsettled lines")
    ap.add_argument("--jobs", type=int, default=2, help="loader processes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=int, default=10, help="pgbench scale of the TPC-B anchors")
    ap.add_argument("--db-prefix", default="bench_settle", help="databases <prefix>_grown, _fresh, _tpcb")
    ap.add_argument("--reuse", action="store_true", help="use the kept grown database (and pgbench's) if it "
                                                         "holds a preload of this size")
    ap.add_argument("--keep", action="store_true", help="keep the databases afterwards (for --reuse)")
    ap.add_argument("--load-only", action="store_true", help="make the databases, keep them, measure nothing")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--fresh", action="store_true", help="measure on a fresh database only (no history)")
    mode.add_argument("--with-fresh", action="store_true", help="measure the grown and a fresh database, "
                                                                "interleaved, and compare them")
    ap.add_argument("--json", default=str(ROOT / "var" / "bench-settle.json"))
    args = ap.parse_args()
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench is needed (Debian: postgresql-client)")

    started = datetime.now()
    print(f"settle bench {started:%Y-%m-%d %H:%M:%S}: {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; clients {args.clients}, server workers "
          f"{args.workers}, rounds {args.rounds}, phases >= {args.seconds:g} s and >= {args.min_samples} samples",
          flush=True)
    grown, fresh, tpcb = (f"{args.db_prefix}_{k}" for k in ("grown", "fresh", "tpcb"))
    targets = ([] if args.fresh else [("yibao-grown", grown)]) + (
        [("yibao-fresh", fresh)] if args.fresh or args.with_fresh else [])
    setup: dict[str, Any] = {}
    t0 = time.perf_counter()
    if not args.fresh:
        setup["grown"] = grown_database(args, grown)
    if args.fresh or args.with_fresh:
        setup["fresh"] = fresh_database(args, fresh)
    tpcb_database(args, tpcb)
    setup["seconds"] = time.perf_counter() - t0
    for name, db in targets:
        setup.setdefault("databases", {})[name] = describe(db)
        d = setup["databases"][name]
        print(f"  {name}: {d['bytes'] / 2**30:.1f} GiB; " + ", ".join(f"{k} {v:,}" for k, v in d["rows"].items()),
              flush=True)

    if args.load_only:
        print("databases kept; measure with --reuse")
        return
    folder = Path(tempfile.mkdtemp(prefix="bench_settle_"))
    run = format(int(time.time()) % 36**5, "x")[-5:]
    persons = [monthly.psn_no(AREA, k) for k in range(args.per_region) if monthly.is_employee(k)]
    random.Random(args.seed).shuffle(persons)
    servers: list[Server] = []
    phases: list[Phase] = []
    try:
        env = dict(os.environ, YIBAO_DATA_KEY=os.environ.get("YIBAO_DATA_KEY") or new_key())
        exe = str(Path(sys.executable).parent / "yibao")
        yibaos = []
        for k, (name, db) in enumerate(targets):
            server = start(name, db, [exe, "serve", "--workers", str(args.workers), "--no-access-log"],
                           {**env, "YIBAO_DATABASE_URL": f"{SERVER}/{db}"}, folder)
            servers.append(server)
            # each database its own half of the persons: the grown one's history is the same either way
            yibaos.append(Yibao(server, persons[k::len(targets)], args, run + str(k)))
        app_env = {**env, "TPCB_DATABASE_URL": make_url(f"{SERVER}/{tpcb}").set(drivername="postgresql")
                   .render_as_string(hide_password=False),
                   "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), env.get("PYTHONPATH", "")])}
        app_server = start("tpcb-app", tpcb, [sys.executable, str(ROOT / "bench" / "tpcb_app.py"), "--workers",
                                              str(args.workers), "--no-access-log"], app_env, folder)
        servers.append(app_server)
        app = TpcbApp(app_server, args)
        print(f"servers up (logs in {folder}); warming up {args.warmup:g} s each", flush=True)
        for y in yibaos:
            y.warm_up()
        app.warm_up()

        def anchors(rnd: int) -> None:
            phases.append(pgbench(rnd, tpcb, args, folder))
            phases.append(app.measure(rnd))

        for rnd in range(1, args.rounds + 1):
            print(f"round {rnd}/{args.rounds}: load average {os.getloadavg()[0]:.2f}", flush=True)
            order = yibaos if rnd % 2 else list(reversed(yibaos))
            if rnd % 2 == 0:
                anchors(rnd)
            for y in order:
                phases += y.measure(rnd)
            if rnd % 2:
                anchors(rnd)
    finally:
        for server in servers:
            stop(server)
        if not args.keep:
            for db in (grown, fresh, tpcb):
                admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    report(args, started, setup, phases, [name for name, _db in targets])
    shutil.rmtree(folder, ignore_errors=True)


def report(args: argparse.Namespace, started: datetime, setup: dict[str, Any], phases: list[Phase],
           targets: list[str]) -> None:
    rounds = sorted({p.round for p in phases})
    by = {(p.round, p.target, p.scenario): p for p in phases}
    ratios = []
    print("\nyibao / anchor, per round (rates):")
    for rnd in rounds:
        tpcb_rate = by[(rnd, "pgbench", "tpcb")].rate
        app_rate = by[(rnd, "tpcb-app", "tpcb")].rate
        for target in targets:
            for scenario in ("a", "b"):
                rate = by[(rnd, target, scenario)].rate
                ratios.append({"round": rnd, "target": target, "scenario": scenario, "rate": rate,
                               "x_pgbench": rate / tpcb_rate if tpcb_rate else None,
                               "x_tpcb_app": rate / app_rate if app_rate else None})
                print(f"  r{rnd} {target:12} ({scenario}) {rate:7.1f}/s = {rate / tpcb_rate:.3f} x pgbench TPC-B "
                      f"({tpcb_rate:.0f} tps), {rate / app_rate:.3f} x TPC-B app ({app_rate:.0f} tps)")
    summary = {f"{p['target']} {p['scenario']}": p for p in
               [pooled(phases, t, s) for t in targets for s in ("a", "b")]
               + [pooled(phases, "pgbench", "tpcb"), pooled(phases, "tpcb-app", "tpcb")]}
    anchor_pg, anchor_app = summary["pgbench tpcb"]["rate"], summary["tpcb-app tpcb"]["rate"]
    print(f"\noverall, {len(rounds)} rounds ({args.clients} clients, {args.workers} server workers; every phase >= "
          f"{args.seconds:g} s and >= {args.min_samples} samples):")
    print(f"  {'':22} {'rate':>9} {'x pgbench':>10} {'x app':>7} {'p99 ms per round (samples)':>36} "
          f"{'CPU ms per item: server':>24} {'db':>6} {'loadgen':>8}")
    for key, s in summary.items():
        p99s = " ".join(f"{v:.1f}({n})" if v is not None else "-" for v, n in
                        zip(s["p99_of_rounds"], s["samples_of_rounds"], strict=True))
        s["x_pgbench"], s["x_tpcb_app"] = s["rate"] / anchor_pg, s["rate"] / anchor_app

        def ms(v: float | None) -> str:  # float-ok
            return "-" if v is None else f"{v:.2f}"

        print(f"  {key:22} {s['rate']:8.1f}/s {s['x_pgbench']:10.3f} {s['x_tpcb_app']:7.3f} {p99s:>36} "
              f"{ms(s['server_cpu_ms']):>24} {ms(s['db_cpu_ms']):>6} {ms(s['loadgen_cpu_ms']):>8}"
              + (f"  errors {s['errors']}" if s["errors"] else ""))
    comparison = None
    if "yibao-grown" in targets and "yibao-fresh" in targets:
        comparison = {}
        for scenario in ("a", "b"):
            g, f = summary[f"yibao-grown {scenario}"], summary[f"yibao-fresh {scenario}"]
            comparison[scenario] = {
                "rate_grown_over_fresh": g["rate"] / f["rate"] if f["rate"] else None,
                "server_cpu_grown_over_fresh": (g["server_cpu_ms"] / f["server_cpu_ms"]
                                                if g["server_cpu_ms"] and f["server_cpu_ms"] else None),
                "db_cpu_grown_over_fresh": (g["db_cpu_ms"] / f["db_cpu_ms"]
                                            if g["db_cpu_ms"] and f["db_cpu_ms"] else None),
                "cpu_grown_over_fresh": ((g["server_cpu_ms"] + g["db_cpu_ms"]) / (f["server_cpu_ms"] + f["db_cpu_ms"])
                                         if g["server_cpu_ms"] and f["server_cpu_ms"] else None)}
            c = comparison[scenario]
            print(f"  grown / fresh ({scenario}): rate {c['rate_grown_over_fresh']:.3f}; CPU per item: server "
                  f"{c['server_cpu_grown_over_fresh']:.3f}, database {c['db_cpu_grown_over_fresh']:.3f}, both "
                  f"{c['cpu_grown_over_fresh']:.3f} (target: the cost within 10 %; on a busy box the CPU per item "
                  "is the steadier figure)")
    busy = [p.box_busy_cores for p in phases]
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; the box was "
          f"{min(busy):.2f}-{max(busy):.2f} of {os.cpu_count()} cores busy during the phases (ours and anyone "
          f"else's): {'a busy box, figures noisy' if max(p.load_before[0] for p in phases) > 2.5 else 'quiet'}")
    if any(p.errors for p in phases):
        print("ERRORS in some phases: see first_errors in the JSON")
    doc = {"started": started.isoformat(timespec="seconds"), "finished": datetime.now().isoformat(timespec="seconds"),
           "args": vars(args), "cores": os.cpu_count(), "loadavg_end": list(os.getloadavg()),
           "postgresql": admin("SHOW server_version")[0][0], "setup": setup,
           "phases": [asdict(p) for p in phases], "ratios_per_round": ratios, "overall": summary,
           "grown_over_fresh": comparison}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=str))
    print(f"figures: {path}")


if __name__ == "__main__":
    main()
