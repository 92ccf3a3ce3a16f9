"""The monthly cycle end to end (rules.md section 7; seed 004 art. 5, 25, 26, 30; seed 001 四; seed 000 cases (1)-(3);
seed 003 3260-3262), on SQLite and PostgreSQL.

Settlements are made over the wire (the HIS helpers of outpatient_world.py); the cycle is driven through the JSON
API with bearer tokens of the institution, the agency and the provincial centre, through the wire (2704 and
3260/3261/3262) and once through the CLI (`yibao declare`). The business date moves with YIBAO_TODAY.

The world: Shenzhen (440300) and Guangzhou (440100) in Guangdong, Taiyuan (140100, paying on days 21-25 and
confirming by day 5) and Datong (140200) in Shanxi. Every catalog is the conformance catalog (drug A 甲, drug B
乙 0.10 capped at 100.00, item C 丙), so EXAMPLE_A is medfee 250.00 / in scope 190.00 / self 30+20+10 and
EXAMPLE_B medfee 230.00 / in scope 200.00 / self 30.00 everywhere; the policies differ by insured region:

    insured region   310 employee outpatient            390 resident outpatient
    440300 Shenzhen  deductible 100.00, 0.60            deductible 0, 0.50
    440100 Guangzhou deductible 0, 0.70                 deductible 0, 0.50
    140100 Taiyuan   deductible 100.00, 0.60            deductible 0, 0.50
    140200 Datong    deductible 100.00, 0.60            deductible 0, 0.40
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from helpers import snapshot
from httpx import Response
from openpyxl import load_workbook
from outpatient_world import (
    EXAMPLE_A,
    EXAMPLE_B,
    MUTUAL_AID,
    His,
    Hub,
    base_doc,
    id_card,
    one_of,
    person,
    policy,
    region,
)
from sqlalchemy import select
from typer.testing import CliRunner

from yibao.api.tokens import issue, signing_key
from yibao.cli import app as cli_app
from yibao.platform.clearing import PAGE_LIMIT
from yibao.rules.monthly import insutype_class
from yibao.store.db import Store
from yibao.store.models import (
    AllocationItem,
    BankInstruction,
    Declaration,
    FundPosting,
    MutualAidClearing,
    Settlement,
)

D = Decimal
ZERO = D("0.00")

SZ, GZ, TY, DT = "440300", "440100", "140100", "140200"
GD, SX = "440000", "140000"
SZ_H, SZ_H2, GZ_H, TY_H = "H44030000301", "H44030000302", "H44010000301", "H14010000301"

SZ_EMP = "44030000000000000301"     # Shenzhen employee, 500.00 (worked example A at SZ_H)
SZ_EMP2 = "44030000000000000302"    # Shenzhen employee, 500.00, treated in Guangzhou
SZ_EMP3 = "44030000000000000303"    # Shenzhen employee, 500.00, treated at the other Shenzhen hospital
SZ_CHILD = "44030000000000000304"   # Shenzhen resident child, granted by GZ_PARENT (mutual aid across regions)
GZ_EMP = "44010000000000000301"     # Guangzhou employee, 1000.00, treated in Shenzhen
GZ_PARENT = "44010000000000000302"  # Guangzhou employee, 3000.00
TY_PARENT = "14010000000000000301"  # Taiyuan employee, 3000.00; grants TY_CHILD (quota 1000.00)
TY_CHILD = "14010000000000000302"   # Taiyuan resident child (worked example B)
TY_KID2 = "14010000000000000303"    # Taiyuan resident child, granted by DT_PARENT
DT_PARENT = "14020000000000000301"  # Datong employee, 2000.00

MARCH = "2026-03"
APRIL = "2026-04"


def hospital(code: str, admdvs: str, level: str = "3") -> dict[str, Any]:
    return {"code": code, "name": f"示例医院{code[-4:]}", "admdvs": admdvs, "kind": "hospital", "level": level,
            "xregion": "provincial", "internet": False, "secret": f"secret-{code.lower()}"}


def cert(area: str, born: str, seq: int) -> str:
    return id_card(f"{area}{born}{seq * 2 + 1:03d}")


def world_doc() -> dict[str, Any]:
    doc = base_doc()
    employee_sz, resident = policy("310", "100.00", "0.60", "5000.00"), policy("390", "0.00", "0.50", "800.00")
    doc["regions"] = [
        region(SZ, "深圳市(示例)", [employee_sz, resident], settings={"prepayment_initial": "1000.00"}),
        region(GZ, "广州市(示例)", [policy("310", "0.00", "0.70", "3000.00"), resident],
               settings={"prepayment_initial": "2000.00", "prepayment_months": "2", "prepayment_basis_months": "1"}),
        region(TY, "太原市(示例)", [employee_sz, resident],
               settings={"cycle_days": {"allocate": [21, 25]}, "clearing_confirm_last_day": 5,
                         "prepayment_initial": "800.00"}),
        region(DT, "大同市(示例)", [employee_sz, policy("390", "0.00", "0.40", "800.00")],
               settings={"prepayment_initial": "600.00"}),
    ]
    for r in doc["regions"]:
        r["mutual_aid"] = dict(MUTUAL_AID)
    doc["institutions"] = [hospital(SZ_H, SZ), hospital(SZ_H2, SZ), hospital(GZ_H, GZ), hospital(TY_H, TY, "2")]
    emp, res = "1101", "1402"
    doc["persons"] = [
        person(SZ_EMP, "深甲", cert("440301", "19900101", 1), "310", SZ, emp, "500.00"),
        person(SZ_EMP2, "深乙", cert("440301", "19910101", 2), "310", SZ, emp, "500.00"),
        person(SZ_EMP3, "深丙", cert("440301", "19920101", 3), "310", SZ, emp, "500.00"),
        person(SZ_CHILD, "深童", cert("440301", "20180101", 4), "390", SZ, res),
        person(GZ_EMP, "穗甲", cert("440106", "19850101", 1), "310", GZ, emp, "1000.00"),
        person(GZ_PARENT, "穗父", cert("440106", "19700101", 2), "310", GZ, emp, "3000.00"),
        person(TY_PARENT, "晋父", cert("140101", "19700101", 1), "310", TY, emp, "3000.00"),
        person(TY_CHILD, "晋童", cert("140101", "20180101", 2), "390", TY, res),
        person(TY_KID2, "晋幼", cert("140101", "20190101", 3), "390", TY, res),
        person(DT_PARENT, "同父", cert("140201", "19700101", 1), "310", DT, emp, "2000.00"),
    ]
    year = {"start": "2026-01-01", "end": "2026-12-31", "priority": 1}
    doc["mutual_aid"] = [
        {"authorizer": GZ_PARENT, "beneficiary": SZ_CHILD, "relation": "child", "quota": None, **year},
        {"authorizer": TY_PARENT, "beneficiary": TY_CHILD, "relation": "child", "quota": "1000.00", **year},
        {"authorizer": DT_PARENT, "beneficiary": TY_KID2, "relation": "child", "quota": None, **year},
    ]
    return doc


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The business date is the dataset's (2026-03-16) until a test moves it; tokens use the database's key."""
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


