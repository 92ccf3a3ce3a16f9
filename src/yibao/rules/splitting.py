"""Splitting one fee line by the catalog (rules.md section 3)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from yibao.money import ZERO, round2

CLASS_A, CLASS_B, CLASS_C = "01", "02", "03"  # 甲 乙 丙


@dataclass(frozen=True)
class CatalogEntry:
    code: str
    name: str
    chrgitm_lv: str
    selfpay_prop: Decimal  # already chosen for the person's insutype
    pric_uplmt_amt: Decimal | None
    med_chrgitm_type: str
    restricted: bool = False  # lmt_used_flag 1: reimbursable only with the hospital's approval
    flags: tuple[tuple[str, str], ...] = ()  # the catalog's flags, echoed in result[]


CATALOG_FLAGS = ("bas_medn_flag", "hi_nego_drug_flag", "chld_medc_flag", "list_sp_item_flag", "lmt_used_flag",
                 "drt_reim_flag")


def approval_refused(hosp_appr_flag: str, item: CatalogEntry | None) -> bool:
    """hosp_appr_flag (interface.md 4): a restricted item is reimbursable only when approved (1); any item
    whose approval was refused (2) is self-paid."""
    if hosp_appr_flag == "2":
        return True
    return item is not None and item.restricted and hosp_appr_flag != "1"


@dataclass(frozen=True)
class LineSplit:
    det_item_fee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_amt: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    selfpay_prop: Decimal
    pric_uplmt_amt: Decimal | None
    chrgitm_lv: str
    med_chrgitm_type: str
    memo: str = ""
    flags: tuple[tuple[str, str], ...] = ()


def split_line(pric: Decimal, cnt: Decimal, item: CatalogEntry | None, approval_refused: bool = False) -> LineSplit:
    """The four parts of a line. A negative `cnt` (an inpatient return) splits to the exact negatives."""
    total = round2(pric * cnt)
    if item is None or item.chrgitm_lv == CLASS_C or approval_refused:
        memo = ("not in the catalog: fully self-paid" if item is None
                else "not approved by the hospital (hosp_appr_flag): fully self-paid"
                if approval_refused and item.chrgitm_lv != CLASS_C else "")
        return LineSplit(total, total, ZERO, ZERO, ZERO, Decimal(1), item.pric_uplmt_amt if item else None,
                         item.chrgitm_lv if item else CLASS_C, item.med_chrgitm_type if item else "", memo,
                         item.flags if item else ())
    cap = item.pric_uplmt_amt
    over = round2((pric - cap) * cnt) if cap is not None and pric > cap else ZERO
    prop = ZERO if item.chrgitm_lv == CLASS_A else item.selfpay_prop
    pre = round2((total - over) * prop)
    return LineSplit(total, ZERO, over, pre, total - over - pre, prop, cap, item.chrgitm_lv, item.med_chrgitm_type,
                     flags=item.flags)


@dataclass(frozen=True)
class Sums:
    medfee_sumamt: Decimal = ZERO
    fulamt_ownpay_amt: Decimal = ZERO
    overlmt_selfpay: Decimal = ZERO
    preselfpay_amt: Decimal = ZERO
    inscp_scp_amt: Decimal = ZERO


def sum_lines(lines: list[LineSplit]) -> Sums:
    return Sums(
        sum((x.det_item_fee_sumamt for x in lines), ZERO),
        sum((x.fulamt_ownpay_amt for x in lines), ZERO),
        sum((x.overlmt_amt for x in lines), ZERO),
        sum((x.preselfpay_amt for x in lines), ZERO),
        sum((x.inscp_scp_amt for x in lines), ZERO),
    )
