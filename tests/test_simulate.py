"""`yibao simulate`: a month of traffic over the wire against a real `yibao serve`, the monthly cycle, the reports.
One run (2 visits a day on the demo world, conftest.py simulated_month) shared with test_whatif.py; SQLite only."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.yaml"
MONTH = "2026-03"


class Run:
    def __init__(self, out: Path, output: str):
        self.out = out
        self.output = output
        self.month = out / MONTH
        self.reports = self.month / "reports"
        self.summary: dict[str, Any] = json.loads((self.month / "summary.json").read_text(encoding="utf-8"))

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(self.month / "simulation.db")
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()


@pytest.fixture(scope="module")
def simulated(simulated_month: tuple[Path, str]) -> Run:
    return Run(*simulated_month)


def test_the_reports_folder_is_printed_and_holds_every_format(simulated: Run) -> None:
    assert f"reports in {simulated.reports}" in simulated.output
    assert simulated.reports.is_dir()
    files = [p for p in simulated.reports.rglob("*") if p.is_file()]
    for suffix in (".json", ".xlsx", ".pdf"):
        assert any(p.suffix == suffix and p.stat().st_size > 0 for p in files), suffix
    assert not any(p.name.endswith(".part") for p in files)
    assert simulated.summary["files"] == len(files)


def test_the_traffic_settles_cancels_crosses_regions_and_uses_mutual_aid(simulated: Run) -> None:
    t = simulated.summary["traffic"]
    assert t["visits"] == 31 * 2
    assert t["settled"] > 0 and t["cancelled"] > 0
    assert t["cross_region_settled"] >= 1 and t["mutual_aid_settled"] >= 1
    assert t["settled"] <= t["visits"] and t["settled"] + t["refused"] >= t["visits"]
    # the database agrees: cross-region settlements, mutual-aid money, negative records of the cancellations
    (cross,), = simulated.query("SELECT COUNT(*) FROM settlements s JOIN institutions i ON i.code = s.fixmedins_code "
                                "WHERE s.insu_admdvs != i.admdvs AND s.refd_setl_flag = '0'")
    (aided,), = simulated.query("SELECT COUNT(*) FROM settlements WHERE acct_mulaid_pay > 0 AND refd_setl_flag = '0'")
    (refunds,), = simulated.query("SELECT COUNT(*) FROM settlements WHERE refd_setl_flag = '1'")
    assert cross == t["cross_region_settled"] and aided == t["mutual_aid_settled"] and refunds == t["cancelled"]
    (outside,), = simulated.query("SELECT COUNT(*) FROM settlements WHERE setl_time < '2026-03-01' "
                                  "OR setl_time >= '2026-04-01'")
    assert outside == 0


def test_every_declaration_is_reviewed_and_allocated_as_approved(simulated: Run) -> None:
    decls = simulated.query("SELECT decl_id, status, approved FROM declarations WHERE setl_ym = ?", MONTH)
    assert decls
    institutions = simulated.query("SELECT DISTINCT fixmedins_code FROM settlements")
    assert len(decls) == len(institutions)  # every institution that settled declared
    for decl_id, status, approved in decls:
        assert status == "allocated", decl_id
        planned = simulated.query("SELECT COUNT(*) FROM allocation_items WHERE decl_id = ? AND status != 'paid'",
                                  decl_id)
        (paid,), = simulated.query("SELECT COALESCE(SUM(amount), 0) FROM allocation_items WHERE decl_id = ? "
                                   "AND status = 'paid'", decl_id)
        assert planned == [(0,)] and paid == approved, decl_id
    assert all(v["balanced"] for v in simulated.summary["centre"].values())
    rejected = simulated.summary["rejected"]
    assert rejected and rejected["reason"]


def test_the_declared_payable_of_each_region_ties_out_to_its_settlements(simulated: Run) -> None:
    regions = [r for (r,) in simulated.query(
        "SELECT DISTINCT i.admdvs FROM settlements s JOIN institutions i ON i.code = s.fixmedins_code")]
    assert len(regions) >= 2
    for region in regions:
        folder = simulated.reports / region
        # Guangdong's annexes 3 and 6; every other province's level-1 tables named in words (reports/tablesets.py)
        names = ("annex03_*", "annex06_*") if region.startswith("44") else ("declaration_*_1_*",)
        level1 = [p for name in names for p in sorted(folder.glob(name + ".json"))]
        assert level1, region
        declared = sum((Decimal(json.loads(p.read_text(encoding="utf-8"))["totals"]["payable"]) for p in level1),
                       Decimal("0.00"))
        (fen,), = simulated.query(
            "SELECT COALESCE(SUM(s.fund_pay_sumamt + s.acct_pay), 0) FROM settlements s "
            "JOIN institutions i ON i.code = s.fixmedins_code WHERE i.admdvs = ? AND s.kind != 'coordination'", region)
        assert declared * 100 == fen, region  # money is stored in fen
        assert Decimal(simulated.summary["regions"][region]["declared_payable"]) == declared, region


def test_every_report_was_written(simulated: Run) -> None:
    assert simulated.summary["report_errors"] == []


# -- the analysis report of the simulated month (揭阳 揭医保〔2021〕82号, 粤医保规〔2021〕4号 art. 32) ---------------


def _cross_region(simulated: Run) -> list[dict[str, Any]]:
    """Every cross-region settlement record of March (claims left out), read plainly: amounts in fen."""
    rows = simulated.query(
        "SELECT s.fixmedins_code, i.admdvs, s.insu_admdvs, s.kind, s.med_type, s.refd_setl_flag, s.medfee_sumamt, "
        "s.fund_pay_sumamt, s.acct_pay, s.psn_cash_pay FROM settlements s JOIN institutions i "
        "ON i.code = s.fixmedins_code WHERE s.setl_time >= '2026-03-01' AND s.setl_time < '2026-04-01'")
    keys = ("code", "treat", "insu", "kind", "med_type", "refd", "medfee", "fund", "acct", "cash")
    return [dict(zip(keys, r, strict=True)) for r in rows if r[1] != r[2] and r[3] != "coordination"]


def _in(scope: str, admdvs: str) -> bool:
    return admdvs[:2] == scope[:2] if scope.endswith("0000") else admdvs == scope


def _figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    yuan = Decimal("0.01")
    return {"visits": sum(-1 if r["refd"] == "1" else 1 for r in rows),
            "medfee_sumamt": sum(r["medfee"] for r in rows) * yuan,
            "fund_pay_sumamt": sum(r["fund"] for r in rows) * yuan,
            "burden": sum(r["acct"] + r["cash"] for r in rows) * yuan}


def _analysis(simulated: Run, scope: str, period: str) -> dict[str, Any]:
    folder = simulated.reports / scope
    pdf = (folder / f"analysis_{scope}_{period}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Subtype /Image") >= 5, scope  # its five charts
    assert (folder / f"analysis_{scope}_{period}.xlsx").stat().st_size > 0
    return json.loads((folder / f"analysis_{scope}_{period}.json").read_text(encoding="utf-8"))


def test_the_analysis_reports_figures_tie_out_to_the_settlements(simulated: Run) -> None:
    rows = _cross_region(simulated)
    assert rows, "the simulated month has cross-region settlements"
    treated = {r["treat"] for r in rows} | {r["insu"] for r in rows}
    regions = [r for (r,) in simulated.query("SELECT DISTINCT admdvs FROM declarations")]
    scopes = [*regions, *sorted({r[:2] + "0000" for r in regions})]
    rejections = simulated.query("SELECT d.admdvs, r.insu_admdvs, r.amount FROM review_rejections r "
                                 "JOIN declarations d ON d.decl_id = r.decl_id WHERE d.setl_ym = ?", MONTH)
    checked = 0
    for scope in scopes:
        mine = [r for r in rows if _in(scope, r["treat"]) or _in(scope, r["insu"])]
        expected = _figures(mine)
        for period in (MONTH, "2026Q1"):  # March ends the first quarter: its quarterly report is made too
            report = _analysis(simulated, scope, period)
            f = report["figures"]
            now = {k: (f["current"][k] if k == "visits" else Decimal(f["current"][k])) for k in expected}
            assert now == expected, (scope, period)
            assert f["previous"]["visits"] == 0 and f["growth"]["medfee_sumamt_previous"] is None  # nothing before
            pairs: dict[tuple[str, str], Decimal] = {}
            for r in mine:
                pair = (r["insu"], r["treat"])
                pairs[pair] = pairs.get(pair, Decimal(0)) + Decimal(r["medfee"]) / 100
            assert {(x["insu_admdvs"], x["treat_admdvs"]): Decimal(x["medfee_sumamt"]) for x in f["by_region"]} == {
                k: v.quantize(Decimal("0.01")) for k, v in pairs.items()}, scope
            med_types: dict[str, int] = {}
            for r in mine:
                med_types[r["med_type"]] = med_types.get(r["med_type"], 0) + (-1 if r["refd"] == "1" else 1)
            got: dict[str, int] = {}
            for x in f["by_kind"]:
                got[x["med_type"]] = got.get(x["med_type"], 0) + x["visits"]
            assert got == med_types, scope
            by_institution = {x["fixmedins_code"]: Decimal(x["medfee_sumamt"]) for x in f["institutions"]}
            assert sum(by_institution.values(), Decimal(0)) == expected["medfee_sumamt"]
            rejected = sum((Decimal(a) / 100 for t, i, a in rejections if t != i and (_in(scope, t) or _in(scope, i))),
                           Decimal("0.00"))
            assert Decimal(f["review"]["rejected"]) == rejected, scope
            assert [c["name"] for c in report["charts"]] == ["periods", "regions", "med_types", "institutions",
                                                             "review"]
            checked += 1
    assert checked == 2 * len(scopes) and treated


def test_the_analysis_flags_institutions_by_the_documented_thresholds(simulated: Run) -> None:
    """Defaults: unusual average cost above 1.5 times the scope's, with at least 5 visits (no previous month
    here, so no unusual growth)."""
    rows = _cross_region(simulated)
    for scope in sorted({r["treat"][:2] + "0000" for r in rows}):
        f = _analysis(simulated, scope, MONTH)["figures"]
        assert f["thresholds"] == {"growth": "0.50", "avg_cost": "1.50", "min_visits": 5}
        mine = [r for r in rows if _in(scope, r["treat"]) or _in(scope, r["insu"])]
        total = _figures(mine)
        scope_average = (total["medfee_sumamt"] / total["visits"]).quantize(Decimal("0.01"))
        assert Decimal(f["current"]["average"]) == scope_average
        for x in f["institutions"]:
            own = [r for r in mine if r["code"] == x["fixmedins_code"]]
            visits = _figures(own)["visits"]
            average = (_figures(own)["medfee_sumamt"] / visits).quantize(Decimal("0.01")) if visits > 0 else None
            unusual = visits >= 5 and average is not None and average > scope_average * Decimal("1.5")
            assert x["flags"] == (["次均费用异常"] if unusual else []), x


def test_the_analysis_xlsx_holds_the_figures(simulated: Run) -> None:
    from openpyxl import load_workbook

    scope = sorted({r["treat"] for r in _cross_region(simulated)})[0]
    f = _analysis(simulated, scope, MONTH)["figures"]
    book = load_workbook(simulated.reports / scope / f"analysis_{scope}_{MONTH}.xlsx")
    overview = [[c.value for c in row] for row in book["总体情况"].iter_rows()]
    header = overview[1]
    current = overview[2]
    assert Decimal(str(current[header.index("医疗费总额")])) == Decimal(f["current"]["medfee_sumamt"])
    assert current[header.index("人次")] == f["current"]["visits"]
    assert "图表数据" in book.sheetnames