class Month:
    """The platform over world_doc(): the HIS side of each hospital, the clock, and the JSON API."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch):
        self.hub = Hub(store)
        self.hub.load(lambda doc: (doc.clear(), doc.update(world_doc())))
        self.store = store
        self.mp = monkeypatch
        self.key = signing_key(store)
        self.today = "2026-03-16"

    def his(self, code: str) -> His:
        return self.hub.his(code)

    def who(self, psn_no: str) -> dict[str, Any]:
        return self.hub.who(psn_no)

    def on(self, day: str) -> None:
        self.today = day
        self.mp.setenv("YIBAO_TODAY", day)

    # -- the HIS side ------------------------------------------------------------------------------------

    def settle(self, code: str, psn_no: str, items: list[tuple[str, str, str]], acct: str = "1") -> dict[str, Any]:
        visit = self.his(code).visit(self.who(psn_no), items, acct_used_flag=acct)
        info = one_of(visit.settle("2207A"))
        info["visit"] = visit
        return info

    def cancel(self, info: dict[str, Any]) -> str:
        """Cancel a settlement (2208); the id of its negative record."""
        info["visit"].cancel(info["setl_id"])
        with self.store.unit_of_work() as s:
            return str(s.scalars(select(Settlement.setl_id).where(Settlement.init_setl_id == info["setl_id"])).one())

    def wire(self, code: str, infno: str, data: dict[str, Any]) -> dict[str, Any]:
        return self.his(code).ok(infno, data)["output"]

    def wire_refused(self, code: str, infno: str, data: dict[str, Any]) -> str:
        his = self.his(code)
        his.client.sign_no(renew=True)  # a sign-in for today's business date, outside the snapshot
        return his.refused(infno, data)

    # -- the API ----------------------------------------------------------------------------------------

    def auth(self, kind: str, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue(self.key, kind, subject)}"}

    def call(self, method: str, path: str, who: tuple[str, str], status: int = 200, **kw: Any) -> Response:
        assert self.hub.http is not None
        reply = self.hub.http.request(method, "/api/v1" + path, headers=self.auth(*who), **kw)
        assert reply.status_code == status, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply

    def get(self, path: str, who: tuple[str, str], **params: Any) -> Any:
        return self.call("GET", path, who, params=params).json()

    def post(self, path: str, who: tuple[str, str], status: int = 200, **body: Any) -> Any:
        return self.call("POST", path, who, status, json=body or None).json()

    def refused(self, method: str, path: str, who: tuple[str, str], **kw: Any) -> str:
        """An API call refused by a rule (422) that writes nothing; its message."""
        before = snapshot(self.store)
        reply = self.call(method, path, who, 422, **kw)
        assert snapshot(self.store) == before, f"the refused {method} {path} wrote business state"
        return str(reply.json()["detail"])


def institution(code: str) -> tuple[str, str]:
    return ("institution", code)


def agency(admdvs: str) -> tuple[str, str]:
    return ("agency", admdvs)


def centre(province: str) -> tuple[str, str]:
    return ("centre", province)


@pytest.fixture
def month(store: Store, monkeypatch: pytest.MonkeyPatch) -> Month:
    return Month(store, monkeypatch)


# -- reading the settlements themselves, to check every table against them ------------------------------


def settlements(store: Store, code: str, since: datetime | None, until: datetime) -> list[Settlement]:
    """The institution's settlements (negative records included) in [since, until), coordination claims out."""
    with store.unit_of_work() as s:
        q = select(Settlement).where(Settlement.fixmedins_code == code, Settlement.setl_time < until,
                                     Settlement.kind != "coordination")
        if since is not None:
            q = q.where(Settlement.setl_time >= since)
        rows = list(s.scalars(q))
        s.expunge_all()
        return rows


def sums(rows: list[Settlement], cls: str | None = None, insu: str | None = None) -> dict[str, Any]:
    rows = [r for r in rows if (cls is None or insutype_class(r.insutype) == cls) and (insu is None or
                                                                                       r.insu_admdvs == insu)]
    out: dict[str, Any] = {"setl_cnt": len(rows), "refd_cnt": sum(r.refd_setl_flag == "1" for r in rows)}
    for key in ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"):
        out[key] = sum((getattr(r, key) for r in rows), ZERO)
    out["payable"] = out["fund_pay_sumamt"] + out["acct_pay"]
    return out


def m(value: Any) -> Decimal:
    """An amount of an API answer (JSON numbers or text) as an exact decimal."""
    return D(str(value))


def totals(report: dict[str, Any]) -> dict[str, Any]:
    """A JSON report's 合计 as numbers."""
    return {k: (v if isinstance(v, int) else D(v)) for k, v in report["totals"].items()}


