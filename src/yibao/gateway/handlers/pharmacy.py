"""Pharmacy: 2101(A) pre-settlement, 2102(A) settlement with its fee lines, 2103 cancellation.
A pharmacy has no registration: the platform issues the mdtrt_id when it settles."""

from __future__ import annotations

from pydantic import Field

from yibao.gateway import render
from yibao.gateway.fields import Amount, CertType, Flag, Id, InsuType, MedType, SetlWay, Text, Time
from yibao.gateway.lines import CancelInput, FeeLineBase, claim_of, line_in
from yibao.gateway.registry import Node, interface, interface_with_a_form
from yibao.gateway.render import cancel_output, settled_output
from yibao.platform import checkout, fees, settlement
from yibao.platform.work import Work


class DrugInfo(Node):
    psn_no: Id
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    begntime: Time | None = None
    medfee_sumamt: Amount
    invono: Id = ""
    insutype: InsuType
    dise_codg: Id = ""
    dise_name: Text = ""
    acct_used_flag: Flag = "0"
    med_type: MedType = "41"
    psn_setlway: SetlWay = "01"
    suppl_flag: Flag = "0"  # 1: supplementary bookkeeping of a purchase whose direct settlement failed
    fulamt_ownpay_amt: Amount | None = None
    overlmt_selfpay: Amount | None = None
    preselfpay_amt: Amount | None = None
    inscp_scp_amt: Amount | None = None


class Input2101(Node):
    druginfo: DrugInfo
    drugdetail: list[FeeLineBase] = Field(min_length=1)


def _sale(data: Input2101) -> checkout.Sale:
    info = data.druginfo
    return checkout.Sale(info.psn_no, info.insutype, info.mdtrt_cert_type, info.acct_used_flag, claim_of(info),
                         [line_in(f"input.drugdetail[{i}]", x, None) for i, x in enumerate(data.drugdetail)],
                         med_type=info.med_type, begntime=info.begntime, dise_codg=info.dise_codg,
                         dise_name=info.dise_name, suppl_flag=info.suppl_flag, invono=info.invono)


def _cut_info(lines: list[fees.LineIn], splits: list) -> list[dict]:
    return [fees.result_row(x.feedetl_sn, x.cnt, x.pric, sp) for x, sp in zip(lines, splits, strict=True)]


@interface_with_a_form("2101", "药店预结算", Input2101)
def _presettle(work: Work, data: Input2101, a_form: bool) -> dict:
    sale = _sale(data)
    priced = checkout.price_sale(work, sale)
    info = render.setlinfo_of_computation(priced.comp, mdtrt_id="", mdtrt_cert_type=sale.mdtrt_cert_type,
                                          now=work.now, a_form=a_form, msgid=work.msgid)
    info["clr_type"] = settlement.CLR_TYPE["pharmacy"]
    return {"setlinfo": info, "setldetail": render.setldetail_of_computation(priced.comp),
            "detlcutinfo": _cut_info(sale.lines, priced.splits)}


@interface_with_a_form("2102", "药店结算", Input2101)
def _settle(work: Work, data: Input2101, a_form: bool) -> dict:
    sale = _sale(data)
    done, priced = checkout.settle_sale(work, sale)
    return {**settled_output(done, mdtrt_cert_type=sale.mdtrt_cert_type, a_form=a_form),
            "detlcutinfo": _cut_info(sale.lines, priced.splits)}


@interface("2103", "药店结算撤销", CancelInput)
def cancel(work: Work, data: CancelInput) -> dict:
    d = data.data
    out = cancel_output(checkout.cancel(work, d.setl_id, d.mdtrt_id, d.psn_no, "pharmacy"))
    out["setlinfo"]["psn_pay"] = out["setlinfo"]["psn_part_amt"]
    out["setlinfo"]["cash_payamt"] = out["setlinfo"]["psn_cash_pay"]
    return out
