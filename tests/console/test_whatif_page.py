"""The agency clerk's what-if page (/console/agency/whatif, docs/console-staff.md) over the month of whatif_world.py,
on SQLite and PostgreSQL: the clerk replays his own region's month under a CHANGES document typed on the page (the
use case of `yibao whatif`), sees the fund effect and every breakdown, downloads the same run as xlsx and PDF; a
bad document is refused on the page naming its field; another region's clerk cannot run it for this region; a
POST without the CSRF token is refused. Nothing is written."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from console_world import ConsoleWorld
from helpers import snapshot
from openpyxl import load_workbook
from staff_world import SZ_H
from whatif_world import GZ, LOWER_DEDUCTIBLE, MONTH, SZ, settled_month

from yibao.store.db import Store
from yibao.whatif.report import BREAKDOWNS

PATH = "/console/agency/whatif"


@pytest.fixture
def w(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConsoleWorld:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    settled_month(store)
    return ConsoleWorld(store, tmp_path)


def clerk(w: ConsoleWorld, username: str, region: str):  # type: ignore[no-untyped-def]
    w.add_staff(username, "agency_clerk", region)
    b = w.browser()
    assert b.sign_in_staff(username).status_code == 303
    return b


def test_the_clerk_sees_the_fund_effect_of_a_lowered_deductible_and_downloads_the_run(w: ConsoleWorld) -> None:
    b = clerk(w, "sz-clerk", SZ)
    page = b.get(PATH)
    assert page.status_code == 200 and "政策模拟" in page.text and 'name="changes"' in page.text
    assert 'href="/console/agency/whatif" class="on"' in page.text  # its tab
    before = snapshot(w.store)
    result = b.post(PATH, {"month": MONTH, "changes": LOWER_DEDUCTIBLE, "top": "5"})
    assert result.status_code == 200, result.text
    assert "统筹基金支付增加 48.00 元" in result.text  # worked example A: 80.00 more pooled at 60 %
    for _key, _column, title in BREAKDOWNS:
        assert title in result.text
    assert "受影响最大的参保人" in result.text and "deductible" in result.text
    assert result.text.count("<th>合计</th>") == len(BREAKDOWNS)  # the breakdowns add up; persons, changes do not
    # the download buttons post the same run
    forms = re.findall(r'name="format" value="(\w+)"', result.text)
    assert forms == ["xlsx", "pdf"]
    pdf = b.post(PATH, {"month": MONTH, "changes": LOWER_DEDUCTIBLE, "top": "5", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"] == f'attachment; filename="whatif_{SZ}_{MONTH}.pdf"'
    xlsx = b.post(PATH, {"month": MONTH, "changes": LOWER_DEDUCTIBLE, "top": "5", "format": "xlsx"})
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert [title for _, _, title in BREAKDOWNS] == book.sheetnames[1:1 + len(BREAKDOWNS)]  # a sheet each
    assert {"persons most affected", "largest changes", "changes"} <= set(book.sheetnames)
    two = b.post(PATH, {"month": MONTH, "months": "2", "changes": LOWER_DEDUCTIBLE})
    assert two.status_code == 200 and "2026-03、2026-04" in two.text and "统筹基金支付增加 48.00 元" in two.text
    assert 'name="months" value="2"' in two.text  # the downloads replay the same period
    both = b.post(PATH, {"month": MONTH, "months": "2", "changes": LOWER_DEDUCTIBLE, "format": "xlsx"})
    assert both.headers["content-disposition"] == f'attachment; filename="whatif_{SZ}_2026-03_2026-04.xlsx"'
    assert snapshot(w.store) == before


def test_a_bad_changes_document_is_refused_on_the_page_naming_the_field(w: ConsoleWorld) -> None:
    b = clerk(w, "sz-clerk", SZ)
    b.get(PATH)
    before = snapshot(w.store)
    typo = b.post(PATH, {"month": MONTH, "changes": 'policies:\n  - {insutype: "310", deductable: "20.00"}\n'})
    assert typo.status_code == 422 and "policies[0].deductable" in typo.text and "is not a field here" in typo.text
    assert "deductable" in typo.text.split("</textarea>")[0]  # what he typed stays in the form
    broken = b.post(PATH, {"month": MONTH, "changes": "policies: [\n"})
    assert broken.status_code == 422 and "changes: is not YAML" in broken.text
    month = b.post(PATH, {"month": "2026-13", "changes": ""})
    assert month.status_code == 422 and "month" in month.text
    months = b.post(PATH, {"month": MONTH, "months": "13"})
    assert months.status_code == 422 and "months: must be a whole number of months from 1 to 12" in months.text
    for junk in ("x" * 500, "1e309", "-1", "１２３", "<script>", "'; drop table persons; --", "a\x00b"):
        for field in ("month", "months", "changes", "top", "format"):
            reply = b.post(PATH, {"month": MONTH, field: junk})
            assert 400 <= reply.status_code < 500, (field, junk, reply.status_code)
    assert snapshot(w.store) == before


def test_only_the_clerks_own_region_and_only_with_the_csrf_token(w: ConsoleWorld) -> None:
    gz, sz = clerk(w, "gz-clerk", GZ), clerk(w, "sz-clerk", SZ)
    gz.get(PATH)
    sz.get(PATH)
    before = snapshot(w.store)
    other = gz.post(PATH, {"month": MONTH, "changes": LOWER_DEDUCTIBLE, "region": SZ})
    assert other.status_code == 403
    own = gz.post(PATH, {"month": MONTH, "changes": ""})  # his own: Guangzhou's one settlement, unchanged
    assert own.status_code == 200 and f"统筹区 {GZ}" in own.text and "重算结算笔数：1" in own.text
    theirs = gz.post(PATH, {"month": MONTH, "changes": LOWER_DEDUCTIBLE})  # replays Guangzhou's month, not Shenzhen's
    assert theirs.status_code == 200 and f"统筹区 {GZ}" in theirs.text and "48.00" not in theirs.text
    assert snapshot(w.store) == before  # the replays wrote nothing
    w.add_staff("sz-hosp", "institution", SZ_H)
    hosp = w.browser()
    hosp.sign_in_staff("sz-hosp")
    assert hosp.get(PATH).status_code == 403  # another role's desk
    before = snapshot(w.store)
    forged = sz.post(PATH, {"month": MONTH, "changes": LOWER_DEDUCTIBLE}, csrf=False)
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert snapshot(w.store) == before