def xlsx_total(content: bytes, title: str) -> Decimal:
    """The 合计 row of an xlsx table under the column titled `title` (the file opens with openpyxl)."""
    sheet = load_workbook(io.BytesIO(content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(values) if title in row)
    total = next(row for row in values[header + 1:] if "合计" in row)
    return D(str(total[values[header].index(title)])).quantize(D("0.01"))


def outbox(store: Store, code: str = "fund_031") -> list[tuple[str, str, Decimal, str | None]]:
    with store.unit_of_work() as s:
        rows = s.scalars(select(BankInstruction).where(BankInstruction.code == code)
                         .order_by(BankInstruction.created_at, BankInstruction.instruction_id))
        return sorted((b.psn_no, b.acct_admdvs, b.amount, b.payee) for b in rows)


def check_invariants(store: Store) -> None:
    """For every declaration: payable = SUM(fund_pay_sumamt + acct_pay) over the settlements it covers; once
    reviewed, its plan sums to the approved amount; and every centre's view balances."""
    with store.unit_of_work() as s:
        decls = list(s.scalars(select(Declaration)))
        seen: dict[str, str] = {}
        for d in decls:
            q = select(Settlement).where(Settlement.fixmedins_code == d.fixmedins_code,
                                         Settlement.setl_time < d.covers_to, Settlement.kind != "coordination")
            if d.covers_from is not None:
                q = q.where(Settlement.setl_time >= d.covers_from)
            rows = list(s.scalars(q))
            assert d.payable == sum((r.fund_pay_sumamt + r.acct_pay for r in rows), ZERO), d.decl_id
            assert d.setl_cnt == len(rows), d.decl_id
            for r in rows:  # declared once, ever
                assert r.setl_id not in seen, f"{r.setl_id} is in {seen.get(r.setl_id)} and {d.decl_id}"
                seen[r.setl_id] = d.decl_id
            if d.status != "declared":
                plan = sum((i.amount for i in s.scalars(select(AllocationItem)
                                                         .where(AllocationItem.decl_id == d.decl_id))), ZERO)
                assert plan == d.approved == d.payable + d.redeclared - d.rejected - d.deducted, d.decl_id
        provinces = {p for (p,) in s.execute(select(FundPosting.province).distinct())}
        for province in provinces:
            postings = list(s.scalars(select(FundPosting).where(FundPosting.province == province)))
            assert sum((p.amount for p in postings), ZERO) == 0
            bank = sum((p.amount for p in postings if p.account == "bank"), ZERO)
            held = -sum((p.amount for p in postings if p.account.startswith("advance:")), ZERO)
            assert bank == held, province
            assert all(p.account == "bank" or p.account[len("advance:"):][:2] == province[:2] for p in postings)


def iter_ids(rows: list[dict[str, Any]]) -> Iterator[str]:
    for r in rows:
        yield str(r["setl_id"])


# -- the Guangdong month, end to end ---------------------------------------------------------------------


def test_guangdong_month_end_to_end(month: Month) -> None:
    """March 2026 in Guangdong: settlements (a cancellation the same day, one the next month, mutual aid drawn
    on another region's account, cross-region visitors both ways) → declaration on April 2 (API and CLI) → 2704
    → 3260/3261/3262 on April 3 → review on April 11 with one rejection and one deduction, the tables → the
    centre's initial prepayment → allocation on April 21 (fund_031) → mutual aid between regions → the month's
    clearing of the advances → April's declaration on May 5 with the cancellation and the agreed rejection."""
    store = month.store
    # ---- March 16: the month's settlements -------------------------------------------------------------
    # s1 Shenzhen employee at SZ_H, worked example A: fund 54.00, account 196.00 (payable 250.00)
    s1 = month.settle(SZ_H, SZ_EMP, EXAMPLE_A)
    # s2 Shenzhen resident child, example B by Shenzhen's resident policy: fund 100.00; the 130.00 left is paid
    #    by the Guangzhou parent's account (mutual aid across regions, seed 000 case (1))
    s2 = month.settle(SZ_H, SZ_CHILD, EXAMPLE_B)
    # s3 Guangzhou employee at SZ_H (in-province cross-region; Guangzhou's 0.70): fund 133.00, account 117.00
    s3 = month.settle(SZ_H, GZ_EMP, EXAMPLE_A)
    # s4 the same, example B without the account: fund 140.00, cash 90.00 (payable 140.00)
    s4 = month.settle(SZ_H, GZ_EMP, EXAMPLE_B, acct="0")
    # s5 Shenzhen employee again (deductible met): fund 120.00, account 110.00, cancelled the same day
    s5 = month.settle(SZ_H, SZ_EMP, EXAMPLE_B)
    s5_neg = month.cancel(s5)
    # s6 the same figures as s5, cancelled in April: in March's declaration, its negative record in April's
    s6 = month.settle(SZ_H, SZ_EMP, EXAMPLE_B)
    # s7 Shenzhen employee treated in Guangzhou (Shenzhen's policy): fund 54.00, account 196.00
    s7 = month.settle(GZ_H, SZ_EMP2, EXAMPLE_A)
    # s8 Shenzhen employee at the other Shenzhen hospital: fund 54.00, account 196.00
    s8 = month.settle(SZ_H2, SZ_EMP3, EXAMPLE_A)
    figures = {k: (s["fund_pay_sumamt"], s["acct_pay"], s["acct_mulaid_pay"], s["psn_cash_pay"])
               for k, s in {"s1": s1, "s2": s2, "s3": s3, "s4": s4, "s5": s5, "s6": s6, "s7": s7, "s8": s8}.items()}
    assert figures == {
        "s1": (D("54.00"), D("196.00"), ZERO, ZERO), "s2": (D("100.00"), D("130.00"), D("130.00"), ZERO),
        "s3": (D("133.00"), D("117.00"), ZERO, ZERO), "s4": (D("140.00"), ZERO, ZERO, D("90.00")),
        "s5": (D("120.00"), D("110.00"), ZERO, ZERO), "s6": (D("120.00"), D("110.00"), ZERO, ZERO),
        "s7": (D("54.00"), D("196.00"), ZERO, ZERO), "s8": (D("54.00"), D("196.00"), ZERO, ZERO)}
    assert (s2["acct_admdvs"], s2["acct_mulaid_admdvs"], s2["insu_admdvs"]) == ("", GZ, SZ)

    # ---- April 2: s6 cancelled; a new April settlement; March declared ------------------------------------
    month.on("2026-04-02")
    s6_neg = month.cancel(s6)
    # s9 Shenzhen employee in April (deductible met, fund used 54.00): fund 114.00, account 136.00
    s9 = month.settle(SZ_H, SZ_EMP, EXAMPLE_A)
    assert (s9["fund_pay_sumamt"], s9["acct_pay"]) == (D("114.00"), D("136.00"))

    decl = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=MARCH)
    # s1 s2 s3 s4 s5 s5' s6: 7 rows, one negative; payable 250+230+250+140+230-230+230 = 1100.00
    assert (decl["decl_id"], decl["status"], decl["rolled_months"], decl["setl_cnt"]) == (
        f"D{SZ_H}202603", "declared", [], 7)
    assert {k: m(decl[k]) for k in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay",
                                    "psn_cash_pay", "payable")} == {
        "medfee_sumamt": D("1190.00"), "fund_pay_sumamt": D("547.00"), "acct_pay": D("553.00"),
        "acct_mulaid_pay": D("130.00"), "psn_cash_pay": D("90.00"), "payable": D("1100.00")}
    # the CLI declares the other hospitals' March
    cli = CliRunner()
    month.mp.setenv("YIBAO_DATABASE_URL", str(store.engine.url.render_as_string(hide_password=False)))
    result = cli.invoke(cli_app, ["declare", SZ_H2, MARCH])
    assert result.exit_code == 0, result.output
    by_cli = json.loads(result.output, parse_float=D)
    assert (by_cli["decl_id"], by_cli["setl_cnt"], by_cli["payable"]) == (f"D{SZ_H2}202603", 1, D("250.00"))
    month.post("/institution/declarations", institution(GZ_H), 201, setl_ym="202603")
    check_invariants(store)

    # ---- 2704: the declared details, with the mutual-aid fields, paged and filtered -----------------------
    out = month.wire(SZ_H, "2704", {"data": {"setl_ym": "202603", "page_num": 1, "page_size": 5}})
    assert (out["total"], len(out["data"]), out["decl_id"], out["decl_stas"]) == (7, 5, decl["decl_id"], "declared")
    rest = month.wire(SZ_H, "2704", {"data": {"setl_ym": "202603", "page_num": 2, "page_size": 5}})["data"]
    rows = out["data"] + rest
    assert sorted(iter_ids(rows)) == sorted([s1["setl_id"], s2["setl_id"], s3["setl_id"], s4["setl_id"],
                                             s5["setl_id"], s5_neg, s6["setl_id"]])
    assert sum((r["fund_pay_sumamt"] + r["acct_pay"] for r in rows), ZERO) == D("1100.00")
    child = next(r for r in rows if r["setl_id"] == s2["setl_id"])
    assert (child["acct_mulaid_pay"], child["acct_admdvs"], child["acct_mulaid_admdvs"], child["insu_admdvs"],
            child["psn_no"], child["insutype"]) == (D("130.00"), "", GZ, SZ, SZ_CHILD, "390")
    own = next(r for r in rows if r["setl_id"] == s1["setl_id"])
    assert (own["acct_mulaid_pay"], own["acct_admdvs"], own["acct_mulaid_admdvs"], own["insu_admdvs"]) == (
        ZERO, SZ, "", SZ)
    negative = next(r for r in rows if r["setl_id"] == s5_neg)
    assert (negative["refd_setl_flag"], negative["fund_pay_sumamt"], negative["acct_pay"]) == (
        "1", D("-120.00"), D("-110.00"))
    guangzhou = month.wire(SZ_H, "2704", {"data": {"setl_ym": "2026-03", "insu_admdvs": GZ}})
    assert sorted(iter_ids(guangzhou["data"])) == sorted([s3["setl_id"], s4["setl_id"]])
    assert [r["setl_id"] for r in month.wire(SZ_H, "2704", {"data": {"setl_ym": "202603", "insutype": "390"}})[
        "data"]] == [s2["setl_id"]]
    # another institution sees only its own declaration
    assert [r["setl_id"] for r in month.wire(SZ_H2, "2704", {"data": {"setl_ym": "202603"}})["data"]] == [
        s8["setl_id"]]

    # ---- April 3: cross-region clearing details (3260), confirmed (3261), rolled back (3262), confirmed again --
    month.on("2026-04-03")
    extract = month.wire(SZ_H, "3260", {"data": {"trt_year": 2026, "trt_month": 3, "startrow": 1}})
    assert (extract["totalrow"], extract["cnfm_stas"]) == (2, "0")
    assert [r["seqno"] for r in extract["data"]] == [1, 2]  # in time order (s3 and s4 may share a second)
    assert sorted((r["setl_sn"], r["optins_pay_sumamt"], r["mdtrtarea"], r["medins_no"], r["insu_admdvs"])
                  for r in extract["data"]) == sorted([(s3["setl_id"], D("250.00"), SZ, SZ_H, GZ),
                                                       (s4["setl_id"], D("140.00"), SZ, SZ_H, GZ)])
    extract["data"].sort(key=lambda r: r["setl_sn"] != s3["setl_id"])  # s3 first: confirmed, s4 left out

    def answer(rows: list[dict[str, Any]], flags: str) -> dict[str, Any]:
        return {"data": {"trt_year": 2026, "trt_month": 3, "totalrow": len(rows)},
                "detail": [{k: r[k] for k in ("certno", "mdtrt_id", "mdtrt_setl_time", "setl_sn", "medfee_sumamt",
                                              "optins_pay_sumamt")} | {"cnfm_flag": f}
                           for r, f in zip(rows, flags, strict=True)]}

    first = month.wire(SZ_H, "3261", answer(extract["data"], "10"))["result"]
    assert (first["cnfm_cnt"], first["cnfm_amt"], first["uncnfm_cnt"], first["uncnfm_amt"]) == (
        1, D("250.00"), 1, D("140.00"))
    err = month.wire_refused(SZ_H, "3261", answer(extract["data"], "11"))
    assert err.startswith("input.data: 2026-03 is already confirmed by transaction " + first["otransid"]), err
    back = month.wire(SZ_H, "3262", {"data": {"trt_year": 2026, "trt_month": 3, "otransid": first["otransid"]}})
    assert back["result"] == {"otransid": first["otransid"], "stas": "rolled_back"}
    err = month.wire_refused(SZ_H, "3262", {"data": {"trt_year": 2026, "trt_month": 3,
                                                     "otransid": first["otransid"]}})
    assert "was already rolled back" in err
    second = month.wire(SZ_H, "3261", answer(extract["data"], "11"))["result"]
    assert (second["cnfm_cnt"], second["cnfm_amt"], second["uncnfm_cnt"]) == (2, D("390.00"), 0)
    assert month.wire(SZ_H, "3260", {"data": {"trt_year": 2026, "trt_month": 3}})["otransid"] == second["otransid"]
    gz_extract = month.wire(GZ_H, "3260", {"data": {"trt_year": 2026, "trt_month": 3}})["data"]
    assert [r["setl_sn"] for r in gz_extract] == [s7["setl_id"]]
    month.wire(GZ_H, "3261", answer(gz_extract, "1"))
    # 440100 treated for 440300: 250.00; 440300 for 440100: 390.00; 440300 owes 440100 -140.00, i.e. is owed 140.00
    balances = month.get(f"/centre/reports/{MARCH}/clearing-balances", centre(GD))
    assert balances["rows"] == [{"region_a": GZ, "region_b": SZ, "a_treated_for_b_cnt": 1,
                                 "a_treated_for_b": "250.00", "b_treated_for_a_cnt": 2, "b_treated_for_a": "390.00",
                                 "net_b_owes_a": "-140.00"}]
    check_invariants(store)

    # ---- April 11-20: review by the treatment regions' agencies ------------------------------------------
    month.on("2026-04-11")
    path = f"/agency/declarations/{decl['decl_id']}"
    rejected = month.post(f"{path}/rejections", agency(SZ), 201, setl_id=s4["setl_id"], reason="超量开药，不予支付")
    assert (rejected["setl_id"], m(rejected["amount"]), rejected["status"]) == (s4["setl_id"], D("140.00"),
                                                                                "rejected")
    err = month.refused("POST", f"{path}/rejections", agency(SZ), json={"setl_id": s5["setl_id"], "reason": "x"})
    assert err.startswith(f"setl_id: settlement {s5['setl_id']} is cancelled"), err
    deducted = month.post(f"{path}/deductions", agency(SZ), 201, amount="20.00", reason="串换项目收费(第三十条)",
                          setl_id=s3["setl_id"])
    assert (m(deducted["amount"]), deducted["insu_admdvs"]) == (D("20.00"), GZ)
    # another region's agency cannot touch it
    foreign = month.call("POST", f"{path}/finish", agency(GZ), 404).json()  # looks like an unknown one
    assert foreign["detail"].startswith("decl_id: no declaration")
    done = month.post(f"{path}/finish", agency(SZ))
    # approved = 1100.00 declared - 140.00 rejected - 20.00 deducted = 940.00
    assert (done["status"], m(done["approved"]), m(done["rejected"]), m(done["deducted"])) == (
        "reviewed", D("940.00"), D("140.00"), D("20.00"))
    # the plan: Shenzhen's agency pays its own insured (with the mutual aid drawn on Guangzhou accounts), the
    # centre pays for the Guangzhou insured: fund 273.00 - 140.00 - 20.00 = 113.00 and account 117.00
    plan_items = [(i["payer"], i["charged_admdvs"], i["part"], i["insutype"], m(i["amount"])) for i in done["plan"]]
    assert sorted(plan_items) == [
        ("agency", GZ, "mulaid", "390", D("130.00")), ("agency", SZ, "acct", "310", D("306.00")),
        ("agency", SZ, "fund", "310", D("174.00")), ("agency", SZ, "fund", "390", D("100.00")),
        ("centre", GZ, "acct", "310", D("117.00")), ("centre", GZ, "fund", "310", D("113.00"))]
    assert sum((m(i["amount"]) for i in done["plan"]), ZERO) == D("940.00")
    month.post(f"/agency/declarations/D{SZ_H2}202603/finish", agency(SZ))
    assert m(month.post(f"/agency/declarations/D{GZ_H}202603/finish", agency(GZ))["approved"]) == D("250.00")
    assert month.refused("POST", f"{path}/finish", agency(SZ)).endswith("is reviewed: its review is finished")

    # ---- the tables, each tied out to the settlements -----------------------------------------------------
    march = settlements(store, SZ_H, None, datetime(2026, 4, 1))
    assert len(march) == 7
    for cls in ("employee", "resident"):
        want = sums(march, cls)
        for level in (1, 2, 3):
            table = month.get(f"/institution/reports/{MARCH}/declaration-{level}", institution(SZ_H), cls=cls)
            got = totals(table)
            for key in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay",
                        "payable"):
                assert got[key] == want[key], (cls, level, key)
            assert got.get("setl_cnt", want["setl_cnt"]) == want["setl_cnt"]
        level2 = month.get(f"/institution/reports/{MARCH}/declaration-2", institution(SZ_H), cls=cls)
        for row in level2["rows"]:
            assert D(row["payable"]) == sums(march, cls, row["insu_admdvs"])["payable"]
    assert sums(march, "employee")["payable"] == D("870.00") and sums(march, "resident")["payable"] == D("230.00")
    notes = month.get(f"/institution/reports/{MARCH}/review-notes", institution(SZ_H))
    assert [(r["item"], r["setl_id"], D(r["amount"])) for r in notes["rows"]] == [
        ("申报", "", D("870.00")), ("拒付", s4["setl_id"], D("-140.00")), ("违规扣款", s3["setl_id"], D("-20.00"))]
    assert notes["rows"][1]["reason"] == "超量开药，不予支付" and totals(notes)["amount"] == D("710.00")
    mine = month.get(f"/institution/reports/{MARCH}/review-payment", institution(SZ_H))
    assert {r["fixmedins_code"] for r in mine["rows"]} == {SZ_H}
    assert [(r["insu_admdvs"], D(r["declared"]), D(r["rejected"]), D(r["deducted"]), D(r["approved"]))
            for r in mine["rows"]] == [(GZ, D("390.00"), D("140.00"), D("20.00"), D("230.00")),
                                       (SZ, D("480.00"), ZERO, ZERO, D("480.00"))]
    other = month.get(f"/institution/reports/{MARCH}/review-payment", institution(SZ_H2))
    assert [(r["fixmedins_code"], D(r["approved"])) for r in other["rows"]] == [(SZ_H2, D("250.00"))]
    region_table = month.get(f"/agency/reports/{MARCH}/review-payment", agency(SZ))
    assert {r["fixmedins_code"] for r in region_table["rows"]} == {SZ_H, SZ_H2}
    h2 = sums(settlements(store, SZ_H2, None, datetime(2026, 4, 1)), "employee")
    assert totals(region_table)["declared"] == sums(march, "employee")["payable"] + h2["payable"] == D("1120.00")
    assert totals(region_table)["approved"] == D("960.00")  # 710.00 + 250.00
    summary = month.get(f"/agency/reports/{MARCH}/review-summary", agency(SZ))
    assert [(r["insu_admdvs"], r["setl_cnt"], D(r["approved"])) for r in summary["rows"]] == [
        (GZ, 2, D("230.00")), (SZ, 5, D("730.00"))]
    plan = {cls: month.get(f"/agency/reports/{MARCH}/allocation-plan", agency(SZ), cls=cls) for cls in
            ("employee", "resident")}
    assert (totals(plan["employee"])["amount"], totals(plan["resident"])["amount"]) == (D("960.00"), D("230.00"))
    # xlsx and pdf of the same tables: the 合计 row is the settlements' sum
    level3 = month.call("GET", f"/institution/reports/{MARCH}/declaration-3", institution(SZ_H),
                        params={"format": "xlsx"})
    assert level3.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert xlsx_total(level3.content, "申报金额") == D("870.00")
    assert xlsx_total(level3.content, "医疗费总额") == sums(march, "employee")["medfee_sumamt"]
    payment_xlsx = month.call("GET", f"/agency/reports/{MARCH}/review-payment", agency(SZ), params={"format": "xlsx"})
    assert xlsx_total(payment_xlsx.content, "审核支付金额") == D("960.00")
    pdf = month.call("GET", f"/agency/declarations/{decl['decl_id']}/reports/review-notes", agency(SZ),
                     params={"format": "pdf"})
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    # an institution gets its own tables only; an agency its own region's
    month.call("GET", f"/agency/declarations/{decl['decl_id']}/reports/declaration-3", institution(SZ_H2), 403)
    month.call("GET", f"/agency/reports/{MARCH}/review-payment", institution(SZ_H), 403)
    month.call("GET", f"/agency/declarations/{decl['decl_id']}/reports/declaration-3", agency(GZ), 404)
    month.call("GET", f"/institution/reports/{MARCH}/review-payment", institution(TY_H), 404)
    month.call("GET", "/centre/ledger", agency(SZ), 403)
    assert month.hub.http is not None
    assert month.hub.http.get(f"/api/v1/institution/reports/{MARCH}/declaration-1").status_code == 401

    # the rejection is agreed after the review: it is paid with SZ_H's next declaration
    assert month.post(f"/agency/rejections/{rejected['rejection_id']}/agree", agency(SZ))["status"] == "agreed"
    check_invariants(store)

    # ---- the centre's initial prepayment (seed 004 art. 5): each Guangdong region advances its initial sum ----
    first_clearing = month.post(f"/centre/clearing/{MARCH}", centre(GD))
    assert [(r["admdvs"], m(r["paid_in"]), m(r["target"])) for r in first_clearing] == [
        (GZ, D("2000.00"), D("2000.00")), (SZ, D("1000.00"), D("1000.00"))]  # Shanxi's regions are not Guangdong's
    ledger = month.get("/centre/ledger", centre(GD))
    assert (m(ledger["bank"]), {k: m(v) for k, v in ledger["advances"].items()}, ledger["balanced"]) == (
        D("3000.00"), {GZ: D("2000.00"), SZ: D("1000.00")}, True)

    # ---- April 21 to 30: allocation by bank instructions -----------------------------------------------------
    month.on("2026-04-20")
    early = month.post(f"/agency/allocations/{MARCH}", agency(SZ))
    assert early["paid"] == [] and {w["decl_id"] for w in early["waiting"]} == {decl["decl_id"], f"D{SZ_H2}202603"}
    assert early["waiting"][0]["why"] == "the allocation of 2026-03 opens on 2026-04-21 (today is 2026-04-20)"
    month.on("2026-04-21")
    paid = month.post(f"/agency/allocations/{MARCH}", agency(SZ))
    assert sorted((p["fixmedins_code"], m(p["amount"])) for p in paid["paid"]) == [(SZ_H, D("710.00")),
                                                                                  (SZ_H2, D("250.00"))]
    assert month.refused("POST", f"/agency/allocations/{MARCH}", agency(GZ)).startswith(
        "setl_ym: nothing reviewed and unpaid for agency 440100 in 2026-03")
    paid = month.post(f"/centre/allocations/{MARCH}", centre(GD))
    assert sorted((p["fixmedins_code"], m(p["amount"])) for p in paid["paid"]) == [(GZ_H, D("250.00")),
                                                                                  (SZ_H, D("230.00"))]
    assert m(paid["total"]) == D("480.00")
    # fund_031 instructions: the payee is the institution; SZ_H gets 710.00 + 230.00 = 940.00, its approved sum
    assert outbox(store) == sorted([
        ("FUND-440100", GZ, D("2000.00"), "CENTRE-440000"), ("FUND-440300", SZ, D("1000.00"), "CENTRE-440000"),
        ("FUND-440300", SZ, D("710.00"), SZ_H), ("FUND-440300", SZ, D("250.00"), SZ_H2),
        ("CENTRE-440000", GD, D("230.00"), SZ_H), ("CENTRE-440000", GD, D("250.00"), GZ_H)])
    assert [d["status"] for d in month.get("/agency/declarations", agency(SZ), setl_ym=MARCH)] == ["allocated"] * 2

    # ---- mutual aid between regions: the centre pays Shenzhen what Guangzhou accounts paid, drawn == cleared ----
    cleared = month.post(f"/centre/mutual-aid/{MARCH}", centre(GD))
    assert [(r["acct_admdvs"], r["insu_admdvs"], m(r["drawn"]), m(r["cleared"])) for r in cleared] == [
        (GZ, SZ, D("130.00"), D("130.00"))]
    again = month.post(f"/centre/mutual-aid/{MARCH}", centre(GD))  # once per month and pair
    assert [(m(r["drawn"]), m(r["cleared"])) for r in again] == [(D("130.00"), D("130.00"))]
    assert ("CENTRE-440000", GD, D("130.00"), "FUND-440300") in outbox(store)
    with store.unit_of_work() as s:
        for row in s.scalars(select(MutualAidClearing)):
            assert row.drawn == row.cleared, (row.setl_ym, row.acct_admdvs, row.insu_admdvs)

    # ---- the month's clearing: each advance settled and topped up to its target ------------------------------
    # Guangzhou drew 230.00 + 130.00 = 360.00; target 2 x 360.00 (1 basis month) = 720.00; it held 1640.00: 920.00
    # back. Shenzhen drew 250.00; target 2 x 250.00 / 3 = 166.67, up to 167.00; it held 750.00: 583.00 back.
    settled = month.post(f"/centre/clearing/{MARCH}", centre(GD))
    assert [(r["admdvs"], m(r["held_before"]), m(r["drawn"]), m(r["target"]), m(r["paid_in"])) for r in settled] == [
        (GZ, D("1640.00"), D("360.00"), D("720.00"), D("-920.00")),
        (SZ, D("750.00"), D("250.00"), D("167.00"), D("-583.00"))]
    ledger = month.get("/centre/ledger", centre(GD))
    assert (m(ledger["bank"]), {k: m(v) for k, v in ledger["advances"].items()}, ledger["balanced"]) == (
        D("887.00"), {GZ: D("720.00"), SZ: D("167.00")}, True)
    mine_advance = month.get("/agency/advance", agency(GZ))
    assert (m(mine_advance["prepaid"]), m(mine_advance["drawn"]), m(mine_advance["held"])) == (
        D("1080.00"), D("360.00"), D("720.00"))
    voucher = month.get(f"/centre/reports/{MARCH}/transfer-voucher", centre(GD))
    assert [(r["admdvs"], m(r["paid_in"]), m(r["drawn"]), D(r["held"])) for r in voucher["rows"]] == [
        (GZ, D("1080.00"), D("360.00"), D("720.00")), (SZ, D("417.00"), D("250.00"), D("167.00"))]
    assert totals(voucher)["drawn"] == D("610.00")  # 480.00 allocated by the centre + 130.00 mutual aid
    breakdown = month.get(f"/centre/reports/{MARCH}/insurance-breakdown", centre(GD))
    assert [(r["charged_admdvs"], r["insutype"], r["part"], D(r["amount"])) for r in breakdown["rows"]] == [
        (GZ, "310", "acct", D("117.00")), (GZ, "310", "fund", D("113.00")),
        (SZ, "310", "acct", D("196.00")), (SZ, "310", "fund", D("54.00"))]
    assert totals(breakdown)["amount"] == D("480.00")
    aid = month.get(f"/centre/reports/{MARCH}/mutual-aid-clearing", centre(GD))
    assert [(r["acct_admdvs"], r["insu_admdvs"], m(r["drawn"]), D(r["cleared"]), D(r["difference"]))
            for r in aid["rows"]] == [(GZ, SZ, D("130.00"), D("130.00"), ZERO)]
    voucher_xlsx = month.call("GET", f"/centre/reports/{MARCH}/transfer-voucher", centre(GD),
                              params={"format": "xlsx"})
    assert xlsx_total(voucher_xlsx.content, "付款(拨付/共济)") == D("610.00")
    check_invariants(store)

    # ---- May 5: April's declaration takes s6's negative record, s9, and the agreed rejection of s4 ------------
    month.on("2026-05-05")
    april = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=APRIL)
    # s6' -230.00 + s9 250.00 = 20.00 payable; s4's 140.00 declared again
    assert (april["setl_cnt"], m(april["payable"]), m(april["redeclared"]), april["rolled_months"]) == (
        2, D("20.00"), D("140.00"), [])
    details = month.wire(SZ_H, "2704", {"data": {"setl_ym": "202604"}})["data"]
    assert sorted(iter_ids(details)) == sorted([s6_neg, s9["setl_id"]])
    assert sums(settlements(store, SZ_H, datetime(2026, 4, 1), datetime(2026, 5, 1)))["payable"] == D("20.00")
    month.on("2026-05-11")
    reviewed = month.post(f"/agency/declarations/{april['decl_id']}/finish", agency(SZ))
    # approved 20.00 + 140.00 = 160.00: Shenzhen's agency fund -120.00 + 114.00 = -6.00 and account
    # -110.00 + 136.00 = 26.00; the centre the 140.00 of s4's fund for Guangzhou
    assert m(reviewed["approved"]) == D("160.00")
    assert sorted((i["payer"], i["charged_admdvs"], i["part"], m(i["amount"])) for i in reviewed["plan"]) == [
        ("agency", SZ, "acct", D("26.00")), ("agency", SZ, "fund", D("-6.00")), ("centre", GZ, "fund", D("140.00"))]
    notes = month.get(f"/institution/reports/{APRIL}/review-notes", institution(SZ_H))
    assert [(r["item"], r["setl_id"], D(r["amount"])) for r in notes["rows"]] == [
        ("申报", "", D("20.00")), ("补报(前期拒付经协商)", s4["setl_id"], D("140.00"))]
    assert totals(notes)["amount"] == D("160.00")
    check_invariants(store)


