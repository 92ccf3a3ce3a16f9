"""The fee lines of the national interface as messages carry them (2204 / 2301 feedetail, 2101 drugdetail, 2560,
and the mobile-payment centre's feedetailList once named in snake case), and what the settling messages share:
the claimed sums and the settlement a cancellation names."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from yibao.errors import refuse
from yibao.gateway.fields import Amount, Flag, Id, Number, Text, Time, code
from yibao.gateway.registry import Node
from yibao.platform import fees
from yibao.platform.checkout import Claim


def line_in(path: str, x: Any, chrg_bchno: str | None) -> fees.LineIn:
    return fees.LineIn(path=path, feedetl_sn=x.feedetl_sn, med_list_codg=x.med_list_codg,
                       medins_list_codg=x.medins_list_codg, pric=x.pric, cnt=x.cnt,
                       det_item_fee_sumamt=x.det_item_fee_sumamt, fee_ocur_time=x.fee_ocur_time,
                       chrg_bchno=chrg_bchno, init_feedetl_sn=getattr(x, "init_feedetl_sn", None) or None,
                       dise_codg=getattr(x, "dise_codg", "") or None, hosp_appr_flag=x.hosp_appr_flag or "0",
                       raw=x.model_dump(mode="json"))


def one_visit(lines: list[Any]) -> tuple[str, str]:
    """The visit (mdtrt_id, psn_no) every line of one upload names."""
    first = lines[0]
    for i, x in enumerate(lines):
        if x.mdtrt_id != first.mdtrt_id or x.psn_no != first.psn_no:
            raise refuse(f"input.feedetail[{i}].mdtrt_id", "every line of one upload must be of the same visit")
    return first.mdtrt_id, first.psn_no


def result(rows: list[Any]) -> list[dict[str, Any]]:
    """2204 / 2301 `result[]`: each stored line's split (interface.md 3.3)."""
    return [fees.result_row(r.feedetl_sn, r.cnt, r.pric, fees.split_to_line(r)) for r in rows]


def claim_of(d: Any) -> Claim:
    return Claim(d.medfee_sumamt, getattr(d, "fulamt_ownpay_amt", None), getattr(d, "overlmt_selfpay", None),
                 getattr(d, "preselfpay_amt", None), getattr(d, "inscp_scp_amt", None))


class FeeLineBase(Node):
    """The fields every fee line shares (2204 feedetail, 2301 feedetail, 2101 drugdetail, 2560)."""

    feedetl_sn: Id = Field(min_length=1, max_length=30)
    rxno: Id = ""
    rx_circ_flag: Flag = "0"
    fee_ocur_time: Time
    med_list_codg: Text = Field(min_length=1)
    medins_list_codg: Text = ""
    det_item_fee_sumamt: Amount
    cnt: Number
    pric: Number
    hosp_appr_flag: code("hosp_appr_flag", empty=True) = "0"


class SettlementRef(Node):
    """The input `data` of 2208 / 2103 / 2305: which settlement to cancel."""

    setl_id: Id
    mdtrt_id: Id
    psn_no: Id


class CancelInput(Node):
    data: SettlementRef




class FeeLine(FeeLineBase):
    """A 2204 line: of one visit and batch."""

    mdtrt_id: Id
    psn_no: Id
    chrg_bchno: Id = Field(min_length=1)
    dise_codg: Id = ""
