"""Settlement outputs (interface.md 3.1 setlinfo, 3.2 setldetail) from a committed row or a computation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from yibao.money import ZERO
from yibao.platform import persons
from yibao.platform.checkout import Cancelled, Settled
from yibao.platform.records import Person, Settlement, SettlementFund
from yibao.platform.settlement import FUND_NAMES, MONEY_FIELDS, POOLED_FUND, Computation, amounts_of


def _person_fields(person: Person, today: date) -> dict[str, Any]:
    return {
        "psn_no": person.psn_no, "psn_name": person.name, "psn_cert_type": person.psn_cert_type,
        "certno": person.certno, "gend": person.gend, "naty": person.naty, "brdy": person.brdy.isoformat(),
        "age": Decimal(persons.age_on(person.brdy, today)).quantize(Decimal("0.1")),
        "insutype": person.insutype, "psn_type": person.psn_type, "cvlserv_flag": "0",
    }


def setlinfo_of_row(row: Settlement, person: Person, *, mdtrt_cert_type: str, a_form: bool,
                    sign: int = 1) -> dict[str, Any]:
    """A committed settlement; `sign` -1 shows a reversal with the original's (positive) amounts."""
    amounts = {name: sign * getattr(row, name) for name in MONEY_FIELDS}
    out = {
        "mdtrt_id": row.mdtrt_id, "setl_id": row.setl_id, **_person_fields(person, row.setl_time.date()),
        "setl_time": row.setl_time.strftime("%Y-%m-%d %H:%M:%S"), "mdtrt_cert_type": mdtrt_cert_type,
        "med_type": row.med_type, **amounts, "pool_prop_selfpay": row.pool_prop_selfpay, "hifdm_pay": ZERO,
        "balc": row.balc, "medins_setl_id": row.msgid or "", "clr_optins": row.clr_optins,
        "clr_way": row.clr_way, "clr_type": row.clr_type, "exp_content": {},
    }
    if a_form:
        out.update(acct_admdvs=row.acct_admdvs or "", acct_mulaid_admdvs=row.acct_mulaid_admdvs or "",
                   insu_admdvs=row.insu_admdvs)
    return out


def setlinfo_of_computation(comp: Computation, *, mdtrt_id: str, mdtrt_cert_type: str, now: datetime,
                            a_form: bool, msgid: str) -> dict[str, Any]:
    """A pre-settlement: what the settlement would be; no setl_id."""
    amounts = amounts_of(comp)
    out = {
        "mdtrt_id": mdtrt_id, **_person_fields(comp.person, now.date()),
        "setl_time": now.strftime("%Y-%m-%d %H:%M:%S"), "mdtrt_cert_type": mdtrt_cert_type,
        "med_type": comp.med_type, **{k: amounts[k] for k in MONEY_FIELDS},
        "pool_prop_selfpay": amounts["pool_prop_selfpay"], "hifdm_pay": ZERO, "balc": amounts["balc"],
        "medins_setl_id": msgid, "clr_optins": comp.case.policy_admdvs, "clr_way": "01", "clr_type": "",
        "exp_content": {},
    }
    if a_form:
        regions = sorted({d.source.acct_admdvs for d in comp.payment.draws})
        out.update(acct_admdvs=comp.own_account.admdvs if comp.own_account and comp.payment.own > 0 else "",
                   acct_mulaid_admdvs=",".join(regions), insu_admdvs=comp.person.admdvs)
    return out


def setldetail(funds: list[SettlementFund], sign: int = 1) -> list[dict[str, Any]]:
    return [{"fund_pay_type": f.fund_pay_type, "fund_pay_type_name": f.fund_pay_type_name,
             "inscp_scp_amt": sign * f.inscp_scp_amt, "crt_payb_lmt_amt": f.crt_payb_lmt_amt,
             "fund_payamt": sign * f.fund_payamt, "setl_proc_info": f.setl_proc_info or ""} for f in funds]


def setldetail_of_computation(comp: Computation) -> list[dict[str, Any]]:
    if comp.shares.hifp_pay <= 0:
        return []
    fund_type = POOLED_FUND.get(comp.person.insutype, "310100")
    return [{"fund_pay_type": fund_type, "fund_pay_type_name": FUND_NAMES[fund_type],
             "inscp_scp_amt": comp.sums.inscp_scp_amt, "crt_payb_lmt_amt": comp.shares.cap_left_before,
             "fund_payamt": comp.shares.hifp_pay, "setl_proc_info": "; ".join(comp.shares.explanation)}]


def settled_output(done: Settled, *, mdtrt_cert_type: str, a_form: bool) -> dict:
    """A committed settlement: setlinfo + setldetail (interface.md 3.1, 3.2)."""
    return {"setlinfo": setlinfo_of_row(done.row, done.person, mdtrt_cert_type=mdtrt_cert_type,
                                               a_form=a_form),
            "setldetail": setldetail(done.funds)}


def cancel_output(done: Cancelled) -> dict:
    """2208 / 2305 / 2103: the cancellation record with the original's amounts, and the original's funds."""
    info = setlinfo_of_row(done.reversal, done.person, mdtrt_cert_type="", a_form=True, sign=-1)
    info["setl_id"], info["refd_setl_id"] = done.original.setl_id, done.reversal.setl_id
    info["pdn_cash_pay"] = info["psn_cash_pay"]
    return {"setlinfo": info, "setldetail": setldetail(done.funds)}