# -- Taiyuan's local cycle (seed 001 四) --------------------------------------------------------------------


def test_taiyuan_local_cycle_with_its_days_and_mutual_aid_tables(month: Month) -> None:
    store = month.store
    # March 16 at the Taiyuan hospital, every visit by Taiyuan's or Datong's policy:
    # t1 Taiyuan child, example B: fund 100.00, 130.00 from the Taiyuan parent's account (local mutual aid)
    t1 = month.settle(TY_H, TY_CHILD, EXAMPLE_B)
    # t2 Taiyuan child, example B: fund 100.00, 130.00 from the Datong parent's account (cross-region mutual aid)
    t2 = month.settle(TY_H, TY_KID2, EXAMPLE_B)
    # t3 the Datong parent himself (in-province cross-region, Datong's policy): fund 54.00, account 196.00
    t3 = month.settle(TY_H, DT_PARENT, EXAMPLE_A)
    assert [(t["acct_mulaid_pay"], t["acct_mulaid_admdvs"], t["fund_pay_sumamt"]) for t in (t1, t2, t3)] == [
        (D("130.00"), TY, D("100.00")), (D("130.00"), DT, D("100.00")), (ZERO, "", D("54.00"))]

    month.on("2026-04-03")
    decl = month.post("/institution/declarations", institution(TY_H), 201, setl_ym=MARCH)
    assert (decl["setl_cnt"], m(decl["payable"]), m(decl["acct_mulaid_pay"])) == (3, D("710.00"), D("260.00"))

    # Taiyuan confirms its clearing details by day 5 (its clearing_confirm_last_day), not 8
    month.on("2026-04-05")
    rows = month.wire(TY_H, "3260", {"data": {"trt_year": "2026", "trt_month": "3"}})["data"]
    assert [(r["setl_sn"], r["insu_admdvs"], r["optins_pay_sumamt"]) for r in rows] == [
        (t3["setl_id"], DT, D("250.00"))]
    confirm = {"data": {"trt_year": 2026, "trt_month": 3, "totalrow": 1},
               "detail": [{"setl_sn": t3["setl_id"], "mdtrt_id": rows[0]["mdtrt_id"], "certno": rows[0]["certno"],
                           "medfee_sumamt": "250.00", "optins_pay_sumamt": "250.00", "cnfm_flag": "1"}]}
    otransid = month.wire(TY_H, "3261", confirm)["result"]["otransid"]
    month.on("2026-04-06")
    err = month.wire_refused(TY_H, "3262", {"data": {"trt_year": 2026, "trt_month": 3, "otransid": otransid}})
    assert err == ("input.data.trt_month: the clearing details of 2026-03 had to be confirmed or rolled back by "
                   "2026-04-05")

    month.on("2026-04-15")
    done = month.post(f"/agency/declarations/{decl['decl_id']}/finish", agency(TY))
    assert sorted((i["payer"], i["charged_admdvs"], i["part"], m(i["amount"])) for i in done["plan"]) == [
        ("agency", TY, "fund", D("200.00")), ("agency", TY, "mulaid", D("130.00")),
        ("agency", DT, "mulaid", D("130.00")), ("centre", DT, "acct", D("196.00")),
        ("centre", DT, "fund", D("54.00"))]
    # the local and the cross-region mutual-aid payment tables, printed beside the plan
    local = month.get(f"/agency/reports/{MARCH}/mutual-aid-local", agency(TY))
    xregion = month.get(f"/agency/reports/{MARCH}/mutual-aid-xregion", agency(TY))
    assert [(r["fixmedins_code"], r["insu_admdvs"], r["acct_admdvs"], D(r["amount"])) for r in local["rows"]] == [
        (TY_H, TY, TY, D("130.00"))]
    assert [(r["fixmedins_code"], r["insu_admdvs"], r["acct_admdvs"], D(r["amount"])) for r in xregion["rows"]] == [
        (TY_H, TY, DT, D("130.00"))]
    march = settlements(store, TY_H, None, datetime(2026, 4, 1))
    assert totals(local)["amount"] + totals(xregion)["amount"] == sums(march)["acct_mulaid_pay"]
    xlsx = month.call("GET", f"/agency/reports/{MARCH}/mutual-aid-xregion", agency(TY), params={"format": "xlsx"})
    assert xlsx_total(xlsx.content, "共济账户支付金额") == D("130.00")
    for cls in ("employee", "resident"):
        plan = month.get(f"/agency/reports/{MARCH}/allocation-plan", agency(TY), cls=cls)
        assert totals(plan)["amount"] == sums(march, cls)["payable"]  # nothing rejected: all of it
        table = month.get(f"/institution/reports/{MARCH}/declaration-1", institution(TY_H), cls=cls)
        assert totals(table)["payable"] == sums(march, cls)["payable"]

    # the Shanxi centre's initial prepayment: Taiyuan 800.00, Datong 600.00 (and nothing of Guangdong's)
    opening = month.post(f"/centre/clearing/{MARCH}", centre(SX))
    assert [(r["admdvs"], m(r["paid_in"])) for r in opening] == [(TY, D("800.00")), (DT, D("600.00"))]

    # Taiyuan pays on days 21-25
    month.on("2026-04-20")
    waiting = month.post(f"/agency/allocations/{MARCH}", agency(TY))
    assert waiting["paid"] == [] and waiting["waiting"] == [
        {"decl_id": decl["decl_id"], "why": "the allocation of 2026-03 opens on 2026-04-21 (today is 2026-04-20)"}]
    month.on("2026-04-25")
    paid = month.post(f"/agency/allocations/{MARCH}", agency(TY))
    assert [(p["fixmedins_code"], m(p["amount"])) for p in paid["paid"]] == [(TY_H, D("460.00"))]
    paid = month.post(f"/centre/allocations/{MARCH}", centre(SX))
    assert [(p["fixmedins_code"], m(p["amount"])) for p in paid["paid"]] == [(TY_H, D("250.00"))]
    cleared = month.post(f"/centre/mutual-aid/{MARCH}", centre(SX))
    assert [(r["acct_admdvs"], r["insu_admdvs"], m(r["drawn"]), m(r["cleared"])) for r in cleared] == [
        (DT, TY, D("130.00"), D("130.00"))]  # Taiyuan's own accounts are not cleared between regions
    # Datong drew 250.00 + 130.00 = 380.00: target 2 x 380.00 / 3 = 253.33, up to 254.00; it held 220.00: pays 34.00
    settled = month.post(f"/centre/clearing/{MARCH}", centre(SX))
    assert [(r["admdvs"], m(r["held_before"]), m(r["target"]), m(r["paid_in"])) for r in settled] == [
        (DT, D("220.00"), D("254.00"), D("34.00"))]
    ledger = month.get("/centre/ledger", centre(SX))
    assert (m(ledger["bank"]), {k: m(v) for k, v in ledger["advances"].items()}, ledger["balanced"]) == (
        D("1054.00"), {DT: D("254.00"), TY: D("800.00")}, True)
    assert m(month.get("/centre/ledger", centre(GD))["bank"]) == ZERO
    assert outbox(store) == sorted([
        ("FUND-140100", TY, D("800.00"), "CENTRE-140000"), ("FUND-140200", DT, D("600.00"), "CENTRE-140000"),
        ("FUND-140100", TY, D("460.00"), TY_H), ("CENTRE-140000", SX, D("250.00"), TY_H),
        ("CENTRE-140000", SX, D("130.00"), "FUND-140100"), ("FUND-140200", DT, D("34.00"), "CENTRE-140000")])
    assert month.get("/institution/declarations", institution(TY_H))[0]["status"] == "allocated"
    check_invariants(store)


