"""Whether a settlement list (4101A) agrees with the settlement it describes, and whether a self-pay fee line
adds up (4201A / 4205). Plain values in, the first problem out as (field, rule); no I/O.

A list repeats figures the platform already fixed when it settled: the total (the items' `amt`), the fund's
part (`payinfo`), the account and cash parts, and the person's share (自付 + 自费). A list that says otherwise
describes another settlement, so it is refused; a node the institution leaves out is not compared (the A form
of 4101 lets the platform hold the figures)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from yibao.codes import FUND_PAY_TYPE
from yibao.money import ZERO, round2

Problem = tuple[str, str]


@dataclass(frozen=True)
class Settled:
    """The settlement's own figures."""

    setl_id: str
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    psn_cash_pay: Decimal
    psn_part_amt: Decimal
    fulamt_ownpay_amt: Decimal
    kind: str = "outpatient"
    #: what each fund paid (setldetail), by fund_pay_type
    funds: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Listed:
    """The list's figures; None where the node or field was not sent."""

    item_amts: Sequence[Decimal] | None = None
    item_ownpay: Sequence[Decimal] | None = None
    payinfo: Sequence[tuple[str, Decimal]] | None = None
    acct_pay: Decimal | None = None
    psn_cashpay: Decimal | None = None
    psn_selfpay: Decimal | None = None
    psn_ownpay: Decimal | None = None
    setl_begn_date: date | None = None
    setl_end_date: date | None = None
    diseinfo_count: int = 0


def _differs(what: str, listed: Decimal, s: Settled, name: str, settled: Decimal) -> str:
    return f"{what} {listed}, but settlement {s.setl_id} has {name} {settled}"


def list_problem(s: Settled, x: Listed) -> Problem | None:
    """The first way the list disagrees with the settlement, or None."""
    if s.kind == "inpatient" and x.diseinfo_count == 0:
        return "input.diseinfo", f"settlement {s.setl_id} is an inpatient stay: its list names its diagnoses"
    if x.setl_begn_date and x.setl_end_date and x.setl_end_date < x.setl_begn_date:
        return "input.setlinfo.setl_end_date", f"{x.setl_end_date} is before setl_begn_date {x.setl_begn_date}"
    if x.item_amts is not None:
        total = sum(x.item_amts, ZERO)
        if total != s.medfee_sumamt:
            return "input.iteminfo[].amt", _differs("the items sum to", total, s, "medfee_sumamt", s.medfee_sumamt)
    if x.item_ownpay is not None:
        own = sum(x.item_ownpay, ZERO)
        if own != s.fulamt_ownpay_amt:
            return "input.iteminfo[].fulamt_ownpay_amt", _differs("the items sum to", own, s, "fulamt_ownpay_amt",
                                                                  s.fulamt_ownpay_amt)
    if x.payinfo is not None:
        problem = _payinfo_problem(s, x.payinfo)
        if problem:
            return problem
    for key, listed, name, settled in (("acct_pay", x.acct_pay, "acct_pay", s.acct_pay),
                                       ("psn_cashpay", x.psn_cashpay, "psn_cash_pay", s.psn_cash_pay)):
        if listed is not None and listed != settled:
            return f"input.setlinfo.{key}", _differs("listed", listed, s, name, settled)
    if x.psn_selfpay is not None and x.psn_ownpay is not None:
        share = x.psn_selfpay + x.psn_ownpay
        if share != s.psn_part_amt:
            return "input.setlinfo.psn_selfpay", _differs("psn_selfpay + psn_ownpay =", share, s, "psn_part_amt",
                                                          s.psn_part_amt)
    return None


def _payinfo_problem(s: Settled, rows: Sequence[tuple[str, Decimal]]) -> Problem | None:
    seen: set[str] = set()
    for i, (fund, amount) in enumerate(rows):
        path = f"input.payinfo[{i}]"
        if fund in seen:
            return f"{path}.fund_pay_type", f"{fund} is listed twice"
        seen.add(fund)
        # a fund that did not pay may be listed at 0.00, but it must be a fund
        if fund not in FUND_PAY_TYPE:
            return f"{path}.fund_pay_type", f"{fund[:20]} is not a code of fund_pay_type"
        paid = s.funds.get(fund)
        if paid is None and amount != ZERO:
            known = ", ".join(sorted(s.funds)) or "none"
            return f"{path}.fund_pay_type", f"fund {fund} did not pay settlement {s.setl_id} (funds that paid: {known})"
        if paid is not None and amount != paid:
            return f"{path}.fund_payamt", _differs(f"fund {fund} listed with", amount, s, "that fund paying", paid)
    total = sum((a for _, a in rows), ZERO)
    if total != s.fund_pay_sumamt:
        return "input.payinfo[].fund_payamt", _differs("the funds sum to", total, s, "fund_pay_sumamt",
                                                       s.fund_pay_sumamt)
    return None


def fee_line_problem(cnt: Decimal, pric: Decimal, det_item_fee_sumamt: Decimal) -> str | None:
    """A self-pay fee line's amount is its count times its price, to the cent (half up), like 2204's lines."""
    expected = round2(cnt * pric)
    if det_item_fee_sumamt != expected:
        return f"{det_item_fee_sumamt} sent, but pric {pric} x cnt {cnt} = {expected}"
    return None


#: where a declared settlement record stands with its settlement list (4101A)
LIST_UPLOADED, LIST_MISSING, LIST_NOT_NEEDED = "uploaded", "missing", "not_needed"


def list_state(refd_setl_flag: str, setl_stas: str, setl_list_id: str | None) -> str:
    """A standing settlement needs a list; a cancelled one and a cancellation record do not (a list cannot be
    uploaded for them)."""
    if setl_list_id:
        return LIST_UPLOADED
    if refd_setl_flag == "1" or setl_stas != "settled":
        return LIST_NOT_NEEDED
    return LIST_MISSING
