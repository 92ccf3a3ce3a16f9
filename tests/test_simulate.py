"""`yibao simulate`: a month of traffic over the wire against a real `yibao serve`, the monthly cycle, the reports.
One run (2 visits a day on the demo world) shared by the tests of this module; SQLite only."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from yibao.cli import app

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
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("simulation")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("YIBAO_TODAY", raising=False)
        result = CliRunner().invoke(app, ["simulate", "--month", MONTH, "--dataset", str(DEMO), "--out", str(out),
                                          "--visits", "2", "--seed", "1"])
    assert result.exit_code == 0, result.output
    return Run(out, result.output)


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
        level1 = sorted(folder.glob("annex03_*.json")) + sorted(folder.glob("annex06_*.json"))
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