# -- the calendar's refusals ---------------------------------------------------------------------------------


def test_each_step_outside_its_days_is_refused_and_writes_nothing(month: Month) -> None:
    s = month.settle(SZ_H, GZ_EMP, EXAMPLE_A)
    sz_h = institution(SZ_H)
    month.on("2026-03-31")
    err = month.refused("POST", "/institution/declarations", sz_h, json={"setl_ym": MARCH})
    assert err == ("setl_ym: the declaration of 2026-03 opens on 2026-04-01 (today is 2026-03-31); an undeclared "
                   "month rolls into the next month's declaration")
    month.on("2026-04-11")
    err = month.refused("POST", "/institution/declarations", sz_h, json={"setl_ym": MARCH})
    assert err.startswith("setl_ym: the declaration of 2026-03 closed on 2026-04-10 (today is 2026-04-11)")
    assert month.refused("POST", "/institution/declarations", sz_h, json={"setl_ym": "2026-13"}) == (
        "setl_ym: '2026-13' is not a month (YYYY-MM)")
    assert month.get("/institution/declarations", sz_h) == []

    month.on("2026-04-10")
    decl = month.post("/institution/declarations", sz_h, 201, setl_ym=MARCH)
    path = f"/agency/declarations/{decl['decl_id']}"
    err = month.refused("POST", f"{path}/rejections", agency(SZ), json={"setl_id": s["setl_id"], "reason": "r"})
    assert err == "decl_id: the review of 2026-03 opens on 2026-04-11 (today is 2026-04-10)"
    err = month.refused("POST", f"{path}/deductions", agency(SZ), json={"amount": "1.00", "reason": "r",
                                                                        "setl_id": s["setl_id"]})
    assert err == "decl_id: the review of 2026-03 opens on 2026-04-11 (today is 2026-04-10)"
    # clearing details are confirmed by day 8
    month.on("2026-04-09")
    rows = month.wire(SZ_H, "3260", {"data": {"trt_year": 2026, "trt_month": 3}})["data"]
    err = month.wire_refused(SZ_H, "3261", {"data": {"trt_year": 2026, "trt_month": 3, "totalrow": 1},
                                            "detail": [{**{k: rows[0][k] for k in ("mdtrt_id", "setl_sn",
                                                                                   "medfee_sumamt",
                                                                                   "optins_pay_sumamt")},
                                                        "cnfm_flag": "1"}]})
    assert err == "input.data.trt_month: the clearing details of 2026-03 had to be confirmed by 2026-04-08"
    month.on("2026-04-21")
    err = month.refused("POST", f"{path}/finish", agency(SZ))
    assert err == "decl_id: the review of 2026-03 closed on 2026-04-20 (today is 2026-04-21)"
    month.on("2026-04-20")
    deduction = {"amount": "133.01", "reason": "违规", "setl_id": s["setl_id"]}
    err = month.refused("POST", f"{path}/deductions", agency(SZ), json=deduction)
    assert err == "amount: 133.01 exceeds the fund payment still due for 440100/310 (133.00)"
    assert m(month.post(f"{path}/finish", agency(SZ))["approved"]) == D("250.00")
    # nothing to pay before day 21
    assert month.post(f"/centre/allocations/{MARCH}", centre(GD))["paid"] == []
    check_invariants(month.store)


