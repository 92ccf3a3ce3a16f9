"""Reconciliation: 3201 totals and 3202 details (interface.md section 2; yibao's readings in docs/gateway.md).
Every settlement record in the window counts, cancellation rows included."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from yibao.gateway.detail_file import compare_details, differences, read_detail_file, result_zip
from yibao.gateway.fields import Amount, Day, InsuType, Text, code
from yibao.gateway.handlers.files import file_info
from yibao.gateway.registry import Node, interface
from yibao.platform import files, queries
from yibao.platform.work import Work


def _count(value: Any) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        number = int(value)
    if number is None or number < 0:
        raise ValueError("must be a whole number of settlements, 0 or more")
    return number


Count = Annotated[int, BeforeValidator(_count)]
RefdFilter = Literal["", "0", "1"]


def _stmtinfo(setl_optins: str, problems: list[str], count: int) -> dict[str, str]:
    return {"setl_optins": setl_optins, "stmt_rslt": "1" if problems else "0",
            "stmt_rslt_dscr": "; ".join(problems) if problems else f"balanced: {count} settlement records"}


# -- 3201 totals ----------------------------------------------------------------------------------------

class Data3201(Node):
    insutype: InsuType
    clr_type: code("clr_type")
    setl_optins: Text = Field(min_length=1)
    stmt_begndate: Day
    stmt_enddate: Day
    medfee_sumamt: Amount
    fund_pay_sumamt: Amount
    acct_pay: Amount
    fixmedins_setl_cnt: Count
    refd_setl_flag: RefdFilter = ""


class Input3201(Node):
    data: Data3201


@interface("3201", "医药机构费用结算对总账", Input3201)
def reconcile_totals(work: Work, data: Input3201) -> dict:
    d = data.data
    medfee, fund, acct, count = queries.totals(work, queries.Scope(
        d.setl_optins, d.stmt_begndate, d.stmt_enddate, d.insutype, d.clr_type, d.refd_setl_flag))
    problems = differences([("medfee_sumamt", d.medfee_sumamt, medfee), ("fund_pay_sumamt", d.fund_pay_sumamt, fund),
                             ("acct_pay", d.acct_pay, acct), ("fixmedins_setl_cnt", d.fixmedins_setl_cnt, count)])
    return {"stmtinfo": _stmtinfo(d.setl_optins, problems, count)}


class Data3202(Node):
    setl_optins: Text = Field(min_length=1)
    file_qury_no: Text = Field(min_length=1)
    stmt_begndate: Day
    stmt_enddate: Day
    medfee_sumamt: Amount
    fund_pay_sumamt: Amount
    cash_payamt: Amount
    fixmedins_setl_cnt: Count
    clr_type: code("clr_type", empty=True) = ""
    refd_setl_flag: RefdFilter = ""


class Input3202(Node):
    data: Data3202


@interface("3202", "医药机构费用结算对明细账", Input3202)
def reconcile_details(work: Work, data: Input3202) -> dict:
    d = data.data
    scope = queries.Scope(d.setl_optins, d.stmt_begndate, d.stmt_enddate, clr_type=d.clr_type,
                          refd_setl_flag=d.refd_setl_flag)
    uploaded = files.own_file(work, d.file_qury_no, "input.data.file_qury_no")
    theirs = read_detail_file(uploaded.content, "input.data.file_qury_no")
    if d.refd_setl_flag == "0":
        theirs = [x for x in theirs if x.refd_setl_flag == "0"]
    ours = queries.records(work, scope)
    ours_ids = {s.setl_id for s in ours}
    known = queries.own_records(work, sorted({x.setl_id for x in theirs} - ours_ids))
    rows = compare_details(theirs, ours, known)

    totals = differences([
        ("medfee_sumamt", d.medfee_sumamt, sum((s.medfee_sumamt for s in ours), Decimal("0.00"))),
        ("fund_pay_sumamt", d.fund_pay_sumamt, sum((s.fund_pay_sumamt for s in ours), Decimal("0.00"))),
        ("cash_payamt", d.cash_payamt, sum((s.psn_cash_pay for s in ours), Decimal("0.00"))),
        ("fixmedins_setl_cnt", d.fixmedins_setl_cnt, len(ours))])
    if rows:
        totals.append(f"{len(rows)} settlement records differ or are on one side only (see the result file)")
    stem = f"3202_{d.setl_optins}_{d.stmt_begndate:%Y%m%d}_{d.stmt_enddate:%Y%m%d}"
    result = files.store_file(work, f"{stem}.zip", result_zip(stem, rows, work.now))
    return {"fileinfo": file_info(result), "stmtinfo": _stmtinfo(d.setl_optins, totals, len(ours))}
