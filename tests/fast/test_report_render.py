"""The printed-table renderer: JSON shape, XLSX read back, PDF pages, streamed rows, refused floats."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.utils.exceptions import IllegalCharacterError

from yibao.reports.render import (
    Column,
    Report,
    money_text,
    to_json,
    write_all,
    write_pdf,
    write_xlsx,
)

COLUMNS = [
    Column("fixmedins_name", "定点医药机构名称"),
    Column("psn_cnt", "结算人次", "count"),
    Column("medfee_sumamt", "医疗费用总额", "money"),
    Column("fund_pay_sumamt", "基金支付金额", "money"),
]
ROWS = [
    {"fixmedins_name": "深圳市人民医院", "psn_cnt": 12, "medfee_sumamt": Decimal("1234.50"),
     "fund_pay_sumamt": Decimal("987.60")},
    # 0.005 rounds half up to 0.01 in the cell, and the 合计 adds the cells as printed.
    {"fixmedins_name": "广州市第一人民医院 <分院> & 门诊部", "psn_cnt": 3, "medfee_sumamt": Decimal("10.005"),
     "fund_pay_sumamt": Decimal("0.125")},
    {"fixmedins_name": None, "psn_cnt": None, "medfee_sumamt": None, "fund_pay_sumamt": Decimal("-0.001")},
]
TITLE = "广东省省内异地就医门诊医疗费用结算申报表（职工医保一级表）"


def make_report(rows=ROWS, **kwargs) -> Report:
    return Report(
        code="annex03_declaration_employee_l1",
        title=TITLE,
        columns=COLUMNS,
        rows=rows,
        meta=[("结算年月", "2026-03"), ("单位", "元")],
        notes=["注：本表金额单位为元，保留两位小数。"],
        **kwargs,
    )


def big_rows(count: int):
    return (
        {"fixmedins_name": f"定点医疗机构{i:05d}", "psn_cnt": i % 7,
         "medfee_sumamt": Decimal(i) / 100 + Decimal("1000"), "fund_pay_sumamt": Decimal("0.01")}
        for i in range(count)
    )


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", data))


def test_money_text_is_plain_two_decimals():
    assert money_text(Decimal("1234.5")) == "1234.50"
    assert money_text(Decimal("1E+3")) == "1000.00"
    assert money_text(Decimal("0.125")) == "0.13"
    assert money_text(Decimal("-0.001")) == "0.00"
    assert money_text(None) == "0.00"


def test_to_json_shape_and_money_strings():
    doc = to_json(make_report())
    assert list(doc) == ["code", "title", "meta", "columns", "rows", "totals", "notes"]
    assert doc["title"] == TITLE
    assert doc["meta"][0] == {"label": "结算年月", "value": "2026-03"}
    assert doc["columns"][2] == {"key": "medfee_sumamt", "title": "医疗费用总额", "kind": "money"}
    assert doc["rows"][0] == {"fixmedins_name": "深圳市人民医院", "psn_cnt": 12, "medfee_sumamt": "1234.50",
                              "fund_pay_sumamt": "987.60"}
    assert doc["rows"][1]["medfee_sumamt"] == "10.01"
    assert doc["rows"][2] == {"fixmedins_name": "", "psn_cnt": 0, "medfee_sumamt": "0.00", "fund_pay_sumamt": "0.00"}
    assert doc["totals"] == {"psn_cnt": 15, "medfee_sumamt": "1244.51", "fund_pay_sumamt": "987.73"}
    assert doc["notes"] == ["注：本表金额单位为元，保留两位小数。"]


def test_totals_computed_or_given():
    report = make_report()
    assert report.computed_totals() == {"psn_cnt": 15, "medfee_sumamt": Decimal("1244.51"),
                                        "fund_pay_sumamt": Decimal("987.73")}
    assert report.effective_totals() == report.computed_totals()
    given = make_report(totals={"medfee_sumamt": Decimal("1.00")})
    assert given.effective_totals() == {"medfee_sumamt": Decimal("1.00")}
    assert to_json(given)["totals"] == {"medfee_sumamt": "1.00"}
    with pytest.raises(ValueError, match="totals name no column"):
        make_report(totals={"nope": Decimal("1.00")})


def test_xlsx_reads_back_with_totals_and_number_format(tmp_path):
    path = write_xlsx(make_report(), tmp_path / "t.xlsx")
    sheet = load_workbook(path).active
    rows = [[cell for cell in row] for row in sheet.iter_rows()]
    values = [[cell.value for cell in row] for row in rows]
    assert values[0][0] == TITLE
    assert values[1][:2] == ["结算年月", "2026-03"]
    header = values.index(["定点医药机构名称", "结算人次", "医疗费用总额", "基金支付金额"])
    assert rows[header][0].font.bold
    data = rows[header + 1 : header + 4]
    assert [c.value for c in data[0]] == ["深圳市人民医院", 12, 1234.5, 987.6]
    assert data[0][2].number_format == "#,##0.00"
    total = rows[header + 4]
    assert total[0].value == "合计"
    assert total[1].value == 15
    for index in (2, 3):
        printed = sum(Decimal(str(row[index].value)) for row in data)
        assert Decimal(str(total[index].value)).quantize(Decimal("0.01")) == printed
        assert total[index].number_format == "#,##0.00"
    assert values[-1][0] == "注：本表金额单位为元，保留两位小数。"


def test_pdf_is_a_pdf_and_long_reports_run_over_pages(tmp_path):
    small = write_pdf(make_report(), tmp_path / "small.pdf").read_bytes()
    assert small.startswith(b"%PDF")
    assert pdf_pages(small) == 1
    big = write_pdf(make_report(rows=lambda: big_rows(1200)), tmp_path / "big.pdf").read_bytes()
    assert big.startswith(b"%PDF")
    assert pdf_pages(big) > 1


def test_pdf_with_many_columns_and_long_text(tmp_path):
    columns = [Column("name", "参保人所属统筹区名称（含省本级）"), *[
        Column(f"m{i}", f"统筹基金支付金额第{i}项", "money") for i in range(18)
    ]]
    rows = [{"name": "很长的机构名称" * 12, **{f"m{i}": Decimal("12345678.90") for i in range(18)}}] * 60
    report = Report(code="wide", title="宽表", columns=columns, rows=rows)
    data = write_pdf(report, tmp_path / "wide.pdf").read_bytes()
    assert pdf_pages(data) > 1


def test_write_all_reads_a_callable_source_once_per_format(tmp_path):
    calls = []

    def rows():
        calls.append(1)
        return big_rows(50)

    report = make_report(rows=rows)
    paths = write_all(report, tmp_path / "out")
    assert [p.name for p in paths] == [f"annex03_declaration_employee_l1.{f}" for f in ("json", "xlsx", "pdf")]
    assert len(calls) == 3
    text = paths[0].read_text(encoding="utf-8")
    assert text == json.dumps(to_json(report), ensure_ascii=False, indent=1)
    assert len(json.loads(text)["rows"]) == 50
    assert paths[1].stat().st_size > 0 and paths[2].read_bytes().startswith(b"%PDF")


def test_empty_report_prints_a_zero_total(tmp_path):
    report = make_report(rows=[])
    assert to_json(report)["totals"] == {"psn_cnt": 0, "medfee_sumamt": "0.00", "fund_pay_sumamt": "0.00"}
    json_path, _, pdf_path = write_all(report, tmp_path)
    assert json.loads(json_path.read_text(encoding="utf-8")) == to_json(report)
    assert pdf_pages(pdf_path.read_bytes()) == 1


@pytest.mark.parametrize("amount", [1.5, 150, "1.50", True])
def test_money_that_is_not_decimal_is_refused(tmp_path, amount):
    report = make_report(rows=[{"fixmedins_name": "x", "psn_cnt": 1, "medfee_sumamt": amount}])
    with pytest.raises(TypeError, match="money must be a Decimal"):
        to_json(report)
    with pytest.raises(TypeError):
        write_all(report, tmp_path)
    with pytest.raises(TypeError):
        write_xlsx(report, tmp_path / "t.xlsx")
    with pytest.raises(TypeError):
        write_pdf(report, tmp_path / "t.pdf")
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_counts_must_be_int_and_iterators_are_refused():
    with pytest.raises(TypeError, match="count must be an int"):
        to_json(make_report(rows=[{"psn_cnt": 2.0}]))
    with pytest.raises(TypeError, match="not an iterator"):
        make_report(rows=iter(ROWS))


def test_xlsx_layout_reads_back(tmp_path):
    """The sheet as openpyxl reads it: name, widths, frozen header, print titles, page setup, title and header."""
    path = write_xlsx(make_report(), tmp_path / "t.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["annex03_declaration_employee_l1"]
    sheet = workbook.active
    assert sheet["A1"].font.bold and sheet["A1"].font.sz == 14
    header = 2 + 2  # title, two meta rows, then the header
    assert sheet.freeze_panes == f"A{header + 1}"
    assert sheet.print_title_rows == f"${header}:${header}"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert [sheet.column_dimensions[c].width for c in "ABCD"] == [18, 10, 16, 16]
    title = sheet.cell(header, 3)
    assert title.font.bold and title.alignment.wrap_text and title.alignment.horizontal == "center"
    assert sheet.cell(header + 1, 2).number_format == "General"  # a count: no money format


def test_xlsx_text_is_kept_as_written(tmp_path):
    """Markup characters, edge spaces, line breaks and a leading '=' come back as the same text (never a formula);
    a control character no worksheet can hold is refused and leaves no file."""
    names = ["a <b> & 'c' \"d\"", "  padded  ", "two\nlines", "=SUM(A1:A9)", "宽" * 300]
    rows = [{"fixmedins_name": name, "psn_cnt": 1, "medfee_sumamt": Decimal("1.00")} for name in names]
    sheet = load_workbook(write_xlsx(make_report(rows=rows), tmp_path / "t.xlsx")).active
    values = [row[0].value for row in sheet.iter_rows(min_row=5, max_row=4 + len(names))]
    assert values == names
    assert {row[0].data_type for row in sheet.iter_rows(min_row=5, max_row=4 + len(names))} == {"s"}
    with pytest.raises(IllegalCharacterError):
        write_xlsx(make_report(rows=[{"fixmedins_name": "bell\x07"}]), tmp_path / "bad.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]


def test_xlsx_streams_a_large_table(tmp_path):
    path = write_xlsx(make_report(rows=lambda: big_rows(20_000)), tmp_path / "big.xlsx")
    sheet = load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[4][:2] == ("定点医疗机构00000", 0)
    assert rows[4 + 19_999][0] == "定点医疗机构19999"
    total = rows[4 + 20_000]
    assert total[0] == "合计" and Decimal(str(total[3])) == Decimal("200.00")