# -- rollover and the once-only rule ----------------------------------------------------------------------------


def test_a_month_not_declared_in_time_rolls_into_the_next_declaration(month: Month) -> None:
    march = month.settle(SZ_H, SZ_EMP, EXAMPLE_A)                # fund 54.00 + account 196.00
    month.on("2026-04-11")                                       # March was never declared
    assert "closed on 2026-04-10" in month.refused("POST", "/institution/declarations", institution(SZ_H),
                                                   json={"setl_ym": MARCH})
    month.on("2026-04-15")
    april = month.settle(SZ_H, SZ_EMP, EXAMPLE_B)                # deductible met: fund 120.00 + account 110.00
    month.on("2026-05-05")
    decl = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=APRIL)
    assert (decl["rolled_months"], decl["setl_cnt"], m(decl["payable"])) == (["2026-03"], 2, D("480.00"))
    details = month.wire(SZ_H, "2704", {"data": {"setl_ym": "202604"}})["data"]
    assert sorted(iter_ids(details)) == sorted([march["setl_id"], april["setl_id"]])
    table = month.get(f"/institution/reports/{APRIL}/declaration-1", institution(SZ_H))
    assert {"label": "顺延月份", "value": "2026-03"} in table["meta"]
    assert totals(table)["payable"] == sums(settlements(month.store, SZ_H, None, datetime(2026, 5, 1)))["payable"]
    # March itself was never declared: its settlements are April's
    assert month.wire_refused(SZ_H, "2704", {"data": {"setl_ym": "202603"}}) == (
        f"input.data.setl_ym: {SZ_H} has not declared 2026-03")
    check_invariants(month.store)


