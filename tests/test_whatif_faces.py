"""The what-if's printed faces (docs/whatif.md): `yibao whatif --format pdf` (the monthly reports' PDF writer, a
matplotlib bar chart per breakdown, a CID font for Chinese), the xlsx workbook's sheets, and the same files from
POST /api/v1/agency/whatif?format=pdf|xlsx. On SQLite and PostgreSQL over the month of whatif_world.py."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import snapshot
from openpyxl import load_workbook
from typer.testing import CliRunner
from whatif_world import LOWER_DEDUCTIBLE, MONTH, SZ, Month, settled_month

from yibao.api.tokens import issue, signing_key
from yibao.app import create_app
from yibao.cli import app
from yibao.reports import whatif_render
from yibao.store.db import Store
from yibao.whatif.report import BREAKDOWNS

CHANGES = {"policies": [{"insutype": "310", "med_type": "11", "deductible": "20.00"}]}


@pytest.fixture
def month(store: Store, monkeypatch: pytest.MonkeyPatch) -> Month:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)
    monkeypatch.setenv("YIBAO_DATABASE_URL", store.url)
    return settled_month(store)


def cli(tmp_path: Path, *args: str, code: int = 0) -> Any:
    path = tmp_path / "changes.yaml"
    path.write_text(LOWER_DEDUCTIBLE, encoding="utf-8")
    result = CliRunner().invoke(app, ["whatif", "--region", SZ, "--month", MONTH, "--changes", str(path), *args])
    assert result.exit_code == code, result.output
    return result


def test_the_cli_writes_a_pdf_with_its_charts_and_chinese_text(month: Month, tmp_path: Path) -> None:
    out = tmp_path / "whatif.pdf"
    before = snapshot(month.hub.store)
    assert str(out) in cli(tmp_path, "--format", "pdf", "--out", str(out)).output
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf  # the CID font the reports register for Chinese
    charted = [b for b in BREAKDOWNS if b[0] in whatif_render.CHARTED]
    charts = re.findall(rb"/ColorSpace /DeviceRGB[^>]*/Subtype /Image", pdf)  # not their alpha masks
    assert len(charted) >= 2 and len(charts) == len(charted)  # one bar chart per breakdown
    assert snapshot(month.hub.store) == before
    assert "--out" in cli(tmp_path, "--format", "pdf", code=2).output  # a PDF is not printed to a terminal


def test_the_pdf_tables_hold_every_breakdown_the_persons_and_the_fund_effect(month: Month, tmp_path: Path) -> None:
    """The tables the PDF prints (and the console shows), read from the same report the CLI's JSON gives."""
    report = json.loads(cli(tmp_path, "--format", "json").output, parse_float=Decimal)
    tables = whatif_render.tables(report, BREAKDOWNS)
    titles = [t.title for t in tables]
    for key, _column, title in BREAKDOWNS:
        assert any(title in t for t in titles), key
    assert "受影响最大的参保人" in titles[-3] and "变化最大的结算" in titles[-2] and "模拟的政策调整" in titles[-1]
    by_region = next(t for t in tables if t.code.endswith("_by_region"))
    assert by_region.effective_totals()["fund_pay_change"] == Decimal("48.00")  # the total row: the fund effect
    assert ("基金影响（统筹基金支付变化）", "+48.00 元") in whatif_render.meta(report)
    assert "deductible" in str(tables[-1].rows)  # the changes echoed


def api(month: Month, query: str, body: Any) -> Any:
    http = TestClient(create_app(month.hub.store), raise_server_exceptions=False)
    token = issue(signing_key(month.hub.store), "agency", SZ)
    return http.post(f"/api/v1/agency/whatif{query}", json=body, headers={"Authorization": f"Bearer {token}"})


def test_the_api_gives_the_same_run_as_pdf_or_xlsx(month: Month) -> None:
    body = {"month": MONTH, "changes": CHANGES}
    pdf = api(month, "?format=pdf", body)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]
    xlsx = api(month, "?format=xlsx", body)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert "largest changes" in book.sheetnames and "changes" in book.sheetnames
    assert Decimal(str(api(month, "?format=json", body).json()["total"]["fund_pay"]["change"])) == Decimal("48.00")
    wrong = api(month, "?format=docx", body)
    assert wrong.status_code == 422 and "format" in wrong.text
    refused = api(month, "?format=pdf", {"month": MONTH, "changes": {"policies": [{"deductable": "1"}]}})
    assert refused.status_code == 422 and "policies[0].deductable" in refused.text


def test_the_xlsx_has_a_sheet_per_breakdown_with_numeric_money(month: Month, tmp_path: Path) -> None:
    out = tmp_path / "whatif.xlsx"
    cli(tmp_path, "--format", "xlsx", "--out", str(out))
    book = load_workbook(io.BytesIO(out.read_bytes()))
    assert book.sheetnames == ["by region", *(title for _, _, title in BREAKDOWNS), "persons most affected",
                               "largest changes", "changes"]
    for _key, _column, title in BREAKDOWNS:
        rows = list(book[title].iter_rows())
        head = [c.value for c in rows[1]]
        total = rows[-1]
        change = total[head.index("fund_pay change")]
        assert total[0].value == "total" and change.number_format == "#,##0.00", title
        assert Decimal(str(change.value)) == Decimal("48.00"), title  # each breakdown adds up to the fund effect
    institutions = [c.value for c in list(book["by institution"].iter_rows())[1]]
    assert institutions[:2] == ["institution", "name"]
    persons = list(book["persons most affected"].iter_rows(values_only=True))
    assert persons[1][0] == "psn_no" and len(persons) > 2
    changes = list(book["changes"].iter_rows())
    assert changes[1][0].value == "fund effect" and Decimal(str(changes[1][1].value)) == Decimal("48.00")
    assert changes[1][1].number_format == "#,##0.00"


def test_a_breakdown_the_report_lacks_is_left_out_not_a_crash() -> None:
    """The faces iterate over BREAKDOWNS; a report of another shape (an older one) prints what it holds."""
    money = {"before": Decimal("10.00"), "after": Decimal("12.50"), "change": Decimal("2.50")}
    group = {"settlements": 1, "changed": 1, "fund_pay": money, "acct_pay": money, "acct_mulaid_pay": money,
             "psn_cash_pay": money}
    report = {"region": SZ, "month": MONTH, "changes": {"policies": []}, "notes": ["某说明"], "total": group,
              "by_region": [{"region": SZ, **group}], "largest_changes": []}
    tables = whatif_render.tables(report, BREAKDOWNS)
    assert [t.code for t in tables] == [f"whatif_{SZ}_{MONTH}_{part}" for part in
                                        ("total", "by_region", "persons", "largest", "changes")]
    assert ("基金影响（统筹基金支付变化）", "+2.50 元") in whatif_render.meta(report)
    pdf = whatif_render.as_pdf(report, BREAKDOWNS)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/ColorSpace /DeviceRGB[^>]*/Subtype /Image", pdf)) == 1
