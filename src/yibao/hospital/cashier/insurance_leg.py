"""A payment's insurance leg: ONE settlement with acct_used_flag, so the personal account and family mutual aid
apply. Of bills: 2201 if the visit has none yet, 2203 once per visit, 2204, 2206, 2207; of a stay 2303 then
2304; of a sale 2101 then 2102; of a phone payment with a payAuthNo 6201 then 6202 (mobile_leg.py). Undone by
2208 then 2205 / 2305 / 2103 / 6203.

The settling and the undoing message are kept before they are sent and sent again byte for byte when the answer
is lost (the platform answers a committed msgid with its stored answer): an outcome is learned, never guessed."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from yibao.client import PlatformError
from yibao.hospital import kinds
from yibao.hospital.cashier import mobile_leg
from yibao.hospital.cashier.rows import CANCEL, SETTLE, TIME, load, log, note, record_settlement, save, visit_of
from yibao.hospital.db import KindSettlement, Patient, Payment, Registration
from yibao.hospital.directory import slot_info
from yibao.hospital.insurance import OutcomeUnknown, dumps, loads
from yibao.hospital.states import PAYMENTS, InsuranceStatus, PaymentStatus
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.context import Context


def settle(h: Context, no: str) -> None:
    """new -> settling, then the settlement recorded. PlatformError when refused (the batch deleted first),
    OutcomeUnknown when the settling message was never answered."""
    now = h.now()
    with h.db.session() as s:
        if not PAYMENTS.move(s, Payment.payment_no == no, PaymentStatus.SETTLING, (PaymentStatus.NEW,),
                             insurance_status=InsuranceStatus.SETTLING, updated_at=now):
            return
        p = s.scalar(select(Payment).where(Payment.payment_no == no))
        assert p is not None
        stay = s.scalar(select(KindSettlement).where(KindSettlement.no == p.stay_no)) if p.stay_no else None
    if stay is not None:
        record_settlement(h, no, _settle_stay(h, p, stay))
        return
    if p.pay_auth_no:
        try:
            out = mobile_leg.settle(h, p)
        except PlatformError:
            delete_batch(h, no)
            raise
        record_settlement(h, no, out)
        return
    _settle_bills(h, p)


def _settle_bills(h: Context, p: Payment) -> None:
    no = p.payment_no
    reg, patient, lines = visit_of(h, p)
    insuplc = p.insuplc_admdvs or ""
    cert = {"mdtrt_cert_type": patient.mdtrt_cert_type or "02",
            "mdtrt_cert_no": patient.mdtrt_cert_no or patient.certno}
    mdtrt_id = reg.mdtrt_id or _register_visit(h, p, reg, patient, cert)
    if not reg.visit_info_sent:
        h.insurance.ok("2203", {"mdtrtinfo": {
            "mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "med_type": "11", "begntime": f"{reg.created_at:{TIME}}",
            "main_cond_dscr": "", "dise_codg": "", "dise_name": ""}, "diseinfo": []}, insuplc)
        with h.db.session() as s:
            s.execute(update(Registration).where(Registration.id == reg.id).values(visit_info_sent=True))
    feedetail = [{
        "feedetl_sn": f"{no}-{i:03d}", "mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "chrg_bchno": no,
        "dise_codg": "", "rxno": "", "rx_circ_flag": "0", "fee_ocur_time": f"{bill.created_at:{TIME}}",
        "med_list_codg": line.med_list_codg, "medins_list_codg": line.medins_list_codg,
        "det_item_fee_sumamt": str(line.amount), "cnt": str(line.cnt), "pric": str(line.pric),
        "bilg_dept_codg": bill.dept_code, "bilg_dept_name": bill.dept_code, "bilg_dr_codg": bill.doctor_code,
        "bilg_dr_name": bill.doctor_code, "hosp_appr_flag": "0"} for i, (line, bill) in enumerate(lines, 1)]
    try:
        out_2204 = h.insurance.ok("2204", {"feedetail": feedetail}, insuplc)
        save(h, no, mdtrt_id=mdtrt_id, out_2204=dumps(out_2204))
        sums = {k: sum((Decimal(str(r[k])) for r in out_2204["result"]), ZERO) for k in
                ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")}
        data = {"psn_no": p.psn_no, **cert, "med_type": "11", "medfee_sumamt": str(p.total),
                "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": no,
                "acct_used_flag": p.acct_used_flag, "insutype": patient.insutype}
        out_2206 = h.insurance.ok("2206", {"data": data}, insuplc)
        save(h, no, out_2206=dumps(out_2206))
        data.update(invono="", fulamt_ownpay_amt=str(sums["fulamt_ownpay_amt"]),
                    overlmt_selfpay=str(sums["overlmt_amt"]), preselfpay_amt=str(sums["preselfpay_amt"]),
                    inscp_scp_amt=str(sums["inscp_scp_amt"]))
        out_settle = committed(h, no, "2207", {"data": data}, "env_settle")
    except PlatformError:
        delete_batch(h, no)
        raise
    record_settlement(h, no, out_settle)


def _settle_stay(h: Context, p: Payment, stay: KindSettlement) -> dict[str, Any]:
    """The pre-settlement (2303 / 2101, kept on the stay), then the settling message, kept and resent."""
    pre_infno, infno, input_ = kinds.settlement_messages(h, stay, p.acct_used_flag)
    pre = h.insurance.ok(pre_infno, input_, p.insuplc_admdvs or "")
    with h.db.session() as s:
        s.execute(update(KindSettlement).where(KindSettlement.id == stay.id).values(out_pre=dumps(pre)))
    return committed(h, p.payment_no, infno, input_, "env_settle")


def _register_visit(h: Context, p: Payment, reg: Registration, patient: Patient, cert: dict[str, str]) -> str:
    """2201 at payment time: the registration was made without insurance (or before the platform answered)."""
    slot = slot_info(h, reg.slot_id)
    out = h.insurance.ok("2201", {"data": {
        "psn_no": p.psn_no, "insutype": patient.insutype, "begntime": f"{reg.created_at:{TIME}}", **cert,
        "ipt_otp_no": reg.reg_no, "atddr_no": slot["doctor_code"], "dr_name": slot["doctor_name"],
        "dept_code": slot["dept_code"], "dept_name": slot["dept_name"], "caty": slot["caty"]}},
        p.insuplc_admdvs or "")
    mdtrt_id = str(out["data"]["mdtrt_id"])
    with h.db.session() as s:
        s.execute(update(Registration).where(Registration.id == reg.id).values(mdtrt_id=mdtrt_id, insured=True))
    return mdtrt_id


def committed(h: Context, no: str, infno: str, input_: dict[str, Any], column: str) -> dict[str, Any]:
    """A committing message of this payment: its envelope is kept before it is sent, and sent again as-is
    when the answer was lost (a refusal for a stale sign-in is made again with a fresh one)."""
    p = load(h, no)
    kept = getattr(p, column)
    envelope = loads(kept) if kept else None
    if envelope is None:
        envelope = h.insurance.envelope(infno, input_, p.insuplc_admdvs or "")
        save(h, no, **{column: dumps(envelope)})
    try:
        return h.insurance.send_kept(envelope)
    except PlatformError as exc:
        if not exc.err_msg.startswith("sign_no:"):
            raise
    h.insurance.client.sign_no(renew=True)
    envelope = h.insurance.envelope(infno, input_, p.insuplc_admdvs or "")
    save(h, no, **{column: dumps(envelope)})
    return h.insurance.send_kept(envelope)


def delete_batch(h: Context, no: str) -> None:
    """2205: the lines of this payment's batch leave the visit (best effort; they are never settled); the pay
    order of a mobile payment is revoked (6401) instead."""
    p = load(h, no)
    if p.pay_ord_id:
        mobile_leg.revoke(h, p)
        return
    if not (p.mdtrt_id and p.out_2204):
        return
    try:
        h.insurance.ok("2205", {"data": {"mdtrt_id": p.mdtrt_id, "chrg_bchno": p.chrg_bchno,
                                         "psn_no": p.psn_no}}, p.insuplc_admdvs or "")
    except PlatformError as exc:
        log.warning("payment %s: 2205 of batch %s refused: %s", no, p.chrg_bchno, exc.err_msg)


def learn(h: Context, no: str) -> bool | None:
    """A settling message whose answer was lost, sent again to learn its outcome: True settled (recorded), False
    refused (nothing stands), None still unanswered (noted on the payment)."""
    p = load(h, no)
    try:
        record_settlement(h, no, h.insurance.send_kept(loads(p.env_settle)))
    except PlatformError:
        return False
    except OutcomeUnknown as exc:
        note(h, no, f"{SETTLE[p.kind]} outcome still unknown: {exc}")
        return None
    return True


def cancel(h: Context, no: str) -> bool:
    """Undo the insurance leg (2208 then 2205, or 2305 / 2103 / 6203); True when nothing of it stands any more."""
    p = load(h, no)
    if not p.insured or p.insurance_status in (InsuranceStatus.NONE, InsuranceStatus.CANCELLED):
        return True
    unsettled = p.insurance_status in (InsuranceStatus.SETTLING, InsuranceStatus.UNKNOWN)
    if unsettled and p.pay_auth_no:
        known = mobile_leg.learn(h, no)
        if not known:
            return known is False
        p = load(h, no)
    if p.pay_ord_id:
        return mobile_leg.cancel(h, no)
    if p.insurance_status in (InsuranceStatus.SETTLING, InsuranceStatus.UNKNOWN):
        if not p.env_settle:  # the settling message never left: only lines may have been uploaded
            delete_batch(h, no)
            save(h, no, insurance_status=InsuranceStatus.NONE)
            return True
        settled = learn(h, no)  # the platform answers a committed msgid with its stored answer
        if settled is None:
            return False
        if not settled:
            delete_batch(h, no)
            save(h, no, insurance_status=InsuranceStatus.NONE)
            return True
        p = load(h, no)
    infno = CANCEL[p.kind]
    try:
        out = committed(h, no, infno, {"data": {"setl_id": p.setl_id, "mdtrt_id": p.mdtrt_id,
                                                "psn_no": p.psn_no}}, "env_cancel")
    except PlatformError as exc:
        if "already cancelled" not in exc.err_msg:
            note(h, no, f"{infno} refused: {exc.err_msg}")
            return False
        out = None
    except OutcomeUnknown as exc:
        note(h, no, f"{infno} outcome unknown: {exc}")
        return False
    save(h, no, insurance_status=InsuranceStatus.CANCELLED, **({"out_cancel": dumps(out)} if out is not None else {}))
    delete_batch(h, no)
    return True