def test_a_settlement_is_declared_once_and_a_later_cancellation_in_the_month_it_happens(month: Month) -> None:
    first = month.settle(SZ_H, SZ_EMP, EXAMPLE_A)                 # 250.00
    second = month.settle(SZ_H, GZ_EMP, EXAMPLE_A)                # 250.00
    month.on("2026-04-05")
    decl = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=MARCH)
    assert (decl["setl_cnt"], m(decl["payable"])) == (2, D("500.00"))
    month.on("2026-04-06")
    err = month.refused("POST", "/institution/declarations", institution(SZ_H), json={"setl_ym": "202603"})
    assert err == f"setl_ym: 2026-03 is already declared by {SZ_H}: a month is declared once"
    month.on("2026-04-07")
    negative = month.cancel(first)
    # the March declaration is what it was; the cancellation is April's
    march_rows = month.wire(SZ_H, "2704", {"data": {"setl_ym": "202603"}})
    assert (march_rows["total"], sorted(iter_ids(march_rows["data"]))) == (2, sorted([first["setl_id"],
                                                                                      second["setl_id"]]))
    month.on("2026-05-05")
    april = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=APRIL)
    assert (april["setl_cnt"], m(april["payable"]), m(april["medfee_sumamt"])) == (1, D("-250.00"), D("-250.00"))
    april_rows = month.wire(SZ_H, "2704", {"data": {"setl_ym": "202604"}})["data"]
    assert [(r["setl_id"], r["refd_setl_flag"]) for r in april_rows] == [(negative, "1")]
    mine = month.get("/institution/declarations", institution(SZ_H))
    assert [(d["setl_ym"], m(d["payable"])) for d in mine] == [(MARCH, D("500.00")), (APRIL, D("-250.00"))]
    check_invariants(month.store)


# -- 2704 and 3260 paging, filters, and what another institution sees ---------------------------------------


CLONES = itertools.count(1)


def clone(store: Store, setl_id: str, count: int, **change: Any) -> list[str]:
    """Copies of a settlement a second apart (new ids): volume for the paging tests without 5 messages each."""
    with store.unit_of_work() as s:
        original = s.get(Settlement, setl_id)
        assert original is not None
        made = []
        for k in range(1, count + 1):
            copy = Settlement(**{c.name: getattr(original, c.name) for c in Settlement.__table__.columns})
            copy.setl_id = f"{setl_id[:18]}C{next(CLONES):011d}"  # a counter: two clones never share an id
            copy.setl_time = original.setl_time.replace(microsecond=0) + timedelta(seconds=k)
            for key, value in change.items():
                setattr(copy, key, value)
            s.add(copy)
            made.append(copy.setl_id)
        return made


def test_2704_and_3260_page_filter_and_show_an_institution_only_its_own(month: Month) -> None:
    store = month.store
    local = month.settle(SZ_H, SZ_EMP, EXAMPLE_A)
    visitor = month.settle(SZ_H, GZ_EMP, EXAMPLE_A)              # fund 133.00 + account 117.00
    clones = clone(store, visitor["setl_id"], 104)
    # a sporadic-claim settlement (kind coordination) is paid to the person, not declared nor cleared
    claim = clone(store, local["setl_id"], 1, kind="coordination", insu_admdvs=GZ)[0]
    month.on("2026-04-02")
    decl = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=MARCH)
    assert (decl["setl_cnt"], m(decl["payable"])) == (106, D("250.00") + 105 * D("250.00"))

    pages = [month.wire(SZ_H, "2704", {"data": {"setl_ym": "202603", "page_num": n, "page_size": 100}})
             for n in (1, 2, 3)]
    assert [(p["total"], len(p["data"])) for p in pages] == [(106, 100), (106, 6), (106, 0)]
    ids = [r["setl_id"] for p in pages for r in p["data"]]
    assert len(set(ids)) == 106 and claim not in ids and set(clones) <= set(ids)
    assert ids == [r["setl_id"] for r in month.wire(SZ_H, "2704", {"data": {"setl_ym": "2026-03",
                                                                             "page_size": 1000}})["data"]]
    assert month.wire(SZ_H, "2704", {"data": {"setl_ym": "202603", "insu_admdvs": SZ}})["total"] == 1
    assert month.wire(SZ_H, "2704", {"data": {"setl_ym": "202603", "insutype": "390"}})["total"] == 0
    assert month.wire(SZ_H, "2704", {"data": {"setl_ym": "202603", "clr_type": local["clr_type"],
                                              "insu_admdvs": GZ}})["total"] == 105
    err = month.wire_refused(SZ_H, "2704", {"data": {"setl_ym": "202603", "page_size": 1001}})
    assert "page_size" in err
    assert "is not a month" in month.wire_refused(SZ_H, "2704", {"data": {"setl_ym": "202613"}})

    # 3260: at most 100 rows a page, numbered across pages
    first = month.wire(SZ_H, "3260", {"data": {"trt_year": 2026, "trt_month": 3, "startrow": 1}})
    second = month.wire(SZ_H, "3260", {"data": {"trt_year": 2026, "trt_month": 3, "startrow": PAGE_LIMIT + 1}})
    assert (first["totalrow"], len(first["data"]), len(second["data"])) == (105, PAGE_LIMIT, 5)
    rows = first["data"] + second["data"]
    assert [r["seqno"] for r in rows] == list(range(1, 106))
    assert {r["setl_sn"] for r in rows} == {visitor["setl_id"], *clones}  # the local settlement and the claim: no
    detail = [{k: r[k] for k in ("certno", "mdtrt_id", "mdtrt_setl_time", "setl_sn", "medfee_sumamt",
                                 "optins_pay_sumamt")} | {"cnfm_flag": "1" if r["seqno"] % 5 else "0"}
              for r in rows]
    answer = {"data": {"trt_year": 2026, "trt_month": 3, "totalrow": 105}, "detail": detail}
    # every row must be answered, with the extract's own figures
    err = month.wire_refused(SZ_H, "3261", {**answer, "data": {**answer["data"], "totalrow": 104},
                                            "detail": detail[:-1]})
    assert err.startswith("input.detail: the extract of 2026-03 has 105 rows"), err
    wrong = [dict(detail[0], optins_pay_sumamt="249.99"), *detail[1:]]
    assert month.wire_refused(SZ_H, "3261", {**answer, "detail": wrong}).startswith(
        "input.detail[0].optins_pay_sumamt: 249.99 differs from the extract (250.00)")
    result = month.wire(SZ_H, "3261", answer)["result"]
    assert (result["cnfm_cnt"], result["cnfm_amt"], result["uncnfm_cnt"], result["uncnfm_amt"]) == (
        84, 84 * D("250.00"), 21, 21 * D("250.00"))
    balances = month.get(f"/centre/reports/{MARCH}/clearing-balances", centre(GD))
    assert [(r["region_a"], r["region_b"], r["b_treated_for_a_cnt"], D(r["b_treated_for_a"]),
             D(r["net_b_owes_a"])) for r in balances["rows"]] == [(GZ, SZ, 84, D("21000.00"), D("-21000.00"))]

    # another institution of the same region sees none of it
    other = month.wire(SZ_H2, "3260", {"data": {"trt_year": 2026, "trt_month": 3}})
    assert (other["totalrow"], other["data"]) == (0, [])
    assert month.wire_refused(SZ_H2, "2704", {"data": {"setl_ym": "202603"}}) == (
        f"input.data.setl_ym: {SZ_H2} has not declared 2026-03")
    month.post("/institution/declarations", institution(SZ_H2), 201, setl_ym=MARCH)
    assert month.wire(SZ_H2, "2704", {"data": {"setl_ym": "202603"}})["data"] == []
    err = month.wire_refused(SZ_H2, "3262", {"data": {"trt_year": 2026, "trt_month": 3,
                                                      "otransid": result["otransid"]}})
    assert err == f"input.data.otransid: no confirmation {result['otransid']} of {SZ_H2} for 2026-03"
    level3 = month.get(f"/institution/reports/{MARCH}/declaration-3", institution(SZ_H2))
    assert level3["rows"] == []
    check_invariants(store)


def test_a_declaration_with_nothing_to_pay_is_done_when_its_review_is_finished(month: Month) -> None:
    month.cancel(month.settle(SZ_H, SZ_EMP, EXAMPLE_A))           # +250.00 and -250.00 on the same day
    month.on("2026-04-05")
    decl = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=MARCH)
    assert (decl["setl_cnt"], m(decl["payable"])) == (2, D("0.00"))
    month.on("2026-04-15")
    done = month.post(f"/agency/declarations/{decl['decl_id']}/finish", agency("440300"))
    assert (done["status"], m(done["approved"]), done["plan"]) == ("allocated", D("0.00"), [])
    check_invariants(month.store)


def test_an_institution_whose_month_nets_below_nothing_repays_it(month: Month) -> None:
    first = month.settle(SZ_H, SZ_EMP, EXAMPLE_A)                 # 250.00: fund 54.00 + account 196.00
    month.on("2026-04-05")
    march = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=MARCH)
    month.on("2026-04-07")
    month.cancel(first)                                            # April: -250.00 and nothing else
    month.on("2026-04-15")
    month.post(f"/agency/declarations/{march['decl_id']}/finish", agency("440300"))
    month.on("2026-04-22")
    assert m(month.post(f"/agency/allocations/{MARCH}", agency("440300"))["total"]) == D("250.00")
    month.on("2026-05-05")
    april = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=APRIL)
    assert m(april["payable"]) == D("-250.00")
    month.on("2026-05-15")
    plan = month.post(f"/agency/declarations/{april['decl_id']}/finish", agency("440300"))["plan"]
    assert sorted((p["part"], m(p["amount"])) for p in plan) == [("acct", D("-196.00")), ("fund", D("-54.00"))]
    month.on("2026-05-22")
    assert m(month.post(f"/agency/allocations/{APRIL}", agency("440300"))["total"]) == D("-250.00")
    # March: the fund paid the hospital; April: the hospital pays it back
    assert outbox(month.store) == [("FUND-440300", "440300", D("250.00"), SZ_H),
                                   (SZ_H, "440300", D("250.00"), "FUND-440300")]
    check_invariants(month.store)
